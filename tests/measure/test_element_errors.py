"""A supplemental data element or stratifier that fails is reported on that element; the
patient's populations stand (issue 17 B). Neither DEQM nor CQFM makes an SDE or a stratifier a
condition of population membership: SDEs are "additional information returned for each member
of a population"."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from pedqm.fhir.records import PatientRecord
from pedqm.measure import MeasurePackage, evaluate_measure
from pedqm.measure.definition import DEN, IPP, NUMER

CQL = """library ReproB version '1.0.0'
using QICore version '4.1.1'
valueset "Payer (intensional)": 'http://example.org/ValueSet/payer-intensional'
parameter "Measurement Period" Interval<DateTime>
context Patient
define "Initial Population": exists [Encounter]
define "Denominator": "Initial Population"
define "Numerator": true
define "SDE Payer": [Coverage: type in "Payer (intensional)"]
define "Stratum by payer": exists [Coverage: type in "Payer (intensional)"]
"""

POP = "http://terminology.hl7.org/CodeSystem/measure-population"


def _pop(code: str, expr: str) -> dict[str, Any]:
    return {"code": {"coding": [{"system": POP, "code": code}]},
            "criteria": {"language": "text/cql-identifier", "expression": expr}}


def _package() -> MeasurePackage:
    measure = {
        "resourceType": "Measure", "url": "http://example.org/Measure/repro-b",
        "library": ["http://example.org/Library/ReproB|1.0.0"],
        "scoring": {"coding": [{"code": "proportion"}]},
        "effectivePeriod": {"start": "2025-01-01", "end": "2025-12-31"},
        "group": [{
            "population": [_pop("initial-population", "Initial Population"), _pop("denominator", "Denominator"),
                           _pop("numerator", "Numerator")],
            "stratifier": [{"code": {"text": "payer"}, "criteria": {"language": "text/cql-identifier",
                                                                   "expression": "Stratum by payer"}}],
        }],
        "supplementalData": [{"code": {"text": "SDE Payer"},
                              "criteria": {"language": "text/cql-identifier", "expression": "SDE Payer"}}],
    }
    library = {"resourceType": "Library", "name": "ReproB", "version": "1.0.0",
               "content": [{"contentType": "text/cql", "data": base64.b64encode(CQL.encode()).decode()}]}
    valueset = {"resourceType": "ValueSet", "url": "http://example.org/ValueSet/payer-intensional",
                "compose": {"include": [{"system": "https://nahdo.org/sopt",
                                         "filter": [{"property": "concept", "op": "is-a", "value": "1"}]}]}}
    bundle = {"resourceType": "Bundle", "type": "collection",
              "entry": [{"resource": r} for r in (measure, library, valueset)]}
    return MeasurePackage.from_bundle(bundle)


def _patient() -> PatientRecord:
    return PatientRecord("p1", [
        {"resourceType": "Patient", "id": "p1", "birthDate": "2015-01-01"},
        {"resourceType": "Encounter", "id": "e1", "status": "finished", "subject": {"reference": "Patient/p1"},
         "period": {"start": "2025-03-01T10:00:00Z", "end": "2025-03-01T11:00:00Z"}},
        {"resourceType": "Coverage", "id": "c1", "status": "active", "beneficiary": {"reference": "Patient/p1"},
         "type": {"coding": [{"system": "https://nahdo.org/sopt", "code": "11"}]}},
    ])


@pytest.fixture(scope="module")
def result() -> Any:
    return evaluate_measure(_package(), [_patient()])


def test_populations_are_counted_when_an_sde_cannot_be_computed(result: Any) -> None:
    assert not result.errors
    assert (result.count(0, IPP), result.count(0, DEN), result.count(0, NUMER)) == (1, 1, 1)


def test_the_failing_elements_are_recorded_with_the_reason(result: Any) -> None:
    failures = dict(result.element_errors)
    assert set(failures) == {"supplementalData:SDE Payer", "stratifier:0:payer"}
    n, message = failures["supplementalData:SDE Payer"]
    assert n == 1 and "payer-intensional" in message


def test_summary_report_marks_the_elements_with_an_operation_outcome(result: Any) -> None:
    rep = result.measure_report("summary")
    assert rep["status"] == "complete"
    assert rep["group"][0]["population"][0]["count"] == 1
    outcomes = [c for c in rep["contained"] if c["resourceType"] == "OperationOutcome"]
    assert {o["issue"][0]["expression"][0] for o in outcomes} == {"supplementalData:SDE Payer", "stratifier:0:payer"}
    strat = rep["group"][0]["stratifier"][0]
    assert strat["code"][0]["text"] == "payer" and strat["extension"][0]["valueReference"]["reference"].startswith("#")


def test_individual_report_keeps_status_complete(result: Any) -> None:
    bundle = result.measure_report("individual")
    rep = bundle["entry"][0]["resource"]
    assert rep["status"] == "complete"
    assert [p["count"] for p in rep["group"][0]["population"]] == [1, 1, 1]
    assert any(e["url"].endswith("element-evaluation-error") for e in rep["extension"])

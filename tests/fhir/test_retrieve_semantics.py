"""Retrieve semantics found wrong on published measures (issue 17), each with the case class it
decided: positive-intent profiles, `code = Code` filters, codes behind a reference, profile
types named by their model-info label."""

from __future__ import annotations

from typing import Any

from pedqm.cql import compile_library, evaluate
from pedqm.fhir.evaluation import patient_context
from pedqm.fhir.records import PatientRecord
from pedqm.fhir.terminology import ValueSetIndex

PERIOD = "Interval[@2025-01-01T00:00:00.000Z, @2025-12-31T23:59:59.999Z]"
STATIN = {"system": "http://www.nlm.nih.gov/research/umls/rxnorm", "code": "617312"}
STATINS = {"resourceType": "ValueSet", "url": "http://example.org/ValueSet/statins",
           "expansion": {"contains": [STATIN]}}
PATIENT = {"resourceType": "Patient", "id": "p", "birthDate": "1960-05-20"}


def _request(rid: str, **extra: Any) -> dict[str, Any]:
    return {"resourceType": "MedicationRequest", "id": rid, "status": "completed", "intent": "order",
            "subject": {"reference": "Patient/p"}, "authoredOn": "2025-03-01", **extra}


def _run(cql: str, resources: list[dict[str, Any]], tags: bool = False) -> dict[str, Any]:
    lib = compile_library(cql)
    ctx = patient_context(lib, PatientRecord("p", [PATIENT, *resources]), terminology=ValueSetIndex.from_resources([STATINS]),
                          parameters={"Measurement Period": evaluate(PERIOD)}, require_profile_tags=tags)
    return {name: lib.evaluate(name, ctx) for name in lib.definitions if name != "Patient"}


HEADER = """library T version '1'
using QICore version '{version}'
valueset "Statins": 'http://example.org/ValueSet/statins'
codesystem "LOINC": 'http://loinc.org'
code "BMI": '39156-5' from "LOINC" display 'Body mass index (BMI) [Ratio]'
parameter "Measurement Period" Interval<DateTime>
context Patient
"""


def test_positive_profile_leaves_out_not_requested_orders() -> None:
    """CMS347 (22 cases), CMS135, CMS144: a `doNotPerform: true` order is a MedicationNotRequested,
    never a MedicationRequest (QI-Core positive intent)."""
    cql = HEADER.format(version="4.1.1") + """
define "Ordered": [MedicationRequest: "Statins"]
define "NotOrdered": [MedicationNotRequested: "Statins"]
"""
    declined = _request("declined", doNotPerform=True, medicationCodeableConcept={"coding": [STATIN]})
    ordered = _request("ordered", medicationCodeableConcept={"coding": [STATIN]})
    out = _run(cql, [declined, ordered])
    assert [n.data["id"] for n in out["Ordered"]] == ["ordered"]
    assert [n.data["id"] for n in out["NotOrdered"]] == ["declined"]


def test_code_equal_filter_matches_system_and_code_not_display() -> None:
    """CMS69 a327cf96: `[ObservationNotDone: code = "BMI"]` finds an Observation whose coding has
    no display (the filter is a terminology match, like a FHIR token search)."""
    cql = HEADER.format(version="4.1.1") + """
define "NotDone": [ObservationNotDone: code = "BMI"]
"""
    obs = {"resourceType": "Observation", "id": "o", "status": "cancelled", "subject": {"reference": "Patient/p"},
           "code": {"coding": [{"system": "http://loinc.org", "code": "39156-5"}]}}
    assert [n.data["id"] for n in _run(cql, [obs])["NotDone"]] == ["o"]


def test_code_filter_follows_a_medication_reference() -> None:
    """q25-CMS165 45e01fed: the order names its drug through `medicationReference`; on the
    implicit primary code path the referenced Medication's code is what the value set filter
    tests (the reference translator expands such a retrieve into a union with a join on
    Medication). A path written in the retrieve is literal (CMS165 45e01fed, 2024: expected 0)."""
    cql = HEADER.format(version="6.0.0") + """
define "Ordered": [MedicationRequest: "Statins"]
define "Literal": [MedicationRequest: medication in "Statins"]
"""
    med = {"resourceType": "Medication", "id": "m1", "code": {"coding": [STATIN]}}
    by_ref = _request("by-ref", medicationReference={"reference": "Medication/m1"})
    contained = _request("contained", medicationReference={"reference": "#m2"},
                         contained=[{"resourceType": "Medication", "id": "m2", "code": {"coding": [STATIN]}}])
    other = _request("other", medicationReference={"reference": "Medication/missing"})
    out = _run(cql, [med, by_ref, contained, other])
    assert sorted(n.data["id"] for n in out["Ordered"]) == ["by-ref", "contained"]
    assert out["Literal"] == []


def test_profile_named_by_its_label() -> None:
    """CMS190: `["US Core Laboratory Result Observation Profile": ...]` names a model-info class
    by its label (the QI-Core 4.1.1 model info gives each profile a label)."""
    cql = HEADER.format(version="4.1.1") + """
define "Labs": ["US Core Laboratory Result Observation Profile": "BMI"]
"""
    lab = {"resourceType": "Observation", "id": "lab", "status": "final", "subject": {"reference": "Patient/p"},
           "code": {"coding": [{"system": "http://loinc.org", "code": "39156-5"}]}}
    assert [n.data["id"] for n in _run(cql, [lab])["Labs"]] == ["lab"]


def test_multi_source_query_of_single_values_is_a_single_value() -> None:
    """CMS771 (26 cases): a query is a list only when some source is a list."""
    assert evaluate("from (1) A, (2) B return A + B") == 3
    assert evaluate("((from (1) A, (2) B return A - B) X where X >= 3) is not null") is False
    assert evaluate("from ({1, 2}) A, (3) B return A + B") == [4, 5]
    assert evaluate("from (null as Integer) A, (null as Integer) B return A") is None


def test_a_choice_met_by_a_point_in_a_timing_phrase_is_cast_to_the_point() -> None:
    """CMS69 2024: `... starts before or on day of Procedure.performed`, performed being a
    Choice<DateTime, Period>: the translator casts the choice `as DateTime`, so a Period-valued
    procedure gives null (not a comparison against the period)."""
    cql = HEADER.format(version="4.1.1") + """
define "Before": [Procedure] P
  where Interval[@2025-01-01T00:00:00Z, @2025-02-01T00:00:00Z] starts before or on day of P.performed
  return P.id
"""
    at = {"resourceType": "Procedure", "id": "at", "status": "completed", "subject": {"reference": "Patient/p"},
          "performedDateTime": "2025-03-01T10:00:00Z"}
    period = {"resourceType": "Procedure", "id": "period", "status": "completed", "subject": {"reference": "Patient/p"},
              "performedPeriod": {"start": "2025-03-01T10:00:00Z", "end": "2025-03-02T10:00:00Z"}}
    assert _run(cql, [at, period])["Before"] == ["at"]


def test_choice_of_resources_narrowed_to_what_a_function_takes() -> None:
    """CMS145 (AHAOverall.isConfirmedActiveDiagnosis): a `Choice<AllergyIntolerance, Condition>`
    passed to a function of a Condition is cast, so an AllergyIntolerance is null there, as the
    reference translator casts it (before, the Condition logic ran on the AllergyIntolerance and
    its `id` and `clinicalStatus` made it look like one)."""
    header = HEADER.format(version="4.1.1").replace("context Patient", """codesystem "CS": 'http://terminology.hl7.org/CodeSystem/condition-clinical'
code "active": 'active' from "CS"
context Patient""")
    cql = header + """
define function IsActive(c Condition): c.id is not null and c.clinicalStatus is not null
define "Things": ([AllergyIntolerance] union [Condition]) T return IsActive(T)
"""
    active = {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-clinical", "code": "active"}]}
    allergy = {"resourceType": "AllergyIntolerance", "id": "a", "patient": {"reference": "Patient/p"},
               "clinicalStatus": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical",
                                              "code": "active"}]}}
    condition = {"resourceType": "Condition", "id": "c", "subject": {"reference": "Patient/p"}, "clinicalStatus": active}
    out = _run(cql, [allergy, condition])
    assert sorted(out["Things"]) == [False, True]  # the AllergyIntolerance is no Condition

"""CQL over FHIR data through the model info: QI-Core mappings, FHIR model + FHIRHelpers as
ordinary CQL, profile-named retrieves, negation profiles and terminology lookups."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from pedqm.cql import CqlCompileError, CqlRuntimeError, LibraryManager, compile_library, evaluate
from pedqm.cql.runtime.values import Code, Concept, Interval, ValueSetRef
from pedqm.fhir.evaluation import patient_context
from pedqm.fhir.records import PatientRecord
from pedqm.fhir.terminology import TerminologyError, ValueSetIndex

ECQM = Path(__file__).resolve().parents[2].parent / "shared" / "ecqm"
PERIOD = "Interval[@2025-01-01T00:00:00.000Z, @2025-12-31T23:59:59.999Z]"

PATIENT = {"resourceType": "Patient", "id": "p", "birthDate": "2014-05-20", "gender": "female"}
ENCOUNTER = {
    "resourceType": "Encounter", "id": "e1", "status": "finished",
    "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "AMB"},
    "type": [{"coding": [{"system": "http://www.ama-assn.org/go/cpt", "code": "99393"}]}],
    "subject": {"reference": "Patient/p"},
    "period": {"start": "2025-03-01T10:00:00Z", "end": "2025-03-01T10:30:00Z"},
    "hospitalization": {"dischargeDisposition": {"coding": [{"system": "http://snomed.info/sct", "code": "306689006"}]}},
}
OBS_NOT_DONE = {
    "resourceType": "Observation", "id": "o1", "status": "cancelled",
    "code": {"coding": [{"system": "http://loinc.org", "code": "73831-0"}]},
    "subject": {"reference": "Patient/p"}, "issued": "2025-04-01T00:00:00Z",
    "extension": [{"url": "http://hl7.org/fhir/us/qicore/StructureDefinition/qicore-notDoneReason",
                   "valueCodeableConcept": {"coding": [{"system": "http://snomed.info/sct", "code": "183932001"}]}}],
}
OBS_DONE = {
    "resourceType": "Observation", "id": "o2", "status": "final",
    "code": {"coding": [{"system": "http://loinc.org", "code": "59576-9"}]},
    "subject": {"reference": "Patient/p"}, "effectiveDateTime": "2025-03-01T10:10:00Z",
    "valueQuantity": {"value": 85, "unit": "%", "system": "http://unitsofmeasure.org", "code": "%"},
}
RECORD = PatientRecord("p", [PATIENT, ENCOUNTER, OBS_NOT_DONE, OBS_DONE])


def _eval(text: str, record: PatientRecord = RECORD, terminology: ValueSetIndex | None = None) -> dict[str, object]:
    lib = compile_library(text)
    ctx = patient_context(lib, record, terminology=terminology, parameters={"Measurement Period": evaluate(PERIOD)})
    return {name: lib.evaluate(name, ctx) for name in lib.definitions if name != "Patient"}


def test_qicore_properties_are_system_values() -> None:
    out = _eval("""
library T using QICore version '4.1.1'
parameter "Measurement Period" Interval<DateTime>
context Patient
define Period: First([Encounter]).period
define Types: First([Encounter]).type
define Status: First([Encounter]).status
define Disposition: First([Encounter]).hospitalization.dischargeDisposition
define Birth: Patient.birthDate
define BmiValue: First([Observation] O where O.status = 'final').value
define InPeriod: First([Encounter]).period during "Measurement Period"
""")
    assert isinstance(out["Period"], Interval) and out["InPeriod"] is True
    assert out["Types"] == [Concept((Code("99393", "http://www.ama-assn.org/go/cpt"),))]
    assert out["Status"] == "finished"
    assert isinstance(out["Disposition"], Concept) and out["Disposition"].codes[0].code == "306689006"
    assert out["Birth"] == evaluate("@2014-05-20")
    assert out["BmiValue"] == evaluate("85 '%'")


def test_negation_profile_retrieve_selects_not_done() -> None:
    out = _eval("""
library T using QICore version '4.1.1'
context Patient
define NotDone: [ObservationNotDone] O return O.id
define All: [Observation] O return O.id
""")
    assert out["NotDone"] == ["o1"]
    assert sorted(out["All"]) == ["o1", "o2"]


def test_fhir_model_with_fhirhelpers_as_ordinary_cql() -> None:
    if not ECQM.is_dir():
        pytest.skip("../shared/ecqm not present")
    bundle = json.loads(next(ECQM.glob("CMS2*/measure-bundle.json")).read_text())
    helpers = next(base64.b64decode(c["data"]).decode() for e in bundle["entry"] for c in e["resource"].get("content", [])
                   if e["resource"].get("name") == "FHIRHelpers" and c["contentType"] == "text/cql")
    text = """
library T using FHIR version '4.0.1'
include FHIRHelpers version '4.4.000' called FHIRHelpers
context Patient
define Period: FHIRHelpers.ToInterval(First([Encounter]).period)
define Concepts: (First([Encounter]).type) T return FHIRHelpers.ToConcept(T)
define Birth: Patient.birthDate.value
define Quantity: FHIRHelpers.ToQuantity(First([Observation] O where O.status.value = 'final').value as FHIR.Quantity)
define Implicit: Patient.birthDate < @2020-01-01
"""
    lib = LibraryManager(lambda n, v: (helpers, n) if n == "FHIRHelpers" else None).compile(text)
    ctx = patient_context(lib, RECORD)
    assert isinstance(lib.evaluate("Period", ctx), Interval)
    assert lib.evaluate("Concepts", ctx)[0].codes[0].code == "99393"
    assert lib.evaluate("Birth", ctx) == evaluate("@2014-05-20")
    assert lib.evaluate("Quantity", ctx) == evaluate("85 '%'")
    assert lib.evaluate("Implicit", ctx) is True  # FHIR.date meets a System operator: converted


def test_qicore_6_profile_named_retrieve() -> None:
    cond = {"resourceType": "Condition", "id": "c1", "subject": {"reference": "Patient/p"},
            "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-category", "code": "problem-list-item"}]}],
            "code": {"coding": [{"system": "http://hl7.org/fhir/sid/icd-10-cm", "code": "J45.909"}]}}
    out = _eval("""
library T using QICore version '6.0.0'
context Patient
define Problems: [ConditionProblemsHealthConcerns] C return C.id
define Diagnoses: [ConditionEncounterDiagnosis] C return C.id
""", PatientRecord("p", [PATIENT, cond]))
    assert out["Problems"] == ["c1"] and out["Diagnoses"] == []


def test_unknown_types_and_elements_are_compile_errors() -> None:
    with pytest.raises(CqlCompileError, match="no element 'nope'"):
        compile_library("library T using QICore version '4.1.1'\ncontext Patient\ndefine X: [Encounter] E return E.nope\n")
    with pytest.raises(CqlCompileError, match="not a retrievable type|unknown type"):
        compile_library("library T using QICore version '4.1.1'\ncontext Patient\ndefine X: [Nope]\n")
    with pytest.raises(CqlCompileError, match="unknown data model"):
        compile_library("library T using QICore version '9.9.9'\ndefine X: 1\n")


def test_value_sets_by_url_scheme_version_and_oid() -> None:
    vs = {"resourceType": "ValueSet", "url": "http://cts.nlm.nih.gov/fhir/ValueSet/2.16.840.1.113883.3.464.1003.101.12.1001",
          "expansion": {"contains": [{"system": "http://www.ama-assn.org/go/cpt", "code": "99393"}]}}
    index = ValueSetIndex.from_resources([vs])
    code = Code("99393", "http://www.ama-assn.org/go/cpt")
    for ref in ("https://cts.nlm.nih.gov/fhir/ValueSet/2.16.840.1.113883.3.464.1003.101.12.1001|20240101",
                "urn:oid:2.16.840.1.113883.3.464.1003.101.12.1001"):
        assert index.in_valueset(code, ValueSetRef(ref)) is True
    assert index.in_valueset(Code("99393", "http://other"), ValueSetRef(vs["url"])) is False
    with pytest.raises(TerminologyError, match="ValueSet/9.9.9 was not provided"):
        index.in_valueset(code, ValueSetRef("http://example.org/ValueSet/9.9.9"))


def test_missing_value_set_is_a_runtime_error_naming_it() -> None:
    text = """
library T using QICore version '4.1.1'
valueset "Missing": 'http://example.org/fhir/ValueSet/missing-vs'
context Patient
define X: exists [Encounter: "Missing"]
"""
    with pytest.raises(CqlRuntimeError, match="missing-vs"):
        _eval(text, terminology=ValueSetIndex())

"""The ChronicConditions CQL library: measures ask the chronic-condition layer from CQL."""

from __future__ import annotations

from pedqm.cql import compile_library, evaluate
from pedqm.fhir.evaluation import patient_context
from pedqm.fhir.records import PatientRecord

LIB = """
library UsesChronic version '1.0.0'
using QICore version '4.1.1'
include ChronicConditions version '1.0.0' called CC
parameter "Measurement Period" Interval<DateTime>
context Patient
define "CCC": CC."Has Complex Chronic Condition"
define "Categories": CC."Complex Chronic Condition Categories"
define "PMCA": CC."PMCA Class"
define "V2 Before Diagnosis": CC."HasComplexChronicCondition"('ccc-v2', @2019-12-31)
"""


def _condition(pid: str, code: str, onset: str) -> dict:
    return {
        "resourceType": "Condition", "id": f"{pid}-{code}", "subject": {"reference": f"Patient/{pid}"},
        "clinicalStatus": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-clinical", "code": "active"}]},
        "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-category", "code": "encounter-diagnosis"}]}],
        "code": {"coding": [{"system": "http://hl7.org/fhir/sid/icd-10-cm", "code": code}]},
        "onsetDateTime": onset, "recordedDate": onset,
    }


def test_ccc_flags_from_cql() -> None:
    lib = compile_library(LIB)
    rec = PatientRecord("p1", [
        {"resourceType": "Patient", "id": "p1", "birthDate": "2015-03-01", "gender": "male"},
        _condition("p1", "E84.0", "2024-05-01"),  # cystic fibrosis with pulmonary manifestations
    ])
    period = evaluate("Interval[@2025-01-01T00:00:00.000Z, @2025-12-31T23:59:59.999Z]")
    ctx = patient_context(lib, rec, parameters={"Measurement Period": period})
    assert lib.evaluate("CCC", ctx) is True
    assert "respiratory" in lib.evaluate("Categories", ctx)
    assert lib.evaluate("PMCA", ctx) in ("complex_chronic", "noncomplex_chronic")
    assert lib.evaluate("V2 Before Diagnosis", ctx) is None  # no ICD data before the as-of date: unknown


def test_child_without_icd_data_is_unknown_not_unflagged() -> None:
    lib = compile_library(LIB)
    rec = PatientRecord("p2", [{"resourceType": "Patient", "id": "p2", "birthDate": "2016-01-01"}])
    period = evaluate("Interval[@2025-01-01T00:00:00.000Z, @2025-12-31T23:59:59.999Z]")
    ctx = patient_context(lib, rec, parameters={"Measurement Period": period})
    assert lib.evaluate("CCC", ctx) is None and lib.evaluate("Categories", ctx) is None  # null: unknown

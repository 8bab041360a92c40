"""The retrieve observer hook (issue 11): every retrieve an evaluation makes is reported to the
request's observers with what the data provider returned; the provider keeps no record."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pedqm.cql import compile_library
from pedqm.cql.context import ModelValue, RetrieveRequest
from pedqm.fhir.evaluation import patient_context
from pedqm.fhir.records import PatientRecord

LIBRARY = """library Seen using FHIR version '4.0.1'
codesystem "LOINC": 'http://loinc.org'
code "Heart rate": '8867-4' from "LOINC"
context Patient
define Rates: [Observation: "Heart rate"]
define AllObservations: [Observation]
define Conditions: [Condition]
define Both: Rates union AllObservations
"""

RECORD = PatientRecord("p", [
    {"resourceType": "Patient", "id": "p"},
    {"resourceType": "Observation", "id": "hr", "status": "final", "subject": {"reference": "Patient/p"},
     "code": {"coding": [{"system": "http://loinc.org", "code": "8867-4"}]}},
    {"resourceType": "Observation", "id": "bp", "status": "final", "subject": {"reference": "Patient/p"},
     "code": {"coding": [{"system": "http://loinc.org", "code": "85354-9"}]}},
])


class Log:
    def __init__(self) -> None:
        self.seen: list[tuple[RetrieveRequest, list[str]]] = []

    def __call__(self, request: RetrieveRequest, results: Sequence[Any]) -> None:
        self.seen.append((request, [n.data["id"] for n in results]))


def test_each_retrieve_is_reported_with_its_results() -> None:
    lib = compile_library(LIBRARY)
    log = Log()
    ctx = patient_context(lib, RECORD)
    ctx.observers.append(log)
    lib.evaluate("Both", ctx)
    lib.evaluate("Conditions", ctx)
    got = [(r.data_type, r.code_path, r.context, ids) for r, ids in log.seen]
    assert got == [
        ("FHIR.Observation", "code", "Patient", ["hr"]),
        ("FHIR.Observation", None, "Patient", ["hr", "bp"]),
        ("FHIR.Condition", None, "Patient", []),
    ]
    assert log.seen[0][0].codes is not None and log.seen[1][0].codes is None


def test_without_observers_nothing_is_kept_by_the_provider() -> None:
    lib = compile_library(LIBRARY)
    ctx = patient_context(lib, RECORD)
    assert ctx.observers == []
    assert len(lib.evaluate("Both", ctx)) == 2
    assert not hasattr(ctx.data, "retrieved")


def test_fhir_values_offer_the_model_value_protocol() -> None:
    """FhirNode is what the engine's ModelValue protocol declares (mypy checks the assignment;
    the test checks the members at run time)."""
    lib = compile_library(LIBRARY)
    node: ModelValue = lib.evaluate("Rates", patient_context(lib, RECORD))[0]
    assert node.type_name == "FHIR.Observation" and node.is_instance_of("FHIR.Observation")
    status = node.get_property("status")
    assert status.to_system() == "final"
    assert node.equal(node) is True and node.equivalent(node)

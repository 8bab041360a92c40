"""One patient per record, and no phantom subjects, from every kind of source.

A subject exists only where a Patient resource exists: resources whose patient references name a
Patient that is not in the data are skipped and reported (one issue per missing Patient, with
the resources' ids), never grouped into a record without a Patient. With ``bundle_per_patient``
a Bundle is one patient's whole record, whatever stray references inside it say.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from pedqm.cql import compile_library
from pedqm.cql.errors import CqlRuntimeError
from pedqm.fhir.evaluation import patient_context
from pedqm.fhir.records import PatientRecord, ResourceSource
from pedqm.fhir.sources import (
    BulkExportSource,
    FileSource,
    RestSource,
    format_issue_summary,
    summarize_issues,
)

Keys = dict[str, list[tuple[str, str]]]


def keys_of(source: ResourceSource) -> Keys:
    return {r.patient_id: sorted((x["resourceType"], x["id"]) for x in r.resources) for r in source.patients()}


def _patient(pid: str) -> dict[str, Any]:
    return {"resourceType": "Patient", "id": pid, "birthDate": "2015-01-01"}


def _obs(oid: str, *refs: str) -> dict[str, Any]:
    obs: dict[str, Any] = {"resourceType": "Observation", "id": oid, "status": "final", "code": {"text": "x"}}
    if refs:
        obs["subject"] = {"reference": f"Patient/{refs[0]}"}
    if len(refs) > 1:
        obs["performer"] = [{"reference": f"Patient/{r}"} for r in refs[1:]]
    return obs


def _bundle(*resources: dict[str, Any]) -> dict[str, Any]:
    return {"resourceType": "Bundle", "type": "collection", "entry": [{"resource": r} for r in resources]}


def _ndjson(path: Path, rows: list[dict[str, Any]]) -> None:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))


def test_orphans_are_skipped_with_their_ids_grouped_by_missing_patient(tmp_path: Path) -> None:
    _ndjson(tmp_path / "Patient.ndjson", [_patient("a")])
    _ndjson(tmp_path / "Observation.ndjson", [
        _obs("a-1", "a"), _obs("g-1", "ghost"), _obs("g-2", "ghost"), _obs("h-1", "other"),
        _obs("shared-1", "a", "ghost"),  # in a's compartment too: kept there, not an orphan
    ])
    with FileSource(tmp_path) as source:
        assert keys_of(source) == {"a": [("Observation", "a-1"), ("Observation", "shared-1"), ("Patient", "a")]}
        assert source.patient_ids() == ["a"]
        issues = {i.resource_id: i for i in source.issues}
    assert set(issues) == {"ghost", "other"} and all(i.skipped for i in issues.values())
    assert issues["ghost"].count == 2
    assert issues["ghost"].message == ("no Patient resource: 2 resource(s) refer to Patient/ghost, which is not in the data; "
                                       "skipped: Observation/g-1, Observation/g-2")
    assert summarize_issues(issues.values()) == {"no Patient resource": 3}
    assert format_issue_summary(issues.values()) == "3 resources skipped (3 no Patient resource)"


def test_bundle_with_a_stray_reference_by_default_and_bundle_per_patient(tmp_path: Path) -> None:
    (tmp_path / "a.json").write_text(json.dumps(_bundle(_patient("a"), _obs("a-1", "a"), _obs("a-2", "Patient-5"))))
    (tmp_path / "b.json").write_text(json.dumps(_bundle(_patient("b"), _obs("b-1", "b"))))
    with FileSource(tmp_path) as source:  # the Patient compartment: a-2 belongs to a Patient not in the data
        assert keys_of(source) == {"a": [("Observation", "a-1"), ("Patient", "a")], "b": [("Observation", "b-1"), ("Patient", "b")]}
        assert [(i.resource_id, i.count) for i in source.issues] == [("Patient-5", 1)]
    with FileSource(tmp_path, bundle_per_patient=True) as source:
        assert keys_of(source)["a"] == [("Observation", "a-1"), ("Observation", "a-2"), ("Patient", "a")]
        assert source.issues == []


def test_bundle_per_patient_reports_bundles_without_exactly_one_patient(tmp_path: Path) -> None:
    org = {"resourceType": "Organization", "id": "org"}
    (tmp_path / "two.json").write_text(json.dumps(_bundle(_patient("a"), _patient("b"), _obs("a-1", "a"), _obs("b-1", "b"))))
    (tmp_path / "none.json").write_text(json.dumps(_bundle(_obs("c-1", "c"))))
    (tmp_path / "hospital.json").write_text(json.dumps(_bundle(org)))  # shared resources only: no issue
    with FileSource(tmp_path, bundle_per_patient=True) as source:
        assert keys_of(source) == {"a": [("Observation", "a-1"), ("Patient", "a")], "b": [("Observation", "b-1"), ("Patient", "b")]}
        assert [r["id"] for r in source.shared_resources()] == ["org"]
        messages = sorted(i.message.split(";")[0] for i in source.issues)
    assert messages == [
        "no Patient resource: 1 resource(s) refer to Patient/c, which is not in the data",
        "not one patient: a bundle per patient was expected, but it holds 2 Patient resources (a, b)",
        "not one patient: a bundle per patient was expected, but it holds no Patient resource",
    ]


def test_ndjson_lines_holding_bundles(tmp_path: Path) -> None:
    _ndjson(tmp_path / "bundles.ndjson", [
        _bundle(_patient("a"), _obs("a-1", "a"), _obs("a-2", "elsewhere")),
        _bundle(_patient("b"), _obs("b-1", "b")),
    ])
    with FileSource(tmp_path) as source:  # was: each line a shared Bundle, and no patients at all
        assert keys_of(source) == {"a": [("Observation", "a-1"), ("Patient", "a")], "b": [("Observation", "b-1"), ("Patient", "b")]}
        assert [i.resource_id for i in source.issues] == ["elsewhere"] and source.shared_resources() == []
    with FileSource(tmp_path, bundle_per_patient=True) as source:
        assert keys_of(source)["a"] == [("Observation", "a-1"), ("Observation", "a-2"), ("Patient", "a")]
        assert source.issues == []


def _json(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> httpx.Response:
    return httpx.Response(status, json=body, headers=headers)


def test_bulk_export_has_no_phantom_subjects(tmp_path: Path) -> None:
    base = "http://bulk.test/fhir"

    def answer(request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if path.endswith("/Patient/$export"):
            return httpx.Response(202, headers={"Content-Location": f"{base}/status/1"})
        if path.endswith("/status/1"):
            return _json({"transactionTime": "2025-01-01T00:00:00Z", "request": f"{base}/Patient/$export", "requiresAccessToken": False,
                          "output": [{"type": "Patient", "url": f"{base}/files/p"}, {"type": "Observation", "url": f"{base}/files/o"}]})
        rows = [_patient("a")] if path.endswith("/files/p") else [_obs("a-1", "a"), _obs("g-1", "ghost")]
        return httpx.Response(200, content="".join(json.dumps(r) + "\n" for r in rows).encode())

    client = httpx.Client(transport=httpx.MockTransport(answer))
    with BulkExportSource(base, work_dir=tmp_path, client=client, sleep=lambda s: None) as source:
        assert keys_of(source) == {"a": [("Observation", "a-1"), ("Patient", "a")]}
        assert [(i.resource_id, i.skipped) for i in source.issues] == [("ghost", True)]


def test_rest_server_records_only_patients_the_server_has() -> None:
    base = "http://rest.test/fhir"

    def answer(request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if path.endswith("/metadata"):
            rest = [{"mode": "server", "resource": [{"type": "Patient", "operation": [{"name": "everything"}]}]}]
            return _json({"resourceType": "CapabilityStatement", "fhirVersion": "4.0.1", "rest": rest})
        if path.endswith("/Patient"):
            return _json({"resourceType": "Bundle", "type": "searchset", "entry": [{"resource": _patient("a")}]})
        entries = [_patient("a"), _obs("a-1", "a"), _obs("g-1", "ghost")]  # $everything with a stray resource
        return _json({"resourceType": "Bundle", "type": "searchset", "entry": [{"resource": r} for r in entries]})

    client = httpx.Client(transport=httpx.MockTransport(answer))
    with RestSource(base, client=client, strategy="everything") as source:
        assert keys_of(source) == {"a": [("Observation", "a-1"), ("Patient", "a")]}


LIBRARY = """library Ages using FHIR version '4.0.1'
context Patient
define Years: AgeInYears()
define MonthsAt: AgeInMonthsAt(@2025-12-31)
"""


def test_age_of_a_patient_without_birth_date_is_null() -> None:
    lib = compile_library(LIBRARY)
    for patient in ({"resourceType": "Patient", "id": "p"},
                    {"resourceType": "Patient", "id": "p", "_birthDate": {"extension": [
                        {"url": "http://hl7.org/fhir/StructureDefinition/data-absent-reason", "valueCode": "unknown"}]}}):
        ctx = patient_context(lib, PatientRecord("p", [patient]))
        assert lib.evaluate("Years", ctx) is None and lib.evaluate("MonthsAt", ctx) is None


def test_age_without_a_patient_is_a_clear_error() -> None:
    lib = compile_library(LIBRARY)
    ctx = patient_context(lib, PatientRecord("ghost", [_obs("g-1", "ghost")]))
    with pytest.raises(CqlRuntimeError, match=r"AgeInMonthsAt\(\) reads the Patient's birth date, but this Patient context has no Patient"):
        lib.evaluate("MonthsAt", ctx)

"""REST and Bulk sources against real sekmet-fhir servers (see conftest.py), compared with files.

The same synthetic data read from ``../shared/synthetic`` and from a server must give the same
patients with the same resources (type and id). One documented exception: sekmet 0.1.1 keeps no
search index for CareTeam and SupplyDelivery (they are missing from its search-parameter table
and CapabilityStatement), so it cannot find them by patient: ``$everything``, ``CareTeam?patient=``
and Patient-level ``$export`` omit them, while system-level ``$export`` (which reads every
stored resource) has them. Those comparisons allow exactly those types to be missing.
"""

from __future__ import annotations

import argparse
import shutil
import time
from functools import cache
from pathlib import Path
from typing import Any

import httpx
import pytest

from pedqm.cli.data_options import add_data_arguments, open_data
from pedqm.fhir.records import ResourceSource
from pedqm.fhir.sources import (
    BearerToken,
    BulkExportSource,
    DataSourceError,
    FileSource,
    RestSource,
    SmartBackendAuth,
    summarize_issues,
)

from .conftest import MALFORMED_OBSERVATION, SYNTHETIC, FaultProxy, SekmetServer, free_port

pytestmark = pytest.mark.server

SEKMET_UNINDEXED = {"CareTeam", "SupplyDelivery"}
Keys = dict[str, set[tuple[str, str]]]


def keys_of(source: ResourceSource) -> Keys:
    return {r.patient_id: {(x["resourceType"], x["id"]) for x in r.resources} for r in source.patients()}


@cache
def file_keys(folder: Path = SYNTHETIC) -> Keys:
    with FileSource(folder) as files:
        return keys_of(files)


def assert_same_as_files(server: Keys, files: Keys, *, allow_missing: frozenset[str] | set[str] = frozenset()) -> None:
    assert sorted(server) == sorted(files)
    for pid, expected in files.items():
        missing = expected - server[pid]
        assert not server[pid] - expected, f"{pid}: server has resources the files do not"
        assert {t for t, _ in missing} <= allow_missing, f"{pid}: missing {sorted(missing)[:5]}"
        assert {k for k in expected if k[0] not in allow_missing} == {k for k in server[pid] if k[0] not in allow_missing}


def counting_client() -> tuple[httpx.Client, list[str]]:
    seen: list[str] = []
    client = httpx.Client(timeout=30, event_hooks={"request": [lambda req: seen.append(str(req.url))]})
    return client, seen


# ---------------------------------------------------------------------------- REST


def test_capability_statement_is_read_and_described(fhir_server: SekmetServer) -> None:
    with RestSource(fhir_server.base_url) as source:
        caps = source.check()
        assert caps.fhir_version == "4.0.1"
        assert caps.supports_everything
        assert caps.export_levels() == ["system", "patient", "group"]
        assert caps.supports_param("Observation", "code")
        text = caps.describe()
        assert "Patient/$everything: yes" in text and "Bulk $export: system, patient, group" in text


def test_everything_with_count_2_pages_matches_files(fhir_server: SekmetServer) -> None:
    client, seen = counting_client()
    with RestSource(fhir_server.base_url, page_size=2, strategy="everything", client=client) as source:
        server = keys_of(source)
        assert not [i for i in source.issues if i.skipped]
    assert_same_as_files(server, file_keys(), allow_missing=SEKMET_UNINDEXED)
    patient_pages = [u for u in seen if "/Patient?" in u]
    assert len(patient_pages) == 7  # 14 patients, _count=2, following Bundle.link[next]
    assert all("_count=2" in u for u in patient_pages)
    assert sum("$everything" in u for u in seen) == 14


def test_per_type_search_matches_files(fhir_server: SekmetServer) -> None:
    with RestSource(fhir_server.base_url, page_size=5, strategy="search", max_concurrency=4) as source:
        server = keys_of(source)
        refused = {i.resource_type for i in source.issues if i.message.startswith("not searched")}
    assert_same_as_files(server, file_keys(), allow_missing=SEKMET_UNINDEXED)
    assert SEKMET_UNINDEXED <= refused  # sekmet answers 400 (handling=strict); we say so, not guess


def test_filters_are_pushed_down_and_search_api(fhir_server: SekmetServer) -> None:
    height = "http://loinc.org|8302-2"
    client, seen = counting_client()
    with RestSource(fhir_server.base_url, filters={"Observation": {"code": height}}, client=client) as source:
        assert source.chosen_strategy() == "search"
        records = list(source.patients())
        found = [o for r in records for o in r.of_type("Observation")]
        assert found and all(c["code"] == "8302-2" for o in found for c in o["code"]["coding"][:1])
        assert any("code=http" in u and "/Observation?" in u for u in seen)
        assert sum(len(r.of_type("Immunization")) for r in records) > 0  # other types unfiltered
        recent = list(source.search("Observation", {"code": height, "date": "ge2015-01-01"}))
    with FileSource(SYNTHETIC) as files:
        expected = {
            (r.patient_id, o["id"])
            for r in files.patients()
            for o in r.of_type("Observation")
            if any(c.get("system") == "http://loinc.org" and c.get("code") == "8302-2" for c in o["code"]["coding"])
        }
    assert {(r.patient_id, o["id"]) for r in records for o in r.of_type("Observation")} == expected
    assert recent and all(o["effectiveDateTime"] >= "2015-01-01" for o in recent)


def test_resource_types_restrict_the_search(fhir_server: SekmetServer) -> None:
    with RestSource(fhir_server.base_url, resource_types=["Immunization"], page_size=20) as source:
        types = {x["resourceType"] for r in source.patients() for x in r.resources}
    assert types == {"Patient", "Immunization"}


# ---------------------------------------------------------------------------- failures


def test_server_down_is_a_clear_error() -> None:
    url = f"http://127.0.0.1:{free_port()}/fhir"  # nothing listens there
    with RestSource(url, retries=1, backoff=0.01, timeout=2) as source:
        with pytest.raises(DataSourceError) as err:
            list(source.patients())
    assert err.value.url == f"{url}/metadata" and "cannot reach" in str(err.value)
    with pytest.raises(DataSourceError, match="cannot reach"):
        BulkExportSource(url, retries=0, work_dir=Path("/nonexistent-never-created")).run()


def test_retry_after_on_429_and_backoff_on_503(fault_proxy: FaultProxy) -> None:
    fault_proxy.fail("/fhir/Patient?", 429, times=1, headers={"Retry-After": "1"})
    fault_proxy.fail("$everything", 503, times=2)
    started = time.monotonic()
    with RestSource(fault_proxy.base_url, page_size=50, backoff=0.05) as source:
        assert sorted(keys_of(source)) == sorted(file_keys())
        assert source.http.retried == 3
    assert time.monotonic() - started >= 1.0  # waited what Retry-After asked


def test_failure_mid_paging_names_the_page_and_keeps_earlier_records(fault_proxy: FaultProxy) -> None:
    fault_proxy.fail("_offset=4", 500)  # the third page of Patient?_count=2, on every try
    records = []
    with RestSource(fault_proxy.base_url, page_size=2, retries=2, backoff=0.01) as source:
        with pytest.raises(DataSourceError) as err:
            for record in source.patients():
                records.append(record)
    assert len(records) == 4 and all(r.patient is not None and len(r.resources) > 100 for r in records)
    assert err.value.status == 500
    message = str(err.value)
    assert "patient list, page 3" in message and "_offset=4" in message and "4 patient record(s) were read" in message


def test_failed_patient_fetch_is_named_after_the_others_are_yielded(fault_proxy: FaultProxy) -> None:
    broken = "e808d6a9-bdbb-478d-981d-87460cd7db8c"
    fault_proxy.fail(f"Patient/{broken}/$everything", 502)
    with RestSource(fault_proxy.base_url, retries=1, backoff=0.01) as source:
        records = []
        with pytest.raises(DataSourceError) as err:
            for record in source.patients():
                records.append(record.patient_id)
    assert sorted(records) == sorted(set(file_keys()) - {broken})
    assert broken in str(err.value) and err.value.status == 502 and "13 patient record(s)" in str(err.value)


def test_timeout_is_a_clear_error(fault_proxy: FaultProxy) -> None:
    fault_proxy.fail("/fhir/Patient?", delay=2.0)
    with RestSource(fault_proxy.base_url, timeout=0.3, retries=0) as source:
        with pytest.raises(DataSourceError, match="timed out"):
            list(source.patients())


def test_missing_authorization_is_401(secure_server: SekmetServer) -> None:
    with RestSource(secure_server.base_url) as source:
        with pytest.raises(DataSourceError) as err:
            list(source.patients())
    assert err.value.status == 401 and "authorization refused" in str(err.value)


def test_rejected_bearer_token_is_401(secure_server: SekmetServer) -> None:
    with RestSource(secure_server.base_url, auth=BearerToken("not-a-valid-token")) as source:
        with pytest.raises(DataSourceError) as err:
            list(source.patients())
    assert err.value.status == 401 and secure_server.base_url in str(err.value)


def test_accepted_bearer_token(secure_server: SekmetServer) -> None:
    with RestSource(secure_server.base_url, auth=BearerToken(secure_server.info["loader_token"])) as source:
        assert sorted(keys_of(source)) == sorted(secure_server.info["patients"])


# ---------------------------------------------------------------------------- SMART Backend Services


@pytest.mark.parametrize(("client_id", "key", "alg"), [("pedqm-rs384", "rsa", "RS384"), ("pedqm-es384", "ec", "ES384")])
def test_smart_backend_services(secure_server: SekmetServer, client_id: str, key: str, alg: str) -> None:
    auth = SmartBackendAuth(client_id, secure_server.info["keys"][key])
    assert auth.alg == alg
    with RestSource(secure_server.base_url, auth=auth, page_size=2) as source:
        records = list(source.patients())
    assert sorted(r.patient_id for r in records) == sorted(secure_server.info["patients"])
    assert auth.token_requests == 1  # discovered via .well-known, fetched once, reused
    assert auth.token_url == f"{secure_server.root_url}/auth/token"
    assert auth.granted_scope == "system/*.read"


def test_smart_token_is_renewed_before_expiry_and_after_401(secure_server: SekmetServer) -> None:
    later = [0.0]
    auth = SmartBackendAuth("pedqm-rs384", secure_server.info["keys"]["rsa"], clock=lambda: time.time() + later[0])
    with RestSource(secure_server.base_url, auth=auth) as source:
        list(source.search("Patient", {"_count": "1"}))
        assert auth.token_requests == 1
        later[0] = 590.0  # the 600 s token is now within its renewal margin
        list(source.search("Patient", {"_count": "1"}))
        assert auth.token_requests == 2
        auth._token = "revoked-by-the-server"  # as if the server dropped it early: 401, renew, retry
        assert len(list(source.search("Patient", {"_count": "1"}))) == 3  # all pages followed
        assert auth.token_requests == 3


def test_smart_scope_too_narrow_is_403(secure_server: SekmetServer) -> None:
    auth = SmartBackendAuth("pedqm-narrow", secure_server.info["keys"]["rsa"], alg="RS384", scope="system/Observation.read")
    with RestSource(secure_server.base_url, auth=auth) as source:
        with pytest.raises(DataSourceError) as err:
            list(source.patients())
    assert err.value.status == 403 and "forbidden" in str(err.value)


def test_smart_unknown_client_is_refused_at_the_token_endpoint(secure_server: SekmetServer) -> None:
    auth = SmartBackendAuth("nobody", secure_server.info["keys"]["ec"])
    with RestSource(secure_server.base_url, auth=auth) as source:
        with pytest.raises(DataSourceError) as err:
            list(source.patients())
    assert err.value.status == 401 and "/auth/token" in str(err.value) and "invalid_client" in str(err.value)


def test_malformed_resource_on_the_server_is_skipped_and_reported(secure_server: SekmetServer) -> None:
    auth = BearerToken(secure_server.info["loader_token"])
    with RestSource(secure_server.base_url, auth=auth) as source:
        records = {r.patient_id: r for r in source.patients()}
        skipped = [i for i in source.issues if i.skipped]
    assert len(skipped) == 1
    bad = skipped[0]
    assert (bad.resource_type, bad.resource_id) == ("Observation", "impossible-date")
    assert bad.location.endswith("/Observation/impossible-date") and bad.message.startswith("invalid date")
    owner = records[MALFORMED_OBSERVATION["subject"]["reference"].split("/")[1]]
    assert "impossible-date" not in {o["id"] for o in owner.of_type("Observation")}
    assert len(owner.of_type("Observation")) > 100  # the rest of that patient is intact
    assert summarize_issues(source.issues) == {"invalid date": 1}


# ---------------------------------------------------------------------------- Bulk $export


def test_bulk_system_export_matches_files_exactly(fhir_server: SekmetServer, tmp_path: Path) -> None:
    progress: list[str] = []
    with BulkExportSource(fhir_server.base_url, level="system", work_dir=tmp_path, poll_interval=0.2,
                          progress=progress.append) as source:
        server = keys_of(source)
        assert source.kickoffs == 1 and source.downloads >= 20
        assert {r["resourceType"] for r in source.shared_resources()} >= {"Organization", "Practitioner"}
    assert server == file_keys()  # every stored resource, CareTeam and SupplyDelivery included
    assert any(p.startswith("export in progress") for p in progress)  # polled while X-Progress said so


def test_bulk_patient_export_type_since_and_type_filter(fhir_server: SekmetServer, tmp_path: Path) -> None:
    with BulkExportSource(fhir_server.base_url, level="patient", work_dir=tmp_path, poll_interval=0.2) as source:
        assert_same_as_files(keys_of(source), file_keys(), allow_missing=SEKMET_UNINDEXED)
    with BulkExportSource(fhir_server.base_url, types=["Patient", "Immunization"], work_dir=tmp_path) as source:
        records = list(source.patients())
        assert len(records) == 14 and {x["resourceType"] for r in records for x in r.resources} == {"Patient", "Immunization"}
    flt = "Observation?code=http://loinc.org|8302-2"
    with BulkExportSource(fhir_server.base_url, types=["Patient", "Observation"], type_filters=[flt], work_dir=tmp_path) as source:
        codes = {c["code"] for r in source.patients() for o in r.of_type("Observation") for c in o["code"]["coding"]}
        assert codes == {"8302-2"}
    with BulkExportSource(fhir_server.base_url, since="2999-01-01T00:00:00Z", work_dir=tmp_path) as source:
        assert list(source.patients()) == []


def test_bulk_export_resumes_after_interruption(fhir_server: SekmetServer, tmp_path: Path) -> None:
    first = BulkExportSource(fhir_server.base_url, level="system", types=["Patient", "Condition", "Immunization"], work_dir=tmp_path)
    state = first._load_state()
    status_url = first.kick_off(state)  # ...and then the run "dies" before polling
    first.close()

    second = BulkExportSource(fhir_server.base_url, level="system", types=["Patient", "Condition", "Immunization"],
                              work_dir=tmp_path, poll_interval=0.2)
    output = second.run()
    assert second.kickoffs == 0 and second._load_state()["status_url"] == status_url  # same job polled
    files = sorted(output.glob("*.ndjson"))
    assert [f.name for f in files] == ["Condition.001.ndjson", "Immunization.001.ndjson", "Patient.001.ndjson"]

    # a download that broke off: one file lost, the rest kept
    mtimes = {f.name: f.stat().st_mtime_ns for f in files}
    (output / "Condition.001.ndjson").unlink()
    third = BulkExportSource(fhir_server.base_url, level="system", types=["Patient", "Condition", "Immunization"], work_dir=tmp_path)
    third.run()
    assert third.kickoffs == 0 and third.downloads == 1
    assert (output / "Patient.001.ndjson").stat().st_mtime_ns == mtimes["Patient.001.ndjson"]
    assert len(list(third.patients())) == 14
    for source in (second, third):
        source.close()


def test_bulk_group_export_with_smart_and_access_token_on_files(secure_server: SekmetServer, tmp_path: Path) -> None:
    auth = SmartBackendAuth("pedqm-es384", secure_server.info["keys"]["ec"])
    with BulkExportSource(secure_server.base_url, auth=auth, level="group", group_id=secure_server.info["group"],
                          work_dir=tmp_path, poll_interval=0.2) as source:
        records = {r.patient_id: r for r in source.patients()}
        manifest = source._load_state()["manifest"]
    assert manifest["requiresAccessToken"] is True
    assert sorted(records) == sorted(secure_server.info["patients"][:2])
    for record in records.values():  # the Group is in each member's compartment
        assert [g["id"] for g in record.of_type("Group")] == [secure_server.info["group"]]
    # without the token the files are refused: the source must have sent it
    url = manifest["output"][0]["url"]
    assert httpx.get(url).status_code == 401


def test_bulk_export_that_fails_on_the_server(secure_server: SekmetServer, tmp_path: Path) -> None:
    auth = BearerToken(secure_server.info["loader_token"])
    with pytest.raises(DataSourceError) as err:
        BulkExportSource(secure_server.base_url, auth=auth, level="group", group_id="no-such-group", work_dir=tmp_path).run()
    assert err.value.status == 404 and "kick-off" in str(err.value)


# ---------------------------------------------------------------------------- CLI helpers


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_data_arguments(parser)
    return parser.parse_args(list(argv))


def test_cli_options_open_rest_smart_and_bulk_sources(secure_server: SekmetServer, tmp_path: Path) -> None:
    args = parse("--data", secure_server.base_url, "--smart-client-id", "pedqm-rs384",
                 "--smart-key", str(secure_server.info["keys"]["rsa"]), "--smart-alg", "RS384", "--page-size", "2")
    source: Any = open_data(args)
    assert isinstance(source, RestSource) and source.page_size == 2
    assert len(list(source.patients())) == 3
    args = parse("--data", secure_server.base_url, "--bearer-token", secure_server.info["loader_token"],
                 "--bulk", "--bulk-group", secure_server.info["group"], "--work-dir", str(tmp_path))
    bulk: Any = open_data(args)
    assert isinstance(bulk, BulkExportSource) and bulk.level == "group"
    assert len(list(bulk.patients())) == 2
    shutil.rmtree(tmp_path, ignore_errors=True)

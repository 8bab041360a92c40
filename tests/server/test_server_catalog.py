"""GET /metadata and Measure/Library/ValueSet read and search, against a running `pedqm serve`."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from .conftest import start_server

pytestmark = pytest.mark.server

MEASURE_URL = "http://pedqm.org/fhir/Measure/childhood-immunization"


def _ids(bundle: dict) -> list[str]:
    assert bundle["resourceType"] == "Bundle" and bundle["type"] == "searchset"
    return [e["resource"]["id"] for e in bundle["entry"] if e.get("search", {}).get("mode") == "match"]


def test_capability_statement_lists_operations_and_resources(population: httpx.Client) -> None:
    r = population.get("/metadata")
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/fhir+json")
    cs = r.json()
    assert cs["resourceType"] == "CapabilityStatement" and cs["fhirVersion"] == "4.0.1"
    resources = {res["type"]: res for res in cs["rest"][0]["resource"]}
    assert {"Measure", "Library", "ValueSet", "MeasureReport"} <= set(resources)
    ops = {op["name"] for op in resources["Measure"]["operation"]}
    assert ops == {"evaluate-measure", "evaluate", "submit-data", "data-requirements", "collect-data", "care-gaps"}
    assert {p["name"] for p in resources["Measure"]["searchParam"]} >= {"url", "version", "identifier", "name"}


def test_measure_search_by_url_version_identifier_name(population: httpx.Client) -> None:
    assert _ids(population.get("/Measure", params={"url": MEASURE_URL}).json()) == ["childhood-immunization"]
    assert _ids(population.get("/Measure", params={"url": f"{MEASURE_URL}|1.0.0"}).json()) == ["childhood-immunization"]
    assert _ids(population.get("/Measure", params={"url": f"{MEASURE_URL}|9.9.9"}).json()) == []
    by_version = _ids(population.get("/Measure", params={"url": MEASURE_URL, "version": "1.0.0"}).json())
    assert by_version == ["childhood-immunization"]
    ident = "http://pedqm.org/fhir/measure-id|childhood-immunization"
    assert _ids(population.get("/Measure", params={"identifier": ident}).json()) == ["childhood-immunization"]
    assert _ids(population.get("/Measure", params={"identifier": "childhood-immunization"}).json()) == ["childhood-immunization"]
    assert _ids(population.get("/Measure", params={"name": "childhoodimm"}).json()) == ["childhood-immunization"]
    assert _ids(population.get("/Measure", params={"name:exact": "childhoodimm"}).json()) == []
    everything = population.get("/Measure").json()
    assert everything["total"] == len(_ids(everything)) >= 7


def test_read_measure_library_valueset(population: httpx.Client) -> None:
    m = population.get("/Measure/childhood-immunization").json()
    assert m["resourceType"] == "Measure" and m["url"] == MEASURE_URL
    libs = population.get("/Library", params={"name": "ChildhoodImmunizationStatus"}).json()
    (lib_id,) = _ids(libs)
    lib = population.get(f"/Library/{lib_id}").json()
    assert lib["url"] == "http://pedqm.org/fhir/Library/ChildhoodImmunizationStatus" and lib["version"] == "1.0.0"
    assert lib["content"][0]["contentType"] == "text/cql"
    vs = population.get("/ValueSet").json()
    some = vs["entry"][0]["resource"]
    found = _ids(population.get("/ValueSet", params={"url": some["url"]}).json())
    assert found == [some["id"]]
    assert population.get(f"/ValueSet/{some['id']}").json()["url"] == some["url"]


def test_unknown_resources_are_404_operation_outcomes(population: httpx.Client) -> None:
    for path in ("/Measure/no-such-measure", "/Library/nope", "/ValueSet/nope", "/Patient/no-such-child", "/Nothing/here/at/all"):
        r = population.get(path)
        assert r.status_code == 404, path
        oo = r.json()
        assert oo["resourceType"] == "OperationOutcome" and oo["issue"][0]["diagnostics"]
    r = population.get("/Patient/pt-00001")
    assert r.status_code == 200 and r.json()["id"] == "pt-00001"
    everything = population.get("/Patient/pt-00001/$everything").json()
    types = [e["resource"]["resourceType"] for e in everything["entry"]]
    assert types[0] == "Patient" and len(types) == everything["total"] > 1
    assert population.get("/Patient/no-such-child/$everything").status_code == 404
    by_id = population.get("/Patient", params={"_id": "pt-00001,pt-00002,nobody"}).json()
    assert sorted(e["resource"]["id"] for e in by_id["entry"]) == ["pt-00001", "pt-00002"]
    assert population.get("/Patient").status_code == 400


def test_unsupported_search_parameter_is_reported_not_fatal(population: httpx.Client) -> None:
    bundle = population.get("/Measure", params={"url": MEASURE_URL, "publisher": "x"}).json()
    assert _ids(bundle) == ["childhood-immunization"]
    outcome = [e for e in bundle["entry"] if e["search"]["mode"] == "outcome"]
    assert "publisher" in outcome[0]["resource"]["issue"][0]["diagnostics"]


def test_bearer_token_guards_everything_but_metadata(tmp_path: Path) -> None:
    server = start_server(tmp_path, "--no-library", "--require-token", "s3cret")
    try:
        with server.client() as c:
            assert c.get("/metadata").status_code == 200
            missing = c.get("/Measure")
            assert missing.status_code == 401 and missing.headers["www-authenticate"].startswith("Bearer")
            assert missing.json()["issue"][0]["code"] == "login"
            assert c.get("/Measure", headers={"Authorization": "Bearer wrong"}).status_code == 401
            ok = c.get("/Measure", headers={"Authorization": "Bearer s3cret"})
            assert ok.status_code == 200 and ok.json()["total"] == 0
    finally:
        server.stop()

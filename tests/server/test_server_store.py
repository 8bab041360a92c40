"""$submit-data into the SQLite store, asynchronous jobs, and both surviving a server restart.

Each test starts its own `pedqm serve` process (a fresh --db) and restarts it: the store is a
file, never only memory.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import httpx
import pytest

from .conftest import LIBRARY, start_server

pytestmark = pytest.mark.server

MEASURE = "childhood-immunization"
PERIOD = {"periodStart": "2025-01-01", "periodEnd": "2025-12-31"}
CASE = LIBRARY / MEASURE / "cases" / "complete-series-met"


def _case_resources(case: Path = CASE) -> tuple[dict, list[dict]]:
    report: dict = {}
    others = []
    for f in sorted(case.glob("*.json")):
        r = json.loads(f.read_text())
        if r["resourceType"] == "MeasureReport":
            report = r
        else:
            others.append(r)
    return report, others


def _submit(c: httpx.Client, report: dict, resources: list[dict]) -> httpx.Response:
    params = [{"name": "measureReport", "resource": report}] + [{"name": "resource", "resource": r} for r in resources]
    return c.post(f"/Measure/{MEASURE}/$submit-data", json={"resourceType": "Parameters", "parameter": params})


def _numerator(c: httpx.Client, subject: str) -> int:
    r = c.get(f"/Measure/{MEASURE}/$evaluate-measure", params={**PERIOD, "subject": subject})
    assert r.status_code == 200, r.text
    pops = {p["code"]["coding"][0]["code"]: p["count"] for p in r.json()["group"][0]["population"]}
    return int(pops["numerator"])


def _poll(c: httpx.Client, url: str, seconds: float = 120) -> httpx.Response:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        r = c.get(url)
        if r.status_code != 202:
            return r
        assert r.headers["x-progress"] in ("accepted", "in-progress")
        time.sleep(0.2)
    raise AssertionError(f"job {url} still running after {seconds} s")


def test_submit_data_is_validated_stored_idempotent_and_survives_restart(tmp_path: Path) -> None:
    server = start_server(tmp_path)  # no --data: the store is the only data
    try:
        report, resources = _case_resources()
        with server.client() as c:
            assert c.get(f"/Measure/{MEASURE}/$evaluate-measure",
                         params={**PERIOD, "subject": "Patient/complete-series-met"}).status_code == 404
            # invalid: one 422 naming every problem, and nothing stored
            bad_report = {k: v for k, v in report.items() if k != "status"}
            bad_resource = {**resources[1], "id": "not a valid id!"}
            r = _submit(c, bad_report, [resources[0], bad_resource])
            assert r.status_code == 422
            text = " | ".join(i["diagnostics"] for i in r.json()["issue"])
            assert "nothing was stored" in text and "status" in text and "not a valid id!" in text
            assert c.get("/Patient/complete-series-met").status_code == 404
            no_report = c.post("/Measure/$submit-data", json={"resourceType": "Parameters", "parameter": [
                {"name": "resource", "resource": resources[0]}]})
            assert no_report.status_code == 400 and "MeasureReport" in no_report.json()["issue"][0]["diagnostics"]
            unknown = c.post("/Measure/no-such-measure/$submit-data", json={"resourceType": "Parameters", "parameter": []})
            assert unknown.status_code == 404
            # valid, then the same again: nothing changes
            first = _submit(c, report, resources)
            assert first.status_code == 200, first.text
            assert f"{len(resources) + 1} new" in first.json()["issue"][0]["diagnostics"]
            again = _submit(c, report, resources)
            assert again.json()["issue"][0]["diagnostics"].endswith(f"0 new, 0 changed, {len(resources) + 1} unchanged")
            assert _numerator(c, "Patient/complete-series-met") == 1
            stored = c.get(f"/MeasureReport/{report['id']}").json()
            assert stored["meta"]["versionId"] == "1"
            # a changed resource replaces the stored one: without its DTaP doses the child misses the numerator
            dtap = [r for r in resources if "dtap" in r["id"]]
            for r in dtap:
                r["status"] = "entered-in-error"
            changed = _submit(c, report, dtap)
            assert f"{len(dtap)} changed" in changed.json()["issue"][0]["diagnostics"]
            assert _numerator(c, "Patient/complete-series-met") == 0
            # the DEQM form: one Bundle holding a report and the data of another child
            report2, resources2 = _case_resources(LIBRARY / MEASURE / "cases" / "combination-vaccines-met")
            bundle = {"resourceType": "Bundle", "type": "collection",
                      "entry": [{"resource": report2}] + [{"resource": x} for x in resources2]}
            ok = c.post("/Measure/$submit-data", json={"resourceType": "Parameters",
                                                        "parameter": [{"name": "bundle", "resource": bundle}]})
            assert ok.status_code == 200, ok.text
            assert _numerator(c, "Patient/combination-vaccines-met") == 1
        server.restart()
        with server.client() as c:
            assert _numerator(c, "Patient/complete-series-met") == 0
            assert _numerator(c, "Patient/combination-vaccines-met") == 1
            assert c.get(f"/MeasureReport/{report['id']}").json()["id"] == report["id"]
            listed = c.get("/MeasureReport").json()
            assert sorted(e["resource"]["id"] for e in listed["entry"]) == sorted([report["id"], report2["id"]])
    finally:
        server.stop()


def test_async_jobs_poll_survive_restart_and_log_no_patient_data(tmp_path: Path) -> None:
    """Prefer: respond-async gives 202 and a status URL; a finished job is still there after a
    restart, and one that was running when the server stopped is reported failed, with the reason.
    The server's log names routes, never the patients asked about."""
    server = start_server(tmp_path, "--data", str(LIBRARY / MEASURE / "cases"))
    try:
        with server.client() as c:
            kick = c.get(f"/Measure/{MEASURE}/$evaluate-measure", params={**PERIOD, "reportType": "population"},
                         headers={"Prefer": "respond-async"})
            assert kick.status_code == 202 and not kick.content
            status_url = kick.headers["content-location"]
            assert status_url.startswith(server.base + "/jobs/")
            done = _poll(c, status_url)
            assert done.status_code == 200, done.text
            bundle = done.json()
            assert bundle["type"] == "batch-response" and bundle["entry"][0]["response"]["status"] == "200"
            report = bundle["entry"][0]["resource"]
            direct = c.get(f"/Measure/{MEASURE}/$evaluate-measure", params={**PERIOD, "reportType": "population"}).json()
            assert report["group"] == direct["group"] and report["group"][0]["population"][0]["count"] > 10
            failing = c.get("/Measure/no-such-measure/$evaluate-measure", headers={"Prefer": "respond-async"})
            failed = _poll(c, failing.headers["content-location"]).json()
            assert failed["entry"][0]["response"]["status"] == "404"
            assert failed["entry"][0]["resource"]["resourceType"] == "OperationOutcome"
            c.get(f"/Measure/{MEASURE}/$evaluate-measure", params={**PERIOD, "subject": "Patient/complete-series-met"})
            c.get("/Patient/hepa-not-done")
            # a job still compiling its measure when the server is killed
            slow = c.get("/Measure/adolescent-depression-screening/$evaluate-measure", params=PERIOD,
                         headers={"Prefer": "respond-async"})
            running_url = slow.headers["content-location"]
            assert c.get(running_url).status_code == 202
        server.restart(kill=True)
        with server.client() as c:
            again = c.get(status_url)
            assert again.status_code == 200 and again.json()["entry"][0]["resource"]["group"] == report["group"]
            interrupted = c.get(running_url)
            assert interrupted.status_code == 500
            assert "stopped before this job finished" in interrupted.json()["issue"][0]["diagnostics"]
            assert c.delete(status_url).status_code == 202
            assert c.get(status_url).status_code == 404
            assert c.get(server.base + "/jobs/no-such-job").status_code == 404
    finally:
        server.stop()
    log = server.log.read_text()
    assert "/Measure/{id}/$evaluate-measure" in log  # requests are logged, by route template
    assert "complete-series-met" not in log and "hepa-not-done" not in log and "subject=" not in log

"""$evaluate-measure and DEQM $evaluate over HTTP: results equal `pedqm evaluate`, subjects, errors."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import httpx
import pytest

from .conftest import ECQM, POPULATION, Server, finish, start_pedqm, start_server, without_volatile

pytestmark = pytest.mark.server

MEASURE = "childhood-immunization"
PERIOD = {"periodStart": "2025-01-01", "periodEnd": "2025-12-31"}


def _counts(report: dict) -> list[dict[str, int]]:
    return [{p["code"]["coding"][0]["code"]: p["count"] for p in g["population"]} for g in report["group"]]


def _parameters(**values: object) -> dict:
    params = []
    for name, value in values.items():
        for v in value if isinstance(value, list) else [value]:
            if isinstance(v, dict):
                params.append({"name": name, "resource": v})
            else:
                params.append({"name": name, "valueString": str(v)})
    return {"resourceType": "Parameters", "parameter": params}


def test_population_summary_equals_pedqm_evaluate(population: httpx.Client) -> None:
    """The whole synthetic population (3,000 children), one library measure: the server's summary
    MeasureReport is the CLI's (ids and dates aside). The CLI runs while the server computes."""
    measure = "child-adolescent-well-care"
    cli = start_pedqm("evaluate", measure, "--data", str(POPULATION), "--period", "2025-01-01", "2025-12-31",
                      "--report-type", "summary", "--no-progress")
    served = population.get(f"/Measure/{measure}/$evaluate-measure", params={**PERIOD, "reportType": "population"})
    assert served.status_code == 200, served.text
    assert without_volatile(served.json()) == without_volatile(json.loads(finish(cli)))
    assert _counts(served.json())[0]["initial-population"] > 100


def test_single_patient_get_and_post_agree(population: httpx.Client) -> None:
    url = f"/Measure/{MEASURE}/$evaluate-measure"
    got = population.get(url, params={**PERIOD, "subject": "Patient/pt-00001"})
    posted = population.post(url, json=_parameters(subject="Patient/pt-00001", **PERIOD))
    assert got.status_code == posted.status_code == 200
    a, b = got.json(), posted.json()
    assert a["type"] == "individual" and a["subject"] == {"reference": "Patient/pt-00001"}
    assert without_volatile(a) == without_volatile(b)
    bare = population.get(url, params={**PERIOD, "subject": "pt-00001", "reportType": "subject"}).json()
    assert without_volatile(bare) == without_volatile(a)


def test_group_subject_report_counts_its_members(population: httpx.Client) -> None:
    """DEQM $evaluate with an inline subjectGroup: the subject-list counts are the sum of the members'
    individual reports, and the lists name exactly the members in each population."""
    members = [f"pt-{i:05d}" for i in range(1, 41)]
    group = {"resourceType": "Group", "id": "attributed", "type": "person", "actual": True,
             "member": [{"entity": {"reference": f"Patient/{m}"}} for m in members]}
    body = _parameters(measureId=MEASURE, subjectGroup=group, reportType="subject-list", **PERIOD)
    r = population.post("/Measure/$evaluate", json=body)
    assert r.status_code == 200, r.text
    (ret,) = r.json()["parameter"]
    (entry,) = ret["resource"]["entry"]
    report = entry["resource"]
    assert report["type"] == "subject-list" and report["subject"] == {"reference": "Group/attributed"}
    individual = population.post("/Measure/$evaluate", json=_parameters(
        measureId=MEASURE, subjectGroup=group, reportType="individual", **PERIOD)).json()
    bundles = [p["resource"] for p in individual["parameter"]]
    assert len(bundles) == len(members)
    totals: dict[str, int] = {}
    for b in bundles:
        for code, n in _counts(b["entry"][0]["resource"])[0].items():
            totals[code] = totals.get(code, 0) + n
    assert _counts(report)[0] == totals
    listed = {c["id"]: {e["item"]["reference"] for e in c.get("entry", [])} for c in report["contained"]}
    assert all(ref.removeprefix("Patient/") in members for refs in listed.values() for ref in refs)


def test_several_measures_in_one_call(population: httpx.Client) -> None:
    r = population.get("/Measure/$evaluate", params={
        "measureId": f"{MEASURE},lead-screening", "subject": "Patient/pt-00002", **PERIOD})
    assert r.status_code == 200, r.text
    (ret,) = r.json()["parameter"]
    reports = [e["resource"] for e in ret["resource"]["entry"]]
    assert [rep["measure"].rsplit("/", 1)[-1] for rep in reports] == [MEASURE, "lead-screening"]
    assert all(rep["type"] == "individual" and rep["subject"]["reference"] == "Patient/pt-00002" for rep in reports)
    by_url = population.get("/Measure/$evaluate", params={
        "measureUrl": f"http://pedqm.org/fhir/Measure/{MEASURE}", "measureIdentifier": "lead-screening",
        "subject": "Patient/pt-00002", **PERIOD}).json()
    assert [without_volatile(e["resource"]) for e in by_url["parameter"][0]["resource"]["entry"]] == \
        [without_volatile(rep) for rep in reports]


@pytest.mark.parametrize(("path", "params", "status", "needle"), [
    (f"/Measure/{MEASURE}/$evaluate-measure", {"periodStart": "2025-12-31", "periodEnd": "2025-01-01"}, 400, "after"),
    (f"/Measure/{MEASURE}/$evaluate-measure", {"periodStart": "2025-02-30", "periodEnd": "2025-12-31"}, 400, "periodStart"),
    (f"/Measure/{MEASURE}/$evaluate-measure", {"periodStart": "last year", "periodEnd": "2025-12-31"}, 400, "periodStart"),
    (f"/Measure/{MEASURE}/$evaluate-measure", {"periodStart": "2025-01-01"}, 400, "periodEnd is missing"),
    (f"/Measure/{MEASURE}/$evaluate-measure", {**PERIOD, "reportType": "everything"}, 400, "reportType"),
    (f"/Measure/{MEASURE}/$evaluate-measure", {**PERIOD, "colour": "blue"}, 400, "unknown parameter 'colour'"),
    (f"/Measure/{MEASURE}/$evaluate-measure", {**PERIOD, "subject": "Patient/no-such-child"}, 404, "no-such-child"),
    (f"/Measure/{MEASURE}/$evaluate-measure", {**PERIOD, "subject": "Group/no-such-group"}, 404, "Group/no-such-group"),
    ("/Measure/no-such-measure/$evaluate-measure", PERIOD, 404, "no-such-measure"),
    ("/Measure/$evaluate", PERIOD, 400, "measureId"),
    ("/Measure/$evaluate", {**PERIOD, "measureId": "no-such-measure"}, 404, "no-such-measure"),
    ("/Measure/$evaluate", {**PERIOD, "measureUrl": "http://example.org/Measure/x"}, 404, "measureUrl"),
    ("/Measure/$evaluate", {**PERIOD, "measureId": MEASURE, "reportType": "population"}, 400, "reportType"),
    ("/Measure/$evaluate", {**PERIOD, "measureId": MEASURE, "subject": "Encounter/e1"}, 400, "subject"),
])
def test_errors_are_operation_outcomes(population: httpx.Client, path: str, params: dict, status: int, needle: str) -> None:
    r = population.get(path, params=params)
    assert r.status_code == status, r.text
    oo = r.json()
    assert oo["resourceType"] == "OperationOutcome" and oo["issue"][0]["severity"] == "error"
    assert needle in oo["issue"][0]["diagnostics"]


def test_bad_request_bodies(population: httpx.Client) -> None:
    url = f"/Measure/{MEASURE}/$evaluate-measure"
    not_json = population.post(url, content=b"{not json", headers={"content-type": "application/fhir+json"})
    assert not_json.status_code == 400 and "not JSON" in not_json.json()["issue"][0]["diagnostics"]
    wrong = population.post(url, json={"resourceType": "Patient", "id": "x"})
    assert wrong.status_code == 400 and "Parameters" in wrong.json()["issue"][0]["diagnostics"]
    subject_report_for_group = population.post("/Measure/$evaluate", json=_parameters(
        measureId=MEASURE, subjectGroup={"resourceType": "Group", "id": "g", "type": "person", "actual": True,
                                         "member": [{"entity": {"reference": "Encounter/1"}}]}, **PERIOD))
    assert subject_report_for_group.status_code == 422


def test_additional_data_is_used_for_the_request_only(population: httpx.Client) -> None:
    """A child known only from additionalData is evaluated, and nothing of it is kept."""
    case = Path(__file__).resolve().parents[2] / "measure_library" / MEASURE / "cases" / "complete-series-met"
    resources = [json.loads(f.read_text()) for f in sorted(case.glob("*.json")) if not f.name.startswith("MeasureReport")]
    bundle = {"resourceType": "Bundle", "type": "collection", "entry": [{"resource": r} for r in resources]}
    body = _parameters(subject="Patient/complete-series-met", additionalData=bundle, **PERIOD)
    r = population.post(f"/Measure/{MEASURE}/$evaluate-measure", json=body)
    assert r.status_code == 200, r.text
    assert _counts(r.json())[0]["numerator"] == 1
    assert population.get("/Patient/complete-series-met").status_code == 404


@pytest.mark.skipif(not ECQM.is_dir(), reason="../shared/ecqm is not beside the repository")
def test_published_measure_equals_pedqm_evaluate(tmp_path: Path) -> None:
    """CMS136 (two groups) over twelve of its published test cases laid out as one directory:
    the served subject-list report (counts and who is in each population) equals `pedqm evaluate`'s."""
    deck = ECQM / "CMS136-FollowUpCareforChildrenPrescribedADHDMedicationADDFHIR"
    data = tmp_path / "data"
    for case in sorted(p for p in (deck / "cases").iterdir() if p.is_dir())[:12]:
        target = data / case.name
        target.mkdir(parents=True)
        for f in case.glob("*.json"):
            if not f.name.startswith("MeasureReport"):
                shutil.copy(f, target / f.name)
    cli = start_pedqm("evaluate", str(deck / "measure-bundle.json"), "--data", str(data), "--report-type", "subject-list",
                      "--no-progress")
    server = start_server(tmp_path, "--no-library", "--data", str(data), "--measures", str(deck / "measure-bundle.json"))
    try:
        with server.client() as c:
            (m,) = c.get("/Measure").json()["entry"]
            served = c.get(f"/Measure/{m['resource']['id']}/$evaluate-measure", params={"reportType": "subject-list"})
            assert served.status_code == 200, served.text
            report = served.json()
            assert without_volatile(report) == without_volatile(json.loads(finish(cli)))
            assert len(report["group"]) == 2 and sum(_counts(report)[0].values()) > 0
    finally:
        server.stop()


def test_concurrent_requests_give_the_sequential_results(population_server: Server) -> None:
    """Requests are evaluated in worker threads sharing the compiled measures: twelve at a time
    must answer exactly what one at a time does."""
    from concurrent.futures import ThreadPoolExecutor

    work = [(m, f"pt-{i:05d}") for i in range(1, 13) for m in (MEASURE, "pharyngitis-testing")]

    def one(item: tuple[str, str]) -> tuple[object, ...]:
        m, pid = item
        with population_server.client() as c:
            r = c.get(f"/Measure/{m}/$evaluate-measure", params={**PERIOD, "subject": f"Patient/{pid}"})
        assert r.status_code == 200, r.text
        d = r.json()
        return d["status"], d["group"], d.get("evaluatedResource")

    sequential = [one(w) for w in work]
    with ThreadPoolExecutor(12) as pool:
        assert list(pool.map(one, work)) == sequential

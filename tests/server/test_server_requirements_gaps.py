"""$data-requirements, $collect-data and $care-gaps against a server over the childhood-immunization
test cases (each case one child, with its expected populations)."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from pedqm.measure.gaps import gap_status

from .conftest import LIBRARY, start_server

pytestmark = pytest.mark.server

MEASURE = "childhood-immunization"
PERIOD = {"periodStart": "2025-01-01", "periodEnd": "2025-12-31"}
VS = "http://pedqm.org/fhir/ValueSet/"

# expected gap status of library cases (the measure's improvement notation is increase):
# numerator met -> closed; denominator not met -> open; excluded or outside the denominator -> not-applicable
EXPECTED_GAPS = {
    "complete-series-met": "closed-gap",
    "combination-vaccines-met": "closed-gap",
    "hepa-not-done": "open-gap",
    "dtap-first-dose-day-41": "open-gap",
    "excl-died": "not-applicable",
    "excl-scid": "not-applicable",
    "second-birthday-day-after": "not-applicable",
}


@pytest.fixture(scope="module")
def cases(tmp_path_factory: pytest.TempPathFactory) -> Iterator[httpx.Client]:
    server = start_server(tmp_path_factory.mktemp("cases"), "--data", str(LIBRARY / MEASURE / "cases"))
    try:
        with server.client() as c:
            yield c
    finally:
        server.stop()


def test_data_requirements_from_the_compiled_cql(cases: httpx.Client) -> None:
    r = cases.get(f"/Measure/{MEASURE}/$data-requirements", params=PERIOD)
    assert r.status_code == 200, r.text
    lib = r.json()
    assert lib["resourceType"] == "Library" and lib["type"]["coding"][0]["code"] == "module-definition"
    reqs = lib["dataRequirement"]
    immunizations = [q for q in reqs if q["type"] == "Immunization"]
    assert immunizations and all(q["profile"] == ["http://hl7.org/fhir/us/qicore/StructureDefinition/qicore-immunization"]
                                 for q in immunizations)
    filtered = {f["valueSet"] for q in immunizations for f in q.get("codeFilter", [])}
    assert f"{VS}dtap-vaccine" in filtered and all(f["path"] == "vaccineCode"
                                                   for q in immunizations for f in q.get("codeFilter", []))
    assert any(q["type"] == "Patient" for q in reqs)
    related = {a["resource"] for a in lib["relatedArtifact"]}
    assert "http://pedqm.org/fhir/Library/ChildhoodImmunizationStatus|1.0.0" in related
    assert f"{VS}dtap-vaccine" in related
    # a query comparing an element with "Measurement Period" gives a date filter on that element
    dated = [q for q in reqs if q.get("dateFilter")]
    assert all(f["valuePeriod"] == {"start": "2025-01-01", "end": "2025-12-31"} for q in dated for f in q["dateFilter"])
    (lib_id,) = [e["resource"]["id"] for e in cases.get("/Library", params={"name": "ChildhoodImmunizationStatus"}).json()["entry"]]
    via_library = cases.get(f"/Library/{lib_id}/$data-requirements", params=PERIOD).json()
    assert via_library["dataRequirement"] == reqs
    assert cases.get("/Measure/nope/$data-requirements").status_code == 404


def test_collect_data_returns_the_report_and_what_it_read(cases: httpx.Client) -> None:
    r = cases.get(f"/Measure/{MEASURE}/$collect-data", params={**PERIOD, "subject": "Patient/complete-series-met"})
    assert r.status_code == 200, r.text
    params = r.json()["parameter"]
    (report,) = [p["resource"] for p in params if p["name"] == "measureReport"]
    assert report["type"] == "data-collection" and report["subject"]["reference"] == "Patient/complete-series-met"
    resources = [p["resource"] for p in params if p["name"] == "resource"]
    refs = {f"{x['resourceType']}/{x['id']}" for x in resources}
    assert "Immunization/complete-series-met-dtap-1" in refs
    assert refs <= {e["reference"] for e in report["evaluatedResource"]}


def test_gap_status_rules() -> None:
    assert gap_status({"denominator": 1, "numerator": 1}, "increase") == "closed-gap"
    assert gap_status({"denominator": 1, "numerator": 0}, "increase") == "open-gap"
    assert gap_status({"denominator": 1, "numerator": 1}, "decrease") == "open-gap"
    assert gap_status({"denominator": 1, "numerator": 0}, "decrease") == "closed-gap"
    assert gap_status({"denominator": 1, "denominator-exclusion": 1}, "increase") == "not-applicable"
    assert gap_status({"denominator": 1, "denominator-exception": 1, "numerator": 0}, "increase") == "not-applicable"
    assert gap_status({"initial-population": 1, "denominator": 0}, "increase") == "not-applicable"


@pytest.mark.parametrize(("case", "expected"), sorted(EXPECTED_GAPS.items()))
def test_care_gaps_per_case(cases: httpx.Client, case: str, expected: str) -> None:
    every = "open-gap,closed-gap,not-applicable,prospective-gap"
    r = cases.get("/Measure/$care-gaps", params={**PERIOD, "subject": f"Patient/{case}", "measureId": MEASURE,
                                                  "status": every})
    assert r.status_code == 200, r.text
    (ret,) = r.json()["parameter"]
    bundle = ret["resource"]
    assert bundle["type"] == "document"
    resources = [e["resource"] for e in bundle["entry"]]
    composition = resources[0]
    assert composition["resourceType"] == "Composition"
    assert composition["type"]["coding"][0] == {"system": "http://loinc.org", "code": "96315-7", "display": "Gaps in care report"}
    (issue,) = [x for x in resources if x["resourceType"] == "DetectedIssue"]
    assert issue["code"]["coding"][0]["code"] == "CAREGAP"
    status = issue["modifierExtension"][0]["valueCodeableConcept"]["coding"][0]["code"]
    assert status == expected
    (report,) = [x for x in resources if x["resourceType"] == "MeasureReport"]
    assert composition["section"][0]["focus"]["reference"] == f"MeasureReport/{report['id']}"
    assert issue["evidence"][0]["detail"][0]["reference"] == f"MeasureReport/{report['id']}"
    full_urls = {e["fullUrl"] for e in bundle["entry"]}
    assert all(u.startswith("http://127.0.0.1:") for u in full_urls) and len(full_urls) == len(resources)
    # asking only for open gaps leaves out a child with none
    only_open = cases.get("/Measure/$care-gaps", params={**PERIOD, "subject": f"Patient/{case}", "measureId": MEASURE,
                                                          "status": "open-gap"}).json()
    assert len(only_open.get("parameter", [])) == (1 if expected == "open-gap" else 0)


def test_care_gaps_errors(cases: httpx.Client) -> None:
    base = {**PERIOD, "subject": "Patient/hepa-not-done", "measureId": MEASURE}
    assert cases.get("/Measure/$care-gaps", params=base).status_code == 400  # status is required
    bad = cases.get("/Measure/$care-gaps", params={**base, "status": "half-open"})
    assert bad.status_code == 400 and "half-open" in bad.json()["issue"][0]["diagnostics"]
    assert cases.get("/Measure/$care-gaps", params={**PERIOD, "status": "open-gap"}).status_code == 400
    cohort = cases.get("/Measure/$care-gaps", params={**base, "status": "open-gap", "measureId": "ed-visits-per-child-year-ccc"})
    assert cohort.status_code == 422
    collection = cases.get("/Measure/$care-gaps", params={**base, "status": "open-gap", "isDocument": "false"}).json()
    assert collection["parameter"][0]["resource"]["type"] == "collection"



def test_open_gap_says_what_is_missing(cases: httpx.Client) -> None:
    """hepa-not-done has every vaccine but hepatitis A (recorded as not done): its open gap carries
    a GuidanceResponse NotFound with the HepA dataRequirement; DTaP, which it has, is Present.
    A closed gap carries no reasons."""
    def guidance(case: str, status: str) -> dict[str, str]:
        body = cases.get("/Measure/$care-gaps", params={**PERIOD, "subject": f"Patient/{case}", "measureId": MEASURE,
                                                         "status": status}).json()
        entries = [e["resource"] for e in body["parameter"][0]["resource"]["entry"]]
        (issue,) = [r for r in entries if r["resourceType"] == "DetectedIssue"]
        found = {r["id"]: r for r in entries if r["resourceType"] == "GuidanceResponse"}
        referenced = {d["reference"].split("/", 1)[1] for ev in issue["evidence"] for d in ev["detail"]
                      if d["reference"].startswith("GuidanceResponse/")}
        assert referenced == set(found)
        return {r["dataRequirement"][0]["codeFilter"][0]["valueSet"].removeprefix(VS): r["reasonCode"][0]["coding"][0]["code"]
                for r in found.values()}

    reasons = guidance("hepa-not-done", "open-gap")
    assert reasons["hepa-vaccine"] == "NotFound" and reasons["dtap-vaccine"] == "Present"
    assert guidance("complete-series-met", "closed-gap") == {}

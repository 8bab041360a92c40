"""Measure calculation semantics on a measure written for the purpose (tests/measure/fixtures/boundary):
the Measurement Period's first and last instants, timezone offsets, population rules, episodes,
strata, and every report kind validated as FHIR."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from pedqm.fhir.records import PatientRecord
from pedqm.measure import MeasurePackage, evaluate_measure, measurement_period
from pedqm.measure.definition import DEN, DENEX, DENEXCEP, IPP, NUMER, GroupDef, PopulationDef
from pedqm.measure.populations import apply_rules, proportion_score

FIXTURE = Path(__file__).with_name("fixtures") / "boundary"


def patient(pid: str, birth: str = "2015-06-01", gender: str = "female", encounters: list[tuple[str, str]] = ()) -> PatientRecord:
    res: list[dict[str, Any]] = [{"resourceType": "Patient", "id": pid, "birthDate": birth, "gender": gender}]
    for i, (start, end) in enumerate(encounters):
        res.append({
            "resourceType": "Encounter", "id": f"{pid}-e{i}", "status": "finished",
            "type": [{"coding": [{"system": "http://www.ama-assn.org/go/cpt", "code": "99213"}]}],
            "subject": {"reference": f"Patient/{pid}"}, "period": {"start": start, "end": end},
        })
    return PatientRecord(pid, res)


@pytest.fixture(scope="module")
def package() -> MeasurePackage:
    return MeasurePackage.load(FIXTURE)


def ipp(package: MeasurePackage, rec: PatientRecord, period: tuple[str, str] | None = None, tz: float = 0) -> int:
    return evaluate_measure(package, [rec], period, timezone_offset=tz).count(0, IPP)


@pytest.mark.parametrize("start,end,expected", [
    ("2025-01-01T00:00:00.000Z", "2025-01-01T00:30:00.000Z", 1),  # first instant of the period
    ("2025-12-31T23:00:00.000Z", "2025-12-31T23:59:59.999Z", 1),  # ends on the last instant
    ("2024-12-31T23:59:59.999Z", "2025-01-01T00:30:00.000Z", 0),  # starts a millisecond early
    ("2025-12-31T23:30:00.000Z", "2026-01-01T00:00:00.000Z", 0),  # ends a millisecond late
])
def test_period_boundaries_utc(package: MeasurePackage, start: str, end: str, expected: int) -> None:
    assert ipp(package, patient("p", encounters=[(start, end)])) == expected


def test_date_only_period_is_read_in_the_stated_offset(package: MeasurePackage) -> None:
    # 2025-12-31T23:30-05:00 is 2026-01-01T04:30Z: outside a UTC period, inside a -05:00 one
    rec = patient("p", encounters=[("2025-12-31T23:00:00-05:00", "2025-12-31T23:30:00-05:00")])
    assert ipp(package, rec, ("2025-01-01", "2025-12-31"), tz=0) == 0
    assert ipp(package, rec, ("2025-01-01", "2025-12-31"), tz=-5) == 1


def test_measurement_period_literal_bounds() -> None:
    p = measurement_period("2025-01-01", "2025-12-31", -5)
    assert p.low.to_cql() == "@2025-01-01T00:00:00.000-05:00"
    assert p.high.to_cql() == "@2025-12-31T23:59:59.999-05:00"
    with pytest.raises(ValueError):
        measurement_period("2025-13-01", "2025-12-31")


def test_population_rules_exclusion_and_exception(package: MeasurePackage) -> None:
    recs = [
        patient("num", encounters=[("2025-03-01T10:00:00Z", "2025-03-01T10:30:00Z")]),
        patient("excl", gender="other", encounters=[("2025-03-01T10:00:00Z", "2025-03-01T10:30:00Z")]),
        patient("exc-adult", birth="2000-01-01", gender="unknown", encounters=[("2025-03-01T10:00:00Z", "2025-03-01T10:30:00Z")]),
        patient("none"),
    ]
    result = evaluate_measure(package, recs)
    counts = {c: result.count(0, c) for c in (IPP, DEN, DENEX, NUMER, DENEXCEP)}
    # the excluded child meets the numerator criteria but leaves the denominator; the adult
    # with an exception is not in the numerator, so the exception applies
    assert counts == {IPP: 3, DEN: 3, DENEX: 1, NUMER: 1, DENEXCEP: 1}
    assert result.measure_score(0) == pytest.approx(1.0)


def test_episode_based_group_counts_encounters(package: MeasurePackage) -> None:
    rec = patient("p", encounters=[("2025-02-01T10:00:00Z", "2025-02-01T11:00:00Z"),
                                   ("2025-05-01T10:00:00Z", "2025-05-01T11:00:00Z"),
                                   ("2024-05-01T10:00:00Z", "2024-05-01T11:00:00Z")])
    result = evaluate_measure(package, [rec])
    assert result.count(1, IPP) == 2 and result.count(0, IPP) == 1
    frame = result.to_dataframe()
    assert set(frame["episode"]) == {"Encounter/p-e0", "Encounter/p-e1"}


def test_strata_and_summary_report(package: MeasurePackage) -> None:
    recs = [patient(f"c{i}", birth="2018-01-01", encounters=[("2025-03-01T10:00:00Z", "2025-03-01T10:30:00Z")]) for i in range(3)]
    recs.append(patient("teen", birth="2010-01-01", encounters=[("2025-03-01T10:00:00Z", "2025-03-01T10:30:00Z")]))
    report = evaluate_measure(package, recs).measure_report("summary")
    strata = {s["value"]["text"]: s for s in report["group"][0]["stratifier"][0]["stratum"]}
    assert set(strata) == {"child", "adolescent"}
    ipp_child = next(p["count"] for p in strata["child"]["population"] if p["code"]["coding"][0]["code"] == IPP)
    assert ipp_child == 3


def _validate(resource: dict[str, Any]) -> None:
    # fhir.resources ships R4B (4.3) and R5 models; MeasureReport is unchanged between R4 and R4B
    from fhir.resources.R4B.bundle import Bundle
    from fhir.resources.R4B.measurereport import MeasureReport

    if resource["resourceType"] == "Bundle":
        Bundle.model_validate(resource)
    else:
        MeasureReport.model_validate(resource)


@pytest.mark.parametrize("kind", ["summary", "subject-list", "individual"])
def test_reports_are_valid_fhir(package: MeasurePackage, kind: str) -> None:
    recs = [patient("a", encounters=[("2025-03-01T10:00:00Z", "2025-03-01T10:30:00Z")]), patient("b")]
    report = evaluate_measure(package, recs).measure_report(kind)
    _validate(report)
    if kind == "individual":
        assert [e["resource"]["subject"]["reference"] for e in report["entry"]] == ["Patient/a", "Patient/b"]
        assert {"reference": "Encounter/a-e0"} in report["entry"][0]["resource"]["evaluatedResource"]
    if kind == "subject-list":
        ipp_list = next(c for c in report["contained"] if c["id"] == "g1-initial-population")
        assert ipp_list["entry"] == [{"item": {"reference": "Patient/a"}}]


def test_summary_matches_golden_file(package: MeasurePackage) -> None:
    recs = [patient("a", encounters=[("2025-03-01T10:00:00Z", "2025-03-01T10:30:00Z")]),
            patient("b", gender="other", encounters=[("2025-04-01T10:00:00Z", "2025-04-01T10:30:00Z")]),
            patient("c")]
    report = evaluate_measure(package, recs).measure_report("summary")
    for volatile in ("id", "date"):
        report.pop(volatile)
    golden = Path(__file__).with_name("golden") / "boundary-summary.json"
    assert report == json.loads(golden.read_text()), json.dumps(report, indent=2)


def test_pure_population_rules() -> None:
    g = GroupDef(0, None, "proportion", "boolean",
                 [PopulationDef(c, c) for c in (IPP, DEN, DENEX, NUMER, DENEXCEP)], [], None)
    raw = {IPP: ["s"], DEN: ["s"], DENEX: [], NUMER: ["s"], DENEXCEP: ["s"]}
    out = apply_rules(g, raw)
    assert out[NUMER] == ["s"] and out[DENEXCEP] == []  # exceptions never take numerator members
    out = apply_rules(g, {**raw, NUMER: [], IPP: []})
    assert out[DEN] == [] and out[DENEXCEP] == []  # nothing outside the initial population
    assert proportion_score({DEN: 4, DENEX: 1, DENEXCEP: 1, NUMER: 1}) == 0.5
    assert proportion_score({DEN: 1, DENEX: 1}) is None


def test_ratio_with_two_initial_populations() -> None:
    """Children (denominator) and their visits (numerator), each from its own initial population
    named by cqfm-criteriaReference; both IPPs are reported (fixture from a measure author)."""
    pkg = MeasurePackage.load(Path(__file__).with_name("fixtures") / "ratio2ipp")
    from pedqm.measure.testing import run_cases

    results = run_cases(pkg, Path(__file__).with_name("fixtures") / "ratio2ipp" / "cases")
    assert [r.passed for r in results] == [True], [(m.population, m.expected, m.actual) for r in results for m in r.mismatches]
    report = evaluate_measure(pkg, [PatientRecord("x", [])], ("2025-01-01", "2025-12-31")).measure_report("summary")
    ids = [p.get("id") for p in report["group"][0]["population"]]
    assert ids[:2] == ["ipp-den", "ipp-num"]


def test_component_stratifier_reports_each_component(package: MeasurePackage, tmp_path: Path) -> None:
    import shutil

    target = tmp_path / "boundary"
    shutil.copytree(FIXTURE, target)
    measure = json.loads((target / "measure.json").read_text())
    measure["group"][0]["stratifier"].append({"id": "age-sex", "code": {"text": "age and sex"}, "component": [
        {"code": {"text": "age group"}, "criteria": {"language": "text/cql-identifier", "expression": "Age Group"}},
        {"code": {"text": "sex"}, "criteria": {"language": "text/cql-identifier", "expression": "Sex"}}]})
    (target / "measure.json").write_text(json.dumps(measure))
    cql = (target / "Boundary.cql").read_text() + '\ndefine "Sex":\n  Patient.gender\n'
    (target / "Boundary.cql").write_text(cql)
    recs = [patient("g", birth="2018-01-01", encounters=[("2025-03-01T10:00:00Z", "2025-03-01T10:30:00Z")]),
            patient("b", birth="2010-01-01", gender="male", encounters=[("2025-03-01T10:00:00Z", "2025-03-01T10:30:00Z")])]
    report = evaluate_measure(MeasurePackage.load(target), recs).measure_report("summary")
    _validate(report)
    strat = next(s for s in report["group"][0]["stratifier"] if s.get("id") == "age-sex")
    values = sorted(tuple(c["value"]["text"] for c in st["component"]) for st in strat["stratum"])
    assert values == [("adolescent", "male"), ("child", "female")]


def test_dataframe_columns_do_not_depend_on_errors(package: MeasurePackage) -> None:
    """An errored patient's row has the same columns, its populations unknown (empty in CSV),
    never false, and an `error` column is there whether or not anyone errored (issue 15)."""
    from pedqm.measure.calculator import SubjectResult
    from pedqm.measure.frame import to_csv

    recs = [patient("ok", birth="2018-01-01", encounters=[("2025-03-01T10:00:00Z", "2025-03-01T10:30:00Z")])]
    clean = evaluate_measure(package, recs)
    with_error = evaluate_measure(package, recs)
    with_error.add(SubjectResult("broken", [], error="Lib.Def: cannot compare"))
    assert list(clean.to_dataframe().columns) == list(with_error.to_dataframe().columns)
    lines = to_csv(with_error).splitlines()
    header, broken = lines[0].split(","), next(x for x in lines if x.startswith("broken,")).split(",")
    row = dict(zip(header, broken))
    assert row["error"] == "Lib.Def: cannot compare"
    assert all(v == "" for k, v in row.items() if k not in ("subject_id", "error"))
    ok = dict(zip(header, next(x for x in lines if x.startswith("ok,")).split(",")))
    ipp = next(k for k in header if k.endswith(IPP))
    assert ok[ipp] == "true" and ok["error"] == ""

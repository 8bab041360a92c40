"""Every measure of measure_library/ passes its own cases, and every measure is complete.

Each case directory (`measure_library/<measure>/cases/<case>/`) holds one child's FHIR resources
and the MeasureReport the measure's intent expects; every case is one test, run through
`pedqm.measure.testing.run_case` (the rendered individual MeasureReport compared with the
expected one: population counts, strata and scores, continuous-variable scores included), so a
failure names the case and the population that differs. A new measure directory with cases is
picked up without touching this file.
"""

from __future__ import annotations

import functools
import json
import re
from pathlib import Path
from typing import Any

import pytest

from pedqm.measure.calculator import MeasureCalculator, measurement_period
from pedqm.measure.package import MeasurePackage
from pedqm.measure.testing import load_case, run_case

LIBRARY = Path(__file__).resolve().parents[2] / "measure_library"
MEASURES = sorted(d.name for d in LIBRARY.iterdir() if (d / "cases").is_dir())
CASES = [(m, d.name) for m in MEASURES for d in sorted((LIBRARY / m / "cases").iterdir()) if d.is_dir()]
OBSERVATION = "measure-observation"


@functools.cache
def _package(measure_id: str) -> MeasurePackage:
    return MeasurePackage.load(LIBRARY / measure_id)


@functools.cache
def _calculator(measure_id: str) -> MeasureCalculator:
    start, end = _package(measure_id).measure.effective_period
    assert start and end
    return MeasureCalculator(_package(measure_id), measurement_period(start, end))


def _expected(case_dir: Path) -> dict[str, Any]:
    _, report, _, _ = load_case(case_dir)
    assert report is not None, f"{case_dir} has no expected MeasureReport"
    return report


def _counts(report_group: dict[str, Any]) -> dict[str, int]:
    return {p["code"]["coding"][0]["code"]: int(p.get("count", 0)) for p in report_group.get("population") or []
            if p["code"]["coding"][0]["code"] != OBSERVATION}


def test_the_library_is_found() -> None:
    assert len(MEASURES) >= 12 and len(CASES) >= 12 * 8


@pytest.mark.parametrize(("measure_id", "case_id"), CASES, ids=[f"{m}/{c}" for m, c in CASES])
def test_case_passes(measure_id: str, case_id: str) -> None:
    result = run_case(_calculator(measure_id), LIBRARY / measure_id / "cases" / case_id)
    assert result.error is None, result.error
    assert result.description, "every case says what it tests (cqfm-testCaseDescription)"
    assert result.expected, "the expected MeasureReport has population counts"
    assert not result.mismatches, "\n".join(
        f"group {m.group + 1} {m.population}{' stratum ' + m.stratum if m.stratum else ''}: "
        f"expected {m.expected}, got {m.actual}" for m in result.mismatches)


@pytest.mark.parametrize(("measure_id", "case_id"), CASES, ids=[f"{m}/{c}" for m, c in CASES])
def test_observations_only_where_a_score_is_expected(measure_id: str, case_id: str) -> None:
    """A continuous-variable group observes a child exactly when the case states a score."""
    groups = _package(measure_id).measure.groups
    if not any(g.scoring == "continuous-variable" for g in groups):
        pytest.skip("no continuous-variable group")
    case_dir = LIBRARY / measure_id / "cases" / case_id
    record, report, _, _ = load_case(case_dir)
    result = _calculator(measure_id).evaluate(record)
    assert result.error is None, result.error
    for gi, (group, outcome) in enumerate(zip((report or {})["group"], result.groups)):
        if groups[gi].scoring != "continuous-variable":
            continue
        score = (group.get("measureScore") or {}).get("value")
        assert (outcome.observations == []) == (score is None), f"group {gi + 1}"


@pytest.mark.parametrize("measure_id", MEASURES)
def test_measure_has_enough_cases(measure_id: str) -> None:
    assert sum(1 for m, _ in CASES if m == measure_id) >= 8


@pytest.mark.parametrize("measure_id", MEASURES)
def test_cases_reach_every_population(measure_id: str) -> None:
    """Every population of every group is entered by some case and, unless it is defined as the
    initial population itself, missed by some case of a child in the initial population."""
    package = _package(measure_id)
    cql = package.cql[package.main_library_key]
    aliases = dict(re.findall(r'^define "([^"]+)":\s*"([^"]+)"\s*$', cql, re.MULTILINE))  # define "A": "B"
    groups = package.measure.groups
    reports = [_expected(LIBRARY / measure_id / "cases" / c) for m, c in CASES if m == measure_id]
    for gi, group in enumerate(groups):
        ipp = {p.expression for p in group.populations if p.code == "initial-population"}
        same_as_ipp = {name for name, target in aliases.items() if target in ipp}
        for pop in group.populations:
            if pop.code == OBSERVATION:
                continue
            counts = [_counts(r["group"][gi]) for r in reports]
            assert any(c.get(pop.code, 0) > 0 for c in counts), f"group {gi + 1}: no case enters {pop.code}"
            if pop.code != "initial-population" and pop.expression not in same_as_ipp:
                assert any(c.get("initial-population", 0) > c.get(pop.code, 0) for c in counts), \
                    f"group {gi + 1}: no case in the initial population misses {pop.code}"
        assert any(_counts(r["group"][gi]).get("initial-population", 0) == 0 for r in reports), \
            f"group {gi + 1}: no case outside the initial population"


@pytest.mark.parametrize("measure_id", MEASURES)
def test_measure_names_its_library_and_value_sets(measure_id: str) -> None:
    """The canonical and library of measure.json match the CQL header, and every value set the
    CQL declares has a ValueSet file with a non-empty expansion."""
    package = _package(measure_id)
    assert package.measure.url == f"http://pedqm.org/fhir/Measure/{measure_id}"
    assert package.measure.effective_period == ("2025-01-01", "2025-12-31")
    name, version = package.main_library_key
    assert (name, version) in package.cql, f"{name}|{version} is not a CQL library of the measure"
    declared = re.findall(r"^valueset\s+\"[^\"]+\":\s+'([^']+)'", package.cql[(name, version)], re.MULTILINE)
    files = [json.loads(f.read_text(encoding="utf-8")) for f in (LIBRARY / measure_id / "valuesets").glob("*.json")]
    by_url = {vs["url"]: vs for vs in files}
    assert set(declared) == set(by_url), "value set files and CQL declarations differ"
    for url in declared:
        assert by_url[url]["expansion"]["contains"], f"{url} has an empty expansion"


def test_ccc_admissions_observations_are_the_admission_counts() -> None:
    """Group 2 of ccc-annual-visit-admissions observes each child's admissions; the cases state
    them as measureScore, checked here against the calculator's raw observations."""
    measure_id = "ccc-annual-visit-admissions"
    assert _package(measure_id).measure.groups[1].scoring == "continuous-variable"
    checked = 0
    for m, case_id in CASES:
        if m != measure_id:
            continue
        record, report, _, _ = load_case(LIBRARY / m / "cases" / case_id)
        score = ((report or {})["group"][1].get("measureScore") or {}).get("value")
        observations = _calculator(measure_id).evaluate(record).groups[1].observations
        assert observations == ([] if score is None else [score]), case_id
        checked += score is not None
    assert checked >= 5

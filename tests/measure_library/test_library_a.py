"""The pediatric preventive and complex-care measures of measure_library/ (set A) pass their cases.

Each case directory holds one child's FHIR resources and the MeasureReport the measure's intent
expects; every case is one test, so a failure names the case and the population that differs.
Continuous-variable cases also state the child's observation as the group's measureScore, which
`pedqm test` does not compare, so it is checked here.
"""

from __future__ import annotations

import functools
import json
import re
from pathlib import Path

import pytest

from pedqm.measure.calculator import MeasureCalculator, measurement_period
from pedqm.measure.package import MeasurePackage
from pedqm.measure.testing import CaseResult, load_case, run_cases

LIBRARY = Path(__file__).resolve().parents[2] / "measure_library"
MEASURES = [
    "well-child-30mo",
    "child-adolescent-well-care",
    "childhood-immunization",
    "lead-screening",
    "developmental-screening",
    "ed-visits-per-child-year-ccc",
]
CASES = [(m, d.name) for m in MEASURES for d in sorted((LIBRARY / m / "cases").iterdir()) if d.is_dir()]


@functools.cache
def _package(measure_id: str) -> MeasurePackage:
    return MeasurePackage.load(LIBRARY / measure_id)


@functools.cache
def _results(measure_id: str) -> dict[str, CaseResult]:
    return {r.case_id: r for r in run_cases(_package(measure_id), LIBRARY / measure_id / "cases")}


@pytest.mark.parametrize(("measure_id", "case_id"), CASES, ids=[f"{m}/{c}" for m, c in CASES])
def test_case_passes(measure_id: str, case_id: str) -> None:
    result = _results(measure_id)[case_id]
    assert result.error is None, result.error
    assert result.description, "every case says what it tests (cqfm-testCaseDescription)"
    assert result.expected, "the expected MeasureReport has population counts"
    assert not result.mismatches, "\n".join(
        f"group {m.group + 1} {m.population}{' stratum ' + m.stratum if m.stratum else ''}: expected {m.expected}, got {m.actual}"
        for m in result.mismatches)


@pytest.mark.parametrize("measure_id", MEASURES)
def test_measure_has_enough_cases(measure_id: str) -> None:
    assert sum(1 for m, _ in CASES if m == measure_id) >= 8


@pytest.mark.parametrize("measure_id", MEASURES)
def test_measure_names_its_library_and_value_sets(measure_id: str) -> None:
    """measure.json's library canonical names the CQL library's header, and every value set the
    CQL declares is in valuesets/ with an expansion (pedqm resolves value sets from expansions)."""
    package = _package(measure_id)
    measure = package.measure
    assert measure.url == f"http://pedqm.org/fhir/Measure/{measure_id}"
    assert measure.effective_period == ("2025-01-01", "2025-12-31")
    name, version = package.main_library_key
    assert (name, version) in package.cql, f"{name}|{version} is not a CQL library of the measure"
    cql = package.cql[(name, version)]
    declared = re.findall(r"^valueset\s+\"[^\"]+\":\s+'([^']+)'", cql, re.MULTILINE)
    files = {json.loads(f.read_text())["url"]: json.loads(f.read_text())
             for f in (LIBRARY / measure_id / "valuesets").glob("*.json")}
    for url in declared:
        assert url in files, f"{url} has no ValueSet file"
        assert files[url]["expansion"]["contains"], f"{url} has an empty expansion"


CV_CASES = [(m, c) for m, c in CASES if _package(m).measure.groups[0].scoring == "continuous-variable"]


@pytest.mark.parametrize(("measure_id", "case_id"), CV_CASES, ids=[f"{m}/{c}" for m, c in CV_CASES])
def test_observation_matches_expected_score(measure_id: str, case_id: str) -> None:
    package = _package(measure_id)
    record, expected, _, _ = load_case(LIBRARY / measure_id / "cases" / case_id)
    assert expected is not None
    start, end = package.measure.effective_period
    calc = MeasureCalculator(package, measurement_period(start, end))
    result = calc.evaluate(record)
    assert result.error is None, result.error
    for group, outcome in zip(expected["group"], result.groups):
        score = (group.get("measureScore") or {}).get("value")
        observed = [float(v) for v in outcome.observations]
        if score is None:
            assert observed == [], "no observation expected for a child outside the measure population"
        else:
            assert observed and sum(observed) / len(observed) == pytest.approx(score)

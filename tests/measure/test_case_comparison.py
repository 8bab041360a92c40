"""`run_case` compares the rendered individual MeasureReport with the expected one through one
projection (issue 11): a wrong count, stratum or score in the expected report is reported."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from pedqm.measure.calculator import MeasureCalculator, measurement_period
from pedqm.measure.package import MeasurePackage
from pedqm.measure.testing import project, run_case

LIBRARY = Path(__file__).resolve().parents[2] / "measure_library"
MEASURE = "bmi-nutrition-activity"
CASE = "age17-first-day-nutrition-counseling-as-diagnosis"
POP = "http://terminology.hl7.org/CodeSystem/measure-population"


def _calc() -> MeasureCalculator:
    return MeasureCalculator(MeasurePackage.load(LIBRARY / MEASURE), measurement_period("2025-01-01", "2025-12-31"))


def _case(tmp_path: Path, edit: Any = None) -> Path:
    case = tmp_path / CASE
    shutil.copytree(LIBRARY / MEASURE / "cases" / CASE, case)
    if edit is not None:
        report_file = next(f for f in case.glob("*.json") if json.loads(f.read_text())["resourceType"] == "MeasureReport")
        report = json.loads(report_file.read_text())
        edit(report)
        report_file.write_text(json.dumps(report))
    return case


def _pop(code: str, n: int) -> dict[str, Any]:
    return {"code": {"coding": [{"system": POP, "code": code}]}, "count": n}


def test_the_case_as_published_passes(tmp_path: Path) -> None:
    result = run_case(_calc(), _case(tmp_path))
    assert result.passed, result.mismatches


def test_a_wrong_population_count_is_a_mismatch(tmp_path: Path) -> None:
    def edit(report: dict[str, Any]) -> None:
        report["group"][0]["population"][0]["count"] = 0  # initial population

    result = run_case(_calc(), _case(tmp_path, edit))
    assert [(m.group, m.population, m.expected, m.actual, m.stratum) for m in result.mismatches][:1] == [
        (0, "initial-population", 0, 1, None)]


def test_a_wrong_stratum_is_a_mismatch(tmp_path: Path) -> None:
    def edit(report: dict[str, Any]) -> None:
        report["group"][0]["stratifier"][0]["stratum"][0]["value"]["text"] = "3-11"

    result = run_case(_calc(), _case(tmp_path, edit))
    assert {(m.population, m.stratum, m.expected, m.actual) for m in result.mismatches} >= {
        ("initial-population", "3-11", 1, 0)}


def test_projection_numbers_repeated_populations_and_joins_components() -> None:
    report = {"group": [{
        "population": [_pop("initial-population", 1), _pop("initial-population", 2), _pop("measure-observation", 5)],
        "measureScore": {"value": 0.5},
        "stratifier": [
            {"stratum": [{"value": {"text": "true"}, "population": [_pop("initial-population", 1)]}]},
            {"stratum": [{"value": {"text": "true"}, "population": [_pop("initial-population", 1)]},
                         {"component": [{"code": {"text": "a"}, "value": {"text": "x"}},
                                        {"code": {"text": "b"}, "value": {"text": "y"}}],
                          "population": [_pop("initial-population", 3)]}]},
        ],
    }]}
    got = project(report)
    assert got.populations == {(0, "initial-population"): 1, (0, "initial-population#2"): 2}
    assert got.scores == {0: pytest.approx(0.5)}
    assert got.strata == {(0, "initial-population", "true"): 2, (0, "initial-population", "x | y"): 3}

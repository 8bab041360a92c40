"""The published eCQM test cases in ../shared/ecqm (6 measures, 213 cases): expected population
counts per group (and strata where the expected reports carry them) against pedqm's."""

from __future__ import annotations

from pathlib import Path

import pytest

from pedqm.measure import MeasurePackage
from pedqm.measure.calculator import MeasureCalculator, measurement_period
from pedqm.measure.testing import run_case

ECQM = Path(__file__).resolve().parents[2].parent / "shared" / "ecqm"
KNOWN = Path(__file__).with_name("known_case_mismatches.txt")


def _known() -> dict[str, str]:
    out = {}
    for line in KNOWN.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            key, _, reason = line.partition(" ")
            out[key] = reason
    return out


def _cases(tags: bool) -> list[object]:
    known = {} if tags else _known()
    params = []
    for mdir in sorted(ECQM.glob("*/")) if ECQM.is_dir() else []:
        for case in sorted(p for p in (mdir / "cases").iterdir() if p.is_dir()):
            key = f"{mdir.name}/{case.name}"
            marks = [pytest.mark.xfail(strict=True, reason=known[key])] if key in known else []
            params.append(pytest.param(mdir.name, case.name, id=key.split("-", 1)[0] + "/" + case.name[:8], marks=marks))
    return params


_CALCULATORS: dict[tuple[str, bool], MeasureCalculator] = {}


def _calculator(measure_dir: str, tags: bool = False) -> MeasureCalculator:
    if (measure_dir, tags) not in _CALCULATORS:
        pkg = MeasurePackage.load(ECQM / measure_dir / "measure-bundle.json")
        start, end = pkg.measure.effective_period
        _CALCULATORS[(measure_dir, tags)] = MeasureCalculator(pkg, measurement_period(start, end, 0), require_profile_tags=tags)
    return _CALCULATORS[(measure_dir, tags)]


@pytest.mark.skipif(not ECQM.is_dir(), reason="../shared/ecqm not present")
@pytest.mark.parametrize("measure_dir,case_id", _cases(tags=True))
def test_published_case_with_profile_tags_required(measure_dir: str, case_id: str) -> None:
    """fqm-execution's default retrieve semantics: every published case matches."""
    result = run_case(_calculator(measure_dir, tags=True), ECQM / measure_dir / "cases" / case_id)
    assert result.error is None, result.error
    assert not result.mismatches, [(m.group + 1, m.population, f"expected {m.expected}", f"got {m.actual}") for m in result.mismatches]


@pytest.mark.skipif(not ECQM.is_dir(), reason="../shared/ecqm not present")
@pytest.mark.parametrize("measure_dir,case_id", _cases(tags=False))
def test_published_case(measure_dir: str, case_id: str) -> None:
    result = run_case(_calculator(measure_dir), ECQM / measure_dir / "cases" / case_id)
    assert result.error is None, result.error
    assert not result.mismatches, [(m.group + 1, m.population, f"expected {m.expected}", f"got {m.actual}") for m in result.mismatches]


@pytest.mark.skipif(not ECQM.is_dir(), reason="../shared/ecqm not present")
def test_all_published_cases_are_collected() -> None:
    assert len(_cases(tags=False)) == 213

"""The published eCQM test decks in ../shared/ecqm (47 measures, 1,983 cases; the set grows):
expected population counts per group (and strata where the expected reports carry them)
against pedqm's, in pedqm's default retrieve semantics and in fqm-execution's
(`--require-profile-tags`).

A case pedqm does not match is listed in `known_case_mismatches.txt` as a strict xfail, with a
reason that starts `open:` (a defect not yet fixed: what is known of its cause) or `spec:` (a
reasoned exception: the specification section that makes pedqm's answer right). A listed case
that starts passing fails the suite until it leaves the list.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from pedqm.measure import MeasurePackage
from pedqm.measure.calculator import MeasureCalculator, measurement_period
from pedqm.measure.testing import run_case

ECQM = Path(__file__).resolve().parents[2].parent / "shared" / "ecqm"
KNOWN = Path(__file__).with_name("known_case_mismatches.txt")
MODES = ("default", "tags")
REASON_PREFIXES = ("open:", "spec:")


def known_mismatches() -> dict[tuple[str, str], str]:
    """(deck/case, mode) -> reason. A key may end in `@default` or `@tags` to name one mode;
    without it the entry holds for both."""
    out: dict[tuple[str, str], str] = {}
    for line in KNOWN.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            key, _, reason = line.partition(" ")
            key, _, mode = key.partition("@")
            for m in [mode] if mode else MODES:
                out[(key, m)] = reason.strip()
    return out


def _decks() -> list[Path]:
    return sorted(p for p in ECQM.glob("*/") if (p / "measure-bundle.json").is_file()) if ECQM.is_dir() else []


def _short(deck: str) -> str:
    parts = deck.split("-")
    return "-".join(parts[:2]) if parts[0] == "q25" else parts[0]


def _cases(mode: str) -> list[object]:
    known = known_mismatches()
    params = []
    for mdir in _decks():
        for case in sorted(p for p in (mdir / "cases").iterdir() if p.is_dir()):
            key = f"{mdir.name}/{case.name}"
            reason = known.get((key, mode))
            marks = [pytest.mark.xfail(strict=True, reason=reason)] if reason else []
            params.append(pytest.param(mdir.name, case.name, id=f"{_short(mdir.name)}/{case.name[:8]}", marks=marks))
    return params


_CALCULATORS: dict[tuple[str, bool], MeasureCalculator] = {}


def _calculator(measure_dir: str, tags: bool = False) -> MeasureCalculator:
    if (measure_dir, tags) not in _CALCULATORS:
        pkg = MeasurePackage.load(ECQM / measure_dir / "measure-bundle.json")
        start, end = pkg.measure.effective_period
        _CALCULATORS[(measure_dir, tags)] = MeasureCalculator(pkg, measurement_period(start, end, 0), require_profile_tags=tags)
    return _CALCULATORS[(measure_dir, tags)]


def _check(measure_dir: str, case_id: str, tags: bool) -> None:
    result = run_case(_calculator(measure_dir, tags=tags), ECQM / measure_dir / "cases" / case_id)
    assert result.error is None, result.error
    assert not result.mismatches, [(m.group + 1, m.population, f"expected {m.expected}", f"got {m.actual}") for m in result.mismatches]


@pytest.mark.skipif(not ECQM.is_dir(), reason="../shared/ecqm not present")
@pytest.mark.parametrize("measure_dir,case_id", _cases("tags"))
def test_published_case_with_profile_tags_required(measure_dir: str, case_id: str) -> None:
    """fqm-execution's default retrieve semantics, which every published case was checked on."""
    _check(measure_dir, case_id, tags=True)


@pytest.mark.skipif(not ECQM.is_dir(), reason="../shared/ecqm not present")
@pytest.mark.parametrize("measure_dir,case_id", _cases("default"))
def test_published_case(measure_dir: str, case_id: str) -> None:
    _check(measure_dir, case_id, tags=False)


@pytest.mark.skipif(not ECQM.is_dir(), reason="../shared/ecqm not present")
def test_every_published_case_is_collected() -> None:
    """Every case directory of every deck is a test (the decks grew from 6 to 47: 1,983 cases)."""
    on_disk = sum(1 for d in _decks() for p in (d / "cases").iterdir() if p.is_dir())
    assert len(_cases("default")) == on_disk >= 1983


def test_known_mismatch_list_is_well_formed() -> None:
    """Each entry names a case that exists, once per mode, with a reason of a known kind."""
    seen: set[tuple[str, str]] = set()
    for line in KNOWN.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        key, _, reason = line.partition(" ")
        assert reason.strip().startswith(REASON_PREFIXES), f"{key}: reason must start with one of {REASON_PREFIXES}"
        case, _, mode = key.partition("@")
        assert mode in ("", *MODES), f"{key}: unknown mode {mode!r}"
        for m in [mode] if mode else MODES:
            assert (case, m) not in seen, f"{case} listed twice for mode {m}"
            seen.add((case, m))
        if ECQM.is_dir():
            assert (ECQM / case.split("/")[0] / "cases" / case.split("/")[1]).is_dir(), f"{case}: no such case"

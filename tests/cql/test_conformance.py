"""The HL7 CQL conformance suite: one pytest test per XML <test>.

Known failures are listed, with a reason each, in conformance_known_failures.txt; they run as
strict xfails, so a listed case that starts passing fails the run until it is removed from the list.
"""

from __future__ import annotations

import pytest

from .conformance_suite import SUITE_DIR, Outcome, load_cases, load_known_failures, run_case

pytestmark = pytest.mark.conformance

if not SUITE_DIR.is_dir():  # pragma: no cover - CI always has ../shared
    pytest.skip(f"conformance suite not found at {SUITE_DIR}", allow_module_level=True)

_KNOWN = load_known_failures()
_CASES = load_cases()


def _params() -> list[object]:
    params = []
    for case in _CASES:
        marks = []
        if not case.applies:
            marks.append(pytest.mark.skip(reason=f"applies to CQL up to {case.version_to} only"))
        elif case.id in _KNOWN:
            marks.append(pytest.mark.xfail(strict=True, reason=_KNOWN[case.id]))
        params.append(pytest.param(case, id=case.id, marks=marks))
    return params


@pytest.mark.parametrize("case", _params())
def test_conformance(case):  # type: ignore[no-untyped-def]
    outcome, detail = run_case(case)
    assert outcome != Outcome.CRASH, f"engine crashed: {detail}"
    assert outcome == Outcome.PASS, detail


def test_known_failures_name_real_cases() -> None:
    ids = {c.id for c in _CASES}
    stale = sorted(set(_KNOWN) - ids)
    assert not stale, f"known-failure entries that match no test: {stale}"

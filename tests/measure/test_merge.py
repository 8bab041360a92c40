"""MeasureResult.merge: results of consecutive slices of a population, merged in order, equal one
pass over it (counts, subject lists, strata, observations, supplemental data, errors)."""

from __future__ import annotations

import pickle
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pedqm.measure import MeasurePackage, measurement_period
from pedqm.measure.calculator import GroupOutcome, SubjectResult
from pedqm.measure.library_index import find_measure
from pedqm.measure.results import MeasureResult

CODES = ["initial-population", "denominator", "denominator-exclusion", "numerator"]


@pytest.fixture(scope="module")
def definition() -> Any:
    found = find_measure("lead-screening")
    assert found is not None
    return MeasurePackage.load(found).measure


PERIOD = measurement_period("2025-01-01", "2025-12-31")


def _subject(draw: Any, i: int, n_groups: int) -> SubjectResult:
    sid = f"p{i}"
    if draw(st.integers(0, 9)) == 0:
        return SubjectResult(sid, [], error=draw(st.sampled_from(["Lib.IPP: boom", "Lib.Num: bad"])))
    groups = []
    for _ in range(n_groups):
        members = {c: [sid] for c in CODES if draw(st.booleans())}
        strata = {"sex": {draw(st.sampled_from(["male", "female"])): [sid]}} if draw(st.booleans()) else {}
        obs = draw(st.lists(st.one_of(st.integers(0, 50), st.decimals(0, 10, places=2)), max_size=3))
        groups.append(GroupOutcome(members, observations=obs, strata=strata))
    sde = {"race": draw(st.lists(st.sampled_from(["2106-3", "2054-5", "1002-5"]), max_size=2))}
    element_errors = {"supplementalData:ethnicity": f"msg {i}"} if draw(st.integers(0, 7)) == 0 else {}
    return SubjectResult(sid, groups, sde, element_errors=element_errors)


def snapshot(r: MeasureResult) -> Any:
    """Everything a MeasureResult holds, as plain values (defaultdicts and Counters flattened)."""
    return {
        "n": r.n_subjects, "errors": list(r.errors), "element_errors": dict(r.element_errors),
        "sde": {k: dict(v) for k, v in r.sde.items() if v},
        "groups": [{"counts": dict(g.counts), "subjects": {k: list(v) for k, v in g.subjects.items()},
                    "strata": {s: {v: dict(c) for v, c in vals.items()} for s, vals in g.strata.items()},
                    "observations": list(g.observations)} for g in r.groups],
        "subject_results": [s.subject_id for s in r.subject_results],
    }


@settings(max_examples=60, deadline=None)
@given(data=st.data(), n=st.integers(0, 30), keep=st.booleans())
def test_split_and_merge_equals_one_pass(definition: Any, data: Any, n: int, keep: bool) -> None:
    subjects = [_subject(data.draw, i, len(definition.groups)) for i in range(n)]
    cuts = sorted(data.draw(st.lists(st.integers(0, n), max_size=4)))
    one = MeasureResult(definition, PERIOD, keep_subjects=keep).extend(subjects)
    parts = []
    for lo, hi in zip([0, *cuts], [*cuts, n]):
        parts.append(MeasureResult(definition, PERIOD, keep_subjects=keep).extend(subjects[lo:hi]))
    merged = parts[0]
    for p in parts[1:]:
        merged.merge(pickle.loads(pickle.dumps(p)))  # as a worker's partial result arrives
    assert snapshot(merged) == snapshot(one)
    assert merged.measure_score(0) == one.measure_score(0)


def test_a_result_pickles_with_its_period(definition: Any) -> None:
    r = MeasureResult(definition, PERIOD)
    r.add(SubjectResult("a", [GroupOutcome({"initial-population": ["a"]}, observations=[Decimal("1.5")])
                              for _ in definition.groups]))
    back = pickle.loads(pickle.dumps(r))
    assert back.period == PERIOD and snapshot(back) == snapshot(r)


def test_merging_results_of_different_measures_is_refused(definition: Any) -> None:
    other = MeasureResult(definition, PERIOD)
    other.groups.append(other.groups[0])
    with pytest.raises(ValueError, match="different measures"):
        MeasureResult(definition, PERIOD).merge(other)

"""Population results: subject results aggregated incrementally, and their renderings.

`MeasureResult.add` folds one :class:`SubjectResult` into counts, strata, observations and
supplemental-data tallies, so memory does not grow with the population unless per-subject
results are kept (individual reports and DataFrames need them; summaries do not).
"""

from __future__ import annotations

import math
import statistics
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from ..cql.runtime.values import Interval
from .calculator import SubjectResult
from .definition import MSROBS, POPULATION_ORDER, MeasureDef
from .populations import proportion_score, ratio_score


def _value_counts() -> defaultdict[str, Counter[str]]:
    return defaultdict(Counter)


def _subject_lists() -> defaultdict[str, list[str]]:
    return defaultdict(list)


def _strata() -> dict[str, dict[str, Counter[str]]]:
    return defaultdict(_value_counts)


@dataclass
class GroupTotals:
    """One group's running totals; module-level factories (no lambdas) keep it picklable, so a
    worker process or a Dask task can send its partial result back."""

    counts: Counter[str] = field(default_factory=Counter)
    subjects: dict[str, list[str]] = field(default_factory=_subject_lists)
    strata: dict[str, dict[str, Counter[str]]] = field(default_factory=_strata)
    observations: list[Any] = field(default_factory=list)


def _aggregate(method: str | None, values: list[Any]) -> float | None:
    nums = [float(v.value if hasattr(v, "value") and not isinstance(v, (int, float, Decimal)) else v)
            for v in values if v is not None]
    if not nums:
        return None
    m = (method or "sum").lower()
    if m == "count":
        return float(len(nums))
    if m in ("average", "mean"):
        return statistics.fmean(nums)
    if m == "median":
        return float(statistics.median(nums))
    if m == "min":
        return min(nums)
    if m == "max":
        return max(nums)
    return math.fsum(nums)  # exactly rounded, so the order patients were evaluated in (partitions) cannot show


class MeasureResult:
    """A measure's results over a population, built one subject at a time."""

    def __init__(self, definition: MeasureDef, period: Interval, keep_subjects: bool = True):
        self.definition = definition
        self.period = period
        self.keep_subjects = keep_subjects
        self.groups = [GroupTotals() for _ in definition.groups]
        self.sde: dict[str, Counter[str]] = defaultdict(Counter)
        self.subject_results: list[SubjectResult] = []
        self.errors: list[tuple[str, str]] = []
        # element key -> (patients for whom it failed, the first message): reported beside the
        # counts, which such failures never touch
        self.element_errors: dict[str, tuple[int, str]] = {}
        self.n_subjects = 0

    def add(self, r: SubjectResult) -> None:
        self.n_subjects += 1
        if r.error is not None:
            self.errors.append((r.subject_id, r.error))
            if self.keep_subjects:
                self.subject_results.append(r)
            return
        for totals, outcome in zip(self.groups, r.groups):
            for code, members in outcome.members.items():
                totals.counts[code] += len(members)
                if members and self.keep_subjects:  # subject lists only when asked: memory stays flat
                    totals.subjects[code].append(r.subject_id)
            for strat, values in outcome.strata.items():
                for value, stratum_members in values.items():
                    inside = set(stratum_members)
                    bucket = totals.strata[strat][value]
                    for code, members in outcome.members.items():
                        bucket[code] += sum(1 for m in members if m in inside)
            totals.observations.extend(outcome.observations)
        for key, message in r.element_errors.items():
            n, first = self.element_errors.get(key, (0, message))
            self.element_errors[key] = (n + 1, first)
        for label, sde_values in r.sde.items():
            for v in sde_values:
                self.sde[label][v] += 1
        if self.keep_subjects:
            self.subject_results.append(r)

    def extend(self, results: Iterable[SubjectResult]) -> MeasureResult:
        for r in results:
            self.add(r)
        return self

    def __getstate__(self) -> dict[str, Any]:
        """Pickled as CQL text for the period (CQL temporal values are immutable and do not
        pickle), so partial results travel from worker processes and Dask tasks."""
        state = dict(self.__dict__)
        if isinstance(self.period, Interval):
            from ..cql import to_cql

            state["period"] = ("cql", to_cql(self.period))
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        period = state.get("period")
        if isinstance(period, tuple) and len(period) == 2 and period[0] == "cql":
            from ..cql import evaluate

            state["period"] = evaluate(period[1])
        self.__dict__.update(state)

    def merge(self, other: MeasureResult) -> MeasureResult:
        """Fold in ``other``, the result of the same measure over other patients (another
        partition): counts, strata, supplemental data and errors add up, observations (kept
        whole, so medians stay exact) and subject lists are appended. Merging the results of
        consecutive slices of a population in order equals one pass over it."""
        if len(other.groups) != len(self.groups):
            raise ValueError("cannot merge results of different measures")
        self.n_subjects += other.n_subjects
        self.errors.extend(other.errors)
        for totals, more in zip(self.groups, other.groups):
            totals.counts.update(more.counts)
            for code, subjects in more.subjects.items():
                totals.subjects[code].extend(subjects)
            for strat, values in more.strata.items():
                for value, counts in values.items():
                    totals.strata[strat][value].update(counts)
            totals.observations.extend(more.observations)
        for key, (n, message) in other.element_errors.items():
            mine, first = self.element_errors.get(key, (0, message))
            self.element_errors[key] = (mine + n, first)
        for label, tally in other.sde.items():
            self.sde[label].update(tally)
        self.subject_results.extend(other.subject_results)
        return self

    # ------------------------------------------------------------------ figures
    def count(self, group: int, code: str) -> int:
        return self.groups[group].counts.get(code, 0)

    def measure_score(self, group: int) -> float | None:
        g = self.definition.groups[group]
        counts = self.groups[group].counts
        if g.scoring == "proportion":
            return proportion_score(counts)
        if g.scoring == "ratio":
            return ratio_score(counts)
        if g.scoring == "continuous-variable":
            obs = g.population(MSROBS)
            return _aggregate(obs.aggregate if obs else None, self.groups[group].observations)
        return None

    def stratum_score(self, group: int, counts: Counter[str]) -> float | None:
        g = self.definition.groups[group]
        if g.scoring == "proportion":
            return proportion_score(counts)
        if g.scoring == "ratio":
            return ratio_score(counts)
        return None

    def population_codes(self, group: int) -> list[str]:
        """Population keys in report order (a second population of a code is `code#2`)."""
        g = self.definition.groups[group]
        keys = [k for k, _ in g.keyed_populations()]
        order = {c: i for i, c in enumerate(POPULATION_ORDER)}
        return sorted(keys, key=lambda k: (order.get(k.split("#")[0], 99), k))

    # ------------------------------------------------------------------ renderings
    def measure_report(self, kind: str = "summary", subject: str | None = None) -> Any:
        """A FHIR MeasureReport: 'summary', 'subject-list', or 'individual' (a Bundle of one
        MeasureReport per subject, or the one for `subject`)."""
        from . import report

        return report.render(self, kind, subject)

    def to_dataframe(self) -> Any:
        """One row per subject (per episode for episode-based groups): a boolean column per
        population per group, and the strata values."""
        from .frame import to_dataframe

        return to_dataframe(self)


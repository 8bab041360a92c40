"""Population results: subject results aggregated incrementally, and their renderings.

`MeasureResult.add` folds one :class:`SubjectResult` into counts, strata, observations and
supplemental-data tallies, so memory does not grow with the population unless per-subject
results are kept (individual reports and DataFrames need them; summaries do not).
"""

from __future__ import annotations

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


@dataclass
class GroupTotals:
    counts: Counter[str] = field(default_factory=Counter)
    subjects: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    strata: dict[str, dict[str, Counter[str]]] = field(default_factory=lambda: defaultdict(lambda: defaultdict(Counter)))
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
    return float(sum(nums))


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


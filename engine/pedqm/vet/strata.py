"""Does the measure show care for children with chronic conditions, and for whom does it fall short?

Rates by stratum (chronic-condition status, PMCA class, age band, sex, race, ethnicity, payer),
each with its interval and its difference from a reference stratum (Newcombe's hybrid score
interval). Strata with fewer than the minimum n are suppressed: no rate, no difference. A stratifier
with one level only (every child in one age band) compares nothing and is listed apart, not drawn.
Children without ICD-coded data are their own chronic-condition stratum, "Unknown", never "no CCC".
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .intervals import Method, newcombe_difference, proportion_interval

# stratifier -> (title, preferred reference level); otherwise the largest stratum is the reference
DIMENSIONS: dict[str, tuple[str, str | None]] = {
    "chronic": ("Complex chronic condition (CCC v3)", "No CCC found"),
    "pmca": ("Medical complexity (PMCA)", "non_chronic"),
    "age_band": ("Age band (years, at period end)", None),
    "sex": ("Sex", None),
    "race": ("Race (US Core, OMB)", None),
    "ethnicity": ("Ethnicity (US Core, OMB)", None),
    "payer": ("Payer (Coverage)", None),
}


@dataclass(frozen=True)
class StratumResult:
    dimension: str
    level: str
    n: int
    x: int | None  # None when suppressed
    rate: float | None
    lower: float | None
    upper: float | None
    suppressed: bool
    reference: bool
    difference: float | None  # rate - reference rate
    diff_lower: float | None
    diff_upper: float | None

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def stratify(units: Iterable[tuple[Mapping[str, Any], bool]], dimensions: Sequence[str] = tuple(DIMENSIONS),
             min_n: int = 30, method: Method = "wilson", level: float = 0.95) -> list[StratumResult]:
    """Per dimension and level: denominator n, numerator x, rate and interval, difference from the
    reference level. `units` are (features, in numerator) for each denominator member."""
    rows = list(units)
    out: list[StratumResult] = []
    for dim in dimensions:
        counts: dict[str, list[int]] = {}
        for feats, hit in rows:
            c = counts.setdefault(str(feats.get(dim)), [0, 0])
            c[0] += 1
            c[1] += int(bool(hit))
        if len(counts) < 2:
            continue
        reportable = {k: v for k, v in counts.items() if v[0] >= min_n}
        preferred = DIMENSIONS.get(dim, ("", None))[1]
        ref = preferred if preferred in reportable else (max(reportable, key=lambda k: (reportable[k][0], k))
                                                         if reportable else None)
        for lvl in sorted(counts, key=lambda k: (-counts[k][0], k)):
            n, x = counts[lvl]
            if n < min_n:
                out.append(StratumResult(dim, lvl, n, None, None, None, None, True, False, None, None, None))
                continue
            lo, hi = proportion_interval(x, n, method, level)
            d = dl = du = None
            if ref is not None and lvl != ref:
                rn, rx = counts[ref]
                d, dl, du = newcombe_difference(x, n, rx, rn, level)
            out.append(StratumResult(dim, lvl, n, x, x / n, lo, hi, False, lvl == ref, d, dl, du))
    return out


def single_level_dimensions(units: Iterable[tuple[Mapping[str, Any], bool]],
                            dimensions: Sequence[str] = tuple(DIMENSIONS)) -> list[dict[str, Any]]:
    """The stratifiers :func:`stratify` leaves out because every member has the same level."""
    rows = list(units)
    out = []
    for dim in dimensions:
        levels = {str(feats.get(dim)) for feats, _ in rows}
        if len(levels) == 1:
            out.append({"dimension": dim, "title": DIMENSIONS.get(dim, (dim,))[0], "level": levels.pop(), "n": len(rows)})
    return out

"""Does the measure treat practices with sicker children fairly? Indirect standardisation.

A logistic model of the numerator on patient covariates (age, sex, chronic-condition class,
payer) gives each denominator member a predicted probability; an entity's expected count E is
the sum of its members' probabilities, O/E compares it with what it observed (exact Poisson
interval for O, divided by E), and the risk-standardised rate is (O/E) times the overall rate.
The model's discrimination (c-statistic) and calibration (deciles of risk, Hosmer-Lemeshow) are
reported so an author can see whether adjustment changes anything.

Only covariates that survive the data enter the model; the design records each candidate dropped
(no variation, levels too small, collinear) with its reason, so the report's methods text is
written from the fitted model and cannot claim a covariate the model does not contain.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy.special import chdtrc, expit
from scipy.stats import rankdata

from .intervals import poisson_exact

Numbers = Sequence[float] | np.ndarray


@dataclass(frozen=True)
class LogisticFit:
    names: list[str]
    coef: np.ndarray
    se: np.ndarray
    log_likelihood: float
    iterations: int
    converged: bool
    separation: bool  # some fitted probabilities are 0 or 1 to machine precision

    def predict(self, X: np.ndarray) -> np.ndarray:
        return np.asarray(expit(X @ self.coef))


def _loglik(X: np.ndarray, y: np.ndarray, b: np.ndarray) -> float:
    eta = X @ b
    return float(np.sum(y * eta - np.logaddexp(0.0, eta)))


def fit_logistic(X: np.ndarray, y: np.ndarray, names: Sequence[str] | None = None,
                 max_iter: int = 100, tol: float = 1e-10) -> LogisticFit:
    """Maximum likelihood by iteratively reweighted least squares (Newton-Raphson) with step
    halving; standard errors from the inverse information matrix at the estimate."""
    X, y = np.asarray(X, float), np.asarray(y, float)
    b = np.zeros(X.shape[1])
    ll = _loglik(X, y, b)
    converged = False
    iterations = 0
    for iterations in range(1, max_iter + 1):  # noqa: B007 - the count is reported
        p = expit(X @ b)
        w = p * (1 - p)
        info = X.T @ (X * w[:, None])
        step = np.linalg.lstsq(info, X.T @ (y - p), rcond=None)[0]
        t = 1.0
        while True:
            nb = b + t * step
            nll = _loglik(X, y, nb)
            if nll >= ll - 1e-12 or t < 1e-8:
                break
            t /= 2
        change = float(np.max(np.abs(nb - b)))
        b, ll = nb, nll
        if change < tol * (1 + float(np.max(np.abs(b)))) or change < 1e-12:
            converged = True
            break
    p = expit(X @ b)
    w = p * (1 - p)
    info = X.T @ (X * w[:, None])
    try:
        cov = np.linalg.inv(info)
        se = np.sqrt(np.clip(np.diag(cov), 0, None))
    except np.linalg.LinAlgError:
        se = np.full(len(b), np.nan)
    separation = bool(np.any((p < 1e-8) | (p > 1 - 1e-8)))
    return LogisticFit(list(names or [f"x{i}" for i in range(X.shape[1])]), b, se, ll, iterations, converged, separation)


def c_statistic(y: Numbers, p: Numbers) -> float | None:
    """The area under the ROC curve: the chance a random member with the outcome has a higher
    predicted probability than one without (ties count one half), from the Mann-Whitney rank sum."""
    ys, ps = np.asarray(y, int), np.asarray(p, float)
    n1 = int(ys.sum())
    n0 = len(ys) - n1
    if n1 == 0 or n0 == 0:
        return None
    ranks = rankdata(ps)
    return float((ranks[ys == 1].sum() - n1 * (n1 + 1) / 2) / (n1 * n0))


@dataclass(frozen=True)
class CalibrationBin:
    n: int
    mean_predicted: float
    observed_rate: float
    expected: float
    observed: int


@dataclass(frozen=True)
class Calibration:
    bins: list[CalibrationBin]
    hosmer_lemeshow: float | None
    df: int
    p_value: float | None


def calibration(y: Numbers, p: Numbers, groups: int = 10) -> Calibration:
    """Observed against expected in groups of predicted risk (deciles: members sorted by risk and
    cut into equal-sized groups) and the Hosmer-Lemeshow statistic on groups - 2 degrees of freedom."""
    ys, ps = np.asarray(y, float), np.asarray(p, float)
    order = np.argsort(ps, kind="mergesort")
    g = max(1, min(groups, len(ys)))
    bins = []
    hl = 0.0
    for idx in np.array_split(order, g):
        if len(idx) == 0:
            continue
        e, o, n = float(ps[idx].sum()), int(ys[idx].sum()), len(idx)
        bins.append(CalibrationBin(n, e / n, o / n, e, o))
        denom = e * (1 - e / n)
        if denom > 0:
            hl += (o - e) ** 2 / denom
    df = len(bins) - 2
    if df < 1:
        return Calibration(bins, None, df, None)
    return Calibration(bins, hl, df, float(chdtrc(df, hl)))


# ---------------------------------------------------------------- the design matrix


@dataclass
class Design:
    """Covariate columns: age in years (numeric) and dummy columns for categorical covariates,
    each against its most common level; levels with fewer than `min_level` members join it."""

    numeric: list[str]
    categorical: list[str]
    levels: dict[str, list[str]] = field(default_factory=dict)  # covariate -> levels with a column
    reference: dict[str, str] = field(default_factory=dict)
    means: dict[str, float] = field(default_factory=dict)  # for imputing a missing numeric value
    dropped: dict[str, str] = field(default_factory=dict)  # candidate covariate -> why it has no column
    merged: dict[str, dict[str, int]] = field(default_factory=dict)  # covariate -> small levels joined to the reference

    @classmethod
    def build(cls, rows: Sequence[Mapping[str, Any]], numeric: Sequence[str], categorical: Sequence[str],
              min_level: int = 10) -> Design:
        d = cls([], [])
        for name in numeric:
            vals = [float(r[name]) for r in rows if r.get(name) is not None]
            if not vals:
                d.dropped[name] = "missing for every member"
            elif min(vals) == max(vals):
                d.dropped[name] = f"no variation: every member has {name} {vals[0]:g}"
            else:
                d.numeric.append(name)
                d.means[name] = float(np.mean(vals))
        for name in categorical:
            counts = Counter(str(r.get(name)) for r in rows)
            if len(counts) < 2:
                d.dropped[name] = f"no variation: every member is {next(iter(counts), 'missing')}"
                continue
            ref = counts.most_common(1)[0][0]
            kept = sorted(level for level, c in counts.items() if level != ref and c >= min_level)
            small = {level: c for level, c in sorted(counts.items()) if level != ref and c < min_level}
            if kept:
                d.categorical.append(name)
                d.reference[name] = ref
                d.levels[name] = kept
                if small:
                    d.merged[name] = small
            else:
                d.dropped[name] = (f"every level but {ref} has fewer than {min_level} members ("
                                   + ", ".join(f"{level} {c}" for level, c in small.items()) + ")")
        return d

    def covariate_of(self, term: str) -> str:
        """The candidate covariate a column name belongs to ('payer=Medicaid/CHIP' -> 'payer')."""
        return term.split("=", 1)[0]

    def note_collinear(self, kept_terms: Sequence[str]) -> list[str]:
        """Record covariates whose every column `drop_collinear` removed; return the removed terms."""
        removed = [t for t in self.names if t not in kept_terms]
        for cov in dict.fromkeys(self.covariate_of(t) for t in removed if t != "intercept"):
            if not any(self.covariate_of(t) == cov for t in kept_terms):
                others = [t for t in kept_terms if self.covariate_of(t) != cov]
                self.dropped[cov] = "collinear with " + (", ".join(others) or "the intercept")
        return removed

    @property
    def names(self) -> list[str]:
        return ["intercept", *self.numeric, *(f"{c}={lvl}" for c in self.categorical for lvl in self.levels[c])]

    def matrix(self, rows: Sequence[Mapping[str, Any]]) -> np.ndarray:
        cols = [np.ones(len(rows))]
        for name in self.numeric:
            cols.append(np.array([float(r[name]) if r.get(name) is not None else self.means[name] for r in rows]))
        for name in self.categorical:
            for level in self.levels[name]:
                cols.append(np.array([1.0 if str(r.get(name)) == level else 0.0 for r in rows]))
        return np.column_stack(cols)


def drop_collinear(X: np.ndarray, names: list[str]) -> tuple[np.ndarray, list[str]]:
    """Keep columns left to right while they add rank (a dummy that copies another is dropped)."""
    keep: list[int] = []
    for j in range(X.shape[1]):
        if np.linalg.matrix_rank(X[:, [*keep, j]]) == len(keep) + 1:
            keep.append(j)
    return X[:, keep], [names[j] for j in keep]


@dataclass(frozen=True)
class EntityRisk:
    observed: int
    expected: float
    oe: float | None
    oe_lower: float | None
    oe_upper: float | None
    rsr: float | None  # risk-standardised rate, (O/E) x overall rate
    rsr_lower: float | None
    rsr_upper: float | None


def entity_risk(observed: int, expected: float, overall_rate: float, level: float = 0.95) -> EntityRisk:
    if expected <= 0:
        return EntityRisk(observed, expected, None, None, None, None, None, None)
    lo, hi = poisson_exact(observed, level)
    oe = observed / expected
    return EntityRisk(observed, expected, oe, lo / expected, hi / expected,
                      min(1.0, oe * overall_rate), min(1.0, lo / expected * overall_rate),
                      min(1.0, hi / expected * overall_rate))


def odds_ratios(fit: LogisticFit, level: float = 0.95) -> list[dict[str, Any]]:
    from .intervals import z_value

    z = z_value(level)
    out = []
    for name, b, se in zip(fit.names, fit.coef, fit.se):
        finite = math.isfinite(float(se))
        out.append({"term": name, "coef": float(b), "se": float(se) if finite else None,
                    "odds_ratio": math.exp(float(b)) if abs(b) < 700 else None,
                    "or_lower": math.exp(float(b - z * se)) if finite and abs(b - z * se) < 700 else None,
                    "or_upper": math.exp(float(b + z * se)) if finite and abs(b + z * se) < 700 else None})
    return out

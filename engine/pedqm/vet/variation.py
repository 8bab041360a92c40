"""Is there variation worth paying for? Funnel-plot limits, percentiles, and the topped-out check.

Funnel limits follow Spiegelhalter (Stat Med 2005): exact binomial quantiles around the overall
rate, interpolated so the limits are smooth in n; over-dispersion (more spread than binomial
chance) is estimated from winsorised z-scores and, where present, widened into additive
random-effects limits (Spiegelhalter, Qual Saf Health Care 2005).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.special import bdtr, chdtrc, ndtri


def binomial_limit(p0: float, n: int, prob: float) -> float:
    """The `prob` quantile of an entity's rate with denominator n when its true rate is p0,
    interpolated between the discrete binomial steps (Spiegelhalter 2005, appendix)."""
    if n <= 0:
        raise ValueError("a funnel limit needs n > 0")
    if p0 <= 0 or p0 >= 1:
        return float(p0)
    ks = np.arange(n + 1)
    cdf = bdtr(ks, n, p0)
    r = int(np.searchsorted(cdf, prob, side="left"))  # smallest r with P(X <= r) >= prob
    r = min(r, n)
    below = cdf[r - 1] if r > 0 else 0.0
    step = cdf[r] - below
    a = (cdf[r] - prob) / step if step > 0 else 0.0
    return float(min(max((r - a) / n, 0.0), 1.0))


@dataclass(frozen=True)
class FunnelLimits:
    n: int
    lower95: float
    upper95: float
    lower998: float
    upper998: float


def funnel_limits(p0: float, n: int) -> FunnelLimits:
    """95% and 99.8% control limits for denominator n (about 2 and 3 standard errors)."""
    return FunnelLimits(n, binomial_limit(p0, n, 0.025), binomial_limit(p0, n, 0.975),
                        binomial_limit(p0, n, 0.001), binomial_limit(p0, n, 0.999))


@dataclass(frozen=True)
class Overdispersion:
    phi: float  # winsorised mean squared z-score; 1 under pure binomial chance
    p_value: float  # chi-squared test of phi * k on k - 1 degrees of freedom
    tau2: float  # additive between-entity variance for the widened limits (0 if none)
    n_entities: int

    @property
    def present(self) -> bool:
        return self.p_value < 0.05 and self.tau2 > 0


def overdispersion(x: Sequence[int], n: Sequence[int], p0: float, winsor: float = 0.1) -> Overdispersion | None:
    """Spiegelhalter's test: z-scores winsorised at the 10th and 90th percentiles, phi = mean z^2,
    and tau^2 = (k phi - (k - 1)) / (sum w - sum w^2 / sum w), w = 1 / s^2 (DerSimonian-Laird form)."""
    xs, ns = np.asarray(x, float), np.asarray(n, float)
    keep = ns > 0
    xs, ns = xs[keep], ns[keep]
    k = len(xs)
    if k < 3 or not 0 < p0 < 1:
        return None
    s2 = p0 * (1 - p0) / ns
    z = (xs / ns - p0) / np.sqrt(s2)
    lo, hi = np.quantile(z, [winsor, 1 - winsor])
    zw = np.clip(z, lo, hi)
    phi = float(np.mean(zw ** 2))
    p_value = float(chdtrc(k - 1, k * phi))
    w = 1 / s2
    tau2 = max(0.0, (k * phi - (k - 1)) / (w.sum() - (w ** 2).sum() / w.sum()))
    return Overdispersion(phi, p_value, float(tau2), k)


def random_effects_limits(p0: float, n: int, tau2: float, level: float) -> tuple[float, float]:
    """Limits widened by between-entity variance: p0 +- z sqrt(p0(1-p0)/n + tau^2), kept in [0, 1]."""
    z = float(ndtri(1 - (1 - level) / 2))
    half = z * math.sqrt(p0 * (1 - p0) / n + tau2)
    return max(0.0, p0 - half), min(1.0, p0 + half)


def percentiles(rates: Sequence[float], qs: Sequence[float] = (10, 25, 50, 75, 90)) -> dict[str, float]:
    """Entity rates' percentiles (linear interpolation between order statistics, Hyndman-Fan 7)."""
    arr = np.asarray(rates, float)
    if len(arr) == 0:
        return {}
    return {f"p{int(q)}": float(np.percentile(arr, q)) for q in qs}


def iqr(rates: Sequence[float]) -> float | None:
    arr = np.asarray(rates, float)
    if len(arr) == 0:
        return None
    q1, q3 = np.percentile(arr, [25, 75])
    return float(q3 - q1)


@dataclass(frozen=True)
class ToppedOut:
    median: float
    p75: float
    p90: float
    standard_error: float  # standard deviation of entity performance / sqrt(entities)
    truncated_cv: float | None  # CV after dropping the lowest and highest 5% of entities
    indistinguishable_75_90: bool
    low_truncated_cv: bool
    median_at_least_95: bool

    @property
    def topped_out(self) -> bool:
        """CMS hospital programs' rule: both tests met; or the MIPS rule: median >= 95%."""
        return (self.indistinguishable_75_90 and self.low_truncated_cv) or self.median_at_least_95


def topped_out(rates: Sequence[float], higher_is_better: bool = True) -> ToppedOut | None:
    """The topped-out tests on performance (the rate, or 1 - rate for an inverse measure): the 75th
    and 90th percentiles within two standard errors, truncated CV <= 0.10, or median >= 0.95."""
    perf = np.asarray(rates, float)
    if len(perf) < 2:
        return None
    if not higher_is_better:
        perf = 1 - perf
    p50, p75, p90 = (float(v) for v in np.percentile(perf, [50, 75, 90]))
    se = float(np.std(perf, ddof=1) / math.sqrt(len(perf)))
    lo, hi = np.percentile(perf, [5, 95])
    trimmed = perf[(perf >= lo) & (perf <= hi)]
    mean = float(trimmed.mean()) if len(trimmed) else 0.0
    tcv = float(np.std(trimmed, ddof=1) / mean) if len(trimmed) > 1 and mean > 0 else None
    return ToppedOut(p50, p75, p90, se, tcv, (p90 - p75) < 2 * se, tcv is not None and tcv <= 0.10, p50 >= 0.95)

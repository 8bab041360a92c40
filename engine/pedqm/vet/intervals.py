"""Confidence intervals for rates and ratios from small samples.

Practice denominators in pediatric programs are often a few dozen children, where the Wald
interval misbehaves (zero width at 0/n, limits outside [0, 1]); Brown, Cai & DasGupta (2001)
recommend Wilson or Jeffreys there, and Clopper-Pearson when guaranteed coverage is required.
"""

from __future__ import annotations

import math
from typing import Literal

from scipy.special import betaincinv, gammaincinv, ndtri

Method = Literal["wilson", "jeffreys", "clopper-pearson"]
METHODS: tuple[Method, ...] = ("wilson", "jeffreys", "clopper-pearson")


def z_value(level: float) -> float:
    """The two-sided standard-normal quantile for a confidence level (1.96 for 0.95)."""
    if not 0 < level < 1:
        raise ValueError(f"confidence level must be in (0, 1), got {level}")
    return float(ndtri(1 - (1 - level) / 2))


def _check(x: int, n: int) -> None:
    if n <= 0 or x < 0 or x > n:
        raise ValueError(f"need 0 <= x <= n and n > 0, got x={x}, n={n}")


def wilson(x: int, n: int, level: float = 0.95) -> tuple[float, float]:
    """Wilson (1927) score interval: the p whose score test does not reject at `level`."""
    _check(x, n)
    z = z_value(level)
    p = x / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


def jeffreys(x: int, n: int, level: float = 0.95) -> tuple[float, float]:
    """Equal-tailed interval of the Beta(x + 1/2, n - x + 1/2) posterior; the end at 0/n or n/n is
    set to 0 or 1 (Brown, Cai & DasGupta 2001, section 4.1.2)."""
    _check(x, n)
    a = (1 - level) / 2
    lo = 0.0 if x == 0 else float(betaincinv(x + 0.5, n - x + 0.5, a))
    hi = 1.0 if x == n else float(betaincinv(x + 0.5, n - x + 0.5, 1 - a))
    return lo, hi


def clopper_pearson(x: int, n: int, level: float = 0.95) -> tuple[float, float]:
    """Clopper-Pearson 'exact' interval from beta quantiles: coverage at least `level` for every p."""
    _check(x, n)
    a = (1 - level) / 2
    lo = 0.0 if x == 0 else float(betaincinv(x, n - x + 1, a))
    hi = 1.0 if x == n else float(betaincinv(x + 1, n - x, 1 - a))
    return lo, hi


def proportion_interval(x: int, n: int, method: Method = "wilson", level: float = 0.95) -> tuple[float, float]:
    """A rate's interval by name: 'wilson' (default), 'jeffreys' or 'clopper-pearson'."""
    if method == "wilson":
        return wilson(x, n, level)
    if method == "jeffreys":
        return jeffreys(x, n, level)
    if method == "clopper-pearson":
        return clopper_pearson(x, n, level)
    raise ValueError(f"unknown interval method {method!r}; known: {', '.join(METHODS)}")


def newcombe_difference(x1: int, n1: int, x2: int, n2: int, level: float = 0.95) -> tuple[float, float, float]:
    """p1 - p2 with Newcombe's (1998) hybrid score interval (his method 10), built from the two
    Wilson intervals: it stays inside [-1, 1] and behaves at 0/n, unlike the Wald difference."""
    l1, u1 = wilson(x1, n1, level)
    l2, u2 = wilson(x2, n2, level)
    p1, p2 = x1 / n1, x2 / n2
    d = p1 - p2
    lower = d - math.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2)
    upper = d + math.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2)
    return d, lower, upper


def poisson_exact(observed: int, level: float = 0.95) -> tuple[float, float]:
    """Exact (Garwood 1936) interval for a Poisson mean given an observed count, the usual
    interval for an observed count divided by an expected one (Breslow & Day 1987)."""
    if observed < 0:
        raise ValueError(f"a count cannot be negative: {observed}")
    a = (1 - level) / 2
    lo = 0.0 if observed == 0 else float(gammaincinv(observed, a))
    hi = float(gammaincinv(observed + 1, 1 - a))
    return lo, hi

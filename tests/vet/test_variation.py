"""Funnel limits against scipy's binomial distribution, the normal approximation, and
Spiegelhalter's over-dispersion estimate written out; percentiles against the
standard library; topped-out tests on constructed distributions."""

from __future__ import annotations

import math
import statistics

import numpy as np
import pytest
from scipy import stats

from pedqm.vet import variation as var


@pytest.mark.parametrize(("p0", "n"), [(0.3, 10), (0.7, 45), (0.9, 200), (0.05, 30), (0.5, 1)])
@pytest.mark.parametrize("prob", [0.001, 0.025, 0.975, 0.999])
def test_binomial_limit_is_spiegelhalters_interpolated_quantile(p0: float, n: int, prob: float) -> None:
    dist = stats.binom(n, p0)
    r = dist.ppf(prob)  # smallest r with P(X <= r) >= prob
    step = dist.cdf(r) - dist.cdf(r - 1)
    expected = (r - (dist.cdf(r) - prob) / step) / n
    assert var.binomial_limit(p0, n, prob) == pytest.approx(min(max(expected, 0.0), 1.0), abs=1e-12)


def test_limits_approach_the_normal_approximation() -> None:
    p0, n = 0.6, 5000
    lim = var.funnel_limits(p0, n)
    se = math.sqrt(p0 * (1 - p0) / n)
    assert lim.upper95 == pytest.approx(p0 + stats.norm.ppf(0.975) * se, abs=3e-4)
    assert lim.lower998 == pytest.approx(p0 - stats.norm.ppf(0.999) * se, abs=3e-4)
    assert lim.lower998 < lim.lower95 < p0 < lim.upper95 < lim.upper998


def test_overdispersion_against_direct_computation() -> None:
    n = np.array([40, 55, 30, 80, 62, 45, 38, 90, 51, 70, 25, 66])
    x = np.array([30, 30, 25, 40, 55, 20, 33, 50, 45, 42, 10, 60])
    p0 = x.sum() / n.sum()
    s2 = p0 * (1 - p0) / n
    z = (x / n - p0) / np.sqrt(s2)
    od = var.overdispersion(x.tolist(), n.tolist(), p0)
    assert od is not None
    # winsorise at the 10th / 90th percentiles (by value, as Spiegelhalter does)
    lo, hi = np.percentile(z, [10, 90])
    zw = np.clip(z, lo, hi)
    phi = float(np.mean(zw ** 2))
    assert od.phi == pytest.approx(phi)
    k = len(z)
    assert od.p_value == pytest.approx(stats.chi2.sf(k * phi, k - 1))
    w = 1 / s2
    assert od.tau2 == pytest.approx((k * phi - (k - 1)) / (w.sum() - (w ** 2).sum() / w.sum()))
    assert od.present


def test_no_overdispersion_when_rates_are_binomial() -> None:
    rng = np.random.default_rng(2)
    n = rng.integers(30, 100, size=60)
    x = rng.binomial(n, 0.7)
    od = var.overdispersion(x.tolist(), n.tolist(), x.sum() / n.sum())
    assert od is not None and not od.present


def test_percentiles_and_iqr_match_the_standard_library() -> None:
    rates = [0.42, 0.55, 0.61, 0.62, 0.7, 0.71, 0.78, 0.8, 0.85, 0.93]
    q = statistics.quantiles(rates, n=4, method="inclusive")
    pct = var.percentiles(rates)
    assert pct["p25"] == pytest.approx(q[0]) and pct["p50"] == pytest.approx(q[1]) and pct["p75"] == pytest.approx(q[2])
    assert var.iqr(rates) == pytest.approx(q[2] - q[0])
    assert pct["p90"] == pytest.approx(statistics.quantiles(rates, n=10, method="inclusive")[8])


def test_topped_out_when_everyone_is_near_perfect() -> None:
    high = [0.96, 0.97, 0.97, 0.98, 0.98, 0.98, 0.99, 0.99, 0.99, 1.0, 0.97, 0.98]
    t = var.topped_out(high)
    assert t is not None and t.topped_out and t.median_at_least_95
    assert t.truncated_cv is not None and t.truncated_cv <= 0.10
    spread = [0.2, 0.35, 0.4, 0.5, 0.55, 0.6, 0.7, 0.8, 0.85, 0.9]
    t2 = var.topped_out(spread)
    assert t2 is not None and not t2.topped_out
    se = statistics.stdev(spread) / math.sqrt(len(spread))
    assert t2.standard_error == pytest.approx(se)
    # an inverse measure is judged on 1 - rate
    t3 = var.topped_out([1 - r for r in high], higher_is_better=False)
    assert t3 is not None and t3.topped_out

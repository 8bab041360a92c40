"""Beta-binomial reliability against an independent maximum-likelihood fit (scipy's betabinom
log-pmf, a different optimiser and parametrisation), Adams' formulas written out, and simulation."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import optimize, stats

from pedqm.vet import reliability as rel

# a fixed set of practices: denominators and numerators with real between-practice spread
N = [12, 25, 40, 33, 60, 18, 75, 9, 50, 28, 44, 31, 66, 20, 37]
X = [5, 20, 21, 29, 30, 14, 66, 3, 41, 11, 39, 15, 60, 9, 30]


def reference_fit(x: list[int], n: list[int]) -> tuple[float, float, float]:
    """ML by Nelder-Mead over (log alpha, log beta) on scipy.stats.betabinom's log-pmf."""
    xs, ns = np.array(x), np.array(n)

    def nll(theta: np.ndarray) -> float:
        a, b = np.exp(theta)
        return -float(stats.betabinom.logpmf(xs, ns, a, b).sum())

    best = optimize.minimize(nll, np.log([2.0, 2.0]), method="Nelder-Mead",
                             options={"xatol": 1e-10, "fatol": 1e-12, "maxiter": 20000})
    a, b = np.exp(best.x)
    return float(a), float(b), -float(best.fun)


def test_ml_fit_matches_independent_fit() -> None:
    fit = rel.fit_beta_binomial(X, N)
    a, b, ll = reference_fit(X, N)
    assert fit.alpha == pytest.approx(a, rel=2e-3)
    assert fit.beta == pytest.approx(b, rel=2e-3)
    # same maximum: our log-likelihood omits log C(n, x), which does not depend on alpha, beta
    constant = sum(math.log(math.comb(n, x)) for x, n in zip(X, N))
    assert fit.log_likelihood + constant == pytest.approx(ll, abs=1e-6)
    assert fit.converged and not fit.boundary


def test_adams_formulas() -> None:
    fit = rel.fit_beta_binomial(X, N)
    a, b = fit.alpha, fit.beta
    mu = a / (a + b)
    var_b = a * b / ((a + b) ** 2 * (a + b + 1))
    assert fit.between_variance == pytest.approx(var_b)
    # between-entity variance is the variance of the fitted Beta distribution
    assert fit.between_variance == pytest.approx(stats.beta(a, b).var())
    for n in (5, 30, 200):
        within = mu * (1 - mu) * (a + b) / ((a + b + 1) * n)
        assert rel.entity_reliability(fit, n) == pytest.approx(var_b / (var_b + within))
        assert fit.within_variance(n) == pytest.approx(within)
    x, n = 7, 20
    p = (a + x) / (a + b + n)  # the shrunken rate in the noise (the raw rate gives 1 at 0/n and n/n)
    assert rel.entity_reliability_plugin(fit, x, n) == pytest.approx(var_b / (var_b + p * (1 - p) / n))
    # minimum n: the smallest n reaching 0.7
    m = rel.min_denominator(fit, 0.7)
    assert m is not None
    assert rel.entity_reliability(fit, m) >= 0.7 > rel.entity_reliability(fit, m - 1)


def test_simulated_parameters_are_recovered() -> None:
    rng = np.random.default_rng(11)
    a, b = 4.0, 6.0  # mean 0.4, sd of true rates ~0.148
    n = rng.integers(20, 120, size=400)
    x = rng.binomial(n, rng.beta(a, b, size=400))
    fit = rel.fit_beta_binomial(x.tolist(), n.tolist())
    assert fit.mean == pytest.approx(0.4, abs=0.02)
    assert math.sqrt(fit.between_variance) == pytest.approx(math.sqrt(a * b / (100 * 11)), rel=0.1)


def test_no_between_entity_variance_is_reported_as_such() -> None:
    # every practice has exactly the same rate: less spread than binomial chance
    fit = rel.fit_beta_binomial([10, 20, 30, 40], [20, 40, 60, 80])
    assert fit.boundary
    assert fit.between_variance == 0.0
    assert rel.min_denominator(fit) is None
    assert rel.entity_reliability(fit, 100) == 0.0


def test_fit_needs_two_entities_and_both_outcomes() -> None:
    with pytest.raises(ValueError):
        rel.fit_beta_binomial([3], [10])
    with pytest.raises(ValueError):
        rel.fit_beta_binomial([0, 0, 0], [10, 20, 5])


def test_shrinkage_is_the_beta_posterior() -> None:
    fit = rel.fit_beta_binomial(X, N)
    for x, n in [(0, 5), (9, 10), (30, 60)]:
        post = stats.beta(fit.alpha + x, fit.beta + n - x)
        s = rel.shrink(fit, x, n)
        assert s.rate == pytest.approx(post.mean())
        assert (s.lower, s.upper) == pytest.approx((post.ppf(0.025), post.ppf(0.975)), abs=1e-10)
        # shrinkage pulls toward the mean, more for small n
        assert min(x / n, fit.mean) <= s.rate <= max(x / n, fit.mean)


def test_spearman_brown_formula() -> None:
    assert rel.spearman_brown(0.5) == pytest.approx(2 / 3)
    assert rel.spearman_brown(0.6, 3) == pytest.approx(1.8 / 2.2)


def test_split_half_once_against_direct_computation() -> None:
    rng_a, rng_b = np.random.default_rng(5), np.random.default_rng(5)
    outcomes = {f"e{i}": [1] * x + [0] * (n - x) for i, (x, n) in enumerate(zip(X, N))}
    a, b = rel.split_once(outcomes, rng_a)
    # the same permutations drawn directly
    for i, ys in enumerate(outcomes.values()):
        perm = rng_b.permutation(len(ys))
        arr = np.array(ys, float)[perm]
        assert a[i] == pytest.approx(arr[: len(ys) // 2].mean())
        assert b[i] == pytest.approx(arr[len(ys) // 2:].mean())


def test_split_half_agrees_with_beta_binomial_on_simulated_data() -> None:
    """With equal n, Spearman-Brown split-half and the beta-binomial reliability estimate the same
    quantity: n / (n + alpha + beta)."""
    rng = np.random.default_rng(3)
    a, b, n = 3.0, 5.0, 40
    rates = rng.beta(a, b, size=300)
    outcomes = {f"e{i}": rng.binomial(1, p, size=n).tolist() for i, p in enumerate(rates)}
    sh = rel.split_half(outcomes, n_splits=50, seed=1)
    assert sh is not None
    expected = n / (n + a + b)  # 0.833
    assert sh.reliability == pytest.approx(expected, abs=0.05)
    r, _ = stats.pearsonr(*rel.split_once(outcomes, np.random.default_rng(9)))
    assert sh.half_correlation == pytest.approx(r, abs=0.05)


def test_split_half_needs_three_entities() -> None:
    assert rel.split_half({"a": [1, 0], "b": [1, 1]}) is None

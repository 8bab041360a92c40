"""Intervals against statsmodels, scipy's beta and binomial distributions, and Newcombe's (1998)
published worked examples."""

from __future__ import annotations

import pytest
from scipy import stats
from statsmodels.stats.proportion import confint_proportions_2indep, proportion_confint

from pedqm.vet.intervals import (
    clopper_pearson,
    jeffreys,
    newcombe_difference,
    poisson_exact,
    proportion_interval,
    wilson,
    z_value,
)

CASES = [(0, 1), (0, 20), (1, 29), (15, 148), (81, 263), (7, 10), (10, 10), (29, 30), (3, 7), (500, 1000)]


@pytest.mark.parametrize(("x", "n"), CASES)
@pytest.mark.parametrize("level", [0.9, 0.95, 0.99])
def test_wilson_matches_statsmodels(x: int, n: int, level: float) -> None:
    assert wilson(x, n, level) == pytest.approx(proportion_confint(x, n, 1 - level, method="wilson"), abs=1e-12)


@pytest.mark.parametrize(("x", "n"), CASES)
def test_clopper_pearson_matches_statsmodels_and_binomial_tails(x: int, n: int) -> None:
    lo, hi = clopper_pearson(x, n)
    assert (lo, hi) == pytest.approx(proportion_confint(x, n, 0.05, method="beta"), abs=1e-10)
    # the defining property: each limit puts 2.5% of the binomial in the tail beyond x
    if x > 0:
        assert stats.binom.sf(x - 1, n, lo) == pytest.approx(0.025, abs=1e-9)
    if x < n:
        assert stats.binom.cdf(x, n, hi) == pytest.approx(0.025, abs=1e-9)


@pytest.mark.parametrize(("x", "n"), CASES)
def test_jeffreys_is_the_beta_posterior_quantiles(x: int, n: int) -> None:
    lo, hi = jeffreys(x, n)
    post = stats.beta(x + 0.5, n - x + 0.5)
    assert lo == pytest.approx(0.0 if x == 0 else post.ppf(0.025), abs=1e-10)
    assert hi == pytest.approx(1.0 if x == n else post.ppf(0.975), abs=1e-10)
    sm_lo, sm_hi = proportion_confint(x, n, 0.05, method="jeffreys")
    if 0 < x < n:
        assert (lo, hi) == pytest.approx((sm_lo, sm_hi), abs=1e-10)


def test_newcombe_1998_worked_examples() -> None:
    """Newcombe, Stat Med 1998;17:857-872, Table II (score and exact methods), 4 decimals."""
    assert wilson(81, 263) == pytest.approx((0.2553, 0.3662), abs=5e-5)
    assert clopper_pearson(81, 263) == pytest.approx((0.2527, 0.3676), abs=5e-5)
    assert wilson(15, 148) == pytest.approx((0.0624, 0.1605), abs=5e-5)
    assert wilson(0, 20) == pytest.approx((0.0, 0.1611), abs=5e-5)
    assert wilson(1, 29) == pytest.approx((0.0061, 0.1718), abs=5e-5)


def test_difference_matches_newcombe_example_and_statsmodels() -> None:
    """Newcombe, Stat Med 1998;17:873-890: 56/70 - 48/80, method 10 gives 0.0524 to 0.3339."""
    d, lo, hi = newcombe_difference(56, 70, 48, 80)
    assert d == pytest.approx(0.2)
    assert (lo, hi) == pytest.approx((0.0524, 0.3339), abs=5e-5)
    for args in [(5, 40, 30, 45), (0, 10, 10, 10), (9, 30, 2, 50)]:
        ref = confint_proportions_2indep(*args, method="newcomb", compare="diff")
        assert newcombe_difference(*args)[1:] == pytest.approx(ref, abs=1e-10)


@pytest.mark.parametrize("observed", [0, 1, 4, 17, 250])
def test_poisson_exact_tails(observed: int) -> None:
    lo, hi = poisson_exact(observed)
    assert stats.poisson.cdf(observed, hi) == pytest.approx(0.025, abs=1e-9)
    if observed:
        assert stats.poisson.sf(observed - 1, lo) == pytest.approx(0.025, abs=1e-9)
    else:
        assert lo == 0


def test_names_levels_and_bad_input() -> None:
    assert proportion_interval(3, 10, "jeffreys") == jeffreys(3, 10)
    assert proportion_interval(3, 10, "clopper-pearson") == clopper_pearson(3, 10)
    assert z_value(0.95) == pytest.approx(stats.norm.ppf(0.975))
    with pytest.raises(ValueError):
        wilson(5, 3)
    with pytest.raises(ValueError):
        proportion_interval(1, 2, "wald")  # type: ignore[arg-type]

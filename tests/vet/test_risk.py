"""The risk model against statsmodels' Logit, the c-statistic against scikit-learn and a direct
pairwise count, calibration and O/E against their definitions."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import statsmodels.api as sm
from scipy import stats
from sklearn.metrics import roc_auc_score

from pedqm.vet.risk import (
    Design,
    c_statistic,
    calibration,
    drop_collinear,
    entity_risk,
    fit_logistic,
)


def _data(seed: int = 4, n: int = 600) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    age = rng.integers(2, 18, size=n).astype(float)
    chronic = rng.binomial(1, 0.25, size=n).astype(float)
    medicaid = rng.binomial(1, 0.5, size=n).astype(float)
    eta = 0.8 - 0.05 * age - 0.7 * chronic - 0.4 * medicaid
    y = rng.binomial(1, 1 / (1 + np.exp(-eta)))
    X = np.column_stack([np.ones(n), age, chronic, medicaid])
    return X, y.astype(float)


def test_logistic_matches_statsmodels() -> None:
    X, y = _data()
    fit = fit_logistic(X, y)
    ref = sm.Logit(y, X).fit(disp=0)
    assert fit.converged
    assert fit.coef == pytest.approx(ref.params, abs=1e-7)
    assert fit.se == pytest.approx(ref.bse, rel=1e-6)
    assert fit.log_likelihood == pytest.approx(ref.llf, abs=1e-8)
    assert fit.predict(X) == pytest.approx(ref.predict(X), abs=1e-8)


def test_c_statistic_matches_sklearn_and_pairwise_count() -> None:
    X, y = _data(seed=8, n=150)
    p = fit_logistic(X, y).predict(X)
    p = np.round(p, 2)  # create ties, which count one half
    assert c_statistic(y, p) == pytest.approx(roc_auc_score(y, p), abs=1e-12)
    pos, neg = p[y == 1], p[y == 0]
    pairs = sum(1.0 if a > b else 0.5 if a == b else 0.0 for a, b in itertools.product(pos, neg))
    assert c_statistic(y, p) == pytest.approx(pairs / (len(pos) * len(neg)))
    assert c_statistic([1, 1], [0.2, 0.3]) is None


def test_calibration_groups_and_hosmer_lemeshow() -> None:
    X, y = _data(seed=6, n=500)
    p = fit_logistic(X, y).predict(X)
    cal = calibration(y, p, groups=10)
    assert len(cal.bins) == 10 and sum(b.n for b in cal.bins) == 500
    # an in-sample fit with an intercept reproduces the total: sum of predictions = observed count
    assert sum(b.expected for b in cal.bins) == pytest.approx(y.sum(), abs=1e-6)
    order = np.argsort(p, kind="mergesort")
    hl = 0.0
    for idx in np.array_split(order, 10):
        o, e, n = y[idx].sum(), p[idx].sum(), len(idx)
        hl += (o - e) ** 2 / (e * (1 - e / n))
    assert cal.hosmer_lemeshow == pytest.approx(hl)
    assert cal.p_value == pytest.approx(stats.chi2.sf(hl, 8))
    assert cal.p_value is not None and cal.p_value > 0.01  # the model is the true one


def test_entity_oe_and_standardised_rate() -> None:
    er = entity_risk(12, 8.0, 0.5)
    lo, hi = stats.chi2.ppf(0.025, 24) / 2, stats.chi2.ppf(0.975, 26) / 2  # Garwood via chi-squared
    assert er.oe == pytest.approx(1.5)
    assert (er.oe_lower, er.oe_upper) == pytest.approx((lo / 8, hi / 8))
    assert er.rsr == pytest.approx(0.75)
    assert entity_risk(3, 0.0, 0.5).oe is None


def test_design_merges_small_levels_and_drops_copies() -> None:
    rows = [{"age": 5, "sex": "Male", "payer": "Private"}] * 30 + [{"age": 9, "sex": "Female", "payer": "Medicaid/CHIP"}] * 20 \
        + [{"age": None, "sex": "Other", "payer": "Private"}] * 3
    d = Design.build(rows, ["age"], ["sex", "payer"])
    assert d.levels == {"sex": ["Female"], "payer": ["Medicaid/CHIP"]}  # 'Other' (3) joins the reference
    X = d.matrix(rows)
    assert X.shape == (53, 4)
    assert X[-1, 1] == pytest.approx((30 * 5 + 20 * 9) / 50)  # missing age imputed by the mean
    X2, names = drop_collinear(X, d.names)
    assert names == ["intercept", "age", "sex=Female"]  # payer=Medicaid copies sex=Female here
    assert X2.shape[1] == 3

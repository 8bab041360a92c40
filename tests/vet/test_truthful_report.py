"""Issue 15, "reports that tell the truth": every summary names its base, the headline answers how
many entities can be scored reliably and at what n, and the text matches the fitted numbers.
The report's numbers are checked against computations made here from the generated data."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest
from scipy import optimize, stats

from pedqm.vet import reliability as rel
from pedqm.vet import svg_plots
from pedqm.vet.analysis import GroupVet, _split_half_verdict
from pedqm.vet.patient_features import NO_ICD, PatientFeatures
from pedqm.vet.report_html import _answers, risk_model_text
from pedqm.vet.risk import Design
from pedqm.vet.strata import single_level_dimensions, stratify

from .conftest import MEASURE, VetRun
from .test_vet_end_to_end import truth


def _fit(xs: np.ndarray, ns: np.ndarray) -> tuple[float, float]:
    def nll(theta: np.ndarray) -> float:
        return -float(stats.betabinom.logpmf(xs, ns, *np.exp(theta)).sum())

    a, b = np.exp(optimize.minimize(nll, np.zeros(2), method="Nelder-Mead",
                                    options={"xatol": 1e-10, "fatol": 1e-12, "maxiter": 20000}).x)
    return float(a), float(b)


def test_headline_counts_reliable_entities_and_states_its_base(vet_run: VetRun) -> None:
    expected = truth(vet_run.data)
    counts = [c for c in expected.values() if c.get("n", 0) > 0]
    a, b = _fit(np.array([c["x"] for c in counts]), np.array([c["n"] for c in counts]))
    need = math.ceil(0.7 * (a + b) / 0.3)
    reliable = sum(1 for c in expected.values() if c.get("n", 0) >= need)
    r = vet_run.result["groups"][0]["reliability"]
    assert r["min_denominator_for_target"] == need
    assert (r["reliable"], r["entities_total"]) == (reliable, len(expected))
    all_rel = [c["n"] / (c["n"] + a + b) for c in counts]
    assert r["median"] == pytest.approx(float(np.median(all_rel)), rel=5e-3)  # over every entity with n > 0
    assert r["entities"] == len(counts)
    big = [c["n"] / (c["n"] + a + b) for c in counts if c["n"] >= 30]
    assert r["reportable"]["entities"] == len(big)
    assert r["reportable"]["median"] == pytest.approx(float(np.median(big)), rel=5e-3)
    assert r["headline"].startswith(f"{reliable} of {len(expected)} practices can be scored reliably")
    assert f"at least {need} patients" in r["headline"]
    html = vet_run.html.read_text(encoding="utf-8")
    assert f"{reliable} of {len(expected)} practices can be scored reliably" in html


def test_own_rate_reliability_is_not_one_at_zero_or_full_rates() -> None:
    fit = rel.BetaBinomialFit(3.0, 5.0, 0.0, 10, True, False)
    for x, n in ((1, 1), (0, 1), (0, 12), (12, 12)):
        p = (3.0 + x) / (8.0 + n)  # the shrunken rate, not x/n
        expected = fit.between_variance / (fit.between_variance + p * (1 - p) / n)
        got = rel.entity_reliability_plugin(fit, x, n)
        assert got == pytest.approx(expected) and got < 0.99, (x, n)


def test_split_half_and_beta_binomial_have_intervals_and_a_verdict(vet_run: VetRun) -> None:
    sh = vet_run.result["groups"][0]["split_half"]
    for key in ("interval", "beta_binomial_interval", "difference_interval"):
        lo, hi = sh[key]
        assert lo is not None and hi is not None and lo <= hi, key
    assert 0 <= sh["interval"][0] and sh["beta_binomial_interval"][1] <= 1
    agree = sh["difference_interval"][0] <= 0 <= sh["difference_interval"][1]
    assert sh["verdict"].startswith("the two estimates agree" if agree else "the two estimates disagree")
    html = vet_run.html.read_text(encoding="utf-8")
    assert "bootstrap interval" in html
    # the rule itself: an interval of the paired difference that excludes 0 is a disagreement, and says which to trust
    text = _split_half_verdict({"difference_interval": [-0.6, -0.2], "interval": [0.1, 0.4],
                                "beta_binomial_interval": [0.5, 0.7], "level": 0.95, "mean_n": 12.0, "entities": 12})
    assert "disagree beyond their uncertainty" in text and "split-half is lower" in text and "Trust the beta-binomial" in text


def test_funnel_caption_gives_the_true_overall_rate(vet_run: VetRun) -> None:
    expected = truth(vet_run.data)
    x, n = sum(c.get("x", 0) for c in expected.values()), sum(c.get("n", 0) for c in expected.values())
    v = vet_run.result["groups"][0]["variation"]
    assert v["target"] == pytest.approx(x / n) and (v["target_x"], v["target_n"]) == (x, n)
    plotted = [c for c in expected.values() if c.get("n", 0) >= 30]
    assert v["plotted_rate"] == pytest.approx(sum(c["x"] for c in plotted) / sum(c["n"] for c in plotted))
    html = vet_run.html.read_text(encoding="utf-8")
    caption = re.search(r"<figcaption>Funnel plot of (.*?)</figcaption>", html, re.S)
    assert caption is not None
    assert f"overall rate {100 * x / n:.1f}% ({x} of {n} patients" in caption.group(1)
    assert f"the {len(plotted)} of {len(expected)} practices with n ≥ 30" in caption.group(1)


def _feats(age: int, sex: str, pmca: str, payer: str) -> dict[str, object]:
    return {"age": age, "sex": sex, "pmca": pmca, "payer": payer}


def test_risk_text_names_only_fitted_covariates_and_why_others_dropped() -> None:
    rows = [_feats(2, "Female" if i % 2 else "Male", "complex_chronic" if i < 3 else "non_chronic",
                   "Medicaid/CHIP" if i % 3 else "Private") for i in range(60)]
    d = Design.build(rows, ("age",), ("sex", "pmca", "payer"))
    assert d.numeric == [] and d.categorical == ["sex", "payer"]
    assert d.dropped["age"] == "no variation: every member has age 2"
    assert d.dropped["pmca"].startswith("every level but non_chronic has fewer than 10 members (complex_chronic 3)")
    rk = {"covariates": ["sex", "payer"], "references": {"sex": "Male"}, "n": 60,
          "dropped": [{"covariate": c, "reason": d.dropped[c]} for c in ("age", "pmca")], "merged_levels": {}}
    text = risk_model_text(rk)
    assert text.startswith("Logistic model of the numerator on sex, payer over 60")
    assert "Age (years) is not in the model: no variation" in text and "PMCA class is not in the model" in text
    g = GroupVet(0, None, "proportion", "boolean", None, {}, entity_noun="practices")
    g.risk = {**rk, "illness_covariate": False, "c_statistic": 0.6}
    answers = _answers(g)
    assert "Fair to practices" not in answers and "not assessed" in answers


def test_end_to_end_methods_match_the_fitted_model(vet_run: VetRun) -> None:
    g = vet_run.result["groups"][0]
    rk = g["risk"]
    terms = {t["term"].split("=")[0] for t in rk["terms"]} - {"intercept"}
    assert set(rk["covariates"]) == terms
    assert {d["covariate"] for d in rk["dropped"]} == {"age", "sex", "pmca", "payer"} - terms
    html = vet_run.html.read_text(encoding="utf-8")
    methods = html[html.index('id="methods"'):]
    assert f"group 1: {risk_model_text(rk)}" in methods.replace("&#x27;", "'")
    assert ("Fair to practices with sicker children?" in html) == ("pmca" in terms)


def test_strata_have_no_duplicates_no_single_level_and_an_unknown_chronic_level() -> None:
    def f(ccc: str, band: str) -> dict[str, object]:
        return PatientFeatures(4, band, "Male", "White", "Hispanic or Latino", "Private", ccc, "non_chronic").as_dict()

    units = [(f("ccc" if i < 40 else "no_ccc" if i < 100 else "no_icd_data", "2-5"), i % 2 == 0) for i in range(140)]
    out = stratify(units)
    chronic = {s.level: s for s in out if s.dimension == "chronic"}
    assert set(chronic) == {"CCC", "No CCC found", NO_ICD}
    assert (chronic["No CCC found"].n, chronic[NO_ICD].n) == (60, 40)  # unknown is never counted as no CCC
    assert {s.dimension for s in out}.isdisjoint({"ccc", "age_band"})
    assert {d["dimension"]: d["n"] for d in single_level_dimensions(units)}["age_band"] == 140


def test_forest_plot_labels_fit_and_caterpillar_names_entities() -> None:
    long = "Native Hawaiian or Other Pacific Islander"
    rows = [{"dimension": "race", "title": "Race (US Core, OMB)", "level": long, "n": 100, "x": 50, "rate": 0.5,
             "lower": 0.4, "upper": 0.6, "suppressed": False, "reference": True}]
    svg = svg_plots.strata_plot(rows, 0.5)
    label = next(m for m in re.finditer(r'<text x="([\d.]+)"[^>]*text-anchor="end"[^>]*>([^<]*)</text>', svg)
                 if long in m.group(2))
    assert float(label.group(1)) - svg_plots.text_width(label.group(2)) >= 0  # starts inside the drawing
    cat = [{"label": name, "estimate": e, "lower": e - 0.1, "upper": e + 0.1}
           for name, e in (("North Pediatrics", 0.5), ("South Pediatrics", 0.4))]
    svg = svg_plots.caterpillar_plot(cat, 0.45, entity_label="practices")
    names = re.findall(r'class="tick entity-label"[^>]*>([^<]*)</text>', svg)
    assert names == ["South Pediatrics", "North Pediatrics"]  # ranked low to high, each named
    assert "practices, ranked from lowest to highest" in svg


def test_value_set_rates_say_which_value_sets_only_exclude(vet_run: VetRun) -> None:
    text = (MEASURE / "VetBmi.cql").read_text(encoding="utf-8")
    exclusion_block = text[text.index('define "Denominator Exclusion"'):text.index('define "Numerator"')]
    hits = {t["resource_type"]: t for t in vet_run.result["diagnostics"]["value_set_hits"]}
    cond = hits["Condition"]["value_sets"]
    assert [v["name"] for v in cond] == ["Palliative Care"] and '"Palliative Care"' in exclusion_block
    assert cond[0]["exclusion_only"] and cond[0]["roles"] == ["denominator-exclusion"]
    assert "expected and not a coding problem" in hits["Condition"]["meaning"]
    enc = hits["Encounter"]["value_sets"]
    assert [v["name"] for v in enc] == ["Office Visit"] and not enc[0]["exclusion_only"]
    assert "initial-population" in enc[0]["roles"]
    assert "exclusions only" in vet_run.html.read_text(encoding="utf-8")

"""One measure group's vetting statistics from its population rows: per-entity rates, reliability,
shrinkage, variation, strata and risk adjustment, as plain data for the JSON and HTML reports."""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from ..measure.definition import GroupDef
from . import reliability as rel
from . import variation as var
from .collect import Collected, Unit
from .intervals import Method, proportion_interval
from .patient_features import NO_ICD
from .risk import (
    Design,
    c_statistic,
    calibration,
    drop_collinear,
    entity_risk,
    fit_logistic,
    odds_ratios,
)
from .strata import single_level_dimensions, stratify

RISK_NUMERIC = ("age",)
RISK_CATEGORICAL = ("sex", "pmca", "payer")
ILLNESS_COVARIATES = ("pmca",)  # what makes "fair to practices with sicker children?" answerable
MIN_RISK_UNITS = 30


@dataclass(frozen=True)
class Settings:
    min_n: int = 30
    level: float = 0.95
    interval: Method = "wilson"
    target_reliability: float = 0.7
    split_half_splits: int = 200
    bootstrap_replicates: int = 200
    seed: int = 20090101


@dataclass
class EntityResult:
    entity: str
    name: str
    patients: int  # attributed patients in the data, in the population or not
    initial_population: int
    n: int  # denominator after exclusions and exceptions
    x: int | None
    rate: float | None
    lower: float | None
    upper: float | None
    suppressed: bool
    reliability: float | None = None
    reliability_plugin: float | None = None
    shrunken: float | None = None
    shrunken_lower: float | None = None
    shrunken_upper: float | None = None
    funnel: str | None = None  # where the rate falls against the exact binomial limits
    funnel_overdispersed: str | None = None  # against the random-effects limits, when over-dispersed
    expected: float | None = None
    oe: float | None = None
    oe_lower: float | None = None
    oe_upper: float | None = None
    rsr: float | None = None
    rsr_lower: float | None = None
    rsr_upper: float | None = None


@dataclass
class GroupVet:
    index: int
    id: str | None
    scoring: str
    basis: str
    improvement: str | None
    flow: dict[str, int]
    n: int = 0
    x: int = 0
    rate: float | None = None
    lower: float | None = None
    upper: float | None = None
    unattributed: int = 0  # denominator members without an entity
    entities: list[EntityResult] = field(default_factory=list)
    beta_binomial: dict[str, Any] | None = None
    reliability: dict[str, Any] | None = None
    split_half: dict[str, Any] | None = None
    variation: dict[str, Any] | None = None
    funnel_curve: list[dict[str, float]] = field(default_factory=list)
    strata: list[dict[str, Any]] = field(default_factory=list)
    risk: dict[str, Any] | None = None
    notes: list[str] = field(default_factory=list)
    entity_noun: str = "entities"  # practices, clinicians or entities: how the report names them
    strata_not_shown: list[dict[str, Any]] = field(default_factory=list)  # single-level stratifiers

    @property
    def higher_is_better(self) -> bool:
        return self.improvement != "decrease"

    @property
    def unit_label(self) -> str:
        return "patients" if self.basis == "boolean" else f"{self.basis} episodes"

    def reportable(self) -> list[EntityResult]:
        return [e for e in self.entities if not e.suppressed]

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["unit"] = self.unit_label
        d["higher_is_better"] = self.higher_is_better
        return d


def _funnel_flag(rate: float, lim: var.FunnelLimits) -> str:
    if rate > lim.upper998:
        return "above 99.8%"
    if rate > lim.upper95:
        return "above 95%"
    if rate < lim.lower998:
        return "below 99.8%"
    if rate < lim.lower95:
        return "below 95%"
    return "within"


def _curve_ns(max_n: int) -> list[int]:
    if max_n <= 60:
        return list(range(1, max_n + 1))
    grid = np.unique(np.round(np.geomspace(1, max_n, 80)).astype(int))
    return [int(v) for v in grid]


def analyse_group(gdef: GroupDef, units: list[Unit], collected: Collected, names: dict[str, str],
                  flow: Counter[str], settings: Settings, entity_noun: str = "entities") -> GroupVet:
    g = GroupVet(gdef.index, gdef.id, gdef.scoring, gdef.basis, gdef.improvement,
                 {code: n for code, n in flow.items() if gdef.population(code) is not None}, entity_noun=entity_noun)
    if gdef.scoring != "proportion":
        g.notes.append(f"scoring is {gdef.scoring}: pedqm vet computes rates, reliability and risk adjustment for "
                       "proportion measures only; the population flow is shown")
        return g
    if gdef.basis != "boolean":
        g.notes.append(f"episode-based ({gdef.basis}): each episode is a unit; a patient's episodes are not "
                       "independent, so intervals and reliability are optimistic when patients have several")
    den = [u for u in units if u.denominator]
    g.n, g.x = len(den), sum(u.numerator for u in den)
    if g.n:
        g.rate = g.x / g.n
        g.lower, g.upper = proportion_interval(g.x, g.n, settings.interval, settings.level)
    attributed = [u for u in den if u.entity is not None]
    g.unattributed = len(den) - len(attributed)
    _entities(g, units, attributed, collected, names, settings)
    _reliability(g, attributed, settings)
    _variation(g, settings)
    rows = [(collected.features[u.patient_id].as_dict() if u.patient_id in collected.features else {}, u.numerator)
            for u in den]
    g.strata = [s.as_dict() for s in stratify(rows, min_n=settings.min_n, method=settings.interval, level=settings.level)]
    g.strata_not_shown = single_level_dimensions(rows)
    _risk(g, attributed, collected, settings)
    return g


def _entities(g: GroupVet, units: list[Unit], attributed: list[Unit], collected: Collected,
              names: dict[str, str], s: Settings) -> None:
    ip = Counter(u.entity for u in units if u.entity is not None)
    n = Counter(u.entity for u in attributed)
    x = Counter(u.entity for u in attributed if u.numerator)
    ids = sorted(set(collected.entity_patients) | set(ip), key=lambda e: (-n[e], e))
    for e in ids:
        if e is None:
            continue
        row = EntityResult(e, names.get(e, e), collected.entity_patients[e], ip[e], n[e], None, None, None, None,
                           suppressed=n[e] < s.min_n)
        if n[e] > 0 and not row.suppressed:
            row.x, row.rate = x[e], x[e] / n[e]
            row.lower, row.upper = proportion_interval(x[e], n[e], s.interval, s.level)
        g.entities.append(row)


def _reliability(g: GroupVet, attributed: list[Unit], s: Settings) -> None:
    with_n = [e for e in g.entities if e.n > 0]
    hits = Counter(u.entity for u in attributed if u.numerator)
    xs = [hits[e.entity] for e in with_n]
    ns = [e.n for e in with_n]
    try:
        fit = rel.fit_beta_binomial(xs, ns)
    except ValueError as exc:
        g.notes.append(f"reliability not estimated: {exc}")
        return
    g.beta_binomial = {"alpha": fit.alpha, "beta": fit.beta, "mean": fit.mean, "between_variance": fit.between_variance,
                       "between_sd": math.sqrt(fit.between_variance), "icc": fit.icc,
                       "log_likelihood": fit.log_likelihood, "entities": fit.n_entities, "converged": fit.converged,
                       "no_between_variance": fit.boundary}
    if fit.boundary:
        g.notes.append("the beta-binomial fit found no between-entity variance: differences between entities are "
                       "what chance alone would produce, so no denominator makes the measure reliable")
    for e, xe in zip(with_n, xs):
        e.reliability = rel.entity_reliability(fit, e.n)
        e.reliability_plugin = rel.entity_reliability_plugin(fit, xe, e.n)
        if not e.suppressed:
            sh = rel.shrink(fit, xe, e.n, s.level)
            e.shrunken, e.shrunken_lower, e.shrunken_upper = sh.rate, sh.lower, sh.upper
    _reliability_summary(g, with_n, fit, s)
    outcomes: dict[str, list[int]] = {}
    for u in attributed:
        outcomes.setdefault(str(u.entity), []).append(int(u.numerator))
    sh_half = rel.split_half(outcomes, s.split_half_splits, s.seed)
    boot = rel.bootstrap_reliability(list(outcomes.values()), _mean_n(outcomes), s.target_reliability,
                                     s.bootstrap_replicates, seed=s.seed, level=s.level)
    if g.reliability is not None:
        lo_n, hi_n = boot.min_denominator or (None, None)
        g.reliability["min_denominator_interval"] = None if lo_n is None else [_finite(lo_n), _finite(hi_n)]
    if sh_half is not None:
        mean_n = _mean_n(outcomes)
        r_bb = rel.entity_reliability(fit, mean_n)
        g.split_half = {"half_correlation": sh_half.half_correlation, "spearman_brown": sh_half.reliability,
                        "entities": sh_half.n_entities, "splits": sh_half.n_splits, "mean_n": mean_n,
                        "beta_binomial_at_mean_n": r_bb,
                        "interval": _pair(boot.split_half), "beta_binomial_interval": _pair(boot.beta_binomial),
                        "difference_interval": _pair(boot.difference), "bootstrap_replicates": boot.replicates,
                        "level": boot.level}
        g.split_half["verdict"] = _split_half_verdict(g.split_half)


def _mean_n(outcomes: dict[str, list[int]]) -> float:
    """The mean denominator of the entities split-half can use (n >= 2): where both methods are compared."""
    sizes = [len(v) for v in outcomes.values() if len(v) >= 2]
    return float(np.mean(sizes)) if sizes else 0.0


def _finite(v: float | None) -> float | None:
    return None if v is None or not math.isfinite(v) else v


def _pair(p: tuple[float, float] | None) -> list[float | None] | None:
    return None if p is None else [_finite(p[0]), _finite(p[1])]


def _split_half_verdict(sh: dict[str, Any]) -> str:
    """Whether split-half and beta-binomial disagree beyond their bootstrap uncertainty, and which
    to trust: the paired difference's interval decides, not the two point estimates."""
    diff = sh.get("difference_interval")
    if not diff or diff[0] is None or diff[1] is None:
        return ("too few usable bootstrap replicates to compare the two estimates; read both as rough, and the "
                "beta-binomial figure as the better-founded")
    wide = any(iv and iv[0] is not None and iv[1] is not None and iv[1] - iv[0] > 0.5
               for iv in (sh.get("interval"), sh.get("beta_binomial_interval")))
    caveat = (f"; both are very uncertain with {sh['entities']} entities, so neither settles the question"
              if wide else "")
    if diff[0] <= 0 <= diff[1]:
        return (f"the two estimates agree within their uncertainty (the difference's {sh['level']:.0%} interval, "
                f"{diff[0]:+.2f} to {diff[1]:+.2f}, includes 0){caveat}. The headline uses the beta-binomial "
                "figure: it uses each entity's whole denominator, while split-half works with halves")
    low = "split-half" if diff[1] < 0 else "beta-binomial"
    return (f"the two estimates disagree beyond their uncertainty (the difference's {sh['level']:.0%} interval, "
            f"{diff[0]:+.2f} to {diff[1]:+.2f}, excludes 0; {low} is lower{caveat}). Trust the beta-binomial figure unless its "
            "model is doubtful: it uses each entity's whole denominator, while split-half correlates halves of "
            f"n/2 (here about {sh['mean_n'] / 2:.0f}) and steps them up with Spearman-Brown, which assumes entities "
            "of equal size; with few, small, unequal entities split-half is noisy and biased low. If the "
            "beta-binomial is the higher one, check its fit: true rates far from a beta shape (e.g. one "
            "outlying entity) inflate its between-entity variance.")


def _stats(values: list[float], target: float) -> dict[str, Any]:
    rs = np.asarray(values, float)
    if len(rs) == 0:
        return {"entities": 0}
    return {"entities": len(rs), "mean": float(rs.mean()), "median": float(np.median(rs)),
            "p25": float(np.percentile(rs, 25)), "p75": float(np.percentile(rs, 75)),
            "min": float(rs.min()), "max": float(rs.max()),
            "reaching_target": int(np.sum(rs >= target)), "share_reaching_target": float(np.mean(rs >= target))}


def _reliability_summary(g: GroupVet, with_n: list[EntityResult], fit: rel.BetaBinomialFit, s: Settings) -> None:
    """Reliability answers the program's question, how many entities can be scored reliably at the
    sample sizes they have and what n would be needed, and states the base of every statistic: the
    entities at or above the minimum n can be a small, unrepresentative part of all entities."""
    noun = g.entity_noun
    one = noun[:-1] if noun.endswith("s") else noun
    total = len(g.entities)
    reportable = [e for e in with_n if not e.suppressed]
    min_n = rel.min_denominator(fit, s.target_reliability)
    over_all = _stats([e.reliability or 0.0 for e in with_n], s.target_reliability)
    over_rep = _stats([e.reliability or 0.0 for e in reportable], s.target_reliability)
    reliable = [e for e in g.entities if (e.reliability or 0.0) >= s.target_reliability]
    g.reliability = {
        "target": s.target_reliability, "level": s.level, "entity_noun": noun, "entities_total": total,
        **over_all,
        "over": f"all {len(with_n)} {noun} with at least one eligible {g.unit_label.rstrip('s')}"
                + (f" (of {total})" if len(with_n) != total else ""),
        "reportable": {**over_rep, "min_n": s.min_n},
        "reliable": len(reliable), "reliable_entities": [e.entity for e in reliable],
        "min_denominator_for_target": min_n,
        "values": [float(e.reliability or 0.0) for e in with_n],
    }
    if min_n is None:
        head = (f"No {one} can be scored reliably at any sample size: the "
                f"beta-binomial fit found no between-{one} variance, so "
                "differences are what chance alone would produce.")
    else:
        head = (f"{len(reliable)} of {total} {noun} can be scored reliably at this sample size: reliability "
                f"{s.target_reliability:g} needs a denominator of at least {min_n} {g.unit_label} "
                f"(from the fitted between-{one} variance, n = R(α+β)/(1−R)).")
        small = total - len(reliable)
        if small:
            head += f" The other {small} have fewer and are too small to judge."
    head += (f" Median reliability {over_all.get('median', 0.0):.2f} over {g.reliability['over']}"
             + (f"; {over_rep['median']:.2f} over the {over_rep['entities']} with n ≥ {s.min_n} (the ones reported)"
                if over_rep["entities"] else f"; none has n ≥ {s.min_n}") + ".")
    g.reliability["headline"] = head


def _variation(g: GroupVet, s: Settings) -> None:
    rep = [e for e in g.reportable() if e.rate is not None]
    if not rep or g.rate is None:
        return
    # the limits centre on the measure's overall rate (every denominator member), the benchmark a
    # program compares against, not on the pooled rate of the few entities large enough to plot
    p0 = g.rate
    plotted_rate = sum(e.x or 0 for e in rep) / sum(e.n for e in rep)
    od = var.overdispersion([e.x or 0 for e in rep], [e.n for e in rep], p0)
    for e in rep:
        assert e.rate is not None
        e.funnel = _funnel_flag(e.rate, var.funnel_limits(p0, e.n))
        if od is not None and od.present:
            lo95, hi95 = var.random_effects_limits(p0, e.n, od.tau2, 0.95)
            lo998, hi998 = var.random_effects_limits(p0, e.n, od.tau2, 0.998)
            e.funnel_overdispersed = _funnel_flag(e.rate, var.FunnelLimits(e.n, lo95, hi95, lo998, hi998))
    for n in _curve_ns(max(e.n for e in rep)):
        lim = var.funnel_limits(p0, n)
        point = {"n": n, "lower95": lim.lower95, "upper95": lim.upper95, "lower998": lim.lower998, "upper998": lim.upper998}
        if od is not None and od.present:
            point["re_lower95"], point["re_upper95"] = var.random_effects_limits(p0, n, od.tau2, 0.95)
            point["re_lower998"], point["re_upper998"] = var.random_effects_limits(p0, n, od.tau2, 0.998)
        g.funnel_curve.append(point)
    rates = [e.rate for e in rep if e.rate is not None]
    to = var.topped_out(rates, g.higher_is_better)
    g.variation = {
        "entities": len(rep), "entities_total": len(g.entities), "min_n": s.min_n,
        "target": p0, "target_x": g.x, "target_n": g.n, "plotted_rate": plotted_rate,
        "percentiles": var.percentiles(rates), "iqr": var.iqr(rates),
        "range": [min(rates), max(rates)],
        "outside_95": sum(1 for e in rep if e.funnel in ("above 95%", "below 95%", "above 99.8%", "below 99.8%")),
        "outside_998": sum(1 for e in rep if e.funnel in ("above 99.8%", "below 99.8%")),
        "overdispersion": None if od is None else {"phi": od.phi, "p_value": od.p_value, "tau2": od.tau2,
                                                   "present": od.present},
        "topped_out": None if to is None else {**asdict(to), "topped_out": to.topped_out},
    }


def _risk(g: GroupVet, attributed: list[Unit], collected: Collected, s: Settings) -> None:
    rows = [(u, collected.features[u.patient_id].as_dict()) for u in attributed if u.patient_id in collected.features]
    y = np.array([int(u.numerator) for u, _ in rows])
    if len(rows) < MIN_RISK_UNITS or y.sum() == 0 or y.sum() == len(y):
        g.notes.append(f"risk adjustment skipped: it needs at least {MIN_RISK_UNITS} attributed denominator members "
                       "with both outcomes")
        return
    feats = [f for _, f in rows]
    design = Design.build(feats, RISK_NUMERIC, RISK_CATEGORICAL)
    X, names = drop_collinear(design.matrix(feats), design.names)
    removed = design.note_collinear(names)
    fit = fit_logistic(X, y, names)
    p = fit.predict(X)
    cal = calibration(y, p)
    overall = float(y.mean())
    expected: dict[str, float] = {}
    for (u, _), pi in zip(rows, p):
        expected[str(u.entity)] = expected.get(str(u.entity), 0.0) + float(pi)
    observed = Counter(str(u.entity) for u, _ in rows if u.numerator)
    for e in g.entities:
        if e.suppressed or e.entity not in expected:
            continue
        er = entity_risk(observed[e.entity], expected[e.entity], overall, s.level)
        e.expected, e.oe, e.oe_lower, e.oe_upper = er.expected, er.oe, er.oe_lower, er.oe_upper
        e.rsr, e.rsr_lower, e.rsr_upper = er.rsr, er.rsr_lower, er.rsr_upper
    in_model = list(dict.fromkeys(design.covariate_of(t) for t in fit.names if t != "intercept"))
    g.risk = {
        "n": len(rows), "covariates": in_model, "candidates": [*RISK_NUMERIC, *RISK_CATEGORICAL],
        "dropped": [{"covariate": c, "reason": design.dropped[c]} for c in (*RISK_NUMERIC, *RISK_CATEGORICAL)
                    if c in design.dropped],
        "merged_levels": design.merged, "collinear_terms_removed": removed,
        "illness_covariate": any(t.startswith(f"{c}=") and not t.endswith(("=" + NO_ICD, "=no_icd_data"))
                                 for t in fit.names for c in ILLNESS_COVARIATES),
        "references": {c: r for c, r in design.reference.items() if c in in_model}, "terms": odds_ratios(fit, s.level),
        "converged": fit.converged, "iterations": fit.iterations, "separation": fit.separation,
        "log_likelihood": fit.log_likelihood, "c_statistic": c_statistic(y, p),
        "calibration": {"bins": [asdict(b) for b in cal.bins], "hosmer_lemeshow": cal.hosmer_lemeshow,
                        "df": cal.df, "p_value": cal.p_value},
        "overall_rate": overall,
    }
    if fit.separation:
        g.notes.append("the risk model separates some covariate patterns perfectly: their coefficients are "
                       "unstable; consider fewer covariates for this measure")

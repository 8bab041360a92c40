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
from .risk import (
    Design,
    c_statistic,
    calibration,
    drop_collinear,
    entity_risk,
    fit_logistic,
    odds_ratios,
)
from .strata import stratify

RISK_NUMERIC = ("age",)
RISK_CATEGORICAL = ("sex", "pmca", "payer")
MIN_RISK_UNITS = 30


@dataclass(frozen=True)
class Settings:
    min_n: int = 30
    level: float = 0.95
    interval: Method = "wilson"
    target_reliability: float = 0.7
    split_half_splits: int = 200
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
                  flow: Counter[str], settings: Settings) -> GroupVet:
    g = GroupVet(gdef.index, gdef.id, gdef.scoring, gdef.basis, gdef.improvement,
                 {code: n for code, n in flow.items() if gdef.population(code) is not None})
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
    reportable = [e for e in with_n if not e.suppressed]
    pool = reportable or with_n
    rs = np.array([e.reliability or 0.0 for e in pool])
    g.reliability = {
        "target": s.target_reliability,
        "entities": len(pool),
        "over": "entities at or above the minimum n" if reportable
        else "all entities with a denominator (none reached the minimum n)",
        "mean": float(rs.mean()), "median": float(np.median(rs)),
        "p25": float(np.percentile(rs, 25)), "p75": float(np.percentile(rs, 75)),
        "min": float(rs.min()), "max": float(rs.max()),
        "share_reaching_target": float(np.mean(rs >= s.target_reliability)),
        "min_denominator_for_target": rel.min_denominator(fit, s.target_reliability),
        "values": [float(v) for v in rs],
    }
    outcomes: dict[str, list[int]] = {}
    for u in attributed:
        outcomes.setdefault(str(u.entity), []).append(int(u.numerator))
    sh_half = rel.split_half(outcomes, s.split_half_splits, s.seed)
    if sh_half is not None:
        mean_n = float(np.mean([len(v) for v in outcomes.values() if len(v) >= 2]))
        g.split_half = {"half_correlation": sh_half.half_correlation, "spearman_brown": sh_half.reliability,
                        "entities": sh_half.n_entities, "splits": sh_half.n_splits, "mean_n": mean_n,
                        "beta_binomial_at_mean_n": rel.entity_reliability(fit, mean_n)}


def _variation(g: GroupVet, s: Settings) -> None:
    rep = [e for e in g.reportable() if e.rate is not None]
    if not rep or g.rate is None:
        return
    p0 = sum(e.x or 0 for e in rep) / sum(e.n for e in rep)
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
        "entities": len(rep), "target": p0, "percentiles": var.percentiles(rates), "iqr": var.iqr(rates),
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
    g.risk = {
        "n": len(rows), "covariates": design.numeric + design.categorical,
        "references": design.reference, "terms": odds_ratios(fit, s.level),
        "converged": fit.converged, "iterations": fit.iterations, "separation": fit.separation,
        "log_likelihood": fit.log_likelihood, "c_statistic": c_statistic(y, p),
        "calibration": {"bins": [asdict(b) for b in cal.bins], "hosmer_lemeshow": cal.hosmer_lemeshow,
                        "df": cal.df, "p_value": cal.p_value},
        "overall_rate": overall,
    }
    if fit.separation:
        g.notes.append("the risk model separates some covariate patterns perfectly: their coefficients are "
                       "unstable; consider fewer covariates for this measure")

"""The vetting report as one self-contained HTML file: text, tables, inline SVG plots, methods.

Nothing is fetched when the file is opened (no scripts, fonts or images from elsewhere), so it
can be mailed to a measure committee and read on a laptop offline.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from html import escape
from typing import TYPE_CHECKING, Any

from ..measure.definition import POPULATION_ORDER
from . import svg_plots
from .analysis import GroupVet
from .strata import DIMENSIONS

if TYPE_CHECKING:
    from .api import VetResult

_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;color:#222;background:#fafafa;line-height:1.45}
main{max-width:1020px;margin:0 auto;padding:24px 28px 60px;background:#fff}
h1{font-size:1.6em;margin:.2em 0}h2{border-bottom:2px solid #4c72b0;padding-bottom:4px;margin-top:2em}
h3{margin-top:1.6em}table{border-collapse:collapse;margin:.6em 0 1em;font-size:.9em}
th,td{border:1px solid #ddd;padding:3px 8px;text-align:right;vertical-align:top}td{white-space:nowrap}td.l,td.w{white-space:normal;text-align:left}.scroll table{font-size:.85em}th{background:#f0f3f8}
td.l,th.l{text-align:left}.muted{color:#777}.note{background:#fff8e1;border-left:4px solid #f0b400;padding:6px 10px;margin:.6em 0}
.answer{background:#eef4fb;border-left:4px solid #4c72b0;padding:8px 12px;margin:.6em 0}
figure{margin:1em 0}figcaption{font-size:.88em;color:#555;max-width:640px}
svg.plot{display:block;max-width:100%;height:auto;font-size:11px}svg .tick{fill:#444;font-size:11px}
svg .axis{fill:#222;font-size:12px}svg .dim{fill:#222;font-size:12px;font-weight:600}
.scroll{max-height:520px;overflow:auto}code,.formula{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:.92em}
.formula{display:block;background:#f6f6f6;padding:6px 10px;margin:.4em 0;white-space:pre-wrap}
nav a{margin-right:1em}
@media print{
body{background:#fff;font-size:9pt}main{max-width:none;padding:0}nav{display:none}
.scroll{max-height:none;overflow:visible}.scroll table{font-size:7pt}.scroll td:first-child{min-width:8em}
table{width:100%;table-layout:auto}th,td{padding:1px 3px}td.l,td.w{overflow-wrap:anywhere}
thead{display:table-header-group}tr,figure,.answer,.note{break-inside:avoid}h2,h3{break-after:avoid}
svg.plot{max-width:100%}
}
"""


def _pct(v: float | None, digits: int = 1) -> str:
    return "" if v is None else f"{100 * v:.{digits}f}%"


def _num(v: float | None, digits: int = 2) -> str:
    return "" if v is None else f"{v:.{digits}f}"


def _table(headers: Sequence[str], rows: Iterable[Sequence[Any]], left: int = 1, cls: str = "") -> str:
    head = "".join(f'<th class="{"l" if i < left else ""}">{escape(h)}</th>' for i, h in enumerate(headers))
    body = []
    for row in rows:
        cells = "".join(f'<td class="{"l" if i < left else "w" if len(str(c)) > 30 else ""}">'
                        f'{c if isinstance(c, _Raw) else escape(str(c))}</td>' for i, c in enumerate(row))
        body.append(f"<tr>{cells}</tr>")
    table = f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"
    return f'<div class="{cls}">{table}</div>' if cls else table


class _Raw(str):
    """HTML that a table cell should not escape."""


def _interval(lo: float | None, hi: float | None, pct: bool = True) -> str:
    if lo is None or hi is None:
        return ""
    return f"{_pct(lo)} to {_pct(hi)}" if pct else f"{lo:.2f} to {hi:.2f}"


def render_html(result: VetResult) -> str:
    title = f"Measure vetting: {result.measure.get('title')}"
    parts = [f"<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">"
             f"<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
             f"<title>{escape(title)}</title><style>{_CSS}</style></head><body><main>"]
    parts.append(f"<h1>{escape(title)}</h1>")
    parts.append(_header(result))
    nav = " ".join(f'<a href="#group-{g.index + 1}">Group {g.index + 1}</a>' for g in result.groups)
    parts.append(f"<nav>{nav} <a href=\"#diagnostics\">Data diagnostics</a> <a href=\"#methods\">Methods</a></nav>")
    for g in result.groups:
        parts.append(_group(result, g))
    parts.append(_diagnostics(result))
    parts.append(_methods(result))
    parts.append("</main></body></html>")
    return "".join(parts)


def _header(r: VetResult) -> str:
    m = r.measure
    methods = ", ".join(f"{k}: {v}" for k, v in sorted(r.attribution["methods"].items(), key=lambda kv: -kv[1]))
    s = r.settings
    rows = [
        ("Measure", f"{m.get('title')} ({m.get('url') or m.get('name')}{' v' + m['version'] if m.get('version') else ''})"),
        ("Measurement period", f"{r.period[0]} to {r.period[1]}"),
        ("Data", f"{r.data}: {r.patients} patients evaluated"
         + (f", {len(r.errors)} could not be evaluated" if r.errors else "")),
        ("Attribution", f"{r.attribution['rule']}. {r.attribution['entities']} entities. Patients by rule: {methods or 'none'}"),
        ("Settings", f"minimum n {s.min_n}; {s.interval} intervals at {s.level:.0%}; target reliability {s.target_reliability}"),
        ("Generated", r.generated),
    ]
    return _table(["", ""], rows, left=2)


def _answers(g: GroupVet) -> str:
    out = []
    rel = g.reliability
    if rel:
        out.append(f"<b>Can {escape(g.entity_noun)} be scored reliably?</b> {escape(rel['headline'])}")
    if g.variation:
        v = g.variation
        to = v.get("topped_out") or {}
        base = (f"the {v['entities']} of {v['entities_total']} {escape(g.entity_noun)} with n ≥ {v['min_n']}"
                + (f" (the other {v['entities_total'] - v['entities']} are too small to judge)"
                   if v['entities_total'] > v['entities'] else ""))
        out.append(f"<b>Is there variation?</b> Over {base}: rates {_pct(v['range'][0])} to {_pct(v['range'][1])}, "
                   f"interquartile range {_pct(v['iqr'])}; {v['outside_998']} of {v['entities']} outside the 99.8% "
                   f"funnel limits around the overall rate {_pct(v['target'])}. "
                   f"{'Topped out' if to.get('topped_out') else 'Not topped out'} by the tests on these {v['entities']}.")
    chronic = [s for s in g.strata if s["dimension"] == "chronic" and s["level"] == "CCC" and s["difference"] is not None]
    if chronic:
        c = chronic[0]
        out.append(f"<b>Care for children with chronic conditions:</b> CCC minus no CCC found "
                   f"{_pct(c['difference'])} ({_interval(c['diff_lower'], c['diff_upper'])}).")
    elif any(s["dimension"] == "chronic" for s in g.strata):
        out.append("<b>Care for children with chronic conditions:</b> the CCC strata are too small to compare "
                   "(see the strata table).")
    if g.risk and g.risk.get("illness_covariate"):
        changed = sum(1 for e in g.entities if e.funnel in ("above 99.8%", "below 99.8%", "above 95%", "below 95%")
                      and e.oe_lower is not None and e.oe_upper is not None and e.oe_lower <= 1 <= e.oe_upper)
        out.append(f"<b>Fair to {escape(g.entity_noun)} with sicker children?</b> The risk model adjusts for "
                   f"{escape(', '.join(_COVARIATE_NAMES.get(c, c) for c in g.risk['covariates']))}; c-statistic "
                   f"{_num(g.risk['c_statistic'])}; {changed} entit{'y' if changed == 1 else 'ies'} outside the 95% "
                   f"funnel limits {'has' if changed == 1 else 'have'} an O/E interval that includes 1 after adjustment.")
    elif g.risk:
        why = next((d["reason"] for d in g.risk["dropped"] if d["covariate"] in ("pmca",)), None)
        out.append(f"<b>Fairness to {escape(g.entity_noun)} with sicker children is not assessed:</b> the risk model "
                   f"has no illness covariate (PMCA class: {escape(why) if why else 'not in the model'}); it "
                   f"adjusts for {escape(', '.join(_COVARIATE_NAMES.get(c, c) for c in g.risk['covariates']) or 'nothing')} only.")
    return "".join(f'<div class="answer">{a}</div>' for a in out)


_COVARIATE_NAMES = {"age": "age (years)", "sex": "sex", "pmca": "PMCA class", "payer": "payer"}


def _group(r: VetResult, g: GroupVet) -> str:
    gid = f" ({escape(g.id)})" if g.id else ""
    parts = [f'<section id="group-{g.index + 1}"><h2>Group {g.index + 1}{gid}</h2>']
    parts.append(f"<p>Scoring {escape(g.scoring)}; units are {escape(g.unit_label)}; "
                 f"{'higher' if g.higher_is_better else 'lower'} is better. Overall rate "
                 f"{_pct(g.rate)} ({_interval(g.lower, g.upper)}) from {g.x} of {g.n}"
                 + (f"; {g.unattributed} denominator members are not attributed to an entity" if g.unattributed else "")
                 + ".</p>")
    parts.append(_answers(g))
    for note in g.notes:
        parts.append(f'<div class="note">{escape(note)}</div>')
    parts.append("<h3>Population flow</h3>")
    parts.append(_table(["population", g.unit_label], [(c, g.flow[c]) for c in POPULATION_ORDER if c in g.flow]))
    if g.scoring != "proportion":
        return "".join(parts) + "</section>"
    parts.append(_entity_table(g, r.settings.min_n))
    parts.append(_reliability(g))
    parts.append(_variation(g))
    parts.append(_strata(g))
    parts.append(_risk(g))
    parts.append("</section>")
    return "".join(parts)


def _entity_table(g: GroupVet, min_n: int) -> str:
    rows = []
    for e in g.entities:
        rows.append((e.name if e.name == e.entity else _Raw(f"{escape(e.name)} <span class=muted>{escape(e.entity)}</span>"),
                     e.patients, e.n, "" if e.x is None else e.x,
                     "suppressed" if e.suppressed and e.n else _pct(e.rate), _interval(e.lower, e.upper),
                     _num(e.reliability), "not estimable" if e.n and e.reliability_plugin is None
                     else _num(e.reliability_plugin), _pct(e.shrunken),
                     _interval(e.shrunken_lower, e.shrunken_upper), e.funnel or "",
                     _num(e.oe), _interval(e.oe_lower, e.oe_upper, pct=False), _pct(e.rsr)))
    headers = ["entity", "patients", "n", "x", "rate", "interval", "reliability", "reliability (entity's noise)",
               "shrunken", "shrunken interval", "funnel", "O/E", "O/E interval", "risk-std rate"]
    return (f"<h3>Entities</h3><p class=muted>n is the denominator after exclusions and exceptions; entities with "
            f"n &lt; {min_n} are suppressed (n and reliability only).</p>" + _table(headers, rows, cls="scroll"))


def _reliability(g: GroupVet) -> str:
    rel = g.reliability
    if not rel or not g.beta_binomial:
        return "<h3>Reliability</h3><p>Not estimated (see notes).</p>"
    bb = g.beta_binomial
    rep = rel["reportable"]
    noun = escape(g.entity_noun)
    need = rel["min_denominator_for_target"]
    need_ci = rel.get("min_denominator_interval")
    need_text = "none (no between-entity variance)" if need is None else str(need)
    if need is not None and need_ci:
        need_text += (f" ({rel['level']:.0%} bootstrap interval {_num(need_ci[0], 0)} to "
                      f"{'no n (some resamples find no between-entity variance)' if need_ci[1] is None else 'over 10,000' if need_ci[1] > 10000 else _num(need_ci[1], 0)})")
    rows: list[tuple[str, Any]] = [
        ("alpha", _num(bb["alpha"], 3)), ("beta", _num(bb["beta"], 3)), ("mean rate", _pct(bb["mean"])),
        ("between-entity variance (sd)", f"{bb['between_variance']:.5f} ({_pct(bb['between_sd'])})"),
        ("entities in the fit", f"{bb['entities']} of {rel['entities_total']} (those with n > 0)"),
        (f"minimum n for reliability {rel['target']:g}", need_text),
        (f"{noun} reaching {rel['target']:g}", f"{rel['reliable']} of {rel['entities_total']}"),
        (f"reliability: median (IQR) over {rel['over']}",
         f"{rel['median']:.2f} ({rel['p25']:.2f} to {rel['p75']:.2f})"),
    ]
    if rep["entities"]:
        rows.append((f"reliability: median (IQR) over the {rep['entities']} {noun} with n ≥ {rep['min_n']} "
                     f"(of {rel['entities_total']})", f"{rep['median']:.2f} ({rep['p25']:.2f} to {rep['p75']:.2f}); "
                     f"{rep['reaching_target']} of {rep['entities']} reach {rel['target']:g}"))
    else:
        rows.append((f"{noun} with n ≥ {rep['min_n']}", f"none of {rel['entities_total']}"))
    parts = ["<h3>Reliability</h3>", f'<div class="answer">{escape(rel["headline"])}</div>',
             _table(["beta-binomial fit", "value"], rows)]
    parts.append(f'<figure>{svg_plots.histogram(rel["values"], rel["target"])}'
                 f"<figcaption>Reliability of {escape(rel['over'])} (beta-binomial signal-to-noise, "
                 f"n / (n + α + β)); the dashed line is the target.</figcaption></figure>")
    if g.split_half:
        sh = g.split_half
        lvl = f"{sh['level']:.0%}"
        parts.append(f"<p>Split-half: random halves of each entity's {escape(g.unit_label)} correlate "
                     f"r = {sh['half_correlation']:.3f} (mean of {sh['splits']} splits over {sh['entities']} entities "
                     f"with n ≥ 2); Spearman-Brown reliability {sh['spearman_brown']:.2f} "
                     f"({lvl} bootstrap interval {_ci(sh['interval'])}), against {sh['beta_binomial_at_mean_n']:.2f} "
                     f"({_ci(sh['beta_binomial_interval'])}) from the beta-binomial model at their mean n of "
                     f"{sh['mean_n']:.1f}. Intervals: {sh['bootstrap_replicates']} bootstrap resamples of entities "
                     f"(seeded).</p>")
        parts.append(f'<div class="note">{escape(sh["verdict"][0].upper() + sh["verdict"][1:].rstrip("."))}.</div>')
    return "".join(parts)


def _ci(pair: list[float | None] | None) -> str:
    if not pair or pair[0] is None:
        return "not estimable"
    return f"{pair[0]:.2f} to {'1' if pair[1] is None else format(pair[1], '.2f')}"


def _variation(g: GroupVet) -> str:
    if not g.variation:
        return "<h3>Variation</h3><p>No entity reached the minimum n.</p>"
    v = g.variation
    rep = g.reportable()
    points = [{"n": e.n, "rate": e.rate, "label": e.name, "flag": e.funnel} for e in rep if e.rate is not None]
    parts = ["<h3>Variation</h3>"]
    noun = escape(g.entity_noun)
    base = f"the {v['entities']} of {v['entities_total']} {noun} with n ≥ {v['min_n']}"
    parts.append(f'<figure>{svg_plots.funnel_plot(points, g.funnel_curve, v["target"])}<figcaption>Funnel plot of '
                 f"{base} (the rest are too small to plot): each one's rate against its denominator. The solid line "
                 f"is the overall rate {_pct(v['target'])} ({v['target_x']} of {v['target_n']} {escape(g.unit_label)} "
                 f"in the denominator, all {noun}); the plotted {noun} together have "
                 f"{_pct(v['plotted_rate'])}. Dashed orange: the 95% and red: the 99.8% exact binomial limits around "
                 "the overall rate"
                 + ("; dotted purple the over-dispersion-adjusted limits" if (v.get("overdispersion") or {}).get("present")
                    else "") + ".</figcaption></figure>")
    pct = v["percentiles"]
    to = v.get("topped_out") or {}
    od = v.get("overdispersion") or {}
    rows = [(k.upper().replace("P", "P"), _pct(val)) for k, val in pct.items()]
    rows += [("interquartile range", _pct(v["iqr"])), ("outside 95% limits", v["outside_95"]),
             ("outside 99.8% limits", v["outside_998"])]
    if od:
        rows.append(("over-dispersion phi (p)", f"{od['phi']:.2f} (p = {od['p_value']:.3g})"))
    if to:
        rows += [("P90 - P75 vs 2 SE", f"{_pct(to['p90'] - to['p75'])} vs {_pct(2 * to['standard_error'])}"),
                 ("truncated CV", _num(to["truncated_cv"], 3)), ("median >= 95%", "yes" if to["median_at_least_95"] else "no"),
                 ("topped out", "yes" if to["topped_out"] else "no")]
    parts.append(_table([f"statistic over {base}", "value"], rows))
    cat = [{"label": e.name, "estimate": e.shrunken, "lower": e.shrunken_lower, "upper": e.shrunken_upper}
           for e in rep if e.shrunken is not None]
    if cat:
        overall = g.beta_binomial["mean"] if g.beta_binomial else v["target"]
        parts.append(f'<figure>{svg_plots.caterpillar_plot(cat, overall, axis_label="shrunken rate (95% interval)", entity_label=g.entity_noun)}'
                     f"<figcaption>Empirical-Bayes shrunken rates of {base}, with 95% posterior intervals, ranked "
                     f"from lowest to highest and named on the horizontal axis; the dashed line is the beta-binomial "
                     f"mean {_pct(overall)}. {noun.capitalize()} whose intervals overlap cannot be ranked apart."
                     f"</figcaption></figure>")
    return "".join(parts)


def _strata(g: GroupVet) -> str:
    if not g.strata and not g.strata_not_shown:
        return ""
    rows = [{**s, "title": DIMENSIONS.get(s["dimension"], (s["dimension"],))[0]} for s in g.strata]
    parts = ["<h3>Strata</h3>"]
    if g.strata_not_shown:
        parts.append("<p class=muted>Not compared (one level only): " + "; ".join(
            f"{escape(d['title'])}: all {d['n']} are {escape(d['level'])}" for d in g.strata_not_shown) + ".</p>")
    if not rows:
        return "".join(parts)
    if any(not s["suppressed"] for s in rows):
        parts.append(f'<figure>{svg_plots.strata_plot(rows, g.rate)}<figcaption>Rates by stratum with 95% '
                     f"intervals; the dashed line is the overall rate; suppressed strata are not drawn."
                     f"</figcaption></figure>")
    table = [(DIMENSIONS.get(s["dimension"], (s["dimension"],))[0], s["level"] + (" (reference)" if s["reference"] else ""),
              s["n"], "" if s["x"] is None else s["x"], "suppressed" if s["suppressed"] else _pct(s["rate"]),
              _interval(s["lower"], s["upper"]), _pct(s["difference"]), _interval(s["diff_lower"], s["diff_upper"]))
             for s in rows]
    parts.append(_table(["stratifier", "stratum", "n", "x", "rate", "interval", "difference", "difference interval"],
                        table, left=2))
    return "".join(parts)


def _risk(g: GroupVet) -> str:
    if not g.risk:
        return "<h3>Risk adjustment</h3><p>Not fitted (see notes).</p>"
    rk = g.risk
    parts = ["<h3>Risk adjustment</h3>", f"<p>{escape(risk_model_text(rk))} c-statistic {_num(rk['c_statistic'], 3)}; "
             + ("converged" if rk["converged"] else "did not converge") + f" in {rk['iterations']} iterations.</p>"]
    parts.append(_table(["term", "coefficient", "SE", "odds ratio", "95% interval"],
                        [(t["term"], _num(t["coef"], 3), _num(t["se"], 3), _num(t["odds_ratio"], 2),
                          _interval(t["or_lower"], t["or_upper"], pct=False)) for t in rk["terms"]]))
    cal = rk["calibration"]
    if cal["bins"]:
        parts.append(f'<figure>{svg_plots.calibration_plot(cal["bins"])}<figcaption>Calibration: observed rate '
                     f"against mean predicted probability in groups of predicted risk. Hosmer-Lemeshow "
                     f"{_num(cal['hosmer_lemeshow'])} on {cal['df']} df, p = "
                     f"{'' if cal['p_value'] is None else format(cal['p_value'], '.3g')}.</figcaption></figure>")
    return "".join(parts)


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


def risk_model_text(rk: dict[str, Any]) -> str:
    """The model's description, written from the fitted model's terms and the design's record of
    what was dropped and why: never a list of covariates the model was meant to have."""
    covs = [_COVARIATE_NAMES.get(c, c) for c in rk["covariates"]]
    refs = "; ".join(f"{_COVARIATE_NAMES.get(k, k)}: {v}" for k, v in rk["references"].items())
    text = (f"Logistic model of the numerator on {', '.join(covs) or 'an intercept only'} over {rk['n']} attributed "
            f"denominator members" + (f" (reference levels: {refs})" if refs else "") + ".")
    for d in rk.get("dropped", []):
        text += f" {_cap(_COVARIATE_NAMES.get(d['covariate'], d['covariate']))} is not in the model: {d['reason']}."
    for cov, small in (rk.get("merged_levels") or {}).items():
        text += (f" {_cap(_COVARIATE_NAMES.get(cov, cov))} levels with fewer than 10 members are counted with "
                 f"the reference level: " + ", ".join(f"{k} ({n})" for k, n in small.items()) + ".")
    return text


def _diagnostics(r: VetResult) -> str:
    parts = ['<section id="diagnostics"><h2>Data diagnostics</h2>']
    for g in r.groups:
        parts.append(f"<h3>Population flow, group {g.index + 1}</h3>")
        ipp = g.flow.get("initial-population", 0)
        parts.append(_table(["population", g.unit_label, "share of initial population"],
                            [(c, g.flow[c], _pct(g.flow[c] / ipp) if ipp else "") for c in POPULATION_ORDER if c in g.flow]))
    parts.append("<h3>Patient-level elements</h3><p class=muted>Over the denominator's patients.</p>")
    parts.append(_table(["element", "patients", "present", "share"],
                        [(e["element"], e["patients"], e["present"], _pct(e["share"])) for e in r.patient_elements]))
    parts.append("<h3>Data elements the measure retrieves</h3><p class=muted>Each retrieve in the measure's CQL: "
                 "the share of patients with at least one matching resource (of all evaluated and of those in an "
                 "initial population), and how many matched resources carry a date and a status.</p>")
    parts.append(_table(["element", "patients", "found", "found (IP)", "resources", "with date", "with status"],
                        [(e["element"], e["patients_evaluated"], _pct(e["found_share"]), _pct(e["ip_found_share"]),
                          e["resources"], _pct(e["date_complete"]), _pct(e["status_complete"])) for e in r.elements],
                        cls="scroll"))
    parts.append("<h3>Value-set hit rates</h3><p class=muted>Of the resources of each type in the evaluated "
                 "patients' records, the share matched by at least one of the measure's value sets or codes. Most "
                 "resources of a type have nothing to do with any one measure (a cold is a Condition too), so the "
                 "rate is not a completeness score. A value set marked <i>exclusions only</i> feeds only denominator "
                 "exclusions or exceptions (or numerator exclusions): it matches only children who are taken out, "
                 "and 0% is expected when none is. The most frequent unmatched codes show where local coding may "
                 "miss the value sets the measure needs.</p>")
    parts.append(_table(["resource type", "resources", "matched", "hit rate", "value sets (used in)",
                         "what the rate means", "most frequent unmatched codes"],
                        [(t["resource_type"], t["resources"], t["matched"], _pct(t["hit_rate"]),
                          "; ".join(f"{v['name']} ({'exclusions only' if v['exclusion_only'] else ', '.join(v['roles']) or 'strata or supplemental data'})"
                                    for v in t.get("value_sets", [])),
                          t.get("meaning", ""),
                          "; ".join(f"{c['code']} ({c['resources']})" for c in t["top_unmatched_codes"]))
                         for t in r.value_set_hits], cls="scroll"))
    parts.append(_clause_coverage(r.clause_coverage))
    if r.errors:
        parts.append(f"<h3>Patients not evaluated ({len(r.errors)})</h3>")
        parts.append(_table(["patient", "error"], r.errors[:50], left=2))
    if r.source_issues:
        parts.append(f"<h3>Resources skipped while reading ({len(r.source_issues)})</h3><ul>"
                     + "".join(f"<li>{escape(i)}</li>" for i in r.source_issues[:50]) + "</ul>")
    parts.append("</section>")
    return "".join(parts)


def _clause_coverage(cov: dict[str, Any]) -> str:
    """The measure's logic over this population: definitions' true rates, clauses that never fired
    (dead or mis-coded logic, or data that lacks what they look for), value sets that matched nothing."""
    if not cov:
        return ""
    parts = [f"<h3>Logic that fired</h3><p class=muted>{cov['covered']} of {cov['clauses']} clauses of the measure's "
             "CQL were true for at least one patient. Each definition: the patients for whom it was true, of those "
             "whose populations it decides (a Numerator is not counted for children outside the Denominator).</p>"]
    parts.append(_table(["definition", "true", "counted", "share"],
                        [(f"{d['library']}.{d['name']}", d["true"], d["counted"], _pct(d["true"] / d["counted"]) if d["counted"] else "")
                         for d in cov["definitions"]], cls="scroll"))
    if cov["unmatched_value_sets"]:
        parts.append("<h3>Value sets that matched nothing</h3><p class=muted>No retrieve or membership test using them "
                     "found anything in these patients: a mis-coded value set, or local codes it does not list.</p>")
        parts.append(_table(["library", "value set", "CQL lines"],
                            [(v["library"], v["value_set"], ", ".join(map(str, v["lines"]))) for v in cov["unmatched_value_sets"]]))
    if cov["never_fired"]:
        parts.append(f"<h3>Clauses that never fired ({cov['never_fired_total']})</h3>")
        parts.append(_table(["library", "line", "clause", "why"],
                            [(c["library"], f"{c['line']}:{c['column']}", c["text"],
                              {"FALSE": f"false for all {c['evaluated_for']} patients it was evaluated for",
                               "UNHIT": "never evaluated", "NA": "its populations never applied"}[c["status"]])
                             for c in cov["never_fired"]], left=3, cls="scroll"))
    return "".join(parts)


def _methods(r: VetResult) -> str:
    s = r.settings
    risk = " ".join(f"group {g.index + 1}: {escape(risk_model_text(g.risk))}" if g.risk
                    else f"group {g.index + 1}: not fitted." for g in r.groups)
    return f"""<section id="methods"><h2>Methods</h2>
<h3>Attribution</h3><p>{escape(r.attribution['rule'])}. Each patient is attributed to one entity; members of a
group's denominator without an entity are counted but not compared.</p>
<h3>Rates and intervals</h3><p>An entity's rate is x/n, n the denominator after exclusions and exceptions, x the
numerator after numerator exclusions. Intervals at {s.level:.0%} ({escape(s.interval)} shown):</p>
<span class="formula">Wilson: (p + z²/2n ± z·√(p(1−p)/n + z²/4n²)) / (1 + z²/n)
Jeffreys: quantiles α/2 and 1−α/2 of Beta(x + ½, n − x + ½); 0 when x = 0, 1 when x = n
Clopper-Pearson: Beta(x, n − x + 1) quantile α/2 to Beta(x + 1, n − x) quantile 1 − α/2</span>
<p>Entities with n &lt; {s.min_n} are suppressed: their rates, shrunken rates and O/E are not shown, and they
are left out of the funnel plot, percentiles and topped-out tests, but they enter the beta-binomial fit.</p>
<h3>Reliability (signal-to-noise)</h3><p>True entity rates follow Beta(α, β); numerators are binomial given them.
α and β maximise the beta-binomial likelihood over entities with n &gt; 0.</p>
<span class="formula">between-entity variance σ²_b = αβ / ((α+β)²(α+β+1))
within-entity variance σ²_w,j = μ(1−μ)(α+β) / ((α+β+1) n_j),  μ = α/(α+β)
reliability R_j = σ²_b / (σ²_b + σ²_w,j) = n_j / (n_j + α + β)
Adams' plug-in form (column "entity's noise"): σ²_b / (σ²_b + p̃_j(1−p̃_j)/n_j), p̃_j the shrunken rate
  (the raw rate would give noise 0 and reliability 1 at 0/n or n/n, e.g. for every entity with n = 1)
minimum n for target R*: n ≥ R*(α+β) / (1 − R*)
split-half: r = mean correlation of random halves' rates; Spearman-Brown R = 2r / (1 + r)
intervals: percentiles of {s.bootstrap_replicates} bootstrap resamples of entities (seed {s.seed}); the two
  methods disagree when the interval of their paired difference excludes 0
shrunken rate: posterior mean (α + x_j)/(α + β + n_j), interval from Beta(α + x_j, β + n_j − x_j)</span>
<h3>Variation</h3><p>Funnel limits around the overall rate p₀ (every denominator member, not only the plotted
entities) are exact binomial quantiles, interpolated between
integer counts (Spiegelhalter 2005). Over-dispersion: z-scores winsorised at the 10th/90th percentiles,
φ = mean z²; when φ·k exceeds the χ²(k−1) 95% point, τ² = (kφ − (k−1)) / (Σw − Σw²/Σw), w = 1/s², and limits
p₀ ± z·√(p₀(1−p₀)/n + τ²) are drawn. Percentiles are of entity rates (linear interpolation). Topped out: the 75th
and 90th percentiles within two standard errors (SD of entity performance/√k) and truncated coefficient of
variation (5% trimmed each side) ≤ 0.10, as CMS hospital programs define it; or a median ≥ 95%, as MIPS does.</p>
<h3>Strata</h3><p>Chronic-condition status from pedqm's chronic layer (CCC v3 and PMCA over ICD-coded data in the
look-back window ending at the period end; a child with no ICD-coded data there is "Unknown", never "no CCC"), age at the period end, Patient.gender, US Core race and ethnicity
OMB categories, payer from Coverage active in the period (Medicaid/CHIP when any). Differences from the reference
stratum use Newcombe's hybrid score interval (method 10). Strata with n &lt; {s.min_n} are suppressed; a stratifier
with one level only is listed, not compared.</p>
<h3>Risk adjustment</h3><p>Logistic regression fitted by iteratively reweighted least squares. Candidate
covariates: age (years), sex, PMCA class and payer; a covariate enters only if it varies, categorical levels with
fewer than 10 members join the most common level, and a column that adds no rank is dropped. The fitted models:
{risk}</p><p>Expected counts are
sums of predicted probabilities; O/E intervals are exact Poisson (Garwood) intervals for O divided by E; the
risk-standardised rate is (O/E) times the overall rate (indirect standardisation). Discrimination is the
c-statistic (area under the ROC curve); calibration compares observed and expected counts in ten groups of
predicted risk (Hosmer-Lemeshow, groups − 2 df). The model is fitted in-sample, so calibration-in-the-large is
exact by construction.</p>
<h3>References</h3><ul>
<li>Adams JL. The Reliability of Provider Profiling: A Tutorial. RAND Corporation, TR-653-NCQA, 2009.</li>
<li>Wilson EB. Probable inference, the law of succession, and statistical inference. J Am Stat Assoc 1927;22:209-212.</li>
<li>Brown LD, Cai TT, DasGupta A. Interval estimation for a binomial proportion. Stat Sci 2001;16:101-133.</li>
<li>Clopper CJ, Pearson ES. The use of confidence or fiducial limits illustrated in the case of the binomial. Biometrika 1934;26:404-413.</li>
<li>Newcombe RG. Interval estimation for the difference between independent proportions: comparison of eleven methods. Stat Med 1998;17:873-890.</li>
<li>Spiegelhalter DJ. Funnel plots for comparing institutional performance. Stat Med 2005;24:1185-1202.</li>
<li>Spiegelhalter DJ. Handling over-dispersion of performance indicators. Qual Saf Health Care 2005;14:347-351.</li>
<li>Nieser KJ, Harris AHS. Comparing methods for assessing the reliability of health care quality measures. Stat Med 2024;43:4575-4594.</li>
<li>Hosmer DW, Lemeshow S. Goodness of fit tests for the multiple logistic regression model. Commun Stat 1980;9:1043-1069.</li>
<li>Garwood F. Fiducial limits for the Poisson distribution. Biometrika 1936;28:437-442.</li>
<li>Feinstein JA et al. Complex chronic conditions v3. JAMA Netw Open 2024; Simon TD et al. Pediatric Medical Complexity Algorithm. Pediatrics 2014;133:e1647.</li>
</ul></section>"""

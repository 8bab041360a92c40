"""The report's plots as inline SVG: no plotting library, no external files, crisp on any screen.

Each function returns one ``<svg class="plot" data-plot=...>`` element with axes, tick labels
and a ``<title>`` on every mark so hovering shows the entity and its numbers.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape
from typing import Any

_COLOURS = {"within": "#4c72b0", "above 95%": "#dd8452", "below 95%": "#dd8452",
            "above 99.8%": "#c44e52", "below 99.8%": "#c44e52"}


def _f(v: float) -> str:
    return f"{v:.1f}"


def _pct(v: float) -> str:
    return f"{100 * v:.0f}%"


def nice_ticks(lo: float, hi: float, count: int = 5) -> list[float]:
    """About `count` round tick values covering [lo, hi]."""
    if hi <= lo:
        return [lo]
    raw = (hi - lo) / count
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)
    first = math.ceil(lo / step - 1e-9) * step
    out = []
    v = first
    while v <= hi + 1e-9 * step:
        out.append(round(v, 10))
        v += step
    return out


@dataclass
class Axes:
    width: int
    height: int
    xlim: tuple[float, float]
    ylim: tuple[float, float]
    left: int = 60
    right: int = 20
    top: int = 20
    bottom: int = 45

    def x(self, v: float) -> float:
        lo, hi = self.xlim
        return self.left + (v - lo) / ((hi - lo) or 1) * (self.width - self.left - self.right)

    def y(self, v: float) -> float:
        lo, hi = self.ylim
        return self.height - self.bottom - (v - lo) / ((hi - lo) or 1) * (self.height - self.top - self.bottom)

    def frame(self, xlabel: str, ylabel: str, xfmt: Any = None, yfmt: Any = None,
              xticks: Sequence[float] | None = None, yticks: Sequence[float] | None = None) -> list[str]:
        xfmt = xfmt or (lambda v: f"{v:g}")
        yfmt = yfmt or (lambda v: f"{v:g}")
        parts = [f'<rect x="{self.left}" y="{self.top}" width="{self.width - self.left - self.right}" '
                 f'height="{self.height - self.top - self.bottom}" fill="#fff" stroke="#999"/>']
        for t in yticks if yticks is not None else nice_ticks(*self.ylim):
            y = self.y(t)
            parts.append(f'<line x1="{self.left}" x2="{self.width - self.right}" y1="{_f(y)}" y2="{_f(y)}" stroke="#eee"/>')
            parts.append(f'<text x="{self.left - 6}" y="{_f(y + 4)}" text-anchor="end" class="tick">{escape(yfmt(t))}</text>')
        for t in xticks if xticks is not None else nice_ticks(*self.xlim):
            x = self.x(t)
            parts.append(f'<line x1="{_f(x)}" x2="{_f(x)}" y1="{self.height - self.bottom}" '
                         f'y2="{self.height - self.bottom + 4}" stroke="#999"/>')
            parts.append(f'<text x="{_f(x)}" y="{self.height - self.bottom + 17}" text-anchor="middle" '
                         f'class="tick">{escape(xfmt(t))}</text>')
        parts.append(f'<text x="{(self.left + self.width - self.right) / 2:.1f}" y="{self.height - 6}" '
                     f'text-anchor="middle" class="axis">{escape(xlabel)}</text>')
        cy = (self.top + self.height - self.bottom) / 2
        parts.append(f'<text x="14" y="{cy:.1f}" transform="rotate(-90 14 {cy:.1f})" text-anchor="middle" '
                     f'class="axis">{escape(ylabel)}</text>')
        return parts

    def polyline(self, pts: Sequence[tuple[float, float]], style: str) -> str:
        coords = " ".join(f"{_f(self.x(a))},{_f(self.y(b))}" for a, b in pts)
        return f'<polyline points="{coords}" fill="none" {style}/>'


def _svg(kind: str, width: int, height: int, label: str, parts: list[str]) -> str:
    return (f'<svg class="plot" data-plot="{kind}" xmlns="http://www.w3.org/2000/svg" width="{width}" '
            f'height="{height}" viewBox="0 0 {width} {height}" role="img" aria-label="{escape(label)}">'
            + "".join(parts) + "</svg>")


def _rate_range(values: Sequence[float], pad: float = 0.05) -> tuple[float, float]:
    lo, hi = min(values), max(values)
    lo, hi = max(0.0, lo - pad), min(1.0, hi + pad)
    if hi - lo < 0.1:
        mid = (lo + hi) / 2
        lo, hi = max(0.0, mid - 0.05), min(1.0, mid + 0.05)
    return lo, hi


def funnel_plot(points: Sequence[dict[str, Any]], curve: Sequence[dict[str, float]], target: float,
                width: int = 640, height: int = 400) -> str:
    """Entity rates against denominators, inside 95% and 99.8% limits around the overall rate."""
    limit_values = [v for c in curve for k, v in c.items() if k != "n"]
    lo, hi = _rate_range([p["rate"] for p in points] + limit_values + [target], 0.02)
    max_n = max([p["n"] for p in points] + [c["n"] for c in curve] + [1])
    ax = Axes(width, height, (0, max_n * 1.03), (lo, hi))
    parts = ax.frame("denominator (n)", "rate", yfmt=_pct)
    parts.append(ax.polyline([(0, target), (max_n * 1.03, target)], 'stroke="#333" stroke-width="1.5"'))
    styles = {"95": 'stroke="#dd8452" stroke-dasharray="5,4"', "998": 'stroke="#c44e52"'}
    for level, style in styles.items():
        for side in ("lower", "upper"):
            parts.append(ax.polyline([(c["n"], c[f"{side}{level}"]) for c in curve], style))
            if curve and f"re_{side}{level}" in curve[0]:
                parts.append(ax.polyline([(c["n"], c[f"re_{side}{level}"]) for c in curve],
                                         'stroke="#8172b2" stroke-dasharray="2,3"'))
    for p in points:
        colour = _COLOURS.get(str(p.get("flag")), "#4c72b0")
        parts.append(f'<circle class="mark" cx="{_f(ax.x(p["n"]))}" cy="{_f(ax.y(p["rate"]))}" r="4.5" '
                     f'fill="{colour}" fill-opacity="0.85" stroke="#222" stroke-width="0.5">'
                     f'<title>{escape(str(p["label"]))}: {p["rate"]:.1%} of {p["n"]} ({escape(str(p.get("flag")))})'
                     f'</title></circle>')
    return _svg("funnel", width, height, "funnel plot of entity rates", parts)


def text_width(text: str, size: float = 11, bold: bool = False) -> float:
    """A generous estimate of a label's width in pixels (no font metrics in a static SVG): used to
    size margins so labels are never clipped at the edge of the drawing."""
    return len(text) * size * (0.62 if bold else 0.58)


def _short(label: str, limit: int = 30) -> str:
    return label if len(label) <= limit else label[: limit - 1] + "…"


def caterpillar_plot(rows: Sequence[dict[str, Any]], overall: float, width: int = 640, height: int = 400,
                     axis_label: str = "shrunken rate (95% interval)", entity_label: str = "entities",
                     max_named: int = 40) -> str:
    """Entities ranked by estimate, each with its interval, against the overall rate. Up to
    `max_named` entities are named under their marks (a rank alone says nothing about who is where);
    beyond that the axis gives ranks and each mark's title the name."""
    ordered = sorted(rows, key=lambda r: r["estimate"])
    lo, hi = _rate_range([r["lower"] for r in rows] + [r["upper"] for r in rows] + [overall], 0.02)
    named = len(ordered) <= max_named
    names = [_short(str(r["label"])) for r in ordered]
    bottom = (int(35 + 0.72 * max(text_width(n) for n in names)) if named and names else 45)
    ax = Axes(width, height + bottom - 45, (0, len(ordered) + 1), (lo, hi), bottom=bottom)
    ticks = nice_ticks(1, max(1, len(ordered)), 6) if len(ordered) > 1 else [1]
    xlabel = (f"{entity_label}, ranked from lowest to highest shrunken rate" if named
              else f"{entity_label} ranked by shrunken rate (rank; hover a mark for its name)")
    parts = ax.frame(xlabel, axis_label, yfmt=_pct,
                     xticks=[] if named else [t for t in ticks if float(t).is_integer()])
    parts.append(ax.polyline([(0, overall), (len(ordered) + 1, overall)], 'stroke="#333" stroke-dasharray="4,3"'))
    base = ax.height - ax.bottom
    for i, r in enumerate(ordered, 1):
        x = ax.x(i)
        parts.append(f'<g class="mark"><title>{escape(str(r["label"]))}: {r["estimate"]:.1%} '
                     f'({r["lower"]:.1%} to {r["upper"]:.1%})</title>'
                     f'<line x1="{_f(x)}" x2="{_f(x)}" y1="{_f(ax.y(r["lower"]))}" y2="{_f(ax.y(r["upper"]))}" '
                     f'stroke="#4c72b0" stroke-width="2"/>'
                     f'<circle cx="{_f(x)}" cy="{_f(ax.y(r["estimate"]))}" r="3.5" fill="#4c72b0"/></g>')
        if named:
            parts.append(f'<text x="{_f(x)}" y="{base + 12}" text-anchor="end" class="tick entity-label" '
                         f'transform="rotate(-45 {_f(x)} {base + 12})">{escape(names[i - 1])}</text>')
    return _svg("caterpillar", width, ax.height, "caterpillar plot of shrunken rates", parts)


def histogram(values: Sequence[float], threshold: float, bins: int = 10, width: int = 640, height: int = 320,
              xlabel: str = "reliability") -> str:
    """Counts of values in equal bins over [0, 1], with the target marked."""
    counts = [0] * bins
    for v in values:
        counts[min(bins - 1, max(0, int(v * bins)))] += 1
    top = max(counts + [1])
    ax = Axes(width, height, (0, 1), (0, top * 1.1))
    yt = [t for t in nice_ticks(0, top * 1.1, 5) if float(t).is_integer()]
    parts = ax.frame(xlabel, "entities", xticks=[i / bins for i in range(bins + 1)], yticks=yt)
    for i, c in enumerate(counts):
        x0, x1 = ax.x(i / bins), ax.x((i + 1) / bins)
        y = ax.y(c)
        parts.append(f'<rect class="mark" x="{_f(x0 + 1)}" y="{_f(y)}" width="{_f(x1 - x0 - 2)}" '
                     f'height="{_f(ax.y(0) - y)}" fill="{"#55a868" if (i + 1) / bins > threshold else "#9fb7d6"}">'
                     f'<title>{i / bins:.1f} to {(i + 1) / bins:.1f}: {c} entities</title></rect>')
    tx = ax.x(threshold)
    parts.append(f'<line x1="{_f(tx)}" x2="{_f(tx)}" y1="{ax.top}" y2="{_f(ax.y(0))}" stroke="#c44e52" '
                 f'stroke-dasharray="5,4" stroke-width="1.5"/>')
    parts.append(f'<text x="{_f(tx + 4)}" y="{ax.top + 14}" class="tick">target {threshold:g}</text>')
    return _svg("reliability-histogram", width, height, "histogram of entity reliability", parts)


def strata_plot(rows: Sequence[dict[str, Any]], overall: float | None, width: int = 640) -> str:
    """A forest plot: each reportable stratum's rate and interval, grouped by dimension."""
    shown = [r for r in rows if not r["suppressed"]]
    line_h, top, bottom = 20, 20, 45
    lines: list[tuple[str, dict[str, Any] | None]] = []
    last = None
    for r in shown:
        if r["dimension"] != last:
            lines.append((str(r["title"]), None))
            last = r["dimension"]
        lines.append((str(r["level"]), r))
    height = top + bottom + line_h * max(1, len(lines))
    widths = [text_width(f"{label}{' (reference)' if row.get('reference') else ''} (n={row['n']})") + 14
              for label, row in lines if row is not None]
    widths += [text_width(label, 12, bold=True) + 12 for label, row in lines if row is None]
    left = int(max([230.0, *widths]))  # the longest label decides: none is cut at the edge
    width = max(width, left + 400)
    ax = Axes(width, height, (0, 1), (0, 1), left=left, top=top, bottom=bottom)
    parts = [f'<rect x="{ax.left}" y="{top}" width="{width - ax.left - ax.right}" height="{height - top - bottom}" '
             f'fill="#fff" stroke="#999"/>']
    for t in nice_ticks(0, 1, 5):
        x = ax.x(t)
        parts.append(f'<line x1="{_f(x)}" x2="{_f(x)}" y1="{top}" y2="{height - bottom}" stroke="#eee"/>')
        parts.append(f'<text x="{_f(x)}" y="{height - bottom + 17}" text-anchor="middle" class="tick">{_pct(t)}</text>')
    parts.append(f'<text x="{(ax.left + width - ax.right) / 2:.1f}" y="{height - 6}" text-anchor="middle" '
                 f'class="axis">rate (95% interval)</text>')
    if overall is not None:
        x = ax.x(overall)
        parts.append(f'<line x1="{_f(x)}" x2="{_f(x)}" y1="{top}" y2="{height - bottom}" stroke="#333" '
                     f'stroke-dasharray="4,3"/>')
    for i, (label, row) in enumerate(lines):
        y = top + line_h * i + line_h / 2
        if row is None:
            parts.append(f'<text x="6" y="{_f(y + 4)}" class="dim">{escape(label)}</text>')
            continue
        ref = " (reference)" if row.get("reference") else ""
        parts.append(f'<text x="{ax.left - 8}" y="{_f(y + 4)}" text-anchor="end" class="tick">'
                     f'{escape(label)}{ref} (n={row["n"]})</text>')
        parts.append(f'<g class="mark"><title>{escape(label)}: {row["rate"]:.1%} ({row["lower"]:.1%} to {row["upper"]:.1%}), '
                     f'n={row["n"]}</title><line x1="{_f(ax.x(row["lower"]))}" x2="{_f(ax.x(row["upper"]))}" '
                     f'y1="{_f(y)}" y2="{_f(y)}" stroke="#4c72b0" stroke-width="2"/>'
                     f'<rect x="{_f(ax.x(row["rate"]) - 4)}" y="{_f(y - 4)}" width="8" height="8" '
                     f'fill="{"#333" if ref else "#4c72b0"}"/></g>')
    return _svg("strata", width, height, "strata comparison", parts)


def calibration_plot(bins: Sequence[dict[str, Any]], width: int = 420, height: int = 380) -> str:
    """Observed rate against mean predicted probability by risk decile, with the identity line."""
    vals = [b["mean_predicted"] for b in bins] + [b["observed_rate"] for b in bins]
    lo, hi = _rate_range(vals, 0.05)
    ax = Axes(width, height, (lo, hi), (lo, hi))
    parts = ax.frame("mean predicted probability", "observed rate", xfmt=_pct, yfmt=_pct)
    parts.append(ax.polyline([(lo, lo), (hi, hi)], 'stroke="#999" stroke-dasharray="4,3"'))
    for b in bins:
        parts.append(f'<circle class="mark" cx="{_f(ax.x(b["mean_predicted"]))}" cy="{_f(ax.y(b["observed_rate"]))}" '
                     f'r="{max(3.0, min(9.0, math.sqrt(b["n"])))/1.0:.1f}" fill="#4c72b0" fill-opacity="0.8">'
                     f'<title>n={b["n"]}: predicted {b["mean_predicted"]:.1%}, observed {b["observed_rate"]:.1%}'
                     f'</title></circle>')
    return _svg("calibration", width, height, "calibration by decile of predicted risk", parts)

"""Explanations and coverage as a terminal tree and as HTML with the CQL highlighted."""

from __future__ import annotations

import html
from collections.abc import Iterable, Mapping
from typing import Any

from ..cql.trace import Span

MARK = {"TRUE": "✓", "FALSE": "✗", "UNHIT": "·", "NA": "–"}
COLOURS = {"TRUE": "#c8f2c2", "FALSE": "#f8c9c4", "UNHIT": "#e4e4e4", "NA": "#f6f6f6"}


def render_tree(expl: Mapping[str, Any], max_depth: int | None = None) -> str:
    """An indented tree: per group and population the reason, then the definitions and clauses."""
    lines = [f"Patient/{expl['patient']}  {expl.get('library') or ''}  {expl.get('measure') or ''}".rstrip()]
    if expl.get("error"):
        lines.append(f"  could not be evaluated: {expl['error']}")
        return "\n".join(lines) + "\n"
    for g in expl["groups"]:
        lines.append(f"group {g['group']}{' ' + g['id'] if g.get('id') else ''} ({g['scoring']})")
        for p in g["populations"]:
            mark = "✓" if p["member"] else ("–" if not p["relevant"] else "✗")
            lines.append(f"  {mark} {p['reason']}")
            if p["relevant"]:
                _tree_lines(p["tree"], 1, lines, max_depth)
    return "\n".join(lines) + "\n"


def _tree_lines(node: Mapping[str, Any], depth: int, lines: list[str], max_depth: int | None) -> None:
    pad = "  " * depth
    value = node.get("value")
    text = f"'{node['text']}'" if node["kind"] == "definition" else node["text"]
    extra = ""
    if node.get("evaluations"):
        extra = f"  (true {node['true']} of {node['evaluations']} evaluations)"
    where = f"  [{node['library']} {node['span'].split('-')[0]}]" if node["kind"] == "definition" and node.get("span") else ""
    shown = "  (shown above)" if node.get("shown_above") else ""
    lines.append(f"{pad}{MARK[node['result']]} {text}" + (f" = {value}" if value is not None else "") + extra + where + shown)
    for r in node.get("resources") or []:
        lines.append(f"{pad}    {' '.join(str(r[k]) for k in ('ref', 'date', 'code', 'status') if r.get(k))}")
    if max_depth is not None and depth >= max_depth:
        if node.get("children"):
            lines.append(f"{pad}    …")
        return
    for c in node.get("children") or []:
        _tree_lines(c, depth + 1, lines, max_depth)


# -- HTML
_STYLE = """
body{font-family:system-ui,sans-serif;margin:1.5em;color:#222}
pre.cql{font-family:ui-monospace,monospace;font-size:13px;line-height:1.45;background:#fff;border:1px solid #ddd;padding:.8em;overflow-x:auto}
pre.cql .ln{color:#999;display:inline-block;width:3.5em;text-align:right;margin-right:1em;user-select:none}
pre.cql .hits{color:#666;display:inline-block;width:4.5em;text-align:right;margin-right:.8em}
.r-TRUE{background:#c8f2c2}.r-FALSE{background:#f8c9c4}.r-UNHIT{background:#e4e4e4}.r-NA{background:#f3f3f3;color:#888}
.legend span{padding:.1em .5em;margin-right:.5em}
ul.tree{list-style:none;padding-left:1.2em;font-size:14px}
.reason{margin:.2em 0;font-weight:600}
table{border-collapse:collapse}td,th{border:1px solid #ddd;padding:.2em .6em;text-align:left}
"""


def paint(text: str, spans: Iterable[tuple[Span, str]], line_notes: Mapping[int, str] | None = None) -> str:
    """`text` as HTML lines with each span coloured by its result; an inner clause's colour wins
    over the clause around it (spans are painted outermost first)."""
    lines = text.splitlines()
    marks: list[list[str | None]] = [[None] * (len(ln) + 1) for ln in lines]
    ordered = sorted(spans, key=lambda s: (s[0].line, s[0].column, -s[0].end_line, -s[0].end_column))
    for span, result in ordered:
        for li in range(span.line, min(span.end_line, len(lines)) + 1):
            row = marks[li - 1]
            start = span.column - 1 if li == span.line else 0
            end = span.end_column - 1 if li == span.end_line else len(row) - 1
            for ci in range(max(start, 0), min(end, len(row))):
                row[ci] = result
    out = []
    for i, ln in enumerate(lines):
        parts: list[str] = []
        cur: str | None = None
        buf = ""
        for ci, ch in enumerate(ln):
            m = marks[i][ci]
            if m != cur:
                parts.append(_run(buf, cur))
                buf, cur = "", m
            buf += ch
        parts.append(_run(buf, cur))
        note = f"<span class='hits'>{html.escape(line_notes.get(i + 1, ''))}</span>" if line_notes is not None else ""
        out.append(f"<span class='ln'>{i + 1}</span>{note}{''.join(parts)}")
    return "<pre class='cql'>" + "\n".join(out) + "</pre>"


def _run(text: str, result: str | None) -> str:
    if not text:
        return ""
    return html.escape(text) if result is None else f"<span class='r-{result}'>{html.escape(text)}</span>"


def legend() -> str:
    return "<p class='legend'>" + "".join(f"<span class='r-{k}'>{k.lower()}</span>" for k in ("TRUE", "FALSE", "UNHIT", "NA")) + "</p>"


def page(title: str, body: str) -> str:
    return (f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
            f"<style>{_STYLE}</style></head><body><h1>{html.escape(title)}</h1>{body}</body></html>\n")


def render_html(expl: Mapping[str, Any], sources: Mapping[str, tuple[str, list[tuple[Span, str]]]]) -> str:
    """The explanation as a page: reasons, trees, then each library's CQL highlighted with the
    patient's clause results. `sources`: library name -> (CQL text, [(span, result)])."""
    body = [f"<p>Patient/{html.escape(str(expl['patient']))} · {html.escape(str(expl.get('measure') or ''))}</p>"]
    if expl.get("error"):
        body.append(f"<p class='reason'>could not be evaluated: {html.escape(expl['error'])}</p>")
    for g in expl.get("groups", []):
        body.append(f"<h2>group {g['group']} ({html.escape(g['scoring'])})</h2>")
        for p in g["populations"]:
            cls = "TRUE" if p["member"] else ("NA" if not p["relevant"] else "FALSE")
            body.append(f"<p class='reason'><span class='r-{cls}'>{html.escape(p['reason'])}</span></p>")
            if p["relevant"]:
                body.append("<details><summary>definitions</summary><ul class='tree'>" + _tree_html(p["tree"]) + "</ul></details>")
    body.append("<h2>CQL</h2>" + legend())
    for name, (text, spans) in sources.items():
        body.append(f"<h3>{html.escape(name)}</h3>" + paint(text, spans))
    return page(f"Explanation: Patient/{expl['patient']}", "".join(body))


def _tree_html(node: Mapping[str, Any]) -> str:
    value = f" = {html.escape(str(node['value']))}" if node.get("value") is not None else ""
    text = html.escape(node["text"])
    res = "".join(f"<li>{html.escape(' '.join(str(r[k]) for k in ('ref', 'date', 'code', 'status') if r.get(k)))}</li>"
                  for r in node.get("resources") or [])
    kids = "".join(_tree_html(c) for c in node.get("children") or [])
    inner = (f"<ul class='tree'>{res}{kids}</ul>") if res or kids else ""
    return f"<li><span class='r-{node['result']}'>{text}</span>{value} <small>{node['span']}</small>{inner}</li>"

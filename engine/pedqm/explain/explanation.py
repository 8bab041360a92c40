"""Why one patient is in or out of each population: trees of the clauses that decided it.

For each group and population the explanation holds the population's definition as a tree: the
definition's value, then the clauses of its body nested by source span, each with its clause
result (TRUE / FALSE / UNHIT, fqm-execution's vocabulary), its value and, for retrieves, the
resources returned; a reference to another definition that was evaluated is expanded in place
(once per explanation: later references say so). One line per population gives the decisive
reason, found by following the definition through references and the operand of `and` / `or`
that decided it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from ..cql.trace import Clause, Trace, truthy
from ..fhir.records import PatientRecord
from ..measure.definition import MSROBS
from .instrument import TracedCalculator, TracedResult
from .relevance import label, not_relevant
from .values import noun, resource_summary, short_value

MAX_RESOURCES = 20  # per retrieve or list value shown in a tree


@dataclass
class Node:
    """One line of an explanation tree: a definition or a clause."""

    kind: str  # 'definition' or the clause kind
    text: str  # the definition's name, or the clause's CQL
    library: str
    span: str
    result: str  # TRUE / FALSE / UNHIT
    value: str | None = None
    hits: int = 0
    trues: int = 0
    resources: list[dict[str, Any]] = field(default_factory=list)
    children: list[Node] = field(default_factory=list)
    shown_above: bool = False  # a definition already expanded earlier in the explanation
    name: str | None = None  # a definition's (or a reference's) name
    clause: Clause | None = None
    found: int = 0  # resources a retrieve returned (resources lists at most MAX_RESOURCES)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"kind": self.kind, "text": self.text, "library": self.library, "span": self.span,
                               "result": self.result}
        if self.value is not None:
            out["value"] = self.value
        if self.hits > 1:
            out["evaluations"] = self.hits
            out["true"] = self.trues
        if self.kind == "Retrieve":
            out["found"] = self.found
        if self.resources:
            out["resources"] = self.resources
        if self.shown_above:
            out["shown_above"] = True
        if self.children:
            out["children"] = [c.to_json() for c in self.children]
        return out


def _flat(text: str, limit: int = 120) -> str:
    text = re.sub(r"\s+", " ", text).strip()
    return text if len(text) <= limit else text[: limit - 1] + "…"


class Sources:
    """CQL text by library key, to quote clauses."""

    def __init__(self, texts: dict[str, str]):
        self.texts = texts
        self.lines = {k: t.splitlines() for k, t in texts.items()}

    def text(self, library_key: str, c: Clause) -> str:
        lines = self.lines.get(library_key)
        s = c.span
        if not lines or s.line < 1 or s.line > len(lines):
            return c.detail or c.kind
        if s.line == s.end_line:
            return lines[s.line - 1][s.column - 1: s.end_column - 1]
        parts = [lines[s.line - 1][s.column - 1:]] + lines[s.line: s.end_line - 1] + [lines[s.end_line - 1][: s.end_column - 1]]
        return "\n".join(parts)


def package_sources(calc: TracedCalculator) -> Sources:
    """The CQL text of every library the measure uses, from its package."""
    texts: dict[str, str] = {}
    for key, lib in calc.library.compiled.registry.items():
        found = calc.package.lookup(lib.name, lib.version) if lib.name else None
        if found is None and lib.name:
            from ..cql.library import builtin_library

            found = builtin_library(lib.name, lib.version)
        if found is not None:
            texts[key] = found[0]
    return Sources(texts)


class Explainer:
    """Explanations of one traced measure, patient by patient."""

    def __init__(self, calc: TracedCalculator, sources: Sources | None = None):
        self.calc = calc
        self.sources = sources or package_sources(calc)
        self.by_owner: dict[tuple[str, str], list[Clause]] = {}
        for c in calc.clauses:
            if c.owner_kind == "definition":
                self.by_owner.setdefault((c.library_key, c.owner), []).append(c)
        for cs in self.by_owner.values():
            cs.sort(key=lambda c: (c.span.line, c.span.column, -c.span.end_line, -c.span.end_column))
        self.main_key = calc.library.compiled.key

    # -- one patient
    def explain(self, record: PatientRecord) -> dict[str, Any]:
        traced = self.calc.evaluate_traced(record)
        return self.explain_traced(traced)

    def explain_traced(self, traced: TracedResult) -> dict[str, Any]:
        result = traced.result
        defn = self.calc.definition
        out: dict[str, Any] = {"measure": defn.url, "patient": result.subject_id,
                               "library": self.calc.library.name, "groups": []}
        if result.error:
            out["error"] = result.error
            return out
        expanded: set[tuple[str, str]] = set()
        for gi, group in enumerate(defn.groups):
            outcome = result.groups[gi]
            g: dict[str, Any] = {"group": gi + 1, "id": group.id, "scoring": group.scoring, "populations": []}
            for key, pop in group.keyed_populations():
                if not pop.expression or pop.code == MSROBS:
                    continue
                members = outcome.members.get(key, [])
                tree = self.definition_tree(self.main_key, pop.expression, traced, expanded)
                why_na = not_relevant(group, key, outcome.members)
                entry: dict[str, Any] = {"population": key, "label": label(key), "definition": pop.expression,
                                         "member": bool(members), "relevant": why_na is None}
                if group.episode_based:
                    entry["episodes"] = members
                entry["reason"] = self.reason(key, members, why_na, tree, traced)
                entry["tree"] = tree.to_json()
                g["populations"].append(entry)
            out["groups"].append(g)
        return out

    # -- trees
    def definition_tree(self, lib_key: str, name: str, traced: TracedResult, expanded: set[tuple[str, str]]) -> Node:
        lib = self.calc.library.compiled.registry.get(lib_key)
        lib_name = (lib.name if lib else None) or lib_key
        key = (lib_key, name)
        evaluated = key in traced.values
        value = traced.values.get(key)
        d = lib.resolved.definitions.get(name) if lib else None
        span = ""
        if d is not None and d.loc.line:
            span = f"{d.loc.line}:{d.loc.column}-{d.loc.end_line}:{d.loc.end_column}"
        node = Node("definition", name, lib_name, span, _result(evaluated, value), short_value(value) if evaluated else None,
                    name=name, resources=_resources(value) if evaluated else [])
        if key in expanded:
            node.shown_above = True
            return node
        expanded.add(key)
        if not evaluated:
            return node
        nested = self._nest(self.by_owner.get(key, []), lib_key, traced, expanded)
        if len(nested) == 1 and nested[0].clause is not None and nested[0].clause.root and nested[0].kind != "ExpressionRef":
            node.clause = nested[0].clause  # the body is the definition: its clauses hang off the definition
            node.children = nested[0].children
            if node.clause.kind in ("Logical:And", "Logical:Or"):
                node.children = _operands(node, node.clause.kind)
        else:
            node.children = nested
        return node

    def _nest(self, clauses: list[Clause], lib_key: str, traced: TracedResult, expanded: set[tuple[str, str]]) -> list[Node]:
        top: list[Node] = []
        stack: list[tuple[Clause, Node]] = []
        t = traced.trace
        for c in clauses:
            while stack and not _inside(c, stack[-1][0]):
                stack.pop()
            node = self._clause_node(c, lib_key, t)
            (stack[-1][1].children if stack else top).append(node)
            stack.append((c, node))
        _flatten_chains(top)
        self._expand_refs(top, traced, expanded)
        return top

    def _expand_refs(self, nodes: list[Node], traced: TracedResult, expanded: set[tuple[str, str]]) -> None:
        for n in nodes:
            c = n.clause
            if c is not None and c.kind == "ExpressionRef" and n.hits and c.target and c.detail:
                n.children = [self.definition_tree(c.target, c.detail, traced, expanded)]
            else:
                self._expand_refs(n.children, traced, expanded)

    def _clause_node(self, c: Clause, lib_key: str, t: Trace) -> Node:
        hits = t.hits[c.index] if c.index < len(t.hits) else 0
        trues = t.trues[c.index] if hits else 0
        last = t.last[c.index] if hits else None
        text = _flat(self.sources.text(lib_key, c))
        node = Node(c.kind, text, c.library, str(c.span), t.result(c.index), short_value(last) if hits else None,
                    hits, trues, name=c.detail, clause=c)
        if c.kind == "Retrieve":
            found = t.retrieved.get(c.index, [])
            node.found = len(found)
            node.resources = _resources(found)
            node.value = f"{len(found)} found" if hits else None
        return node

    # -- the one-line reason
    def reason(self, key: str, members: list[str], why_na: str | None, tree: Node, traced: TracedResult) -> str:
        pop = label(key)
        if why_na is not None:
            return f"not in {pop}: {why_na}"
        inside = bool(members)
        head = f"in {pop}" if inside else f"not in {pop}"
        if inside and len(members) > 1 or (traced.result.groups and members and members[0] != traced.result.subject_id):
            head = f"{len(members)} episode{'s' if len(members) != 1 else ''} in {pop}"
        chain, stop = _decide(tree)
        steps = chain + ([stop] if stop is not chain[-1] else [])
        said = " because ".join(f"'{n.text}' is {n.value}" if n.kind == "definition" else f"{n.text} is {n.value}"
                                for n in steps)
        evidence = _evidence(stop)
        return f"{head}: {said}" + (f" ({evidence})" if evidence else "")


def _result(evaluated: bool, value: Any) -> str:
    if not evaluated:
        return "UNHIT"
    return "TRUE" if truthy(value) else "FALSE"


def _resources(value: Any) -> list[dict[str, Any]]:
    items = value if isinstance(value, list) else [value]
    out = []
    for v in items[:MAX_RESOURCES]:
        s = resource_summary(v)
        if s is not None:
            out.append(s)
    return out


def _inside(c: Clause, outer: Clause) -> bool:
    a, b = c.span, outer.span
    return (a.line, a.column) >= (b.line, b.column) and (a.end_line, a.end_column) <= (b.end_line, b.end_column) \
        and (a != b)


def _flatten_chains(nodes: list[Node], outer: str | None = None) -> None:
    """`a and b and c` parses as ((a and b) and c): show one `and` with three operands."""
    for n in nodes:
        kind = n.clause.kind if n.clause is not None else n.kind
        if kind in ("Logical:And", "Logical:Or"):
            n.children = _operands(n, kind)
        _flatten_chains(n.children)


def _operands(n: Node, op: str) -> list[Node]:
    """The operands of a chain of `and` (or `or`) as written, left to right."""
    out: list[Node] = []
    for c in n.children:
        if c.kind == op:
            out.extend(_operands(c, op))
        else:
            out.append(c)
    return out


def _decide(tree: Node) -> tuple[list[Node], Node]:
    """Follow a definition to what decided its value: (the definitions passed, the deciding node)."""
    chain = [tree]
    node = tree
    for _ in range(50):
        kind = node.clause.kind if node.kind == "definition" and node.clause is not None else node.kind
        if node.kind == "definition" and node.children and node.clause is None and len(node.children) == 1 \
                and node.children[0].kind == "ExpressionRef":
            node = node.children[0]
            continue
        if node.kind == "ExpressionRef" and node.children and node.children[0].kind == "definition":
            node = node.children[0]
            chain.append(node)
            continue
        if kind in ("Logical:And", "Logical:Or"):
            # false `and` / true `or`: the first operand with that value decided it; null: the
            # first null operand; true `and` / false `or` needed every operand (stop here)
            look_for = {("Logical:And", "false"): "false", ("Logical:Or", "true"): "true"}.get((kind, node.value or ""))
            if node.value == "null":
                look_for = "null"
            decisive = [o for o in _operands(node, kind) if o.hits and o.value == look_for] if look_for else []
            if decisive:
                node = decisive[0]
                if node.kind == "ExpressionRef" and node.children:
                    node = node.children[0]
                    chain.append(node)
                continue
        break
    return chain, node


def _evidence(node: Node, depth: int = 0) -> str:
    """What the deciding clause saw: referenced definitions' values and the resources found."""
    refs: list[str] = []
    retrieves: dict[str, Node] = {}

    def visit(n: Node, level: int) -> None:
        for c in n.children:
            if c.kind == "Retrieve" and c.hits:
                retrieves.setdefault(c.name or c.text, c)
            elif c.kind == "ExpressionRef" and level == 0 and c.hits and c.name:
                said = f"'{c.name}' is {c.value}"
                if said not in refs:
                    refs.append(said)
                for d in c.children:
                    if level < 3:
                        visit(d, level + 1)
                continue
            elif c.kind == "definition" and level < 3 and not c.shown_above:
                visit(c, level + 1)
                continue
            if level < 4:
                visit(c, level if c.kind != "ExpressionRef" else level + 1)

    if node.kind == "Retrieve":
        retrieves[node.name or node.text] = node
    visit(node, 0)
    parts = refs[:4]
    for r in list(retrieves.values())[:3]:
        parts.append(_found(r))
    return "; ".join(parts)


def _found(r: Node) -> str:
    detail = r.name or r.text
    what, _, vs = detail.partition(": ")
    label_ = f"'{vs}' " if vs else ""
    n = r.found
    if n == 0:
        return f"no {label_}{noun(what, 1)} found"
    dates = sorted(x["date"] for x in r.resources if x.get("date"))
    last = f", last {dates[-1]}" if dates else ""
    return f"{n} {label_}{noun(what, n)} found{last}"

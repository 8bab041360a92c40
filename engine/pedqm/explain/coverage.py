"""Clause coverage: which clauses of a measure's logic a set of subjects made true.

Over a test deck (`pedqm test --coverage`) or a population (`pedqm evaluate --coverage`), each
subject gives every clause in scope one result: TRUE, FALSE, UNHIT, or NA when none of the
populations whose criteria use the clause was relevant for the subject (fqm-execution's
population relevance: a Numerator clause is not counted false for a child outside the
Denominator). A clause is *covered* when it was TRUE for at least one subject; coverage is
covered / in scope. In scope: the clauses of the definitions and functions the population
criteria, stratifiers and measure observations use, in every library (supplemental data
elements are information, not logic, and are left out as fqm-execution leaves them out).
"""

from __future__ import annotations

import html
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from ..cql import model
from ..cql.trace import Clause, Span
from ..measure.definition import IPP, GroupDef
from .explanation import Sources, package_sources
from .instrument import TracedCalculator, TracedResult
from .relevance import not_relevant
from .render import legend, page, paint

Owner = tuple[str, str, str]  # library key, definition or function name, 'definition' | 'function'


@dataclass
class ClauseCount:
    """One clause over all subjects: how many gave each result, and its evaluations."""

    results: Counter[str] = field(default_factory=Counter)  # TRUE / FALSE / UNHIT / NA -> subjects
    evaluations: int = 0
    true_anywhere: int = 0  # subjects for which it was true, relevant or not (value sets that matched)

    @property
    def status(self) -> str:
        """TRUE when covered; else FALSE (evaluated, never true), UNHIT, or NA (never relevant)."""
        for r in ("TRUE", "FALSE", "UNHIT"):
            if self.results[r]:
                return r
        return "NA"


class Coverage:
    """Clause results accumulated subject by subject (register :meth:`add` as a listener)."""

    def __init__(self, calc: TracedCalculator, sources: Sources | None = None):
        self.calc = calc
        self.sources = sources or package_sources(calc)
        self.subjects = 0
        self.errors = 0
        registry = calc.library.compiled.registry
        self._uses = _uses({k: lib.resolved for k, lib in registry.items()})
        main = calc.library.compiled.key
        self.population_owners: list[list[tuple[str, set[Owner]]]] = []
        always: set[Owner] = set()
        for group in calc.definition.groups:
            per: list[tuple[str, set[Owner]]] = []
            for key, pop in group.keyed_populations():
                if pop.expression:
                    kind = "function" if pop.code == "measure-observation" else "definition"
                    per.append((key, self._closure((main, pop.expression, kind))))
            for s in group.stratifiers:
                for expr in [s.expression] + [e for _, e in s.components]:
                    if expr:
                        always |= self._closure((main, expr, "definition"))
            self.population_owners.append(per)
        self._stratifier_owners = always
        in_scope: set[Owner] = set(always)
        for per in self.population_owners:
            for _, owners in per:
                in_scope |= owners
        self.clauses = [c for c in calc.clauses if (c.library_key, c.owner, c.owner_kind) in in_scope]
        self.counts = {c.index: ClauseCount() for c in self.clauses}

    def _closure(self, start: Owner) -> set[Owner]:
        seen: set[Owner] = set()
        pending = [start]
        while pending:
            o = pending.pop()
            if o in seen:
                continue
            seen.add(o)
            pending.extend(self._uses.get(o, ()))
        return seen

    def relevant_owners(self, traced: TracedResult) -> set[Owner]:
        """The definitions and functions that counted for this subject's populations."""
        out: set[Owner] = set()
        result = traced.result
        for gi, per in enumerate(self.population_owners):
            group: GroupDef = self.calc.definition.groups[gi]
            members = result.groups[gi].members if gi < len(result.groups) else {}
            for key, owners in per:
                if key.startswith("measure-observation"):
                    if members.get(IPP):
                        out |= owners
                elif not_relevant(group, key, members) is None:
                    out |= owners
            if members.get(IPP):
                out |= self._stratifier_owners
        return out

    def add(self, traced: TracedResult) -> None:
        self.subjects += 1
        if traced.result.error:
            self.errors += 1
            return
        relevant = self.relevant_owners(traced)
        t = traced.trace
        for c in self.clauses:
            count = self.counts[c.index]
            if t.result(c.index) == "TRUE":
                count.true_anywhere += 1
            if (c.library_key, c.owner, c.owner_kind) not in relevant:
                count.results["NA"] += 1
                continue
            count.results[t.result(c.index)] += 1
            count.evaluations += t.hits[c.index] if c.index < len(t.hits) else 0

    # -- summaries
    def covered(self, clauses: list[Clause] | None = None) -> tuple[int, int]:
        cs = self.clauses if clauses is None else clauses
        return sum(1 for c in cs if self.counts[c.index].status == "TRUE"), len(cs)

    def by_owner(self) -> dict[Owner, list[Clause]]:
        out: dict[Owner, list[Clause]] = {}
        for c in self.clauses:
            out.setdefault((c.library_key, c.owner, c.owner_kind), []).append(c)
        return out

    def text(self, sources: Sources | None = None) -> str:
        """Coverage per definition and the clauses never true, with their lines."""
        sources = sources or self.sources
        n, total = self.covered()
        lines = [f"clause coverage: {n}/{total} ({_pct(n, total)}) over {self.subjects} case(s)"
                 + (f", {self.errors} could not be evaluated" if self.errors else "")]
        groups = self.by_owner()
        for (_lib_key, name, kind), cs in sorted(groups.items(), key=lambda kv: (kv[0][0], min(c.span.line for c in kv[1]))):
            k, tot = self.covered(cs)
            lib = cs[0].library
            lines.append(f"  {_pct(k, tot):>5}  {lib}.{name}{' (function)' if kind == 'function' else ''}  {k}/{tot}")
        missed = [c for c in self.clauses if self.counts[c.index].status != "TRUE"]
        if missed:
            lines.append(f"clauses never true ({len(missed)}):")
            for c in sorted(missed, key=lambda c: (c.library, c.span.line, c.span.column)):
                count = self.counts[c.index]
                why = {"FALSE": f"false or null in {count.results['FALSE']} case(s)", "UNHIT": "never evaluated",
                       "NA": "its populations were never relevant"}[count.status]
                text = " ".join(sources.text(c.library_key, c).split())
                text = text if len(text) <= 70 else text[:69] + "…"
                lines.append(f"  {c.library} line {c.span.line}:{c.span.column}  {text}  [{why}]")
        return "\n".join(lines) + "\n"

    def unmatched_valuesets(self) -> list[tuple[str, str, list[int]]]:
        """(library, value set, lines) for value sets whose retrieves and membership tests matched
        nothing for any subject: a mis-coded value set, or data that does not use its codes."""
        used: dict[tuple[str, str], list[Clause]] = {}
        for c in self.clauses:
            if c.detail and ": " in c.detail and (c.kind == "Retrieve" or c.detail.startswith("in: ")):
                used.setdefault((c.library, c.detail.split(": ", 1)[1]), []).append(c)
        return [(lib, vs, sorted({c.span.line for c in cs})) for (lib, vs), cs in used.items()
                if not any(self.counts[c.index].true_anywhere for c in cs)]

    def population_text(self, sources: Sources | None = None) -> str:
        """Over a population: per definition how often it was true among the subjects for whom it
        counted, the clauses that never fired, and the value sets that matched nothing."""
        sources = sources or self.sources
        n, total = self.covered()
        lines = [f"population clause coverage: {n}/{total} clauses ({_pct(n, total)}) true for at least one of "
                 f"{self.subjects} patient(s)" + (f", {self.errors} could not be evaluated" if self.errors else "")]
        for (_, name, kind), cs in sorted(self.by_owner().items(), key=lambda kv: (kv[0][0], min(c.span.line for c in kv[1]))):
            roots = [c for c in cs if c.root] or cs[:1]
            counts = self.counts[roots[0].index].results
            relevant = counts["TRUE"] + counts["FALSE"] + counts["UNHIT"]
            if kind == "function":
                continue
            lines.append(f"  {_pct(counts['TRUE'], relevant):>5} true  {cs[0].library}.{name}  "
                         f"({counts['TRUE']} of {relevant} patients it counted for)")
        never = [c for c in self.clauses if self.counts[c.index].status != "TRUE"]
        if never:
            lines.append(f"clauses that never fired ({len(never)}):")
            for c in sorted(never, key=lambda c: (c.library, c.span.line, c.span.column)):
                text = " ".join(sources.text(c.library_key, c).split())
                text = text if len(text) <= 70 else text[:69] + "…"
                count = self.counts[c.index]
                why = {"FALSE": f"evaluated for {count.results['FALSE']} patient(s), never true",
                       "UNHIT": "never evaluated", "NA": "its populations were never relevant"}[count.status]
                lines.append(f"  {c.library} line {c.span.line}:{c.span.column}  {text}  [{why}]")
        unmatched = self.unmatched_valuesets()
        if unmatched:
            lines.append(f"value sets that matched nothing in the data ({len(unmatched)}):")
            for lib, vs, where in unmatched:
                lines.append(f"  {lib}: \"{vs}\" (line{'s' if len(where) > 1 else ''} {', '.join(map(str, where))})")
        return "\n".join(lines) + "\n"

    def population_summary(self, limit: int = 200) -> dict[str, Any]:
        """`population_text` as data: per definition how often it was true, the clauses that never
        fired (at most `limit`), the value sets that matched nothing."""
        n, total = self.covered()
        definitions = []
        for (_, name, kind), cs in sorted(self.by_owner().items(), key=lambda kv: (kv[0][0], min(c.span.line for c in kv[1]))):
            if kind == "function":
                continue
            counts = self.counts[([c for c in cs if c.root] or cs[:1])[0].index].results
            definitions.append({"library": cs[0].library, "name": name, "true": counts["TRUE"],
                                "counted": counts["TRUE"] + counts["FALSE"] + counts["UNHIT"]})
        never = sorted((c for c in self.clauses if self.counts[c.index].status != "TRUE"),
                       key=lambda c: (c.library, c.span.line, c.span.column))
        return {
            "patients": self.subjects, "covered": n, "clauses": total, "definitions": definitions,
            "never_fired": [{"library": c.library, "definition": c.owner, "line": c.span.line, "column": c.span.column,
                             "text": " ".join(self.sources.text(c.library_key, c).split())[:120],
                             "status": self.counts[c.index].status,
                             "evaluated_for": self.counts[c.index].results["FALSE"]} for c in never[:limit]],
            "never_fired_total": len(never),
            "unmatched_value_sets": [{"library": lib, "value_set": vs, "lines": lines}
                                     for lib, vs, lines in self.unmatched_valuesets()],
        }

    def to_json(self) -> dict[str, Any]:
        n, total = self.covered()
        return {
            "subjects": self.subjects, "errors": self.errors, "covered": n, "clauses": total,
            "definitions": [{"library": cs[0].library, "name": name, "kind": kind, "covered": self.covered(cs)[0],
                             "clauses": len(cs)} for (_, name, kind), cs in self.by_owner().items()],
            "clause_results": [{"library": c.library, "owner": c.owner, "span": str(c.span), "kind": c.kind,
                                "status": self.counts[c.index].status, "results": dict(self.counts[c.index].results),
                                "evaluations": self.counts[c.index].evaluations} for c in self.clauses],
        }

    def lcov(self) -> str:
        """LCOV: one record per library; definitions as functions, lines as the subjects for which a
        clause starting on the line was true, and each clause as a branch (taken = subjects true)."""
        out: list[str] = []
        registry = self.calc.library.compiled.registry
        by_lib: dict[str, list[Clause]] = {}
        for c in self.clauses:
            by_lib.setdefault(c.library_key, []).append(c)
        for key, cs in by_lib.items():
            lib = registry[key]
            out += ["TN:", f"SF:{self._source_file(key)}"]
            owners = self.by_owner()
            fn_lines = []
            for (lk, name, _kind), ocs in owners.items():
                if lk != key:
                    continue
                line = min(c.span.line for c in ocs)
                evaluated = max((sum(self.counts[c.index].results[r] for r in ("TRUE", "FALSE")) for c in ocs), default=0)
                fn_lines.append((line, name, evaluated))
            for line, name, _ in sorted(fn_lines):
                out.append(f"FN:{line},{name}")
            for _, name, evaluated in sorted(fn_lines):
                out.append(f"FNDA:{evaluated},{name}")
            out += [f"FNF:{len(fn_lines)}", f"FNH:{sum(1 for f in fn_lines if f[2])}"]
            lines: dict[int, int] = {}
            for block, c in enumerate(sorted(cs, key=lambda c: (c.span.line, c.span.column))):
                count = self.counts[c.index]
                taken = "-" if count.status in ("UNHIT", "NA") else str(count.results["TRUE"])
                out.append(f"BRDA:{c.span.line},0,{block},{taken}")
                lines[c.span.line] = max(lines.get(c.span.line, 0), count.results["TRUE"])
            out += [f"BRF:{len(cs)}", f"BRH:{sum(1 for c in cs if self.counts[c.index].status == 'TRUE')}"]
            for line in sorted(lines):
                out.append(f"DA:{line},{lines[line]}")
            out += [f"LF:{len(lines)}", f"LH:{sum(1 for v in lines.values() if v)}", "end_of_record"]
            del lib
        return "\n".join(out) + "\n"

    def _source_file(self, key: str) -> str:
        lib = self.calc.library.compiled.registry[key]
        found = self.calc.package.lookup(lib.name, lib.version) if lib.name else None
        display = found[1] if found else None
        return display if display and display.endswith(".cql") else f"{lib.name or key}.cql"

    def html(self, title: str) -> str:
        """The CQL of each library with clauses coloured (covered, evaluated but never true,
        never evaluated, never relevant) and per line the subjects for which it was true."""
        n, total = self.covered()
        body = [f"<p>clause coverage {n}/{total} ({_pct(n, total)}) over {self.subjects} subject(s)</p>", legend(),
                "<table><tr><th>definition</th><th>covered</th><th>%</th></tr>"]
        for (_, name, kind), cs in self.by_owner().items():
            k, tot = self.covered(cs)
            body.append(f"<tr><td>{html.escape(cs[0].library)}.{html.escape(name)}{' ()' if kind == 'function' else ''}"
                        f"</td><td>{k}/{tot}</td><td>{_pct(k, tot)}</td></tr>")
        body.append("</table>")
        by_lib: dict[str, list[Clause]] = {}
        for c in self.clauses:
            by_lib.setdefault(c.library_key, []).append(c)
        for key, cs in by_lib.items():
            text = self.sources.texts.get(key)
            if text is None:
                continue
            spans: list[tuple[Span, str]] = [(c.span, self.counts[c.index].status) for c in cs]
            notes: dict[int, int] = {}
            for c in cs:
                notes[c.span.line] = max(notes.get(c.span.line, 0), self.counts[c.index].results["TRUE"])
            body.append(f"<h2>{html.escape(cs[0].library)}</h2>"
                        + paint(text, spans, {ln: f"{v}×" for ln, v in notes.items()}))
        return page(title, "".join(body))


def _pct(n: int, total: int) -> str:
    return f"{100 * n / total:.0f}%" if total else "–"


def _uses(libs: dict[str, Any]) -> dict[Owner, set[Owner]]:
    """Definition or function -> the definitions and functions its body refers to."""
    out: dict[Owner, set[Owner]] = {}
    for key, lib in libs.items():
        roots: list[tuple[Owner, Any]] = [((key, d.name, "definition"), d.expression) for d in lib.definitions.values()]
        roots += [((key, fm.name, "function"), fm.body) for ovs in lib.functions.values() for fm in ovs]
        for owner, root in roots:
            used = out.setdefault(owner, set())
            if root is None:
                continue
            for n in model.walk([root]):
                if isinstance(n, model.ExpressionRef):
                    used.add((n.library, n.name, "definition"))
                elif isinstance(n, model.FunctionRef):
                    used.update((fm.library, fm.name, "function") for fm in n.candidates)
    return out

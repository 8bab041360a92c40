"""The instrumented compile mode (pedqm.cql.trace): spans, clause results, zero cost when off."""

from __future__ import annotations

from pedqm.cql.compiler import CompiledLibrary
from pedqm.cql.library import Library, LibraryManager
from pedqm.cql.parser import parse_library
from pedqm.cql.trace import Tracer, truthy

CQL = """library T version '1'

define "Small": 1 < 0
define "Both":
  "Small" and (2 > 1)
define "Either":
  "Small" or Count({1, 2, 3}) > 2
define "Evens": ({1, 2, 3, 4}) X where X mod 2 = 0
define "Unused": 5 > 4
define "NotNull": 1 is not null
define "Widened": 1 < 2.5
"""


def _traced() -> tuple[Library, Tracer]:
    tracer = Tracer()
    plain = LibraryManager().compile(CQL, "T")
    return Library(CompiledLibrary(plain.compiled.resolved, {}, tracer)), tracer


def _clause(tracer: Tracer, owner: str, text_start: tuple[int, int]) -> int:
    """The outermost clause of `owner` starting at (line, column)."""
    found = [c for c in tracer.clauses if c.owner == owner and (c.span.line, c.span.column) == text_start]
    if not found:
        raise AssertionError(f"no clause of {owner} at {text_start}: {[(c.owner, str(c.span)) for c in tracer.clauses]}")
    return max(found, key=lambda c: (c.span.end_line, c.span.end_column)).index


def test_loc_carries_the_end_of_each_construct() -> None:
    lib = parse_library(CQL, "T")
    both = next(d for d in lib.statements if getattr(d, "name", None) == "Both")
    loc = both.expr.loc  # type: ignore[union-attr]
    assert (loc.line, loc.column, loc.end_line, loc.end_column) == (5, 3, 5, 22)


def test_clause_results_follow_short_circuits_and_queries() -> None:
    lib, tracer = _traced()
    ctx = lib.context()
    trace = tracer.begin("s1")
    assert lib.evaluate("Both", ctx) is False
    assert lib.evaluate("Either", ctx) is True
    assert lib.evaluate("Evens", ctx) == [2, 4]
    both_root = _clause(tracer, "Both", (5, 3))
    assert tracer.clauses[both_root].root and tracer.clauses[both_root].kind == "Logical:And"
    assert str(tracer.clauses[both_root].span) == "5:3-5:22"
    assert trace.result(both_root) == "FALSE"
    assert trace.result(_clause(tracer, "Both", (5, 16))) == "UNHIT"  # `and` stopped at the false "Small"
    assert trace.result(_clause(tracer, "Either", (7, 14))) == "TRUE"  # Count(...) > 2
    where = _clause(tracer, "Evens", (8, 40))  # X mod 2 = 0, evaluated once per element
    assert (trace.hits[where], trace.trues[where], trace.result(where)) == (4, 2, "TRUE")
    assert trace.result(_clause(tracer, "Unused", (9, 18))) == "UNHIT"
    # a new subject starts from nothing
    assert tracer.begin("s2").result(both_root) == "UNHIT"


def test_instrumented_and_plain_compiles_agree() -> None:
    plain = LibraryManager().compile(CQL, "T")
    traced, tracer = _traced()
    tracer.begin()
    for name in ("Small", "Both", "Either", "Evens", "Unused"):
        assert traced.evaluate(name) == plain.evaluate(name)


def test_no_tracer_means_the_plain_closures() -> None:
    plain = LibraryManager().compile(CQL, "T")
    assert plain.compiled.tracer is None
    names = {plain.compiled.definition(n).__name__ for n in plain.definitions}
    assert not names & {"traced", "traced_retrieve"}
    traced, _ = _traced()
    assert traced.compiled.definition("Both").__name__ == "traced"


def test_truthiness_is_fqm_executions() -> None:
    assert [truthy(v) for v in (None, False, [], True, [0], 0, "")] == [False, False, False, True, True, True, True]


def test_a_span_is_recorded_by_its_outermost_written_clause() -> None:
    lib, tracer = _traced()
    trace = tracer.begin()
    assert lib.evaluate("NotNull") is True
    [clause] = [c for c in tracer.clauses if c.owner == "NotNull"]
    assert clause.kind == "OperatorCall:Not" and trace.result(clause.index) == "TRUE"  # not IsNull's false
    assert lib.evaluate("Widened") is True
    # the implicit ToDecimal(1) is not a clause of its own: only what the author wrote
    assert [c.kind for c in tracer.clauses if c.owner == "Widened"] == ["OperatorCall:Less"]

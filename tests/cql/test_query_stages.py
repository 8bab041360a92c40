"""Query evaluation in named stages (issue 11) and the evaluation budget on rows (issue 10 §6).

Each stage is tested on its own with hand-made rows and clauses; the last tests go through the
engine: a 7-source cross product of 10^7 rows is refused before it is built, with an error that
names the library, the definition and the query's line:column.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from pedqm.cql import compile_library, evaluate
from pedqm.cql.context import EvaluationBudget, EvaluationContext
from pedqm.cql.env import Env
from pedqm.cql.errors import CqlRuntimeError
from pedqm.cql.query import (
    Aggregate,
    Relationship,
    aggregate_stage,
    let_stage,
    relationship_stage,
    return_stage,
    sort_stage,
    source_rows,
    where_stage,
)
from pedqm.cql.runtime.values import CqlTuple


def _env(**budget: int) -> Env:
    ctx = EvaluationContext.create(timezone_offset=0)
    if budget:
        ctx.budget = dataclasses.replace(ctx.budget, **budget)
    return Env(ctx, {"outer": 100})


def _const(value: Any) -> Any:
    return lambda env: value


def _var(name: str) -> Any:
    return lambda env: env.vars[name]


def test_source_rows_are_the_cross_product_and_see_outer_variables() -> None:
    rows, singular = source_rows(_env(), [("A", _const([1, 2])), ("B", _const(["x", "y", "z"]))])
    assert [(r.vars["A"], r.vars["B"]) for r in rows] == [(a, b) for a in (1, 2) for b in "xyz"]
    assert not singular and all(r.vars["outer"] == 100 for r in rows)


def test_single_values_make_a_singular_query_and_null_no_row() -> None:
    rows, singular = source_rows(_env(), [("A", _const(5)), ("B", _const("x"))])
    assert singular and [(r.vars["A"], r.vars["B"]) for r in rows] == [(5, "x")]
    rows, singular = source_rows(_env(), [("A", _const(None))])
    assert singular and rows == []


def test_source_rows_over_the_budget_are_refused_before_they_are_built() -> None:
    sources = [(f"S{i}", _const(list(range(10)))) for i in range(3)]
    assert len(source_rows(_env(max_query_rows=1000), sources)[0]) == 1000
    with pytest.raises(CqlRuntimeError, match=r"would build 1,000 rows .* allows 999 rows per query") as err:
        source_rows(_env(max_query_rows=999), sources)
    assert "10 x 10 x 10" in str(err.value)


def test_let_binds_in_order() -> None:
    rows, _ = source_rows(_env(), [("A", _const([1, 2]))])
    let_stage(rows, [("double", lambda e: e.vars["A"] * 2), ("plus", lambda e: e.vars["double"] + 1)])
    assert [(r.vars["double"], r.vars["plus"]) for r in rows] == [(2, 3), (4, 5)]


def test_with_keeps_related_rows_and_without_the_others() -> None:
    rows, _ = source_rows(_env(), [("A", _const([1, 2, 3]))])
    matches = Relationship("B", _const([2, 3, None]), lambda e: e.vars["A"] == e.vars["B"], negated=False)
    assert [r.vars["A"] for r in relationship_stage(rows, [matches])] == [2, 3]
    unrelated = dataclasses.replace(matches, negated=True)
    assert [r.vars["A"] for r in relationship_stage(rows, [unrelated])] == [1]
    # a null condition does not relate; a single related value is a list of one
    unknown = Relationship("B", _const(7), lambda e: None, negated=False)
    assert relationship_stage(rows, [unknown]) == []


def test_where_keeps_only_true() -> None:
    rows, _ = source_rows(_env(), [("A", _const([1, 2, 3]))])
    kept = where_stage(rows, lambda e: {1: True, 2: None, 3: False}[e.vars["A"]])
    assert [r.vars["A"] for r in kept] == [1]


def test_aggregate_folds_rows_and_distinct_folds_each_value_once() -> None:
    env = _env()
    rows, _ = source_rows(env, [("A", _const([1, 2, 2, 3]))])
    total = Aggregate("R", _const(0), lambda e: e.vars["R"] + e.vars["A"], distinct=False)
    assert aggregate_stage(env, rows, total, ["A"]) == 8
    assert aggregate_stage(env, rows, dataclasses.replace(total, distinct=True), ["A"]) == 6
    no_start = Aggregate("R", None, lambda e: e.vars["A"] if e.vars["R"] is None else e.vars["R"], distinct=False)
    assert aggregate_stage(env, rows, no_start, ["A"]) == 1


def test_return_projects_removes_duplicates_or_keeps_the_aliases() -> None:
    rows, _ = source_rows(_env(), [("A", _const([1, 2, 2]))])
    assert return_stage(rows, lambda e: e.vars["A"] * 10, distinct=True, aliases=["A"]) == [10, 20]
    assert return_stage(rows, lambda e: e.vars["A"] * 10, distinct=False, aliases=["A"]) == [10, 20, 20]
    assert return_stage(rows, None, distinct=False, aliases=["A"]) == [1, 2, 2]
    pairs, _ = source_rows(_env(), [("A", _const([1])), ("B", _const(["x"]))])
    assert return_stage(pairs, None, distinct=False, aliases=["A", "B"]) == [CqlTuple({"A": 1, "B": "x"})]


def test_sort_by_items_in_order_with_nulls_first() -> None:
    env = _env()
    values = [CqlTuple({"k": k, "n": n}) for k, n in [(2, "b"), (1, "z"), (None, "q"), (1, "a")]]
    by_k_then_n = [(lambda e: e.vars["$this"]["k"], False), (lambda e: e.vars["$this"]["n"], False)]
    assert [(v["k"], v["n"]) for v in sort_stage(env, values, by_k_then_n, None)] == [
        (None, "q"), (1, "a"), (1, "z"), (2, "b")]
    assert sort_stage(env, [3, None, 1], [(None, True)], None) == [3, 1, None]
    assert sort_stage(env, [3, 1], [(_var("X"), False)], "X") == [1, 3]


def test_the_engine_composes_the_stages() -> None:
    text = ("from ({1, 2, 3}) A, ({10, 20}) B let S: A + B with ({11, 22, 23}) C such that C = S "
            "where A > 1 return S sort desc")
    assert evaluate(text) == [23, 22]
    assert evaluate("(List{1, 2, 3, 4}) X aggregate R starting 0: R + X") == 10


SEVEN_SOURCES = """library Runaway
define Ten: {1, 2, 3, 4, 5, 6, 7, 8, 9, 10}
define "Cross product":
  from Ten A, Ten B, Ten C, Ten D, Ten E, Ten F, Ten G
    return A + B + C + D + E + F + G
"""


def test_a_seven_source_cross_product_is_a_located_error() -> None:
    lib = compile_library(SEVEN_SOURCES)
    with pytest.raises(CqlRuntimeError) as err:
        lib.evaluate("Cross product", lib.context())
    message = str(err.value)
    assert message.startswith("Runaway.Cross product (4:3): query would build 10,000,000 rows")
    assert "10 x 10 x 10 x 10 x 10 x 10 x 10" in message and "1,000,000 rows per query" in message


def test_the_budget_is_the_request_s() -> None:
    four = SEVEN_SOURCES.replace(", Ten E, Ten F, Ten G", "").replace("return A + B + C + D + E + F + G", "return all A")
    lib = compile_library(four)
    ctx = lib.context()
    assert len(lib.evaluate("Cross product", ctx)) == 10_000
    small = lib.context()
    small.budget = EvaluationBudget(max_query_rows=9_999)
    with pytest.raises(CqlRuntimeError, match="9,999 rows per query"):
        lib.evaluate("Cross product", small)


def test_flatten_beyond_the_list_budget_is_a_located_error() -> None:
    hundred = ", ".join(str(i) for i in range(1, 101))
    lib = compile_library(f"""library Nested
define Hundred: {{{hundred}}}
define "Pairs": flatten (Hundred A return all (Hundred B return all A * B))
""")
    assert len(lib.evaluate("Pairs", lib.context())) == 10_000
    ctx = lib.context()
    ctx.budget = EvaluationBudget(max_list_length=5_000)
    with pytest.raises(CqlRuntimeError, match=r"^Nested.Pairs \(3:17\): flatten would build a list of 10,000 elements"):
        lib.evaluate("Pairs", ctx)

"""Query evaluation as named stages (CQL reference, 'Queries'), in the order the spec applies
the clauses: sources -> rows, let, relationships (with / without), where, then aggregate, or
return (with distinct) and sort. The compiler composes them per query
(:meth:`~pedqm.cql.compiler.Compiler.c_Query`); each stage is a plain function over rows
(an :class:`~pedqm.cql.env.Env` per combination of source values) and compiled clauses.

The rows a query may build are bounded by the request's :class:`~pedqm.cql.context.EvaluationBudget`:
a multi-source query is a cross product, and one that would exceed the budget is refused before
it is built, with an error the compiler locates at the query.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from typing import Any

from .env import Env, Fn
from .errors import CqlRuntimeError
from .operators.list import Distinct, sort_list
from .runtime.compare import equal
from .runtime.values import CqlTuple

__all__ = [
    "Aggregate",
    "Relationship",
    "aggregate_stage",
    "let_stage",
    "relationship_stage",
    "return_stage",
    "sort_stage",
    "source_rows",
    "where_stage",
]


@dataclass(frozen=True, slots=True)
class Relationship:
    """`with alias in expression such that condition` (or `without`, `negated`)."""

    alias: str
    source: Fn
    such_that: Fn
    negated: bool


@dataclass(frozen=True, slots=True)
class Aggregate:
    """`aggregate [distinct] identifier starting expr: expression`."""

    identifier: str
    starting: Fn | None
    expression: Fn
    distinct: bool


def _as_list(value: Any) -> tuple[list[Any], bool]:
    """A source's values and whether it was a list (null is no value; a single value is one)."""
    if isinstance(value, list):
        return value, True
    return ([] if value is None else [value]), False


def source_rows(env: Env, sources: list[tuple[str, Fn]]) -> tuple[list[Env], bool]:
    """One row per combination of the sources' values (their cross product), and whether the
    query is singular: no source is a list (a multi-source query of single values is one value).
    A cross product larger than the request's budget is refused before it is built."""
    singular = True
    lists = []
    for alias, fn in sources:
        values, is_list = _as_list(fn(env))
        singular = singular and not is_list
        lists.append([(alias, x) for x in values])
    if len(lists) > 1:
        rows = math.prod(len(v) for v in lists)
        limit = env.ctx.budget.max_query_rows
        if rows > limit:
            sizes = " x ".join(str(len(v)) for v in lists)
            raise CqlRuntimeError(
                f"query would build {rows:,} rows from its {len(lists)} sources ({sizes}); the evaluation"
                f" budget allows {limit:,} rows per query (relate the sources with `with ... such that`"
                f" or filter them before combining)")
    return [env.child(dict(combo)) for combo in itertools.product(*lists)], singular


def let_stage(rows: list[Env], lets: list[tuple[str, Fn]]) -> None:
    """Bind each `let` in every row, in order (a let may use the ones before it)."""
    for row in rows:
        for name, fn in lets:
            row.vars[name] = fn(row)


def relationship_stage(rows: list[Env], relationships: list[Relationship]) -> list[Env]:
    """The rows for which every `with` finds a related value and no `without` does; a
    condition that is null does not relate."""
    kept = []
    for row in rows:
        for rel in relationships:
            related, _ = _as_list(rel.source(row))
            alias, cond = rel.alias, rel.such_that
            found = any(cond(row.child({alias: r})) is True for r in related)
            if found == rel.negated:
                break
        else:
            kept.append(row)
    return kept


def where_stage(rows: list[Env], where: Fn) -> list[Env]:
    """The rows for which the condition is true (false and null drop the row)."""
    return [row for row in rows if where(row) is True]


def aggregate_stage(env: Env, rows: list[Env], aggregate: Aggregate, aliases: list[str]) -> Any:
    """Fold the rows into one value: the identifier starts at `starting` (or null) and takes
    the expression's value row after row; `distinct` folds each combination of source values
    once."""
    acc = aggregate.starting(env) if aggregate.starting is not None else None
    items = rows
    if aggregate.distinct:
        seen: list[Any] = []
        items = []
        for row in rows:
            v = [row.vars[a] for a in aliases]
            if not any(equal(v, s) is True for s in seen):
                seen.append(v)
                items.append(row)
    for row in items:
        row.vars[aggregate.identifier] = acc
        acc = aggregate.expression(row)
    return acc


def return_stage(rows: list[Env], ret: Fn | None, distinct: bool, aliases: list[str]) -> list[Any]:
    """The query's elements: the return expression per row (duplicates removed unless `all`),
    the single alias's value, or a tuple of all aliases for a multi-source query."""
    if ret is not None:
        values = [ret(row) for row in rows]
        if distinct:
            values = Distinct(values)
        return values
    if len(aliases) == 1:
        alias = aliases[0]
        return [row.vars[alias] for row in rows]
    return [CqlTuple({a: row.vars[a] for a in aliases}) for row in rows]


def sort_stage(env: Env, values: list[Any], sort: list[tuple[Fn | None, bool]], alias: str | None) -> list[Any]:
    """Sort by each `sort by` item, the last first so the first item decides (stable sorts)."""
    for key_fn, descending in reversed(sort):
        values = _sorted(values, key_fn, descending, env, alias)
    return values


def _sorted(values: list[Any], key_fn: Fn | None, descending: bool, env: Env, alias: str | None) -> list[Any]:
    """Stable sort by one `sort by` item, with the list chapter's order (nulls first ascending).

    Sort keys are evaluated once per element, not once per comparison.
    """
    if key_fn is None:
        return sort_list(values, descending) or []

    def bind(v: Any) -> Env:
        return env.child({"$this": v, alias: v} if alias else {"$this": v})

    keys = [key_fn(bind(v)) for v in values]
    order = sort_list(list(range(len(values))), descending, key=keys.__getitem__) or []
    return [values[i] for i in order]

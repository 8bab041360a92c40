"""List operators (CQL reference, 'List Operators').

Registered here: ``Exists``, ``Distinct``, ``Flatten``, ``First``, ``Last``, ``IndexOf``,
``Skip``, ``Take``, ``Tail``, ``Slice`` and ``SingletonFrom``. The membership and set operators
(``in``, ``contains``, ``includes``, ``included in``, their ``properly`` forms, ``union``,
``intersect``, ``except``) are shared by names with the interval chapter, so the interval module
registers the ELM operators and dispatches list arguments to the plain ``list_*`` helpers here.
``sort_list``/``sort_compare`` serve the query ``sort`` clause. ``Length`` and the list indexer
belong to the string module; list ``=``/``~`` to :mod:`.comparison`.

Element matching everywhere uses CQL equality "with the exception that null elements are
considered equal" (spec wording for in/contains/includes/distinct/union/intersect/except/
IndexOf); an *unknown* comparison (e.g. ``@T15:59:59 = @T15:59:59.999``) is not a match, except
in the ``properly`` forms where the conformance suite expects it to make the result null.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from decimal import Decimal
from functools import cmp_to_key
from typing import Any

from ..context import EvaluationContext
from ..errors import CqlRuntimeError
from ..runtime.compare import compare, equal
from ..runtime.logic import and3
from .registry import operator

# ---------------------------------------------------------------------------------------------
# element matching


def same(a: Any, b: Any) -> bool | None:
    """CQL equality where two nulls are equal (and null vs. a value is simply unequal)."""
    if a is None or b is None:
        return a is None and b is None
    return equal(a, b)


def simple_key(x: Any) -> tuple[str, Any] | None:
    """A dict key for values whose Python equality is exactly CQL equality, else None.

    Lets set operations on long lists of strings and numbers run in linear time; everything
    else (temporals with precision, quantities with units, tuples, resources) falls back to
    pairwise :func:`same`. Booleans are keyed apart from integers (Python has True == 1).
    """
    if x is None:
        return ("null", None)
    if isinstance(x, bool):
        return ("bool", x)
    if isinstance(x, str):
        return ("str", x)
    if isinstance(x, int):  # Integer and Long compare equal by value
        return ("num", int(x))
    if isinstance(x, Decimal) and x.is_finite():
        return ("num", x)  # 1 == Decimal('1.0') == Decimal('1.00'), with equal hashes
    return None


class _Members:
    """A membership index over a list: hashed for simple values, pairwise otherwise."""

    __slots__ = ("_keys", "_others")

    def __init__(self, values: Iterable[Any] = ()) -> None:
        self._keys: set[tuple[str, Any]] = set()
        self._others: list[Any] = []
        for v in values:
            self.add(v)

    def add(self, value: Any) -> None:
        key = simple_key(value)
        if key is None:
            self._others.append(value)
        else:
            self._keys.add(key)

    def contains(self, value: Any) -> bool:
        key = simple_key(value)
        if key is not None and key in self._keys:
            return True
        if value is None:
            return False
        return any(same(value, o) is True for o in self._others)


def _distinct(values: Iterable[Any]) -> list[Any]:
    """Keep the first of each group of equal elements (nulls count as equal: one null kept)."""
    seen = _Members()
    out: list[Any] = []
    for v in values:
        if not seen.contains(v):
            seen.add(v)
            out.append(v)
    return out


# ---------------------------------------------------------------------------------------------
# registered operators


@operator("Exists", strict=False)
def Exists(values: list[Any] | None) -> bool:
    """True if the list has any non-null element; a null list is false (spec, Exists)."""
    if values is None:
        return False
    return any(v is not None for v in values)


@operator("Distinct")
def Distinct(values: list[Any]) -> list[Any]:
    """Duplicates removed by equality, nulls equal to each other; first occurrences kept in order."""
    return _distinct(values)


@operator("Flatten", context=True)
def Flatten(ctx: EvaluationContext, values: list[Any]) -> list[Any]:
    """Concatenate a list of lists (spec, Flatten).

    A null inner list contributes no elements; a non-list element (only possible through
    ``List<Any>``) is kept as itself, as FHIRPath-style flattening would. A result longer than
    the request's budget (nested queries flattened into a cross product) is refused before it
    is built.
    """
    limit = ctx.budget.max_list_length
    total = sum(len(inner) if isinstance(inner, list) else 1 for inner in values if inner is not None)
    if total > limit:
        raise CqlRuntimeError(f"flatten would build a list of {total:,} elements; the evaluation budget allows"
                              f" {limit:,} elements per list")
    out: list[Any] = []
    for inner in values:
        if inner is None:
            continue
        if isinstance(inner, list):
            out.extend(inner)
        else:
            out.append(inner)
    return out


@operator("First")
def First(values: list[Any]) -> Any:
    """Element 0, or null for an empty list (spec, First)."""
    return values[0] if values else None


@operator("Last")
def Last(values: list[Any]) -> Any:
    """Element N-1, or null for an empty list (spec, Last)."""
    return values[-1] if values else None


@operator("IndexOf")
def IndexOf(values: list[Any], element: Any) -> int:
    """0-based index of the first element equal to `element`, or -1 (spec, IndexOf).

    Strict: a null list or a null element gives null (conformance: ``IndexOf({1, null}, null)``
    is null).
    """
    for i, v in enumerate(values):
        if same(v, element) is True:
            return i
    return -1


@operator("Skip", strict=False)
def Skip(values: list[Any] | None, number: int | None) -> list[Any] | None:
    """All but the first `number` elements; null number skips nothing, negative gives {}."""
    if values is None:
        return None
    if number is None:
        return list(values)
    if number < 0:
        return []
    return list(values[number:])


@operator("Take", strict=False)
def Take(values: list[Any] | None, number: int | None) -> list[Any] | None:
    """The first `number` elements; a null, zero or negative number gives {} (spec, Take)."""
    if values is None:
        return None
    if number is None or number <= 0:
        return []
    return list(values[:number])


@operator("Tail")
def Tail(values: list[Any]) -> list[Any]:
    """All but the first element; {} for an empty list (spec, Tail)."""
    return list(values[1:])


@operator("Slice", strict=False, arity=(1, 3))
def Slice(
    values: list[Any] | None, start: int | None = None, end: int | None = None
) -> list[Any] | None:
    """Elements from `start` up to (not including) `end` (spec, Slice, CQL 2.0 / ELM 1.5).

    Null bounds mean the list's ends; negative bounds count back from the end and are clamped
    to 0, bounds past the end are clamped to the length: exactly Python slicing.
    """
    if values is None:
        return None
    return list(values[start:end])


@operator("SingletonFrom")
def SingletonFrom(values: list[Any]) -> Any:
    """The only element of the list; null if empty; a run-time error for more than one."""
    if len(values) > 1:
        raise CqlRuntimeError(
            f"singleton from: expected a list of at most one element, got {len(values)}"
        )
    return values[0] if values else None


# ---------------------------------------------------------------------------------------------
# helpers for the interval module's list/interval dispatchers


def list_in(element: Any, values: list[Any] | None) -> bool:
    """``element in list``: a null list is false; a null element is found iff the list has a null."""
    if values is None:
        return False
    for v in values:
        if same(element, v) is True:
            return True
    return False


def list_contains(values: list[Any] | None, element: Any) -> bool:
    """``list contains element``: the converse of :func:`list_in`."""
    return list_in(element, values)


def list_includes(a: list[Any] | None, b: list[Any] | None) -> bool | None:
    """``a includes b`` (list-list overload): every element of b is in a; null if either is null."""
    if a is None or b is None:
        return None
    members = _Members(a)
    return all(members.contains(x) for x in b)


def list_included_in(a: list[Any] | None, b: list[Any] | None) -> bool | None:
    """``a included in b`` (list-list overload): every element of a is in b."""
    return list_includes(b, a)


def list_proper_includes(a: list[Any] | None, b: list[Any] | None) -> bool | None:
    """``a properly includes b`` (list-list): a includes b and has an element that b lacks.

    The spec says "the first list is strictly larger"; we read that as a set comparison
    (``{1, 1} properly includes {1}`` is false), which every conformance case agrees with.
    """
    if a is None or b is None:
        return None
    if not list_includes(a, b):
        return False
    members = _Members(b)
    return any(not members.contains(x) for x in a)


def list_proper_included_in(a: list[Any] | None, b: list[Any] | None) -> bool | None:
    """``a properly included in b`` (list-list): b properly includes a."""
    return list_proper_includes(b, a)


def list_proper_contains(values: list[Any] | None, element: Any) -> bool | None:
    """``list properly includes element`` (ELM ProperContains for lists).

    True when the element is in the list and it is not the only element, i.e. some element
    differs from it (spec, Properly Includes, list-singleton overload). A null list is false.
    Three-valued, as the conformance suite expects: ``{'a', null} properly includes 'a'`` and
    ``{@T15:59:59.999, ...} properly includes @T15:59:59`` are null because a comparison is
    unknown (a null list element is not a match, but whether it differs is unknown); a null
    `element` matches only nulls and differs definitely from any value
    (``{'s', 'u', 'n', null} properly includes null`` is true).
    """
    if values is None:
        return False
    found = False
    found_unknown = False
    differs = False
    differs_unknown = False
    for v in values:
        if element is None:
            if v is None:
                found = True
            else:
                differs = True
        elif v is None:
            differs_unknown = True  # as for `in`, a null element is not a match
        else:
            r = equal(element, v)
            if r is True:
                found = True
            elif r is False:
                differs = True
            else:
                found_unknown = differs_unknown = True
    inside = True if found else (None if found_unknown else False)
    other = True if differs else (None if differs_unknown else False)
    return and3(inside, other)


def list_proper_in(element: Any, values: list[Any] | None) -> bool | None:
    """``element properly included in list`` (ELM ProperIn for lists): see list_proper_contains."""
    return list_proper_contains(values, element)


def list_union(a: list[Any] | None, b: list[Any] | None) -> list[Any]:
    """``a union b`` for lists: distinct elements of both; a null side counts as {} (spec 1.5)."""
    return _distinct([*(a or []), *(b or [])])


def list_intersect(a: list[Any] | None, b: list[Any] | None) -> list[Any] | None:
    """``a intersect b`` for lists: distinct elements of a that are in b; null if either is null."""
    if a is None or b is None:
        return None
    members = _Members(b)
    return _distinct(x for x in a if members.contains(x))


def list_except(a: list[Any] | None, b: list[Any] | None) -> list[Any] | None:
    """``a except b`` for lists: distinct elements of a not in b; a null b counts as {}."""
    if a is None:
        return None
    members = _Members(b or [])
    return _distinct(x for x in a if not members.contains(x))


# ---------------------------------------------------------------------------------------------
# sorting


def _precision_rank(x: Any) -> int | None:
    p = getattr(x, "precision", None)
    if p is None:
        return None
    for candidate in (p, getattr(p, "value", None)):
        if isinstance(candidate, int):
            return int(candidate)
    return None


def sort_compare(a: Any, b: Any) -> int:
    """Total order used by ``sort``: nulls first, then CQL comparison of the values.

    Where CQL comparison is unknown because one date/time value is less precise but agrees on
    every component it has (``@2012-01-01`` vs ``@2012-01-01T12``), the less precise one sorts
    first (conformance: SortDatesAsc). Values that cannot be ordered at all keep their order.
    """
    if a is None or b is None:
        return (a is not None) - (b is not None)
    try:
        c = compare(a, b)
    except (TypeError, AttributeError):
        return 0
    if c is not None:
        return c
    ra, rb = _precision_rank(a), _precision_rank(b)
    if ra is not None and rb is not None:
        return (ra > rb) - (ra < rb)
    return 0


def sort_list(
    values: list[Any] | None,
    descending: bool = False,
    key: Callable[[Any], Any] | None = None,
) -> list[Any] | None:
    """Sort a list for ``sort asc|desc`` (or ``sort by``, with `key` picking the sort value).

    Stable; nulls sort first ascending and last descending (spec: 'Sort' in the query section
    orders nulls before values for ascending sorts). A null list stays null.
    """
    if values is None:
        return None
    if key is None:
        cmp = sort_compare
    else:
        k = key

        def cmp(a: Any, b: Any) -> int:
            return sort_compare(k(a), k(b))

    return sorted(values, key=cmp_to_key(cmp), reverse=descending)

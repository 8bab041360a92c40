"""Equality, equivalence and ordering of every CQL value (CQL reference, 'Comparison
Operators'); the operator chapters and the FHIR layer compare values only through these.

`equal` is three-valued (null when either side or any compared component is unknown);
`equivalent` is two-valued (null ~ null is true; strings ignore case and whitespace runs;
decimals compare at the precision of the less precise operand). `compare` orders points
(:mod:`.order`); intervals compare by their boundaries (:mod:`.interval`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .interval import interval_equal, interval_equivalent
from .order import compare, equivalent_point, is_number
from .values import Code, CodeSystemRef, Concept, CqlTuple, Interval, ValueSetRef

__all__ = ["compare", "equal", "equivalent"]


def equal(a: Any, b: Any) -> bool | None:
    """CQL `=`."""
    if a is None or b is None:
        return None
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b if isinstance(a, bool) and isinstance(b, bool) else False
    if is_number(a) and is_number(b):
        return bool(a == b)
    if isinstance(a, str) and isinstance(b, str):
        return a == b
    if isinstance(a, list) and isinstance(b, list):
        return _equal_seq(a, b, nulls_equal=True)
    if isinstance(a, Interval) and isinstance(b, Interval):
        return interval_equal(a, b)
    if isinstance(a, CqlTuple) and isinstance(b, CqlTuple):
        if set(a.keys()) != set(b.keys()):
            return False
        return _equal_seq([a[k] for k in a], [b[k] for k in a], nulls_equal=True)
    if isinstance(a, Code) and isinstance(b, Code):
        return a.code == b.code and a.system == b.system and a.version == b.version and a.display == b.display
    if isinstance(a, Concept) and isinstance(b, Concept):
        if len(a.codes) != len(b.codes):
            return False
        return all(equal(x, y) for x, y in zip(a.codes, b.codes)) and a.display == b.display
    if isinstance(a, (ValueSetRef, CodeSystemRef)) and type(a) is type(b):
        return a.id == b.id and a.version == b.version
    eq = getattr(a, "equal", None)  # Quantity, Date, DateTime, Time compare themselves
    if eq is not None and type(a) is type(b):
        return eq(b)
    if isinstance(a, Mapping) and isinstance(b, Mapping):  # FHIR resources and elements
        return a == b
    return False


def _equal_seq(a: list[Any], b: list[Any], nulls_equal: bool = False) -> bool | None:
    """Element by element, in order: the first element pair that is not equal decides
    (false, or null when one side is null); two nulls count as equal. This is the conformance
    suite's reading (`{null} = {null}` is true; `Tuple{Id: null, Name: 'John'} = Tuple{Id: 1,
    Name: 'James'}` is null although the names differ; `Tuple{Id: 1, ...} = Tuple{Id: 2, Name:
    null}` is false)."""
    if len(a) != len(b):
        return False
    for x, y in zip(a, b):
        if x is None and y is None:
            if nulls_equal:
                continue
            return None
        r = equal(x, y)
        if r is not True:
            return r
    return True


def equivalent(a: Any, b: Any) -> bool:
    """CQL `~`."""
    if a is None or b is None:
        return a is None and b is None
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(equivalent(x, y) for x, y in zip(a, b))
    if isinstance(a, Interval) and isinstance(b, Interval):
        return interval_equivalent(a, b)
    if isinstance(a, CqlTuple) and isinstance(b, CqlTuple):
        return set(a.keys()) == set(b.keys()) and all(equivalent(a[k], b[k]) for k in a)
    if isinstance(a, Code) and isinstance(b, Code):
        return a.code == b.code and a.system == b.system
    if isinstance(a, Concept) and isinstance(b, Concept):
        return any(equivalent(x, y) for x in a.codes for y in b.codes)
    if isinstance(a, Code) and isinstance(b, Concept):
        return any(equivalent(a, y) for y in b.codes)
    if isinstance(a, Concept) and isinstance(b, Code):
        return any(equivalent(x, b) for x in a.codes)
    # points (numbers, strings, booleans, value classes) as order.equivalent_point defines them
    point = equivalent_point(a, b)
    if point or (getattr(a, "equivalent", None) is not None and type(a) is type(b)):
        return point
    return isinstance(a, Mapping) and isinstance(b, Mapping) and a == b

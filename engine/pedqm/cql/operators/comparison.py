"""Comparison operators (CQL reference 'Comparison Operators') and the generic equality,
equivalence and ordering every other chapter builds on.

`equal` is three-valued (null when either side or any compared component is unknown);
`equivalent` is two-valued (null ~ null is true; strings ignore case and whitespace runs;
decimals compare at the precision of the less precise operand).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from ..errors import CqlRuntimeError
from ..runtime.quantity import Quantity
from ..runtime.uncertainty import Uncertainty
from ..runtime.values import Code, CodeSystemRef, Concept, CqlTuple, Interval, ValueSetRef
from .registry import operator

_NUMBER = (int, Decimal)


def _is_number(x: Any) -> bool:
    return isinstance(x, _NUMBER) and not isinstance(x, bool)


def equal(a: Any, b: Any) -> bool | None:
    """CQL `=`."""
    if a is None or b is None:
        return None
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b if isinstance(a, bool) and isinstance(b, bool) else False
    if _is_number(a) and _is_number(b):
        return bool(a == b)
    if isinstance(a, str) and isinstance(b, str):
        return a == b
    if isinstance(a, list) and isinstance(b, list):
        return _equal_seq(a, b, nulls_equal=True)
    if isinstance(a, Interval) and isinstance(b, Interval):
        from .interval import interval_equal

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
    eq = getattr(a, "equal", None)
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


_WS = re.compile(r"\s+")


def _norm_str(s: str) -> str:
    return _WS.sub(" ", s.strip()).casefold()


def equivalent(a: Any, b: Any) -> bool:
    """CQL `~`."""
    if a is None or b is None:
        return a is None and b is None
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b
    if _is_number(a) and _is_number(b):
        if isinstance(a, Decimal) or isinstance(b, Decimal):
            from ..runtime.quantity import decimal_equivalent

            return decimal_equivalent(Decimal(a), Decimal(b))
        return bool(a == b)
    if isinstance(a, str) and isinstance(b, str):
        return _norm_str(a) == _norm_str(b)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(equivalent(x, y) for x, y in zip(a, b))
    if isinstance(a, Interval) and isinstance(b, Interval):
        from .interval import interval_equivalent

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
    eqv = getattr(a, "equivalent", None)
    if eqv is not None and type(a) is type(b):
        return bool(eqv(b))
    if isinstance(a, Mapping) and isinstance(b, Mapping):
        return a == b
    return False


def _number_as_quantity(a: Any, b: Any) -> tuple[Any, Any]:
    """A number met by a Quantity is the Quantity with unit '1' (the implicit ToQuantity the
    translator inserts when it knows the types statically; here the types were only known at
    run time, e.g. a FHIR choice element)."""
    if isinstance(a, Quantity) and _is_number(b):
        return a, Quantity(b, "1")
    if _is_number(a) and isinstance(b, Quantity):
        return Quantity(a, "1"), b
    return a, b


def compare(a: Any, b: Any, precision: str | None = None) -> int | None:
    """Order two values of the same ordered type: -1, 0, 1, or None when unknown."""
    if a is None or b is None:
        return None
    if _is_number(a) and _is_number(b):
        return (a > b) - (a < b)
    if isinstance(a, str) and isinstance(b, str):
        return (a > b) - (a < b)
    a, b = _number_as_quantity(a, b)
    if _is_number(a) and hasattr(b, "compare"):  # an Integer met by an uncertainty
        flipped = b.compare(a)
        return None if flipped is None else -flipped
    cmp = getattr(a, "compare", None)
    if cmp is None:
        raise CqlRuntimeError(f"cannot compare {_type_name(a)} with {_type_name(b)}")
    if precision is not None:
        from ..runtime.temporal import Precision

        return cmp(b, Precision.parse(precision))
    return cmp(b)


@operator("Equal", strict=False)
def Equal(a: Any, b: Any) -> bool | None:
    return equal(a, b)


@operator("NotEqual", strict=False)
def NotEqual(a: Any, b: Any) -> bool | None:
    r = equal(a, b)
    return None if r is None else not r


@operator("Equivalent", strict=False)
def Equivalent(a: Any, b: Any) -> bool:
    return equivalent(a, b)


@operator("NotEquivalent", strict=False)
def NotEquivalent(a: Any, b: Any) -> bool:
    return not equivalent(a, b)


def _cmp_op(a: Any, b: Any, precision: str | None, test: Any, uncertain: str) -> bool | None:
    if isinstance(a, Uncertainty) or isinstance(b, Uncertainty):
        # an uncertain duration (`months between @2019 and @2023-03`) is a range of integers:
        # the comparison is known when every value in the range answers alike (CQL Reference,
        # Date/Time Arithmetic, uncertainty); `[30, 40] <= [40, 50]` is true
        if all(isinstance(x, (int, Uncertainty)) and not isinstance(x, bool) for x in (a, b)):
            result: bool | None = getattr(Uncertainty.lift(a), uncertain)(b)
            return result
        raise CqlRuntimeError(f"cannot compare {_type_name(a)} with {_type_name(b)}")
    c = compare(a, b, precision)
    return None if c is None else test(c)


def _type_name(v: Any) -> str:
    from ..types import type_of_value

    return str(type_of_value(v)).removeprefix("System.")


@operator("Less")
def Less(a: Any, b: Any, precision: str | None = None) -> bool | None:
    return _cmp_op(a, b, precision, lambda c: c < 0, "less")


@operator("Greater")
def Greater(a: Any, b: Any, precision: str | None = None) -> bool | None:
    return _cmp_op(a, b, precision, lambda c: c > 0, "greater")


@operator("LessOrEqual")
def LessOrEqual(a: Any, b: Any, precision: str | None = None) -> bool | None:
    return _cmp_op(a, b, precision, lambda c: c <= 0, "less_or_equal")


@operator("GreaterOrEqual")
def GreaterOrEqual(a: Any, b: Any, precision: str | None = None) -> bool | None:
    return _cmp_op(a, b, precision, lambda c: c >= 0, "greater_or_equal")

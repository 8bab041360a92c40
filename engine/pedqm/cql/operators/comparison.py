"""Comparison operators (CQL reference 'Comparison Operators'): registration, nulls and the
uncertain-duration forms. What equal, equivalent and ordering mean for each value lives in
:mod:`pedqm.cql.runtime.compare`.
"""

from __future__ import annotations

from typing import Any

from ..errors import CqlRuntimeError
from ..runtime.compare import compare, equal, equivalent
from ..runtime.order import type_name
from ..runtime.uncertainty import Uncertainty
from .registry import operator


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
        raise CqlRuntimeError(f"cannot compare {type_name(a)} with {type_name(b)}")
    c = compare(a, b, precision)
    return None if c is None else test(c)


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

"""Ordering of single CQL values (points): compare, equivalence of points, successor and
predecessor, minimum and maximum of a point type.

This is the bottom of the value semantics: :mod:`.interval` reasons about boundaries with it
and :mod:`.compare` builds equality and equivalence of lists, tuples, codes and intervals on
top of both. Ordered values are Integer, Long, Decimal, String, Quantity, Date, DateTime and
Time (and uncertain durations); the value classes compare themselves (``compare``,
``equivalent``, ``successor``), numbers and strings are compared here.
"""

from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Context, Decimal, DivisionByZero, InvalidOperation, Overflow
from typing import Any

from ..errors import CqlRuntimeError
from ..types import type_of_value
from .quantity import MAX_DECIMAL, MIN_DECIMAL, Quantity, decimal_equivalent, normalize_decimal
from .temporal import Date, DateTime, Precision, Time
from .values import INT_MAX, INT_MIN, LONG_MAX, LONG_MIN, Long

__all__ = [
    "STEP",
    "TEMPORAL_TYPES",
    "compare",
    "equivalent_point",
    "extreme",
    "is_number",
    "normalize_string",
    "point_type_of",
    "predecessor",
    "successor",
    "type_name",
]

STEP = Decimal("1E-8")  # CQL Decimal step size (scale 8)
TEMPORAL_TYPES = (Date, DateTime, Time)
_TEMPORAL_BY_NAME: dict[str, type[Date] | type[DateTime] | type[Time]] = {
    "Date": Date, "DateTime": DateTime, "Time": Time,
}
_NUMBER = (int, Decimal)
_CTX = Context(prec=60, rounding=ROUND_HALF_UP, traps=[InvalidOperation, DivisionByZero, Overflow])
_WS = re.compile(r"\s+")


def is_number(x: Any) -> bool:
    """Integer, Long or Decimal (a Python bool is a CQL Boolean, not a number)."""
    return isinstance(x, _NUMBER) and not isinstance(x, bool)


def type_name(v: Any) -> str:
    """The CQL type name of a run-time value, for messages (never a Python class name)."""
    return str(type_of_value(v)).removeprefix("System.")


def normalize_string(s: str) -> str:
    """Strings are equivalent ignoring case and runs of whitespace."""
    return _WS.sub(" ", s.strip()).casefold()


def _number_as_quantity(a: Any, b: Any) -> tuple[Any, Any]:
    """A number met by a Quantity is the Quantity with unit '1' (the implicit ToQuantity the
    translator inserts when it knows the types statically; here the types were only known at
    run time, e.g. a FHIR choice element)."""
    if isinstance(a, Quantity) and is_number(b):
        return a, Quantity(b, "1")
    if is_number(a) and isinstance(b, Quantity):
        return Quantity(a, "1"), b
    return a, b


def compare(a: Any, b: Any, precision: str | None = None) -> int | None:
    """Order two values of the same ordered type: -1, 0, 1, or None when unknown."""
    if a is None or b is None:
        return None
    if is_number(a) and is_number(b):
        return (a > b) - (a < b)
    if isinstance(a, str) and isinstance(b, str):
        return (a > b) - (a < b)
    a, b = _number_as_quantity(a, b)
    if is_number(a) and hasattr(b, "compare"):  # an Integer met by an uncertainty
        flipped = b.compare(a)
        return None if flipped is None else -flipped
    cmp = getattr(a, "compare", None)
    if cmp is None:
        raise CqlRuntimeError(f"cannot compare {type_name(a)} with {type_name(b)}")
    if precision is not None:
        return cmp(b, Precision.parse(precision))
    return cmp(b)


def equivalent_point(a: Any, b: Any) -> bool:
    """CQL `~` for two points (or nulls): numbers at the precision of the less precise operand,
    strings ignoring case and whitespace, value classes by their own ``equivalent``."""
    if a is None or b is None:
        return a is None and b is None
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b
    if is_number(a) and is_number(b):
        if isinstance(a, Decimal) or isinstance(b, Decimal):
            return decimal_equivalent(Decimal(a), Decimal(b))
        return bool(a == b)
    if isinstance(a, str) and isinstance(b, str):
        return normalize_string(a) == normalize_string(b)
    eqv = getattr(a, "equivalent", None)
    if eqv is not None and type(a) is type(b):
        return bool(eqv(b))
    return False


def _int_step(x: int, delta: int, what: str) -> int:
    long = isinstance(x, Long)
    value = int(x) + delta
    lo, hi = (LONG_MIN, LONG_MAX) if long else (INT_MIN, INT_MAX)
    if not lo <= value <= hi:
        raise CqlRuntimeError(f"{what} of the {'maximum' if delta > 0 else 'minimum'} {'Long' if long else 'Integer'}")
    return Long(value) if long else value


def successor(x: Any) -> Any:
    """The next value of an ordered type (Integer/Long +1, Decimal/Quantity +10^-8, date/time
    +1 at its precision). Null in, null out; beyond the type's maximum is a run-time error
    (conformance: ``successor of @T23:59:59.999`` is invalid)."""
    if x is None:
        return None
    if isinstance(x, int) and not isinstance(x, bool):
        return _int_step(x, 1, "successor")
    if isinstance(x, Decimal):
        d = normalize_decimal(_CTX.add(x, STEP))
        if d > MAX_DECIMAL:
            raise CqlRuntimeError("successor of the maximum Decimal")
        return d
    if hasattr(x, "successor"):  # Quantity, Date, DateTime, Time
        return x.successor()
    raise CqlRuntimeError(f"successor is not defined for ({type(x).__name__})")


def predecessor(x: Any) -> Any:
    """The previous value of an ordered type (see :func:`successor`); below the type's minimum
    is a run-time error."""
    if x is None:
        return None
    if isinstance(x, int) and not isinstance(x, bool):
        return _int_step(x, -1, "predecessor")
    if isinstance(x, Decimal):
        d = normalize_decimal(_CTX.subtract(x, STEP))
        if d < MIN_DECIMAL:
            raise CqlRuntimeError("predecessor of the minimum Decimal")
        return d
    if hasattr(x, "predecessor"):
        return x.predecessor()
    raise CqlRuntimeError(f"predecessor is not defined for ({type(x).__name__})")


def point_type_of(x: Any) -> str | None:
    """The CQL point type name of a run-time value (None for null or a non-point)."""
    if x is None or isinstance(x, bool):
        return None
    if isinstance(x, Long):
        return "Long"
    if isinstance(x, int):
        return "Integer"
    if isinstance(x, Decimal):
        return "Decimal"
    if isinstance(x, str):
        return "String"
    if isinstance(x, Quantity):
        return "Quantity"
    if isinstance(x, DateTime):
        return "DateTime"
    if isinstance(x, Date):
        return "Date"
    if isinstance(x, Time):
        return "Time"
    return None


def extreme(ptype: str | None, ref: Any, high: bool) -> Any:
    """Minimum/maximum value of a point type (spec MinValue/MaxValue); None when unknown.

    `ref` is another value of the same type, so that a Quantity extreme keeps its unit and a
    DateTime extreme its offset.
    """
    if ptype is None:
        return None
    if ptype == "Integer":
        return INT_MAX if high else INT_MIN
    if ptype == "Long":
        return Long(LONG_MAX if high else LONG_MIN)
    if ptype == "Decimal":
        return MAX_DECIMAL if high else MIN_DECIMAL
    if ptype == "Quantity":
        return Quantity(MAX_DECIMAL if high else MIN_DECIMAL, ref.unit if isinstance(ref, Quantity) else "1")
    if ptype == "DateTime":
        if isinstance(ref, DateTime) and ref.tz_offset is not None:
            return DateTime.max_value(ref.tz_offset) if high else DateTime.min_value(ref.tz_offset)
        return DateTime.max_value() if high else DateTime.min_value()
    cls = _TEMPORAL_BY_NAME.get(ptype)
    if cls is not None:
        return cls.max_value() if high else cls.min_value()
    return None

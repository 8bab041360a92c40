"""Arithmetic operators (CQL 1.5 reference, 'Arithmetic Operators'), plus date/time arithmetic
(`+`/`-` of a time-valued quantity, 'Date and Time Operators') and uncertainty arithmetic
(CQL 1.5 §5.8.1.2).

Numeric conventions:

* Integer is 32-bit and Long 64-bit; mixing Integer with Long gives Long, with Decimal gives
  Decimal. The spec's general rule ("operations that cause arithmetic overflow or underflow, or
  otherwise cannot be performed (such as division by 0) will result in null") is followed, with
  the exceptions the conformance suite pins down as run-time errors: ``Exp`` overflowing
  (``Exp(1000)``), ``Ln(0)``, and ``successor``/``predecessor`` leaving the type's range.
* Decimal results carry at most 8 decimal places (rounded half away from zero); exact results
  keep their natural scale (``1.0 + 1.0`` is ``2.0``). Computation runs in a 60-digit context
  so that rounding happens once, at the 8th decimal place.
* Decimal overflow: the spec's Decimal type ends at ``maximum Decimal`` = (10^28-1)/10^8, but
  the conformance suite's literal group (ValueLiteralsAndSelectors.xml, following spec §3.1.3
  "in the range 0.0 .. 10^28 - 10^-8") computes ``10*1000000000000000000000000000.00000000 -
  0.00000001`` as 9999999999999999999999999999.99999999. Arithmetic results are therefore null
  only when their magnitude exceeds 10^28 (:data:`DECIMAL_OVERFLOW`); ``maximum``/``minimum``
  Decimal and ``successor``/``predecessor`` keep the spec's type range.
"""

from __future__ import annotations

from decimal import (
    ROUND_CEILING,
    ROUND_DOWN,
    ROUND_FLOOR,
    ROUND_HALF_UP,
    Context,
    Decimal,
    DivisionByZero,
    InvalidOperation,
    Overflow,
)
from typing import Any

from ..errors import CqlRuntimeError
from ..runtime.order import predecessor, successor
from ..runtime.quantity import (
    MAX_DECIMAL,
    MIN_DECIMAL,
    Quantity,
    duration_precision,
    normalize_decimal,
)
from ..runtime.temporal import Date, DateTime, Time
from ..runtime.temporal import Precision as TemporalPrecision
from ..runtime.uncertainty import Uncertainty
from ..runtime.values import INT_MAX, INT_MIN, LONG_MAX, LONG_MIN, Long
from .registry import operator

STEP = Decimal("1E-8")  # CQL Decimal step size (scale 8)
DECIMAL_OVERFLOW = Decimal(10) ** 28  # see the module docstring
MAX_SCALE = 8

# Room for exact sums/products of 28-digit operands; traps turn overflow into exceptions.
_CTX = Context(prec=60, rounding=ROUND_HALF_UP, traps=[InvalidOperation, DivisionByZero, Overflow])
_ARITH_ERRORS = (InvalidOperation, DivisionByZero, Overflow)


# -- helpers --------------------------------------------------------------------------------------


def _is_int(x: Any) -> bool:
    return isinstance(x, int) and not isinstance(x, bool)


def _is_num(x: Any) -> bool:
    return _is_int(x) or isinstance(x, Decimal)


def _int_result(value: int, long: bool) -> int | None:
    """An Integer (or Long) result, or null when it does not fit the type (spec: overflow)."""
    if long:
        return Long(value) if LONG_MIN <= value <= LONG_MAX else None
    return value if INT_MIN <= value <= INT_MAX else None


def _dec_result(value: Decimal | None) -> Decimal | None:
    """A Decimal result rounded to scale 8; null when it overflows (see the module docstring)."""
    if value is None or not value.is_finite():
        return None
    value = normalize_decimal(value)
    return value if value.copy_abs() <= DECIMAL_OVERFLOW else None


def _trim(value: Decimal) -> Decimal:
    """Drop trailing zeros of an inexact (8-place) result, keeping one decimal place.

    Transcendental results (Ln, Exp, Log, division) have no meaningful natural scale, so
    ``Ln(1)`` is shown as ``0.0`` rather than ``0.00000000``.
    """
    if value.is_zero():
        return Decimal("0.0")
    n = value.normalize(_CTX)
    exponent = n.as_tuple().exponent
    assert isinstance(exponent, int)
    return n.quantize(Decimal("0.1"), context=_CTX) if exponent > -1 else n


def _inexact_result(value: Decimal) -> Decimal | None:
    r = _dec_result(value)
    return None if r is None else _trim(r)


def _dec(x: Any) -> Decimal:
    return x if isinstance(x, Decimal) else Decimal(int(x))


def _long(*xs: Any) -> bool:
    return any(isinstance(x, Long) for x in xs)


def _as_quantity(x: Any) -> Quantity:
    """Implicit Integer/Decimal -> Quantity conversion (default unit '1')."""
    return x if isinstance(x, Quantity) else Quantity(_dec(x), "1")


def _is_temporal(x: Any) -> bool:
    return isinstance(x, (Date, DateTime, Time))


def _type_error(op: str, *args: Any) -> CqlRuntimeError:
    names = ", ".join(type(a).__name__ for a in args)
    return CqlRuntimeError(f"{op} is not defined for ({names})")


def _trunc_div(a: int, b: int) -> int:
    """Integer division truncated toward zero (Python's // floors)."""
    q = abs(a) // abs(b)
    return q if (a >= 0) == (b >= 0) else -q


# -- date/time arithmetic -------------------------------------------------------------------------


def _temporal_shift(value: Any, q: Quantity, sign: int) -> Any:
    """Date/DateTime/Time plus (sign=1) or minus (sign=-1) a time-valued quantity.

    Spec ('Add'/'Subtract', Date and Time Operators): units may be singular, plural or UCUM, but
    a UCUM definite-duration unit above days and weeks ('a', 'mo') is an error. The temporal
    type applies the rest: decimal parts above seconds ignored, quantities finer than the value
    converted to its precision and truncated, out-of-range results a run-time error.
    """
    if q.unit in ("a", "mo"):
        raise CqlRuntimeError(
            f"cannot add the definite-duration quantity {q.to_cql()} to a date/time; "
            "use a calendar duration (years, months)"
        )
    unit = duration_precision(q.unit)
    if unit is None:
        raise CqlRuntimeError(f"{q.to_cql()} is not a time-valued quantity")
    return value.add(q.value, unit) if sign > 0 else value.subtract(q.value, unit)


# -- Add, Subtract, Multiply, Divide --------------------------------------------------------------


@operator("Add")
def Add(a: Any, b: Any) -> Any:
    """CQL ``+``: numbers, quantities, strings (concatenation), date/time + quantity, and
    uncertainties (interval arithmetic on the bounds)."""
    if _is_int(a) and _is_int(b):
        return _int_result(int(a) + int(b), _long(a, b))
    if _is_num(a) and _is_num(b):
        return _dec_result(_CTX.add(_dec(a), _dec(b)))
    if isinstance(a, str) and isinstance(b, str):
        return a + b
    if (isinstance(a, Quantity) or _is_num(a)) and (isinstance(b, Quantity) or _is_num(b)):
        return _as_quantity(a).add(_as_quantity(b))
    if isinstance(b, Quantity) and _is_temporal(a):
        return _temporal_shift(a, b, 1)
    if isinstance(a, Uncertainty) or isinstance(b, Uncertainty):
        if _is_int(a) or _is_int(b) or (isinstance(a, Uncertainty) and isinstance(b, Uncertainty)):
            return Uncertainty.lift(a).add(b)
    raise _type_error("+", a, b)


@operator("Subtract")
def Subtract(a: Any, b: Any) -> Any:
    """CQL binary ``-``: numbers, quantities, date/time - quantity, and uncertainties."""
    if _is_int(a) and _is_int(b):
        return _int_result(int(a) - int(b), _long(a, b))
    if _is_num(a) and _is_num(b):
        return _dec_result(_CTX.subtract(_dec(a), _dec(b)))
    if (isinstance(a, Quantity) or _is_num(a)) and (isinstance(b, Quantity) or _is_num(b)):
        return _as_quantity(a).subtract(_as_quantity(b))
    if isinstance(b, Quantity) and _is_temporal(a):
        return _temporal_shift(a, b, -1)
    if isinstance(a, Uncertainty) or isinstance(b, Uncertainty):
        if _is_int(a) or _is_int(b) or (isinstance(a, Uncertainty) and isinstance(b, Uncertainty)):
            return Uncertainty.lift(a).subtract(b)
    raise _type_error("-", a, b)


@operator("Multiply")
def Multiply(a: Any, b: Any) -> Any:
    """CQL ``*``: numbers, quantities (units multiply per UCUM), and uncertainties."""
    if _is_int(a) and _is_int(b):
        return _int_result(int(a) * int(b), _long(a, b))
    if _is_num(a) and _is_num(b):
        return _dec_result(_CTX.multiply(_dec(a), _dec(b)))
    if isinstance(a, Quantity) and (isinstance(b, Quantity) or _is_num(b)):
        return a.multiply(b if isinstance(b, Quantity) else _dec(b))
    if isinstance(b, Quantity) and _is_num(a):
        return b.multiply(_dec(a))
    if isinstance(a, Uncertainty) or isinstance(b, Uncertainty):
        if _is_int(a) or _is_int(b) or (isinstance(a, Uncertainty) and isinstance(b, Uncertainty)):
            return Uncertainty.lift(a).multiply(b)
    raise _type_error("*", a, b)


@operator("Divide")
def Divide(a: Any, b: Any) -> Any:
    """CQL ``/``: always Decimal division (Integer/Long operands are converted); division by
    zero or an unrepresentable result is null. Quantities divide their units."""
    if _is_num(a) and _is_num(b):
        divisor = _dec(b)
        if divisor.is_zero():
            return None
        return _inexact_result(_CTX.divide(_dec(a), divisor))
    if isinstance(a, Quantity) and _is_num(b):
        return a.divide(_dec(b))
    if isinstance(b, Quantity) and (isinstance(a, Quantity) or _is_num(a)):
        return _as_quantity(a).divide(b)
    raise _type_error("/", a, b)


@operator("TruncatedDivide")
def TruncatedDivide(a: Any, b: Any) -> Any:
    """CQL ``div``: quotient truncated toward zero; division by zero is null. For quantities the
    result keeps the operand unit (conformance: ``10.1 'cm' div -3.1 'cm'`` = ``-3.0 'cm'``)."""
    if _is_int(a) and _is_int(b):
        if b == 0:
            return None
        return _int_result(_trunc_div(int(a), int(b)), _long(a, b))
    if _is_num(a) and _is_num(b):
        divisor = _dec(b)
        if divisor.is_zero():
            return None
        return _dec_result(_CTX.divide_int(_dec(a), divisor))
    if (isinstance(a, Quantity) or _is_num(a)) and (isinstance(b, Quantity) or _is_num(b)):
        return _as_quantity(a).truncated_divide(_as_quantity(b))
    raise _type_error("div", a, b)


@operator("Modulo")
def Modulo(a: Any, b: Any) -> Any:
    """CQL ``mod``: remainder of truncated division (takes the dividend's sign, as in the
    reference engines); a zero divisor gives null."""
    if _is_int(a) and _is_int(b):
        if b == 0:
            return None
        ia, ib = int(a), int(b)
        return _int_result(ia - ib * _trunc_div(ia, ib), _long(a, b))
    if _is_num(a) and _is_num(b):
        divisor = _dec(b)
        if divisor.is_zero():
            return None
        return _dec_result(_CTX.remainder(_dec(a), divisor))
    if (isinstance(a, Quantity) or _is_num(a)) and (isinstance(b, Quantity) or _is_num(b)):
        return _as_quantity(a).modulo(_as_quantity(b))
    raise _type_error("mod", a, b)


# -- Power, Exp, Ln, Log --------------------------------------------------------------------------


@operator("Power")
def Power(a: Any, b: Any) -> Any:
    """CQL ``^``/``Power``. Integer (Long) to a non-negative Integer (Long) power stays Integer
    (Long) (``2^4`` = 16, ``2L^3L`` = 8L); a negative exponent gives a Decimal
    (``Power(2, -2)`` = 0.25). Overflow, ``0`` to a negative power and non-real results
    (negative base, fractional exponent) are null."""
    if _is_int(a) and _is_int(b):
        base, exp = int(a), int(b)
        if exp >= 0:
            if abs(base) > 1 and exp > 64:  # certainly beyond 64 bits; don't compute it
                return None
            return _int_result(base**exp, _long(a, b))
        if base == 0:
            return None
        return _inexact_result(_CTX.power(Decimal(base), exp))
    if _is_num(a) and _is_num(b):
        base_d, exp_d = _dec(a), _dec(b)
        if exp_d.is_zero():
            return Decimal("1.0")
        try:
            return _dec_result(_CTX.power(base_d, exp_d))
        except _ARITH_ERRORS:
            return None
    raise _type_error("^", a, b)


@operator("Exp")
def Exp(x: Any) -> Decimal | None:
    """CQL ``Exp``: e to the power of the argument. A result too large to represent is a
    run-time error (conformance: ``Exp(1000)`` is invalid — it is +infinity in the reference
    engine)."""
    if not _is_num(x):
        raise _type_error("Exp", x)
    try:
        r = _dec(x).exp(_CTX)
    except Overflow as exc:
        raise CqlRuntimeError(f"Exp({x}) overflows the Decimal range") from exc
    if r > DECIMAL_OVERFLOW:
        raise CqlRuntimeError(f"Exp({x}) overflows the Decimal range")
    return _inexact_result(r)


@operator("Ln")
def Ln(x: Any) -> Decimal | None:
    """CQL ``Ln``: natural logarithm. ``Ln(0)`` (negative infinity) is a run-time error and a
    negative argument is null, as the conformance suite expects."""
    if not _is_num(x):
        raise _type_error("Ln", x)
    d = _dec(x)
    if d.is_zero():
        raise CqlRuntimeError("Ln(0) is negative infinity")
    if d < 0:
        return None
    return _inexact_result(d.ln(_CTX))


@operator("Log")
def Log(x: Any, base: Any) -> Decimal | None:
    """CQL ``Log(argument, base)``: null when undefined (argument <= 0, base <= 0 or base 1)."""
    if not (_is_num(x) and _is_num(base)):
        raise _type_error("Log", x, base)
    d, b = _dec(x), _dec(base)
    if d <= 0 or b <= 0 or b == 1:
        return None
    return _inexact_result(_CTX.divide(d.ln(_CTX), b.ln(_CTX)))


# -- unary ----------------------------------------------------------------------------------------


@operator("Negate")
def Negate(x: Any) -> Any:
    """CQL unary ``-``; ``-(minimum Integer)`` is null (overflow). Negative zero becomes zero."""
    if _is_int(x):
        return _int_result(-int(x), _long(x))
    if isinstance(x, Decimal):
        return _dec_result(x.copy_negate())
    if isinstance(x, (Quantity, Uncertainty)):
        return x.negate()
    raise _type_error("-", x)


@operator("Abs")
def Abs(x: Any) -> Any:
    """CQL ``Abs``; ``Abs(minimum Integer)`` is null (overflow); quantities keep their unit."""
    if _is_int(x):
        return _int_result(abs(int(x)), _long(x))
    if isinstance(x, Decimal):
        return _dec_result(x.copy_abs())
    if isinstance(x, Quantity):
        return x.abs()
    raise _type_error("Abs", x)


def _to_integer(x: Any, rounding: str, op: str) -> int | None:
    """Decimal -> Integer with the given rounding; null outside the Integer range (spec)."""
    if _is_int(x):
        v = int(x)
    elif isinstance(x, Decimal):
        v = int(x.to_integral_value(rounding=rounding))
    else:
        raise _type_error(op, x)
    return v if INT_MIN <= v <= INT_MAX else None


@operator("Ceiling")
def Ceiling(x: Any) -> int | None:
    """CQL ``Ceiling``: least Integer >= the argument; null if not an Integer."""
    return _to_integer(x, ROUND_CEILING, "Ceiling")


@operator("Floor")
def Floor(x: Any) -> int | None:
    """CQL ``Floor``: greatest Integer <= the argument; null if not an Integer."""
    return _to_integer(x, ROUND_FLOOR, "Floor")


@operator("Truncate")
def Truncate(x: Any) -> int | None:
    """CQL ``Truncate``: the integer part (toward zero); null if not an Integer."""
    return _to_integer(x, ROUND_DOWN, "Truncate")


@operator("Round", strict=False)
def Round(x: Any, digits: Any = None) -> Any:
    """CQL ``Round(argument[, precision])``: traditional rounding, half away from zero
    (``Round(-0.5)`` = -1.0, ``Round(-1.5)`` = -2.0); a null precision means 0."""
    if x is None:
        return None
    p = 0 if digits is None else int(digits)
    if isinstance(x, Quantity):
        return x.round(p)
    if not _is_num(x):
        raise _type_error("Round", x)
    quantum = Decimal(1).scaleb(-p)
    try:
        return _dec_result(_dec(x).quantize(quantum, rounding=ROUND_HALF_UP, context=_CTX))
    except _ARITH_ERRORS:
        return None


# -- successor / predecessor ----------------------------------------------------------------------


@operator("Successor")
def Successor(x: Any) -> Any:
    """CQL ``successor of``."""
    return successor(x)


@operator("Predecessor")
def Predecessor(x: Any) -> Any:
    """CQL ``predecessor of``."""
    return predecessor(x)


# -- minimum / maximum ----------------------------------------------------------------------------


def _simple_type_name(type_name: str) -> str:
    """'System.Integer' / '{urn:hl7-org:elm-types:r1}Integer' / 'Integer' -> 'Integer'."""
    name = type_name.rsplit("}", 1)[-1]
    return name.rsplit(".", 1)[-1]


def _extreme(type_name: str, which: str) -> Any:
    name = _simple_type_name(type_name)
    hi = which == "max"
    if name == "Integer":
        return INT_MAX if hi else INT_MIN
    if name == "Long":
        return Long(LONG_MAX if hi else LONG_MIN)
    if name == "Decimal":
        return MAX_DECIMAL if hi else MIN_DECIMAL
    if name == "Quantity":
        return Quantity(MAX_DECIMAL if hi else MIN_DECIMAL, "1")
    if name in ("Date", "DateTime", "Time"):
        if name == "Date":
            return Date.max_value() if hi else Date.min_value()
        if name == "DateTime":
            return DateTime.max_value() if hi else DateTime.min_value()
        return Time.max_value() if hi else Time.min_value()
    raise CqlRuntimeError(f"the {'maximum' if hi else 'minimum'} operator is not defined for {name}")


def min_value(type_name: str) -> Any:
    """The least value of a type (``minimum Integer`` = -2147483648); a run-time error for types
    without one (``minimum Boolean``)."""
    return _extreme(type_name, "min")


def max_value(type_name: str) -> Any:
    """The greatest value of a type (``maximum Decimal`` = 99999999999999999999.99999999)."""
    return _extreme(type_name, "max")


@operator("MinValue", strict=False, arity=1)
def MinValue(type_name: str) -> Any:
    """CQL ``minimum T``."""
    return min_value(type_name)


@operator("MaxValue", strict=False, arity=1)
def MaxValue(type_name: str) -> Any:
    """CQL ``maximum T``."""
    return max_value(type_name)


# -- Precision, LowBoundary, HighBoundary ---------------------------------------------------------

# Digits of precision of each temporal precision (spec 'Precision': @2014 -> 4,
# @2014-01-05T10:30:00.000 -> 17, @T10:30 -> 4, @T10:30:00.000 -> 9).
_DATETIME_DIGITS = {"year": 4, "month": 6, "day": 8, "hour": 10, "minute": 12, "second": 14,
                    "millisecond": 17}
_TIME_DIGITS = {"hour": 2, "minute": 4, "second": 6, "millisecond": 9}


def _scale(d: Decimal) -> int:
    exponent = d.as_tuple().exponent
    assert isinstance(exponent, int)
    return max(0, -exponent)


def _digit_table(value: Any) -> dict[str, int]:
    if isinstance(value, Time):
        return _TIME_DIGITS
    if isinstance(value, Date):
        return {k: v for k, v in _DATETIME_DIGITS.items() if v <= 8}
    return _DATETIME_DIGITS


@operator("Precision")
def Precision(x: Any) -> int:
    """CQL ``Precision``: digits after the point of a Decimal (``Precision(1.58700)`` = 5), or
    the number of digits a Date/DateTime/Time is specified to."""
    if isinstance(x, Decimal):
        return _scale(x)
    if _is_int(x):
        return 0
    if _is_temporal(x):
        return int(x.precision_digits)
    raise _type_error("Precision", x)


def _decimal_boundary(x: Decimal, digits: int | None, high: bool) -> Decimal | None:
    """Least/greatest decimal that ``x`` could stand for, to ``digits`` places (1.5 spec and
    conformance: ``LowBoundary(1.587, 8)`` = 1.58700000, ``HighBoundary(1.587, 8)`` =
    1.58799999). Coarser than the input rounds outward (floor for low, ceiling for high)."""
    p = MAX_SCALE if digits is None else digits
    if p < 0 or p > MAX_SCALE:
        return None
    quantum = Decimal(1).scaleb(-p)
    s = _scale(x)
    if p < s:
        rounding = ROUND_CEILING if high else ROUND_FLOOR
        return x.quantize(quantum, rounding=rounding, context=_CTX)
    padded = x.quantize(quantum, context=_CTX)
    spread = _CTX.subtract(Decimal(1).scaleb(-s), quantum)  # the unwritten digits, all 9s
    # For x >= 0 unwritten digits make it larger; for x < 0 more negative.
    if (x >= 0) == high:
        r = _CTX.add(padded, spread) if x >= 0 else _CTX.subtract(padded, spread)
        return r.quantize(quantum, context=_CTX)
    return padded


def _temporal_boundary(x: Any, digits: int | None, high: bool) -> Any:
    """Date/DateTime/Time boundary at the precision whose digit count is ``digits`` (a count
    between two precisions takes the finer one); null beyond the type's finest precision."""
    table = _digit_table(x)
    if digits is None:
        digits = max(table.values())
    if digits < 1:
        return None
    for name, n in table.items():
        if digits <= n:
            p = TemporalPrecision.parse(name)
            return x.high_boundary(p) if high else x.low_boundary(p)
    return None


def _boundary(x: Any, digits: Any, high: bool) -> Any:
    if x is None:
        return None
    d = None if digits is None else int(digits)
    if _is_num(x):
        return _decimal_boundary(_dec(x), d, high)
    if _is_temporal(x):
        return _temporal_boundary(x, d, high)
    raise _type_error("HighBoundary" if high else "LowBoundary", x)


@operator("LowBoundary", strict=False)
def LowBoundary(x: Any, digits: Any = None) -> Any:
    """CQL ``LowBoundary(input[, precision])``; a null precision means the finest one."""
    return _boundary(x, digits, high=False)


@operator("HighBoundary", strict=False)
def HighBoundary(x: Any, digits: Any = None) -> Any:
    """CQL ``HighBoundary(input[, precision])``; a null precision means the finest one."""
    return _boundary(x, digits, high=True)

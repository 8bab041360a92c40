"""Type conversion operators (CQL 1.5 reference, 'Type Operators': the To*/ConvertsTo*
functions, ConvertQuantity, CanConvertQuantity) and :func:`to_cql`, which renders any
run-time value as a CQL literal.

Conversions of malformed strings give null, not errors (spec: "If the input string is not
formatted correctly ... the result is null"); `ConvertsToX(v)` is true exactly when `ToX(v)`
gives a value. Values already of the target type convert to themselves ("if no conversion is
required, the convert operator simply returns the input value").
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from .. import types as T
from ..errors import CqlRuntimeError
from ..runtime.quantity import (
    MAX_DECIMAL,
    MIN_DECIMAL,
    Quantity,
    Ratio,
    decimal_to_cql,
    normalize_decimal,
)
from ..runtime.temporal import Date, DateTime, Time
from ..runtime.values import (
    INT_MAX,
    INT_MIN,
    LONG_MAX,
    LONG_MIN,
    Code,
    CodeSystemRef,
    Concept,
    CqlTuple,
    Interval,
    Long,
    ValueSetRef,
)
from .registry import lookup, operator

_INTEGER_TEXT = re.compile(r"[+-]?[0-9]+")
_DECIMAL_TEXT = re.compile(r"[+-]?[0-9]+(?:\.[0-9]+)?")
_TRUE_TEXT = frozenset({"true", "t", "yes", "y", "1"})
_FALSE_TEXT = frozenset({"false", "f", "no", "n", "0"})


def _is_int(v: Any) -> bool:
    """Integer or Long (bool is an int subclass in Python but a distinct CQL type)."""
    return isinstance(v, int) and not isinstance(v, bool)


def _unsupported(target: str, value: Any) -> CqlRuntimeError:
    return CqlRuntimeError(f"cannot convert a {type(value).__name__} to {target}")


# -- Boolean / Integer / Long / Decimal ---------------------------------------------------------


@operator("ToBoolean")
def ToBoolean(value: Any) -> bool | None:
    """Spec ToBoolean: strings true/t/yes/y/1 and false/f/no/n/0 ignoring case; Integer/Long
    1/0; Decimal 1.0/0.0; anything else null."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        text = value.lower()
        if text in _TRUE_TEXT:
            return True
        if text in _FALSE_TEXT:
            return False
        return None
    if _is_int(value) or isinstance(value, Decimal):
        if value == 1:
            return True
        if value == 0:
            return False
        return None
    raise _unsupported("Boolean", value)


def _parse_integer(text: str, low: int, high: int) -> int | None:
    if not _INTEGER_TEXT.fullmatch(text):
        return None
    n = int(text)
    return n if low <= n <= high else None


@operator("ToInteger")
def ToInteger(value: Any) -> int | None:
    """Spec ToInteger: strings ``(+|-)?#0`` in the 32-bit range; a Long within range; Boolean
    as 1/0. Out of range or malformed gives null."""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, str):
        return _parse_integer(value, INT_MIN, INT_MAX)
    if _is_int(value):
        return int(value) if INT_MIN <= value <= INT_MAX else None
    raise _unsupported("Integer", value)


@operator("ToLong")
def ToLong(value: Any) -> Long | None:
    """Spec ToLong (CQL 1.5): strings ``(+|-)?#0`` in the 64-bit range; Integer; Boolean 1/0."""
    if isinstance(value, bool):
        return Long(int(value))
    if isinstance(value, str):
        n = _parse_integer(value, LONG_MIN, LONG_MAX)
        return None if n is None else Long(n)
    if _is_int(value):
        return Long(value) if LONG_MIN <= value <= LONG_MAX else None
    raise _unsupported("Long", value)


@operator("ToDecimal")
def ToDecimal(value: Any) -> Decimal | None:
    """Spec ToDecimal: strings ``(+|-)?#0(.0#)?`` rounded to CQL's 8 places of scale and null
    outside the Decimal range; Integer/Long (the implicit conversion) exactly; Boolean 1.0/0.0."""
    if isinstance(value, bool):
        return Decimal("1.0") if value else Decimal("0.0")
    if isinstance(value, Decimal):
        return value
    if _is_int(value):
        return Decimal(int(value))
    if isinstance(value, str):
        if not _DECIMAL_TEXT.fullmatch(value):
            return None
        try:
            d = normalize_decimal(Decimal(value))
        except InvalidOperation:
            return None
        return d if MIN_DECIMAL <= d <= MAX_DECIMAL else None
    raise _unsupported("Decimal", value)


# -- Quantity / Ratio ---------------------------------------------------------------------------


@operator("ToQuantity")
def ToQuantity(value: Any) -> Quantity | None:
    """Spec ToQuantity: strings ``(+|-)?#0(.0#)?('<unit>')?`` with a valid UCUM unit or a
    calendar keyword; Integer/Long/Decimal with unit '1'; Ratio as numerator / denominator.
    No unit conversion happens here (that is ConvertQuantity)."""
    if isinstance(value, Quantity):
        return value
    if isinstance(value, str):
        return Quantity.parse(value)
    if isinstance(value, bool):
        raise _unsupported("Quantity", value)
    if _is_int(value) or isinstance(value, Decimal):
        d = Decimal(int(value)) if _is_int(value) else value
        return Quantity(d, "1")
    if isinstance(value, Ratio):
        return value.to_quantity()
    raise _unsupported("Quantity", value)


@operator("ToRatio")
def ToRatio(value: Any) -> Ratio | None:
    """Spec ToRatio: ``<quantity>:<quantity>`` where each side is in ToQuantity's format."""
    if isinstance(value, Ratio):
        return value
    if isinstance(value, str):
        return Ratio.parse(value)
    raise _unsupported("Ratio", value)


@operator("ConvertQuantity")
def ConvertQuantity(quantity: Quantity, unit: str) -> Quantity | None:
    """Spec ConvertQuantity: the equivalent quantity in `unit` (UCUM), or null when the units
    are unknown or not commensurable."""
    if not quantity.can_convert(unit):
        return None
    try:
        return quantity.convert(unit)
    except CqlRuntimeError:
        return None


@operator("CanConvertQuantity")
def CanConvertQuantity(quantity: Quantity, unit: str) -> bool:
    """Spec CanConvertQuantity: whether ConvertQuantity would give a value."""
    return quantity.can_convert(unit)


# -- Date / DateTime / Time ---------------------------------------------------------------------


@operator("ToDate")
def ToDate(value: Any) -> Date | None:
    """Spec ToDate: ISO ``YYYY(-MM(-DD)?)?`` strings at any precision (a time portion is
    checked and ignored); a DateTime gives its date as written (``date from``)."""
    if isinstance(value, Date):
        return value
    if isinstance(value, DateTime):
        return value.date()
    if isinstance(value, str):
        return Date.parse_iso(value)
    raise _unsupported("Date", value)


def _context_offset(ctx: Any) -> Decimal | None:
    return getattr(ctx, "timezone_offset", None)


def _with_default_offset(ctx: Any, dt: DateTime) -> DateTime:
    """The spec's rule for offset-less DateTimes: assume the evaluation request's offset."""
    if dt.tz_offset is not None:
        return dt
    offset = _context_offset(ctx)
    if offset is None:
        return dt
    return DateTime(
        dt.year, dt.month, dt.day, dt.hour, dt.minute, dt.second, dt.millisecond, offset
    )


@operator("ToDateTime", context=True)
def ToDateTime(ctx: Any, value: Any) -> DateTime | None:
    """Spec ToDateTime: ISO ``YYYY-MM-DDThh:mm:ss.fff(Z|(+|-)hh:mm)`` strings at any precision
    (a string without an offset takes the request's offset); a Date becomes a DateTime with
    no time components and the request's offset."""
    if isinstance(value, DateTime):
        return value
    if isinstance(value, Date):
        return value.to_datetime(_context_offset(ctx))
    if isinstance(value, str):
        dt = DateTime.parse_iso(value)
        return None if dt is None else _with_default_offset(ctx, dt)
    raise _unsupported("DateTime", value)


@operator("ToTime")
def ToTime(value: Any) -> Time | None:
    """Spec ToTime: ``hh:mm:ss.fff`` at any precision. A leading ``T`` and a trailing offset
    are accepted (and the offset ignored) as the conformance suite's ``ToTime('T14:30:00.0Z')``
    expects."""
    if isinstance(value, Time):
        return value
    if isinstance(value, str):
        return Time.parse_iso(value)
    raise _unsupported("Time", value)


# -- Concept ------------------------------------------------------------------------------------


@operator("ToConcept")
def ToConcept(value: Any) -> Concept | None:
    """Spec ToConcept: a Code becomes a Concept with that code and its display; a list of
    codes a Concept with all of them (null entries dropped) and no display."""
    if isinstance(value, Concept):
        return value
    if isinstance(value, Code):
        return Concept((value,), value.display)
    if isinstance(value, list):
        codes = tuple(c for c in value if c is not None)
        if not all(isinstance(c, Code) for c in codes):
            raise _unsupported("Concept", value)
        return Concept(codes)
    raise _unsupported("Concept", value)


# -- String -------------------------------------------------------------------------------------


def decimal_text(value: Decimal) -> str:
    """A Decimal as ``(-)?#0.0#``: the digits it carries, never exponent notation, and at
    least one digit after the point (so the text reads back as a Decimal, not an Integer)."""
    text = decimal_to_cql(value)
    if value.is_finite() and "." not in text:
        text += ".0"
    return text


def to_string(value: Any, timezone_offset: Decimal | None = None) -> str:
    """CQL ToString (spec Table 9-G) of a non-null value.

    A DateTime whose offset equals `timezone_offset` (the evaluation request's) is written
    without it: ToDateTime assumes that offset for offset-less strings, so the text still
    round-trips, and this is what the conformance suite expects
    (``ToString(DateTime(2000, 1, 1, 15, 25, 25, 300))`` = ``'2000-01-01T15:25:25.300'``).
    """
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if _is_int(value):
        return str(int(value))
    if isinstance(value, Decimal):
        return decimal_text(value)
    if isinstance(value, (Quantity, Ratio)):
        return value.to_string()
    if isinstance(value, DateTime):
        if (
            timezone_offset is not None
            and value.tz_offset is not None
            and value.tz_offset == timezone_offset
        ):
            value = DateTime(
                value.year,
                value.month,
                value.day,
                value.hour,
                value.minute,
                value.second,
                value.millisecond,
            )
        return value.to_string()
    if isinstance(value, (Date, Time)):
        return value.to_string()
    raise _unsupported("String", value)


@operator("ToString", context=True)
def ToString(ctx: Any, value: Any) -> str:
    """Spec ToString for Boolean, Integer, Long, Decimal, Quantity, Ratio, Date, DateTime,
    Time (and String itself); see :func:`to_string`."""
    return to_string(value, _context_offset(ctx))


# -- ConvertsTo* --------------------------------------------------------------------------------


def _converts(convert: Callable[[Any], Any], value: Any) -> bool:
    try:
        return convert(value) is not None
    except CqlRuntimeError:
        return False


@operator("ConvertsToBoolean")
def ConvertsToBoolean(value: Any) -> bool:
    return _converts(ToBoolean, value)


@operator("ConvertsToInteger")
def ConvertsToInteger(value: Any) -> bool:
    return _converts(ToInteger, value)


@operator("ConvertsToLong")
def ConvertsToLong(value: Any) -> bool:
    return _converts(ToLong, value)


@operator("ConvertsToDecimal")
def ConvertsToDecimal(value: Any) -> bool:
    return _converts(ToDecimal, value)


@operator("ConvertsToQuantity")
def ConvertsToQuantity(value: Any) -> bool:
    return _converts(ToQuantity, value)


@operator("ConvertsToRatio")
def ConvertsToRatio(value: Any) -> bool:
    return _converts(ToRatio, value)


@operator("ConvertsToString")
def ConvertsToString(value: Any) -> bool:
    return _converts(to_string, value)


@operator("ConvertsToDate")
def ConvertsToDate(value: Any) -> bool:
    return _converts(ToDate, value)


@operator("ConvertsToDateTime")
def ConvertsToDateTime(value: Any) -> bool:
    """Needs no request offset: whether a value converts does not depend on it."""
    return _converts(lambda v: ToDateTime(None, v), value)


@operator("ConvertsToTime")
def ConvertsToTime(value: Any) -> bool:
    return _converts(ToTime, value)


# -- CQL literal rendering ----------------------------------------------------------------------

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")

# Words the grammar treats as keywords that may not stand as a plain identifier: a tuple
# element with such a name is written as a quoted identifier ("...") instead.
_RESERVED = frozenset(
    """
    Choice Code Concept Interval List Tuple after aggregate all and as before between case
    cast collapse convert day days difference distinct duration during else exists expand
    external false flatten from hour hours if in included is let maximum millisecond
    milliseconds minimum minute minutes month months not null occurs of on or per point
    properly return returns same second seconds singleton sort such then to true week weeks
    when with within without year years
    """.split()
)

_STRING_ESCAPES = {
    "'": "\\'",
    "\\": "\\\\",
    "\n": "\\n",
    "\r": "\\r",
    "\t": "\\t",
    "\f": "\\f",
}


def string_literal(text: str) -> str:
    """A CQL string literal for `text`, using the spec's escapes (``\\'``, ``\\\\``, ``\\n``...;
    other control characters as ``\\uXXXX``)."""
    out: list[str] = []
    for ch in text:
        esc = _STRING_ESCAPES.get(ch)
        if esc is not None:
            out.append(esc)
        elif ord(ch) < 0x20 or ch == "\x7f":
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    return "'" + "".join(out) + "'"


def identifier(name: str) -> str:
    """`name` as a CQL identifier, quoted (``"..."``) when it is not a plain identifier."""
    if _IDENTIFIER.fullmatch(name) and name not in _RESERVED:
        return name
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _selector(type_name: str, elements: list[tuple[str, Any]]) -> str:
    if not elements:
        return f"{type_name} {{ : }}"
    body = ", ".join(f"{identifier(k)}: {to_cql(v)}" for k, v in elements)
    return f"{type_name} {{ {body} }}"


def _present(pairs: list[tuple[str, Any]]) -> list[tuple[str, Any]]:
    return [(k, v) for k, v in pairs if v is not None]


def to_cql(value: Any) -> str:
    """A CQL literal (or selector) that evaluates back to a value equivalent to `value`.

    ``null``, ``true``, ``1``, ``1L``, ``1.0`` (decimals keep their digits, always with a
    point), ``'it\\'s'``, ``@2012-01-01``, ``@2012-01-01T10:00:00.000+01:00``, ``@T10:00``,
    ``5 'mg'``, ``3 days``, ``1 'mg':2 'mL'``, ``Interval[1, 5)``, ``{1, 2}``, ``{ }``,
    ``Tuple { a: 1 }``, ``Tuple { : }``, ``Code { code: '1', system: 'x' }``,
    ``Concept { codes: { Code { code: '1' } }, display: 'd' }``, ``ValueSet { id: '...' }``,
    ``CodeSystem { id: '...' }``.
    """
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Long):
        return f"{int(value)}L"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, Decimal):
        return decimal_text(value)
    if isinstance(value, str):
        return string_literal(value)
    if isinstance(value, list):
        if not value:
            return "{ }"
        return "{" + ", ".join(to_cql(v) for v in value) + "}"
    if isinstance(value, Interval):
        return _interval_to_cql(value)
    if isinstance(value, Code):
        return _selector(
            "Code",
            _present(
                [
                    ("code", value.code),
                    ("system", value.system),
                    ("version", value.version),
                    ("display", value.display),
                ]
            ),
        )
    if isinstance(value, Concept):
        return _selector(
            "Concept", _present([("codes", list(value.codes)), ("display", value.display)])
        )
    if isinstance(value, ValueSetRef):
        pairs = _present([("id", value.id), ("version", value.version)])
        if value.codesystems:
            pairs.append(("codesystems", list(value.codesystems)))
        return _selector("ValueSet", pairs)
    if isinstance(value, CodeSystemRef):
        return _selector("CodeSystem", _present([("id", value.id), ("version", value.version)]))
    if isinstance(value, CqlTuple):
        return _selector(value.type_name or "Tuple", list(value.items()))
    if isinstance(value, Mapping):
        return _selector("Tuple", [(str(k), v) for k, v in value.items()])
    render = getattr(value, "to_cql", None)
    if callable(render):
        return str(render())
    raise TypeError(f"no CQL literal for a {type(value).__name__}: {value!r}")


def _interval_to_cql(value: Interval) -> str:
    open_ = "[" if value.low_closed else "("
    close = "]" if value.high_closed else ")"
    low, high = to_cql(value.low), to_cql(value.high)
    if value.low is None and value.high is None and value.point_type:
        # an interval of nulls needs its point type to be typed (and to be valid CQL)
        low = f"null as {value.point_type}"
    return f"Interval{open_}{low}, {high}{close}"


# -- implicit conversions the resolver could not settle statically ------------------------------


@operator("ImplicitConvert", context=True)
def ImplicitConvert(ctx: Any, value: Any, to: Any = None, cast: bool = False) -> Any:
    """`value` implicitly converted to the static type `to` (CQL 1.5 Developer's Guide,
    Implicit Conversions and Conversion Precedence): a Date given for a `DateTime` (or for a
    `Choice<DateTime, ...>`) becomes a DateTime, an `Interval<Date>` an `Interval<DateTime>`
    bound by bound (closedness kept), a `List<Integer>` a `List<Decimal>` element by element.

    The resolver inserts this where the argument's type is known only at run time (model data,
    choices) or needs a structural conversion; a value that is already a `to`, or that no
    implicit conversion makes one, is returned unchanged; with `cast` (an interval or list of
    a choice type given for an interval or list of one of its components) such a point or
    element is null instead, as `As` makes it (CQL Developer's Guide, Choice Types).
    """
    def convert(v: Any, t: T.CqlType) -> Any:
        if v is None or T.is_any(t):
            return v
        if isinstance(t, T.ChoiceType):
            if any(T.value_is(v, c) for c in t.choices):
                return v
            vt = T.type_of_value(v)
            ranked = sorted((cost, i, c) for i, c in enumerate(t.choices)
                            if (cost := T.conversion_cost(vt, c)) is not None)
            return convert(v, ranked[0][2]) if ranked else v
        if isinstance(t, T.IntervalType):
            if not isinstance(v, Interval) or T.is_any(t.point):
                return v
            low, high = convert(v.low, t.point), convert(v.high, t.point)
            if low is v.low and high is v.high:
                return v
            point = t.point.simple if isinstance(t.point, T.NamedType) else v.point_type
            return Interval(low, high, v.low_closed, v.high_closed, point)
        if isinstance(t, T.ListType):
            if not isinstance(v, list):
                return v
            return [convert(x, t.element) for x in v]
        if T.value_is(v, t):
            return v
        name = T.implicit_conversion(T.type_of_value(v), t)
        if name is None:
            return None if cast else v
        op = lookup(name)
        assert op is not None
        return op.fn(ctx, v) if op.needs_context else op.fn(v)

    return convert(value, to)

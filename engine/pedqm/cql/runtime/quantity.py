"""CQL Quantity and Ratio values (CQL 1.5 reference: Types, Comparison and Arithmetic Operators).

A :class:`Quantity` is a decimal value with a UCUM unit or a CQL calendar duration keyword
(``year(s)``, ``month(s)``, ``week(s)``, ``day(s)``, ``hour(s)``, ``minute(s)``,
``second(s)``, ``millisecond(s)``). Units are stored exactly as written (the spec forbids
implicit unit conversion outside calculations); unit ``'1'`` means unitless.

Calendar durations versus UCUM durations, as the spec and the conformance suite define them:

* ``week``, ``day``, ``hour``, ``minute``, ``second``, ``millisecond`` are *equal* to UCUM
  ``wk``, ``d``, ``h``, ``min``, ``s``, ``ms``: ``1 day = 1 'd'`` is true.
* ``year`` and ``month`` are variable-length: ``1 year = 12 months`` is true, but comparing or
  converting them against any definite duration (``'a'``, ``'mo'``, days or below) gives null
  (``1 year = 1 'a'`` is null, ``1 year = 365 days`` is null).
* Equivalence (``~``) relaxes that: ``1 year ~ 1 'a'``, ``1 month ~ 1 'mo'`` (a year or month
  against a UCUM year or month unit), and otherwise ``1 year ~ 365 days``, ``1 month ~ 30 days``.

Decimal semantics: CQL decimals have 28 digits of precision and 8 of scale. Operation results
go through :func:`normalize_decimal` (rounded half away from zero to at most 8 decimal
places, scale of exact results kept, so ``1.0 'cm' + 1.0 'cm'`` is ``2.0 'cm'``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import ROUND_DOWN, ROUND_HALF_UP, Context, Decimal, InvalidOperation
from fractions import Fraction

from pedqm.cql.errors import CqlRuntimeError
from pedqm.cql.runtime import ucum

__all__ = [
    "CALENDAR_KEYWORDS",
    "MAX_DECIMAL",
    "MIN_DECIMAL",
    "Quantity",
    "Ratio",
    "decimal_equivalent",
    "decimal_to_cql",
    "duration_precision",
    "is_valid_unit",
    "normalize_decimal",
]

MAX_DECIMAL = Decimal("99999999999999999999.99999999")
MIN_DECIMAL = -MAX_DECIMAL
_STEP = Decimal("1E-8")  # CQL 1.5: predecessor/successor of a Decimal moves by 10^-8
_CTX = Context(prec=28, rounding=ROUND_HALF_UP)
_WIDE = Context(prec=60, rounding=ROUND_HALF_UP)  # room for quantize() on 28-digit values

CALENDAR_KEYWORDS: dict[str, str] = {
    form: singular
    for singular in ("year", "month", "week", "day", "hour", "minute", "second", "millisecond")
    for form in (singular, singular + "s")
}
"""Every spelling of a calendar duration keyword, mapped to its singular form."""

# Calendar keywords that are fixed-length and equal to a UCUM unit.
_KEYWORD_UCUM = {
    "week": "wk",
    "day": "d",
    "hour": "h",
    "minute": "min",
    "second": "s",
    "millisecond": "ms",
}
# Variable-length keywords, measured in months among themselves.
_KEYWORD_MONTHS = {"year": 12, "month": 1}
# For unit algebra only (e.g. 2 years * 3 years): the nearest UCUM unit.
_KEYWORD_ALGEBRA = {**_KEYWORD_UCUM, "year": "a", "month": "mo"}
# UCUM units that a calendar year/month is equivalent (~) to, unit for unit.
_UCUM_YEAR_MONTH = {
    "a": "year",
    "a_j": "year",
    "a_g": "year",
    "a_t": "year",
    "mo": "month",
    "mo_j": "month",
    "mo_g": "month",
    "mo_s": "month",
}
# Otherwise a calendar year/month is equivalent to this many days.
_KEYWORD_DAYS = {"year": 365, "month": 30}

_DURATION_PRECISION = {
    **CALENDAR_KEYWORDS,
    "a": "year",
    "mo": "month",
    "wk": "week",
    "d": "day",
    "h": "hour",
    "min": "minute",
    "s": "second",
    "ms": "millisecond",
}


def normalize_decimal(value: Decimal) -> Decimal:
    """Round a CQL Decimal result to at most 8 decimal places (half away from zero).

    Exact results keep their scale (``1.0`` stays ``1.0``), positive exponents are expanded
    (``1E+2`` becomes ``100``) and negative zero becomes zero.
    """
    if not value.is_finite():
        return value
    exponent = value.as_tuple().exponent
    assert isinstance(exponent, int)
    if exponent < -8:
        value = value.quantize(_STEP, context=_WIDE)
    elif exponent > 0:
        value = value.quantize(Decimal(1), context=_WIDE)
    if value.is_zero() and value.is_signed():
        value = value.copy_abs()
    return value


def decimal_to_cql(value: Decimal) -> str:
    """A decimal as CQL writes it: no exponent notation, no negative zero, scale as stored."""
    if value.is_finite() and value.is_zero():
        value = value.copy_abs()
    return format(value, "f")


def _precision(value: Decimal) -> int:
    """Digits after the point, ignoring trailing zeros (spec: equivalence of decimals)."""
    exponent = value.normalize(_WIDE).as_tuple().exponent
    assert isinstance(exponent, int)
    return max(0, -exponent)


def decimal_equivalent(left: Decimal, right: Decimal) -> bool:
    """CQL ``~`` for decimals: equal after rounding both to the less precise one's precision.

    Trailing zeros do not count as precision: ``1.001 ~ 1.000`` and ``1.0 ~ 1`` are true,
    ``1.5 ~ 1.55`` is false (conformance suite, Equivalent group).
    """
    places = min(_precision(left), _precision(right))
    quantum = Decimal(1).scaleb(-places)
    return left.quantize(quantum, context=_WIDE) == right.quantize(quantum, context=_WIDE)


def duration_precision(unit: str) -> str | None:
    """The date/time precision a time-valued unit adds in, e.g. ``'days'``/``'d'`` -> ``'day'``.

    Accepts calendar keywords in singular or plural and the UCUM forms ``a mo wk d h min s
    ms`` (spec: date/time arithmetic accepts "singular, plural or UCUM form"); None otherwise.
    """
    return _DURATION_PRECISION.get(unit)


def is_valid_unit(unit: str) -> bool:
    """True for a calendar duration keyword or a valid case-sensitive UCUM unit."""
    return unit in CALENDAR_KEYWORDS or ucum.is_valid_unit(unit)


def _calendar(unit: str) -> str | None:
    """``'year'``/``'month'`` for the variable-length calendar keywords, else None."""
    keyword = CALENDAR_KEYWORDS.get(unit)
    return keyword if keyword in _KEYWORD_MONTHS else None


def _as_ucum(unit: str) -> str:
    """The UCUM unit for a fixed-length keyword; other units unchanged."""
    keyword = CALENDAR_KEYWORDS.get(unit)
    return _KEYWORD_UCUM.get(keyword, unit) if keyword else unit


def _in_range(value: Decimal) -> bool:
    return MIN_DECIMAL <= value <= MAX_DECIMAL


def _to_decimal(value: Decimal | int | str | float) -> Decimal:
    if isinstance(value, bool):
        raise TypeError("a Quantity value cannot be a Boolean")
    if isinstance(value, Decimal):
        return value
    if isinstance(value, float):
        return Decimal(repr(value))
    try:
        return Decimal(value)
    except InvalidOperation as exc:
        raise ValueError(f"not a decimal: {value!r}") from exc


def _convert(value: Decimal, from_unit: str, to_unit: str) -> Decimal | None:
    """Convert a value between quantity units (keywords included); None when impossible."""
    if from_unit == to_unit:
        return value
    from_cal, to_cal = _calendar(from_unit), _calendar(to_unit)
    if from_cal and to_cal:
        return ucum.apply_factor(
            value, Fraction(_KEYWORD_MONTHS[from_cal], _KEYWORD_MONTHS[to_cal])
        )
    if from_cal or to_cal:
        return None  # year/month against a definite duration: spec says null
    try:
        return ucum.convert_decimal(value, _as_ucum(from_unit), _as_ucum(to_unit))
    except ucum.UcumError:
        return None


def _exact(value: Decimal, unit: str) -> tuple[object, Fraction] | None:
    """A comparison key and the exact magnitude in base units; None for an invalid unit."""
    cal = _calendar(unit)
    if cal:
        return "calendar-months", Fraction(value) * _KEYWORD_MONTHS[cal]
    try:
        reduced = ucum.parse_unit(_as_ucum(unit))
        if not reduced.convertible:
            return None
        return reduced.dimension, ucum.to_base(Fraction(value), _as_ucum(unit))
    except ucum.UcumError:
        return None


def _magnitude(unit: str) -> Fraction | None:
    """Size of one unit (months for year/month), to pick the most granular of two units."""
    cal = _calendar(unit)
    if cal:
        return Fraction(_KEYWORD_MONTHS[cal])
    try:
        return ucum.parse_unit(_as_ucum(unit)).factor
    except ucum.UcumError:
        return None


@dataclass(frozen=True, init=False)
class Quantity:
    """An immutable CQL Quantity: ``value`` (Decimal) and ``unit`` (UCUM or keyword, '1' = none).

    Python ``==`` and ``hash`` are structural (value and unit as written, with ``1.0 == 1``);
    CQL semantics are in :meth:`equal`, :meth:`equivalent` and :meth:`compare`.
    Operations return None where CQL's result is null (incommensurable or invalid units,
    division by zero, overflow).
    """

    value: Decimal
    unit: str

    def __init__(self, value: Decimal | int | str | float, unit: str | None = "1") -> None:
        object.__setattr__(self, "value", _to_decimal(value))
        object.__setattr__(self, "unit", unit if unit else "1")

    # -- text ------------------------------------------------------------------------------

    def to_cql(self) -> str:
        """A CQL literal for this quantity: ``3 days``, ``5 'mg'``, ``2.5 'cm2'``, ``1 '1'``."""
        number = decimal_to_cql(self.value)
        if self.unit in CALENDAR_KEYWORDS:
            return f"{number} {self.unit}"
        escaped = self.unit.replace("\\", "\\\\").replace("'", "\\'")
        return f"{number} '{escaped}'"

    def to_string(self) -> str:
        """CQL ``ToString``: ``125 'cm'``, ``4 days`` (spec: round-trips through ToQuantity)."""
        return self.to_cql()

    def __str__(self) -> str:
        return self.to_cql()

    @classmethod
    def parse(cls, text: str) -> Quantity | None:
        """CQL ``ToQuantity`` for strings: ``(+|-)?#0(.0#)?('<unit>')?``; None if malformed.

        The unit may be a quoted UCUM unit or calendar keyword, or a bare calendar keyword;
        spaces may separate number and unit. An unknown unit gives None.
        """
        match = _QUANTITY_TEXT.match(text)
        if not match:
            return None
        number, quoted, bare = match.groups()
        if bare is not None:
            if bare not in CALENDAR_KEYWORDS:
                return None
            unit = bare
        elif quoted is not None:
            unit = re.sub(r"\\(.)", r"\1", quoted)
            if not is_valid_unit(unit):
                return None
        else:
            unit = "1"
        value = Decimal(number)
        if not _in_range(value):
            return None
        return cls(value, unit)

    # -- units -----------------------------------------------------------------------------

    @property
    def calendar_unit(self) -> str | None:
        """The singular calendar keyword when the unit is one (``'days'`` -> ``'day'``)."""
        return CALENDAR_KEYWORDS.get(self.unit)

    def can_convert(self, unit: str) -> bool:
        """CQL ``CanConvertQuantity``: true if this quantity converts to ``unit``."""
        return _convert(self.value, self.unit, unit or "1") is not None and is_valid_unit(
            unit or "1"
        )

    def convert(self, unit: str) -> Quantity:
        """CQL ``ConvertQuantity`` (``convert 5 'mg' to 'g'``).

        Raises :class:`CqlRuntimeError` for an unknown unit or incommensurable units; the
        spec's ConvertQuantity returns null there, so the operator catches it or asks
        :meth:`can_convert` first.
        """
        unit = unit or "1"
        if not is_valid_unit(unit) or not is_valid_unit(self.unit):
            raise CqlRuntimeError(f"cannot convert {self.to_cql()} to unit '{unit}'")
        converted = _convert(self.value, self.unit, unit)
        if converted is None:
            raise CqlRuntimeError(f"cannot convert {self.to_cql()} to unit '{unit}'")
        return Quantity(normalize_decimal(converted), unit)

    def _granular_unit(self, other: Quantity) -> str | None:
        """The more granular of two commensurable units (left on ties), else None."""
        if self.unit == other.unit:
            return self.unit
        left, right = _exact(Decimal(1), self.unit), _exact(Decimal(1), other.unit)
        if left is None or right is None or left[0] != right[0]:
            return None
        mine, theirs = _magnitude(self.unit), _magnitude(other.unit)
        assert mine is not None and theirs is not None
        return other.unit if theirs < mine else self.unit

    # -- comparison ------------------------------------------------------------------------

    def compare(self, other: Quantity) -> int | None:
        """-1, 0 or 1 comparing after unit conversion; None when the units are not comparable.

        Exact: both sides are reduced to base units as fractions, so ``1 'cm'`` and
        ``0.01 'm'`` compare equal without rounding.
        """
        if self.unit == other.unit:
            return (self.value > other.value) - (self.value < other.value)
        left, right = _exact(self.value, self.unit), _exact(other.value, other.unit)
        if left is None or right is None or left[0] != right[0]:
            return None
        return (left[1] > right[1]) - (left[1] < right[1])

    def equal(self, other: Quantity) -> bool | None:
        """CQL ``=``: null when the units are invalid or of different dimensions."""
        result = self.compare(other)
        return None if result is None else result == 0

    def equivalent(self, other: Quantity) -> bool:
        """CQL ``~``: unit conversion, then decimal equivalence; false if not comparable."""
        left, right = self, other
        left_cal, right_cal = _calendar(left.unit), _calendar(right.unit)
        if (left_cal is None) != (right_cal is None):
            left, right = left._definite_for(right), right._definite_for(left)
        if left.unit == right.unit:
            return decimal_equivalent(left.value, right.value)
        target = left._granular_unit(right)
        if target is None:
            return False
        a = _convert(left.value, left.unit, target)
        b = _convert(right.value, right.unit, target)
        if a is None or b is None:
            return False
        return decimal_equivalent(a, b)

    def _definite_for(self, other: Quantity) -> Quantity:
        """For ``~`` only: a calendar year/month as the definite duration it is equivalent to.

        Against a UCUM year or month unit (``'a'``, ``'mo'``...) a year is one ``'a'`` and a
        month one ``'mo'``; against anything else a year is 365 days and a month 30 days
        (spec, Equivalent: ``1 year ~ 1 'a'``, ``1 year ~ 365 days``, ``1 month ~ 30 days``).
        """
        cal = _calendar(self.unit)
        if cal is None:
            return self
        if _UCUM_YEAR_MONTH.get(other.unit) is not None:
            return Quantity(self.value, "a" if cal == "year" else "mo")
        return Quantity(self.value * _KEYWORD_DAYS[cal], "d")

    # -- arithmetic ------------------------------------------------------------------------

    def add(self, other: Quantity) -> Quantity | None:
        """CQL ``+``: the result is in the more granular unit (``3 'm' + 3 'cm'`` = ``303 'cm'``)."""
        return self._additive(other, 1)

    def subtract(self, other: Quantity) -> Quantity | None:
        """CQL ``-``: the result is in the more granular unit of the two."""
        return self._additive(other, -1)

    def _additive(self, other: Quantity, sign: int) -> Quantity | None:
        target = self._granular_unit(other)
        if target is None:
            return None
        a = _convert(self.value, self.unit, target)
        b = _convert(other.value, other.unit, target)
        if a is None or b is None:
            return None
        result = _CTX.add(a, b) if sign > 0 else _CTX.subtract(a, b)
        return _checked(result, target)

    def multiply(self, other: Quantity | Decimal | int) -> Quantity | None:
        """CQL ``*``: units multiply (``'cm' * 'cm'`` = ``'cm2'``); a number keeps the unit."""
        if not isinstance(other, Quantity):
            return _checked(_CTX.multiply(self.value, _to_decimal(other)), self.unit)
        value = _CTX.multiply(self.value, other.value)
        if other.unit == "1":
            return _checked(value, self.unit)
        if self.unit == "1":
            return _checked(value, other.unit)
        try:
            unit, factor = ucum.multiply_units(self._algebra_unit(), other._algebra_unit())
        except ucum.UcumError:
            return None
        return _checked(ucum.apply_factor(value, factor), unit)

    def divide(self, other: Quantity | Decimal | int) -> Quantity | None:
        """CQL ``/``: units divide (``'g' / 'cm3'`` = ``'g/cm3'``, equal units give ``'1'``).

        Division by zero gives None.
        """
        if not isinstance(other, Quantity):
            divisor = _to_decimal(other)
            if divisor.is_zero():
                return None
            return _checked(_CTX.divide(self.value, divisor), self.unit)
        if other.value.is_zero():
            return None
        value = _CTX.divide(self.value, other.value)
        if other.unit == "1":
            return _checked(value, self.unit)
        if self.unit == other.unit:
            return _checked(value, "1")
        if _calendar(self.unit) and _calendar(other.unit):  # e.g. 1 year / 1 month = 12
            target = self._granular_unit(other)
            assert target is not None
            a = _convert(self.value, self.unit, target)
            b = _convert(other.value, other.unit, target)
            assert a is not None and b is not None
            return _checked(_CTX.divide(a, b), "1")
        try:
            unit, factor = ucum.divide_units(self._algebra_unit(), other._algebra_unit())
        except ucum.UcumError:
            return None
        return _checked(ucum.apply_factor(value, factor), unit)

    def _algebra_unit(self) -> str:
        """The UCUM unit standing for this quantity's unit in unit algebra."""
        keyword = CALENDAR_KEYWORDS.get(self.unit)
        return _KEYWORD_ALGEBRA[keyword] if keyword else self.unit

    def truncated_divide(self, other: Quantity | Decimal | int) -> Quantity | None:
        """CQL ``div``: the truncated quotient of the values.

        With commensurable units the result keeps the (more granular) operand unit, as the
        conformance suite expects (``10.1 'cm' div -3.1 'cm'`` = ``-3.0 'cm'``); otherwise
        it takes the quotient's unit as ``/`` does. Division by zero gives None.
        """
        other = other if isinstance(other, Quantity) else Quantity(_to_decimal(other))
        if other.value.is_zero():
            return None
        target = self._granular_unit(other)
        if target is None:
            quotient = self.divide(other)
            if quotient is None:
                return None
            return Quantity(quotient.value.to_integral_value(ROUND_DOWN), quotient.unit)
        a = _convert(self.value, self.unit, target)
        b = _convert(other.value, other.unit, target)
        if a is None or b is None:
            return None
        return _checked(_CTX.divide_int(a, b), target)

    def modulo(self, other: Quantity | Decimal | int) -> Quantity | None:
        """CQL ``mod``: remainder of truncated division (sign of the dividend).

        ``3.5 'cm' mod 3 'cm'`` = ``0.5 'cm'``; a unitless divisor keeps this quantity's unit.
        None for a zero divisor or incommensurable units.
        """
        other = other if isinstance(other, Quantity) else Quantity(_to_decimal(other))
        if other.value.is_zero():
            return None
        if other.unit == "1":
            return _checked(_CTX.remainder(self.value, other.value), self.unit)
        target = self._granular_unit(other)
        if target is None:
            return None
        a = _convert(self.value, self.unit, target)
        b = _convert(other.value, other.unit, target)
        if a is None or b is None:
            return None
        return _checked(_CTX.remainder(a, b), target)

    def negate(self) -> Quantity:
        """CQL unary ``-``: the unit is unchanged."""
        return Quantity(normalize_decimal(-self.value), self.unit)

    def abs(self) -> Quantity:
        """CQL ``Abs``: the unit is unchanged."""
        return Quantity(normalize_decimal(self.value.copy_abs()), self.unit)

    def round(self, precision: int = 0) -> Quantity:
        """CQL ``Round`` for quantities: half away from zero, unit unchanged."""
        quantum = Decimal(1).scaleb(-precision)
        return Quantity(normalize_decimal(self.value.quantize(quantum, context=_WIDE)), self.unit)

    def predecessor(self) -> Quantity:
        """CQL ``predecessor of``: minus 10^-8 (CQL 1.5); an error below the Decimal range."""
        value = normalize_decimal(self.value - _STEP)
        if value < MIN_DECIMAL:
            raise CqlRuntimeError("predecessor of the minimum Quantity value")
        return Quantity(value, self.unit)

    def successor(self) -> Quantity:
        """CQL ``successor of``: plus 10^-8 (CQL 1.5); an error above the Decimal range."""
        value = normalize_decimal(self.value + _STEP)
        if value > MAX_DECIMAL:
            raise CqlRuntimeError("successor of the maximum Quantity value")
        return Quantity(value, self.unit)


def _checked(value: Decimal, unit: str) -> Quantity | None:
    """An operation's result, normalized; None when it overflows CQL's Decimal range."""
    value = normalize_decimal(value)
    if not _in_range(value):
        return None
    return Quantity(value, unit)


_QUANTITY_TEXT = re.compile(
    r"^\s*([+-]?[0-9]+(?:\.[0-9]+)?)\s*(?:'((?:[^'\\]|\\.)*)'|([A-Za-z]+))?\s*$"
)


@dataclass(frozen=True)
class Ratio:
    """An immutable CQL Ratio of two quantities, e.g. a titre ``1:128`` or ``5 'mg':10 'mL'``."""

    numerator: Quantity
    denominator: Quantity

    def to_cql(self) -> str:
        """A CQL ratio literal: ``1 'mg':2 'mL'``."""
        return f"{self.numerator.to_cql()}:{self.denominator.to_cql()}"

    def to_string(self) -> str:
        """CQL ``ToString``: ``<quantity>:<quantity>``."""
        return self.to_cql()

    def __str__(self) -> str:
        return self.to_cql()

    @classmethod
    def parse(cls, text: str) -> Ratio | None:
        """CQL ``ToRatio``: ``<quantity>:<quantity>`` in ToQuantity's format; None if malformed."""
        in_quote, escaped = False, False
        for index, ch in enumerate(text):
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == "'":
                in_quote = not in_quote
            elif ch == ":" and not in_quote:
                numerator = Quantity.parse(text[:index])
                denominator = Quantity.parse(text[index + 1 :])
                if numerator is None or denominator is None:
                    return None
                return cls(numerator, denominator)
        return None

    def equal(self, other: Ratio) -> bool | None:
        """CQL ``=``: numerators equal and denominators equal (``1:8 = 2:16`` is false)."""
        numerators = self.numerator.equal(other.numerator)
        denominators = self.denominator.equal(other.denominator)
        if numerators is False or denominators is False:
            return False
        if numerators is None or denominators is None:
            return None
        return True

    def equivalent(self, other: Ratio) -> bool:
        """CQL ``~``: the same ratio, by cross-multiplication (``1:100 ~ 10:1000``)."""
        left = self.numerator.multiply(other.denominator)
        right = other.numerator.multiply(self.denominator)
        if left is None or right is None:
            return False
        return left.equivalent(right)

    def to_quantity(self) -> Quantity | None:
        """CQL ``ToQuantity(Ratio)``: numerator divided by denominator (None if it is zero)."""
        return self.numerator.divide(self.denominator)

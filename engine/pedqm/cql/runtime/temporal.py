"""CQL Date, DateTime and Time run-time values.

Follows CQL 1.5: Language Semantics "Timing Calculations" / "Precision-Based Timing" and the
Reference's "Date and Time Operators".

CQL temporals are *partial*: ``@2014`` means "some day in 2014".  Every value therefore keeps
the components it was given (coarsest first, none below a missing one) and operations follow
the spec's precision rules:

* Comparison walks the components coarsest-first and answers ``None`` (unknown) when one value
  stops before the other and everything up to there is equal.  Seconds and milliseconds form
  one decimal "second" (a missing millisecond counts as ``.0``) unless millisecond precision is
  asked for explicitly (see :data:`COMBINE_SECONDS_AND_MILLISECONDS`).
* DateTimes with different offsets are brought to a common offset only when the comparison
  reaches hours or finer; ``same day as`` compares calendar days as written.
* Durations and differences between partial values are :class:`Uncertainty` ranges computed
  from the earliest/latest instants each value could stand for (spec "Determining Difference
  and Duration").
* Arithmetic is calendar arithmetic (month ends clamp, e.g. Jan 31 + 1 month = Feb 28/29); a
  quantity finer than the value's precision is first converted to that precision and truncated
  (``Date(2014) + 25 months = @2016``), with 1 month = 30 days and 1 year = 365 days.

Internally every value holds a 7-slot tuple ``(year, month, day, hour, minute, second,
millisecond)`` indexed by :class:`Precision`; Date uses slots 0-2, Time slots 3-6.  Calendar
maths uses proleptic-Gregorian day numbers rather than :mod:`datetime` so that intermediate
results outside years 1..9999 (e.g. normalising ``@0001-01-01T00:00Z`` to -05:00) do not blow up;
only results are range-checked.
"""

from __future__ import annotations

import abc
import datetime as _dt
import enum
import re
from collections.abc import Sequence
from decimal import Decimal, InvalidOperation
from typing import Any, ClassVar, TypeVar

from pedqm.cql.errors import CqlRuntimeError
from pedqm.cql.runtime.uncertainty import IntOrUncertainty, Uncertainty

__all__ = [
    "COMBINE_SECONDS_AND_MILLISECONDS",
    "Date",
    "DateTime",
    "Precision",
    "Time",
    "Uncertainty",
    "now_from",
    "to_python",
]

#: Spec (Types appendix): "seconds and milliseconds are combined ... for the purposes of
#: comparison ... When milliseconds are null, they are combined as .0", so ``@T10:00:00 =
#: @T10:00:00.000`` is true.  The HL7 conformance suite still expects the older reading
#: (a value without milliseconds is uncertain against one with them, e.g. DateTimeIncludedInNull,
#: TimeProperContainsNull); set this to False to get that behaviour for comparisons.
#: Durations/differences always combine (spec "Determining Difference and Duration" example: ``hours between
#: @2012-01-01T01:00:00 and @2012-01-01T02:00:00.0`` is 1).
COMBINE_SECONDS_AND_MILLISECONDS = True


class Precision(enum.IntEnum):
    """Date/time precisions, coarsest first; the value is the component's slot index.

    WEEK is not a component (no value stores a week): it is only an arithmetic and duration
    unit (7 days; for ``difference`` a week starts on Sunday), so it is numbered after
    MILLISECOND to keep the component precisions 0..6 contiguous.  Comparisons reject it.
    """

    YEAR = 0
    MONTH = 1
    DAY = 2
    HOUR = 3
    MINUTE = 4
    SECOND = 5
    MILLISECOND = 6
    WEEK = 7

    @classmethod
    def parse(cls, name: str | Precision) -> Precision:
        """A precision from a CQL keyword (singular/plural, any case) or a UCUM time unit."""
        if isinstance(name, Precision):
            return name
        found = _PRECISION_NAMES.get(name.strip().lower()) if isinstance(name, str) else None
        if found is None:
            raise CqlRuntimeError(f"'{name}' is not a date/time precision or unit")
        return found

    @property
    def keyword(self) -> str:
        """The singular CQL keyword, e.g. ``'day'``."""
        return self.name.lower()


_PRECISION_NAMES: dict[str, Precision] = {}
for _p in Precision:
    _PRECISION_NAMES[_p.keyword] = _p
    _PRECISION_NAMES[_p.keyword + "s"] = _p
_PRECISION_NAMES.update(
    {
        "a": Precision.YEAR,
        "mo": Precision.MONTH,
        "wk": Precision.WEEK,
        "d": Precision.DAY,
        "h": Precision.HOUR,
        "min": Precision.MINUTE,
        "s": Precision.SECOND,
        "ms": Precision.MILLISECOND,
    }
)

_Y, _MO, _D, _H, _MI, _S, _MS = range(7)
_MS_PER_DAY = 86_400_000
_UNIT_MS = {
    Precision.WEEK: 7 * _MS_PER_DAY,
    Precision.DAY: _MS_PER_DAY,
    Precision.HOUR: 3_600_000,
    Precision.MINUTE: 60_000,
    Precision.SECOND: 1_000,
    Precision.MILLISECOND: 1,
}
# Spec calendar conversions when a definite duration must be expressed in months/years.
_MONTH_MS = 30 * _MS_PER_DAY
_YEAR_MS = 365 * _MS_PER_DAY
_TIME_PLACEHOLDER = (2000, 1, 1)  # date slots of a Time while doing arithmetic

_Full = tuple[int, int, int, int, int, int, int]
_Parts = tuple[int | None, ...]


# -- calendar helpers ----------------------------------------------------------------------


def _is_leap(year: int) -> bool:
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)


def _days_in_month(year: int, month: int) -> int:
    if month == 2:
        return 29 if _is_leap(year) else 28
    return 30 if month in (4, 6, 9, 11) else 31


def _days_from_civil(y: int, m: int, d: int) -> int:
    """Days since 1970-01-01 in the proleptic Gregorian calendar, valid for any year."""
    y -= m <= 2
    era = y // 400
    yoe = y - era * 400
    doy = (153 * (m + (-3 if m > 2 else 9)) + 2) // 5 + d - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


def _civil_from_days(z: int) -> tuple[int, int, int]:
    z += 719468
    era = z // 146097
    doe = z - era * 146097
    yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    d = doy - (153 * mp + 2) // 5 + 1
    m = mp + 3 if mp < 10 else mp - 9
    return yoe + era * 400 + (m <= 2), m, d


def _time_of_day_ms(t: _Full) -> int:
    return ((t[_H] * 60 + t[_MI]) * 60 + t[_S]) * 1000 + t[_MS]


def _to_ms(t: _Full) -> int:
    y, mo, d, h, mi, s, ms = t
    return _days_from_civil(y, mo, d) * _MS_PER_DAY + ((h * 60 + mi) * 60 + s) * 1000 + ms


def _from_ms(n: int) -> _Full:
    days, rest = divmod(n, _MS_PER_DAY)
    y, mo, d = _civil_from_days(days)
    secs, ms = divmod(rest, 1000)
    mins, s = divmod(secs, 60)
    h, mi = divmod(mins, 60)
    return (y, mo, d, h, mi, s, ms)


def _add_months_full(t: _Full, months: int) -> _Full:
    y, mo = divmod(t[_Y] * 12 + t[_MO] - 1 + months, 12)
    mo += 1
    return (y, mo, min(t[_D], _days_in_month(y, mo)), *t[_H:])  # type: ignore[return-value]


def _trunc_div(a: int, b: int) -> int:
    """Integer division truncating toward zero (CQL drops fractional periods)."""
    q = abs(a) // b
    return q if a >= 0 else -q


def _whole_months(a: _Full, b: _Full) -> int:
    """Whole calendar months from ``a`` to ``b`` (negative when ``b`` is earlier).

    A month ends on the same day-of-month and time, or the month's last day when that day does
    not exist (Appendix H, e.g. 2012-02-29 -> 2014-02-28 is two whole years).
    """
    n = (b[_Y] - a[_Y]) * 12 + (b[_MO] - a[_MO])
    if n > 0 and _add_months_full(a, n) > b:
        n -= 1
    elif n < 0 and _add_months_full(a, n) < b:
        n += 1
    return n


def _duration(a: _Full, b: _Full, unit: Precision) -> int:
    """Whole ``unit`` periods from instant ``a`` to instant ``b`` (both in one frame)."""
    if unit == Precision.YEAR:
        return _trunc_div(_whole_months(a, b), 12)
    if unit == Precision.MONTH:
        return _whole_months(a, b)
    return _trunc_div(_to_ms(b) - _to_ms(a), _UNIT_MS[unit])


def _truncate_full(t: _Full, unit: Precision) -> _Full:
    """The start of the ``unit`` period containing ``t`` (weeks start on Sunday)."""
    y, mo, d, h, mi, s, ms = t
    if unit == Precision.WEEK:
        days = _days_from_civil(y, mo, d)
        days -= (days + 4) % 7  # 1970-01-01 was a Thursday; Sunday = 0
        return (*_civil_from_days(days), 0, 0, 0, 0)
    keep = int(unit)
    floor = (y, 1, 1, 0, 0, 0, 0)
    return tuple(t[i] if i <= keep else floor[i] for i in range(7))  # type: ignore[return-value]


def _shift(t: _Full, minutes: int) -> _Full:
    return _from_ms(_to_ms(t) + minutes * 60_000) if minutes else t


def _to_decimal(amount: int | Decimal | float) -> Decimal:
    if isinstance(amount, Decimal):
        return amount
    if isinstance(amount, float):
        return Decimal(str(amount))
    return Decimal(int(amount))


def _validate_offset(tz_offset: Decimal | int | None) -> Decimal | None:
    """An offset in hours as a Decimal, checked against the spec's range (+/-14 allowed)."""
    if tz_offset is None:
        return None
    try:
        tz = _to_decimal(tz_offset)
    except (InvalidOperation, ValueError, TypeError):
        raise CqlRuntimeError(f"invalid timezone offset {tz_offset!r}") from None
    if not tz.is_finite() or not Decimal(-14) <= tz <= Decimal(14):
        raise CqlRuntimeError(f"timezone offset {tz_offset} is out of range -14..14")
    return tz


def _offset_to_minutes(offset: Decimal) -> int:
    return int((offset * 60).to_integral_value())


def _minutes_to_offset(minutes: int) -> Decimal:
    return Decimal(minutes // 60) if minutes % 60 == 0 else Decimal(minutes) / Decimal(60)


# -- literal parsing -----------------------------------------------------------------------

_DATE_RE = r"(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?"
_TIME_RE = r"(\d{2})(?::(\d{2})(?::(\d{2})(?:\.(\d+))?)?)?"
_CQL_TZ_RE = r"(Z|[+-]\d{2}:\d{2})"
_ISO_TZ_RE = r"(Z|[+-]\d{2}(?::?\d{2})?)"
_CQL_DATE = re.compile(_DATE_RE)
_CQL_DATETIME = re.compile(rf"{_DATE_RE}T(?:{_TIME_RE})?{_CQL_TZ_RE}?")
_CQL_TIME = re.compile(rf"T?{_TIME_RE}")
_ISO_DATETIME = re.compile(rf"{_DATE_RE}(?:T(?:{_TIME_RE})?{_ISO_TZ_RE}?)?")
_ISO_TIME = re.compile(rf"T?{_TIME_RE}{_ISO_TZ_RE}?")


def _ints(groups: Sequence[str | None]) -> list[int | None]:
    return [None if g is None else int(g) for g in groups]


def _fraction_ms(fraction: str | None) -> int | None:
    """Fractional seconds to milliseconds: ``.5`` is 500; digits past the third are dropped."""
    return None if fraction is None else int(fraction[:3].ljust(3, "0"))


def _parse_offset(text: str | None) -> Decimal | None:
    if text is None:
        return None
    if text == "Z":
        return Decimal(0)
    digits = text[1:].replace(":", "")
    hours, minutes = int(digits[:2]), int(digits[2:] or 0)
    if minutes >= 60:
        raise CqlRuntimeError(f"invalid timezone offset '{text}'")
    total = hours * 60 + minutes
    return _minutes_to_offset(-total if text[0] == "-" else total)


# -- the value classes ---------------------------------------------------------------------

_T = TypeVar("_T", bound="_Temporal")

_COMPONENT_NAMES = ("year", "month", "day", "hour", "minute", "second", "millisecond")


def _check_range(slot: int, value: int, parts: list[int | None], kind: str) -> None:
    if slot == _Y:
        low, high = 1, 9999
    elif slot == _MO:
        low, high = 1, 12
    elif slot == _D:
        year, month = parts[_Y], parts[_MO]
        assert year is not None and month is not None
        low, high = 1, _days_in_month(year, month)
    else:
        low, high = 0, (23, 59, 59, 999)[slot - _H]
    if not low <= value <= high:
        raise CqlRuntimeError(
            f"{kind}: {_COMPONENT_NAMES[slot]} {value} is out of range {low}..{high}"
        )


class _Temporal(abc.ABC):
    """Shared machinery; see the module docstring for the semantics."""

    __slots__ = ("_c", "_p")

    _KIND: ClassVar[str]
    _FIRST: ClassVar[Precision]
    _LAST: ClassVar[Precision]
    _DIGITS: ClassVar[dict[Precision, int]]
    _UNITS: ClassVar[frozenset[Precision]]  # allowed arithmetic / duration units

    _c: _Parts
    _p: Precision

    # -- construction ------------------------------------------------------------------------

    def _init_parts(self, given: Sequence[int | None]) -> None:
        parts: list[int | None] = [None] * 7
        missing: int | None = None
        for slot, value in zip(range(self._FIRST, self._LAST + 1), given):
            if value is None:
                if missing is None:
                    missing = slot
                continue
            if missing is not None:
                raise CqlRuntimeError(
                    f"{self._KIND}: {_COMPONENT_NAMES[slot]} given without "
                    f"{_COMPONENT_NAMES[missing]}"
                )
            if isinstance(value, bool) or not isinstance(value, int):
                raise CqlRuntimeError(
                    f"{self._KIND}: {_COMPONENT_NAMES[slot]} must be an Integer, not {value!r}"
                )
            _check_range(slot, value, parts, self._KIND)
            parts[slot] = value
        if parts[self._FIRST] is None:
            raise CqlRuntimeError(f"{self._KIND} needs at least a {self._FIRST.keyword}")
        self._set_parts(parts)

    def _set_parts(self, parts: Sequence[int | None]) -> None:
        c = tuple(parts)
        p = self._FIRST
        for slot in range(self._FIRST + 1, self._LAST + 1):
            if c[slot] is None:
                break
            p = Precision(slot)
        object.__setattr__(self, "_c", c)
        object.__setattr__(self, "_p", p)

    def _replace(self: _T, parts: Sequence[int | None]) -> _T:
        """A value of the same class (and offset) with the given components, unvalidated."""
        obj = object.__new__(type(self))
        obj._set_parts(parts)
        obj._copy_extra(self)
        return obj

    def _copy_extra(self, source: _Temporal) -> None:  # noqa: B027 - an optional hook, not abstract
        """Hook for per-class state beyond the components (the DateTime offset)."""

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"{type(self).__name__} is immutable")

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickled as class, components and offset (results cross to worker processes, Dask
        and Spark); immutability forbids the default slot-by-slot restore."""
        return (_rebuild_temporal, (type(self), self._c, getattr(self, "_tz", None)))

    # -- identity ------------------------------------------------------------------------------

    def _key(self) -> tuple[object, ...]:
        return (self._c,)

    def __eq__(self, other: object) -> bool:
        """Structural (Python) equality; CQL ``=`` is :meth:`equal`."""
        return type(self) is type(other) and self._key() == other._key()  # type: ignore[attr-defined]

    def __hash__(self) -> int:
        return hash((type(self).__name__, *self._key()))

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.to_cql()})"

    def __str__(self) -> str:
        return self.to_cql()

    # -- components ----------------------------------------------------------------------------

    @property
    def precision(self) -> Precision:
        """The finest component present."""
        return self._p

    @property
    def precision_digits(self) -> int:
        """The spec's ``Precision()`` result: digits of the literal (``@2014`` -> 4)."""
        return self._DIGITS[self._p]

    @classmethod
    def precision_for_digits(cls, digits: int) -> Precision | None:
        """The precision a LowBoundary/HighBoundary digit count names, if valid for the type."""
        for p, n in cls._DIGITS.items():
            if n == digits:
                return p
        return None

    def component(self, precision: Precision | str) -> int | None:
        """The component at ``precision`` (CQL ``X from``), None when not specified."""
        return self._c[self._component_precision(precision)]

    def is_complete_for(self, precision: Precision | str) -> bool:
        """Whether the value specifies the component at ``precision``."""
        return self._c[self._component_precision(precision)] is not None

    def _component_precision(self, precision: Precision | str) -> Precision:
        p = Precision.parse(precision)
        if p == Precision.WEEK or not self._FIRST <= p <= self._LAST:
            raise CqlRuntimeError(f"precision {p.keyword} is not valid for {self._KIND} values")
        return p

    def _check_unit(self, unit: Precision | str) -> Precision:
        u = Precision.parse(unit)
        if u not in self._UNITS:
            raise CqlRuntimeError(f"unit {u.keyword} is not valid for {self._KIND} values")
        return u

    # -- filling / frames ----------------------------------------------------------------------

    def _fill(self, high: bool, combine_ms: bool) -> _Full:
        """The earliest (or latest) instant the value can stand for.

        Slots the type does not have are 0 (a Date has no time of day); with ``combine_ms`` a
        missing millisecond after a present second is 0, not a range.
        """
        c = self._c
        if self._FIRST == Precision.HOUR:
            y, mo, d = _TIME_PLACEHOLDER
        else:
            year, month, day = c[_Y], c[_MO], c[_D]
            assert year is not None
            y = year
            mo = month if month is not None else (12 if high else 1)
            d = day if day is not None else (_days_in_month(y, mo) if high else 1)
        rest: list[int] = []
        for slot, top in ((_H, 23), (_MI, 59), (_S, 59), (_MS, 999)):
            v = c[slot]
            if v is None:
                if slot > self._LAST or (slot == _MS and combine_ms and c[_S] is not None):
                    v = 0
                else:
                    v = top if high else 0
            rest.append(v)
        return (y, mo, d, *rest)  # type: ignore[return-value]

    def _offset_minutes(self) -> int | None:
        return None

    def _aligned(self, other: _Temporal, last: Precision) -> tuple[_Parts, _Parts]:
        """Component tuples to compare (DateTime brings them to a common offset)."""
        return self._c, other._c

    def _other_bounds(self, other: _Temporal, normalize: bool) -> tuple[_Full, _Full]:
        """``other``'s earliest/latest instants, in this value's offset when ``normalize``."""
        low, high = other._fill(False, True), other._fill(True, True)
        mine, theirs = self._offset_minutes(), other._offset_minutes()
        if normalize and mine is not None and theirs is not None and mine != theirs:
            low, high = _shift(low, mine - theirs), _shift(high, mine - theirs)
        return low, high

    # -- comparison ----------------------------------------------------------------------------

    def compare(self, other: _Temporal, precision: Precision | str | None = None) -> int | None:
        """-1/0/1 comparing component by component (to ``precision`` if given), or None.

        None means unknown: one value lacks a component the comparison needs while all
        coarser ones are equal (e.g. ``@2012-01-01`` vs ``@2012-01-01T12``).
        """
        a, b = _coerce_pair(self, other)
        p = None if precision is None else a._component_precision(precision)
        last = p if p is not None else max(a._p, b._p)
        ca, cb = a._aligned(b, last)
        combine = p is None and COMBINE_SECONDS_AND_MILLISECONDS
        for slot in range(a._FIRST, last + 1):
            x, y = ca[slot], cb[slot]
            if combine and slot == _MS:
                x = 0 if x is None and ca[_S] is not None else x
                y = 0 if y is None and cb[_S] is not None else y
            if x is None or y is None:
                return None
            if x != y:
                return -1 if x < y else 1
        return 0

    def equal(self, other: _Temporal) -> bool | None:
        """CQL ``=``: None when precisions differ and the shared components agree."""
        c = self.compare(other)
        return None if c is None else c == 0

    def equivalent(self, other: _Temporal) -> bool:
        """CQL ``~``: like ``=`` but differing precision is simply not equivalent."""
        return self.compare(other) == 0

    def same_as(self, other: _Temporal, precision: Precision | str | None = None) -> bool | None:
        c = self.compare(other, precision)
        return None if c is None else c == 0

    def same_or_before(
        self, other: _Temporal, precision: Precision | str | None = None
    ) -> bool | None:
        c = self.compare(other, precision)
        return None if c is None else c <= 0

    def same_or_after(
        self, other: _Temporal, precision: Precision | str | None = None
    ) -> bool | None:
        c = self.compare(other, precision)
        return None if c is None else c >= 0

    def before(self, other: _Temporal, precision: Precision | str | None = None) -> bool | None:
        c = self.compare(other, precision)
        return None if c is None else c < 0

    def after(self, other: _Temporal, precision: Precision | str | None = None) -> bool | None:
        c = self.compare(other, precision)
        return None if c is None else c > 0

    def sort_key(self) -> tuple[int, ...]:
        """A total order for ``sort``: chronological, less precise first among equals."""
        c = self._sort_parts()
        key = [-1 if v is None else v for v in c[self._FIRST : self._LAST + 1]]
        if self._LAST == Precision.MILLISECOND and c[_MS] is None and c[_S] is not None:
            key[-1] = 0
        return tuple(key)

    def _sort_parts(self) -> _Parts:
        return self._c

    # -- duration / difference -----------------------------------------------------------------

    def duration_between(self, other: _Temporal, precision: Precision | str) -> IntOrUncertainty:
        """Whole calendar periods from this value to ``other`` (CQL ``X between``).

        With partial operands the result is the range from the shortest possible duration
        (this value's latest instant to ``other``'s earliest) to the longest.  Offsets are
        always normalised because a duration measures elapsed time (DurationInDaysA: 23 hours
        across a DST change is 0 days).
        """
        a, b = _coerce_pair(self, other)
        unit = a._check_unit(precision)
        low_b, high_b = a._other_bounds(b, normalize=True)
        shortest = _duration(a._fill(True, True), low_b, unit)
        longest = _duration(a._fill(False, True), high_b, unit)
        return Uncertainty.of(shortest, longest)

    def difference_between(self, other: _Temporal, precision: Precision | str) -> IntOrUncertainty:
        """Period boundaries crossed from this value to ``other`` (CQL ``difference in X``).

        Both values are truncated to the unit (weeks start on Sunday) and the duration taken;
        offsets are normalised only for hours and finer so that day/month/year differences
        count calendar boundaries as written (Appendix H, DST examples).
        """
        a, b = _coerce_pair(self, other)
        unit = a._check_unit(precision)
        normalize = unit in (
            Precision.HOUR,
            Precision.MINUTE,
            Precision.SECOND,
            Precision.MILLISECOND,
        )
        low_b, high_b = a._other_bounds(b, normalize)
        low_a, high_a = a._fill(False, True), a._fill(True, True)
        low_a, high_a, low_b, high_b = (
            _truncate_full(t, unit) for t in (low_a, high_a, low_b, high_b)
        )
        return Uncertainty.of(_duration(high_a, low_b, unit), _duration(low_a, high_b, unit))

    # -- arithmetic ----------------------------------------------------------------------------

    def add(self: _T, amount: int | Decimal, unit: Precision | str) -> _T:
        """``self + amount unit`` with calendar semantics, keeping this value's precision.

        Units coarser than a second drop any fraction; a unit finer than the value's precision
        is converted to that precision and truncated (1 month = 30 days, 1 year = 365 days,
        e.g. ``DateTime(2014) + 735 days = @2016T``).  Results outside years 1..9999 are
        run-time errors; Time wraps around midnight (spec: Time is cyclic).
        """
        u = self._check_unit(unit)
        amt = _to_decimal(amount)
        p = self._p
        if u in (Precision.YEAR, Precision.MONTH):
            months = int(amt) * (12 if u == Precision.YEAR else 1)
            if p == Precision.YEAR:
                months = _trunc_div(months, 12) * 12
            return self._plus_months(months)
        if u != Precision.MILLISECOND and u != Precision.SECOND:
            amt = Decimal(int(amt))
        total_ms = amt * _UNIT_MS[u]
        if p == Precision.YEAR:
            return self._plus_months(int(total_ms / _YEAR_MS) * 12)
        if p == Precision.MONTH:
            return self._plus_months(int(total_ms / _MONTH_MS))
        step = _UNIT_MS[p]
        return self._plus_ms(int(total_ms / step) * step)

    def subtract(self: _T, amount: int | Decimal, unit: Precision | str) -> _T:
        """``self - amount unit``; see :meth:`add`."""
        return self.add(-_to_decimal(amount), unit)

    def _plus_months(self: _T, months: int) -> _T:
        if months == 0:
            return self
        c = list(self._c)
        year = c[_Y]
        assert year is not None
        y, mo = divmod(year * 12 + (c[_MO] or 1) - 1 + months, 12)
        mo += 1
        _check_result_year(y)
        c[_Y] = y
        if c[_MO] is not None:
            c[_MO] = mo
        day = c[_D]
        if day is not None:
            c[_D] = min(day, _days_in_month(y, mo))
        return self._replace(c)

    def _plus_ms(self: _T, delta: int) -> _T:
        if delta == 0:
            return self
        t = _from_ms(_to_ms(self._fill(False, False)) + delta)
        _check_result_year(t[_Y])
        return self._replace(self._mask(t, self._p))

    def _mask(self, t: Sequence[int | None], last: Precision) -> list[int | None]:
        return [t[i] if self._FIRST <= i <= last else None for i in range(7)]

    def successor(self: _T) -> _T:
        """The next value at this value's own precision (spec Successor)."""
        return self._step(1)

    def predecessor(self: _T) -> _T:
        return self._step(-1)

    def _step(self: _T, sign: int) -> _T:
        try:
            return self.add(sign, self._p)
        except CqlRuntimeError:
            raise CqlRuntimeError(
                f"{'successor' if sign > 0 else 'predecessor'} of {self.to_cql()} is out of range"
            ) from None

    # -- boundaries ------------------------------------------------------------------------------

    def truncate(self: _T, precision: Precision | str) -> _T:
        """The value with components finer than ``precision`` dropped."""
        p = self._component_precision(precision)
        return self if p >= self._p else self._replace(self._mask(self._c, p))

    def low_boundary(self: _T, precision: Precision | str | None = None) -> _T:
        """Spec LowBoundary: the earliest value at ``precision`` (default: the finest)."""
        return self._boundary(precision, high=False)

    def high_boundary(self: _T, precision: Precision | str | None = None) -> _T:
        """Spec HighBoundary, e.g. ``@2014`` at month -> ``@2014-12``."""
        return self._boundary(precision, high=True)

    def _boundary(self: _T, precision: Precision | str | None, high: bool) -> _T:
        p = self._LAST if precision is None else self._component_precision(precision)
        if p <= self._p:
            return self.truncate(p)
        return self._replace(self._mask(self._fill(high, False), p))

    # -- rendering ---------------------------------------------------------------------------------

    def _date_text(self) -> str:
        y, mo, d = self._c[_Y], self._c[_MO], self._c[_D]
        text = f"{y:04d}"
        if mo is not None:
            text += f"-{mo:02d}"
            if d is not None:
                text += f"-{d:02d}"
        return text

    def _time_text(self) -> str:
        h, mi, s, ms = self._c[_H:]
        if h is None:
            return ""
        text = f"{h:02d}"
        if mi is not None:
            text += f":{mi:02d}"
            if s is not None:
                text += f":{s:02d}"
                if ms is not None:
                    text += f".{ms:03d}"
        return text

    @abc.abstractmethod
    def to_cql(self) -> str:
        """The CQL literal for the value."""

    @abc.abstractmethod
    def to_string(self) -> str:
        """The CQL ``ToString`` representation."""


def _check_result_year(year: int) -> None:
    if not 1 <= year <= 9999:
        raise CqlRuntimeError(f"date/time arithmetic result year {year} is outside 1..9999")


def _coerce_pair(a: _Temporal, b: _Temporal) -> tuple[_Temporal, _Temporal]:
    """Make both operands the same type; a Date meets a DateTime as a DateTime (spec)."""
    if type(a) is type(b):
        return a, b
    if isinstance(a, Date) and isinstance(b, DateTime):
        return a.to_datetime(), b
    if isinstance(a, DateTime) and isinstance(b, Date):
        return a, b.to_datetime()
    raise CqlRuntimeError(f"cannot combine {type(a).__name__} and {type(b).__name__} values")


class Date(_Temporal):
    """A CQL Date: year, optionally month and day."""

    __slots__ = ()

    _KIND = "Date"
    _FIRST = Precision.YEAR
    _LAST = Precision.DAY
    _DIGITS = {Precision.YEAR: 4, Precision.MONTH: 6, Precision.DAY: 8}
    _UNITS = frozenset({Precision.YEAR, Precision.MONTH, Precision.WEEK, Precision.DAY})

    def __init__(self, year: int, month: int | None = None, day: int | None = None):
        self._init_parts((year, month, day))

    @classmethod
    def parse(cls, text: str) -> Date:
        """A Date from a CQL literal body (``2012``, ``2012-03``, ``2012-03-04``)."""
        m = _CQL_DATE.fullmatch(text.lstrip("@"))
        if m is None:
            raise CqlRuntimeError(f"invalid Date literal '{text}'")
        return cls(*_ints(m.groups()))  # type: ignore[arg-type]

    @classmethod
    def parse_iso(cls, text: str) -> Date | None:
        """A Date from an ISO/FHIR string (ToDate): a time portion is checked but ignored."""
        m = _CQL_DATE.fullmatch(text)
        try:
            if m is not None:
                return cls(*_ints(m.groups()))  # type: ignore[arg-type]
        except CqlRuntimeError:
            return None
        dt = DateTime.parse_iso(text)
        return None if dt is None else dt.date()

    @classmethod
    def min_value(cls) -> Date:
        return cls(1, 1, 1)

    @classmethod
    def max_value(cls) -> Date:
        return cls(9999, 12, 31)

    @property
    def year(self) -> int:
        return self._c[_Y]  # type: ignore[return-value]

    @property
    def month(self) -> int | None:
        return self._c[_MO]

    @property
    def day(self) -> int | None:
        return self._c[_D]

    def to_datetime(self, tz_offset: Decimal | int | None = None) -> DateTime:
        """ToDateTime(Date): same components, time unspecified, the given offset."""
        return DateTime(self.year, self.month, self.day, tz_offset=tz_offset)

    def to_cql(self) -> str:
        return "@" + self._date_text()

    def to_string(self) -> str:
        return self._date_text()


class DateTime(_Temporal):
    """A CQL DateTime: year down to millisecond, plus an optional offset in hours.

    ``tz_offset`` None means "unspecified": the engine normally fills in the evaluation
    request's offset; when it is still None the value is treated as being in whatever offset
    it is compared with.
    """

    __slots__ = ("_tz",)

    _KIND = "DateTime"
    _FIRST = Precision.YEAR
    _LAST = Precision.MILLISECOND
    _DIGITS = {
        Precision.YEAR: 4,
        Precision.MONTH: 6,
        Precision.DAY: 8,
        Precision.HOUR: 10,
        Precision.MINUTE: 12,
        Precision.SECOND: 14,
        Precision.MILLISECOND: 17,
    }
    _UNITS = frozenset(Precision)

    _tz: Decimal | None

    def __init__(
        self,
        year: int,
        month: int | None = None,
        day: int | None = None,
        hour: int | None = None,
        minute: int | None = None,
        second: int | None = None,
        millisecond: int | None = None,
        tz_offset: Decimal | int | None = None,
    ):
        self._init_parts((year, month, day, hour, minute, second, millisecond))
        object.__setattr__(self, "_tz", _validate_offset(tz_offset))

    def _copy_extra(self, source: _Temporal) -> None:
        object.__setattr__(self, "_tz", getattr(source, "_tz", None))

    def _key(self) -> tuple[object, ...]:
        return (self._c, self._tz)

    @classmethod
    def parse(cls, text: str) -> DateTime:
        """A DateTime from a CQL literal body: ``2012T``, ``2012-03-04T10:20:30.123Z``,
        ``2012-03-04T+01:00`` ... (the ``T`` is required, as in the grammar)."""
        m = _CQL_DATETIME.fullmatch(text.lstrip("@"))
        if m is None:
            raise CqlRuntimeError(f"invalid DateTime literal '{text}'")
        return cls._from_match(m)

    @classmethod
    def parse_iso(cls, text: str) -> DateTime | None:
        """A DateTime from an ISO/FHIR string (ToDateTime), or None if it is not one.

        Accepts date-only forms without ``T`` (``2014-01-01``), any precision, fractions of
        any length (truncated to milliseconds) and offsets ``Z``/``+hh:mm``/``+hhmm``/``+hh``.
        """
        m = _ISO_DATETIME.fullmatch(text)
        if m is None:
            return None
        try:
            return cls._from_match(m)
        except CqlRuntimeError:
            return None

    @classmethod
    def _from_match(cls, m: re.Match[str]) -> DateTime:
        y, mo, d, h, mi, s = _ints(m.groups()[:6])
        return cls(
            y,  # type: ignore[arg-type]
            mo,
            d,
            h,
            mi,
            s,
            _fraction_ms(m.group(7)),
            _parse_offset(m.group(8)),
        )

    @classmethod
    def min_value(cls, tz_offset: Decimal | int | None = 0) -> DateTime:
        """``minimum DateTime``: @0001-01-01T00:00:00.000 (UTC, as the conformance suite)."""
        return cls(1, 1, 1, 0, 0, 0, 0, tz_offset)

    @classmethod
    def max_value(cls, tz_offset: Decimal | int | None = 0) -> DateTime:
        return cls(9999, 12, 31, 23, 59, 59, 999, tz_offset)

    @property
    def year(self) -> int:
        return self._c[_Y]  # type: ignore[return-value]

    @property
    def month(self) -> int | None:
        return self._c[_MO]

    @property
    def day(self) -> int | None:
        return self._c[_D]

    @property
    def hour(self) -> int | None:
        return self._c[_H]

    @property
    def minute(self) -> int | None:
        return self._c[_MI]

    @property
    def second(self) -> int | None:
        return self._c[_S]

    @property
    def millisecond(self) -> int | None:
        return self._c[_MS]

    @property
    def tz_offset(self) -> Decimal | None:
        """The offset in hours (``-5.5`` for -05:30), or None if unspecified."""
        return self._tz

    def _offset_minutes(self) -> int | None:
        return None if self._tz is None else _offset_to_minutes(self._tz)

    def _shifted_parts(self, target_minutes: int) -> _Parts:
        own = self._offset_minutes()
        assert own is not None
        t = _shift(self._fill(False, False), target_minutes - own)
        return tuple(self._mask(t, self._p))

    def _aligned(self, other: _Temporal, last: Precision) -> tuple[_Parts, _Parts]:
        # Spec: normalise differing offsets only when the comparison reaches hours or finer.
        mine, theirs = self._offset_minutes(), other._offset_minutes()
        if last < Precision.HOUR or mine is None or theirs is None or mine == theirs:
            return self._c, other._c
        assert isinstance(other, DateTime)
        if other._p >= Precision.HOUR:
            return self._c, other._shifted_parts(mine)
        if self._p >= Precision.HOUR:
            return self._shifted_parts(theirs), other._c
        return self._c, other._c

    def _sort_parts(self) -> _Parts:
        if self._tz is not None and self._p >= Precision.HOUR:
            return self._shifted_parts(0)
        return self._c

    def date(self) -> Date:
        """``date from``: the date components as a Date."""
        return Date(self.year, self.month, self.day)

    to_date = date

    def time(self) -> Time | None:
        """``time from``: the time components as a Time, None without an hour."""
        h = self._c[_H]
        if h is None:
            return None
        return Time(h, self._c[_MI], self._c[_S], self._c[_MS])

    def with_offset(self, tz_offset: Decimal | int | None) -> DateTime:
        """The same instant expressed in another offset.

        Values coarser than an hour (or without an offset) cannot be moved meaningfully, so they
        keep their components and only take the new offset.
        """
        new = _validate_offset(tz_offset)
        own = self._offset_minutes()
        if new is None or own is None or self._p < Precision.HOUR:
            return self._replace_with_tz(self._c, new)
        t = _shift(self._fill(False, False), _offset_to_minutes(new) - own)
        _check_result_year(t[_Y])
        return self._replace_with_tz(self._mask(t, self._p), new)

    def _replace_with_tz(self, parts: Sequence[int | None], tz: Decimal | None) -> DateTime:
        obj = self._replace(parts)
        object.__setattr__(obj, "_tz", tz)
        return obj

    def _offset_text(self) -> str:
        minutes = self._offset_minutes()
        if minutes is None:
            return ""
        h, mi = divmod(abs(minutes), 60)
        return f"{'-' if minutes < 0 else '+'}{h:02d}:{mi:02d}"

    def to_cql(self) -> str:
        return f"@{self._date_text()}T{self._time_text()}{self._offset_text()}"

    def to_string(self) -> str:
        """ToString: ``YYYY-MM-DDThh:mm:ss.fff+hh:mm`` to the value's precision; the offset is
        shown only with a time (``ToString(DateTime(2000, 1, 1))`` is ``'2000-01-01'``)."""
        if self._c[_H] is None:
            return self._date_text()
        return f"{self._date_text()}T{self._time_text()}{self._offset_text()}"


class Time(_Temporal):
    """A CQL Time of day: hour, optionally minute, second, millisecond (no offset)."""

    __slots__ = ()

    _KIND = "Time"
    _FIRST = Precision.HOUR
    _LAST = Precision.MILLISECOND
    _DIGITS = {
        Precision.HOUR: 2,
        Precision.MINUTE: 4,
        Precision.SECOND: 6,
        Precision.MILLISECOND: 9,
    }
    _UNITS = frozenset({Precision.HOUR, Precision.MINUTE, Precision.SECOND, Precision.MILLISECOND})

    def __init__(
        self,
        hour: int,
        minute: int | None = None,
        second: int | None = None,
        millisecond: int | None = None,
    ):
        self._init_parts((hour, minute, second, millisecond))

    @classmethod
    def parse(cls, text: str) -> Time:
        """A Time from a CQL literal body after ``@T`` (a leading ``T`` is also accepted)."""
        m = _CQL_TIME.fullmatch(text.lstrip("@"))
        if m is None:
            raise CqlRuntimeError(f"invalid Time literal '{text}'")
        h, mi, s = _ints(m.groups()[:3])
        return cls(h, mi, s, _fraction_ms(m.group(4)))  # type: ignore[arg-type]

    @classmethod
    def parse_iso(cls, text: str) -> Time | None:
        """A Time from a string (ToTime): ``14:30:00.0`` or ``T14:30:00.0``; an offset suffix
        is accepted and ignored, as Time has none."""
        m = _ISO_TIME.fullmatch(text)
        if m is None:
            return None
        try:
            h, mi, s = _ints(m.groups()[:3])
            return cls(h, mi, s, _fraction_ms(m.group(4)))  # type: ignore[arg-type]
        except CqlRuntimeError:
            return None

    @classmethod
    def min_value(cls) -> Time:
        return cls(0, 0, 0, 0)

    @classmethod
    def max_value(cls) -> Time:
        return cls(23, 59, 59, 999)

    @property
    def hour(self) -> int:
        return self._c[_H]  # type: ignore[return-value]

    @property
    def minute(self) -> int | None:
        return self._c[_MI]

    @property
    def second(self) -> int | None:
        return self._c[_S]

    @property
    def millisecond(self) -> int | None:
        return self._c[_MS]

    def _plus_ms(self, delta: int) -> Time:
        # Time is cyclic: overflow wraps around midnight (spec Add/Subtract).
        of_day = (_time_of_day_ms(self._fill(False, False)) + delta) % _MS_PER_DAY
        t = _from_ms(of_day)
        return self._replace(self._mask(t, self._p))

    def _step(self, sign: int) -> Time:
        # Successor/predecessor must not wrap: @T23:59:59.999 has no successor.
        step = _UNIT_MS[self._p] * sign
        if not 0 <= _time_of_day_ms(self._fill(False, False)) + step < _MS_PER_DAY:
            raise CqlRuntimeError(
                f"{'successor' if sign > 0 else 'predecessor'} of {self.to_cql()} is out of range"
            )
        return self._plus_ms(step)

    def to_cql(self) -> str:
        return "@T" + self._time_text()

    def to_string(self) -> str:
        return self._time_text()


# -- Python interop --------------------------------------------------------------------------


def now_from(moment: _dt.datetime) -> DateTime:
    """The CQL DateTime (millisecond precision) for a Python datetime, e.g. the evaluation
    request timestamp behind ``Now()``; a naive datetime gives an unspecified offset."""
    offset = moment.utcoffset()
    tz = None if offset is None else _minutes_to_offset(int(offset.total_seconds()) // 60)
    return DateTime(
        moment.year,
        moment.month,
        moment.day,
        moment.hour,
        moment.minute,
        moment.second,
        moment.microsecond // 1000,
        tz,
    )


def to_python(value: _Temporal) -> _dt.date | _dt.datetime | _dt.time | None:
    """A Python date/datetime/time for a value precise enough to name one, else None.

    A Date needs a day, a DateTime a day (missing time components read as 0, the offset
    becomes a fixed tzinfo), a Time an hour (missing components read as 0).
    """
    y, mo, d, h, mi, s, ms = value._fill(False, False)
    if isinstance(value, Time):
        return _dt.time(h, mi, s, ms * 1000)
    if value._c[_D] is None:
        return None
    if isinstance(value, Date):
        return _dt.date(y, mo, d)
    if isinstance(value, DateTime):
        minutes = value._offset_minutes()
        tzinfo = None if minutes is None else _dt.timezone(_dt.timedelta(minutes=minutes))
        return _dt.datetime(y, mo, d, h, mi, s, ms * 1000, tzinfo=tzinfo)
    raise TypeError(f"not a CQL temporal value: {value!r}")


def _rebuild_temporal(cls: type[_Temporal], parts: Sequence[int | None], tz: Decimal | None) -> _Temporal:
    obj = object.__new__(cls)
    obj._set_parts(parts)
    if cls is DateTime:
        object.__setattr__(obj, "_tz", tz)
    return obj

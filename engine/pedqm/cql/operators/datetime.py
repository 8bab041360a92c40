"""Date and time operators (CQL reference 'Date and Time Operators'): selectors, Now/Today,
component extraction, duration and difference between, age calculation.

Arithmetic on temporals (`+ 3 days`) lives in the arithmetic chapter; timing comparisons
(`same day as`, `before`) in the interval chapter, because they apply to intervals too.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from ..context import EvaluationContext
from ..errors import CqlRuntimeError
from ..runtime.interval import interval_end, interval_start, is_null_like
from ..runtime.temporal import Date, DateTime, Precision, Time, Uncertainty
from ..runtime.values import Interval
from .registry import operator


def _check_components(name: str, values: tuple[Any, ...]) -> None:
    """A component may be given only when every coarser one is (spec: DateTime selector)."""
    seen_null = False
    for v in values:
        if v is None:
            seen_null = True
        elif seen_null:
            raise CqlRuntimeError(f"{name}: a component is given after a missing coarser one")


@operator("DateTimeSelector", strict=False, context=True, arity=(1, 8))
def DateTimeSelector(
    ctx: EvaluationContext,
    year: int | None,
    month: int | None = None,
    day: int | None = None,
    hour: int | None = None,
    minute: int | None = None,
    second: int | None = None,
    millisecond: int | None = None,
    offset: Decimal | int | None = None,
) -> DateTime | None:
    """`DateTime(y, m, d, ...)`; without an offset the request's offset applies (spec 'DateTime')."""
    if year is None:
        return None
    _check_components("DateTime", (year, month, day, hour, minute, second, millisecond))
    tz = Decimal(offset) if offset is not None else ctx.timezone_offset
    try:
        return DateTime(year, month, day, hour, minute, second, millisecond, tz)
    except CqlRuntimeError:
        raise
    except (ValueError, TypeError) as exc:
        raise CqlRuntimeError(f"invalid DateTime: {exc}") from None


@operator("DateSelector", strict=False, arity=(1, 3))
def DateSelector(year: int | None, month: int | None = None, day: int | None = None) -> Date | None:
    if year is None:
        return None
    _check_components("Date", (year, month, day))
    return Date(year, month, day)


@operator("TimeSelector", strict=False, arity=(1, 4))
def TimeSelector(hour: int | None, minute: int | None = None, second: int | None = None, millisecond: int | None = None) -> Time | None:
    if hour is None:
        return None
    _check_components("Time", (hour, minute, second, millisecond))
    return Time(hour, minute, second, millisecond)


@operator("DateTimeWithDefaultOffset", context=True)
def DateTimeWithDefaultOffset(ctx: EvaluationContext, dt: DateTime) -> DateTime:
    """A DateTime literal written without an offset takes the request's offset."""
    if dt.tz_offset is not None:
        return dt
    return DateTime(dt.year, dt.month, dt.day, dt.hour, dt.minute, dt.second, dt.millisecond, ctx.timezone_offset)


@operator("Now", strict=False, context=True)
def Now(ctx: EvaluationContext) -> DateTime:
    return ctx.now


@operator("Today", strict=False, context=True)
def Today(ctx: EvaluationContext) -> Date:
    return ctx.now.date()


@operator("TimeOfDay", strict=False, context=True)
def TimeOfDay(ctx: EvaluationContext) -> Time | None:
    return ctx.now.time()


@operator("DateFrom")
def DateFrom(x: DateTime | Date) -> Date:
    return x if isinstance(x, Date) else x.date()


@operator("TimeFrom")
def TimeFrom(x: DateTime) -> Time | None:
    return x.time()


@operator("TimezoneOffsetFrom")
def TimezoneOffsetFrom(x: DateTime) -> Decimal | None:
    return x.tz_offset


@operator("DateTimeComponentFrom")
def DateTimeComponentFrom(x: Date | DateTime | Time, precision: str | None = None) -> int | None:
    if precision is None:
        raise CqlRuntimeError("component extraction needs a precision")
    return x.component(Precision.parse(precision))


def _between(kind: str, a: Any, b: Any, precision: str | None) -> int | Uncertainty | None:
    if precision is None:
        raise CqlRuntimeError(f"{kind} between needs a precision")
    if type(a) is not type(b):
        if isinstance(a, Date) and isinstance(b, DateTime):
            a = DateTime(a.year, a.month, a.day, tz_offset=b.tz_offset)
        elif isinstance(a, DateTime) and isinstance(b, Date):
            b = DateTime(b.year, b.month, b.day, tz_offset=a.tz_offset)
    p = Precision.parse(precision)
    if kind == "duration":
        return a.duration_between(b, p)
    return a.difference_between(b, p)


@operator("DurationBetween")
def DurationBetween(a: Any, b: Any, precision: str | None = None) -> int | Uncertainty | None:
    return _between("duration", a, b, precision)


@operator("DifferenceBetween")
def DifferenceBetween(a: Any, b: Any, precision: str | None = None) -> int | Uncertainty | None:
    return _between("difference", a, b, precision)


@operator("CalculateAgeAt")
def CalculateAgeAt(birth: Date | DateTime, as_of: Date | DateTime, precision: str | None = None) -> int | Uncertainty | None:
    """`CalculateAgeInYearsAt(birthDate, asOf)`: whole periods from birth to `as_of`."""
    return _between("duration", birth, as_of, precision or "year")


@operator("CalculateAge", context=True)
def CalculateAge(ctx: EvaluationContext, birth: Date | DateTime, precision: str | None = None) -> int | Uncertainty | None:
    """`CalculateAgeInYears(birthDate)`: age today (the request's Today/Now)."""
    today: Date | DateTime = ctx.now.date() if isinstance(birth, Date) else ctx.now
    return _between("duration", birth, today, precision or "year")


@operator("_Edge", strict=False)
def _Edge(x: Any, which: str) -> Any:
    """For timing phrases with offsets: the start or end of an interval; a point is itself."""
    if isinstance(x, Interval):
        if is_null_like(x):
            return None
        return interval_start(x) if which == "start" else interval_end(x)
    return x


@operator("ExternalConstant", strict=False, context=True)
def ExternalConstant(ctx: EvaluationContext, name: str) -> Any:
    """`%name`: a value the request supplies (looked up among the request's parameters)."""
    for values in ctx.parameters.values():
        if name in values:
            return values[name]
    raise CqlRuntimeError(f"external constant %{name} is not defined")

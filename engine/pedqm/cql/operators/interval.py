"""Interval operators and the timing operators on points and intervals (CQL 1.5 reference,
'Interval Operators' and the Before/After/Same As rows of 'Date and Time Operators').

This chapter registers the operators, handles null and mistyped arguments, and dispatches the
operators shared by lists and intervals (in, contains, includes, union, ...) on the run-time
types of their arguments, handing list arguments to :mod:`.list`. What the operators mean for
interval values (boundaries as ranges of possible points, unknown open boundaries, the
point type of ``Interval[null, null]``) lives in :mod:`pedqm.cql.runtime.interval`.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from decimal import ROUND_FLOOR, Decimal
from typing import Any

from ..errors import CqlRuntimeError
from ..runtime.compare import compare
from ..runtime.interval import (
    DEC_STEP,
    Range,
    bounds,
    clamped,
    contains_point,
    eq,
    ge,
    gt,
    includes,
    interval_end,
    interval_except,
    interval_intersect,
    interval_point_type,
    interval_start,
    interval_union,
    is_null_like,
    le,
    lt,
    meets_before,
    overlaps,
    pair,
    point_bounds,
    properly_contains_point,
    sample,
    step_up,
    temporal_precision,
)
from ..runtime.logic import Bool3, and3, or3
from ..runtime.order import point_type_of
from ..runtime.quantity import Quantity, normalize_decimal
from ..runtime.temporal import Precision
from ..runtime.values import Interval, Long
from .list import (
    list_contains,
    list_except,
    list_in,
    list_included_in,
    list_includes,
    list_intersect,
    list_proper_contains,
    list_proper_in,
    list_proper_included_in,
    list_proper_includes,
    list_union,
)
from .registry import operator

_TEMPORAL_NAMES = ("Date", "DateTime", "Time")
_MAX_EXPANSION = 1_000_000  # guard: expand of a huge interval is a run-time error, not a hang


# ---------------------------------------------------------------------------------------------
# Start, End, Width, Size, PointFrom


def _require_interval(x: Any, op: str) -> Interval:
    if not isinstance(x, Interval):
        raise CqlRuntimeError(f"{op} expects an interval, got {type(x).__name__}")
    return x


@operator("Start")
def Start(ivl: Interval) -> Any:
    """Spec Start."""
    ivl = _require_interval(ivl, "start of")
    return None if is_null_like(ivl) else interval_start(ivl)


@operator("End")
def End(ivl: Interval) -> Any:
    """Spec End."""
    ivl = _require_interval(ivl, "end of")
    return None if is_null_like(ivl) else interval_end(ivl)


def _difference(ivl: Interval, op: str) -> tuple[Any, Any] | None:
    ivl = _require_interval(ivl, op)
    pt = interval_point_type(ivl)
    if pt in _TEMPORAL_NAMES:
        raise CqlRuntimeError(
            f"{op} is not defined for {pt} intervals (use duration/difference between)"
        )
    start, end = interval_start(ivl), interval_end(ivl)
    if start is None or end is None:
        return None
    return start, end


def _minus(a: Any, b: Any) -> Any:
    if isinstance(a, Quantity):
        return a.subtract(b)
    if isinstance(a, Long) or isinstance(b, Long):
        return Long(int(a) - int(b))
    if isinstance(a, Decimal) or isinstance(b, Decimal):
        return normalize_decimal(Decimal(a) - Decimal(b))
    return a - b


@operator("Width")
def Width(ivl: Interval) -> Any:
    """Spec Width: end - start; a run-time error for Date/DateTime/Time intervals."""
    se = _difference(ivl, "width of")
    return None if se is None else _minus(se[1], se[0])


@operator("Size")
def Size(ivl: Interval) -> Any:
    """Spec Size (1.5): end - start + the point size (successor of a value minus the value)."""
    se = _difference(ivl, "size of")
    if se is None:
        return None
    start, end = se
    width = _minus(end, start)
    if isinstance(width, Quantity):
        return width.add(type(width)(DEC_STEP, width.unit))
    if isinstance(width, Decimal):
        return width + DEC_STEP
    return type(width)(width + 1) if isinstance(width, Long) else width + 1


@operator("PointFrom")
def PointFrom(ivl: Interval) -> Any:
    """Spec PointFrom: the single point of a unit interval; a run-time error otherwise."""
    ivl = _require_interval(ivl, "point from")
    if is_null_like(ivl):
        return None
    start, end = interval_start(ivl), interval_end(ivl)
    if start is None or end is None:
        return None
    same = eq(Range.point(start), Range.point(end))
    if same is None:
        return None
    if not same:
        raise CqlRuntimeError("point from requires a unit interval (start equal to end)")
    return start


# ---------------------------------------------------------------------------------------------
# interval relationships


def _interval_args(a: Any, b: Any, op: str) -> tuple[Interval, Interval]:
    return _require_interval(a, op), _require_interval(b, op)


def _relate(
    a: Any, b: Any, precision: str | None, op: str,
    test: Callable[[Range, Range, Range, Range, str | None], Bool3],
) -> Bool3:
    ia, ib = _interval_args(a, b, op)
    rs = pair(ia, ib)
    if rs is None:
        return None
    return test(*rs, temporal_precision(precision, sample(*rs)))


@operator("Meets")
def Meets(a: Interval, b: Interval, precision: str | None = None) -> Bool3:
    """Spec Meets: meets before or meets after."""
    return _relate(
        a, b, precision, "meets",
        lambda sa, ea, sb, eb, p: or3(meets_before(ea, sb, p), meets_before(eb, sa, p)),
    )


@operator("MeetsBefore")
def MeetsBefore(a: Interval, b: Interval, precision: str | None = None) -> Bool3:
    """Spec Meets Before: the first ends right before the second starts."""
    return _relate(
        a, b, precision, "meets before", lambda sa, ea, sb, eb, p: meets_before(ea, sb, p)
    )


@operator("MeetsAfter")
def MeetsAfter(a: Interval, b: Interval, precision: str | None = None) -> Bool3:
    """Spec Meets After: the first starts right after the second ends."""
    return _relate(
        a, b, precision, "meets after", lambda sa, ea, sb, eb, p: meets_before(eb, sa, p)
    )


@operator("Overlaps")
def Overlaps(a: Interval, b: Interval, precision: str | None = None) -> Bool3:
    """Spec Overlaps: each interval starts on or before the other ends."""
    return _relate(a, b, precision, "overlaps", overlaps)


@operator("OverlapsBefore")
def OverlapsBefore(a: Interval, b: Interval, precision: str | None = None) -> Bool3:
    """Spec Overlaps Before: overlaps, and the first starts before the second starts."""
    return _relate(
        a, b, precision, "overlaps before",
        lambda sa, ea, sb, eb, p: and3(overlaps(sa, ea, sb, eb, p), lt(sa, sb, p)),
    )


@operator("OverlapsAfter")
def OverlapsAfter(a: Interval, b: Interval, precision: str | None = None) -> Bool3:
    """Spec Overlaps After: overlaps, and the first ends after the second ends."""
    return _relate(
        a, b, precision, "overlaps after",
        lambda sa, ea, sb, eb, p: and3(overlaps(sa, ea, sb, eb, p), gt(ea, eb, p)),
    )


@operator("Starts")
def Starts(a: Interval, b: Interval, precision: str | None = None) -> Bool3:
    """Spec Starts: same start, and the first ends on or before the second ends."""
    return _relate(
        a, b, precision, "starts",
        lambda sa, ea, sb, eb, p: and3(eq(sa, sb, p), le(ea, eb, p)),
    )


@operator("Ends")
def Ends(a: Interval, b: Interval, precision: str | None = None) -> Bool3:
    """Spec Ends: the first starts on or after the second starts, and they end together."""
    return _relate(
        a, b, precision, "ends",
        lambda sa, ea, sb, eb, p: and3(ge(sa, sb, p), eq(ea, eb, p)),
    )


# ---------------------------------------------------------------------------------------------
# membership and inclusion (interval forms)


def _is_point(x: Any) -> bool:
    return x is not None and not isinstance(x, (Interval, list))


# ---------------------------------------------------------------------------------------------
# dispatchers shared with lists


@operator("In", strict=False)
def In(x: Any, container: Any, precision: str | None = None) -> Bool3:
    """Spec In (list and interval): a null container is false; ``null in list`` looks for a null
    element; ``null in interval`` is null."""
    if container is None:
        return False
    if isinstance(container, list):
        return list_in(x, container)
    ivl = _require_interval(container, "in")
    if x is None:
        return None
    if isinstance(x, Interval):
        return includes(ivl, x, precision, proper=False)
    return contains_point(ivl, x, precision)


@operator("Contains", strict=False)
def Contains(container: Any, x: Any, precision: str | None = None) -> Bool3:
    """Spec Contains: the converse of In."""
    return In(x, container, precision)


@operator("ProperIn", strict=False)
def ProperIn(x: Any, container: Any, precision: str | None = None) -> Bool3:
    """Spec Properly Included In (point forms): a null container is false."""
    if container is None:
        return False
    if isinstance(container, list):
        return list_proper_in(x, container)
    ivl = _require_interval(container, "properly included in")
    if x is None:
        return None
    if isinstance(x, Interval):
        return includes(ivl, x, precision, proper=True)
    return properly_contains_point(ivl, x, precision)


@operator("ProperContains", strict=False)
def ProperContains(container: Any, x: Any, precision: str | None = None) -> Bool3:
    """Spec Properly Includes (point forms): the converse of ProperIn."""
    return ProperIn(x, container, precision)


@operator("Includes", strict=False)
def Includes(a: Any, b: Any, precision: str | None = None) -> Bool3:
    """Spec Includes: list-list, interval-interval, and the point forms (synonyms of contains).
    Null if either argument is null, except a null container with a point (false, as contains)."""
    if a is None:
        return False if _is_point(b) else None
    if b is None:
        return None
    if isinstance(a, list):
        return list_includes(a, b) if isinstance(b, list) else list_contains(a, b)
    a = _require_interval(a, "includes")
    if isinstance(b, Interval):
        return includes(a, b, precision, proper=False)
    return contains_point(a, b, precision)


@operator("IncludedIn", strict=False)
def IncludedIn(a: Any, b: Any, precision: str | None = None) -> Bool3:
    """Spec Included In: the converse of Includes."""
    if b is None:
        return False if _is_point(a) else None
    if a is None:
        return None
    if isinstance(b, list):
        return list_included_in(a, b) if isinstance(a, list) else list_in(a, b)
    b = _require_interval(b, "included in")
    if isinstance(a, Interval):
        return includes(b, a, precision, proper=False)
    return contains_point(b, a, precision)


@operator("ProperIncludes", strict=False)
def ProperIncludes(a: Any, b: Any, precision: str | None = None) -> Bool3:
    """Spec Properly Includes: includes and not the same (list-list, interval-interval), or the
    point forms (properly contains)."""
    if a is None:
        return False if _is_point(b) else None
    if b is None:
        if isinstance(a, list):
            return list_proper_contains(a, None)
        return None
    if isinstance(a, list):
        if isinstance(b, list):
            return list_proper_includes(a, b)
        return list_proper_contains(a, b)
    a = _require_interval(a, "properly includes")
    if isinstance(b, Interval):
        return includes(a, b, precision, proper=True)
    return properly_contains_point(a, b, precision)


@operator("ProperIncludedIn", strict=False)
def ProperIncludedIn(a: Any, b: Any, precision: str | None = None) -> Bool3:
    """Spec Properly Included In: the converse of Properly Includes."""
    if b is None:
        return False if _is_point(a) else None
    if a is None:
        if isinstance(b, list):
            return list_proper_in(None, b)
        return None
    if isinstance(b, list):
        if isinstance(a, list):
            return list_proper_included_in(a, b)
        return list_proper_in(a, b)
    b = _require_interval(b, "properly included in")
    if isinstance(a, Interval):
        return includes(b, a, precision, proper=True)
    return properly_contains_point(b, a, precision)


# ---------------------------------------------------------------------------------------------
# union, intersect, except


@operator("Union", strict=False)
def Union(a: Any, b: Any) -> Any:
    """Spec Union: lists (a null side is an empty list) or intervals (null if either is null)."""
    if isinstance(a, list) or isinstance(b, list):
        return list_union(a, b)
    if a is None or b is None:
        return None
    return interval_union(*_interval_args(a, b, "union"))


@operator("Intersect", strict=False)
def Intersect(a: Any, b: Any) -> Any:
    """Spec Intersect: lists or intervals; null if either argument is null."""
    if isinstance(a, list) or isinstance(b, list):
        return list_intersect(a, b)
    if a is None or b is None:
        return None
    return interval_intersect(*_interval_args(a, b, "intersect"))


@operator("Except", strict=False)
def Except(a: Any, b: Any) -> Any:
    """Spec Except: lists (a null right side is an empty list) or intervals."""
    if isinstance(a, list) or isinstance(b, list):
        return list_except(a, b)
    if a is None or b is None:
        return None
    return interval_except(*_interval_args(a, b, "except"))


# ---------------------------------------------------------------------------------------------
# timing: before, after, same as, same or before, same or after


def _timing(
    a: Any, b: Any, precision: str | None,
    test: Callable[[Range, Range, Range, Range, str | None], Bool3],
) -> Bool3:
    """Relate two points, two intervals, or a point and an interval (the point taken as the
    unit interval [point, point], spec 'Same As'/'Before'/... for intervals)."""
    if a is None or b is None:
        return None
    ta = interval_point_type(a) if isinstance(a, Interval) else point_type_of(a)
    tb = interval_point_type(b) if isinstance(b, Interval) else point_type_of(b)
    for x in (a, b):
        if isinstance(x, Interval) and is_null_like(x):
            return None
    sa, ea = point_bounds(a, ta or tb)
    sb, eb = point_bounds(b, tb or ta)
    return test(sa, ea, sb, eb, temporal_precision(precision, sample(sa, ea, sb, eb)))


@operator("Before", strict=False)
def Before(a: Any, b: Any, precision: str | None = None) -> Bool3:
    """Spec Before: the first ends before the second starts."""
    return _timing(a, b, precision, lambda sa, ea, sb, eb, p: lt(ea, sb, p))


@operator("After", strict=False)
def After(a: Any, b: Any, precision: str | None = None) -> Bool3:
    """Spec After: the first starts after the second ends."""
    return _timing(a, b, precision, lambda sa, ea, sb, eb, p: gt(sa, eb, p))


@operator("SameOrBefore", strict=False)
def SameOrBefore(a: Any, b: Any, precision: str | None = None) -> Bool3:
    """Spec Same Or Before / On Or Before: the first ends on or before the second starts."""
    return _timing(a, b, precision, lambda sa, ea, sb, eb, p: le(ea, sb, p))


@operator("SameOrAfter", strict=False)
def SameOrAfter(a: Any, b: Any, precision: str | None = None) -> Bool3:
    """Spec Same Or After / On Or After: the first starts on or after the second ends."""
    return _timing(a, b, precision, lambda sa, ea, sb, eb, p: ge(sa, eb, p))


@operator("SameAs", strict=False)
def SameAs(a: Any, b: Any, precision: str | None = None) -> Bool3:
    """Spec Same As: same start and same end (for points, the same value) at the precision."""
    return _timing(
        a, b, precision, lambda sa, ea, sb, eb, p: and3(eq(sa, sb, p), eq(ea, eb, p))
    )


# ---------------------------------------------------------------------------------------------
# collapse and expand


def _per_parts(per: Any) -> tuple[Decimal, str] | None:
    """(value, unit) of a per argument given as a Quantity or a bare number."""
    if per is None:
        return None
    if isinstance(per, Quantity):
        return Decimal(per.value), per.unit or "1"
    if isinstance(per, (int, Decimal)) and not isinstance(per, bool):
        return Decimal(per), "1"
    raise CqlRuntimeError(f"per must be a quantity, got {type(per).__name__}")


def _collapse_step(per: tuple[Decimal, str] | None, pt: str | None) -> tuple[Callable[[Any], Any], str | None]:
    """How far past an interval's end the next one may start and still be merged, and the
    precision to compare at (spec Collapse: the point type's successor unless `per` is given)."""
    if per is None:
        return step_up, None
    value, unit = per
    if pt in _TEMPORAL_NAMES:
        prec = Precision.parse(unit)
        if prec == Precision.WEEK:
            value, prec = value * 7, Precision.DAY
        return (lambda v: v.add(value, prec)), prec.keyword
    if pt == "Quantity":
        step = Quantity(value, unit)
        return (lambda v: v.add(step)), None
    if unit not in ("1", ""):
        raise CqlRuntimeError(f"per {value} '{unit}' does not apply to {pt} intervals")
    if pt in ("Integer", "Long") and value == value.to_integral_value():
        n = int(value)
        return (lambda v: type(v)(v + n)), None
    return (lambda v: Decimal(v) + value), None


@operator("Collapse", strict=False)
def Collapse(intervals: list[Interval | None] | None, per: Any = None) -> list[Interval] | None:
    """Spec Collapse: merge intervals that overlap or meet (at `per` granularity, default the
    point type's successor); nulls are dropped; a null list is null."""
    if intervals is None:
        return None
    items = [
        i for i in (_require_interval(x, "collapse") for x in intervals if x is not None)
        if not is_null_like(i)
    ]
    if not items:
        return []
    pt = next((t for t in (interval_point_type(i) for i in items) if t is not None), None)
    step, prec = _collapse_step(_per_parts(per), pt)
    bounded = [(i, *bounds(i, pt)) for i in items]
    ordered = _sort_by_start(bounded)
    out: list[Interval] = []
    cur, _, cur_e = ordered[0]
    for ivl, s, e in ordered[1:]:
        reach = cur_e.map(lambda v: clamped(step, v))
        if le(s, reach, prec) is True:
            later = ge(e, cur_e)
            if later is not False:
                high, high_closed = (ivl.high, ivl.high_closed) if later else (None, False)
                cur = Interval(cur.low, high, cur.low_closed, high_closed, pt)
                cur_e = e if later else Range(cur_e.lo, e.hi)
            continue
        out.append(cur)
        cur, cur_e = ivl, e
    out.append(cur)
    return out


def _sort_by_start(bounded: list[tuple[Interval, Range, Range]]) -> list[tuple[Interval, Range, Range]]:
    """Order intervals by start (unknown starts first), stably."""
    def cmp(x: tuple[Interval, Range, Range], y: tuple[Interval, Range, Range]) -> int:
        a, b = x[1].lo, y[1].lo
        if a is None or b is None:
            return (b is None) - (a is None)
        c = compare(a, b)
        if c is None:
            ka, kb = _temporal_key(a), _temporal_key(b)
            return (ka > kb) - (ka < kb)
        return c

    return sorted(bounded, key=functools.cmp_to_key(cmp))


def _temporal_key(v: Any) -> Any:
    key = getattr(v, "sort_key", None)
    return key() if key is not None else ()


@operator("Expand", strict=False)
def Expand(source: Any, per: Any = None) -> list[Any] | None:
    """Spec Expand (1.5): the whole unit intervals of size `per` covering each interval of the
    list (or, for a single interval, their starting points). Boundaries finer than `per` are
    truncated to it; a trailing partial unit is dropped. Nulls are dropped; null in, null out;
    an interval with a null boundary cannot be expanded (null)."""
    if source is None:
        return None
    single = isinstance(source, Interval)
    items = [source] if single else [x for x in source if x is not None]
    items = [_require_interval(i, "expand") for i in items]
    items = [i for i in items if not is_null_like(i)]
    if not items:
        return []
    per_parts = _per_parts(per)
    if per_parts is not None and per_parts[0] <= 0:
        return None
    pt = next((t for t in (interval_point_type(i) for i in items) if t is not None), None)
    if pt in _TEMPORAL_NAMES and per_parts is None:
        coarsest = min(v.precision for i in items for v in (i.low, i.high) if v is not None)
        per_parts = (Decimal(1), coarsest.keyword)
    merged = Collapse(items)
    assert merged is not None
    out: list[Interval] = []
    for ivl in merged:
        if ivl.low is None or ivl.high is None:
            return None
        pieces = _expand_one(ivl, pt, per_parts)
        if pieces is None:
            return None
        out.extend(pieces)
    if single:
        return [i.low for i in out]
    return out


def _expand_one(
    ivl: Interval, pt: str | None, per: tuple[Decimal, str] | None
) -> list[Interval] | None:
    start, end = interval_start(ivl), interval_end(ivl)
    if pt in _TEMPORAL_NAMES:
        assert per is not None
        return _expand_temporal(start, end, per, pt)
    if pt == "Quantity":
        return _expand_quantity(start, end, per)
    if pt in ("Integer", "Long", "Decimal"):
        return _expand_numeric(start, end, per or (Decimal(1), "1"), pt)
    raise CqlRuntimeError(f"expand is not defined for {pt} intervals")


def _places(d: Decimal) -> int:
    exponent = d.as_tuple().exponent
    assert isinstance(exponent, int)
    return max(0, -exponent)


def _check_count(n: int) -> None:
    if n > _MAX_EXPANSION:
        raise CqlRuntimeError(f"expand would produce more than {_MAX_EXPANSION} intervals")


def _numeric_series(
    start: Decimal, end: Decimal, step: Decimal, places: int
) -> list[tuple[Decimal, Decimal]]:
    """Consecutive [lo, lo + step - ulp] pieces from `start` that end on or before `end`."""
    ulp = Decimal(1).scaleb(-places)
    quantum = ulp
    lo = start.quantize(quantum, rounding=ROUND_FLOOR)
    hi_limit = end.quantize(quantum, rounding=ROUND_FLOOR)
    out: list[tuple[Decimal, Decimal]] = []
    while True:
        hi = (lo + step - ulp).quantize(quantum)
        if hi > hi_limit:
            return out
        out.append((lo, hi))
        _check_count(len(out))
        lo = (lo + step).quantize(quantum)


def _expand_numeric(
    start: Any, end: Any, per: tuple[Decimal, str], pt: str
) -> list[Interval] | None:
    value, unit = per
    if unit not in ("1", ""):
        return None
    places = _places(value)
    if pt in ("Integer", "Long") and places == 0:
        cast: Callable[[Decimal], Any] = (lambda d: Long(int(d))) if pt == "Long" else (
            lambda d: int(d)
        )
        rtype = pt
        last = Decimal(end)
    else:
        cast = lambda d: d  # noqa: E731
        rtype = "Decimal"
        # an integer point stands for the whole unit up to its successor at per's precision
        last = Decimal(end) + 1 - Decimal(1).scaleb(-places) if pt in ("Integer", "Long") else (
            Decimal(end)
        )
    pieces = _numeric_series(Decimal(start), last, value, places)
    return [Interval(cast(lo), cast(hi), True, True, rtype) for lo, hi in pieces]


def _expand_quantity(start: Any, end: Any, per: tuple[Decimal, str] | None) -> list[Interval] | None:
    unit = start.unit
    if per is None:
        value = Decimal(1)
    else:
        value, per_unit = per
        if per_unit != unit:
            q = Quantity(value, per_unit)
            if not q.can_convert(unit):
                return None
            value = q.convert(unit).value
    if end.unit != unit:
        if not end.can_convert(unit):
            return None
        end = end.convert(unit)
    places = _places(value)
    pieces = _numeric_series(start.value, end.value, value, places)
    return [
        Interval(Quantity(lo, unit), Quantity(hi, unit), True, True, "Quantity")
        for lo, hi in pieces
    ]


def _expand_temporal(start: Any, end: Any, per: tuple[Decimal, str], pt: str) -> list[Interval] | None:
    value, unit = per
    try:
        prec = Precision.parse(unit)
    except CqlRuntimeError:
        return None
    if prec == Precision.WEEK:
        value, prec = value * 7, Precision.DAY
    if value != value.to_integral_value():
        return None
    n = int(value)
    try:
        if not (start.is_complete_for(prec) and end.is_complete_for(prec)):
            return []  # boundaries coarser than per: no whole unit fits
    except CqlRuntimeError:
        return None  # per's unit is not a precision of this type (e.g. hours of a Date)
    first, last = start.truncate(prec), end.truncate(prec)
    out: list[Interval] = []
    k = 0
    while True:
        lo = first.add(k * n, prec)
        hi = first.add((k + 1) * n, prec).predecessor()
        if compare(hi, last) == 1 or compare(lo, hi) == 1:
            return out
        out.append(Interval(lo, hi, True, True, pt))
        _check_count(len(out))
        k += 1

"""Interval values (CQL 1.5 reference, 'Interval Operators'): boundary algebra, start and end,
equality, the relationships (meets, overlaps, starts, ends, includes) and union, intersect and
except of two intervals.

Boundary semantics (spec, Interval Operators intro and Start/End): a *closed* null boundary is
unbounded, i.e. the minimum/maximum value of the point type; an *open* null boundary is
unknown. Every boundary is reasoned about as a range of possible points (:class:`Range`): an
unknown start lies somewhere in ``[minimum, end]`` and an unknown end in ``[start, maximum]``,
so ``Interval(null, 5] meets after Interval[11, null)`` is false rather than null. Comparisons
between ranges are three-valued (:mod:`.logic`); Date/DateTime/Time points compare
component-wise at the operator's precision and may themselves be uncertain.

An interval with two null boundaries and no known point type (the literal ``Interval[null,
null]``) has no point type to take a minimum or maximum of; it behaves as a null interval, except
in the includes/included-in family, where its point type is taken from the other operand the way
the translator would cast it (conformance: ``Interval[1, 10] properly included in Interval[null,
null]`` is true, while ``5 in Interval[null, null]`` is false and ``Interval[null, null] union
Interval[1, 10]`` is null).

The operator chapter :mod:`pedqm.cql.operators.interval` registers these under their ELM names
and adds what is not value semantics: null arguments, type checks, list dispatch.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from ..errors import CqlRuntimeError
from .logic import Bool3, and3, not3, or3
from .order import (
    TEMPORAL_TYPES,
    compare,
    equivalent_point,
    extreme,
    point_type_of,
    predecessor,
    successor,
)
from .quantity import Quantity
from .values import Interval

__all__ = [
    "Range",
    "bounds",
    "clamped",
    "contains_point",
    "eq",
    "ge",
    "gt",
    "includes",
    "interval_end",
    "interval_equal",
    "interval_equivalent",
    "interval_except",
    "interval_intersect",
    "interval_point_type",
    "interval_selector",
    "interval_start",
    "interval_union",
    "is_null_like",
    "is_temporal",
    "le",
    "lt",
    "meets_before",
    "overlaps",
    "pair",
    "point_bounds",
    "properly_contains_point",
    "sample",
    "step_down",
    "step_up",
    "temporal_precision",
]

DEC_STEP = Decimal("1E-8")


def is_temporal(x: Any) -> bool:
    return isinstance(x, TEMPORAL_TYPES)


def simple_type_name(name: str | None) -> str | None:
    """'System.Integer' / '{urn:hl7-org:elm-types:r1}Integer' -> 'Integer'; 'Any' -> None."""
    if not name:
        return None
    simple = name.rsplit("}", 1)[-1].rsplit(".", 1)[-1]
    return None if simple == "Any" else simple


def interval_point_type(ivl: Interval) -> str | None:
    """Point type of an interval: from its bounds, else from its declared point type."""
    return point_type_of(ivl.low) or point_type_of(ivl.high) or simple_type_name(ivl.point_type)


def is_null_like(ivl: Interval) -> bool:
    """``Interval[null, null]`` of unknown point type: no boundary can be resolved."""
    return ivl.low is None and ivl.high is None and interval_point_type(ivl) is None


def step_up(x: Any) -> Any:
    """Successor (spec Successor): Integer/Long +1, Decimal/Quantity +1e-8, temporal at its
    own precision."""
    if isinstance(x, Quantity):
        return Quantity(x.value + DEC_STEP, x.unit)
    return successor(x)


def step_down(x: Any) -> Any:
    """Predecessor (spec Predecessor); see :func:`step_up`."""
    if isinstance(x, Quantity):
        return Quantity(x.value - DEC_STEP, x.unit)
    return predecessor(x)


def clamped(step: Callable[[Any], Any], x: Any) -> Any:
    """A successor/predecessor that stays at the type's extreme instead of failing (used only
    while reasoning about unknown boundaries that already reach the extreme)."""
    if x is None:
        return None
    try:
        return step(x)
    except (CqlRuntimeError, OverflowError, ValueError, ArithmeticError):
        return x


@dataclass(frozen=True, slots=True)
class Range:
    """The possible values of a boundary point: ``lo <= point <= hi``; None = not known."""

    lo: Any
    hi: Any
    exact: bool = False

    @staticmethod
    def point(v: Any) -> Range:
        return Range(v, v, v is not None)

    def map(self, fn: Callable[[Any], Any]) -> Range:
        if self.exact:
            return Range.point(fn(self.lo))
        return Range(clamped(fn, self.lo), clamped(fn, self.hi))


def bounds(ivl: Interval, ptype: str | None = None) -> tuple[Range, Range]:
    """Start and end of an interval as ranges (spec Start/End, with unknown open boundaries
    widened to the range they could take)."""
    pt = ptype or interval_point_type(ivl)
    ref = ivl.low if ivl.low is not None else ivl.high
    if ivl.low is not None:
        start: Range | None = Range.point(ivl.low if ivl.low_closed else step_up(ivl.low))
    elif ivl.low_closed:
        start = Range.point(extreme(pt, ref, high=False))
    else:
        start = None
    if ivl.high is not None:
        end: Range | None = Range.point(ivl.high if ivl.high_closed else step_down(ivl.high))
    elif ivl.high_closed:
        end = Range.point(extreme(pt, ref, high=True))
    else:
        end = None
    if start is None:
        upper = end.hi if end is not None else extreme(pt, ref, high=True)
        start = Range(extreme(pt, ref, high=False), upper)
    if end is None:
        end = Range(start.lo, extreme(pt, ref, high=True))
    return start, end


def point_bounds(x: Any, ptype: str | None = None) -> tuple[Range, Range]:
    """Start and end of an interval or of a point (a point is a unit interval)."""
    if isinstance(x, Interval):
        return bounds(x, ptype)
    p = Range.point(x)
    return p, p


def _cmp(x: Any, y: Any, precision: str | None) -> int | None:
    if x is None or y is None:
        return None
    if precision is not None and is_temporal(x):
        return compare(x, y, precision)
    return compare(x, y)


def lt(a: Range, b: Range, precision: str | None = None) -> Bool3:
    if a.exact and b.exact:
        c = _cmp(a.lo, b.lo, precision)
        return None if c is None else c < 0
    c = _cmp(a.hi, b.lo, precision)
    if c is not None and c < 0:
        return True
    c = _cmp(a.lo, b.hi, precision)
    if c is not None and c >= 0:
        return False
    return None


def le(a: Range, b: Range, precision: str | None = None) -> Bool3:
    if a.exact and b.exact:
        c = _cmp(a.lo, b.lo, precision)
        return None if c is None else c <= 0
    c = _cmp(a.hi, b.lo, precision)
    if c is not None and c <= 0:
        return True
    c = _cmp(a.lo, b.hi, precision)
    if c is not None and c > 0:
        return False
    return None


def gt(a: Range, b: Range, precision: str | None = None) -> Bool3:
    return lt(b, a, precision)


def ge(a: Range, b: Range, precision: str | None = None) -> Bool3:
    return le(b, a, precision)


def eq(a: Range, b: Range, precision: str | None = None) -> Bool3:
    if a.exact and b.exact:
        c = _cmp(a.lo, b.lo, precision)
        return None if c is None else c == 0
    c = _cmp(a.hi, b.lo, precision)
    if c is not None and c < 0:
        return False
    c = _cmp(a.lo, b.hi, precision)
    if c is not None and c > 0:
        return False
    return None


def temporal_precision(precision: str | None, *values: Any) -> str | None:
    """The precision to use: only meaningful for Date/DateTime/Time points."""
    if precision is None:
        return None
    return precision if any(is_temporal(v) for v in values) else None


def sample(*rs: Range) -> Any:
    for r in rs:
        for v in (r.lo, r.hi):
            if v is not None:
                return v
    return None


def interval_start(ivl: Interval) -> Any:
    """Spec Start: the low value, its successor when open; the minimum of the point type for a
    closed null low; null for an open null low (unknown)."""
    if ivl.low is None:
        return extreme(interval_point_type(ivl), ivl.high, high=False) if ivl.low_closed else None
    return ivl.low if ivl.low_closed else step_up(ivl.low)


def interval_end(ivl: Interval) -> Any:
    """Spec End: the high value, its predecessor when open; the maximum of the point type for a
    closed null high; null for an open null high (unknown)."""
    if ivl.high is None:
        return extreme(interval_point_type(ivl), ivl.low, high=True) if ivl.high_closed else None
    return ivl.high if ivl.high_closed else step_down(ivl.high)


def interval_equal(a: Interval | None, b: Interval | None) -> bool | None:
    """Spec Equal (intervals): same start and same end as determined by Start/End, so
    ``Interval[1, 5] = Interval[1, 6)``; null when a boundary is unknown."""
    if a is None or b is None or is_null_like(a) or is_null_like(b):
        return None
    sa, ea = bounds(a)
    sb, eb = bounds(b)
    return and3(eq(sa, sb), eq(ea, eb))


def interval_equivalent(a: Interval | None, b: Interval | None) -> bool:
    """Spec Equivalent (intervals): Start ~ Start and End ~ End (null ~ null is true), so
    closed/open forms of the same discrete interval are equivalent."""
    if a is None or b is None:
        return a is None and b is None
    a_null, b_null = is_null_like(a), is_null_like(b)
    if a_null or b_null:
        return a_null and b_null
    return bool(
        equivalent_point(interval_start(a), interval_start(b))
        and equivalent_point(interval_end(a), interval_end(b))
    )


def interval_selector(
    low: Any, high: Any, low_closed: bool = True, high_closed: bool = True,
    point_type: str | None = None,
) -> Interval:
    """Build an interval, raising the spec's run-time error when its start is after its end
    (``Interval[5, 3]``, ``Interval[5, 5)``); an unknown order is allowed."""
    ivl = Interval(low, high, low_closed, high_closed, point_type)
    if low is not None and high is not None:
        start, end = bounds(ivl)
        if lt(end, start) is True:
            raise CqlRuntimeError(
                "invalid interval: the ending boundary must be greater than or equal to the"
                " starting boundary"
            )
    return ivl


# relationships


def pair(a: Interval, b: Interval, infer: bool = False) -> tuple[Range, Range, Range, Range] | None:
    """Both intervals' (start, end) ranges; None when either is a null-like interval.

    With `infer`, an interval of unknown point type takes the other's (see module docstring).
    """
    ta, tb = interval_point_type(a), interval_point_type(b)
    if not infer and (is_null_like(a) or is_null_like(b)):
        return None
    sa, ea = bounds(a, ta or tb)
    sb, eb = bounds(b, tb or ta)
    return sa, ea, sb, eb


def overlaps(sa: Range, ea: Range, sb: Range, eb: Range, p: str | None) -> Bool3:
    return and3(le(sa, eb, p), ge(ea, sb, p))


def meets_before(ea: Range, sb: Range, p: str | None) -> Bool3:
    """End of the first is the predecessor of the start of the second (at `p` for temporals,
    where the next value is taken one `p` unit later and compared at `p`)."""
    step: Callable[[Any], Any] = (lambda v: v.add(1, p)) if p is not None else step_up
    try:
        after_end = ea.map(step)
    except (CqlRuntimeError, OverflowError, ArithmeticError):
        return False  # the first ends at the maximum value: nothing starts after it
    return eq(after_end, sb, p)


def contains_point(ivl: Interval, x: Any, precision: str | None) -> Bool3:
    """Spec In/Contains (intervals): compare with the raw boundaries, exclusively for open ones;
    a closed null boundary always passes, an open null one is reasoned about as a range."""
    if is_null_like(ivl):
        return False  # no point type: behaves as a null interval
    p = temporal_precision(precision, x)
    pt = Range.point(x)
    start, end = bounds(ivl)
    if ivl.low is not None:
        low_ok = ge(pt, Range.point(ivl.low), p) if ivl.low_closed else gt(pt, Range.point(ivl.low), p)
    else:
        low_ok = True if ivl.low_closed else ge(pt, start, p)
    if ivl.high is not None:
        high_ok = (
            le(pt, Range.point(ivl.high), p) if ivl.high_closed else lt(pt, Range.point(ivl.high), p)
        )
    else:
        high_ok = True if ivl.high_closed else le(pt, end, p)
    return and3(low_ok, high_ok)


def properly_contains_point(ivl: Interval, x: Any, precision: str | None) -> Bool3:
    """Properly includes (interval, point): strictly after the start and before the end (as the
    conformance suite's TimeProperContains*/TimeProperIn* cases require)."""
    if is_null_like(ivl):
        return False
    p = temporal_precision(precision, x)
    start, end = bounds(ivl, point_type_of(x))
    pt = Range.point(x)
    return and3(gt(pt, start, p), lt(pt, end, p))


def includes(a: Interval, b: Interval, precision: str | None, proper: bool) -> Bool3:
    """Spec Includes / Properly Includes (interval-interval)."""
    sa, ea, sb, eb = pair(a, b, infer=True)  # type: ignore[misc]
    p = temporal_precision(precision, sample(sa, ea, sb, eb))
    result = and3(le(sa, sb, p), ge(ea, eb, p))
    if proper:
        result = and3(result, not3(and3(eq(sa, sb, p), eq(ea, eb, p))))
    return result


def _pick_low(first: Interval, second: Interval, choose_first: Bool3) -> tuple[Any, bool]:
    """The low boundary (value, closed) of the interval chosen; unknown -> open null."""
    if choose_first is None:
        return None, False
    src = first if choose_first else second
    return src.low, src.low_closed


def _pick_high(first: Interval, second: Interval, choose_first: Bool3) -> tuple[Any, bool]:
    if choose_first is None:
        return None, False
    src = first if choose_first else second
    return src.high, src.high_closed


def _result_type(a: Interval, b: Interval) -> str | None:
    return interval_point_type(a) or interval_point_type(b)


def interval_union(a: Interval, b: Interval) -> Interval | None:
    """Spec Union (intervals): null unless they overlap or meet; else from the earliest start
    to the latest end."""
    rs = pair(a, b)
    if rs is None:
        return None
    sa, ea, sb, eb = rs
    joined = or3(overlaps(sa, ea, sb, eb, None), meets_before(ea, sb, None),
                 meets_before(eb, sa, None))
    if joined is not True:
        return None
    low, low_closed = _pick_low(a, b, le(sa, sb))
    high, high_closed = _pick_high(a, b, ge(ea, eb))
    return Interval(low, high, low_closed, high_closed, _result_type(a, b))


def interval_intersect(a: Interval, b: Interval) -> Interval | None:
    """Spec Intersect (intervals): null unless they overlap; else from the latest start to the
    earliest end (an end that cannot be decided is an open null boundary)."""
    rs = pair(a, b)
    if rs is None:
        return None
    sa, ea, sb, eb = rs
    if overlaps(sa, ea, sb, eb, None) is not True:
        return None
    low, low_closed = _pick_low(a, b, ge(sa, sb))
    high, high_closed = _pick_high(a, b, le(ea, eb))
    return Interval(low, high, low_closed, high_closed, _result_type(a, b))


def interval_except(a: Interval, b: Interval) -> Interval | None:
    """Spec Except (intervals): the part of the first outside the second; null when that part
    is empty or would be two pieces (the second properly inside the first)."""
    rs = pair(a, b)
    if rs is None:
        return None
    sa, ea, sb, eb = rs
    overlap = overlaps(sa, ea, sb, eb, None)
    if overlap is False:
        return a
    if overlap is None:
        return None
    pt = _result_type(a, b)
    if and3(lt(sa, sb), le(ea, eb)) is True and sb.exact:
        return Interval(a.low, step_down(sb.lo), a.low_closed, True, pt)
    if and3(gt(ea, eb), ge(sa, sb)) is True and eb.exact:
        return Interval(step_up(eb.lo), a.high, True, a.high_closed, pt)
    return None

"""Interval operators and the timing operators on points and intervals (CQL 1.5 reference,
'Interval Operators' and the Before/After/Same As rows of 'Date and Time Operators').

Boundary semantics (spec, Interval Operators intro and Start/End): a *closed* null boundary is
unbounded, i.e. the minimum/maximum value of the point type; an *open* null boundary is
unknown. Internally every boundary is reasoned about as a range of possible points (:class:`_R`):
an unknown start lies somewhere in ``[minimum, end]`` and an unknown end in ``[start, maximum]``,
so ``Interval(null, 5] meets after Interval[11, null)`` is false rather than null. Comparisons
between ranges are three-valued (true / false / None = unknown); Date/DateTime/Time points
compare component-wise at the operator's precision and may themselves be uncertain.

An interval with two null boundaries and no known point type (the literal ``Interval[null,
null]``) has no point type to take a minimum or maximum of; it behaves as a null interval, except
in the includes/included-in family, where its point type is taken from the other operand the way
the translator would cast it (conformance: ``Interval[1, 10] properly included in Interval[null,
null]`` is true, while ``5 in Interval[null, null]`` is false and ``Interval[null, null] union
Interval[1, 10]`` is null).

The operators shared by lists and intervals (in, contains, includes, union, ...) dispatch on the
run-time types of their arguments and hand list arguments to :mod:`.list`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import ROUND_FLOOR, Decimal
from typing import Any

from ..errors import CqlRuntimeError
from ..runtime.values import Interval, Long
from .comparison import compare, equivalent
from .registry import operator

__all__ = [
    "interval_end",
    "interval_equal",
    "interval_equivalent",
    "interval_selector",
    "interval_start",
    "point_type_of",
]

_TEMPORAL_NAMES = ("Date", "DateTime", "Time")
_INT_MIN, _INT_MAX = -(2**31), 2**31 - 1
_LONG_MIN, _LONG_MAX = -(2**63), 2**63 - 1
_DEC_STEP = Decimal("1E-8")
_MAX_EXPANSION = 1_000_000  # guard: expand of a huge interval is a run-time error, not a hang

Bool3 = bool | None


# ---------------------------------------------------------------------------------------------
# three-valued logic


def _and(*xs: Bool3) -> Bool3:
    if any(x is False for x in xs):
        return False
    if any(x is None for x in xs):
        return None
    return True


def _or(*xs: Bool3) -> Bool3:
    if any(x is True for x in xs):
        return True
    if any(x is None for x in xs):
        return None
    return False


def _not(x: Bool3) -> Bool3:
    return None if x is None else not x


# ---------------------------------------------------------------------------------------------
# point types, successor/predecessor, minimum/maximum


def _simple_type(name: str | None) -> str | None:
    """'System.Integer' / '{urn:hl7-org:elm-types:r1}Integer' -> 'Integer'; 'Any' -> None."""
    if not name:
        return None
    simple = name.rsplit("}", 1)[-1].rsplit(".", 1)[-1]
    return None if simple == "Any" else simple


def _is_temporal(x: Any) -> bool:
    return type(x).__name__ in _TEMPORAL_NAMES and hasattr(x, "precision")


def _is_quantity(x: Any) -> bool:
    return type(x).__name__ == "Quantity" and hasattr(x, "unit")


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
    if _is_quantity(x):
        return "Quantity"
    if _is_temporal(x):
        return type(x).__name__
    return None


def _ivl_type(ivl: Interval) -> str | None:
    """Point type of an interval: from its bounds, else from its declared point type."""
    return point_type_of(ivl.low) or point_type_of(ivl.high) or _simple_type(ivl.point_type)


def _is_null_like(ivl: Interval) -> bool:
    """``Interval[null, null]`` of unknown point type: no boundary can be resolved."""
    return ivl.low is None and ivl.high is None and _ivl_type(ivl) is None


def _succ(x: Any) -> Any:
    """Successor (spec Successor): Integer/Long +1, Decimal/Quantity +1e-8, temporal at its
    own precision. Uses the arithmetic chapter's function when it is available."""
    if _is_quantity(x):
        return type(x)(x.value + _DEC_STEP, x.unit)
    try:
        from .arithmetic import successor
    except ImportError:  # pragma: no cover - arithmetic module not present
        return _fallback_step(x, 1)
    return successor(x)


def _pred(x: Any) -> Any:
    """Predecessor (spec Predecessor); see :func:`_succ`."""
    if _is_quantity(x):
        return type(x)(x.value - _DEC_STEP, x.unit)
    try:
        from .arithmetic import predecessor
    except ImportError:  # pragma: no cover - arithmetic module not present
        return _fallback_step(x, -1)
    return predecessor(x)


def _fallback_step(x: Any, sign: int) -> Any:  # pragma: no cover - used only without arithmetic
    if isinstance(x, Long):
        return Long(int(x) + sign)
    if isinstance(x, int) and not isinstance(x, bool):
        return x + sign
    if isinstance(x, Decimal):
        return x + sign * _DEC_STEP
    return x.successor() if sign > 0 else x.predecessor()


def _clamped(step: Callable[[Any], Any], x: Any) -> Any:
    """A successor/predecessor that stays at the type's extreme instead of failing (used only
    while reasoning about unknown boundaries that already reach the extreme)."""
    if x is None:
        return None
    try:
        return step(x)
    except (CqlRuntimeError, OverflowError, ValueError, ArithmeticError):
        return x


def _extreme(ptype: str | None, ref: Any, high: bool) -> Any:
    """Minimum/maximum value of a point type (spec MinValue/MaxValue); None when unknown.

    `ref` is another value of the interval, so that a Quantity extreme keeps its unit and a
    DateTime extreme its offset.
    """
    if ptype is None:
        return None
    if ptype == "Integer":
        return _INT_MAX if high else _INT_MIN
    if ptype == "Long":
        return Long(_LONG_MAX if high else _LONG_MIN)
    if ptype in ("Decimal", "Quantity"):
        from ..runtime.quantity import MAX_DECIMAL, MIN_DECIMAL, Quantity

        value = MAX_DECIMAL if high else MIN_DECIMAL
        if ptype == "Decimal":
            return value
        return Quantity(value, ref.unit if _is_quantity(ref) else "1")
    if ptype in _TEMPORAL_NAMES:
        from ..runtime import temporal

        cls = getattr(temporal, ptype)
        if ptype == "DateTime" and _is_temporal(ref) and getattr(ref, "tz_offset", None) is not None:
            return cls.max_value(ref.tz_offset) if high else cls.min_value(ref.tz_offset)
        return cls.max_value() if high else cls.min_value()
    return None


# ---------------------------------------------------------------------------------------------
# boundary ranges


@dataclass(frozen=True, slots=True)
class _R:
    """The possible values of a boundary point: ``lo <= point <= hi``; None = not known."""

    lo: Any
    hi: Any
    exact: bool = False

    @staticmethod
    def point(v: Any) -> _R:
        return _R(v, v, v is not None)

    def map(self, fn: Callable[[Any], Any]) -> _R:
        if self.exact:
            return _R.point(fn(self.lo))
        return _R(_clamped(fn, self.lo), _clamped(fn, self.hi))


_UNKNOWN = _R(None, None)


def _bounds(ivl: Interval, ptype: str | None = None) -> tuple[_R, _R]:
    """Start and end of an interval as ranges (spec Start/End, with unknown open boundaries
    widened to the range they could take)."""
    pt = ptype or _ivl_type(ivl)
    ref = ivl.low if ivl.low is not None else ivl.high
    if ivl.low is not None:
        start: _R | None = _R.point(ivl.low if ivl.low_closed else _succ(ivl.low))
    elif ivl.low_closed:
        start = _R.point(_extreme(pt, ref, high=False))
    else:
        start = None
    if ivl.high is not None:
        end: _R | None = _R.point(ivl.high if ivl.high_closed else _pred(ivl.high))
    elif ivl.high_closed:
        end = _R.point(_extreme(pt, ref, high=True))
    else:
        end = None
    if start is None:
        upper = end.hi if end is not None else _extreme(pt, ref, high=True)
        start = _R(_extreme(pt, ref, high=False), upper)
    if end is None:
        end = _R(start.lo, _extreme(pt, ref, high=True))
    return start, end


def _point_bounds(x: Any, ptype: str | None = None) -> tuple[_R, _R]:
    """Start and end of an interval or of a point (a point is a unit interval)."""
    if isinstance(x, Interval):
        return _bounds(x, ptype)
    p = _R.point(x)
    return p, p


def _cmp(x: Any, y: Any, precision: str | None) -> int | None:
    if x is None or y is None:
        return None
    if precision is not None and _is_temporal(x):
        return compare(x, y, precision)
    return compare(x, y)


def _lt(a: _R, b: _R, precision: str | None = None) -> Bool3:
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


def _le(a: _R, b: _R, precision: str | None = None) -> Bool3:
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


def _gt(a: _R, b: _R, precision: str | None = None) -> Bool3:
    return _lt(b, a, precision)


def _ge(a: _R, b: _R, precision: str | None = None) -> Bool3:
    return _le(b, a, precision)


def _eq(a: _R, b: _R, precision: str | None = None) -> Bool3:
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


def _temporal_precision(precision: str | None, *values: Any) -> str | None:
    """The precision to use: only meaningful for Date/DateTime/Time points."""
    if precision is None:
        return None
    return precision if any(_is_temporal(v) for v in values) else None


def _sample(*rs: _R) -> Any:
    for r in rs:
        for v in (r.lo, r.hi):
            if v is not None:
                return v
    return None


# ---------------------------------------------------------------------------------------------
# public helpers


def interval_start(ivl: Interval) -> Any:
    """Spec Start: the low value, its successor when open; the minimum of the point type for a
    closed null low; null for an open null low (unknown)."""
    if ivl.low is None:
        return _extreme(_ivl_type(ivl), ivl.high, high=False) if ivl.low_closed else None
    return ivl.low if ivl.low_closed else _succ(ivl.low)


def interval_end(ivl: Interval) -> Any:
    """Spec End: the high value, its predecessor when open; the maximum of the point type for a
    closed null high; null for an open null high (unknown)."""
    if ivl.high is None:
        return _extreme(_ivl_type(ivl), ivl.low, high=True) if ivl.high_closed else None
    return ivl.high if ivl.high_closed else _pred(ivl.high)


def interval_equal(a: Interval | None, b: Interval | None) -> bool | None:
    """Spec Equal (intervals): same start and same end as determined by Start/End, so
    ``Interval[1, 5] = Interval[1, 6)``; null when a boundary is unknown."""
    if a is None or b is None or _is_null_like(a) or _is_null_like(b):
        return None
    sa, ea = _bounds(a)
    sb, eb = _bounds(b)
    return _and(_eq(sa, sb), _eq(ea, eb))


def interval_equivalent(a: Interval | None, b: Interval | None) -> bool:
    """Spec Equivalent (intervals): Start ~ Start and End ~ End (null ~ null is true), so
    closed/open forms of the same discrete interval are equivalent."""
    if a is None or b is None:
        return a is None and b is None
    a_null, b_null = _is_null_like(a), _is_null_like(b)
    if a_null or b_null:
        return a_null and b_null
    return bool(
        equivalent(interval_start(a), interval_start(b))
        and equivalent(interval_end(a), interval_end(b))
    )


def interval_selector(
    low: Any, high: Any, low_closed: bool = True, high_closed: bool = True,
    point_type: str | None = None,
) -> Interval:
    """Build an interval, raising the spec's run-time error when its start is after its end
    (``Interval[5, 3]``, ``Interval[5, 5)``); an unknown order is allowed."""
    ivl = Interval(low, high, low_closed, high_closed, point_type)
    if low is not None and high is not None:
        start, end = _bounds(ivl)
        if _lt(end, start) is True:
            raise CqlRuntimeError(
                "invalid interval: the ending boundary must be greater than or equal to the"
                " starting boundary"
            )
    return ivl


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
    return None if _is_null_like(ivl) else interval_start(ivl)


@operator("End")
def End(ivl: Interval) -> Any:
    """Spec End."""
    ivl = _require_interval(ivl, "end of")
    return None if _is_null_like(ivl) else interval_end(ivl)


def _difference(ivl: Interval, op: str) -> tuple[Any, Any] | None:
    ivl = _require_interval(ivl, op)
    pt = _ivl_type(ivl)
    if pt in _TEMPORAL_NAMES:
        raise CqlRuntimeError(
            f"{op} is not defined for {pt} intervals (use duration/difference between)"
        )
    start, end = interval_start(ivl), interval_end(ivl)
    if start is None or end is None:
        return None
    return start, end


def _minus(a: Any, b: Any) -> Any:
    if _is_quantity(a):
        return a.subtract(b)
    if isinstance(a, Long) or isinstance(b, Long):
        return Long(int(a) - int(b))
    if isinstance(a, Decimal) or isinstance(b, Decimal):
        from ..runtime.quantity import normalize_decimal

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
    if _is_quantity(width):
        return width.add(type(width)(_DEC_STEP, width.unit))
    if isinstance(width, Decimal):
        return width + _DEC_STEP
    return type(width)(width + 1) if isinstance(width, Long) else width + 1


@operator("PointFrom")
def PointFrom(ivl: Interval) -> Any:
    """Spec PointFrom: the single point of a unit interval; a run-time error otherwise."""
    ivl = _require_interval(ivl, "point from")
    if _is_null_like(ivl):
        return None
    start, end = interval_start(ivl), interval_end(ivl)
    if start is None or end is None:
        return None
    same = _eq(_R.point(start), _R.point(end))
    if same is None:
        return None
    if not same:
        raise CqlRuntimeError("point from requires a unit interval (start equal to end)")
    return start


# ---------------------------------------------------------------------------------------------
# interval relationships


def _pair(a: Interval, b: Interval, infer: bool = False) -> tuple[_R, _R, _R, _R] | None:
    """Both intervals' (start, end) ranges; None when either is a null-like interval.

    With `infer`, an interval of unknown point type takes the other's (see module docstring).
    """
    ta, tb = _ivl_type(a), _ivl_type(b)
    if not infer and (_is_null_like(a) or _is_null_like(b)):
        return None
    sa, ea = _bounds(a, ta or tb)
    sb, eb = _bounds(b, tb or ta)
    return sa, ea, sb, eb


def _overlaps(sa: _R, ea: _R, sb: _R, eb: _R, p: str | None) -> Bool3:
    return _and(_le(sa, eb, p), _ge(ea, sb, p))


def _meets_before(ea: _R, sb: _R, p: str | None) -> Bool3:
    """End of the first is the predecessor of the start of the second (at `p` for temporals,
    where the next value is taken one `p` unit later and compared at `p`)."""
    step: Callable[[Any], Any] = (lambda v: v.add(1, p)) if p is not None else _succ
    try:
        after_end = ea.map(step)
    except (CqlRuntimeError, OverflowError, ArithmeticError):
        return False  # the first ends at the maximum value: nothing starts after it
    return _eq(after_end, sb, p)


def _interval_args(a: Any, b: Any, op: str) -> tuple[Interval, Interval]:
    return _require_interval(a, op), _require_interval(b, op)


def _relate(
    a: Any, b: Any, precision: str | None, op: str,
    test: Callable[[_R, _R, _R, _R, str | None], Bool3],
) -> Bool3:
    ia, ib = _interval_args(a, b, op)
    rs = _pair(ia, ib)
    if rs is None:
        return None
    return test(*rs, _temporal_precision(precision, _sample(*rs)))


@operator("Meets")
def Meets(a: Interval, b: Interval, precision: str | None = None) -> Bool3:
    """Spec Meets: meets before or meets after."""
    return _relate(
        a, b, precision, "meets",
        lambda sa, ea, sb, eb, p: _or(_meets_before(ea, sb, p), _meets_before(eb, sa, p)),
    )


@operator("MeetsBefore")
def MeetsBefore(a: Interval, b: Interval, precision: str | None = None) -> Bool3:
    """Spec Meets Before: the first ends right before the second starts."""
    return _relate(
        a, b, precision, "meets before", lambda sa, ea, sb, eb, p: _meets_before(ea, sb, p)
    )


@operator("MeetsAfter")
def MeetsAfter(a: Interval, b: Interval, precision: str | None = None) -> Bool3:
    """Spec Meets After: the first starts right after the second ends."""
    return _relate(
        a, b, precision, "meets after", lambda sa, ea, sb, eb, p: _meets_before(eb, sa, p)
    )


@operator("Overlaps")
def Overlaps(a: Interval, b: Interval, precision: str | None = None) -> Bool3:
    """Spec Overlaps: each interval starts on or before the other ends."""
    return _relate(a, b, precision, "overlaps", _overlaps)


@operator("OverlapsBefore")
def OverlapsBefore(a: Interval, b: Interval, precision: str | None = None) -> Bool3:
    """Spec Overlaps Before: overlaps, and the first starts before the second starts."""
    return _relate(
        a, b, precision, "overlaps before",
        lambda sa, ea, sb, eb, p: _and(_overlaps(sa, ea, sb, eb, p), _lt(sa, sb, p)),
    )


@operator("OverlapsAfter")
def OverlapsAfter(a: Interval, b: Interval, precision: str | None = None) -> Bool3:
    """Spec Overlaps After: overlaps, and the first ends after the second ends."""
    return _relate(
        a, b, precision, "overlaps after",
        lambda sa, ea, sb, eb, p: _and(_overlaps(sa, ea, sb, eb, p), _gt(ea, eb, p)),
    )


@operator("Starts")
def Starts(a: Interval, b: Interval, precision: str | None = None) -> Bool3:
    """Spec Starts: same start, and the first ends on or before the second ends."""
    return _relate(
        a, b, precision, "starts",
        lambda sa, ea, sb, eb, p: _and(_eq(sa, sb, p), _le(ea, eb, p)),
    )


@operator("Ends")
def Ends(a: Interval, b: Interval, precision: str | None = None) -> Bool3:
    """Spec Ends: the first starts on or after the second starts, and they end together."""
    return _relate(
        a, b, precision, "ends",
        lambda sa, ea, sb, eb, p: _and(_ge(sa, sb, p), _eq(ea, eb, p)),
    )


# ---------------------------------------------------------------------------------------------
# membership and inclusion (interval forms)


def _contains_point(ivl: Interval, x: Any, precision: str | None) -> Bool3:
    """Spec In/Contains (intervals): compare with the raw boundaries, exclusively for open ones;
    a closed null boundary always passes, an open null one is reasoned about as a range."""
    if _is_null_like(ivl):
        return False  # no point type: behaves as a null interval
    p = _temporal_precision(precision, x)
    pt = _R.point(x)
    start, end = _bounds(ivl)
    if ivl.low is not None:
        low_ok = _ge(pt, _R.point(ivl.low), p) if ivl.low_closed else _gt(pt, _R.point(ivl.low), p)
    else:
        low_ok = True if ivl.low_closed else _ge(pt, start, p)
    if ivl.high is not None:
        high_ok = (
            _le(pt, _R.point(ivl.high), p) if ivl.high_closed else _lt(pt, _R.point(ivl.high), p)
        )
    else:
        high_ok = True if ivl.high_closed else _le(pt, end, p)
    return _and(low_ok, high_ok)


def _properly_contains_point(ivl: Interval, x: Any, precision: str | None) -> Bool3:
    """Properly includes (interval, point): strictly after the start and before the end (as the
    conformance suite's TimeProperContains*/TimeProperIn* cases require)."""
    if _is_null_like(ivl):
        return False
    p = _temporal_precision(precision, x)
    start, end = _bounds(ivl, point_type_of(x))
    pt = _R.point(x)
    return _and(_gt(pt, start, p), _lt(pt, end, p))


def _includes(a: Interval, b: Interval, precision: str | None, proper: bool) -> Bool3:
    """Spec Includes / Properly Includes (interval-interval)."""
    sa, ea, sb, eb = _pair(a, b, infer=True)  # type: ignore[misc]
    p = _temporal_precision(precision, _sample(sa, ea, sb, eb))
    result = _and(_le(sa, sb, p), _ge(ea, eb, p))
    if proper:
        result = _and(result, _not(_and(_eq(sa, sb, p), _eq(ea, eb, p))))
    return result


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
        from .list import list_in

        return list_in(x, container)
    ivl = _require_interval(container, "in")
    if x is None:
        return None
    if isinstance(x, Interval):
        return _includes(ivl, x, precision, proper=False)
    return _contains_point(ivl, x, precision)


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
        from .list import list_proper_in

        return list_proper_in(x, container)
    ivl = _require_interval(container, "properly included in")
    if x is None:
        return None
    if isinstance(x, Interval):
        return _includes(ivl, x, precision, proper=True)
    return _properly_contains_point(ivl, x, precision)


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
        from .list import list_contains, list_includes

        return list_includes(a, b) if isinstance(b, list) else list_contains(a, b)
    a = _require_interval(a, "includes")
    if isinstance(b, Interval):
        return _includes(a, b, precision, proper=False)
    return _contains_point(a, b, precision)


@operator("IncludedIn", strict=False)
def IncludedIn(a: Any, b: Any, precision: str | None = None) -> Bool3:
    """Spec Included In: the converse of Includes."""
    if b is None:
        return False if _is_point(a) else None
    if a is None:
        return None
    if isinstance(b, list):
        from .list import list_in, list_included_in

        return list_included_in(a, b) if isinstance(a, list) else list_in(a, b)
    b = _require_interval(b, "included in")
    if isinstance(a, Interval):
        return _includes(b, a, precision, proper=False)
    return _contains_point(b, a, precision)


@operator("ProperIncludes", strict=False)
def ProperIncludes(a: Any, b: Any, precision: str | None = None) -> Bool3:
    """Spec Properly Includes: includes and not the same (list-list, interval-interval), or the
    point forms (properly contains)."""
    if a is None:
        return False if _is_point(b) else None
    if b is None:
        if isinstance(a, list):
            from .list import list_proper_contains

            return list_proper_contains(a, None)
        return None
    if isinstance(a, list):
        from .list import list_proper_contains, list_proper_includes

        if isinstance(b, list):
            return list_proper_includes(a, b)
        return list_proper_contains(a, b)
    a = _require_interval(a, "properly includes")
    if isinstance(b, Interval):
        return _includes(a, b, precision, proper=True)
    return _properly_contains_point(a, b, precision)


@operator("ProperIncludedIn", strict=False)
def ProperIncludedIn(a: Any, b: Any, precision: str | None = None) -> Bool3:
    """Spec Properly Included In: the converse of Properly Includes."""
    if b is None:
        return False if _is_point(a) else None
    if a is None:
        if isinstance(b, list):
            from .list import list_proper_in

            return list_proper_in(None, b)
        return None
    if isinstance(b, list):
        from .list import list_proper_in, list_proper_included_in

        if isinstance(a, list):
            return list_proper_included_in(a, b)
        return list_proper_in(a, b)
    b = _require_interval(b, "properly included in")
    if isinstance(a, Interval):
        return _includes(b, a, precision, proper=True)
    return _properly_contains_point(b, a, precision)


# ---------------------------------------------------------------------------------------------
# union, intersect, except


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
    return _ivl_type(a) or _ivl_type(b)


def _interval_union(a: Interval, b: Interval) -> Interval | None:
    """Spec Union (intervals): null unless they overlap or meet; else from the earliest start
    to the latest end."""
    rs = _pair(a, b)
    if rs is None:
        return None
    sa, ea, sb, eb = rs
    joined = _or(_overlaps(sa, ea, sb, eb, None), _meets_before(ea, sb, None),
                 _meets_before(eb, sa, None))
    if joined is not True:
        return None
    low, low_closed = _pick_low(a, b, _le(sa, sb))
    high, high_closed = _pick_high(a, b, _ge(ea, eb))
    return Interval(low, high, low_closed, high_closed, _result_type(a, b))


def _interval_intersect(a: Interval, b: Interval) -> Interval | None:
    """Spec Intersect (intervals): null unless they overlap; else from the latest start to the
    earliest end (an end that cannot be decided is an open null boundary)."""
    rs = _pair(a, b)
    if rs is None:
        return None
    sa, ea, sb, eb = rs
    if _overlaps(sa, ea, sb, eb, None) is not True:
        return None
    low, low_closed = _pick_low(a, b, _ge(sa, sb))
    high, high_closed = _pick_high(a, b, _le(ea, eb))
    return Interval(low, high, low_closed, high_closed, _result_type(a, b))


def _interval_except(a: Interval, b: Interval) -> Interval | None:
    """Spec Except (intervals): the part of the first outside the second; null when that part
    is empty or would be two pieces (the second properly inside the first)."""
    rs = _pair(a, b)
    if rs is None:
        return None
    sa, ea, sb, eb = rs
    overlap = _overlaps(sa, ea, sb, eb, None)
    if overlap is False:
        return a
    if overlap is None:
        return None
    pt = _result_type(a, b)
    if _and(_lt(sa, sb), _le(ea, eb)) is True and sb.exact:
        return Interval(a.low, _pred(sb.lo), a.low_closed, True, pt)
    if _and(_gt(ea, eb), _ge(sa, sb)) is True and eb.exact:
        return Interval(_succ(eb.lo), a.high, True, a.high_closed, pt)
    return None


@operator("Union", strict=False)
def Union(a: Any, b: Any) -> Any:
    """Spec Union: lists (a null side is an empty list) or intervals (null if either is null)."""
    if isinstance(a, list) or isinstance(b, list):
        from .list import list_union

        return list_union(a, b)
    if a is None or b is None:
        return None
    return _interval_union(*_interval_args(a, b, "union"))


@operator("Intersect", strict=False)
def Intersect(a: Any, b: Any) -> Any:
    """Spec Intersect: lists or intervals; null if either argument is null."""
    if isinstance(a, list) or isinstance(b, list):
        from .list import list_intersect

        return list_intersect(a, b)
    if a is None or b is None:
        return None
    return _interval_intersect(*_interval_args(a, b, "intersect"))


@operator("Except", strict=False)
def Except(a: Any, b: Any) -> Any:
    """Spec Except: lists (a null right side is an empty list) or intervals."""
    if isinstance(a, list) or isinstance(b, list):
        from .list import list_except

        return list_except(a, b)
    if a is None or b is None:
        return None
    return _interval_except(*_interval_args(a, b, "except"))


# ---------------------------------------------------------------------------------------------
# timing: before, after, same as, same or before, same or after


def _timing(
    a: Any, b: Any, precision: str | None,
    test: Callable[[_R, _R, _R, _R, str | None], Bool3],
) -> Bool3:
    """Relate two points, two intervals, or a point and an interval (the point taken as the
    unit interval [point, point], spec 'Same As'/'Before'/... for intervals)."""
    if a is None or b is None:
        return None
    ta = _ivl_type(a) if isinstance(a, Interval) else point_type_of(a)
    tb = _ivl_type(b) if isinstance(b, Interval) else point_type_of(b)
    for x in (a, b):
        if isinstance(x, Interval) and _is_null_like(x):
            return None
    sa, ea = _point_bounds(a, ta or tb)
    sb, eb = _point_bounds(b, tb or ta)
    return test(sa, ea, sb, eb, _temporal_precision(precision, _sample(sa, ea, sb, eb)))


@operator("Before", strict=False)
def Before(a: Any, b: Any, precision: str | None = None) -> Bool3:
    """Spec Before: the first ends before the second starts."""
    return _timing(a, b, precision, lambda sa, ea, sb, eb, p: _lt(ea, sb, p))


@operator("After", strict=False)
def After(a: Any, b: Any, precision: str | None = None) -> Bool3:
    """Spec After: the first starts after the second ends."""
    return _timing(a, b, precision, lambda sa, ea, sb, eb, p: _gt(sa, eb, p))


@operator("SameOrBefore", strict=False)
def SameOrBefore(a: Any, b: Any, precision: str | None = None) -> Bool3:
    """Spec Same Or Before / On Or Before: the first ends on or before the second starts."""
    return _timing(a, b, precision, lambda sa, ea, sb, eb, p: _le(ea, sb, p))


@operator("SameOrAfter", strict=False)
def SameOrAfter(a: Any, b: Any, precision: str | None = None) -> Bool3:
    """Spec Same Or After / On Or After: the first starts on or after the second ends."""
    return _timing(a, b, precision, lambda sa, ea, sb, eb, p: _ge(sa, eb, p))


@operator("SameAs", strict=False)
def SameAs(a: Any, b: Any, precision: str | None = None) -> Bool3:
    """Spec Same As: same start and same end (for points, the same value) at the precision."""
    return _timing(
        a, b, precision, lambda sa, ea, sb, eb, p: _and(_eq(sa, sb, p), _eq(ea, eb, p))
    )


# ---------------------------------------------------------------------------------------------
# collapse and expand


def _per_parts(per: Any) -> tuple[Decimal, str] | None:
    """(value, unit) of a per argument given as a Quantity or a bare number."""
    if per is None:
        return None
    if _is_quantity(per):
        return Decimal(per.value), per.unit or "1"
    if isinstance(per, (int, Decimal)) and not isinstance(per, bool):
        return Decimal(per), "1"
    raise CqlRuntimeError(f"per must be a quantity, got {type(per).__name__}")


def _collapse_step(per: tuple[Decimal, str] | None, pt: str | None) -> tuple[Callable[[Any], Any], str | None]:
    """How far past an interval's end the next one may start and still be merged, and the
    precision to compare at (spec Collapse: the point type's successor unless `per` is given)."""
    if per is None:
        return _succ, None
    value, unit = per
    if pt in _TEMPORAL_NAMES:
        from ..runtime.temporal import Precision

        prec = Precision.parse(unit)
        if prec == Precision.WEEK:
            value, prec = value * 7, Precision.DAY
        return (lambda v: v.add(value, prec)), prec.keyword
    if pt == "Quantity":
        from ..runtime.quantity import Quantity

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
        if not _is_null_like(i)
    ]
    if not items:
        return []
    pt = next((t for t in (_ivl_type(i) for i in items) if t is not None), None)
    step, prec = _collapse_step(_per_parts(per), pt)
    bounded = [(i, *_bounds(i, pt)) for i in items]
    ordered = _sort_by_start(bounded)
    out: list[Interval] = []
    cur, _, cur_e = ordered[0]
    for ivl, s, e in ordered[1:]:
        reach = cur_e.map(lambda v: _clamped(step, v))
        if _le(s, reach, prec) is True:
            later = _ge(e, cur_e)
            if later is not False:
                high, high_closed = (ivl.high, ivl.high_closed) if later else (None, False)
                cur = Interval(cur.low, high, cur.low_closed, high_closed, pt)
                cur_e = e if later else _R(cur_e.lo, e.hi)
            continue
        out.append(cur)
        cur, cur_e = ivl, e
    out.append(cur)
    return out


def _sort_by_start(bounded: list[tuple[Interval, _R, _R]]) -> list[tuple[Interval, _R, _R]]:
    """Order intervals by start (unknown starts first), stably."""
    import functools

    def cmp(x: tuple[Interval, _R, _R], y: tuple[Interval, _R, _R]) -> int:
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
    items = [i for i in items if not _is_null_like(i)]
    if not items:
        return []
    per_parts = _per_parts(per)
    if per_parts is not None and per_parts[0] <= 0:
        return None
    pt = next((t for t in (_ivl_type(i) for i in items) if t is not None), None)
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
    from ..runtime.quantity import Quantity

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
    from ..runtime.temporal import Precision

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

"""Unit tests for pedqm.cql.operators.interval (CQL reference, Interval Operators and the
interval/point timing operators)."""

from __future__ import annotations

from decimal import Decimal as D
from typing import Any

import pytest

from pedqm.cql.errors import CqlRuntimeError
from pedqm.cql.operators.registry import lookup
from pedqm.cql.runtime import interval as riv
from pedqm.cql.runtime.compare import equal, equivalent
from pedqm.cql.runtime.quantity import Quantity
from pedqm.cql.runtime.temporal import Date, DateTime, Time
from pedqm.cql.runtime.values import Interval, Long


def I(low: Any, high: Any, lc: bool = True, hc: bool = True, pt: str | None = None) -> Interval:  # noqa: E743
    return Interval(low, high, lc, hc, pt)


def g(v: str) -> Quantity:
    return Quantity(D(v), "g")


def call(name: str, *args: Any, **kw: Any) -> Any:
    """Call through the registry, as the compiler does (null propagation included)."""
    op = lookup(name)
    assert op is not None, name
    return op.fn(*args, **kw)


NULL_IVL = I(None, None)  # the literal Interval[null, null]: no point type


# -- Start / End / Width / Size / PointFrom -------------------------------------------------------


class TestBoundaries:
    def test_start_end_closed(self) -> None:
        assert call("Start", I(1, 10)) == 1
        assert call("End", I(1, 10)) == 10

    def test_open_bounds_use_successor_and_predecessor(self) -> None:
        assert call("Start", I(1, 10, False, False)) == 2
        assert call("End", I(1, 10, False, False)) == 9
        assert call("End", I(D("1.0"), D("4.0"), True, False)) == D("3.99999999")
        assert call("Start", I(g("1.0"), g("4.0"), False)) == g("1.00000001")
        assert call("End", I(Date(2012, 1, 1), Date(2012, 1, 15), True, False)) == Date(2012, 1, 14)

    def test_closed_null_is_min_max_of_point_type(self) -> None:
        assert call("Start", I(None, 5)) == -(2**31)
        assert call("End", I(5, None)) == 2**31 - 1
        assert call("End", I(Long(5), None)) == Long(2**63 - 1)
        assert call("Start", I(None, None, pt="System.Integer")) == -(2**31)
        assert call("End", I(Date(2012, 1, 1), None)) == Date(9999, 12, 31)
        assert call("Start", I(None, g("3"))).unit == "g"

    def test_open_null_is_unknown(self) -> None:
        assert call("Start", I(None, 5, False)) is None
        assert call("End", I(5, None, True, False)) is None

    def test_null_interval_and_null_like(self) -> None:
        assert call("Start", None) is None
        assert call("Start", NULL_IVL) is None
        assert call("End", NULL_IVL) is None

    def test_width(self) -> None:
        assert call("Width", I(1, 10)) == 9
        assert call("Width", I(D("4.0"), D("15.0"))) == D("11.0")
        assert call("Width", I(g("5.0"), g("10.0"))) == g("5.0")
        assert call("Width", None) is None
        with pytest.raises(CqlRuntimeError):
            call("Width", I(DateTime(2012, 1, 5), DateTime(2012, 1, 25)))
        with pytest.raises(CqlRuntimeError):
            call("Width", I(Time(5, 59, 59, 999), Time(15, 59, 59, 999)))

    def test_size(self) -> None:
        assert call("Size", I(1, 10)) == 10
        assert call("Size", I(1, 10, True, False)) == 9
        assert call("Size", I(D("1.0"), D("2.0"))) == D("1.00000001")

    def test_point_from(self) -> None:
        assert call("PointFrom", I(1, 1)) == 1
        assert call("PointFrom", I(D("1.0"), D("1.0"))) == D("1.0")
        assert call("PointFrom", I(Quantity(D("1.0"), "cm"), Quantity(D("1.0"), "cm"))) == Quantity(
            D("1.0"), "cm"
        )
        assert call("PointFrom", I(1, 2, True, False)) == 1
        assert call("PointFrom", NULL_IVL) is None
        with pytest.raises(CqlRuntimeError):
            call("PointFrom", I(1, 2))


# -- equality ------------------------------------------------------------------------------------


class TestEquality:
    def test_equal_uses_start_and_end(self) -> None:
        assert riv.interval_equal(I(1, 10), I(1, 10)) is True
        assert riv.interval_equal(I(1, 10), I(11, 20)) is False
        assert riv.interval_equal(I(1, 5), I(1, 6, True, False)) is True
        assert equal(I(Time(5, 59, 59, 999), Time(10, 59, 59, 999)),
                     I(Time(5, 59, 59, 999), Time(10, 58, 59, 999))) is False

    def test_equal_unknown(self) -> None:
        assert riv.interval_equal(I(1, 10), I(None, None, False, False)) is None
        assert riv.interval_equal(I(1, 10), None) is None
        assert riv.interval_equal(I(DateTime(2012, 1), DateTime(2013)), I(DateTime(2012, 1, 1), DateTime(2013))) is None

    def test_equivalent(self) -> None:
        assert equivalent(I(1, 10), I(1, 10)) is True
        assert equivalent(I(44, 50), I(1, 10)) is False
        assert riv.interval_equivalent(I(1, 5), I(1, 6, True, False)) is True
        assert riv.interval_equivalent(None, None) is True
        assert riv.interval_equivalent(I(1, 5), None) is False
        assert riv.interval_equivalent(I(None, 5, False), I(None, 5, False)) is True
        assert riv.interval_equivalent(I(DateTime(2012, 1, 7), DateTime(2012, 1, 14)),
                                      I(DateTime(2012, 1, 7), DateTime(2012, 1, 15))) is False


# -- membership ----------------------------------------------------------------------------------


class TestIn:
    def test_points(self) -> None:
        assert call("In", 5, I(1, 10)) is True
        assert call("In", 500, I(1, 10)) is False
        assert call("In", D("9.0"), I(D("1.0"), D("10.0"))) is True
        assert call("In", g("1.0"), I(g("1.0"), g("10.0"))) is True
        assert call("Contains", I(g("1.0"), g("10.0")), g("100.0")) is False
        assert call("In", DateTime(2012, 1, 7), I(DateTime(2012, 1, 5), None)) is True
        assert call("Contains", I(None, 5), 10) is False

    def test_open_boundaries_are_exclusive(self) -> None:
        assert call("In", 1, I(1, 10, False)) is False
        assert call("In", 10, I(1, 10, True, False)) is False
        # exclusive comparison, not successor: second precision decides against milliseconds
        assert call("In", Time(12, 0, 0), I(Time(11, 59, 59, 999), Time(13), False)) is True

    def test_nulls(self) -> None:
        assert call("In", None, I(Time(5, 59, 59, 999), Time(10, 59, 59, 999))) is None
        assert call("Contains", I(1, 10), None) is None
        assert call("Contains", None, 5) is False
        assert call("In", 5, None) is False
        assert call("In", 5, NULL_IVL) is False
        assert call("In", 5, I(None, 10, False)) is None
        assert call("In", 15, I(None, 10, False)) is False

    def test_precision(self) -> None:
        ivl = I(DateTime(2017, 12, 20, 11), DateTime(2017, 12, 21, 11))
        assert call("In", DateTime(2017, 12, 20, 10, 30), ivl) is False
        assert call("In", DateTime(2017, 12, 20, 10, 30), ivl, precision="day") is True

    def test_lists_delegate(self) -> None:
        assert call("In", None, [1, None]) is True
        assert call("In", 1, None) is False
        assert call("Contains", ["a", "b", None], None) is True
        assert call("Contains", None, "a") is False


class TestProperContainsPoint:
    def test_strictly_inside(self) -> None:
        ivl = I(Time(12, 0, 0, 0), Time(21, 59, 59, 999))
        assert call("ProperContains", ivl, Time(12, 0, 0, 1)) is True
        assert call("ProperContains", ivl, Time(12, 0, 0, 0)) is False
        assert call("ProperIn", Time(12, 0, 1), ivl, precision="second") is True
        assert call("ProperIncludes", ivl, Time(12, 0, 0, 1)) is True
        assert call("ProperIncludedIn", Time(12, 0, 0, 0), ivl) is False

    def test_precision_false(self) -> None:
        ivl = I(Time(12, 0, 0, 1), Time(21, 59, 59, 999))
        assert call("ProperContains", ivl, Time(12, 0, 0), precision="second") is False

    def test_lists_delegate(self) -> None:
        assert call("ProperContains", None, "a") is False
        assert call("ProperContains", ["a", "b"], "a") is True
        assert call("ProperIn", None, ["s", "u", "n", None]) is True
        assert call("ProperIncludes", ["a", "b"], "a") is True
        assert call("ProperIncludes", None, "a") is False


class TestIncludes:
    def test_intervals(self) -> None:
        assert call("Includes", I(1, 10), I(4, 10)) is True
        assert call("Includes", I(1, 10), I(44, 50)) is False
        assert call("IncludedIn", I(D("4.0"), D("10.0")), I(D("1.0"), D("10.0"))) is True
        assert call("IncludedIn", I(g("11.0"), g("20.0")), I(g("1.0"), g("10.0"))) is False

    def test_point_forms(self) -> None:
        assert call("Includes", I(1, 10), 5) is True
        assert call("IncludedIn", 11, I(1, 10)) is False

    def test_nulls(self) -> None:
        assert call("Includes", I(1, 10), None) is None
        assert call("IncludedIn", None, I(1, 10)) is None
        assert call("Includes", None, 5) is False
        assert call("IncludedIn", 5, None) is False
        assert call("Includes", None, [2]) is None
        assert call("Includes", ["s", "a", "m"], None) is None
        assert call("IncludedIn", None, [2]) is None
        assert call("IncludedIn", ["s"], None) is None

    def test_precision(self) -> None:
        a = I(DateTime(2017, 9, 1, 0, 0, 0), DateTime(2017, 9, 1, 0, 0, 0))
        b = I(DateTime(2017, 9, 1, 0, 0, 0, 0), DateTime(2017, 12, 30, 23, 59, 59, 999))
        assert call("IncludedIn", a, b, precision="day") is True

    def test_lists(self) -> None:
        assert call("Includes", [1, 2, 3], [2]) is True
        assert call("Includes", [1, 2, 3], 4) is False
        assert call("IncludedIn", 2, [1, 2, 3]) is True
        assert call("IncludedIn", [4], [1, 2, 3]) is False

    def test_proper(self) -> None:
        assert call("ProperIncludes", I(1, 10), I(4, 10)) is True
        assert call("ProperIncludes", I(1, 10), I(1, 10)) is False
        assert call("ProperIncludes", I(1, 10), I(4, 15)) is False
        assert call("ProperIncludedIn", I(4, 10), I(1, 10)) is True
        assert call("ProperIncludes", [1, 2, 3], [2]) is True
        assert call("ProperIncludes", None, [2]) is None

    def test_unbounded_null_interval_takes_other_point_type(self) -> None:
        assert call("ProperIncludedIn", I(1, 10), NULL_IVL) is True
        assert call("ProperIncludes", I(None, None, pt="Integer"), I(1, 10)) is True
        assert call("Includes", NULL_IVL, I(1, 10)) is True


# -- relationships -------------------------------------------------------------------------------


class TestRelations:
    def test_overlaps(self) -> None:
        assert call("Overlaps", I(1, 10), I(4, 10)) is True
        assert call("Overlaps", I(10, 15), I(4, 10)) is True
        assert call("Overlaps", I(1, 10), I(11, 20)) is False
        assert call("Overlaps", I(4, 11, True, False), I(9, 20, False)) is True
        assert call("Overlaps", I(4, 10, True, False), I(9, 20, False)) is False
        assert call("Overlaps", NULL_IVL, I(1, 10)) is None
        assert call("Overlaps", None, I(1, 10)) is None

    def test_overlaps_uncertain_datetimes(self) -> None:
        dt = DateTime
        assert call("Overlaps", I(dt(2012, 2, 25), dt(2012, 3, 26)), I(dt(2012, 1, 10), dt(2012, 2))) is None
        assert call("Overlaps", I(dt(2012), dt(2013, 3)), I(dt(2012, 2), dt(2013, 2))) is True
        assert call("Overlaps", I(dt(2012, 2), dt(2013)), I(dt(2012, 3), dt(2013, 2))) is True

    def test_overlaps_before_after(self) -> None:
        assert call("OverlapsBefore", I(1, 10), I(4, 10)) is True
        assert call("OverlapsBefore", I(4, 10), I(4, 10)) is False
        assert call("OverlapsBefore", I(3, 10, False), I(4, 10, False)) is True
        assert call("OverlapsBefore", I(3, 10, False), I(4, 10)) is False
        assert call("OverlapsAfter", I(4, 15), I(1, 10)) is True
        assert call("OverlapsAfter", I(4, 11, True, False), I(4, 10, True, False)) is True
        assert call("OverlapsAfter", I(4, 11, True, False), I(4, 10)) is False
        assert call("OverlapsAfter", NULL_IVL, I(1, 10)) is None

    def test_meets(self) -> None:
        assert call("Meets", I(1, 10), I(11, 20)) is True
        assert call("Meets", I(1, 10), I(44, 50)) is False
        assert call("Meets", I(D("3.01"), D("5.00000001")), I(D("5.00000002"), D("8.50"))) is True
        assert call("MeetsBefore", I(D("8.01"), D("15.00000001")), I(D("15.00000000"), D("18.50"))) is False
        assert call("MeetsAfter", I(g("55.00000123"), g("128.032156")), I(g("12.00258"), g("55.00000122"))) is True
        assert call("Meets", I(Time(4, 59, 59, 999), Time(9, 59, 59, 999)),
                    I(Time(10, 0, 0, 0), Time(19, 59, 59, 999))) is True

    def test_meets_unknown_boundaries(self) -> None:
        assert call("Meets", I(None, 5, False), I(None, 15, False, False)) is None
        assert call("MeetsBefore", I(None, 5, False), I(None, 25, False)) is None
        # the unknown start of the first is at most 5, the second ends at 11 or later
        assert call("MeetsAfter", I(None, 5, False), I(11, None, True, False)) is False

    def test_meets_with_precision(self) -> None:
        a = I(DateTime(2012, 1, 1, 10), DateTime(2012, 1, 14, 23))
        b = I(DateTime(2012, 1, 15, 1), DateTime(2012, 1, 20))
        assert call("MeetsBefore", a, b) is False
        assert call("MeetsBefore", a, b, precision="day") is True

    def test_meets_at_maximum_is_false(self) -> None:
        assert call("MeetsBefore", I(1, None), I(5, 6)) is False

    def test_starts_ends(self) -> None:
        assert call("Starts", I(4, 10), I(4, 15)) is True
        assert call("Starts", I(1, 10), I(4, 10)) is False
        assert call("Starts", NULL_IVL, I(1, 10)) is None
        assert call("Ends", I(4, 10), I(1, 10)) is True
        assert call("Ends", I(44, 50), I(1, 10)) is False
        assert call("Ends", I(1, 10), I(None, None, False, False)) is None
        assert call("Ends", I(DateTime(2012, 1, 5), DateTime(2012, 1, 15)),
                    I(DateTime(2012, 1, 1), DateTime(2012, 1, 16))) is False


# -- union / intersect / except ------------------------------------------------------------------


class TestSetOperations:
    def test_union(self) -> None:
        assert call("Union", I(1, 10), I(4, 15)) == I(1, 15)
        assert call("Union", I(1, 10), I(11, 20)) == I(1, 20)  # meets
        assert call("Union", I(1, 10), I(44, 50)) is None
        assert call("Union", NULL_IVL, I(1, 10)) is None
        assert call("Union", I(1, 5), None) is None
        u = call("Union", I(DateTime(2012, 1, 5), DateTime(2012, 1, 25)),
                 I(DateTime(2012, 1, 25), DateTime(2012, 1, 28)))
        assert u == I(DateTime(2012, 1, 5), DateTime(2012, 1, 28))

    def test_intersect(self) -> None:
        assert call("Intersect", I(1, 10), I(4, 10)) == I(4, 10)
        assert call("Intersect", I(1, 10), I(11, 20)) is None
        r = call("Intersect", I(1, 10), I(5, None, True, False))
        assert (r.low, r.high, r.low_closed, r.high_closed) == (5, None, True, False)
        assert call("Start", r) == 5

    def test_except(self) -> None:
        assert call("Except", I(1, 10), I(4, 10)) == I(1, 3)
        assert call("Except", I(1, 10), I(3, 7)) is None
        assert call("Except", I(1, 4), I(3, 6)) == I(1, 2)
        assert call("Except", I(1, 4), I(5, 6)) == I(1, 4)
        assert call("Except", I(D("1.0"), D("10.0")), I(D("4.0"), D("10.0"))) == I(D("1.0"), D("3.99999999"))
        assert call("Except", I(g("1.0"), g("10.0")), I(g("5.0"), g("10.0"))) == I(g("1.0"), g("4.99999999"))
        assert call("Except", I(DateTime(2012, 1, 7), DateTime(2012, 1, 16)),
                    I(DateTime(2012, 1, 5), DateTime(2012, 1, 12))) == I(DateTime(2012, 1, 13), DateTime(2012, 1, 16))
        assert call("Except", I(Time(5, 59, 59, 999), Time(10, 59, 59, 999)),
                    I(Time(8, 59, 59, 999), Time(10, 59, 59, 999))) == I(Time(5, 59, 59, 999), Time(8, 59, 59, 998))
        assert call("Except", NULL_IVL, NULL_IVL) is None
        assert call("Except", I(4, 5), I(1, 10)) is None

    def test_lists_delegate(self) -> None:
        assert call("Union", [1, 2, 3], [4]) == [1, 2, 3, 4]
        assert call("Union", None, [1]) == [1]
        assert call("Intersect", [1, 2, 3, 4], [2, 3]) == [2, 3]
        assert call("Except", [1, 4], None) == [1, 4]


# -- timing: before / after / same ---------------------------------------------------------------


class TestTiming:
    def test_points(self) -> None:
        assert call("Before", 1, 2) is True
        assert call("After", D("2.5"), D("2.5")) is False
        assert call("SameOrAfter", g("2.5"), g("2.50")) is True
        assert call("After", DateTime(2005, 10, 10), DateTime(2005, 9), precision="day") is True
        assert call("SameAs", DateTime(2014, 10), DateTime(2014, 10, 12), precision="day") is None
        assert call("SameOrBefore", DateTime(2014, 12, 20), DateTime(2014, 12, 20, 15), precision="minute") is None
        assert call("Before", Time(15, 57, 59, 999), Time(15, 58, 59, 999), precision="minute") is True

    def test_intervals_and_points(self) -> None:
        assert call("After", I(11, 20), I(1, 10)) is True
        assert call("After", 12, I(1, 10)) is True
        assert call("After", I(11, 20), 12) is False
        assert call("Before", I(1, 10), 11) is True
        assert call("Before", 9, I(1, 10)) is False
        assert call("Before", g("5.0"), I(g("11.0"), g("20.0"))) is True
        assert call("After", I(Time(15, 59, 59, 999), Time(20, 59, 59, 999)), Time(12, 59, 59, 999)) is True

    def test_on_or_before_after(self) -> None:
        assert call("SameOrAfter", I(Date(2012, 12, 1), Date(2013, 12, 1)), Date(2012, 11, 15), precision="month") is True
        assert call("SameOrAfter", Date(2012, 11, 15), I(Date(2012, 12, 1), Date(2013, 12, 1)), precision="month") is False
        assert call("SameOrAfter", I(6, 10), 6) is True
        assert call("SameOrAfter", D("2.5"), I(D("1.666"), D("2.50000001"))) is False
        assert call("SameOrBefore", I(4, 6), 6) is True
        assert call("SameOrBefore", D("1.6667"), I(D("1.666"), D("2.50000001"))) is False
        assert call("SameOrBefore", I(Time(5), Time(7, 59, 59, 999)),
                    I(Time(8), Time(9, 59, 59, 999)), precision="hour") is True

    def test_same_as_intervals(self) -> None:
        assert call("SameAs", I(1, 10), I(1, 11, True, False)) is True
        assert call("SameAs", I(DateTime(2012, 1, 1, 10), DateTime(2012, 1, 2, 10)),
                    I(DateTime(2012, 1, 1, 12), DateTime(2012, 1, 2, 8)), precision="day") is True

    def test_nulls(self) -> None:
        assert call("After", None, I(1, 10)) is None
        assert call("Before", I(1, 10), None) is None
        assert call("SameOrAfter", I(Date(2012, 12, 1), Date(2013, 12, 1)), None) is None
        assert call("Before", NULL_IVL, 5) is None


# -- collapse / expand ---------------------------------------------------------------------------


class TestCollapse:
    def test_integers(self) -> None:
        assert call("Collapse", [I(1, 5), I(3, 7), I(12, 19), I(7, 10)]) == [I(1, 10), I(12, 19)]
        assert call("Collapse", [I(1, 2), I(3, 7), I(10, 19), I(7, 10)]) == [I(1, 19)]
        assert call("Collapse", [I(4, 6), I(7, 8)]) == [I(4, 8)]

    def test_nulls(self) -> None:
        assert call("Collapse", None) is None
        assert call("Collapse", []) == []
        assert call("Collapse", [None, I(None, None, False, False)]) == []

    def test_decimal_quantity_temporal(self) -> None:
        assert call("Collapse", [I(D("4.0"), D("6.0")), I(D("6.00000001"), D("8.0"))]) == [I(D("4.0"), D("8.0"))]
        assert call("Collapse", [I(g("1.0"), g("5.0")), I(g("3.0"), g("7.0"))]) == [I(g("1.0"), g("7.0"))]
        assert call("Collapse", [I(DateTime(2012, 1, 1), DateTime(2012, 1, 15)),
                                 I(DateTime(2012, 1, 16), DateTime(2012, 5, 25))]) == [
            I(DateTime(2012, 1, 1), DateTime(2012, 5, 25))
        ]
        assert call("Collapse", [I(Time(1, 59, 59, 999), Time(10, 59, 59, 999)),
                                 I(Time(11, 0, 0, 0), Time(15, 59, 59, 999))]) == [
            I(Time(1, 59, 59, 999), Time(15, 59, 59, 999))
        ]

    def test_per(self) -> None:
        assert call("Collapse", [I(1, 2), I(5, 6)], Quantity(3, "1")) == [I(1, 6)]
        assert call("Collapse", [I(1, 2), I(5, 6)], Quantity(2, "1")) == [I(1, 2), I(5, 6)]
        days = [I(Date(2012, 1, 1), Date(2012, 1, 10)), I(Date(2012, 1, 13), Date(2012, 1, 20))]
        assert call("Collapse", days, Quantity(3, "days")) == [I(Date(2012, 1, 1), Date(2012, 1, 20))]
        assert len(call("Collapse", days, Quantity(1, "day"))) == 2


class TestExpand:
    def test_nulls_and_empty(self) -> None:
        assert call("Expand", None) is None
        assert call("Expand", []) == []
        assert call("Expand", [None]) == []
        assert call("Expand", [I(1, None)]) is None

    def test_dates(self) -> None:
        d = Date
        assert call("Expand", [I(d(2018, 1, 1), d(2018, 1, 4))], Quantity(2, "days")) == [
            I(d(2018, 1, 1), d(2018, 1, 2)), I(d(2018, 1, 3), d(2018, 1, 4))
        ]
        assert call("Expand", I(d(2018, 1, 1), d(2018, 1, 4)), Quantity(1, "day")) == [
            d(2018, 1, 1), d(2018, 1, 2), d(2018, 1, 3), d(2018, 1, 4)
        ]
        assert call("Expand", [I(d(2018, 1, 1), d(2018, 1, 4))], Quantity(1, "hour")) is None

    def test_times_truncate_to_per(self) -> None:
        assert call("Expand", [I(Time(10, 0), Time(12, 30), True, False)], Quantity(1, "hour")) == [
            I(Time(10), Time(10)), I(Time(11), Time(11)), I(Time(12), Time(12))
        ]
        assert call("Expand", I(Time(10), Time(10)), Quantity(1, "minute")) == []

    def test_numbers(self) -> None:
        assert call("Expand", [I(1, 10, True, False)], Quantity(2, "1")) == [I(1, 2), I(3, 4), I(5, 6), I(7, 8)]
        assert call("Expand", I(1, 10)) == list(range(1, 11))
        assert call("Expand", I(D("10.0"), D("12.5"), True, False), Quantity(1, "1")) == [D(10), D(11), D(12)]
        points = call("Expand", I(10, 10), Quantity(D("0.1"), "1"))
        assert [str(p) for p in points] == [f"10.{k}" for k in range(10)]

    def test_quantities(self) -> None:
        assert call("Expand", [I(g("1"), g("3"))], Quantity(1, "g")) == [I(g("1"), g("1")), I(g("2"), g("2")),
                                                                          I(g("3"), g("3"))]
        assert call("Expand", [I(g("1"), g("3"))], Quantity(1, "m")) is None


# -- selector ------------------------------------------------------------------------------------


def test_interval_selector_rejects_empty_and_reversed() -> None:
    assert riv.interval_selector(1, 5) == I(1, 5)
    assert riv.interval_selector(5, 5) == I(5, 5)
    with pytest.raises(CqlRuntimeError):
        riv.interval_selector(5, 3)
    with pytest.raises(CqlRuntimeError):
        riv.interval_selector(5, 5, True, False)
    # an unknown order (different precisions) is not an error
    riv.interval_selector(DateTime(2012, 1), DateTime(2012, 1, 1))

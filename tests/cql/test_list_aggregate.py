"""Unit tests for the list operators and aggregate functions (CQL reference chapters 'List
Operators' and 'Aggregate Functions'); cases mirror CqlListOperatorsTest.xml and
CqlAggregateFunctionsTest.xml where they exist."""

from __future__ import annotations

from decimal import Decimal as D
from typing import Any

import pytest

from pedqm.cql.context import EvaluationContext
from pedqm.cql.errors import CqlRuntimeError
from pedqm.cql.operators import list as lst
from pedqm.cql.operators.registry import OPERATORS, lookup
from pedqm.cql.runtime.quantity import Quantity
from pedqm.cql.runtime.values import CqlTuple, Long


def op(name: str, *args: Any) -> Any:
    """Call through the registry, so strictness (null propagation) is exercised too."""
    o = lookup(name)
    assert o is not None, name
    if o.needs_context:
        return o.fn(EvaluationContext.create(timezone_offset=0), *args)
    return o.fn(*args)


def test_registered() -> None:
    lookup("Exists")
    for name in (
        "Exists Distinct Flatten First Last IndexOf Skip Take Tail Slice SingletonFrom "
        "Count Sum Min Max Avg Median Mode Variance StdDev PopulationVariance "
        "PopulationStdDev AllTrue AnyTrue Product GeometricMean"
    ).split():
        assert name in OPERATORS, name


# --------------------------------------------------------------------------------- list ops


def test_exists() -> None:
    assert op("Exists", []) is False
    assert op("Exists", [None]) is False
    assert op("Exists", [1]) is True
    assert op("Exists", None) is False


def test_distinct() -> None:
    assert op("Distinct", []) == []
    assert op("Distinct", [None, None, None]) == [None]
    assert op("Distinct", ["a", None, "a", None]) == ["a", None]
    assert op("Distinct", [1, 2, 3, 1, 2, 3]) == [1, 2, 3]
    assert op("Distinct", [D("1.0"), D("1.00"), D("2")]) == [D("1.0"), D("2")]
    assert op("Distinct", [True, 1]) == [True, 1]  # Boolean is not Integer
    assert op("Distinct", None) is None
    q = [Quantity(1, "m"), Quantity(100, "cm"), Quantity(2, "m")]
    assert op("Distinct", q) == [Quantity(1, "m"), Quantity(2, "m")]
    t = [CqlTuple(a=1), CqlTuple(a=1), CqlTuple(a=2)]
    assert op("Distinct", t) == [CqlTuple(a=1), CqlTuple(a=2)]


def test_flatten() -> None:
    assert op("Flatten", [[], []]) == []
    assert op("Flatten", [[None], [None]]) == [None, None]
    assert op("Flatten", [[1, 2], [3, 4]]) == [1, 2, 3, 4]
    assert op("Flatten", [[1], None, [2]]) == [1, 2]
    assert op("Flatten", None) is None


def test_first_last() -> None:
    assert op("First", []) is None
    assert op("First", [None, 1]) is None
    assert op("First", [1, None]) == 1
    assert op("Last", [None, 1]) == 1
    assert op("Last", [1, None]) is None
    assert op("Last", []) is None
    assert op("First", None) is None


def test_index_of() -> None:
    assert op("IndexOf", [], None) is None
    assert op("IndexOf", None, []) is None
    assert op("IndexOf", [1, None], None) is None
    assert op("IndexOf", [1, 2], 1) == 0
    assert op("IndexOf", [1, 2], 2) == 1
    assert op("IndexOf", [1, 2], 3) == -1


def test_skip_take_tail_slice() -> None:
    five = [1, 2, 3, 4, 5]
    assert op("Skip", None, 3) is None
    assert op("Skip", five, 2) == [3, 4, 5]
    assert op("Skip", five, 0) == five
    assert op("Skip", five, 5) == []
    assert op("Skip", five, None) == five
    assert op("Skip", five, -1) == []
    assert op("Take", None, 3) is None
    assert op("Take", [1, 2, 3], None) == []
    assert op("Take", [1, 2, 3], 0) == []
    assert op("Take", [1, 2, 3, 4], 3) == [1, 2, 3]
    assert op("Take", [1, 2], 3) == [1, 2]
    assert op("Tail", None) is None
    assert op("Tail", [1, 2, 3, 4]) == [2, 3, 4]
    assert op("Tail", []) == []
    assert op("Slice", five) == five
    assert op("Slice", []) == []
    assert op("Slice", None) is None
    assert op("Slice", five, 1) == [2, 3, 4, 5]
    assert op("Slice", five, None) == five
    assert op("Slice", five, 1, 3) == [2, 3]
    assert op("Slice", five, 1, None) == [2, 3, 4, 5]
    assert op("Slice", five, -2) == [4, 5]
    assert op("Slice", five, 1, -1) == [2, 3, 4]
    assert op("Slice", five, 5) == []
    assert op("Slice", five, -9) == five
    assert op("Slice", five, 4, 2) == []


def test_singleton_from() -> None:
    assert op("SingletonFrom", []) is None
    assert op("SingletonFrom", [None]) is None
    assert op("SingletonFrom", [1]) == 1
    assert op("SingletonFrom", None) is None
    with pytest.raises(CqlRuntimeError):
        op("SingletonFrom", [1, 2])


def test_in_contains() -> None:
    assert lst.list_contains(["a", "b", None], None) is True
    assert lst.list_contains([None, "b", "c"], "a") is False
    assert lst.list_contains(["a", "b", "c"], "a") is True
    assert lst.list_contains(None, "a") is False
    assert lst.list_in(None, []) is False
    assert lst.list_in(None, [1, None]) is True
    assert lst.list_in(1, None) is False
    assert lst.list_in(3, [1, 2]) is False
    assert lst.list_in(Quantity(1, "m"), [Quantity(100, "cm")]) is True


def test_includes() -> None:
    assert lst.list_includes([], []) is True
    assert lst.list_includes([None], [None]) is True
    assert lst.list_includes([1, 2, 3], []) is True
    assert lst.list_includes([1, 2, 3], [2]) is True
    assert lst.list_includes([1, 2, 3], [4]) is False
    assert lst.list_includes(None, [2]) is None
    assert lst.list_includes(["s"], None) is None
    assert lst.list_included_in([], []) is True
    assert lst.list_included_in([None], [None]) is True
    assert lst.list_included_in([2], [1, 2, 3]) is True
    assert lst.list_included_in([4], [1, 2, 3]) is False
    assert lst.list_included_in(["s"], None) is None


def test_proper_includes() -> None:
    assert lst.list_proper_includes([], []) is False
    assert lst.list_proper_includes([None], [None]) is False
    assert lst.list_proper_includes([1, 2, 3], []) is True
    assert lst.list_proper_includes([1, 2, 3], [2]) is True
    assert lst.list_proper_includes([1, 2, 3], [4]) is False
    assert lst.list_proper_includes([1, 2, 3], [1, 2, 3]) is False
    assert lst.list_proper_includes(None, [2]) is None
    assert lst.list_proper_included_in([], [1, 2, 3]) is True
    assert lst.list_proper_included_in([1, 2, 3], [1, 2, 3]) is False
    assert lst.list_proper_included_in(["s"], None) is None


def test_proper_contains_element() -> None:
    pc = lst.list_proper_contains
    assert pc(None, "a") is False
    assert pc([], "a") is False
    assert pc(["a"], "a") is False
    assert pc([None], None) is False
    assert pc(["s", "u", "n"], None) is False
    assert pc([None, None], None) is False
    assert pc(["s", "u", "n", None], None) is True
    assert pc(["a", "b"], "a") is True
    assert pc(["a", "a"], "a") is False
    assert pc(["a", "b"], "c") is False
    assert pc(["a", None], "a") is None
    assert pc(["a", "b", None], "a") is True
    assert lst.list_proper_in("a", ["a", "b"]) is True
    assert lst.list_proper_in("a", None) is False


def test_set_operations() -> None:
    assert lst.list_union([], []) == []
    assert lst.list_union([None], [None]) == [None]
    assert lst.list_union([1, 2, 3], [2]) == [1, 2, 3]
    assert lst.list_union([1, 2, 3], [4]) == [1, 2, 3, 4]
    assert lst.list_union(None, [4, 5]) == [4, 5]
    assert lst.list_intersect([], []) == []
    assert lst.list_intersect([1, 2, 3, 4], [2, 3]) == [2, 3]
    assert lst.list_intersect([None, 1, 3, 5], [None, 3, 5, 7]) == [None, 3, 5]
    assert lst.list_intersect([1, 3, 5], None) is None
    assert lst.list_except([], []) == []
    assert lst.list_except([1, 2, 3, 4], [2, 3]) == [1, 4]
    assert lst.list_except([2, 3], [1, 2, 3, 4]) == []
    assert lst.list_except([1, 4], None) == [1, 4]
    assert lst.list_except([1, 3, 5, 7, None], [1, 3, None]) == [5, 7]
    assert lst.list_except(None, [1]) is None


def test_sort() -> None:
    assert lst.sort_list([4, 5, 1, 6, 2, 1]) == [1, 1, 2, 4, 5, 6]
    assert lst.sort_list([4, 5, 1, 6, 2, 1], descending=True) == [6, 5, 4, 2, 1, 1]
    words = ["back", "aardvark", "alligator", "zebra", "iguana", "Wolf", "Armadillo"]
    assert lst.sort_list(words) == [
        "Armadillo",
        "Wolf",
        "aardvark",
        "alligator",
        "back",
        "iguana",
        "zebra",
    ]
    assert lst.sort_list([2, None, 1]) == [None, 1, 2]
    assert lst.sort_list([2, None, 1], descending=True) == [2, 1, None]
    rows = [CqlTuple(n=2), CqlTuple(n=1)]
    assert lst.sort_list(rows, key=lambda r: r["n"]) == [CqlTuple(n=1), CqlTuple(n=2)]
    assert lst.sort_list(None) is None


def test_sort_dates_by_precision() -> None:
    temporal = pytest.importorskip("pedqm.cql.runtime.temporal")
    dt = temporal.DateTime
    values = [dt(2012, 10, 5, 10), dt(2012, 1, 1), dt(2012, 1, 1, 12), dt(2012, 10, 5)]
    asc = [dt(2012, 1, 1), dt(2012, 1, 1, 12), dt(2012, 10, 5), dt(2012, 10, 5, 10)]
    assert [v.to_cql() for v in lst.sort_list(values)] == [v.to_cql() for v in asc]
    desc = lst.sort_list(values, descending=True)
    assert [v.to_cql() for v in desc] == [v.to_cql() for v in reversed(asc)]


# ---------------------------------------------------------------------------------- aggregates


def test_all_any_true() -> None:
    assert op("AllTrue", [True, True]) is True
    assert op("AllTrue", [True, False]) is False
    assert op("AllTrue", [None, True, True]) is True
    assert op("AllTrue", []) is True
    assert op("AllTrue", None) is True
    assert op("AnyTrue", [False, False]) is False
    assert op("AnyTrue", [None, True]) is True
    assert op("AnyTrue", [None, False]) is False
    assert op("AnyTrue", []) is False
    assert op("AnyTrue", None) is False


def test_count() -> None:
    assert op("Count", [15, 5, 99, None, 1]) == 4
    assert op("Count", []) == 0
    assert op("Count", None) == 0


def test_sum_product() -> None:
    assert op("Sum", [D("6.0"), D("2.0"), D("3.0"), D("4.0"), D("5.0")]) == D("20.0")
    r = op("Sum", [Long(6), Long(2), Long(3)])
    assert r == 11 and isinstance(r, Long)
    assert op("Sum", [None, 1, None]) == 1
    assert op("Sum", [None, None]) is None
    assert op("Sum", None) is None
    assert op("Sum", [Quantity(i, "ml") for i in range(1, 6)]) == Quantity(15, "ml")
    assert op("Sum", [Quantity(1, "m"), Quantity(1, "cm")]) == Quantity(101, "cm")
    assert op("Sum", [Quantity(1, "m"), Quantity(1, "g")]) is None
    assert op("Sum", [2**31 - 1, 1]) is None  # Integer overflow
    r = op("Product", [Long(5), Long(4), Long(5)])
    assert r == 100 and isinstance(r, Long)
    assert op("Product", [D("1.0"), D("2.0"), D("3.0"), D("4.0")]) == D("24")
    assert op("Product", [Quantity(D("2.0"), "mg"), Quantity(D("3.0"), "mg")]) == Quantity(6, "mg")
    assert op("Product", [None]) is None


def test_min_max() -> None:
    assert op("Max", [5, 12, 1, 15, 0, 4, 90, 44]) == 90
    assert op("Min", [5, 12, 1, 15, 0, 4, 90, 44]) == 0
    r = op("Min", [Long(5), Long(0)])
    assert r == 0 and isinstance(r, Long)
    assert op("Max", ["hi", "bye", "zebra"]) == "zebra"
    assert op("Min", ["hi", "bye", "zebra"]) == "bye"
    assert op("Max", [None, None]) is None
    assert op("Max", None) is None
    assert op("Max", [Quantity(1, "m"), Quantity(150, "cm")]) == Quantity(150, "cm")


def test_min_max_temporal() -> None:
    temporal = pytest.importorskip("pedqm.cql.runtime.temporal")
    dt = temporal.DateTime
    values = [dt(2012, 10, 5), dt(2012, 9, 5), dt(2012, 10, 6)]
    assert op("Max", values).to_cql() == dt(2012, 10, 6).to_cql()
    assert op("Min", values).to_cql() == dt(2012, 9, 5).to_cql()
    assert op("Mode", [*values, dt(2012, 9, 5)]).to_cql() == dt(2012, 9, 5).to_cql()


def test_avg_median_mode() -> None:
    assert op("Avg", [D("1.0"), D("2.0"), D("3.0"), D("6.0")]) == D("3.0")
    assert op("Avg", [1, 2]) == D("1.5")
    avg = op("Avg", [Quantity(D("5.5"), "cm"), Quantity(D("4.7"), "cm"), Quantity(D("4.8"), "cm")])
    assert avg == Quantity(D("5.0"), "cm")
    assert op("Avg", [None]) is None
    assert op("Median", [D(x) for x in ("6.0", "5.0", "4.0", "3.0", "2.0", "1.0")]) == D("3.5")
    assert op("Median", [D("2.0"), D("4.0"), D("8.0"), D("6.0")]) == D("5.0")
    assert op("Median", [D(1), D(3), D(2)]) == D(2)
    assert op("Mode", [2, 1, 8, 2, 9, 1, 9, 9]) == 9
    assert op("Mode", [Quantity(1, "mg"), Quantity(2, "mg"), Quantity(2, "mg")]) == Quantity(
        2, "mg"
    )
    assert op("Mode", [None]) is None


def test_variance_stddev() -> None:
    xs = [D("1.0"), D("2.0"), D("3.0"), D("4.0"), D("5.0")]
    assert op("Variance", xs) == D("2.5")
    assert op("PopulationVariance", xs) == D("2.0")
    assert op("StdDev", xs) == D("1.58113883")
    assert op("PopulationStdDev", xs) == D("1.41421356")
    assert op("PopulationStdDev", [None, None, None]) is None
    assert op("StdDev", [None]) is None
    assert op("Variance", [D(1)]) is None  # n - 1 = 0
    qs = [Quantity(D(x), "mg") for x in ("1.0", "2.0", "3.0", "4.0", "5.0")]
    assert op("Variance", qs) == Quantity(D("2.5"), "mg")
    assert op("PopulationStdDev", qs) == Quantity(D("1.41421356"), "mg")


def test_geometric_mean() -> None:
    assert op("GeometricMean", [D("2.0"), D("8.0")]) == D(4)
    assert op("GeometricMean", [D(1), D(2), D(4)]) == D(2)
    assert op("GeometricMean", [None, None]) is None
    assert op("GeometricMean", None) is None

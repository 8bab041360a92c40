"""Unit tests for pedqm.cql.operators.arithmetic (CQL 1.5 'Arithmetic Operators').

Expected values follow the HL7 conformance suite (CqlArithmeticFunctionsTest.xml) where it has
a case, and the spec's examples otherwise.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from pedqm.cql.errors import CqlRuntimeError
from pedqm.cql.operators import arithmetic as ar
from pedqm.cql.operators.registry import OPERATORS
from pedqm.cql.runtime.quantity import Quantity
from pedqm.cql.runtime.uncertainty import Uncertainty
from pedqm.cql.runtime.values import Long

D = Decimal


def op(name: str, *args: Any) -> Any:
    """Call a registered operator the way the compiler does (null handling included)."""
    return OPERATORS[name].fn(*args)


def same(actual: Any, expected: Any) -> bool:
    """Equal value *and* CQL type (Integer vs Long vs Decimal)."""
    if expected is None:
        return actual is None
    return type(actual) is type(expected) and actual == expected


# -- Add / Subtract / Multiply -------------------------------------------------------------------


@pytest.mark.parametrize(
    "name,a,b,expected",
    [
        ("Add", 1, None, None),
        ("Add", 1, 1, 2),
        ("Add", Long(1), Long(2), Long(3)),
        ("Add", D("1.0"), D("1.0"), D("2.0")),
        ("Add", 1, D("2.0"), D("3.0")),
        ("Add", Long(25), 5, Long(30)),
        ("Add", 2**31 - 1, 1, None),
        ("Add", Long(2**63 - 1), Long(1), None),
        ("Add", D("9999999999999999999999999999.99999999"), D("1.0"), None),
        ("Multiply", D("1E+20"), D("1E+20"), None),
        ("Subtract", 1, 1, 0),
        ("Subtract", Long(1), Long(1), Long(0)),
        ("Subtract", D("1.0"), D("2.0"), D("-1.0")),
        ("Subtract", 2, D("1.1"), D("0.9")),
        ("Subtract", -(2**31), 1, None),
        ("Multiply", 1, 1, 1),
        ("Multiply", Long(2), Long(3), Long(6)),
        ("Multiply", 1, Long(1), Long(1)),
        ("Multiply", D("1.0"), D("2.0"), D("2.0")),
        ("Multiply", 1, D("2.0"), D("2.0")),
        ("Multiply", 65536, 65536, None),
        ("Multiply", D("0.00001"), D("0.00001"), D("0E-8")),
    ],
)
def test_add_subtract_multiply(name: str, a: Any, b: Any, expected: Any) -> None:
    assert same(op(name, a, b), expected)


def test_add_strings_concatenates() -> None:
    assert op("Add", "a", "b") == "ab"
    assert op("Add", "a", None) is None


def test_decimal_overflow_bound_follows_the_suite() -> None:
    # ValueLiteralsAndSelectors.xml: Decimal10Pow28ToZeroOneStepDecimalMaxValue
    big = op("Multiply", 10, D("1000000000000000000000000000.00000000"))
    assert op("Subtract", big, D("0.00000001")) == D("9999999999999999999999999999.99999999")


def test_decimal_scale_capped_at_eight() -> None:
    r = op("Multiply", D("1.123456789"), D("1"))
    assert r == D("1.12345679") and r.as_tuple().exponent == -8


def test_quantity_arithmetic() -> None:
    assert op("Add", Quantity(1, "g/cm3"), Quantity(1, "g/cm3")) == Quantity(D("2.0"), "g/cm3")
    assert op("Subtract", Quantity(D("1.0"), "cm"), Quantity(D("2.0"), "cm")) == Quantity(
        D("-1.0"), "cm"
    )
    assert op("Multiply", Quantity(D("1.0"), "cm"), Quantity(D("2.0"), "cm")) == Quantity(2, "cm2")
    assert op("Multiply", 2, Quantity(3, "mg")) == Quantity(6, "mg")
    assert op("Divide", Quantity(1, "g/cm3"), D("1.0")) == Quantity(1, "g/cm3")
    assert op("Divide", Quantity(1, "g/cm3"), Quantity(1, "g/cm3")) == Quantity(1, "1")
    assert op("Divide", Quantity(D("10.0"), "g"), 5) == Quantity(2, "g")
    assert op("Add", Quantity(1, "cm"), Quantity(1, "cm2")) is None
    assert op("Negate", Quantity(1, "cm")) == Quantity(-1, "cm")
    assert op("Abs", Quantity(D("-1.0"), "cm")) == Quantity(1, "cm")


# -- Divide / div / mod --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "a,b,expected",
    [
        (1, None, None),
        (1, 0, None),
        (0, 1, D("0.0")),
        (1, 1, D("1.0")),
        (Long(1), Long(1), D("1.0")),
        (D("1.0"), D("1.0"), D("1.0")),
        (10, 3, D("3.33333333")),
        (2, 3, D("0.66666667")),
        (10, D("5.0"), D("2.0")),
        (D("2.2"), 0, None),
        (D("9.9"), D("3.0"), D("3.3")),
    ],
)
def test_divide(a: Any, b: Any, expected: Any) -> None:
    assert same(op("Divide", a, b), expected)


@pytest.mark.parametrize(
    "a,b,expected",
    [
        (None, None, None),
        (2, 1, 2),
        (2, 0, None),
        (10, 3, 3),
        (Long(10), Long(3), Long(3)),
        (Long(10), Long(0), None),
        (D("10.1"), D("3.1"), D("3")),
        (D("10.1"), D("0.0"), None),
        (-2, -1, 2),
        (-10, -3, 3),
        (D("-10.1"), D("-3.1"), D("3")),
        (-2, 1, -2),
        (-10, 3, -3),
        (D("-10.1"), D("3.1"), D("-3")),
        (10, -3, -3),
        (10, D("5.0"), D("2")),
        (-(2**31), -1, None),
    ],
)
def test_truncated_divide(a: Any, b: Any, expected: Any) -> None:
    assert same(op("TruncatedDivide", a, b), expected)


def test_truncated_divide_quantity() -> None:
    assert op("TruncatedDivide", Quantity(D("10.1"), "cm"), Quantity(D("-3.1"), "cm")) == Quantity(
        -3, "cm"
    )
    assert op("TruncatedDivide", Quantity(D("4.14"), "m"), Quantity(D("2.06"), "m")) == Quantity(
        2, "m"
    )
    assert op("TruncatedDivide", Quantity(D("10.0"), "g"), Quantity(D("0.0"), "g")) is None


@pytest.mark.parametrize(
    "a,b,expected",
    [
        (1, None, None),
        (0, 0, None),
        (4, 2, 0),
        (Long(4), Long(2), Long(0)),
        (D("4.0"), D("2.0"), D("0.0")),
        (10, 3, 1),
        (-10, 3, -1),
        (10, -3, 1),
        (D("10.0"), D("3.0"), D("1.0")),
        (10, D("3.0"), D("1.0")),
        (D("3.5"), 3, D("0.5")),
        (Long(3), 2, Long(1)),
    ],
)
def test_modulo(a: Any, b: Any, expected: Any) -> None:
    assert same(op("Modulo", a, b), expected)


def test_modulo_quantity() -> None:
    assert op("Modulo", Quantity(D("3.5"), "cm"), Quantity(3, "cm")) == Quantity(D("0.5"), "cm")
    assert op("Modulo", Quantity(D("10.0"), "g"), Quantity(D("3.0"), "g")) == Quantity(1, "g")
    assert op("Modulo", Quantity(D("10.0"), "g"), Quantity(D("0.0"), "g")) is None


# -- Power / Exp / Ln / Log ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "a,b,expected",
    [
        (None, None, None),
        (0, 0, 1),
        (2, 2, 4),
        (-2, 2, 4),
        (2, -2, D("0.25")),
        (Long(2), Long(2), Long(4)),
        (Long(2), Long(3), Long(8)),
        (D("2.0"), D("2.0"), D("4.0")),
        (D("-2.0"), D("2.0"), D("4.0")),
        (D("2.0"), D("-2.0"), D("0.25")),
        (D("2.0"), 2, D("4.0")),
        (2, D("2.0"), D("4.0")),
        (2, 4, 16),
        (10, 9, 1000000000),
        (10, -8, D("0.00000001")),
        (10, -7, D("0.0000001")),
        (2, 31, None),
        (2, 10**9, None),
        (0, -1, None),
        (D("-8.0"), D("0.5"), None),
        (D("0.0"), D("0.0"), D("1.0")),
        (D("10.0"), D("30.0"), None),
    ],
)
def test_power(a: Any, b: Any, expected: Any) -> None:
    assert same(op("Power", a, b), expected)


def test_power_decimal_large() -> None:
    assert op("Add", op("Power", D("2.0"), D("30.0")), op("Power", D("2.0"), D("30.0"))) == D(
        "2147483648.0"
    )
    assert op("Subtract", op("Negate", op("Power", 2, 30)), op("Power", 2, 30)) == -(2**31)


def test_exp() -> None:
    assert op("Exp", None) is None
    assert same(op("Exp", 0), D("1.0"))
    assert op("Round", op("Exp", 1), 8) == D("2.71828183")
    assert op("Round", op("Exp", Long(1)), 8) == D("2.71828183")
    assert op("Round", op("Exp", -1), 8) == D("0.36787944")
    with pytest.raises(CqlRuntimeError):
        op("Exp", 1000)
    with pytest.raises(CqlRuntimeError):
        op("Exp", D("1000.0"))


def test_ln() -> None:
    assert op("Ln", None) is None
    with pytest.raises(CqlRuntimeError):
        op("Ln", 0)
    assert same(op("Ln", 1), D("0.0"))
    assert same(op("Ln", Long(1)), D("0.0"))
    assert op("Ln", -1) is None
    assert op("Round", op("Ln", 1000), 8) == D("6.90775528")
    assert op("Round", op("Ln", D("1000.0")), 8) == D("6.90775528")


@pytest.mark.parametrize(
    "x,base,expected",
    [
        (None, None, None),
        (1, None, None),
        (1, 1, None),
        (2, 1, None),
        (1, 2, D("0.0")),
        (1, 100, D("0.0")),
        (Long(1), Long(100), D("0.0")),
        (16, 2, D("4.0")),
        (D("0.125"), 2, D("-3.0")),
        (D("100.0"), D("10.0"), D("2.0")),
        (-1, 2, None),
    ],
)
def test_log(x: Any, base: Any, expected: Any) -> None:
    assert same(op("Log", x, base), expected)


# -- unary ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "x,expected",
    [
        (None, None),
        (0, 0),
        (1, -1),
        (-1, 1),
        (Long(1), Long(-1)),
        (Long(-1), Long(1)),
        (Long(9223372036854775807), Long(-9223372036854775807)),
        (-(2**31), None),
        (D("0.0"), D("0.0")),
        (D("-0.0"), D("0.0")),
        (D("1.0"), D("-1.0")),
    ],
)
def test_negate(x: Any, expected: Any) -> None:
    r = op("Negate", x)
    assert same(r, expected)
    if isinstance(r, Decimal):
        assert not r.is_signed() or r != 0


def test_negate_uncertainty() -> None:
    assert op("Negate", Uncertainty(2, 5)) == Uncertainty(-5, -2)


@pytest.mark.parametrize(
    "x,expected",
    [(None, None), (0, 0), (-1, 1), (D("-1.0"), D("1.0")), (D("0.0"), D("0.0")),
     (Long(-1), Long(1)), (-(2**31), None)],
)
def test_abs(x: Any, expected: Any) -> None:
    assert same(op("Abs", x), expected)


@pytest.mark.parametrize(
    "name,x,expected",
    [
        ("Ceiling", None, None),
        ("Ceiling", D("1.0"), 1),
        ("Ceiling", D("1.1"), 2),
        ("Ceiling", D("-0.1"), 0),
        ("Ceiling", D("-1.0"), -1),
        ("Ceiling", D("-1.1"), -1),
        ("Ceiling", 1, 1),
        ("Ceiling", 2147483647, 2147483647),
        ("Ceiling", D("2147483647.0"), 2147483647),
        ("Ceiling", D("2147483647.2"), None),
        ("Ceiling", D("2147483648.2"), None),
        ("Ceiling", -2147483648, -2147483648),
        ("Ceiling", D("-2147483648.0"), -2147483648),
        ("Ceiling", D("-2147483648.2"), -2147483648),
        ("Ceiling", D("-2147483649.2"), None),
        ("Floor", 1, 1),
        ("Floor", D("1.0"), 1),
        ("Floor", D("1.1"), 1),
        ("Floor", D("-0.1"), -1),
        ("Floor", D("-1.0"), -1),
        ("Floor", D("-1.1"), -2),
        ("Floor", D("2147483647.2"), 2147483647),
        ("Floor", Long(2147483648), None),
        ("Floor", D("2147483648.2"), None),
        ("Floor", D("-2147483648.0"), -2147483648),
        ("Floor", D("-2147483648.2"), None),
        ("Floor", Long(-2147483649), None),
        ("Truncate", 0, 0),
        ("Truncate", D("0.0"), 0),
        ("Truncate", D("0.1"), 0),
        ("Truncate", D("1.9"), 1),
        ("Truncate", -1, -1),
        ("Truncate", D("-1.1"), -1),
        ("Truncate", D("-1.9"), -1),
    ],
)
def test_ceiling_floor_truncate(name: str, x: Any, expected: Any) -> None:
    assert same(op(name, x), expected)


@pytest.mark.parametrize(
    "x,p,expected",
    [
        (None, None, None),
        (1, None, D("1")),
        (D("0.5"), None, D("1")),
        (D("0.4"), None, D("0")),
        (D("3.14159"), 2, D("3.14")),
        (D("3.14159"), 3, D("3.142")),
        (D("-0.5"), None, D("-1")),
        (D("-0.4"), None, D("0")),
        (D("-0.6"), None, D("-1")),
        (D("-1.1"), None, D("-1")),
        (D("-1.5"), None, D("-2")),
        (D("-1.6"), None, D("-2")),
        (D("2.5"), 0, D("3")),
        (D("1234.5"), -2, D("1200")),
    ],
)
def test_round(x: Any, p: Any, expected: Any) -> None:
    assert same(op("Round", x, p), expected)


def test_round_quantity_and_defaults() -> None:
    assert op("Round", Quantity(D("2.54"), "cm")) == Quantity(3, "cm")
    assert op("Round", D("-0.4")).is_signed() is False
    assert op("Round", D("0.5")) == 1


# -- successor / predecessor ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "x,succ,pred",
    [
        (0, 1, -1),
        (1, 2, 0),
        (Long(1), Long(2), Long(0)),
        (D("1.0"), D("1.00000001"), D("0.99999999")),
        (D("1.01"), D("1.01000001"), D("1.00999999")),
    ],
)
def test_successor_predecessor(x: Any, succ: Any, pred: Any) -> None:
    assert same(op("Successor", x), succ)
    assert same(op("Predecessor", x), pred)
    assert op("Successor", None) is None and op("Predecessor", None) is None
    assert ar.successor(None) is None


def test_successor_predecessor_quantity() -> None:
    assert op("Predecessor", Quantity(D("1.0"), "cm")) == Quantity(D("0.99999999"), "cm")


@pytest.mark.parametrize(
    "fn,x",
    [
        (ar.successor, 2**31 - 1),
        (ar.successor, Long(2**63 - 1)),
        (ar.successor, D("99999999999999999999.99999999")),
        (ar.predecessor, -(2**31)),
        (ar.predecessor, Long(-(2**63))),
        (ar.predecessor, D("-99999999999999999999.99999999")),
    ],
)
def test_successor_predecessor_overflow_is_error(fn: Any, x: Any) -> None:
    with pytest.raises(CqlRuntimeError):
        fn(x)


# -- minimum / maximum ---------------------------------------------------------------------------


def test_min_max_value() -> None:
    assert same(op("MinValue", "Integer"), -2147483648)
    assert same(op("MaxValue", "System.Integer"), 2147483647)
    assert same(op("MinValue", "Long"), Long(-9223372036854775808))
    assert same(op("MaxValue", "{urn:hl7-org:elm-types:r1}Long"), Long(9223372036854775807))
    assert op("MinValue", "Decimal") == D("-99999999999999999999.99999999")
    assert op("MaxValue", "Decimal") == D("99999999999999999999.99999999")
    assert op("MaxValue", "Quantity") == Quantity(D("99999999999999999999.99999999"), "1")
    assert ar.min_value("Integer") == -(2**31) and ar.max_value("Integer") == 2**31 - 1
    with pytest.raises(CqlRuntimeError):
        op("MinValue", "Boolean")
    with pytest.raises(CqlRuntimeError):
        op("MaxValue", "Boolean")


# -- Precision / boundaries ----------------------------------------------------------------------


def test_precision_decimal() -> None:
    assert op("Precision", D("1.58700")) == 5
    assert op("Precision", D("1")) == 0
    assert op("Precision", None) is None


@pytest.mark.parametrize(
    "name,x,p,expected",
    [
        ("LowBoundary", D("1.587"), 8, "1.58700000"),
        ("HighBoundary", D("1.587"), 8, "1.58799999"),
        ("LowBoundary", D("1.58888"), None, "1.58888000"),
        ("HighBoundary", D("1.58888"), None, "1.58888999"),
        ("LowBoundary", D("1.587"), 6, "1.587000"),
        ("HighBoundary", D("1.587"), 6, "1.587999"),
        ("LowBoundary", D("1.587"), 2, "1.58"),
        ("HighBoundary", D("1.587"), 2, "1.59"),
        ("LowBoundary", D("-1.587"), 8, "-1.58799999"),
        ("HighBoundary", D("-1.587"), 8, "-1.58700000"),
        ("LowBoundary", D("-1.587"), 2, "-1.59"),
        ("HighBoundary", D("-1.587"), 2, "-1.58"),
        ("HighBoundary", D("1.587"), 9, None),
        ("LowBoundary", None, 8, None),
        ("HighBoundary", None, 8, None),
    ],
)
def test_decimal_boundaries(name: str, x: Any, p: Any, expected: str | None) -> None:
    r = op(name, x, p)
    if expected is None:
        assert r is None
    else:
        assert isinstance(r, Decimal) and format(r, "f") == expected


# -- uncertainty arithmetic ----------------------------------------------------------------------


def test_uncertainty_arithmetic() -> None:
    u = Uncertainty(16, 44)
    assert op("Add", u, u) == Uncertainty(32, 88)
    assert op("Subtract", u, Uncertainty(4, 16)) == Uncertainty(0, 40)
    assert op("Multiply", u, u) == Uncertainty(256, 1936)
    assert op("Add", u, 1) == Uncertainty(17, 45)
    assert op("Add", 1, u) == Uncertainty(17, 45)
    with pytest.raises(CqlRuntimeError):
        op("TruncatedDivide", u, Uncertainty(4, 16))


def test_type_mismatch_is_runtime_error() -> None:
    with pytest.raises(CqlRuntimeError):
        op("Add", True, "a")
    with pytest.raises(CqlRuntimeError):
        op("Abs", "a")


# -- date/time arithmetic (CqlDateTimeOperatorsTest.xml, Add/Subtract groups) --------------------

from pedqm.cql.runtime.temporal import Date, DateTime, Time  # noqa: E402


def _q(n: Any, unit: str) -> Quantity:
    return Quantity(D(str(n)), unit)


@pytest.mark.parametrize(
    "name,value,q,expected",
    [
        ("Add", DateTime(2005, 10, 10), _q(5, "years"), "@2010-10-10T"),
        ("Add", DateTime(2005, 5, 10), _q(10, "months"), "@2006-03-10T"),
        ("Add", DateTime(2016, 6, 10), _q(21, "days"), "@2016-07-01T"),
        ("Add", DateTime(2005, 5, 10, 5, 20, 30), _q(5, "hours"), "@2005-05-10T10:20:30"),
        ("Add", DateTime(2012, 2, 29), _q(1, "year"), "@2013-02-28T"),
        ("Add", DateTime(2014), _q(735, "days"), "@2016T"),
        ("Add", DateTime(2018, 5, 2), _q(3, "weeks"), "@2018-05-23T"),
        ("Add", DateTime(2018, 5, 2), _q(3, "wk"), "@2018-05-23T"),
        ("Add", Date(2014), _q(25, "months"), "@2016"),
        ("Add", Date(2014, 6), _q(33, "days"), "@2014-07"),
        ("Add", Time(15, 59, 59, 999), _q(1, "minute"), "@T16:00:59.999"),
        ("Add", Time(15, 59, 59, 999), _q(1, "milliseconds"), "@T16:00:00.000"),
        ("Add", Time(15, 59, 59, 999), _q(300, "minutes"), "@T20:59:59.999"),
        ("Add", DateTime(2005, 5, 10), _q("1.9", "days"), "@2005-05-11T"),
        ("Subtract", DateTime(2005, 5, 10), _q(6, "months"), "@2004-11-10T"),
        ("Subtract", DateTime(2016, 6, 10, 5, 5, 5, 5), _q(6, "milliseconds"),
         "@2016-06-10T05:05:04.999"),
        ("Subtract", Date(2014), _q(25, "months"), "@2012"),
        ("Subtract", Time(15, 59, 59, 0), _q(1, "ms"), "@T15:59:58.999"),
    ],
)
def test_temporal_add_subtract(name: str, value: Any, q: Quantity, expected: str) -> None:
    assert op(name, value, q).to_cql() == expected


@pytest.mark.parametrize(
    "name,value,q",
    [
        ("Add", DateTime(2005, 10, 10), _q(8000, "years")),
        ("Subtract", DateTime(2005, 10, 10), _q(2005, "years")),
        ("Add", DateTime(2005, 10, 10), _q(1, "a")),
        ("Add", DateTime(2005, 10, 10), _q(1, "cm")),
        ("Add", Time(10), _q(1, "year")),
    ],
)
def test_temporal_add_errors(name: str, value: Any, q: Quantity) -> None:
    with pytest.raises(CqlRuntimeError):
        op(name, value, q)


def test_temporal_successor_predecessor() -> None:
    assert op("Successor", DateTime(2000, 1, 1)).to_cql() == "@2000-01-02T"
    assert op("Predecessor", DateTime(2000, 1, 1)).to_cql() == "@1999-12-31T"
    assert op("Successor", Time(12, 0, 0, 0)).to_cql() == "@T12:00:00.001"
    assert op("Predecessor", Time(12, 0, 0, 0)).to_cql() == "@T11:59:59.999"
    for fn, x in [
        (ar.successor, DateTime(9999, 12, 31, 23, 59, 59, 999)),
        (ar.successor, Time(23, 59, 59, 999)),
        (ar.predecessor, DateTime(1, 1, 1, 0, 0, 0, 0)),
        (ar.predecessor, Time(0, 0, 0, 0)),
    ]:
        with pytest.raises(CqlRuntimeError):
            fn(x)


def test_temporal_min_max() -> None:
    assert op("MinValue", "DateTime") == DateTime.parse("@0001-01-01T00:00:00.000Z")
    assert op("MaxValue", "DateTime") == DateTime.parse("@9999-12-31T23:59:59.999Z")
    assert op("MinValue", "Date").to_cql() == "@0001-01-01"
    assert op("MaxValue", "Date").to_cql() == "@9999-12-31"
    assert op("MinValue", "Time").to_cql() == "@T00:00:00.000"
    assert op("MaxValue", "Time").to_cql() == "@T23:59:59.999"


def test_temporal_precision_and_boundaries() -> None:
    assert op("Precision", Date(2014)) == 4
    assert op("Precision", DateTime(2014, 1, 5, 10, 30, 0, 0)) == 17
    assert op("Precision", Time(10, 30)) == 4
    assert op("Precision", Time(10, 30, 0, 0)) == 9
    assert op("HighBoundary", Date(2014), 6).to_cql() == "@2014-12"
    assert op("LowBoundary", Date(2014), 6).to_cql() == "@2014-01"
    assert op("HighBoundary", DateTime(2014, 1, 1, 8), 17).to_cql() == "@2014-01-01T08:59:59.999"
    assert op("LowBoundary", DateTime(2014, 1, 1, 8), 17).to_cql() == "@2014-01-01T08:00:00.000"
    assert op("HighBoundary", Time(10, 30), 9).to_cql() == "@T10:30:59.999"
    assert op("LowBoundary", Time(10, 30), 9).to_cql() == "@T10:30:00.000"
    assert op("HighBoundary", Date(2014), None).to_cql() == "@2014-12-31"
    assert op("HighBoundary", Date(2014), 17) is None

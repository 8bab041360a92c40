"""Quantity, Ratio and UCUM tests.

Expected values come from the HL7 CQL conformance suite (shared/cql-tests, test names in the
ids), the CQL 1.5 reference's examples ("spec:" ids) and UCUM's definitions ("ucum:" ids).
"""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import pytest

from pedqm.cql.errors import CqlRuntimeError
from pedqm.cql.runtime import ucum
from pedqm.cql.runtime.quantity import (
    Quantity,
    Ratio,
    decimal_equivalent,
    decimal_to_cql,
    duration_precision,
    is_valid_unit,
    normalize_decimal,
)


def q(value: str | int, unit: str = "1") -> Quantity:
    return Quantity(Decimal(str(value)), unit)


def same(actual: Quantity | None, expected: Quantity) -> bool:
    """CQL-equal value and the very same unit string."""
    return actual is not None and actual.unit == expected.unit and actual.equal(expected) is True


# --- UCUM --------------------------------------------------------------------------------------

VALID_UNITS = [
    "1",
    "cm",
    "g",
    "mg/dL",
    "mmol/L",
    "kg/m2",
    "/min",
    "{beats}/min",
    "mm[Hg]",
    "cm[H2O]",
    "Cel",
    "[degF]",
    "[in_i]",
    "[ft_i]",
    "[lb_av]",
    "[oz_av]",
    "%",
    "[iU]",
    "[IU]/L",
    "m[iU]/mL",
    "10*3/uL",
    "10*9/L",
    "g/cm3",
    "cm2",
    "m+2",
    "s-1",
    "min",
    "h",
    "d",
    "wk",
    "mo",
    "a",
    "ms",
    "mL",
    "ml",
    "L",
    "dL",
    "ug",
    "eq",
    "mol/kg",
    "kg.m/s2",
    "mg/(kg.d)",
    "{eskimo_kisses}",
    "mg{creat}",
    "B[10.nV]",
    "[m/s2/Hz^(1/2)]",
    "dam",
    "cd",
    "Pa",
    "[arb'U]",
    "U/L",
    "kat",
    "[pH]",
]
INVALID_UNITS = [
    "",
    "foo",
    "mcg",
    "days",
    "m//s",
    "m.",
    "(m",
    "m)",
    "[in_i",
    "{a",
    "cm 2",
    "CM",
    "kg/",
    "3{x}",
    "ka",  # annum is not metric: no prefixes
]


@pytest.mark.parametrize("unit", VALID_UNITS)
def test_valid_ucum_units(unit: str) -> None:
    assert ucum.is_valid_unit(unit)


@pytest.mark.parametrize("unit", INVALID_UNITS)
def test_invalid_ucum_units(unit: str) -> None:
    assert not ucum.is_valid_unit(unit)
    if unit:
        with pytest.raises(ucum.UcumError):
            ucum.parse_unit(unit)


def test_every_essence_unit_parses() -> None:
    for code in ucum._UNITS:
        ucum.parse_unit(code)


@pytest.mark.parametrize(
    ("unit", "factor", "dimension"),
    [
        ("cm", Fraction(1, 100), (("m", 1),)),
        ("[in_i]", Fraction("0.0254"), (("m", 1),)),  # ucum: 2.54 cm
        ("[lb_av]", Fraction("453.59237"), (("g", 1),)),  # ucum: 7000 grains of 64.79891 mg
        ("mg/dL", Fraction(10), (("g", 1), ("m", -3))),
        ("/min", Fraction(1, 60), (("s", -1),)),
        ("{beats}/min", Fraction(1, 60), (("s", -1),)),  # annotations carry no meaning
        ("mg/(kg.d)", Fraction(1, 10**6 * 86400), (("s", -1),)),
        ("a", Fraction(36525 * 864), (("s", 1),)),  # ucum: a = a_j = 365.25 d
        ("%", Fraction(1, 100), ()),
        ("mm[Hg]", Fraction("133.322") * 1000, (("g", 1), ("m", -1), ("s", -2))),
        ("[iU]", Fraction(1), (("[iU]", 1),)),  # arbitrary: its own dimension
        ("[IU]", Fraction(1), (("[iU]", 1),)),
    ],
)
def test_unit_reduction(unit: str, factor: Fraction, dimension: ucum.Dimension) -> None:
    reduced = ucum.parse_unit(unit)
    assert reduced.factor == factor
    assert reduced.dimension == dimension


@pytest.mark.parametrize(
    ("value", "source", "target", "expected"),
    [
        ("5", "mg", "g", "0.005"),  # spec: ConvertQuantity(5 'mg', 'g')
        ("1", "m", "cm", "100"),
        ("2.50", "m", "cm", "250.00"),  # operand scale kept
        ("1", "[lb_av]", "kg", "0.45359237"),
        ("1", "[in_i]", "cm", "2.54"),
        ("12", "[in_i]", "[ft_i]", "1"),
        ("98.6", "[degF]", "Cel", "37"),  # ucum: offset conversion via kelvin
        ("37", "Cel", "[degF]", "98.6"),
        ("0", "Cel", "K", "273.15"),
        ("100", "mg/dL", "g/L", "1"),
        ("1", "a", "d", "365.25"),
        ("1", "wk", "h", "168"),
        ("1", "[iU]", "m[iU]", "1000"),
        ("1", "[IU]", "[iU]", "1"),
    ],
)
def test_ucum_conversion(value: str, source: str, target: str, expected: str) -> None:
    assert ucum.convert_decimal(Decimal(value), source, target) == Decimal(expected)


@pytest.mark.parametrize(
    ("source", "target"),
    [("mg/dL", "mmol/L"), ("cm2", "cm"), ("[iU]", "1"), ("[iU]", "[arb'U]"), ("[pH]", "1")],
)
def test_incommensurable_units(source: str, target: str) -> None:
    assert not ucum.is_commensurable(source, target)
    with pytest.raises(ucum.UcumError):
        ucum.convert_decimal(Decimal(1), source, target)


@pytest.mark.parametrize(
    ("left", "right", "product", "quotient"),
    [
        ("cm", "cm", ("cm2", 1), ("1", 1)),  # spec: 12 'cm' * 3 'cm' is in 'cm2'
        ("cm", "cm2", ("cm3", 1), ("/cm", 1)),  # spec: 3 'cm' * 12 'cm2' is in 'cm3'
        ("cm2", "cm", ("cm3", 1), ("cm", 1)),  # spec: 12 'cm2' / 3 'cm' is in 'cm'
        ("g", "cm3", ("g.cm3", 1), ("g/cm3", 1)),
        ("g/cm3", "g/cm3", ("g2/cm6", 1), ("1", 1)),
        ("m", "cm", ("m2", Fraction(1, 100)), ("1", 100)),
        ("mg/dL", "L", ("mg", 10), ("mg/dL2", Fraction(1, 10))),
        ("{beats}", "min", ("{beats}.min", 1), ("{beats}/min", 1)),
        ("mL{total}", "mL{total}", ("mL2{total}", 1), ("1", 1)),
    ],
)
def test_unit_algebra(
    left: str,
    right: str,
    product: tuple[str, Fraction | int],
    quotient: tuple[str, Fraction | int],
) -> None:
    assert ucum.multiply_units(left, right) == product
    assert ucum.divide_units(left, right) == quotient
    assert ucum.is_valid_unit(product[0]) and ucum.is_valid_unit(quotient[0])


# --- decimals ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("1.0", "1.0"),
        ("0.3333333333333333333333333333", "0.33333333"),
        ("0.666666666666", "0.66666667"),
        ("5.999999999", "6.00000000"),
        ("1E+2", "100"),
        ("-0.000000001", "0E-8"),
        ("-0.0", "0.0"),
    ],
)
def test_normalize_decimal(value: str, expected: str) -> None:
    result = normalize_decimal(Decimal(value))
    assert str(result) == expected
    assert not result.is_signed()


def test_decimal_to_cql_has_no_exponent() -> None:
    assert decimal_to_cql(Decimal("1E+2")) == "100"
    assert decimal_to_cql(Decimal("1E-8")) == "0.00000001"
    assert decimal_to_cql(Decimal("-0.0")) == "0.0"


@pytest.mark.parametrize(
    ("left", "right", "expected"),
    [  # CqlComparisonOperatorsTest, Equivalent group
        ("1.0", "1.0", True),
        ("1.0", "2.0", False),
        ("1.0", "1.00", True),
        ("1.5", "1.55", False),
        ("1.50", "1.55", False),
        ("1.001", "1.000", True),
        ("1.0", "1", True),
        ("1.0", "2", False),
    ],
)
def test_decimal_equivalent(left: str, right: str, expected: bool) -> None:
    assert decimal_equivalent(Decimal(left), Decimal(right)) is expected


# --- comparison --------------------------------------------------------------------------------

EQUAL = [  # (left, right, expected CQL =) from CqlComparisonOperatorsTest
    pytest.param(q(1, "cm"), q(1, "cm"), True, id="QuantityEqCM1CM1"),
    pytest.param(q(1, "cm"), q("0.01", "m"), True, id="QuantityEqCM1M01"),
    pytest.param(q("2.0", "cm"), q("2.00", "cm"), True, id="QuantityEqDiffPrecision"),
    pytest.param(q("3.5", "cm2"), q("3.5", "cm"), None, id="spec:QuantityEqualIsNull"),
    pytest.param(q(1, "millisecond"), q(1, "ms"), True, id="TestQuantityMillisecondEqualMs"),
    pytest.param(
        q(1, "millisecond"), q(1, "milliseconds"), True, id="MillisecondEqualMilliseconds"
    ),
    pytest.param(q(1, "milliseconds"), q(1, "ms"), True, id="TestQuantityMillisecondsEqualMs"),
    pytest.param(q(1, "second"), q(1, "s"), True, id="TestQuantitySecondEqualS"),
    pytest.param(q(1, "seconds"), q(1, "s"), True, id="TestQuantitySecondsEqualS"),
    pytest.param(q(1, "minute"), q(1, "min"), True, id="TestQuantityMinuteEqualMin"),
    pytest.param(q(1, "minute"), q(1, "minutes"), True, id="TestQuantityMinuteEqualMinutes"),
    pytest.param(q(1, "hour"), q(1, "h"), True, id="TestQuantityHourEqualH"),
    pytest.param(q(1, "hours"), q(1, "h"), True, id="TestQuantityHoursEqualH"),
    pytest.param(q(1, "day"), q(1, "d"), True, id="TestQuantityDayEqualD"),
    pytest.param(q(1, "day"), q(1, "days"), True, id="TestQuantityDayEqualDays"),
    pytest.param(q(1, "week"), q(1, "wk"), True, id="TestQuantityWeekEqualWk"),
    pytest.param(q(1, "weeks"), q(1, "wk"), True, id="TestQuantityWeeksEqualWk"),
    pytest.param(q(1, "month"), q(1, "mo"), None, id="TestQuantityMonthEqualMo"),
    pytest.param(q(1, "month"), q(1, "months"), True, id="TestQuantityMonthEqualMonths"),
    pytest.param(q(1, "months"), q(1, "mo"), None, id="TestQuantityMonthsNotEqualMo"),
    pytest.param(q(1, "year"), q(1, "a"), None, id="TestQuantityYearEqualA"),
    pytest.param(q(1, "years"), q(1, "year"), True, id="TestQuantityYearsEqualYear"),
    pytest.param(q(1, "years"), q(1, "a"), None, id="TestQuantityYearsNotEqualA"),
    pytest.param(q(1, "week"), q(7, "days"), True, id="TestWeekEqualDays"),
    pytest.param(q(1, "day"), q(24, "hours"), True, id="TestDayEqualHours"),
    pytest.param(q(1, "hour"), q(60, "minutes"), True, id="TestHourEqualMinutes"),
    pytest.param(q(1, "minute"), q(60, "seconds"), True, id="TestMinuteEqualSeconds"),
    pytest.param(q(1, "second"), q(1000, "milliseconds"), True, id="TestSecondEqualMilliseconds"),
    pytest.param(q(1, "year"), q(12, "months"), True, id="spec:1 year = 12 months"),
    pytest.param(q(1, "year"), q(365, "days"), None, id="spec:calendar vs definite is null"),
    pytest.param(q(1, "month"), q(30, "d"), None, id="spec:month vs days is null"),
    pytest.param(q(1, "a"), q(12, "mo"), True, id="ucum:a = 12 mo"),
    pytest.param(q(1, "cm"), q(1, "foo"), None, id="spec:invalid unit is null"),
    pytest.param(q(37, "Cel"), q("98.6", "[degF]"), True, id="ucum:Cel vs degF"),
    pytest.param(q(1, "[IU]"), q(1000, "m[iU]"), True, id="ucum:IU = iU"),
    pytest.param(q(1, "1"), q(1, "{eskimo_kisses}"), True, id="ucum:annotation is unity"),
]


@pytest.mark.parametrize(("left", "right", "expected"), EQUAL)
def test_equal(left: Quantity, right: Quantity, expected: bool | None) -> None:
    assert left.equal(right) is expected
    assert right.equal(left) is expected


EQUIVALENT = [  # (left, right, expected CQL ~)
    pytest.param(q(1, "cm"), q(1, "cm"), True, id="EquivEqCM1CM1"),
    pytest.param(q(1, "cm"), q("0.01", "m"), True, id="EquivEqCM1M01"),
    pytest.param(q(100, "cm"), q(1, "m"), True, id="spec:100 'cm' ~ 1 'm'"),
    pytest.param(q("3.5", "cm2"), q("3.5", "cm"), False, id="spec:QuantityEquivalentIsFalse"),
    pytest.param(q(1, "month"), q(1, "mo"), True, id="TestQuantityMonthEquivalentMo"),
    pytest.param(q(1, "months"), q(1, "mo"), True, id="TestQuantityMonthsEquivalentMo"),
    pytest.param(q(1, "year"), q(1, "a"), True, id="TestQuantityYearEquivalentA"),
    pytest.param(q(1, "years"), q(1, "a"), True, id="TestQuantityYearsEquivalentA"),
    pytest.param(q(1, "year"), q(12, "months"), True, id="TestYearEquivalentMonths"),
    pytest.param(q(1, "year"), q(365, "days"), True, id="TestYearEquivalentDays"),
    pytest.param(q(1, "month"), q(30, "days"), True, id="TestMonthEquivalentDays"),
    pytest.param(q(1, "week"), q(1, "wk"), True, id="spec:1 week ~ 1 'wk'"),
    pytest.param(q(1, "year"), q(52, "weeks"), False, id="year is 365 days, not 364"),
    pytest.param(q("1.5", "g"), q("1.55", "g"), False, id="decimal equivalence"),
    pytest.param(q("1.001", "g"), q("1.000", "g"), True, id="trailing zeros are no precision"),
    pytest.param(q("0.78740157", "[in_i]"), q(2, "cm"), True, id="rounded conversion"),
    pytest.param(q(1, "cm"), q(1, "foo"), False, id="invalid unit"),
]


@pytest.mark.parametrize(("left", "right", "expected"), EQUIVALENT)
def test_equivalent(left: Quantity, right: Quantity, expected: bool) -> None:
    assert left.equivalent(right) is expected
    assert right.equivalent(left) is expected


ORDER = [  # (left, right, expected compare) from the Greater/Less groups
    pytest.param(q(0, "cm"), q(0, "cm"), 0, id="GreaterCM0CM0"),
    pytest.param(q(0, "cm"), q(1, "cm"), -1, id="GreaterCM0CM1"),
    pytest.param(q(0, "cm"), q(-1, "cm"), 1, id="GreaterCM0NegCM1"),
    pytest.param(q(1, "m"), q(1, "cm"), 1, id="GreaterM1CM1"),
    pytest.param(q(1, "m"), q(10, "cm"), 1, id="GreaterM1CM10"),
    pytest.param(q("3.6", "cm2"), q("3.5", "cm"), None, id="spec:QuantityGreaterIsNull"),
    pytest.param(q(1, "year"), q(400, "days"), None, id="spec:year vs days not comparable"),
    pytest.param(q(13, "months"), q(1, "year"), 1, id="calendar months"),
    pytest.param(q("2.5", "mg"), q("2.50000000", "mg"), 0, id="TestOnOrAfterQuantityTrue"),
]


@pytest.mark.parametrize(("left", "right", "expected"), ORDER)
def test_compare(left: Quantity, right: Quantity, expected: int | None) -> None:
    assert left.compare(right) == expected
    assert right.compare(left) == (None if expected is None else -expected)


# --- arithmetic --------------------------------------------------------------------------------


def test_abs_and_negate() -> None:
    assert same(q("-1.0", "cm").abs(), q("1.0", "cm"))  # Abs1cm
    assert same(q(1, "cm").negate(), q("-1.0", "cm"))  # Negate1CM
    assert same(q("-3.3", "mg").negate().negate(), q("-3.3", "mg"))  # spec: QuantityNegate
    assert str(q(0, "g").negate().value) == "0"


@pytest.mark.parametrize(
    ("left", "right", "expected"),
    [
        pytest.param(q(1, "g/cm3"), q(1, "g/cm3"), q("2.0", "g/cm3"), id="Add1Q1Q"),
        pytest.param(q("-5.5", "mg"), q(2, "mg"), q("-3.5", "mg"), id="spec:QuantityAdd"),
        pytest.param(q(3, "m"), q(3, "cm"), q(303, "cm"), id="spec:most granular unit"),
        pytest.param(q(3, "cm"), q(3, "m"), q(303, "cm"), id="most granular either side"),
        pytest.param(q(1, "year"), q(2, "months"), q(14, "months"), id="calendar months"),
        pytest.param(q(1, "day"), q(1, "h"), q(25, "h"), id="day keyword with UCUM hours"),
        pytest.param(q(1, "week"), q(1, "day"), q(8, "day"), id="keywords"),
    ],
)
def test_add(left: Quantity, right: Quantity, expected: Quantity) -> None:
    assert same(left.add(right), expected)


@pytest.mark.parametrize(
    ("left", "right"),
    [
        pytest.param(q("-5.5", "cm"), q(2, "cm2"), id="spec:QuantityAddIsNull"),
        pytest.param(q(1, "year"), q(1, "day"), id="calendar and definite"),
        pytest.param(q(1, "g"), q(1, "foo"), id="invalid unit"),
    ],
)
def test_add_incommensurable_is_null(left: Quantity, right: Quantity) -> None:
    assert left.add(right) is None
    assert left.subtract(right) is None


def test_subtract() -> None:
    assert same(q("1.0", "cm").subtract(q("2.0", "cm")), q("-1.0", "cm"))  # Subtract1CMAnd2CM
    assert same(q("3.14", "mg").subtract(q("3.12", "mg")), q("0.02", "mg"))  # spec
    assert same(q("10.0", "g").subtract(q("5.0", "g")), q("5.0", "g"))  # width of interval


def test_sum_keeps_unit() -> None:  # CqlAggregateFunctionsTest SumTestQuantity
    total = q(1, "ml")
    for value in (2, 3, 4, 5):
        step = total.add(q(value, "ml"))
        assert step is not None
        total = step
    assert same(total, q(15, "ml"))


@pytest.mark.parametrize(
    ("left", "right", "expected"),
    [
        pytest.param(q("1.0", "cm"), q("2.0", "cm"), q("2.0", "cm2"), id="Multiply1CMBy2CM"),
        pytest.param(q(12, "cm"), q(3, "cm"), q(36, "cm2"), id="spec:cm*cm"),
        pytest.param(q(3, "cm"), q(12, "cm2"), q(36, "cm3"), id="spec:cm*cm2"),
        pytest.param(q(2, "g"), Decimal(3), q(6, "g"), id="by a decimal"),
        pytest.param(q(2, "g"), 3, q(6, "g"), id="by an integer"),
        pytest.param(q(2, "days"), q(3), q(6, "days"), id="unitless keeps keyword"),
        pytest.param(q(1, "m"), q(50, "cm"), q("0.5", "m2"), id="commensurable factors merge"),
        pytest.param(q(5, "mg/dL"), q(2, "L"), q(100, "mg"), id="partial cancel"),
    ],
)
def test_multiply(left: Quantity, right: Quantity | Decimal | int, expected: Quantity) -> None:
    assert same(left.multiply(right), expected)


@pytest.mark.parametrize(
    ("left", "right", "expected"),
    [
        pytest.param(q(1, "g/cm3"), Decimal("1.0"), q("1.0", "g/cm3"), id="Divide1Q1"),
        pytest.param(q(1, "g/cm3"), q(1, "g/cm3"), q("1.0"), id="Divide1Q1Q"),
        pytest.param(q("10.0", "g"), 5, q("2.0", "g"), id="Divide10Q5I"),
        pytest.param(q("-5.5", "mg"), q("2.0", "mg"), q("-2.75"), id="spec:QuantityDivide"),
        pytest.param(q(12, "cm2"), q(3, "cm"), q(4, "cm"), id="spec:cm2/cm"),
        pytest.param(q(10, "g"), q(2, "cm3"), q(5, "g/cm3"), id="g/cm3"),
        pytest.param(q(1, "m"), q(1, "cm"), q(100), id="commensurable units cancel"),
        pytest.param(q(1, "year"), q(1, "month"), q(12), id="calendar units cancel"),
        pytest.param(q(1, "g"), q(3, "g"), q("0.33333333"), id="rounded to 8 places"),
        pytest.param(q(6), q(2, "min"), q(3, "/min"), id="per minute"),
    ],
)
def test_divide(left: Quantity, right: Quantity | Decimal | int, expected: Quantity) -> None:
    assert same(left.divide(right), expected)


def test_divide_by_zero_is_null() -> None:
    assert q(1, "g").divide(q(0, "g")) is None
    assert q(1, "g").divide(Decimal("0.0")) is None
    assert q(1, "g").divide(0) is None


@pytest.mark.parametrize(
    ("left", "right", "expected"),
    [
        pytest.param(
            q("10.1", "cm"),
            q("-3.1", "cm"),
            q("-3.0", "cm"),
            id="TruncatedDivide10d1ByNeg3D1Quantity",
        ),
        pytest.param(
            q("10.0", "g"), q("5.0", "g"), q("2.0", "g"), id="TruncatedDivide10By5DQuantity"
        ),
        pytest.param(
            q("4.14", "m"), q("2.06", "m"), q("2.0", "m"), id="TruncatedDivide414By206DQuantity"
        ),
        pytest.param(q("10.0", "g"), q("0.0", "g"), None, id="TruncatedDivide10By0DQuantity"),
        pytest.param(q(7, "cm2"), q(2, "cm"), q(3, "cm"), id="incommensurable: quotient unit"),
    ],
)
def test_truncated_divide(left: Quantity, right: Quantity, expected: Quantity | None) -> None:
    result = left.truncated_divide(right)
    assert result is None if expected is None else same(result, expected)


@pytest.mark.parametrize(
    ("left", "right", "expected"),
    [
        pytest.param(q("3.5", "cm"), q(3, "cm"), q("0.5", "cm"), id="ModuloQuantity"),
        pytest.param(q("10.0", "g"), q("3.0", "g"), q("1.0", "g"), id="Modulo10By3Quantity"),
        pytest.param(q("10.0", "g"), q("0.0", "g"), None, id="Modulo10By0Quantity"),
        pytest.param(q("-7", "g"), q(3, "g"), q(-1, "g"), id="sign of the dividend"),
        pytest.param(q("2.5", "g"), 2, q("0.5", "g"), id="unitless divisor"),
        pytest.param(q(1, "g"), q(1, "cm"), None, id="incommensurable"),
    ],
)
def test_modulo(left: Quantity, right: Quantity | int, expected: Quantity | None) -> None:
    result = left.modulo(right)
    assert result is None if expected is None else same(result, expected)


def test_predecessor_and_successor() -> None:
    assert same(q("1.0", "cm").predecessor(), q("0.99999999", "cm"))  # PredecessorOf1QCM
    assert same(q("5.0", "g").predecessor(), q("4.99999999", "g"))  # QuantityIntervalExcept1to4
    assert same(q("1.0", "g").successor(), q("1.00000001", "g"))
    with pytest.raises(CqlRuntimeError):
        q("99999999999999999999.99999999", "g").successor()
    with pytest.raises(CqlRuntimeError):
        q("-99999999999999999999.99999999", "g").predecessor()


def test_round() -> None:
    assert same(q("2.54", "cm").round(), q(3, "cm"))  # half away from zero, unit kept
    assert same(q("-0.5", "g").round(), q(-1, "g"))  # RoundNeg0D5 semantics
    assert same(q("3.14159", "cm").round(3), q("3.142", "cm"))  # spec: Round(3.14159, 3)


def test_overflow_is_null() -> None:
    big = q("99999999999999999999", "g")
    assert big.add(big) is None
    assert big.multiply(big) is None


# --- conversion --------------------------------------------------------------------------------


def test_convert() -> None:
    assert same(q(5, "mg").convert("g"), q("0.005", "g"))  # spec: ConvertQuantity
    assert same(q(1, "year").convert("months"), q(12, "months"))
    assert same(q(2, "days").convert("h"), q(48, "h"))
    assert same(q("98.6", "[degF]").convert("Cel"), q(37, "Cel"))
    assert q(1, "cm").convert("cm").unit == "cm"


@pytest.mark.parametrize(
    ("quantity", "unit"),
    [
        (q(1, "L"), "g"),
        (q(1, "year"), "d"),
        (q(1, "year"), "a"),
        (q(1, "L"), "foo"),
        (q(1, "foo"), "foo"),
    ],
)
def test_convert_impossible(quantity: Quantity, unit: str) -> None:
    assert not quantity.can_convert(unit)
    with pytest.raises(CqlRuntimeError):
        quantity.convert(unit)


def test_can_convert() -> None:
    assert q(1, "L").can_convert("mL")
    assert q(1, "mg/dL").can_convert("g/L")
    assert q(1, "week").can_convert("days")


# --- text --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("quantity", "text"),
    [
        pytest.param(q(125, "cm"), "125 'cm'", id="QuantityToString"),
        pytest.param(q("5.5", "cm"), "5.5 'cm'", id="Quantity5D5CMToString"),
        pytest.param(q("-0.1", "mg"), "-0.1 'mg'", id="spec:QuantityOverload"),
        pytest.param(q(4, "days"), "4 days", id="spec:ToString(4 days)"),
        pytest.param(q(1, "year"), "1 year", id="keyword"),
        pytest.param(q("2.5", "cm2"), "2.5 'cm2'", id="ucum"),
        pytest.param(q(1), "1 '1'", id="unitless"),
        pytest.param(q(1, "[arb'U]"), "1 '[arb\\'U]'", id="quote escaped"),
        pytest.param(q("150.2", "[lb_av]"), "150.2 '[lb_av]'", id="QuantityTest"),
        pytest.param(
            q("2.5589", "{eskimo_kisses}"), "2.5589 '{eskimo_kisses}'", id="QuantityTest2"
        ),
    ],
)
def test_to_string(quantity: Quantity, text: str) -> None:
    assert quantity.to_string() == text
    assert quantity.to_cql() == text
    assert Quantity.parse(text) == quantity  # round trip


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("5.5 'cm'", q("5.5", "cm"), id="String5D5CMToQuantity"),
        pytest.param("-0.1 'mg'", q("-0.1", "mg"), id="spec:StringOverload"),
        pytest.param("5.5'cm'", q("5.5", "cm"), id="no space"),
        pytest.param("+3 days", q(3, "days"), id="bare keyword"),
        pytest.param("3 'days'", q(3, "days"), id="quoted keyword"),
        pytest.param("42", q(42), id="no unit"),
        pytest.param("444 'cm", None, id="spec:IsNull"),
        pytest.param("5 'foo'", None, id="unknown unit"),
        pytest.param("5 parsecs", None, id="unknown keyword"),
        pytest.param(".5 'g'", None, id="no leading digit"),
        pytest.param("5. 'g'", None, id="no fraction digit"),
    ],
)
def test_parse(text: str, expected: Quantity | None) -> None:
    assert Quantity.parse(text) == expected


def test_quantity_value_object() -> None:
    a = Quantity(1, "cm")
    assert a.value == Decimal(1) and isinstance(a.value, Decimal)
    assert Quantity(Decimal("2.0")).unit == "1"
    assert Quantity(2, None).unit == "1"
    assert hash(Quantity(Decimal("1.0"), "cm")) == hash(Quantity(Decimal("1"), "cm"))
    assert len({Quantity(1, "cm"), Quantity(Decimal("1.0"), "cm")}) == 1
    with pytest.raises(AttributeError):
        a.value = Decimal(2)  # type: ignore[misc]
    assert q(3, "days").calendar_unit == "day"
    assert q(3, "d").calendar_unit is None


@pytest.mark.parametrize(
    ("unit", "precision"),
    [
        ("years", "year"),
        ("month", "month"),
        ("wk", "week"),
        ("d", "day"),
        ("days", "day"),
        ("h", "hour"),
        ("min", "minute"),
        ("s", "second"),
        ("ms", "millisecond"),
        ("cm", None),
    ],
)
def test_duration_precision(unit: str, precision: str | None) -> None:
    assert duration_precision(unit) == precision


def test_is_valid_unit_accepts_keywords() -> None:
    assert is_valid_unit("days") and is_valid_unit("year") and is_valid_unit("mg/dL")
    assert not is_valid_unit("dayz")


# --- Ratio -------------------------------------------------------------------------------------


def r(numerator: Quantity, denominator: Quantity) -> Ratio:
    return Ratio(numerator, denominator)


@pytest.mark.parametrize(
    ("left", "right", "expected"),
    [
        pytest.param(r(q(1, "cm"), q(2, "cm")), r(q(1, "cm"), q(2, "cm")), True, id="RatioEqual"),
        pytest.param(
            r(q(1, "cm"), q(2, "cm")),
            r(q("1.1", "cm"), q(2, "cm")),
            False,
            id="RatioNotEqualDiffNumerator",
        ),
        pytest.param(
            r(q(1, "cm"), q(2, "cm")),
            r(q(1, "cm"), q("2.1", "cm")),
            False,
            id="RatioNotEqualDiffDenominator",
        ),
        pytest.param(r(q(1), q(8)), r(q(1), q(8)), True, id="spec:RatioEqualIsTrue"),
        pytest.param(r(q(1), q(8)), r(q(2), q(16)), False, id="spec:RatioEqualIsFalse"),
        pytest.param(
            r(q(1, "cm"), q(2, "cm")),
            r(q(1, "cm2"), q(2, "cm")),
            None,
            id="incomparable numerators",
        ),
        pytest.param(
            r(q(1, "cm"), q(2, "cm")), r(q(1, "cm2"), q(3, "cm")), False, id="false wins over null"
        ),
    ],
)
def test_ratio_equal(left: Ratio, right: Ratio, expected: bool | None) -> None:
    assert left.equal(right) is expected


@pytest.mark.parametrize(
    ("left", "right", "expected"),
    [
        pytest.param(
            r(q(1, "cm"), q(2, "cm")), r(q(1, "cm"), q(2, "cm")), True, id="RatioEquivalent"
        ),
        pytest.param(
            r(q(1, "cm"), q(2, "cm")),
            r(q(3, "cm"), q(2, "cm")),
            False,
            id="RatioNotEquivalentDiffNumerator",
        ),
        pytest.param(
            r(q(1, "cm"), q(2, "cm")),
            r(q(1, "cm"), q(3, "cm")),
            False,
            id="RatioNotEquivalentDiffDenominator",
        ),
        pytest.param(r(q(1), q(100)), r(q(10), q(1000)), True, id="spec:1:100 ~ 10:1000"),
        pytest.param(r(q(1), q(8)), r(q(2), q(16)), True, id="spec:RatioEquivalentIsTrue"),
        pytest.param(
            r(q(5, "mg"), q(10, "mL")), r(q("0.5", "g"), q(1, "L")), True, id="unit conversion"
        ),
    ],
)
def test_ratio_equivalent(left: Ratio, right: Ratio, expected: bool) -> None:
    assert left.equivalent(right) is expected


def test_ratio_text() -> None:
    ratio = r(q(1, "mg"), q(2, "mL"))
    assert ratio.to_cql() == "1 'mg':2 'mL'"
    assert r(q("-0.1", "mg"), q("0.1", "mg")).to_string() == "-0.1 'mg':0.1 'mg'"  # spec
    assert Ratio.parse("1 'mg':2 'mL'") == ratio
    assert Ratio.parse("1.0 'mg':2.0 'mg'") == r(q("1.0", "mg"), q("2.0", "mg"))  # spec IsValid
    assert Ratio.parse("1.0 'mg';2.0 'mg'") is None  # spec: IsNull
    assert Ratio.parse("1:128") == r(q(1), q(128))


def test_ratio_to_quantity() -> None:
    assert same(r(q(5, "mg"), q(10, "mL")).to_quantity(), q("0.5", "mg/mL"))
    assert r(q(5, "mg"), q(0, "mL")).to_quantity() is None

"""Implicit conversions into function parameters, choices, intervals and lists (issue 17 A).

CQL 1.5 Developer's Guide, "Implicit Conversions" (Table 3-J) and "Conversion Precedence": an
argument converts implicitly to its parameter's type (Integer -> Long, Integer/Long -> Decimal,
Integer/Decimal -> Quantity, Date -> DateTime, Code -> Concept); for a choice parameter the
least-converting component is taken; `Interval<S>` converts bound by bound and `List<S>`
element by element. The reference translator inserts the conversion at the call site, so the
function body sees the converted value (`c is DateTime` is true for a Date argument).
"""

from __future__ import annotations

import pytest

from pedqm.cql import CqlCompileError, compile_library, evaluate
from pedqm.cql.runtime.temporal import Date, DateTime

REPRO_A = """
library ReproA version '1'
codesystem "S": 'http://example.org/cs'
define function Kind(c Choice<DateTime, Interval<DateTime>>):
  case when c is DateTime then 'DateTime' when c is Interval<DateTime> then 'Interval<DateTime>' else 'neither' end
define fluent function earliestPoint(c Choice<DateTime, Interval<DateTime>>):
  case when c is DateTime then c as DateTime
       when c is Interval<DateTime> then start of (c as Interval<DateTime>) else null as DateTime end
define function IntervalIsDT(i Interval<DateTime>): i is Interval<DateTime>
define function ListIsDT(l List<DateTime>): (singleton from l) is DateTime
define function DecChoice(c Choice<Decimal, String>): c is Decimal
define function ConceptChoice(c Choice<Concept, String>): c is Concept
define "DateArg": Kind(@2024-01-02)
define "DateIntervalArg": Kind(Interval[@2024-01-02, @2024-01-31])
define "FluentOnDate": date from @2024-01-02.earliestPoint()
define "IntervalParam": IntervalIsDT(Interval[@2024-01-02, @2024-01-03])
define "ListParam": ListIsDT({ @2024-01-02 })
define "IntegerToDecimalChoice": DecChoice(1)
define "CodeToConceptChoice": ConceptChoice(Code '1' from "S")
"""


@pytest.mark.parametrize("name,expected", [
    ("DateArg", "DateTime"),
    ("DateIntervalArg", "Interval<DateTime>"),
    ("FluentOnDate", Date(2024, 1, 2)),
    ("IntervalParam", True),
    ("ListParam", True),
    ("IntegerToDecimalChoice", True),
    ("CodeToConceptChoice", True),
])
def test_issue_reproduction_a(name: str, expected: object) -> None:
    lib = compile_library(REPRO_A)
    assert lib.evaluate(name) == expected


# Table 3-J, one row each: (parameter type, argument, `is` test in the body, expected value)
TABLE_3J = [
    ("Long", "1", "Long", True),
    ("Decimal", "1", "Decimal", True),
    ("Decimal", "1L", "Decimal", True),
    ("Quantity", "1", "Quantity", True),
    ("Quantity", "1.5", "Quantity", True),
    ("DateTime", "@2024-01-02", "DateTime", True),
    ("Concept", "Code '1' from \"S\"", "Concept", True),
]


def _library(param: str, arg: str, test: str) -> str:
    return f"""
library T version '1'
codesystem "S": 'http://example.org/cs'
define function PlainF(x {param}): x is {test}
define function InChoiceF(x Choice<{param}, Boolean>): x is {test}
define function InListF(x List<{param}>): First(x) is {test}
define "Plain": PlainF({arg})
define "InChoice": InChoiceF({arg})
define "InList": InListF({{ {arg} }})
"""


@pytest.mark.parametrize("param,arg,test,expected", TABLE_3J, ids=[f"{a}->{p}" for p, a, _, _ in TABLE_3J])
@pytest.mark.parametrize("where", ["Plain", "InChoice", "InList"])
def test_table_3j_through_function_arguments(param: str, arg: str, test: str, expected: bool, where: str) -> None:
    lib = compile_library(_library(param, arg, test))
    assert lib.evaluate(where) is expected


@pytest.mark.parametrize("param,low,high", [("DateTime", "@2024-01-02", "@2024-01-05"), ("Decimal", "1", "4"),
                                            ("Quantity", "1.0", "4.0")])
def test_intervals_convert_bound_by_bound_keeping_closedness(param: str, low: str, high: str) -> None:
    lib = compile_library(f"""
library T version '1'
define function F(x Interval<{param}>): x
define "Closed": F(Interval[{low}, {high}])
define "HalfOpen": F(Interval[{low}, {high}))
define "IsConverted": F(Interval[{low}, {high}]) is Interval<{param}>
""")
    closed, half = lib.evaluate("Closed"), lib.evaluate("HalfOpen")
    assert closed.low_closed and closed.high_closed
    assert half.low_closed and not half.high_closed
    assert lib.evaluate("IsConverted") is True


def test_date_argument_becomes_a_datetime_at_day_precision() -> None:
    lib = compile_library("""
library T version '1'
define function F(x DateTime): x
define "D": F(@2024-01-02)
""")
    value = lib.evaluate("D")
    assert isinstance(value, DateTime) and (value.year, value.month, value.day) == (2024, 1, 2)
    assert value.hour is None


def test_least_converting_choice_component_wins() -> None:
    """Integer to Choice<Quantity, Decimal>: Decimal (a simple-type conversion) is preferred over
    Quantity (a class-type conversion), as the conversion precedence orders them."""
    lib = compile_library("""
library T version '1'
define function F(x Choice<Quantity, Decimal>): if x is Decimal then 'Decimal' else 'Quantity'
define "R": F(2)
""")
    assert lib.evaluate("R") == "Decimal"


def test_overloads_prefer_the_cheaper_conversion() -> None:
    lib = compile_library("""
library T version '1'
define function F(x Decimal): 'Decimal'
define function F(x Quantity): 'Quantity'
define function G(x DateTime): 'DateTime'
define function G(x String): 'String'
define "I": F(1)
define "D": G(@2024-01-01)
""")
    assert lib.evaluate("I") == "Decimal"
    assert lib.evaluate("D") == "DateTime"


def test_an_argument_that_converts_to_no_component_is_a_compile_error() -> None:
    with pytest.raises(CqlCompileError, match="no overload of Kind"):
        compile_library("""
library T version '1'
define function Kind(c Choice<DateTime, Interval<DateTime>>): c is DateTime
define "X": Kind('not a date')
""")


def test_comparison_operands_convert_to_a_common_type() -> None:
    """`Quantity < Decimal` compares ToQuantity(decimal) (unit '1'); a Choice operand is cast to
    the other side's type (null when the value is of another component)."""
    assert evaluate("1.0 'g' < 2.0") is None  # g and 1 are not comparable: null, not an error
    assert evaluate("0.5 '1' < 1.0") is True
    assert evaluate("1 < 1.5") is True
    assert evaluate("@2024-01-02 = DateTime(2024, 1, 2)") is True


def test_union_of_unions_matches_a_choice_list_parameter() -> None:
    """Nested choices flatten: the union of [A] union [B] union [A] is List<Choice<A, B>>."""
    lib = compile_library("""
library T version '1'
define function Count2(xs List<Choice<Integer, String>>): Count(xs)
define "N": Count2(({1} union {'a'}) union ({2} union {'b'}))
""")
    assert lib.evaluate("N") == 4

"""End-to-end engine tests: CQL text to value through the public API (pedqm.cql)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest

from pedqm.cql import CqlCompileError, CqlRuntimeError, compile_library, evaluate, to_cql
from pedqm.cql.runtime.temporal import Date, DateTime
from pedqm.cql.runtime.values import CqlTuple, Interval, Long


def test_values_map_to_python_types() -> None:
    assert evaluate("1 + 1") == 2
    assert evaluate("1L + 1") == Long(2) and isinstance(evaluate("1L + 1"), Long)
    assert evaluate("1 / 4") == Decimal("0.25")
    assert evaluate("'a' + 'b'") == "ab"
    assert evaluate("null") is None
    assert evaluate("Interval[1, 5)") == Interval(1, 5, True, False)
    assert evaluate("Tuple { a: 1 }") == CqlTuple({"a": 1})


def test_three_valued_logic() -> None:
    assert evaluate("true and null") is None
    assert evaluate("false and null") is False
    assert evaluate("true or null") is True
    assert evaluate("null implies true") is True
    assert evaluate("null xor true") is None


def test_parameters_from_python() -> None:
    assert evaluate("Age + 1", {"Age": 4}) == 5
    assert evaluate("Birth + 1 year", {"Birth": dt.date(2024, 2, 29)}) == Date(2025, 2, 28)
    assert evaluate("Count(Xs)", {"Xs": [1, 2, None]}) == 2


def test_now_and_timezone_are_injected() -> None:
    now = dt.datetime(2025, 3, 1, 23, 30, tzinfo=dt.timezone(dt.timedelta(hours=-5)))
    assert evaluate("Today()", now=now) == Date(2025, 3, 1)
    assert to_cql(evaluate("Now()", now=now)) == "@2025-03-01T23:30:00.000-05:00"
    # a DateTime written without an offset takes the request's offset (CQL 1.5 'DateTime')
    assert evaluate("timezoneoffset from @2025-03-01T10:00", timezone_offset=Decimal("5.5")) == Decimal("5.5")
    assert evaluate("DateTime(2025, 3, 1) = @2025-03-01T", timezone_offset=-7) is True


def test_datetimes_with_offsets_compare_as_instants() -> None:
    assert evaluate("@2025-03-01T10:00:00+02:00 = @2025-03-01T08:00:00Z") is True
    assert evaluate("@2025-03-01T10:00:00+02:00 same hour as @2025-03-01T09:00:00+01:00") is True


def test_runtime_error_is_a_cql_error() -> None:
    with pytest.raises(CqlRuntimeError):
        evaluate("singleton from {1, 2}")
    with pytest.raises(CqlRuntimeError, match="boom"):
        evaluate("Message(1, true, 'E1', 'Error', 'boom')")
    assert evaluate("Message(1, true, 'W1', 'Warning', 'careful')") == 1


def test_queries() -> None:
    # a query source is a retrieve, a name or a parenthesized expression (CQL grammar querySource)
    with pytest.raises(CqlCompileError, match="query source"):
        evaluate("from {1, 2, 3} X return X")
    with pytest.raises(CqlCompileError, match="query source"):
        evaluate("exists (\"F\"(1) X)")
    assert evaluate("from ({1, 2, 3}) X, ({10, 20}) Y where X > 1 return X + Y sort asc") == [12, 13, 22, 23]
    assert evaluate("({3, 1, 2}) X return all X mod 2") == [1, 1, 0]
    assert evaluate("({3, 1, 2}) X return X mod 2") == [1, 0]
    assert evaluate("({1, 2, 3}) X with ({2, 3}) Y such that X = Y") == [2, 3]
    assert evaluate("({1, 2, 3}) X without ({2, 3}) Y such that X = Y") == [1]
    assert evaluate("({1, 2, 3}) X let D: X * 2 where D > 2 return D") == [4, 6]
    assert evaluate("({1, 2, 3}) X aggregate S starting 0: S + X") == 6
    people = "{ Tuple { name: 'b', age: 3 }, Tuple { name: 'a', age: 5 } }"
    assert evaluate(f"({people}) P sort by age desc").__getitem__(0)["name"] == "a"
    assert evaluate(f"({people}) P return P.name sort asc") == ["a", "b"]
    # a query over a single value (not a list) returns a single value
    assert evaluate("(4) X where X > 3 return X * 2") == 8


LIB = """
library Kids version '1.0'
parameter "Measurement Period" Interval<Date> default Interval[@2025-01-01, @2025-12-31]
codesystem "LOINC": 'http://loinc.org'
code "BMI percentile": '59576-9' from "LOINC" display 'Body mass index (BMI) [Percentile]'
define "Visits": { @2025-02-03, @2024-12-30, @2025-11-20 }
define "Visits In Period": "Visits" V where V during "Measurement Period"
define "Count In Period": Count("Visits In Period")
define fluent function twice(x Integer): x * 2
define function Half(x Decimal): x / 2
define function Half(x String): 'half of ' + x
define "Fluent": 21.twice()
define "Overload Decimal": Half(3)
define "Overload String": Half('cake')
define "Code": "BMI percentile"
"""


def test_library_definitions_functions_and_overloads() -> None:
    lib = compile_library(LIB)
    assert (lib.name, lib.version) == ("Kids", "1.0")
    ctx = lib.context()
    assert lib.evaluate("Count In Period", ctx) == 2
    assert lib.evaluate("Fluent", ctx) == 42
    assert lib.evaluate("Overload Decimal", ctx) == Decimal("1.5")  # Integer promoted to Decimal
    assert lib.evaluate("Overload String", ctx) == "half of cake"
    code = lib.evaluate("Code", ctx)
    assert (code.code, code.system, code.display) == ("59576-9", "http://loinc.org", "Body mass index (BMI) [Percentile]")


def test_parameter_overrides_default() -> None:
    lib = compile_library(LIB)
    period = evaluate("Interval[@2024-01-01, @2024-12-31]")
    assert lib.evaluate("Count In Period", lib.context({"Measurement Period": period})) == 1


def test_includes_are_found_beside_the_file(tmp_path: Path) -> None:
    (tmp_path / "Common-2.0.cql").write_text("library Common version '2.0'\ndefine Three: 3\ndefine function Sq(x Integer): x * x\n")
    main = tmp_path / "Main.cql"
    main.write_text("library Main\ninclude Common version '2.0' called C\ndefine Nine: C.Sq(C.Three)\n")
    assert compile_library(main).evaluate("Nine") == 9


def test_private_definitions_are_not_visible_from_other_libraries(tmp_path: Path) -> None:
    (tmp_path / "Lib.cql").write_text("library Lib\ndefine private Secret: 1\n")
    main = tmp_path / "Main.cql"
    main.write_text("library Main\ninclude Lib called L\ndefine X: L.Secret\n")
    with pytest.raises(CqlCompileError, match="private"):
        compile_library(main)


def test_missing_include_is_a_compile_error_with_location(tmp_path: Path) -> None:
    main = tmp_path / "Main.cql"
    main.write_text("library Main\ninclude Nowhere called N\ndefine X: 1\n")
    with pytest.raises(CqlCompileError) as info:
        compile_library(main)
    err = info.value.errors[0]
    assert (err.line, "Nowhere" in err.message) == (2, True)


def test_evaluate_all_keeps_going_after_a_runtime_error() -> None:
    lib = compile_library("define A: singleton from {1, 2}\ndefine B: 2\n")
    results = lib.evaluate_all()
    assert isinstance(results["A"], CqlRuntimeError) and results["B"] == 2


def test_to_cql_round_trips() -> None:
    for text in ["1", "1L", "1.50", "'it\\'s'", "@2012-01-01", "@T10:00:00.000", "5 'mg'", "3 days",
                 "Interval[1, 5)", "{1, null, 3}", "Tuple { a: 1, b: 'x' }", "1 'mg':2 'mL'",
                 "DateTime(2012, 1, 1, 10, 30, 0, 0, -5)"]:
        v = evaluate(text)
        back = evaluate(to_cql(v))
        assert to_cql(back) == to_cql(v), text


def test_datetime_literal_renders_with_its_offset() -> None:
    assert evaluate("@2025-01-01T00:00:00.000Z") == DateTime(2025, 1, 1, 0, 0, 0, 0, Decimal(0))

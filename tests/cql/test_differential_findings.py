"""Defects found by the expression differential against the reference translator and
cql-execution (tests/differential), each kept here as a plain unit test."""

from __future__ import annotations

import pytest

from pedqm.cql import CqlCompileError, CqlRuntimeError, compile_library, evaluate


@pytest.mark.parametrize("expr,expected", [
    ("(-1) <= (months between @2019 and ToDate(@2023-03T))", True),  # was a Python TypeError
    ("(months between @2019 and @2023-03) <= 60", True),
    ("30 < (months between @2019 and @2023-03)", True),
    ("(months between @2019 and @2023-03) < 40", None),  # the range [38, 50] straddles 40
    ("(months between @2019 and @2023-03) > 100", False),
])
def test_uncertain_durations_compare_as_ranges(expr: str, expected: bool | None) -> None:
    """CQL Reference, Date/Time Arithmetic: a duration between values of different precision is
    an uncertainty (a range of integers); a comparison is known when the whole range agrees."""
    assert evaluate(expr) is expected


def test_values_of_different_types_compare_with_a_cql_error() -> None:
    with pytest.raises(CqlRuntimeError, match="cannot compare"):
        evaluate("Max({ 1, 'a' })")


def test_datetime_plus_quantity_is_a_datetime_for_overload_resolution() -> None:
    """`@2024-02T + 12 months` is a DateTime (a date/time literal keeps its type through the
    default-offset step), so it matches a DateTime parameter."""
    lib = compile_library("""
library T version '1'
define function "NextDay"(x DateTime): x + 1 day
define A: "NextDay"(@2024-02T + 12 months)
""")
    assert lib.evaluate("A").to_cql() == "@2025-02T+00:00"


@pytest.mark.parametrize("expr,message", [
    ("1 + 'two'", "Add is not defined for (Integer, String)"),
    ("1 and 2", "and needs a Boolean, not Integer"),
    ("@2025-01-01 and true", "and needs a Boolean, not Date"),
    ("if 1 then 2 else 3", "if needs a Boolean, not Integer"),
])
def test_operand_types_are_checked_at_compile_time(expr: str, message: str) -> None:
    """Issue 10 §4: these evaluated (to true, to 3, or a run-time error per patient) before."""
    with pytest.raises(CqlCompileError, match=message.replace("(", r"\(").replace(")", r"\)")):
        evaluate(expr)


@pytest.mark.parametrize("expr", ["true and null", "'a' + 'b'", "@2024-01-01 + 1 day", "5 'mg' * 2", "@2024-01-05 - 1"])
def test_valid_operands_still_compile(expr: str) -> None:
    """`date - 1` compiles (the Integer converts to a Quantity, as the translator resolves it
    in CumulativeMedicationDuration)."""
    compile_library(f"library T version '1'\ndefine X: {expr}\n")


def test_a_cycle_of_definitions_is_a_compile_error() -> None:
    """`define X: Y` / `define Y: X` compiled and then failed with a Python RecursionError at
    evaluation; definitions have no parameters, so a cycle can never end."""
    with pytest.raises(CqlCompileError, match="refers to itself"):
        compile_library("library L version '1'\ndefine X: Y\ndefine Y: X\n")

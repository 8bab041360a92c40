"""The Measurement Period is built as a value (issue 11): the same Interval the CQL literal
would give, without running the engine over generated CQL text."""

from __future__ import annotations

import pytest

from pedqm.cql import evaluate
from pedqm.measure.calculator import measurement_period


@pytest.mark.parametrize(
    ("start", "end", "offset", "literal"),
    [
        ("2025-01-01", "2025-12-31", 0,
         "Interval[@2025-01-01T00:00:00.000+00:00, @2025-12-31T23:59:59.999+00:00]"),
        ("2025-01-01", "2025-12-31", -5,
         "Interval[@2025-01-01T00:00:00.000-05:00, @2025-12-31T23:59:59.999-05:00]"),
        ("2024-02-29", "2024-03-01", 5.5,
         "Interval[@2024-02-29T00:00:00.000+05:30, @2024-03-01T23:59:59.999+05:30]"),
        ("2025-01-01T10:00:00", "2025-06-30T12:30:00.5+05:30", 2,
         "Interval[@2025-01-01T10:00:00.000+02:00, @2025-06-30T12:30:00.500+05:30]"),
        ("2025-01-01T10:00:00Z", "2025-12-31", 0,
         "Interval[@2025-01-01T10:00:00.000+00:00, @2025-12-31T23:59:59.999+00:00]"),
    ],
)
def test_period_is_the_literal_interval(start: str, end: str, offset: float, literal: str) -> None:
    built = measurement_period(start, end, offset)
    expected = evaluate(literal)
    assert built == expected
    assert (built.low.precision, built.high.precision) == (expected.low.precision, expected.high.precision)
    assert (built.low.tz_offset, built.high.tz_offset) == (expected.low.tz_offset, expected.high.tz_offset)
    assert built.point_type == expected.point_type


@pytest.mark.parametrize(("start", "end"), [("2025-13-01", "2025-12-31"), ("2025-01-01", "soon"), ("", "2025-12-31")])
def test_bad_bounds_are_value_errors(start: str, end: str) -> None:
    with pytest.raises(ValueError):
        measurement_period(start, end)

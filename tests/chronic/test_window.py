"""The lookback window's boundaries, and what happens to undated codes."""

from __future__ import annotations

import datetime as _dt

import pytest

from pedqm.chronic import LookbackWindow, classify_record, make_window

from .builders import ICD10CM, condition, encounter, record

D = _dt.date


def test_three_years_back_from_the_end_of_the_measurement_period() -> None:
    w = make_window("2025-12-31", None)
    assert w is not None and (w.start, w.end, w.years) == (D(2023, 1, 1), D(2025, 12, 31), 3)
    assert w.contains(D(2023, 1, 1)) and w.contains(D(2025, 12, 31))
    assert not w.contains(D(2022, 12, 31)) and not w.contains(D(2026, 1, 1))


def test_configurable_lookback_and_leap_day() -> None:
    assert LookbackWindow(D(2025, 6, 30), 1).start == D(2024, 7, 1)
    assert LookbackWindow(D(2024, 2, 29), 1).start == D(2023, 3, 1)  # 2023-02-28 + 1 day
    assert LookbackWindow(D(2024, 2, 29), 4).start == D(2020, 3, 1)


def test_bad_windows_are_clear_errors() -> None:
    with pytest.raises(ValueError, match="needs an as-of date"):
        make_window(None, 2)
    with pytest.raises(ValueError, match="at least one year"):
        make_window("2025-12-31", 0)
    with pytest.raises(ValueError, match="YYYY-MM-DD"):
        make_window("31/12/2025", None)
    assert make_window(None, None) is None
    assert make_window(_dt.datetime(2025, 12, 31, 23, 59), None) == LookbackWindow(D(2025, 12, 31), 3)


@pytest.mark.parametrize(("day", "inside"), [("2022-12-31", False), ("2023-01-01", True), ("2025-12-31", True),
                                             ("2026-01-01", False)])
def test_code_on_the_boundary(day: str, inside: bool) -> None:
    rec = record(encounter("e", f"{day}T23:30:00-05:00"), condition("c", (ICD10CM, "G80.0"), encounter="Encounter/e"))
    for algorithm in ("ccc-v3", "pmca"):
        result = classify_record(rec, algorithm, as_of="2025-12-31")
        assert result.has_icd_data is inside
        assert result.data.outside_window == (0 if inside else 1)
        assert result.stratum_label == ("ccc" if algorithm == "ccc-v3" else "complex_chronic") if inside else "no_icd_data"


def test_the_date_is_read_as_written_not_shifted_to_utc() -> None:
    """2022-12-31T23:30-05:00 is 2023-01-01 in UTC, but the local calendar date is what was recorded."""
    rec = record(encounter("e", "2022-12-31T23:30:00-05:00"), condition("c", (ICD10CM, "G80.0"), encounter="Encounter/e"))
    assert not classify_record(rec, "ccc-v2", as_of="2025-12-31").has_icd_data


def test_one_year_lookback_excludes_older_codes() -> None:
    rec = record(condition("old", (ICD10CM, "G80.0"), onset="2024-06-01"), condition("new", (ICD10CM, "Q90.9"), onset="2025-06-01"))
    flags = classify_record(rec, "ccc-v2", as_of="2025-12-31", lookback_years=1).flags
    assert (flags["neuromusc"], flags["congeni_genetic"]) == (0, 1)
    flags = classify_record(rec, "ccc-v2", as_of="2025-12-31", lookback_years=2).flags
    assert (flags["neuromusc"], flags["congeni_genetic"]) == (1, 1)


def test_undated_codes_count_without_a_window_and_are_reported_with_one() -> None:
    rec = record(condition("c", (ICD10CM, "G80.0"), category="problem-list-item"))
    assert classify_record(rec, "ccc-v2").flags["neuromusc"] == 1
    windowed = classify_record(rec, "ccc-v2", as_of="2025-12-31")
    assert (windowed.flags["neuromusc"], windowed.data.undated, windowed.stratum_label) == (None, 1, "no_icd_data")


def test_partial_dates_take_their_first_day() -> None:
    rec = record(condition("c", (ICD10CM, "G80.0"), onset="2023"))
    assert classify_record(rec, "ccc-v2", as_of="2025-12-31").flags["neuromusc"] == 1
    assert classify_record(rec, "ccc-v2", as_of="2026-01-01").flags["neuromusc"] is None  # window starts 2023-01-02: no data

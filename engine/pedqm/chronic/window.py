"""The lookback window: which dated codes an algorithm may see.

PMCA was designed for three years of claims ending at the end of the measurement period; the same
window applies to every algorithm so their results describe the same data. With an as-of date
of 2025-12-31 and three years, the window is 2023-01-01 through 2025-12-31, both ends included.
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass

DEFAULT_LOOKBACK_YEARS = 3


def _years_before(day: _dt.date, years: int) -> _dt.date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February in a year that has none
        return day.replace(year=day.year - years, day=28)


@dataclass(frozen=True, slots=True)
class LookbackWindow:
    """Dates from ``start`` to ``end`` inclusive: ``years`` whole years ending on ``end``."""

    end: _dt.date
    years: int

    def __post_init__(self) -> None:
        if self.years < 1:
            raise ValueError(f"lookback must be at least one year, got {self.years}")
        if self.years > 200:
            raise ValueError(f"lookback of {self.years} years is not plausible")

    @property
    def start(self) -> _dt.date:
        return _years_before(self.end, self.years) + _dt.timedelta(days=1)

    def contains(self, day: _dt.date) -> bool:
        return self.start <= day <= self.end

    def __str__(self) -> str:
        return f"{self.start.isoformat()} to {self.end.isoformat()} ({self.years} year{'s' if self.years != 1 else ''})"


def parse_as_of(text: str) -> _dt.date:
    """An as-of date from YYYY-MM-DD (or an ISO date-time, whose date is taken as written)."""
    for parse in (_dt.date.fromisoformat, lambda t: _dt.datetime.fromisoformat(t).date()):
        try:
            return parse(text.strip())
        except ValueError:
            continue
    raise ValueError(f"as-of date must be YYYY-MM-DD, got {text!r}")


def make_window(as_of: _dt.date | _dt.datetime | str | None, lookback_years: int | None) -> LookbackWindow | None:
    """The window for an as-of date (default lookback three years); None means all data.

    A lookback without an as-of date is an error: "three years back" needs an end.
    """
    if as_of is None:
        if lookback_years is not None:
            raise ValueError("a lookback needs an as-of date (the end of the measurement period)")
        return None
    if isinstance(as_of, str):
        as_of = parse_as_of(as_of)
    if isinstance(as_of, _dt.datetime):
        as_of = as_of.date()
    return LookbackWindow(as_of, DEFAULT_LOOKBACK_YEARS if lookback_years is None else lookback_years)

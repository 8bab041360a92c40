"""Checks of option values shared by several commands, run before any work starts.

Each message names the option and says what is accepted, so a mistake costs the user one try
rather than a run that fails (or, worse, succeeds on the wrong thing) later.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import sys
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from .errors import UsageError

MAX_OFFSET = 14  # hours: the widest UTC offsets in use (and what CQL accepts)


def positive_int(text: str) -> int:
    """argparse type for counts such as ``--workers``: an integer of at least 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number of at least 1, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def timezone_offset(text: str) -> Decimal:
    """argparse type for ``--timezone-offset``: hours from UTC, -14 to 14 (e.g. -5, 5.5)."""
    try:
        value = Decimal(text.strip())
    except InvalidOperation:
        raise argparse.ArgumentTypeError(f"expected hours from UTC such as -5 or 5.5, got {text!r}") from None
    if not value.is_finite() or not -MAX_OFFSET <= value <= MAX_OFFSET:
        raise argparse.ArgumentTypeError(f"must be between -{MAX_OFFSET} and {MAX_OFFSET} hours, got {text}")
    return value


def _instant(text: str, end: bool, offset: Decimal) -> tuple[str, _dt.datetime]:
    """A period bound, normalised to ISO, and the instant it stands for (a date end: its last moment)."""
    tz = _dt.timezone(_dt.timedelta(hours=float(offset)))
    value = text.strip()
    if "T" not in value:
        day = _dt.date.fromisoformat(value)
        return day.isoformat(), _dt.datetime.combine(day, _dt.time.max if end else _dt.time.min, tzinfo=tz)
    moment = _dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    return moment.isoformat(), moment if moment.tzinfo is not None else moment.replace(tzinfo=tz)


def check_period(values: list[str] | None, offset: Decimal | float = 0, option: str = "--period") -> tuple[str, str] | None:
    """``--period START END`` checked (dates or date-times, start not after end) and normalised."""
    if not values:
        return None
    bounds = []
    for text, end in zip(values, (False, True)):
        try:
            bounds.append(_instant(text, end, Decimal(str(offset))))
        except ValueError:
            raise UsageError(f"{option}: {text!r} is not a date or date-time "
                             "(use YYYY-MM-DD or YYYY-MM-DDThh:mm:ss with an optional offset)") from None
    (start, low), (stop, high) = bounds
    if low > high:
        raise UsageError(f"{option}: the start {start} is after the end {stop} (give START END, in that order)")
    return start, stop


def check_output(path: Path | str | None, option: str = "--output") -> None:
    """A file the command will write: not a directory, and in a directory that exists."""
    if path is None or str(path) == "-":
        return
    p = Path(path)
    if p.is_dir():
        raise UsageError(f"{option}: {p} is a directory; give a file name")
    parent = p.parent
    if not parent.is_dir():
        raise UsageError(f"{option}: cannot write {p}: the directory {parent} does not exist")


def add_json_option(parser: Any, what: str) -> None:
    """`--json [FILE]`, with one meaning in every command: `what` as JSON, on standard output
    (the human-readable text then goes to standard error) or, given FILE, into FILE."""
    parser.add_argument("--json", nargs="?", const="-", default=None, metavar="FILE",
                        help=f"{what} as JSON: on standard output, or into FILE")


def write_json(target: str, text: str) -> None:
    """Write JSON text where `--json` said (`-`: standard output)."""
    if not text.endswith("\n"):
        text += "\n"
    if target == "-":
        sys.stdout.write(text)
    else:
        Path(target).write_text(text, encoding="utf-8")

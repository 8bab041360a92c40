"""Progress on the long commands (evaluate, vet, chronic, demo), one way for all of them.

On a terminal: a live line on standard error with patients done, the total when the source
knows it (files do), the rate and the elapsed time. Not on a terminal (CI logs, pipes): one
summary line at the end. `--quiet` (or `--no-progress`): nothing. Standard output is never
touched, so reports and tables stay machine-readable.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Iterable, Iterator
from typing import Any

from ..fhir.records import PatientRecord


def add_progress_options(parser: Any) -> None:
    """`--quiet/-q` and `--no-progress`, the same in every long command."""
    parser.add_argument("--quiet", "-q", action="store_true",
                        help="no progress and no summary lines on standard error (errors are still reported)")
    if not any("--no-progress" in a.option_strings for a in parser._actions):
        parser.add_argument("--no-progress", action="store_true", help="no progress line (summary lines stay)")


def known_total(source: Any) -> int | None:
    """How many patients a source will yield, when it knows without reading them (files)."""
    inner = getattr(source, "source", source)
    ids = getattr(inner, "patient_ids", None)
    if callable(ids):
        try:
            return len(ids())
        except Exception:  # noqa: BLE001 - a server source may not know; then there is no total
            return None
    return None


class PatientProgress:
    """Counts patients as they are evaluated; see the module docstring for what is shown where."""

    def __init__(self, args: argparse.Namespace, what: str, total: int | None = None):
        self.quiet = bool(getattr(args, "quiet", False))
        self.live = not self.quiet and not getattr(args, "no_progress", False) and sys.stderr.isatty()
        self.what, self.total, self.count = what, total, 0
        self.started = time.perf_counter()
        self._bar: Any = None
        if self.live:
            from rich.progress import (
                BarColumn,
                Progress,
                SpinnerColumn,
                TextColumn,
                TimeElapsedColumn,
            )

            columns: list[Any] = [SpinnerColumn(), TextColumn(f"{what}: {{task.completed:,}}"
                                                              + (f" of {total:,}" if total else "") + " patients"),
                                  TextColumn("{task.fields[rate]}"), TimeElapsedColumn()]
            if total:
                columns.insert(2, BarColumn())
            self._bar = Progress(*columns, transient=True)
            self._bar.start()
            self._task = self._bar.add_task(what, total=total, rate="")

    def update(self, count: int) -> None:
        self.count = count
        if self._bar is not None:
            elapsed = time.perf_counter() - self.started
            self._bar.update(self._task, completed=count, rate=f"{count / elapsed:,.0f}/s" if elapsed > 0 else "")

    def __call__(self, count: int) -> None:
        self.update(count)

    def wrap(self, records: Iterable[PatientRecord]) -> Iterator[PatientRecord]:
        """The records, counted as they pass."""
        for record in records:
            yield record
            self.update(self.count + 1)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.stop()
            self._bar = None
        if not self.quiet and self.count:
            elapsed = time.perf_counter() - self.started
            rate = f", {self.count / elapsed:,.0f}/s" if elapsed > 0 else ""
            print(f"{self.what}: {self.count:,} patients in {elapsed:.1f} s{rate}", file=sys.stderr)


class CountedSource:
    """A data source whose patients are counted by a :class:`PatientProgress` as they are read."""

    def __init__(self, source: Any, progress: PatientProgress):
        self.source = source  # the driver finds files to partition through this attribute
        self.progress = progress

    @property
    def issues(self) -> Any:
        return getattr(self.source, "issues", [])

    def patients(self) -> Iterator[PatientRecord]:
        return self.progress.wrap(self.source.patients())

    def shared_resources(self) -> Any:
        return self.source.shared_resources()

    def close(self) -> None:
        close = getattr(self.source, "close", None)
        if callable(close):
            close()

"""`pedqm.evaluate_measure`: the Python entry point for calculating a measure over data."""

from __future__ import annotations

import datetime as _dt
from collections.abc import Callable, Iterable
from decimal import Decimal
from pathlib import Path
from typing import Any

from ..fhir.records import PatientRecord
from .calculator import MeasureCalculator, SubjectResult, measurement_period
from .package import MeasurePackage, MeasurePackageError
from .results import MeasureResult

DataArg = Any  # a ResourceSource, a path or URL string, or an iterable of PatientRecord


def load_measure(measure: MeasurePackage | str | Path) -> MeasurePackage:
    """A measure package from a bundle path, a measure directory, or a measure id in the
    bundled measure library."""
    if isinstance(measure, MeasurePackage):
        return measure
    p = Path(measure)
    if p.exists():
        return MeasurePackage.load(p)
    from .library_index import find_measure

    found = find_measure(str(measure))
    if found is None:
        raise MeasurePackageError(f"{measure}: not a file, a directory or the id of a measure in the library (see `pedqm list`)")
    return MeasurePackage.load(found)


def _records(data: DataArg) -> tuple[Iterable[PatientRecord], list[dict[str, Any]], Any]:
    if isinstance(data, (str, Path)):
        from ..fhir.sources import open_source

        source = open_source(str(data))
        return source.patients(), [], source
    if hasattr(data, "patients"):
        return data.patients(), [], data
    return data, [], None


def evaluate_measure(
    measure: MeasurePackage | str | Path,
    data: DataArg,
    period: tuple[str, str] | None = None,
    *,
    timezone_offset: Decimal | int | float = 0,
    now: _dt.datetime | None = None,
    keep_subjects: bool = True,
    extra_strata: dict[str, Callable[[PatientRecord], Any]] | None = None,
    progress: Callable[[int], None] | None = None,
    workers: int = 1,
    require_profile_tags: bool = False,
    terminology_server: str | None = None,
    calculator: Callable[..., MeasureCalculator] = MeasureCalculator,
) -> MeasureResult:
    """Calculate `measure` over `data`; `period` defaults to Measure.effectivePeriod.

    Dates in `period` are read in `timezone_offset` (hours, default 0 = UTC); a date-only end
    covers its whole day. The result renders as MeasureReports (`.measure_report(kind)`) and as a
    DataFrame (`.to_dataframe()`). `workers` > 1 evaluates patients in that many processes.
    `calculator` makes the per-patient calculator (the instrumented one, for coverage).
    """
    package = load_measure(measure)
    if terminology_server:
        from ..fhir.terminology_server import TerminologyServer

        package.valuesets.server = TerminologyServer(terminology_server)
    start, end = period or package.measure.effective_period
    if not start or not end:
        raise MeasurePackageError(f"{package.source}: no measurement period given and the Measure has no effectivePeriod")
    mp = measurement_period(start, end, timezone_offset)
    records, extra_shared, source = _records(data)
    shared = list(source.shared_resources()) if source is not None and hasattr(source, "shared_resources") else extra_shared
    calc = calculator(package, mp, timezone_offset=timezone_offset, now=now, shared=shared,
                             extra_strata=extra_strata, require_profile_tags=require_profile_tags)
    result = MeasureResult(package.measure, mp, keep_subjects=keep_subjects)
    result.source_issues = list(getattr(source, "issues", []) or [])  # type: ignore[attr-defined]
    if workers > 1:
        _evaluate_in_workers(calc, records, result, workers, progress)
    else:
        for i, record in enumerate(records, 1):
            result.add(calc.evaluate(record))
            if progress is not None:
                progress(i)
    if source is not None:
        result.source_issues = list(getattr(source, "issues", []) or [])  # type: ignore[attr-defined]
    return result


_WORKER_CALCULATOR: MeasureCalculator | None = None
_CHUNK = 64


def _work(records: list[PatientRecord]) -> list[SubjectResult]:
    assert _WORKER_CALCULATOR is not None
    return [_WORKER_CALCULATOR.evaluate(r) for r in records]


def _evaluate_in_workers(calc: MeasureCalculator, records: Iterable[PatientRecord], result: MeasureResult,
                         workers: int, progress: Callable[[int], None] | None) -> None:
    """Evaluate in `workers` forked processes that inherit the compiled measure; at most two
    chunks per worker are in flight, so memory stays bounded however large the source."""
    import multiprocessing
    from collections import deque
    from itertools import islice

    global _WORKER_CALCULATOR
    _WORKER_CALCULATOR = calc
    ctx = multiprocessing.get_context("fork")
    done = 0
    it = iter(records)
    with ctx.Pool(workers) as pool:
        pending: deque[Any] = deque()
        while True:
            while len(pending) < 2 * workers:
                chunk = list(islice(it, _CHUNK))
                if not chunk:
                    break
                pending.append(pool.apply_async(_work, (chunk,)))
            if not pending:
                break
            for r in pending.popleft().get():
                result.add(r)
                done += 1
            if progress is not None:
                progress(done)
    _WORKER_CALCULATOR = None

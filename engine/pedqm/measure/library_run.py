"""The measure library over one population with results per practice (what `pedqm demo` shows),
run by the one driver (:mod:`.driver`) and attributed by the one attribution module
(:mod:`.attribution`, practice rules), as `pedqm evaluate --all --by practice` is."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from .driver import UNATTRIBUTED, RunPlan, RunResult, run
from .package import MeasurePackage
from .results import MeasureResult

__all__ = ["UNATTRIBUTED", "rows", "run_library"]


def run_library(packages: dict[str, MeasurePackage], data: Any, period: tuple[str, str] | None = None, *,
                workers: int = 1, by: str = "practice", progress: Callable[[int], None] | None = None) -> RunResult:
    """Every package over ``data`` (a source or a path), overall and per practice (or per entity of
    the attribution list ``by``); a measure that cannot be compiled is listed in ``failures`` and
    the others run."""
    by = by if by in ("practice", "clinician") else str(Path(by).resolve())
    plan = RunPlan(tuple((mid, str(Path(pkg.source).resolve())) for mid, pkg in packages.items()),
                   period=period, by=by, tolerate_failures=True)
    return run(plan, data, workers=workers, packages=packages, progress=progress)


def rows(run: RunResult, measure_id: str) -> list[dict[str, Any]]:
    """Table rows for one measure: each practice, then all practices (group 1 figures)."""
    out = []
    overall = run.overall[measure_id]
    codes = overall.population_codes(0)
    for practice, result in sorted(run.by_entity[measure_id].items(), key=lambda kv: run.entity_name(kv[0])):
        out.append(_row(run.entity_name(practice), result, codes))
    out.append(_row("All practices", overall, codes))
    return out


def _row(label: str, result: MeasureResult, codes: list[str]) -> dict[str, Any]:
    row: dict[str, Any] = {"practice": label, "patients": result.n_subjects}
    for c in codes:
        if c != "measure-observation":
            row[c] = result.count(0, c)
    row["score"] = result.measure_score(0)
    row["errors"] = len(result.errors)
    return row

"""Run many measures over one population in a single pass, with results per practice.

The data is read once: each patient's record is evaluated by every measure's calculator, and
the subject result is folded into the measure's overall result and into its practice's (the
practice a patient is attributed to: Patient.managingOrganization, else the first
generalPractitioner's organization, else 'unattributed').
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from ..fhir.records import PatientRecord, Resource
from .calculator import MeasureCalculator, measurement_period
from .package import MeasurePackage
from .results import MeasureResult

UNATTRIBUTED = "unattributed"


def practice_of(record: PatientRecord) -> str:
    """The practice (Organization id) a patient is attributed to."""
    patient = record.patient or {}
    ref = (patient.get("managingOrganization") or {}).get("reference")
    if isinstance(ref, str) and ref.startswith("Organization/"):
        return ref.split("/", 1)[1]
    return UNATTRIBUTED


@dataclass
class LibraryRun:
    packages: dict[str, MeasurePackage]
    overall: dict[str, MeasureResult] = field(default_factory=dict)
    by_practice: dict[str, dict[str, MeasureResult]] = field(default_factory=dict)
    practice_names: dict[str, str] = field(default_factory=dict)
    n_patients: int = 0
    failures: dict[str, str] = field(default_factory=dict)  # measure id -> why it could not run


def run_library(
    packages: dict[str, MeasurePackage],
    records: Iterable[PatientRecord],
    shared: list[Resource],
    period: tuple[str, str] | None = None,
    attribute: Callable[[PatientRecord], str] = practice_of,
    progress: Callable[[int], None] | None = None,
) -> LibraryRun:
    run = LibraryRun(packages)
    for r in shared:
        if r.get("resourceType") == "Organization" and r.get("id"):
            run.practice_names[str(r["id"])] = str(r.get("name") or r["id"])
    calculators: dict[str, MeasureCalculator] = {}
    for mid, pkg in packages.items():
        start, end = period or pkg.measure.effective_period
        try:
            mp = measurement_period(str(start), str(end))
            calculators[mid] = MeasureCalculator(pkg, mp, shared=shared)
        except Exception as exc:  # noqa: BLE001 - one broken measure must not stop the others
            run.failures[mid] = str(exc).splitlines()[0]
            continue
        run.overall[mid] = MeasureResult(pkg.measure, mp, keep_subjects=False)
        run.by_practice[mid] = {}
    for i, record in enumerate(records, 1):
        run.n_patients += 1
        practice = attribute(record)
        for mid, calc in calculators.items():
            result = calc.evaluate(record)
            run.overall[mid].add(result)
            per = run.by_practice[mid].get(practice)
            if per is None:
                per = run.by_practice[mid][practice] = MeasureResult(calc.definition, calc.period, keep_subjects=False)
            per.add(result)
        if progress is not None:
            progress(i)
    return run


def rows(run: LibraryRun, measure_id: str) -> list[dict[str, Any]]:
    """Table rows for one measure: each practice, then all practices (group 1 figures)."""
    out = []
    overall = run.overall[measure_id]
    codes = overall.population_codes(0)
    for practice, result in sorted(run.by_practice[measure_id].items(), key=lambda kv: run.practice_names.get(kv[0], kv[0])):
        out.append(_row(run.practice_names.get(practice, practice), result, codes))
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

"""Measure test cases, in the layout of published measure packages.

`DIR/<case-id>/*.json` holds one case: its resources and its expected MeasureReport (type
individual; maybe a cqfm-testCaseDescription extension). Each case is evaluated on its own
(published cases reuse resource ids such as `Immunization-10a` across cases). Expected and
actual population counts are compared per group by position (group ids may be absent) and, where
the expected report has them, per stratum.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..fhir.records import PatientRecord
from ..fhir.sources.compartment import compartment_patients
from .calculator import MeasureCalculator, measurement_period
from .package import MeasurePackage
from .populations import proportion_score, ratio_score

_DESCRIPTION_EXT = ("cqfm-testCaseDescription", "testCaseDescription")


@dataclass
class Mismatch:
    group: int
    population: str
    expected: int
    actual: int
    stratum: str | None = None


@dataclass
class CaseResult:
    case_id: str
    description: str | None
    expected: dict[tuple[int, str], int]
    actual: dict[tuple[int, str], int]
    mismatches: list[Mismatch] = field(default_factory=list)
    error: str | None = None
    notes: list[str] = field(default_factory=list)  # what the comparison set aside, and why

    @property
    def passed(self) -> bool:
        return self.error is None and not self.mismatches

    def to_json(self) -> dict[str, Any]:
        return {
            "case": self.case_id, "description": self.description, "passed": self.passed, "error": self.error,
            "expected": {f"{g + 1}:{p}": n for (g, p), n in self.expected.items()},
            "actual": {f"{g + 1}:{p}": n for (g, p), n in self.actual.items()},
            "mismatches": [m.__dict__ for m in self.mismatches], "notes": self.notes,
        }


def _code(pop: dict[str, Any]) -> str | None:
    coding = (pop.get("code") or {}).get("coding") or [{}]
    return coding[0].get("code")


def load_case(case_dir: Path) -> tuple[PatientRecord, dict[str, Any] | None, list[str], list[str]]:
    """The case's resources as one patient's record, its expected report, problems that may
    explain a mismatch, and notes on what was set aside."""
    resources: list[dict[str, Any]] = []
    seen: dict[tuple[str, str], list[dict[str, Any]]] = {}
    notes: list[str] = []
    expected: dict[str, Any] | None = None
    problems: list[str] = []
    full_urls: dict[str, tuple[str, str]] = {}  # bundle-local references, to read urn:uuid patient references
    for f in sorted(case_dir.glob("*.json")):
        try:
            data = json.loads(f.read_text(encoding="utf-8"))
        except ValueError as exc:
            problems.append(f"{f.name}: not valid JSON ({exc})")
            continue
        items = [e.get("resource") or {} for e in data.get("entry") or []] if data.get("resourceType") == "Bundle" else [data]
        if data.get("resourceType") == "Bundle":
            for e in data.get("entry") or []:
                r = e.get("resource") or {}
                if isinstance(e.get("fullUrl"), str) and isinstance(r.get("resourceType"), str) and isinstance(r.get("id"), str):
                    full_urls[e["fullUrl"]] = (r["resourceType"], r["id"])
        for r in items:
            if r.get("resourceType") == "MeasureReport":
                if expected is not None and _counts(expected) != _counts(r):
                    problems.append(f"{f.name}: a second expected MeasureReport disagrees with the first")
                expected = expected or r
                continue
            # case folders may hold a resource twice (its own file and a transaction Bundle):
            # an identical copy is the same resource. Two different resources under one id (a
            # MADiE export can write them into one Bundle) are both part of the case as authored,
            # and both were in the record its expected report was computed from: keep both.
            key = (str(r.get("resourceType")), str(r.get("id"))) if r.get("id") else None
            if key is not None:
                copies = seen.setdefault(key, [])
                if any(c == r for c in copies):
                    continue
                if copies:
                    notes.append(f"{f.name}: {key[0]}/{key[1]} appears with different contents; both are kept")
                copies.append(r)
            resources.append(r)
    patient = next((r for r in resources if r.get("resourceType") == "Patient"), None)
    pid = (patient or {}).get("id") or case_dir.name
    if patient is not None:
        notes.extend(_foreign_references(resources, str(pid), full_urls))
    return PatientRecord(str(pid), resources), expected, problems, notes


def _foreign_references(resources: list[dict[str, Any]], pid: str, full_urls: dict[str, tuple[str, str]]) -> list[str]:
    """Notes on resources whose patient reference names another Patient. A published case is one
    patient's record (its expected report was computed so), so they count as the case's patient;
    said, because the same files given to `pedqm evaluate` would group them elsewhere."""
    elsewhere: dict[str, int] = {}
    for r in resources:
        if r.get("resourceType") == "Patient":
            continue
        pids = compartment_patients(r, full_urls.get if full_urls else None)
        if pids and pid not in pids:
            ref = ", ".join(f"Patient/{p}" for p in pids)
            elsewhere[ref] = elsewhere.get(ref, 0) + 1
    return [f"{n} resource{'s' if n != 1 else ''} referenced {ref}, evaluated as the case's patient (Patient/{pid})"
            for ref, n in elsewhere.items()]


def _counts(report: dict[str, Any]) -> list[list[tuple[str | None, int]]]:
    return [[(_code(p), int(p.get("count", 0))) for p in g.get("population") or []] for g in report.get("group") or []]


def run_case(calc: MeasureCalculator, case_dir: Path) -> CaseResult:
    record, expected_report, problems, notes = load_case(case_dir)
    description = None
    if expected_report:
        for e in expected_report.get("extension") or []:
            if str(e.get("url", "")).rsplit("/", 1)[-1] in _DESCRIPTION_EXT:
                description = e.get("valueMarkdown") or e.get("valueString")
    if expected_report is None:
        return CaseResult(case_dir.name, description, {}, {}, error="no expected MeasureReport in the case")
    expected: dict[tuple[int, str], int] = {}
    expected_strata: dict[tuple[int, str, str], int] = {}
    expected_scores: dict[int, float] = {}
    for gi, g in enumerate(expected_report.get("group") or []):
        seen: dict[str, int] = {}
        for p in g.get("population") or []:
            code = _code(p)
            if code and code != "measure-observation":
                seen[code] = seen.get(code, 0) + 1
                key = code if seen[code] == 1 else f"{code}#{seen[code]}"  # a second IPP, by position
                expected[(gi, key)] = int(p.get("count", 0))
        score = (g.get("measureScore") or {}).get("value")
        if score is not None:
            expected_scores[gi] = float(score)
        for s in g.get("stratifier") or []:
            for st in s.get("stratum") or []:
                value = (st.get("value") or {}).get("text") or json.dumps(st.get("value"))
                for p in st.get("population") or []:
                    code = _code(p)
                    if code:
                        expected_strata[(gi, code, value)] = int(p.get("count", 0))
    result = calc.evaluate(record)
    if result.error:
        return CaseResult(case_dir.name, description, expected, {}, error=result.error)
    actual: dict[tuple[int, str], int] = {}
    for gi, outcome in enumerate(result.groups):
        for code, members in outcome.members.items():
            actual[(gi, code)] = len(members)
    mismatches = [Mismatch(g, p, n, actual.get((g, p), 0)) for (g, p), n in expected.items() if actual.get((g, p), 0) != n]
    for g, want in expected_scores.items():
        if not _score_follows_counts(calc, g, expected, want):
            # the expected score contradicts the expected counts under the group's scoring (e.g.
            # 1.0 for an excluded patient, whose proportion is 0/0): the counts are the test
            notes.append(f"group {g + 1}: expected measureScore {want} does not follow from the expected counts; not compared")
            continue
        got = _subject_score(calc, g, result)
        if got is None or abs(got - want) > 1e-6:
            mismatches.append(Mismatch(g, "measure-score", want, got))  # type: ignore[arg-type]
    for (g, p, value), n in expected_strata.items():
        got = 0
        if g < len(result.groups):
            group_outcome = result.groups[g]
            for values in group_outcome.strata.values():
                inside = set(values.get(value, []))
                got += sum(1 for m in group_outcome.members.get(p, []) if m in inside)
        if got != n:
            mismatches.append(Mismatch(g, p, n, got, value))
    out = CaseResult(case_dir.name, description, expected, actual, mismatches, notes=notes + problems)
    if problems:
        out.error = "; ".join(problems) if mismatches else None
    return out


def _score_follows_counts(calc: MeasureCalculator, group: int, expected: dict[tuple[int, str], int], score: float) -> bool:
    """Whether an expected individual score is the one its own population counts give (FHIR
    Measure scoring); continuous-variable scores depend on observations, so they always count."""
    if group >= len(calc.definition.groups):
        return True
    scoring = calc.definition.groups[group].scoring
    counts = {p: n for (g, p), n in expected.items() if g == group}
    if scoring == "proportion":
        implied = proportion_score(counts)
    elif scoring == "ratio":
        implied = ratio_score(counts)
    else:
        return True
    return implied is not None and abs(implied - score) <= 1e-6


def _subject_score(calc: MeasureCalculator, group: int, result: Any) -> float | None:
    """The subject's own score for a group, as an individual MeasureReport would carry it."""
    from .results import MeasureResult

    one = MeasureResult(calc.definition, calc.period, keep_subjects=False)
    one.add(result)
    return one.measure_score(group)


def run_cases(package: MeasurePackage, cases_dir: Path, period: tuple[str, str] | None = None,
              timezone_offset: float = 0, require_profile_tags: bool = False,
              calculator: Callable[..., MeasureCalculator] = MeasureCalculator) -> list[CaseResult]:
    """Every case of `cases_dir`; `calculator` makes the calculator (the instrumented one, for coverage)."""
    start, end = period or package.measure.effective_period
    if not start or not end:
        raise ValueError("no measurement period: give one or use a Measure with effectivePeriod")
    calc = calculator(package, measurement_period(start, end, timezone_offset), timezone_offset=timezone_offset,
                      require_profile_tags=require_profile_tags)
    dirs = sorted(d for d in cases_dir.iterdir() if d.is_dir())
    return [run_case(calc, d) for d in dirs]


def summarize(results: list[CaseResult]) -> Counter[str]:
    return Counter("passed" if r.passed else ("error" if r.error else "failed") for r in results)

"""Measure test cases, in the layout of published measure packages.

`DIR/<case-id>/*.json` holds one case: its resources and its expected MeasureReport (type
individual; maybe a cqfm-testCaseDescription extension). Each case is evaluated on its own
(published cases reuse resource ids such as `Immunization-10a` across cases). The individual
MeasureReport pedqm renders for the case and the expected one are reduced to one projection
(:func:`project`: group, population, stratum -> count, plus scores) and compared; groups by
position (group ids may be absent), strata where the expected report has them.
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
from . import report
from .calculator import MeasureCalculator, measurement_period
from .package import MeasurePackage
from .populations import proportion_score, ratio_score
from .results import MeasureResult

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
                if expected is not None and project(expected).populations != project(r).populations:
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


@dataclass
class ReportCounts:
    """A MeasureReport reduced to what a test case checks: population counts per group, per
    stratum, and the groups' scores. Expected and rendered reports go through the same
    projection (:func:`project`), so the two are compared in one way."""

    populations: dict[tuple[int, str], int] = field(default_factory=dict)  # (group, population key) -> count
    strata: dict[tuple[int, str, str], int] = field(default_factory=dict)  # (group, population key, stratum) -> count
    scores: dict[int, float] = field(default_factory=dict)  # group -> measureScore


def _population_counts(populations: list[dict[str, Any]]) -> dict[str, int]:
    """Population key -> count; a second population of a code is `code#2` (by position), and
    measure-observation populations are not counts a case can state."""
    out: dict[str, int] = {}
    seen: dict[str, int] = {}
    for p in populations:
        code = _code(p)
        if code and code != "measure-observation":
            seen[code] = seen.get(code, 0) + 1
            out[code if seen[code] == 1 else f"{code}#{seen[code]}"] = int(p.get("count", 0))
    return out


def _stratum_value(stratum: dict[str, Any]) -> str:
    """A stratum's label: its value's text, or its components' values joined by ' | '."""
    components = stratum.get("component")
    if components and not stratum.get("value"):
        return " | ".join(str((c.get("value") or {}).get("text")) for c in components)
    value = stratum.get("value")
    return (value or {}).get("text") or json.dumps(value)


def project(report: dict[str, Any]) -> ReportCounts:
    """The normalised projection of an individual MeasureReport. Strata of one value under
    different stratifiers add up (stratifier names differ between authoring tools)."""
    out = ReportCounts()
    for gi, g in enumerate(report.get("group") or []):
        for key, n in _population_counts(g.get("population") or []).items():
            out.populations[(gi, key)] = n
        score = (g.get("measureScore") or {}).get("value")
        if score is not None:
            out.scores[gi] = float(score)
        for s in g.get("stratifier") or []:
            for st in s.get("stratum") or []:
                value = _stratum_value(st)
                for key, n in _population_counts(st.get("population") or []).items():
                    out.strata[(gi, key, value)] = out.strata.get((gi, key, value), 0) + n
    return out


def _description(report: dict[str, Any]) -> str | None:
    for e in report.get("extension") or []:
        if str(e.get("url", "")).rsplit("/", 1)[-1] in _DESCRIPTION_EXT:
            text = e.get("valueMarkdown") or e.get("valueString")
            return str(text) if text is not None else None
    return None


def run_case(calc: MeasureCalculator, case_dir: Path) -> CaseResult:
    """Evaluate one case and compare the individual MeasureReport pedqm renders for it with
    the case's expected one, both reduced by :func:`project`."""
    record, expected_report, problems, notes = load_case(case_dir)
    if expected_report is None:
        return CaseResult(case_dir.name, None, {}, {}, error="no expected MeasureReport in the case")
    description = _description(expected_report)
    expected = project(expected_report)
    result = calc.evaluate(record)
    if result.error:
        return CaseResult(case_dir.name, description, expected.populations, {}, error=result.error)
    one = MeasureResult(calc.definition, calc.period, keep_subjects=True)
    one.add(result)
    actual = project(report.individual(one, result, detail=True))
    mismatches = [Mismatch(g, p, n, actual.populations.get((g, p), 0))
                  for (g, p), n in expected.populations.items() if actual.populations.get((g, p), 0) != n]
    for g, want in expected.scores.items():
        if not _score_follows_counts(calc, g, expected.populations, want):
            # the expected score contradicts the expected counts under the group's scoring (e.g.
            # 1.0 for an excluded patient, whose proportion is 0/0): the counts are the test
            notes.append(f"group {g + 1}: expected measureScore {want} does not follow from the expected counts; not compared")
            continue
        got = actual.scores.get(g)
        if got is None or abs(got - want) > 1e-6:
            mismatches.append(Mismatch(g, "measure-score", want, got))  # type: ignore[arg-type]
    for (g, p, value), n in expected.strata.items():
        got_n = actual.strata.get((g, p, value), 0)
        if got_n != n:
            mismatches.append(Mismatch(g, p, n, got_n, value))
    out = CaseResult(case_dir.name, description, expected.populations, actual.populations, mismatches,
                     notes=notes + problems)
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

"""`pedqm test MEASURE --cases DIR`: run measure test cases and compare with their expected reports."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from ..measure import load_measure
from ..measure.testing import run_cases, summarize
from .arguments import check_period
from .errors import EXIT_OK, EXIT_RUNTIME_ERROR, EXIT_TEST_FAILED, UsageError


def register(sub: Any) -> None:
    p = sub.add_parser("test", help="run a measure's test cases", description=__doc__)
    p.add_argument("measure", help="a measure bundle, a measure directory, or a measure id")
    p.add_argument("--cases", type=Path, help="DIR/<case-id>/*.json (default: the measure directory's cases/ or tests/)")
    p.add_argument("--period", nargs=2, metavar=("START", "END"), help="default: Measure.effectivePeriod")
    p.add_argument("--json", action="store_true", help="machine-readable results")
    p.add_argument("--require-profile-tags", action="store_true",
                   help="a QI-Core retrieve returns only resources whose meta.profile claims the profile (fqm-execution's default)")
    p.set_defaults(run=run)


def _default_cases(measure: str) -> Path | None:
    p = Path(measure)
    base = p if p.is_dir() else p.parent
    for name in ("cases", "tests"):
        if (base / name).is_dir():
            return base / name
    return None


def run(args: argparse.Namespace) -> int:
    period = check_period(args.period)
    if args.cases is not None and not args.cases.is_dir():
        raise UsageError(f"--cases: no such directory: {args.cases}")
    package = load_measure(args.measure)
    cases = args.cases or _default_cases(package.source)
    if cases is None:
        raise UsageError(f"no cases directory beside {package.source} (cases/ or tests/); give --cases DIR")
    if not any(d.is_dir() for d in cases.iterdir()):
        option = "--cases: " if args.cases else ""
        raise UsageError(f"{option}{cases} holds no test cases (expected one folder per case: {cases}/<case-id>/*.json)")
    results = run_cases(package, cases, period, require_profile_tags=args.require_profile_tags)
    for warning in package.warnings:  # e.g. an include's version substituted within the package
        print(f"warning: {warning}", file=sys.stderr)
    counts = summarize(results)
    if args.json:
        print(json.dumps({"measure": package.measure.url, "cases": [r.to_json() for r in results], "summary": dict(counts)}, indent=2))
    else:
        for r in results:
            mark = "PASS" if r.passed else ("ERROR" if r.error else "FAIL")
            print(f"{mark:5} {r.case_id}  {r.description or ''}".rstrip())
            if r.error:
                print(f"      {r.error}")
            for note in r.notes:
                if not (r.error and note in r.error):  # a problem that explains a failure is printed once, above
                    print(f"      note: {note}")
            for m in r.mismatches:
                where = f"group {m.group + 1} {m.population}" + (f" stratum {m.stratum}" if m.stratum else "")
                print(f"      {where}: expected {m.expected}, got {m.actual}")
        print(f"{counts['passed']} passed, {counts['failed']} failed, {counts['error']} errors, {len(results)} cases")
    if counts["error"] == len(results):
        print(f"pedqm test: every case ({len(results)}) could not be evaluated", file=sys.stderr)
        return EXIT_RUNTIME_ERROR
    return EXIT_OK if counts["passed"] == len(results) else EXIT_TEST_FAILED

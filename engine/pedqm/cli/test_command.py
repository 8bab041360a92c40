"""`pedqm test MEASURE --cases DIR`: run measure test cases and compare with their expected reports."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from ..measure import load_measure
from ..measure.calculator import MeasureCalculator
from ..measure.testing import run_cases, summarize
from .arguments import add_json_option, check_output, check_period, write_json
from .errors import EXIT_OK, EXIT_RUNTIME_ERROR, EXIT_TEST_FAILED, UsageError


def register(sub: Any) -> None:
    p = sub.add_parser("test", help="run a measure's test cases", description=__doc__)
    p.add_argument("measure", help="a measure bundle, a measure directory, or a measure id")
    p.add_argument("--cases", type=Path, help="DIR/<case-id>/*.json (default: the measure directory's cases/ or tests/)")
    p.add_argument("--period", nargs=2, metavar=("START", "END"), help="default: Measure.effectivePeriod")
    add_json_option(p, "the results (each case, its mismatches, the summary)")
    p.add_argument("--require-profile-tags", action="store_true",
                   help="a QI-Core retrieve returns only resources whose meta.profile claims the profile (fqm-execution's default)")
    p.add_argument("--coverage", action="store_true", help="clause coverage of the measure's logic over the cases")
    p.add_argument("--lcov", type=Path, metavar="FILE", help="write the clause coverage as LCOV (implies --coverage)")
    p.add_argument("--coverage-html", type=Path, metavar="FILE", help="write the CQL with clause hit counts as HTML (implies --coverage)")
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
    check_output(args.json, "--json")
    if args.cases is not None and not args.cases.is_dir():
        raise UsageError(f"--cases: no such directory: {args.cases}")
    package = load_measure(args.measure)
    cases = args.cases or _default_cases(package.source)
    if cases is None:
        raise UsageError(f"no cases directory beside {package.source} (cases/ or tests/); give --cases DIR")
    if not any(d.is_dir() for d in cases.iterdir()):
        option = "--cases: " if args.cases else ""
        raise UsageError(f"{option}{cases} holds no test cases (expected one folder per case: {cases}/<case-id>/*.json)")
    for option in ("lcov", "coverage_html"):
        check_output(getattr(args, option), "--" + option.replace("_", "-"))
    coverage: list[Any] = []
    calculator: Any = MeasureCalculator
    if args.coverage or args.lcov or args.coverage_html:
        calculator = _coverage_calculator(coverage)
    results = run_cases(package, cases, period, require_profile_tags=args.require_profile_tags, calculator=calculator)
    for warning in package.warnings:  # e.g. an include's version substituted within the package
        print(f"warning: {warning}", file=sys.stderr)
    counts = summarize(results)
    if args.json:
        write_json(args.json, json.dumps({"measure": package.measure.url, "cases": [r.to_json() for r in results],
                                          "summary": dict(counts)}, indent=2))
    if args.json != "-":
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
    if coverage:
        _write_coverage(args, coverage[0], package.measure.url or package.source)
    if counts["error"] == len(results):
        print(f"pedqm test: every case ({len(results)}) could not be evaluated", file=sys.stderr)
        return EXIT_RUNTIME_ERROR
    return EXIT_OK if counts["passed"] == len(results) else EXIT_TEST_FAILED


def _coverage_calculator(holder: list[Any]) -> Any:
    """A factory for run_cases: the instrumented calculator, its Coverage put in `holder`."""
    from ..explain.coverage import Coverage
    from ..explain.instrument import TracedCalculator

    def make(*a: Any, **kw: Any) -> TracedCalculator:
        calc = TracedCalculator(*a, **kw)
        cov = Coverage(calc)
        calc.listeners.append(cov.add)
        holder.append(cov)
        return calc

    return make


def _write_coverage(args: argparse.Namespace, coverage: Any, title: str) -> None:
    out = sys.stderr if args.json == "-" else sys.stdout  # --json keeps standard output machine-readable
    out.write(coverage.text())
    if args.lcov:
        args.lcov.write_text(coverage.lcov(), encoding="utf-8")
        print(f"wrote {args.lcov}", file=sys.stderr)
    if args.coverage_html:
        args.coverage_html.write_text(coverage.html(f"Clause coverage: {title}"), encoding="utf-8")
        print(f"wrote {args.coverage_html}", file=sys.stderr)

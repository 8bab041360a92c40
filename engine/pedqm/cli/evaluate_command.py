"""`pedqm evaluate MEASURE --data SOURCE`: a measure over a population, as MeasureReports or tables."""

from __future__ import annotations

import argparse
import io
import json
import sys
from pathlib import Path
from typing import Any

from ..chronic.classify import STRATIFIERS
from ..measure import evaluate_measure, load_measure
from ..measure.calculator import MeasureCalculator
from ..measure.definition import POPULATION_ORDER
from ..measure.results import MeasureResult
from .arguments import check_output, check_period, positive_int, timezone_offset
from .data_options import add_data_arguments, open_patients
from .errors import EXIT_OK, EXIT_RUNTIME_ERROR, UsageError

REPORT_FORMATS = ("json", "ndjson")  # the formats that render --report-type; csv and table have their own shape


def register(sub: Any) -> None:
    p = sub.add_parser("evaluate", help="calculate a measure over patients' data", description=__doc__)
    p.add_argument("measure", help="a measure bundle (.json), a measure directory, or a measure id from `pedqm list`")
    add_data_arguments(p)
    p.add_argument("--period", nargs=2, metavar=("START", "END"),
                   help="the Measurement Period (ISO dates or date-times; a date END covers the whole day); default: Measure.effectivePeriod")
    p.add_argument("--timezone-offset", type=timezone_offset, default=timezone_offset("0"),
                   help="offset in hours, -14 to 14, for date-only period bounds (default 0 = UTC)")
    p.add_argument("--report-type", choices=["individual", "subject-list", "summary"], default=None,
                   help="the MeasureReport to write with --format json or ndjson (default summary)")
    p.add_argument("--format", choices=["json", "ndjson", "csv", "table"], default=None,
                   help="json (default with --output or --report-type), table (default on a terminal), ndjson (individual reports one per line), csv (one row per subject; booleans true/false, empty when unknown, an error column)")
    p.add_argument("--output", "-o", type=Path, help="write here instead of standard output")
    p.add_argument("--stratify-by", action="append", default=[], metavar="ALGORITHM", choices=list(STRATIFIERS),
                   help=f"add strata from the chronic-condition layer: {', '.join(STRATIFIERS)}")
    p.add_argument("--terminology-server", metavar="URL",
                   help="FHIR terminology server for value sets the package lacks (ValueSet/$expand, cached in ~/.cache/pedqm)")
    p.add_argument("--workers", type=positive_int, default=1, help="evaluate patients in N processes (default 1)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--require-profile-tags", action="store_true",
                   help="a QI-Core retrieve returns only resources whose meta.profile claims the profile (fqm-execution's default)")
    p.add_argument("--coverage", action="store_true",
                   help="also report (on standard error) how often each clause was true, clauses that never fired, value sets that matched nothing")
    p.add_argument("--coverage-html", type=Path, metavar="FILE", help="write that coverage as HTML of the CQL (implies --coverage)")
    p.set_defaults(run=run)


def _extra_strata(names: list[str], period_end: str | None) -> dict[str, Any]:
    if not names:
        return {}
    from ..chronic import stratifier  # the chronic-condition layer supplies stratum functions

    return {f"chronic:{n}": stratifier(n, as_of=period_end) for n in names}


def check_arguments(args: argparse.Namespace) -> tuple[str, str] | None:
    """Every option checked before any work starts; the --period, normalised."""
    period = check_period(args.period, args.timezone_offset)
    check_output(args.output)
    check_output(args.coverage_html, "--coverage-html")
    if (args.coverage or args.coverage_html) and args.workers > 1:
        raise UsageError("--coverage counts clauses in one process: leave out --workers")
    if args.report_type is not None and args.format is not None and args.format not in REPORT_FORMATS:
        raise UsageError(f"--report-type {args.report_type} applies to --format json or ndjson; --format {args.format} "
                         "writes " + ("one row per subject" if args.format == "csv" else "the summary table")
                         + " whatever the report type (leave out --report-type)")
    return period


def run(args: argparse.Namespace) -> int:
    period = check_arguments(args)
    package = load_measure(args.measure)
    source = open_patients(args)
    report_type = args.report_type or "summary"
    fmt = args.format or ("json" if args.output or args.report_type or not sys.stdout.isatty() else "table")
    keep = report_type in ("individual", "subject-list") or fmt in ("csv", "ndjson")
    end = (period or package.measure.effective_period)[1]
    extra = _extra_strata(args.stratify_by, end)
    progress, done = _progress(args)
    coverage: list[Any] = []
    calculator: Any = MeasureCalculator
    if args.coverage or args.coverage_html:
        from .test_command import _coverage_calculator

        calculator = _coverage_calculator(coverage)
    try:
        result = evaluate_measure(package, source, period, timezone_offset=args.timezone_offset, keep_subjects=keep,
                                  extra_strata=extra, progress=progress, workers=args.workers,
                                  require_profile_tags=args.require_profile_tags,
                                  terminology_server=args.terminology_server, calculator=calculator)
    finally:
        done()
    for warning in package.warnings:  # e.g. an include's version substituted within the package
        print(f"warning: {warning}", file=sys.stderr)
    text = render(result, report_type, fmt)
    if args.output:
        args.output.write_text(text, encoding="utf-8")
        print(f"wrote {args.output} ({result.n_subjects} subjects)", file=sys.stderr)
    else:
        sys.stdout.write(text)
    _report_problems(result)
    if coverage:
        sys.stderr.write(coverage[0].population_text())
        if args.coverage_html:
            args.coverage_html.write_text(coverage[0].html(f"Population clause coverage: {package.measure.url or package.source}"),
                                          encoding="utf-8")
            print(f"wrote {args.coverage_html}", file=sys.stderr)
    if result.errors and len(result.errors) == result.n_subjects:
        print(f"pedqm evaluate: every patient ({result.n_subjects}) could not be evaluated; the counts mean nothing",
              file=sys.stderr)
        return EXIT_RUNTIME_ERROR
    return EXIT_OK


def _progress(args: argparse.Namespace) -> tuple[Any, Any]:
    if args.no_progress or not sys.stderr.isatty():
        return None, lambda: None
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    prog = Progress(SpinnerColumn(), TextColumn("{task.completed} patients"), TimeElapsedColumn(), transient=True)
    prog.start()
    task = prog.add_task("evaluate", total=None)
    return (lambda n: prog.update(task, completed=n)), prog.stop


def _report_problems(result: MeasureResult) -> None:
    issues = getattr(result, "source_issues", [])
    if result.errors:
        print(f"{len(result.errors)} patient(s) could not be evaluated:", file=sys.stderr)
        for sid, err in result.errors[:10]:
            print(f"  Patient/{sid}: {err}", file=sys.stderr)
    for key, (n, message) in sorted(result.element_errors.items()):
        kind, _, name = key.partition(":")
        what = "supplemental data element" if kind == "supplementalData" else "stratifier"
        name = name.split(":", 1)[1] if kind == "stratifier" else name
        print(f"{what} {name!r} could not be computed for {n} patient(s) (population counts are unaffected): {message}",
              file=sys.stderr)
    if issues:
        from ..fhir.sources.checks import format_issue_summary

        print(f"{format_issue_summary(issues)}:", file=sys.stderr)
        for issue in issues[:10]:
            print(f"  {issue}", file=sys.stderr)
        if len(issues) > 10:
            print(f"  ... and {len(issues) - 10} more", file=sys.stderr)


def render(result: MeasureResult, report_type: str, fmt: str) -> str:
    if fmt == "table":
        return summary_table(result)
    if fmt == "csv":
        from ..measure.frame import to_csv

        return to_csv(result)
    report = result.measure_report(report_type)
    if fmt == "ndjson":
        if report.get("resourceType") == "Bundle":
            return "".join(json.dumps(e["resource"]) + "\n" for e in report.get("entry", []))
        return json.dumps(report) + "\n"
    return json.dumps(report, indent=2) + "\n"


def summary_table(result: MeasureResult) -> str:
    """A readable summary: one row per group, a column per population, the score."""
    from rich.console import Console
    from rich.table import Table

    defn = result.definition
    codes = [c for c in POPULATION_ORDER if any(g.population(c) for g in defn.groups) and c != "measure-observation"]
    errored = f", {len(result.errors)} could not be evaluated" if result.errors else ""
    table = Table(title=f"{defn.label} ({result.n_subjects} patients{errored})")
    table.add_column("group")
    for c in codes:
        table.add_column(c, justify="right")
    table.add_column("score", justify="right")
    for gi, g in enumerate(defn.groups):
        score = result.measure_score(gi)
        table.add_row(g.id or str(gi + 1), *[str(result.count(gi, c)) if g.population(c) else "" for c in codes],
                      "" if score is None else f"{score:.3f}")
        for strat, values in result.groups[gi].strata.items():
            for value, counts in sorted(values.items()):
                s = result.stratum_score(gi, counts)
                table.add_row(f"  {strat} = {value}", *[str(counts.get(c, 0)) if g.population(c) else "" for c in codes],
                              "" if s is None else f"{s:.3f}")
    console = Console(file=io.StringIO(), width=160, record=True)
    console.print(table)
    return console.export_text()


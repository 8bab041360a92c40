"""`pedqm evaluate MEASURE [MEASURE ...] --data SOURCE` (or `--all`): measures over a population in
one pass, overall and per practice, clinician or attribution list (`--by`), as MeasureReports or
tables; `--workers N` and `--backend dask` split the population into patient partitions."""

from __future__ import annotations

import argparse
import io
import json
import sys
from pathlib import Path
from typing import Any

from ..chronic.classify import STRATIFIERS
from ..measure import load_measure
from ..measure.calculator import MeasureCalculator
from ..measure.definition import POPULATION_ORDER
from ..measure.driver import BACKENDS, RunPlan, RunResult
from ..measure.results import MeasureResult
from .arguments import check_output, check_period, positive_int, timezone_offset
from .data_options import add_data_arguments, open_patients
from .errors import EXIT_OK, EXIT_RUNTIME_ERROR, UsageError
from .progress import PatientProgress, add_progress_options, known_total

REPORT_FORMATS = ("json", "ndjson")  # the formats that render --report-type; csv and table have their own shape


def register(sub: Any) -> None:
    p = sub.add_parser("evaluate", help="calculate a measure over patients' data", description=__doc__)
    p.add_argument("measure", nargs="*",
                   help="measure bundles (.json), measure directories, or measure ids from `pedqm list`; several are "
                        "evaluated in one pass over the data")
    p.add_argument("--all", action="store_true", help="every measure in the measure library (`pedqm list`)")
    p.add_argument("--by", metavar="practice|clinician|FILE",
                   help="also a summary per entity: the practice or clinician each patient is attributed to, or an "
                        "attribution list (CSV, or FHIR Group JSON as in the Da Vinci ATR IG)")
    p.add_argument("--attribution", type=Path, metavar="FILE",
                   help="the attribution list (CSV or FHIR Group JSON) giving the children each entity is accountable "
                        "for; the same as --by FILE")
    p.add_argument("--backend", choices=list(BACKENDS), default="local",
                   help="local processes (default), a Dask cluster (pip install 'pedqm[dask]') or Spark "
                        "(pip install 'pedqm[spark]', Java 17)")
    p.add_argument("--scheduler", metavar="ADDRESS",
                   help="the Dask scheduler (tcp://host:8786) or Spark master (spark://host:7077); default: a local "
                        "cluster of --workers processes")
    p.add_argument("--partitions", type=positive_int, metavar="K",
                   help="patient partitions to cut the data into (default: its shards, else one per worker)")
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
    p.add_argument("--workers", type=positive_int, default=1,
                   help="evaluate patients in N processes, each reading its own partition of the data (default 1)")
    add_progress_options(p)
    p.add_argument("--require-profile-tags", action="store_true",
                   help="a QI-Core retrieve returns only resources whose meta.profile claims the profile (fqm-execution's default)")
    p.add_argument("--coverage", action="store_true",
                   help="also report (on standard error) how often each clause was true, clauses that never fired, value sets that matched nothing")
    p.add_argument("--coverage-html", type=Path, metavar="FILE", help="write that coverage as HTML of the CQL (implies --coverage)")
    p.set_defaults(run=run)


def check_arguments(args: argparse.Namespace) -> tuple[str, str] | None:
    """Every option checked before any work starts; the --period, normalised."""
    period = check_period(args.period, args.timezone_offset)
    check_output(args.output)
    check_output(args.coverage_html, "--coverage-html")
    if (args.coverage or args.coverage_html) and args.workers > 1:
        raise UsageError("--coverage counts clauses in one process: leave out --workers")
    if (args.coverage or args.coverage_html) and (args.all or len(args.measure) > 1 or args.backend != "local"):
        raise UsageError("--coverage is for one measure in one process: leave out --all, other measures and --backend")
    if args.report_type is not None and args.format is not None and args.format not in REPORT_FORMATS:
        raise UsageError(f"--report-type {args.report_type} applies to --format json or ndjson; --format {args.format} "
                         "writes " + ("one row per subject" if args.format == "csv" else "the summary table")
                         + " whatever the report type (leave out --report-type)")
    if args.all and args.measure:
        raise UsageError("give measures or --all, not both")
    if not args.all and not args.measure:
        raise UsageError("no measure given: name one or more measures (see `pedqm list`) or use --all")
    if args.attribution is not None:
        if args.by is not None:
            raise UsageError("give --by or --attribution, not both (--attribution FILE is --by FILE)")
        args.by = str(args.attribution)
    if args.by is not None and args.by not in ("practice", "clinician"):
        if not Path(args.by).is_file():
            raise UsageError(f"--by: use practice, clinician or an attribution file; no such file: {args.by}")
        from ..measure.attribution import AttributionError, read_attribution_list

        try:  # read here once, so a bad list is a usage error before any work, not a worker's failure
            read_attribution_list(Path(args.by))
        except AttributionError as exc:
            raise UsageError(f"--by: {exc}") from exc
    if args.scheduler and args.backend == "local":
        raise UsageError("--scheduler applies to --backend dask (scheduler address) or spark (master URL)")
    if _many(args) and (args.report_type in ("individual", "subject-list") or args.format == "ndjson"):
        raise UsageError("with several measures, --all or --by the output is summaries: --format json, csv or table "
                         "(individual and subject-list reports are for one measure)")
    return period


def _many(args: argparse.Namespace) -> bool:
    """Output as a list of summaries (several measures, --all, or per entity) rather than one report."""
    return bool(args.all or len(args.measure) > 1 or args.by is not None)


def _measures(args: argparse.Namespace) -> list[str]:
    if not args.all:
        return list(dict.fromkeys(args.measure))
    from ..measure.library_index import measure_dirs

    dirs = measure_dirs()
    if not dirs:
        raise UsageError("--all: no measure library found (set PEDQM_MEASURE_LIBRARY)")
    return [str(d) for d in dirs]


def run(args: argparse.Namespace) -> int:
    period = check_arguments(args)
    names = _measures(args)
    packages = {}
    for m in names:
        pkg = load_measure(m)
        packages[_plan_name(m)] = pkg
    partitioned = args.workers > 1 or args.backend != "local"
    source = _open(args, partitioned)
    report_type = args.report_type or "summary"
    many = _many(args)
    fmt = args.format or ("json" if args.output or args.report_type or not sys.stdout.isatty() else "table")
    keep = not many and (report_type in ("individual", "subject-list") or fmt in ("csv", "ndjson"))
    plan = RunPlan.for_measures(names, period=period, timezone_offset=args.timezone_offset, by=args.by,
                                stratify_by=tuple(args.stratify_by), keep_subjects=keep,
                                require_profile_tags=args.require_profile_tags,
                                terminology_server=args.terminology_server)
    progress, done = _progress(args, source)
    from ..measure import driver

    coverage: list[Any] = []
    calculator: Any = MeasureCalculator
    if args.coverage or args.coverage_html:
        from .test_command import _coverage_calculator

        calculator = _coverage_calculator(coverage)
    try:
        outcome = driver.run(plan, source, workers=args.workers, backend=args.backend, scheduler=args.scheduler,
                             partitions=args.partitions, packages=packages, progress=progress, calculator=calculator)
    finally:
        done()
    if partitioned and outcome.n_patients == 0 and not args.allow_empty:
        from ..fhir.sources import FileSource
        from .data_options import describe_no_patients
        from .errors import NoPatientsError

        if isinstance(source, FileSource):
            source.patient_ids()
            raise NoPatientsError(describe_no_patients(source), url=source.description)
    for pkg in packages.values():
        for warning in pkg.warnings:  # e.g. an include's version substituted within the package
            print(f"warning: {warning}", file=sys.stderr)
    for result in outcome.overall.values():
        result.source_issues = outcome.issues  # type: ignore[attr-defined]
    if many:
        text = render_many(outcome, fmt, args.by)
    else:
        text = render(next(iter(outcome.overall.values())), report_type, fmt)
    if args.output:
        args.output.write_text(text, encoding="utf-8")
        print(f"wrote {args.output} ({outcome.n_patients} subjects)", file=sys.stderr)
    else:
        sys.stdout.write(text)
    for mid, result in outcome.overall.items():
        if many and result.errors:
            sid, err = result.errors[0]
            print(f"{mid}: {len(result.errors)} patient(s) could not be evaluated; first: Patient/{sid}: {err}",
                  file=sys.stderr)
    first = next(iter(outcome.overall.values()), None)
    if first is not None:
        _report_problems(first, many)
    if coverage:
        package = next(iter(packages.values()))
        sys.stderr.write(coverage[0].population_text())
        if args.coverage_html:
            args.coverage_html.write_text(coverage[0].html(f"Population clause coverage: {package.measure.url or package.source}"),
                                          encoding="utf-8")
            print(f"wrote {args.coverage_html}", file=sys.stderr)
    every_failed = [m for m, r in outcome.overall.items() if r.errors and len(r.errors) == r.n_subjects]
    if every_failed:
        print(f"pedqm evaluate: every patient ({outcome.n_patients}) could not be evaluated"
              + (f" for {', '.join(every_failed)}" if many else "") + "; the counts mean nothing", file=sys.stderr)
        return EXIT_RUNTIME_ERROR
    return EXIT_OK


def _plan_name(measure: str) -> str:
    return RunPlan.for_measures([measure]).measures[0][0]


def _open(args: argparse.Namespace, partitioned: bool) -> Any:
    """The source; for a partitioned run over files, opened without reading (each worker reads its
    own partition; no patients at all is found after the run)."""
    if partitioned and not str(args.data).lower().startswith(("http://", "https://")):
        from .data_options import open_data

        allow = args.allow_empty
        args.allow_empty = True
        try:
            return open_data(args)
        finally:
            args.allow_empty = allow
    return open_patients(args)


def _progress(args: argparse.Namespace, source: Any = None) -> tuple[Any, Any]:
    """The shared progress line (:mod:`.progress`): the update callback and its closer."""
    progress = PatientProgress(args, "evaluate", known_total(source) if source is not None else None)
    return progress, progress.close


def _report_problems(result: MeasureResult, several: bool = False) -> None:
    issues = getattr(result, "source_issues", [])
    if result.errors and not several:
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
    title = f"{defn.label} ({result.n_subjects} patients{errored})"
    table = Table()
    table.add_column("group", overflow="fold", max_width=28)
    for c in codes:  # the eCQM population abbreviations keep the table within 80 columns
        table.add_column(POPULATION_ABBREVIATIONS.get(c, c), justify="right")
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
    console = Console(file=io.StringIO(), width=_table_width(), record=True)
    console.print(title, soft_wrap=True, highlight=False)  # the title on one line, never folded into the table's width
    console.print(table)
    legend = ", ".join(f"{POPULATION_ABBREVIATIONS.get(c, c)} {c}" for c in codes)
    return console.export_text() + f"{legend}\n"


# eCQM population abbreviations (HQMF / MeasurePopulationType codes), for narrow tables
POPULATION_ABBREVIATIONS = {
    "initial-population": "IPP", "denominator": "DENOM", "denominator-exclusion": "DENEX",
    "denominator-exception": "DENEXCEP", "numerator": "NUMER", "numerator-exclusion": "NUMEX",
    "measure-population": "MSRPOPL", "measure-population-exclusion": "MSRPOPLEX",
}


def _table_width() -> int:
    """The terminal's width (80 to 160 columns); 100 when output is not a terminal."""
    import shutil

    if not sys.stdout.isatty():
        return 100
    return max(80, min(160, shutil.get_terminal_size((100, 24)).columns))



def _reporter(by: str, entity: str, name: str) -> dict[str, Any]:
    """MeasureReport.reporter for an entity: a reference when --by names its resource type."""
    kind = {"practice": "Organization", "clinician": "Practitioner"}.get(by)
    out: dict[str, Any] = {"reference": f"{kind}/{entity}"} if kind else {"identifier": {"value": entity}}
    if name != entity:
        out["display"] = name
    return out


def summaries(outcome: RunResult, by: str | None) -> list[dict[str, Any]]:
    """Summary MeasureReports: per measure the overall one, then one per entity (reporter set;
    patients no rule or list attributes are under 'unattributed', without a reporter)."""
    from ..measure.driver import UNATTRIBUTED

    out: list[dict[str, Any]] = []
    for mid, result in outcome.overall.items():
        out.append(result.measure_report("summary"))
        for entity, part in sorted(outcome.by_entity.get(mid, {}).items()):
            report = part.measure_report("summary")
            if by is not None and entity != UNATTRIBUTED:
                report["reporter"] = _reporter(by, entity, outcome.entity_name(entity))
            else:
                report["reporter"] = {"display": UNATTRIBUTED}
            out.append(report)
    return out


def summary_rows(outcome: RunResult) -> list[dict[str, Any]]:
    """One row per measure and entity (then the measure overall): group 1's counts and score."""
    rows: list[dict[str, Any]] = []
    for mid, overall in outcome.overall.items():
        codes = [c for c in overall.population_codes(0) if c != "measure-observation"]
        entities = sorted(outcome.by_entity.get(mid, {}).items(), key=lambda kv: outcome.entity_name(kv[0]))
        for label, result in [*((outcome.entity_name(e), r) for e, r in entities), ("all", overall)]:
            row: dict[str, Any] = {"measure": mid, "entity": label, "patients": result.n_subjects}
            for c in codes:
                row[c] = result.count(0, c)
            row["score"] = result.measure_score(0)
            row["errors"] = len(result.errors)
            rows.append(row)
    return rows


def render_many(outcome: RunResult, fmt: str, by: str | None) -> str:
    if fmt == "json":
        return json.dumps(summaries(outcome, by), indent=2) + "\n"
    rows = summary_rows(outcome)
    if fmt == "csv":
        import csv

        buf = io.StringIO()
        fields = list(dict.fromkeys(k for r in rows for k in r))
        writer = csv.DictWriter(buf, fieldnames=fields, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
        return buf.getvalue()
    from rich.console import Console
    from rich.table import Table

    console = Console(file=io.StringIO(), width=160, record=True)
    for mid, result in outcome.overall.items():
        mine = [{k: v for k, v in r.items() if k != "measure"} for r in rows if r["measure"] == mid]
        errored = f", {len(result.errors)} could not be evaluated" if result.errors else ""
        table = Table(title=f"{mid}: {result.definition.label} ({result.n_subjects} patients{errored})",
                      title_justify="left")
        for col in mine[0]:
            table.add_column(col, justify="left" if col == "entity" else "right")
        for r in mine:
            table.add_row(*["" if v is None else (f"{v:.3f}" if isinstance(v, float) else str(v)) for v in r.values()],
                          style="bold" if r["entity"] == "all" and len(mine) > 1 else None)
        console.print(table)
    for mid, why in outcome.failures.items():
        console.print(f"{mid}: not run: {why}")
    return console.export_text()

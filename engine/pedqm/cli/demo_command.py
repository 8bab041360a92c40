"""`pedqm demo`: run pedqm's main job on the data bundled with it.

The main job is the measure library (measure_library/) over the synthetic pediatric population
(fhir_fixtures/population/): one table per measure, a row per practice. `--cql` instead shows the
bundled CQL example (a child's well-child visit schedule computed in CQL).
"""

from __future__ import annotations

import argparse
import datetime as _dt
import io
import os
import sys
from importlib import resources
from pathlib import Path
from typing import Any

from ..cql import compile_library, to_cql
from .arguments import positive_int
from .errors import UsageError
from .progress import PatientProgress, add_progress_options, known_total


def register(sub: Any) -> None:
    p = sub.add_parser("demo", help="run pedqm on its bundled example data", description=__doc__)
    p.add_argument("--cql", action="store_true", help="show the bundled CQL example instead")
    p.add_argument("--now", default="2025-06-30T12:00:00+00:00", help="the evaluation date-time of the CQL example")
    p.add_argument("--measure", action="append", help="only these measure ids (repeatable)")
    p.add_argument("--attribution", type=Path, metavar="FILE",
                   help="attribute children by this list (CSV, or FHIR Group JSON as in the Da Vinci ATR IG) "
                        "instead of the practice rules")
    p.add_argument("--workers", type=positive_int, default=None,
                   help="processes evaluating partitions of the population (default: 2 where there are 2 cores)")
    p.add_argument("--sources", metavar="LIST",
                   help="practice scores with and without the other places of care: all, or e.g. practice,school "
                   "(generates them from the bundled population's seed; see pedqm.cli.demo_sources)")
    add_progress_options(p)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    if not args.cql:
        from ..measure.library_index import measure_dirs, population_root

        if measure_dirs() and population_root() is not None:
            return run_library_demo(args)
        print("(measure library or synthetic population not found; showing the CQL example)", file=sys.stderr)
    return run_cql_example(args)


def run_cql_example(args: argparse.Namespace) -> int:
    text = resources.files("pedqm.examples").joinpath("PediatricSchedule.cql").read_text(encoding="utf-8")
    lib = compile_library(text)
    ctx = lib.context(now=_dt.datetime.fromisoformat(args.now))
    print(f"library {lib.name} version {lib.version} (evaluated at {args.now})")
    width = max(len(n) for n in lib.definitions)
    for name in lib.definitions:
        print(f"  {name:<{width}}  {to_cql(lib.evaluate(name, ctx))}")
    return 0


def run_library_demo(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.table import Table

    from ..fhir.sources import open_source
    from ..measure import MeasurePackage
    from ..measure.library_index import measure_dirs, population_root
    from ..measure.library_run import rows, run_library

    available = measure_dirs()
    unknown = [m for m in args.measure or [] if m not in {d.name for d in available}]
    if unknown:
        raise UsageError(f"--measure: no measure {', '.join(repr(m) for m in unknown)} in the measure library; "
                         f"it has: {', '.join(d.name for d in available)} (see `pedqm list`)")
    dirs = [d for d in available if not args.measure or d.name in args.measure]
    packages = {}
    for d in dirs:
        try:
            packages[d.name] = MeasurePackage.load(d)
        except Exception as exc:  # noqa: BLE001 - report the measure, run the rest
            print(f"{d.name}: cannot load: {str(exc).splitlines()[0]}", file=sys.stderr)
    if getattr(args, "sources", None):
        from .demo_sources import run_sources_demo

        try:
            return run_sources_demo(packages, args.sources)
        except ValueError as exc:
            raise UsageError(str(exc)) from exc
    population = population_root()
    assert population is not None
    source = open_source(population)
    workers = args.workers or min(2, os.cpu_count() or 1)
    if args.attribution is not None:
        from ..measure.attribution import AttributionError, read_attribution_list

        try:
            read_attribution_list(args.attribution)
        except AttributionError as exc:
            raise UsageError(f"--attribution: {exc}") from exc
    progress = PatientProgress(args, "demo", known_total(source))
    try:
        run = run_library(packages, source, workers=workers, progress=progress,
                          by=str(args.attribution) if args.attribution is not None else "practice")
    finally:
        progress.close()
    console = Console(file=io.StringIO(), width=150, record=True)
    console.print(f"pedqm: {len(run.overall)} measures over {run.n_patients} synthetic patients ({population})")
    for mid, pkg in packages.items():
        if mid not in run.overall:
            continue
        table_rows = rows(run, mid)
        table = Table(title=f"{mid}: {pkg.measure.label}", title_justify="left")
        for col in table_rows[0]:
            table.add_column(col, justify="left" if col == "practice" else "right")
        for r in table_rows:
            table.add_row(*["" if v is None else (f"{v:.3f}" if isinstance(v, float) else str(v)) for v in r.values()],
                          style="bold" if r["practice"] == "All practices" else None)
        console.print(table)
    for mid, why in run.failures.items():
        console.print(f"{mid}: not run: {why}")
    if run.issues:
        console.print(f"{len(run.issues)} resources skipped while reading the population")
    sys.stdout.write(console.export_text())
    return 0

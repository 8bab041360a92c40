"""`pedqm vet MEASURE --data SOURCE`: vet a measure for a payment program: reliability with small
samples, variation, strata and risk adjustment, as a self-contained HTML report and JSON."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from ..measure import load_measure
from ..vet import vet_measure
from ..vet.attribution import AttributionError
from ..vet.intervals import METHODS
from .arguments import add_json_option, check_output, check_period, write_json
from .data_options import add_data_arguments, open_patients
from .errors import EXIT_OK, EXIT_RUNTIME_ERROR, RunError, UsageError
from .progress import CountedSource, PatientProgress, add_progress_options, known_total


def register(sub: Any) -> None:
    p = sub.add_parser("vet", help="vet a measure: reliability, variation, strata, risk adjustment (HTML report)",
                       description=__doc__)
    p.add_argument("measure", help="a measure bundle (.json), a measure directory, or a measure id from `pedqm list`")
    add_data_arguments(p)
    add_progress_options(p)
    p.add_argument("--by", default="practice", metavar="practice|clinician|FILE",
                   help="attribute patients to practices (default), clinicians, or by a CSV / FHIR Group file")
    p.add_argument("--attribution", type=Path, metavar="FILE",
                   help="the attribution list (CSV, or FHIR Group JSON as in the Da Vinci ATR IG); the same as --by FILE")
    p.add_argument("--output", "-o", type=Path, default=Path("vet-report.html"),
                   help="the HTML report (default: vet-report.html)")
    add_json_option(p, "also the results")
    p.add_argument("--period", nargs=2, metavar=("START", "END"), help="the Measurement Period (default: the Measure's)")
    p.add_argument("--group", type=int, action="append", metavar="N", help="vet only group N (1-based; repeatable)")
    p.add_argument("--min-n", type=int, default=30, help="suppress entities and strata with a smaller denominator (default 30)")
    p.add_argument("--interval", choices=METHODS, default="wilson", help="interval for rates (default wilson)")
    p.add_argument("--target-reliability", type=float, default=0.7, help="reliability an entity should reach (default 0.7)")
    p.add_argument("--no-chronic", action="store_true", help="skip the chronic-condition strata and covariate")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    if args.attribution is not None:
        if args.by != "practice":
            raise UsageError("give --by or --attribution, not both (--attribution FILE is --by FILE)")
        args.by = str(args.attribution)
    by: str | Path = args.by
    if args.by not in ("practice", "clinician"):
        by = Path(args.by)
        if not by.is_file():
            raise UsageError(f"--by: use practice, clinician or an attribution file; no such file: {args.by}")
    if args.min_n < 1:
        raise UsageError(f"--min-n must be at least 1, got {args.min_n}")
    if not 0 < args.target_reliability < 1:
        raise UsageError(f"--target-reliability must be between 0 and 1 (exclusive), got {args.target_reliability}")
    if args.group and min(args.group) < 1:
        raise UsageError(f"--group counts from 1, got {min(args.group)}")
    period = check_period(args.period)
    check_output(args.output)
    check_output(args.json, "--json")
    package = load_measure(args.measure)
    n_groups = len(package.measure.groups)
    if args.group and max(args.group) > n_groups:
        raise UsageError(f"--group {max(args.group)}: the measure has {n_groups} group(s)")
    source = open_patients(args)
    progress = PatientProgress(args, "vet", known_total(source))
    try:
        result = vet_measure(package, CountedSource(source, progress), by, period=period,
                             groups=[g - 1 for g in args.group] if args.group else None, min_n=args.min_n,
                             interval=args.interval, target_reliability=args.target_reliability,
                             chronic=not args.no_chronic)
    except AttributionError as exc:
        raise UsageError(f"--by: {exc}") from exc
    except ValueError as exc:  # the data cannot support the analysis (e.g. too few entities)
        raise RunError(str(exc)) from exc
    finally:
        progress.close()
    args.output.write_text(result.to_html(), encoding="utf-8")
    if args.json:
        write_json(args.json, result.to_json())
    for g in result.groups:
        rel = g.reliability or {}
        print(f"group {g.index + 1}: {g.x}/{g.n} {g.unit_label}"
              + (f", rate {g.rate:.3f}" if g.rate is not None else "")
              + (f"; {rel['headline']}" if rel.get("headline") else f", {len(g.entities)} entities"),
              file=sys.stderr)
    print(f"wrote {args.output}" + (f" and {args.json}" if args.json and args.json != "-" else "") + f" ({result.patients} patients)",
          file=sys.stderr)
    if result.errors:
        print(f"{len(result.errors)} of {result.patients} patient(s) could not be evaluated; first: "
              f"Patient/{result.errors[0][0]}: {result.errors[0][1]}", file=sys.stderr)
        if len(result.errors) == result.patients:
            return EXIT_RUNTIME_ERROR
    return EXIT_OK

"""`pedqm vet MEASURE --data SOURCE`: vet a measure for a payment program: reliability with small
samples, variation, strata and risk adjustment, as a self-contained HTML report and JSON."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from ..cql import CqlCompileError, CqlError
from ..fhir.sources import DataSourceError
from ..measure import MeasurePackageError, load_measure
from ..vet import vet_measure
from ..vet.attribution import AttributionError
from ..vet.intervals import METHODS
from .data_options import DataOptionsError, add_data_arguments, open_data


def register(sub: Any) -> None:
    p = sub.add_parser("vet", help="vet a measure: reliability, variation, strata, risk adjustment (HTML report)",
                       description=__doc__)
    p.add_argument("measure", help="a measure bundle (.json), a measure directory, or a measure id from `pedqm list`")
    add_data_arguments(p)
    p.add_argument("--by", default="practice", metavar="practice|clinician|FILE",
                   help="attribute patients to practices (default), clinicians, or by a CSV / FHIR Group file")
    p.add_argument("--output", "-o", type=Path, default=Path("vet-report.html"),
                   help="the HTML report (default: vet-report.html)")
    p.add_argument("--json", type=Path, metavar="FILE", help="also write the results as JSON")
    p.add_argument("--period", nargs=2, metavar=("START", "END"), help="the Measurement Period (default: the Measure's)")
    p.add_argument("--group", type=int, action="append", metavar="N", help="vet only group N (1-based; repeatable)")
    p.add_argument("--min-n", type=int, default=30, help="suppress entities and strata with a smaller denominator (default 30)")
    p.add_argument("--interval", choices=METHODS, default="wilson", help="interval for rates (default wilson)")
    p.add_argument("--target-reliability", type=float, default=0.7, help="reliability an entity should reach (default 0.7)")
    p.add_argument("--no-chronic", action="store_true", help="skip the chronic-condition strata and covariate")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    by: str | Path = args.by
    if args.by not in ("practice", "clinician"):
        by = Path(args.by)
        if not by.is_file():
            print(f"pedqm vet: --by: use practice, clinician or an attribution file; no such file: {args.by}", file=sys.stderr)
            return 2
    if args.min_n < 1 or not 0 < args.target_reliability < 1:
        print("pedqm vet: --min-n must be at least 1 and --target-reliability in (0, 1)", file=sys.stderr)
        return 2
    try:
        package = load_measure(args.measure)
        source = open_data(args)
    except (MeasurePackageError, DataOptionsError, DataSourceError, OSError) as exc:
        print(f"pedqm vet: {exc}", file=sys.stderr)
        return 2
    except CqlCompileError as exc:
        print(str(exc), file=sys.stderr)
        return 1
    try:
        result = vet_measure(package, source, by, period=tuple(args.period) if args.period else None,
                             groups=[g - 1 for g in args.group] if args.group else None, min_n=args.min_n,
                             interval=args.interval, target_reliability=args.target_reliability,
                             chronic=not args.no_chronic)
    except CqlCompileError as exc:
        print(str(exc), file=sys.stderr)
        return 1
    except AttributionError as exc:
        print(f"pedqm vet: {exc}", file=sys.stderr)
        return 2
    except (CqlError, MeasurePackageError, ValueError) as exc:
        print(f"pedqm vet: {exc}", file=sys.stderr)
        return 3
    args.output.write_text(result.to_html(), encoding="utf-8")
    if args.json:
        args.json.write_text(result.to_json() + "\n", encoding="utf-8")
    for g in result.groups:
        rel = g.reliability or {}
        print(f"group {g.index + 1}: {g.x}/{g.n} {g.unit_label}"
              + (f", rate {g.rate:.3f}" if g.rate is not None else "")
              + f", {len(g.entities)} entities"
              + (f", median reliability {rel['median']:.2f}, {rel['share_reaching_target']:.0%} >= {rel['target']:g}"
                 if rel else ""), file=sys.stderr)
    print(f"wrote {args.output}" + (f" and {args.json}" if args.json else "") + f" ({result.patients} patients)",
          file=sys.stderr)
    return 0

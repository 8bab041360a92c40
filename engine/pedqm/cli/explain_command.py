"""`pedqm explain MEASURE --data SOURCE --patient ID`: why one patient is in or out of each
population, with the definitions and clauses that decided it and the resources behind them."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from ..explain import explain_patient, traced_calculator
from ..measure import load_measure
from .arguments import check_output, check_period, positive_int, timezone_offset
from .data_options import add_data_arguments, open_patients
from .errors import EXIT_OK, EXIT_RUNTIME_ERROR, UsageError


def register(sub: Any) -> None:
    p = sub.add_parser("explain", help="why a patient is in or out of each population", description=__doc__)
    p.add_argument("measure", help="a measure bundle (.json), a measure directory, or a measure id from `pedqm list`")
    add_data_arguments(p)
    p.add_argument("--patient", required=True, metavar="ID", help="the Patient id to explain")
    p.add_argument("--format", choices=["tree", "json", "html"], default="tree",
                   help="tree (default: indented text), json, or html (the CQL highlighted true/false/unhit)")
    p.add_argument("--depth", type=positive_int, default=None, metavar="N", help="tree: show N levels below each population")
    p.add_argument("--output", "-o", type=Path, help="write here instead of standard output")
    p.add_argument("--period", nargs=2, metavar=("START", "END"), help="the Measurement Period (default: the Measure's)")
    p.add_argument("--timezone-offset", type=timezone_offset, default=timezone_offset("0"),
                   help="offset in hours for date-only period bounds (default 0 = UTC)")
    p.add_argument("--require-profile-tags", action="store_true",
                   help="a QI-Core retrieve returns only resources whose meta.profile claims the profile")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    period = check_period(args.period, args.timezone_offset)
    check_output(args.output)
    package = load_measure(args.measure)
    source = open_patients(args)
    record = None
    seen: list[str] = []
    for r in source.patients():
        if r.patient_id == args.patient:
            record = r
            break
        if len(seen) < 5:
            seen.append(r.patient_id)
    if record is None:
        some = f" (patients include {', '.join(seen)})" if seen else ""
        raise UsageError(f"--patient: no Patient/{args.patient} in {source.description}{some}")
    calc = traced_calculator(package, period, timezone_offset=args.timezone_offset,
                             shared=list(source.shared_resources()), require_profile_tags=args.require_profile_tags)
    explanation = explain_patient(calc, record)
    if args.format == "json":
        text = json.dumps(explanation.data, indent=2) + "\n"
    elif args.format == "html":
        text = explanation.html()
    else:
        text = explanation.tree(args.depth)
    if args.output:
        args.output.write_text(text, encoding="utf-8")
        print(f"wrote {args.output}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    if explanation.data.get("error"):
        print(f"pedqm explain: Patient/{args.patient} could not be evaluated: {explanation.data['error']}", file=sys.stderr)
        return EXIT_RUNTIME_ERROR
    return EXIT_OK

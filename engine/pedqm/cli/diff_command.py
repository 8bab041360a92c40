"""`pedqm diff MEASURE_A MEASURE_B --data SOURCE`: who moves between populations when a measure
changes (two versions, or a CQL edit), a transition table per group, and for a sample of movers
the explanation from each version. `--fail-on-change` exits 1 if anything moved (CI of a
measure library)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from ..explain import traced_calculator
from ..explain.diff import diff_measures
from ..measure import load_measure
from ..measure.calculator import MeasureCalculator, measurement_period
from ..measure.package import MeasurePackageError
from .arguments import add_json_option, check_output, check_period, timezone_offset, write_json
from .data_options import add_data_arguments, open_patients
from .errors import EXIT_OK, EXIT_RUNTIME_ERROR, EXIT_TEST_FAILED


def register(sub: Any) -> None:
    p = sub.add_parser("diff", help="who moves between populations when a measure changes", description=__doc__)
    p.add_argument("measure_a", help="the measure before (bundle, directory or id)")
    p.add_argument("measure_b", help="the measure after")
    add_data_arguments(p)
    p.add_argument("--period", nargs=2, metavar=("START", "END"), help="the Measurement Period (default: measure A's)")
    p.add_argument("--timezone-offset", type=timezone_offset, default=timezone_offset("0"),
                   help="offset in hours for date-only period bounds (default 0 = UTC)")
    p.add_argument("--samples", type=int, default=5, metavar="N", help="explain the movers of up to N patients (default 5)")
    add_json_option(p, "the transitions, movers and explanations")
    p.add_argument("--output", "-o", type=Path, help="write here instead of standard output")
    p.add_argument("--fail-on-change", action="store_true", help="exit 1 if any patient or episode moved")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    period = check_period(args.period, args.timezone_offset)
    check_output(args.output)
    check_output(args.json, "--json")
    a, b = load_measure(args.measure_a), load_measure(args.measure_b)
    source = open_patients(args)
    start, end = period or a.measure.effective_period
    if not start or not end:
        raise MeasurePackageError(f"{a.source}: no measurement period given and the Measure has no effectivePeriod")
    mp = measurement_period(start, end, args.timezone_offset)
    shared = list(source.shared_resources())
    calcs = [MeasureCalculator(p, mp, timezone_offset=args.timezone_offset, shared=shared) for p in (a, b)]
    explain = None
    if args.samples > 0:
        ta, tb = (traced_calculator(p, (start, end), timezone_offset=args.timezone_offset, shared=shared) for p in (a, b))
        explain = (ta, tb)
    diff = diff_measures(calcs[0], calcs[1], source.patients(), samples=max(args.samples, 0), explain=explain)
    if args.json:
        write_json(args.json, json.dumps(diff.to_json(), indent=2))
    text = diff.text()
    if args.json == "-":
        sys.stderr.write(text)
    elif args.output:
        args.output.write_text(text, encoding="utf-8")
        print(f"wrote {args.output}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    both_failed = [p for p, (ea, eb) in diff.errors.items() if ea and eb]
    if diff.patients and len(both_failed) == diff.patients:
        print(f"pedqm diff: every patient ({diff.patients}) could not be evaluated", file=sys.stderr)
        return EXIT_RUNTIME_ERROR
    if args.fail_on_change and diff.moved:
        return EXIT_TEST_FAILED
    return EXIT_OK

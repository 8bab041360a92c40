"""`pedqm demo`: run pedqm's main job on the data bundled with it.

For now that is the bundled pediatric CQL example library (well-child visit windows and
immunization ages for a sample child); later it runs the measure library over the synthetic
pediatric population.
"""

from __future__ import annotations

import argparse
import datetime as _dt
from importlib import resources
from typing import Any

from ..cql import compile_library, to_cql


def register(sub: Any) -> None:
    p = sub.add_parser("demo", help="run pedqm on its bundled example data", description=__doc__)
    p.add_argument("--now", default="2025-06-30T12:00:00+00:00", help="the evaluation date-time (fixed so output is reproducible)")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    text = resources.files("pedqm.examples").joinpath("PediatricSchedule.cql").read_text(encoding="utf-8")
    lib = compile_library(text)
    ctx = lib.context(now=_dt.datetime.fromisoformat(args.now))
    print(f"library {lib.name} version {lib.version} (evaluated at {args.now})")
    width = max(len(n) for n in lib.definitions)
    for name in lib.definitions:
        print(f"  {name:<{width}}  {to_cql(lib.evaluate(name, ctx))}")
    return 0

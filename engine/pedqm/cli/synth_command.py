"""`pedqm synth`: write a seeded synthetic pediatric population as FHIR R4 NDJSON (Bulk Data layout)."""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

from ..synth import DEFAULT_PATIENTS, DEFAULT_SEED, SynthConfig, generate, read_practices_csv
from ..synth.config import default_shards


def register(sub: Any) -> None:
    p = sub.add_parser("synth", help="generate a synthetic pediatric population", description=__doc__)
    p.add_argument("--out", "-o", type=Path, required=True, help="directory for the NDJSON files and practices.csv")
    p.add_argument("--patients", "-n", type=int, default=DEFAULT_PATIENTS,
                   help=f"number of patients (default {DEFAULT_PATIENTS}); ignored with --practices")
    p.add_argument("--seed", "-s", type=int, default=DEFAULT_SEED, help=f"random seed (default {DEFAULT_SEED})")
    p.add_argument("--practices", type=Path, metavar="CSV",
                   help="practices and their care-gap rates, in the layout of a generated practices.csv")
    p.add_argument("--shards", type=int, metavar="K",
                   help="write patient-partitioned NDJSON: K shard directories by patient-id hash, and common/ "
                        "(default: 1 up to 5,000 patients, else about 25,000 a shard, 4 to 64), so that workers "
                        "read their own shards (pedqm evaluate --workers)")
    p.add_argument("--no-gzip", action="store_true", help="write plain .ndjson instead of .ndjson.gz")
    p.add_argument("--report", action="store_true",
                   help="read the output back and print prevalence and per-practice rates (Markdown)")
    p.add_argument("--sources", metavar="LIST",
                   help="write one NDJSON set per place of care under OUT/<source>/ with linkage-truth.csv: "
                   "practice,school,urgent-care,cbo (or 'all'); see pedqm.synth.sources")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    config = SynthConfig(patients=args.patients, seed=args.seed, gzip=not args.no_gzip)
    try:
        if args.practices is not None:
            practices = read_practices_csv(args.practices)
            config = replace(config, practices=practices, patients=sum(p.size for p in practices))
        if args.shards is not None and args.shards < 1:
            raise ValueError(f"--shards must be at least 1, got {args.shards}")
        config = replace(config, shards=args.shards or default_shards(config.patients))
        config.resolved_practices()  # validates sizes before anything is written
    except (OSError, ValueError) as exc:
        print(f"pedqm synth: {exc}", file=sys.stderr)
        return 2
    if args.out.exists() and not args.out.is_dir():
        print(f"pedqm synth: {args.out} is not a directory", file=sys.stderr)
        return 2
    if getattr(args, "sources", None):
        from ..synth.sources import generate_sources, parse_sources

        try:
            sources = parse_sources(args.sources)
        except ValueError as exc:
            print(f"pedqm synth: {exc}", file=sys.stderr)
            return 2
        print(generate_sources(config, args.out, sources).describe())
        return 0
    summary = generate(config, args.out)
    print(summary.describe())
    if args.report:
        from ..synth.stats import describe

        print()
        print(describe(args.out))
    return 0

"""Measure calculation benchmark (a script, not a timed test).

A population generator replicates the published eCQM test cases (../shared/ecqm/*/cases) into N
patients with unique ids (every resource id and reference rewritten), streamed so that the data
itself does not fill memory. For each measure it reports patients/second and peak RSS at
N = 1,000 and N = 10,000 (each run in a fresh process, so peaks are its own) and the RSS ratio
between them (flat memory: close to 1). `--workers` adds a multi-process run.

Usage: python tools/benchmark_measures.py [--n 10000] [--small 1000] [--workers 2] [--measure CMS136]
"""

from __future__ import annotations

import argparse
import copy
import json
import resource
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "engine"))
ECQM = ROOT.parent / "shared" / "ecqm"


def _rewrite(value: object, suffix: str) -> object:
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            if k == "id" and isinstance(v, str) and "resourceType" in value:
                out[k] = f"{v}-{suffix}"
            elif k == "reference" and isinstance(v, str) and "/" in v and not v.startswith(("http", "#")):
                out[k] = f"{v}-{suffix}"
            else:
                out[k] = _rewrite(v, suffix)
        return out
    if isinstance(value, list):
        return [_rewrite(v, suffix) for v in value]
    return value


def population(measure_dir: Path, n: int) -> Iterator[object]:
    """N patient records cycling through the measure's test cases, each with unique ids."""
    from pedqm.fhir.records import PatientRecord
    from pedqm.measure.testing import load_case

    templates = [load_case(c)[0] for c in sorted((measure_dir / "cases").iterdir()) if c.is_dir()]
    for i in range(n):
        t = templates[i % len(templates)]
        suffix = f"p{i}"
        resources = [_rewrite(copy.deepcopy(r), suffix) for r in t.resources]
        yield PatientRecord(f"{t.patient_id}-{suffix}", resources)  # type: ignore[arg-type]


class _Timed:
    """Wraps the generator to count the time spent making data, which is not the engine's."""

    def __init__(self, it: Iterator[object]):
        self.it = it
        self.seconds = 0.0

    def __iter__(self) -> Iterator[object]:
        while True:
            t0 = time.perf_counter()
            try:
                item = next(self.it)
            except StopIteration:
                self.seconds += time.perf_counter() - t0
                return
            self.seconds += time.perf_counter() - t0
            yield item


def run_one(measure: str, n: int, workers: int) -> dict[str, float]:
    from pedqm.measure import evaluate_measure

    mdir = next(ECQM.glob(f"{measure}*"))
    data = _Timed(population(mdir, n))
    t0 = time.perf_counter()
    result = evaluate_measure(mdir / "measure-bundle.json", data, keep_subjects=False, workers=workers)
    elapsed = time.perf_counter() - t0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    engine = elapsed - data.seconds
    return {"n": n, "seconds": elapsed, "patients_per_s": n / engine, "end_to_end_per_s": n / elapsed,
            "peak_rss_mb": peak, "ipp": result.count(0, "initial-population"), "errors": len(result.errors)}


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=10_000)
    ap.add_argument("--small", type=int, default=1_000)
    ap.add_argument("--workers", type=int, default=0, help="also run with this many worker processes")
    ap.add_argument("--measure", action="append", help="measure directory prefix (default: all six)")
    ap.add_argument("--one", nargs=3, metavar=("MEASURE", "N", "WORKERS"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.one:
        print(json.dumps(run_one(args.one[0], int(args.one[1]), int(args.one[2]))))
        return 0
    measures = args.measure or sorted(p.name.split("-")[0] for p in ECQM.glob("*/") if (p / "cases").is_dir())
    print("patients/s = engine time only (data generation excluded); end-to-end includes generating the records")
    print(f"{'measure':8} {'N':>6} {'workers':>7} {'patients/s':>11} {'end-to-end':>10} {'peak RSS MB':>12} {'RSS ratio':>9} {'IPP':>6} {'errors':>6}")
    for m in measures:
        small = None
        for n, w in [(args.small, 1), (args.n, 1)] + ([(args.n, args.workers)] if args.workers > 1 else []):
            out = subprocess.run([sys.executable, __file__, "--one", m, str(n), str(w)], capture_output=True, text=True, check=False)
            if out.returncode != 0:
                print(f"{m}: failed: {out.stderr.strip().splitlines()[-1] if out.stderr.strip() else out.returncode}")
                break
            r = json.loads(out.stdout)
            if small is None:
                small = r
            ratio = r["peak_rss_mb"] / small["peak_rss_mb"]
            print(f"{m:8} {n:6} {w:7} {r['patients_per_s']:11.0f} {r['end_to_end_per_s']:10.0f} {r['peak_rss_mb']:12.1f} {ratio:9.2f} {r['ipp']:6} {r['errors']:6}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

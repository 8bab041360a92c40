"""What the instrumented compile costs (a script, not a timed test).

Evaluates a library measure over fhir_fixtures/population two ways, in one process, on the same
records held in memory: the plain compile (what `pedqm evaluate` uses; with no tracer the
compiler builds exactly the closures it built before tracing existed, so "off" costs one `is None`
test per node at compile time and nothing at evaluation) and the instrumented compile with a
Tracer recording every clause. The results must agree. Rounds alternate the modes and the best
round of each is reported, so a machine shared with other work is less of a bias; the ratio
on/off is the figure to read.

Usage: python tools/benchmark_explain.py [--measure childhood-immunization] [--rounds 3] [--limit N]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "engine"))


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--measure", default="childhood-immunization")
    ap.add_argument("--data", default=str(ROOT / "fhir_fixtures" / "population"))
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--limit", type=int, default=0, help="at most N patients (0: all)")
    args = ap.parse_args()

    from pedqm.explain import traced_calculator
    from pedqm.fhir.sources import open_source
    from pedqm.measure import load_measure
    from pedqm.measure.calculator import MeasureCalculator, measurement_period

    package = load_measure(args.measure)
    source = open_source(args.data)
    records = list(source.patients())
    if args.limit:
        records = records[: args.limit]
    shared = list(source.shared_resources())
    start, end = package.measure.effective_period
    assert start and end
    off = MeasureCalculator(package, measurement_period(start, end), shared=shared)
    on = traced_calculator(package, shared=shared)

    def run_off() -> list[object]:
        return [off.evaluate(r).groups for r in records]

    def run_on() -> list[object]:
        return [on.evaluate_traced(r).result.groups for r in records]

    assert [str(g) for g in run_off()] == [str(g) for g in run_on()], "instrumented results differ from plain ones"
    best = {"off": float("inf"), "on": float("inf")}
    for _ in range(args.rounds):
        for name, fn in (("off", run_off), ("on", run_on)):
            t0 = time.perf_counter()
            fn()
            best[name] = min(best[name], time.perf_counter() - t0)
    n = len(records)
    print(f"{package.measure.url}: {n} patients, {len(on.clauses)} clauses instrumented, best of {args.rounds} rounds")
    for name in ("off", "on"):
        print(f"  {name:4} {best[name]:7.3f} s  {n / best[name]:8.1f} patients/s")
    print(f"  ratio on/off: {best['on'] / best['off']:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Scale benchmark (a script, not a timed test): patients/s and peak RSS of the one driver.

On a synthetic population written as patient-partitioned NDJSON (`pedqm synth --shards`, made
once and kept under --cache), it runs, each in a fresh process so that peaks are its own:
1 measure and all library measures, with 1 and 2 local workers and on a Dask LocalCluster of 2
workers; and checks every run gives the same figures as the first of its measure set. Ratios
(2 workers / 1 worker) are from the same run of this script; on a machine shared with other
work they say more than the absolute rates, and the CPU seconds of all processes of a run say
what parallelism costs: a 2-worker run that takes about the CPU of the 1-worker run (CPU/w1 near
1) runs about twice as fast wherever two cores are free.

Peak RSS is the largest resident set of one process: the parent (which only merges results) and
the largest worker (local: the forked workers, read by getrusage of children; Dask: each
worker's own getrusage, asked through the client).

Usage: python tools/benchmark_scale.py [--patients 10000] [--all-patients N] [--seed 7]
       [--measure lead-screening] [--sets one,all] [--modes w1,w2,dask] [--quiet]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "engine"))


def population(patients: int, seed: int, cache: Path, quiet: bool) -> Path:
    from pedqm.synth import SynthConfig, generate
    from pedqm.synth.config import default_shards

    shards = max(4, default_shards(patients))
    out = cache / f"synth-{patients}-{seed}-{shards}"
    if (out / "practices.csv").is_file():
        return out
    if not quiet:
        print(f"writing {patients} synthetic children in {shards} shards to {out} ...", file=sys.stderr)
    generate(SynthConfig(patients=patients, seed=seed, shards=shards), out)
    return out


def child(args: argparse.Namespace) -> None:
    """One run, in this process: prints one JSON line with rate, peaks and a digest of the figures."""
    from pedqm.measure.driver import RunPlan, run
    from pedqm.measure.library_index import find_measure, measure_dirs

    measures = [d for d in measure_dirs()] if args.set == "all" else [find_measure(args.measure)]
    plan = RunPlan.for_measures([m for m in measures if m is not None], by="practice")
    started = time.perf_counter()
    last = [0.0]

    def progress(n: int) -> None:
        now = time.perf_counter()
        if not args.quiet and now - last[0] >= 1.0:
            last[0] = now
            print(f"\r  {args.set} {args.mode}: {n} patients, {n / (now - started):,.0f}/s   ", end="",
                  file=sys.stderr, flush=True)

    backend = "dask" if args.mode == "dask" else "local"
    workers = 1 if args.mode == "w1" else 2
    source = args.data
    worker_rss, worker_cpu = 0, 0.0
    if backend == "dask":
        from dask.distributed import Client, LocalCluster

        with LocalCluster(n_workers=2, threads_per_worker=1, dashboard_address=None) as cluster, \
                Client(cluster) as client:
            result = run(plan, source, workers=2, backend="dask", scheduler=cluster.scheduler_address,
                         progress=progress)
            usage = client.run(_usage)
            worker_rss = max(u[0] for u in usage.values())
            worker_cpu = sum(u[1] for u in usage.values())
    else:
        result = run(plan, source, workers=workers, progress=progress)
        who = resource.RUSAGE_SELF if workers == 1 else resource.RUSAGE_CHILDREN  # one worker: this process
        worker_rss = resource.getrusage(who).ru_maxrss
        worker_cpu = _usage(resource.RUSAGE_CHILDREN)[1]
    seconds = time.perf_counter() - started
    if not args.quiet:
        print(file=sys.stderr)
    digest = {m: [dict(g.counts) for g in r.groups] for m, r in sorted(result.overall.items())}
    print(json.dumps({"patients": result.n_patients, "seconds": seconds, "rate": result.n_patients / seconds,
                      "parent_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                      "worker_rss_mb": worker_rss / 1024,
                      "cpu_seconds": _usage(resource.RUSAGE_SELF)[1] + worker_cpu, "digest": digest}))


def _usage(who: int = resource.RUSAGE_SELF) -> tuple[int, float]:
    """(peak RSS in kB, user + system CPU seconds) of this process (or its waited-for children)."""
    u = resource.getrusage(who)
    return u.ru_maxrss, u.ru_utime + u.ru_stime


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--patients", type=int, default=10_000)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--measure", default="lead-screening", help="the measure of the one-measure runs")
    ap.add_argument("--all-patients", type=int, default=0,
                    help="children for the all-measures runs (default: --patients)")
    ap.add_argument("--sets", default="one,all", help="comma-separated: one (the --measure), all (the library)")
    ap.add_argument("--modes", default="w1,w2,dask", help="comma-separated: w1, w2 (local workers), dask")
    ap.add_argument("--cache", type=Path, default=Path(os.environ.get("TMPDIR", "/tmp")) / "pedqm-bench-scale")
    ap.add_argument("--quiet", action="store_true", help="no progress line on stderr")
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--set", help=argparse.SUPPRESS)
    ap.add_argument("--mode", help=argparse.SUPPRESS)
    ap.add_argument("--data", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(args)
        return 0
    print(f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} at the start (a shared machine: compare "
          "ratios from this run, not rates)", flush=True)
    print(f"{'measures':<9} {'children':>8} {'mode':<5} {'patients/s':>11} {'seconds':>8} {'vs w1':>6} "
          f"{'CPU s':>7} {'CPU/w1':>6} {'parent MB':>10} {'worker MB':>10}  same figures", flush=True)
    all_same = True
    for set_name in args.sets.split(","):
        n = args.all_patients if set_name == "all" and args.all_patients else args.patients
        data = population(n, args.seed, args.cache, args.quiet)
        first_digest, base, base_cpu = None, None, None
        for mode in args.modes.split(","):
            cmd = [sys.executable, __file__, "--child", "--set", set_name, "--mode", mode, "--data", str(data),
                   "--measure", args.measure] + (["--quiet"] if args.quiet else [])
            out = subprocess.run(cmd, check=True, stdout=subprocess.PIPE, text=True).stdout
            fig = json.loads(out.strip().splitlines()[-1])
            same = first_digest is None or fig["digest"] == first_digest
            all_same = all_same and same
            first_digest = first_digest or fig["digest"]
            base = base or (fig["rate"] if mode == "w1" else None)
            base_cpu = base_cpu or (fig["cpu_seconds"] if mode == "w1" else None)
            ratio = f"{fig['rate'] / base:6.2f}" if base else f"{'':>6}"
            cpu_ratio = f"{fig['cpu_seconds'] / base_cpu:6.2f}" if base_cpu else f"{'':>6}"
            print(f"{set_name:<9} {n:>8} {mode:<5} {fig['rate']:>11,.0f} {fig['seconds']:>8.1f} {ratio} "
                  f"{fig['cpu_seconds']:>7.1f} {cpu_ratio} "
                  f"{fig['parent_rss_mb']:>10.0f} {fig['worker_rss_mb']:>10.0f}  {'yes' if same else 'NO'}",
                  flush=True)
    print(f"load average {os.getloadavg()[0]:.1f} at the end; populations under {args.cache}")
    return 0 if all_same else 1


if __name__ == "__main__":
    sys.exit(main())

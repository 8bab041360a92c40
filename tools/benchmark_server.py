"""`pedqm serve` benchmark (a script, not a timed test).

Starts a real `pedqm serve` process over a data directory (default: fhir_fixtures/population),
then measures, in the same run:

* single-patient ``Measure/[id]/$evaluate-measure`` latency over HTTP (p50, p95, max) for N
  patients drawn with a fixed seed, after one warm-up call that compiles the measure, beside the
  in-process time of the same calculation (``MeasureCalculator.evaluate`` on the record), so the
  HTTP, parameter and rendering overhead is a ratio measured on the same machine at the same time;
* a population run: ``reportType=population`` synchronously, and the same with
  ``Prefer: respond-async`` (kick-off answered at once, then polled), beside ``pedqm evaluate`` on
  the same data (which also reads and indexes the data and compiles the measure; the server did
  both before).

Usage: python tools/benchmark_server.py [--measure childhood-immunization] [--n 200] [--data DIR] [--seed 7]
"""

from __future__ import annotations

import argparse
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "engine"))

import httpx  # noqa: E402


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _pedqm(*args: str) -> list[str]:
    return [sys.executable, "-c", "import sys; from pedqm.cli import main; sys.exit(main())", *args]


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT / "engine") + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    return env


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--measure", default="childhood-immunization")
    ap.add_argument("--data", type=Path, default=ROOT / "fhir_fixtures" / "population")
    ap.add_argument("--n", type=int, default=200, help="single-patient requests (default 200)")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--start", default="2025-01-01")
    ap.add_argument("--end", default="2025-12-31")
    args = ap.parse_args(argv)

    from pedqm.fhir.sources import FileSource
    from pedqm.measure import load_measure
    from pedqm.measure.calculator import MeasureCalculator, measurement_period

    source = FileSource(args.data)
    ids = source.patient_ids()
    chosen = random.Random(args.seed).sample(ids, min(args.n, len(ids)))
    period = {"periodStart": args.start, "periodEnd": args.end}

    with tempfile.TemporaryDirectory() as tmp:
        port = _free_port()
        log = Path(tmp) / "server.log"
        t0 = time.perf_counter()
        proc = subprocess.Popen(_pedqm("serve", "--data", str(args.data), "--port", str(port), "--db", f"{tmp}/b.sqlite"),
                                stdout=log.open("wb"), stderr=subprocess.STDOUT, env=_env(), cwd=ROOT)
        base = f"http://127.0.0.1:{port}"
        try:
            with httpx.Client(base_url=base, timeout=3600) as c:
                while True:
                    try:
                        if c.get("/metadata").status_code == 200:
                            break
                    except httpx.HTTPError:
                        if proc.poll() is not None:
                            print(log.read_text(), file=sys.stderr)
                            return 1
                        time.sleep(0.1)
                startup = time.perf_counter() - t0
                url = f"/Measure/{args.measure}/$evaluate-measure"
                t = time.perf_counter()
                r = c.get(url, params={**period, "subject": f"Patient/{chosen[0]}"})
                r.raise_for_status()
                first = time.perf_counter() - t
                http_ms = []
                for pid in chosen:
                    t = time.perf_counter()
                    r = c.get(url, params={**period, "subject": f"Patient/{pid}"})
                    http_ms.append(1000 * (time.perf_counter() - t))
                    r.raise_for_status()

                calc = MeasureCalculator(load_measure(args.measure), measurement_period(args.start, args.end),
                                         shared=source.shared_resources())
                lib_ms = []
                for pid in chosen:
                    rec = source.patient(pid)
                    assert rec is not None
                    t = time.perf_counter()
                    calc.evaluate(rec)
                    lib_ms.append(1000 * (time.perf_counter() - t))

                t = time.perf_counter()
                r = c.get(url, params={**period, "reportType": "population"})
                r.raise_for_status()
                sync_s = time.perf_counter() - t
                t = time.perf_counter()
                kick = c.get(url, params={**period, "reportType": "population"}, headers={"Prefer": "respond-async"})
                kick_ms = 1000 * (time.perf_counter() - t)
                status_url = kick.headers["content-location"]
                while c.get(status_url).status_code == 202:
                    time.sleep(0.2)
                async_s = time.perf_counter() - t
                n_patients = r.json()["group"][0]["population"][0]["count"]
        finally:
            proc.terminate()
            proc.wait(timeout=30)
        t = time.perf_counter()
        cli = subprocess.run(_pedqm("evaluate", args.measure, "--data", str(args.data), "--period", args.start, args.end,
                                    "--report-type", "summary", "--no-progress", "--output", f"{tmp}/cli.json"),
                             capture_output=True, text=True, env=_env(), cwd=ROOT)
        cli_s = time.perf_counter() - t
        if cli.returncode != 0:
            print(cli.stderr, file=sys.stderr)

    print(f"measure {args.measure}, data {args.data} ({len(ids)} patients), {len(chosen)} single-patient requests, seed {args.seed}")
    print(f"server start-up (index data, load catalog) until /metadata answers: {startup:.2f} s")
    print(f"first $evaluate-measure (compiles the measure): {first * 1000:.0f} ms")
    print(f"single patient over HTTP:  p50 {statistics.median(http_ms):.1f} ms  p95 {_pct(http_ms, 0.95):.1f} ms  "
          f"max {max(http_ms):.1f} ms")
    print(f"same calculation in-process: p50 {statistics.median(lib_ms):.1f} ms  p95 {_pct(lib_ms, 0.95):.1f} ms  "
          f"(HTTP/in-process p50 ratio {statistics.median(http_ms) / max(statistics.median(lib_ms), 1e-9):.1f})")
    print(f"population ({len(ids)} patients, initial population {n_patients}): sync {sync_s:.1f} s "
          f"({len(ids) / sync_s:.0f} patients/s); async kick-off {kick_ms:.0f} ms, result after {async_s:.1f} s; "
          f"`pedqm evaluate` (cold: reads, compiles) {cli_s:.1f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

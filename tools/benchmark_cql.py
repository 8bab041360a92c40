"""CQL engine benchmark (a script, not a timed test).

1. Compile time of the largest CQL library in the published eCQM packages (../shared/ecqm):
   parse, resolve (with its includes) and compile; best of N runs, and parse alone as baseline.
2. Evaluations per second of a representative expression mix (arithmetic, dates, intervals,
   lists, queries, strings), each compiled once and evaluated in fresh evaluation requests.

Usage: python tools/benchmark_cql.py [--runs N] [--seconds S]
"""

from __future__ import annotations

import argparse
import base64
import json
import statistics
import sys
import time
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "engine"))

from pedqm.cql import LibraryManager  # noqa: E402
from pedqm.cql.library import compile_expression  # noqa: E402
from pedqm.cql.parser import parse_library  # noqa: E402

ECQM = ROOT.parent / "shared" / "ecqm"

MIX = [
    "(1 + 2) * 3 - 4 / 2",
    "Round(Abs(-16.25) + Floor(2.7), 1)",
    "DateTime(2025, 3, 15) + 3 months - 10 days",
    "months between @2021-06-15 and @2025-02-01",
    "Interval[@2025-01-01, @2025-12-31] overlaps Interval[@2024-06-01, @2025-02-01]",
    "@2025-05-05T10:00:00 same day as @2025-05-05T23:00:00",
    "Interval[1, 10] intersect Interval[5, 15]",
    "collapse { Interval[1, 5], Interval[3, 9], Interval[12, 15] }",
    "Sum({1, 2, 3, 4, 5, 6, 7, 8, 9, 10})",
    "from ({1, 2, 3, 4, 5, 6, 7, 8, 9, 10}) X where X mod 2 = 0 return X * X",
    "({5, 3, 8, 1}) X sort desc",
    "Upper('well child visit') + ' ' + Substring('pediatric', 0, 3)",
    "5 'mg' + 250 'ug' > 5.1 'mg'",
    "Tuple { name: 'x', age: 4 }.age >= 3",
    "if Count({1, null, 3}) > 1 then 'many' else 'few'",
]


def largest_library() -> tuple[str, str, dict[tuple[str, str | None], str]]:
    sources: dict[tuple[str, str | None], str] = {}
    for bundle in sorted(ECQM.glob("*/measure-bundle.json")):
        for entry in json.loads(bundle.read_text())["entry"]:
            res = entry["resource"]
            if res["resourceType"] != "Library":
                continue
            for c in res.get("content", []):
                if c.get("contentType") == "text/cql":
                    sources[(res["name"], res.get("version"))] = base64.b64decode(c["data"]).decode()
    (name, _), text = max(sources.items(), key=lambda kv: len(kv[1]))
    return name, text, sources


def bench_compile(runs: int) -> None:
    name, text, sources = largest_library()

    def lookup(lib: str, version: str | None) -> tuple[str, str] | None:
        for (n, v), t in sources.items():
            if n == lib and (version is None or v == version):
                return t, n
        return None

    parse_times, compile_times = [], []
    for _ in range(runs):
        t0 = time.perf_counter()
        parse_library(text, name)
        parse_times.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        try:
            LibraryManager(lookup).compile(text, name)
            ok = "ok"
        except Exception as exc:  # noqa: BLE001 - report and keep measuring
            ok = f"failed: {str(exc).splitlines()[0][:120]}"
        compile_times.append(time.perf_counter() - t0)
    lines = text.count("\n") + 1
    print(f"largest library: {name} ({lines} lines, {len(text)} chars)")
    print(f"  parse only         best {min(parse_times) * 1000:8.1f} ms   median {statistics.median(parse_times) * 1000:8.1f} ms")
    print(f"  parse+resolve+compile (with includes) best {min(compile_times) * 1000:8.1f} ms"
          f"   median {statistics.median(compile_times) * 1000:8.1f} ms   [{ok}]")
    print(f"  ratio compile/parse: {min(compile_times) / min(parse_times):.2f}x")


def bench_eval(seconds: float) -> None:
    libs = [compile_expression(e) for e in MIX]
    tracemalloc.start()
    n = 0
    t0 = time.perf_counter()
    deadline = t0 + seconds
    while time.perf_counter() < deadline:
        for lib in libs:
            lib.evaluate("$expression", lib.context(timezone_offset=0))
            n += 1
    elapsed = time.perf_counter() - t0
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    # baseline in the same run: the cheapest possible evaluation (a literal)
    base = compile_expression("1")
    m = 0
    b0 = time.perf_counter()
    while time.perf_counter() < b0 + seconds / 3:
        base.evaluate("$expression", base.context(timezone_offset=0))
        m += 1
    base_rate = m / (time.perf_counter() - b0)
    rate = n / elapsed
    print(f"expression mix ({len(MIX)} expressions): {rate:,.0f} evaluations/s "
          f"(literal baseline {base_rate:,.0f}/s; mix costs {base_rate / rate:.1f}x a literal); "
          f"peak traced memory {peak / 1e6:.1f} MB")


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--seconds", type=float, default=3.0)
    args = ap.parse_args()
    if ECQM.is_dir():
        bench_compile(args.runs)
    else:
        print(f"(skipping compile benchmark: {ECQM} not found)")
    bench_eval(args.seconds)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

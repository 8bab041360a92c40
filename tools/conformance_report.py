"""Print the CQL conformance pass rate per XML file (and overall).

Usage: python tools/conformance_report.py [--failures] [--file STEM]
Reads ../shared/cql-tests beside the repo. Cases that do not apply to CQL 1.5 (versionTo < 1.5)
are counted separately and excluded from the rate.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter, defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "engine"))

from tests.cql.conformance_suite import Outcome, load_cases, run_case  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--failures", action="store_true", help="list every failing case with detail")
    ap.add_argument("--file", help="only this XML file stem")
    ap.add_argument("--ids", action="store_true", help="print failing ids with one-line details")
    args = ap.parse_args()
    per_file: dict[str, Counter[str]] = defaultdict(Counter)
    failures = []
    for case in load_cases():
        if args.file and case.file != args.file:
            continue
        if not case.applies:
            per_file[case.file]["n/a"] += 1
            continue
        outcome, detail = run_case(case)
        per_file[case.file][outcome] += 1
        if outcome != Outcome.PASS:
            failures.append((case, outcome, detail))
    total: Counter[str] = Counter()
    print(f"{'file':40} {'pass':>5} {'total':>5} {'rate':>7} {'crash':>5} {'n/a':>4}")
    for name, c in sorted(per_file.items()):
        n = sum(v for k, v in c.items() if k != "n/a")
        total.update(c)
        print(f"{name:40} {c[Outcome.PASS]:5} {n:5} {100 * c[Outcome.PASS] / max(n, 1):6.1f}% {c[Outcome.CRASH]:5} {c['n/a']:4}")
    n = sum(v for k, v in total.items() if k != "n/a")
    print(f"{'ALL':40} {total[Outcome.PASS]:5} {n:5} {100 * total[Outcome.PASS] / max(n, 1):6.1f}% {total[Outcome.CRASH]:5} {total['n/a']:4}")
    if args.failures or args.ids:
        for case, outcome, detail in failures:
            first = detail.splitlines()[0] if detail else ""
            if args.ids:
                print(f"{case.id} [{outcome}] {first[:200]}")
            else:
                print(f"\n== {case.id} [{outcome}]\n   {case.expression[:300]}\n   {detail[:1000]}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

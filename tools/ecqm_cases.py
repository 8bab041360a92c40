"""Run every published eCQM test case in ../shared/ecqm in both retrieve modes, print a table per
deck, and (with --update) rewrite tests/measure/known_case_mismatches.txt so that it lists
exactly the cases that do not match.

    python tools/ecqm_cases.py                 # table: deck, cases, matched per mode
    python tools/ecqm_cases.py --update        # also refresh the known-mismatch list
    python tools/ecqm_cases.py --deck CMS69 -v # one deck, each failing case with its difference

Reasons already written in the list are kept for cases that still fail; a newly failing case
gets an `open: (not yet diagnosed)` reason built from its difference (regenerated on each
update), to be replaced by what is known of its cause.
A case that now passes leaves the list (the strict xfail would fail otherwise).
"""

from __future__ import annotations

import argparse
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ECQM = ROOT.parent / "shared" / "ecqm"
KNOWN = ROOT / "tests" / "measure" / "known_case_mismatches.txt"
MODES = ("default", "tags")
_AUTO = "open: (not yet diagnosed)"


def _run_deck(deck: str) -> list[tuple[str, str, str | None]]:
    """(case, mode, difference or None) for every case of one deck."""
    from pedqm.measure import MeasurePackage
    from pedqm.measure.calculator import MeasureCalculator, measurement_period
    from pedqm.measure.testing import run_case

    mdir = ECQM / deck
    cases = sorted(p for p in (mdir / "cases").iterdir() if p.is_dir())
    out: list[tuple[str, str, str | None]] = []
    for mode in MODES:
        try:
            pkg = MeasurePackage.load(mdir / "measure-bundle.json")
            start, end = pkg.measure.effective_period
            calc = MeasureCalculator(pkg, measurement_period(start, end, 0), require_profile_tags=mode == "tags")
        except Exception as exc:  # noqa: BLE001 - a deck that does not load fails all its cases
            first = str(exc).splitlines()[0]
            out.extend((c.name, mode, f"the package does not compile: {first}") for c in cases)
            continue
        for case in cases:
            try:
                r = run_case(calc, case)
            except Exception as exc:  # noqa: BLE001
                out.append((case.name, mode, f"{type(exc).__name__}: {exc}".splitlines()[0]))
                continue
            if r.passed:
                out.append((case.name, mode, None))
            elif r.error:
                out.append((case.name, mode, r.error.splitlines()[0]))
            else:
                diff = ", ".join(f"group {m.group + 1} {m.population}{' [' + m.stratum + ']' if m.stratum else ''} "
                                 f"expected {m.expected} got {m.actual}" for m in r.mismatches)
                out.append((case.name, mode, diff))
    return out


def _read_known() -> tuple[list[str], dict[str, str]]:
    header, entries = [], {}
    for line in KNOWN.read_text(encoding="utf-8").splitlines():
        if line.startswith("#") or not line.strip():
            if not entries:
                header.append(line)
            continue
        key, _, reason = line.partition(" ")
        entries[key] = reason.strip()
    return header, entries


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--deck", action="append", help="only decks whose folder name contains this (repeatable)")
    ap.add_argument("--update", action="store_true", help="rewrite the known-mismatch list")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("-v", "--verbose", action="store_true", help="print each failing case")
    args = ap.parse_args(argv)
    decks = sorted(p.name for p in ECQM.glob("*/") if (p / "measure-bundle.json").is_file())
    if args.deck:
        decks = [d for d in decks if any(s in d for s in args.deck)]
    if args.update and args.deck:
        ap.error("--update needs every deck (no --deck)")
    t0 = time.perf_counter()
    results: dict[str, list[tuple[str, str, str | None]]] = {}
    with ProcessPoolExecutor(max_workers=max(1, args.workers)) as pool:
        for deck, res in zip(decks, pool.map(_run_deck, decks)):
            results[deck] = res
    total = {m: [0, 0] for m in MODES}
    print(f"{'deck':60} {'cases':>6} {'default':>8} {'tags':>8}")
    for deck, res in results.items():
        n = len(res) // len(MODES)
        ok = {m: sum(1 for _, mm, d in res if mm == m and d is None) for m in MODES}
        for m in MODES:
            total[m][0] += ok[m]
            total[m][1] += n
        print(f"{deck[:60]:60} {n:6} {ok['default']:8} {ok['tags']:8}")
        if args.verbose:
            for case, mode, diff in res:
                if diff is not None:
                    print(f"    {mode:7} {case}: {diff}")
    print(f"{'all':60} {total['default'][1]:6} {total['default'][0]:8} {total['tags'][0]:8}"
          f"   ({time.perf_counter() - t0:.0f} s)")
    if args.update:
        header, known = _read_known()
        failing: dict[str, dict[str, str]] = {}
        for deck, res in results.items():
            for case, mode, diff in res:
                if diff is not None:
                    failing.setdefault(f"{deck}/{case}", {})[mode] = diff
        lines = list(header)
        for key in sorted(failing):
            modes = failing[key]
            suffixes = [""] if set(modes) == set(MODES) else [f"@{m}" for m in MODES if m in modes]
            for suffix in suffixes:
                old = known.get(key + suffix) or known.get(key) or (known.get(f"{key}@default") if not suffix else None)
                if old and old.startswith(_AUTO):
                    old = None  # a generated reason is regenerated; a written one is kept
                diff = modes.get(suffix[1:] if suffix else "default") or ""
                lines.append(f"{key}{suffix} {old or _AUTO + ' ' + diff}")
        KNOWN.write_text("\n".join(lines) + "\n", encoding="utf-8")
        print(f"{KNOWN.relative_to(ROOT)}: {len(lines) - len(header)} entries")
    return 0


if __name__ == "__main__":
    sys.exit(main())

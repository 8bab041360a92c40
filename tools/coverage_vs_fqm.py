"""pedqm's clause coverage over a published deck next to fqm-execution's calculateClauseCoverage.

fqm-execution counts a clause per ELM node with a localId (literals, aliases, property paths and
value set references included) in the definitions relevant for some patient, functions left out;
pedqm counts decisions (operators, references, queries, retrieves, conditionals). The two are
compared on the clauses both have: an fqm clause is matched to the pedqm clause of the same
library whose span is the translator's locator (ELM annotations carry line:column-line:column).

Usage: python tools/coverage_vs_fqm.py DECK_DIR [--cases N] [--json]
"""

from __future__ import annotations

import argparse
import base64
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "engine"))
sys.path.insert(0, str(ROOT / "tools" / "oracles"))


def elm_locators(bundle: dict[str, Any]) -> dict[str, dict[str, tuple[int, int, int, int]]]:
    """library name -> localId -> (line, column, end line, end column exclusive) from the ELM."""
    out: dict[str, dict[str, tuple[int, int, int, int]]] = {}
    for e in bundle.get("entry") or []:
        r = e.get("resource") or {}
        if r.get("resourceType") != "Library":
            continue
        for c in r.get("content") or []:
            if c.get("contentType") == "application/elm+json" and c.get("data"):
                elm = json.loads(base64.b64decode(c["data"]))
                name = elm["library"]["identifier"]["id"]
                found = out.setdefault(name, {})
                stack: list[Any] = [elm]
                while stack:
                    x = stack.pop()
                    if isinstance(x, dict):
                        if "localId" in x and isinstance(x.get("locator"), str):
                            a, _, b = x["locator"].partition("-")
                            l1, c1 = (int(v) for v in a.split(":"))
                            l2, c2 = (int(v) for v in (b or a).split(":"))
                            found[str(x["localId"])] = (l1, c1, l2, c2 + 1)
                        stack.extend(v for k, v in x.items() if k != "annotation")
                    elif isinstance(x, list):
                        stack.extend(x)
    return out


def fqm_coverage(deck: Path, cases: list[Path], period: tuple[str, str]) -> dict[str, Any]:
    from fqm import case_bundle, oracle_available

    if not oracle_available():
        raise SystemExit("fqm-execution is not installed (.oracles/node_modules)")
    req = {"measure_bundle": str((deck / "measure-bundle.json").resolve()), "patients": [case_bundle(c) for c in cases],
           "options": {"measurementPeriodStart": period[0], "measurementPeriodEnd": period[1]}}
    out = subprocess.run(["node", str(ROOT / "tools" / "oracles" / "fqm_coverage.mjs")], input=json.dumps(req),
                         capture_output=True, text=True, check=False)
    response: dict[str, Any] = json.loads(out.stdout or "{}")
    if not response.get("ok"):
        raise RuntimeError(f"fqm-execution: {response.get('error') or out.stderr[-2000:]}")
    return response


def pedqm_coverage(deck: Path, cases_dir: Path) -> Any:
    from pedqm.explain.coverage import Coverage
    from pedqm.explain.instrument import TracedCalculator
    from pedqm.measure import load_measure
    from pedqm.measure.testing import run_cases

    holder: list[Coverage] = []

    def make(*a: Any, **kw: Any) -> TracedCalculator:
        calc = TracedCalculator(*a, **kw)
        cov = Coverage(calc)
        calc.listeners.append(cov.add)
        holder.append(cov)
        return calc

    package = load_measure(deck / "measure-bundle.json")
    run_cases(package, cases_dir, calculator=make)
    return holder[0]


def compare(deck: Path, limit: int = 0) -> dict[str, Any]:
    import shutil
    import tempfile

    bundle = json.loads((deck / "measure-bundle.json").read_text(encoding="utf-8"))
    measure = next(e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Measure")
    period = (measure["effectivePeriod"]["start"], measure["effectivePeriod"]["end"])
    cases = sorted(p for p in (deck / "cases").iterdir() if p.is_dir())
    if limit:
        cases = cases[:limit]
    with tempfile.TemporaryDirectory() as tmp:  # the same cases for both engines
        for c in cases:
            shutil.copytree(c, Path(tmp) / c.name)
        ours = pedqm_coverage(deck, Path(tmp))
    theirs = fqm_coverage(deck, cases, period)
    locators = elm_locators(bundle)
    groups = list(theirs["details"])
    # fqm-execution's denominator: clauses of relevant, non-function statements (per group; the
    # union over groups here, as pedqm reports one coverage for the measure)
    relevant = {(s["library"], s["statement"]) for g in groups for s in theirs["statements"].get(g, [])
                if s["relevant"] and not s["isFunction"]}
    fqm_clauses: dict[tuple[str, str], dict[str, Any]] = {}
    for g in groups:
        for c in theirs["clauses"].get(g, []):
            if (c["library"], c["statement"]) in relevant:
                e = fqm_clauses.setdefault((c["library"], c["localId"]), {**c, "finals": {}})
                for k, v in c["finals"].items():
                    e["finals"][k] = e["finals"].get(k, 0) + v
    # pedqm's clauses of definitions (functions left out, as fqm-execution leaves them out)
    ours_by_span = {}
    for c in ours.clauses:
        if c.owner_kind == "definition":
            s = c.span
            ours_by_span[(c.library, s.line, s.column, s.end_line, s.end_column)] = c
    matched, agree, differ, unmatched = 0, 0, [], 0
    for (lib, local_id), c in fqm_clauses.items():
        loc = locators.get(lib, {}).get(local_id)
        mine = ours_by_span.get((lib, *loc)) if loc else None
        if mine is None:
            unmatched += 1
            continue
        matched += 1
        fqm_true = bool(c["finals"].get("TRUE"))
        our_true = ours.counts[mine.index].status == "TRUE"
        if fqm_true == our_true:
            agree += 1
        else:
            results = dict(ours.counts[mine.index].results)
            differ.append({"library": lib, "statement": c["statement"], "localId": local_id, "span": str(mine.span),
                           "fqm": c["finals"], "pedqm": results, "class": _classify(fqm_true, results)})
    defs = [c for c in ours.clauses if c.owner_kind == "definition"]
    n_ours, total_ours = ours.covered(defs)
    return {
        "deck": deck.name, "cases": len(cases),
        "fqm": {g: {k: d[k] for k in ("totalClauseCount", "coveredClauseCount")} for g, d in theirs["details"].items()},
        "pedqm": {"covered": n_ours, "clauses": total_ours},
        "matched": matched, "agree": agree, "unmatched_fqm_clauses": unmatched, "differences": differ,
    }


def _classify(fqm_true: bool, ours: dict[str, int]) -> str:
    """Why the covered status differs. cql-execution evaluates both operands of `and` / `or`;
    pedqm stops at the first that decides (as the spec allows), so a clause behind a false
    conjunct is UNHIT in pedqm where fqm-execution can find it true."""
    if fqm_true and ours.get("UNHIT"):
        return "short-circuit"
    return "other"


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("deck", type=Path)
    ap.add_argument("--cases", type=int, default=0, help="the first N cases only")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    r = compare(args.deck, args.cases)
    if args.json:
        print(json.dumps(r, indent=2))
        return 0
    print(f"{r['deck']}: {r['cases']} cases")
    for g, d in r["fqm"].items():
        print(f"  fqm-execution group {g}: {d['coveredClauseCount']}/{d['totalClauseCount']} clauses covered")
    print(f"  pedqm (definitions): {r['pedqm']['covered']}/{r['pedqm']['clauses']} clauses covered")
    print(f"  fqm clauses matched to a pedqm clause by span: {r['matched']} (unmatched: {r['unmatched_fqm_clauses']}); "
          f"covered status agrees on {r['agree']}")
    for d in r["differences"]:
        print(f"    differs ({d['class']}): {d['library']}.{d['statement']} {d['span']} fqm {d['fqm']} pedqm {d['pedqm']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

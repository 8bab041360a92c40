"""`pedqm list`: the measures in the bundled measure library."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from ..measure.library_index import library_root, measure_dirs


def register(sub: Any) -> None:
    p = sub.add_parser("list", help="list the measures in the measure library", description=__doc__)
    p.add_argument("--json", action="store_true")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    rows = []
    for d in measure_dirs():
        try:
            m = json.loads((d / "measure.json").read_text(encoding="utf-8"))
        except ValueError as exc:
            print(f"{d}/measure.json: {exc}", file=sys.stderr)
            continue
        scoring = ((m.get("scoring") or {}).get("coding") or [{}])[0].get("code", "")
        rows.append({"id": d.name, "title": m.get("title") or m.get("name"), "scoring": scoring})
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    if not rows:
        print(f"no measures found in {library_root() or 'measure_library/'}")
        return 0
    width = max(len(r["id"]) for r in rows)
    for r in rows:
        print(f"{r['id']:<{width}}  {r['scoring']:<20}  {r['title']}")
    return 0

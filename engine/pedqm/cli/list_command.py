"""`pedqm list`: the measures in the bundled measure library."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from ..measure.library_index import library_root, measure_dirs
from .arguments import add_json_option, check_output, write_json


def register(sub: Any) -> None:
    p = sub.add_parser("list", help="list the measures in the measure library", description=__doc__)
    add_json_option(p, "the list (id, title, scoring, basis, groups)")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    rows = []
    for d in measure_dirs():
        try:
            m = json.loads((d / "measure.json").read_text(encoding="utf-8"))
        except ValueError as exc:
            print(f"{d}/measure.json: {exc}", file=sys.stderr)
            continue
        from ..measure.definition import MeasureDef

        try:
            groups = MeasureDef.from_resource(m).groups
            scoring = " + ".join(dict.fromkeys(g.scoring for g in groups))
            basis = " + ".join(dict.fromkeys(g.basis for g in groups))
        except ValueError as exc:
            print(f"{d}/measure.json: {exc}", file=sys.stderr)
            continue
        rows.append({"id": d.name, "title": m.get("title") or m.get("name"), "scoring": scoring, "basis": basis,
                     "groups": len(groups)})
    if args.json:
        check_output(args.json, "--json")
        write_json(args.json, json.dumps(rows, indent=2))
        if args.json == "-":
            return 0
    if not rows:
        print(f"no measures found in {library_root() or 'measure_library/'}")
        return 0
    width = max(len(r["id"]) for r in rows + [{"id": "MEASURE"}])
    scoring_w = max(len(r["scoring"]) for r in rows + [{"scoring": "SCORING"}])
    print(f"{'MEASURE':<{width}}  {'SCORING':<{scoring_w}}  {'BASIS':<9}  TITLE")
    for r in rows:
        print(f"{r['id']:<{width}}  {r['scoring']:<{scoring_w}}  {r['basis']:<9}  {r['title']}")
    return 0

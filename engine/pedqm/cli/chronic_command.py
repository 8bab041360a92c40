"""`pedqm chronic`: flag children with chronic conditions (CCC v2/v3, PMCA, CCIR), one row each.

Output: CSV with --output FILE.csv (NDJSON with explanations for FILE.ndjson; "-" for stdout),
otherwise a readable table. --explain prints, for every patient, each flag's rule and the codes,
resources and dates behind it. Exit codes: 0 ok, 2 bad usage or data that cannot be read.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from ..chronic import (
    ALGORITHMS,
    ChronicResult,
    CodeListError,
    classify_records,
    columns,
    make_window,
)
from ..chronic.snomed_map import SnomedIcdMap, SnomedMapError
from ..chronic.window import parse_as_of
from ..fhir.records import ResourceIssue
from ..fhir.sources import format_issue_summary
from .arguments import check_output
from .data_options import add_data_arguments, open_patients
from .errors import EXIT_OK, UsageError
from .progress import PatientProgress, add_progress_options, known_total


def register(sub: Any) -> None:
    p = sub.add_parser("chronic", help="flag chronic conditions per patient (CCC, PMCA, CCIR)", description=__doc__,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    add_data_arguments(p)
    add_progress_options(p)
    p.add_argument("--algorithm", "-a", required=True, choices=list(ALGORITHMS),
                   help="ccc-v2, ccc-v3 (Complex Chronic Conditions 2014/2024), pmca, ccir")
    p.add_argument("--as-of", metavar="DATE",
                   help="end of the measurement period (YYYY-MM-DD); codes after it are ignored (default: all dates)")
    p.add_argument("--lookback-years", type=int, metavar="N",
                   help="years of data before --as-of to use (default 3; needs --as-of)")
    p.add_argument("--output", "-o", metavar="FILE",
                   help="write CSV (or NDJSON with explanations if FILE ends .ndjson/.jsonl); '-' is stdout")
    p.add_argument("--explain", action="store_true", help="print why every flag is set: rule, codes, resources, dates")
    p.add_argument("--data-counts", action="store_true",
                   help="add columns icd_codes and snomed_only_conditions (ICD codes used; Conditions coded only in SNOMED CT)")
    p.add_argument("--snomed-map", type=Path, metavar="FILE",
                   help="a SNOMED CT -> ICD-10-CM map (NLM's extended map release file, which needs a UMLS licence, "
                        "or a two-column CSV snomed,icd10cm) so that Conditions coded only in SNOMED CT are classified; "
                        "adds the column mapped_codes (true when a flag rests on a mapped code)")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    try:
        as_of = parse_as_of(args.as_of) if args.as_of else None
        window = make_window(as_of, args.lookback_years)
    except ValueError as exc:
        option = "--as-of" if args.as_of and "as-of" in str(exc) else "--lookback-years"
        raise UsageError(f"{option}: {exc}") from exc
    check_output(args.output)
    snomed_map = None
    if args.snomed_map is not None:
        try:
            snomed_map = SnomedIcdMap.load(args.snomed_map)
        except SnomedMapError as exc:
            raise UsageError(f"--snomed-map: {exc}") from exc
    source = open_patients(args)
    handle = _open_output(args.output)
    progress = PatientProgress(args, "chronic", known_total(source))
    try:
        results = classify_records(progress.wrap(source.patients()), args.algorithm, as_of, args.lookback_years,
                                   snomed_map)
        stats = _write(results, args, handle)
    except CodeListError as exc:
        raise CodeListError(f"{exc} (pedqm's code lists are damaged: reinstall pedqm)") from exc
    finally:
        progress.close()
        if handle is not None and handle is not sys.stdout:
            handle.close()
    _summary(stats, args, window, source.issues)
    return EXIT_OK


def _open_output(path: str | None) -> IO[str] | None:
    """The output file, opened before any data is read so a bad path fails at once."""
    if path is None:
        return None
    if path == "-":
        return sys.stdout
    return open(path, "w", newline="", encoding="utf-8")  # noqa: SIM115 - closed by run()


# -- rendering ---------------------------------------------------------------------------------

def _header(args: argparse.Namespace) -> list[str]:
    return [*columns(args.algorithm), *(("icd_codes", "snomed_only_conditions") if args.data_counts else ()),
            *(("mapped_codes",) if args.snomed_map is not None else ())]


def _row(result: ChronicResult, args: argparse.Namespace) -> list[Any]:
    extra: list[Any] = [result.data.icd_codes, result.data.snomed_only_conditions] if args.data_counts else []
    if args.snomed_map is not None:
        extra.append("true" if result.rests_on_mapped_codes else "false")
    return [*result.row(), *extra]


def _write(results: Iterator[ChronicResult], args: argparse.Namespace, handle: IO[str] | None) -> Counter[str]:
    """Write every result where asked (streaming to a file); return stratum counts."""
    stats: Counter[str] = Counter()
    if handle is None:
        collected = []
        for r in results:
            _count(stats, r)
            collected.append(r)
        _print_table(collected, args)
        if args.explain:
            for r in collected:
                print()
                print(r.explain_text())
        return stats
    as_json = args.output.lower().endswith((".ndjson", ".jsonl"))
    writer = None if as_json else csv.writer(handle, lineterminator="\n")
    if writer is not None:
        writer.writerow(_header(args))
    explain_to = sys.stderr if handle is sys.stdout else sys.stdout
    for r in results:
        _count(stats, r)
        if writer is not None:
            writer.writerow(_row(r, args))
        else:
            handle.write(json.dumps(r.to_dict()) + "\n")
        if args.explain:
            print(r.explain_text() + "\n", file=explain_to)
    return stats


def _count(stats: Counter[str], r: ChronicResult) -> None:
    stats[r.stratum_label] += 1
    stats["patients"] += 1
    if not r.has_icd_data and r.data.snomed_only_conditions:
        stats["snomed_only"] += 1


def _brief(r: ChronicResult) -> list[str]:
    """The terminal view: the class and what is flagged, rather than dozens of 0/1 columns."""
    f = r.flags
    if not r.has_icd_data:  # no ICD-coded data in the window: every flag is unknown, never 0
        return ["unknown"] * (3 if r.algorithm.startswith("ccc") or r.algorithm == "pmca" else len(ALGORITHMS[r.algorithm].columns))

    def text(v: object) -> str:
        return "unknown" if v is None else str(v)

    if r.algorithm.startswith("ccc"):
        cats = [c for c in ALGORITHMS["ccc-v2"].columns[:10] if f[c]]
        if r.algorithm.startswith("ccc-v3"):
            cats = [next(f"{c} ({v})" for v in ("dxpr_only", "tech_only", "dxpr_and_tech") if f[f"{c}_{v}"]) for c in cats]
        flagged = ", ".join(cats + [k for k in ("tech_dep", "transplant") if f[k]])
        return [text(f["ccc_flag"]), text(f["num_ccc"]), flagged or "-"]
    if r.algorithm == "pmca":
        systems = [c for c in ALGORITHMS["pmca"].columns[2:] if f[c]]
        return [text(f["pmca_less"]), text(f["pmca_more"]), ", ".join(systems) or "-"]
    return [text(f[c]) for c in ALGORITHMS[r.algorithm].columns]


def _data_note(r: ChronicResult) -> str:
    if r.has_icd_data:
        return f"{r.data.icd_codes} ICD"
    if r.data.snomed_only_conditions:
        return f"no ICD data ({r.data.snomed_only_conditions} SNOMED-only)"
    return "no ICD data"


def _print_table(results: list[ChronicResult], args: argparse.Namespace) -> None:
    if args.algorithm.startswith("ccc"):
        head = ["patient_id", "ccc_flag", "num_ccc", "flagged"]
    elif args.algorithm == "pmca":
        head = ["patient_id", "pmca_less", "pmca_more", "flagged"]
    else:
        head = list(columns(args.algorithm))
    head.append("data")
    rows = [[r.patient_id, *_brief(r), _data_note(r)] for r in results]
    widths = [max([len(h)] + [len(row[i]) for row in rows]) for i, h in enumerate(head)]
    print("  ".join(h.ljust(w) for h, w in zip(head, widths)).rstrip())
    print("  ".join("-" * w for w in widths))
    for row in rows:
        print("  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip())


def _summary(stats: Counter[str], args: argparse.Namespace, window: Any, issues: list[ResourceIssue]) -> None:
    n = stats.pop("patients", 0)
    snomed = stats.pop("snomed_only", 0)
    where = f"; wrote {args.output}" if args.output not in (None, "-") else ""
    scope = f"window {window}" if window else "all dates"
    parts = ", ".join(f"{label} {count}" for label, count in sorted(stats.items()))
    print(f"{n} patient{'s' if n != 1 else ''} ({args.algorithm}, {scope}): {parts or 'none'}{where}", file=sys.stderr)
    if snomed:
        print(f"{snomed} patient{'s' if snomed != 1 else ''} had conditions coded only in SNOMED CT and no ICD codes: "
              "'no_icd_data' means unknown, not healthy", file=sys.stderr)
    if issues:
        print(f"data: {format_issue_summary(issues)}; first: {issues[0]}", file=sys.stderr)

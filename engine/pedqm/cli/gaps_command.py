"""`pedqm gaps`: a practice's care-gap worklist: which child has which gap, by when.

Evaluates proportion measures (default: every proportion measure in the library) over --data and
lists each patient whose gap status is one asked for (default: open gaps), one row per patient and
measure: patient id, name, birth date, general practitioner, measure, status, and the date the
gap must be closed by (the end of the Measurement Period). The statuses follow DEQM's care-gaps
rules (`pedqm.measure.gaps`): a child outside the denominator is not-applicable, never open.
"""

from __future__ import annotations

import argparse
import csv
import io
import sys
from pathlib import Path
from typing import Any

from ..measure import evaluate_measure, load_measure
from ..measure.gaps import GAP_STATUSES, is_proportion, patient_gap
from ..measure.library_index import measure_dirs
from .arguments import check_output, check_period
from .data_options import add_data_arguments, open_patients
from .errors import EXIT_OK, UsageError

COLUMNS = ("patient", "name", "birthDate", "generalPractitioner", "measure", "status", "dueBy")


def register(sub: Any) -> None:
    p = sub.add_parser("gaps", help="care-gap worklist: each child's open gaps per measure", description=__doc__)
    p.add_argument("measures", nargs="*", help="measure ids, bundles or directories (default: every proportion measure in the library)")
    add_data_arguments(p)
    p.add_argument("--period", nargs=2, metavar=("START", "END"), help="the Measurement Period (default: each Measure's effectivePeriod)")
    p.add_argument("--status", action="append", choices=[s for s in GAP_STATUSES if s != "prospective-gap"],
                   help="statuses to list (repeatable; default open-gap)")
    p.add_argument("--format", choices=("table", "csv"), default=None, help="table (default on a terminal) or csv")
    p.add_argument("--output", "-o", type=Path, help="write here instead of standard output")
    p.set_defaults(run=run)


def _name(patient: dict[str, Any]) -> str:
    for n in patient.get("name") or []:
        given = " ".join(n.get("given") or [])
        text = n.get("text") or f"{given} {n.get('family', '')}".strip()
        if text:
            return str(text)
    return ""


class _Remembering:
    """The data source, remembering each Patient resource read (for the worklist's columns)."""

    def __init__(self, source: Any):
        self.source = source
        self.seen: dict[str, dict[str, Any]] = {}
        self.issues = getattr(source, "issues", [])

    def patients(self) -> Any:
        for record in self.source.patients():
            self.seen[record.patient_id] = record.patient or {}
            yield record

    def shared_resources(self) -> Any:
        return self.source.shared_resources()


def worklist(args: argparse.Namespace) -> list[dict[str, str]]:
    period = check_period(args.period, 0)
    specs = args.measures or [str(d) for d in measure_dirs()]
    packages = [load_measure(m) for m in specs]
    chosen = [p for p in packages if is_proportion(p.measure)]
    if args.measures and len(chosen) != len(packages):
        others = [p.source for p in packages if not is_proportion(p.measure)]
        raise UsageError(f"care gaps apply to proportion measures; not: {', '.join(others)}")
    statuses = set(args.status or ["open-gap"])
    rows: list[dict[str, str]] = []
    source = _Remembering(open_patients(args))
    for package in chosen:
        result = evaluate_measure(package, source, period, keep_subjects=True)
        patients = source.seen
        due = (period or package.measure.effective_period)[1] or ""
        label = package.measure.resource.get("id") or package.measure.label
        for r in result.subject_results:
            status = patient_gap(package.measure, r)
            if status in statuses:
                p = patients.get(r.subject_id, {})
                gp = ", ".join(str(x.get("reference", "")) for x in p.get("generalPractitioner") or [])
                rows.append({"patient": r.subject_id, "name": _name(p), "birthDate": str(p.get("birthDate", "")),
                             "generalPractitioner": gp, "measure": str(label), "status": str(status), "dueBy": due})
    return rows


def run(args: argparse.Namespace) -> int:
    check_output(args.output)
    rows = worklist(args)
    fmt = args.format or ("csv" if args.output or not sys.stdout.isatty() else "table")
    if fmt == "csv":
        buf = io.StringIO()
        writer = csv.DictWriter(buf, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
        text = buf.getvalue()
    else:
        from rich.console import Console
        from rich.table import Table

        table = Table(title=f"care gaps ({len(rows)})")
        for c in COLUMNS:
            table.add_column(c)
        for row in rows:
            table.add_row(*(row[c] for c in COLUMNS))
        console = Console(file=io.StringIO(), width=200, record=True)
        console.print(table)
        text = console.export_text()
    if args.output:
        args.output.write_text(text, encoding="utf-8")
        print(f"wrote {args.output} ({len(rows)} rows)", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return EXIT_OK

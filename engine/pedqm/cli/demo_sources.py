"""`pedqm demo --sources all`: how each library measure's practice rates change when the care
children received elsewhere is read with the practice's record.

The bundled population's children are generated again with their other places of care
(:mod:`pedqm.synth.sources`: school-based health centre, urgent care, food bank), from the same
seed, into a scratch directory; every library measure then runs twice, over the practice's
data alone and over all sources linked, and each practice's score is shown side by side. A
child is counted for the practice that names it (``Patient.managingOrganization`` of the linked
record, which is the practice's own Patient); children known only to another source are not any
practice's.
"""

from __future__ import annotations

import io
import re
import sys
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from ..fhir.records import PatientRecord
from ..fhir.sources import FileSource
from ..fhir.sources.provenance import NamedSource
from ..linkage import LinkedSource
from ..measure.driver import RunResult
from ..measure.library_run import run_library
from ..synth import SynthConfig
from ..synth.sources import generate_sources, parse_sources

PRACTICE_ORG = re.compile(r"org-p\d+$")  # the generator's practice Organizations (org-p01, ...)


def run_sources_demo(packages: dict[str, Any], sources_text: str, *, patients: int = 3000, seed: int = 2025) -> int:
    from rich.console import Console
    from rich.table import Table

    sources = parse_sources(sources_text)
    with tempfile.TemporaryDirectory(prefix="pedqm-demo-sources-") as tmp:
        out = Path(tmp)
        print(f"generating {', '.join(sources)} for {patients} children (seed {seed}) ...", file=sys.stderr)
        generate_sources(SynthConfig(patients=patients, seed=seed, gzip=False), out, sources)
        practice = FileSource(out / "practice")
        alone = run_library(packages, practice)
        linked = LinkedSource([NamedSource(s, FileSource(out / s)) for s in sources])
        together = run_library(packages, _PracticeChildren(linked))
        console = Console(file=io.StringIO(), width=150, record=True)
        console.print(linked.linkage.summary())
        console.print(linked.duplicate_summary())
        practices = sorted({k for entities in alone.by_entity.values() for k in entities if PRACTICE_ORG.match(k)})
        for mid, pkg in packages.items():
            if mid not in alone.overall or mid not in together.overall:
                continue
            groups = alone.overall[mid].definition.groups
            for gi, group in enumerate(groups):
                label = f", group {group.id or gi + 1}" if len(groups) > 1 else ""
                table = Table(title=f"{mid}{label}: {pkg.measure.label}", title_justify="left")
                for col in ("practice", "denominator", "score: practice data", "denominator", "score: all sources",
                            "change"):
                    table.add_column(col, justify="left" if col == "practice" else "right")
                for org in practices:
                    table.add_row(alone.entity_name(org), *_cells(alone, together, mid, org, gi))
                table.add_row("All practices", *_cells(alone, together, mid, None, gi), style="bold")
                console.print(table)
        sys.stdout.write(console.export_text())
        linked.close()
        practice.close()
    return 0


def _result(run: RunResult, mid: str, org: str | None) -> Any:
    return run.overall[mid] if org is None else run.by_entity.get(mid, {}).get(org)


def _practice_of(record: PatientRecord) -> str:
    """The practice the child's linked record names (the practice's own Patient's managingOrganization)."""
    ref = ((record.patient or {}).get("managingOrganization") or {}).get("reference")
    return ref.split("/", 1)[1] if isinstance(ref, str) and ref.startswith("Organization/") else ""


class _PracticeChildren:
    """The linked sources with the practices' children only: a child known only to a school,
    urgent care or food bank is no practice's, and stays out of every row (and of "All
    practices")."""

    def __init__(self, linked: LinkedSource):
        self.linked = linked
        self.issues = linked.issues

    def patients(self) -> Iterator[PatientRecord]:
        return (r for r in self.linked.patients() if PRACTICE_ORG.match(_practice_of(r)))

    def shared_resources(self) -> Iterable[Any]:
        return self.linked.shared_resources()


def _cells(alone: RunResult, together: RunResult, mid: str, org: str | None, group: int) -> list[str]:
    a, b = _result(alone, mid, org), _result(together, mid, org)
    out: list[str] = []
    scores: list[float | None] = []
    for r in (a, b):
        denominator = r.count(group, "denominator") if r is not None else 0
        score = r.measure_score(group) if r is not None else None
        scores.append(score)
        out += [str(denominator), "" if score is None else f"{score:.3f}"]
    before, after = scores
    change = "" if before is None or after is None else f"{after - before:+.3f}"
    return [*out, change]

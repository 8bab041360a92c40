"""The linkage outcome written as FHIR, and the review file of uncertain pairs.

``linkage_bundle`` is a ``collection`` Bundle, as a master patient index would publish it: for
each child, the linked Patient (``link`` type ``seealso`` to every source record, by an identifier
naming the source) and, for each source record, a copy of that source's Patient with ``link``
type ``replaced-by`` pointing at the linked one, plus an extension saying which rule linked it.
"""

from __future__ import annotations

import copy
import csv
from pathlib import Path
from typing import Any

from ..fhir.sources.provenance import tag_source
from .merge import linked_patient
from .source import Linkage

LINK_METHOD_EXTENSION = "http://pedqm.org/fhir/StructureDefinition/linkage-method"


def linkage_bundle(linkage: Linkage) -> dict[str, Any]:
    how: dict[tuple[str, str], str] = {}
    for link in linkage.links:
        for key in (link.a, link.b):
            how.setdefault(key, f"{link.method}: {link.detail}")
    entries: list[dict[str, Any]] = []
    for members, gid in zip(linkage.clusters, linkage.golden_ids):
        golden = linked_patient(gid, [(k, linkage.patients[k]) for k in members])
        entries.append({"fullUrl": f"urn:pedqm:linked:Patient/{gid}", "resource": golden})
        for source, pid in members:
            record = copy.deepcopy(linkage.patients[(source, pid)])
            tag_source(record, source)
            record["link"] = [*(record.get("link") or []),
                              {"other": {"reference": f"Patient/{gid}"}, "type": "replaced-by"}]
            if (source, pid) in how:
                record.setdefault("extension", []).append({"url": LINK_METHOD_EXTENSION,
                                                           "valueString": how[(source, pid)]})
            entries.append({"fullUrl": f"urn:pedqm:source:{source}:Patient/{pid}", "resource": record})
    return {"resourceType": "Bundle", "type": "collection", "entry": entries}


def write_review(linkage: Linkage, path: Path) -> int:
    """The pairs to review as CSV (one row per pair); returns how many."""
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["match_probability", "source_a", "patient_a", "source_b", "patient_b", "agreeing_fields",
                    "name_a", "name_b", "birth_date_a", "birth_date_b"])
        for p in linkage.review:
            a, b = linkage.patients[p.a], linkage.patients[p.b]
            w.writerow([f"{p.probability:.4f}", p.a[0], p.a[1], p.b[0], p.b[1], p.agreement,
                        _name(a), _name(b), a.get("birthDate", ""), b.get("birthDate", "")])
    return len(linkage.review)


def _name(patient: dict[str, Any]) -> str:
    n: dict[str, Any] = next(iter(patient.get("name") or []), {})
    return " ".join([*(n.get("given") or []), n.get("family") or ""]).strip()

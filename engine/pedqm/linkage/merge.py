"""One child's record from the records several sources hold for them.

The merged record is what measures see: one Patient (the *linked record*: the first source's
Patient, in ``--data`` order, with every source's identifiers and a ``Patient.link`` of type
``seealso`` to each source record), and every source's resources with their patient references
pointed at it. An event recorded by two sources (the same identifier, or the same content:
see :func:`.keys.content_key`) is kept once, the first source's copy, carrying both sources'
tags; references to the dropped copy are pointed at the kept one. Ids that two sources both use
for different resources are made distinct (``<id>-<source>``) in the merged record.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ..fhir.records import PatientRecord, Resource
from ..fhir.sources.provenance import SOURCE_TAG_SYSTEM, sources_of, tag_source
from .keys import PatientKey, content_key, identifier_keys

SOURCE_RECORD_SYSTEM = "urn:pedqm:data-source"  # Reference.identifier.system prefix naming a source record


@dataclass(frozen=True)
class Duplicate:
    """A resource recorded by two sources and kept once."""

    resource_type: str
    kept: str  # "source:Type/id" of the copy kept
    dropped: str  # "source:Type/id" of the copy collapsed into it
    how: str  # "identifier system|value" or "content"
    patient: str  # the linked record's Patient id


def source_reference(source: str, pid: str) -> dict[str, Any]:
    """A Reference to a source's Patient record, by identifier (the source is not a server)."""
    return {"type": "Patient", "identifier": {"system": f"{SOURCE_RECORD_SYSTEM}:{source}", "value": pid},
            "display": f"Patient/{pid} in {source}"}


def linked_patient(golden_id: str, members: Sequence[tuple[PatientKey, Resource]]) -> Resource:
    """The linked Patient: the first member's, with all members' identifiers and links to them."""
    primary = copy.deepcopy(members[0][1])
    primary["id"] = golden_id
    seen = set(identifier_keys(primary))
    idents = list(primary.get("identifier") or [])
    for _, patient in members[1:]:
        for ident in patient.get("identifier") or []:
            keys = identifier_keys({"identifier": [ident]})
            if keys and keys[0] not in seen:
                seen.add(keys[0])
                idents.append(copy.deepcopy(ident))
        for name in sources_of(patient):
            tag_source(primary, name)
    if idents:
        primary["identifier"] = idents
    if len(members) > 1 or golden_id != members[0][0][1]:
        primary["link"] = [{"other": source_reference(src, pid), "type": "seealso"} for (src, pid), _ in members]
    return primary


def _rewrite(node: Any, renames: dict[str, str]) -> None:
    if isinstance(node, dict):
        ref = node.get("reference")
        if isinstance(ref, str):
            target = renames.get(ref)
            if target is None and "/" in ref:
                parts = ref.split("/")
                if len(parts) >= 2:
                    target = renames.get("/".join(parts[-2:]))
            if target is not None:
                node["reference"] = target
        for value in node.values():
            if isinstance(value, dict | list):
                _rewrite(value, renames)
    elif isinstance(node, list):
        for value in node:
            if isinstance(value, dict | list):
                _rewrite(value, renames)


def merge_records(golden_id: str, members: Sequence[tuple[PatientKey, PatientRecord]]) -> tuple[PatientRecord, list[Duplicate]]:
    """The merged record of one child from its source records (in source order)."""
    patients = [(key, record.patient or {"resourceType": "Patient", "id": key[1]}) for key, record in members]
    merged = PatientRecord(golden_id)
    merged.add(linked_patient(golden_id, patients))
    if len(members) == 1 and golden_id == members[0][0][1]:  # one source record, nothing to rename
        for r in members[0][1].resources:
            if r.get("resourceType") != "Patient":
                merged.add(r)
        return merged, []
    duplicates: list[Duplicate] = []
    taken: dict[str, str] = {}  # "Type/id" in the merged record -> source that holds it
    seen: dict[str, tuple[str, Resource]] = {}  # identifier / content key -> (source, kept resource)
    plan: list[tuple[str, Resource, dict[str, str]]] = []
    renames_of: dict[str, dict[str, str]] = {}
    for (source, pid), record in members:
        renames = renames_of.setdefault(source, {})
        renames[f"Patient/{pid}"] = f"Patient/{golden_id}"
        for r in record.resources:
            rtype = r.get("resourceType")
            if rtype == "Patient":
                continue
            local = f"{rtype}/{r.get('id')}"
            keys = [f"{rtype}#id#{k}" for k in identifier_keys(r)]
            ckey = content_key(r)
            if ckey is not None:
                keys.append(f"#content#{ckey}")
            first = next((seen[k] for k in keys if k in seen and seen[k][0] != source), None)
            if first is not None:
                kept_source, kept = first
                how = next((k.split("#id#", 1)[1] for k in keys if "#id#" in k and k in seen), "content")
                kept_ref = f"{kept['resourceType']}/{kept['id']}"
                renames[local] = kept_ref
                for name in sources_of(r) or [source]:
                    tag_source(kept, name)
                duplicates.append(Duplicate(str(rtype), f"{kept_source}:{kept_ref}", f"{source}:{local}",
                                            how if how == "content" else f"identifier {how}", golden_id))
                continue
            if local in taken and taken[local] != source:
                new_id = f"{r.get('id')}-{source}"[:64]
                renames[local] = f"{rtype}/{new_id}"
                r["id"] = new_id
                local = f"{rtype}/{new_id}"
            taken[local] = source
            for k in keys:
                seen.setdefault(k, (source, r))
            plan.append((source, r, renames))
    for _source, r, renames in plan:
        _rewrite(r, renames)
        merged.add(r)
    return merged, duplicates


__all__ = ["SOURCE_TAG_SYSTEM", "Duplicate", "linked_patient", "merge_records", "source_reference"]

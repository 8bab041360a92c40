"""What identifies a child and an event across sources: identifier keys, link targets, content keys.

Deterministic linkage and duplicate collapsing both reduce a resource to keys that two sources
would compute alike for the same thing: ``system|value`` of an identifier (a Medicaid member id,
a referral number), the target of a ``Patient.link``, or, for clinical events without a shared
identifier, the event's content (type, status, codes, the time as written, the value).
"""

from __future__ import annotations

import json
from typing import Any

from ..fhir.records import Resource

PatientKey = tuple[str, str]  # (source name, Patient id in that source)


def identifier_keys(resource: Resource, systems: frozenset[str] | None = None) -> list[str]:
    """``system|value`` of each identifier that has both (only ``systems`` when given)."""
    out: list[str] = []
    for ident in resource.get("identifier") or []:
        if not isinstance(ident, dict):
            continue
        system, value = ident.get("system"), ident.get("value")
        if isinstance(system, str) and isinstance(value, str) and system and value.strip():
            if systems is None or system in systems:
                out.append(f"{system}|{value.strip()}")
    return out


def link_targets(patient: Resource) -> list[tuple[str | None, str]]:
    """Each ``Patient.link.other`` as (base URL or None for a relative reference, Patient id),
    or ("identifier", "system|value") when the link names the other record by identifier."""
    out: list[tuple[str | None, str]] = []
    for link in patient.get("link") or []:
        other = link.get("other") if isinstance(link, dict) else None
        if not isinstance(other, dict):
            continue
        ref = other.get("reference")
        if isinstance(ref, str) and "Patient/" in ref:
            base, _, pid = ref.rpartition("Patient/")
            pid = pid.split("/_history", 1)[0]
            if pid:
                out.append((base.rstrip("/") or None, pid))
            continue
        keys = identifier_keys({"identifier": [other.get("identifier")]}) if isinstance(other.get("identifier"), dict) else []
        out.extend(("identifier", k) for k in keys)
    return out


_CODE_FIELDS = ("code", "vaccineCode", "medicationCodeableConcept", "type")
_TIME_FIELDS = ("effectiveDateTime", "occurrenceDateTime", "performedDateTime", "onsetDateTime", "authoredOn",
                "recordedDate", "issued", "date")
_PERIOD_FIELDS = ("effectivePeriod", "performedPeriod", "period", "executionPeriod", "occurrencePeriod")
_VALUE_FIELDS = ("valueQuantity", "valueCodeableConcept", "valueInteger", "valueString", "valueBoolean",
                 "valueDateTime")


def _codes(value: Any) -> list[str]:
    concepts = value if isinstance(value, list) else [value]
    found = set()
    for c in concepts:
        for coding in (c or {}).get("coding") or [] if isinstance(c, dict) else []:
            if isinstance(coding, dict) and coding.get("code"):
                found.add(f"{coding.get('system', '')}|{coding['code']}")
    return sorted(found)


def content_key(resource: Resource) -> str | None:
    """The event a clinical resource records, independent of ids, references and ``meta``: its
    type, status, codes, the time as written and its value. None when it has no code or no time
    (then it is not compared by content: two such resources are not known to be one event)."""
    rtype = resource.get("resourceType")
    codes: list[str] = []
    for name in _CODE_FIELDS:
        if name in resource:
            codes = _codes(resource[name])
            if codes:
                break
    when = next((resource[n] for n in _TIME_FIELDS if isinstance(resource.get(n), str)), None)
    if when is None:
        when = next((resource[n].get("start") for n in _PERIOD_FIELDS if isinstance(resource.get(n), dict)), None)
    if not codes or not when or rtype == "Patient":
        return None
    value = next(((n, resource[n]) for n in _VALUE_FIELDS if n in resource), None)
    if value is not None and value[0] == "valueCodeableConcept":
        value = (value[0], _codes(value[1]))
    elif value is not None and value[0] == "valueQuantity" and isinstance(value[1], dict):
        value = (value[0], [value[1].get("value"), value[1].get("code") or value[1].get("unit")])
    return json.dumps([rtype, resource.get("status"), codes, when, value], separators=(",", ":"), default=str)

"""Small builders for the FHIR R4 JSON the generator writes (plain dicts, compact and uniform)."""

from __future__ import annotations

import datetime as _dt
from typing import Any

from .codes import (
    CONDITION_CATEGORY,
    CONDITION_CLINICAL,
    CONDITION_VER,
    OBSERVATION_CATEGORY,
    UCUM,
    Code,
)

Resource = dict[str, Any]

# Every event happens in clinic hours of a fixed US Eastern standard offset, so that a local date
# and its UTC date are the same day and day-boundary logic in measures is never ambiguous.
OFFSET = "-05:00"


def instant(day: _dt.date, minutes: int) -> str:
    """A FHIR dateTime at ``minutes`` after local midnight on ``day`` (kept within 06:00-18:59)."""
    minutes = min(max(minutes, 6 * 60), 19 * 60 - 1)
    return f"{day.isoformat()}T{minutes // 60:02d}:{minutes % 60:02d}:00{OFFSET}"


def concept(*codes: Code, text: str | None = None) -> dict[str, Any]:
    """A CodeableConcept of ``codes``; its text is the first code's description unless given."""
    return {"coding": [{"system": c.system, "code": c.code} for c in codes], "text": text or codes[0].text}


def coding(system: str, code: str, display: str | None = None) -> dict[str, str]:
    out = {"system": system, "code": code}
    if display:
        out["display"] = display
    return out


def ref(resource_type: str, rid: str) -> dict[str, str]:
    return {"reference": f"{resource_type}/{rid}"}


def quantity(value: float, unit: str, code: str | None = None) -> dict[str, Any]:
    return {"value": value, "unit": unit, "system": UCUM, "code": code or unit}


def observation_category(code: str) -> list[dict[str, Any]]:
    return [{"coding": [coding(OBSERVATION_CATEGORY, code)]}]


def condition(rid: str, patient: str, code: Code, *, category: str, onset: str, recorded: str | None = None,
              abatement: str | None = None, encounter: str | None = None) -> Resource:
    """A confirmed Condition; ``abatement`` makes it resolved (else active)."""
    res: Resource = {
        "resourceType": "Condition", "id": rid,
        "clinicalStatus": {"coding": [coding(CONDITION_CLINICAL, "resolved" if abatement else "active")]},
        "verificationStatus": {"coding": [coding(CONDITION_VER, "confirmed")]},
        "category": [{"coding": [coding(CONDITION_CATEGORY, category)]}],
        "code": concept(code),
        "subject": ref("Patient", patient),
    }
    if encounter:
        res["encounter"] = ref("Encounter", encounter)
    res["onsetDateTime"] = onset
    if abatement:
        res["abatementDateTime"] = abatement
    res["recordedDate"] = recorded or onset
    return res

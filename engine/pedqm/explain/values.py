"""Short, stable descriptions of run-time values and FHIR resources for explanations."""

from __future__ import annotations

import re
from typing import Any

from ..cql import to_cql
from ..fhir.navigation import FhirNode
from ..fhir.sources.provenance import sources_of

# where a resource says when it happened, in the order to try (the first present wins)
_DATE_PATHS = ("occurrenceDateTime", "performedDateTime", "performedPeriod.start", "effectiveDateTime",
               "effectivePeriod.start", "onsetDateTime", "onsetPeriod.start", "period.start", "authoredOn",
               "recordedDate", "issued", "birthDate", "dateAsserted", "date", "created")
_CODE_PATHS = ("vaccineCode", "code", "medicationCodeableConcept", "type", "category")


def _get(data: dict[str, Any], path: str) -> Any:
    value: Any = data
    for step in path.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(step)
    return value


def resource_summary(value: Any) -> dict[str, Any] | None:
    """{'ref': 'Immunization/1', 'date': '2024-02-11', 'code': 'CVX 20', 'status': ...} for a
    resource; None for any other value."""
    data = value.data if isinstance(value, FhirNode) else value
    if not isinstance(data, dict) or not isinstance(data.get("resourceType"), str):
        return None
    out: dict[str, Any] = {"ref": f"{data['resourceType']}/{data.get('id', '?')}"}
    for path in _DATE_PATHS:
        d = _get(data, path)
        if isinstance(d, str):
            out["date"] = d[:10] if len(d) >= 10 else d
            break
    for path in _CODE_PATHS:
        cc = data.get(path)
        if isinstance(cc, list):
            cc = cc[0] if cc else None
        if isinstance(cc, dict):
            coding = [c for c in cc.get("coding") or [] if isinstance(c, dict)]
            if coding:
                system = str(coding[0].get("system") or "").rstrip("/").rsplit("/", 1)[-1]
                out["code"] = f"{system} {coding[0].get('code')}".strip()
                if coding[0].get("display"):
                    out["display"] = str(coding[0]["display"])
            elif cc.get("text"):
                out["code"] = str(cc["text"])
            break
    if isinstance(data.get("status"), str):
        out["status"] = data["status"]
    places = sources_of(data)
    if places:  # read from several named sources: say where the care was recorded
        out["source"] = ", ".join(places)
    return out


def describe_resource(summary: dict[str, Any]) -> str:
    """`Immunization/1 2024-02-11 CVX 20 completed (from school)`: the source named when the
    data came from several places of care (`--data NAME=SOURCE`)."""
    parts = [summary["ref"]]
    parts += [summary[k] for k in ("date", "code", "status") if summary.get(k)]
    if summary.get("source"):
        parts.append(f"(from {summary['source']})")
    return " ".join(parts)


def short_value(value: Any, limit: int = 80) -> str:
    """A value as an author reads it: true/false/null, a count of a list, a literal."""
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, list):
        if not value:
            return "empty list"
        first = resource_summary(value[0])
        noun = _plural(first["ref"].split("/")[0], len(value)) if first else ("item" if len(value) == 1 else "items")
        return f"{len(value)} {noun}"
    summary = resource_summary(value)
    if summary is not None:
        return describe_resource(summary)
    if isinstance(value, FhirNode):
        return str(value.data)[:limit]
    try:
        text = to_cql(value)
    except Exception:  # noqa: BLE001 - a value with no literal form is still shown
        text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _plural(resource_type: str, n: int) -> str:
    words = re.sub(r"(?<!^)(?=[A-Z])", " ", resource_type).lower()
    return words if n == 1 else words + "s"


def noun(resource_type: str, n: int) -> str:
    """'immunization' / 'immunizations', 'medication request(s)': how a sentence counts resources."""
    return _plural(resource_type, n)

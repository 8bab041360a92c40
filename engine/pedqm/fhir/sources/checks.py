"""The checks a resource passes before it reaches a patient record, and the issue it becomes if not.

Every source runs the same checks, so a bad resource is reported the same way wherever it came
from: the resource is skipped, an issue says where it was and why, and the run goes on. Messages
start with a fixed reason ("invalid date: ...") so :func:`summarize_issues` can count them.
"""

from __future__ import annotations

import calendar
import re
from collections import Counter
from collections.abc import Iterable
from typing import Any

from ..records import ResourceIssue
from . import element_types as et
from .resource_types import R4_RESOURCE_TYPES

# Reasons, as they start issue messages.
INVALID_JSON = "invalid JSON"
NOT_A_RESOURCE = "not a resource"
UNKNOWN_TYPE = "unknown resourceType"
MISSING_ID = "missing id"
INVALID_ID = "invalid id"
INVALID_DATE = "invalid date"
WRONG_JSON_TYPE = "wrong JSON type"
UNRESOLVED_REFERENCE = "unresolved reference"
SERVER_REPORTED = "server reported"

_ID = re.compile(r"[A-Za-z0-9\-.]{1,64}")
_DATE = r"(?P<y>\d{4})(?:-(?P<mo>\d{2})(?:-(?P<d>\d{2})"
_TIME = r"(?P<h>\d{2}):(?P<mi>\d{2})(?::(?P<s>\d{2})(?:\.\d+)?)?"
_TZ = r"(?P<tz>Z|[+-](?P<tzh>\d{2}):(?P<tzm>\d{2}))?"
# Lenient where parsing is unambiguous (seconds and offset may be absent): the point is to stop
# values nobody can read, not to police precision.
_PATTERNS = {
    et.DATE: re.compile(_DATE + r")?)?"),
    et.DATETIME: re.compile(_DATE + r"(?:T" + _TIME + _TZ + r")?)?)?"),
    et.INSTANT: re.compile(_DATE + r"T" + _TIME + _TZ + r"))"),
    et.TIME: re.compile(_TIME),
}


def issue(location: str, resource: Any, reason: str, detail: str, *, skipped: bool = True) -> ResourceIssue:
    """A ResourceIssue whose message starts with ``reason`` (what the summary counts)."""
    rtype = resource.get("resourceType") if isinstance(resource, dict) else None
    rid = resource.get("id") if isinstance(resource, dict) else None
    return ResourceIssue(
        location=location,
        resource_type=rtype if isinstance(rtype, str) else None,
        resource_id=rid if isinstance(rid, str) else None,
        message=f"{reason}: {detail}" if detail else reason,
        skipped=skipped,
    )


def summarize_issues(issues: Iterable[ResourceIssue]) -> Counter[str]:
    """Skipped resources counted by reason, e.g. ``{"invalid date": 2, "missing id": 1}``."""
    return Counter(i.message.split(":", 1)[0] for i in issues if i.skipped)


def format_issue_summary(issues: Iterable[ResourceIssue]) -> str:
    """One line for a run's report: ``3 resources skipped (2 invalid date, 1 missing id)``."""
    counts = summarize_issues(issues)
    total = sum(counts.values())
    if not total:
        return "no resources skipped"
    parts = ", ".join(f"{n} {reason}" for reason, n in counts.most_common())
    return f"{total} resource{'s' if total != 1 else ''} skipped ({parts})"


def _valid_temporal(kind: str, value: str) -> bool:
    m = _PATTERNS[kind].fullmatch(value)
    if not m:
        return False
    g = m.groupdict()
    if g.get("y") is not None:
        year = int(g["y"])
        if year < 1:
            return False
        if g.get("mo") is not None:
            month = int(g["mo"])
            if not 1 <= month <= 12:
                return False
            if g.get("d") is not None and not 1 <= int(g["d"]) <= calendar.monthrange(year, month)[1]:
                return False
    if g.get("h") is not None:
        if int(g["h"]) > 23 or int(g["mi"]) > 59 or (g.get("s") is not None and int(g["s"]) > 60):
            return False
    if g.get("tzh") is not None and (int(g["tzh"]) > 14 or int(g["tzm"]) > 59):
        return False
    return True


def _json_name(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if value is None:
        return "null"
    return "object"


def _value_problem(kind: str, value: Any, where: str) -> tuple[str, str] | None:
    if kind in _PATTERNS:
        if not isinstance(value, str):
            return WRONG_JSON_TYPE, f"{where} should be a {kind} string, not {_json_name(value)}"
        if not _valid_temporal(kind, value):
            return INVALID_DATE, f"{where} = {value!r} is not a valid FHIR {kind}"
        return None
    if kind == et.STRING:
        ok = isinstance(value, str)
    elif kind == et.BOOLEAN:
        ok = isinstance(value, bool)
    elif kind == et.INTEGER:
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif kind == et.DECIMAL:
        ok = isinstance(value, int | float) and not isinstance(value, bool)
    else:
        ok = isinstance(value, dict)
    if not ok:
        wanted = "object" if kind in (et.COMPLEX, et.RESOURCE) else kind
        return WRONG_JSON_TYPE, f"{where} should be {wanted}, not {_json_name(value)}"
    return None


def _elements_problem(node: dict[str, Any], model: Any, where: str) -> tuple[str, str] | None:
    table = et.element_table(model)
    for key, value in node.items():
        spec = table.get(key)
        if spec is None:  # resourceType, primitive extensions (_x), elements R4B does not know
            continue
        kind, is_list, sub = spec
        if is_list:
            if not isinstance(value, list):
                return WRONG_JSON_TYPE, f"{where}.{key} should be an array, not {_json_name(value)}"
            items: list[Any] = value
        elif isinstance(value, list):
            return WRONG_JSON_TYPE, f"{where}.{key} should be a single value, not an array"
        else:
            items = [value]
        for item in items:
            if item is None and is_list:  # nulls keep primitive arrays aligned with _extensions
                continue
            problem = _value_problem(kind, item, f"{where}.{key}")
            if problem is None and kind == et.COMPLEX:
                problem = _elements_problem(item, sub, f"{where}.{key}")
            elif problem is None and kind == et.RESOURCE:
                problem = resource_problem(item, f"{where}.{key}")
            if problem is not None:
                return problem
    return None


def resource_problem(resource: Any, where: str | None = None, *, elements: bool = True) -> tuple[str, str] | None:
    """Why ``resource`` cannot be used, as (reason, detail), or None when it passes.

    ``elements=False`` checks the type and id only, for data already known to be well formed.
    """
    if not isinstance(resource, dict):
        return NOT_A_RESOURCE, f"expected a JSON object, got {_json_name(resource)}"
    rtype = resource.get("resourceType")
    if not isinstance(rtype, str) or not rtype:
        return NOT_A_RESOURCE, "no resourceType"
    if rtype not in R4_RESOURCE_TYPES:
        return UNKNOWN_TYPE, f"{rtype!r} is not a FHIR R4 resource type"
    rid = resource.get("id")
    if rid is None or rid == "":
        return MISSING_ID, f"{rtype} has no id"
    if not isinstance(rid, str) or not _ID.fullmatch(rid):
        return INVALID_ID, f"{rid!r} is not a valid FHIR id"
    model = et.resource_model(rtype) if elements else None
    if model is None:
        return None
    return _elements_problem(resource, model, where or rtype)


def check_resource(resource: Any, location: str, *, elements: bool = True) -> ResourceIssue | None:
    """The issue that skips ``resource``, or None when it may be used."""
    problem = resource_problem(resource, elements=elements)
    return None if problem is None else issue(location, resource, *problem)

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
from typing import Any, cast

from ..records import ResourceIssue
from . import element_types as et
from .resource_types import R4_RESOURCE_TYPES

# Reasons, as they start issue messages.
INVALID_JSON = "invalid JSON"
UNREADABLE_FILE = "unreadable file"
NOT_A_RESOURCE = "not a resource"
UNKNOWN_TYPE = "unknown resourceType"
MISSING_ID = "missing id"
INVALID_ID = "invalid id"
INVALID_DATE = "invalid date"
WRONG_JSON_TYPE = "wrong JSON type"
UNRESOLVED_REFERENCE = "unresolved reference"
NO_PATIENT = "no Patient resource"
NOT_ONE_PATIENT = "not one patient"
DUPLICATE_PATIENT = "duplicate Patient"
SERVER_REPORTED = "server reported"

_ID = re.compile(r"[A-Za-z0-9\-.]{1,64}")
# Ranges are in the patterns, so one fullmatch decides all but the length of a month.
# Lenient where parsing is unambiguous (seconds and offset may be absent): the point is to stop
# values nobody can read, not to police precision.
_DATE = r"(?P<y>\d{4})(?:-(?P<mo>0[1-9]|1[0-2])(?:-(?P<d>0[1-9]|[12]\d|3[01])"
_TIME = r"(?:[01]\d|2[0-3]):[0-5]\d(?::(?:[0-5]\d|60)(?:\.\d+)?)?"
_TZ = r"(?:Z|[+-](?:0\d|1[0-3]):[0-5]\d|[+-]14:00)?"
_PATTERNS = {
    et.DATE: re.compile(_DATE + r")?)?"),
    et.DATETIME: re.compile(_DATE + r"(?:T" + _TIME + _TZ + r")?)?)?"),
    et.INSTANT: re.compile(_DATE + r"T" + _TIME + _TZ + r"))"),
    et.TIME: re.compile(_TIME),
}
_TEMPORAL = frozenset(_PATTERNS)
# The Python type each element kind must have in parsed JSON (bool is excluded from numbers below).
_PY_TYPES: dict[str, type | tuple[type, ...]] = {
    et.STRING: str,
    et.BOOLEAN: bool,
    et.INTEGER: int,
    et.DECIMAL: (int, float),
    et.COMPLEX: dict,
    et.RESOURCE: dict,
    **{kind: str for kind in _PATTERNS},
}
_NUMBERS = frozenset({et.INTEGER, et.DECIMAL})

def issue(location: str, resource: Any, reason: str, detail: str, *, skipped: bool = True, count: int = 1) -> ResourceIssue:
    """A ResourceIssue whose message starts with ``reason`` (what the summary counts); ``count``
    when one issue stands for several skipped resources."""
    rtype = resource.get("resourceType") if isinstance(resource, dict) else None
    rid = resource.get("id") if isinstance(resource, dict) else None
    return ResourceIssue(
        location=location,
        resource_type=rtype if isinstance(rtype, str) else None,
        resource_id=rid if isinstance(rid, str) else None,
        message=f"{reason}: {detail}" if detail else reason,
        skipped=skipped,
        count=count,
    )


def summarize_issues(issues: Iterable[ResourceIssue]) -> Counter[str]:
    """Skipped resources counted by reason, e.g. ``{"invalid date": 2, "missing id": 1}``."""
    counts: Counter[str] = Counter()
    for i in issues:
        if i.skipped:
            counts[i.message.split(":", 1)[0]] += i.count
    return counts


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
    if m is None:
        return False
    if kind == et.TIME:
        return True
    year = m.group("y")
    if year == "0000":
        return False
    day = m.group("d")
    if day is not None and day > "28":
        return int(day) <= calendar.monthrange(int(year), int(m.group("mo")))[1]
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


def _type_problem(kind: str, value: Any, where: str) -> tuple[str, str]:
    wanted = "object" if kind in (et.COMPLEX, et.RESOURCE) else f"a {kind} string" if kind in _TEMPORAL else kind
    return WRONG_JSON_TYPE, f"{where} should be {wanted}, not {_json_name(value)}"


def _elements_problem(node: dict[str, Any], model: Any, where: str) -> tuple[str, str] | None:
    """The first problem among ``node``'s elements (depth first), or None. Hot path: every
    resource passes here, so paths for messages are only built when something is wrong."""
    table = et.element_table(model)
    for key, value in node.items():
        spec = table.get(key)
        if spec is None:  # resourceType, primitive extensions (_x), elements R4B does not know
            continue
        kind, is_list, sub = spec
        if is_list:
            if value.__class__ is not list:
                return WRONG_JSON_TYPE, f"{where}.{key} should be an array, not {_json_name(value)}"
            items: list[Any] | tuple[Any] = value
        elif value.__class__ is list:
            return WRONG_JSON_TYPE, f"{where}.{key} should be a single value, not an array"
        else:
            items = (value,)
        pytype = _PY_TYPES[kind]
        for item in items:
            if not isinstance(item, pytype) or (item.__class__ is bool and kind in _NUMBERS):
                if item is None and is_list:  # nulls keep primitive arrays aligned with _extensions
                    continue
                return _type_problem(kind, item, f"{where}.{key}")
            item = cast(Any, item)  # its JSON type was just checked against the element's kind
            if kind == et.COMPLEX:
                problem = _elements_problem(item, sub, f"{where}.{key}")
            elif kind in _TEMPORAL:
                if _valid_temporal(kind, item):
                    continue
                problem = INVALID_DATE, f"{where}.{key} = {item!r} is not a valid FHIR {kind}"
            elif kind == et.RESOURCE:
                problem = resource_problem(item, f"{where}.{key}")
            else:
                continue
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

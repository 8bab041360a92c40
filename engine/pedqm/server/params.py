"""Operation parameters, read the same way from a GET query string and a POSTed Parameters resource.

An operation sees :class:`OperationParams`: each named value as a string (a primitive's
``value[x]`` or a reference's ``valueReference.reference``), and each resource parameter
(``additionalData``, ``subjectGroup``, ``bundle``) as its JSON. A parameter that is not allowed
by the operation, or given more often than it may be, is a 400 that names it.
"""

from __future__ import annotations

import datetime as _dt
import functools
import re
from typing import Any

from ..measure.calculator import measurement_period
from .errors import bad_request

_PRIMITIVE_KEYS = ("valueString", "valueCode", "valueUri", "valueUrl", "valueCanonical", "valueDate", "valueDateTime",
                   "valueInstant", "valueId", "valueBoolean", "valueInteger", "valueDecimal", "valueIdentifier")


class OperationParams:
    def __init__(self, values: dict[str, list[str]], resources: dict[str, list[dict[str, Any]]]):
        self.values = values
        self.resources = resources

    @classmethod
    def from_query(cls, items: list[tuple[str, str]]) -> OperationParams:
        values: dict[str, list[str]] = {}
        for k, v in items:
            if k.startswith("_") and k in ("_format", "_pretty"):
                continue
            values.setdefault(k, []).append(v)
        return cls(values, {})

    @classmethod
    def from_body(cls, body: Any) -> OperationParams:
        if not isinstance(body, dict) or body.get("resourceType") != "Parameters":
            found = body.get("resourceType") if isinstance(body, dict) else type(body).__name__
            raise bad_request(f"the request body must be a FHIR Parameters resource, found {found!r}")
        values: dict[str, list[str]] = {}
        resources: dict[str, list[dict[str, Any]]] = {}
        for p in body.get("parameter") or []:
            name = p.get("name")
            if not isinstance(name, str) or not name:
                raise bad_request("a Parameters.parameter has no name")
            if isinstance(p.get("resource"), dict):
                resources.setdefault(name, []).append(p["resource"])
                continue
            ref = p.get("valueReference")
            if isinstance(ref, dict) and ref.get("reference"):
                values.setdefault(name, []).append(str(ref["reference"]))
                continue
            for key in _PRIMITIVE_KEYS:
                if key in p:
                    v = p[key]
                    if key == "valueIdentifier":
                        v = f"{v.get('system', '')}|{v.get('value', '')}" if v.get("system") else str(v.get("value", ""))
                    elif key == "valueBoolean":
                        v = "true" if v else "false"
                    values.setdefault(name, []).append(str(v))
                    break
            else:
                raise bad_request(f"parameter {name!r} has no value this server reads (a primitive value[x], valueReference or resource)", name)
        return cls(values, resources)

    def check(self, allowed: dict[str, int | None], operation: str) -> None:
        """400 for a parameter the operation does not take, or one given too often
        (``allowed``: name -> max occurrences, None for unbounded)."""
        for name in list(self.values) + list(self.resources):
            if name not in allowed:
                known = ", ".join(sorted(allowed))
                raise bad_request(f"{operation}: unknown parameter {name!r} (this operation takes: {known})", name)
            n = len(self.values.get(name, [])) + len(self.resources.get(name, []))
            most = allowed[name]
            if most is not None and n > most:
                raise bad_request(f"{operation}: parameter {name!r} given {n} times; at most {most} allowed", name)

    def get(self, name: str) -> str | None:
        found = self.values.get(name)
        return found[0] if found else None

    def all(self, name: str, *, split: bool = False) -> list[str]:
        """Every value of ``name``; with ``split``, comma-separated values count as several
        (``measureId=a,b`` in a query string, as HAPI reads it)."""
        out: list[str] = []
        for v in self.values.get(name, []):
            if split:
                out.extend(x for x in (s.strip() for s in v.split(",")) if x)
            else:
                out.append(v)
        return out

    def resource(self, name: str) -> dict[str, Any] | None:
        found = self.resources.get(name)
        return found[0] if found else None

    def to_json(self) -> dict[str, Any]:
        """A JSON form kept with an asynchronous job (so a restarted server can say what it was)."""
        return {"values": self.values, "resources": {k: len(v) for k, v in self.resources.items()}}


_DATE = re.compile(r"^\d{4}(-\d{2}(-\d{2}(T.+)?)?)?$")


def _expand(text: str, end: bool) -> str:
    """A FHIR date of year or month precision widened to the day it starts or ends
    (``2025`` -> 2025-01-01 .. 2025-12-31), as the DEQM period parameters say."""
    if len(text) == 4:
        return f"{text}-12-31" if end else f"{text}-01-01"
    if len(text) == 7:
        year, month = int(text[:4]), int(text[5:7])
        if end:
            nxt = _dt.date(year + (month == 12), month % 12 + 1, 1)
            return (nxt - _dt.timedelta(days=1)).isoformat()
        return f"{text}-01"
    return text


def period(params: OperationParams, default: tuple[str | None, str | None]) -> tuple[str, str]:
    """periodStart/periodEnd (or the Measure's effectivePeriod), checked: 400 names what is wrong."""
    start, end = params.get("periodStart"), params.get("periodEnd")
    if (start is None) != (end is None):
        missing = "periodEnd" if end is None else "periodStart"
        raise bad_request(f"{missing} is missing: give both periodStart and periodEnd, or neither (the Measure's effectivePeriod)",
                          missing)
    if start is None or end is None:
        if not default[0] or not default[1]:
            raise bad_request("periodStart and periodEnd are required: the Measure has no effectivePeriod", "periodStart")
        start, end = default[0], default[1]
    for name, value in (("periodStart", start), ("periodEnd", end)):
        if not _DATE.match(value.strip()):
            raise bad_request(f"{name}: {value!r} is not a FHIR date or dateTime (e.g. 2025-01-01)", name)
    start, end = _expand(start.strip(), False), _expand(end.strip(), True)
    problem = _period_problem(start, end)
    if problem is not None:
        raise bad_request(problem, "periodStart")
    return start, end


@functools.lru_cache(maxsize=256)
def _period_problem(start: str, end: str) -> str | None:
    """Why ``start .. end`` is not a Measurement Period, or None (read once per distinct pair:
    building the interval compiles a CQL literal, too slow to repeat per request)."""
    try:
        interval = measurement_period(start, end)
    except Exception as exc:  # noqa: BLE001 - any parse failure is the client's bad date
        return f"periodStart/periodEnd: {start} .. {end} is not a valid period ({exc})"
    if interval.low is not None and interval.high is not None:
        from ..cql import evaluate

        if evaluate(f"{interval.low.to_cql()} > {interval.high.to_cql()}") is True:
            return f"periodStart {start} is after periodEnd {end}"
    return None

"""`$submit-data`: MeasureReports and the data behind them, into the served store.

Accepts the R4 base parameters (``measureReport`` 1..*, ``resource`` 0..*) and the DEQM STU5
form (``bundle`` 1..*, each holding MeasureReports and data of interest). Every resource is
checked first (R4 type, id syntax, element JSON types and dates, and for a MeasureReport the
elements R4 requires: status, type, measure, period); if any fails nothing is stored and the
answer is a 422 OperationOutcome with one issue per problem. Otherwise all are stored together.

Idempotent: a resource is stored under its type and id (one without an id gets an id derived
from its content), so submitting the same data again changes nothing; the answer says how many
resources were new, changed or unchanged. Stored data is seen by the next ``$evaluate``.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from ..fhir.sources.checks import resource_problem
from .errors import FhirError, bad_request
from .params import OperationParams
from .store import Store

Resource = dict[str, Any]
SUBMIT_PARAMS: dict[str, int | None] = {"measureReport": None, "resource": None, "bundle": None}
_REPORT_REQUIRED = ("status", "type", "measure", "period")


def _content_id(resource: Resource) -> str:
    text = json.dumps(resource, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:64]


def collect(params: OperationParams) -> list[tuple[str, Resource]]:
    """(where, resource) for every submitted resource, Bundles opened."""
    out: list[tuple[str, Resource]] = []
    for i, r in enumerate(params.resources.get("measureReport", [])):
        if r.get("resourceType") != "MeasureReport":
            raise FhirError(422, f"measureReport[{i}] is a {r.get('resourceType')!r}, not a MeasureReport",
                            expression=[f"measureReport[{i}]"])
        out.append((f"measureReport[{i}]", r))
    for i, r in enumerate(params.resources.get("resource", [])):
        out.append((f"resource[{i}]", r))
    for i, b in enumerate(params.resources.get("bundle", [])):
        if b.get("resourceType") != "Bundle":
            raise FhirError(422, f"bundle[{i}] is a {b.get('resourceType')!r}, not a Bundle", expression=[f"bundle[{i}]"])
        for j, e in enumerate(b.get("entry") or []):
            out.append((f"bundle[{i}].entry[{j}]", e.get("resource")))
    return out


def submit_data(store: Store, params: OperationParams) -> Resource:
    """Validate every submitted resource, then store them all (or none)."""
    params.check(SUBMIT_PARAMS, "$submit-data")
    if params.values:
        name = next(iter(params.values))
        raise bad_request(f"$submit-data: parameter {name!r} must carry a resource", name)
    items = collect(params)
    if not any(isinstance(r, dict) and r.get("resourceType") == "MeasureReport" for _, r in items):
        raise bad_request("$submit-data needs at least one MeasureReport (parameter measureReport, or inside a bundle)",
                          "measureReport")
    issues: list[dict[str, Any]] = []
    ready: list[Resource] = []
    for where, r in items:
        if isinstance(r, dict) and r.get("resourceType") and not r.get("id"):
            r = {**r, "id": _content_id(r)}
        problem = resource_problem(r)
        if problem is None and r.get("resourceType") == "MeasureReport":
            missing = [k for k in _REPORT_REQUIRED if not r.get(k)]
            if missing:
                problem = ("invalid MeasureReport", f"missing required element(s): {', '.join(missing)}")
        if problem is not None:
            reason, detail = problem
            what = f"{r.get('resourceType')}/{r.get('id')}" if isinstance(r, dict) else "?"
            issues.append({"severity": "error", "code": "invalid", "diagnostics": f"{where} ({what}): {reason}: {detail}",
                           "expression": [where]})
        else:
            ready.append(r)
    if issues:
        raise FhirError(422, f"{len(issues)} submitted resource(s) are not valid; nothing was stored",
                        code="invalid").with_issues(issues)
    new = changed = same = 0
    for r in ready:
        existed = store.get(r["resourceType"], r["id"]) is not None
        _, did_change = store.put(r)
        if not did_change:
            same += 1
        elif existed:
            changed += 1
        else:
            new += 1
    return {"resourceType": "OperationOutcome", "issue": [{
        "severity": "information", "code": "informational",
        "diagnostics": f"stored {len(ready)} resource(s): {new} new, {changed} changed, {same} unchanged"}]}

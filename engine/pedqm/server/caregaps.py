"""DEQM `Measure/$care-gaps`: per patient, a document Bundle saying which measures leave a gap.

A gap's status comes from the patient's calculated populations and the measure's improvement
notation (:mod:`pedqm.measure.gaps`: outside the denominator is ``not-applicable``, never open).
``prospective-gap`` may be asked for and is never produced. Only proportion measures have gaps;
asking for another is a 422.

Each patient with a measure in a requested status gets a ``document`` Bundle (``isDocument``
false gives a ``collection``): a Composition (LOINC 96315-7, one section per measure focusing its
MeasureReport and holding its DetectedIssue), the Patient, an Organization as author, per measure
the individual MeasureReport and a DetectedIssue (code CAREGAP, the DEQM gap-status modifier
extension, evidence the report and, for an open gap, one GuidanceResponse per data element the
numerator needs saying whether it was found, with the dataRequirement that would close the gap),
and the resources the calculation read.
"""

from __future__ import annotations

import datetime as _dt
import uuid
from typing import Any

from ..fhir.records import PatientRecord
from ..measure import gaps as measure_gaps
from ..measure.definition import MeasureDef
from ..measure.gaps import GAP_STATUSES, is_proportion
from ..measure.results import MeasureResult
from .errors import FhirError, bad_request
from .evaluate import AdditionalData, Evaluator, MeasureEntry, entry_effective_period
from .params import OperationParams, period

Resource = dict[str, Any]
GAP_STATUS_EXT = "http://hl7.org/fhir/us/davinci-deqm/StructureDefinition/extension-gapStatus"
GAP_STATUS_SYSTEM = "http://hl7.org/fhir/us/davinci-deqm/CodeSystem/gaps-status"
CARE_GAPS_PARAMS: dict[str, int | None] = {
    "periodStart": 1, "periodEnd": 1, "subject": 1, "practitioner": 1, "organization": 1, "status": None,
    "measureId": None, "measureUrl": None, "measureIdentifier": None, "topic": None, "program": None,
    "isDocument": 1,
}


def patient_gap(result: MeasureResult, subject: str) -> tuple[str, Resource]:
    """The patient's gap status in a measure and their individual MeasureReport."""
    found = next(r for r in result.subject_results if r.subject_id == subject)
    status = measure_gaps.patient_gap(result.definition, found)
    if status is None:
        raise FhirError(422, f"Measure {result.definition.label}: a patient could not be evaluated, so their gap is unknown")
    return status, result.measure_report("individual", subject)


def care_gaps(ev: Evaluator, params: OperationParams, base_url: str) -> Resource:
    params.check(CARE_GAPS_PARAMS, "$care-gaps")
    statuses = params.all("status", split=True)
    if not statuses:
        raise bad_request("status is required (one or more of open-gap, closed-gap, prospective-gap, not-applicable)", "status")
    for s in statuses:
        if s not in GAP_STATUSES:
            raise bad_request(f"status: {s!r} is not one of {', '.join(GAP_STATUSES)}", "status")
    if params.get("topic") or params.get("program"):
        raise FhirError(422, "topic and program are not supported: select measures with measureId, measureUrl or measureIdentifier")
    entries = ev.resolve_measures(params)
    for e in entries:
        if not _is_proportion(e):
            raise FhirError(422, f"Measure/{e.id} is not a proportion measure: care gaps apply to proportion measures")
    if not entries:  # no measure named: every served proportion measure
        entries = [e for e in ev.catalog.measures.values() if _is_proportion(e)]
    none = AdditionalData(None)
    subject = params.get("subject")
    ids = ev.subject_ids(subject, none)
    for name, rtype in (("practitioner", "Practitioner"), ("organization", "Organization")):
        ref = params.get(name)
        if ref:
            chosen = ev.data.subject_patients(ref if "/" in ref else f"{rtype}/{ref}", name)
            ids = chosen if ids is None else [i for i in ids if i in set(chosen)]
    if ids is None and subject is None and not any(params.get(n) for n in ("practitioner", "organization")):
        raise bad_request("$care-gaps needs a subject (Patient or Group), a practitioner or an organization", "subject")
    first = entries[0] if entries else None
    start, end = period(params, entry_effective_period(first) if first else (None, None))
    results = [(e, ev.calculate(e, start, end, ids, none, keep_subjects=True)) for e in entries]
    as_document = (params.get("isDocument") or "true").lower() != "false"
    out = []
    for pid in ids or []:
        found = []
        for e, r in results:
            if not any(s.subject_id == pid for s in r.subject_results):
                continue
            status, report = patient_gap(r, pid)
            if status in statuses:
                found.append((e, status, report))
        if found:
            out.append({"name": "return", "resource": _gaps_bundle(ev, pid, found, start, end, as_document, base_url)})
    return {"resourceType": "Parameters", "parameter": out}


CARE_GAP_REASON = "http://hl7.org/fhir/us/davinci-deqm/CodeSystem/care-gap-reason"
_NOT_DONE = frozenset({"not-done", "entered-in-error", "cancelled", "revoked"})  # recorded, but not care given


def _codings(value: Any) -> list[tuple[str | None, str]]:
    items = value if isinstance(value, list) else [value]
    out = []
    for cc in items:
        if isinstance(cc, dict):
            for c in cc.get("coding") or ([cc] if "code" in cc else []):
                if isinstance(c, dict) and c.get("code"):
                    out.append((c.get("system"), str(c["code"])))
    return out


def reasons(entry: MeasureEntry, status: str, record: PatientRecord, pid: str, start: str, end: str) -> list[Resource]:
    """Why an open gap is open: per data element the numerator reads through a value set, a
    GuidanceResponse saying whether the patient's record holds one (DEQM care-gap reason
    ``Present``) or not (``NotFound``), with the dataRequirement that would close it. Given for
    measures where higher is better (an open gap is a missing numerator). A resource recorded as
    not done, cancelled or entered in error is not found; a ``Present`` element was found but did
    not satisfy the numerator's other conditions (dates, values, counts, alternatives)."""
    from ..cql.runtime.values import ValueSetRef
    from ..fhir.terminology import TerminologyError
    from .requirements import requirements_of

    package = entry.package()
    groups = package.measure.groups
    if status != "open-gap" or any((g.improvement or "increase") != "increase" for g in groups):
        return []
    numerators = [p.expression for g in groups for p in g.populations if p.code == "numerator" and p.expression]
    library = requirements_of(package, start, end, numerators)
    out: list[Resource] = []
    for req in library["dataRequirement"]:
        for cf in req.get("codeFilter") or []:
            url = cf.get("valueSet")
            if not url:
                continue
            try:
                members = package.valuesets.find(ValueSetRef(url)).codes
            except TerminologyError:
                continue
            path = str(cf.get("path") or "code")
            found = False
            for r in record.of_type(str(req["type"])):
                if r.get("status") in _NOT_DONE or r.get("doNotPerform") is True:
                    continue
                value = r.get(path) or r.get(f"{path}CodeableConcept")
                if any(c in members for c in _codings(value)):
                    found = True
                    break
            code = "Present" if found else "NotFound"
            out.append({
                "resourceType": "GuidanceResponse", "id": str(uuid.uuid4()),
                "moduleUri": entry.resource.get("url") or f"Measure/{entry.id}",
                "status": "success" if found else "data-required",
                "subject": {"reference": f"Patient/{pid}"},
                "reasonCode": [{"coding": [{"system": CARE_GAP_REASON, "code": code}]}],
                "dataRequirement": [{**req, "codeFilter": [cf]}],
            })
    return out


def _is_proportion(e: MeasureEntry) -> bool:
    try:
        return is_proportion(MeasureDef.from_resource(e.resource))
    except ValueError:  # a Measure pedqm cannot read has no gaps to report
        return False


def _gaps_bundle(ev: Evaluator, pid: str, found: list[tuple[MeasureEntry, str, Resource]], start: str, end: str,
                 as_document: bool, base_url: str) -> Resource:
    now = _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")
    record = ev.data.record(pid)
    patient: Resource = (record.patient if record is not None else None) or {"resourceType": "Patient", "id": pid}
    org = {"resourceType": "Organization", "id": "pedqm", "name": "pedqm measure operations server"}
    resources: list[Resource] = []
    sections = []
    by_ref = {f"{r.get('resourceType')}/{r.get('id')}": r for r in (record.resources if record else [])}
    evaluated: dict[str, Resource] = {}
    for entry, status, report in found:
        issue_id = str(uuid.uuid4())
        guidance = reasons(entry, status, record, pid, start, end) if record is not None else []
        issue: Resource = {
            "resourceType": "DetectedIssue", "id": issue_id, "status": "final",
            "modifierExtension": [{"url": GAP_STATUS_EXT, "valueCodeableConcept": {"coding": [{
                "system": GAP_STATUS_SYSTEM, "code": status}]}}],
            "code": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "CAREGAP",
                                 "display": "Care Gaps"}]},
            "patient": {"reference": f"Patient/{pid}"},
            "evidence": [{"detail": [{"reference": f"MeasureReport/{report['id']}"}]}],
        }
        if guidance:
            issue["evidence"].append({"detail": [{"reference": f"GuidanceResponse/{g['id']}"} for g in guidance]})
        resources.extend([report, issue, *guidance])
        sections.append({
            "title": entry.resource.get("title") or entry.resource.get("name") or entry.id,
            "focus": {"reference": f"MeasureReport/{report['id']}"},
            "entry": [{"reference": f"DetectedIssue/{issue_id}"}],
        })
        for ref in report.get("evaluatedResource") or []:
            r = by_ref.get(ref.get("reference", ""))
            if r is not None and r.get("resourceType") != "Patient":
                evaluated[ref["reference"]] = r
    composition = {
        "resourceType": "Composition", "id": str(uuid.uuid4()), "status": "final",
        "type": {"coding": [{"system": "http://loinc.org", "code": "96315-7", "display": "Gaps in care report"}]},
        "subject": {"reference": f"Patient/{pid}"}, "date": now, "author": [{"reference": "Organization/pedqm"}],
        "title": f"Care gaps for Patient/{pid}, {start} to {end}", "section": sections,
    }
    body = [composition, patient, org, *resources, *evaluated.values()]
    return {
        "resourceType": "Bundle", "id": str(uuid.uuid4()), "type": "document" if as_document else "collection",
        "identifier": {"system": "urn:ietf:rfc:3986", "value": f"urn:uuid:{uuid.uuid4()}"}, "timestamp": now,
        "entry": [{"fullUrl": f"{base_url}/{r['resourceType']}/{r['id']}", "resource": r} for r in body],
    }

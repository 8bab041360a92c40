"""Small FHIR R4 resource builders for the chronic-condition tests (plain JSON dicts)."""

from __future__ import annotations

from typing import Any

from pedqm.fhir.records import PatientRecord

ICD10CM = "http://hl7.org/fhir/sid/icd-10-cm"
ICD10PCS = "http://www.cms.gov/Medicare/Coding/ICD10"
ICD9CM = "http://hl7.org/fhir/sid/icd-9-cm"
SNOMED = "http://snomed.info/sct"

Resource = dict[str, Any]


def concept(*codings: tuple[str, str]) -> dict[str, Any]:
    return {"coding": [{"system": s, "code": c} for s, c in codings]}


def encounter(eid: str, start: str, diagnoses: tuple[str, ...] = (), status: str = "finished") -> Resource:
    r: Resource = {"resourceType": "Encounter", "id": eid, "status": status, "subject": {"reference": "Patient/p"},
                   "period": {"start": start}}
    if diagnoses:
        r["diagnosis"] = [{"condition": {"reference": ref}} for ref in diagnoses]
    return r


def condition(cid: str, *codings: tuple[str, str], encounter: str | None = None, category: str | None = "encounter-diagnosis",
              verification: str | None = None, onset: str | None = None, recorded: str | None = None) -> Resource:
    r: Resource = {"resourceType": "Condition", "id": cid, "code": concept(*codings), "subject": {"reference": "Patient/p"}}
    if category:
        r["category"] = [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-category", "code": category}]}]
    if verification:
        r["verificationStatus"] = {"coding": [{"code": verification}]}
    if encounter:
        r["encounter"] = {"reference": encounter}
    if onset:
        r["onsetDateTime"] = onset
    if recorded:
        r["recordedDate"] = recorded
    return r


def procedure(pid: str, *codings: tuple[str, str], performed: str | None = None, status: str = "completed",
              encounter: str | None = None) -> Resource:
    r: Resource = {"resourceType": "Procedure", "id": pid, "status": status, "code": concept(*codings),
                   "subject": {"reference": "Patient/p"}}
    if performed:
        r["performedDateTime"] = performed
    if encounter:
        r["encounter"] = {"reference": encounter}
    return r


def claim(cid: str, diagnoses: list[dict[str, Any]] | None = None, procedures: list[dict[str, Any]] | None = None,
          start: str | None = None, encounter: str | None = None, resource_type: str = "Claim", **extra: Any) -> Resource:
    r: Resource = {"resourceType": resource_type, "id": cid, "status": "active", "use": "claim",
                   "patient": {"reference": "Patient/p"}, **extra}
    if diagnoses:
        r["diagnosis"] = [{"sequence": i + 1, **d} for i, d in enumerate(diagnoses)]
    if procedures:
        r["procedure"] = [{"sequence": i + 1, **p} for i, p in enumerate(procedures)]
    if start:
        r["billablePeriod"] = {"start": start}
    if encounter:
        r["item"] = [{"sequence": 1, "encounter": [{"reference": encounter}]}]
    return r


def record(*resources: Resource, patient_id: str = "p") -> PatientRecord:
    rec = PatientRecord(patient_id)
    rec.add({"resourceType": "Patient", "id": patient_id})
    for r in resources:
        rec.add(r)
    return rec

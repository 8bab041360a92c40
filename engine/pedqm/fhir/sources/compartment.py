"""Which patients a resource belongs to: the FHIR R4 Patient compartment.

Every source groups by this one definition, so a directory, a server and a Bulk export of the
same data give the same records. A resource is in a patient's compartment when one of the search
parameters the compartment names for its type refers to that Patient
(https://hl7.org/fhir/R4/compartmentdefinition-patient.html); the table below gives each
parameter with the element paths of its R4 search expression. A Patient resource is in its own
compartment only (``Patient.link`` is not followed: a record holds one Patient).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from ..records import Resource

# resourceType -> ((search parameter, (element path, ...)), ...)
PATIENT_COMPARTMENT: dict[str, tuple[tuple[str, tuple[str, ...]], ...]] = {
    "Account": (("subject", ("subject",)),),
    "AdverseEvent": (("subject", ("subject",)),),
    "AllergyIntolerance": (("patient", ("patient",)), ("recorder", ("recorder",)), ("asserter", ("asserter",))),
    "Appointment": (("actor", ("participant.actor",)),),
    "AppointmentResponse": (("actor", ("actor",)),),
    "AuditEvent": (("patient", ("agent.who", "entity.what")),),
    "Basic": (("patient", ("subject",)), ("author", ("author",))),
    "BodyStructure": (("patient", ("patient",)),),
    "CarePlan": (("patient", ("subject",)), ("performer", ("activity.detail.performer",))),
    "CareTeam": (("patient", ("subject",)), ("participant", ("participant.member",))),
    "ChargeItem": (("subject", ("subject",)),),
    "Claim": (("patient", ("patient",)), ("payee", ("payee.party",))),
    "ClaimResponse": (("patient", ("patient",)),),
    "ClinicalImpression": (("subject", ("subject",)),),
    "Communication": (("subject", ("subject",)), ("sender", ("sender",)), ("recipient", ("recipient",))),
    "CommunicationRequest": (
        ("subject", ("subject",)),
        ("sender", ("sender",)),
        ("recipient", ("recipient",)),
        ("requester", ("requester",)),
    ),
    "Composition": (("subject", ("subject",)), ("author", ("author",)), ("attester", ("attester.party",))),
    "Condition": (("patient", ("subject",)), ("asserter", ("asserter",))),
    "Consent": (("patient", ("patient",)),),
    "Coverage": (
        ("policy-holder", ("policyHolder",)),
        ("subscriber", ("subscriber",)),
        ("beneficiary", ("beneficiary",)),
        ("payor", ("payor",)),
    ),
    "CoverageEligibilityRequest": (("patient", ("patient",)),),
    "CoverageEligibilityResponse": (("patient", ("patient",)),),
    "DetectedIssue": (("patient", ("patient",)),),
    "DeviceRequest": (("subject", ("subject",)), ("performer", ("performer",))),
    "DeviceUseStatement": (("subject", ("subject",)),),
    "DiagnosticReport": (("subject", ("subject",)),),
    "DocumentManifest": (("subject", ("subject",)), ("author", ("author",)), ("recipient", ("recipient",))),
    "DocumentReference": (("subject", ("subject",)), ("author", ("author",))),
    "Encounter": (("patient", ("subject",)),),
    "EnrollmentRequest": (("subject", ("candidate",)),),
    "EpisodeOfCare": (("patient", ("patient",)),),
    "ExplanationOfBenefit": (("patient", ("patient",)), ("payee", ("payee.party",))),
    "FamilyMemberHistory": (("patient", ("patient",)),),
    "Flag": (("patient", ("subject",)),),
    "Goal": (("patient", ("subject",)),),
    "Group": (("member", ("member.entity",)),),
    "ImagingStudy": (("patient", ("subject",)),),
    "Immunization": (("patient", ("patient",)),),
    "ImmunizationEvaluation": (("patient", ("patient",)),),
    "ImmunizationRecommendation": (("patient", ("patient",)),),
    "Invoice": (("subject", ("subject",)), ("patient", ("subject",)), ("recipient", ("recipient",))),
    "List": (("subject", ("subject",)), ("source", ("source",))),
    "MeasureReport": (("patient", ("subject",)),),
    "Media": (("subject", ("subject",)),),
    "MedicationAdministration": (
        ("patient", ("subject",)),
        ("performer", ("performer.actor",)),
        ("subject", ("subject",)),
    ),
    "MedicationDispense": (("subject", ("subject",)), ("patient", ("subject",)), ("receiver", ("receiver",))),
    "MedicationRequest": (("subject", ("subject",)),),
    "MedicationStatement": (("subject", ("subject",)),),
    "MolecularSequence": (("patient", ("patient",)),),
    "NutritionOrder": (("patient", ("patient",)),),
    "Observation": (("subject", ("subject",)), ("performer", ("performer",))),
    "Person": (("patient", ("link.target",)),),
    "Procedure": (("patient", ("subject",)), ("performer", ("performer.actor",))),
    "Provenance": (("patient", ("target",)),),
    "QuestionnaireResponse": (("subject", ("subject",)), ("author", ("author",))),
    "RelatedPerson": (("patient", ("patient",)),),
    "RequestGroup": (("subject", ("subject",)), ("participant", ("action.participant",))),
    "ResearchSubject": (("individual", ("individual",)),),
    "RiskAssessment": (("subject", ("subject",)),),
    "Schedule": (("actor", ("actor",)),),
    "ServiceRequest": (("subject", ("subject",)), ("performer", ("performer",))),
    "Specimen": (("subject", ("subject",)),),
    "SupplyDelivery": (("patient", ("patient",)),),
    "SupplyRequest": (("subject", ("deliverTo",)),),
    "VisionPrescription": (("patient", ("patient",)),),
}

ReferenceResolver = Callable[[str], tuple[str, str] | None]


def patient_id_of(reference: Any, resolve: ReferenceResolver | None = None) -> str | None:
    """The Patient id a FHIR Reference points at, or None (not a Patient, or not resolvable).

    Handles ``Patient/1``, absolute ``http://x/fhir/Patient/1``, versioned ``.../_history/2``,
    ``{"type": "Patient", "reference": "1"}`` and, through ``resolve``, bundle-local
    ``urn:uuid:`` references.
    """
    if not isinstance(reference, dict):
        return None
    ref = reference.get("reference")
    if not isinstance(ref, str) or not ref or ref.startswith("#"):
        return None
    if resolve is not None:
        resolved = resolve(ref)
        if resolved is not None:
            return resolved[1] if resolved[0] == "Patient" else None
    if ref.startswith(("urn:uuid:", "urn:oid:")):
        return None
    parts = ref.split("?", 1)[0].rstrip("/").split("/")
    if len(parts) >= 4 and parts[-2] == "_history":
        parts = parts[:-2]
    if len(parts) >= 2:
        return parts[-1] if parts[-2] == "Patient" and parts[-1] else None
    if reference.get("type") == "Patient":
        return parts[0]
    return None


def _walk(node: Any, path: tuple[str, ...]) -> Iterator[Any]:
    if isinstance(node, list):
        for item in node:
            yield from _walk(item, path)
    elif not path:
        yield node
    elif isinstance(node, dict) and path[0] in node:
        yield from _walk(node[path[0]], path[1:])


def _split(paths: tuple[str, ...]) -> tuple[tuple[str, ...], ...]:
    return tuple(tuple(p.split(".")) for p in paths)


_SPLIT_PATHS: dict[str, tuple[tuple[str, ...], ...]] = {
    rtype: tuple(p for _, paths in params for p in _split(paths)) for rtype, params in PATIENT_COMPARTMENT.items()
}


def compartment_patients(resource: Resource, resolve: ReferenceResolver | None = None) -> list[str]:
    """Ids of the patients whose compartment holds ``resource`` (empty: a shared resource)."""
    rtype = resource.get("resourceType")
    if rtype == "Patient":
        rid = resource.get("id")
        return [rid] if isinstance(rid, str) and rid else []
    paths = _SPLIT_PATHS.get(rtype) if isinstance(rtype, str) else None
    if not paths:
        return []
    found: list[str] = []
    for path in paths:
        for ref in _walk(resource, path):
            pid = patient_id_of(ref, resolve)
            if pid is not None and pid not in found:
                found.append(pid)
    return found


def compartment_search_params(resource_type: str) -> list[str]:
    """The search parameters that put ``resource_type`` in a Patient compartment (for REST)."""
    return [name for name, _ in PATIENT_COMPARTMENT.get(resource_type, ())]

"""A small synthetic pediatric population with practices whose true rates differ, for vetting tests.

Each practice has a true BMI-documentation rate; a child's chance also depends on chronic
conditions and payer, so risk adjustment has something to adjust. Attribution is mixed on
purpose: most children name their practice in Patient.generalPractitioner, some only in
managingOrganization, some only through their encounters' serviceProvider.
"""

from __future__ import annotations

import json
import math
import random
from pathlib import Path
from typing import Any

ICD10 = "http://hl7.org/fhir/sid/icd-10-cm"
CPT = "http://www.ama-assn.org/go/cpt"
SOPT = "urn:oid:2.16.840.1.113883.3.221.5"
RACES = [("2106-3", "White"), ("2054-5", "Black or African American"), ("2028-9", "Asian")]


def _logit(p: float) -> float:
    return math.log(p / (1 - p))


def _expit(v: float) -> float:
    return 1 / (1 + math.exp(-v))


def make_population(practices: list[tuple[str, int, float]], seed: int = 7) -> tuple[list[list[dict[str, Any]]], list[dict[str, Any]]]:
    """(one resource list per patient, shared Organizations and Practitioners) for practices given
    as (id, number of children, true rate)."""
    rng = random.Random(seed)
    shared: list[dict[str, Any]] = []
    patients: list[list[dict[str, Any]]] = []
    for org, size, rate in practices:
        shared.append({"resourceType": "Organization", "id": org, "name": f"{org.replace('-', ' ').title()} Pediatrics"})
        docs = [f"{org}-dr{k}" for k in (1, 2)]
        for d in docs:
            shared.append({"resourceType": "Practitioner", "id": d, "name": [{"family": d.split("-")[-1].upper(), "given": ["Pat"]}]})
        for i in range(size):
            patients.append(_patient(rng, org, docs, rate, f"{org}-{i}"))
    return patients, shared


def _patient(rng: random.Random, org: str, docs: list[str], rate: float, pid: str) -> list[dict[str, Any]]:
    age = rng.randint(2, 18)
    birth = f"{2025 - age}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
    race_code, race_name = rng.choice(RACES)
    hispanic = rng.random() < 0.3
    patient: dict[str, Any] = {
        "resourceType": "Patient", "id": pid, "birthDate": birth, "gender": rng.choice(["male", "female"]),
        "extension": [
            {"url": "http://hl7.org/fhir/us/core/StructureDefinition/us-core-race", "extension": [
                {"url": "ombCategory", "valueCoding": {"system": "urn:oid:2.16.840.1.113883.6.238", "code": race_code, "display": race_name}},
                {"url": "text", "valueString": race_name}]},
            {"url": "http://hl7.org/fhir/us/core/StructureDefinition/us-core-ethnicity", "extension": [
                {"url": "ombCategory", "valueCoding": {"system": "urn:oid:2.16.840.1.113883.6.238",
                                                      "code": "2135-2" if hispanic else "2186-5"}}]},
        ],
    }
    how = rng.random()
    if how < 0.8:
        patient["generalPractitioner"] = [{"reference": f"Organization/{org}"}]
    elif how < 0.9:
        patient["managingOrganization"] = {"reference": f"Organization/{org}"}
    ref = {"reference": f"Patient/{pid}"}
    out: list[dict[str, Any]] = [patient]
    u = rng.random()
    medicaid = u < 0.45
    if u < 0.9:
        out.append({"resourceType": "Coverage", "id": f"{pid}-cov", "status": "active", "beneficiary": ref,
                    "type": {"coding": [{"system": SOPT, "code": "2" if medicaid else "5",
                                         "display": "MEDICAID" if medicaid else "PRIVATE HEALTH INSURANCE"}]},
                    "period": {"start": "2024-01-01"}, "payor": [{"display": "State Medicaid" if medicaid else "Acme Health"}]})
    chronic = rng.random()
    conditions = []
    if chronic < 0.15:
        conditions.append(("E84.0", "Cystic fibrosis with pulmonary manifestations"))
    elif chronic < 0.3:
        conditions.append(("J45.909", "Unspecified asthma, uncomplicated"))
    if rng.random() < 0.02:
        conditions.append(("Z51.5", "Encounter for palliative care"))
    visits = rng.randint(1, 3)
    doc = rng.choice(docs)
    for k in range(visits):
        code = "99212" if rng.random() < 0.15 else rng.choice(["99213", "99214"])
        day = f"2025-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
        out.append({"resourceType": "Encounter", "id": f"{pid}-enc{k}", "status": "finished",
                    "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "AMB"},
                    "type": [{"coding": [{"system": CPT, "code": code}]}], "subject": ref,
                    "period": {"start": f"{day}T09:00:00Z", "end": f"{day}T09:30:00Z"},
                    "serviceProvider": {"reference": f"Organization/{org}"},
                    "participant": [{"individual": {"reference": f"Practitioner/{doc}"}}],
                    **({"diagnosis": []} if False else {})})
        for j, (icd, text) in enumerate(conditions):
            out.append({"resourceType": "Condition", "id": f"{pid}-c{k}-{j}", "subject": ref,
                        "clinicalStatus": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-clinical", "code": "active"}]},
                        "verificationStatus": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-ver-status", "code": "confirmed"}]},
                        "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-category", "code": "encounter-diagnosis"}]}],
                        "code": {"coding": [{"system": ICD10, "code": icd, "display": text}]},
                        "encounter": {"reference": f"Encounter/{pid}-enc{k}"},
                        "onsetDateTime": f"{day}T09:00:00Z", "recordedDate": f"{day}T09:00:00Z"})
    shift = (-0.4 if conditions and conditions[0][0] == "E84.0" else 0.0) + (-0.3 if medicaid else 0.0)
    if rng.random() < _expit(_logit(rate) + shift):
        out.append({"resourceType": "Observation", "id": f"{pid}-bmi", "status": "final", "subject": ref,
                    "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category", "code": "vital-signs"}]}],
                    "code": {"coding": [{"system": "http://loinc.org", "code": "59576-9"}]},
                    "effectiveDateTime": f"2025-{rng.randint(1, 12):02d}-15", "valueQuantity": {"value": rng.randint(5, 95), "unit": "%"}})
    return out


def write_population(directory: Path, practices: list[tuple[str, int, float]], seed: int = 7) -> Path:
    """Write one collection Bundle per patient plus one of the shared resources; returns the directory."""
    patients, shared = make_population(practices, seed)
    directory.mkdir(parents=True, exist_ok=True)

    def bundle(resources: list[dict[str, Any]]) -> dict[str, Any]:
        return {"resourceType": "Bundle", "type": "collection", "entry": [{"resource": r} for r in resources]}

    (directory / "organizations.json").write_text(json.dumps(bundle(shared)), encoding="utf-8")
    for resources in patients:
        (directory / f"{resources[0]['id']}.json").write_text(json.dumps(bundle(resources)), encoding="utf-8")
    return directory


DEFAULT_PRACTICES = [("north", 70, 0.85), ("south", 60, 0.55), ("east", 45, 0.7), ("west", 35, 0.4),
                     ("lake", 25, 0.75), ("hill", 12, 0.6)]

"""The resources every patient points at: practices, their clinicians, the hospital and payers."""

from __future__ import annotations

import random
from dataclasses import dataclass

from .codes import (
    ORGANIZATION_TYPE,
    SID_CLINICIAN,
    SID_PRACTICE,
)
from .config import Practice
from .fhir import Resource, coding, ref
from .names import clinician_name

HOSPITAL_ID = "org-hospital"
HOSPITAL_CLINICIANS = 6
PAYERS: dict[str, tuple[str, str]] = {  # id -> (name, payer kind)
    "org-payer-medicaid": ("State Medicaid Program", "medicaid"),
    "org-payer-commercial-a": ("Commercial Health Plan A", "private"),
    "org-payer-commercial-b": ("Commercial Health Plan B", "private"),
}


@dataclass(frozen=True)
class Directory:
    """Ids of the shared resources, for building patients; ``resources`` are written once."""

    practice_org: dict[str, str]  # practice id -> Organization id
    clinicians: dict[str, tuple[str, ...]]  # practice id -> Practitioner ids
    hospital: str
    hospital_clinicians: tuple[str, ...]
    resources: tuple[Resource, ...]


def _organization(oid: str, name: str, kind: str, identifier: str | None, city: str | None) -> Resource:
    res: Resource = {"resourceType": "Organization", "id": oid}
    if identifier:
        res["identifier"] = [{"system": SID_PRACTICE, "value": identifier}]
    res["active"] = True
    res["type"] = [{"coding": [coding(ORGANIZATION_TYPE, kind)]}]
    res["name"] = name
    if city:
        res["address"] = [{"city": city, "state": "OH", "country": "US"}]
    return res


def _practitioner(prid: str, label: str, rng: random.Random) -> Resource:
    given, family = clinician_name(rng)
    return {
        "resourceType": "Practitioner", "id": prid,
        "identifier": [{"system": SID_CLINICIAN, "value": label}],
        "active": True,
        "name": [{"family": family, "given": [given], "prefix": ["Dr."]}],
    }


def _role(prid: str, org: str) -> Resource:
    return {"resourceType": "PractitionerRole", "id": f"role-{prid[3:]}", "active": True,
            "practitioner": ref("Practitioner", prid), "organization": ref("Organization", org)}


CITIES = ("Harborview", "Maple Grove", "University Heights", "Eastside", "Willow Creek", "Northfield", "Prairie View",
          "Cedar Ridge", "Lakeside", "Bayview", "Hillside", "Sunrise", "Riverside", "Oak Park")


def build_directory(practices: tuple[Practice, ...], seed: int) -> Directory:
    """Organizations, Practitioners and PractitionerRoles for ``practices`` plus hospital and payers."""
    rng = random.Random(f"pedqm-synth-directory-{seed}")
    resources: list[Resource] = []
    orgs: dict[str, str] = {}
    clinicians: dict[str, tuple[str, ...]] = {}
    for i, p in enumerate(practices):
        oid = f"org-{p.id.lower()}"
        orgs[p.id] = oid
        resources.append(_organization(oid, p.name, "prov", p.id, CITIES[i % len(CITIES)]))
        ids = []
        for k in range(1, p.clinicians + 1):
            prid = f"pr-{p.id.lower()}-{k}"
            resources.append(_practitioner(prid, f"{p.id}-{k}", rng))
            resources.append(_role(prid, oid))
            ids.append(prid)
        clinicians[p.id] = tuple(ids)
    resources.append(_organization(HOSPITAL_ID, "Regional Children's Hospital", "prov", "H01", "Lakeside"))
    hosp = []
    for k in range(1, HOSPITAL_CLINICIANS + 1):
        prid = f"pr-hosp-{k}"
        resources.append(_practitioner(prid, f"H01-{k}", rng))
        resources.append(_role(prid, HOSPITAL_ID))
        hosp.append(prid)
    for oid, (name, _) in PAYERS.items():
        resources.append(_organization(oid, name, "pay", None, None))
    return Directory(orgs, clinicians, HOSPITAL_ID, tuple(hosp), tuple(resources))

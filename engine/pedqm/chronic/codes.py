"""ICD codes as the chronic-condition algorithms see them: which system, diagnosis or procedure,
compact form, and where and when each one was found.

The published code lists are keyed by (ICD version, diagnosis/procedure, compact code): compact
ICD-9 codes collide across the two kinds (diagnosis 564.1 and procedure 56.41 are both ``5641``),
so the kind is part of every key and is never guessed from the code's shape.
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass
from typing import Literal

Kind = Literal["dx", "pr"]
CodeKey = tuple[int, Kind, str]  # (ICD version 9 or 10, kind, compact code)

ICD10CM = "ICD-10-CM"
ICD10PCS = "ICD-10-PCS"
ICD9CM = "ICD-9-CM"
SNOMED = "SNOMED CT"

# Canonical URIs (and their OIDs) after normalise_system(). The value is (name, version, kind);
# kind None means "diagnosis or procedure, decided by where the code was found" (ICD-9-CM's one
# URI covers both volumes).
_SYSTEMS: dict[str, tuple[str, int, Kind | None]] = {
    "http://hl7.org/fhir/sid/icd-10-cm": (ICD10CM, 10, "dx"),
    "urn:oid:2.16.840.1.113883.6.90": (ICD10CM, 10, "dx"),
    "http://www.cms.gov/medicare/coding/icd10": (ICD10PCS, 10, "pr"),
    "urn:oid:2.16.840.1.113883.6.4": (ICD10PCS, 10, "pr"),
    "http://hl7.org/fhir/sid/icd-9-cm": (ICD9CM, 9, None),
    "http://hl7.org/fhir/sid/icd-9-cm/diagnosis": (ICD9CM, 9, "dx"),
    "http://hl7.org/fhir/sid/icd-9-cm/procedure": (ICD9CM, 9, "pr"),
    "urn:oid:2.16.840.1.113883.6.103": (ICD9CM, 9, "dx"),
    "urn:oid:2.16.840.1.113883.6.104": (ICD9CM, 9, "pr"),
}
_SNOMED_URIS = frozenset({"http://snomed.info/sct", "urn:oid:2.16.840.1.113883.6.96"})


def normalise_system(system: str) -> str:
    """Compare URIs the way they are written in the wild: case, trailing slash and https aside."""
    s = system.strip().rstrip("/").lower()
    return "http://" + s[8:] if s.startswith("https://") else s


def icd_system(system: str | None) -> tuple[str, int, Kind | None] | None:
    """(name, ICD version, kind or None) for an ICD canonical URI; None for anything else."""
    return _SYSTEMS.get(normalise_system(system)) if system else None


def is_snomed(system: str | None) -> bool:
    return bool(system) and normalise_system(system or "") in _SNOMED_URIS


def compact(code: str) -> str:
    """The compact form the code lists use: no dots or spaces, upper case (``g80.0`` -> ``G800``)."""
    return code.replace(".", "").replace(" ", "").strip().upper()


@dataclass(frozen=True, slots=True)
class CodeOccurrence:
    """One ICD code found in a patient's data: the code, and where and when it was found.

    ``encounter`` is the unit of care the code belongs to ("Encounter/e1", or the Claim or the
    resource itself when no encounter is known): PMCA counts body systems once per encounter.
    """

    version: int  # 9 or 10
    kind: Kind
    code: str  # compact, e.g. "G800"
    written: str  # as written in the resource, e.g. "G80.0"
    system: str  # ICD10CM, ICD10PCS or ICD9CM
    resource: str  # "Condition/c1"
    path: str  # where in the resource, e.g. "Condition.code" or "Claim.diagnosis"
    date: _dt.date | None
    encounter: str

    @property
    def key(self) -> CodeKey:
        return (self.version, self.kind, self.code)

    def describe(self) -> str:
        """One line for explanations: code, system, resource, date, encounter."""
        when = self.date.isoformat() if self.date else "undated"
        kind = "diagnosis" if self.kind == "dx" else "procedure"
        enc = "" if self.encounter == self.resource else f", {self.encounter}"
        return f"{self.written} ({self.system} {kind}) in {self.resource} [{self.path}], {when}{enc}"

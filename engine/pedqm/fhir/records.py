"""The unit of work between data sources and everything downstream: one patient's resources.

Every source (directory, NDJSON, REST server, Bulk export) yields :class:`PatientRecord` objects,
one per patient, plus the resources that belong to no patient (Organizations, Practitioners,
Medications, ValueSets, ...). Measures, the chronic-condition layer and reports consume records
and never know which source produced them.

Resources stay plain FHIR JSON (``dict``): parsing them into model objects for every patient
would cost more than the measures do, and CQL navigates the JSON directly.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol

Resource = dict[str, Any]


@dataclass
class ResourceIssue:
    """A resource that was skipped (or a fetch that failed), said so the user can find it."""

    location: str  # file path (with line for NDJSON) or URL
    resource_type: str | None
    resource_id: str | None
    message: str
    skipped: bool = True
    count: int = 1  # resources this issue stands for (orphans of one missing Patient are one issue)

    def __str__(self) -> str:
        what = f"{self.resource_type or '?'}/{self.resource_id or '?'}"
        return f"{self.location}: {what}: {self.message}"


@dataclass
class PatientRecord:
    """One patient's resources (the Patient resource itself included)."""

    patient_id: str
    resources: list[Resource] = field(default_factory=list)
    _by_type: dict[str, list[Resource]] | None = field(default=None, repr=False, compare=False)
    # values derived from this record that do not depend on who asks (wrapped resources, their
    # codes), shared by every measure evaluating it: see fhir/retrieve.py
    memo: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @property
    def patient(self) -> Resource | None:
        found = self.of_type("Patient")
        return found[0] if found else None

    def of_type(self, resource_type: str) -> list[Resource]:
        """Resources of one FHIR type (index built on first use)."""
        if self._by_type is None:
            index: dict[str, list[Resource]] = {}
            for r in self.resources:
                index.setdefault(r.get("resourceType", ""), []).append(r)
            self._by_type = index
        return self._by_type.get(resource_type, [])

    def add(self, resource: Resource) -> None:
        self.resources.append(resource)
        self._by_type = None


class ResourceSource(Protocol):
    """Where FHIR data comes from. Implementations: files, NDJSON, REST server, Bulk export."""

    description: str  # e.g. the directory, file or base URL, for messages and reports
    issues: list[ResourceIssue]  # everything skipped or failed so far, for the run's summary

    def patients(self) -> Iterator[PatientRecord]:
        """Each patient's record, one at a time (memory stays bounded by one patient)."""
        ...

    def shared_resources(self) -> list[Resource]:
        """Resources in no patient's compartment (Organization, Practitioner, Medication, ...)."""
        ...

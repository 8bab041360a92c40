"""Patient data as the server sees it: the configured source overlaid by the served store.

A patient's record is what ``--data`` holds for them (read by its index, not by reading every
patient) with the resources submitted through ``$submit-data`` on top: a submitted resource
replaces the source's resource of the same type and id. Patients that exist only in the store
(their Patient resource was submitted) are subjects too. Submitted MeasureReports are reports,
not clinical data, and are never part of a record.

Subjects other than a Patient are resolved to patients here: a ``Group`` (an attribution list,
from the source's shared resources, the store, or given inline) to its members, a
``Practitioner`` or ``Organization`` to the patients whose ``generalPractitioner`` or
``managingOrganization`` names it.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator
from typing import Any

from ..fhir.records import PatientRecord, ResourceSource
from ..fhir.sources import FileSource, open_source
from ..fhir.sources.compartment import compartment_patients
from .errors import FhirError, bad_request, not_found
from .store import Store

Resource = dict[str, Any]
NOT_CLINICAL = ("MeasureReport",)


class PatientData:
    def __init__(self, spec: str | None, store: Store, *, source: ResourceSource | None = None):
        self.store = store
        self.description = spec or "(no --data: the served store only)"
        self.source: ResourceSource | None = source or (open_source(spec) if spec else None)
        self._lock = threading.Lock()
        self._shared: list[Resource] | None = None
        self._source_ids: list[str] | None = None
        self._source_set: frozenset[str] = frozenset()

    def prepare(self) -> int:
        """Index the source now (at start-up, not in the first request); the patient count."""
        return len(self._ids_in_source())

    # ------------------------------------------------------------------ patients
    def _ids_in_source(self) -> list[str]:
        with self._lock:
            if self._source_ids is None:
                if self.source is None:
                    self._source_ids = []
                elif hasattr(self.source, "patient_ids"):  # files and servers list ids without reading records
                    self._source_ids = list(self.source.patient_ids())
                else:
                    self._source_ids = [r.patient_id for r in self.source.patients()]
                self._source_set = frozenset(self._source_ids)
            return self._source_ids

    def _in_source(self, pid: str) -> bool:
        self._ids_in_source()
        return pid in self._source_set

    def patient_ids(self) -> list[str]:
        ids = dict.fromkeys(self._ids_in_source())
        ids.update(dict.fromkeys(self.store.patient_ids()))
        return list(ids)

    def has_patient(self, pid: str) -> bool:
        return self._in_source(pid) or self.store.get("Patient", pid) is not None

    def record(self, pid: str) -> PatientRecord | None:
        base: PatientRecord | None = None
        if self.source is not None and self._in_source(pid):
            if hasattr(self.source, "patient"):  # FileSource and RestSource read one patient
                base = self.source.patient(pid)
            else:
                base = next((r for r in self.source.patients() if r.patient_id == pid), None)
        submitted = [r for r in self.store.patient_resources(pid) if r.get("resourceType") not in NOT_CLINICAL]
        if base is None and not any(r.get("resourceType") == "Patient" for r in submitted):
            return None
        return overlay(base or PatientRecord(pid, []), submitted)

    def records(self, ids: Iterable[str] | None = None) -> Iterator[PatientRecord]:
        """Records of ``ids`` (every patient when None), in order; unknown ids are skipped."""
        if ids is None and (self.source is None or isinstance(self.source, FileSource)):
            ids = self.patient_ids()
        if ids is None:  # a server source: read it once, in its order
            assert self.source is not None
            seen: set[str] = set()
            changed = self.store.patients_with_data()
            for r in self.source.patients():
                seen.add(r.patient_id)
                yield self.record(r.patient_id) if r.patient_id in changed else r  # type: ignore[misc]
            for pid in self.store.patient_ids():
                if pid not in seen:
                    rec = self.record(pid)
                    if rec is not None:
                        yield rec
            return
        for pid in ids:
            rec = self.record(pid)
            if rec is not None:
                yield rec

    def shared_resources(self) -> list[Resource]:
        with self._lock:
            if self._shared is None:
                self._shared = list(self.source.shared_resources()) if self.source is not None else []
            base = self._shared
        stored = {(r["resourceType"], r["id"]): r for r in self.store.shared_resources()
                  if r.get("resourceType") not in NOT_CLINICAL}
        if not stored:
            return base
        return [r for r in base if (r.get("resourceType"), r.get("id")) not in stored] + list(stored.values())

    def find_shared(self, rtype: str, rid: str) -> Resource | None:
        stored = self.store.get(rtype, rid)
        if stored is not None:
            return stored
        return next((r for r in self.shared_resources() if r.get("resourceType") == rtype and r.get("id") == rid), None)

    # ------------------------------------------------------------------ subjects
    def subject_patients(self, subject: str, parameter: str = "subject") -> list[str]:
        """The patient ids a subject reference stands for (404 when it names nothing known)."""
        rtype, _, rid = subject.strip().rpartition("/")
        rtype = rtype.rsplit("/", 1)[-1] or "Patient"
        if not rid:
            raise bad_request(f"{parameter}: {subject!r} is not a reference such as Patient/123 or Group/abc", parameter)
        if rtype == "Patient":
            if not self.has_patient(rid):
                raise not_found(f"{parameter}: Patient/{rid} is not in the served data")
            return [rid]
        if rtype == "Group":
            group = self.find_shared("Group", rid)
            if group is None:
                raise not_found(f"{parameter}: Group/{rid} is not in the served data")
            return self.group_members(group, parameter)
        if rtype in ("Practitioner", "Organization"):
            if self.find_shared(rtype, rid) is None:
                raise not_found(f"{parameter}: {rtype}/{rid} is not in the served data")
            return self.attributed(rtype, rid)
        raise bad_request(f"{parameter}: subjects are Patient, Group, Practitioner or Organization references, not {rtype}",
                          parameter)

    def group_members(self, group: Resource, parameter: str = "subjectGroup") -> list[str]:
        if group.get("resourceType") != "Group":
            raise bad_request(f"{parameter}: expected a Group, found {group.get('resourceType')!r}", parameter)
        members: list[str] = []
        for m in group.get("member") or []:
            if m.get("inactive"):
                continue
            ref = str((m.get("entity") or {}).get("reference") or "")
            mtype, _, mid = ref.rpartition("/")
            if mtype.rsplit("/", 1)[-1] != "Patient" or not mid:
                raise FhirError(422, f"{parameter}: Group/{group.get('id')} has a member that is not a Patient reference ({ref!r})")
            if self.has_patient(mid) and mid not in members:
                members.append(mid)
        return members

    def attributed(self, rtype: str, rid: str) -> list[str]:
        """Patients whose generalPractitioner (Practitioner, Organization) or managingOrganization names the subject."""
        wanted = f"{rtype}/{rid}"
        out = []
        for rec in self.records():
            p = rec.patient or {}
            refs = [str(r.get("reference") or "") for r in p.get("generalPractitioner") or []]
            refs.append(str((p.get("managingOrganization") or {}).get("reference") or ""))
            if any(r == wanted or r.endswith("/" + wanted) for r in refs):
                out.append(rec.patient_id)
        return out

    def practitioner_patients(self, practitioner: str) -> list[str]:
        """The ``practitioner`` parameter: a Practitioner reference or a bare id."""
        rid = practitioner.rpartition("/")[2]
        return self.subject_patients(f"Practitioner/{rid}", "practitioner")


def overlay(record: PatientRecord, resources: Iterable[Resource]) -> PatientRecord:
    """The record with ``resources`` added, each replacing one of the same type and id."""
    extra = {(r.get("resourceType"), r.get("id")): r for r in resources}
    if not extra:
        return record
    kept = [r for r in record.resources if (r.get("resourceType"), r.get("id")) not in extra]
    merged = kept + list(extra.values())
    patient = [r for r in merged if r.get("resourceType") == "Patient"]
    rest = [r for r in merged if r.get("resourceType") != "Patient"]
    return PatientRecord(record.patient_id, patient + rest)


def split_by_patient(resources: Iterable[Resource]) -> tuple[dict[str, list[Resource]], list[Resource]]:
    """Resources grouped by the Patient compartment, and those of no patient."""
    by_patient: dict[str, list[Resource]] = {}
    shared: list[Resource] = []
    for r in resources:
        pids = compartment_patients(r)
        if not pids:
            shared.append(r)
        for pid in pids:
            by_patient.setdefault(pid, []).append(r)
    return by_patient, shared

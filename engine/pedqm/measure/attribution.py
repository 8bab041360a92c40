"""Which practice or clinician is accountable for each patient: the one attribution module that
`pedqm evaluate --by`, `pedqm vet --by` and `pedqm demo` share, so a child is attributed to the
same entity whichever command is asked.

A payment program scores the entity a child is attributed to, so the report says how each
patient was attributed. Rules, in order (the first that answers wins):

- practice: Patient.generalPractitioner naming an Organization (or a PractitionerRole's
  organization); Patient.managingOrganization; the serviceProvider of most of the patient's
  encounters in the measurement period (all encounters if none are in it; ties go to the most
  recent encounter).
- clinician: Patient.generalPractitioner naming a Practitioner (or a PractitionerRole's
  practitioner); the practitioner taking part in most of the patient's encounters.
- a list: a CSV file (patient and entity columns, optional start/end columns) or FHIR Group
  resources (one Group per entity, as the Da Vinci ATR IG's Member Attribution List: members are
  patients, the attributedProvider extension on a member overrides the Group's entity, and a
  member's ``period`` is when the entity is accountable). A membership counts when its period
  overlaps the measurement period; a child listed by several entities in the period goes to the
  membership that started last (the current one), ties to the smaller entity id, so the answer
  does not depend on file order. A list is independent of where care happened: a child seen only
  elsewhere still counts for the entity that lists it.
"""

from __future__ import annotations

import csv
import json
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..fhir.records import PatientRecord, Resource

GP, MANAGING, ENCOUNTERS, LISTED, NONE = (
    "Patient.generalPractitioner", "Patient.managingOrganization", "most encounters", "attribution list", "unattributed",
)
_PATIENT_COLUMNS = ("patient", "patient_id", "patientid", "patient_reference", "subject", "member")
_ENTITY_COLUMNS = ("entity", "entity_id", "practice", "practice_id", "clinician", "clinician_id", "provider",
                   "provider_id", "organization", "practitioner", "npi", "tin")
_NAME_COLUMNS = ("entity_name", "name", "practice_name", "clinician_name", "provider_name")
_START_COLUMNS = ("start", "period_start", "start_date", "from")
_END_COLUMNS = ("end", "period_end", "end_date", "to")


class AttributionError(ValueError):
    """An attribution list that cannot be read (said with the file and what is missing)."""


def reference_id(ref: str | None) -> tuple[str | None, str | None]:
    """(resource type, id) of a reference: 'Organization/1', a full URL, 'urn:uuid:..' or a
    conditional 'Organization?identifier=system|value' (keyed by the identifier value)."""
    if not ref:
        return None, None
    ref = ref.strip()
    if ref.startswith("urn:uuid:"):
        return None, ref[len("urn:uuid:"):]
    if "?" in ref:
        rtype, _, query = ref.partition("?")
        value = query.split("=", 1)[-1]
        return rtype.rsplit("/", 1)[-1] or None, value.split("|")[-1] or None
    parts = ref.rstrip("/").split("/")
    if "_history" in parts:
        parts = parts[: parts.index("_history")]
    if len(parts) >= 2:
        return parts[-2], parts[-1]
    return None, parts[-1]


def human_name(resource: Resource) -> str | None:
    for n in resource.get("name") or []:
        if isinstance(n, dict):
            if n.get("text"):
                return str(n["text"])
            parts = [*(n.get("prefix") or []), *(n.get("given") or []), n.get("family") or ""]
            text = " ".join(str(p) for p in parts if p).strip()
            if text:
                return text
    return None


@dataclass
class Attributor:
    """Attributes one patient at a time; counts how each was attributed, for the report."""

    by: str  # 'practice', 'clinician' or 'list'
    period: tuple[str, str]
    shared: list[Resource] = field(default_factory=list)
    listed: dict[str, str] = field(default_factory=dict)  # patient id -> entity (attribution list)
    source: str | None = None  # the list's file
    names: dict[str, str] = field(default_factory=dict)  # entity -> display name
    methods: Counter[str] = field(default_factory=Counter)

    def __post_init__(self) -> None:
        if self.by not in ("practice", "clinician", "list"):
            raise ValueError(f"attribution by {self.by!r}: use practice, clinician or an attribution list file")
        self._roles: dict[str, Resource] = {}
        for r in self.shared:
            rid = str(r.get("id"))
            if r.get("resourceType") == "PractitionerRole":
                self._roles[rid] = r
            elif r.get("resourceType") in ("Organization", "Practitioner"):
                name = r.get("name") if r.get("resourceType") == "Organization" else human_name(r)
                if name:
                    self.names.setdefault(rid, str(name))
                for ident in r.get("identifier") or []:
                    if ident.get("value") and name:
                        self.names.setdefault(str(ident["value"]), str(name))

    @property
    def description(self) -> str:
        if self.by == "list":
            return f"attribution list {self.source}"
        if self.by == "practice":
            return ("practice: Patient.generalPractitioner (Organization), else Patient.managingOrganization, "
                    "else the serviceProvider of most of the patient's encounters in the period")
        return ("clinician: Patient.generalPractitioner (Practitioner), else the practitioner in most of the "
                "patient's encounters in the period")

    def _note_name(self, entity: str, ref: dict[str, Any]) -> None:
        if ref.get("display"):
            self.names.setdefault(entity, str(ref["display"]))

    def _from_gp(self, patient: Resource, want: str) -> str | None:
        for ref in patient.get("generalPractitioner") or []:
            rtype, rid = reference_id(ref.get("reference"))
            if rid is None and (ref.get("identifier") or {}).get("value"):
                rtype, rid = ref.get("type"), str(ref["identifier"]["value"])
            rtype = rtype or ref.get("type")
            if rtype == "PractitionerRole" and rid in self._roles:
                role = self._roles[rid]
                inner = role.get("organization" if want == "Organization" else "practitioner") or {}
                _, inner_id = reference_id(inner.get("reference"))
                if inner_id:
                    self._note_name(inner_id, inner)
                    return inner_id
            if rtype == want and rid:
                self._note_name(rid, ref)
                return rid
        return None

    def _majority(self, record: PatientRecord, refs_of: Any) -> str | None:
        start, end = self.period
        encounters = record.of_type("Encounter")
        def when(e: Resource) -> str:
            return str((e.get("period") or {}).get("start") or (e.get("period") or {}).get("end") or "")
        inside = [e for e in encounters if start[:10] <= when(e)[:10] <= end[:10]]
        counts: Counter[str] = Counter()
        latest: dict[str, str] = {}
        for e in inside or encounters:
            for ref in refs_of(e):
                _, rid = reference_id(ref.get("reference"))
                if rid is None and (ref.get("identifier") or {}).get("value"):
                    rid = str(ref["identifier"]["value"])
                if rid:
                    counts[rid] += 1
                    latest[rid] = max(latest.get(rid, ""), when(e))
                    self._note_name(rid, ref)
        if not counts:
            return None
        return max(counts, key=lambda k: (counts[k], latest[k], k))

    def attribute(self, record: PatientRecord) -> tuple[str | None, str]:
        """(entity id or None, the rule that attributed the patient)."""
        entity, method = self._attribute(record)
        self.methods[method] += 1
        return entity, method

    def _attribute(self, record: PatientRecord) -> tuple[str | None, str]:
        if self.by == "list":
            entity = self.listed.get(record.patient_id)
            if entity is None:
                # a list may name children by identifier (system|value, or the value alone), as a
                # payer's member list does: it then finds the child whichever source's record
                # (and Patient id) the linked record kept
                for ident in (record.patient or {}).get("identifier") or []:
                    value = ident.get("value") if isinstance(ident, dict) else None
                    if value:
                        entity = self.listed.get(f"{ident.get('system') or ''}|{value}") or self.listed.get(str(value))
                        if entity:
                            break
            return (entity, LISTED) if entity else (None, NONE)
        patient = record.patient or {}
        if self.by == "practice":
            found = self._from_gp(patient, "Organization")
            if found:
                return found, GP
            _, rid = reference_id((patient.get("managingOrganization") or {}).get("reference"))
            if rid:
                self._note_name(rid, patient["managingOrganization"])
                return rid, MANAGING
            found = self._majority(record, lambda e: [e["serviceProvider"]] if e.get("serviceProvider") else [])
            return (found, ENCOUNTERS) if found else (None, NONE)
        found = self._from_gp(patient, "Practitioner")
        if found:
            return found, GP

        def practitioners(e: Resource) -> list[dict[str, Any]]:
            out = []
            for p in e.get("participant") or []:
                ind = p.get("individual") or {}
                rtype, _ = reference_id(ind.get("reference"))
                if rtype in (None, "Practitioner") and (ind.get("reference") or ind.get("identifier")):
                    out.append(ind)
            return out

        found = self._majority(record, practitioners)
        return (found, ENCOUNTERS) if found else (None, NONE)

    def name(self, entity: str) -> str:
        return self.names.get(entity, entity)


def _patient_key(value: str) -> str:
    """A list's patient: `Patient/123` or `123` (a Patient id), or `system|value` (an identifier)."""
    if "|" in value and not value.startswith(("Patient/", "http")):
        return value
    return reference_id(value)[1] or value


@dataclass(frozen=True)
class _Membership:
    patient: str
    entity: str
    start: str  # ISO date or date-time, '' when open
    end: str  # '' when open


def _overlaps(m: _Membership, period: tuple[str, str] | None) -> bool:
    """Whether a membership's period overlaps the measurement period (compared at day precision,
    which is what attribution lists state)."""
    if period is None:
        return True
    start, end = period[0][:10], period[1][:10]
    return (not m.start or m.start[:10] <= end) and (not m.end or m.end[:10] >= start)


def _choose(memberships: Iterable[_Membership], period: tuple[str, str] | None) -> dict[str, str]:
    """patient -> entity: of the memberships overlapping the period, the one that started last
    (ties to the smaller entity id), whatever order the file lists them in."""
    best: dict[str, _Membership] = {}
    for m in memberships:
        if not _overlaps(m, period):
            continue
        held = best.get(m.patient)
        if held is None or (m.start, _neg(m.entity)) > (held.start, _neg(held.entity)):
            best[m.patient] = m
    return {pid: m.entity for pid, m in best.items()}


def _neg(text: str) -> tuple[int, ...]:
    return tuple(-ord(c) for c in text)  # orders entity ids descending, so the smaller id wins a tie


def read_attribution_list(path: Path, period: tuple[str, str] | None = None) -> tuple[dict[str, str], dict[str, str]]:
    """(patient id -> entity, entity -> name) from a CSV file or FHIR Group JSON (a Group, a Bundle
    of Groups, or NDJSON of Groups); with ``period``, only memberships overlapping it count."""
    if not path.is_file():
        raise AttributionError(f"{path}: no such attribution file")
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise AttributionError(f"{path}: cannot read the attribution file: {exc}") from None
    if path.suffix.lower() in (".json", ".ndjson") or text.lstrip().startswith("{"):
        memberships, names = _from_groups(path, text)
    else:
        memberships, names = _from_csv(path, text)
    return _choose(memberships, period), names


def _from_csv(path: Path, text: str) -> tuple[list[_Membership], dict[str, str]]:
    reader = csv.DictReader(text.splitlines())
    header = {h.strip().lower(): h for h in reader.fieldnames or []}
    pcol = next((header[c] for c in _PATIENT_COLUMNS if c in header), None)
    ecol = next((header[c] for c in _ENTITY_COLUMNS if c in header), None)
    ncol = next((header[c] for c in _NAME_COLUMNS if c in header), None)
    scol = next((header[c] for c in _START_COLUMNS if c in header), None)
    endcol = next((header[c] for c in _END_COLUMNS if c in header), None)
    if pcol is None or ecol is None:
        raise AttributionError(f"{path}: an attribution CSV needs a patient column ({', '.join(_PATIENT_COLUMNS)}) "
                               f"and an entity column ({', '.join(_ENTITY_COLUMNS)}); found {', '.join(header) or 'none'}")
    out: list[_Membership] = []
    names: dict[str, str] = {}
    for line, row in enumerate(reader, 2):
        p, e = (row.get(pcol) or "").strip(), (row.get(ecol) or "").strip()
        if p and e:
            start = (row.get(scol) or "").strip() if scol else ""
            end = (row.get(endcol) or "").strip() if endcol else ""
            for label, value in (("start", start), ("end", end)):
                if value and not _is_date(value):
                    raise AttributionError(f"{path}, line {line}: {label} {value!r} is not an ISO date (YYYY-MM-DD)")
            out.append(_Membership(_patient_key(p), e, start, end))
            if ncol and (row.get(ncol) or "").strip():
                names[e] = str(row[ncol]).strip()
    return out, names


def _is_date(value: str) -> bool:
    import datetime as _dt

    try:
        _dt.date.fromisoformat(value[:10])
    except ValueError:
        return False
    return True


def _groups(path: Path, text: str) -> Iterable[Resource]:
    if path.suffix.lower() == ".ndjson":
        return [json.loads(line) for line in text.splitlines() if line.strip()]
    data = json.loads(text)
    if not isinstance(data, dict):
        raise ValueError("expected a JSON object (a Group or a Bundle)")
    if data.get("resourceType") == "Bundle":
        return [e.get("resource") or {} for e in data.get("entry") or []]
    return [data]


def _from_groups(path: Path, text: str) -> tuple[list[_Membership], dict[str, str]]:
    try:
        resources = list(_groups(path, text))
    except ValueError as exc:
        raise AttributionError(f"{path}: not valid JSON: {exc}") from None
    groups = [g for g in resources if isinstance(g, dict) and g.get("resourceType") == "Group"]
    if not groups:
        raise AttributionError(f"{path}: no FHIR Group in the attribution file")
    out: list[_Membership] = []
    names: dict[str, str] = {}
    for g in groups:
        managing = g.get("managingEntity") or {}
        entity = reference_id(managing.get("reference"))[1] or str(g.get("id") or "")
        if managing.get("display") or g.get("name"):
            names[entity] = str(managing.get("display") or g.get("name"))
        for m in g.get("member") or []:
            if m.get("inactive") is True:
                continue
            member = m.get("entity") or {}
            rtype, pid = reference_id(member.get("reference"))
            ident = member.get("identifier") or {}
            if pid is None and ident.get("value"):  # a member named by its member id (ATR)
                pid = f"{ident.get('system') or ''}|{ident['value']}" if ident.get("system") else str(ident["value"])
            if pid is None or rtype not in (None, "Patient"):
                continue
            who = entity
            for ext in m.get("extension") or []:
                if str(ext.get("url", "")).endswith("attributedProvider"):
                    ref = ext.get("valueReference") or {}
                    who = reference_id(ref.get("reference"))[1] or who
                    if ref.get("display"):
                        names[who] = str(ref["display"])
            if who:
                period = m.get("period") or {}
                out.append(_Membership(pid, who, str(period.get("start") or ""), str(period.get("end") or "")))
    return out, names


def make_attributor(by: str | Path, period: tuple[str, str], shared: list[Resource]) -> Attributor:
    """The attributor for ``--by``: 'practice', 'clinician', or an attribution list file (CSV or
    FHIR Group JSON; memberships outside ``period`` do not count)."""
    if str(by) in ("practice", "clinician"):
        return Attributor(str(by), period, shared)
    path = Path(by)
    listed, names = read_attribution_list(path, period)
    att = Attributor("list", period, shared, listed=listed, source=str(path))
    att.names.update(names)
    return att

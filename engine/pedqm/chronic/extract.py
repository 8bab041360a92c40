"""ICD codes from one patient's FHIR resources, with where and when each was found.

Sources: Condition (encounter diagnoses and problem-list items), Encounter.diagnosis (which links a
Condition or Procedure to an encounter), Procedure, and Claim / ExplanationOfBenefit diagnoses
and procedures. Codes are recognised by their system's canonical URI only (see
:mod:`.codes`); a Condition coded only in SNOMED CT is counted, so a report can tell "no chronic
condition" apart from "no ICD-coded data".

Skipped, and counted in :attr:`ExtractedCodes.skipped`: Conditions refuted or entered in error or
of another category (e.g. health-concern), Procedures not done, in preparation or entered in
error, Claims and ExplanationOfBenefits entered in error or for pre-authorisation.
"""

from __future__ import annotations

import datetime as _dt
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from ..fhir.records import PatientRecord, Resource
from .codes import ICD9CM, ICD10CM, ICD10PCS, CodeOccurrence, Kind, compact, icd_system, is_snomed
from .snomed_map import Patient as MapPatient
from .snomed_map import SnomedIcdMap

_CONDITION_CATEGORIES = frozenset({"encounter-diagnosis", "problem-list-item"})
_SKIP_VERIFICATION = frozenset({"refuted", "entered-in-error"})
_SKIP_PROCEDURE = frozenset({"entered-in-error", "not-done", "preparation"})
_SKIP_CLAIM_USE = frozenset({"preauthorization", "predetermination"})


@dataclass
class ExtractedCodes:
    """Everything the algorithms need from one patient's record."""

    occurrences: list[CodeOccurrence] = field(default_factory=list)
    snomed_only_conditions: int = 0  # Conditions with SNOMED CT codings but no ICD coding (and none mapped)
    mapped_conditions: int = 0  # SNOMED-only Conditions given ICD-10-CM codes by a --snomed-map
    uncoded_conditions: int = 0  # Conditions with neither (other systems, or text only)
    skipped: Counter[str] = field(default_factory=Counter)  # reason -> resources skipped


def ref_id(ref: Any) -> str | None:
    """The id a Reference points at: ``Condition/1``, ``urn:uuid:1`` and absolute URLs alike."""
    if not isinstance(ref, dict):
        return None
    text = ref.get("reference")
    if not isinstance(text, str) or not text.strip():
        return None
    text = text.strip()
    if text.startswith("urn:uuid:") or text.startswith("urn:oid:"):
        return text[9:] if text.startswith("urn:uuid:") else text[8:]
    if "/_history/" in text:
        text = text.split("/_history/")[0]
    return text.lstrip("#").rsplit("/", 1)[-1] or None


def fhir_date(value: Any) -> _dt.date | None:
    """The calendar date of a FHIR date or dateTime as written; a partial date takes its first day."""
    if not isinstance(value, str) or len(value) < 4:
        return None
    try:
        year = int(value[0:4])
        month = int(value[5:7]) if len(value) >= 7 else 1
        day = int(value[8:10]) if len(value) >= 10 else 1
        return _dt.date(year, month, day)
    except ValueError:
        return None


def _list(value: Any) -> list[Any]:
    """A FHIR array, or nothing when the element is missing or malformed."""
    return value if isinstance(value, list) else []


def _period_start(period: Any) -> _dt.date | None:
    return fhir_date(period.get("start")) if isinstance(period, dict) else None


def _codes(concept: Any) -> list[str]:
    """The ``code`` values of a CodeableConcept's codings (for status and category checks)."""
    if not isinstance(concept, dict):
        return []
    codings = _list(concept.get("coding"))
    return [c["code"] for c in codings if isinstance(c, dict) and isinstance(c.get("code"), str)]


def _all_codes(concepts: Any) -> set[str]:
    return {code for c in _list(concepts) for code in _codes(c)}


def _icd_codings(concept: Any, default_kind: Kind) -> tuple[list[tuple[str, int, Kind, str, str]], bool]:
    """ICD codings of a CodeableConcept as (system, version, kind, written, compact), and whether
    it has a SNOMED CT coding. ICD-9-CM's single URI takes its kind from where it was found."""
    found: list[tuple[str, int, Kind, str, str]] = []
    snomed = False
    if not isinstance(concept, dict):
        return found, snomed
    for coding in _list(concept.get("coding")):
        if not isinstance(coding, dict):
            continue
        system, code = coding.get("system"), coding.get("code")
        if not isinstance(code, str) or not isinstance(system, str):
            continue
        info = icd_system(system)
        if info is None:
            snomed = snomed or is_snomed(system)
            continue
        name, version, kind = info
        c = compact(code)
        if c:
            found.append((name, version, kind or default_kind, code.strip(), c))
    return found, snomed


def condition_skip_reason(cond: Resource) -> str | None:
    """Why a Condition does not count (refuted, entered in error, another category), or None."""
    bad = _SKIP_VERIFICATION.intersection(_codes(cond.get("verificationStatus")))
    if bad:
        return f"Condition {sorted(bad)[0]}"
    categories = _all_codes(cond.get("category"))
    if categories and not categories & _CONDITION_CATEGORIES:
        return "Condition of another category (" + ", ".join(sorted(categories)) + ")"
    return None


def procedure_skip_reason(proc: Resource) -> str | None:
    """Why a Procedure does not count (not done, in preparation, entered in error), or None."""
    status = proc.get("status")
    return f"Procedure {status}" if status in _SKIP_PROCEDURE else None


class _Extractor:
    """One pass over a record; indexes resources by id so references resolve in any form."""

    def __init__(self, record: PatientRecord, snomed_map: SnomedIcdMap | None = None) -> None:
        self.record = record
        self.snomed_map = snomed_map
        self.out = ExtractedCodes()
        self._seen: set[tuple[Any, ...]] = set()
        self.by_id: dict[str, dict[str, Resource]] = {}
        for rtype in ("Encounter", "Condition", "Procedure", "Claim"):
            self.by_id[rtype] = {r["id"]: r for r in record.of_type(rtype) if isinstance(r.get("id"), str)}
        # Condition/Procedure id -> encounter ids naming it in Encounter.diagnosis
        self.diagnosis_links: dict[str, list[str]] = {}
        for enc in record.of_type("Encounter"):
            if enc.get("status") == "entered-in-error" or not isinstance(enc.get("id"), str):
                continue
            for diag in _list(enc.get("diagnosis")):
                target = ref_id(diag.get("condition")) if isinstance(diag, dict) else None
                if target:
                    self.diagnosis_links.setdefault(target, []).append(enc["id"])

    # -- helpers -----------------------------------------------------------------------------
    def _add(self, name: str, version: int, kind: Kind, written: str, code: str, resource: str, path: str,
             date: _dt.date | None, encounter: str) -> None:
        key = (version, kind, code, written, resource, path, encounter)
        if key in self._seen:
            return
        self._seen.add(key)
        self.out.occurrences.append(CodeOccurrence(version, kind, code, written, name, resource, path, date, encounter))

    def _encounter_date(self, enc_id: str) -> _dt.date | None:
        enc = self.by_id["Encounter"].get(enc_id)
        return _period_start(enc.get("period")) if enc else None

    def _links(self, resource: Resource, rid: str | None) -> list[tuple[str, str]]:
        """(encounter id, how it was linked) for a Condition or Procedure."""
        links: list[tuple[str, str]] = []
        own = ref_id(resource.get("encounter"))
        if own:
            links.append((own, ""))
        for enc_id in self.diagnosis_links.get(rid or "", []):
            if enc_id != own:
                links.append((enc_id, " via Encounter.diagnosis"))
        return links

    @staticmethod
    def _label(resource: Resource, index: int) -> str:
        rid = resource.get("id")
        return f"{resource.get('resourceType')}/{rid if isinstance(rid, str) else f'#{index}'}"

    # -- Condition ---------------------------------------------------------------------------
    def conditions(self) -> None:
        for i, cond in enumerate(self.record.of_type("Condition")):
            reason = condition_skip_reason(cond)
            if reason:
                self.out.skipped[reason] += 1
                continue
            codings, snomed = _icd_codings(cond.get("code"), "dx")
            own_date = fhir_date(cond.get("recordedDate")) or fhir_date(cond.get("onsetDateTime")) \
                or _period_start(cond.get("onsetPeriod"))
            path = "Condition.code"
            if not codings and snomed and self.snomed_map is not None:
                codings, path = self._mapped(cond, own_date)
                if codings:
                    self.out.mapped_conditions += 1
            if not codings:
                if snomed:
                    self.out.snomed_only_conditions += 1
                else:
                    self.out.uncoded_conditions += 1
                continue
            label = self._label(cond, i)
            links = self._links(cond, cond.get("id"))
            for name, version, kind, written, code in codings:
                if not links:
                    self._add(name, version, kind, written, code, label, path, own_date, label)
                for enc_id, how in links:
                    date = self._encounter_date(enc_id) or own_date
                    self._add(name, version, kind, written, code, label, path + how, date, f"Encounter/{enc_id}")

    def _mapped(self, cond: Resource, onset: _dt.date | None) -> tuple[list[tuple[str, int, Kind, str, str]], str]:
        """ICD-10-CM codings for a SNOMED-only Condition by the user's map, and the path that says
        so in every explanation ("Condition.code (SNOMED CT 44054006 mapped)")."""
        assert self.snomed_map is not None
        patient = self._map_patient()
        birth = fhir_date((self.record.patient or {}).get("birthDate"))
        age = (onset - birth).days / 365.25 if onset and birth else None
        found: list[tuple[str, int, Kind, str, str]] = []
        concepts = []
        for coding in _list((cond.get("code") or {}).get("coding")):
            if isinstance(coding, dict) and is_snomed(coding.get("system")) and isinstance(coding.get("code"), str):
                for target in self.snomed_map.targets(coding["code"], patient, age):
                    if compact(target):
                        found.append((ICD10CM, 10, "dx", target, compact(target)))
                        concepts.append(coding["code"])
        return found, f"Condition.code (SNOMED CT {', '.join(dict.fromkeys(concepts))} mapped)"

    def _map_patient(self) -> MapPatient:
        if not hasattr(self, "_patient_for_map"):
            codes = frozenset(
                c["code"] for cond in self.record.of_type("Condition")
                for c in _list((cond.get("code") or {}).get("coding"))
                if isinstance(c, dict) and is_snomed(c.get("system")) and isinstance(c.get("code"), str))
            gender = (self.record.patient or {}).get("gender")
            self._patient_for_map = MapPatient(gender if gender in ("female", "male") else None, codes)
        return self._patient_for_map

    # -- Procedure ---------------------------------------------------------------------------
    @staticmethod
    def procedure_date(proc: Resource) -> _dt.date | None:
        return fhir_date(proc.get("performedDateTime")) or _period_start(proc.get("performedPeriod"))

    def procedures(self) -> None:
        for i, proc in enumerate(self.record.of_type("Procedure")):
            reason = procedure_skip_reason(proc)
            if reason:
                self.out.skipped[reason] += 1
                continue
            codings, _ = _icd_codings(proc.get("code"), "pr")
            if not codings:
                continue
            label = self._label(proc, i)
            own_date = self.procedure_date(proc)
            links = self._links(proc, proc.get("id"))
            for name, version, kind, written, code in codings:
                if not links:
                    self._add(name, version, kind, written, code, label, "Procedure.code", own_date, label)
                for enc_id, how in links:
                    date = own_date or self._encounter_date(enc_id)
                    self._add(name, version, kind, written, code, label, "Procedure.code" + how, date, f"Encounter/{enc_id}")

    # -- Claim and ExplanationOfBenefit ------------------------------------------------------
    def _claim_encounter(self, claim: Resource, label: str) -> str:
        encounters = {ref_id(e) for item in _list(claim.get("item")) if isinstance(item, dict)
                      for e in _list(item.get("encounter"))} - {None}
        if len(encounters) == 1:
            return f"Encounter/{next(iter(encounters))}"
        if claim.get("resourceType") == "ExplanationOfBenefit":
            claim_id = ref_id(claim.get("claim"))
            if claim_id:
                target = self.by_id["Claim"].get(claim_id)
                return self._claim_encounter(target, f"Claim/{claim_id}") if target else f"Claim/{claim_id}"
        return label

    def billing(self, rtype: str) -> None:
        for i, claim in enumerate(self.record.of_type(rtype)):
            status = claim.get("status")
            if status == "entered-in-error" or claim.get("use") in _SKIP_CLAIM_USE:
                self.out.skipped[f"{rtype} {status if status == 'entered-in-error' else claim.get('use')}"] += 1
                continue
            label = self._label(claim, i)
            encounter = self._claim_encounter(claim, label)
            date = _period_start(claim.get("billablePeriod")) or fhir_date(claim.get("created"))
            for diag in _list(claim.get("diagnosis")):
                if isinstance(diag, dict):
                    self._billing_entry(diag, "diagnosis", "dx", rtype, label, date, encounter)
            for proc in _list(claim.get("procedure")):
                if isinstance(proc, dict):
                    self._billing_entry(proc, "procedure", "pr", rtype, label, fhir_date(proc.get("date")) or date, encounter)

    def _billing_entry(self, entry: dict[str, Any], element: str, kind: Kind, rtype: str, label: str,
                       date: _dt.date | None, encounter: str) -> None:
        concept = entry.get(f"{element}CodeableConcept")
        path = f"{rtype}.{element}"
        if concept is None:  # a reference to the Condition or Procedure itself
            ref = ref_id(entry.get(f"{element}Reference"))
            target = self.by_id["Condition" if kind == "dx" else "Procedure"].get(ref or "")
            skip = condition_skip_reason if kind == "dx" else procedure_skip_reason
            if target is None or skip(target):
                return
            concept = target.get("code")
            path += f" -> {target.get('resourceType')}/{ref}"
        codings, _ = _icd_codings(concept, kind)
        for name, version, k, written, code in codings:
            self._add(name, version, k, written, code, label, path, date, encounter)


def extract_codes(record: PatientRecord, snomed_map: SnomedIcdMap | None = None) -> ExtractedCodes:
    """The ICD code occurrences in one patient's record, plus what was skipped and why; with a
    SNOMED CT -> ICD-10-CM map, SNOMED-only Conditions contribute their mapped codes."""
    ex = _Extractor(record, snomed_map)
    ex.conditions()
    ex.procedures()
    ex.billing("Claim")
    ex.billing("ExplanationOfBenefit")
    return ex.out


def occurrences_from_codes(codes: Iterable[tuple[int, Kind, str]], patient_id: str = "patient") -> list[CodeOccurrence]:
    """Occurrences for bare (ICD version, kind, code) triples, e.g. a claims extract or a test case.

    Each code is its own undated encounter, so PMCA's two-encounter rule needs real encounters.
    """
    out = []
    for i, (version, kind, code) in enumerate(codes):
        if version not in (9, 10) or kind not in ("dx", "pr"):
            raise ValueError(f"code {code!r}: version must be 9 or 10 and kind 'dx' or 'pr', got {version!r}, {kind!r}")
        system = ICD9CM if version == 9 else (ICD10CM if kind == "dx" else ICD10PCS)
        label = f"{patient_id}#{i + 1}"
        out.append(CodeOccurrence(version, kind, compact(code), code, system, label, "input", None, label))
    return out

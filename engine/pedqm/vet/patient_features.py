"""What the vetting report stratifies and risk-adjusts by, read from one patient's FHIR record.

Age at the end of the measurement period (HEDIS reads age as of the period's last day), sex
(Patient.gender), race and ethnicity (US Core extensions' OMB categories), payer (Coverage active
in the period), and chronic-condition status from pedqm's chronic layer (CCC, PMCA).
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass
from typing import Any

from ..fhir.records import PatientRecord, Resource

US_CORE_RACE = "http://hl7.org/fhir/us/core/StructureDefinition/us-core-race"
US_CORE_ETHNICITY = "http://hl7.org/fhir/us/core/StructureDefinition/us-core-ethnicity"

RACE_LABELS = {
    "1002-5": "American Indian or Alaska Native",
    "2028-9": "Asian",
    "2054-5": "Black or African American",
    "2076-8": "Native Hawaiian or Other Pacific Islander",
    "2106-3": "White",
    "2131-1": "Other race",
}
ETHNICITY_LABELS = {"2135-2": "Hispanic or Latino", "2186-5": "Not Hispanic or Latino"}
UNKNOWN = "Unknown"
NO_ICD = "Unknown (no ICD-coded data)"  # chronic-condition status when the child has no ICD-coded data

AGE_BANDS: tuple[tuple[int, int | None, str], ...] = (
    (0, 1, "0-1"), (2, 5, "2-5"), (6, 11, "6-11"), (12, 17, "12-17"), (18, None, "18+"),
)

PAYER_MEDICAID = "Medicaid/CHIP"
PAYER_PRIVATE = "Private"
PAYER_OTHER_PUBLIC = "Other public"
PAYER_SELF = "Self-pay/uninsured"
PAYER_OTHER = "Other"
SOPT = "urn:oid:2.16.840.1.113883.3.221.5"  # PHIN VADS Source of Payment Typology


@dataclass(frozen=True)
class PatientFeatures:
    age: int | None
    age_band: str
    sex: str
    race: str
    ethnicity: str
    payer: str
    ccc: str  # 'ccc', 'no_ccc' or 'no_icd_data'
    pmca: str  # 'complex_chronic', 'noncomplex_chronic', 'non_chronic' or 'no_icd_data'

    @property
    def chronic(self) -> str:
        """CCC found, none found, or unknown: a child without ICD-coded data (e.g. conditions coded
        only in SNOMED CT) is not known to have no CCC, so is never counted with those who have none."""
        if self.ccc == UNKNOWN:
            return UNKNOWN
        if self.ccc == "no_icd_data":
            return NO_ICD
        return "CCC" if self.ccc == "ccc" else "No CCC found"

    def as_dict(self) -> dict[str, Any]:
        d = {**self.__dict__, "chronic": self.chronic}
        if self.pmca == "no_icd_data":
            d["pmca"] = NO_ICD
        return d


def age_in_years(birth: str | None, as_of: _dt.date) -> int | None:
    if not birth:
        return None
    parts = birth[:10].split("-")
    try:
        year = int(parts[0])
        month = int(parts[1]) if len(parts) > 1 else 7  # a year-only birth date: mid-year
        day = int(parts[2]) if len(parts) > 2 else 1
    except ValueError:
        return None
    return as_of.year - year - ((as_of.month, as_of.day) < (month, day))


def age_band(age: int | None) -> str:
    if age is None or age < 0:
        return UNKNOWN
    for lo, hi, label in AGE_BANDS:
        if age >= lo and (hi is None or age <= hi):
            return label
    return UNKNOWN


def _omb(patient: Resource, url: str, labels: dict[str, str]) -> str:
    for ext in patient.get("extension") or []:
        if ext.get("url") != url:
            continue
        cats = [str((e.get("valueCoding") or {}).get("code")) for e in ext.get("extension") or []
                if e.get("url") == "ombCategory"]
        cats = [c for c in cats if c in labels]
        if len(set(cats)) > 1:
            return "Multiple races"
        if cats:
            return labels[cats[0]]
    return UNKNOWN


def race(patient: Resource) -> str:
    return _omb(patient, US_CORE_RACE, RACE_LABELS)


def ethnicity(patient: Resource) -> str:
    return _omb(patient, US_CORE_ETHNICITY, ETHNICITY_LABELS)


def sex(patient: Resource) -> str:
    g = patient.get("gender")
    return {"male": "Male", "female": "Female", "other": "Other"}.get(str(g), UNKNOWN)


def _payer_category(coverage: Resource) -> str:
    """Coverage.type by the Source of Payment Typology first digit (1 Medicare, 2 Medicaid,
    3 other government, 5/6/7 private, 8 no payment), else by words in its text."""
    texts = []
    cc = coverage.get("type") or {}
    for coding in cc.get("coding") or []:
        code = str(coding.get("code") or "")
        if coding.get("system") == SOPT and code:
            first = code[0]
            if first == "2":
                return PAYER_MEDICAID
            if first in "134":
                return PAYER_OTHER_PUBLIC
            if first in "567":
                return PAYER_PRIVATE
            if first == "8":
                return PAYER_SELF
            return PAYER_OTHER
        if code in ("SUBSIDIZ", "MCPOL", "PUBLICPOL", "SUBSIDMC"):
            return PAYER_MEDICAID if code in ("SUBSIDIZ", "SUBSIDMC") else PAYER_OTHER_PUBLIC
        if code in ("PAY", "SELFPAY"):
            return PAYER_SELF
        texts.append(str(coding.get("display") or ""))
    texts.append(str(cc.get("text") or ""))
    texts += [str(p.get("display") or "") for p in coverage.get("payor") or []]
    words = " ".join(texts).lower()
    if "medicaid" in words or "chip" in words:
        return PAYER_MEDICAID
    if "self" in words or "uninsured" in words or "no insurance" in words:
        return PAYER_SELF
    if "medicare" in words or "tricare" in words or "government" in words:
        return PAYER_OTHER_PUBLIC
    if any(w in words for w in ("commercial", "private", "employer", "blue cross", "hmo", "ppo")):
        return PAYER_PRIVATE
    return PAYER_OTHER if words.strip() else UNKNOWN


def _overlaps(period: dict[str, Any] | None, start: str, end: str) -> bool:
    if not period:
        return True
    s, e = str(period.get("start") or "")[:10], str(period.get("end") or "")[:10]
    return (not s or s <= end) and (not e or e >= start)


def payer(record: PatientRecord, start: str, end: str) -> str:
    """The payer category of Coverage active in [start, end]: Medicaid/CHIP when any such
    coverage is Medicaid or CHIP (the equity question), else the coverage of lowest `order`."""
    active = [c for c in record.of_type("Coverage")
              if c.get("status", "active") == "active" and _overlaps(c.get("period"), start, end)]
    if not active:
        return UNKNOWN
    cats = [_payer_category(c) for c in sorted(active, key=lambda c: c.get("order") or 99)]
    return PAYER_MEDICAID if PAYER_MEDICAID in cats else cats[0]


def features(record: PatientRecord, period_start: str, period_end: str, *, chronic: bool = True) -> PatientFeatures:
    """A patient's strata and covariates for a measurement period given as ISO dates."""
    patient = record.patient or {}
    end = _dt.date.fromisoformat(period_end[:10])
    age = age_in_years(patient.get("birthDate"), end)
    ccc = pmca = UNKNOWN
    if chronic:
        from ..chronic import stratum_value

        ccc = stratum_value(record, "ccc-v3", as_of=end)
        pmca = stratum_value(record, "pmca", as_of=end)
    return PatientFeatures(age, age_band(age), sex(patient), race(patient), ethnicity(patient),
                           payer(record, period_start[:10], period_end[:10]), ccc, pmca)

"""What a written population holds, measured from its files (not from the generator's state).

Reads the NDJSON back through :func:`pedqm.fhir.sources.open_source`, so the numbers describe what
any consumer sees: practice sizes, payer and race mix, condition prevalence (by diagnosis code and,
for obesity, by the last recorded BMI percentile), the chronic-condition layer's CCC v3 and PMCA
results, and each practice's achieved care-gap rates next to the rates it was configured with.
"""

from __future__ import annotations

import datetime as _dt
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..fhir.records import PatientRecord
from ..fhir.sources import open_source
from . import codes as C
from .config import PREVALENCE_AGES, Practice, read_practices_csv
from .generator import PRACTICES_CSV
from .immunizations import routine_complete_by

# diagnosis-code prefixes (ICD-10-CM, dotted) that mark each condition
CONDITION_PREFIXES: dict[str, tuple[str, ...]] = {
    "asthma": ("J45",), "adhd": ("F90",), "anxiety": ("F41",), "depression": ("F32",), "autism": ("F84",),
    "epilepsy": ("G40.909",), "type1_diabetes": ("E10",),
    "ccc": tuple(d.code.code for d in C.CCC_DIAGNOSES),
    **{key: (code.code,) for key, (code, _) in C.OTHER_CHRONIC.items()},
}
WELL_CPT = frozenset(C.WELL_NEW.values()) | frozenset(C.WELL_ESTABLISHED.values())


@dataclass
class Rate:
    numerator: int = 0
    denominator: int = 0

    def add(self, hit: bool) -> None:
        self.denominator += 1
        self.numerator += int(hit)

    @property
    def value(self) -> float | None:
        return self.numerator / self.denominator if self.denominator else None

    def __str__(self) -> str:
        v = self.value
        return "-" if v is None else f"{v:.3f} ({self.numerator}/{self.denominator})"


@dataclass
class PopulationStats:
    """Counts and rates measured from a population's files."""

    patients: int = 0
    as_of: _dt.date = _dt.date(2025, 12, 31)
    by_practice: Counter[str] = field(default_factory=Counter)
    payer: Counter[str] = field(default_factory=Counter)
    race: Counter[str] = field(default_factory=Counter)
    ethnicity: Counter[str] = field(default_factory=Counter)
    sex: Counter[str] = field(default_factory=Counter)
    ages: Counter[int] = field(default_factory=Counter)
    prevalence: dict[str, Rate] = field(default_factory=lambda: defaultdict(Rate))
    chronic: dict[str, Counter[str]] = field(default_factory=dict)  # algorithm -> label counts
    care: dict[str, dict[str, Rate]] = field(default_factory=lambda: defaultdict(lambda: defaultdict(Rate)))
    resources: Counter[str] = field(default_factory=Counter)
    issues: int = 0

    def care_rate(self, name: str, practice: str | None = None) -> Rate:
        """A care rate for one practice, or pooled over all practices."""
        if practice is not None:
            return self.care[name][practice]
        pooled = Rate()
        for r in self.care[name].values():
            pooled.numerator += r.numerator
            pooled.denominator += r.denominator
        return pooled


def _dotted(code: str) -> str:
    return code if "." in code or len(code) <= 3 else f"{code[:3]}.{code[3:]}"


def _codes(concept: Any, system: str) -> list[str]:
    if not isinstance(concept, dict):
        return []
    return [c.get("code", "") for c in concept.get("coding", []) if c.get("system") == system]


def _day(value: Any) -> _dt.date | None:
    return _dt.date.fromisoformat(value[:10]) if isinstance(value, str) and len(value) >= 10 else None


def _age(birth: _dt.date, day: _dt.date) -> int:
    return day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day))


def _second_birthday(birth: _dt.date) -> _dt.date:
    try:
        return birth.replace(year=birth.year + 2)
    except ValueError:
        return _dt.date(birth.year + 2, 3, 1)


def population_stats(path: str | Path, *, as_of: _dt.date = _dt.date(2025, 12, 31),
                     chronic: Iterable[str] = ("ccc-v3", "pmca")) -> PopulationStats:
    """Measure the population under ``path`` (care rates cover the three years ending ``as_of``)."""
    from ..chronic import stratum_value

    source = open_source(path)
    stats = PopulationStats(as_of=as_of)
    shared = source.shared_resources()
    org_practice = {r["id"]: r["identifier"][0]["value"] for r in shared
                    if r["resourceType"] == "Organization" and r.get("identifier")}
    stats.resources.update(r["resourceType"] for r in shared)
    algorithms = tuple(chronic)
    for name in algorithms:
        stats.chronic[name] = Counter()
    for record in source.patients():
        _patient(stats, record, org_practice, as_of)
        for name in algorithms:
            stats.chronic[name][stratum_value(record, name, as_of=as_of)] += 1
    stats.issues = len(source.issues)
    return stats


def _patient(stats: PopulationStats, record: PatientRecord, org_practice: dict[str, str], as_of: _dt.date) -> None:
    patient = record.patient
    if patient is None:
        return
    stats.patients += 1
    stats.resources.update(r["resourceType"] for r in record.resources)
    birth = _dt.date.fromisoformat(patient["birthDate"])
    age = _age(birth, as_of)
    practice = org_practice.get(patient["managingOrganization"]["reference"].split("/")[-1], "?")
    stats.by_practice[practice] += 1
    stats.ages[age] += 1
    stats.sex[patient.get("gender", "unknown")] += 1
    race_ext = next(e for e in patient.get("extension", []) if e["url"] == C.US_CORE_RACE)
    races = [e["valueCoding"]["display"] for e in race_ext["extension"] if e["url"] == "ombCategory"]
    stats.race["Two or more races" if len(races) > 1 else races[0] if races else "Unknown"] += 1
    eth_ext = next(e for e in patient.get("extension", []) if e["url"] == C.US_CORE_ETHNICITY)
    eth = [e["valueCoding"]["display"] for e in eth_ext["extension"] if e["url"] == "ombCategory"]
    stats.ethnicity[eth[0] if eth else "Unknown"] += 1
    current = [c for c in record.of_type("Coverage") if "end" not in c.get("period", {})]
    stats.payer[current[0]["type"]["text"] if current else "none"] += 1

    # prevalence, by diagnosis code
    dx = {_dotted(code) for cond in record.of_type("Condition") for code in _codes(cond.get("code"), C.ICD10CM)}
    for key, prefixes in CONDITION_PREFIXES.items():
        lo, hi = PREVALENCE_AGES[key]
        if lo <= age <= hi:
            stats.prevalence[key].add(any(code.startswith(prefixes) for code in dx))
    # obesity: the last BMI percentile recorded (ages 2-17 with one)
    bmi = sorted((o["effectiveDateTime"], o["valueQuantity"]["value"]) for o in record.of_type("Observation")
                 if C.BMI_PERCENTILE.code in _codes(o.get("code"), C.LOINC))
    if bmi and 2 <= age <= 17:
        stats.prevalence["obesity"].add(bmi[-1][1] >= 95.0)
    _care(stats, record, practice, birth, as_of)


def _care(stats: PopulationStats, record: PatientRecord, practice: str, birth: _dt.date, as_of: _dt.date) -> None:
    care = stats.care
    start = _dt.date(as_of.year - 2, 1, 1)
    year_start = _dt.date(as_of.year, 1, 1)
    encounters = {e["id"]: e for e in record.of_type("Encounter")}
    well = {eid: _day(e["period"]["start"]) for eid, e in encounters.items()
            if WELL_CPT.intersection(_codes(e["type"][0], C.CPT))}
    obs_by_enc: dict[str, set[str]] = defaultdict(set)
    for o in record.of_type("Observation"):
        if "encounter" in o:
            obs_by_enc[o["encounter"]["reference"].split("/")[-1]].update(_codes(o.get("code"), C.LOINC))
    proc_by_enc: dict[str, set[str]] = defaultdict(set)
    for p in record.of_type("Procedure"):
        proc_by_enc[p["encounter"]["reference"].split("/")[-1]].update(c["code"] for c in p["code"]["coding"])

    age_end = _age(birth, as_of)
    if 3 <= age_end <= 21 and _age(birth, year_start) >= 3:
        care["well_visit"][practice].add(any(d is not None and d >= year_start for d in well.values()))
    second = _second_birthday(birth)
    doses = [(c, d) for i in record.of_type("Immunization")
             for c in _codes(i.get("vaccineCode"), C.CVX) if (d := _day(i.get("occurrenceDateTime"))) is not None]
    if start <= second <= as_of:
        care["immunization"][practice].add(routine_complete_by(doses, second))
    if _dt.date(as_of.year - 1, 1, 1) <= second <= as_of:
        lead_codes = {C.LEAD.code, C.LEAD_CAPILLARY.code, C.LEAD_VENOUS.code}
        lead = any(lead_codes.intersection(_codes(o.get("code"), C.LOINC))
                   for o in record.of_type("Observation") if (d := _day(o["effectiveDateTime"])) and d <= second)
        care["lead_screening"][practice].add(lead)
    for eid, day in well.items():
        if day is None:
            continue
        age = _age(birth, day)
        if age >= 12:
            care["depression_screening"][practice].add(C.ADOLESCENT_DEPRESSION_SCREEN.code in obs_by_enc[eid])
        if 2 <= age <= 17:
            care["bmi_percentile"][practice].add(C.BMI_PERCENTILE.code in obs_by_enc[eid])
        if 3 <= age <= 17:
            care["nutrition_counseling"][practice].add(C.NUTRITION_COUNSELING_SCT.code in proc_by_enc[eid])
            care["activity_counseling"][practice].add(C.ACTIVITY_COUNSELING_SCT.code in proc_by_enc[eid])
        if 183 <= (day - birth).days < 6 * 365:
            care["fluoride_varnish"][practice].add(C.FLUORIDE_VARNISH_CPT in proc_by_enc[eid])
    pharyngitis = [e for e in encounters.values() if e.get("class", {}).get("code") in ("AMB", "VR") and any(
        code.startswith(("J02", "J03")) for cond in record.of_type("Condition")
        if cond.get("encounter", {}).get("reference") == f"Encounter/{e['id']}"
        for code in _codes(cond.get("code"), C.ICD10CM))]
    for e in pharyngitis:
        care["strep_testing"][practice].add(bool({C.STREP_RAPID.code, C.STREP_CULTURE.code} & obs_by_enc[e["id"]]))


def practice_table(stats: PopulationStats, practices: Iterable[Practice],
                   rates: tuple[str, ...] = ("well_visit", "immunization", "lead_screening", "depression_screening",
                                              "bmi_percentile", "strep_testing")) -> str:
    """A Markdown table: each practice's size and, per rate, configured → achieved."""
    head = "| practice | kind | patients | " + " | ".join(rates) + " |"
    lines = [head, "|" + "---|" * (3 + len(rates))]
    for p in practices:
        cells = []
        for name in rates:
            r = stats.care_rate(name, p.id)
            got = "-" if r.value is None else f"{r.value:.2f} (n={r.denominator})"
            cells.append(f"{getattr(p.care, name):.2f} → {got}")
        lines.append(f"| {p.id} {p.name} | {p.kind} | {stats.by_practice[p.id]} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def describe(path: str | Path, stats: PopulationStats | None = None) -> str:
    """A Markdown report of a population directory (what the README's tables come from)."""
    path = Path(path)
    stats = stats or population_stats(path)
    practices = read_practices_csv(path / PRACTICES_CSV)
    out = [f"Patients: {stats.patients}; resources: {sum(stats.resources.values())}; "
           f"skipped by the file source: {stats.issues}", ""]
    out.append("| condition | eligible ages | achieved |")
    out.append("|---|---|---|")
    for key, rate in sorted(stats.prevalence.items()):
        lo, hi = PREVALENCE_AGES[key] if key != "obesity" else (2, 17)
        out.append(f"| {key} | {lo}-{hi} | {rate} |")
    for name, counts in stats.chronic.items():
        total = sum(counts.values())
        parts = ", ".join(f"{label} {n} ({n / total:.1%})" for label, n in counts.most_common())
        out.append(f"\n{name}: {parts}")
    for title, counter in (("payer", stats.payer), ("race", stats.race), ("ethnicity", stats.ethnicity),
                           ("sex", stats.sex)):
        total = sum(counter.values())
        out.append(f"\n{title}: " + ", ".join(f"{k} {v / total:.1%}" for k, v in counter.most_common()))
    out.append("")
    out.append(practice_table(stats, practices))
    return "\n".join(out)

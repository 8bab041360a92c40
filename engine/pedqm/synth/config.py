"""What a synthetic population looks like: its practices, their care gaps, and condition prevalence.

Every number that shapes the data lives here, so a population is described completely by a
:class:`SynthConfig` (and the practices table written beside the data). Rates are probabilities
per opportunity; what each one means is in the field comments of :class:`CareRates`.
"""

from __future__ import annotations

import csv
import datetime as _dt
import math
import random
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path

GENERATOR_VERSION = "1.0.0"


@dataclass(frozen=True)
class CareRates:
    """A practice's care-gap parameters: the chance that each recommended service happens."""

    well_visit: float  # a scheduled well-child visit (infants) or the annual well-care visit (3+) happens
    immunization: float  # the child completes the routine early-childhood series on schedule
    influenza: float  # the child is vaccinated against influenza in a given season
    adolescent_vaccines: float  # Tdap, MenACWY and HPV started at 11-12
    lead_screening: float  # at least one blood lead test by the second birthday
    developmental_screening: float  # a standardized screen at the 9-, 18- and 30-month visit
    depression_screening: float  # a depression screen at an adolescent (12+) well visit
    depression_followup: float  # follow-up within 30 days of a positive screen
    bmi_percentile: float  # BMI percentile recorded at a well visit (ages 2-17)
    nutrition_counseling: float  # nutrition counseling at a well visit (ages 3-17)
    activity_counseling: float  # physical-activity counseling at a well visit (ages 3-17)
    social_needs_screening: float  # food and housing screen at the first visit of a year
    fluoride_varnish: float  # fluoride varnish at a well visit from 6 months to 5 years
    strep_testing: float  # a group A strep test at a pharyngitis visit
    asthma_controller: float  # a child with persistent asthma gets a controller in a year
    adhd_followup: float  # a visit within 30 days of starting ADHD medication


@dataclass(frozen=True)
class Practice:
    """One practice: who it serves and how well it closes care gaps."""

    id: str
    name: str
    kind: str  # archetype: fqhc, academic, suburban, independent, rural
    size: int  # patients attributed to it
    clinicians: int
    setting: str  # urban, suburban or rural: selects the race and ethnicity mix
    medicaid_share: float
    uninsured_share: float
    care: CareRates


@dataclass(frozen=True)
class Prevalence:
    """Share of eligible children with each condition (eligible ages in :data:`PREVALENCE_AGES`)."""

    asthma: float = 0.07
    persistent_asthma_share: float = 0.5  # of children with asthma
    adhd: float = 0.10
    anxiety: float = 0.07
    depression: float = 0.06
    autism: float = 0.028
    obesity: float = 0.197
    overweight: float = 0.161
    obesity_coded: float = 0.45  # of children with obesity, the share with an E66.9 diagnosis
    epilepsy: float = 0.004  # non-intractable; intractable epilepsy is among the CCCs
    type1_diabetes: float = 0.0022
    ccc: float = 0.03
    ccc_second_category: float = 0.2  # of children with a CCC, share with a second one
    speech_language: float = 0.05
    sleep_apnea: float = 0.015
    scoliosis: float = 0.02
    celiac: float = 0.004
    hypothyroidism: float = 0.004
    hearing_loss: float = 0.003
    vsd: float = 0.003
    arthritis: float = 0.001
    # spread of a child's latent chronic-illness propensity (log-normal, mean 1): conditions cluster
    # in the same children, as multimorbidity does, without changing any condition's prevalence
    comorbidity_sd: float = 0.9


# (min age, max age) in years at the end of the data window for each condition
PREVALENCE_AGES: dict[str, tuple[int, int]] = {
    "asthma": (2, 21),
    "adhd": (6, 21),
    "anxiety": (6, 21),
    "depression": (12, 21),
    "autism": (2, 21),
    "obesity": (2, 21),
    "epilepsy": (1, 21),
    "type1_diabetes": (1, 21),
    "ccc": (0, 21),
    "speech_language": (3, 21),
    "sleep_apnea": (2, 21),
    "scoliosis": (10, 21),
    "celiac": (1, 21),
    "hypothyroidism": (0, 21),
    "hearing_loss": (0, 21),
    "vsd": (0, 21),
    "arthritis": (1, 21),
}

# Relative risk for children covered by Medicaid (normalised so the population rate is unchanged).
MEDICAID_RELATIVE_RISK: dict[str, float] = {"asthma": 1.4, "obesity": 1.3, "adhd": 1.2, "depression": 1.2,
                                            "anxiety": 1.1, "ccc": 1.3}
# Relative risk for boys (normalised the same way).
MALE_RELATIVE_RISK: dict[str, float] = {"asthma": 1.25, "adhd": 1.8, "autism": 3.8, "anxiety": 0.8,
                                        "depression": 0.6}

# Additive shift of a care rate for a Medicaid-covered child, centred on the practice's mix so the
# practice rate is unchanged (Medicaid requires lead testing; its members miss more visits).
MEDICAID_CARE_SHIFT: dict[str, float] = {"well_visit": -0.08, "immunization": -0.06, "lead_screening": 0.25,
                                         "social_needs_screening": 0.1, "influenza": -0.05}

# Race distribution (shares of white, black, asian, aian, nhpi, two or more, unknown) and Hispanic
# share per setting; shaped after the US child population (Census 2020) shifted by setting.
RACE_MIX: dict[str, dict[str, float]] = {
    "urban": {"white": 0.36, "black": 0.38, "asian": 0.07, "aian": 0.01, "nhpi": 0.005, "multiple": 0.07,
              "unknown": 0.105},
    "suburban": {"white": 0.66, "black": 0.10, "asian": 0.11, "aian": 0.005, "nhpi": 0.003, "multiple": 0.07,
                 "unknown": 0.052},
    "rural": {"white": 0.80, "black": 0.07, "asian": 0.01, "aian": 0.05, "nhpi": 0.002, "multiple": 0.04,
              "unknown": 0.028},
}
HISPANIC_SHARE: dict[str, float] = {"urban": 0.36, "suburban": 0.18, "rural": 0.13}


@dataclass(frozen=True)
class Archetype:
    setting: str
    medicaid_share: float
    uninsured_share: float
    care: CareRates


ARCHETYPES: dict[str, Archetype] = {
    "fqhc": Archetype("urban", 0.78, 0.07, CareRates(
        well_visit=0.62, immunization=0.66, influenza=0.50, adolescent_vaccines=0.72, lead_screening=0.74,
        developmental_screening=0.72, depression_screening=0.76, depression_followup=0.70, bmi_percentile=0.88,
        nutrition_counseling=0.72, activity_counseling=0.64, social_needs_screening=0.80, fluoride_varnish=0.62,
        strep_testing=0.86, asthma_controller=0.70, adhd_followup=0.45)),
    "academic": Archetype("urban", 0.60, 0.04, CareRates(
        well_visit=0.68, immunization=0.72, influenza=0.58, adolescent_vaccines=0.78, lead_screening=0.70,
        developmental_screening=0.84, depression_screening=0.86, depression_followup=0.80, bmi_percentile=0.93,
        nutrition_counseling=0.70, activity_counseling=0.66, social_needs_screening=0.86, fluoride_varnish=0.55,
        strep_testing=0.92, asthma_controller=0.78, adhd_followup=0.55)),
    "suburban": Archetype("suburban", 0.20, 0.02, CareRates(
        well_visit=0.82, immunization=0.78, influenza=0.62, adolescent_vaccines=0.82, lead_screening=0.48,
        developmental_screening=0.86, depression_screening=0.86, depression_followup=0.82, bmi_percentile=0.95,
        nutrition_counseling=0.60, activity_counseling=0.56, social_needs_screening=0.42, fluoride_varnish=0.40,
        strep_testing=0.95, asthma_controller=0.80, adhd_followup=0.55)),
    "independent": Archetype("suburban", 0.38, 0.04, CareRates(
        well_visit=0.72, immunization=0.70, influenza=0.52, adolescent_vaccines=0.74, lead_screening=0.58,
        developmental_screening=0.70, depression_screening=0.60, depression_followup=0.70, bmi_percentile=0.86,
        nutrition_counseling=0.55, activity_counseling=0.48, social_needs_screening=0.52, fluoride_varnish=0.45,
        strep_testing=0.88, asthma_controller=0.72, adhd_followup=0.45)),
    "rural": Archetype("rural", 0.50, 0.06, CareRates(
        well_visit=0.56, immunization=0.63, influenza=0.42, adolescent_vaccines=0.64, lead_screening=0.52,
        developmental_screening=0.56, depression_screening=0.46, depression_followup=0.60, bmi_percentile=0.76,
        nutrition_counseling=0.46, activity_counseling=0.40, social_needs_screening=0.40, fluoride_varnish=0.68,
        strep_testing=0.80, asthma_controller=0.64, adhd_followup=0.40)),
}

# Bounds the task's realism targets put on practice-level rates; jittered values are clipped to them.
CARE_BOUNDS: dict[str, tuple[float, float]] = {
    "well_visit": (0.50, 0.85), "immunization": (0.60, 0.80), "lead_screening": (0.40, 0.80),
    "depression_screening": (0.40, 0.90),
}
CARE_JITTER = 0.05

# The default roster at 3,000 patients: (id, name, archetype, size). Small practices keep their
# size when the population grows or shrinks (down to a floor); the others absorb the difference.
DEFAULT_ROSTER: tuple[tuple[str, str, str, int], ...] = (
    ("P01", "Harbor Community Health Center", "fqhc", 925),
    ("P02", "Maple Grove Pediatrics", "suburban", 700),
    ("P03", "University Children's Primary Care", "academic", 330),
    ("P04", "Eastside Family and Children's Clinic", "fqhc", 280),
    ("P05", "Willow Creek Pediatric Associates", "suburban", 240),
    ("P06", "Northfield Kids Care", "independent", 200),
    ("P07", "Prairie View Pediatrics", "rural", 60),
    ("P08", "Cedar Ridge Children's Clinic", "rural", 55),
    ("P09", "Little Steps Pediatrics", "independent", 50),
    ("P10", "Bayview Pediatric Practice", "independent", 45),
    ("P11", "Hillside Children's Health", "rural", 40),
    ("P12", "Sunrise Pediatrics", "suburban", 30),
    ("P13", "Riverside Rural Health Clinic", "rural", 25),
    ("P14", "Oak Street Pediatrics", "independent", 20),
)
SMALL_PRACTICE_MAX = 60
DEFAULT_PATIENTS = 3000
DEFAULT_SEED = 2025


@dataclass(frozen=True)
class SynthConfig:
    """Everything that determines a generated population (with the seed)."""

    patients: int = DEFAULT_PATIENTS
    seed: int = DEFAULT_SEED
    start: _dt.date = _dt.date(2023, 1, 1)  # first day of the data window
    end: _dt.date = _dt.date(2025, 12, 31)  # last day of the data window; ages are as of this day
    practices: tuple[Practice, ...] = ()  # empty: the default roster, sized to ``patients``
    prevalence: Prevalence = field(default_factory=Prevalence)
    young_adult_weight: float = 1.1  # ages 18-21 together, against 1.0 for each year 0-17
    gzip: bool = True
    shards: int = 1  # >1: patient-partitioned NDJSON (shard-NNN/ by patient-id hash, and common/)

    def resolved_practices(self) -> tuple[Practice, ...]:
        """The configured practices, or the default roster sized to ``patients``."""
        if self.practices:
            total = sum(p.size for p in self.practices)
            if total != self.patients:
                raise ValueError(f"practice sizes add up to {total}, not {self.patients} patients")
            return self.practices
        return default_practices(self.patients, self.seed)


def default_shards(patients: int) -> int:
    """Shards for a population of ``patients``: none (one flat Bulk layout) up to 5,000, else about
    25,000 children a shard, at least 4 so that 2 to 4 workers balance, at most 64."""
    if patients <= 5000:
        return 1
    return min(64, max(4, -(-patients // 25000)))


def _largest_remainder(weights: Sequence[float], total: int) -> list[int]:
    raw = [w * total / sum(weights) for w in weights]
    out = [math.floor(x) for x in raw]
    order = sorted(range(len(raw)), key=lambda i: (out[i] - raw[i], i))
    for i in order[: total - sum(out)]:
        out[i] += 1
    return out


def roster_sizes(patients: int) -> list[int]:
    """Sizes for the default roster. From half the default population up, small practices keep
    their sizes and the larger ones absorb the difference; below that, every practice scales."""
    base = [size for *_, size in DEFAULT_ROSTER]
    if patients < len(base):
        raise ValueError(f"need at least {len(base)} patients for the default practices, got {patients}")
    if patients >= sum(base) // 2:
        big_idx = [i for i, s in enumerate(base) if s > SMALL_PRACTICE_MAX]
        fixed = sum(s for s in base if s <= SMALL_PRACTICE_MAX)
        sizes = list(base)
        for i, n in zip(big_idx, _largest_remainder([base[i] for i in big_idx], patients - fixed)):
            sizes[i] = n
        return sizes
    scaled = _largest_remainder([float(s) for s in base], patients - len(base))
    return [s + 1 for s in scaled]  # every practice keeps at least one patient


def _jitter(rng: random.Random, name: str, value: float) -> float:
    lo, hi = CARE_BOUNDS.get(name, (0.05, 0.98))
    return round(min(hi, max(lo, value + rng.uniform(-CARE_JITTER, CARE_JITTER))), 3)


def default_practices(patients: int = DEFAULT_PATIENTS, seed: int = DEFAULT_SEED) -> tuple[Practice, ...]:
    """The default roster: archetype rates, each jittered by up to ±0.05 from the seed."""
    rng = random.Random(f"pedqm-synth-practices-{seed}")
    out = []
    for (pid, name, kind, _), size in zip(DEFAULT_ROSTER, roster_sizes(patients)):
        arch = ARCHETYPES[kind]
        care = CareRates(**{f.name: _jitter(rng, f.name, getattr(arch.care, f.name)) for f in fields(CareRates)})
        out.append(Practice(
            id=pid, name=name, kind=kind, size=size, clinicians=min(8, max(1, math.ceil(size / 160))),
            setting=arch.setting, medicaid_share=arch.medicaid_share, uninsured_share=arch.uninsured_share,
            care=care,
        ))
    return tuple(out)


# ------------------------------------------------------------------ practices.csv
PRACTICE_COLUMNS = ("id", "name", "kind", "size", "clinicians", "setting", "medicaid_share", "uninsured_share",
                    *(f.name for f in fields(CareRates)))


def write_practices_csv(practices: Iterable[Practice], path: Path) -> None:
    """The practices table (one row per practice, every parameter used)."""
    with path.open("w", newline="") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(PRACTICE_COLUMNS)
        for p in practices:
            row = asdict(p)
            care = row.pop("care")
            writer.writerow([row[c] if c in row else care[c] for c in PRACTICE_COLUMNS])


def read_practices_csv(path: Path) -> tuple[Practice, ...]:
    """Practices from a table in the :func:`write_practices_csv` layout (to configure a run)."""
    out = []
    with path.open(newline="") as f:
        for line, row in enumerate(csv.DictReader(f), 2):
            missing = [c for c in PRACTICE_COLUMNS if c not in row or row[c] in ("", None)]
            if missing:
                raise ValueError(f"{path}:{line}: missing {', '.join(missing)}")
            try:
                care = CareRates(**{f.name: float(row[f.name]) for f in fields(CareRates)})
                practice = Practice(
                    id=row["id"], name=row["name"], kind=row["kind"], size=int(row["size"]),
                    clinicians=int(row["clinicians"]), setting=row["setting"],
                    medicaid_share=float(row["medicaid_share"]), uninsured_share=float(row["uninsured_share"]),
                    care=care,
                )
            except ValueError as exc:
                raise ValueError(f"{path}:{line}: {exc}") from exc
            _validate(practice, f"{path}:{line}")
            out.append(practice)
    return tuple(out)


def _validate(p: Practice, where: str) -> None:
    if p.setting not in RACE_MIX:
        raise ValueError(f"{where}: setting must be one of {', '.join(RACE_MIX)}, not {p.setting!r}")
    if p.size < 1 or p.clinicians < 1:
        raise ValueError(f"{where}: size and clinicians must be positive")
    rates = {"medicaid_share": p.medicaid_share, "uninsured_share": p.uninsured_share, **asdict(p.care)}
    bad = [k for k, v in rates.items() if not 0.0 <= v <= 1.0]
    if bad or p.medicaid_share + p.uninsured_share > 1.0:
        raise ValueError(f"{where}: rates must lie in [0, 1] (and Medicaid + uninsured <= 1): {', '.join(bad)}")


def with_patients(config: SynthConfig, practices: tuple[Practice, ...]) -> SynthConfig:
    """``config`` with ``practices``, its patient count taken from their sizes."""
    return replace(config, practices=practices, patients=sum(p.size for p in practices))

"""Who a synthetic child is: age, sex, race and ethnicity, payer, clinician, and conditions.

Conditions are drawn once per child from :class:`~.config.Prevalence`, shifted by payer and sex
with relative risks that are normalised so the population rate stays the configured one.
"""

from __future__ import annotations

import datetime as _dt
import math
import random
from dataclasses import dataclass, field

from . import codes as C
from .config import (
    HISPANIC_SHARE,
    MALE_RELATIVE_RISK,
    MEDICAID_RELATIVE_RISK,
    PREVALENCE_AGES,
    RACE_MIX,
    Practice,
    SynthConfig,
)

MALE_SHARE = 0.51
YOUNG_ADULT_SPLIT = (0.4, 0.27, 0.19, 0.14)  # ages 18, 19, 20, 21


@dataclass
class ChronicCondition:
    """A long-term diagnosis: its code, when it began, and how it shows in care."""

    key: str  # asthma, adhd, ..., ccc
    code: C.Code
    onset: _dt.date
    end: _dt.date | None = None  # last day it is managed (malignancy in treatment), else open
    tech: tuple[C.Code, ...] = ()
    persistent: bool = False  # asthma: persistent (controller indicated)
    medicated: bool = False  # ADHD or depression treated with medication


@dataclass
class Child:
    """One synthetic patient's fixed traits."""

    pid: str
    practice: Practice
    birth: _dt.date
    sex: str
    races: tuple[str, ...]  # keys of codes.RACE_CODES; empty when unknown
    hispanic: bool | None  # None when unknown
    payer: str  # medicaid, private or self-pay at the end of the window
    earlier_payer: str | None  # a different payer before a switch, or None
    switch_date: _dt.date | None
    pcp: str  # Practitioner id
    engagement: float  # latent N(0, 1): families who miss one service tend to miss others
    given: str
    family: str
    conditions: list[ChronicCondition] = field(default_factory=list)
    obese: bool = False
    bmi_percentile: float = 50.0
    height_z: float = 0.0

    def age_on(self, day: _dt.date) -> int:
        years = day.year - self.birth.year
        return years - ((day.month, day.day) < (self.birth.month, self.birth.day))

    def has(self, key: str) -> bool:
        return any(c.key == key for c in self.conditions)


def birth_date(rng: random.Random, end: _dt.date, age: int) -> _dt.date:
    """A birth date that makes the child ``age`` years old on ``end`` (a Dec 31)."""
    latest = end.replace(year=end.year - age)
    earliest = end.replace(year=end.year - age - 1) + _dt.timedelta(days=1)
    return earliest + _dt.timedelta(days=rng.randint(0, (latest - earliest).days))


def age_weights(config: SynthConfig) -> list[float]:
    return [1.0] * 18 + [config.young_adult_weight * s for s in YOUNG_ADULT_SPLIT]


def draw_race(rng: random.Random, setting: str) -> tuple[tuple[str, ...], bool | None]:
    mix = RACE_MIX[setting]
    pick = rng.choices(list(mix), list(mix.values()))[0]
    if pick == "unknown":
        races: tuple[str, ...] = ()
    elif pick == "multiple":
        singles = [k for k in mix if k not in ("multiple", "unknown")]
        races = tuple(sorted(rng.sample(singles, 2)))
    else:
        races = (pick,)
    hispanic = None if rng.random() < 0.03 else rng.random() < HISPANIC_SHARE[setting]
    return races, hispanic


def draw_payer(rng: random.Random, practice: Practice) -> str:
    u = rng.random()
    if u < practice.medicaid_share:
        return "medicaid"
    if u < practice.medicaid_share + practice.uninsured_share:
        return "self-pay"
    return "private"


def _normalised(rr: float, share: float) -> tuple[float, float]:
    """Multipliers (exposed, unexposed) for relative risk ``rr`` that keep the mean at 1."""
    mean = share * rr + (1 - share)
    return rr / mean, 1 / mean


def condition_probability(key: str, base: float, child: Child, medicaid_share: float) -> float:
    """``base`` adjusted for the child's payer and sex (population mean preserved)."""
    p = base
    rr = MEDICAID_RELATIVE_RISK.get(key)
    if rr:
        exposed, unexposed = _normalised(rr, medicaid_share)
        p *= exposed if child.payer == "medicaid" else unexposed
    rr = MALE_RELATIVE_RISK.get(key)
    if rr:
        exposed, unexposed = _normalised(rr, MALE_SHARE)
        p *= exposed if child.sex == "male" else unexposed
    return min(p, 0.95)


def _onset(rng: random.Random, child: Child, lo_years: float, hi_years: float, end: _dt.date) -> _dt.date:
    """A date when the child was between ``lo_years`` and ``hi_years`` old (and not after ``end``)."""
    lo = child.birth + _dt.timedelta(days=int(lo_years * 365.25))
    hi = min(end, child.birth + _dt.timedelta(days=int(hi_years * 365.25)))
    if hi <= lo:
        return min(lo, end)
    return lo + _dt.timedelta(days=rng.randint(0, (hi - lo).days))


def _eligible(key: str, age: int) -> bool:
    lo, hi = PREVALENCE_AGES[key]
    return lo <= age <= hi


def _pick_ccc(rng: random.Random, age: int, exclude: str | None = None) -> C.CccDiagnosis | None:
    options = [d for d in C.CCC_DIAGNOSES if d.min_age <= age <= d.max_age and d.category != exclude]
    if not options:
        return None
    return rng.choices(options, [d.weight for d in options])[0]


CONGENITAL_CATEGORIES = frozenset({"congeni_genetic", "cvd", "neonatal", "respiratory", "hemato_immu", "metabolic"})


def assign_conditions(child: Child, rng: random.Random, config: SynthConfig, medicaid_share: float) -> None:
    """Draw the child's chronic conditions, weight status and onset dates."""
    prev = config.prevalence
    end, start = config.end, config.start
    age = child.age_on(end)

    sd = prev.comorbidity_sd
    propensity = math.exp(sd * rng.gauss(0.0, 1.0) - sd * sd / 2)

    def draw(key: str, base: float) -> bool:
        return _eligible(key, age) and \
            rng.random() < min(0.95, propensity * condition_probability(key, base, child, medicaid_share))

    if draw("asthma", prev.asthma):
        persistent = rng.random() < prev.persistent_asthma_share
        code = rng.choice(C.ASTHMA_PERSISTENT if persistent else C.ASTHMA_INTERMITTENT)
        child.conditions.append(ChronicCondition("asthma", code, _onset(rng, child, 2, min(age, 10) + 1, end),
                                                 persistent=persistent))
    if draw("adhd", prev.adhd):
        child.conditions.append(ChronicCondition("adhd", rng.choices(C.ADHD, (0.3, 0.1, 0.45, 0.15))[0],
                                                 _onset(rng, child, 5, min(age, 12) + 1, end),
                                                 medicated=rng.random() < 0.65))
    if draw("anxiety", prev.anxiety):
        child.conditions.append(ChronicCondition("anxiety", C.ANXIETY, _onset(rng, child, 6, age + 1, end)))
    if draw("depression", prev.depression):
        child.conditions.append(ChronicCondition("depression", rng.choice(C.DEPRESSION),
                                                 _onset(rng, child, 12, age + 1, end),
                                                 medicated=rng.random() < 0.5))
    if draw("autism", prev.autism):
        child.conditions.append(ChronicCondition("autism", C.AUTISM, _onset(rng, child, 2, min(age, 5) + 1, end)))
    if draw("epilepsy", prev.epilepsy):
        child.conditions.append(ChronicCondition("epilepsy", C.EPILEPSY, _onset(rng, child, 1, age + 1, end)))
    if draw("type1_diabetes", prev.type1_diabetes):
        child.conditions.append(ChronicCondition("type1_diabetes", C.TYPE1_DIABETES,
                                                 _onset(rng, child, 1, age + 1, end)))
    for key, (code, (lo, hi)) in C.OTHER_CHRONIC.items():
        if draw(key, getattr(prev, key)):
            child.conditions.append(ChronicCondition(key, code, _onset(rng, child, lo, min(age + 1, hi), end)))
    if draw("ccc", prev.ccc):
        first = _pick_ccc(rng, age)
        if first is not None:
            child.conditions.append(_ccc_condition(first, child, rng, start, end, age))
            if rng.random() < prev.ccc_second_category:
                second = _pick_ccc(rng, age, exclude=first.category)
                if second is not None:
                    child.conditions.append(_ccc_condition(second, child, rng, start, end, age))
    # weight status (ages 2+): obesity, overweight, healthy weight, underweight
    if _eligible("obesity", age):
        u = rng.random()
        p_obese = condition_probability("obesity", prev.obesity, child, medicaid_share)
        if u < p_obese:
            child.obese = True
            child.bmi_percentile = rng.uniform(95.0, 99.8)
        elif u < p_obese + prev.overweight:
            child.bmi_percentile = rng.uniform(85.0, 95.0)
        else:
            child.bmi_percentile = rng.uniform(3.0, 85.0)
        if child.obese and rng.random() < prev.obesity_coded:
            child.conditions.append(ChronicCondition("obesity", C.OBESITY,
                                                     _onset(rng, child, max(2, age - 3), age + 1, end)))
    else:
        child.bmi_percentile = rng.uniform(5.0, 95.0)
    child.height_z = rng.gauss(0.0, 1.0)


def _ccc_condition(d: C.CccDiagnosis, child: Child, rng: random.Random, start: _dt.date, end: _dt.date,
                   age: int) -> ChronicCondition:
    if d.category in CONGENITAL_CATEGORIES or d.code.code.startswith(("G80", "Q05", "G91")):
        onset = _onset(rng, child, 0, 0.5, end)
    elif d.category == "malignancy":  # in active treatment during the window
        lo_years = max(d.min_age, (start - child.birth).days / 365.25 - 2)
        onset = _onset(rng, child, lo_years, min(age, d.max_age) + 1, end - _dt.timedelta(days=30))
    else:
        onset = _onset(rng, child, d.min_age, min(age, d.max_age) + 1, end)
    tech = tuple(t for t in d.tech if rng.random() < 0.45)
    if not tech and rng.random() < 0.04:
        tech = (C.TRACHEOSTOMY,)
    managed_until = onset + _dt.timedelta(days=3 * 365) if d.category == "malignancy" else None
    return ChronicCondition("ccc", d.code, onset, end=managed_until, tech=tech)

"""One child's care over the data window, as FHIR resources.

The order follows how care happens: scheduled well visits (Bright Futures periodicity), the
vaccines given at them, what is measured and screened there, chronic-condition follow-up with its
prescriptions, acute illness visits, and emergency and hospital care. Whether a recommended service
happens is decided by :meth:`Chart.chance`, a Gaussian copula on the child's engagement: its
marginal probability is exactly the practice's rate (shifted for the payer), while services for the
same family stay correlated, as they are in real panels.
"""

from __future__ import annotations

import datetime as _dt
import math
import random
from collections import Counter
from dataclasses import dataclass, field
from statistics import NormalDist
from typing import Any

from . import codes as C
from . import immunizations as imm
from .config import MEDICAID_CARE_SHIFT, SynthConfig
from .directory import Directory
from .fhir import Resource, coding, concept, condition, instant, observation_category, quantity, ref
from .patient import Child, ChronicCondition

ENGAGEMENT_CORRELATION = 0.45
_NORMAL = NormalDist()
DAY = _dt.timedelta(days=1)

# Bright Futures visits before age 3, as (age in days, label); from 3 on, one visit a year.
INFANT_VISITS = ((4, "newborn"), (30, "1m"), (61, "2m"), (122, "4m"), (183, "6m"), (274, "9m"), (365, "12m"),
                 (456, "15m"), (548, "18m"), (730, "24m"), (913, "30m"))
DEVELOPMENTAL_VISITS = frozenset({"9m", "18m", "30m"})
INFANT_LABELS = frozenset(label for _, label in INFANT_VISITS)
INFANT_MISS_FACTOR = 0.6

# Acute office visits per child-year by age band (lower bound in years).
ACUTE_RATE = ((0, 3.0), (1, 2.4), (5, 1.5), (12, 1.1), (18, 0.8))
ED_RATE = ((0, 0.6), (1, 0.45), (5, 0.25), (12, 0.3), (18, 0.35))


def _band(table: tuple[tuple[int, float], ...], age: int) -> float:
    value = table[0][1]
    for lo, v in table:
        if age >= lo:
            value = v
    return value


def poisson(rng: random.Random, lam: float) -> int:
    """A Poisson draw (Knuth's method; ``lam`` is small here)."""
    if lam <= 0:
        return 0
    limit, k, p = math.exp(-lam), 0, rng.random()
    while p > limit:
        k += 1
        p *= rng.random()
    return k


@dataclass
class Visit:
    id: str
    day: _dt.date
    minutes: int
    kind: str  # well, acute, chronic, followup, ed, inpatient
    resource: Resource

    @property
    def start(self) -> str:
        return instant(self.day, self.minutes)


@dataclass
class Chart:
    """The resources of one child under construction, and the helpers that make them."""

    child: Child
    config: SynthConfig
    directory: Directory
    rng: random.Random
    resources: list[Resource] = field(default_factory=list)
    visits: list[Visit] = field(default_factory=list)
    _ids: Counter[str] = field(default_factory=Counter)

    # ------------------------------------------------------------ basics
    def new_id(self, prefix: str) -> str:
        self._ids[prefix] += 1
        return f"{self.child.pid}-{prefix}{self._ids[prefix]}"

    def add(self, resource: Resource) -> Resource:
        self.resources.append(resource)
        return resource

    def in_window(self, day: _dt.date) -> bool:
        return self.config.start <= day <= self.config.end and day >= self.child.birth

    def rate(self, name: str) -> float:
        """The practice's rate for a service, shifted for a Medicaid-covered child."""
        p = float(getattr(self.child.practice.care, name))
        shift = MEDICAID_CARE_SHIFT.get(name, 0.0)
        if shift:
            p += shift * ((self.child.payer == "medicaid") - self.child.practice.medicaid_share)
        return min(1.0, max(0.0, p))

    def chance(self, p: float) -> bool:
        """True with probability ``p``, correlated with the child's other such decisions: for
        whether care is sought at all (visits, vaccines, lead tests), not for what happens at a visit
        (see :meth:`given`), so that per-visit rates are not inflated by who shows up."""
        r = ENGAGEMENT_CORRELATION
        u = _NORMAL.cdf(r * self.child.engagement + math.sqrt(1 - r * r) * self.rng.gauss(0.0, 1.0))
        return u < p

    def given(self, p: float) -> bool:
        """True with probability ``p``, independently: a service at a visit that took place."""
        return self.rng.random() < p

    def clinic_minutes(self) -> int:
        return self.rng.randrange(8 * 60, 16 * 60 + 30, 15)

    def clinician(self) -> str:
        team = self.directory.clinicians[self.child.practice.id]
        return self.child.pcp if self.rng.random() < 0.75 or len(team) == 1 else self.rng.choice(team)

    def practice_org(self) -> str:
        return self.directory.practice_org[self.child.practice.id]

    # ------------------------------------------------------------ encounters
    def encounter(self, day: _dt.date, kind: str, cpt: str, cpt_text: str, *, act: str = "AMB",
                  minutes: int | None = None, duration: int = 30, reason: C.Code | None = None,
                  hospital: bool = False, discharge: _dt.date | None = None) -> Visit:
        minutes = self.clinic_minutes() if minutes is None else minutes
        eid = self.new_id("enc")
        if hospital:
            practitioner = self.rng.choice(self.directory.hospital_clinicians)
            org = self.directory.hospital
        else:
            practitioner, org = self.clinician(), self.practice_org()
        end_day, end_minutes = (discharge, self.rng.randrange(10 * 60, 15 * 60, 15)) if discharge else \
            (day, minutes + duration)
        ongoing = end_day > self.config.end  # still in hospital when the data were extracted
        res: Resource = {
            "resourceType": "Encounter", "id": eid, "status": "in-progress" if ongoing else "finished",
            "class": coding(C.ACT_CODE, act),
            "type": [concept(C.Code(C.CPT, cpt, cpt_text))],
            "subject": ref("Patient", self.child.pid),
            "participant": [{"individual": ref("Practitioner", practitioner)}],
            "period": {"start": instant(day, minutes)} if ongoing else
            {"start": instant(day, minutes), "end": instant(end_day, end_minutes)},
        }
        if reason is not None:
            res["reasonCode"] = [concept(reason)]
        if act == "IMP":
            res["hospitalization"] = {"dischargeDisposition": concept(C.Code(
                C.DISCHARGE_DISPOSITION, "home", "Discharged home"))}
        res["serviceProvider"] = ref("Organization", org)
        visit = Visit(eid, day, minutes, kind, self.add(res))
        self.visits.append(visit)
        return visit

    def link(self, visit: Visit, condition_id: str) -> None:
        """Name a Condition in ``Encounter.diagnosis`` (how chronic codes reach an encounter)."""
        diagnoses = visit.resource.setdefault("diagnosis", [])
        if all(d["condition"]["reference"] != f"Condition/{condition_id}" for d in diagnoses):
            diagnoses.append({"condition": ref("Condition", condition_id), "rank": len(diagnoses) + 1})
        # keep serviceProvider last for readability
        visit.resource["serviceProvider"] = visit.resource.pop("serviceProvider")

    def encounter_diagnosis(self, visit: Visit, code: C.Code, *, resolve_days: int | None = 10) -> str:
        """An encounter-diagnosis Condition for ``visit``, linked both ways."""
        cid = self.new_id("cond")
        abatement = None
        if resolve_days is not None:
            abated = visit.day + _dt.timedelta(days=resolve_days)
            abatement = instant(abated, visit.minutes) if abated <= self.config.end else None
        self.add(condition(cid, self.child.pid, code, category="encounter-diagnosis", onset=visit.start,
                           abatement=abatement, encounter=visit.id))
        self.link(visit, cid)
        return cid

    # ------------------------------------------------------------ clinical resources
    def observation(self, visit: Visit | None, day: _dt.date, minutes: int, code: C.Code, category: str,
                    **value: Any) -> Resource:
        res: Resource = {
            "resourceType": "Observation", "id": self.new_id("obs"), "status": "final",
            "category": observation_category(category), "code": concept(code),
            "subject": ref("Patient", self.child.pid),
        }
        if visit is not None:
            res["encounter"] = ref("Encounter", visit.id)
        res["effectiveDateTime"] = instant(day, minutes)
        res["issued"] = instant(day, min(minutes + 60, 18 * 60 + 59))
        res.update(value)
        return self.add(res)

    def procedure(self, visit: Visit, *codes: C.Code, text: str | None = None, minutes: int = 10) -> Resource:
        return self.add({
            "resourceType": "Procedure", "id": self.new_id("proc"), "status": "completed",
            "code": concept(*codes, text=text), "subject": ref("Patient", self.child.pid),
            "encounter": ref("Encounter", visit.id), "performedDateTime": instant(visit.day, visit.minutes + minutes),
        })

    def referral(self, visit: Visit, code: C.Code) -> Resource:
        return self.add({
            "resourceType": "ServiceRequest", "id": self.new_id("sr"), "status": "active", "intent": "order",
            "code": concept(code), "subject": ref("Patient", self.child.pid), "encounter": ref("Encounter", visit.id),
            "authoredOn": instant(visit.day, visit.minutes + 25), "requester": ref("Practitioner", self.clinician()),
        })

    def prescribe(self, drug: C.Drug, day: _dt.date, minutes: int, visit: Visit | None, *, repeats: int = 0,
                  instructions: str) -> Resource:
        last_day = day + _dt.timedelta(days=drug.days_supply * (repeats + 1))
        res: Resource = {
            "resourceType": "MedicationRequest", "id": self.new_id("med"),
            "status": "completed" if last_day < self.config.end else "active",
            "intent": "order", "medicationCodeableConcept": concept(drug.code),
            "subject": ref("Patient", self.child.pid),
        }
        if visit is not None:
            res["encounter"] = ref("Encounter", visit.id)
        res["authoredOn"] = instant(day, minutes)
        res["requester"] = ref("Practitioner", self.clinician())
        res["dosageInstruction"] = [{"text": instructions}]
        res["dispenseRequest"] = {"numberOfRepeatsAllowed": repeats, "expectedSupplyDuration": {
            "value": drug.days_supply, "unit": "days", "system": C.UCUM, "code": "d"}}
        return self.add(res)

    def immunization(self, cvx: str, day: _dt.date, minutes: int, visit: Visit | None) -> None:
        res: Resource = {
            "resourceType": "Immunization", "id": self.new_id("imm"), "status": "completed",
            "vaccineCode": concept(C.Code(C.CVX, cvx, C.CVX_TEXT.get(cvx, f"CVX {cvx}"))),
            "patient": ref("Patient", self.child.pid),
        }
        if visit is not None:
            res["encounter"] = ref("Encounter", visit.id)
        res["occurrenceDateTime"] = instant(day, minutes)
        res["primarySource"] = day >= self.config.start  # earlier doses come from the registry
        self.add(res)

    def visit_near(self, day: _dt.date, before: int, after: int, kinds: tuple[str, ...] = ("well",)) -> Visit | None:
        """The first visit of ``kinds`` within [day - before, day + after]."""
        for v in self.visits:
            if v.kind in kinds and day - _dt.timedelta(days=before) <= v.day <= day + _dt.timedelta(days=after):
                return v
        return None


# ---------------------------------------------------------------- well visits
def _well_codes(age: int, new: bool) -> tuple[str, str]:
    table = C.WELL_NEW if new else C.WELL_ESTABLISHED
    cpt = table[max(a for a in table if a <= age)]
    return cpt, f"Preventive medicine visit, {'new' if new else 'established'} patient"


def well_visits(chart: Chart) -> None:
    child, rng = chart.child, chart.rng
    plans: list[tuple[_dt.date, str]] = []
    for age_days, label in INFANT_VISITS:
        late = rng.randint(15, 45) if rng.random() < 0.1 else 0
        early = -rng.randint(0, 10) if age_days >= 274 else 0
        plans.append((child.birth + _dt.timedelta(days=age_days + early + rng.randint(0, 12) + late), label))
    for year in range(chart.config.start.year, chart.config.end.year + 1):
        years = year - child.birth.year  # age reached on this year's birthday
        if not 3 <= years <= 21:
            continue
        try:
            birthday = child.birth.replace(year=year)
        except ValueError:  # born on Feb 29
            birthday = _dt.date(year, 3, 1)
        # around the birthday, but inside the calendar year, so each year holds one planned visit
        day = birthday + _dt.timedelta(days=rng.randint(-25, 110))
        if day.year != year:
            day = birthday - _dt.timedelta(days=rng.randint(0, 60)) if day.year > year else _dt.date(year, 1, 2)
        plans.append((max(day, _dt.date(year, 1, 2)), f"{years}y"))
    first = True
    for day, label in plans:
        if not chart.in_window(day) or child.age_on(day) > 21:
            continue
        p = chart.rate("well_visit")
        if label in INFANT_LABELS:  # families miss infant visits less often than later annual ones
            p = 1 - (1 - p) * INFANT_MISS_FACTOR
        if not chart.chance(p):
            continue
        age = child.age_on(day)
        new = (label == "newborn") or (first and rng.random() < 0.05)
        first = False
        cpt, text = _well_codes(age, new)
        if label == "newborn":
            reason = C.NEWBORN_DX
        elif age >= 18:
            reason = C.ADULT_EXAM_DX_ABNORMAL if rng.random() < 0.12 else C.ADULT_EXAM_DX
        else:
            reason = C.WELL_CHILD_DX_ABNORMAL if rng.random() < 0.13 else C.WELL_CHILD_DX
        visit = chart.encounter(day, "well", cpt, text, reason=reason, duration=rng.choice((20, 30, 40)))
        visit.resource["_label"] = label  # removed before writing; lets screenings find the visit's purpose


# ---------------------------------------------------------------- immunizations
def immunizations(chart: Chart) -> None:
    child, rng, cfg = chart.child, chart.rng, chart.config
    series = imm.early_childhood_series(child.birth, rng)
    if chart.chance(chart.rate("immunization")):
        given = [(d, 0) for d in series]
    else:
        pattern = rng.choices([name for name, _ in imm.GAP_PATTERNS], [w for _, w in imm.GAP_PATTERNS])[0]
        given = imm.apply_gap(series, pattern, rng)
    if child.age_on(cfg.end) >= 11 and chart.chance(chart.rate("adolescent_vaccines")):
        given += [(d, 0) for d in imm.adolescent_series(rng, child.birth)]
    by_day: dict[_dt.date, list[str]] = {}
    for dose, delay in given:
        target = child.birth + _dt.timedelta(days=dose.age_days + delay)
        visit = chart.visit_near(target, 3, 40) if dose.age_days > 0 else None
        day = visit.day if visit else target + _dt.timedelta(days=rng.randint(0, 14 if dose.age_days else 1))
        if day > cfg.end:
            continue
        if dose.cvx not in by_day.setdefault(day, []):
            by_day[day].append(dose.cvx)
    for day in sorted(by_day):
        visit = chart.visit_near(day, 0, 0)
        minutes = visit.minutes + 20 if visit else chart.clinic_minutes()
        for cvx in by_day[day]:
            chart.immunization(cvx, day, minutes, visit)
    influenza(chart)


def influenza(chart: Chart) -> None:
    child, rng, cfg = chart.child, chart.rng, chart.config
    vaccinated_before = child.age_on(cfg.start) >= 2 and rng.random() < 0.5
    for season in range(cfg.start.year - 1, cfg.end.year + 1):
        open_day, close_day = _dt.date(season, 8, 15), _dt.date(season + 1, 3, 31)
        eligible_from = child.birth + _dt.timedelta(days=183)
        first_day = max(open_day, eligible_from)
        if first_day > close_day or child.age_on(close_day) > 21 or not chart.chance(chart.rate("influenza")):
            continue
        day = max(first_day, _dt.date(season, 9, 1) + _dt.timedelta(days=int(rng.expovariate(1 / 30))))
        day = min(day, close_day)
        visit = chart.visit_near(day, 0, 21, ("well", "acute", "chronic"))
        if visit is not None and visit.day <= close_day:
            day = visit.day
        doses = [day]
        if not vaccinated_before and child.age_on(day) < 9:
            second = day + _dt.timedelta(days=rng.randint(28, 42))
            if second <= close_day and rng.random() < 0.85:
                doses.append(second)
        for d in doses:
            if chart.in_window(d):
                v = chart.visit_near(d, 0, 0, ("well", "acute", "chronic"))
                age_days = (d - child.birth).days
                chart.immunization(imm.influenza_code(season, age_days, rng), d,
                                   v.minutes + 20 if v else chart.clinic_minutes(), v)
        vaccinated_before = True


# ---------------------------------------------------------------- at the well visit
HEIGHT_CM = ((0, 50, 50), (0.5, 67, 65), (1, 75.5, 74), (2, 87, 86), (3, 96, 95), (4, 103, 102), (5, 110, 109),
             (6, 116, 115), (8, 128, 127), (10, 138, 138), (12, 149, 151), (14, 164, 160), (16, 173, 162.5),
             (18, 176, 163), (22, 177, 163))  # (age, boys, girls): rough medians, for plausible values
BMI_MEDIAN = ((2, 16.4), (4, 15.6), (6, 15.4), (8, 16.0), (10, 17.0), (12, 18.0), (14, 19.4), (16, 20.5),
              (18, 21.4), (22, 22.5))
INFANT_WEIGHT_KG = ((0, 3.4), (0.5, 7.6), (1, 9.6), (1.5, 11.0), (2, 12.2))


def _interp(table: tuple[tuple[float, ...], ...], x: float, column: int = 1) -> float:
    for (x0, *y0), (x1, *y1) in zip(table, table[1:]):
        if x0 <= x <= x1:
            return y0[column - 1] + (y1[column - 1] - y0[column - 1]) * (x - x0) / (x1 - x0)
    return table[-1][column]


def vitals(chart: Chart, visit: Visit) -> None:
    child, rng = chart.child, chart.rng
    age_years = (visit.day - child.birth).days / 365.25
    m = visit.minutes + 5
    height = _interp(HEIGHT_CM, age_years, 1 if child.sex == "male" else 2) * (1 + 0.04 * child.height_z)
    percentile = min(99.9, max(0.1, child.bmi_percentile + rng.uniform(-2.0, 2.0)))
    if age_years < 2:
        weight = _interp(INFANT_WEIGHT_KG, age_years) * (1 + 0.1 * _NORMAL.inv_cdf(percentile / 100))
    else:
        bmi = _interp(BMI_MEDIAN, age_years) * math.exp(0.12 * _NORMAL.inv_cdf(percentile / 100))
        weight = bmi * (height / 100) ** 2
    chart.observation(visit, visit.day, m, C.BODY_HEIGHT, "vital-signs", valueQuantity=quantity(round(height, 1), "cm"))
    chart.observation(visit, visit.day, m, C.BODY_WEIGHT, "vital-signs",
                      valueQuantity=quantity(round(weight, 1), "kg"))
    age = child.age_on(visit.day)
    if 2 <= age <= 17 and chart.given(chart.rate("bmi_percentile")):
        chart.observation(visit, visit.day, m, C.BMI_PERCENTILE, "vital-signs",
                          valueQuantity=quantity(round(percentile, 1), "%"))
    elif age >= 18:
        chart.observation(visit, visit.day, m, C.BMI, "vital-signs",
                          valueQuantity=quantity(round(weight / (height / 100) ** 2, 1), "kg/m2"))


def well_visit_services(chart: Chart) -> None:
    child, rng = chart.child, chart.rng
    for visit in [v for v in chart.visits if v.kind == "well"]:
        label = visit.resource.pop("_label")
        age = child.age_on(visit.day)
        age_days = (visit.day - child.birth).days
        vitals(chart, visit)
        if label in DEVELOPMENTAL_VISITS and chart.given(chart.rate("developmental_screening")):
            chart.procedure(visit, C.Code(C.CPT, C.DEVELOPMENTAL_SCREENING, "Developmental screening"))
        if 183 <= age_days < 6 * 365 and chart.given(chart.rate("fluoride_varnish")):
            chart.procedure(visit, C.Code(C.CPT, C.FLUORIDE_VARNISH_CPT, "Fluoride varnish"),
                            C.Code(C.CDT, C.FLUORIDE_VARNISH_CDT, "Fluoride varnish"), minutes=20)
        if 3 <= age <= 17:
            if chart.given(chart.rate("nutrition_counseling")):
                codes = [C.NUTRITION_COUNSELING_SCT]
                if child.obese and rng.random() < 0.3:
                    codes.append(C.Code(C.CPT, C.NUTRITION_THERAPY_CPT, "Medical nutrition therapy"))
                chart.procedure(visit, *codes, minutes=15)
                chart.encounter_diagnosis(visit, C.NUTRITION_COUNSELING_DX, resolve_days=None)
            if chart.given(chart.rate("activity_counseling")):
                chart.procedure(visit, C.ACTIVITY_COUNSELING_SCT, minutes=15)
                chart.encounter_diagnosis(visit, C.ACTIVITY_COUNSELING_DX, resolve_days=None)
        if age >= 12 and chart.given(chart.rate("depression_screening")):
            depression_screen(chart, visit)
    lead_screening(chart)


def depression_screen(chart: Chart, visit: Visit) -> None:
    child, rng = chart.child, chart.rng
    known = child.has("depression") and any(c.onset <= visit.day for c in child.conditions if c.key == "depression")
    p_positive = 0.6 if known else (0.22 if child.has("anxiety") else 0.08)
    positive = rng.random() < p_positive
    score = rng.randint(10, 22) if positive else min(9, int(rng.expovariate(1 / 3)))
    m = max(visit.minutes - 10, 6 * 60)  # the questionnaire is filled in at check-in
    chart.observation(visit, visit.day, m, C.ADOLESCENT_DEPRESSION_SCREEN, "survey", valueCodeableConcept=concept(
        C.DEPRESSION_SCREEN_POSITIVE if positive else C.DEPRESSION_SCREEN_NEGATIVE))
    chart.observation(visit, visit.day, m, C.PHQ9_TEEN_TOTAL, "survey", valueInteger=score)
    if not positive or not chart.given(chart.rate("depression_followup")):
        return
    followup = rng.choice(C.DEPRESSION_FOLLOWUP_SCT)
    if rng.random() < 0.25:  # referred to child and adolescent psychiatry at the visit
        chart.referral(visit, C.DEPRESSION_REFERRAL_SCT)
        target = visit
    elif rng.random() < 0.5:
        chart.procedure(visit, followup, minutes=25)
        target = visit
    else:
        day = visit.day + _dt.timedelta(days=rng.randint(3, 30))
        if day > chart.config.end:
            return
        target = chart.encounter(day, "followup", "99214", "Office visit, established patient",
                                 reason=C.DEPRESSION_SCREEN_POSITIVE)
        chart.procedure(target, followup)
    if rng.random() < 0.3:
        chart.prescribe(C.FLUOXETINE, target.day, target.minutes + 30, target, repeats=2,
                        instructions="1 capsule by mouth daily")


def lead_screening(chart: Chart) -> None:
    """At least one blood lead test by the second birthday (at the 12- or 18-month visit, or a lab
    visit near the first birthday), and for some a second one at two."""
    child, rng = chart.child, chart.rng
    if not chart.chance(chart.rate("lead_screening")):
        return
    first = chart.visit_near(child.birth + _dt.timedelta(days=365), 10, 200)
    day = first.day if first else child.birth + _dt.timedelta(days=rng.randint(365, 500))
    days = [day] if day < child.birth + _dt.timedelta(days=730) else []
    if not days:
        days = [child.birth + _dt.timedelta(days=rng.randint(365, 700))]
    if rng.random() < 0.55:
        second = chart.visit_near(child.birth + _dt.timedelta(days=730), 0, 120)
        days.append(second.day if second else child.birth + _dt.timedelta(days=rng.randint(730, 800)))
    for d in days:
        if not chart.in_window(d):
            continue
        visit = chart.visit_near(d, 0, 0)
        code = rng.choices((C.LEAD, C.LEAD_CAPILLARY, C.LEAD_VENOUS), (0.6, 0.25, 0.15))[0]
        level = round(min(25.0, rng.lognormvariate(0.0, 0.6)), 1)
        if rng.random() < 0.025:
            level = round(rng.uniform(3.5, 12.0), 1)
        chart.observation(visit, d, visit.minutes + 30 if visit else chart.clinic_minutes(), code, "laboratory",
                          valueQuantity=quantity(level, "ug/dL"))


# ---------------------------------------------------------------- chronic conditions
FOLLOWUP_RATE = {"asthma": 1.2, "adhd": 2.0, "anxiety": 1.2, "depression": 2.5, "autism": 1.0, "epilepsy": 1.0,
                 "type1_diabetes": 1.0, "ccc": 3.0, "obesity": 0.3, **{k: 0.7 for k in C.OTHER_CHRONIC}}
SPECIALTY_RATE = {"epilepsy": 1.0, "type1_diabetes": 3.0, "ccc": 4.0, "arthritis": 2.0, "celiac": 1.0,
                  "hearing_loss": 1.0, "vsd": 1.0, "sleep_apnea": 0.5}


def chronic_care(chart: Chart) -> None:
    child, rng, cfg = chart.child, chart.rng, chart.config
    for cond in child.conditions:
        cid = chart.new_id("cond")
        onset_minutes = chart.clinic_minutes()
        chart.add(condition(cid, child.pid, cond.code, category="problem-list-item",
                            onset=instant(cond.onset, onset_minutes)))
        tech_ids = []
        for tech in cond.tech:
            tid = chart.new_id("cond")
            tech_day = min(cfg.end, cond.onset + _dt.timedelta(days=rng.randint(30, 400)))
            chart.add(condition(tid, child.pid, tech, category="problem-list-item",
                                onset=instant(tech_day, onset_minutes)))
            tech_ids.append(tid)
        first = max(cfg.start, cond.onset)
        last = min(cfg.end, cond.end) if cond.end else cfg.end
        visits: list[Visit] = []
        for year in range(first.year, last.year + 1):
            lo, hi = max(first, _dt.date(year, 1, 1)), min(last, _dt.date(year, 12, 31))
            if hi < lo:
                continue
            share = ((hi - lo).days + 1) / 365
            n = poisson(rng, FOLLOWUP_RATE[cond.key] * share)
            if cond.key != "obesity" and (lo <= cond.onset <= hi or year == first.year):
                n = max(n, 1)
            for _ in range(n):
                day = lo + _dt.timedelta(days=rng.randint(0, (hi - lo).days))
                visits.append(chart.encounter(day, "chronic", rng.choice(("99213", "99214")),
                                              "Office visit, established patient"))
            for _ in range(poisson(rng, SPECIALTY_RATE.get(cond.key, 0.0) * share)):
                day = lo + _dt.timedelta(days=rng.randint(0, (hi - lo).days))
                visits.append(chart.encounter(day, "chronic", rng.choice(("99214", "99215")),
                                              "Specialty clinic visit, established patient", hospital=True))
        for v in visits:
            chart.link(v, cid)
            for tid in tech_ids:
                chart.link(v, tid)
        # a diagnosis that is part of the child's ongoing care shows at well visits too
        for v in chart.visits:
            if v.kind == "well" and cond.onset <= v.day and (cond.end is None or v.day <= cond.end):
                if cond.key == "obesity" or rng.random() < 0.6:
                    chart.link(v, cid)
        medications(chart, cond, sorted(visits, key=lambda v: v.day))


def medications(chart: Chart, cond: ChronicCondition, visits: list[Visit]) -> None:
    child, rng, cfg = chart.child, chart.rng, chart.config
    if cond.key == "asthma":
        for year in range(max(cfg.start, cond.onset).year, cfg.end.year + 1):
            year_visits = [v for v in visits if v.day.year == year] or \
                [v for v in chart.visits if v.day.year == year and v.kind in ("well", "acute")]
            if not year_visits:
                continue
            v = rng.choice(year_visits)
            chart.prescribe(C.ALBUTEROL, v.day, v.minutes + 20, v, repeats=1,
                            instructions="2 puffs every 4 hours as needed for wheeze")
            if cond.persistent and chart.given(chart.rate("asthma_controller")):
                age = child.age_on(v.day)
                if age < 5:
                    drug = C.BUDESONIDE if rng.random() < 0.6 else C.MONTELUKAST
                else:
                    drug = C.FLUTICASONE if rng.random() < 0.7 else C.MONTELUKAST
                start = v.day
                for k in range(rng.randint(2, 4)):
                    day = start + _dt.timedelta(days=90 * k)
                    if day.year != year or day > cfg.end:
                        break
                    chart.prescribe(drug, day, v.minutes + 25 if k == 0 else chart.clinic_minutes(),
                                    v if k == 0 else None, instructions="as directed, every day")
    elif cond.key == "adhd" and cond.medicated:
        adhd_medication(chart, cond, visits)
    elif cond.key == "depression" and cond.medicated:
        start = max(cfg.start, cond.onset)
        day = start
        while day <= cfg.end:
            nearby = chart.visit_near(day, 0, 0, ("chronic",))
            chart.prescribe(C.FLUOXETINE, day, nearby.minutes + 20 if nearby else chart.clinic_minutes(), nearby,
                            repeats=2, instructions="1 capsule by mouth daily")
            day += _dt.timedelta(days=90)


def adhd_medication(chart: Chart, cond: ChronicCondition, visits: list[Visit]) -> None:
    """Monthly stimulant prescriptions; a start inside the window gets an initiation visit and,
    at the practice's rate, a follow-up visit within 30 days (what CMS136 looks for)."""
    rng, cfg = chart.rng, chart.config
    drug = rng.choices((C.METHYLPHENIDATE_ER, C.METHYLPHENIDATE_IR, C.AMPHETAMINE_SALTS), (0.45, 0.2, 0.35))[0]
    start = cond.onset + _dt.timedelta(days=rng.randint(0, 60))
    if start > cfg.end:
        return
    if start >= cfg.start:
        first = chart.encounter(start, "chronic", "99214", "Office visit, established patient")
        chart.link(first, _condition_id_for(chart, cond))
        if chart.chance(chart.rate("adhd_followup")):
            fu_day = start + _dt.timedelta(days=rng.randint(14, 30))
        else:
            fu_day = start + _dt.timedelta(days=rng.randint(45, 120))
        if fu_day <= cfg.end:
            fu = chart.encounter(fu_day, "chronic", "99213", "Office visit, established patient")
            chart.link(fu, _condition_id_for(chart, cond))
    day = max(start, cfg.start)
    while day <= cfg.end:
        v = chart.visit_near(day, 0, 0, ("chronic", "well"))
        chart.prescribe(drug, day, v.minutes + 20 if v else chart.clinic_minutes(), v,
                        instructions="1 tablet by mouth every morning")
        day += _dt.timedelta(days=30 + rng.randint(0, 6))


def _condition_id_for(chart: Chart, cond: ChronicCondition) -> str:
    """The id of the problem-list Condition already written for ``cond``."""
    for res in chart.resources:
        if res["resourceType"] == "Condition" and res["category"][0]["coding"][0]["code"] == "problem-list-item" \
                and res["code"]["coding"][0]["code"] == cond.code.code:
            return str(res["id"])
    raise LookupError(cond.code.code)


# ---------------------------------------------------------------- acute illness
def _acute_mix(age: int) -> tuple[tuple[C.Code, float], ...]:
    if age < 3:
        return ((C.URI, 0.35), (C.NASOPHARYNGITIS, 0.1), (C.OTITIS_MEDIA, 0.33), (C.GASTROENTERITIS, 0.1),
                (C.FEVER, 0.1), (C.PHARYNGITIS, 0.02))
    if age < 12:
        return ((C.URI, 0.28), (C.NASOPHARYNGITIS, 0.06), (C.PHARYNGITIS, 0.24), (C.TONSILLITIS, 0.06),
                (C.OTITIS_MEDIA, 0.12), (C.GASTROENTERITIS, 0.1), (C.ANKLE_SPRAIN, 0.06), (C.ABDOMINAL_PAIN, 0.08))
    return ((C.URI, 0.33), (C.PHARYNGITIS, 0.22), (C.TONSILLITIS, 0.04), (C.OTITIS_MEDIA, 0.04),
            (C.GASTROENTERITIS, 0.1), (C.ANKLE_SPRAIN, 0.15), (C.ABDOMINAL_PAIN, 0.12))


def _season_ok(rng: random.Random, day: _dt.date) -> bool:
    """Respiratory illness peaks in winter: thin out summer days."""
    return rng.random() < (1 + 0.45 * math.cos(2 * math.pi * (day.timetuple().tm_yday - 20) / 365)) / 1.45


def acute_care(chart: Chart) -> None:
    child, rng, cfg = chart.child, chart.rng, chart.config
    for year in range(cfg.start.year, cfg.end.year + 1):
        lo = max(_dt.date(year, 1, 1), child.birth + _dt.timedelta(days=7), cfg.start)
        hi = min(_dt.date(year, 12, 31), cfg.end)
        if hi < lo:
            continue
        age = child.age_on(lo)
        for _ in range(poisson(rng, _band(ACUTE_RATE, age) * ((hi - lo).days + 1) / 365)):
            day = lo + _dt.timedelta(days=rng.randint(0, (hi - lo).days))
            while not _season_ok(rng, day):
                day = lo + _dt.timedelta(days=rng.randint(0, (hi - lo).days))
            codes_, weights = zip(*_acute_mix(child.age_on(day)))
            acute_visit(chart, day, rng.choices(codes_, weights)[0])


ANTIBIOTIC_TEXT = "as directed for 10 days"


def _antibiotic(chart: Chart) -> C.Drug:
    rng = chart.rng
    u = rng.random()
    if u < 0.8:
        return C.AMOXICILLIN_CAPSULE if chart.child.age_on(chart.config.end) >= 12 else C.AMOXICILLIN_SUSPENSION
    return C.AZITHROMYCIN_SUSPENSION if u < 0.9 else C.CEFDINIR_SUSPENSION


def acute_visit(chart: Chart, day: _dt.date, dx: C.Code) -> None:
    rng = chart.rng
    tele = dx in (C.URI, C.NASOPHARYNGITIS, C.GASTROENTERITIS) and rng.random() < 0.08
    if tele:
        visit = chart.encounter(day, "acute", rng.choice(C.TELEHEALTH), "Telephone evaluation", act="VR",
                                duration=15)
    else:
        cpt = rng.choices(("99212", "99213", "99214", "99215"), (0.2, 0.55, 0.2, 0.05))[0]
        visit = chart.encounter(day, "acute", cpt, "Office visit, established patient", duration=20)
    antibiotic = False
    if dx in (C.PHARYNGITIS, C.TONSILLITIS):
        result = None
        if chart.given(chart.rate("strep_testing")):
            positive = rng.random() < 0.3
            chart.observation(visit, day, visit.minutes + 10, C.STREP_RAPID, "laboratory",
                              valueCodeableConcept=concept(C.POSITIVE if positive else C.NEGATIVE))
            if not positive and chart.child.age_on(day) < 18 and rng.random() < 0.4:
                positive = rng.random() < 0.1
                chart.observation(visit, day, visit.minutes + 15, C.STREP_CULTURE, "laboratory",
                                  valueCodeableConcept=concept(C.POSITIVE if positive else C.NEGATIVE))
            result = positive
        if result:
            dx = C.STREP_PHARYNGITIS
        antibiotic = rng.random() < (0.95 if result else 0.08 if result is False else 0.55)
    elif dx == C.OTITIS_MEDIA:
        antibiotic = rng.random() < 0.8
    elif dx in (C.URI, C.NASOPHARYNGITIS):
        antibiotic = rng.random() < 0.06
    chart.encounter_diagnosis(visit, dx)
    if antibiotic:
        chart.prescribe(_antibiotic(chart), day, visit.minutes + 20, visit, instructions=ANTIBIOTIC_TEXT)


# ---------------------------------------------------------------- emergency and hospital care
def hospital_care(chart: Chart) -> None:
    child, rng, cfg = chart.child, chart.rng, chart.config
    ccc = [c for c in child.conditions if c.key == "ccc"]
    asthma = next((c for c in child.conditions if c.key == "asthma"), None)
    for year in range(cfg.start.year, cfg.end.year + 1):
        lo = max(_dt.date(year, 1, 1), child.birth + _dt.timedelta(days=3), cfg.start)
        hi = min(_dt.date(year, 12, 31), cfg.end)
        if hi < lo:
            continue
        share = ((hi - lo).days + 1) / 365
        age = child.age_on(lo)
        ed_rate = _band(ED_RATE, age) * (1.4 if child.payer == "medicaid" else 1.0)
        ed_rate *= 2.5 if ccc else 1.0
        ed_rate += (0.3 if asthma and asthma.persistent else 0.1 if asthma else 0.0)
        ip_rate = (0.05 if age < 1 else 0.015) + (0.45 if ccc else 0.0)
        ip_rate += 0.04 if asthma and asthma.persistent else 0.0
        ip_rate += 0.1 if child.has("type1_diabetes") else 0.0

        span = (hi - lo).days
        for _ in range(poisson(rng, ed_rate * share)):
            ed_visit(chart, lo + _dt.timedelta(days=rng.randint(0, span)), ccc, asthma)
        for _ in range(poisson(rng, ip_rate * share)):
            admission(chart, lo + _dt.timedelta(days=rng.randint(0, span)), ccc, asthma)


def _problem_id(chart: Chart, cond: ChronicCondition) -> str:
    return _condition_id_for(chart, cond)


def ed_visit(chart: Chart, day: _dt.date, ccc: list[ChronicCondition], asthma: ChronicCondition | None,
             minutes: int | None = None) -> Visit:
    rng = chart.rng
    cpt = rng.choices(C.ED_VISIT, (0.05, 0.15, 0.35, 0.3, 0.15))[0]
    start = minutes if minutes is not None else rng.randrange(8 * 60, 17 * 60, 5)
    visit = chart.encounter(day, "ed", cpt, "Emergency department visit", act="EMER", minutes=start,
                            duration=rng.randint(120, 300), hospital=True)
    active_ccc = [c for c in ccc if c.onset <= day and (c.end is None or day <= c.end)]
    if active_ccc and rng.random() < 0.5:
        chart.link(visit, _problem_id(chart, rng.choice(active_ccc)))
        chart.encounter_diagnosis(visit, C.FEVER)
    elif asthma is not None and asthma.onset <= day and rng.random() < (0.6 if asthma.persistent else 0.35):
        chart.link(visit, _problem_id(chart, asthma))
        chart.encounter_diagnosis(visit, asthma.code, resolve_days=7)
    else:
        age = chart.child.age_on(day)
        options = (C.FEVER, C.GASTROENTERITIS, C.HEAD_INJURY, C.ANKLE_SPRAIN, C.URI, C.OTITIS_MEDIA, C.ABDOMINAL_PAIN)
        weights = (0.25, 0.2, 0.1, 0.1, 0.15, 0.1, 0.1) if age < 5 else (0.1, 0.15, 0.15, 0.25, 0.1, 0.05, 0.2)
        chart.encounter_diagnosis(visit, rng.choices(options, weights)[0])
    return visit


def admission(chart: Chart, day: _dt.date, ccc: list[ChronicCondition], asthma: ChronicCondition | None) -> None:
    rng = chart.rng
    active_ccc = [c for c in ccc if c.onset <= day and (c.end is None or day <= c.end)]
    stay = rng.randint(2, 8) if active_ccc else rng.randint(1, 3)
    discharge = day + _dt.timedelta(days=stay)
    admit_minutes = rng.randrange(9 * 60, 17 * 60, 5)
    if rng.random() < 0.4:
        ed_visit(chart, day, ccc, asthma, minutes=max(6 * 60, admit_minutes - 240))
    visit = chart.encounter(day, "inpatient", rng.choice(C.INPATIENT_ADMISSION), "Initial hospital care",
                            act="IMP", minutes=admit_minutes, hospital=True, discharge=discharge)
    if active_ccc:
        for c in active_ccc:
            chart.link(visit, _problem_id(chart, c))
    elif asthma is not None and asthma.onset <= day and rng.random() < 0.6:
        chart.link(visit, _problem_id(chart, asthma))
        chart.encounter_diagnosis(visit, asthma.code, resolve_days=stay + 7)
    else:
        age = chart.child.age_on(day)
        dx = C.BRONCHIOLITIS if age < 2 and rng.random() < 0.6 else rng.choice((C.PNEUMONIA, C.DEHYDRATION))
        chart.encounter_diagnosis(visit, dx, resolve_days=stay + 7)


# ---------------------------------------------------------------- social needs
def social_needs(chart: Chart) -> None:
    """Food and housing screening at the first practice visit of each year (transportation on half)."""
    child, rng, cfg = chart.child, chart.rng, chart.config
    risk = {"medicaid": (0.25, 0.05, 0.10), "private": (0.07, 0.01, 0.02), "self-pay": (0.2, 0.05, 0.1)}[child.payer]
    for year in range(cfg.start.year, cfg.end.year + 1):
        office = sorted((v for v in chart.visits if v.day.year == year and v.kind in ("well", "acute", "chronic")
                         and v.resource["serviceProvider"]["reference"].endswith(chart.practice_org())),
                        key=lambda v: (v.day, v.minutes))
        if not office or child.age_on(office[0].day) > 17:
            continue
        if not chart.given(chart.rate("social_needs_screening")):
            continue
        v = office[0]
        m = max(6 * 60, v.minutes - 5)
        food = rng.random() < risk[0]
        worry = (C.ANSWER_OFTEN_TRUE if rng.random() < 0.4 else C.ANSWER_SOMETIMES_TRUE) if food \
            else C.ANSWER_NEVER_TRUE
        chart.observation(v, v.day, m, C.FOOD_WORRY, "survey", valueCodeableConcept=concept(worry))
        chart.observation(v, v.day, m, C.FOOD_RISK, "survey",
                          valueCodeableConcept=concept(C.ANSWER_AT_RISK if food else C.ANSWER_NO_RISK))
        housing = rng.random() < risk[1]
        chart.observation(v, v.day, m, C.HOUSING_STATUS, "survey",
                          valueCodeableConcept=concept(C.ANSWER_NO_HOUSING if housing else C.ANSWER_HAVE_HOUSING))
        if rng.random() < 0.5:
            transport = rng.random() < risk[2]
            chart.observation(v, v.day, m, C.TRANSPORTATION, "survey", valueCodeableConcept=concept(
                C.ANSWER_TRANSPORT_YES if transport else C.ANSWER_NO))


# Chance per year that a young woman is pregnant, by age band: above the NCHS birth rate (13.5 per
# 1,000 females aged 15-19 in 2022, several times that at 20-24) because not every pregnancy ends
# in a birth.
PREGNANCY_RATE = ((15, 0.015), (18, 0.04))


def pregnancies(chart: Chart) -> None:
    child, rng, cfg = chart.child, chart.rng, chart.config
    if child.sex != "female":
        return
    for year in range(cfg.start.year, cfg.end.year + 1):
        day = _dt.date(year, 1, 1) + _dt.timedelta(days=rng.randint(0, 364))
        age = child.age_on(day)
        if age < 15 or age > 21 or not chart.in_window(day) or rng.random() >= _band(PREGNANCY_RATE, age):
            continue
        visit = chart.encounter(day, "acute", "99213", "Office visit, established patient", hospital=True)
        chart.encounter_diagnosis(visit, C.PREGNANCY, resolve_days=rng.randint(60, 270))


def build_history(chart: Chart) -> None:
    """All of one child's care, in the order it depends on."""
    well_visits(chart)
    immunizations(chart)
    well_visit_services(chart)
    chronic_care(chart)
    acute_care(chart)
    hospital_care(chart)
    pregnancies(chart)
    social_needs(chart)

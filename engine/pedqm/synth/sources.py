"""The same children seen in several places of care, one NDJSON set per source (``pedqm synth
--sources practice,school,urgent-care,cbo``).

The practice set is the population :func:`.generator.generate` writes (the same children, the
same charts, from the same seeds), with three additions that only a multi-source run has: a
health-plan member id (for children with Medicaid or private coverage), an address and phone,
and the practice's own part of care begun elsewhere (a follow-up visit after an urgent-care
asthma visit, a Gravity SDOH referral after a positive food-insecurity screen). The other sources
hold what happened there:

* ``school``: a school-based health centre for some school-age children: adolescent depression
  screens (PHQ-9) and follow-up of positive screens, and the immunizations the school nurse
  copied from the child's record (the same events as the practice's: collapsed when merged).
* ``urgent-care``: asthma visits of children with asthma, and some acute visits of others.
* ``cbo``: a food bank closing the practice's referrals: the referral (same identifier as the
  practice's ServiceRequest), a Task (``fulfill``) with its status and execution period, and the
  Procedure done, as the Gravity Project SDOH Clinical Care IG models closed-loop referrals.

Each source has its own local ids and MRN system; most of its records carry the member id, some
do not; some demographics carry a typo. A few children are known only to one non-practice source.
``linkage-truth.csv`` says which record is which child. Every source draws from its own random
stream per child, so the practice's charts are those ``generate`` writes, and a run is
reproducible byte for byte from its seed.
"""

from __future__ import annotations

import csv
import datetime as _dt
import random
import time
from dataclasses import dataclass, field
from pathlib import Path

from . import codes as C
from .config import Practice, SynthConfig, write_practices_csv
from .directory import build_directory
from .fhir import Resource, coding, concept, condition, instant, observation_category, ref
from .generator import PRACTICES_CSV, coverage_resources, make_child, patient_resource
from .history import Chart, build_history, poisson
from .names import person_name
from .patient import Child
from .writer import NdjsonWriter

SOURCES = ("practice", "school", "urgent-care", "cbo")
TRUTH_CSV = "linkage-truth.csv"
SID_REFERRAL = f"{C.SID_BASE}/sdoh-referral"
SDOHCC_CODES = "http://hl7.org/fhir/us/sdoh-clinicalcare/CodeSystem/SDOHCC-CodeSystemTemporaryCodes"
TASK_CODE = "http://hl7.org/fhir/CodeSystem/task-code"
SOCIAL_SERVICE = C.Code(C.SNOMED, "410606002", "Social service procedure")
FOOD_PANTRY_ASSIST = C.Code(C.SNOMED, "467771000124109", "Assistance with application for food pantry program")
URGENT_CARE_VISIT = "99214"
HCPCS = "http://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets"
URGENT_CARE_CENTER = C.Code(HCPCS, "S9088", "Services provided in an urgent care center")

ORGS = {  # source -> (Organization id, name, local MRN system)
    "school": ("org-sbhc", "Lincoln Schools Health Center", f"{C.SID_MRN}/sbhc"),
    "urgent-care": ("org-urgent-care", "Riverside Pediatric Urgent Care", f"{C.SID_MRN}/urgent-care"),
    "cbo": ("org-food-bank", "Harbor Community Food Bank", f"{C.SID_MRN}/food-bank"),
}
ID_PREFIX = {"school": "sbhc", "urgent-care": "uc", "cbo": "fb"}

# How care splits; probabilities per child or per opportunity, stated here so the data can be read.
SCHOOL_ENROLLMENT = {"medicaid": 0.45, "private": 0.2, "self-pay": 0.4}  # school-age children at the SBHC
SCHOOL_SCREEN_PER_YEAR = 0.6  # an enrolled adolescent is screened for depression in a school year
SCHOOL_FOLLOWUP = 0.7  # a positive school screen is followed up at school within 30 days
SCHOOL_COPIES_IMMUNIZATIONS = 0.5  # the nurse copied the child's vaccines from the practice record
UC_ASTHMA_VISITS = 0.5  # urgent-care asthma visits per year of a child with asthma
UC_OTHER_CHILDREN = 0.1  # other children with an acute urgent-care visit in the window
MEDICAL_HOME_FOLLOWUP = 0.55  # the practice sees the child within 7 days of an urgent-care asthma visit
FOOD_REFERRAL = 0.8  # a positive food-insecurity screen leads to a food-bank referral
REFERRAL_CLOSED = 0.65  # the food bank completes the referral (within 3-45 days)
MEMBER_ID_SHARED = 0.85  # a non-practice record carries the child's member id
TYPO = 0.08  # a non-practice record has a typo in the name
BIRTH_DATE_ERROR = 0.03  # ... or in the birth date
MOVED = 0.15  # a non-practice record has another (older or newer) address
ONLY_ELSEWHERE = 0.04  # children known only to one non-practice source, per practice child


@dataclass
class SourcesSummary:
    config: SynthConfig
    sources: tuple[str, ...]
    patients: dict[str, int] = field(default_factory=dict)
    resources: dict[str, int] = field(default_factory=dict)
    truth_rows: int = 0
    seconds: float = 0.0

    def describe(self) -> str:
        lines = [f"pedqm synth --sources: seed {self.config.seed}, {self.truth_rows} source records "
                 f"in {len(self.sources)} sources, {self.seconds:.1f} s"]
        lines += [f"  {s}: {self.patients.get(s, 0)} patients, {self.resources.get(s, 0)} resources" for s in self.sources]
        return "\n".join(lines)


def parse_sources(text: str) -> tuple[str, ...]:
    names = tuple(dict.fromkeys(s.strip() for s in text.split(",") if s.strip()))
    if names == ("all",):
        return SOURCES
    unknown = [n for n in names if n not in SOURCES]
    if unknown or "practice" not in names:
        raise ValueError(f"--sources: choose from {', '.join(SOURCES)} (or 'all'), practice included; got {text!r}")
    return tuple(n for n in SOURCES if n in names)


def _digits(rng: random.Random, n: int) -> str:
    return "".join(str(rng.randrange(10)) for _ in range(n))


@dataclass
class Person:
    """What every source may know of a child: demographics and the member id."""

    child: Child
    member_id: str | None
    line: str
    postal: str
    phone: str


def _person(child: Child, rng: random.Random) -> Person:
    member = None if child.payer == "self-pay" else f"M{_digits(rng, 9)}"
    line = f"{rng.randint(10, 9899)} {rng.choice(('Oak', 'Elm', 'Maple', 'Cedar', 'Lake', 'Hill', 'Park', 'Main'))} " \
           f"{rng.choice(('St', 'Ave', 'Rd', 'Ct'))}"
    return Person(child, member, line, f"44{rng.randint(100, 199)}", f"216555{_digits(rng, 4)}")


def _typo(text: str, rng: random.Random) -> str:
    if len(text) < 3:
        return text
    i = rng.randrange(1, len(text) - 1)
    kind = rng.random()
    if kind < 0.4:  # transposed letters
        return text[:i] + text[i + 1] + text[i] + text[i + 2:]
    if kind < 0.7:  # a letter dropped
        return text[:i] + text[i + 1:]
    return text[:i] + rng.choice("aeiourn") + text[i + 1:]  # a letter replaced


def _birth_error(day: _dt.date, rng: random.Random) -> _dt.date:
    if day.day <= 12 and day.month != day.day and rng.random() < 0.5:
        return day.replace(month=day.day, day=day.month)  # day and month swapped
    return day + _dt.timedelta(days=rng.choice((-1, 1)))


def _source_patient(person: Person, source: str, local_id: str, rng: random.Random) -> Resource:
    child = person.child
    given, family, birth = child.given, child.family, child.birth
    if rng.random() < TYPO:
        if rng.random() < 0.5:
            given = _typo(given, rng)
        else:
            family = _typo(family, rng)
    if rng.random() < BIRTH_DATE_ERROR:
        birth = _birth_error(birth, rng)
    org, _, mrn = ORGS[source]
    idents = [{"system": mrn, "value": local_id.split("-", 1)[1]}]
    if person.member_id and rng.random() < MEMBER_ID_SHARED:
        idents.append({"system": C.SID_MEMBER, "value": person.member_id})
    res: Resource = {"resourceType": "Patient", "id": local_id, "identifier": idents, "active": True,
                     "name": [{"family": family, "given": [given]}], "gender": child.sex,
                     "birthDate": birth.isoformat()}
    if rng.random() < 0.7:
        res["telecom"] = [{"system": "phone", "value": person.phone}]
    line, postal = person.line, person.postal
    if rng.random() < MOVED:
        line, postal = _person(child, rng).line, f"44{rng.randint(100, 199)}"
    res["address"] = [{"line": [line], "city": "Harborview", "state": "OH", "postalCode": postal}]
    res["managingOrganization"] = ref("Organization", org)
    return res


class _Local:
    """One non-practice source's record of one child, built up as care happens there."""

    def __init__(self, source: str, local_id: str, person: Person, rng: random.Random) -> None:
        self.source, self.pid, self.rng = source, local_id, rng
        self.patient = _source_patient(person, source, local_id, rng)
        self.resources: list[Resource] = []
        self._n = 0

    def new_id(self, prefix: str) -> str:
        self._n += 1
        return f"{self.pid}-{prefix}{self._n}"

    def encounter(self, day: _dt.date, minutes: int, cpt: str, text: str, reason: C.Code | None = None) -> Resource:
        codes = [C.Code(C.CPT, cpt, text)] + ([URGENT_CARE_CENTER] if self.source == "urgent-care" else [])
        res: Resource = {"resourceType": "Encounter", "id": self.new_id("enc"), "status": "finished",
                         "class": coding(C.ACT_CODE, "AMB"), "type": [concept(*codes)],
                         "subject": ref("Patient", self.pid),
                         "period": {"start": instant(day, minutes), "end": instant(day, minutes + 30)}}
        if reason is not None:
            res["reasonCode"] = [concept(reason)]
        res["serviceProvider"] = ref("Organization", ORGS[self.source][0])
        self.resources.append(res)
        return res


def _organization(source: str) -> Resource:
    oid, name, _ = ORGS[source]
    kind = "cg" if source == "cbo" else "prov"
    return {"resourceType": "Organization", "id": oid, "active": True,
            "type": [{"coding": [coding("http://terminology.hl7.org/CodeSystem/organization-type", kind)]}],
            "name": name, "address": [{"city": "Harborview", "state": "OH", "country": "US"}]}


def _school_year_day(year: int, rng: random.Random) -> _dt.date:
    start = _dt.date(year, 1, 8) if rng.random() < 0.5 else _dt.date(year, 9, 3)
    span = 130 if start.month == 1 else 100
    day = start + _dt.timedelta(days=rng.randint(0, span))
    while day.weekday() >= 5:
        day += _dt.timedelta(days=1)
    return day


def school_care(local: _Local, chart: Chart | None, child: Child, config: SynthConfig) -> None:
    rng = local.rng
    for year in range(config.start.year, config.end.year + 1):
        day = _school_year_day(year, rng)
        if child.age_on(day) < 12 or day > config.end or rng.random() >= SCHOOL_SCREEN_PER_YEAR:
            continue
        minutes = rng.randrange(8 * 60, 14 * 60, 15)
        enc = local.encounter(day, minutes, "99213", "Office visit, established patient")
        positive = rng.random() < (0.35 if child.has("depression") else 0.1)
        score = rng.randint(10, 22) if positive else min(9, int(rng.expovariate(1 / 3)))
        for code, value in ((C.ADOLESCENT_DEPRESSION_SCREEN, {"valueCodeableConcept": concept(
                C.DEPRESSION_SCREEN_POSITIVE if positive else C.DEPRESSION_SCREEN_NEGATIVE)}),
                (C.PHQ9_TEEN_TOTAL, {"valueInteger": score})):
            local.resources.append({"resourceType": "Observation", "id": local.new_id("obs"), "status": "final",
                                    "category": observation_category("survey"), "code": concept(code),
                                    "subject": ref("Patient", local.pid), "encounter": ref("Encounter", enc["id"]),
                                    "effectiveDateTime": instant(day, minutes), **value})
        if positive and rng.random() < SCHOOL_FOLLOWUP:
            follow = day + _dt.timedelta(days=rng.randint(2, 20))
            if follow <= config.end:
                fm = rng.randrange(8 * 60, 14 * 60, 15)
                fenc = local.encounter(follow, fm, "99214", "Office visit, established patient",
                                       reason=C.DEPRESSION_SCREEN_POSITIVE)
                local.resources.append({"resourceType": "Procedure", "id": local.new_id("proc"), "status": "completed",
                                        "code": concept(rng.choice(C.DEPRESSION_FOLLOWUP_SCT)),
                                        "subject": ref("Patient", local.pid),
                                        "encounter": ref("Encounter", fenc["id"]),
                                        "performedDateTime": instant(follow, fm + 10)})
    if chart is not None and rng.random() < SCHOOL_COPIES_IMMUNIZATIONS:
        for imm in chart.resources:
            if imm["resourceType"] == "Immunization" and imm.get("occurrenceDateTime", "") >= "2023":
                local.resources.append({"resourceType": "Immunization", "id": local.new_id("imm"),
                                        "status": imm["status"], "vaccineCode": imm["vaccineCode"],
                                        "patient": ref("Patient", local.pid),
                                        "occurrenceDateTime": imm["occurrenceDateTime"], "primarySource": False,
                                        "reportOrigin": {"text": "copied from the child's immunization record"}})


def urgent_care(local: _Local, chart: Chart | None, child: Child, config: SynthConfig) -> None:
    """Urgent-care visits; returns nothing, but asthma visits get a practice follow-up (see caller)."""
    rng = local.rng
    asthma = next((c for c in child.conditions if c.key == "asthma"), None)
    visits = 0
    if asthma is not None:
        for year in range(config.start.year, config.end.year + 1):
            for _ in range(poisson(rng, UC_ASTHMA_VISITS)):
                day = max(asthma.onset, _dt.date(year, 1, 1)) + _dt.timedelta(days=rng.randint(0, 364))
                if day.year != year or day > config.end:
                    continue
                minutes = rng.randrange(9 * 60, 18 * 60, 15)
                enc = local.encounter(day, minutes, URGENT_CARE_VISIT, "Urgent care visit", reason=asthma.code)
                cid = local.new_id("cond")
                local.resources.append(condition(cid, local.pid, asthma.code, category="encounter-diagnosis",
                                                 onset=instant(day, minutes), encounter=enc["id"]))
                enc["diagnosis"] = [{"condition": ref("Condition", cid), "rank": 1}]
                visits += 1
                if chart is not None and rng.random() < MEDICAL_HOME_FOLLOWUP:
                    follow = day + _dt.timedelta(days=rng.randint(1, 7))
                    if follow <= config.end:
                        v = chart.encounter(follow, "followup", "99213", "Office visit, established patient",
                                            reason=asthma.code)
                        v.resource["id"] = v.resource["id"].replace("-enc", "-ucf")
    if visits == 0 and (asthma is not None or rng.random() < UC_OTHER_CHILDREN):
        day = config.start + _dt.timedelta(days=rng.randint(0, (config.end - config.start).days))
        if day >= child.birth:
            minutes = rng.randrange(9 * 60, 18 * 60, 15)
            dx = rng.choice((C.URI, C.OTITIS_MEDIA))
            enc = local.encounter(day, minutes, URGENT_CARE_VISIT, "Urgent care visit", reason=dx)
            cid = local.new_id("cond")
            local.resources.append(condition(cid, local.pid, dx, category="encounter-diagnosis",
                                             onset=instant(day, minutes), encounter=enc["id"],
                                             abatement=instant(day + _dt.timedelta(days=10), minutes)))


def food_referrals(chart: Chart, rng: random.Random) -> list[tuple[Resource, _dt.date]]:
    """The practice's Gravity referrals after positive food-insecurity screens (added to its chart)."""
    out = []
    for obs in list(chart.resources):
        if obs["resourceType"] != "Observation" or obs["code"]["coding"][0]["code"] != C.FOOD_RISK.code:
            continue
        if obs["valueCodeableConcept"]["coding"][0]["code"] != C.ANSWER_AT_RISK.code or rng.random() >= FOOD_REFERRAL:
            continue
        when = obs["effectiveDateTime"]
        sid = chart.new_id("sdoh")
        sr: Resource = {
            "resourceType": "ServiceRequest", "id": sid,
            "identifier": [{"system": SID_REFERRAL, "value": sid}],
            "status": "active", "intent": "order",
            "category": [concept(SOCIAL_SERVICE),
                         {"coding": [coding(SDOHCC_CODES, "food-insecurity", "Food Insecurity")]}],
            "code": concept(FOOD_PANTRY_ASSIST), "subject": ref("Patient", chart.child.pid),
            "encounter": obs["encounter"], "occurrenceDateTime": when, "authoredOn": when,
            "requester": ref("Practitioner", chart.child.pcp),
            "performer": [ref("Organization", ORGS["cbo"][0])],
            "reasonReference": [ref("Observation", obs["id"])],
        }
        chart.add(sr)
        out.append((sr, _dt.date.fromisoformat(when[:10])))
    return out


def cbo_care(local: _Local, referrals: list[tuple[Resource, _dt.date]], config: SynthConfig) -> None:
    rng = local.rng
    for sr, day in referrals:
        copy_id = local.new_id("sr")
        local.resources.append({**sr, "id": copy_id, "subject": ref("Patient", local.pid), "encounter": None,
                                "reasonReference": None, "requester": None})
        for k in ("encounter", "reasonReference", "requester"):
            local.resources[-1].pop(k)
        received = day + _dt.timedelta(days=rng.randint(0, 3))
        closed = rng.random() < REFERRAL_CLOSED
        done = day + _dt.timedelta(days=rng.randint(3, 45))
        task: Resource = {"resourceType": "Task", "id": local.new_id("task"),
                          "status": "completed" if closed and done <= config.end else "in-progress",
                          "intent": "order", "code": concept(C.Code(TASK_CODE, "fulfill", "Fulfill the focal request")),
                          "focus": ref("ServiceRequest", copy_id), "for": ref("Patient", local.pid),
                          "authoredOn": instant(received, 9 * 60),
                          "owner": ref("Organization", ORGS["cbo"][0])}
        if task["status"] == "completed":
            pid = local.new_id("proc")
            local.resources.append({"resourceType": "Procedure", "id": pid, "status": "completed",
                                    "basedOn": [ref("ServiceRequest", copy_id)],
                                    "category": concept(SOCIAL_SERVICE), "code": concept(FOOD_PANTRY_ASSIST),
                                    "subject": ref("Patient", local.pid),
                                    "performedDateTime": instant(done, 11 * 60)})
            task["executionPeriod"] = {"start": instant(received, 9 * 60), "end": instant(done, 11 * 60)}
            task["output"] = [{"type": concept(C.Code(SDOHCC_CODES, "resulting-activity", "Resulting Activity")),
                               "valueReference": ref("Procedure", pid)}]
        else:
            task["executionPeriod"] = {"start": instant(received, 9 * 60)}
        task["lastModified"] = task["executionPeriod"].get("end") or instant(received, 9 * 60)
        local.resources.append(task)
    if not referrals:  # a family that came on its own: the food bank served them, no referral
        day = config.start + _dt.timedelta(days=rng.randint(0, (config.end - config.start).days))
        local.resources.append({"resourceType": "Procedure", "id": local.new_id("proc"), "status": "completed",
                                "category": concept(SOCIAL_SERVICE), "code": concept(FOOD_PANTRY_ASSIST),
                                "subject": ref("Patient", local.pid), "performedDateTime": instant(day, 11 * 60)})


def generate_sources(config: SynthConfig, out: Path, sources: tuple[str, ...] = SOURCES) -> SourcesSummary:
    """Write ``out/<source>/`` NDJSON for each source and ``out/linkage-truth.csv``."""
    started = time.perf_counter()
    practices: tuple[Practice, ...] = config.resolved_practices()
    directory = build_directory(practices, config.seed)
    medicaid_share = sum(p.size * p.medicaid_share for p in practices) / sum(p.size for p in practices)
    writers = {s: NdjsonWriter(out / s, compress=config.gzip) for s in sources}
    summary = SourcesSummary(config, sources)
    counters = {s: 0 for s in sources}
    truth: list[tuple[str, str, str]] = []

    def local_for(source: str, person: Person, rng: random.Random) -> _Local:
        counters[source] += 1
        return _Local(source, f"{ID_PREFIX[source]}-{counters[source]:05d}", person, rng)

    def emit(local: _Local, child_id: str) -> None:
        writers[local.source].write(local.patient)
        for r in local.resources:
            writers[local.source].write(r)
        truth.append((local.source, local.pid, child_id))

    try:
        for r in directory.resources:
            writers["practice"].write(r)
        for s in sources[1:]:
            writers[s].write(_organization(s))
        width = max(5, len(str(config.patients)))
        n = 0
        for practice in practices:
            for _ in range(practice.size):
                n += 1
                pid = f"pt-{n:0{width}d}"
                rng = random.Random(f"pedqm-synth/{config.seed}/{pid}")
                child = make_child(pid, practice, directory, config, rng, medicaid_share)
                chart = Chart(child, config, directory, rng)
                build_history(chart)
                coverage = coverage_resources(child, config, rng)  # before anything else draws from rng
                srng = random.Random(f"pedqm-synth-sources/{config.seed}/{pid}")
                person = _person(child, srng)
                locals_: list[_Local] = []
                if "school" in sources and 5 <= child.age_on(config.end) <= 19 \
                        and srng.random() < SCHOOL_ENROLLMENT[child.payer]:
                    local = local_for("school", person, srng)
                    school_care(local, chart, child, config)
                    locals_.append(local)
                if "urgent-care" in sources:
                    local = local_for("urgent-care", person, srng)
                    urgent_care(local, chart, child, config)
                    if local.resources:
                        locals_.append(local)
                    else:
                        counters["urgent-care"] -= 1
                if "cbo" in sources:
                    referrals = food_referrals(chart, srng)
                    if referrals:
                        local = local_for("cbo", person, srng)
                        cbo_care(local, referrals, config)
                        locals_.append(local)
                patient = patient_resource(child, directory)
                if person.member_id:
                    patient["identifier"].append({"system": C.SID_MEMBER, "value": person.member_id})
                patient["telecom"] = [{"system": "phone", "value": person.phone}]
                patient["address"] = [{"line": [person.line], "city": "Harborview", "state": "OH",
                                       "postalCode": person.postal}]
                writers["practice"].write(patient)
                truth.append(("practice", pid, pid))
                for res in coverage:
                    writers["practice"].write(res)
                for res in sorted(chart.resources, key=lambda r: (_when(r), r["id"])):
                    writers["practice"].write(res)
                for local in locals_:
                    emit(local, pid)
                others = [s for s in sources[1:]]
                if others and srng.random() < ONLY_ELSEWHERE:  # a child this practice never saw
                    xid = f"x-{n:0{width}d}"
                    xrng = random.Random(f"pedqm-synth-sources/{config.seed}/{xid}")
                    xchild = make_child(xid, practice, directory, config, xrng, medicaid_share)
                    xchild.given, xchild.family = person_name(xrng, xchild.sex)
                    xperson = _person(xchild, xrng)
                    source = xrng.choice(others)
                    local = local_for(source, xperson, xrng)
                    if source == "school":
                        school_care(local, None, xchild, config)
                    elif source == "urgent-care":
                        urgent_care(local, None, xchild, config)
                    else:
                        cbo_care(local, [], config)
                    emit(local, xid)
    finally:
        closed = {s: w.close() for s, w in writers.items()}
    write_practices_csv(practices, out / "practice" / PRACTICES_CSV)
    with (out / TRUTH_CSV).open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["source", "patient_id", "child"])
        w.writerows(truth)
    for s, files in closed.items():
        summary.resources[s] = sum(n for n, _ in files.values())
        summary.patients[s] = sum(1 for t in truth if t[0] == s)
    summary.truth_rows = len(truth)
    summary.seconds = time.perf_counter() - started
    return summary


def _when(res: Resource) -> str:
    return str(res.get("period", {}).get("start") or res.get("effectiveDateTime") or res.get("occurrenceDateTime")
               or res.get("performedDateTime") or res.get("authoredOn") or res.get("recordedDate") or "")

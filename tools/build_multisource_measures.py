"""Write the measure.json, value sets and test cases of the two multi-source library measures
(sdoh-referral-closed-loop, asthma-urgent-visit-followup). Each case's expected populations are
stated here by hand, from the measure's intent; `pedqm test measure_library/<id>` checks them.

    python tools/build_multisource_measures.py      # rewrites those files
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1] / "measure_library"
CPT, LOINC, SCT = "http://www.ama-assn.org/go/cpt", "http://loinc.org", "http://snomed.info/sct"
HCPCS = "http://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets"
ICD = "http://hl7.org/fhir/sid/icd-10-cm"
POP = "http://terminology.hl7.org/CodeSystem/measure-population"
CQFM = "http://hl7.org/fhir/us/cqfmeasures/StructureDefinition"


def dump(path: Path, data: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


def valueset(vid: str, title: str, description: str, codes: list[tuple[str, str, str | None]]) -> dict[str, Any]:
    return {"resourceType": "ValueSet", "id": vid, "url": f"http://pedqm.org/fhir/ValueSet/{vid}", "version": "1.0.0",
            "name": "".join(w.capitalize() for w in vid.split("-")), "title": title, "status": "active",
            "publisher": "pedqm", "description": description,
            "expansion": {"timestamp": "2025-01-01T00:00:00Z", "total": len(codes), "contains": [
                {"system": s, "code": c, **({"display": d} if d else {})} for s, c, d in codes]}}


def population(code: str, expression: str, gid: str) -> dict[str, Any]:
    return {"id": f"{gid}-{code}", "code": {"coding": [{"system": POP, "code": code}]},
            "criteria": {"language": "text/cql-identifier", "expression": expression}}


def measure(mid: str, name: str, title: str, description: str, purpose: str, guidance: str,
            groups: list[tuple[str, str, list[tuple[str, str]]]]) -> dict[str, Any]:
    return {
        "resourceType": "Measure", "id": mid, "meta": {"profile": [f"{CQFM}/computable-measure-cqfm"]},
        "extension": [{"url": f"{CQFM}/cqfm-populationBasis", "valueCode": "boolean"}],
        "url": f"http://pedqm.org/fhir/Measure/{mid}", "version": "1.0.0", "name": name, "title": title,
        "status": "draft", "experimental": False, "publisher": "pedqm", "description": description,
        "purpose": purpose, "effectivePeriod": {"start": "2025-01-01", "end": "2025-12-31"},
        "library": [f"http://pedqm.org/fhir/Library/{name}|1.0.0"],
        "scoring": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/measure-scoring", "code": "proportion"}]},
        "improvementNotation": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/measure-improvement-notation",
                                            "code": "increase"}]},
        "guidance": guidance,
        "group": [{"id": gid, "description": text, "population": [population(c, e, gid) for c, e in pops]}
                  for gid, text, pops in groups],
    }


def report(mid: str, pid: str, description: str, groups: list[dict[str, int]]) -> dict[str, Any]:
    return {"resourceType": "MeasureReport", "id": f"{pid}-expected",
            "extension": [{"url": f"{CQFM}/cqfm-testCaseDescription", "valueMarkdown": description}],
            "modifierExtension": [{"url": f"{CQFM}/cqfm-isTestCase", "valueBoolean": True}],
            "status": "complete", "type": "individual", "measure": f"http://pedqm.org/fhir/Measure/{mid}",
            "subject": {"reference": f"Patient/{pid}"}, "period": {"start": "2025-01-01", "end": "2025-12-31"},
            "group": [{"population": [{"code": {"coding": [{"system": POP, "code": c}]}, "count": n}
                                      for c, n in g.items()]} for g in groups]}


def write_case(mid: str, case: str, pid: str, description: str, resources: list[dict[str, Any]],
               groups: list[dict[str, int]]) -> None:
    folder = ROOT / mid / "cases" / case
    for r in resources:
        dump(folder / f"{r['resourceType']}-{r['id']}.json", r)
    dump(folder / f"MeasureReport-{pid}-expected.json", report(mid, pid, description, groups))


def patient(pid: str, birth: str, **extra: Any) -> dict[str, Any]:
    return {"resourceType": "Patient", "id": pid, "gender": "female", "birthDate": birth, **extra}


def ref(t: str, i: str) -> dict[str, str]:
    return {"reference": f"{t}/{i}"}


def cc(system: str, code: str) -> dict[str, Any]:
    return {"coding": [{"system": system, "code": code}]}


# ---------------------------------------------------------------- closed-loop SDOH referral

SDOH = "sdoh-referral-closed-loop"
GRAVITY = "http://hl7.org/fhir/us/sdoh-clinicalcare/CodeSystem/SDOHCC-CodeSystemTemporaryCodes"


def screen(pid: str, n: int, day: str, question: str = "88124-3", answer: str = "LA19952-3",
           status: str = "final") -> dict[str, Any]:
    return {"resourceType": "Observation", "id": f"{pid}-obs{n}", "status": status,
            "category": [cc("http://terminology.hl7.org/CodeSystem/observation-category", "survey")],
            "code": cc(LOINC, question), "subject": ref("Patient", pid), "effectiveDateTime": f"{day}T10:00:00Z",
            "valueCodeableConcept": cc(LOINC, answer)}


def referral(pid: str, n: int, day: str, status: str = "active") -> dict[str, Any]:
    return {"resourceType": "ServiceRequest", "id": f"{pid}-sr{n}", "status": status, "intent": "order",
            "category": [cc(SCT, "410606002"), cc(GRAVITY, "food-insecurity")], "code": cc(SCT, "467771000124109"),
            "subject": ref("Patient", pid), "authoredOn": f"{day}T10:30:00Z"}


def task(pid: str, n: int, focus: str, status: str, end: str | None) -> dict[str, Any]:
    t: dict[str, Any] = {"resourceType": "Task", "id": f"{pid}-task{n}", "status": status, "intent": "order",
                         "code": cc("http://hl7.org/fhir/CodeSystem/task-code", "fulfill"),
                         "focus": ref("ServiceRequest", focus), "for": ref("Patient", pid),
                         "owner": ref("Organization", "food-bank")}
    if end:
        t["executionPeriod"] = {"start": "2025-03-05T09:00:00Z", "end": f"{end}T11:00:00Z"}
    return t


def build_sdoh() -> None:
    folder = ROOT / SDOH
    shared = ROOT / "social-needs-screening" / "valuesets"
    for vs in ("food-insecurity-screening", "hospice-care"):
        shutil.copy(shared / f"{vs}.json", folder / "valuesets" / f"{vs}.json")
    dump(folder / "valuesets" / "food-insecurity-positive-answer.json", valueset(
        "food-insecurity-positive-answer", "Food insecurity: positive answers",
        "Answers that make the Hunger Vital Sign positive: 'At risk' for the risk item 88124-3 (LOINC answer list "
        "LL4511-2), 'Often true' or 'Sometimes true' for question 88122-7 (answer list LL4512-0; the HVS is positive "
        "when either question is answered often or sometimes true, Hager et al., Pediatrics 2010).",
        [(LOINC, "LA19952-3", "At risk"), (LOINC, "LA28397-0", "Often true"), (LOINC, "LA6729-3", "Sometimes true")]))
    dump(folder / "valuesets" / "food-insecurity-intervention.json", valueset(
        "food-insecurity-intervention", "Food insecurity interventions (referral and service)",
        "SNOMED CT 467771000124109 'Assistance with application for food pantry program', the food-insecurity "
        "intervention of the HL7 SDOH Clinical Care IG (Gravity Project) examples for ServiceRequest, Task and "
        "Procedure. A subset of the Gravity food-insecurity interventions value set in VSAC (Social Determinants of "
        "Health Service Requests grouper 2.16.840.1.113762.1.4.1196.790), which needs a UMLS licence to expand.",
        [(SCT, "467771000124109", "Assistance with application for food pantry program (procedure)")]))
    pops = [("initial-population", "Initial Population"), ("denominator", "Denominator"),
            ("denominator-exclusion", "Denominator Exclusion")]
    dump(folder / "measure.json", measure(
        SDOH, "SDOHReferralClosedLoop", "Closed-Loop Referral for Food Insecurity (ages 0-17)",
        "Percentage of children aged 0 to 17 at the end of the Measurement Period with a positive food-insecurity "
        "screen (Hunger Vital Sign) from the start of the period to 30 days before its end who (1) were referred "
        "for a food-insecurity intervention within 7 days after the screen and (2) whose referral was completed "
        "within 30 days after it was made (a completed fulfil Task or a completed intervention Procedure based on "
        "the referral, as the HL7 SDOH Clinical Care IG models it). Children who died or received hospice care "
        "are excluded.",
        "A positive social-need screen helps only when the referral it leads to is completed; the loop is usually "
        "closed by a community organization, outside the practice's record.",
        "Read the community organization's data with the practice's (pedqm --data practice=DIR --data cbo=DIR): "
        "the Task and Procedure that close a referral are in the organization's record.",
        [("referral", "Referred within 7 days after a positive screen", [*pops, ("numerator", "Numerator Referral")]),
         ("closed-loop", "Referral completed within 30 days", [*pops, ("numerator", "Numerator Closed Loop")])]))
    shutil.rmtree(folder / "cases", ignore_errors=True)

    def expect(ip: int, excl: int, ref_: int, closed: int) -> list[dict[str, int]]:
        return [{"initial-population": ip, "denominator": ip, "denominator-exclusion": excl, "numerator": n}
                for n in (ref_, closed)]

    def case(name: str, pid: str, text: str, resources: list[dict[str, Any]], groups: list[dict[str, int]],
             birth: str = "2015-05-05", **extra: Any) -> None:
        write_case(SDOH, name, pid, text, [patient(pid, birth, **extra), *resources], groups)

    p = "sdoh-closed"
    case("referral-completed-by-task-day-20", p, "Positive HVS on 3 March, referral the same day, food bank's "
         "fulfil Task completed on 23 March: referred and closed.",
         [screen(p, 1, "2025-03-03"), referral(p, 2, "2025-03-03"), task(p, 3, f"{p}-sr2", "completed", "2025-03-23")],
         expect(1, 0, 1, 1))
    p = "sdoh-open"
    case("referral-task-in-progress", p, "Referred, the Task is still in progress: referred, not closed.",
         [screen(p, 1, "2025-03-03"), referral(p, 2, "2025-03-03"), task(p, 3, f"{p}-sr2", "in-progress", None)],
         expect(1, 0, 1, 0))
    p = "sdoh-no-referral"
    case("positive-screen-no-referral", p, "Positive screen, no referral: in the denominator only.",
         [screen(p, 1, "2025-06-10")], expect(1, 0, 0, 0))
    p = "sdoh-negative"
    case("negative-screen", p, "Screened, no risk: not in the initial population.",
         [screen(p, 1, "2025-06-10", answer="LA19983-8"), referral(p, 2, "2025-06-10")], expect(0, 0, 0, 0))
    p = "sdoh-procedure"
    proc = {"resourceType": "Procedure", "id": f"{p}-proc3", "status": "completed", "code": cc(SCT, "467771000124109"),
            "basedOn": [ref("ServiceRequest", f"{p}-sr2")], "subject": ref("Patient", p),
            "performedDateTime": "2025-04-20T11:00:00Z"}
    case("referral-completed-by-procedure", p, "No Task, but the food bank's Procedure based on the referral was "
         "done 16 days later: closed.",
         [screen(p, 1, "2025-04-03", question="88122-7", answer="LA6729-3"), referral(p, 2, "2025-04-04"), proc],
         expect(1, 0, 1, 1))
    p = "sdoh-day-31"
    case("task-completed-day-31", p, "Task completed 31 days after the referral: referred, not closed in time.",
         [screen(p, 1, "2025-05-01"), referral(p, 2, "2025-05-01"), task(p, 3, f"{p}-sr2", "completed", "2025-06-01")],
         expect(1, 0, 1, 0))
    p = "sdoh-late-screen"
    case("screen-in-last-30-days", p, "Positive screen on 15 December, less than 30 days before the end: not in "
         "the initial population.",
         [screen(p, 1, "2025-12-15"), referral(p, 2, "2025-12-15")], expect(0, 0, 0, 0))
    p = "sdoh-late-referral"
    case("referral-8-days-after-screen", p, "Referral 8 days after the screen (completed): not a referral "
         "for this screen.",
         [screen(p, 1, "2025-02-01"), referral(p, 2, "2025-02-09"), task(p, 3, f"{p}-sr2", "completed", "2025-02-20")],
         expect(1, 0, 0, 0))
    p = "sdoh-age18"
    case("age-18-at-end", p, "18 at the end of the period: not in the initial population.",
         [screen(p, 1, "2025-03-03"), referral(p, 2, "2025-03-03")], expect(0, 0, 0, 0), birth="2007-12-01")
    p = "sdoh-hospice"
    hospice = {"resourceType": "Procedure", "id": f"{p}-proc2", "status": "in-progress", "code": cc(SCT, "385763009"),
               "subject": ref("Patient", p), "performedPeriod": {"start": "2025-01-10T00:00:00Z"}}
    case("hospice-excluded", p, "Hospice care in the period: excluded.",
         [screen(p, 1, "2025-03-03"), hospice], expect(1, 1, 0, 0))
    p = "sdoh-other-task"
    case("task-for-another-referral", p, "A completed Task whose focus is another request: not closed.",
         [screen(p, 1, "2025-03-03"), referral(p, 2, "2025-03-03"),
          task(p, 3, "someone-else-sr9", "completed", "2025-03-10")], expect(1, 0, 1, 0))
    p = "sdoh-preliminary"
    case("preliminary-screen", p, "A preliminary positive screen is not a screen: no population.",
         [screen(p, 1, "2025-03-03", status="preliminary"), referral(p, 2, "2025-03-03")], expect(0, 0, 0, 0))


# ---------------------------------------------------------------- asthma urgent-visit follow-up

ASTHMA = "asthma-urgent-visit-followup"


def encounter(pid: str, n: int, day: str, codes: list[tuple[str, str]], *, cls: str = "AMB", org: str = "practice",
              reason: str | None = None, status: str = "finished", hours: int = 1) -> dict[str, Any]:
    e: dict[str, Any] = {"resourceType": "Encounter", "id": f"{pid}-enc{n}", "status": status,
                         "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": cls},
                         "type": [{"coding": [{"system": s, "code": c} for s, c in codes]}],
                         "subject": ref("Patient", pid),
                         "period": {"start": f"{day}T10:00:00Z", "end": f"{day}T{10 + hours:02d}:00:00Z"},
                         "serviceProvider": ref("Organization", org)}
    if reason:
        e["reasonCode"] = [cc(ICD, reason)]
    return e


URGENT = [(CPT, "99214"), (HCPCS, "S9088")]
ED = [(CPT, "99284")]
OFFICE = [(CPT, "99213")]


def build_asthma() -> None:
    folder = ROOT / ASTHMA
    source = ROOT / "asthma-controller-or-ed" / "valuesets"
    for vs in ("asthma", "emergency-department-visit", "hospice-care"):
        shutil.copy(source / f"{vs}.json", folder / "valuesets" / f"{vs}.json")
    dump(folder / "valuesets" / "urgent-care-visit.json", valueset(
        "urgent-care-visit", "Urgent care visits",
        "HCPCS Level II S9083 (global fee, urgent care centers) and S9088 (services provided in an urgent care "
        "center), as CMS publishes them (HCPCS is public domain). Descriptors abridged.",
        [(HCPCS, "S9083", "Global fee urgent care centers"), (HCPCS, "S9088", "Services provided in an urgent care center")]))
    codes = [*(f"9920{i}" for i in range(2, 6)), *(f"9921{i}" for i in range(1, 6)), *(f"9938{i}" for i in range(1, 6)),
             *(f"9939{i}" for i in range(1, 6)), "99441", "99442", "99443"]
    dump(folder / "valuesets" / "medical-home-visit.json", valueset(
        "medical-home-visit", "Medical home visits (office, preventive, telephone)",
        "pedqm catalogue CPT codes: office visits (99202-99205, 99211-99215), preventive visits (99381-99385, "
        "99391-99395) and telephone evaluation (99441-99443), as in the asthma-care-visit value set of "
        "asthma-controller-or-ed without its emergency and hospital codes. CPT descriptors omitted.",
        [(CPT, c, None) for c in codes]))
    pops = [("initial-population", "Initial Population"), ("denominator", "Denominator"),
            ("denominator-exclusion", "Denominator Exclusion"), ("numerator", "Numerator")]
    dump(folder / "measure.json", measure(
        ASTHMA, "AsthmaUrgentVisitFollowUp", "Medical Home Follow-Up Within 7 Days of an Urgent or Emergency Asthma Visit (ages 2-17)",
        "Percentage of children aged 2 to 17 at the end of the Measurement Period whose first urgent-care or "
        "emergency department visit for asthma in the period (starting at least 7 days before its end) was "
        "followed, 1 to 7 days after it ended, by an office, preventive or telephone visit at the child's medical "
        "home (Patient.managingOrganization). Children who died or received hospice care are excluded.",
        "The NHLBI asthma guideline (EPR-3) advises follow-up with the child's regular clinician soon after an "
        "emergency visit for asthma.",
        "Read the urgent-care and hospital data with the practice's (pedqm --data practice=DIR --data "
        "urgent-care=DIR): the index visits are usually in their records, the follow-up in the practice's.",
        [("followup-7-days", "Medical home visit within 7 days", pops)]))
    shutil.rmtree(folder / "cases", ignore_errors=True)

    def expect(ip: int, excl: int, num: int) -> list[dict[str, int]]:
        return [{"initial-population": ip, "denominator": ip, "denominator-exclusion": excl, "numerator": num}]

    def case(name: str, pid: str, text: str, resources: list[dict[str, Any]], groups: list[dict[str, int]],
             birth: str = "2014-04-04", home: str | None = "practice") -> None:
        extra = {"managingOrganization": ref("Organization", home)} if home else {}
        write_case(ASTHMA, name, pid, text, [patient(pid, birth, **extra), *resources], groups)

    p = "auf-day3"
    case("urgent-care-then-practice-day-3", p, "Urgent-care asthma visit on 10 March, practice office visit on "
         "13 March: followed up.",
         [encounter(p, 1, "2025-03-10", URGENT, org="urgent-care", reason="J45.31"),
          encounter(p, 2, "2025-03-13", OFFICE)], expect(1, 0, 1))
    p = "auf-day8"
    case("practice-visit-day-8", p, "Follow-up 8 days after: too late.",
         [encounter(p, 1, "2025-03-10", URGENT, org="urgent-care", reason="J45.31"),
          encounter(p, 2, "2025-03-18", OFFICE)], expect(1, 0, 0))
    p = "auf-same-day"
    case("practice-visit-same-day", p, "A practice visit the same day as the urgent-care visit is not a "
         "follow-up (1 to 7 days after).",
         [encounter(p, 1, "2025-03-10", URGENT, org="urgent-care", reason="J45.31"),
          encounter(p, 2, "2025-03-10", OFFICE)], expect(1, 0, 0))
    p = "auf-ed-dx"
    dx = {"resourceType": "Condition", "id": f"{p}-cond2", "code": cc(ICD, "J45.41"), "subject": ref("Patient", p),
          "category": [cc("http://terminology.hl7.org/CodeSystem/condition-category", "encounter-diagnosis")],
          "onsetDateTime": "2025-07-01T10:00:00Z"}
    ed = encounter(p, 1, "2025-07-01", ED, cls="EMER", org="hospital")
    ed["diagnosis"] = [{"condition": ref("Condition", f"{p}-cond2")}]
    case("ed-visit-asthma-diagnosis-telephone-follow-up", p, "ED visit with an asthma diagnosis, a telephone "
         "follow-up with the practice 2 days later: followed up.",
         [ed, dx, encounter(p, 3, "2025-07-03", [(CPT, "99442")])], expect(1, 0, 1))
    p = "auf-other-org"
    case("follow-up-at-another-practice", p, "Follow-up 2 days later, but at an organization that is not the "
         "child's medical home: not followed up.",
         [encounter(p, 1, "2025-03-10", URGENT, org="urgent-care", reason="J45.31"),
          encounter(p, 2, "2025-03-12", OFFICE, org="other-practice")], expect(1, 0, 0))
    p = "auf-not-asthma"
    case("urgent-care-not-asthma", p, "Urgent-care visit for otitis media: no index visit.",
         [encounter(p, 1, "2025-03-10", URGENT, org="urgent-care", reason="H66.90"),
          encounter(p, 2, "2025-03-12", OFFICE)], expect(0, 0, 0))
    p = "auf-late"
    case("urgent-visit-in-last-7-days", p, "Urgent-care asthma visit on 28 December, within 7 days of the end: "
         "no index visit.",
         [encounter(p, 1, "2025-12-28", URGENT, org="urgent-care", reason="J45.31")], expect(0, 0, 0))
    p = "auf-first-visit"
    case("first-index-visit-counts", p, "Two urgent-care asthma visits; only the second is followed up: the first "
         "is the index visit, not followed up.",
         [encounter(p, 1, "2025-02-01", URGENT, org="urgent-care", reason="J45.31"),
          encounter(p, 2, "2025-05-01", URGENT, org="urgent-care", reason="J45.31"),
          encounter(p, 3, "2025-05-04", OFFICE)], expect(1, 0, 0))
    p = "auf-age1"
    case("age-1", p, "1 year old at the end of the period: too young.",
         [encounter(p, 1, "2025-03-10", URGENT, org="urgent-care", reason="J45.31"),
          encounter(p, 2, "2025-03-12", OFFICE)], expect(0, 0, 0), birth="2024-01-15")
    p = "auf-no-home"
    case("no-medical-home", p, "No managingOrganization: no visit can be at the medical home.",
         [encounter(p, 1, "2025-03-10", URGENT, org="urgent-care", reason="J45.31"),
          encounter(p, 2, "2025-03-12", OFFICE)], expect(1, 0, 0), home=None)
    p = "auf-died"
    case("died-excluded", p, "Died in the period: excluded.",
         [encounter(p, 1, "2025-03-10", URGENT, org="urgent-care", reason="J45.31")], expect(1, 1, 0))
    (ROOT / ASTHMA / "cases" / "died-excluded" / f"Patient-{p}.json").write_text(json.dumps(
        patient(p, "2014-04-04", deceasedDateTime="2025-09-01T00:00:00Z",
                managingOrganization=ref("Organization", "practice")), indent=1) + "\n")


if __name__ == "__main__":
    build_sdoh()
    build_asthma()

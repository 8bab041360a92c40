"""FHIR R4 MeasureReports from a :class:`~pedqm.measure.results.MeasureResult`.

One underlying result renders into every report kind: `individual` (a Bundle of type collection
with one MeasureReport per subject, each with its evaluatedResource), `subject-list` (counts plus
contained List resources of the subjects in each population) and `summary` (counts, strata,
measureScore, supplemental-data tallies).

Patients that could not be evaluated are in no population, so the counts alone would hide them:
a population report (summary, subject-list) carries the extension ``subjects-in-error`` with how
many there were (and how many were evaluated in all). Its status stays ``complete`` when some
patients errored, since the counts of the others are final, and is ``error`` when every patient
did (the counts say nothing then).
"""

from __future__ import annotations

import datetime as _dt
import uuid
from collections import Counter
from typing import TYPE_CHECKING, Any

from .calculator import SubjectResult
from .definition import POPULATION_SYSTEM

if TYPE_CHECKING:
    from .results import MeasureResult

REPORT_KINDS = ("individual", "subject-list", "summary")
SUBJECTS_IN_ERROR_EXT = "http://pedqm.org/fhir/StructureDefinition/subjects-in-error"
_SDE_EXT = "http://hl7.org/fhir/us/davinci-deqm/StructureDefinition/extension-supplementalData"


def _code(code: str) -> dict[str, Any]:
    return {"coding": [{"system": POPULATION_SYSTEM, "code": code}]}


def _period(result: MeasureResult) -> dict[str, str]:
    p = result.period

    def iso(v: Any) -> str:
        text = v.to_cql()[1:] if hasattr(v, "to_cql") else str(v)
        return text

    return {"start": iso(p.low), "end": iso(p.high)}


def _base(result: MeasureResult, kind: str) -> dict[str, Any]:
    d = result.definition
    rep: dict[str, Any] = {
        "resourceType": "MeasureReport",
        "id": str(uuid.uuid4()),
        "status": "complete",
        "type": kind,
        "measure": d.url or f"Measure/{d.resource.get('id', 'unknown')}",
        "date": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        "period": _period(result),
    }
    if kind != "individual" and result.errors:
        rep["extension"] = [{"url": SUBJECTS_IN_ERROR_EXT, "extension": [
            {"url": "count", "valueInteger": len(result.errors)},
            {"url": "evaluated", "valueInteger": result.n_subjects}]}]
        if len(result.errors) == result.n_subjects:
            rep["status"] = "error"
    imp = d.groups[0].improvement if d.groups else None
    if imp:
        rep["improvementNotation"] = {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/measure-improvement-notation", "code": imp}]}
    return rep


def _score(value: float | None) -> dict[str, Any] | None:
    return None if value is None else {"value": round(value, 8)}


def _group_json(result: MeasureResult, gi: int, counts: Counter[str], with_strata: bool,
                subject_lists: dict[str, str] | None = None, score: float | None = None) -> dict[str, Any]:
    g = result.definition.groups[gi]
    group: dict[str, Any] = {}
    if g.id:
        group["id"] = g.id
    pops = []
    for code in result.population_codes(gi):
        if code == "measure-observation":
            continue
        entry: dict[str, Any] = {"code": _code(code.split("#")[0]), "count": int(counts.get(code, 0))}
        pop = g.population_by_key(code)
        if pop is not None and pop.id:
            entry["id"] = pop.id
        if subject_lists and code in subject_lists:
            entry["subjectResults"] = {"reference": f"#{subject_lists[code]}"}
        pops.append(entry)
    group["population"] = pops
    s = _score(score)
    if s is not None:
        group["measureScore"] = s
    if with_strata and result.groups[gi].strata:
        # the measure's own stratifiers in their order, then any added at run time (--stratify-by)
        ids = {sd.label: sd.id for sd in g.stratifiers}
        components = {sd.label: [label for label, _ in sd.components] for sd in g.stratifiers if sd.components}
        labels = [sd.label for sd in g.stratifiers] + [k for k in result.groups[gi].strata if k not in ids]
        strats = []
        for label in labels:
            values = result.groups[gi].strata.get(label)
            if not values:
                continue
            strat: dict[str, Any] = {"code": [{"text": label}],
                                     "stratum": [_stratum(result, gi, value, c, components.get(label))
                                                 for value, c in sorted(values.items())]}
            if ids.get(label):
                strat["id"] = ids[label]
            strats.append(strat)
        group["stratifier"] = strats
    return group


def _stratum(result: MeasureResult, gi: int, value: str, counts: Counter[str],
             components: list[str] | None = None) -> dict[str, Any]:
    """One stratum; a component stratifier's value is one value per component (the calculator
    joins them with ' | ')."""
    st: dict[str, Any] = {}
    parts = value.split(" | ")
    if components and len(parts) == len(components):
        st["component"] = [{"code": {"text": c}, "value": {"text": v}} for c, v in zip(components, parts)]
    else:
        st["value"] = {"text": value}
    st.update({
        "population": [{"code": _code(code.split("#")[0]), "count": int(counts.get(code, 0))}
                       for code in result.population_codes(gi) if code != "measure-observation"],
    })
    score = _score(result.stratum_score(gi, counts))
    if score is not None:
        st["measureScore"] = score
    return st


_ELEMENT_ERROR_EXT = "http://pedqm.org/fhir/StructureDefinition/element-evaluation-error"


def _element_errors(rep: dict[str, Any], errors: dict[str, tuple[int, str]]) -> None:
    """Record each supplemental data element or stratifier that could not be computed: an
    OperationOutcome in `contained`, referenced from an extension on the report and, for a
    stratifier, on that stratifier. The population counts are not affected by such failures."""
    for key, (n, message) in sorted(errors.items()):
        oid = f"element-error-{sum(1 for c in rep.get('contained', []) if c['resourceType'] == 'OperationOutcome') + 1}"
        rep.setdefault("contained", []).append({
            "resourceType": "OperationOutcome", "id": oid,
            "issue": [{"severity": "error", "code": "processing", "diagnostics": message, "expression": [key]}],
        })
        ext = {"url": _ELEMENT_ERROR_EXT, "extension": [
            {"url": "element", "valueString": key}, {"url": "subjects", "valueInteger": n},
            {"url": "outcome", "valueReference": {"reference": f"#{oid}"}}]}
        rep.setdefault("extension", []).append(ext)
        kind, _, rest = key.partition(":")
        if kind == "stratifier":
            gi_text, _, label = rest.partition(":")
            groups = rep.get("group") or []
            gi = int(gi_text)
            if gi < len(groups):
                strats = groups[gi].setdefault("stratifier", [])
                strat = next((st for st in strats if (st.get("code") or [{}])[0].get("text") == label), None)
                if strat is None:
                    strat = {"code": [{"text": label}]}
                    strats.append(strat)
                strat.setdefault("extension", []).append(
                    {"url": _ELEMENT_ERROR_EXT, "valueReference": {"reference": f"#{oid}"}})


def summary(result: MeasureResult) -> dict[str, Any]:
    rep = _base(result, "summary")
    rep["group"] = [_group_json(result, gi, result.groups[gi].counts, True, score=result.measure_score(gi))
                    for gi in range(len(result.definition.groups))]
    if result.sde:
        rep["contained"] = []
        rep.setdefault("extension", [])
        for label, tally in result.sde.items():
            for value, n in sorted(tally.items()):
                oid = f"sde-{len(rep['contained']) + 1}"
                rep["contained"].append({
                    "resourceType": "Observation", "id": oid, "status": "final",
                    "code": {"text": label}, "valueCodeableConcept": {"text": value},
                    "component": [{"code": {"text": "count"}, "valueInteger": n}],
                })
                rep["extension"].append({"url": _SDE_EXT, "valueReference": {"reference": f"#{oid}"}})
    _element_errors(rep, result.element_errors)
    return rep


def subject_list(result: MeasureResult) -> dict[str, Any]:
    if not result.keep_subjects:
        raise ValueError("subject-list reports need the subjects: evaluate with keep_subjects=True")
    rep = _base(result, "subject-list")
    contained = []
    groups = []
    for gi in range(len(result.definition.groups)):
        lists: dict[str, str] = {}
        for code in result.population_codes(gi):
            subjects = result.groups[gi].subjects.get(code, [])
            list_id = f"g{gi + 1}-{code}"
            contained.append({
                "resourceType": "List", "id": list_id, "status": "current", "mode": "snapshot",
                "title": f"{code} (group {gi + 1})",
                **({"entry": [{"item": {"reference": f"Patient/{s}"}} for s in subjects]} if subjects else {}),
            })
            lists[code] = list_id
        groups.append(_group_json(result, gi, result.groups[gi].counts, True, lists, result.measure_score(gi)))
    rep["contained"] = contained
    rep["group"] = groups
    return rep


def individual(result: MeasureResult, r: SubjectResult, *, detail: bool = False) -> dict[str, Any]:
    """The MeasureReport of one subject. With `detail`, `result` holds this subject alone and
    the report also carries the subject's strata and a continuous-variable group's score (its
    own observations aggregated), as measure test cases state them."""
    rep = _base(result, "individual")
    rep["subject"] = {"reference": f"Patient/{r.subject_id}"}
    groups = []
    for gi, outcome in enumerate(r.groups):
        counts = Counter({code: len(m) for code, m in outcome.members.items()})
        if detail:
            score = result.measure_score(gi)
        else:
            score = result.stratum_score(gi, counts) if result.definition.groups[gi].scoring != "continuous-variable" else None
        g = _group_json(result, gi, counts, detail, score=score)
        groups.append(g)
    rep["group"] = groups or [{"population": []}]
    if r.evaluated_resources:
        rep["evaluatedResource"] = [{"reference": ref} for ref in r.evaluated_resources]
    if r.error:
        rep["status"] = "error"
        rep["extension"] = [{"url": "http://pedqm.org/fhir/StructureDefinition/evaluation-error", "valueString": r.error}]
    _element_errors(rep, {k: (1, m) for k, m in r.element_errors.items()})
    return rep


def render(result: MeasureResult, kind: str, subject: str | None = None) -> dict[str, Any]:
    if kind == "summary":
        return summary(result)
    if kind == "subject-list":
        return subject_list(result)
    if kind == "individual":
        if not result.keep_subjects:
            raise ValueError("individual reports need per-subject results: evaluate with keep_subjects=True")
        if subject is not None:
            found = next((r for r in result.subject_results if r.subject_id == subject), None)
            if found is None:
                raise KeyError(f"no result for subject {subject}")
            return individual(result, found)
        return {
            "resourceType": "Bundle", "id": str(uuid.uuid4()), "type": "collection",
            "entry": [{"resource": individual(result, r)} for r in result.subject_results],
        }
    raise ValueError(f"unknown report type {kind!r} (one of {', '.join(REPORT_KINDS)})")

"""Population rules as pure functions of one subject's criteria results.

The FHIR Measure / Quality Measure IG rules (hl7.org/fhir/us/cqfmeasures, 'Measure Population
Semantics'): each population is a subset of the one it refines, exclusions leave, and exceptions
apply only to those in the denominator who are neither excluded nor in the numerator. Members are
episode keys for episode-based groups and the subject id for patient-based ones, so one rule
set serves both.
"""

from __future__ import annotations

from collections.abc import Mapping

from .definition import DEN, DENEX, DENEXCEP, IPP, MSRPOPL, MSRPOPLEX, NUMER, NUMEX, GroupDef

Members = list[str]  # ordered, unique


def _and(a: Members, b: Members) -> Members:
    bs = set(b)
    return [x for x in a if x in bs]


def _minus(a: Members, *others: Members) -> Members:
    drop = set().union(*map(set, others)) if others else set()
    return [x for x in a if x not in drop]


def apply_rules(group: GroupDef, raw: Mapping[str, Members]) -> dict[str, Members]:
    """Population membership after the rules, from the criteria's raw members (keyed as
    `GroupDef.keyed_populations`: a ratio measure's second initial population is `...#2`)."""
    ipp = raw.get(IPP, [])
    out: dict[str, Members] = {k: raw.get(k, []) for k in raw if k.startswith(IPP)}
    out[IPP] = ipp
    scoring = group.scoring
    if scoring == "cohort":
        return out
    if scoring == "continuous-variable":
        msr = _and(raw.get(MSRPOPL, []), ipp)
        out[MSRPOPL] = msr
        if group.population(MSRPOPLEX):
            out[MSRPOPLEX] = _and(raw.get(MSRPOPLEX, []), msr)
        return out
    den_ipp = out.get(group.ipp_key_for(DEN), ipp) if scoring == "ratio" else ipp
    den = _and(raw.get(DEN, den_ipp if group.population(DEN) is None else []), den_ipp)
    out[DEN] = den
    denex = _and(raw.get(DENEX, []), den) if group.population(DENEX) else []
    if group.population(DENEX):
        out[DENEX] = denex
    if scoring == "ratio":
        numer = _and(raw.get(NUMER, []), out.get(group.ipp_key_for(NUMER), ipp))
    else:
        numer = _minus(_and(raw.get(NUMER, []), den), denex)
    out[NUMER] = numer
    if group.population(NUMEX):
        out[NUMEX] = _and(raw.get(NUMEX, []), numer)
    if group.population(DENEXCEP):
        out[DENEXCEP] = _minus(_and(raw.get(DENEXCEP, []), den), denex, numer)
    return out


def proportion_score(counts: Mapping[str, int]) -> float | None:
    """(NUMER - NUMEX) / (DEN - DENEX - DENEXCEP); None when that denominator is 0."""
    d = counts.get(DEN, 0) - counts.get(DENEX, 0) - counts.get(DENEXCEP, 0)
    if d <= 0:
        return None
    return (counts.get(NUMER, 0) - counts.get(NUMEX, 0)) / d


def ratio_score(counts: Mapping[str, int]) -> float | None:
    d = counts.get(DEN, 0) - counts.get(DENEX, 0)
    if d <= 0:
        return None
    return (counts.get(NUMER, 0) - counts.get(NUMEX, 0)) / d

"""Which populations were relevant for a subject: fqm-execution's population relevance.

A population is not relevant (NA) when the population it refines left the subject out: a
Numerator is not decided for a child outside the Denominator, nor for one excluded from it.
Explanations say so instead of blaming the Numerator's criteria, and coverage counts the
clauses of an irrelevant population neither true nor false.
"""

from __future__ import annotations

from collections.abc import Mapping

from ..measure.definition import (
    DEN,
    DENEX,
    DENEXCEP,
    IPP,
    MSRPOPL,
    MSRPOPLEX,
    NUMER,
    NUMEX,
    GroupDef,
)
from ..measure.populations import Members

LABELS = {IPP: "Initial Population", DEN: "Denominator", DENEX: "Denominator Exclusions", NUMER: "Numerator",
          NUMEX: "Numerator Exclusions", DENEXCEP: "Denominator Exceptions", MSRPOPL: "Measure Population",
          MSRPOPLEX: "Measure Population Exclusions", "measure-observation": "Measure Observation"}


def label(key: str) -> str:
    code, _, n = key.partition("#")
    return LABELS.get(code, code) + (f" {n}" if n else "")


def not_relevant(group: GroupDef, key: str, members: Mapping[str, Members]) -> str | None:
    """Why population `key` was not decided for this subject (None: it was).

    `members` are the populations after the rules. A refining population is relevant when the
    one it refines has members; the Numerator and Denominator Exceptions also need the subject
    not to be excluded, and exceptions need the subject outside the Numerator.
    """
    def empty(k: str) -> bool:
        return not members.get(k)

    code = key.partition("#")[0]
    ipp_for = group.ipp_key_for(code) if group.scoring == "ratio" else IPP
    if code == IPP:
        return None
    if code in (DEN, MSRPOPL):
        return f"not in {label(ipp_for)}" if empty(ipp_for) else None
    if code == MSRPOPLEX:
        return f"not in {label(MSRPOPL)}" if empty(MSRPOPL) else None
    if code == DENEX:
        return f"not in {label(DEN)}" if empty(DEN) else None
    if code == NUMER:
        if group.scoring == "ratio":
            return f"not in {label(ipp_for)}" if empty(ipp_for) else None
        if empty(DEN):
            return f"not in {label(DEN)}"
        if group.population(DENEX) and not empty(DENEX) and set(members[DENEX]) >= set(members[DEN]):
            return f"in {label(DENEX)}"
        return None
    if code == NUMEX:
        return f"not in {label(NUMER)}" if empty(NUMER) else None
    if code == DENEXCEP:
        if empty(DEN):
            return f"not in {label(DEN)}"
        if not empty(DENEX) and set(members[DENEX]) >= set(members[DEN]):
            return f"in {label(DENEX)}"
        if not empty(NUMER) and set(members[NUMER]) >= set(members[DEN]):
            return f"in {label(NUMER)}"
        return None
    return None

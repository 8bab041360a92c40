"""Care-gap status of one patient in a proportion measure, from their calculated populations.

Per group, with the group's improvement notation (DEQM gaps-in-care reporting):

* not in the denominator, or excluded or excepted from it -> ``not-applicable`` (a child outside
  the measure has no gap in it: never ``open-gap``, the mistake clinical-reasoning #373 fixed);
* in the denominator and the numerator -> ``closed-gap`` when higher is better (``increase``),
  ``open-gap`` when lower is better (``decrease``);
* in the denominator, not the numerator -> ``open-gap`` for ``increase``, ``closed-gap`` for
  ``decrease``.

A patient has an open gap in a measure when any group has one; else a closed gap when any group
has one; else the measure does not apply. ``prospective-gap`` needs a date of compliance, which
pedqm's measures do not define, so it is never produced.
"""

from __future__ import annotations

from collections.abc import Mapping

from .calculator import SubjectResult
from .definition import DEN, DENEX, DENEXCEP, NUMER, MeasureDef

GAP_STATUSES = ("open-gap", "closed-gap", "prospective-gap", "not-applicable")


def gap_status(counts: Mapping[str, int], improvement: str | None) -> str:
    """One group's gap status from the patient's population counts in it."""
    if not counts.get(DEN) or counts.get(DENEX) or counts.get(DENEXCEP):
        return "not-applicable"
    met = bool(counts.get(NUMER))
    if (improvement or "increase") == "decrease":
        return "open-gap" if met else "closed-gap"
    return "closed-gap" if met else "open-gap"


def is_proportion(definition: MeasureDef) -> bool:
    return all(g.scoring == "proportion" for g in definition.groups)


def patient_gap(definition: MeasureDef, result: SubjectResult) -> str | None:
    """The patient's status in the measure, or None when they could not be evaluated."""
    if result.error is not None:
        return None
    statuses = []
    for gi, g in enumerate(definition.groups):
        outcome = result.groups[gi] if gi < len(result.groups) else None
        counts = {code.split("#")[0]: len(m) for code, m in (outcome.members.items() if outcome else [])}
        statuses.append(gap_status(counts, g.improvement))
    for s in ("open-gap", "closed-gap"):
        if s in statuses:
            return s
    return "not-applicable"

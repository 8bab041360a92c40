"""The Pediatric Medical Complexity Algorithm (Simon et al., Pediatrics 2014; PMCA v3.x code list).

Diagnosis codes map to one of 18 body systems, or to malignancy; some are progressive. A body
system counts once per encounter (or claim). Two classifications:

- less conservative (``pmca_less``): complex_chronic if two or more body systems, or any
  progressive condition, or any malignancy; noncomplex_chronic if one body system; otherwise
  non_chronic.
- more conservative (``pmca_more``): the same, but a body system counts only when it is coded on
  two or more distinct encounters; progressive conditions and malignancy still count once.

The body-system columns are 0/1 (coded at least once in the window); the explanations give
each system's encounter count, which is what the more conservative rule reads.
"""

from __future__ import annotations

from collections.abc import Sequence

from .codelists import pmca_table
from .codes import CodeOccurrence
from .explain import Explanation, evidence_for
from .result import Classification

# Published body-system name -> output column, in the order of the PMCA SAS program.
BODY_SYSTEMS: dict[str, str] = {
    "cardiac": "cardiac",
    "craniofacial": "craniofacial",
    "dermatological": "dermatological",
    "endocrinological": "endocrinological",
    "gastrointestinal": "gastrointestinal",
    "genetic": "genetic",
    "genitourinary": "genitourinary",
    "hematological": "hematological",
    "immunological": "immunological",
    "mental health": "mental_health",
    "metabolic": "metabolic",
    "musculoskeletal": "musculoskeletal",
    "neurological": "neurological",
    "ophthalmological": "ophthalmological",
    "otologic": "otologic",
    "otolaryngological": "otolaryngological",
    "pulmonary/respiratory": "pulmonary_respiratory",
    "renal": "renal",
}
MALIGNANCY = "malignancy"
COMPLEX, NONCOMPLEX, NON_CHRONIC = "complex_chronic", "noncomplex_chronic", "non_chronic"
CLASSES = (COMPLEX, NONCOMPLEX, NON_CHRONIC)
COLUMNS = ("pmca_less", "pmca_more", *BODY_SYSTEMS.values(), "malignancy", "progressive")

Hits = dict[str, list[tuple[CodeOccurrence, str]]]


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def _classify(systems: list[str], progressive: bool, malignant: bool, what: str) -> tuple[str, str]:
    reasons = []
    if len(systems) >= 2:
        reasons.append(f"{len(systems)} body systems {what} ({', '.join(systems)})")
    if progressive:
        reasons.append("a progressive condition")
    if malignant:
        reasons.append("a malignancy")
    if reasons:
        return COMPLEX, " and ".join(reasons)
    if systems:
        return NONCOMPLEX, f"one body system {what} ({systems[0]}), not progressive, no malignancy"
    return NON_CHRONIC, f"no body system {what}, nothing progressive or malignant"


def classify_pmca(occurrences: Sequence[CodeOccurrence]) -> Classification:
    """PMCA classes and body-system flags for one patient's (already windowed) code occurrences."""
    table = pmca_table()
    by_system: Hits = {}
    encounters: dict[str, set[str]] = {}
    progressive: list[tuple[CodeOccurrence, str]] = []
    for occ in occurrences:
        if occ.kind != "dx":
            continue
        entry = table.get((occ.version, occ.code))
        if entry is None:
            continue
        meaning = entry.body_system + (" (progressive)" if entry.progressive else "")
        column = MALIGNANCY if entry.body_system == MALIGNANCY else BODY_SYSTEMS.get(entry.body_system)
        if column is None:
            continue
        by_system.setdefault(column, []).append((occ, meaning))
        encounters.setdefault(column, set()).add(occ.encounter)
        if entry.progressive:
            progressive.append((occ, meaning))

    systems = [c for c in BODY_SYSTEMS.values() if c in by_system]
    repeated = [c for c in systems if len(encounters[c]) >= 2]
    malignant = MALIGNANCY in by_system
    less, less_why = _classify(systems, bool(progressive), malignant, "involved")
    more, more_why = _classify(repeated, bool(progressive), malignant, "on two or more encounters")
    once = [c for c in systems if c not in repeated]
    if once and more != COMPLEX:
        more_why += f"; on one encounter only: {', '.join(once)}"

    flags: dict[str, int | str] = {"pmca_less": less, "pmca_more": more}
    explanations = [Explanation("pmca_less", less, less_why), Explanation("pmca_more", more, more_why)]
    for column in (*BODY_SYSTEMS.values(), MALIGNANCY):
        flags[column] = int(column in by_system)
        if column in by_system:
            n = len(encounters[column])
            explanations.append(Explanation(column, 1, f"coded on {_plural(n, 'encounter')}", evidence_for(by_system[column])))
    flags["progressive"] = int(bool(progressive))
    if progressive:
        explanations.append(Explanation("progressive", 1, "a code the PMCA list marks progressive", evidence_for(progressive)))
    return Classification(flags, explanations, {"pmca": more, "pmca-more": more, "pmca-less": less})

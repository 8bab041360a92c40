"""AHRQ HCUP Chronic Condition Indicator Refined (CCIR v2023.1): counts of chronic conditions.

CCIR marks each ICD-10-CM diagnosis code chronic (1), not chronic (0) or "no determination" (9).
A patient's count is the number of distinct codes in each class; a code CCIR does not list (an
ICD-9-CM code, or an ICD-10-CM code newer than the list) is counted apart, never guessed.
"""

from __future__ import annotations

from collections.abc import Sequence

from .codelists import ccir_table
from .codes import CodeOccurrence
from .explain import Explanation, evidence_for
from .result import Classification

COLUMNS = ("num_chronic", "num_not_chronic", "num_no_determination", "num_not_in_ccir", "chronic_flag")
_CLASS_COLUMN = {1: "num_chronic", 0: "num_not_chronic", 9: "num_no_determination"}
_CLASS_MEANING = {1: "chronic", 0: "not chronic", 9: "no determination"}
STRATA = ("chronic_0", "chronic_1", "chronic_2_or_more")


def classify_ccir(occurrences: Sequence[CodeOccurrence]) -> Classification:
    """CCIR counts for one patient's (already windowed) diagnosis code occurrences."""
    table = ccir_table()
    by_column: dict[str, dict[tuple[int, str], list[tuple[CodeOccurrence, str]]]] = {c: {} for c in COLUMNS[:4]}
    for occ in occurrences:
        if occ.kind != "dx":
            continue
        indicator = table.get(occ.code) if occ.version == 10 else None
        if indicator in _CLASS_COLUMN:
            column, meaning = _CLASS_COLUMN[indicator], f"CCIR {indicator}: {_CLASS_MEANING[indicator]}"
        else:
            column, meaning = "num_not_in_ccir", "not in CCIR v2023.1" if occ.version == 10 else "ICD-9-CM (CCIR lists ICD-10-CM only)"
        by_column[column].setdefault((occ.version, occ.code), []).append((occ, meaning))

    flags: dict[str, int | str] = {}
    explanations: list[Explanation] = []
    for column, codes in by_column.items():
        flags[column] = len(codes)
        if codes:
            explanations.append(Explanation(column, len(codes), f"distinct diagnosis codes: {', '.join(sorted(c for _, c in codes))}",
                                            evidence_for([p for v in codes.values() for p in v])))
    n = int(flags["num_chronic"])
    flags["chronic_flag"] = int(n > 0)
    if n:
        explanations.append(Explanation("chronic_flag", 1, "at least one diagnosis code CCIR marks chronic"))
    return Classification(flags, explanations, {"ccir": STRATA[min(n, 2)]})

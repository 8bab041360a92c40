"""One patient's chronic-condition result: output columns, explanations, data summary, strata.

One result renders into every form: a CSV row (:meth:`ChronicResult.row`), explanation text,
JSON (:meth:`ChronicResult.to_dict`) and a MeasureReport stratum (:attr:`ChronicResult.strata`).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from .explain import Explanation
from .window import LookbackWindow

NO_ICD_DATA = "no_icd_data"  # the stratum of a patient with no ICD-coded data in the window
UNKNOWN = "unknown"  # a flag's CSV cell when the patient has no ICD-coded data: never 0
NO_SNOMED_MAP = ("pedqm ships no SNOMED CT to ICD-10-CM map (the NLM map may not be redistributed without a "
                 "UMLS/SNOMED CT licence), so SNOMED-coded conditions are not classified")

Flag = int | str | None  # None: unknown (no ICD-coded data), rendered "unknown" in CSV and null in JSON


@dataclass
class Classification:
    """What an algorithm module returns for one patient's codes."""

    flags: dict[str, int | str]
    explanations: list[Explanation]
    strata: dict[str, str]  # stratifier name -> stratum label (before the no-ICD-data override)
    details: dict[str, int] = field(default_factory=dict)  # values that are not output columns


@dataclass
class DataSummary:
    """How much ICD-coded data the patient had, so "not chronic" and "no data" stay distinct."""

    icd_codes: int = 0  # ICD code occurrences the algorithm used (inside the window)
    outside_window: int = 0  # dated outside the lookback window (or after the as-of date)
    undated: int = 0  # undated occurrences left out because a window applied
    snomed_only_conditions: int = 0
    mapped_conditions: int = 0  # SNOMED-only Conditions classified by their mapped ICD-10-CM codes
    uncoded_conditions: int = 0
    skipped: Counter[str] = field(default_factory=Counter)

    def to_dict(self) -> dict[str, Any]:
        return {"icd_codes": self.icd_codes, "outside_window": self.outside_window, "undated": self.undated,
                "snomed_only_conditions": self.snomed_only_conditions, "mapped_conditions": self.mapped_conditions,
                "uncoded_conditions": self.uncoded_conditions, "skipped": dict(self.skipped)}

    def lines(self, indent: str = "  ") -> list[str]:
        parts = [f"{self.icd_codes} ICD code occurrence{'s' if self.icd_codes != 1 else ''} used"]
        if self.outside_window:
            parts.append(f"{self.outside_window} outside the window")
        if self.undated:
            parts.append(f"{self.undated} undated (left out)")
        if self.snomed_only_conditions:
            parts.append(f"{self.snomed_only_conditions} Condition{'s' if self.snomed_only_conditions != 1 else ''} coded only in SNOMED CT")
        if self.mapped_conditions:
            parts.append(f"{self.mapped_conditions} SNOMED CT Condition{'s' if self.mapped_conditions != 1 else ''} "
                         "classified by mapped ICD-10-CM codes")
        if self.uncoded_conditions:
            parts.append(f"{self.uncoded_conditions} Condition{'s' if self.uncoded_conditions != 1 else ''} with no ICD or SNOMED CT code")
        out = [f"{indent}data: " + "; ".join(parts)]
        if self.skipped:
            out.append(f"{indent}skipped: " + "; ".join(f"{n} {why}" for why, n in sorted(self.skipped.items())))
        return out


@dataclass
class ChronicResult:
    """One patient, one algorithm."""

    patient_id: str
    algorithm: str
    flags: dict[str, Flag]  # output columns in order (patient_id excluded); all None when unknown
    explanations: list[Explanation]
    data: DataSummary
    strata: dict[str, str]
    window: LookbackWindow | None = None
    details: dict[str, int] = field(default_factory=dict)  # e.g. CCC's "misc" category (not a column)

    @property
    def stratum_label(self) -> str:
        """This patient's stratum under the algorithm's default stratifier (see STRATIFIERS)."""
        return self.strata[self.algorithm]

    @property
    def has_icd_data(self) -> bool:
        return self.data.icd_codes > 0

    @property
    def known(self) -> bool:
        """Whether the flags say anything: with no ICD-coded data in the window every flag is
        unknown, because a child whose conditions are coded only in SNOMED CT is not a healthy child."""
        return self.has_icd_data

    @property
    def unknown_reason(self) -> str | None:
        if self.known:
            return None
        why = "no ICD-coded data in the window" if self.window else "no ICD-coded data"
        if self.data.snomed_only_conditions:
            n = self.data.snomed_only_conditions
            why += f"; {n} Condition{'s are' if n != 1 else ' is'} coded only in SNOMED CT and {NO_SNOMED_MAP}"
        return why

    @property
    def rests_on_mapped_codes(self) -> bool:
        """Whether some flag's evidence is an ICD code mapped from SNOMED CT (not written in the data)."""
        return any("mapped)" in ev.occurrence.path for e in self.explanations for ev in e.evidence)

    def row(self) -> list[str | int]:
        """The CSV row: unknown flags read "unknown", never 0."""
        return [self.patient_id, *(UNKNOWN if v is None else v for v in self.flags.values())]

    def explain(self, flag: str) -> list[Explanation]:
        """The explanations of one output column (empty when it is zero for want of any code;
        the reason it is unknown when the patient has no ICD-coded data)."""
        if not self.known and flag in self.flags:
            return [Explanation(flag, UNKNOWN, f"unknown: {self.unknown_reason}")]
        return [e for e in self.explanations if e.flag == flag]

    def explain_text(self) -> str:
        window = f", window {self.window}" if self.window else ", all dates"
        lines = [f"patient {self.patient_id} ({self.algorithm}{window}; stratum {self.stratum_label})"]
        lines.extend(self.data.lines())
        if not self.known:
            lines.append(f"  every flag = {UNKNOWN}: {self.unknown_reason}")
        previous: tuple[object, ...] = ()
        for e in self.explanations:
            same = bool(e.evidence) and e.evidence == previous
            lines.extend(e.lines(same_as_above=same))
            previous = e.evidence or previous
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        return {
            "patient_id": self.patient_id, "algorithm": self.algorithm, "flags": dict(self.flags),
            "known": self.known, "unknown_reason": self.unknown_reason, "stratum": self.stratum_label, "strata": dict(self.strata),
            "window": {"start": self.window.start.isoformat(), "end": self.window.end.isoformat()} if self.window else None,
            "details": dict(self.details), "data": self.data.to_dict(), "rests_on_mapped_codes": self.rests_on_mapped_codes, "explanations": [e.to_dict() for e in self.explanations],
        }

"""Why a flag is set: the rule that set it and the codes, resources and dates behind it.

Every non-zero flag (and every class such as PMCA's) carries an :class:`Explanation`, and so do
the decisions that leave a flag at zero when codes were present (a CCC v3 technology code with no
companion condition, a PMCA body system seen on only one encounter), because "why is this child
not flagged?" is the question payment programs ask.
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass, field
from typing import Any

from .codes import CodeOccurrence


@dataclass(frozen=True, slots=True)
class Evidence:
    """One code occurrence and what the code list says it means."""

    occurrence: CodeOccurrence
    meaning: str  # e.g. "gi / device_and_technology_use (technology dependence)"

    def to_dict(self) -> dict[str, Any]:
        o = self.occurrence
        return {
            "code": o.written, "compact": o.code, "system": o.system, "kind": o.kind,
            "resource": o.resource, "path": o.path, "date": o.date.isoformat() if o.date else None,
            "encounter": o.encounter, "meaning": self.meaning,
        }


@dataclass(frozen=True, slots=True)
class Explanation:
    """The value of one output column for one patient, the rule behind it, and its evidence."""

    flag: str  # output column, e.g. "gi_tech_only" or "pmca_more"
    value: int | str
    rule: str
    evidence: tuple[Evidence, ...] = field(default=())

    def to_dict(self) -> dict[str, Any]:
        return {"flag": self.flag, "value": self.value, "rule": self.rule,
                "evidence": [e.to_dict() for e in self.evidence]}

    def lines(self, indent: str = "  ", same_as_above: bool = False) -> list[str]:
        out = [f"{indent}{self.flag} = {self.value}: {self.rule}" + (" (same codes as above)" if same_as_above else "")]
        if not same_as_above:
            out.extend(f"{indent}    {e.occurrence.describe()} -> {e.meaning}" for e in self.evidence)
        return out


def evidence_for(pairs: list[tuple[CodeOccurrence, str]]) -> tuple[Evidence, ...]:
    """Evidence sorted by date (undated last), then code, without repeats."""
    unique = sorted(set(pairs), key=lambda p: (p[0].date is None, p[0].date or _dt.date.min, p[0].code, p[0].resource, p[1]))
    return tuple(Evidence(o, m) for o, m in unique)

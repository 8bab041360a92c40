"""What changes between two versions of a measure on the same data: who moves, and why.

Both versions evaluate every patient; a member (the patient, or an episode for episode-based
groups) moves when its final population differs. A member's final population is the most
specific one it is in (an exclusion or exception, else the Numerator, else the Denominator, else
the Initial Population, else outside), so each group gives one transition table A -> B. For a
sample of movers both versions explain themselves (the reason line of each population that
changed), so the author sees which edit moved whom.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from ..fhir.records import PatientRecord
from ..measure.calculator import MeasureCalculator, SubjectResult
from ..measure.definition import DEN, DENEX, DENEXCEP, IPP, MSRPOPL, MSRPOPLEX, NUMER, NUMEX
from .explanation import Explainer
from .instrument import TracedCalculator
from .relevance import label

OUTSIDE = "outside"
# the most specific population first: a member's state is the first it belongs to
_PRECEDENCE = (DENEX, DENEXCEP, NUMEX, NUMER, DEN, MSRPOPLEX, MSRPOPL, IPP)


def states(result: SubjectResult, group: int) -> dict[str, str]:
    """member -> its most specific population in `group` (members outside every population are
    not listed: the caller knows who it evaluated)."""
    if result.error or group >= len(result.groups):
        return {}
    members = result.groups[group].members
    out: dict[str, str] = {}
    for code in reversed(_PRECEDENCE):
        for key, ms in members.items():
            if key.partition("#")[0] == code:
                for m in ms:
                    out[m] = code
    return out


@dataclass
class Mover:
    subject: str
    member: str  # the subject, or an episode key
    group: int
    before: str
    after: str
    reasons: dict[str, list[str]] = field(default_factory=dict)  # 'A' / 'B' -> reason lines

    def to_json(self) -> dict[str, Any]:
        return {"patient": self.subject, "member": self.member, "group": self.group + 1, "from": self.before,
                "to": self.after, **({"explanations": self.reasons} if self.reasons else {})}


@dataclass
class MeasureDiff:
    groups: list[str]  # group labels
    transitions: list[Counter[tuple[str, str]]]  # per group: (state A, state B) -> members
    movers: list[Mover]
    patients: int = 0
    errors: dict[str, tuple[str | None, str | None]] = field(default_factory=dict)  # patient -> (error A, error B)

    @property
    def moved(self) -> bool:
        return bool(self.movers) or any(a != b for a, b in self.errors.values())

    def to_json(self) -> dict[str, Any]:
        return {
            "patients": self.patients, "moved": len(self.movers),
            "groups": [{"group": gi + 1, "label": g,
                        "transitions": [{"from": a, "to": b, "count": n} for (a, b), n in sorted(self.transitions[gi].items())]}
                       for gi, g in enumerate(self.groups)],
            "movers": [m.to_json() for m in self.movers],
            "errors": {p: {"A": a, "B": b} for p, (a, b) in self.errors.items()},
        }

    def text(self, limit: int = 20) -> str:
        lines = [f"{self.patients} patients; {len(self.movers)} member(s) moved"]
        for gi, g in enumerate(self.groups):
            lines.append(f"group {gi + 1} {g}: A -> B")
            width = max([len(_name(s)) for pair in self.transitions[gi] for s in pair] + [8])
            for (a, b), n in sorted(self.transitions[gi].items(), key=lambda kv: (kv[0][0] == kv[0][1], kv[0])):
                mark = "  " if a == b else "* "
                lines.append(f"  {mark}{_name(a):<{width}} -> {_name(b):<{width}} {n:>6}")
        if self.movers:
            lines.append("movers:")
            for m in self.movers[:limit]:
                who = f"Patient/{m.subject}" + (f" {m.member}" if m.member != m.subject else "")
                lines.append(f"  {who} group {m.group + 1}: {_name(m.before)} -> {_name(m.after)}")
                for version, reasons in m.reasons.items():
                    for r in reasons:
                        lines.append(f"      {version}: {r}")
            if len(self.movers) > limit:
                lines.append(f"  ... and {len(self.movers) - limit} more")
        for p, (err_a, err_b) in list(self.errors.items())[:limit]:
            lines.append(f"  Patient/{p}: A {'error: ' + err_a if err_a else 'ok'}; B {'error: ' + err_b if err_b else 'ok'}")
        return "\n".join(lines) + "\n"


def _name(state: str) -> str:
    return "outside" if state == OUTSIDE else label(state)


def diff_measures(a: MeasureCalculator, b: MeasureCalculator, records: Iterable[PatientRecord], *,
                  samples: int = 5, explain: tuple[TracedCalculator, TracedCalculator] | None = None) -> MeasureDiff:
    """Evaluate both versions on every record; explain up to `samples` movers with `explain`
    (instrumented calculators of the same two versions)."""
    n_groups = min(len(a.definition.groups), len(b.definition.groups))
    labels = [a.definition.groups[g].id or str(g + 1) for g in range(n_groups)]
    out = MeasureDiff(labels, [Counter() for _ in range(n_groups)], [])
    explained = 0
    explainers = (Explainer(explain[0]), Explainer(explain[1])) if explain else None
    for record in records:
        out.patients += 1
        ra, rb = a.evaluate(record), b.evaluate(record)
        if ra.error or rb.error:
            out.errors[record.patient_id] = (ra.error, rb.error)
            continue
        moved_here: list[Mover] = []
        for g in range(n_groups):
            sa, sb = states(ra, g), states(rb, g)
            everyone = list(dict.fromkeys([*sa, *sb])) or [record.patient_id]
            for m in everyone:
                before, after = sa.get(m, OUTSIDE), sb.get(m, OUTSIDE)
                out.transitions[g][(before, after)] += 1
                if before != after:
                    moved_here.append(Mover(record.patient_id, m, g, before, after))
        if moved_here and explainers is not None and explained < samples:
            explained += 1
            assert explain is not None
            ea = explainers[0].explain_traced(explain[0].evaluate_traced(record))
            eb = explainers[1].explain_traced(explain[1].evaluate_traced(record))
            for mv in moved_here:
                mv.reasons = {"A": _changed_reasons(ea, eb, mv.group, first=True),
                              "B": _changed_reasons(ea, eb, mv.group, first=False)}
        out.movers.extend(moved_here)
    return out


def _changed_reasons(ea: dict[str, Any], eb: dict[str, Any], group: int, *, first: bool) -> list[str]:
    """The reason lines of one version for the populations whose membership differs."""
    try:
        pa = {p["population"]: p for p in ea["groups"][group]["populations"]}
        pb = {p["population"]: p for p in eb["groups"][group]["populations"]}
    except (KeyError, IndexError):
        return []
    changed = [k for k in pa if k in pb and (pa[k]["member"] != pb[k]["member"] or pa[k].get("episodes") != pb[k].get("episodes"))]
    mine = pa if first else pb
    return [mine[k]["reason"] for k in changed]

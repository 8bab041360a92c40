"""Evaluate the measure once over the data and keep, per group, one row per population member
(a patient, or an episode for episode-based groups) with its entity and its patient's features.

Everything the vetting statistics need comes from this single pass; patients are streamed, so
memory holds the rows, not the records.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from ..fhir.records import PatientRecord
from ..measure.calculator import MeasureCalculator
from ..measure.definition import DEN, DENEX, DENEXCEP, IPP, NUMER, NUMEX, POPULATION_ORDER
from .attribution import Attributor
from .diagnostics import DiagnosticsCollector, RetrieveRecorder
from .patient_features import PatientFeatures, features


@dataclass(frozen=True)
class Unit:
    """One member of a group's initial population."""

    key: str
    patient_id: str
    entity: str | None
    populations: frozenset[str]

    @property
    def denominator(self) -> bool:
        """In the denominator after exclusions and exceptions: the rate's n."""
        p = self.populations
        return DEN in p and DENEX not in p and DENEXCEP not in p

    @property
    def numerator(self) -> bool:
        p = self.populations
        return self.denominator and NUMER in p and NUMEX not in p


@dataclass
class Collected:
    units: list[list[Unit]]  # per measure group
    features: dict[str, PatientFeatures] = field(default_factory=dict)  # patients in any initial population
    entity_patients: Counter[str] = field(default_factory=Counter)  # attributed patients (all evaluated)
    n_patients: int = 0
    errors: list[tuple[str, str]] = field(default_factory=list)
    flow: list[Counter[str]] = field(default_factory=list)  # per group: population code -> count


def collect(calc: MeasureCalculator, diagnostics: DiagnosticsCollector, records: Iterable[PatientRecord],
            attributor: Attributor, period: tuple[str, str], *, chronic: bool = True,
            progress: Callable[[int], None] | None = None) -> Collected:
    """One pass of the measure calculator over `records`, each patient's retrieves observed for
    the data-element diagnostics."""
    groups = calc.definition.groups
    out = Collected([[] for _ in groups], flow=[Counter() for _ in groups])
    for i, record in enumerate(records, 1):
        out.n_patients += 1
        recorder = RetrieveRecorder(diagnostics)
        result = calc.evaluate(record, observers=[recorder])
        entity, _ = attributor.attribute(record)
        if entity is not None:
            out.entity_patients[entity] += 1
        if result.error is not None:
            out.errors.append((record.patient_id, result.error))
        else:
            in_ip = any(g.members.get(IPP) for g in result.groups)
            replay = calc.context(record)
            assert replay.data is not None
            diagnostics.replay(recorder, replay.data, replay.context_value)
            diagnostics.add(record, recorder, in_ip)
            if in_ip:
                out.features[record.patient_id] = features(record, period[0], period[1], chronic=chronic)
            for gi, g in enumerate(result.groups):
                for code in POPULATION_ORDER:
                    out.flow[gi][code] += len(g.members.get(code, []))
                member_pops: dict[str, set[str]] = {}
                for code, members in g.members.items():
                    for m in members:
                        member_pops.setdefault(m, set()).add(code)
                for m in g.members.get(IPP, []):
                    out.units[gi].append(Unit(m, record.patient_id, entity, frozenset(member_pops[m])))
        if progress is not None:
            progress(i)
    return out


def unit_features(c: Collected, unit: Unit) -> dict[str, Any]:
    f = c.features.get(unit.patient_id)
    return f.as_dict() if f is not None else {}

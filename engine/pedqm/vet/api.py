"""`vet_measure`: answer a measure author's questions about a measure from real data, in one pass."""

from __future__ import annotations

import datetime as _dt
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..explain.coverage import Coverage
from ..explain.instrument import TracedCalculator
from ..fhir.records import PatientRecord, Resource
from ..measure.api import load_measure
from ..measure.calculator import measurement_period
from ..measure.package import MeasurePackage, MeasurePackageError
from .analysis import GroupVet, Settings, analyse_group
from .attribution import Attributor, read_attribution_list
from .collect import collect
from .diagnostics import DiagnosticsCollector
from .intervals import Method
from .valueset_usage import explain_type, valueset_roles


@dataclass
class VetResult:
    measure: dict[str, Any]
    period: tuple[str, str]
    data: str
    attribution: dict[str, Any]
    settings: Settings
    groups: list[GroupVet]
    patients: int
    errors: list[tuple[str, str]] = field(default_factory=list)
    source_issues: list[str] = field(default_factory=list)
    elements: list[dict[str, Any]] = field(default_factory=list)
    value_set_hits: list[dict[str, Any]] = field(default_factory=list)
    clause_coverage: dict[str, Any] = field(default_factory=dict)  # pedqm.explain.coverage population_summary
    patient_elements: list[dict[str, Any]] = field(default_factory=list)
    generated: str = field(default_factory=lambda: _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"))

    def to_dict(self) -> dict[str, Any]:
        """Everything in the report, as JSON-ready data."""
        return {
            "measure": self.measure, "period": list(self.period), "data": self.data, "generated": self.generated,
            "patients": self.patients, "attribution": self.attribution,
            "settings": {k: getattr(self.settings, k) for k in self.settings.__dataclass_fields__},
            "groups": [g.to_dict() for g in self.groups],
            "diagnostics": {"data_elements": self.elements, "value_set_hits": self.value_set_hits,
                            "patient_elements": self.patient_elements, "clause_coverage": self.clause_coverage,
                            "errors": [{"patient": p, "error": e} for p, e in self.errors],
                            "source_issues": self.source_issues},
        }

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent, default=_json_default)

    def to_html(self) -> str:
        from .report_html import render_html

        return render_html(self)


def _json_default(value: Any) -> Any:
    if hasattr(value, "item"):
        return value.item()
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def _source(data: Any) -> tuple[Iterable[PatientRecord], list[Resource], Any, str]:
    if isinstance(data, (str, Path)):
        from ..fhir.sources import open_source

        src = open_source(str(data))
        return src.patients(), list(src.shared_resources()), src, str(data)
    if hasattr(data, "patients"):
        shared = list(data.shared_resources()) if hasattr(data, "shared_resources") else []
        return data.patients(), shared, data, str(getattr(data, "description", "data source"))
    return data, [], None, "records"


def _attributor(by: str | Path, period: tuple[str, str], shared: list[Resource]) -> Attributor:
    if str(by) in ("practice", "clinician"):
        return Attributor(str(by), period, shared)
    path = Path(by)
    listed, names = read_attribution_list(path)
    att = Attributor("list", period, shared, listed=listed, source=str(path))
    att.names.update(names)
    return att


def _patient_elements(collected: Any, units: list[Any]) -> list[dict[str, Any]]:
    """Completeness of the patient-level elements the report stratifies and adjusts by, over the
    denominator's patients."""
    pids = sorted({u.patient_id for u in units if u.denominator})
    feats = [collected.features[p] for p in pids if p in collected.features]
    attributed = {u.patient_id for u in units if u.denominator and u.entity is not None}
    n = len(feats)
    checks: list[tuple[str, Callable[[Any], bool]]] = [
        ("Patient.birthDate (age)", lambda f: f.age is not None),
        ("Patient.gender", lambda f: f.sex != "Unknown"),
        ("US Core race", lambda f: f.race != "Unknown"),
        ("US Core ethnicity", lambda f: f.ethnicity != "Unknown"),
        ("Coverage in the period (payer)", lambda f: f.payer != "Unknown"),
        ("ICD-coded data for chronic-condition flags", lambda f: f.ccc not in ("no_icd_data", "Unknown")),
    ]
    rows = [{"element": label, "patients": n, "present": sum(1 for f in feats if fn(f)),
             "share": (sum(1 for f in feats if fn(f)) / n) if n else None} for label, fn in checks]
    rows.append({"element": "attribution to an entity", "patients": len(pids), "present": len(attributed),
                 "share": len(attributed) / len(pids) if pids else None})
    return rows


def _explain_hits(rows: list[dict[str, Any]], by_type: dict[str, list[str]], roles: dict[str, dict[str, Any]]) -> None:
    """Add to each resource type's hit rate the value sets behind it, their roles, and what the rate
    means: 0 % from value sets used only for exclusions is expected, not an alarm."""
    for row in rows:
        vss = [{"id": vs, "name": roles.get(vs, {}).get("name", vs), "roles": roles.get(vs, {}).get("roles", []),
                "exclusion_only": roles.get(vs, {}).get("exclusion_only", False)}
               for vs in by_type.get(row["resource_type"], [])]
        row["value_sets"] = vss
        row["meaning"] = explain_type(row["resource_type"], vss, row["hit_rate"])


def vet_measure(
    measure: MeasurePackage | str | Path,
    data: Any,
    by: str | Path = "practice",
    *,
    period: tuple[str, str] | None = None,
    groups: list[int] | None = None,
    min_n: int = 30,
    interval: Method = "wilson",
    level: float = 0.95,
    target_reliability: float = 0.7,
    seed: int = 20090101,
    chronic: bool = True,
    timezone_offset: float = 0,
    progress: Callable[[int], None] | None = None,
) -> VetResult:
    """Evaluate `measure` over `data`, attribute patients `by` practice, clinician or an attribution
    list file, and compute the vetting statistics for each proportion group (`groups`: 0-based
    indexes, default all). `period` defaults to the Measure's effectivePeriod."""
    package = load_measure(measure)
    start, end = period or package.measure.effective_period
    if not start or not end:
        raise MeasurePackageError(f"{package.source}: no measurement period given and the Measure has no effectivePeriod")
    settings = Settings(min_n=min_n, level=level, interval=interval, target_reliability=target_reliability, seed=seed)
    records, shared, source, description = _source(data)
    attributor = _attributor(by, (start, end), shared)
    diagnostics = DiagnosticsCollector()
    calc = TracedCalculator(package, measurement_period(start, end, timezone_offset), timezone_offset=timezone_offset,
                            shared=shared)
    coverage = Coverage(calc)  # which clauses never fire on this population, which value sets match nothing
    calc.listeners.append(coverage.add)
    collected = collect(calc, diagnostics, records, attributor, (start, end), chronic=chronic, progress=progress)
    chosen = groups if groups is not None else list(range(len(package.measure.groups)))
    for gi in chosen:
        if not 0 <= gi < len(package.measure.groups):
            raise ValueError(f"the measure has {len(package.measure.groups)} group(s); there is no group {gi + 1}")
    noun = {"practice": "practices", "clinician": "clinicians"}.get(str(by), "entities")
    results = [analyse_group(package.measure.groups[gi], collected.units[gi], collected, attributor.names,
                             collected.flow[gi], settings, noun) for gi in chosen]
    m = package.measure
    all_units = [u for gi in chosen for u in collected.units[gi]]
    hits = diagnostics.type_rows()
    _explain_hits(hits, diagnostics.valuesets_by_type(), valueset_roles(package, chosen))
    return VetResult(
        measure={"url": m.url, "name": m.name, "title": m.label, "version": m.version, "source": package.source,
                 "groups": len(m.groups)},
        period=(start, end), data=description,
        attribution={"by": str(by), "rule": attributor.description, "methods": dict(attributor.methods),
                     "entities": len(collected.entity_patients)},
        settings=settings, groups=results, patients=collected.n_patients, errors=collected.errors,
        source_issues=[str(i) for i in getattr(source, "issues", []) or []],
        elements=diagnostics.element_rows(), value_set_hits=hits, clause_coverage=coverage.population_summary(),
        patient_elements=_patient_elements(collected, all_units),
    )

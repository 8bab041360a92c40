"""What a measure author checks before trusting the numbers: population flow, whether the data
elements the measure reads are there, and how often the data's codes fall in its value sets.

A :class:`RetrieveRecorder` observes one patient's evaluation (a retrieve observer on the
evaluation request) and notes every retrieve (data type, code path, value set or code) with what
it returned. Retrieves seen for earlier patients are replayed for each later one, so an element
short-circuited away by the CQL still counts.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..cql.context import DataProvider, RetrieveRequest
from ..cql.runtime.values import Code, Concept, ValueSetRef
from ..fhir.model import load_model
from ..fhir.records import PatientRecord, Resource

# where each resource type keeps the time the measure's timing logic reads
_DATE_PREFIXES = {
    "Encounter": ("period",), "Condition": ("onset", "recordedDate", "abatement"),
    "Observation": ("effective", "issued"), "Procedure": ("performed",), "MedicationRequest": ("authoredOn",),
    "MedicationDispense": ("whenHandedOver", "whenPrepared"), "MedicationAdministration": ("effective",),
    "Immunization": ("occurrence",), "ServiceRequest": ("authoredOn", "occurrence"),
    "DiagnosticReport": ("effective", "issued"), "AllergyIntolerance": ("onset", "recordedDate"),
    "Coverage": ("period",), "Communication": ("sent", "received"), "Claim": ("billablePeriod", "created"),
    "DeviceRequest": ("authoredOn",), "Task": ("executionPeriod", "authoredOn"), "Goal": ("start",),
    "CarePlan": ("period",), "Assessment": ("effective",),
}
_STATUS_FIELDS = ("status", "clinicalStatus", "verificationStatus")


def has_date(resource: Resource) -> bool:
    prefixes = _DATE_PREFIXES.get(str(resource.get("resourceType")), ("effective", "period", "date", "authoredOn"))
    return any(k.startswith(p) and resource.get(k) for k in resource for p in prefixes)


def has_status(resource: Resource) -> bool:
    return any(resource.get(f) for f in _STATUS_FIELDS)


def _codes_label(codes: Any) -> str:
    if isinstance(codes, ValueSetRef):
        return f'"{codes.name}"' if codes.name else codes.id
    if isinstance(codes, list):
        return ", ".join(_codes_label(c) for c in codes)
    if isinstance(codes, Code):
        return f"{codes.code} ({codes.system or '?'})"
    if isinstance(codes, Concept):
        return ", ".join(_codes_label(c) for c in codes.codes)
    return "(no code filter)" if codes is None else str(codes)


def _codes_key(codes: Any) -> Any:
    if isinstance(codes, list):
        return tuple(_codes_key(c) for c in codes)
    if isinstance(codes, ValueSetRef):
        return ("vs", codes.id, codes.version)
    if isinstance(codes, Code):
        return ("code", codes.system, codes.code)
    if isinstance(codes, Concept):
        return tuple(_codes_key(c) for c in codes.codes)
    return repr(codes)


_RESOURCE_TYPES: dict[str, str] = {}


def resource_type_of(data_type: str) -> str:
    """The FHIR resourceType a retrieve's data type reads ('QICore.ConditionProblemsHealthConcerns'
    -> 'Condition'), through the model info."""
    found = _RESOURCE_TYPES.get(data_type)
    if found is None:
        model, _, cls = data_type.rpartition(".")
        try:
            found = load_model(model or "FHIR").resource_type(cls)
        except Exception:  # noqa: BLE001 - an unknown model still names a type
            found = cls
        _RESOURCE_TYPES[data_type] = found
    return found


@dataclass(frozen=True)
class ElementSpec:
    data_type: str
    code_path: str | None
    codes_key: Any
    comparator: str | None

    @property
    def resource_type(self) -> str:
        return resource_type_of(self.data_type)


class RetrieveRecorder:
    """A retrieve observer noting what each retrieve of one patient's evaluation returned."""

    def __init__(self, collector: DiagnosticsCollector | None = None):
        self.collector = collector
        self.calls: dict[ElementSpec, list[Resource]] = {}

    def __call__(self, request: RetrieveRequest, results: Sequence[Any]) -> None:
        codes = request.codes
        spec = ElementSpec(request.data_type, request.code_path, _codes_key(codes), request.comparator)
        if self.collector is not None and spec not in self.collector.specs:
            self.collector.note_spec(spec, {"context": request.context, "code_path": request.code_path,
                                            "codes": codes, "comparator": request.comparator},
                                     label_for(request.data_type, codes))
        self.calls[spec] = [n.data for n in results if isinstance(getattr(n, "data", None), dict)]


@dataclass
class ElementStats:
    label: str
    resource_type: str
    code_path: str | None
    filtered: bool
    patients_evaluated: int = 0
    patients_found: int = 0
    ip_evaluated: int = 0
    ip_found: int = 0
    resources: int = 0
    with_date: int = 0
    with_status: int = 0

    def as_dict(self) -> dict[str, Any]:
        def share(a: int, b: int) -> float | None:
            return a / b if b else None

        return {"element": self.label, "resource_type": self.resource_type, "code_path": self.code_path,
                "patients_evaluated": self.patients_evaluated, "patients_found": self.patients_found,
                "found_share": share(self.patients_found, self.patients_evaluated),
                "ip_found_share": share(self.ip_found, self.ip_evaluated),
                "resources": self.resources, "date_complete": share(self.with_date, self.resources),
                "status_complete": share(self.with_status, self.resources)}


@dataclass
class TypeHits:
    resource_type: str
    resources: int = 0  # resources of this type in evaluated patients' records
    matched: int = 0  # of them, returned by at least one of the measure's coded retrieves
    unmatched_codes: Counter[str] = field(default_factory=Counter)

    def as_dict(self, top: int = 8) -> dict[str, Any]:
        return {"resource_type": self.resource_type, "resources": self.resources, "matched": self.matched,
                "hit_rate": self.matched / self.resources if self.resources else None,
                "top_unmatched_codes": [{"code": c, "resources": k} for c, k in self.unmatched_codes.most_common(top)]}


def _codings_at(resource: Resource, path: str | None) -> list[str]:
    if not path:
        return []
    head = path.split(".")[0]
    values = [v for k, v in resource.items() if k == head or (k.startswith(head) and k[len(head):][:1].isupper())]
    out = []
    for v in values:
        for cc in v if isinstance(v, list) else [v]:
            if isinstance(cc, dict):
                for c in cc.get("coding") or []:
                    out.append(f"{c.get('system') or '?'}|{c.get('code') or '?'}"
                               + (f" {c['display']}" if c.get("display") else ""))
                if not cc.get("coding") and cc.get("text"):
                    out.append(f"text: {cc['text']}")
    return out


class DiagnosticsCollector:
    """Accumulates element completeness and value-set hits over patients."""

    def __init__(self) -> None:
        self.specs: dict[ElementSpec, dict[str, Any]] = {}  # spec -> the retrieve's keyword arguments
        self.labels: dict[ElementSpec, str] = {}
        self.elements: dict[ElementSpec, ElementStats] = {}
        self.types: dict[str, TypeHits] = {}

    def replay(self, recorder: RetrieveRecorder, data: DataProvider, context_value: Any) -> None:
        """Run the retrieves other patients made that this one's evaluation skipped."""
        for spec, kwargs in self.specs.items():
            if spec not in recorder.calls:
                results = list(data.retrieve(spec.data_type, context_value=context_value, **kwargs))
                recorder(RetrieveRequest(spec.data_type, kwargs["context"], context_value, kwargs["code_path"],
                                         kwargs["codes"], kwargs["comparator"]), results)

    def note_spec(self, spec: ElementSpec, kwargs: dict[str, Any], label: str) -> None:
        self.specs.setdefault(spec, kwargs)
        self.labels.setdefault(spec, label)

    def add(self, record: PatientRecord, recorder: RetrieveRecorder, in_ip: bool) -> None:
        matched_by_type: dict[str, set[int]] = {}
        paths_by_type: dict[str, set[str]] = {}
        for spec, found in recorder.calls.items():
            rtype = spec.resource_type
            st = self.elements.get(spec)
            if st is None:
                st = self.elements[spec] = ElementStats(self.labels.get(spec, rtype), rtype, spec.code_path,
                                                        spec.codes_key != repr(None))
            st.patients_evaluated += 1
            st.ip_evaluated += int(in_ip)
            if found:
                st.patients_found += 1
                st.ip_found += int(in_ip)
            st.resources += len(found)
            st.with_date += sum(has_date(r) for r in found)
            st.with_status += sum(has_status(r) for r in found)
            if st.filtered:
                matched_by_type.setdefault(rtype, set()).update(id(r) for r in found)
                if spec.code_path:
                    paths_by_type.setdefault(rtype, set()).add(spec.code_path)
        for rtype, matched in matched_by_type.items():
            th = self.types.setdefault(rtype, TypeHits(rtype))
            present = record.of_type(rtype)
            th.resources += len(present)
            th.matched += sum(1 for r in present if id(r) in matched)
            for r in present:
                if id(r) not in matched:
                    for path in sorted(paths_by_type.get(rtype, ())):
                        th.unmatched_codes.update(set(_codings_at(r, path)))

    def element_rows(self) -> list[dict[str, Any]]:
        rows = [s.as_dict() for s in self.elements.values()]
        return sorted(rows, key=lambda r: (r["resource_type"], r["element"]))

    def type_rows(self) -> list[dict[str, Any]]:
        return [self.types[t].as_dict() for t in sorted(self.types)]

    def valuesets_by_type(self) -> dict[str, list[str]]:
        """Resource type -> canonical ids of the value sets its retrieves filter by."""
        out: dict[str, list[str]] = {}

        def walk(key: Any, rtype: str) -> None:
            if isinstance(key, tuple) and len(key) == 3 and key[0] == "vs":
                if key[1] not in out.setdefault(rtype, []):
                    out[rtype].append(key[1])
            elif isinstance(key, tuple):
                for k in key:
                    walk(k, rtype)

        for spec in self.specs:
            walk(spec.codes_key, spec.resource_type)
        return out


def label_for(data_type: str, codes: Any) -> str:
    return f"{resource_type_of(data_type)} [{data_type}]: {_codes_label(codes)}"


def population_flow(counts: Iterable[tuple[str, int]]) -> list[dict[str, Any]]:
    return [{"population": code, "count": n} for code, n in counts]

"""The evaluation request: clock, timezone, parameters, data and terminology.

"Now" and the evaluation timezone offset are fixed per request and injected here; operators never
read the system clock (CQL: Now() is the same throughout one evaluation). Data and terminology come
through two narrow protocols so that files, FHIR servers and Bulk exports plug in later without
the engine knowing which it talks to.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Protocol

from .runtime.temporal import DateTime, now_from


class DataProvider(Protocol):
    """Supplies the resources a `[Type: codePath in codes]` retrieve asks for. What it returned
    is reported by the engine to the request's :class:`RetrieveObserver` s, so a provider keeps
    no record of its callers."""

    def retrieve(
        self,
        data_type: str,
        *,
        context: str | None,
        context_value: Any,
        code_path: str | None,
        codes: Any,
        comparator: str | None,
        follow_references: bool = False,
    ) -> Iterable[Any]:
        """`follow_references`: the code path is the type's primary code path (not written in
        the retrieve) and a resource that references its code (MedicationRequest ->
        Medication) matches by the referenced resource's code, as the reference translator's
        expansion of such retrieves does. Passed only when true."""
        ...


@dataclass(frozen=True, slots=True)
class RetrieveRequest:
    """What one retrieve asked its `DataProvider` for (the arguments of ``retrieve``)."""

    data_type: str
    context: str | None
    context_value: Any
    code_path: str | None
    codes: Any
    comparator: str | None
    follow_references: bool = False


class RetrieveObserver(Protocol):
    """Told of every retrieve an evaluation made and what the data provider returned.

    The layers above the engine watch evaluation through this hook rather than by reaching into
    a provider: a measure lists the resources its retrieves returned (evaluatedResource), the
    vetting diagnostics count what each data element found. Observers are on the request
    (:attr:`EvaluationContext.observers`), so any `DataProvider` is observed alike."""

    def __call__(self, request: RetrieveRequest, results: Sequence[Any]) -> None: ...


class ModelValue(Protocol):
    """What a value of a data model (a FHIR resource or element, as `DataProvider` returns it)
    offers the engine. The engine knows no data model: it reads such values only through these
    members, found by duck typing where a value may be a System value or a model value
    (property access in the compiler, `ToSystemValue` and the age operators, equality and
    equivalence in :mod:`.runtime.compare`, `is` / `as` in :mod:`.types`).
    `pedqm.fhir.navigation.FhirNode` implements it."""

    type_name: str  # the qualified model type, e.g. 'QICore.Observation'

    def get_property(self, path: str) -> Any:
        """The value of an element (a model value, a list of them, a System value or null)."""
        ...

    def to_system(self) -> Any:
        """The System value this value stands for (FHIR.dateTime -> DateTime), or itself."""
        ...

    def equal(self, other: Any) -> bool | None: ...

    def equivalent(self, other: Any) -> bool: ...

    def is_instance_of(self, type_name: str) -> bool: ...


class TerminologyProvider(Protocol):
    """Answers membership questions for value sets and code systems."""

    def in_valueset(self, code: Any, valueset: Any) -> bool | None: ...

    def expand(self, valueset: Any) -> list[Any]: ...


@dataclass(frozen=True)
class EvaluationBudget:
    """Bounds on the work one evaluation may do, so that a runaway expression is a run-time
    error naming it (library, definition, line:column) rather than a process that exhausts the
    machine's memory: the rows a query may build from its sources (the cross product of a
    multi-source query), and the length of a list an operator builds (Flatten, query results).
    About 600 bytes a row: the defaults stop a query near 0.6 GB. `expand` has its own bound."""

    max_query_rows: int = 1_000_000
    max_list_length: int = 1_000_000


@dataclass
class EvaluationContext:
    now: DateTime
    timezone_offset: Decimal
    parameters: dict[str, dict[str, Any]] = field(default_factory=dict)  # library key -> values
    data: DataProvider | None = None
    terminology: TerminologyProvider | None = None
    context_name: str | None = None  # e.g. 'Patient'
    context_value: Any = None  # the patient resource when context is Patient
    # the subject being evaluated, as the layer above knows it (a FHIR PatientRecord): opaque to
    # the engine, handed to external functions that need more than retrieves give them
    subject: Any = None
    # told of each retrieve and its results (see RetrieveObserver); empty costs nothing
    observers: list[RetrieveObserver] = field(default_factory=list)
    budget: EvaluationBudget = field(default_factory=EvaluationBudget)
    messages: list[str] = field(default_factory=list)
    cache: dict[tuple[str, str], Any] = field(default_factory=dict)

    @classmethod
    def create(
        cls,
        now: _dt.datetime | None = None,
        timezone_offset: Decimal | float | int | None = None,
        **kw: Any,
    ) -> EvaluationContext:
        """Fix the request's clock and timezone (default: the machine clock, in UTC)."""
        if now is None:
            tz = _dt.timezone(_dt.timedelta(hours=float(timezone_offset or 0)))
            now = _dt.datetime.now(tz)
        elif now.tzinfo is None:
            tz = _dt.timezone(_dt.timedelta(hours=float(timezone_offset or 0)))
            now = now.replace(tzinfo=tz)
        off = now.utcoffset() or _dt.timedelta(0)
        offset = Decimal(str(timezone_offset)) if timezone_offset is not None else Decimal(off.total_seconds()) / Decimal(3600)
        return cls(now=now_from(now), timezone_offset=offset.normalize() if offset == offset.to_integral() else offset, **kw)

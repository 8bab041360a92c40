"""The evaluation request: clock, timezone, parameters, data and terminology.

"Now" and the evaluation timezone offset are fixed per request and injected here; operators never
read the system clock (CQL: Now() is the same throughout one evaluation). Data and terminology come
through two narrow protocols so that files, FHIR servers and Bulk exports plug in later without
the engine knowing which it talks to.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Protocol

from .runtime.temporal import DateTime, now_from


class DataProvider(Protocol):
    """Supplies the resources a `[Type: codePath in codes]` retrieve asks for."""

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


class TerminologyProvider(Protocol):
    """Answers membership questions for value sets and code systems."""

    def in_valueset(self, code: Any, valueset: Any) -> bool | None: ...

    def expand(self, valueset: Any) -> list[Any]: ...


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

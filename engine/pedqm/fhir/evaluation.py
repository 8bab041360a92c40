"""One patient's evaluation request: a compiled library, the patient's record, terminology.

This is where the CQL engine meets FHIR data: the request's data provider is the patient's
record, its terminology the value sets supplied, and the `Patient` context value the patient
resource as the library's data model sees it.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

from ..cql.context import EvaluationContext, TerminologyProvider
from ..cql.library import Library
from .model import load_model
from .navigation import FhirNode
from .records import PatientRecord, Resource
from .retrieve import RecordDataProvider


def library_model(lib: Library) -> tuple[str, str | None]:
    """The data model a library uses (the first `using` other than System)."""
    for u in lib.compiled.resolved.usings:
        if u.model != "System":
            return u.model, u.version
    return "FHIR", None


def patient_context(
    lib: Library,
    record: PatientRecord,
    *,
    terminology: TerminologyProvider | None = None,
    shared: Iterable[Resource] = (),
    parameters: Mapping[str, Any] | None = None,
    now: _dt.datetime | None = None,
    timezone_offset: Decimal | float | int | None = None,
    require_profile_tags: bool = False,
) -> EvaluationContext:
    """An evaluation request in Patient context for `record`."""
    name, version = library_model(lib)
    model = load_model(name, version)
    provider = RecordDataProvider(record, terminology, shared, require_profile_tags)
    patient = record.patient
    node = FhirNode(model, f"{model.name}.{model.resource_type('Patient')}", patient) if patient is not None else None
    return lib.context(
        parameters, now=now, timezone_offset=timezone_offset,
        data=provider, terminology=terminology, context_name="Patient", context_value=node, subject=record,
    )

"""The external functions of pedqm's `ChronicConditions` CQL library (cql_libraries/), answered
by the chronic-condition layer from the patient's record in the evaluation request.

A patient with no ICD-coded data in the window gets null from every function, never false or an
empty list: the layer cannot tell such a child (e.g. conditions coded only in SNOMED CT) from a
healthy one, and CQL's three-valued logic then keeps the unknown out of a measure's populations
unless the measure decides otherwise."""

from __future__ import annotations

from typing import Any

from ..cql.context import EvaluationContext
from ..cql.errors import CqlRuntimeError
from ..cql.externals import external
from . import classify_record
from .classify import columns

_LIB = "ChronicConditions"
_CATEGORIES = ("neuromusc", "cvd", "respiratory", "renal", "gi", "hemato_immu", "metabolic",
               "congeni_genetic", "malignancy", "neonatal", "tech_dep", "transplant")


def _record(ctx: EvaluationContext) -> Any:
    record = ctx.subject
    if record is None or not hasattr(record, "of_type"):
        raise CqlRuntimeError("ChronicConditions functions need a patient's record (evaluate in Patient context over FHIR data)")
    return record


def _as_of(value: Any) -> str | None:
    if value is None:
        return None
    text = value.to_cql()[1:] if hasattr(value, "to_cql") else str(value)
    return text[:10]


def _flags(ctx: EvaluationContext, algorithm: str, as_of: Any) -> dict[str, Any]:
    if algorithm not in ("ccc-v2", "ccc-v3", "pmca", "ccir"):
        raise CqlRuntimeError(f"unknown chronic-condition algorithm {algorithm!r} (ccc-v2, ccc-v3, pmca, ccir)")
    key = ("$chronic", f"{algorithm}|{_as_of(as_of)}")
    if key not in ctx.cache:
        ctx.cache[key] = classify_record(_record(ctx), algorithm, as_of=_as_of(as_of)).flags
    flags: dict[str, Any] = ctx.cache[key]
    return flags


@external(_LIB, "HasComplexChronicCondition")
def has_ccc(ctx: EvaluationContext, algorithm: str | None, as_of: Any) -> bool | None:
    if algorithm is None:
        return None
    value = _flags(ctx, algorithm, as_of).get("ccc_flag")
    return None if value is None else bool(value)


@external(_LIB, "ComplexChronicConditionCategories")
def ccc_categories(ctx: EvaluationContext, algorithm: str | None, as_of: Any) -> list[str] | None:
    if algorithm is None:
        return None
    flags = _flags(ctx, algorithm, as_of)
    if flags.get("ccc_flag") is None:
        return None
    return [c for c in _CATEGORIES if c in columns(algorithm) and flags.get(c)]


@external(_LIB, "PMCAClass")
def pmca_class(ctx: EvaluationContext, variant: str | None, as_of: Any) -> str | None:
    if variant not in ("less", "more"):
        raise CqlRuntimeError(f"PMCA variant must be 'less' or 'more', not {variant!r}")
    value = _flags(ctx, "pmca", as_of).get(f"pmca_{variant}")
    return None if value is None else str(value)


@external(_LIB, "ChronicConditionCount")
def chronic_count(ctx: EvaluationContext, as_of: Any) -> int | None:
    value = _flags(ctx, "ccir", as_of).get("num_chronic")
    return None if value is None else int(value)

"""Clinical operators (CQL reference 'Clinical Operators'): terminology membership and age.

Membership asks the evaluation request's terminology provider (value sets are data, not code);
a request without one cannot answer, which is a run-time error naming the value set rather than
a silent `false`.
"""

from __future__ import annotations

from typing import Any

from ..context import EvaluationContext
from ..errors import CqlRuntimeError
from ..runtime.temporal import Date, DateTime
from ..runtime.values import Code, CodeSystemRef, Concept, ValueSetRef
from .datetime import _between
from .registry import operator


def _codes(item: Any) -> list[Code]:
    if isinstance(item, Code):
        return [item]
    if isinstance(item, Concept):
        return list(item.codes)
    if isinstance(item, str):
        return [Code(item)]
    if isinstance(item, list):
        out: list[Code] = []
        for x in item:
            out.extend(_codes(x))
        return out
    return []


def _in_valueset(ctx: EvaluationContext, item: Any, vs: ValueSetRef) -> bool | None:
    if ctx.terminology is None:
        raise CqlRuntimeError(f"value set {vs.id} cannot be checked: no terminology was provided")
    codes = _codes(item)
    if not codes:
        return False
    unknown = False
    for code in codes:
        r = ctx.terminology.in_valueset(code, vs)
        if r is True:
            return True
        if r is None:
            unknown = True
    return None if unknown else False


@operator("InValueSet", strict=False, context=True)
def InValueSet(ctx: EvaluationContext, item: Any, vs: ValueSetRef | None) -> bool | None:
    """`code in "Value Set"` for a String, Code, Concept or a list of them (null -> false)."""
    if item is None or vs is None:
        return False if item is None else None
    return _in_valueset(ctx, item, vs)


@operator("AnyInValueSet", strict=False, context=True)
def AnyInValueSet(ctx: EvaluationContext, items: list[Any] | None, vs: ValueSetRef | None) -> bool | None:
    if not items or vs is None:
        return False
    return _in_valueset(ctx, items, vs)


@operator("InCodeSystem", strict=False)
def InCodeSystem(item: Any, cs: CodeSystemRef | None) -> bool | None:
    """Membership in a code system by its identifier (no code system content is needed)."""
    if item is None or cs is None:
        return False if item is None else None
    return any(c.system == cs.id for c in _codes(item))


@operator("ExpandValueSet", context=True)
def ExpandValueSet(ctx: EvaluationContext, vs: ValueSetRef) -> list[Code]:
    if ctx.terminology is None:
        raise CqlRuntimeError(f"value set {vs.id} cannot be expanded: no terminology was provided")
    return list(ctx.terminology.expand(vs))


def _birth_date(ctx: EvaluationContext, precision: str | None, at: bool) -> Date | DateTime | None:
    """The context Patient's birth date; None when the Patient has none (the age is then null,
    per the CQL reference). No Patient at all is an error: there is nobody to be of an age."""
    patient = ctx.context_value
    if patient is None:
        name = f"AgeIn{(precision or 'year').capitalize()}s{'At' if at else ''}()"
        if ctx.context_name == "Patient":
            why = "this Patient context has no Patient resource"
        else:
            why = f"it is evaluated in {ctx.context_name or 'Unfiltered'} context, not Patient"
        raise CqlRuntimeError(f"{name} reads the Patient's birth date, but {why}")
    getter = getattr(patient, "get_property", None)
    value = getter("birthDate") if getter else None
    to_system = getattr(value, "to_system", None)
    if to_system is not None:
        value = to_system()
    return value if isinstance(value, (Date, DateTime)) else None


@operator("Age", strict=False, context=True)
def Age(ctx: EvaluationContext, precision: str | None = None) -> Any:
    """`AgeInYears()`: the context patient's age today (the request's Today)."""
    birth = _birth_date(ctx, precision, at=False)
    if birth is None:
        return None
    today: Date | DateTime = ctx.now.date() if isinstance(birth, Date) else ctx.now
    return _between("duration", birth, today, precision or "year")


@operator("AgeAt", strict=False, context=True)
def AgeAt(ctx: EvaluationContext, as_of: Date | DateTime | None, precision: str | None = None) -> Any:
    """`AgeInYearsAt(date)`: the context patient's age on `as_of`."""
    birth = _birth_date(ctx, precision, at=True)
    if birth is None or as_of is None:
        return None
    if isinstance(birth, Date) and isinstance(as_of, DateTime):
        as_of = as_of.date()
    return _between("duration", birth, as_of, precision or "year")


@operator("ToSystemValue", strict=False)
def ToSystemValue(value: Any) -> Any:
    """A model value (e.g. a FHIR.dateTime element) as the System value it stands for; the
    implicit conversion the spec has FHIRHelpers perform. System values pass through."""
    if isinstance(value, list):
        return [ToSystemValue(v) for v in value]
    conv = getattr(value, "to_system", None)
    return conv() if conv is not None else value

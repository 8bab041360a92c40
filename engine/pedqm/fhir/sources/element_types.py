"""The JSON shape of every FHIR element, read once per type from the ``fhir.resources`` models.

Why not validate with the models themselves: pydantic validation costs about half a millisecond
per resource (a minute per 100,000), while walking the JSON against this compact table costs a
few microseconds and catches what breaks measures: a date that does not parse, a string where an
object belongs, a single value where the specification says array. The models are R4B; for the
elements measures read (dates, references, codes) R4B and R4 agree, and elements the models do
not know are left alone rather than flagged.
"""

from __future__ import annotations

import types
import typing
from functools import cache
from typing import Any

# Element kinds: JSON primitives by FHIR type, "complex" (a datatype or backbone element: an
# object) and "resource" (contained resources: an object with its own resourceType).
STRING, BOOLEAN, INTEGER, DECIMAL = "string", "boolean", "integer", "decimal"
DATE, DATETIME, INSTANT, TIME = "date", "dateTime", "instant", "time"
COMPLEX, RESOURCE = "complex", "resource"

# json name -> (kind, is a JSON array, model class for complex kinds)
ElementTable = dict[str, tuple[str, bool, Any]]

_MARKER_KINDS = {
    "Date": DATE,
    "DateTime": DATETIME,
    "Instant": INSTANT,
    "Time": TIME,
    "Decimal": DECIMAL,
    "Integer": INTEGER,
    "Integer64": INTEGER,
    "PositiveInt": INTEGER,
    "UnsignedInt": INTEGER,
}


def _unwrap(annotation: Any) -> tuple[Any, bool]:
    """Strip Optional/Union-with-None and List; return (inner annotation, is_list)."""
    is_list = False
    for _ in range(4):
        origin = typing.get_origin(annotation)
        args = typing.get_args(annotation)
        if origin in (typing.Union, types.UnionType):
            rest = [a for a in args if a is not type(None)]
            if len(rest) != 1:
                return annotation, is_list
            annotation = rest[0]
        elif origin in (list, typing.List):  # noqa: UP006 - the models use typing.List
            is_list = True
            annotation = args[0]
        else:
            break
    return annotation, is_list


def _kind(annotation: Any) -> tuple[str, Any] | None:
    if typing.get_origin(annotation) is typing.Annotated:
        base, *markers = typing.get_args(annotation)
        for marker in markers:
            kind = _MARKER_KINDS.get(type(marker).__name__)
            if kind:
                return kind, None
        return (BOOLEAN, None) if base is bool else (STRING, None)
    if annotation is bool:
        return BOOLEAN, None
    if annotation is int:
        return INTEGER, None
    if annotation is str:
        return STRING, None
    get_klass = getattr(annotation, "get_model_klass", None)
    if get_klass is not None:
        klass = get_klass()
        from fhir.resources.R4B.resource import Resource as ResourceModel

        return (RESOURCE if issubclass(klass, ResourceModel) else COMPLEX), klass
    return None


@cache
def element_table(model: Any) -> ElementTable:
    """The elements of one model class (a resource, datatype or backbone element)."""
    table: ElementTable = {}
    for name, info in model.model_fields.items():
        if name.endswith("__ext") or name == "fhir_comments":
            continue
        inner, is_list = _unwrap(info.annotation)
        kind = _kind(inner)
        if kind is not None:
            table[info.alias or name] = (kind[0], is_list, kind[1])
    return table


@cache
def resource_model(resource_type: str) -> Any | None:
    """The R4B model class for a resource type, or None when R4B lacks it (R4-only types)."""
    from fhir.resources.R4B import get_fhir_model_class

    try:
        return get_fhir_model_class(resource_type)
    except (ValueError, ImportError, AttributeError):
        return None

"""Nullological operators (CQL reference 'Nullological Operators'): IsNull, IsTrue, IsFalse,
Coalesce. None of them propagates null: they exist to test for it."""

from __future__ import annotations

from typing import Any

from .registry import operator


@operator("IsNull", strict=False)
def IsNull(a: Any) -> bool:
    return a is None


@operator("IsTrue", strict=False)
def IsTrue(a: Any) -> bool:
    return a is True


@operator("IsFalse", strict=False)
def IsFalse(a: Any) -> bool:
    return a is False


@operator("Coalesce", strict=False, arity=(1, 99))
def Coalesce(*args: Any) -> Any:
    for a in args:
        if a is not None:
            return a
    return None


@operator("CoalesceList", strict=False)
def CoalesceList(values: list[Any] | None) -> Any:
    """`Coalesce(list)`: the first non-null element of the list."""
    if values is None:
        return None
    if not isinstance(values, list):
        return values
    return next((v for v in values if v is not None), None)

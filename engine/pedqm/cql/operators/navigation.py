"""Path navigation functions CQL shares with FHIRPath (`descendents()`, `children()`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..runtime.values import CqlTuple
from .registry import operator


def _children(value: Any) -> list[Any]:
    if isinstance(value, list):
        out: list[Any] = []
        for v in value:
            out.extend(_children(v))
        return out
    if isinstance(value, (CqlTuple, Mapping)):
        out = []
        for v in value.values():
            if isinstance(v, list):
                out.extend(x for x in v if x is not None)
            elif v is not None:
                out.append(v)
        return out
    return []


@operator("children")
def children(value: Any) -> list[Any]:
    """The direct child elements of a structured value (FHIRPath `children()`)."""
    return _children(value)


@operator("descendents")
def descendents(value: Any) -> list[Any]:
    """All elements below a structured value, depth first (FHIRPath `descendants()`)."""
    out: list[Any] = []
    frontier = _children(value)
    while frontier:
        out.extend(frontier)
        frontier = _children(frontier)
    return out

"""Implementations of CQL `external` functions, keyed by library and function name.

A library declares `define function F(x String) returns Boolean: external`; pedqm components
register the Python that answers it (e.g. the chronic-condition layer answers the functions of
the `ChronicConditions` library). An implementation receives the evaluation request first, then
the CQL arguments.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

ExternalImpl = Callable[..., Any]

_REGISTRY: dict[tuple[str, str], ExternalImpl] = {}
# modules whose import registers externals, imported the first time an external is looked up
# (the chronic-condition layer registers itself through pedqm/composition.py)
_PROVIDERS: list[Callable[[], None]] = []


def external(library: str, function: str) -> Callable[[ExternalImpl], ExternalImpl]:
    """Register the decorated callable as `library.function`'s implementation."""

    def wrap(fn: ExternalImpl) -> ExternalImpl:
        _REGISTRY[(library, function)] = fn
        return fn

    return wrap


def register_provider(loader: Callable[[], None]) -> None:
    """A module whose import registers externals, imported the first time one is needed."""
    _PROVIDERS.append(loader)


def lookup(library: str | None, function: str) -> ExternalImpl | None:
    if (library or "", function) not in _REGISTRY:
        while _PROVIDERS:
            _PROVIDERS.pop()()
    return _REGISTRY.get((library or "", function))

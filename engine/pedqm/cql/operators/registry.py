"""The table of CQL system operators, keyed by ELM operator name.

Each chapter module of :mod:`pedqm.cql.operators` (arithmetic, comparison, logical, ...) registers
its functions here with :func:`operator`. The resolver looks names up in :data:`OPERATORS`; the
compiler calls the function with evaluated arguments. Null propagation for *strict* operators
(the great majority: "if any argument is null, the result is null") is applied once, here, rather
than in every operator.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .. import operators as pkg
from ..errors import CqlRuntimeError
from ..types import type_of_value

Impl = Callable[..., Any]


@dataclass(frozen=True)
class Operator:
    name: str
    fn: Impl
    strict: bool  # null in -> null out, checked before calling fn
    needs_context: bool  # fn(ctx, *args): Now(), Today(), ToDateTime(Date) need the request
    arity: tuple[int, int]  # (min, max) number of CQL arguments


OPERATORS: dict[str, Operator] = {}


def operator(
    name: str,
    *,
    strict: bool = True,
    context: bool = False,
    arity: tuple[int, int] | int | None = None,
) -> Callable[[Impl], Impl]:
    """Register the decorated function as CQL system operator `name`.

    `arity` is checked by the resolver so a wrong number of arguments is a compile-time error.
    Keyword arguments (e.g. ``precision``) are passed by the compiler when the syntax gives them.
    """

    def wrap(fn: Impl) -> Impl:
        if arity is None:
            params = [
                p for p in inspect.signature(fn).parameters.values()
                if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) and p.name not in ("ctx", "precision")
            ]
            varargs = any(p.kind == p.VAR_POSITIONAL for p in inspect.signature(fn).parameters.values())
            required = sum(1 for p in params if p.default is p.empty)
            ar = (required, 99 if varargs else len(params))
        elif isinstance(arity, int):
            ar = (arity, arity)
        else:
            ar = arity
        impl = _typed_errors(name, fn, context)
        if strict:
            impl = _strict(impl, context)
        OPERATORS[name] = Operator(name, impl, strict, context, ar)
        return fn

    return wrap


def _typed_errors(name: str, fn: Impl, context: bool) -> Impl:
    """An operator given values it has no meaning for (`exists 1`, `Length(true)`, operands the
    resolver could not type) answers with a CQL run-time error naming the operator and the CQL
    types of its arguments, never a Python TypeError/AttributeError."""

    def guarded(*args: Any, **kw: Any) -> Any:
        try:
            return fn(*args, **kw)
        except (TypeError, AttributeError) as exc:
            values = args[1:] if context else args
            types = ", ".join(str(type_of_value(v)).removeprefix("System.") for v in values)
            raise CqlRuntimeError(f"{name} is not defined for ({types})") from exc

    guarded.__name__ = getattr(fn, "__name__", name)
    guarded.__doc__ = fn.__doc__
    return guarded


def _strict(fn: Impl, context: bool) -> Impl:
    if context:
        def strict_ctx(ctx: Any, *args: Any, **kw: Any) -> Any:
            for a in args:
                if a is None:
                    return None
            return fn(ctx, *args, **kw)
        return strict_ctx

    def strict_fn(*args: Any, **kw: Any) -> Any:
        for a in args:
            if a is None:
                return None
        return fn(*args, **kw)

    return strict_fn


def lookup(name: str) -> Operator | None:
    _load_all()
    return OPERATORS.get(name)


_loaded = False


def _load_all() -> None:
    """Import every chapter module so that its operators register themselves."""
    global _loaded
    if _loaded:
        return
    _loaded = True
    for info in pkgutil.iter_modules(pkg.__path__):
        if info.name != "registry":
            importlib.import_module(f"{pkg.__name__}.{info.name}")

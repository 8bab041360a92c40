"""pedqm's CQL engine.

Pipeline (one way): CQL text -> Lark parse tree (:mod:`.parser`, grammar ``cql.lark``) -> AST
(:mod:`.ast`) -> resolved model (:mod:`.resolver`, :mod:`.model`, :mod:`.types`) -> compiled
closures (:mod:`.compiler`) -> run-time values (:mod:`.runtime`), with the system operators in
:mod:`.operators`, one module per chapter of the CQL reference.

Public entry points::

    evaluate("1 + 1")                       # -> 2
    to_cql(value)                           # -> a CQL literal for any value
    lib = compile_library(text_or_path)     # -> Library
    lib.evaluate("Definition")
"""

from __future__ import annotations

import datetime as _dt
from decimal import Decimal
from typing import Any

from .errors import CqlCompileError, CqlError, CqlRuntimeError, SourceError
from .library import Library, LibraryManager, compile_expression, compile_library, directory_lookup
from .operators.conversion import to_cql as render


def evaluate(
    expression: str,
    parameters: dict[str, Any] | None = None,
    *,
    now: _dt.datetime | None = None,
    timezone_offset: Decimal | float | int | None = None,
) -> Any:
    """Evaluate a standalone CQL expression and return its value.

    `parameters` become identifiers the expression can use (Python dates, floats, lists and
    dicts are accepted and converted). `now` and `timezone_offset` fix the evaluation request's
    clock (default: the current time, UTC offset 0).
    """
    lib = compile_expression(expression, list(parameters or {}))
    ctx = lib.context(parameters, now=now, timezone_offset=timezone_offset)
    return lib.evaluate("$expression", ctx)


def to_cql(value: Any) -> str:
    """Render a run-time value as a CQL literal that evaluates back to an equivalent value."""

    return render(value)


__all__ = [
    "CqlCompileError", "CqlError", "CqlRuntimeError", "Library", "LibraryManager", "SourceError",
    "compile_library", "directory_lookup", "evaluate", "to_cql",
]

"""The environment a compiled expression is evaluated in: the evaluation request plus the
variables in scope (aliases, lets, function operands)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .context import EvaluationContext

Fn = Callable[["Env"], Any]


class Env:
    """Evaluation request plus the variables visible at this point."""

    __slots__ = ("ctx", "vars")

    def __init__(self, ctx: EvaluationContext, vars: dict[str, Any] | None = None):
        self.ctx = ctx
        self.vars = vars if vars is not None else {}

    def child(self, extra: dict[str, Any]) -> Env:
        return Env(self.ctx, {**self.vars, **extra})

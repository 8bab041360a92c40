"""Errors raised by the CQL pipeline.

Syntax and semantic errors carry a source location so that users see the library, line and
column with a caret; run-time errors (`CqlRuntimeError`) are what the CQL specification calls
run-time errors (e.g. an out-of-range date, `singleton from` on a list of two, `Message` with
severity Error).
"""

from __future__ import annotations

from dataclasses import dataclass


class CqlError(Exception):
    """Base class for every error pedqm's CQL engine raises on purpose."""


class CqlRuntimeError(CqlError):
    """A CQL run-time error: evaluation cannot produce a value (spec: 'run-time error')."""


@dataclass
class SourceError:
    """One syntax or semantic problem at a place in a library's text."""

    message: str
    line: int
    column: int
    library: str = "<expression>"
    source_line: str = ""

    def render(self) -> str:
        head = f"{self.library}:{self.line}:{self.column}: {self.message}"
        if not self.source_line:
            return head
        caret = " " * max(self.column - 1, 0) + "^"
        return f"{head}\n    {self.source_line}\n    {caret}"


class CqlCompileError(CqlError):
    """Raised when a library has syntax or semantic errors; holds all of them."""

    def __init__(self, errors: list[SourceError]):
        self.errors = errors
        super().__init__("\n".join(e.render() for e in errors))

"""Errors raised by the CQL pipeline.

Syntax and semantic errors carry a source location so that users see the library, line and
column with a caret; run-time errors (`CqlRuntimeError`) are what the CQL specification calls
run-time errors (e.g. an out-of-range date, `singleton from` on a list of two, `Message` with
severity Error).
"""

from __future__ import annotations

import re
from dataclasses import dataclass


class CqlError(Exception):
    """Base class for every error pedqm's CQL engine raises on purpose."""


class CqlRuntimeError(CqlError):
    """A CQL run-time error: evaluation cannot produce a value (spec: 'run-time error').

    Where it happened is optional, because the raising operator does not know it: whoever does
    (the compiler for an expression's line and column, a caller for the definition it asked for)
    fills in what is still ``None`` with :meth:`locate`, so the user is shown
    ``Library.Definition (line:column): message`` with as much of the place as anyone knew.
    """

    def __init__(self, message: str = "", *, library: str | None = None, definition: str | None = None,
                 line: int | None = None, column: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.library = library
        self.definition = definition
        self.line = line
        self.column = column

    def locate(self, *, library: str | None = None, definition: str | None = None, line: int | None = None,
               column: int | None = None) -> CqlRuntimeError:
        """Fill in the parts of the location not known yet (an inner location is more precise)."""
        self.library = self.library or library
        self.definition = self.definition or definition
        if self.line is None and line is not None:
            self.line, self.column = line, column
        return self

    @property
    def where(self) -> str:
        """``Library.Definition (3:14)``, or as much of it as is known ('' if nothing)."""
        name = ".".join(p for p in (self.library, self.definition) if p)
        pos = f"{self.line}:{self.column}" if self.line is not None else ""
        return f"{name} ({pos})" if name and pos else (name or pos)

    def __str__(self) -> str:
        where = self.where
        return f"{where}: {self.message}" if where else self.message


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


# Python's names for run-time values, as some messages still spell them, and the CQL type each is.
_PY_TO_CQL = {"int": "Integer", "str": "String", "bool": "Boolean", "float": "Decimal", "NoneType": "null",
              "list": "List", "dict": "Tuple", "tuple": "Tuple", "FhirNode": "FHIR element"}
_NAME_LIST = re.compile(r"\((\w+(?:, \w+)*)\)")
_QUOTED = re.compile(r"'(" + "|".join(_PY_TO_CQL) + r")'")
_ARTICLE = re.compile(r"\b(an?) (int|str|bool|float|NoneType|FhirNode)\b")  # not 'a list': English too


def cql_type_names(text: str) -> str:
    """``text`` with Python type names of values (``(int, str)``, ``'NoneType'``, ``a int``) said as
    CQL types: a measure author knows Integer and String, not how pedqm stores them."""
    def names(m: re.Match[str]) -> str:
        parts = m.group(1).split(", ")
        if not any(p in _PY_TO_CQL for p in parts):
            return m.group(0)
        return "(" + ", ".join(_PY_TO_CQL.get(p, p) for p in parts) + ")"

    text = _NAME_LIST.sub(names, text)
    text = _QUOTED.sub(lambda m: _PY_TO_CQL[m.group(1)], text)
    return _ARTICLE.sub(lambda m: f"{'an' if _PY_TO_CQL[m.group(2)][0] in 'AEIOU' else 'a'} {_PY_TO_CQL[m.group(2)]}", text)

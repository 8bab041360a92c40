"""Instrumented compilation: what each clause of a library evaluated to, per subject.

A :class:`Tracer` given to :class:`~pedqm.cql.compiler.CompiledLibrary` wraps the closure of
every *clause* (a definition's or function's body, and each operator, logical operator,
conditional, reference, query and retrieve inside it) so that evaluating it records, in the
current :class:`Trace`, how often it was evaluated, how often its value was "true" in
fqm-execution's sense (true, a non-empty list, any other non-null value) and its last value; a
retrieve also keeps what it returned. Clauses are keyed by library and source span, so
explanations and coverage point at the CQL the author wrote. Without a tracer the compiler
builds the plain closures: the instrumentation costs nothing when off.

Literals, alias, parameter and terminology references, properties and selectors are values
rather than decisions and are not recorded (unless one is a definition's whole body); a node
whose span is an enclosing clause's (`x is not null` is Not(IsNull(x))) is recorded by the
outermost clause of that span, whose value is the one the author wrote.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, fields, is_dataclass
from typing import Any

from . import model
from . import types as T
from .resolver import ResolvedLibrary

Fn = Callable[[Any], Any]

# the node kinds that are clauses (besides every definition's and function's root)
_CLAUSE_KINDS = (model.OperatorCall, model.Logical, model.If, model.Case, model.ExpressionRef, model.FunctionRef,
                 model.Query, model.Retrieve, model.Is, model.As, model.Message)
# operators the resolver inserts around an operand (implicit conversions): over the operand's own
# span they say nothing the author wrote, so the operand records the clause
_CONVERSIONS = frozenset({"ImplicitConvert", "ToSystemValue", "DateTimeWithDefaultOffset", *T.IMPLICIT.values()})


@dataclass(frozen=True)
class Span:
    line: int
    column: int
    end_line: int
    end_column: int  # the column after the last character

    def __str__(self) -> str:
        return f"{self.line}:{self.column}-{self.end_line}:{self.end_column}"


@dataclass(frozen=True)
class Clause:
    """One recorded expression: where it is and what it is part of."""

    index: int
    library: str  # library name (key for anonymous libraries)
    version: str | None
    owner: str  # the definition (or function) whose body holds it
    owner_kind: str  # 'definition' | 'function' | 'parameter'
    kind: str  # model node name, with the operator for OperatorCall/Logical ('OperatorCall:Equal')
    span: Span
    root: bool  # the whole body of its owner
    detail: str | None = None  # a retrieve's data type and value set, a reference's name
    library_key: str = ""  # the registry key of `library` (name|version)
    target: str | None = None  # the library key of the definition or function a reference names

    @property
    def key(self) -> str:
        return f"{self.library}:{self.span}"


def truthy(value: Any) -> bool:
    """A clause "passed" (fqm-execution's clause result TRUE): true, a non-empty list, or any
    other non-null value."""
    if value is None or value is False:
        return False
    if isinstance(value, list):
        return bool(value)
    return True


class Trace:
    """What the clauses did for one subject (arrays indexed by `Clause.index`)."""

    __slots__ = ("subject", "hits", "trues", "last", "retrieved")

    def __init__(self, n: int, subject: str | None = None):
        self.subject = subject
        self.hits = [0] * n
        self.trues = [0] * n
        self.last: list[Any] = [None] * n
        self.retrieved: dict[int, list[Any]] = {}  # retrieve clause -> what it returned (each item once)

    def result(self, index: int) -> str:
        """fqm-execution's clause result: 'TRUE' (true at least once), 'FALSE', or 'UNHIT'."""
        if index >= len(self.hits) or not self.hits[index]:
            return "UNHIT"
        return "TRUE" if self.trues[index] else "FALSE"


class Tracer:
    """Registry of clauses plus the trace of the subject being evaluated.

    One tracer serves a library and those it includes (pass it to the compile of the main
    library). Call :meth:`begin` before each subject; clauses evaluated outside a subject are
    recorded in a scratch trace that nobody reads.
    """

    def __init__(self) -> None:
        self.clauses: list[Clause] = []
        self._by_span: dict[tuple[str, int, int, int, int], int] = {}
        self._owners: dict[str, dict[int, tuple[str, str, bool, bool]]] = {}  # library key -> id(node) -> owner
        self.current = Trace(0)

    def begin(self, subject: str | None = None) -> Trace:
        """A fresh trace for the next subject (the tracer's clauses are all compiled by now)."""
        self.current = Trace(len(self.clauses), subject)
        return self.current

    def clauses_of(self, library: str) -> Iterator[Clause]:
        return (c for c in self.clauses if c.library == library)

    # -- compile time
    def wrap(self, fn: Fn, node: model.Node, lib: ResolvedLibrary) -> Fn:
        """The closure to use for `node`: `fn` itself, or `fn` recording into the current trace."""
        owner = self._owner(lib, node)
        if owner is None or not node.loc.line:
            return fn
        name, kind, root, shadowed = owner
        if shadowed or not _records(node, root):
            return fn
        loc = node.loc
        span_key = (lib.key, loc.line, loc.column, loc.end_line, loc.end_column)
        if span_key in self._by_span:  # a node compiled twice (shared by the resolver) records once
            return fn
        index = len(self.clauses)
        self._by_span[span_key] = index
        self.clauses.append(Clause(index, lib.name or lib.key, lib.version, name, kind, _kind(node),
                                   Span(loc.line, loc.column, loc.end_line or loc.line, loc.end_column or loc.column),
                                   root, _detail(node, lib), lib.key, _target(node)))
        if isinstance(node, model.Retrieve):
            return self._retrieve_wrapper(fn, index)
        return self._wrapper(fn, index)

    def _wrapper(self, fn: Fn, i: int) -> Fn:
        tracer = self

        def traced(env: Any) -> Any:
            v = fn(env)
            t = tracer.current
            t.hits[i] += 1
            t.last[i] = v
            if v is not None and v is not False and (v.__class__ is not list or v):
                t.trues[i] += 1
            return v

        return traced

    def _retrieve_wrapper(self, fn: Fn, i: int) -> Fn:
        tracer = self

        def traced_retrieve(env: Any) -> Any:
            v = fn(env)
            t = tracer.current
            t.hits[i] += 1
            t.last[i] = v
            if v:
                t.trues[i] += 1
                found = t.retrieved.setdefault(i, [])
                ids = {id(x) for x in found}
                found.extend(x for x in v if id(x) not in ids)
            return v

        return traced_retrieve

    def _owner(self, lib: ResolvedLibrary, node: model.Node) -> tuple[str, str, bool, bool] | None:
        owners = self._owners.get(lib.key)
        if owners is None:
            owners = self._owners[lib.key] = _owner_index(lib)
        return owners.get(id(node))


def _owner_index(lib: ResolvedLibrary) -> dict[int, tuple[str, str, bool, bool]]:
    """id(node) -> (owning definition or function, its kind, whether the node is its whole body,
    whether an enclosing clause has the same span and records it instead).

    Of nodes sharing one span the outermost that is a clause records it: `x is not null` is
    Not(IsNull(x)) over one span, and its clause result is the Not's."""
    out: dict[int, tuple[str, str, bool, bool]] = {}
    roots: list[tuple[str, str, Any]] = [(d.name, "definition", d.expression) for d in lib.definitions.values()]
    roots += [(fm.name, "function", fm.body) for overloads in lib.functions.values() for fm in overloads]
    roots += [(p.name, "parameter", p.default) for p in lib.parameters.values()]
    for name, kind, root in roots:
        if root is None:
            continue
        seen: set[int] = set()
        stack: list[tuple[Any, Any, bool]] = [(root, None, False)]  # (object, enclosing span, a clause records that span)
        while stack:
            obj, outer_span, covered = stack.pop()
            if obj is None or isinstance(obj, (str, int, float, bool)) or id(obj) in seen:
                continue
            seen.add(id(obj))
            if isinstance(obj, (list, tuple)):
                stack.extend((x, outer_span, covered) for x in obj)
                continue
            if isinstance(obj, dict):
                stack.extend((x, outer_span, covered) for x in obj.values())
                continue
            if not is_dataclass(obj):
                continue
            span, cover = outer_span, covered
            if isinstance(obj, model.Node):
                loc = obj.loc
                span = (loc.line, loc.column, loc.end_line, loc.end_column)
                is_root = obj is root
                shadowed = not is_root and span == outer_span and covered
                out.setdefault(id(obj), (name, kind, is_root, shadowed))
                cover = _records(obj, is_root) or (span == outer_span and covered)
            stack.extend((getattr(obj, f.name), span, cover) for f in fields(obj) if f.name not in ("type", "candidates", "loc"))
    return out


def _records(node: model.Node, root: bool) -> bool:
    """Whether `node` is a clause (an implicit conversion over its operand's span is not)."""
    if root:
        return True
    if not isinstance(node, _CLAUSE_KINDS):
        return False
    if isinstance(node, model.OperatorCall) and node.name in _CONVERSIONS and len(node.operands) == 1:
        return _span(node.operands[0]) != _span(node)
    if isinstance(node, model.As):
        return _span(node.operand) != _span(node)
    return True


def _span(node: model.Node) -> tuple[int, int, int, int]:
    loc = node.loc
    return loc.line, loc.column, loc.end_line, loc.end_column


def _kind(node: model.Node) -> str:
    if isinstance(node, model.OperatorCall):
        return f"OperatorCall:{node.name}"
    if isinstance(node, model.Logical):
        return f"Logical:{node.op}"
    return type(node).__name__


def _target(node: model.Node) -> str | None:
    return node.library if isinstance(node, (model.ExpressionRef, model.FunctionRef)) else None


def _detail(node: model.Node, lib: ResolvedLibrary) -> str | None:
    if isinstance(node, model.Retrieve):
        what = node.data_type.split(".")[-1]
        codes = node.codes
        if isinstance(codes, model.TerminologyRef):
            return f"{what}: {codes.name}"
        return what
    if isinstance(node, (model.ExpressionRef, model.FunctionRef)):
        return node.name
    if isinstance(node, model.OperatorCall) and node.name in ("InValueSet", "AnyInValueSet"):
        vs = node.operands[1] if len(node.operands) > 1 else None
        if isinstance(vs, model.TerminologyRef):
            return f"in: {vs.name}"
    return None

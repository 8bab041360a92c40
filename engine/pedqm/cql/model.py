"""The resolved model: what the resolver makes of the AST and the compiler turns into closures.

Every name here is resolved (an `AliasRef` is an alias, an `ExpressionRef` a definition, a
`Property` a property), every system operator is bound to its ELM name, and every node carries
its static type (`ANY` where unknown). Node names follow ELM (`ExpressionRef`, `FunctionRef`,
`Query`, `AliasedQuerySource`, `Retrieve`, `IntervalSelector`, ...).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, fields, is_dataclass
from typing import Any

from .ast import NOWHERE, Loc
from .types import ANY, CqlType


@dataclass(eq=False)
class Node:
    type: CqlType = field(default=ANY, kw_only=True)
    loc: Loc = field(default=NOWHERE, kw_only=True)


@dataclass(eq=False)
class Literal(Node):
    value: Any


@dataclass(eq=False)
class OperatorCall(Node):
    """A call of a system operator registered in :mod:`pedqm.cql.operators.registry`."""

    name: str
    operands: list[Node]
    precision: str | None = None
    options: dict[str, Any] = field(default_factory=dict)


@dataclass(eq=False)
class Logical(Node):
    """`and` / `or` / `implies` / `xor`: kept apart from OperatorCall so evaluation can stop
    early (false and X) without evaluating X, which may be expensive or raise."""

    op: str
    left: Node
    right: Node


@dataclass(eq=False)
class If(Node):
    condition: Node
    then: Node
    else_: Node


@dataclass(eq=False)
class Case(Node):
    comparand: Node | None
    items: list[tuple[Node, Node]]
    else_: Node


@dataclass(eq=False)
class ExpressionRef(Node):
    library: str  # key of the library holding the definition
    name: str


@dataclass(eq=False)
class ParameterRef(Node):
    library: str
    name: str


@dataclass(eq=False)
class FunctionRef(Node):
    library: str
    name: str
    operands: list[Node]
    candidates: list[Any]  # FunctionModel overloads still possible after static checks


@dataclass(eq=False)
class OperandRef(Node):
    name: str


@dataclass(eq=False)
class AliasRef(Node):
    name: str


@dataclass(eq=False)
class QueryLetRef(Node):
    name: str


@dataclass(eq=False)
class TerminologyRef(Node):
    """A reference to a codesystem/valueset/code/concept definition (value computed once)."""

    library: str
    kind: str  # 'codesystem' | 'valueset' | 'code' | 'concept'
    name: str


@dataclass(eq=False)
class Property(Node):
    source: Node
    path: str


@dataclass(eq=False)
class ListSelector(Node):
    elements: list[Node]


@dataclass(eq=False)
class IntervalSelector(Node):
    low: Node
    high: Node
    low_closed: bool
    high_closed: bool
    point_type: str | None = None


@dataclass(eq=False)
class TupleSelector(Node):
    elements: list[tuple[str, Node]]


@dataclass(eq=False)
class Instance(Node):
    class_type: str  # qualified type name, e.g. 'System.Code', 'FHIR.Coding'
    elements: list[tuple[str, Node]]


@dataclass(eq=False)
class Is(Node):
    operand: Node
    is_type: CqlType


@dataclass(eq=False)
class As(Node):
    operand: Node
    as_type: CqlType
    strict: bool = False


@dataclass(eq=False)
class AliasedQuerySource:
    alias: str
    expression: Node


@dataclass(eq=False)
class RelationshipClause:
    alias: str
    expression: Node
    such_that: Node
    negated: bool  # `without`


@dataclass(eq=False)
class SortByItem:
    expression: Node | None  # None: sort by the element itself
    descending: bool


@dataclass(eq=False)
class AggregateClause:
    identifier: str
    starting: Node | None
    expression: Node
    distinct: bool


@dataclass(eq=False)
class Query(Node):
    sources: list[AliasedQuerySource]
    lets: list[tuple[str, Node]]
    relationships: list[RelationshipClause]
    where: Node | None
    return_: Node | None
    distinct: bool
    aggregate: AggregateClause | None
    sort: list[SortByItem] | None
    singular: bool  # the single source is not a list: the result is not a list either


@dataclass(eq=False)
class Retrieve(Node):
    data_type: str  # qualified type name, e.g. 'FHIR.Condition'
    code_path: str | None = None
    comparator: str | None = None
    codes: Node | None = None
    context: Node | None = None
    follow_references: bool = False  # see DataProvider.retrieve


@dataclass(eq=False)
class Message(Node):
    source: Node
    condition: Node
    code: Node
    severity: Node
    message: Node


@dataclass
class FunctionModel:
    """One overload of a user-defined (or external) function."""

    library: str
    name: str
    operand_names: list[str]
    operand_types: list[CqlType]
    return_type: CqlType
    body: Node | None
    fluent: bool
    external: bool
    access: str = "public"
    loc: Loc = NOWHERE
    ast_body: Any = None  # resolved lazily so (mutually) recursive functions work


@dataclass
class DefinitionModel:
    library: str
    name: str
    expression: Node | None
    context: str | None
    access: str
    loc: Loc = NOWHERE
    ast_expr: Any = None


@dataclass
class ParameterModel:
    library: str
    name: str
    declared_type: CqlType
    default: Node | None


def walk(roots: Iterable[Any], follow: Callable[[Any], Iterable[Any]] | None = None) -> Iterator[Any]:
    """Every node reachable from `roots`, each once: the fields of model nodes (not their static
    type, nor a FunctionRef's candidate overloads), lists, tuples and dicts. `follow(node)` may
    add roots that are not fields, e.g. the definition an ExpressionRef names. Iterative, since
    published expressions nest deeply."""
    seen: set[int] = set()
    stack = list(roots)
    while stack:
        node = stack.pop()
        if node is None or isinstance(node, (str, int, float, bool)) or id(node) in seen:
            continue
        seen.add(id(node))
        yield node
        if follow is not None:
            stack.extend(follow(node))
        if isinstance(node, (list, tuple)):
            stack.extend(node)
        elif isinstance(node, dict):
            stack.extend(node.values())
        elif is_dataclass(node):
            stack.extend(getattr(node, f.name) for f in fields(node) if f.name not in ("type", "candidates"))


def _type_text(t: CqlType) -> str:
    return str(t).replace("System.", "")


def _leaf(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return f"{int(value)}" if type(value) is int else f"{int(value)}L"  # Long
    if isinstance(value, str):
        return repr(value)
    if isinstance(value, CqlType):
        return _type_text(value)
    return str(value)


def render(node: Any) -> str:
    """A one-line rendering of a resolved expression: each node as `Kind(children):Type`, with
    its static type where known. Bound operators show their ELM name (and precision), implicit
    conversions the type they convert to, function calls the overload chosen, so resolver
    tests can state what the resolver made of a CQL expression as one string."""
    if isinstance(node, (list, tuple)):
        return "[" + ", ".join(render(x) for x in node) + "]"
    if not is_dataclass(node) or isinstance(node, (type, CqlType)):
        return _leaf(node)
    node_type = node.type if isinstance(node, Node) else ANY
    suffix = f":{_type_text(node_type)}" if node_type != ANY else ""
    if isinstance(node, Literal):
        return f"{_leaf(node.value)}{suffix}"
    if isinstance(node, OperatorCall):
        head = node.name
        if node.name == "ImplicitConvert" and node.options.get("to") is not None:
            head += f"<{_type_text(node.options['to'])}>"
        if node.precision:
            head += f"[{node.precision}]"
        return f"{head}({', '.join(render(x) for x in node.operands)}){suffix}"
    if isinstance(node, Logical):
        return f"{node.op.capitalize()}({render(node.left)}, {render(node.right)}){suffix}"
    if isinstance(node, FunctionRef):
        chosen = ""
        if len(node.candidates) == 1:
            chosen = "<" + ", ".join(_type_text(t) for t in node.candidates[0].operand_types) + ">"
        elif node.candidates:
            chosen = f"<{len(node.candidates)} overloads>"
        name = f"{node.library.split('|')[0]}.{node.name}" if node.library else node.name
        return f"{name}{chosen}({', '.join(render(x) for x in node.operands)}){suffix}"
    if isinstance(node, (ExpressionRef, ParameterRef)):
        return f"{type(node).__name__} {node.name!r}{suffix}"
    if isinstance(node, (OperandRef, AliasRef, QueryLetRef)):
        return f"{type(node).__name__} {node.name}{suffix}"
    if isinstance(node, IntervalSelector):
        return (f"Interval{'[' if node.low_closed else '('}{render(node.low)}, {render(node.high)}"
                f"{']' if node.high_closed else ')'}{suffix}")
    parts = [f"{f.name.rstrip('_')}={render(getattr(node, f.name))}" for f in fields(node)
             if f.name not in ("type", "loc", "candidates") and getattr(node, f.name) not in (None, [], False)]
    return f"{type(node).__name__}({', '.join(parts)}){suffix}"

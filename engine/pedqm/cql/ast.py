"""Syntax tree of CQL: plain nodes built from the Lark parse tree, with no name resolution.

This is the second representation in the pipeline (text -> parse tree -> **AST** -> resolved
model -> compiled evaluator). Nodes record what was written and where; deciding whether an
identifier is an alias, a definition, a parameter or a property is the resolver's job, because
a bottom-up transformer has no scopes to decide it with. Operator nodes carry the ELM operator
name (`Add`, `Equal`, `Start`, ...) so later passes share the specification's vocabulary.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Loc:
    line: int = 0
    column: int = 0
    # where the construct ends (the column after its last character, as Lark counts); not part
    # of equality, so a node's identity is still where it starts. Explanations and coverage key
    # clauses by the whole span.
    end_line: int = field(default=0, compare=False)
    end_column: int = field(default=0, compare=False)


NOWHERE = Loc()


# ---------------------------------------------------------------- type specifiers
@dataclass(slots=True)
class TypeSpec:
    loc: Loc = field(default=NOWHERE, kw_only=True, compare=False)


@dataclass(slots=True)
class NamedTypeSpec(TypeSpec):
    name: str
    namespace: str | None = None

    def __str__(self) -> str:
        return f"{self.namespace}.{self.name}" if self.namespace else self.name


@dataclass(slots=True)
class ListTypeSpec(TypeSpec):
    element: TypeSpec

    def __str__(self) -> str:
        return f"List<{self.element}>"


@dataclass(slots=True)
class IntervalTypeSpec(TypeSpec):
    point: TypeSpec

    def __str__(self) -> str:
        return f"Interval<{self.point}>"


@dataclass(slots=True)
class TupleTypeSpec(TypeSpec):
    elements: list[tuple[str, TypeSpec]]

    def __str__(self) -> str:
        return "Tuple{" + ", ".join(f"{n} {t}" for n, t in self.elements) + "}"


@dataclass(slots=True)
class ChoiceTypeSpec(TypeSpec):
    choices: list[TypeSpec]

    def __str__(self) -> str:
        return "Choice<" + ", ".join(str(c) for c in self.choices) + ">"


# ---------------------------------------------------------------- expressions
@dataclass(slots=True)
class Expr:
    loc: Loc = field(default=NOWHERE, kw_only=True, compare=False)


@dataclass(slots=True)
class Literal(Expr):
    """A literal; `kind` is the System type name (or 'Null') and `text` the source spelling."""

    kind: str
    text: str


@dataclass(slots=True)
class QuantityLiteral(Expr):
    value: str
    unit: str  # UCUM unit without quotes, or a temporal keyword such as 'days'


@dataclass(slots=True)
class RatioLiteral(Expr):
    numerator: QuantityLiteral
    denominator: QuantityLiteral


@dataclass(slots=True)
class Identifier(Expr):
    """An unqualified name: alias, let, definition, parameter, terminology, or property."""

    name: str


@dataclass(slots=True)
class SpecialIdentifier(Expr):
    name: str  # '$this' | '$index' | '$total'


@dataclass(slots=True)
class ExternalConstant(Expr):
    name: str


@dataclass(slots=True)
class Member(Expr):
    """`source.name`: a property access, or a library-qualified reference when `source`
    names an included library."""

    source: Expr
    name: str


@dataclass(slots=True)
class Call(Expr):
    """`name(args)` or `source.name(args)` (fluent or library-qualified)."""

    name: str
    args: list[Expr]
    source: Expr | None = None


@dataclass(slots=True)
class Indexer(Expr):
    source: Expr
    index: Expr


@dataclass(slots=True)
class Unary(Expr):
    """A prefix operator with ELM name `op` (Not, Exists, Negate, Start, End, Width, Successor,
    Predecessor, SingletonFrom, PointFrom, Distinct, Flatten, IsNull, IsTrue, IsFalse)."""

    op: str
    operand: Expr


@dataclass(slots=True)
class Binary(Expr):
    """An infix operator with ELM name `op`; `precision` for `in day of` / `contains day of`."""

    op: str
    left: Expr
    right: Expr
    precision: str | None = None


@dataclass(slots=True)
class Timing(Expr):
    """An interval operator phrase (CQL 5.6 'timing phrases') before translation to ELM.

    `kind` is one of: same_as, includes, included_in, before_after, within, meets, overlaps,
    starts, ends. The other fields hold the optional parts of the phrase as written.
    """

    kind: str
    left: Expr
    right: Expr
    left_part: str | None = None  # 'starts' | 'ends' | 'occurs' (None = whole)
    right_part: str | None = None  # 'start' | 'end'
    precision: str | None = None
    proper: bool = False
    relation: str | None = None  # same_as: 'before'|'after'|None; before_after: 'before'|'after'
    or_on: bool = False  # 'on or before', 'before or on'
    direction: str | None = None  # meets/overlaps: 'before' | 'after'
    offset: QuantityLiteral | None = None
    offset_qualifier: str | None = None  # 'or more' | 'or less' | 'less than' | 'more than'
    included_keyword: str = "included in"  # 'during' or 'included in'


@dataclass(slots=True)
class Between(Expr):
    operand: Expr
    low: Expr
    high: Expr
    proper: bool = False


@dataclass(slots=True)
class DurationBetween(Expr):
    """`duration in X between a and b` / `X between a and b` (kind 'duration') and
    `difference in X between a and b` (kind 'difference')."""

    kind: str
    precision: str
    left: Expr
    right: Expr


@dataclass(slots=True)
class DurationOf(Expr):
    """`duration in X of interval` / `difference in X of interval`."""

    kind: str
    precision: str
    operand: Expr


@dataclass(slots=True)
class ComponentFrom(Expr):
    component: str  # year..millisecond, date, time, timezoneoffset
    operand: Expr


@dataclass(slots=True)
class TypeExtent(Expr):
    which: str  # 'minimum' | 'maximum'
    type: NamedTypeSpec


@dataclass(slots=True)
class TypeOp(Expr):
    """`x is T`, `x as T`, `cast x as T` (op 'is' | 'as' | 'cast')."""

    op: str
    operand: Expr
    type: TypeSpec


@dataclass(slots=True)
class Convert(Expr):
    operand: Expr
    type: TypeSpec | None = None
    unit: str | None = None


@dataclass(slots=True)
class If(Expr):
    condition: Expr
    then: Expr
    else_: Expr


@dataclass(slots=True)
class CaseItem:
    when: Expr
    then: Expr


@dataclass(slots=True)
class Case(Expr):
    comparand: Expr | None
    items: list[CaseItem]
    else_: Expr


@dataclass(slots=True)
class ExpandCollapse(Expr):
    op: str  # 'Expand' | 'Collapse'
    operand: Expr
    per: Expr | str | None = None  # an expression or a precision keyword


@dataclass(slots=True)
class IntervalSelector(Expr):
    low: Expr
    high: Expr
    low_closed: bool
    high_closed: bool


@dataclass(slots=True)
class ListSelector(Expr):
    elements: list[Expr]
    element_type: TypeSpec | None = None


@dataclass(slots=True)
class TupleSelector(Expr):
    elements: list[tuple[str, Expr]]


@dataclass(slots=True)
class InstanceSelector(Expr):
    type: NamedTypeSpec
    elements: list[tuple[str, Expr]]


@dataclass(slots=True)
class CodeSelector(Expr):
    code: str
    system: str  # name of a codesystem definition, possibly 'Lib.Name'
    display: str | None = None


@dataclass(slots=True)
class ConceptSelector(Expr):
    codes: list[CodeSelector]
    display: str | None = None


@dataclass(slots=True)
class Retrieve(Expr):
    type: NamedTypeSpec
    context: Expr | None = None
    code_path: str | None = None
    comparator: str | None = None  # 'in' | '=' | '~'
    terminology: Expr | None = None


@dataclass(slots=True)
class AliasedSource:
    expr: Expr
    alias: str
    loc: Loc = NOWHERE


@dataclass(slots=True)
class With:
    source: AliasedSource
    such_that: Expr
    negated: bool = False  # True for `without`


@dataclass(slots=True)
class SortItem:
    expr: Expr | None
    descending: bool = False


@dataclass(slots=True)
class Query(Expr):
    sources: list[AliasedSource]
    lets: list[tuple[str, Expr]] = field(default_factory=list)
    relationships: list[With] = field(default_factory=list)
    where: Expr | None = None
    return_: Expr | None = None
    return_distinct: bool = True  # `return all` sets False
    aggregate: tuple[str, Expr | None, Expr, bool] | None = None  # (name, starting, expr, distinct)
    sort: list[SortItem] | None = None


# ---------------------------------------------------------------- library
@dataclass(slots=True)
class UsingDef:
    model: str
    version: str | None
    loc: Loc = NOWHERE


@dataclass(slots=True)
class IncludeDef:
    path: str
    version: str | None
    alias: str
    loc: Loc = NOWHERE


@dataclass(slots=True)
class CodeSystemDef:
    name: str
    id: str
    version: str | None
    access: str = "public"
    loc: Loc = NOWHERE


@dataclass(slots=True)
class ValueSetDef:
    name: str
    id: str
    version: str | None
    codesystems: list[str] = field(default_factory=list)
    access: str = "public"
    loc: Loc = NOWHERE


@dataclass(slots=True)
class CodeDef:
    name: str
    code: str
    system: str
    display: str | None = None
    access: str = "public"
    loc: Loc = NOWHERE


@dataclass(slots=True)
class ConceptDef:
    name: str
    codes: list[str]
    display: str | None = None
    access: str = "public"
    loc: Loc = NOWHERE


@dataclass(slots=True)
class ParameterDef:
    name: str
    type: TypeSpec | None
    default: Expr | None
    access: str = "public"
    loc: Loc = NOWHERE


@dataclass(slots=True)
class ExpressionDef:
    name: str
    expr: Expr
    context: str | None
    access: str = "public"
    loc: Loc = NOWHERE


@dataclass(slots=True)
class OperandDef:
    name: str
    type: TypeSpec


@dataclass(slots=True)
class FunctionDef:
    name: str
    operands: list[OperandDef]
    return_type: TypeSpec | None
    body: Expr | None  # None for `external`
    fluent: bool = False
    context: str | None = None
    access: str = "public"
    loc: Loc = NOWHERE


@dataclass(slots=True)
class Library:
    name: str | None
    version: str | None
    usings: list[UsingDef] = field(default_factory=list)
    includes: list[IncludeDef] = field(default_factory=list)
    codesystems: list[CodeSystemDef] = field(default_factory=list)
    valuesets: list[ValueSetDef] = field(default_factory=list)
    codes: list[CodeDef] = field(default_factory=list)
    concepts: list[ConceptDef] = field(default_factory=list)
    parameters: list[ParameterDef] = field(default_factory=list)
    contexts: list[str] = field(default_factory=list)
    statements: list[ExpressionDef | FunctionDef] = field(default_factory=list)

"""AST -> resolved model: scopes, includes, overloads, implicit conversions, result types.

The resolver is the only pass that knows what a name means. It walks each definition once,
keeping a stack of query/function scopes, and produces :mod:`pedqm.cql.model` nodes. Problems
are collected as :class:`~pedqm.cql.errors.SourceError` (with library, line and column) so that a
library reports all of them at once; a definition with an error resolves to nothing and the
rest of the library still resolves.

Timing phrases are translated here to the interval operators the specification defines them
by (CQL Author's guide 'Timing Phrases', Reference 'Interval Operators').
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Protocol

from . import ast, model
from . import types as T
from .errors import SourceError
from .operators.registry import lookup
from .runtime.values import INT_MAX, INT_MIN
from .signatures import GENERIC, Signature, signatures

_PRECISIONS = {
    "year": "year", "years": "year", "month": "month", "months": "month", "week": "week",
    "weeks": "week", "day": "day", "days": "day", "hour": "hour", "hours": "hour",
    "minute": "minute", "minutes": "minute", "second": "second", "seconds": "second",
    "millisecond": "millisecond", "milliseconds": "millisecond",
}

# CQL function names whose ELM operator has another name or fixed options
_FUNCTION_ALIASES: dict[str, tuple[str, dict[str, Any]]] = {
    **{
        f"CalculateAgeIn{unit}s{suffix}": (f"CalculateAge{suffix}", {"precision": unit.lower()})
        for unit in ("Year", "Month", "Week", "Day", "Hour", "Minute", "Second")
        for suffix in ("", "At")
    },
    **{
        f"AgeIn{unit}s{suffix}": (f"Age{suffix}", {"precision": unit.lower()})
        for unit in ("Year", "Month", "Week", "Day", "Hour", "Minute", "Second")
        for suffix in ("", "At")
    },
    "DateTime": ("DateTimeSelector", {}),
    "Date": ("DateSelector", {}),
    "Time": ("TimeSelector", {}),
}

# operators that work on model values (resources) as they are, without conversion to System values
# operators whose two operands must share a type (implicit conversions make them so)
_COMPARISONS = {
    "Equal", "NotEqual", "Equivalent", "NotEquivalent", "Less", "Greater", "LessOrEqual", "GreaterOrEqual",
}

# operators over points and intervals whose point types must agree
_POINT_OPERATORS = {
    "In", "ProperIn", "Contains", "ProperContains", "Includes", "IncludedIn", "ProperIncludes",
    "ProperIncludedIn", "Before", "After", "SameAs", "SameOrBefore", "SameOrAfter", "Meets",
    "MeetsBefore", "MeetsAfter", "Overlaps", "OverlapsBefore", "OverlapsAfter", "Starts", "Ends",
}

_ARITHMETIC = {"Add", "Subtract", "Multiply", "Divide", "Modulo", "TruncatedDivide"}
_NUMERIC = ["System.Integer", "System.Long", "System.Decimal"]

_KEEPS_MODEL_VALUES = {
    "ToSystemValue", "Exists", "Count", "First", "Last", "SingletonFrom", "Distinct", "Flatten",
    "IndexOf", "Skip", "Take", "Tail", "Slice", "Indexer", "Coalesce", "CoalesceList", "IsNull",
    "IsTrue", "IsFalse", "Union", "Intersect", "Except", "Length", "children", "descendents",
}

_BOOLEAN_OPS = {
    "Equal", "NotEqual", "Equivalent", "NotEquivalent", "Less", "Greater", "LessOrEqual",
    "GreaterOrEqual", "In", "Contains", "Includes", "IncludedIn", "ProperIncludes",
    "ProperIncludedIn", "ProperIn", "ProperContains", "Before", "After", "SameAs",
    "SameOrBefore", "SameOrAfter", "Meets", "MeetsBefore", "MeetsAfter", "Overlaps",
    "OverlapsBefore", "OverlapsAfter", "Starts", "Ends", "Exists", "Not", "IsNull", "IsTrue",
    "IsFalse", "StartsWith", "EndsWith", "Matches", "AllTrue", "AnyTrue", "InValueSet",
    "InCodeSystem", "AnyInValueSet", "CanConvertQuantity", "ConvertsToBoolean", "ConvertsToDate",
    "ConvertsToDateTime", "ConvertsToDecimal", "ConvertsToInteger", "ConvertsToLong",
    "ConvertsToQuantity", "ConvertsToRatio", "ConvertsToString", "ConvertsToTime",
}
_RESULT_TYPES: dict[str, T.CqlType] = {
    "Count": T.INTEGER, "Length": T.INTEGER, "IndexOf": T.INTEGER, "PositionOf": T.INTEGER,
    "LastPositionOf": T.INTEGER, "Size": T.ANY, "Upper": T.STRING, "Lower": T.STRING,
    "Concatenate": T.STRING, "Combine": T.STRING, "Substring": T.STRING, "ReplaceMatches": T.STRING,
    "Split": T.ListType(T.STRING), "SplitOnMatches": T.ListType(T.STRING), "ToString": T.STRING,
    "ToInteger": T.INTEGER, "ToLong": T.LONG, "ToDecimal": T.DECIMAL, "ToBoolean": T.BOOLEAN,
    "ToQuantity": T.QUANTITY, "ToRatio": T.RATIO, "ToDate": T.DATE, "ToDateTime": T.DATETIME,
    "ToTime": T.TIME, "ToConcept": T.CONCEPT, "Now": T.DATETIME, "Today": T.DATE,
    "TimeOfDay": T.TIME, "DateTimeSelector": T.DATETIME, "DateSelector": T.DATE,
    "DateTimeWithDefaultOffset": T.DATETIME,
    "TimeSelector": T.TIME, "DateFrom": T.DATE, "TimeFrom": T.TIME,
    "TimezoneOffsetFrom": T.DECIMAL, "DateTimeComponentFrom": T.INTEGER, "Divide": T.DECIMAL,
    "Ln": T.DECIMAL, "Exp": T.DECIMAL, "Log": T.DECIMAL, "Avg": T.DECIMAL,
    "CalculateAge": T.INTEGER, "CalculateAgeAt": T.INTEGER, "Age": T.INTEGER, "AgeAt": T.INTEGER,
    "Precision": T.INTEGER,
    "DurationBetween": T.INTEGER, "DifferenceBetween": T.INTEGER,
    "ConvertQuantity": T.QUANTITY, "ExpandValueSet": T.ListType(T.CODE),
    "children": T.ListType(T.ANY), "descendents": T.ListType(T.ANY),
}
# result type = type of the first operand (or its element/point)
_SAME_AS_OPERAND = {
    "Add", "Subtract", "Multiply", "TruncatedDivide", "Modulo", "Negate", "Abs", "Successor",
    "Predecessor", "Distinct", "Skip", "Take", "Tail", "Union", "Intersect", "Except",
    "Round", "Coalesce", "Sum", "Product", "Slice",
}
_ELEMENT_OF_OPERAND = {"First", "Last", "SingletonFrom", "Min", "Max", "Median", "Mode", "Indexer", "CoalesceList"}
_POINT_OF_OPERAND = {"Start", "End", "PointFrom", "Width"}


def _type_text(t: T.CqlType) -> str:
    return str(t).replace("System.", "")


def _known_system(t: T.CqlType) -> bool:
    """A static type known to be a System simple type (not Any, a choice or a model type)."""
    return isinstance(t, T.NamedType) and t.name.startswith("System.") and not T.is_any(t)


_NUMBERS = {"Integer", "Long", "Decimal"}
_TEMPORAL = {"Date", "DateTime", "Time"}


def _arithmetic_defined(op: str, a: T.CqlType, b: T.CqlType) -> bool:
    """Whether CQL defines `op` for two System simple types, implicit conversions included
    (CQL Reference, Arithmetic Operators and Date/Time Arithmetic)."""
    x, y = a.simple, b.simple  # type: ignore[attr-defined]
    if x in _NUMBERS and y in _NUMBERS:
        return True
    if {x, y} <= {"Quantity"} | _NUMBERS:
        return True  # a number converts to a Quantity
    if op in ("Add", "Subtract") and x in _TEMPORAL and (y == "Quantity" or y in _NUMBERS):
        return True  # a number converts to a Quantity (the translator accepts `date - 1`)
    if op == "Add" and x == y == "String":
        return True
    if op == "Subtract" and x in _TEMPORAL and y == x:
        return False  # use `difference in ... between`
    return False


def _fully_known(t: T.CqlType) -> bool:
    """A static type with no unknown and no model part, so that a call no overload accepts
    is certainly an error."""
    if isinstance(t, T.NamedType):
        return _known_system(t)
    if isinstance(t, (T.ListType, T.IntervalType)):
        return _fully_known(t.element if isinstance(t, T.ListType) else t.point)
    if isinstance(t, T.ChoiceType):
        return all(_fully_known(c) for c in t.choices)
    return isinstance(t, T.TupleType)


def _mentions_generic(t: T.CqlType) -> bool:
    if isinstance(t, T.IntervalType):
        return _mentions_generic(t.point)
    if isinstance(t, T.ListType):
        return _mentions_generic(t.element)
    return t == GENERIC


def _point_of(t: T.CqlType) -> T.CqlType | None:
    """The point type of a point or interval type (None for anything else or unknown)."""
    if isinstance(t, T.IntervalType):
        t = t.point
    return t if _is_point_type(t) else None


def _is_point_type(t: T.CqlType) -> bool:
    """A statically known System type that can be a point of an interval."""
    return isinstance(t, T.NamedType) and t.simple in ("Integer", "Long", "Decimal", "Quantity", "Date", "DateTime",
                                                       "Time") and t.name.startswith("System.")


def _is_model_type(t: T.CqlType) -> bool:
    if isinstance(t, T.NamedType):
        return not t.name.startswith("System.") and "." in t.name
    if isinstance(t, T.ListType):
        return _is_model_type(t.element)
    if isinstance(t, T.ChoiceType):
        return any(_is_model_type(c) for c in t.choices)
    return False


@dataclass
class Scope:
    names: dict[str, tuple[str, T.CqlType]] = field(default_factory=dict)  # name -> (kind, type)
    # in `sort by`, an identifier that names nothing else is a property of the sorted element
    unknown_is_property: bool = False


class ResolvedLibrary:
    """A library after resolution: its definitions as model nodes, ready to compile."""

    def __init__(self, key: str, name: str | None, version: str | None, source_name: str):
        self.key = key
        self.name = name
        self.version = version
        self.source_name = source_name
        self.usings: list[ast.UsingDef] = []
        self.includes: dict[str, ResolvedLibrary] = {}
        self.definitions: dict[str, model.DefinitionModel] = {}
        self.functions: dict[str, list[model.FunctionModel]] = {}
        self.parameters: dict[str, model.ParameterModel] = {}
        self.codesystems: dict[str, ast.CodeSystemDef] = {}
        self.valuesets: dict[str, ast.ValueSetDef] = {}
        self.codes: dict[str, ast.CodeDef] = {}
        self.concepts: dict[str, ast.ConceptDef] = {}
        self.contexts: list[str] = []

    def closure(self) -> dict[str, ResolvedLibrary]:
        """This library and every library it includes, directly or not, by key."""
        libs: dict[str, ResolvedLibrary] = {}
        pending = [self]
        while pending:
            lib = pending.pop()
            if lib.key not in libs:
                libs[lib.key] = lib
                pending.extend(lib.includes.values())
        return libs


class _Unresolved(Exception):
    """Raised inside the resolver to abandon one definition after recording its error."""


LibraryLoader = Callable[[str, "str | None"], "ResolvedLibrary"]


class DataModel(Protocol):
    """What the resolver needs from a data model (FHIR, QI-Core, ...): see pedqm.fhir.model."""

    name: str

    def find_class(self, name: str) -> Any: ...

    def element(self, type_name: str, prop: str) -> Any: ...

    def static_type(self, text: str) -> T.CqlType: ...

    def is_subtype(self, type_name: str, ancestor: str) -> bool: ...

    def system_type(self, type_name: str) -> T.CqlType | None:
        """The System type a value of this model type becomes through the model's implicit
        conversion (FHIR.dateTime -> System.DateTime, FHIR.Period -> Interval<DateTime>), or
        None when it has none (resources, backbone elements)."""
        ...


ModelLoader = Callable[[str, "str | None"], DataModel]


class Resolver:
    def __init__(self, lib: ast.Library, source: str, source_name: str, loader: LibraryLoader | None,
                 model_loader: ModelLoader | None = None):
        self.lib = lib
        self.models: dict[str, DataModel] = {}
        self.model_loader = model_loader
        self.lines = source.splitlines()
        self.source_name = lib.name or source_name
        self.loader = loader
        self.errors: list[SourceError] = []
        key = f"{lib.name or source_name}|{lib.version or ''}"
        self.out = ResolvedLibrary(key, lib.name, lib.version, source_name)
        self.scopes: list[Scope] = []
        self._resolving: set[str] = set()
        self._failed: set[str] = set()  # definitions/functions whose errors are already reported

    # ------------------------------------------------------------------ errors
    def error(self, message: str, loc: ast.Loc) -> _Unresolved:
        src = self.lines[loc.line - 1] if 0 < loc.line <= len(self.lines) else ""
        self.errors.append(SourceError(message, loc.line, loc.column, self.source_name, src))
        return _Unresolved(message)

    # ------------------------------------------------------------------ library
    def resolve_library(self) -> ResolvedLibrary:
        out, lib = self.out, self.lib
        out.usings = list(lib.usings)
        for u in lib.usings:
            if u.model == "System":
                continue
            if self.model_loader is None:
                self.error(f"data model {u.model} is not available here", u.loc)
                continue
            try:
                self.models[u.model] = self.model_loader(u.model, u.version)
            except Exception as exc:  # noqa: BLE001 - reported with the using's location
                self.error(str(exc), u.loc)
        out.contexts = list(lib.contexts)
        for inc in lib.includes:
            if self.loader is None:
                self.error(f"cannot include library {inc.path!r}: no library source is available", inc.loc)
                continue
            try:
                out.includes[inc.alias] = self.loader(inc.path, inc.version)
            except Exception as exc:  # noqa: BLE001 - reported as a compile error with location
                self.error(f"cannot include library {inc.path!r}: {exc}", inc.loc)
        for cs in lib.codesystems:
            out.codesystems[cs.name] = cs
        for vs in lib.valuesets:
            out.valuesets[vs.name] = vs
        for cd in lib.codes:
            if self._find_codesystem(cd.system) is None:
                self.error(f"unknown code system {cd.system!r} in code {cd.name!r}", cd.loc)
            out.codes[cd.name] = cd
        for cc in lib.concepts:
            out.concepts[cc.name] = cc
        for ctx_name in dict.fromkeys(lib.contexts):
            # `context Patient` implicitly defines "Patient" as the context's single resource
            if ctx_name != "Unfiltered" and ctx_name not in out.definitions and any(u.model != "System" for u in lib.usings):
                implicit = ast.Unary("SingletonFrom", ast.Retrieve(ast.NamedTypeSpec(ctx_name)))
                out.definitions[ctx_name] = model.DefinitionModel(out.key, ctx_name, None, ctx_name, "public", ast.NOWHERE, implicit)
        for p in lib.parameters:
            declared = self.type_from_spec(p.type) if p.type else T.ANY
            out.parameters[p.name] = model.ParameterModel(out.key, p.name, declared, None)
        for st in lib.statements:
            if isinstance(st, ast.ExpressionDef):
                out.definitions[st.name] = model.DefinitionModel(out.key, st.name, None, st.context, st.access, st.loc, st.expr)
            else:
                fm = model.FunctionModel(
                    out.key, st.name, [o.name for o in st.operands],
                    [self.type_from_spec(o.type) for o in st.operands],
                    self.type_from_spec(st.return_type) if st.return_type else T.ANY,
                    None, st.fluent, st.body is None, st.access, st.loc, st.body,
                )
                out.functions.setdefault(st.name, []).append(fm)
        for p in lib.parameters:
            if p.default is not None:
                try:
                    node = self.expr(p.default)
                    pm = out.parameters[p.name]
                    pm.default = node
                    if T.is_any(pm.declared_type):
                        pm.declared_type = node.type
                except _Unresolved:
                    pass
        for d in out.definitions.values():
            self.resolve_definition(d)
        for overloads in out.functions.values():
            for fm in overloads:
                self.resolve_function(fm)
        unique = {(e.line, e.column, e.message): e for e in self.errors}
        self.errors = sorted(unique.values(), key=lambda e: (e.line, e.column))
        return out

    def resolve_definition(self, d: model.DefinitionModel) -> None:
        if d.expression is not None or d.ast_expr is None or d.name in self._failed:
            return
        if d.name in self._resolving:
            # an expression definition has no parameters, so a definition that reaches itself
            # can never end (the reference translator reports the cycle too)
            raise self.error(f"definition {d.name!r} refers to itself (a cycle of definitions)", d.loc)
        self._resolving.add(d.name)
        saved, self.scopes = self.scopes, []
        try:
            d.expression = self.expr(d.ast_expr)
        except _Unresolved:
            d.expression = None
            self._failed.add(d.name)
        finally:
            self.scopes = saved
            self._resolving.discard(d.name)
        if d.expression is not None:
            d.ast_expr = None

    def resolve_function(self, fm: model.FunctionModel) -> None:
        key = f"function {fm.name}/{id(fm)}"
        if fm.body is not None or fm.ast_body is None or key in self._failed:
            return
        if key in self._resolving:
            return
        self._resolving.add(key)
        saved = self.scopes
        self.scopes = [Scope({n: ("operand", t) for n, t in zip(fm.operand_names, fm.operand_types)})]
        try:
            fm.body = self.expr(fm.ast_body)
            if T.is_any(fm.return_type):
                fm.return_type = fm.body.type
        except _Unresolved:
            fm.body = None
            self._failed.add(key)
        finally:
            self.scopes = saved
            self._resolving.discard(key)
        if fm.body is not None:
            fm.ast_body = None

    # ------------------------------------------------------------------ types
    def type_from_spec(self, spec: ast.TypeSpec | None) -> T.CqlType:
        if spec is None:
            return T.ANY
        if isinstance(spec, ast.NamedTypeSpec):
            if spec.namespace:
                if spec.namespace == "System":
                    if spec.name not in T.SYSTEM_TYPE_NAMES:
                        raise self.error(f"unknown type System.{spec.name}", spec.loc)
                    return T.system(spec.name)
                m = self.models.get(spec.namespace)
                if m is not None and m.find_class(spec.name) is None:
                    raise self.error(f"model {spec.namespace} has no type {spec.name!r}", spec.loc)
                return T.NamedType(f"{spec.namespace}.{spec.name}")
            # the library's models first, then System (so FHIRHelpers' `Quantity` is FHIR.Quantity)
            for m in self.models.values():
                ci = m.find_class(spec.name)  # also accepts a quoted "QICore.observation-bmi"
                if ci is not None:
                    return T.NamedType(ci.qualified)
            if spec.name in T.SYSTEM_TYPE_NAMES:
                return T.system(spec.name)
            if self.models:
                raise self.error(f"unknown type {spec.name!r}", spec.loc)
            return T.NamedType(spec.name)
        if isinstance(spec, ast.ListTypeSpec):
            return T.ListType(self.type_from_spec(spec.element))
        if isinstance(spec, ast.IntervalTypeSpec):
            return T.IntervalType(self.type_from_spec(spec.point))
        if isinstance(spec, ast.TupleTypeSpec):
            return T.TupleType(tuple((n, self.type_from_spec(t)) for n, t in spec.elements))
        if isinstance(spec, ast.ChoiceTypeSpec):
            return T.ChoiceType(tuple(self.type_from_spec(c) for c in spec.choices))
        raise self.error(f"unsupported type specifier {spec}", spec.loc)

    # ------------------------------------------------------------------ helpers
    def op(self, name: str, operands: list[model.Node], loc: ast.Loc, precision: str | None = None, **options: Any) -> model.OperatorCall:
        if self.models and name not in _KEEPS_MODEL_VALUES:
            operands = [self._system_value(o) for o in operands]
        if name in ("In", "Contains") and len(operands) == 2:
            vocab = operands[1] if name == "In" else operands[0]
            item = operands[0] if name == "In" else operands[1]
            if vocab.type == T.VALUESET:
                name, operands = "InValueSet", [item, vocab]
            elif vocab.type == T.CODESYSTEM:
                name, operands = "InCodeSystem", [item, vocab]
        rtype: T.CqlType | None = None
        overload = self._overload(name, operands, loc)
        if overload is not None:
            operands, rtype = overload
            if name == "Add" and rtype == T.STRING:
                name = "Concatenate"  # `+` on Strings is Concatenate, null-propagating (CQL Reference)
        elif name == "Coalesce" and len(operands) > 1:
            rtype = T.unified_type([o.type for o in operands])
            operands = self._promote(operands, rtype)
        elif name in _COMPARISONS and len(operands) == 2:
            operands = self._harmonize(operands)
        elif name in _POINT_OPERATORS and len(operands) == 2:
            operands = self._harmonize_points(operands)
        elif name in _ARITHMETIC and len(operands) == 2:
            operands = self._harmonize_numbers(name, operands)
        info = lookup(name)
        if info is None:
            raise self.error(f"unknown operator {name}", loc)
        lo, hi = info.arity
        if not lo <= len(operands) <= hi:
            raise self.error(f"{name} takes {lo if lo == hi else f'{lo} to {hi}'} argument(s), {len(operands)} given", loc)
        if rtype is None:
            rtype = self.result_type(name, operands)
        return model.OperatorCall(name, operands, precision, options, type=rtype, loc=loc)

    def _overload(self, name: str, operands: list[model.Node], loc: ast.Loc) -> tuple[list[model.Node], T.CqlType] | None:
        """The operands converted for, and the result type of, the overload of system operator
        `name` that CQL's conversion precedence chooses (:mod:`pedqm.cql.signatures`); None
        where the table has no entry or the static types cannot decide (an operand of unknown
        type that more than one overload accepts: the operator then dispatches on the run-time
        values). A call no overload accepts, with every operand's type known, is a compile
        error."""
        sigs = signatures(name)
        if sigs is None:
            return None
        scored: list[tuple[int, Signature, list[T.CqlType], T.CqlType]] = []
        for sig in sigs:
            if len(sig.params) != len(operands):
                continue
            bound = self._bind(sig, operands)
            if bound is None:
                continue
            params, result = bound
            costs = [self.conversion_cost(o.type, p) for o, p in zip(operands, params)]
            if all(c is not None for c in costs):
                scored.append((sum(c for c in costs if c is not None), sig, params, result))
        if not scored:
            if operands and all(_fully_known(o.type) for o in operands) and any(len(s.params) == len(operands) for s in sigs):
                shown = ", ".join(_type_text(o.type) for o in operands)
                raise self.error(f"{name} cannot take ({shown}); it takes " + " or ".join(str(s) for s in sigs), loc)
            return None
        if any(T.is_any(o.type) for o in operands):
            results = {str(r) for _, _, _, r in scored}
            if len(scored) > 1:
                return (operands, scored[0][3]) if len(results) == 1 else None
        scored.sort(key=lambda x: x[0])
        best = [x for x in scored if x[0] == scored[0][0]]
        if len(best) > 1:
            return None  # ambiguous statically: run-time dispatch
        _, _, params, result = best[0]
        return [self._coerce(o, p) for o, p in zip(operands, params)], result

    def _bind(self, sig: Signature, operands: list[model.Node]) -> tuple[list[T.CqlType], T.CqlType] | None:
        """A signature's parameter and result types with its type parameter T bound to the
        point type of the interval argument (a choice with one interval component binds to it)."""
        if not any(_mentions_generic(p) for p in sig.params):
            return list(sig.params), sig.result
        bound: T.CqlType | None = None
        wrapper: type[T.IntervalType] | type[T.ListType] = T.IntervalType
        for o, p in zip(operands, sig.params):
            if isinstance(p, (T.IntervalType, T.ListType)) and _mentions_generic(p):
                wrapper = type(p)
                t = o.type
                if isinstance(t, T.ChoiceType):
                    fitting = [c for c in t.choices if isinstance(c, wrapper)]
                    if len(fitting) != 1:
                        return None
                    t = fitting[0]
                if isinstance(t, T.IntervalType) and wrapper is T.IntervalType:
                    bound = t.point
                elif isinstance(t, T.ListType) and wrapper is T.ListType:
                    bound = t.element
                elif T.is_any(t):
                    bound = T.ANY
                else:
                    return None
        if bound is None:
            return None
        return ([wrapper(bound) if _mentions_generic(p) else p for p in sig.params],
                bound if sig.result == GENERIC else sig.result)

    def _coerce(self, node: model.Node, target: T.CqlType) -> model.Node:
        """`node` as the chosen overload takes it: a choice cast to its component (null when the
        value is another component: CQL Developer's Guide, Choice Types), then any implicit
        conversion."""
        t = node.type
        if T.is_any(t) or t == target or T.is_any(target):
            return node
        if isinstance(t, T.ChoiceType) and _is_model_type(target):
            narrowed = self._narrow_resources(node, t, target)
            if narrowed is not None:
                return narrowed
        if isinstance(t, T.ChoiceType) and not isinstance(target, T.ChoiceType):
            fits = [(cost, c) for c in t.choices if (cost := self.conversion_cost(c, target)) is not None]
            if fits:
                component = min(fits, key=lambda cost_c: cost_c[0])[1]
                node = model.As(node, component, False, type=component, loc=node.loc)
                t = component
        if t == target or self.subtype_of(t, target):
            return node
        if T.casts_to(t, target):
            # an interval (list) of a choice for an interval (list) of one component: each point
            # (element) cast, as the translator rebuilds `Interval[X.low as DateTime, ...]`
            return model.OperatorCall("ImplicitConvert", [node], None, {"to": target, "cast": True}, type=target, loc=node.loc)
        return self.convert(node, target)

    def _harmonize(self, operands: list[model.Node]) -> list[model.Node]:
        """Comparison operators take two operands of one type: where the static types differ
        and one converts implicitly to the other (Decimal -> Quantity, Integer -> Decimal,
        Date -> DateTime, Code -> Concept), convert it, as the reference translator does
        (CQL 1.5 Developer's Guide, Implicit Conversions; `1.0 < X as Quantity` compares
        `ToQuantity(1.0)`)."""
        a, b = operands
        if a.type == b.type or T.is_any(a.type) or T.is_any(b.type):
            return operands
        # a choice meets one of its components: implicit cast (CQL 1.5 Developer's Guide,
        # Choice Types: `Observation.value < 200 'mg'` casts the value `as Quantity`, which is
        # null when the value is a Concept)
        if isinstance(a.type, T.ChoiceType) and not isinstance(b.type, T.ChoiceType) and b.type in a.type.choices:
            return [model.As(a, b.type, False, type=b.type, loc=a.loc), b]
        if isinstance(b.type, T.ChoiceType) and not isinstance(a.type, T.ChoiceType) and a.type in b.type.choices:
            return [a, model.As(b, a.type, False, type=a.type, loc=b.loc)]
        # a choice meets a type that converts to one of its components: cast, then convert the
        # other (`Observation.value ~ "Code"` is `(value as Concept) ~ ToConcept("Code")`)
        for x, y, flip in ((a, b, False), (b, a, True)):
            if isinstance(x.type, T.ChoiceType) and isinstance(y.type, T.NamedType) and _known_system(y.type):
                targets = [c for c in x.type.choices if isinstance(c, T.NamedType) and T.implicit_conversion(y.type, c)]
                if len(targets) == 1:
                    pair = [model.As(x, targets[0], False, type=targets[0], loc=x.loc), self.convert(y, targets[0])]
                    return pair[::-1] if flip else pair
        if isinstance(a.type, T.NamedType) and isinstance(b.type, T.NamedType):
            conv = T.implicit_conversion(a.type, b.type)
            if conv is not None:
                return [self.op(conv, [a], a.loc), b]
            conv = T.implicit_conversion(b.type, a.type)
            if conv is not None:
                return [a, self.op(conv, [b], b.loc)]
        return self._harmonize_points(operands)

    def _harmonize_points(self, operands: list[model.Node]) -> list[model.Node]:
        """Two operands that are points or intervals of points of different types (Date and
        DateTime, Integer and Decimal): both are taken to the point type the other converts to,
        a point by its conversion, an interval bound by bound (`@2024-01-01 in Interval[DateTime,
        DateTime]` is `ToDateTime(@2024-01-01) in ...`, as the translator resolves it)."""
        a, b = operands
        # a choice operand meets a point: cast to that point type, as the translator resolves
        # `X starts before day of Procedure.performed` (performed: Choice<DateTime, Period>) with
        # As<DateTime>, which is null for a Period (CQL Developer's Guide, Choice Types)
        if isinstance(a.type, T.ChoiceType) and _is_point_type(b.type) and b.type in a.type.choices:
            return [model.As(a, b.type, False, type=b.type, loc=a.loc), b]
        if isinstance(b.type, T.ChoiceType) and _is_point_type(a.type) and a.type in b.type.choices:
            return [a, model.As(b, a.type, False, type=a.type, loc=b.loc)]
        points = [_point_of(o.type) for o in operands]
        if any(p is None for p in points) or points[0] == points[1]:
            return operands
        target = T.unified_type([p for p in points if p is not None])
        if not isinstance(target, T.NamedType) or T.is_any(target):
            return operands
        out = []
        for o, p in zip(operands, points):
            if p == target:
                out.append(o)
            elif isinstance(o.type, T.IntervalType):
                out.append(self.convert(o, T.IntervalType(target)))
            else:
                out.append(self.convert(o, target))
        return out

    def _require_boolean(self, node: model.Node, what: str, loc: ast.Loc) -> None:
        """Logical operators and `if` take Booleans (CQL Reference, Logical Operators): an
        operand whose static type is known to be something else is a compile error, not a
        value that is silently true or false at run time."""
        t = node.type
        if T.is_any(t) or t == T.BOOLEAN or isinstance(t, T.ChoiceType) and T.BOOLEAN in t.choices:
            return
        if _is_model_type(t) and not isinstance(t, T.ListType):
            return  # a FHIR boolean becomes a System Boolean
        raise self.error(f"{what} needs a Boolean, not {_type_text(t)}", loc)

    def _harmonize_numbers(self, name: str, operands: list[model.Node]) -> list[model.Node]:
        """Arithmetic on two numbers takes one numeric type: Integer -> Long -> Decimal, and
        Divide is defined on Decimal only (CQL Reference, Arithmetic Operators; the translator
        inserts ToDecimal in `2 * 1.5` and `3 / 4`)."""
        if not all(isinstance(x.type, T.NamedType) and x.type.name in _NUMERIC for x in operands):
            return operands
        types = [x.type for x in operands if isinstance(x.type, T.NamedType)]
        target = T.DECIMAL if name == "Divide" else max(types, key=lambda t: _NUMERIC.index(t.name))
        out = []
        for x, t in zip(operands, types):
            out.append(x if t == target else self.op(T.IMPLICIT[(t.simple, target.simple)], [x], x.loc))
        return out

    def _system_value(self, node: model.Node) -> model.Node:
        """Wrap an operand whose static type is a model type (e.g. FHIR.dateTime) so that the
        operator receives the System value (the implicit FHIRHelpers conversion of the spec)."""
        t = node.type
        if isinstance(t, T.NamedType) and self._is_resource(t):
            return node  # a resource has no System counterpart: compared and passed as it is
        if _is_model_type(t):
            conv = model.OperatorCall("ToSystemValue", [node], None, {}, type=self.system_equivalent(t), loc=node.loc)
            return conv
        return node

    def _narrow_resources(self, node: model.Node, t: T.ChoiceType, target: T.CqlType) -> model.Node | None:
        """A choice of resources given for a parameter that takes only some of them
        (`Choice<AllergyIntolerance, Condition>` for a Condition profile): cast to the resource
        types the parameter takes, so another resource is null, as the translator casts it. The
        cast is by resource type, not profile, as a retrieved resource is an instance of its
        resource type."""
        wanted = target.choices if isinstance(target, T.ChoiceType) else (target,)
        kinds = {k for k in (self._resource_kind(w) for w in wanted) if k}
        given = [self._resource_kind(c) for c in t.choices]
        if not kinds or not all(given) or set(given) <= kinds or not kinds & set(given):
            return None
        names = sorted(kinds & {g for g in given if g})
        parts = tuple(T.NamedType(n) for n in names)
        cast = parts[0] if len(parts) == 1 else T.ChoiceType(parts)
        return model.As(node, cast, False, type=target, loc=node.loc)

    def _resource_kind(self, t: T.CqlType) -> str | None:
        """`FHIR.Condition` for a resource or profile type (None for anything else)."""
        if not isinstance(t, T.NamedType) or not self._is_resource(t):
            return None
        m = self.models.get(t.name.split(".", 1)[0])
        resource_type = getattr(m, "resource_type", None)
        return f"{t.name.split('.', 1)[0]}.{resource_type(t.name)}" if resource_type else None

    def _is_resource(self, t: T.NamedType) -> bool:
        m = self.models.get(t.name.split(".", 1)[0]) if "." in t.name else None
        info = m.find_class(t.name) if m is not None else None
        return bool(getattr(info, "retrievable", False))

    def system_equivalent(self, t: T.CqlType) -> T.CqlType:
        """The static type of a model value after its implicit conversion to System values
        (ANY where the model has no conversion for it, e.g. a resource)."""
        if isinstance(t, T.ListType):
            inner = self.system_equivalent(t.element)
            return T.ANY if T.is_any(inner) else T.ListType(inner)
        if isinstance(t, T.ChoiceType):
            # a component with no System equivalent (QICore.SampledData) stays a model value
            parts = [c if T.is_any(p) else p for c, p in ((c, self.system_equivalent(c)) for c in t.choices)]
            return T.ChoiceType(tuple(dict.fromkeys(parts))) if len(set(parts)) > 1 else parts[0]
        if isinstance(t, T.NamedType) and _is_model_type(t):
            m = self.models.get(t.name.split(".", 1)[0])
            converted = m.system_type(t.name) if m is not None else None
            return converted if converted is not None else T.ANY
        return t

    @staticmethod
    def result_type(name: str, operands: list[model.Node]) -> T.CqlType:
        if name in _BOOLEAN_OPS:
            return T.BOOLEAN
        if name in _RESULT_TYPES:
            return _RESULT_TYPES[name]
        first = operands[0].type if operands else T.ANY
        if name == "Union" and len(operands) == 2:
            a, b = operands[0].type, operands[1].type
            if isinstance(a, T.ListType) and isinstance(b, T.ListType):
                return T.ListType(T.common_type([a.element, b.element]))
            if T.is_any(a) or T.is_any(b):
                return b if T.is_any(a) else a
        if name in _SAME_AS_OPERAND:
            if name in ("Add", "Subtract", "Multiply", "Modulo", "TruncatedDivide") and len(operands) == 2:
                second = operands[1].type
                if name in ("Add", "Subtract") and second == T.QUANTITY and first in (T.DATE, T.DATETIME, T.TIME):
                    return first  # date/time arithmetic: DateTime + Quantity is a DateTime
                if (T.is_any(first) and second == T.QUANTITY) or (T.is_any(second) and first == T.QUANTITY):
                    return T.ANY  # ? + Quantity may be a DateTime or a Quantity
                common = T.common_type([first, second])
                return first if isinstance(common, T.ChoiceType) else common
            if name in ("Sum", "Product") and isinstance(first, T.ListType):
                return first.element
            return first
        if name in _ELEMENT_OF_OPERAND and isinstance(first, T.ListType):
            return first.element
        if name in _POINT_OF_OPERAND and isinstance(first, T.IntervalType):
            return first.point
        if name == "Flatten" and isinstance(first, T.ListType) and isinstance(first.element, T.ListType):
            return first.element
        if name == "Expand" and isinstance(first, T.IntervalType):
            return T.ListType(first.point)  # expand of one interval gives its points (CQL 1.5 Reference, Expand)
        if name in ("Collapse", "Expand"):
            return first if isinstance(first, T.ListType) else T.ListType(first)
        return T.ANY

    def lit(self, value: Any, t: T.CqlType, loc: ast.Loc = ast.NOWHERE) -> model.Literal:
        return model.Literal(value, type=t, loc=loc)

    def lookup_scoped(self, name: str) -> tuple[str, T.CqlType] | None:
        for scope in reversed(self.scopes):
            if name in scope.names:
                return scope.names[name]
            if scope.unknown_is_property:
                return ("property", T.ANY)
        return None

    def _find_codesystem(self, name: str) -> tuple[ResolvedLibrary, ast.CodeSystemDef] | None:
        lib, _, simple = self._split_qualified(name)
        if lib is not None and simple in lib.codesystems:
            return lib, lib.codesystems[simple]
        return None

    def _split_qualified(self, name: str) -> tuple[ResolvedLibrary | None, str, str]:
        if "." in name:
            alias, simple = name.split(".", 1)
            return self.out.includes.get(alias), alias, simple
        return self.out, "", name

    # ------------------------------------------------------------------ expressions
    def expr(self, e: ast.Expr) -> model.Node:
        method = getattr(self, "x_" + type(e).__name__, None)
        if method is None:
            raise self.error(f"unsupported expression {type(e).__name__}", e.loc)
        node = method(e)
        if node.loc is ast.NOWHERE:
            node.loc = e.loc
        return node

    def x_Literal(self, e: ast.Literal) -> model.Node:
        from .runtime.temporal import Date, DateTime, Time
        from .runtime.values import Long

        k = e.kind
        try:
            if k == "Null":
                return self.lit(None, T.ANY)
            if k == "Boolean":
                return self.lit(e.text == "true", T.BOOLEAN)
            if k == "String":
                return self.lit(e.text, T.STRING)
            if k == "Integer":
                v = int(e.text)
                if not INT_MIN <= v <= INT_MAX:
                    raise self.error(f"integer literal {e.text} is out of range for Integer", e.loc)
                return self.lit(v, T.INTEGER)
            if k == "Long":
                return self.lit(Long(int(e.text)), T.LONG)
            if k == "Decimal":
                d = Decimal(e.text)
                if len(e.text.split(".")[1]) > 8:
                    raise self.error(f"decimal literal {e.text} has more than 8 digits after the point", e.loc)
                if d.copy_abs() > Decimal("9999999999999999999999999999.99999999"):
                    raise self.error(f"decimal literal {e.text} is out of range for Decimal", e.loc)
                return self.lit(d, T.DECIMAL)
            if k == "Date":
                return self.lit(Date.parse(e.text), T.DATE)
            if k == "Time":
                return self.lit(Time.parse(e.text), T.TIME)
            if k == "DateTime":
                dt = DateTime.parse(e.text)
                if dt.tz_offset is None:
                    # no offset written: the evaluation request's offset applies (spec 'DateTime')
                    return self.op("DateTimeWithDefaultOffset", [self.lit(dt, T.DATETIME)], e.loc)
                return self.lit(dt, T.DATETIME)
        except _Unresolved:
            raise
        except Exception as exc:  # invalid component values in a literal
            raise self.error(f"invalid {k} literal @{e.text}: {exc}", e.loc) from None
        raise self.error(f"unknown literal kind {k}", e.loc)

    def _quantity(self, q: ast.QuantityLiteral) -> Any:
        from .runtime.quantity import Quantity

        unit = q.unit
        try:
            return Quantity(Decimal(q.value), unit)
        except Exception as exc:
            raise self.error(f"invalid quantity {q.value} '{q.unit}': {exc}", q.loc) from None

    def x_QuantityLiteral(self, e: ast.QuantityLiteral) -> model.Node:
        return self.lit(self._quantity(e), T.QUANTITY)

    def x_RatioLiteral(self, e: ast.RatioLiteral) -> model.Node:
        from .runtime.quantity import Ratio

        return self.lit(Ratio(self._quantity(e.numerator), self._quantity(e.denominator)), T.RATIO)

    # -- names
    def x_Identifier(self, e: ast.Identifier) -> model.Node:
        found = self.lookup_scoped(e.name)
        if found is not None:
            kind, t = found
            if kind == "alias":
                return model.AliasRef(e.name, type=t)
            if kind == "let":
                return model.QueryLetRef(e.name, type=t)
            if kind == "operand":
                return model.OperandRef(e.name, type=t)
            if kind == "property":  # sort-by items name properties of the element
                return model.Property(model.AliasRef("$this"), e.name)
        node = self.library_member(self.out, e.name, e.loc)
        if node is not None:
            return node
        if e.name in self.out.includes:
            raise self.error(f"library alias {e.name!r} cannot be used as a value", e.loc)
        raise self.error(f"could not resolve identifier {e.name!r}", e.loc)

    def library_member(self, lib: ResolvedLibrary, name: str, loc: ast.Loc) -> model.Node | None:
        """A reference to a definition, parameter or terminology item of `lib`, or None."""
        foreign = lib is not self.out
        if name in lib.definitions:
            d = lib.definitions[name]
            if foreign and d.access == "private":
                raise self.error(f"definition {name!r} of library {lib.name} is private", loc)
            if not foreign:
                self.resolve_definition(d)
            t = d.expression.type if d.expression is not None else T.ANY
            return model.ExpressionRef(lib.key, name, type=t)
        if name in lib.parameters:
            return model.ParameterRef(lib.key, name, type=lib.parameters[name].declared_type)
        for kind, table, t in (
            ("codesystem", lib.codesystems, T.CODESYSTEM),
            ("valueset", lib.valuesets, T.VALUESET),
            ("code", lib.codes, T.CODE),
            ("concept", lib.concepts, T.CONCEPT),
        ):
            if name in table:
                return model.TerminologyRef(lib.key, kind, name, type=t)
        return None

    def x_SpecialIdentifier(self, e: ast.SpecialIdentifier) -> model.Node:
        return model.AliasRef(e.name)

    def x_ExternalConstant(self, e: ast.ExternalConstant) -> model.Node:
        return self.op("ExternalConstant", [self.lit(e.name, T.STRING)], e.loc)

    def x_Member(self, e: ast.Member) -> model.Node:
        if isinstance(e.source, ast.Identifier) and self.lookup_scoped(e.source.name) is None:
            lib = self.out.includes.get(e.source.name)
            if lib is not None and e.source.name not in self.out.definitions:
                node = self.library_member(lib, e.name, e.loc)
                if node is None:
                    raise self.error(f"library {lib.name} has no definition named {e.name!r}", e.loc)
                return node
        source = self.expr(e.source)
        t = source.type
        if isinstance(t, T.NamedType) and "." in t.name and t.name.split(".", 1)[0] in self.models:
            m = self.models[t.name.split(".", 1)[0]]
            if m.find_class(t.name) is not None and m.element(t.name, e.name) is None:
                raise self.error(f"{t.name} has no element {e.name!r}", e.loc)
        return model.Property(source, e.name, type=self.property_type(source.type, e.name))

    def property_type(self, t: T.CqlType, name: str) -> T.CqlType:
        if isinstance(t, T.TupleType):
            return dict(t.elements).get(name, T.ANY)
        if isinstance(t, T.IntervalType) and name in ("low", "high"):
            return t.point
        if isinstance(t, T.ListType):
            inner = self.property_type(t.element, name)
            if isinstance(inner, T.ListType):
                return inner  # a path through a list flattens
            return T.ListType(inner) if not T.is_any(inner) else T.ANY
        if isinstance(t, T.ChoiceType):
            found = [self.property_type(c, name) for c in t.choices]
            known = [f for f in found if not T.is_any(f)]
            return T.common_type(known) if known else T.ANY
        if isinstance(t, T.NamedType) and "." in t.name:
            m = self.models.get(t.name.split(".", 1)[0])
            if m is not None:
                el = m.element(t.name, name)
                if el is not None:
                    return m.static_type(el.type_text)
        return T.ANY

    def x_Indexer(self, e: ast.Indexer) -> model.Node:
        return self.op("Indexer", [self.expr(e.source), self.expr(e.index)], e.loc)

    # -- calls
    def x_Call(self, e: ast.Call) -> model.Node:
        if isinstance(e.source, ast.Identifier) and self.lookup_scoped(e.source.name) is None \
                and e.source.name in self.out.includes and e.source.name not in self.out.definitions:
            lib = self.out.includes[e.source.name]
            args = [self.expr(a) for a in e.args]
            node = self.user_function(lib, e.name, args, e.loc, fluent_only=False)
            if node is None:
                raise self.error(f"library {lib.name} has no function {e.name} taking {len(args)} argument(s)", e.loc)
            return node
        args = [self.expr(a) for a in e.args]
        if e.source is not None:
            args.insert(0, self.expr(e.source))
        fluent = e.source is not None
        node = self.user_function(self.out, e.name, args, e.loc, fluent_only=fluent)
        if node is not None:
            return node
        for lib in self.out.includes.values():  # fluent functions of included libraries
            if fluent:
                node = self.user_function(lib, e.name, args, e.loc, fluent_only=True)
                if node is not None:
                    return node
        return self.system_function(e.name, args, e.loc)

    def user_function(self, lib: ResolvedLibrary, name: str, args: list[model.Node], loc: ast.Loc, fluent_only: bool) -> model.Node | None:
        overloads = [f for f in lib.functions.get(name, []) if len(f.operand_types) == len(args)]
        if fluent_only:
            overloads = [f for f in overloads if f.fluent]
        if lib is not self.out:
            overloads = [f for f in overloads if f.access != "private"]
        if not overloads:
            return None
        # overload resolution by conversion precedence (CQL 1.5 Developer's Guide): each
        # overload's cost is its arguments' conversion costs; the cheapest wins, ties keep all
        # (dispatched at run time on the values, as for arguments of unknown type)
        scored: list[tuple[tuple[int, ...], model.FunctionModel]] = []
        for f in overloads:
            costs = [self.conversion_cost(a.type, p) for a, p in zip(args, f.operand_types)]
            if all(c is not None for c in costs):
                scored.append((tuple(sorted((c for c in costs if c is not None), reverse=True)), f))
        if not scored:
            sig = ", ".join(str(a.type) for a in args)
            raise self.error(f"no overload of {name} matches argument types ({sig})", loc)
        best = min(cost for cost, _ in scored)
        chosen = [f for cost, f in scored if cost == best]
        converted = args
        if len(chosen) == 1:
            converted = [self._coerce(a, p) for a, p in zip(args, chosen[0].operand_types)]
        if lib is self.out:
            for f in chosen:
                self.resolve_function(f)
        rtype = chosen[0].return_type if len(chosen) == 1 else T.ANY
        return model.FunctionRef(lib.key, name, converted, chosen, type=rtype, loc=loc)

    def subtype_of(self, t: T.CqlType, target: T.CqlType) -> bool:
        """T.subtype_of, plus the data models' class hierarchy (a QI-Core profile such as
        observation-bmi is an Observation)."""
        if T.subtype_of(t, target):
            return True
        if isinstance(t, T.ListType) and isinstance(target, T.ListType):
            return self.subtype_of(t.element, target.element)
        if isinstance(t, T.IntervalType) and isinstance(target, T.IntervalType):
            return self.subtype_of(t.point, target.point)
        if isinstance(target, T.ChoiceType):
            return any(self.subtype_of(t, c) for c in target.choices)
        if isinstance(t, T.ChoiceType):
            return all(self.subtype_of(c, target) for c in t.choices)
        if isinstance(t, T.NamedType) and isinstance(target, T.NamedType) and "." in t.name:
            ns = t.name.split(".", 1)[0]
            m = self.models.get(ns)
            if m is not None and target.name.startswith(ns + "."):
                return bool(m.is_subtype(t.name, target.name))
        return False

    def conversion_cost(self, t: T.CqlType, target: T.CqlType) -> int | None:
        """T.conversion_cost with the data models' class hierarchy; a model value (a FHIR
        element) is matched by its System equivalent where it has one."""
        cost = T.conversion_cost(t, target, self.subtype_of)
        if cost is None and _is_model_type(t):
            system = self.system_equivalent(t)
            if not T.is_any(system):
                cost = T.conversion_cost(system, target, self.subtype_of)
        if cost is None and (_is_model_type(t) or _is_model_type(target)):
            cost = T.COST_COMPATIBLE + 1 if self._model_compatible(t, target) else None
        return cost

    def _model_compatible(self, t: T.CqlType, target: T.CqlType) -> bool:
        """Model types the resolver cannot order statically (profiles of one resource, a
        choice of model types): accepted, and checked on the values at run time."""
        if isinstance(t, T.ListType) and isinstance(target, T.ListType):
            return self._model_compatible(t.element, target.element)
        if isinstance(t, T.ListType) or isinstance(target, T.ListType):
            return False
        if isinstance(t, T.ChoiceType):
            return any(self._model_compatible(c, target) for c in t.choices)
        if isinstance(target, T.ChoiceType):
            return any(self._model_compatible(t, c) for c in target.choices)
        return (isinstance(t, T.NamedType) and not t.name.startswith("System.")) or \
            (isinstance(target, T.NamedType) and not target.name.startswith("System."))

    def convert(self, node: model.Node, target: T.CqlType) -> model.Node:
        """`node` implicitly converted to `target`: a conversion operator where the static
        types say which (Integer -> Decimal), a structural or run-time conversion where they do
        not (an Interval<Date> for an Interval<DateTime>, a Date for a Choice<DateTime, ...>,
        a value whose type is known only at run time), nothing where none is needed."""
        t = node.type
        if T.is_any(target) or t == target or not T.converts_to_something(target):
            return node
        if not T.is_any(t) and self.subtype_of(t, target):
            return node
        conv = T.implicit_conversion(t, target)
        if conv is not None:
            return self.op(conv, [node], node.loc)
        if isinstance(target, T.ChoiceType) and _known_system(t):
            # a choice takes the value by its least-converting component (a Date for a
            # Choice<DateTime, Quantity> is ToDateTime of it), known here from the static type
            fits = [(cost, c) for c in target.choices if (cost := T.conversion_cost(t, c)) is not None]
            if fits:
                cost, component = min(fits, key=lambda cost_c: cost_c[0])
                if cost > T.COST_CAST and T.implicit_conversion(t, component) is not None:
                    return self.op(str(T.implicit_conversion(t, component)), [node], node.loc)
        if isinstance(node, model.IntervalSelector) and isinstance(target, T.IntervalType) and \
                isinstance(target.point, (T.NamedType, T.ChoiceType)):
            # an interval written here converts bound by bound (`Interval[d, d + 1 year)` for an
            # Interval<DateTime> is `Interval[ToDateTime(d), ToDateTime(d + 1 year))`)
            low, high = self.convert(node.low, target.point), self.convert(node.high, target.point)
            point = target.point.simple if isinstance(target.point, T.NamedType) else node.point_type
            return model.IntervalSelector(low, high, node.low_closed, node.high_closed, point, type=target, loc=node.loc)
        return model.OperatorCall("ImplicitConvert", [node], None, {"to": target}, type=target, loc=node.loc)

    def system_function(self, name: str, args: list[model.Node], loc: ast.Loc) -> model.Node:
        if name == "Message":
            if len(args) != 5:
                raise self.error("Message takes 5 arguments (source, condition, code, severity, message)", loc)
            return model.Message(*args, type=args[0].type, loc=loc)
        if name == "Coalesce" and len(args) == 1:
            return self.op("CoalesceList", args, loc)
        if name in _FUNCTION_ALIASES:
            op_name, opts = _FUNCTION_ALIASES[name]
            opts = dict(opts)
            precision = opts.pop("precision", None)
            return self.op(op_name, args, loc, precision=precision, **opts)
        if lookup(name) is None or name.startswith("_"):
            raise self.error(f"could not resolve function {name!r} with {len(args)} argument(s)", loc)
        if name == "Length" and args and isinstance(args[0].type, T.ListType):
            # Length(null as List<T>) is 0 but Length(null as String) is null: only the type tells
            return self.op(name, args, loc, list_operand=True)
        return self.op(name, args, loc)

    # -- operators
    def x_Unary(self, e: ast.Unary) -> model.Node:
        if e.op == "Negate" and isinstance(e.operand, ast.Literal) and e.operand.kind in ("Integer", "Long", "Decimal"):
            # fold the sign into the literal so -2147483648 is a valid Integer
            return self.x_Literal(ast.Literal(e.operand.kind, "-" + e.operand.text, loc=e.loc))
        operand = self.expr(e.operand)
        return self.op(e.op, [operand], e.loc)

    def x_Binary(self, e: ast.Binary) -> model.Node:
        left, right = self.expr(e.left), self.expr(e.right)
        if e.op in ("And", "Or", "Xor", "Implies"):
            for side in (left, right):
                self._require_boolean(side, e.op.lower(), side.loc if side.loc.line else e.loc)
            return model.Logical(e.op, left, right, type=T.BOOLEAN)
        if e.op in _ARITHMETIC and _known_system(left.type) and _known_system(right.type) \
                and not _arithmetic_defined(e.op, left.type, right.type):
            raise self.error(f"{e.op} is not defined for ({_type_text(left.type)}, {_type_text(right.type)})", e.loc)
        if e.op == "Concatenate":
            empty = self.lit("", T.STRING)
            return self.op("Concatenate", [self.op("Coalesce", [left, empty], e.loc), self.op("Coalesce", [right, empty], e.loc)], e.loc)
        precision = _PRECISIONS.get(e.precision) if e.precision else None
        if e.op in ("Equal", "NotEqual", "Equivalent", "NotEquivalent") and isinstance(left.type, T.TupleType) \
                and isinstance(right.type, T.TupleType) and {n for n, _ in left.type.elements} != {n for n, _ in right.type.elements}:
            raise self.error(f"cannot compare tuples of different types: {left.type} and {right.type}", e.loc)
        return self.op(e.op, [left, right], e.loc, precision=precision)

    def x_Between(self, e: ast.Between) -> model.Node:
        x, lo, hi = self.expr(e.operand), self.expr(e.low), self.expr(e.high)
        if e.proper:
            return model.Logical("And", self.op("Greater", [x, lo], e.loc), self.op("Less", [x, hi], e.loc), type=T.BOOLEAN)
        return model.Logical("And", self.op("GreaterOrEqual", [x, lo], e.loc), self.op("LessOrEqual", [x, hi], e.loc), type=T.BOOLEAN)

    def x_DurationBetween(self, e: ast.DurationBetween) -> model.Node:
        name = "DurationBetween" if e.kind == "duration" else "DifferenceBetween"
        return self.op(name, [self.expr(e.left), self.expr(e.right)], e.loc, precision=_PRECISIONS[e.precision])

    def x_DurationOf(self, e: ast.DurationOf) -> model.Node:
        name = "DurationBetween" if e.kind == "duration" else "DifferenceBetween"
        iv = self.expr(e.operand)
        return self.op(name, [self.op("Start", [iv], e.loc), self.op("End", [iv], e.loc)], e.loc, precision=_PRECISIONS[e.precision])

    def x_ComponentFrom(self, e: ast.ComponentFrom) -> model.Node:
        operand = self.expr(e.operand)
        if e.component == "date":
            return self.op("DateFrom", [operand], e.loc)
        if e.component == "time":
            return self.op("TimeFrom", [operand], e.loc)
        if e.component in ("timezoneoffset", "timezone"):
            return self.op("TimezoneOffsetFrom", [operand], e.loc)
        return self.op("DateTimeComponentFrom", [operand], e.loc, precision=_PRECISIONS[e.component])

    def x_TypeExtent(self, e: ast.TypeExtent) -> model.Node:
        t = self.type_from_spec(e.type)
        name = "MinValue" if e.which == "minimum" else "MaxValue"
        simple = t.simple if isinstance(t, T.NamedType) else str(t)
        if simple not in ("Integer", "Long", "Decimal", "Date", "DateTime", "Time", "Quantity"):
            raise self.error(f"{e.which} is not defined for type {t}", e.loc)
        node = self.op(name, [self.lit(simple, T.STRING)], e.loc)
        node.type = t
        return node

    def x_TypeOp(self, e: ast.TypeOp) -> model.Node:
        operand = self.expr(e.operand)
        t = self.type_from_spec(e.type)
        if e.op == "is":
            return model.Is(operand, t, type=T.BOOLEAN)
        return model.As(operand, t, e.op == "cast", type=t)

    def x_Convert(self, e: ast.Convert) -> model.Node:
        operand = self.expr(e.operand)
        if e.unit is not None:
            return self.op("ConvertQuantity", [operand, self.lit(e.unit, T.STRING)], e.loc)
        t = self.type_from_spec(e.type)
        if isinstance(t, T.NamedType) and t.name.startswith("System."):
            name = "To" + t.simple
            if lookup(name) is not None:
                return self.op(name, [operand], e.loc)
        raise self.error(f"cannot convert to {t}", e.loc)

    def x_If(self, e: ast.If) -> model.Node:
        c, a, b = self.expr(e.condition), self.expr(e.then), self.expr(e.else_)
        self._require_boolean(c, "if", c.loc if c.loc.line else e.loc)
        t = T.unified_type([a.type, b.type])
        return model.If(c, *self._promote([a, b], t), type=t)

    def _promote(self, nodes: list[model.Node], t: T.CqlType) -> list[model.Node]:
        """Branches or elements converted to their common type `t` (statically known parts
        only: a part of unknown type is left as it is)."""
        if isinstance(t, T.ChoiceType) or T.is_any(t):
            return nodes
        return [self._typed_null(n, t) if T.is_any(n.type) else n if n.type == t else self._coerce(n, t) for n in nodes]

    @staticmethod
    def _typed_null(node: model.Node, t: T.CqlType) -> model.Node:
        """A part of unknown type stays as it is, but a `Message` whose source is `null` is a
        null of the branch type (`null as T`, as the translator casts it)."""
        if isinstance(node, model.Message) and isinstance(node.source, model.Literal) and node.source.value is None:
            return model.As(node, t, False, type=t, loc=node.loc)
        return node

    def x_Case(self, e: ast.Case) -> model.Node:
        comparand = self.expr(e.comparand) if e.comparand is not None else None
        whens = [self.expr(i.when) for i in e.items]
        thens = [self.expr(i.then) for i in e.items]
        els = self.expr(e.else_)
        t = T.unified_type([*(x.type for x in thens), els.type])
        promoted = self._promote([*thens, els], t)
        return model.Case(comparand, list(zip(whens, promoted[:-1])), promoted[-1], type=t)

    def x_ExpandCollapse(self, e: ast.ExpandCollapse) -> model.Node:
        from .runtime.quantity import Quantity

        operand = self.expr(e.operand)
        per: model.Node
        if e.per is None:
            per = self.lit(None, T.QUANTITY)
        elif isinstance(e.per, str):
            per = self.lit(Quantity(Decimal(1), e.per), T.QUANTITY)
        else:
            per = self.expr(e.per)
        return self.op(e.op, [operand, per], e.loc)

    # -- selectors
    def x_IntervalSelector(self, e: ast.IntervalSelector) -> model.Node:
        low, high = self.expr(e.low), self.expr(e.high)
        pt = T.unified_type([low.type, high.type])
        low, high = self._promote([low, high], pt)
        point_name = pt.simple if isinstance(pt, T.NamedType) and pt != T.ANY else None
        return model.IntervalSelector(low, high, e.low_closed, e.high_closed, point_name, type=T.IntervalType(pt))

    def x_ListSelector(self, e: ast.ListSelector) -> model.Node:
        elems = [self.expr(x) for x in e.elements]
        if e.element_type is not None:
            et = self.type_from_spec(e.element_type)
        else:
            et = T.common_type([x.type for x in elems])
        if not isinstance(et, T.ChoiceType):
            elems = self._promote(elems, et)
        return model.ListSelector(elems, type=T.ListType(et))

    def x_TupleSelector(self, e: ast.TupleSelector) -> model.Node:
        elems = [(n, self.expr(x)) for n, x in e.elements]
        return model.TupleSelector(elems, type=T.TupleType(tuple((n, x.type) for n, x in elems)))

    def x_InstanceSelector(self, e: ast.InstanceSelector) -> model.Node:
        t = self.type_from_spec(e.type)
        elems = [(n, self.expr(x)) for n, x in e.elements]
        name = t.name if isinstance(t, T.NamedType) else str(t)
        return model.Instance(name, elems, type=t)

    def x_CodeSelector(self, e: ast.CodeSelector) -> model.Node:
        found = self._find_codesystem(e.system)
        if found is None:
            raise self.error(f"unknown code system {e.system!r}", e.loc)
        _, cs = found
        elems: list[tuple[str, model.Node]] = [("code", self.lit(e.code, T.STRING)), ("system", self.lit(cs.id, T.STRING))]
        if cs.version:
            elems.append(("version", self.lit(cs.version, T.STRING)))
        if e.display is not None:
            elems.append(("display", self.lit(e.display, T.STRING)))
        return model.Instance("System.Code", elems, type=T.CODE)

    def x_ConceptSelector(self, e: ast.ConceptSelector) -> model.Node:
        codes = model.ListSelector([self.expr(c) for c in e.codes], type=T.ListType(T.CODE))
        elems: list[tuple[str, model.Node]] = [("codes", codes)]
        if e.display is not None:
            elems.append(("display", self.lit(e.display, T.STRING)))
        return model.Instance("System.Concept", elems, type=T.CONCEPT)

    # -- timing phrases (Author's guide 'Timing Phrases'; ELM translation per Reference ch. 9)
    def x_Timing(self, e: ast.Timing) -> model.Node:
        left, right = self.expr(e.left), self.expr(e.right)
        loc = e.loc
        prec = _PRECISIONS.get(e.precision) if e.precision else None

        def part(node: model.Node, which: str | None) -> model.Node:
            if which in ("starts", "start"):
                return self.op("Start", [node], loc)
            if which in ("ends", "end"):
                return self.op("End", [node], loc)
            return node

        k = e.kind
        if k == "same_as":
            name = {None: "SameAs", "before": "SameOrBefore", "after": "SameOrAfter"}[e.relation]
            return self.op(name, [part(left, e.left_part), part(right, e.right_part)], loc, precision=prec)
        if k == "includes":
            r = part(right, e.right_part)
            return self.op("ProperIncludes" if e.proper else "Includes", [left, r], loc, precision=prec)
        if k == "included_in":
            lft = part(left, e.left_part)
            if _is_point_type(lft.type) and not isinstance(right.type, T.ListType):
                # a point `during` an interval is In (CQL Reference, Interval Operators: In;
                # the translator resolves the point overload of Included In to In)
                return self.op("ProperIn" if e.proper else "In", [lft, right], loc, precision=prec)
            return self.op("ProperIncludedIn" if e.proper else "IncludedIn", [lft, right], loc, precision=prec)
        if k in ("starts", "ends", "occurs"):
            op_name = {"starts": "Starts", "ends": "Ends"}.get(k)
            if op_name is None:
                raise self.error("'occurs' needs a timing phrase after it", loc)
            return self.op(op_name, [left, right], loc, precision=prec)
        if k == "meets":
            name = {None: "Meets", "before": "MeetsBefore", "after": "MeetsAfter"}[e.direction]
            return self.op(name, [left, right], loc, precision=prec)
        if k == "overlaps":
            name = {None: "Overlaps", "before": "OverlapsBefore", "after": "OverlapsAfter"}[e.direction]
            return self.op(name, [left, right], loc, precision=prec)
        if k == "before_after":
            return self._before_after(e, left, right, prec)
        if k == "within":
            lft = part(left, e.left_part)
            quantity = self.lit(self._quantity(e.offset), T.QUANTITY) if e.offset else None
            if quantity is None:
                raise self.error("'within' needs a quantity", loc)
            if e.right_part:
                low_src = high_src = part(right, e.right_part)
            elif isinstance(right.type, T.IntervalType):
                low_src, high_src = self.op("Start", [right], loc), self.op("End", [right], loc)
            elif _is_point_type(right.type):
                low_src = high_src = right
            else:
                low_src = self.op("_Edge", [right, self.lit("start", T.STRING)], loc)
                high_src = self.op("_Edge", [right, self.lit("end", T.STRING)], loc)
            bounds: list[model.Node] = [self.op("Subtract", [low_src, quantity], loc), self.op("Add", [high_src, quantity], loc)]
            pt = T.unified_type([b.type for b in bounds])
            low, high = self._promote(bounds, pt)
            iv = model.IntervalSelector(low, high, not e.proper, not e.proper, type=T.IntervalType(pt), loc=loc)
            within = self.op("In", [lft, iv], loc)
            point = low_src if e.right_part else right
            if e.right_part or (not T.is_any(right.type) and not isinstance(right.type, T.IntervalType)):
                # `X within 3 days of Y` for a point Y is also `Y is not null`, so that a missing
                # Y gives false, not null: the reference translator's expansion
                # (And(In(X, Interval[Y - 3 days, Y + 3 days]), Not(IsNull(Y))))
                not_null = self.op("Not", [self.op("IsNull", [point], loc)], loc)
                return model.Logical("And", within, not_null, type=T.BOOLEAN, loc=loc)
            return within
        raise self.error(f"unsupported timing phrase {k}", loc)

    def _before_after(self, e: ast.Timing, left: model.Node, right: model.Node, prec: str | None) -> model.Node:
        loc = e.loc
        before = e.relation == "before"
        if e.offset is None:
            lft = self.op("Start", [left], loc) if e.left_part == "starts" else (
                self.op("End", [left], loc) if e.left_part == "ends" else left)
            rgt = self.op("Start", [right], loc) if e.right_part == "start" else (
                self.op("End", [right], loc) if e.right_part == "end" else right)
            if e.or_on:
                return self.op("SameOrBefore" if before else "SameOrAfter", [lft, rgt], loc, precision=prec)
            return self.op("Before" if before else "After", [lft, rgt], loc, precision=prec)
        # with an offset the comparison is between points: pick the edges the phrase implies
        def edge(node: model.Node, which: str | None, default: str) -> model.Node:
            if which in ("starts", "start"):
                return self.op("Start", [node], loc)
            if which in ("ends", "end"):
                return self.op("End", [node], loc)
            if isinstance(node.type, T.IntervalType):
                return self.op("Start" if default == "start" else "End", [node], loc)
            if _is_point_type(node.type):
                return node  # a point is its own edge
            return self.op("_Edge", [node, self.lit(default, T.STRING)], loc)

        def interval(low: model.Node, high: model.Node, low_closed: bool, high_closed: bool) -> model.Node:
            pt = T.unified_type([low.type, high.type])
            low, high = self._promote([low, high], pt)
            return model.IntervalSelector(low, high, low_closed, high_closed, type=T.IntervalType(pt), loc=loc)

        lft = edge(left, e.left_part, "end" if before else "start")
        rgt = edge(right, e.right_part, "start" if before else "end")
        q = self.lit(self._quantity(e.offset), T.QUANTITY)
        qual = e.offset_qualifier
        shifted = self.op("Subtract" if before else "Add", [rgt, q], loc)
        if qual in ("or less", "less than"):
            closed_far = qual == "or less"
            if before:
                iv = interval(shifted, rgt, closed_far, e.or_on)
            else:
                iv = interval(rgt, shifted, e.or_on, closed_far)
            test = self.op("In", [lft, iv], loc, precision=prec)
            # the interval test is unknown when the anchor is null; 'not null' keeps the spec's result
            return model.Logical("And", test, self.op("Not", [self.op("IsNull", [rgt], loc)], loc), type=T.BOOLEAN)
        if qual == "or more":
            return self.op("SameOrBefore" if before else "SameOrAfter", [lft, shifted], loc, precision=prec)
        if qual == "more than":
            return self.op("Before" if before else "After", [lft, shifted], loc, precision=prec)
        return self.op("SameAs", [lft, shifted], loc, precision=prec)

    # -- queries
    def x_Retrieve(self, e: ast.Retrieve) -> model.Node:
        t = self.type_from_spec(e.type)
        name = t.name if isinstance(t, T.NamedType) else str(t)
        code_path, comparator = e.code_path, e.comparator
        m = self.models.get(name.split(".", 1)[0]) if "." in name else None
        if m is not None:
            ci = m.find_class(name)
            if ci is None or not ci.retrievable:
                raise self.error(f"{name} is not a retrievable type of model {m.name}", e.loc)
            if e.terminology is not None and code_path is None:
                code_path = ci.primary_code_path
                if code_path is None:
                    raise self.error(f"{name} has no primary code path; name one: [{e.type.name}: path in ...]", e.loc)
            if code_path is not None and m.element(name, code_path.split(".")[0]) is None:
                raise self.error(f"{name} has no element {code_path!r}", e.loc)
        elif not self.models:
            raise self.error("a retrieve needs a data model: add a `using` declaration (e.g. using QICore version '4.1.1')", e.loc)
        codes = self.expr(e.terminology) if e.terminology is not None else None
        context = self.expr(e.context) if e.context is not None else None
        if codes is not None and comparator is None:
            comparator = "in" if codes.type in (T.VALUESET, T.CODESYSTEM) or isinstance(codes.type, T.ListType) else "~"
        # the translator expands a retrieve on an implicit primary code path whose element may be
        # a Reference (MedicationRequest.medication) into a union with the referenced resources'
        # codes; a code path written in the retrieve is taken literally
        follow = codes is not None and e.code_path is None and code_path is not None
        return model.Retrieve(name, code_path, comparator, codes, context, follow, type=T.ListType(t))

    def x_Query(self, e: ast.Query) -> model.Node:
        scope = Scope()
        self.scopes.append(scope)
        try:
            sources = []
            # a query is a list when any primary source is a list, else a single value (CQL
            # Author's Guide, Queries; the same rule for multi-source queries)
            singular = True
            for s in e.sources:
                node = self.expr(s.expr)
                et = node.type.element if isinstance(node.type, T.ListType) else (T.ANY if T.is_any(node.type) else node.type)
                if T.is_any(node.type) or isinstance(node.type, T.ListType):
                    singular = False
                scope.names[s.alias] = ("alias", et)
                sources.append(model.AliasedQuerySource(s.alias, node))
            lets = []
            for name, x in e.lets:
                node = self.expr(x)
                scope.names[name] = ("let", node.type)
                lets.append((name, node))
            rels = []
            for w in e.relationships:
                node = self.expr(w.source.expr)
                et = node.type.element if isinstance(node.type, T.ListType) else T.ANY
                inner = Scope({w.source.alias: ("alias", et)})
                self.scopes.append(inner)
                try:
                    cond = self.expr(w.such_that)
                finally:
                    self.scopes.pop()
                rels.append(model.RelationshipClause(w.source.alias, node, cond, w.negated))
            where = self.expr(e.where) if e.where is not None else None
            ret = self.expr(e.return_) if e.return_ is not None else None
            agg = None
            if e.aggregate is not None:
                ident, starting, body, distinct = e.aggregate
                start_node = self.expr(starting) if starting is not None else None
                scope.names[ident] = ("alias", start_node.type if start_node is not None else T.ANY)
                agg = model.AggregateClause(ident, start_node, self.expr(body), distinct)
            if ret is not None:
                elem_t = ret.type
            elif len(sources) == 1:
                elem_t = scope.names[sources[0].alias][1]
            else:
                elem_t = T.TupleType(tuple((s.alias, scope.names[s.alias][1]) for s in sources))
            sort = None
            if e.sort is not None:
                self.scopes.append(Scope({"$this": ("alias", elem_t)}, unknown_is_property=True))
                try:
                    sort = [model.SortByItem(self.expr(i.expr) if i.expr is not None else None, i.descending) for i in e.sort]
                finally:
                    self.scopes.pop()
        finally:
            self.scopes.pop()
        if agg is not None:
            qtype = agg.expression.type
        else:
            qtype = elem_t if singular else T.ListType(elem_t)
        return model.Query(sources, lets, rels, where, ret, e.return_distinct, agg, sort, singular, type=qtype)

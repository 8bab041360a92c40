"""Resolved model -> Python closures, built once per library.

Each model node becomes a function of an :class:`Env` (the evaluation request plus the variables
in scope: aliases, lets, function operands). Evaluating a definition calls its closure; no syntax
tree is walked at evaluation time. Definitions are cached per request (CQL definitions are
deterministic within one evaluation context).
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from . import model, query
from . import types as T
from .context import EvaluationContext, RetrieveRequest
from .env import Env, Fn
from .errors import CqlRuntimeError
from .externals import lookup as find_external
from .operators.registry import lookup
from .resolver import ResolvedLibrary
from .runtime.compare import compare, equal
from .runtime.quantity import Quantity, Ratio
from .runtime.values import Code, CodeSystemRef, Concept, CqlTuple, Interval, ValueSetRef

if TYPE_CHECKING:
    from .trace import Tracer

# nodes whose run-time errors are stamped with their line:column (the innermost wins); a
# try/except costs nothing in Python 3.11 until something is raised
_LOCATED = (model.OperatorCall, model.FunctionRef, model.Query, model.Retrieve)


def _located(fn: Fn, line: int, column: int) -> Fn:
    def located(env: Env) -> Any:
        try:
            return fn(env)
        except CqlRuntimeError as exc:
            raise exc.locate(line=line, column=column) from None

    return located


class CompiledLibrary:
    """A library's definitions, functions and parameters as closures."""

    def __init__(self, resolved: ResolvedLibrary, registry: dict[str, CompiledLibrary], tracer: Tracer | None = None):
        self.resolved = resolved
        self.tracer = tracer  # instrumented compile (pedqm.cql.trace); None: the plain closures
        self.key = resolved.key
        self.name = resolved.name
        self.version = resolved.version
        self.registry = registry
        registry[self.key] = self
        self.includes = {alias: (registry.get(lib.key) or CompiledLibrary(lib, registry, tracer)) for alias, lib in resolved.includes.items()}
        self._defs: dict[str, Fn] = {}
        self._functions: dict[int, Fn] = {}
        self._params: dict[str, Fn | None] = {}
        self._terminology: dict[tuple[str, str], Any] = {}
        c = Compiler(self)
        for name, d in resolved.definitions.items():
            if d.expression is not None:
                self._defs[name] = c.compile(d.expression)
        for overloads in resolved.functions.values():
            for fm in overloads:
                if fm.body is not None:
                    self._functions[id(fm)] = c.compile(fm.body)
        for name, p in resolved.parameters.items():
            self._params[name] = c.compile(p.default) if p.default is not None else None

    @property
    def definition_names(self) -> list[str]:
        return list(self._defs)

    def definition(self, name: str) -> Fn:
        return self._defs[name]

    def evaluate_definition(self, name: str, ctx: EvaluationContext) -> Any:
        key = (self.key, name)
        if key in ctx.cache:
            return ctx.cache[key]
        try:
            value = self._defs[name](Env(ctx))
        except RecursionError:
            raise CqlRuntimeError(f"evaluating {name!r} recursed too deeply: a definition that refers to itself, "
                                  "or a recursive function without a reachable end") from None
        except CqlRuntimeError as exc:
            internal = not self.name or name.startswith("$")  # an expression evaluated on its own
            raise exc.locate(library=None if internal else self.name, definition=None if internal else name) from None
        ctx.cache[key] = value
        return value

    def parameter(self, name: str, ctx: EvaluationContext) -> Any:
        """A parameter's value: given for this library, else given for all libraries (the
        request's "Measurement Period" reaches included libraries too), else its default."""
        for scope in (self.key, "*"):
            given = ctx.parameters.get(scope)
            if given is not None and name in given:
                return given[name]
        cache_key = (self.key, "$param:" + name)
        if cache_key not in ctx.cache:
            fn = self._params.get(name)
            ctx.cache[cache_key] = fn(Env(ctx)) if fn is not None else None
        return ctx.cache[cache_key]

    def function_body(self, fm: model.FunctionModel) -> Fn | None:
        return self._functions.get(id(fm))

    def call_function(self, name: str, args: list[Any], ctx: EvaluationContext) -> Any:
        """Call a function of this library from Python (e.g. a measure-observation function)."""
        overloads = [f for f in self.resolved.functions.get(name, []) if len(f.operand_names) == len(args)]
        for fm in overloads:
            if all(v is None or T.is_any(t) or T.value_is(v, t) for v, t in zip(args, fm.operand_types)) or len(overloads) == 1:
                body = self._functions.get(id(fm))
                if body is None:
                    raise CqlRuntimeError(f"function {name} could not be compiled")
                return body(Env(ctx, dict(zip(fm.operand_names, args))))
        raise CqlRuntimeError(f"library {self.name} has no function {name} taking {len(args)} argument(s)")

    def terminology(self, kind: str, name: str) -> Any:
        key = (kind, name)
        if key not in self._terminology:
            self._terminology[key] = self._build_terminology(kind, name)
        return self._terminology[key]

    def _lib_for(self, qualified: str) -> tuple[CompiledLibrary, str]:
        if "." in qualified:
            alias, name = qualified.split(".", 1)
            return self.includes[alias], name
        return self, qualified

    def _build_terminology(self, kind: str, name: str) -> Any:
        r = self.resolved
        if kind == "codesystem":
            cs = r.codesystems[name]
            return CodeSystemRef(cs.id, cs.version, cs.name)
        if kind == "valueset":
            vs = r.valuesets[name]
            systems = []
            for s in vs.codesystems:
                lib, simple = self._lib_for(s)
                systems.append(lib.terminology("codesystem", simple))
            return ValueSetRef(vs.id, vs.version, vs.name, tuple(systems))
        if kind == "code":
            cd = r.codes[name]
            lib, simple = self._lib_for(cd.system)
            cs = lib.terminology("codesystem", simple)
            return Code(cd.code, cs.id, cs.version, cd.display)
        if kind == "concept":
            cc = r.concepts[name]
            codes = []
            for q in cc.codes:
                lib, simple = self._lib_for(q)
                codes.append(lib.terminology("code", simple))
            return Concept(tuple(codes), cc.display)
        raise KeyError(kind)


def _external_body(library: str | None, fm: model.FunctionModel) -> Fn:
    """A closure calling the registered Python implementation of an `external` function."""
    impl = find_external(library, fm.name)
    if impl is None:
        raise CqlRuntimeError(f"external function {library}.{fm.name} has no implementation in pedqm")
    names = fm.operand_names
    return lambda env: impl(env.ctx, *[env.vars.get(n) for n in names])


class Compiler:
    def __init__(self, lib: CompiledLibrary):
        self.lib = lib

    def compile(self, node: model.Node) -> Fn:
        method = getattr(self, "c_" + type(node).__name__)
        fn: Fn = method(node)
        if isinstance(node, _LOCATED) and node.loc.line:
            fn = _located(fn, node.loc.line, node.loc.column)
        if self.lib.tracer is not None:
            fn = self.lib.tracer.wrap(fn, node, self.lib.resolved)
        return fn

    # -- leaves
    def c_Literal(self, n: model.Literal) -> Fn:
        value = n.value
        return lambda env: value

    def c_AliasRef(self, n: model.AliasRef) -> Fn:
        name = n.name

        def alias(env: Env) -> Any:
            return env.vars.get(name)

        return alias

    c_QueryLetRef = c_AliasRef
    c_OperandRef = c_AliasRef

    def c_ExpressionRef(self, n: model.ExpressionRef) -> Fn:
        key, name = n.library, n.name
        registry = self.lib.registry

        def ref(env: Env) -> Any:
            lib = registry[key]
            try:
                return lib.evaluate_definition(name, env.ctx)
            except KeyError:
                raise CqlRuntimeError(f"definition {name!r} could not be compiled") from None

        return ref

    def c_ParameterRef(self, n: model.ParameterRef) -> Fn:
        key, name = n.library, n.name
        registry = self.lib.registry
        return lambda env: registry[key].parameter(name, env.ctx)

    def c_TerminologyRef(self, n: model.TerminologyRef) -> Fn:
        key, kind, name = n.library, n.kind, n.name
        registry = self.lib.registry
        cache: list[Any] = []

        def term(env: Env) -> Any:
            if not cache:
                cache.append(registry[key].terminology(kind, name))
            return cache[0]

        return term

    # -- operators
    def c_OperatorCall(self, n: model.OperatorCall) -> Fn:
        op = lookup(n.name)
        if op is None:  # resolver guarantees this; keep a clear error just in case
            raise CqlRuntimeError(f"unknown operator {n.name}")
        fn = op.fn
        args = [self.compile(a) for a in n.operands]
        kw = dict(n.options)
        if n.precision is not None:
            kw["precision"] = n.precision
        if op.needs_context:
            if kw:
                return lambda env: fn(env.ctx, *[a(env) for a in args], **kw)
            return lambda env: fn(env.ctx, *[a(env) for a in args])
        if kw:
            return lambda env: fn(*[a(env) for a in args], **kw)
        if len(args) == 1:
            (a0,) = args
            return lambda env: fn(a0(env))
        if len(args) == 2:
            a0, a1 = args
            return lambda env: fn(a0(env), a1(env))
        return lambda env: fn(*[a(env) for a in args])

    def c_Logical(self, n: model.Logical) -> Fn:
        left, right = self.compile(n.left), self.compile(n.right)
        if n.op == "And":
            def and_(env: Env) -> bool | None:
                a = left(env)
                if a is False:
                    return False
                b = right(env)
                if b is False:
                    return False
                return None if a is None or b is None else True
            return and_
        if n.op == "Or":
            def or_(env: Env) -> bool | None:
                a = left(env)
                if a is True:
                    return True
                b = right(env)
                if b is True:
                    return True
                return None if a is None or b is None else False
            return or_
        if n.op == "Xor":
            def xor(env: Env) -> bool | None:
                a, b = left(env), right(env)
                return None if a is None or b is None else a != b
            return xor

        def implies(env: Env) -> bool | None:
            a = left(env)
            if a is False:
                return True
            b = right(env)
            if a is True:
                return b
            return True if b is True else None

        return implies

    def c_If(self, n: model.If) -> Fn:
        c, a, b = self.compile(n.condition), self.compile(n.then), self.compile(n.else_)
        return lambda env: a(env) if c(env) is True else b(env)

    def c_Case(self, n: model.Case) -> Fn:
        items = [(self.compile(w), self.compile(t)) for w, t in n.items]
        els = self.compile(n.else_)
        if n.comparand is not None:
            comp = self.compile(n.comparand)

            def case_cmp(env: Env) -> Any:
                v = comp(env)
                for w, t in items:
                    if equal(v, w(env)) is True:
                        return t(env)
                return els(env)

            return case_cmp

        def case(env: Env) -> Any:
            for w, t in items:
                if w(env) is True:
                    return t(env)
            return els(env)

        return case

    def c_Message(self, n: model.Message) -> Fn:
        src, cond, code, sev, msg = (self.compile(x) for x in (n.source, n.condition, n.code, n.severity, n.message))

        def message(env: Env) -> Any:
            value = src(env)
            if cond(env) is True:
                severity = sev(env) or "Message"
                text = f"{code(env) or ''}: {msg(env) or ''}".strip(": ")
                if str(severity).lower() == "error":
                    raise CqlRuntimeError(text)
                env.ctx.messages.append(f"{severity}: {text}")
            return value

        return message

    # -- functions
    def c_FunctionRef(self, n: model.FunctionRef) -> Fn:
        args = [self.compile(a) for a in n.operands]
        registry = self.lib.registry
        key, name = n.library, n.name
        candidates = n.candidates

        def body_of(fm: model.FunctionModel) -> Fn:
            lib = registry[key]
            body = lib.function_body(fm)
            if body is None:
                if fm.external:
                    return _external_body(lib.name, fm)
                raise CqlRuntimeError(f"function {name} could not be compiled")
            return body

        if len(candidates) == 1:
            fm = candidates[0]
            names = fm.operand_names
            cell: list[Fn] = []

            def call(env: Env) -> Any:
                if not cell:
                    cell.append(body_of(fm))
                values = [a(env) for a in args]
                return cell[0](Env(env.ctx, dict(zip(names, values))))

            return call

        def dispatch(env: Env) -> Any:
            values = [a(env) for a in args]
            for fm in candidates:
                if all(v is None or T.is_any(t) or T.value_is(v, t) for v, t in zip(values, fm.operand_types)):
                    return body_of(fm)(Env(env.ctx, dict(zip(fm.operand_names, values))))
            sig = ", ".join(str(T.type_of_value(v)) for v in values)
            raise CqlRuntimeError(f"no overload of {name} accepts ({sig})")

        return dispatch

    # -- selectors
    def c_ListSelector(self, n: model.ListSelector) -> Fn:
        elems = [self.compile(e) for e in n.elements]
        return lambda env: [e(env) for e in elems]

    def c_IntervalSelector(self, n: model.IntervalSelector) -> Fn:
        low, high = self.compile(n.low), self.compile(n.high)
        lc, hc, pt = n.low_closed, n.high_closed, n.point_type

        def interval(env: Env) -> Interval:
            lo, hi = low(env), high(env)
            if lo is not None and hi is not None:
                try:
                    c = compare(lo, hi)
                except TypeError:
                    raise CqlRuntimeError(f"interval bounds {lo!r} and {hi!r} are of different types") from None
                if c is not None and (c > 0 or (c == 0 and not (lc and hc))):
                    # Interval[5, 5) has no points: the spec (and suite) make it an error
                    raise CqlRuntimeError("invalid interval: the high bound must be after the low bound")
            return Interval(lo, hi, lc, hc, pt)

        return interval

    def c_TupleSelector(self, n: model.TupleSelector) -> Fn:
        elems = [(k, self.compile(v)) for k, v in n.elements]
        return lambda env: CqlTuple({k: v(env) for k, v in elems})

    def c_Instance(self, n: model.Instance) -> Fn:
        elems = [(k, self.compile(v)) for k, v in n.elements]
        cls = n.class_type
        build = _INSTANCE_BUILDERS.get(cls)
        if build is not None:
            b = build
            return lambda env: b({k: v(env) for k, v in elems})
        return lambda env: CqlTuple({k: v(env) for k, v in elems}, type_name=cls)

    # -- types
    def c_Is(self, n: model.Is) -> Fn:
        operand, t = self.compile(n.operand), n.is_type
        return lambda env: T.value_is(operand(env), t)

    def c_As(self, n: model.As) -> Fn:
        operand, t, strict = self.compile(n.operand), n.as_type, n.strict

        def as_(env: Env) -> Any:
            v = operand(env)
            if v is None or T.is_any(t) or T.value_is(v, t):
                return v
            if isinstance(v, list) and isinstance(t, T.ListType) and all(x is None for x in v):
                return v
            if strict:
                raise CqlRuntimeError(f"cannot cast {T.type_of_value(v)} value to {t}")
            return None

        return as_

    # -- properties
    def c_Property(self, n: model.Property) -> Fn:
        source, path = self.compile(n.source), n.path
        return lambda env: get_property(source(env), path)

    # -- retrieve and query
    def c_Retrieve(self, n: model.Retrieve) -> Fn:
        codes = self.compile(n.codes) if n.codes is not None else None
        context = self.compile(n.context) if n.context is not None else None
        data_type, code_path, comparator = n.data_type, n.code_path, n.comparator
        extra = {"follow_references": True} if n.follow_references else {}

        def retrieve(env: Env) -> list[Any]:
            ctx = env.ctx
            if ctx.data is None:
                return []
            context_value = context(env) if context is not None else ctx.context_value
            code_values = codes(env) if codes is not None else None
            results = list(ctx.data.retrieve(
                data_type,
                context=ctx.context_name,
                context_value=context_value,
                code_path=code_path,
                codes=code_values,
                comparator=comparator,
                **extra,
            ))
            if ctx.observers:
                request = RetrieveRequest(data_type, ctx.context_name, context_value, code_path, code_values,
                                          comparator, n.follow_references)
                for observe in ctx.observers:
                    observe(request, results)
            return results

        return retrieve

    def c_Query(self, n: model.Query) -> Fn:
        """A query as its stages (see :mod:`.query`), each compiled clause handed to its own."""
        sources = [(s.alias, self.compile(s.expression)) for s in n.sources]
        lets = [(name, self.compile(x)) for name, x in n.lets]
        rels = [query.Relationship(r.alias, self.compile(r.expression), self.compile(r.such_that), r.negated)
                for r in n.relationships]
        where = self.compile(n.where) if n.where is not None else None
        ret = self.compile(n.return_) if n.return_ is not None else None
        distinct = n.distinct and ret is not None
        agg = n.aggregate
        aggregate = None
        if agg is not None:
            aggregate = query.Aggregate(agg.identifier, self.compile(agg.starting) if agg.starting is not None else None,
                                        self.compile(agg.expression), agg.distinct)
        sort = [(self.compile(s.expression) if s.expression is not None else None, s.descending)
                for s in n.sort] if n.sort else None
        aliases = [alias for alias, _ in sources]
        single_alias = aliases[0] if len(aliases) == 1 else None
        # without a return clause the element is the alias's value, so sort binds both
        sort_alias = single_alias if ret is None else None

        def evaluate(env: Env) -> Any:
            rows, singular = query.source_rows(env, sources)
            if lets:
                query.let_stage(rows, lets)
            if rels:
                rows = query.relationship_stage(rows, rels)
            if where is not None:
                rows = query.where_stage(rows, where)
            if aggregate is not None:
                return query.aggregate_stage(env, rows, aggregate, aliases)
            values = query.return_stage(rows, ret, distinct, aliases)
            if sort:
                values = query.sort_stage(env, values, sort, sort_alias)
            if singular:
                return values[0] if values else None
            return values

        return evaluate


def _build_code(d: dict[str, Any]) -> Code:
    return Code(d.get("code"), d.get("system"), d.get("version"), d.get("display"))


def _build_concept(d: dict[str, Any]) -> Concept:
    codes = d.get("codes") or []
    if isinstance(codes, Code):
        codes = [codes]
    return Concept(tuple(codes), d.get("display"))


def _build_quantity(d: dict[str, Any]) -> Any:
    value = d.get("value")
    if value is None:
        return None
    return Quantity(Decimal(value), d.get("unit") or "1")


def _build_ratio(d: dict[str, Any]) -> Any:  # None when a part is missing
    num, den = d.get("numerator"), d.get("denominator")
    return None if num is None or den is None else Ratio(num, den)


def _build_valueset(d: dict[str, Any]) -> ValueSetRef:
    return ValueSetRef(d.get("id") or "", d.get("version"), d.get("name"), tuple(d.get("codesystem") or ()))


def _build_codesystem(d: dict[str, Any]) -> CodeSystemRef:
    return CodeSystemRef(d.get("id") or "", d.get("version"), d.get("name"))


def _build_interval(d: dict[str, Any]) -> Interval:
    return Interval(d.get("low"), d.get("high"), d.get("lowClosed", True) is not False, d.get("highClosed", True) is not False)


_INSTANCE_BUILDERS: dict[str, Callable[[dict[str, Any]], Any]] = {
    "System.Code": _build_code,
    "System.Concept": _build_concept,
    "System.Quantity": _build_quantity,
    "System.Ratio": _build_ratio,
    "System.ValueSet": _build_valueset,
    "System.CodeSystem": _build_codesystem,
    "System.Interval": _build_interval,
}

_CODE_PROPS = {"code", "system", "version", "display"}


def get_property(value: Any, path: str) -> Any:
    """Navigate one path step on a run-time value (lists map the step over their elements)."""
    if value is None:
        return None
    if isinstance(value, CqlTuple):
        return value.get(path)
    if isinstance(value, list):
        out = []
        for v in value:
            r = get_property(v, path)
            if isinstance(r, list):
                out.extend(r)
            elif r is not None:
                out.append(r)
        return out
    if isinstance(value, Interval):
        return {"low": value.low, "high": value.high, "lowClosed": value.low_closed, "highClosed": value.high_closed}.get(path)
    if isinstance(value, Code) and path in _CODE_PROPS:
        return getattr(value, path)
    if isinstance(value, Concept):
        return list(value.codes) if path == "codes" else (value.display if path == "display" else None)
    if isinstance(value, dict):
        return value.get(path)
    getter = getattr(value, "get_property", None)
    if getter is not None:
        return getter(path)
    if path in ("value", "unit", "numerator", "denominator", "low", "high", "id", "version", "name"):
        return getattr(value, path, None)
    return None

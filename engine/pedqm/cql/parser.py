"""CQL text -> Lark parse tree -> AST (:mod:`pedqm.cql.ast`).

The grammar (`cql.lark`) is LALR(1), so a library of thousands of lines parses in well under a
second. Syntax errors become :class:`~pedqm.cql.errors.SourceError` values with line, column and
the offending line; the parser recovers at the next `define` so that one run reports every
syntax error in a library, not just the first.
"""

from __future__ import annotations

import dataclasses
import re
from functools import lru_cache
from importlib import resources
from typing import Any

from lark import Lark, Token, Tree, v_args
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken
from lark.visitors import Transformer_NonRecursive

from . import ast
from .errors import CqlCompileError, SourceError


class Kw(str):
    """A keyword as written (marks tokens coming from keyword rules)."""


_ESCAPES = {"'": "'", '"': '"', "`": "`", "\\": "\\", "/": "/", "f": "\f", "n": "\n", "r": "\r", "t": "\t"}
_ESCAPE_RE = re.compile(r"\\(u[0-9a-fA-F]{4}|.)")


def unescape(body: str) -> str:
    """Decode CQL string escapes (spec 'String literals': \\' \\" \\\\ \\n \\uXXXX ...)."""

    def repl(m: re.Match[str]) -> str:
        s = m.group(1)
        if s.startswith("u") and len(s) == 5:
            return chr(int(s[1:], 16))
        return _ESCAPES.get(s, s)

    return _ESCAPE_RE.sub(repl, body)


def _string(tok: Token | str) -> str:
    return unescape(str(tok)[1:-1])


def _loc(meta: Any) -> ast.Loc:
    if meta is None or getattr(meta, "empty", True):
        return ast.NOWHERE
    return ast.Loc(meta.line, meta.column, getattr(meta, "end_line", 0) or 0, getattr(meta, "end_column", 0) or 0)


def _is_tok(x: Any, *types: str) -> bool:
    return isinstance(x, Token) and x.type in types


_KEYWORD_RULES = (
    "access_modifier add_op and before_or_after bool_or_null date_kw datetime_precision "
    "distinct_flatten during equality_op exists expand_collapse external fluent implies "
    "inequality_op interval_close interval_open is_or_as kw_ident membership_op min_max mul_op "
    "not or_op plural_precision pow properly set_op sign sort_direction start_or_end "
    "starts_ends_occurs time_kw timezoneoffset unary_from_kw unary_of_kw"
).split()

_BINARY_OPS = {
    "|": "Union", "union": "Union", "intersect": "Intersect", "except": "Except",
    "implies": "Implies", "or": "Or", "xor": "Xor", "and": "And",
    "=": "Equal", "!=": "NotEqual", "<>": "NotEqual", "~": "Equivalent", "!~": "NotEquivalent",
    "<": "Less", "<=": "LessOrEqual", ">": "Greater", ">=": "GreaterOrEqual",
    "+": "Add", "-": "Subtract", "&": "Concatenate", "*": "Multiply", "/": "Divide",
    "div": "TruncatedDivide", "mod": "Modulo", "^": "Power",
}


def _keyword_rule(self: Any, children: list[Any]) -> Kw:
    return Kw(" ".join(str(c) for c in children))


def _plain_query_source(node: Any) -> bool:
    """A retrieve, or a name possibly qualified by a library or alias (`Lib."Def"`, `A.b`)."""
    while isinstance(node, ast.Member):
        node = node.source
    return isinstance(node, (ast.Retrieve, ast.Identifier))


@v_args(meta=True)
class _ToAst(Transformer_NonRecursive[Token, Any]):
    """Bottom-up construction of AST nodes; no scopes, no types."""

    def __init__(self, text: str = "") -> None:
        super().__init__()
        self.text = text

    def __default_token__(self, token: Token) -> Any:
        return token

    # -- identifiers
    def identifier(self, meta: Any, c: list[Token]) -> str:
        tok = c[0]
        if tok.type in ("QUOTEDIDENTIFIER", "DELIMITEDIDENTIFIER"):
            return unescape(tok[1:-1])
        return str(tok)

    def keyword_identifier(self, meta: Any, c: list[Any]) -> str:
        return str(c[0])

    def qualified_identifier(self, meta: Any, c: list[Any]) -> str:
        return ".".join(str(x) for x in c)

    def library_qualified_identifier(self, meta: Any, c: list[Any]) -> str:
        return ".".join(str(x) for x in c)

    # -- type specifiers
    def named_type_specifier(self, meta: Any, c: list[Any]) -> ast.NamedTypeSpec:
        names = [str(x) for x in c]
        ns = ".".join(names[:-1]) or None
        return ast.NamedTypeSpec(names[-1], ns, loc=_loc(meta))

    def list_type_specifier(self, meta: Any, c: list[Any]) -> ast.ListTypeSpec:
        return ast.ListTypeSpec(c[0], loc=_loc(meta))

    def interval_type_specifier(self, meta: Any, c: list[Any]) -> ast.IntervalTypeSpec:
        return ast.IntervalTypeSpec(c[0], loc=_loc(meta))

    def tuple_element_definition(self, meta: Any, c: list[Any]) -> tuple[str, ast.TypeSpec]:
        return (str(c[0]), c[1])

    def tuple_type_specifier(self, meta: Any, c: list[Any]) -> ast.TupleTypeSpec:
        return ast.TupleTypeSpec(list(c), loc=_loc(meta))

    def choice_type_specifier(self, meta: Any, c: list[Any]) -> ast.ChoiceTypeSpec:
        return ast.ChoiceTypeSpec(list(c), loc=_loc(meta))

    # -- literals
    def simple_keyword_literal(self, meta: Any, c: list[Any]) -> ast.Literal:
        word = str(c[0])
        if word == "null":
            return ast.Literal("Null", "null", loc=_loc(meta))
        return ast.Literal("Boolean", word, loc=_loc(meta))

    def string_literal(self, meta: Any, c: list[Any]) -> ast.Literal:
        return ast.Literal("String", _string(c[0]), loc=_loc(meta))

    def number_literal(self, meta: Any, c: list[Any]) -> ast.Literal:
        text = str(c[0])
        return ast.Literal("Decimal" if "." in text else "Integer", text, loc=_loc(meta))

    def long_literal(self, meta: Any, c: list[Any]) -> ast.Literal:
        return ast.Literal("Long", str(c[0])[:-1], loc=_loc(meta))

    def datetime_literal(self, meta: Any, c: list[Any]) -> ast.Literal:
        return ast.Literal("DateTime", str(c[0])[1:], loc=_loc(meta))

    def date_literal(self, meta: Any, c: list[Any]) -> ast.Literal:
        return ast.Literal("Date", str(c[0])[1:], loc=_loc(meta))

    def time_literal(self, meta: Any, c: list[Any]) -> ast.Literal:
        return ast.Literal("Time", str(c[0])[2:], loc=_loc(meta))

    def quantity(self, meta: Any, c: list[Any]) -> ast.QuantityLiteral:
        unit = c[1]
        unit_text = _string(unit) if _is_tok(unit, "STRING") else str(unit)
        return ast.QuantityLiteral(str(c[0]), unit_text, loc=_loc(meta))

    def ratio(self, meta: Any, c: list[Any]) -> ast.RatioLiteral:
        return ast.RatioLiteral(c[0], c[1], loc=_loc(meta))

    # -- terms
    def identifier_term(self, meta: Any, c: list[Any]) -> ast.Identifier:
        return ast.Identifier(str(c[0]), loc=_loc(meta))

    def special_identifier(self, meta: Any, c: list[Any]) -> ast.SpecialIdentifier:
        return ast.SpecialIdentifier(str(c[0]), loc=_loc(meta))

    def external_constant(self, meta: Any, c: list[Any]) -> ast.ExternalConstant:
        name = c[0]
        return ast.ExternalConstant(_string(name) if _is_tok(name, "STRING") else str(name), loc=_loc(meta))

    def function_call(self, meta: Any, c: list[Any]) -> ast.Call:
        return ast.Call(str(c[0]), [a for a in c[1:] if a is not None], loc=_loc(meta))

    def method_call(self, meta: Any, c: list[Any]) -> ast.Call:
        return ast.Call(str(c[1]), [a for a in c[2:] if a is not None], source=c[0], loc=_loc(meta))

    def member(self, meta: Any, c: list[Any]) -> ast.Member:
        return ast.Member(c[0], str(c[1]), loc=_loc(meta))

    def indexer(self, meta: Any, c: list[Any]) -> ast.Indexer:
        return ast.Indexer(c[0], c[1], loc=_loc(meta))

    def interval_selector(self, meta: Any, c: list[Any]) -> ast.IntervalSelector:
        return ast.IntervalSelector(c[1], c[2], str(c[0]) == "[", str(c[3]) == "]", loc=_loc(meta))

    def tuple_element(self, meta: Any, c: list[Any]) -> tuple[str, ast.Expr]:
        return (str(c[0]), c[1])

    def tuple_selector(self, meta: Any, c: list[Any]) -> ast.TupleSelector:
        return ast.TupleSelector([x for x in c if isinstance(x, tuple)], loc=_loc(meta))

    def instance_selector(self, meta: Any, c: list[Any]) -> ast.InstanceSelector:
        head = c[0]
        if isinstance(head, ast.Identifier):
            type_spec = ast.NamedTypeSpec(head.name, loc=head.loc)
        elif isinstance(head, ast.Member) and isinstance(head.source, ast.Identifier):
            type_spec = ast.NamedTypeSpec(head.name, head.source.name, loc=head.loc)
        elif isinstance(head, Token):
            type_spec = ast.NamedTypeSpec(str(head), loc=_loc(meta))
        else:
            raise _AstError("expected a type name before '{'", _loc(meta))
        return ast.InstanceSelector(type_spec, [x for x in c[1:] if isinstance(x, tuple)], loc=_loc(meta))

    def list_selector(self, meta: Any, c: list[Any]) -> ast.ListSelector:
        elem_type = None
        items = []
        for x in c:
            if isinstance(x, ast.TypeSpec):
                elem_type = x
            elif isinstance(x, ast.Expr):
                items.append(x)
        return ast.ListSelector(items, elem_type, loc=_loc(meta))

    def display_clause(self, meta: Any, c: list[Any]) -> tuple[str, str]:
        return ("display", _string(c[0]))

    def code_selector(self, meta: Any, c: list[Any]) -> ast.CodeSelector:
        display = c[3][1] if len(c) > 3 and c[3] is not None else None
        return ast.CodeSelector(_string(c[1]), str(c[2]), display, loc=_loc(meta))

    def concept_selector(self, meta: Any, c: list[Any]) -> ast.ConceptSelector:
        codes = [x for x in c if isinstance(x, ast.CodeSelector)]
        display = next((x[1] for x in c if isinstance(x, tuple)), None)
        return ast.ConceptSelector(codes, display, loc=_loc(meta))

    # -- operators
    def binary(self, meta: Any, c: list[Any]) -> ast.Binary:
        return ast.Binary(_BINARY_OPS[str(c[1])], c[0], c[2], loc=_loc(meta))

    def membership(self, meta: Any, c: list[Any]) -> ast.Binary:
        op = "In" if str(c[1]) == "in" else "Contains"
        precision = c[2] if len(c) == 4 else None
        return ast.Binary(op, c[0], c[-1], precision=precision, loc=_loc(meta))

    def precision_specifier(self, meta: Any, c: list[Any]) -> str:
        return str(c[0])

    def not_expr(self, meta: Any, c: list[Any]) -> ast.Unary:
        return ast.Unary("Not", c[1], loc=_loc(meta))

    def exists_expr(self, meta: Any, c: list[Any]) -> ast.Unary:
        return ast.Unary("Exists", c[1], loc=_loc(meta))

    def is_test(self, meta: Any, c: list[Any]) -> ast.Expr:
        operand, negated, what = c[0], len(c) == 3, str(c[-1])
        op = {"null": "IsNull", "true": "IsTrue", "false": "IsFalse"}[what]
        node: ast.Expr = ast.Unary(op, operand, loc=_loc(meta))
        return ast.Unary("Not", node, loc=_loc(meta)) if negated else node

    def type_expr(self, meta: Any, c: list[Any]) -> ast.TypeOp:
        return ast.TypeOp(str(c[1]), c[0], c[2], loc=_loc(meta))

    def cast_expr(self, meta: Any, c: list[Any]) -> ast.TypeOp:
        return ast.TypeOp("cast", c[0], c[1], loc=_loc(meta))

    def between(self, meta: Any, c: list[Any]) -> ast.Between:
        proper = _is_tok(c[1], "PROPERLY_BETWEEN")
        return ast.Between(c[0], c[-2], c[-1], proper, loc=_loc(meta))

    def duration_between(self, meta: Any, c: list[Any]) -> ast.DurationBetween:
        return ast.DurationBetween("duration", str(c[-3]), c[-2], c[-1], loc=_loc(meta))

    def difference_between(self, meta: Any, c: list[Any]) -> ast.DurationBetween:
        return ast.DurationBetween("difference", str(c[-3]), c[-2], c[-1], loc=_loc(meta))

    def duration_of(self, meta: Any, c: list[Any]) -> ast.DurationOf:
        return ast.DurationOf("duration", str(c[1]), c[2], loc=_loc(meta))

    def difference_of(self, meta: Any, c: list[Any]) -> ast.DurationOf:
        return ast.DurationOf("difference", str(c[1]), c[2], loc=_loc(meta))

    def polarity(self, meta: Any, c: list[Any]) -> ast.Expr:
        if str(c[0]) == "+":
            return c[1]
        return ast.Unary("Negate", c[1], loc=_loc(meta))

    def boundary(self, meta: Any, c: list[Any]) -> ast.Unary:
        op = "Start" if str(c[0]).startswith("start") else "End"
        return ast.Unary(op, c[1], loc=_loc(meta))

    def component_from(self, meta: Any, c: list[Any]) -> ast.ComponentFrom:
        return ast.ComponentFrom(str(c[0]), c[1], loc=_loc(meta))

    def unary_of(self, meta: Any, c: list[Any]) -> ast.Unary:
        op = {"width": "Width", "successor": "Successor", "predecessor": "Predecessor"}[str(c[0])]
        return ast.Unary(op, c[1], loc=_loc(meta))

    def unary_from(self, meta: Any, c: list[Any]) -> ast.Unary:
        op = {"singleton": "SingletonFrom", "point": "PointFrom"}[str(c[0])]
        return ast.Unary(op, c[1], loc=_loc(meta))

    def type_extent(self, meta: Any, c: list[Any]) -> ast.TypeExtent:
        return ast.TypeExtent(str(c[0]), c[1], loc=_loc(meta))

    def convert(self, meta: Any, c: list[Any]) -> ast.Convert:
        target = c[1]
        if isinstance(target, ast.TypeSpec):
            return ast.Convert(c[0], type=target, loc=_loc(meta))
        unit = _string(target) if _is_tok(target, "STRING") else str(target)
        return ast.Convert(c[0], unit=unit, loc=_loc(meta))

    def if_expr(self, meta: Any, c: list[Any]) -> ast.If:
        return ast.If(c[0], c[1], c[2], loc=_loc(meta))

    def case_item(self, meta: Any, c: list[Any]) -> ast.CaseItem:
        return ast.CaseItem(c[0], c[1])

    def case_expr(self, meta: Any, c: list[Any]) -> ast.Case:
        comparand = c[0] if not isinstance(c[0], ast.CaseItem) else None
        items = [x for x in c if isinstance(x, ast.CaseItem)]
        return ast.Case(comparand, items, c[-1], loc=_loc(meta))

    def list_unary(self, meta: Any, c: list[Any]) -> ast.Unary:
        return ast.Unary("Distinct" if str(c[0]) == "distinct" else "Flatten", c[1], loc=_loc(meta))

    def set_aggregate(self, meta: Any, c: list[Any]) -> ast.ExpandCollapse:
        op = "Expand" if str(c[0]) == "expand" else "Collapse"
        per = c[2] if len(c) > 2 else None
        if isinstance(per, Kw):
            per = str(per)
        return ast.ExpandCollapse(op, c[1], per, loc=_loc(meta))

    # -- timing phrases
    def timing(self, meta: Any, c: list[Any]) -> ast.Timing:
        phrase: ast.Timing = c[1]
        phrase.left, phrase.right, phrase.loc = c[0], c[2], _loc(meta)
        return phrase

    @staticmethod
    def _phrase(kind: str, c: list[Any]) -> ast.Timing:
        t = ast.Timing(kind, ast.Expr(), ast.Expr())
        for x in c:
            if isinstance(x, Kw):
                s = str(x)
                if s in ("starts", "ends", "occurs"):
                    t.left_part = s
                elif s in ("start", "end"):
                    t.right_part = s
                elif s == "properly":
                    t.proper = True
                elif s in ("year", "month", "week", "day", "hour", "minute", "second", "millisecond"):
                    t.precision = s
                elif s in ("before", "after"):
                    t.direction = s
                elif s == "during":
                    t.included_keyword = "during"
            elif isinstance(x, Token):
                if x.type == "RELATIVE_QUALIFIER":
                    t.relation = x.split()[-1]
            elif isinstance(x, str) and x in ("year", "month", "week", "day", "hour", "minute", "second", "millisecond"):
                t.precision = x
            elif isinstance(x, ast.QuantityLiteral):
                t.offset = x
            elif isinstance(x, tuple) and x[0] == "offset":
                t.offset, t.offset_qualifier = x[1], x[2]
            elif isinstance(x, tuple) and x[0] == "temporal":
                t.relation, t.or_on = x[1], x[2]
        return t

    def same_as_phrase(self, meta: Any, c: list[Any]) -> ast.Timing:
        return self._phrase("same_as", c)

    def includes_phrase(self, meta: Any, c: list[Any]) -> ast.Timing:
        return self._phrase("includes", c)

    def included_in_phrase(self, meta: Any, c: list[Any]) -> ast.Timing:
        return self._phrase("included_in", c)

    def before_after_phrase(self, meta: Any, c: list[Any]) -> ast.Timing:
        return self._phrase("before_after", c)

    def within_phrase(self, meta: Any, c: list[Any]) -> ast.Timing:
        return self._phrase("within", c)

    def meets_phrase(self, meta: Any, c: list[Any]) -> ast.Timing:
        return self._phrase("meets", c)

    def overlaps_phrase(self, meta: Any, c: list[Any]) -> ast.Timing:
        return self._phrase("overlaps", c)

    def starts_ends_phrase(self, meta: Any, c: list[Any]) -> ast.Timing:
        kind = "starts" if str(c[0]) == "starts" else ("ends" if str(c[0]) == "ends" else "occurs")
        t = self._phrase(kind, c[1:])
        return t

    def quantity_offset(self, meta: Any, c: list[Any]) -> tuple[str, ast.QuantityLiteral, str | None]:
        if isinstance(c[0], ast.QuantityLiteral):
            qual = " ".join(str(c[1]).split()) if len(c) > 1 else None
            return ("offset", c[0], qual)
        return ("offset", c[1], " ".join(str(c[0]).split()))

    def temporal_relationship(self, meta: Any, c: list[Any]) -> tuple[str, str, bool]:
        rel = next(str(x) for x in c if isinstance(x, Kw))
        return ("temporal", rel, any(_is_tok(x, "ON_OR", "OR_ON") for x in c))

    # -- queries and retrieves
    def retrieve(self, meta: Any, c: list[Any]) -> ast.Retrieve:
        types = [x for x in c if isinstance(x, ast.NamedTypeSpec)]
        terminology = next((x for x in c if isinstance(x, ast.Expr)), None)
        context: ast.Expr | None = None
        if len(types) == 2:
            ctx = types[0]
            context = ast.Identifier(ctx.name, loc=ctx.loc)
            if ctx.namespace:
                context = ast.Member(ast.Identifier(ctx.namespace, loc=ctx.loc), ctx.name, loc=ctx.loc)
        node = ast.Retrieve(types[-1], context, loc=_loc(meta))
        if terminology is not None:
            path = _path_of(terminology.left) if isinstance(terminology, ast.Binary) else None
            if isinstance(terminology, ast.Binary) and terminology.op in ("In", "Equal", "Equivalent") and path and terminology.precision is None:
                node.code_path = path
                node.comparator = {"In": "in", "Equal": "=", "Equivalent": "~"}[terminology.op]
                node.terminology = terminology.right
            else:
                node.terminology = terminology
        return node

    def aliased_source(self, meta: Any, c: list[Any]) -> ast.AliasedSource:
        source = c[0]
        if not _plain_query_source(source) and not self.text[meta.start_pos:meta.start_pos + 1] == "(":
            # CQL grammar: querySource is a retrieve, a (qualified) name or '(' expression ')';
            # the reference translator rejects `"F"(x) X` and `{1, 2} X`, so pedqm does too:
            # a measure written here must run in other engines
            raise _AstError("a query source must be a retrieve, a name or a parenthesized expression: "
                            "write ( ... ) before the alias", _loc(meta))
        return ast.AliasedSource(source, str(c[1]), _loc(meta))

    def source_clause(self, meta: Any, c: list[Any]) -> list[ast.AliasedSource]:
        return [x for x in c if isinstance(x, ast.AliasedSource)]

    def let_item(self, meta: Any, c: list[Any]) -> tuple[str, ast.Expr]:
        return (str(c[0]), c[1])

    def let_clause(self, meta: Any, c: list[Any]) -> tuple[str, list[tuple[str, ast.Expr]]]:
        return ("let", list(c))

    def with_clause(self, meta: Any, c: list[Any]) -> ast.With:
        return ast.With(c[0], c[-1], False)

    def without_clause(self, meta: Any, c: list[Any]) -> ast.With:
        return ast.With(c[0], c[-1], True)

    def where_clause(self, meta: Any, c: list[Any]) -> tuple[str, ast.Expr]:
        return ("where", c[0])

    def return_clause(self, meta: Any, c: list[Any]) -> tuple[str, ast.Expr, bool]:
        words = [str(x) for x in c if isinstance(x, Token)]
        return ("return", c[-1], "all" not in words)

    def starting_clause(self, meta: Any, c: list[Any]) -> tuple[str, ast.Expr]:
        return ("starting", next(x for x in c if isinstance(x, ast.Expr)))

    def aggregate_clause(self, meta: Any, c: list[Any]) -> tuple[str, Any]:
        words = [str(x) for x in c if isinstance(x, Token) and x.type != "IDENTIFIER"]
        name = next(x for x in c if isinstance(x, str) and not isinstance(x, Token) or _is_tok(x, "IDENTIFIER"))
        starting = next((x[1] for x in c if isinstance(x, tuple) and x[0] == "starting"), None)
        return ("aggregate", (str(name), starting, c[-1], "distinct" in words))

    def sort_item(self, meta: Any, c: list[Any]) -> ast.SortItem:
        desc = len(c) > 1 and str(c[1]).startswith("desc")
        return ast.SortItem(c[0], desc)

    def sort_clause(self, meta: Any, c: list[Any]) -> tuple[str, list[ast.SortItem]]:
        if c and isinstance(c[0], Kw):
            return ("sort", [ast.SortItem(None, str(c[0]).startswith("desc"))])
        return ("sort", [x for x in c if isinstance(x, ast.SortItem)])

    def query(self, meta: Any, c: list[Any]) -> ast.Query:
        q = ast.Query(c[0], loc=_loc(meta))
        for part in c[1:]:
            if isinstance(part, ast.With):
                q.relationships.append(part)
            elif part[0] == "let":
                q.lets = part[1]
            elif part[0] == "where":
                q.where = part[1]
            elif part[0] == "return":
                q.return_, q.return_distinct = part[1], part[2]
            elif part[0] == "aggregate":
                q.aggregate = part[1]
            elif part[0] == "sort":
                q.sort = part[1]
        return q

    # -- library structure
    def library_definition(self, meta: Any, c: list[Any]) -> tuple[str, str, str | None]:
        return ("library", str(c[0]), _string(c[1]) if len(c) > 1 else None)

    def using_definition(self, meta: Any, c: list[Any]) -> ast.UsingDef:
        version = next((_string(x) for x in c if _is_tok(x, "STRING")), None)
        return ast.UsingDef(str(c[0]), version, _loc(meta))

    def include_definition(self, meta: Any, c: list[Any]) -> ast.IncludeDef:
        path = str(c[0])
        version = next((_string(x) for x in c if _is_tok(x, "STRING")), None)
        rest = [x for x in c[1:] if not _is_tok(x, "STRING")]
        alias = str(rest[0]) if rest else path.split(".")[-1]
        return ast.IncludeDef(path, version, alias, _loc(meta))

    @staticmethod
    def _access(c: list[Any]) -> tuple[str, list[Any]]:
        if c and isinstance(c[0], Kw) and str(c[0]) in ("public", "private"):
            return str(c[0]), c[1:]
        return "public", c

    def parameter_definition(self, meta: Any, c: list[Any]) -> ast.ParameterDef:
        access, c = self._access(c)
        type_spec = next((x for x in c[1:] if isinstance(x, ast.TypeSpec)), None)
        default = next((x for x in c[1:] if isinstance(x, ast.Expr)), None)
        return ast.ParameterDef(str(c[0]), type_spec, default, access, _loc(meta))

    def codesystem_definition(self, meta: Any, c: list[Any]) -> ast.CodeSystemDef:
        access, c = self._access(c)
        version = _string(c[2]) if len(c) > 2 else None
        return ast.CodeSystemDef(str(c[0]), _string(c[1]), version, access, _loc(meta))

    def codesystems(self, meta: Any, c: list[Any]) -> list[str]:
        return [str(x) for x in c]

    def valueset_definition(self, meta: Any, c: list[Any]) -> ast.ValueSetDef:
        access, c = self._access(c)
        version = _string(c[2]) if len(c) > 2 and _is_tok(c[2], "STRING") else None
        systems = next((x for x in c if isinstance(x, list)), [])
        return ast.ValueSetDef(str(c[0]), _string(c[1]), version, systems, access, _loc(meta))

    def code_definition(self, meta: Any, c: list[Any]) -> ast.CodeDef:
        access, c = self._access(c)
        display = c[3][1] if len(c) > 3 and c[3] is not None else None
        return ast.CodeDef(str(c[0]), _string(c[1]), str(c[2]), display, access, _loc(meta))

    def concept_definition(self, meta: Any, c: list[Any]) -> ast.ConceptDef:
        access, c = self._access(c)
        display = next((x[1] for x in c if isinstance(x, tuple)), None)
        codes = [str(x) for x in c[1:] if not isinstance(x, tuple) and x is not None]
        return ast.ConceptDef(str(c[0]), codes, display, access, _loc(meta))

    def context_definition(self, meta: Any, c: list[Any]) -> tuple[str, str]:
        return ("context", str(c[-1]))

    def expression_definition(self, meta: Any, c: list[Any]) -> ast.ExpressionDef:
        access, c = self._access(c)
        return ast.ExpressionDef(str(c[0]), c[1], None, access, _loc(meta))

    def operand_definition(self, meta: Any, c: list[Any]) -> ast.OperandDef:
        return ast.OperandDef(str(c[0]), c[1])

    def function_definition(self, meta: Any, c: list[Any]) -> ast.FunctionDef:
        access, c = self._access(c)
        fluent = bool(c) and isinstance(c[0], Kw) and str(c[0]) == "fluent"
        if fluent:
            c = c[1:]
        name = str(c[0])
        operands = [x for x in c[1:] if isinstance(x, ast.OperandDef)]
        rest = [x for x in c[1:] if not isinstance(x, ast.OperandDef) and x is not None]
        return_type = next((x for x in rest if isinstance(x, ast.TypeSpec)), None)
        body = rest[-1] if rest and isinstance(rest[-1], ast.Expr) else None
        return ast.FunctionDef(name, operands, return_type, body, fluent, None, access, _loc(meta))

    def library(self, meta: Any, c: list[Any]) -> ast.Library:
        lib = ast.Library(None, None)
        context: str | None = None
        for item in c:
            if isinstance(item, tuple) and item[0] == "library":
                lib.name, lib.version = item[1], item[2]
            elif isinstance(item, tuple) and item[0] == "context":
                context = item[1]
                lib.contexts.append(context)
            elif isinstance(item, ast.UsingDef):
                lib.usings.append(item)
            elif isinstance(item, ast.IncludeDef):
                lib.includes.append(item)
            elif isinstance(item, ast.CodeSystemDef):
                lib.codesystems.append(item)
            elif isinstance(item, ast.ValueSetDef):
                lib.valuesets.append(item)
            elif isinstance(item, ast.CodeDef):
                lib.codes.append(item)
            elif isinstance(item, ast.ConceptDef):
                lib.concepts.append(item)
            elif isinstance(item, ast.ParameterDef):
                lib.parameters.append(item)
            elif isinstance(item, (ast.ExpressionDef, ast.FunctionDef)):
                item.context = context
                lib.statements.append(item)
        return lib

    def start(self, meta: Any, c: list[Any]) -> ast.Library:
        return c[0]

    def expression_only(self, meta: Any, c: list[Any]) -> ast.Expr:
        return c[0]


for _name in _KEYWORD_RULES:
    setattr(_ToAst, _name, v_args(inline=False)(_keyword_rule))


def _path_of(expr: ast.Expr) -> str | None:
    """`a.b.c` as a dotted path, or None; a loop, since member chains can be arbitrarily long."""
    names: list[str] = []
    while isinstance(expr, ast.Member):
        names.append(expr.name)
        expr = expr.source
    if not isinstance(expr, ast.Identifier):
        return None
    names.append(expr.name)
    return ".".join(reversed(names))


class _AstError(Exception):
    def __init__(self, message: str, loc: ast.Loc):
        super().__init__(message)
        self.loc = loc


@lru_cache(maxsize=1)
def _lark() -> Lark:
    text = resources.files("pedqm.cql").joinpath("cql.lark").read_text(encoding="utf-8")
    return Lark(text, parser="lalr", propagate_positions=True, maybe_placeholders=True,
                start=["start", "expression_only"])


_TOKEN_NAMES = {
    "IDENTIFIER": "an identifier", "STRING": "a string", "NUMBER": "a number",
    "QUOTEDIDENTIFIER": "a quoted identifier", "$END": "end of input",
}


def _describe_expected(expected: set[str]) -> str:
    names = sorted(_TOKEN_NAMES.get(e, e.lower() if e.isupper() and e.isalpha() else e) for e in expected)
    if len(names) > 8:
        return ""
    return " (expected " + ", ".join(names) + ")"


def _syntax_error(exc: UnexpectedInput, text: str, library: str) -> SourceError:
    lines = text.splitlines()
    line = getattr(exc, "line", 1) or 1
    column = getattr(exc, "column", 1) or 1
    if isinstance(exc, UnexpectedToken):
        tok = exc.token
        if tok.type == "$END":
            msg = "unexpected end of input"
            line = len(lines) or 1
            column = len(lines[-1]) + 1 if lines else 1
        else:
            msg = f"unexpected {tok.value!r}" + _describe_expected(set(exc.expected))
    elif isinstance(exc, UnexpectedCharacters):
        msg = f"unexpected character {text[exc.pos_in_stream or 0]!r}"
    elif isinstance(exc, UnexpectedEOF):
        msg = "unexpected end of input"
    else:  # pragma: no cover - lark's hierarchy is closed
        msg = str(exc)
    source_line = lines[line - 1] if 0 < line <= len(lines) else ""
    return SourceError(f"syntax error: {msg}", line, column, library, source_line)


_DEFINE_RE = re.compile(r"^\s*define\b", re.MULTILINE)


def parse_library(text: str, library: str = "<library>") -> ast.Library:
    """Parse a whole CQL library; raise :class:`CqlCompileError` with every syntax error found."""
    try:
        tree = _lark().parse(text, start="start")
    except UnexpectedInput as exc:
        raise CqlCompileError(_collect_errors(text, library, exc)) from None
    result: ast.Library = _transform(tree, text, library)
    duplicates = duplicate_definitions(result, text, library)
    if duplicates:
        raise CqlCompileError(duplicates)
    return result


def duplicate_definitions(lib: ast.Library, text: str, library: str) -> list[SourceError]:
    """Names declared twice in one library; before this check the later one silently won.

    As in the CQL-to-ELM translator, includes, code systems, value sets, codes, concepts,
    parameters and expression definitions share one namespace (whatever their context);
    functions are operators apart from that namespace and may overload each other, but not with
    the same operand types. Checked on the syntax tree because it needs no resolution.
    """
    lines = text.splitlines()
    errors: list[SourceError] = []

    def report(message: str, loc: ast.Loc) -> None:
        src = lines[loc.line - 1] if 0 < loc.line <= len(lines) else ""
        errors.append(SourceError(message, loc.line, loc.column, library, src))

    named: list[tuple[str, ast.Loc]] = [(i.alias, i.loc) for i in lib.includes]
    for group in (lib.codesystems, lib.valuesets, lib.codes, lib.concepts, lib.parameters):
        named += [(d.name, d.loc) for d in group]
    named += [(d.name, d.loc) for d in lib.statements if isinstance(d, ast.ExpressionDef)]
    first: dict[str, ast.Loc] = {}
    for name, loc in named:
        if name in first:
            report(f"duplicate definition of '{name}' (first defined at line {first[name].line})", loc)
        else:
            first[name] = loc
    signatures: dict[tuple[str, ...], ast.Loc] = {}
    for f in lib.statements:
        if not isinstance(f, ast.FunctionDef):
            continue
        signature = (f.name, *(str(op.type) for op in f.operands))
        if signature in signatures:
            report(f"duplicate function {f.name}({', '.join(signature[1:])}) "
                   f"(first defined at line {signatures[signature].line})", f.loc)
        else:
            signatures[signature] = f.loc
    return errors


def _collect_errors(text: str, library: str, first: UnexpectedInput) -> list[SourceError]:
    """Find every statement with a syntax error by parsing each `define` block on its own.

    Blanking out the text before a block keeps line numbers right; an unexpected end of a block
    is reported at the block's last character, where the user left it unfinished.
    """
    starts = [m.start() for m in _DEFINE_RE.finditer(text)]
    bounds = [0, *starts, len(text)] if starts and starts[0] > 0 else [*starts, len(text)] if starts else [0, len(text)]
    errors: list[SourceError] = []
    for begin, end in zip(bounds, bounds[1:]):
        chunk = text[begin:end]
        if not chunk.strip():
            continue
        prefix = re.sub(r"[^\n]", " ", text[:begin])
        try:
            _lark().parse(prefix + chunk, start="start")
        except UnexpectedInput as exc:
            err = _syntax_error(exc, text, library)
            if isinstance(exc, UnexpectedToken) and exc.token.type == "$END":
                last = begin + len(chunk.rstrip())
                line = text.count("\n", 0, last) + 1
                column = last - (text.rfind("\n", 0, last) + 1)
                src = text.splitlines()[line - 1]
                err = SourceError("syntax error: unexpected end of definition", line, max(column, 1), library, src)
            errors.append(err)
    return errors or [_syntax_error(first, text, library)]


def _transform(tree: Tree[Token], text: str, library: str) -> Any:
    """Parse tree -> AST, then bound its depth (see :data:`MAX_NESTING_DEPTH`)."""
    try:
        result = _ToAst(text).transform(tree)
        _balance_and_check_depth(result)
        return result
    except Exception as exc:  # lark wraps transformer errors in VisitError
        inner = getattr(exc, "orig_exc", exc)
        if isinstance(inner, _AstError):
            lines = text.splitlines()
            src = lines[inner.loc.line - 1] if 0 < inner.loc.line <= len(lines) else ""
            raise CqlCompileError([SourceError(str(inner), inner.loc.line, inner.loc.column, library, src)]) from None
        raise


MAX_NESTING_DEPTH = 200
"""Deepest AST a definition or expression may have, in nodes (a lone literal is 1 level;
lists and tuples inside a node, such as a call's arguments, are not levels).

The resolver, compiler and compiled evaluators recurse once per AST level, using at most about
three Python frames per level (measured: with the default recursion limit of 1,000, `1 + 1 + ...`,
nested `Abs(`, `{{...}}` and `singleton from {...}` all fail from about 330 levels). 200 levels
leave about 400 frames for callers (test runners, measure evaluation, one definition evaluating
another). Real CQL stays well below: the deepest definition in the 80 published eCQM libraries
of ../shared/ecqm is 60 levels (a union of 28 retrieves in CMS133), in measure_library 13, in
the HL7 conformance suite 10. Long `and`/`or`/`xor` chains and unions of retrieves are
rebalanced first (:func:`_balance`), so hundreds of alternatives still compile.
"""

_BALANCE_OPS = frozenset({"And", "Or", "Xor", "Union"})
_BALANCE_MIN_OPERANDS = 32
_NODE_TYPES = (ast.Expr, ast.TypeSpec, ast.AliasedSource, ast.With, ast.SortItem, ast.CaseItem,
               ast.OperandDef, ast.ExpressionDef, ast.FunctionDef, ast.ParameterDef, ast.Library)
_CONTAINERS = (ast.Library, ast.ExpressionDef, ast.FunctionDef, ast.ParameterDef)  # not levels
_FIELDS: dict[type, tuple[str, ...]] = {}


def _child_nodes(node: Any) -> list[Any]:
    """The AST nodes directly below `node`, looking through lists and tuples (not levels)."""
    fields = _FIELDS.get(type(node))
    if fields is None:
        fields = _FIELDS[type(node)] = tuple(f.name for f in dataclasses.fields(node))
    found: list[Any] = []
    pending = [getattr(node, name) for name in fields]
    while pending:
        value = pending.pop()
        if isinstance(value, _NODE_TYPES):
            found.append(value)
        elif isinstance(value, (list, tuple)):
            pending.extend(value)
    return found


def _balance(node: ast.Binary) -> None:
    """Rebuild a long left-deep `a or b or c ...` chain as a balanced tree, in place.

    And, Or and Xor are associative in CQL's three-valued logic, and so is Union of lists
    (eCQMs union dozens of retrieves); an in-order rebuild keeps the operands' evaluation order,
    so only the tree's depth changes (from n to log2 n).
    """
    rights: list[ast.Expr] = []
    left: ast.Expr = node
    while isinstance(left, ast.Binary) and left.op == node.op and left.precision is None:
        rights.append(left.right)
        left = left.left
    if len(rights) + 1 < _BALANCE_MIN_OPERANDS:
        return
    operands = [left, *reversed(rights)]
    if node.op == "Union" and not (
        all(isinstance(x, (ast.Retrieve, ast.ListSelector, ast.Binary)) for x in operands)
        and any(isinstance(x, (ast.Retrieve, ast.ListSelector)) for x in operands)
        and all(x.op == "Union" for x in operands if isinstance(x, ast.Binary))
    ):
        return  # only list union is associative; `Interval union Interval` can be null

    def build(lo: int, hi: int) -> ast.Expr:  # recursion depth log2(len(operands))
        if hi - lo == 1:
            return operands[lo]
        mid = (lo + hi) // 2
        return ast.Binary(node.op, build(lo, mid), build(mid, hi), loc=operands[lo].loc)

    mid = len(operands) // 2
    node.left, node.right = build(0, mid), build(mid, len(operands))


def _balance_and_check_depth(root: Any) -> None:
    """Rebalance long boolean chains, then reject an AST deeper than MAX_NESTING_DEPTH.

    Iterative, so that no depth of input can exhaust Python's stack here; raising `_AstError`
    here keeps the recursive later passes from ever seeing an AST they cannot handle.
    """
    stack: list[tuple[Any, int, ast.Loc]] = [(root, 0, ast.NOWHERE)]
    while stack:
        node, depth, outer = stack.pop()
        if not isinstance(node, _CONTAINERS):
            depth += 1
        if isinstance(node, ast.Binary) and node.op in _BALANCE_OPS:
            _balance(node)
        loc = getattr(node, "loc", ast.NOWHERE)
        if loc == ast.NOWHERE:
            loc = outer
        if depth > MAX_NESTING_DEPTH:
            raise _AstError(f"expression nested too deeply (more than {MAX_NESTING_DEPTH} levels)", loc)
        stack.extend((child, depth, loc) for child in _child_nodes(node))


def parse_expression(text: str) -> ast.Expr:
    """Parse a standalone expression (wrapped as a definition so the one grammar serves both)."""
    try:
        tree = _lark().parse(text, start="expression_only")
    except UnexpectedInput as exc:
        raise CqlCompileError([_syntax_error(exc, text, "<expression>")]) from None
    result: ast.Expr = _transform(tree, text, "<expression>")
    return result

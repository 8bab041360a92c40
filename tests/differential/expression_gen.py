"""Type-directed generator of well-typed CQL expressions for differential testing.

Every production knows the CQL type it yields and asks for children of the types its operator
signature needs, so a translator error on a generated expression is a generator bug (the test
counts those apart instead of comparing).  Expressions are trees of :class:`Node`: the test
evaluates subterms of a disagreeing expression to find the smallest one that still disagrees,
which names the operator to blame.

Randomness comes from a :class:`Source`: :class:`RandomSource` (seeded ``random.Random``,
used by the bounded test so that a seed reproduces a run) or :class:`HypothesisSource` (a
Hypothesis ``data`` object, for shrinking-driven exploration when hypothesis is installed).
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

T = TypeVar("T")

# Functions every generated library declares; they exercise implicit conversions at call sites
# (Integer -> Decimal, Date -> DateTime, a value -> a Choice) in user-function resolution.
PRELUDE = """\
define function "Twice"(x Decimal): x * 2
define function "NextDay"(x DateTime): x + 1 day
define function "Describe"(x Choice<Integer, String>):
  if x is Integer then 'int ' + ToString(x as Integer) else 'str ' + (x as String)
define function "StartOf"(c Choice<DateTime, Interval<DateTime>>):
  if c is DateTime then c as DateTime else start of (c as Interval<DateTime>)
"""


class Source(Protocol):
    """Where the generator's choices come from."""

    def choice(self, options: Sequence[T]) -> T: ...

    def integer(self, low: int, high: int) -> int: ...

    def chance(self, p: float) -> bool: ...


class RandomSource:
    """Deterministic choices from a seeded ``random.Random``."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)

    def choice(self, options: Sequence[T]) -> T:
        return options[self.rng.randrange(len(options))]

    def integer(self, low: int, high: int) -> int:
        return self.rng.randint(low, high)

    def chance(self, p: float) -> bool:
        return self.rng.random() < p


class HypothesisSource:
    """Choices drawn from a Hypothesis ``data`` object (``st.data()``), so failures shrink."""

    def __init__(self, data: Any) -> None:
        from hypothesis import strategies as st

        self.data, self.st = data, st

    def choice(self, options: Sequence[T]) -> T:
        return options[self.data.draw(self.st.integers(0, len(options) - 1))]

    def integer(self, low: int, high: int) -> int:
        return int(self.data.draw(self.st.integers(low, high)))

    def chance(self, p: float) -> bool:
        return bool(self.data.draw(self.st.integers(0, 999)) < int(p * 1000))


@dataclass(frozen=True)
class Node:
    """A generated expression: operator label, CQL text, static type and subterms.

    ``closed`` is False when the text mentions a query alias, so it cannot be evaluated alone.
    """

    op: str
    text: str
    type: str
    children: tuple[Node, ...] = ()
    closed: bool = True
    atomic: bool = False

    def subterms(self) -> list[Node]:
        """All closed subterms, innermost first."""
        out: list[Node] = []
        for c in self.children:
            out.extend(c.subterms())
        if self.closed:
            out.append(self)
        return out


def _wrap(n: Node) -> str:
    return n.text if n.atomic else f"({n.text})"


def op(name: str, fmt: str, typ: str, *children: Node, closed: bool | None = None) -> Node:
    """A node whose text is ``fmt`` with ``{0}``, ``{1}``... replaced by (parenthesized) children."""
    text = fmt.format(*[_wrap(c) for c in children])
    if closed is None:
        closed = all(c.closed for c in children)
    return Node(name, text, typ, tuple(children), closed)


def lit(text: str, typ: str, name: str = "Literal") -> Node:
    return Node(name, text, typ, (), True, atomic=True)


NUMERIC = ("Integer", "Decimal")
POINT_TYPES = ("Integer", "Decimal", "Date", "DateTime", "Quantity")
ORDERED = ("Integer", "Decimal", "String", "Date", "DateTime", "Time", "Quantity")
LIST_ELEMS = ("Integer", "Decimal", "String", "Date", "DateTime", "Boolean", "Interval<Integer>")
DATE_UNITS = ("year", "month", "week", "day")
TIME_UNITS = ("hour", "minute", "second", "millisecond")
MASS_UNITS = ("mg", "g", "kg")
STRINGS = ("'abc'", "''", "'Hello World'", "'a,b,c'", "'ABC'", "'x y z'", "'it\\'s'", "'123'", "'1.50'",
           "'2024-03-04'", "'2024-03-04T10:20:30.400Z'", "'10:20'", "'true'", "'no'", "'5 \\'mg\\''",
           "'aaa'", "' pad '")
REGEXES = ("'a.*'", "'[a-z]+'", "'.*b.*'", "'^A'", "'[0-9]+'", "'\\\\s'")


def _plural(unit: str, amount: int) -> str:
    return unit if abs(amount) == 1 else unit + "s"


class Generator:
    """Builds well-typed expressions of a requested type, bounded by ``depth``."""

    def __init__(self, src: Source, max_depth: int = 4) -> None:
        self.src = src
        self.max_depth = max_depth
        self.alias_counter = 0

    # -- entry points -----------------------------------------------------------------------------

    def expression(self) -> Node:
        """One expression of a randomly chosen result type."""
        typ = self.src.choice(TOP_TYPES)
        return self.gen(typ, self.max_depth, ())

    def gen(self, typ: str, depth: int, env: tuple[tuple[str, str], ...]) -> Node:
        """An expression of type ``typ``; ``env`` lists (alias, type) of enclosing queries."""
        aliases = [a for a, t in env if t == typ]
        if aliases and self.src.chance(0.35):
            return Node("Alias", self.src.choice(aliases), typ, (), closed=False, atomic=True)
        if depth <= 0 or self.src.chance(0.2):
            return self.leaf(typ)
        table = PRODUCTIONS.get(typ)
        if not table:
            return self.leaf(typ)
        produce = self.src.choice(table)
        return produce(self, depth - 1, env)

    # -- leaves -------------------------------------------------------------------------------------

    def null_of(self, typ: str) -> Node:
        return Node("Null", f"(null as {typ})", typ, (), True, atomic=True)

    def leaf(self, typ: str) -> Node:
        s = self.src
        if s.chance(0.07) and typ not in ("List<Interval<Integer>>",):
            return self.null_of(typ)
        if typ == "Boolean":
            return lit(s.choice(("true", "false")), typ)
        if typ == "Integer":
            v = s.choice((0, 1, 2, 3, 5, 7, 10, 12, 100, -1, -4, 2147483647, -2147483648, 46341))
            return lit(str(v), typ) if v >= 0 else Node("Literal", f"({v})", typ, (), True, atomic=True)
        if typ == "Decimal":
            v = s.choice(("0.0", "1.5", "2.25", "0.1", "3.0", "10.125", "0.00000001", "123456.789",
                          "1.0", "2.5", "0.5", "7.75"))
            if s.chance(0.2):
                return Node("Literal", f"(-{v})", typ, (), True, atomic=True)
            return lit(v, typ)
        if typ == "String":
            return lit(s.choice(STRINGS), typ)
        if typ == "Quantity":
            amount = s.choice(("1", "2.5", "10", "0.5", "100", "3"))
            if s.chance(0.3):
                unit = s.choice(("day", "days", "week", "month", "year", "hour", "minute"))
                return lit(f"{amount} {unit}", typ)
            return lit(f"{amount} '{s.choice(MASS_UNITS + ('cm', 'm', 'mg/dL'))}'", typ)
        if typ == "Date":
            return lit(self.date_text(), typ)
        if typ == "DateTime":
            return lit(self.datetime_text(), typ)
        if typ == "Time":
            return lit(self.time_text(), typ)
        if typ.startswith("Interval<"):
            return produce_interval(self, 0, (), typ[9:-1])
        if typ.startswith("List<"):
            return produce_list_literal(self, 0, (), typ[5:-1])
        if typ == "Code":
            return lit(f"Code {{ code: {s.choice(STRINGS[:4])}, system: 'http://s', display: 'd' }}", typ)
        raise ValueError(f"no leaf for {typ}")

    def date_text(self, precision: int | None = None) -> str:
        s = self.src
        p = s.choice((1, 2, 3, 3, 3)) if precision is None else precision
        y = s.choice((2019, 2020, 2023, 2024, 2024))
        m = s.choice((1, 2, 3, 6, 12))
        d = s.choice((1, 15, 28, 29, 31)) if m in (1, 3, 12) else s.choice((1, 15, 28, 29 if m == 2 and y in (2020, 2024) else 28))
        parts = [f"{y:04d}", f"{m:02d}", f"{d:02d}"][:p]
        return "@" + "-".join(parts)

    def datetime_text(self) -> str:
        s = self.src
        base = self.date_text(s.choice((1, 2, 3, 3, 3)))
        if base.count("-") < 2:
            return base + "T"
        p = s.choice((0, 1, 2, 3, 4, 4))  # time components: none, hour .. millisecond
        if p == 0:
            return base + "T"
        h, mi, sec, ms = s.choice((0, 10, 23)), s.choice((0, 30, 59)), s.choice((0, 15, 59)), s.choice((0, 1, 500, 999))
        t = [f"{h:02d}", f"{mi:02d}", f"{sec:02d}"][: min(p, 3)]
        text = base + "T" + ":".join(t) + (f".{ms:03d}" if p == 4 else "")
        if p == 1:  # the grammar allows an offset only after minutes
            return text
        off = s.choice(("", "", "Z", "+01:00", "-05:00", "+05:30", "+14:00", "-12:00"))
        return text + off

    def time_text(self) -> str:
        s = self.src
        p = s.choice((1, 2, 3, 4, 4))
        h, mi, sec, ms = s.choice((0, 10, 23)), s.choice((0, 30, 59)), s.choice((0, 15, 59)), s.choice((0, 1, 500, 999))
        t = [f"{h:02d}", f"{mi:02d}", f"{sec:02d}"][: min(p, 3)]
        return "@T" + ":".join(t) + (f".{ms:03d}" if p == 4 else "")

    def duration(self, typ: str) -> Node:
        """A calendar-duration quantity valid for arithmetic on ``typ``."""
        s = self.src
        units = DATE_UNITS if typ == "Date" else TIME_UNITS if typ == "Time" else DATE_UNITS + TIME_UNITS
        unit = s.choice(units)
        amount = s.choice((1, 2, 3, 12, 25, 31, 59, 60, 1000))
        if s.chance(0.15):
            return lit(f"{amount} '{s.choice(('d', 'wk', 'h', 'min', 's', 'mo', 'a'))}'", "Quantity")
        return lit(f"{amount} {_plural(unit, amount)}", "Quantity")


Production = Callable[[Generator, int, tuple[tuple[str, str], ...]], Node]
Env = tuple[tuple[str, str], ...]


def binary(name: str, fmt: str, out: str, a: str, b: str) -> Production:
    def produce(g: Generator, d: int, env: Env) -> Node:
        return op(name, fmt, out, g.gen(a, d, env), g.gen(b, d, env))
    return produce


def unary(name: str, fmt: str, out: str, a: str) -> Production:
    def produce(g: Generator, d: int, env: Env) -> Node:
        return op(name, fmt, out, g.gen(a, d, env))
    return produce


def choose_type(name: str, options: Sequence[str], make: Callable[[str], Production]) -> Production:
    """A production that first picks an operand type from ``options``."""
    def produce(g: Generator, d: int, env: Env) -> Node:
        return make(g.src.choice(options))(g, d, env)
    produce.__name__ = name
    return produce


def produce_interval(g: Generator, d: int, env: Env, point: str) -> Node:
    s = g.src
    lo_c, hi_c = s.choice(("[", "[", "(")), s.choice(("]", "]", ")"))
    if d > 0 and s.chance(0.5):
        low, high = g.gen(point, d, env), g.gen(point, d, env)
    else:
        low, high = _ordered_pair(g, point)
    if s.chance(0.1):
        low = g.null_of(point)
    elif s.chance(0.1):
        high = g.null_of(point)
    return op("Interval", f"Interval{lo_c}{{0}}, {{1}}{hi_c}", f"Interval<{point}>", low, high)


def _ordered_pair(g: Generator, point: str) -> tuple[Node, Node]:
    """Bounds with low <= high mostly, so intervals are usually valid."""
    s = g.src
    if point == "Integer":
        a = s.integer(-3, 10)
        b = a + s.choice((0, 1, 2, 5, 10))
        return _int_lit(a), _int_lit(b)
    if point == "Decimal":
        a = s.choice(("0.5", "1.0", "2.25", "3.5"))
        b = s.choice(("3.5", "4.0", "10.75"))
        return lit(a, point), lit(b, point)
    if point == "Quantity":  # one unit and small spans: expand over 'g' per 1 'mg' is millions of points
        return lit(f"{s.choice((1, 2, 3))} 'mg'", point), lit(f"{s.choice((3, 5, 20))} 'mg'", point)
    if point == "Date":
        a, b = sorted((g.date_text(3), g.date_text(3)))
        return lit(a, point), lit(b, point)
    if point == "DateTime":
        y = s.choice((2023, 2024))
        a = f"@{y}-0{s.choice((1, 2, 3))}-{s.choice((10, 15, 20))}"
        b = f"@{y}-0{s.choice((4, 5, 6))}-{s.choice((10, 15, 20))}"
        sfx = s.choice(("T", "T10:00:00", "T00:00:00.000Z", "T12:30"))
        return lit(a + sfx, point), lit(b + s.choice(("T", "T10:00:00", "T23:59:59.999Z", "T08")), point)
    raise ValueError(point)


def _int_lit(v: int) -> Node:
    return lit(str(v), "Integer") if v >= 0 else Node("Literal", f"({v})", "Integer", (), True, atomic=True)


def produce_list_literal(g: Generator, d: int, env: Env, elem: str) -> Node:
    s = g.src
    n = s.choice((0, 1, 2, 3, 3, 4, 5))
    if n == 0:
        return lit(f"List<{elem}>{{}}", f"List<{elem}>", "ListLiteral")
    items = [g.gen(elem, d - 1, env) if d > 0 and s.chance(0.3) else g.leaf(elem) for _ in range(n)]
    if elem in ("Integer", "Decimal", "String") and s.chance(0.3) and items:
        items[s.integer(0, len(items) - 1)] = items[0]  # duplicates for distinct/mode
    fmt = "{{" + ", ".join(f"{{{i}}}" for i in range(n)) + "}}"
    node = op("List", fmt, f"List<{elem}>", *items)
    # a list literal of nulls only would be List<Any>: keep one typed element
    if all(c.op == "Null" for c in items):
        return op("List", f"List<{elem}>" + fmt, f"List<{elem}>", *items)
    return node


# ------------------------------------------------------------------------------------------------
# productions per type

def _cmp(fmt: str, name: str, types: Sequence[str]) -> Production:
    return choose_type(name, types, lambda t: binary(name, fmt, "Boolean", t, t))


def _timing(g: Generator, d: int, env: Env) -> Node:
    t = g.src.choice(("Date", "DateTime", "DateTime", "Time"))
    units = DATE_UNITS[:1] + ("month", "day") if t == "Date" else TIME_UNITS if t == "Time" else DATE_UNITS[:2] + ("day", "hour", "minute")
    unit = g.src.choice(units + ("",))
    rel = g.src.choice(("same {u}as", "same {u}or before", "same {u}or after", "before {u}", "after {u}"))
    phrase = rel.format(u=(unit + " " if unit and rel.startswith("same") else unit + " of " if unit else ""))
    return op(f"Timing:{rel.split()[0]}", f"{{0}} {phrase} {{1}}", "Boolean", g.gen(t, d, env), g.gen(t, d, env))


def _mixed_date_cmp(g: Generator, d: int, env: Env) -> Node:
    """Date against DateTime: the translator inserts ToDateTime on the Date."""
    sym = g.src.choice(("<", "<=", "=", "~", ">", "!="))
    a, b = g.gen("Date", d, env), g.gen("DateTime", d, env)
    if g.src.chance(0.5):
        return op(f"ImplicitDateTime{sym}", f"{{0}} {sym} {{1}}", "Boolean", a, b)
    return op(f"ImplicitDateTime{sym}", f"{{0}} {sym} {{1}}", "Boolean", b, a)


def _interval_rel(g: Generator, d: int, env: Env) -> Node:
    p = g.src.choice(POINT_TYPES)
    rel = g.src.choice(("includes", "included in", "during", "overlaps", "overlaps before", "overlaps after",
                        "meets", "meets before", "meets after", "starts", "ends", "before", "after",
                        "properly includes", "=", "~", "!="))
    prec = ""
    if p in ("Date", "DateTime") and rel not in ("=", "~", "!=") and g.src.chance(0.4):
        prec = g.src.choice(("day of ", "month of ", "year of ") if p == "Date" else ("day of ", "hour of ", "month of "))
        if rel in ("overlaps before", "overlaps after", "meets before", "meets after", "properly includes"):
            prec = ""
    name = "Interval:" + rel.replace(" ", "_")
    return op(name, f"{{0}} {rel} {prec}{{1}}", "Boolean", produce_interval(g, d, env, p), produce_interval(g, d, env, p))


def _point_in(g: Generator, d: int, env: Env) -> Node:
    p = g.src.choice(POINT_TYPES)
    ivl, x = produce_interval(g, d, env, p), g.gen(p, d, env)
    form = g.src.choice(("{1} in {0}", "{0} contains {1}", "{1} before {0}", "{1} after {0}"))
    return op("Interval:" + form.split()[1], form, "Boolean", ivl, x)


def _list_membership(g: Generator, d: int, env: Env) -> Node:
    t = g.src.choice(("Integer", "Decimal", "String", "Date"))
    form = g.src.choice(("{1} in {0}", "{0} contains {1}"))
    return op("List:" + form.split()[1], form, "Boolean", g.gen(f"List<{t}>", d, env), g.gen(t, d, env))


def _list_includes(g: Generator, d: int, env: Env) -> Node:
    t = g.src.choice(("Integer", "String"))
    form = g.src.choice(("{0} includes {1}", "{0} included in {1}", "{0} properly includes {1}", "{0} = {1}", "{0} ~ {1}"))
    return op("List:" + form.split()[1], form, "Boolean", g.gen(f"List<{t}>", d, env), g.gen(f"List<{t}>", d, env))


def _string_pred(g: Generator, d: int, env: Env) -> Node:
    name = g.src.choice(("StartsWith", "EndsWith", "Matches"))
    if name == "Matches":
        return op(name, "Matches({0}, {1})", "Boolean", g.gen("String", d, env), lit(g.src.choice(REGEXES), "String"))
    return op(name, name + "({0}, {1})", "Boolean", g.gen("String", d, env), g.gen("String", d, env))


def _converts(g: Generator, d: int, env: Env) -> Node:
    target = g.src.choice(("Integer", "Decimal", "Date", "DateTime", "Time", "Boolean", "Quantity"))
    return op(f"ConvertsTo{target}", f"ConvertsTo{target}({{0}})", "Boolean", g.gen("String", d, env))


def _is_null(g: Generator, d: int, env: Env) -> Node:
    t = g.src.choice(("Integer", "Decimal", "String", "Boolean", "Date", "List<Integer>"))
    form = g.src.choice(("{0} is null", "{0} is not null", "IsNull({0})"))
    return op("IsNull", form, "Boolean", g.gen(t, d, env))


def _bool_tests(g: Generator, d: int, env: Env) -> Node:
    form = g.src.choice(("{0} is true", "{0} is false", "IsTrue({0})", "IsFalse({0})", "not {0}"))
    return op("Not" if form.startswith("not") else "IsTrue", form, "Boolean", g.gen("Boolean", d, env))


def _exists(g: Generator, d: int, env: Env) -> Node:
    t = g.src.choice(("Integer", "String", "Boolean"))
    return op("Exists", "exists {0}", "Boolean", g.gen(f"List<{t}>", d, env))


def _between(g: Generator, d: int, env: Env) -> Node:
    t = g.src.choice(("Integer", "Decimal", "Date"))
    return op("Between", "{0} between {1} and {2}", "Boolean", g.gen(t, d, env), g.gen(t, d, env), g.gen(t, d, env))


def _if(typ: str) -> Production:
    def produce(g: Generator, d: int, env: Env) -> Node:
        return op("If", "if {0} then {1} else {2}", typ, g.gen("Boolean", d, env), g.gen(typ, d, env), g.gen(typ, d, env))
    return produce


def _case(typ: str) -> Production:
    def produce(g: Generator, d: int, env: Env) -> Node:
        return op("Case", "case when {0} then {1} when {2} then {3} else {4} end", typ, g.gen("Boolean", d, env),
                  g.gen(typ, d, env), g.gen("Boolean", d, env), g.gen(typ, d, env), g.gen(typ, d, env))
    return produce


def _coalesce(typ: str) -> Production:
    def produce(g: Generator, d: int, env: Env) -> Node:
        return op("Coalesce", "Coalesce({0}, {1}, {2})", typ, g.gen(typ, d, env), g.gen(typ, d, env), g.gen(typ, d, env))
    return produce


def _agg(name: str, elem: str, out: str) -> Production:
    return unary(name, name + "({0})", out, f"List<{elem}>")


def _first_last(typ: str) -> Production:
    def produce(g: Generator, d: int, env: Env) -> Node:
        name = g.src.choice(("First", "Last", "Indexer", "Singleton"))
        lst = g.gen(f"List<{typ}>", d, env)
        if name == "Indexer":
            return op(name, "{0}[{1}]", typ, lst, _int_lit(g.src.choice((0, 1, 2, 5, -1))))
        if name == "Singleton":
            return op(name, "singleton from {0}", typ, lst)
        return op(name, name + "({0})", typ, lst)
    return produce


def _minmax(typ: str) -> Production:
    def produce(g: Generator, d: int, env: Env) -> Node:
        name = g.src.choice(("Min", "Max"))
        return op(name, name + "({0})", typ, g.gen(f"List<{typ}>", d, env))
    return produce


def _date_arith(typ: str) -> Production:
    def produce(g: Generator, d: int, env: Env) -> Node:
        sym = g.src.choice(("+", "-"))
        return op(f"DateArith{sym}", f"{{0}} {sym} {{1}}", typ, g.gen(typ, d, env), g.duration(typ))
    return produce


def _between_units(g: Generator, d: int, env: Env) -> Node:
    t = g.src.choice(("Date", "DateTime", "DateTime", "Time"))
    units = ("years", "months", "weeks", "days") if t == "Date" else ("hours", "minutes", "seconds") if t == "Time" else (
        "years", "months", "days", "hours", "minutes")
    unit = g.src.choice(units)
    kind = g.src.choice(("", "difference in "))
    return op("DifferenceBetween" if kind else "DurationBetween", f"{kind}{unit} between {{0}} and {{1}}", "Integer",
              g.gen(t, d, env), g.gen(t, d, env))


def _component(g: Generator, d: int, env: Env) -> Node:
    t = g.src.choice(("Date", "DateTime", "Time"))
    units = ("year", "month", "day") if t == "Date" else ("hour", "minute", "second", "millisecond") if t == "Time" else (
        "year", "month", "day", "hour", "minute", "second", "millisecond")
    unit = g.src.choice(units)
    return op("DateTimeComponentFrom", f"{unit} from {{0}}", "Integer", g.gen(t, d, env))


def _interval_point(typ: str) -> Production:
    def produce(g: Generator, d: int, env: Env) -> Node:
        which = g.src.choice(("start of", "end of"))
        return op(which.replace(" ", "_"), which + " {0}", typ, produce_interval(g, d, env, typ))
    return produce


def _interval_setop(point: str) -> Production:
    def produce(g: Generator, d: int, env: Env) -> Node:
        name = g.src.choice(("union", "intersect", "except"))
        a, b = produce_interval(g, d, env, point), produce_interval(g, d, env, point)
        return op("Interval:" + name, f"{{0}} {name} {{1}}", f"Interval<{point}>", a, b)
    return produce


def _list_setop(elem: str) -> Production:
    def produce(g: Generator, d: int, env: Env) -> Node:
        name = g.src.choice(("union", "intersect", "except"))
        return op("List:" + name, f"{{0}} {name} {{1}}", f"List<{elem}>", g.gen(f"List<{elem}>", d, env),
                  g.gen(f"List<{elem}>", d, env))
    return produce


def _list_unary(elem: str) -> Production:
    def produce(g: Generator, d: int, env: Env) -> Node:
        s = g.src
        form = s.choice(("distinct {0}", "Tail({0})", "Skip({0}, {1})", "Take({0}, {1})", "flatten {{{0}, {0}}}",
                         "({0}) S sort asc", "({0}) S sort desc"))
        lst = g.gen(f"List<{elem}>", d, env)
        name = form.split("(")[0].split(" ")[0] or "Sort"
        if form.startswith("({0}) S"):
            name = "Sort"
            if elem.startswith("Interval") or elem == "Boolean":
                form = "distinct {0}"
                name = "distinct"
        if "{1}" in form:
            return op(name, form, f"List<{elem}>", lst, _int_lit(s.choice((0, 1, 2, 10, -1))))
        return op(name, form, f"List<{elem}>", lst)
    return produce


def _list_query(elem: str) -> Production:
    def produce(g: Generator, d: int, env: Env) -> Node:
        g.alias_counter += 1
        alias = f"Q{g.alias_counter}"
        source = g.gen(f"List<{elem}>", d, env)
        inner = env + ((alias, elem),)
        where = g.gen("Boolean", d, inner)
        ret = g.gen(elem, d, inner)
        form = g.src.choice(("({0}) A where {1} return {2}", "({0}) A where {1}", "({0}) A return distinct {2}",
                             "({0}) A return all {2}"))
        form = form.replace(" A ", f" {alias} ")
        children = [source] + ([where] if "{1}" in form else []) + ([ret] if "{2}" in form else [])
        form = form.replace("{2}", f"{{{len(children) - 1}}}") if "{1}" not in form else form
        return op("Query", form, f"List<{elem}>", *children, closed=source.closed and _closes(alias, children[1:]))
    return produce


def _closes(alias: str, body: Sequence[Node]) -> bool:
    """A query is closed when its body only uses its own alias (plus closed subterms)."""
    def ok(n: Node) -> bool:
        if n.op == "Alias":
            return n.text == alias
        return n.closed or all(ok(c) for c in n.children)
    return all(ok(n) for n in body)


def _collapse(point: str) -> Production:
    def produce(g: Generator, d: int, env: Env) -> Node:
        # literal bounds only: expand over a computed bound (e.g. 2147483647) never ends
        items = [produce_interval(g, 0, env, point) for _ in range(g.src.choice((1, 2, 3)))]
        fmt = "{{" + ", ".join(f"{{{i}}}" for i in range(len(items))) + "}}"
        form = g.src.choice(("collapse ", "expand "))
        per = ""
        if g.src.chance(0.4) or (form == "expand " and point in ("Date", "DateTime")):
            per = " per " + g.src.choice(("2", "day", "1 'g'", "1 month") if point != "Integer" else ("2", "1"))
            if point == "Integer":
                per = " per " + g.src.choice(("1", "2"))
            elif point == "Decimal":
                per = g.src.choice((" per 0.5", " per 1", ""))
            elif point == "Quantity":
                per = " per 1 'mg'"
            elif point == "Date":  # bounds span up to 6 years: no "per day"
                per = g.src.choice((" per month", " per week", " per 2 months"))
            else:
                per = g.src.choice((" per day", " per week", " per month"))
        return op(form.strip().capitalize(), form + fmt + per, f"List<Interval<{point}>>", *items)
    return produce


def _fn(name: str, fmt: str, out: str, *args: str) -> Production:
    def produce(g: Generator, d: int, env: Env) -> Node:
        return op(name, fmt, out, *[g.gen(a, d, env) for a in args])
    return produce


def _to_string(g: Generator, d: int, env: Env) -> Node:
    t = g.src.choice(("Integer", "Decimal", "Boolean", "Date", "DateTime", "Time", "Quantity"))
    return op("ToString:" + t, "ToString({0})", "String", g.gen(t, d, env))


def _from_string(target: str) -> Production:
    def produce(g: Generator, d: int, env: Env) -> Node:
        return op("To" + target, f"To{target}({{0}})", target, g.gen("String", d, env))
    return produce


def _arith(out: str, types: Sequence[str], syms: Sequence[str]) -> Production:
    def produce(g: Generator, d: int, env: Env) -> Node:
        sym = g.src.choice(syms)
        a, b = g.src.choice(types), g.src.choice(types)
        return op(f"Arith{sym.strip()}", f"{{0}} {sym} {{1}}", out, g.gen(a, d, env), g.gen(b, d, env))
    return produce


def _quantity_arith(g: Generator, d: int, env: Env) -> Node:
    s = g.src
    sym = s.choice(("+", "-", "*", "/"))
    u1 = s.choice(MASS_UNITS)
    u2 = s.choice(MASS_UNITS) if sym in "+-" else s.choice(MASS_UNITS + ("mL", "1", "d"))
    a = lit(f"{s.choice(('2', '2.5', '1000', '0.5'))} '{u1}'", "Quantity")
    b = lit(f"{s.choice(('3', '1', '0.25', '500'))} '{u2}'", "Quantity") if not s.chance(0.2) else g.gen("Quantity", d, env)
    return op(f"QuantityArith{sym}", f"{{0}} {sym} {{1}}", "Quantity", a, b)


def _quantity_scale(g: Generator, d: int, env: Env) -> Node:
    sym = g.src.choice(("*", "/"))
    return op(f"QuantityScale{sym}", f"{{0}} {sym} {{1}}", "Quantity", g.gen("Quantity", d, env), g.gen(g.src.choice(NUMERIC), d, env))


def _convert_quantity(g: Generator, d: int, env: Env) -> Node:
    q = lit(f"{g.src.choice(('2', '2.5', '1500'))} '{g.src.choice(MASS_UNITS)}'", "Quantity")
    return op("ConvertQuantity", f"convert {{0}} to '{g.src.choice(MASS_UNITS)}'", "Quantity", q)


def _quantity_cmp(g: Generator, d: int, env: Env) -> Node:
    sym = g.src.choice(("<", "<=", "=", "~", ">", "!=", ">="))
    u = (g.src.choice(MASS_UNITS), g.src.choice(MASS_UNITS))
    a = lit(f"{g.src.choice(('1', '1000', '2.5'))} '{u[0]}'", "Quantity")
    b = lit(f"{g.src.choice(('1', '1000', '0.001'))} '{u[1]}'", "Quantity")
    return op(f"QuantityCompare{sym}", f"{{0}} {sym} {{1}}", "Boolean", a, b)


def _logic(g: Generator, d: int, env: Env) -> Node:
    sym = g.src.choice(("and", "or", "xor", "implies"))
    return op(sym.capitalize(), f"{{0}} {sym} {{1}}", "Boolean", g.gen("Boolean", d, env), g.gen("Boolean", d, env))


def _tuple_eq(g: Generator, d: int, env: Env) -> Node:
    sym = g.src.choice(("=", "~"))
    a = op("Tuple", "Tuple {{ a: {0}, b: {1} }}", "Tuple", g.gen("Integer", d, env), g.gen("String", d, env))
    b = op("Tuple", "Tuple {{ a: {0}, b: {1} }}", "Tuple", g.gen("Integer", d, env), g.gen("String", d, env))
    return op(f"TupleEqual{sym}", f"{{0}} {sym} {{1}}", "Boolean", a, b)


def _code_eq(g: Generator, d: int, env: Env) -> Node:
    sym = g.src.choice(("=", "~", "in"))
    a = g.leaf("Code")
    if sym == "in":
        c = op("Concept", "Concept {{ codes: {{ {0}, {1} }} }}", "Concept", g.leaf("Code"), g.leaf("Code"))
        return op("CodeInConcept", "{0} ~ {1}", "Boolean", a, c)
    return op(f"CodeEqual{sym}", f"{{0}} {sym} {{1}}", "Boolean", a, g.leaf("Code"))


def _user_fn(typ: str) -> Production:
    def produce(g: Generator, d: int, env: Env) -> Node:
        if typ == "Decimal":
            return op("Fn:Twice", '"Twice"({0})', typ, g.gen(g.src.choice(NUMERIC), d, env))
        if typ == "DateTime":
            if g.src.chance(0.5):
                return op("Fn:NextDay", '"NextDay"({0})', typ, g.gen(g.src.choice(("Date", "DateTime")), d, env))
            arg = g.gen(g.src.choice(("Date", "DateTime")), d, env) if g.src.chance(0.5) else produce_interval(g, d, env, "DateTime")
            return op("Fn:StartOf", '"StartOf"({0})', typ, arg)
        return op("Fn:Describe", '"Describe"({0})', typ, g.gen(g.src.choice(("Integer", "String")), d, env))
    return produce


def _rounding(g: Generator, d: int, env: Env) -> Node:
    name = g.src.choice(("Round", "Round2", "Abs", "Negate", "Exp", "Ln", "Predecessor", "Successor", "Power"))
    x = g.gen("Decimal", d, env)
    if name == "Round2":
        return op("Round", "Round({0}, {1})", "Decimal", x, _int_lit(g.src.choice((0, 1, 2, 3))))
    if name == "Negate":
        return op(name, "-{0}", "Decimal", x)
    if name == "Power":
        return op(name, "{0} ^ {1}", "Decimal", x, g.gen(g.src.choice(NUMERIC), 0, env))
    if name in ("Predecessor", "Successor"):
        return op(name, f"{name.lower()} of {{0}}", "Decimal", x)
    return op(name, name + "({0})", "Decimal", x)


def _int_fns(g: Generator, d: int, env: Env) -> Node:
    name = g.src.choice(("Truncate", "Floor", "Ceiling", "Abs", "Negate", "Predecessor", "Successor", "Power", "Length",
                         "PositionOf", "IndexOf", "Count", "Width"))
    if name in ("Truncate", "Floor", "Ceiling"):
        return op(name, name + "({0})", "Integer", g.gen("Decimal", d, env))
    if name == "Abs":
        return op(name, "Abs({0})", "Integer", g.gen("Integer", d, env))
    if name == "Negate":
        return op(name, "-{0}", "Integer", g.gen("Integer", d, env))
    if name in ("Predecessor", "Successor"):
        return op(name, f"{name.lower()} of {{0}}", "Integer", g.gen("Integer", d, env))
    if name == "Power":
        return op(name, "{0} ^ {1}", "Integer", g.gen("Integer", d, env), _int_lit(g.src.choice((0, 1, 2, 3, 31))))
    if name == "Length":
        return op(name, "Length({0})", "Integer", g.gen(g.src.choice(("String", "List<Integer>")), d, env))
    if name == "PositionOf":
        n = g.src.choice(("PositionOf", "LastPositionOf"))
        return op(n, n + "({0}, {1})", "Integer", g.gen("String", d, env), g.gen("String", d, env))
    if name == "IndexOf":
        return op(name, "IndexOf({0}, {1})", "Integer", g.gen("List<Integer>", d, env), g.gen("Integer", d, env))
    if name == "Count":
        return op(name, "Count({0})", "Integer", g.gen(f"List<{g.src.choice(('Integer', 'String', 'Date'))}>", d, env))
    return op("Width", "width of {0}", "Integer", produce_interval(g, d, env, "Integer"))


def _string_fns(g: Generator, d: int, env: Env) -> Node:
    name = g.src.choice(("Upper", "Lower", "Substring", "Substring3", "Combine", "Combine2", "ReplaceMatches", "Indexer",
                         "Concat+", "Concat&"))
    s = lambda: g.gen("String", d, env)  # noqa: E731
    if name in ("Upper", "Lower"):
        return op(name, name + "({0})", "String", s())
    if name == "Substring":
        return op(name, "Substring({0}, {1})", "String", s(), _int_lit(g.src.choice((0, 1, 3, 20, -1))))
    if name == "Substring3":
        return op("Substring", "Substring({0}, {1}, {2})", "String", s(), _int_lit(g.src.choice((0, 1, 3))),
                  _int_lit(g.src.choice((0, 2, 10))))
    if name == "Combine":
        return op(name, "Combine({0})", "String", g.gen("List<String>", d, env))
    if name == "Combine2":
        return op("Combine", "Combine({0}, {1})", "String", g.gen("List<String>", d, env), s())
    if name == "ReplaceMatches":
        return op(name, "ReplaceMatches({0}, {1}, {2})", "String", s(), lit(g.src.choice(REGEXES), "String"), s())
    if name == "Indexer":
        return op(name, "{0}[{1}]", "String", s(), _int_lit(g.src.choice((0, 1, 2, 10))))
    sym = name[-1]
    return op(f"Concatenate{sym}", f"{{0}} {sym} {{1}}", "String", s(), s())


def _split(g: Generator, d: int, env: Env) -> Node:
    return op("Split", "Split({0}, {1})", "List<String>", g.gen("String", d, env), lit(g.src.choice(("','", "' '", "''")), "String"))


def _date_ctor(g: Generator, d: int, env: Env) -> Node:
    s = g.src
    y = _int_lit(s.choice((2020, 2024, 1999)))
    m = _int_lit(s.choice((1, 2, 12, 13)))
    dd = _int_lit(s.choice((1, 29, 31)))
    n = s.choice((1, 2, 3))
    args = (y, m, dd)[:n]
    return op("DateCtor", "Date(" + ", ".join(f"{{{i}}}" for i in range(n)) + ")", "Date", *args)


def _datetime_ctor(g: Generator, d: int, env: Env) -> Node:
    s = g.src
    vals = [s.choice((2020, 2024)), s.choice((1, 6, 12)), s.choice((1, 15, 31)), s.choice((0, 12, 23)), s.choice((0, 30)),
            s.choice((0, 45)), s.choice((0, 123))]
    n = s.choice((1, 3, 4, 7))
    args = [_int_lit(v) for v in vals[:n]]
    if n == 7 and s.chance(0.6):
        args.append(lit(s.choice(("1.0", "-5.5", "0.0", "14.0")), "Decimal"))
    return op("DateTimeCtor", "DateTime(" + ", ".join(f"{{{i}}}" for i in range(len(args))) + ")", "DateTime", *args)


def _datetime_from(g: Generator, d: int, env: Env) -> Node:
    if g.src.chance(0.5):
        return op("ToDateTime:Date", "ToDateTime({0})", "DateTime", g.gen("Date", d, env))
    return op("ToDateTime:String", "ToDateTime({0})", "DateTime", g.gen("String", d, env))


def _date_from(g: Generator, d: int, env: Env) -> Node:
    name = g.src.choice(("date from", "ToDate"))
    if name == "ToDate":
        return op("ToDate", "ToDate({0})", "Date", g.gen(g.src.choice(("String", "DateTime")), d, env))
    return op("DateFrom", "date from {0}", "Date", g.gen("DateTime", d, env))


def _time_from(g: Generator, d: int, env: Env) -> Node:
    if g.src.chance(0.5):
        return op("TimeFrom", "time from {0}", "Time", g.gen("DateTime", d, env))
    return op("ToTime", "ToTime({0})", "Time", g.gen("String", d, env))


def _timezone(g: Generator, d: int, env: Env) -> Node:
    return op("TimezoneOffsetFrom", "timezoneoffset from {0}", "Decimal", g.gen("DateTime", d, env))


def _to_decimal(g: Generator, d: int, env: Env) -> Node:
    t = g.src.choice(("Integer", "String", "Boolean"))
    return op("ToDecimal:" + t, "ToDecimal({0})", "Decimal", g.gen(t, d, env))


def _to_integer(g: Generator, d: int, env: Env) -> Node:
    t = g.src.choice(("String", "Boolean"))
    return op("ToInteger:" + t, "ToInteger({0})", "Integer", g.gen(t, d, env))


def _to_quantity(g: Generator, d: int, env: Env) -> Node:
    t = g.src.choice(("String", "Integer", "Decimal"))
    return op("ToQuantity:" + t, "ToQuantity({0})", "Quantity", g.gen(t, d, env))


def _quantity_fns(g: Generator, d: int, env: Env) -> Node:
    name = g.src.choice(("Abs", "Negate", "Sum", "Min", "Max", "Avg", "Predecessor"))
    mk = lambda: lit(f"{g.src.choice(('1', '2.5', '-3', '1000'))} '{g.src.choice(MASS_UNITS)}'", "Quantity")  # noqa: E731
    if name == "Abs":
        return op(name, "Abs({0})", "Quantity", g.gen("Quantity", d, env))
    if name == "Negate":
        return op(name, "-{0}", "Quantity", mk())
    if name == "Predecessor":
        return op(name, "predecessor of {0}", "Quantity", mk())
    items = [mk() for _ in range(g.src.choice((1, 2, 3)))]
    lst = op("List", "{{" + ", ".join(f"{{{i}}}" for i in range(len(items))) + "}}", "List<Quantity>", *items)
    return op(name, name + "({0})", "Quantity", lst)


def _decimal_aggs(g: Generator, d: int, env: Env) -> Node:
    name = g.src.choice(("Sum", "Avg", "Median", "Product", "Variance", "StdDev", "PopulationVariance",
                         "PopulationStdDev", "GeometricMean", "Mode"))
    elem = g.src.choice(NUMERIC) if name in ("Avg", "Median", "Variance", "StdDev", "PopulationVariance", "PopulationStdDev",
                                             "GeometricMean") else "Decimal"
    return op(name, name + "({0})", "Decimal", g.gen(f"List<{elem}>", d, env))


def _int_aggs(g: Generator, d: int, env: Env) -> Node:
    name = g.src.choice(("Sum", "Min", "Max", "Mode", "Product"))
    return op(name, name + "({0})", "Integer", g.gen("List<Integer>", d, env))


def _bool_aggs(g: Generator, d: int, env: Env) -> Node:
    name = g.src.choice(("AllTrue", "AnyTrue"))
    return op(name, name + "({0})", "Boolean", g.gen("List<Boolean>", d, env))


def _point_from(g: Generator, d: int, env: Env) -> Node:
    v = g.gen("Integer", d, env)
    return op("PointFrom", "point from Interval[{0}, {0}]", "Integer", v)


def _expand_points(g: Generator, d: int, env: Env) -> Node:
    return op("ExpandPoints", "expand {0}", "List<Integer>", produce_interval(g, 0, env, "Integer"))


PRODUCTIONS: dict[str, list[Production]] = {
    "Boolean": [
        _logic, _logic, _bool_tests, _is_null,
        _cmp("{0} = {1}", "Equal", ORDERED + ("Boolean",)), _cmp("{0} ~ {1}", "Equivalent", ORDERED + ("Boolean",)),
        _cmp("{0} != {1}", "NotEqual", ORDERED), _cmp("{0} !~ {1}", "NotEquivalent", ORDERED),
        _cmp("{0} < {1}", "Less", ORDERED), _cmp("{0} <= {1}", "LessOrEqual", ORDERED),
        _cmp("{0} > {1}", "Greater", ORDERED), _cmp("{0} >= {1}", "GreaterOrEqual", ORDERED),
        _arith("Boolean", NUMERIC, ("<", "=", ">=")), _mixed_date_cmp, _timing, _timing, _interval_rel, _interval_rel,
        _point_in, _list_membership, _list_includes, _string_pred, _converts, _exists, _between, _bool_aggs,
        _quantity_cmp, _tuple_eq, _code_eq, _if("Boolean"), _coalesce("Boolean"),
    ],
    "Integer": [
        binary("Add", "{0} + {1}", "Integer", "Integer", "Integer"),
        binary("Subtract", "{0} - {1}", "Integer", "Integer", "Integer"),
        binary("Multiply", "{0} * {1}", "Integer", "Integer", "Integer"),
        binary("TruncatedDivide", "{0} div {1}", "Integer", "Integer", "Integer"),
        binary("Modulo", "{0} mod {1}", "Integer", "Integer", "Integer"),
        _int_fns, _int_fns, _between_units, _between_units, _component, _interval_point("Integer"), _first_last("Integer"),
        _int_aggs, _to_integer, _point_from, _if("Integer"), _case("Integer"), _coalesce("Integer"),
    ],
    "Decimal": [
        _arith("Decimal", NUMERIC, ("+", "-", "*", "/")), _arith("Decimal", ("Decimal",), ("div", "mod")),
        binary("Divide", "{0} / {1}", "Decimal", "Integer", "Integer"),
        _rounding, _rounding, _decimal_aggs, _decimal_aggs, _to_decimal, _timezone, _user_fn("Decimal"),
        _interval_point("Decimal"), _first_last("Decimal"), _minmax("Decimal"), _if("Decimal"), _coalesce("Decimal"),
    ],
    "String": [_string_fns, _string_fns, _to_string, _to_string, _user_fn("String"), _first_last("String"),
               _minmax("String"), _if("String"), _coalesce("String")],
    "Quantity": [_quantity_arith, _quantity_scale, _convert_quantity, _quantity_fns, _to_quantity,
                 _interval_point("Quantity"), _if("Quantity")],
    "Date": [_date_arith("Date"), _date_arith("Date"), _date_ctor, _date_from, _interval_point("Date"), _first_last("Date"),
             _minmax("Date"), _if("Date"), _coalesce("Date")],
    "DateTime": [_date_arith("DateTime"), _date_arith("DateTime"), _datetime_ctor, _datetime_from, _user_fn("DateTime"),
                 _interval_point("DateTime"), _first_last("DateTime"), _minmax("DateTime"), _if("DateTime")],
    "Time": [_date_arith("Time"), _time_from, _fn("TimeCtor", "Time({0}, {1})", "Time", "Integer", "Integer"),
             _minmax("Time"), _if("Time")],
    "Interval<Integer>": [_interval_setop("Integer"), _if("Interval<Integer>"), _first_last("Interval<Integer>")],
    "Interval<Decimal>": [_interval_setop("Decimal")],
    "Interval<Date>": [_interval_setop("Date")],
    "Interval<DateTime>": [_interval_setop("DateTime")],
    "Interval<Quantity>": [_interval_setop("Quantity")],
    "List<Interval<Integer>>": [_collapse("Integer"), _collapse("Integer"), _list_setop("Interval<Integer>")],
    "List<Interval<Decimal>>": [_collapse("Decimal")],
    "List<Interval<Date>>": [_collapse("Date")],
    "List<Interval<DateTime>>": [_collapse("DateTime")],
    "List<Interval<Quantity>>": [_collapse("Quantity")],
    "List<String>": [_split, _list_setop("String"), _list_unary("String"), _list_query("String")],
    "List<Time>": [_list_unary("Time")],
}
for _elem in ("Integer", "Decimal", "Date", "DateTime", "Boolean"):
    PRODUCTIONS.setdefault(f"List<{_elem}>", []).extend(
        [_list_setop(_elem), _list_unary(_elem), _list_unary(_elem), _list_query(_elem)])
PRODUCTIONS["List<Integer>"].append(_expand_points)
PRODUCTIONS["List<Interval<Integer>>"].append(_list_unary("Interval<Integer>"))

TOP_TYPES: tuple[str, ...] = (
    ("Boolean",) * 6 + ("Integer",) * 4 + ("Decimal",) * 3 + ("String",) * 2 + ("Quantity",) * 2 + ("Date",) * 2
    + ("DateTime",) * 3 + ("Time",) + ("Interval<Integer>", "Interval<Decimal>", "Interval<Date>", "Interval<DateTime>",
                                       "Interval<Quantity>", "List<Interval<Integer>>", "List<Interval<Decimal>>",
                                       "List<Interval<Date>>", "List<Interval<DateTime>>", "List<Interval<Quantity>>")
    + ("List<Integer>", "List<Decimal>", "List<String>", "List<Date>", "List<DateTime>", "List<Integer>")
)


def generate(seed: int, count: int, max_depth: int = 3) -> list[Node]:
    """``count`` expressions from ``seed`` (the same seed always yields the same list)."""
    g = Generator(RandomSource(seed), max_depth=max_depth)
    return [g.expression() for _ in range(count)]


def library_text(name: str, texts: Sequence[str]) -> str:
    """A System-only library with the prelude and one define per expression (``E<i>``)."""
    lines = [f"library {name} version '1'", "", PRELUDE]
    lines += [f'define "E{i}": {t}' for i, t in enumerate(texts)]
    return "\n".join(lines) + "\n"

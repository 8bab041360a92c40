"""The CQL type system as the resolver sees it: named, list, interval, tuple and choice types.

Types are inferred where the text makes them evident (literals, selectors, declared operands and
parameters, operator result types) and are `ANY` otherwise; operators still dispatch on run-time
values, so an unknown static type never makes evaluation wrong, it only leaves a check to run
time. Static types decide what must be decided before evaluation: overloads of user functions,
implicit conversions (Integer -> Decimal, Code -> Concept), the point type of empty intervals and
the element type of `minimum`/`maximum`.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from .runtime.values import Code, CodeSystemRef, Concept, CqlTuple, Interval, Long, ValueSetRef


class CqlType:
    def __str__(self) -> str:  # pragma: no cover - overridden
        return "?"


@dataclass(frozen=True)
class NamedType(CqlType):
    name: str  # e.g. 'System.Integer', 'FHIR.Patient'

    @property
    def simple(self) -> str:
        return self.name.rsplit(".", 1)[-1]

    def __str__(self) -> str:
        return self.name


@dataclass(frozen=True)
class ListType(CqlType):
    element: CqlType

    def __str__(self) -> str:
        return f"List<{self.element}>"


@dataclass(frozen=True)
class IntervalType(CqlType):
    point: CqlType

    def __str__(self) -> str:
        return f"Interval<{self.point}>"


@dataclass(frozen=True)
class TupleType(CqlType):
    elements: tuple[tuple[str, CqlType], ...]

    def __str__(self) -> str:
        return "Tuple{" + ", ".join(f"{n} {t}" for n, t in self.elements) + "}"


@dataclass(frozen=True)
class ChoiceType(CqlType):
    choices: tuple[CqlType, ...]

    def __post_init__(self) -> None:
        # Choice<Choice<A, B>, C> is Choice<A, B, C> (each component once): a union of unions
        # must still match a `List<Choice<A, B, C>>` parameter
        flat: dict[CqlType, None] = {}
        for c in self.choices:
            for part in c.choices if isinstance(c, ChoiceType) else (c,):
                flat[part] = None
        object.__setattr__(self, "choices", tuple(flat))

    def __str__(self) -> str:
        return "Choice<" + ", ".join(str(c) for c in self.choices) + ">"


def system(name: str) -> NamedType:
    return NamedType(f"System.{name}")


ANY = system("Any")
BOOLEAN = system("Boolean")
INTEGER = system("Integer")
LONG = system("Long")
DECIMAL = system("Decimal")
STRING = system("String")
DATE = system("Date")
DATETIME = system("DateTime")
TIME = system("Time")
QUANTITY = system("Quantity")
RATIO = system("Ratio")
CODE = system("Code")
CONCEPT = system("Concept")
VALUESET = system("ValueSet")
CODESYSTEM = system("CodeSystem")

SYSTEM_TYPE_NAMES = {
    "Any", "Boolean", "Integer", "Long", "Decimal", "String", "Date", "DateTime", "Time",
    "Quantity", "Ratio", "Code", "Concept", "ValueSet", "CodeSystem", "Vocabulary",
}

# implicit conversions the resolver may insert (CQL Author's guide 'Implicit Conversions')
IMPLICIT = {
    ("Integer", "Long"): "ToLong",
    ("Integer", "Decimal"): "ToDecimal",
    ("Long", "Decimal"): "ToDecimal",
    ("Integer", "Quantity"): "ToQuantity",
    ("Decimal", "Quantity"): "ToQuantity",
    ("Date", "DateTime"): "ToDateTime",
    ("Code", "Concept"): "ToConcept",
}


def is_any(t: CqlType | None) -> bool:
    return t is None or t == ANY


def subtype_of(t: CqlType, target: CqlType) -> bool:
    """True when a value of static type `t` can be used where `target` is expected unchanged."""
    if target == ANY or t == target:
        return True
    if isinstance(t, ListType) and isinstance(target, ListType):
        return subtype_of(t.element, target.element)
    if isinstance(t, IntervalType) and isinstance(target, IntervalType):
        return subtype_of(t.point, target.point)
    if isinstance(target, ChoiceType):
        return any(subtype_of(t, c) for c in target.choices)
    if isinstance(t, ChoiceType):
        return all(subtype_of(c, target) for c in t.choices)
    if isinstance(t, TupleType) and isinstance(target, TupleType):
        tgt = dict(target.elements)
        return all(n in tgt and subtype_of(et, tgt[n]) for n, et in t.elements)
    return False


def implicit_conversion(t: CqlType, target: CqlType) -> str | None:
    """The conversion operator CQL applies implicitly from `t` to `target`, if any."""
    if isinstance(t, NamedType) and isinstance(target, NamedType) and t.name.startswith("System.") \
            and target.name.startswith("System."):
        return IMPLICIT.get((t.simple, target.simple))
    return None


# CQL 1.5 Developer's Guide, "Conversion Precedence": the lower, the more preferred
COST_EXACT = 0
COST_SUBTYPE = 1
COST_COMPATIBLE = 2  # null / a value whose type is only known at run time
COST_CAST = 3  # a choice to one of its components
COST_SIMPLE = 4  # implicit conversion to a simple type (Integer -> Decimal, Date -> DateTime)
COST_CLASS = 5  # implicit conversion to a class type (Code -> Concept, Decimal -> Quantity)
_CLASS_TARGETS = {"Concept", "Quantity", "Ratio"}


def conversion_cost(source: CqlType, target: CqlType, subtype: Any = None) -> int | None:
    """How far a value of static type `source` is from `target` by CQL's implicit conversions
    (see the COST_ constants), or None when it does not convert. Intervals and lists convert
    point by point and element by element; a choice target takes its least-converting
    component. `subtype` may widen subtyping with a data model's class hierarchy."""
    is_sub = subtype or subtype_of
    if source == target:
        return COST_EXACT
    if is_any(target):
        return COST_SUBTYPE
    if is_any(source):
        return COST_COMPATIBLE
    if is_sub(source, target):
        return COST_SUBTYPE
    if isinstance(target, ChoiceType):
        costs = [c for c in (conversion_cost(source, t, subtype) for t in target.choices) if c is not None]
        return min(costs) if costs else None
    if isinstance(source, ChoiceType):
        if any(is_sub(c, target) for c in source.choices):
            return COST_CAST
        known = [c for c in (conversion_cost(c, target, subtype) for c in source.choices) if c is not None]
        return max(COST_CAST, *known) if known else None
    if isinstance(source, IntervalType) and isinstance(target, IntervalType):
        return conversion_cost(source.point, target.point, subtype)
    if isinstance(source, ListType) and isinstance(target, ListType):
        return conversion_cost(source.element, target.element, subtype)
    if implicit_conversion(source, target) is not None:
        assert isinstance(target, NamedType)
        return COST_CLASS if target.simple in _CLASS_TARGETS else COST_SIMPLE
    return None


def converts_to_something(target: CqlType) -> bool:
    """Whether a value could need an implicit conversion to become a `target` (so a value whose
    type is only known at run time must be checked then)."""
    if isinstance(target, ChoiceType):
        return any(converts_to_something(c) for c in target.choices)
    if isinstance(target, (ListType, IntervalType)):
        return converts_to_something(target.element if isinstance(target, ListType) else target.point)
    return isinstance(target, NamedType) and any(to == target.simple for _, to in IMPLICIT)


def common_type(types: list[CqlType]) -> CqlType:
    """The type of a list/if/case whose parts have `types` (promoting Integer -> Decimal ...)."""
    known = [t for t in types if not is_any(t)]
    if not known:
        return ANY
    first = known[0]
    if all(t == first for t in known):
        return first
    names = {t.simple for t in known if isinstance(t, NamedType)}
    if len(names) == len(known) or all(isinstance(t, NamedType) for t in known):
        for wide in ("Decimal", "Long", "Quantity"):
            if wide in names and all(
                n == wide or (n, wide) in IMPLICIT for n in names
            ):
                return system(wide)
    return ChoiceType(tuple(dict.fromkeys(known)))


def unified_type(types: list[CqlType]) -> CqlType:
    """The type the branches of an if/case or the bounds of an interval selector are converted
    to: the part every other part converts to implicitly (a choice by a cast to its component)
    with the least conversion, as the translator gives `case ... then Interval<DateTime> ...
    then Interval<Date>` the type Interval<DateTime> and converts the Date branch; else their
    common type (a choice)."""
    common = common_type(types)
    if not isinstance(common, ChoiceType):
        return common
    folded = _fold_compatible([t for t in types if not is_any(t)])
    if folded is not None:
        return folded
    known = list(dict.fromkeys(t for t in types if not is_any(t)))
    best: tuple[int, CqlType] | None = None
    for candidate in known:
        if isinstance(candidate, ChoiceType):
            continue
        costs = [conversion_cost(t, candidate) for t in known]
        if all(c is not None for c in costs):
            total = sum(c for c in costs if c is not None)
            if best is None or total < best[0]:
                best = (total, candidate)
    return best[1] if best is not None else common


def _fold_compatible(types: list[CqlType]) -> CqlType | None:
    """The branches' type as the reference translator finds it, branch by branch in order: the
    type so far if the next one is a subtype of it or a choice that casts to it, else the next
    one if the reverse holds, else (neither being a choice) the one the other converts to
    implicitly; None when some pair has no such type. `if x is DateTime then
    Interval<DateTime> else Interval<Choice<DateTime, Quantity>>` is an Interval<DateTime>, the
    else branch cast point by point."""
    if not types:
        return None
    acc = types[0]
    for t in types[1:]:
        if subtype_of(t, acc) or casts_to(t, acc):
            continue
        if subtype_of(acc, t) or casts_to(acc, t):
            acc = t
        elif isinstance(acc, ChoiceType) or isinstance(t, ChoiceType):
            return None
        elif conversion_cost(t, acc) is not None:
            continue
        elif conversion_cost(acc, t) is not None:
            acc = t
        else:
            return None
    return acc


def casts_to(t: CqlType, target: CqlType) -> bool:
    """A value of choice type `t` (or an interval or list of one) can be cast to `target`: one
    of its components is `target` (CQL Developer's Guide, Choice Types)."""
    if isinstance(t, IntervalType) and isinstance(target, IntervalType):
        return casts_to(t.point, target.point)
    if isinstance(t, ListType) and isinstance(target, ListType):
        return casts_to(t.element, target.element)
    if isinstance(t, ChoiceType) and not isinstance(target, ChoiceType):
        return any(subtype_of(c, target) for c in t.choices)
    return False


def type_of_value(v: Any) -> CqlType:
    """The most specific CQL type of a run-time value (used by `is`, `as` and dispatch)."""
    from .runtime.quantity import Quantity, Ratio
    from .runtime.temporal import Date, DateTime, Time

    if v is None:
        return ANY
    if isinstance(v, bool):
        return BOOLEAN
    if isinstance(v, Long):
        return LONG
    if isinstance(v, int):
        return INTEGER
    if isinstance(v, Decimal):
        return DECIMAL
    if isinstance(v, str):
        return STRING
    if isinstance(v, DateTime):
        return DATETIME
    if isinstance(v, Date):
        return DATE
    if isinstance(v, Time):
        return TIME
    if isinstance(v, Quantity):
        return QUANTITY
    if isinstance(v, Ratio):
        return RATIO
    if isinstance(v, Code):
        return CODE
    if isinstance(v, Concept):
        return CONCEPT
    if isinstance(v, ValueSetRef):
        return VALUESET
    if isinstance(v, CodeSystemRef):
        return CODESYSTEM
    if isinstance(v, Interval):
        point = v.low if v.low is not None else v.high
        if point is None and v.point_type:
            return IntervalType(system(v.point_type))
        return IntervalType(type_of_value(point))
    if isinstance(v, list):
        elems = [type_of_value(x) for x in v if x is not None]
        return ListType(common_type(elems) if elems else ANY)
    if isinstance(v, CqlTuple):
        if v.type_name:
            return NamedType(v.type_name)
        return TupleType(tuple((k, type_of_value(x)) for k, x in v.items()))
    rtype = getattr(v, "cql_type", None)  # model instances (e.g. FHIR resources) name their type
    if isinstance(rtype, str):
        return NamedType(rtype)
    return ANY


def value_is(v: Any, t: CqlType) -> bool:
    """CQL `is`: whether run-time value `v` is an instance of `t` (null is never an instance)."""
    if v is None:
        return False
    if t == ANY:
        return True
    if isinstance(t, ChoiceType):
        return any(value_is(v, c) for c in t.choices)
    if isinstance(t, ListType):
        return isinstance(v, list) and all(x is None or value_is(x, t.element) for x in v)
    if isinstance(t, IntervalType):
        if not isinstance(v, Interval):
            return False
        pts = [p for p in (v.low, v.high) if p is not None]
        if not pts:
            return v.point_type is None or t.point == ANY or system(v.point_type) == t.point
        return all(value_is(p, t.point) for p in pts)
    if isinstance(t, TupleType):
        return isinstance(v, CqlTuple) and all(n in v and (v[n] is None or value_is(v[n], et)) for n, et in t.elements)
    vt = type_of_value(v)
    if vt == t:
        return True
    if vt in (VALUESET, CODESYSTEM) and t == system("Vocabulary"):
        return True
    if isinstance(vt, NamedType) and isinstance(t, NamedType):
        if vt.simple == t.simple and (t.name.startswith("System.") or vt.name.startswith("System.")):
            return vt.name.startswith("System.") == t.name.startswith("System.")
        check = getattr(v, "is_instance_of", None)
        if check is not None:
            return bool(check(t.name))
    return False


def from_type_name(name: str) -> CqlType:
    """A NamedType from a possibly unqualified name (unqualified system names get 'System.')."""
    if "." in name:
        return NamedType(name)
    if name in SYSTEM_TYPE_NAMES:
        return system(name)
    return NamedType(name)

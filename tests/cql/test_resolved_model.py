"""What the resolver makes of CQL, stated as tables (issue 11), in the manner of google/cql's
`wantModel` tests: each row is a CQL expression and the expected rendering of its resolved
model (:func:`pedqm.cql.model.render`): the static type of every node (`:Type`), the implicit
conversions inserted (`ToDecimal(...)`, `ImplicitConvert<Interval<Decimal>>(...)`), the ELM
operator bound (with its precision) and, for user functions, the overload chosen.

A failing row shows the whole rendering, so a change in typing, conversion or overload choice
is seen as such and not only through an evaluation result.
"""

from __future__ import annotations

import pytest

from pedqm.cql import compile_library
from pedqm.cql.library import compile_expression
from pedqm.cql.model import render

WANT_MODEL = [
    ('1 + 2.5',
     'Add(ToDecimal(1:Integer):Decimal, 2.5:Decimal):Decimal'),
    ('(4 + 2) / 2',
     'Divide(ToDecimal(Add(4:Integer, 2:Integer):Integer):Decimal, ToDecimal(2:Integer):Decimal):Decimal'),
    ('1 = 1L',
     'Equal(ToLong(1:Integer):Long, 1L:Long):Boolean'),
    ('{1, 2.0}',
     'ListSelector(elements=[ToDecimal(1:Integer):Decimal, 2.0:Decimal]):List<Decimal>'),
    ('if true then 1 else 2.0',
     'If(condition=true:Boolean, then=ToDecimal(1:Integer):Decimal, else=2.0:Decimal):Decimal'),
    ('Max({1, 2.5})',
     'Max(ListSelector(elements=[ToDecimal(1:Integer):Decimal, 2.5:Decimal]):List<Decimal>):Decimal'),
    ('Sum({1, 2})',
     'Sum(ListSelector(elements=[1:Integer, 2:Integer]):List<Integer>):Integer'),
    ("Length('abc')",
     "Length('abc':String):Integer"),
    ('ToString(5)',
     'ToString(5:Integer):String'),
    ('1 < 2 and 3 > 2',
     'And(Less(1:Integer, 2:Integer):Boolean, Greater(3:Integer, 2:Integer):Boolean):Boolean'),
    ('null as Integer',
     'As(operand=null, as_type=Integer):Integer'),
    ('@2025-01-01 + 1 day',
     'Add(@2025-01-01:Date, 1 day:Quantity):Date'),
    ('Now() < @2025-01-01',
     'Less(Now():DateTime, ToDateTime(@2025-01-01:Date):DateTime):Boolean'),
    ('@2025-01-01 same day as @2025-01-01T10:00',
     'SameAs[day](ToDateTime(@2025-01-01:Date):DateTime, DateTimeWithDefaultOffset(@2025-01-01T10:00:DateTime):DateTime):Boolean'),
    ('AgeInYearsAt(@2025-01-01)',
     'AgeAt[year](@2025-01-01:Date):Integer'),
    ('5 in Interval[1, 10]',
     'In(5:Integer, Interval[1:Integer, 10:Integer]:Interval<Integer>):Boolean'),
    ('Interval[1, 5) contains 3.5',
     'Contains(Interval[ToDecimal(1:Integer):Decimal, ToDecimal(5:Integer):Decimal):Interval<Decimal>, 3.5:Decimal):Boolean'),
    ('Interval[1, 5] overlaps Interval[3, 9.0]',
     'Overlaps(Interval[ToDecimal(1:Integer):Decimal, ToDecimal(5:Integer):Decimal]:Interval<Decimal>, Interval[ToDecimal(3:Integer):Decimal, 9.0:Decimal]:Interval<Decimal>):Boolean'),
    ('Interval[@2025-01-01, @2025-12-31] starts Interval[@2025-01-01, @2026-01-01]',
     'Starts(Interval[@2025-01-01:Date, @2025-12-31:Date]:Interval<Date>, Interval[@2025-01-01:Date, @2026-01-01:Date]:Interval<Date>):Boolean'),
    ('Tuple{a: 1}.a',
     "Property(source=TupleSelector(elements=[['a', 1:Integer]]):Tuple{a Integer}, path='a'):Integer"),
    ('(List{1,2,3}) X where X > 1 return X * 2',
     "Query(sources=[AliasedQuerySource(alias='X', expression=ListSelector(elements=[1:Integer, 2:Integer, 3:Integer]):List<Integer>)], where=Greater(AliasRef X:Integer, 1:Integer):Boolean, return=Multiply(AliasRef X:Integer, 2:Integer):Integer, distinct=true):List<Integer>"),
]


@pytest.mark.parametrize(("cql", "want"), WANT_MODEL, ids=[c for c, _ in WANT_MODEL])
def test_resolved_model(cql: str, want: str) -> None:
    resolved = compile_expression(cql).compiled.resolved
    assert render(resolved.definitions["$expression"].expression) == want


OVERLOADS = """library Overloads
define function F(x Integer): x
define function F(x Decimal): x
define function G(x Decimal): x
define function H(x List<Decimal>): Count(x)
define ExactInteger: F(1)
define ExactDecimal: F(1.5)
define ConvertedArgument: G(2)
define ConvertedList: H({1, 2})
"""

WANT_OVERLOAD = [
    ("ExactInteger", "Overloads.F<Integer>(1:Integer):Integer"),
    ("ExactDecimal", "Overloads.F<Decimal>(1.5:Decimal):Decimal"),
    ("ConvertedArgument", "Overloads.G<Decimal>(ToDecimal(2:Integer):Decimal):Decimal"),
    ("ConvertedList", "Overloads.H<List<Decimal>>(ImplicitConvert<List<Decimal>>("
                      "ListSelector(elements=[1:Integer, 2:Integer]):List<Integer>):List<Decimal>):Integer"),
]


@pytest.mark.parametrize(("definition", "want"), WANT_OVERLOAD, ids=[d for d, _ in WANT_OVERLOAD])
def test_chosen_overload(definition: str, want: str) -> None:
    resolved = compile_library(OVERLOADS).compiled.resolved
    assert render(resolved.definitions[definition].expression) == want


def test_render_shows_open_bounds_and_untyped_nodes() -> None:
    resolved = compile_expression("Interval(null, 5]").compiled.resolved
    assert render(resolved.definitions["$expression"].expression).startswith("Interval(null")

"""CQL run-time values that are not numbers, strings, temporals or quantities.

Python values stand for CQL values as follows (pedqm's public value mapping):

=====================  =============================================
CQL                    Python
=====================  =============================================
null                   ``None``
Boolean                ``bool``
Integer                ``int``
Long                   :class:`Long` (an ``int`` subclass)
Decimal                ``decimal.Decimal``
String                 ``str``
Date/DateTime/Time     :mod:`pedqm.cql.runtime.temporal` classes
Quantity/Ratio         :mod:`pedqm.cql.runtime.quantity` classes
Interval               :class:`Interval`
List                   ``list``
Tuple                  :class:`CqlTuple`
Code/Concept           :class:`Code`, :class:`Concept`
ValueSet/CodeSystem    :class:`ValueSetRef`, :class:`CodeSystemRef`
=====================  =============================================
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

INT_MIN, INT_MAX = -(2**31), 2**31 - 1  # CQL Integer is 32-bit
LONG_MIN, LONG_MAX = -(2**63), 2**63 - 1  # CQL Long is 64-bit


class Long(int):
    """A CQL Long (64-bit); kept distinct from Integer so results keep their CQL type."""

    def __repr__(self) -> str:
        return f"Long({int(self)})"


@dataclass(frozen=True, slots=True)
class Interval:
    """A CQL interval; `low`/`high` may be None (unknown or unbounded per `*_closed`).

    `point_type` names the point type when it is known statically (e.g. 'Integer'), so that an
    interval of nulls can still be expanded or compared with the right successor function.
    """

    low: Any
    high: Any
    low_closed: bool = True
    high_closed: bool = True
    point_type: str | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class Code:
    code: str | None
    system: str | None = None
    version: str | None = None
    display: str | None = None


@dataclass(frozen=True, slots=True)
class Concept:
    codes: tuple[Code, ...]
    display: str | None = None


@dataclass(frozen=True, slots=True)
class CodeSystemRef:
    id: str
    version: str | None = None
    name: str | None = None


@dataclass(frozen=True, slots=True)
class ValueSetRef:
    id: str
    version: str | None = None
    name: str | None = None
    codesystems: tuple[CodeSystemRef, ...] = ()


class CqlTuple(Mapping[str, Any]):
    """An immutable CQL tuple: named elements in declaration order; hashable when its values are."""

    __slots__ = ("_items", "type_name")

    def __init__(self, items: Mapping[str, Any] | None = None, type_name: str | None = None, **kw: Any):
        self._items: dict[str, Any] = dict(items or {}, **kw)
        self.type_name = type_name  # set for instances of model types (e.g. 'FHIR.Coding')

    def __getitem__(self, key: str) -> Any:
        return self._items[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, CqlTuple) and self._items == other._items

    def __hash__(self) -> int:
        try:
            return hash(tuple(self._items.items()))
        except TypeError:
            return hash(tuple(self._items))

    def __repr__(self) -> str:
        return f"CqlTuple({self._items!r})"

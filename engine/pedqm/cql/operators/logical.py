"""Logical operators (CQL reference 'Logical Operators').

`and`, `or`, `xor` and `implies` are compiled as short-circuiting :class:`~pedqm.cql.model.Logical`
nodes; only `not` is an ordinary operator.
"""

from __future__ import annotations

from .registry import operator


@operator("Not")
def Not(a: bool) -> bool:
    return not a

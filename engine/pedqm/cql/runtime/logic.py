"""Three-valued logic (CQL reference, 'Logical Operators'): true, false and null (unknown).

Every operator that combines partial answers (interval boundaries that may be unknown, list
membership with unknown comparisons) uses these, so "unknown" means the same thing everywhere:
false wins a conjunction, true wins a disjunction, otherwise any unknown makes the result unknown.
"""

from __future__ import annotations

Bool3 = bool | None

__all__ = ["Bool3", "and3", "not3", "or3"]


def and3(*xs: Bool3) -> Bool3:
    """CQL `and` over any number of operands."""
    if any(x is False for x in xs):
        return False
    if any(x is None for x in xs):
        return None
    return True


def or3(*xs: Bool3) -> Bool3:
    """CQL `or` over any number of operands."""
    if any(x is True for x in xs):
        return True
    if any(x is None for x in xs):
        return None
    return False


def not3(x: Bool3) -> Bool3:
    """CQL `not`: null stays null."""
    return None if x is None else not x

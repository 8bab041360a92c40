"""Aggregate functions (CQL reference, 'Aggregate Functions').

Every aggregate ignores null elements. Over no non-null elements the result is null, except
``Count`` (0), ``AllTrue`` (true) and ``AnyTrue`` (false), which also answer a null list that
way; the others return null for a null list (registered strict).

Numbers: Integer and Long results keep their type (a list with any Long sums to a Long) and
overflow of the type's range gives null, as for ``+``/``*``. Decimal results go through
:func:`normalize_decimal` (at most 8 decimal places). Integer elements of a Decimal-only
aggregate (``Avg``, ``Median``, the variances, ``GeometricMean``) are taken as Decimals, the
implicit conversion the translator would insert.

Quantities: the elements' units must be commensurable; otherwise the result is null (as
``+`` of incommensurable quantities is). ``Sum`` adds pairwise (so the result is in the most
granular unit); the statistical aggregates convert every element to the first element's unit
and, as the spec's examples show (``Variance({1.0 'mg', ...}) = 2.5 'mg'``,
``Product({1.0 'mg', ...}) = 24.0 'mg'``), report the result in that unit.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Context, Decimal, InvalidOperation
from typing import Any

from ..errors import CqlRuntimeError
from ..runtime.compare import compare
from ..runtime.quantity import MAX_DECIMAL, MIN_DECIMAL, Quantity, normalize_decimal
from ..runtime.values import Long
from .list import same, simple_key
from .registry import operator

_INT_MIN, _INT_MAX = -(2**31), 2**31 - 1
_LONG_MIN, _LONG_MAX = -(2**63), 2**63 - 1
_WIDE = Context(prec=60)  # intermediate results; rounded to CQL Decimal at the end


def _present(values: list[Any]) -> list[Any]:
    return [v for v in values if v is not None]


def _decimal_result(value: Decimal) -> Decimal | None:
    """A CQL Decimal result: normalized, or null when outside the Decimal range."""
    value = normalize_decimal(value)
    if not (MIN_DECIMAL <= value <= MAX_DECIMAL):
        return None
    return value


def _integer_result(value: int, long: bool) -> int | None:
    """An Integer (or Long) result, null on overflow of the type's range."""
    if long:
        return Long(value) if _LONG_MIN <= value <= _LONG_MAX else None
    return value if _INT_MIN <= value <= _INT_MAX else None


def _is_int(x: Any) -> bool:
    return isinstance(x, int) and not isinstance(x, bool)


def _as_decimals(values: list[Any]) -> list[Decimal] | None:
    """Integers and Decimals as Decimals; None if anything else is present."""
    out: list[Decimal] = []
    for v in values:
        if isinstance(v, Decimal):
            out.append(v)
        elif _is_int(v):
            out.append(Decimal(int(v)))
        else:
            return None
    return out


def _quantities_in(values: list[Any]) -> tuple[list[Decimal], str] | None:
    """Quantity values converted to the first element's unit; None if the units don't convert."""
    unit = values[0].unit
    out: list[Decimal] = []
    for q in values:
        if not isinstance(q, Quantity):
            raise CqlRuntimeError(f"cannot aggregate a Quantity with {type(q).__name__}")
        if q.unit == unit:
            out.append(q.value)
            continue
        if not q.can_convert(unit):
            return None
        out.append(q.convert(unit).value)
    return out, unit


def _numeric(
    values: list[Any] | None, fn: Callable[[list[Decimal]], Decimal | None]
) -> Decimal | Quantity | None:
    """Apply a Decimal statistic to numbers or quantities (result in the first element's unit)."""
    if values is None:
        return None
    present = _present(values)
    if not present:
        return None
    if isinstance(present[0], Quantity):
        converted = _quantities_in(present)
        if converted is None:
            return None
        numbers, unit = converted
        result = fn(numbers)
        if result is None:
            return None
        value = _decimal_result(result)
        return None if value is None else Quantity(value, unit)
    numbers_only = _as_decimals(present)
    if numbers_only is None:
        raise CqlRuntimeError(f"cannot compute a numeric aggregate of {type(present[0]).__name__}")
    result = fn(numbers_only)
    return None if result is None else _decimal_result(result)


# ---------------------------------------------------------------------------------------------
# Boolean and counting aggregates


@operator("Count", strict=False)
def Count(values: list[Any] | None) -> int:
    """Number of non-null elements; 0 for an empty or null list (spec, Count)."""
    if values is None:
        return 0
    return sum(1 for v in values if v is not None)


@operator("AllTrue", strict=False)
def AllTrue(values: list[Any] | None) -> bool:
    """True unless some non-null element is false; a null list is true (spec, AllTrue)."""
    if values is None:
        return True
    return all(v is not False for v in values)


@operator("AnyTrue", strict=False)
def AnyTrue(values: list[Any] | None) -> bool:
    """True if some element is true; an empty or null list is false (spec, AnyTrue)."""
    if values is None:
        return False
    return any(v is True for v in values)


# ---------------------------------------------------------------------------------------------
# Sum and Product


@operator("Sum")
def Sum(values: list[Any]) -> Any:
    """Sum of the non-null elements: Integer, Long, Decimal or Quantity (spec, Sum)."""
    present = _present(values)
    if not present:
        return None
    if isinstance(present[0], Quantity):
        total: Quantity | None = present[0]
        for q in present[1:]:
            assert total is not None
            total = total.add(q)
            if total is None:
                return None
        return total
    if all(_is_int(v) for v in present):
        return _integer_result(
            sum(int(v) for v in present), any(isinstance(v, Long) for v in present)
        )
    numbers = _as_decimals(present)
    if numbers is None:
        raise CqlRuntimeError(f"cannot Sum values of type {type(present[0]).__name__}")
    acc = Decimal(0)
    for d in numbers:
        acc = _WIDE.add(acc, d)
    return _decimal_result(acc)


@operator("Product")
def Product(values: list[Any]) -> Any:
    """Product of the non-null elements: Integer, Long, Decimal or Quantity (spec, Product)."""
    present = _present(values)
    if not present:
        return None
    if all(_is_int(v) for v in present):
        acc_int = 1
        for v in present:
            acc_int *= int(v)
        return _integer_result(acc_int, any(isinstance(v, Long) for v in present))

    def product(numbers: list[Decimal]) -> Decimal:
        acc = Decimal(1)
        for d in numbers:
            acc = _WIDE.multiply(acc, d)
        return acc

    return _numeric(present, product)


# ---------------------------------------------------------------------------------------------
# statistics


def _mean(numbers: list[Decimal]) -> Decimal:
    total = Decimal(0)
    for d in numbers:
        total = _WIDE.add(total, d)
    return _WIDE.divide(total, Decimal(len(numbers)))


def _sum_squares(numbers: list[Decimal]) -> Decimal:
    mean = _mean(numbers)
    acc = Decimal(0)
    for d in numbers:
        diff = _WIDE.subtract(d, mean)
        acc = _WIDE.add(acc, _WIDE.multiply(diff, diff))
    return acc


def _variance(numbers: list[Decimal]) -> Decimal | None:
    """Sample variance; null for a single element (division by n - 1 = 0)."""
    if len(numbers) < 2:
        return None
    return _WIDE.divide(_sum_squares(numbers), Decimal(len(numbers) - 1))


def _population_variance(numbers: list[Decimal]) -> Decimal:
    return _WIDE.divide(_sum_squares(numbers), Decimal(len(numbers)))


def _sqrt(value: Decimal | None) -> Decimal | None:
    return None if value is None else _WIDE.sqrt(value)


def _median(numbers: list[Decimal]) -> Decimal:
    ordered = sorted(numbers)
    n = len(ordered)
    mid = n // 2
    if n % 2:
        return ordered[mid]
    return _WIDE.divide(_WIDE.add(ordered[mid - 1], ordered[mid]), Decimal(2))


def _geometric_mean(numbers: list[Decimal]) -> Decimal | None:
    """Power(Product(X), 1 / Count(X)); null where the root is not a real number."""
    acc = Decimal(1)
    for d in numbers:
        acc = _WIDE.multiply(acc, d)
    n = len(numbers)
    if acc.is_zero():
        return Decimal(0)
    if acc < 0:
        if n % 2 == 0:
            return None
        return -_root(-acc, n)
    return _root(acc, n)


def _root(value: Decimal, n: int) -> Decimal:
    if n == 1:
        return value
    try:
        return _WIDE.power(value, _WIDE.divide(Decimal(1), Decimal(n)))
    except InvalidOperation:
        return _WIDE.exp(_WIDE.divide(_WIDE.ln(value), Decimal(n)))


@operator("Avg")
def Avg(values: list[Any]) -> Any:
    """Mean of the non-null elements, Decimal or Quantity (spec, Avg)."""
    return _numeric(values, _mean)


@operator("Median")
def Median(values: list[Any]) -> Any:
    """Middle element, or the mean of the two middle ones for an even count (spec, Median)."""
    return _numeric(values, _median)


@operator("Variance")
def Variance(values: list[Any]) -> Any:
    """Sample variance (divides by n - 1) of the non-null elements (spec, Variance)."""
    return _numeric(values, _variance)


@operator("PopulationVariance")
def PopulationVariance(values: list[Any]) -> Any:
    """Population variance (divides by n) of the non-null elements (spec, PopulationVariance)."""
    return _numeric(values, _population_variance)


@operator("StdDev")
def StdDev(values: list[Any]) -> Any:
    """Square root of the sample variance (spec, StdDev)."""
    return _numeric(values, lambda xs: _sqrt(_variance(xs)))


@operator("PopulationStdDev")
def PopulationStdDev(values: list[Any]) -> Any:
    """Square root of the population variance (spec, PopulationStdDev)."""
    return _numeric(values, lambda xs: _sqrt(_population_variance(xs)))


@operator("GeometricMean")
def GeometricMean(values: list[Any]) -> Any:
    """N-th root of the product of the N non-null elements (spec, GeometricMean)."""
    return _numeric(values, _geometric_mean)


# ---------------------------------------------------------------------------------------------
# order statistics


def _extreme(values: list[Any], sign: int) -> Any:
    """The greatest (sign 1) or least (sign -1) non-null element by CQL comparison.

    When a comparison is unknown (e.g. dates of different precision that agree as far as both
    go, or quantities whose units do not convert) the extreme cannot be determined: null.
    Ties keep the first element, so the result is one of the list's own values (and keeps its
    type, e.g. Long).
    """
    present = _present(values)
    if not present:
        return None
    best = present[0]
    for v in present[1:]:
        try:
            c = compare(v, best)
        except TypeError as exc:
            raise CqlRuntimeError(str(exc)) from exc
        if c is None:
            return None
        if c * sign > 0:
            best = v
    return best


@operator("Max")
def Max(values: list[Any]) -> Any:
    """Largest non-null element: numbers, Quantity, Date, DateTime, Time, String (spec, Max)."""
    return _extreme(values, 1)


@operator("Min")
def Min(values: list[Any]) -> Any:
    """Smallest non-null element: numbers, Quantity, Date, DateTime, Time, String (spec, Min)."""
    return _extreme(values, -1)


@operator("Mode")
def Mode(values: list[Any]) -> Any:
    """Most frequent non-null element by CQL equality (spec, Mode).

    On a tie the value that occurs first in the list wins (the spec does not say).
    """
    present = _present(values)
    if not present:
        return None
    groups: list[list[Any]] = []  # [representative, count]
    by_key: dict[tuple[str, Any], list[Any]] = {}
    for v in present:
        key = simple_key(v)
        if key is not None:
            group = by_key.get(key)
            if group is None:
                group = by_key[key] = [v, 0]
                groups.append(group)
        else:
            for g in groups:
                if same(v, g[0]) is True:
                    group = g
                    break
            else:
                group = [v, 0]
                groups.append(group)
        group[1] += 1
    best = groups[0]
    for g in groups[1:]:
        if g[1] > best[1]:
            best = g
    return best[0]

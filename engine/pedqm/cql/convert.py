"""Python values <-> CQL run-time values at the API boundary (parameters in, results out)."""

from __future__ import annotations

import datetime as _dt
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from .runtime.temporal import Date, DateTime, Time
from .runtime.values import CqlTuple


def from_python(value: Any) -> Any:
    """Accept natural Python values as CQL parameters (date -> Date, float -> Decimal, ...)."""
    if value is None or isinstance(value, (bool, int, Decimal, str)):
        return value
    if isinstance(value, float):
        return Decimal(repr(value))
    if isinstance(value, _dt.datetime):
        off = value.utcoffset()
        tz = Decimal(off.total_seconds()) / 3600 if off is not None else None
        return DateTime(value.year, value.month, value.day, value.hour, value.minute, value.second,
                        value.microsecond // 1000, tz)
    if isinstance(value, _dt.date):
        return Date(value.year, value.month, value.day)
    if isinstance(value, _dt.time):
        return Time(value.hour, value.minute, value.second, value.microsecond // 1000)
    if isinstance(value, (list, tuple)):
        return [from_python(v) for v in value]
    if isinstance(value, Mapping) and not isinstance(value, CqlTuple):
        return CqlTuple({k: from_python(v) for k, v in value.items()})
    return value

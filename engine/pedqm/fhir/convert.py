"""FHIR JSON -> CQL System values: the semantics of FHIRHelpers, natively.

QI-Core and US Core model info map their elements onto FHIR JSON with FHIRHelpers calls
(`FHIRHelpers.ToConcept(%value)`, `FHIRHelpers.ToInterval(%value)`); evaluating those calls as CQL
for every element of every resource would dominate run time, so the same conversions live here
as plain functions (FHIRHelpers 4.x semantics, e.g. a Period with no end is an interval open at
the end with a null high bound).
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Any

from ..cql.errors import CqlRuntimeError
from ..cql.runtime.quantity import Quantity, Ratio
from ..cql.runtime.temporal import Date, DateTime, Time
from ..cql.runtime.values import Code, Concept, Interval, ValueSetRef

# FHIRHelpers.ToCalendarUnit: UCUM definite-duration units read as CQL calendar units
_CALENDAR_UNITS = {
    "a": "year", "mo": "month", "wk": "week", "d": "day", "h": "hour", "min": "minute", "s": "second", "ms": "millisecond",
}


def to_code(coding: Any) -> Code | None:
    if not isinstance(coding, dict):
        return None
    return Code(coding.get("code"), coding.get("system"), coding.get("version"), coding.get("display"))


def to_concept(cc: Any) -> Concept | None:
    if not isinstance(cc, dict):
        return None
    codes = tuple(c for c in (to_code(x) for x in cc.get("coding") or []) if c is not None)
    return Concept(codes, cc.get("text"))


def to_decimal(value: Any) -> Decimal | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return None


def to_quantity(q: Any) -> Quantity | None:
    """FHIRHelpers.ToQuantity (4.4): UCUM or calendar-unit quantities only; UCUM definite
    durations become calendar units (`'a'` -> year); a comparator or another unit system is an
    error, as FHIRHelpers raises it."""
    if not isinstance(q, dict):
        return None
    value = to_decimal(q.get("value"))
    if value is None:
        return None
    if q.get("comparator") is not None:
        raise CqlRuntimeError("FHIR Quantity value has a comparator and cannot be converted to a System.Quantity value")
    system = q.get("system")
    if system not in (None, "http://unitsofmeasure.org", "http://hl7.org/fhirpath/CodeSystem/calendar-units"):
        raise CqlRuntimeError(f"invalid FHIR Quantity code: {q.get('unit')} ({system}|{q.get('code')})")
    unit = q.get("code") or q.get("unit") or "1"
    return Quantity(value, _CALENDAR_UNITS.get(unit, unit))


def to_ratio(r: Any) -> Ratio | None:
    if not isinstance(r, dict):
        return None
    num, den = to_quantity(r.get("numerator")), to_quantity(r.get("denominator"))
    if num is None or den is None:
        return None
    return Ratio(num, den)


def to_datetime(text: Any) -> DateTime | None:
    if not isinstance(text, str):
        return None
    return DateTime.parse_iso(text)


def to_date(text: Any) -> Date | None:
    if not isinstance(text, str):
        return None
    return Date.parse_iso(text)


def to_time(text: Any) -> Time | None:
    if not isinstance(text, str):
        return None
    try:
        return Time.parse(text)
    except Exception:  # noqa: BLE001
        return None


def to_interval_period(p: Any) -> Interval | None:
    """FHIRHelpers.ToInterval(Period): `Interval[start, end]`, or `Interval(null, end]` when the
    start is missing (a missing end stays a closed, unknown bound, as FHIRHelpers has it)."""
    if not isinstance(p, dict):
        return None
    start, end = to_datetime(p.get("start")), to_datetime(p.get("end"))
    return Interval(start, end, start is not None, True, "DateTime")


def to_interval_range(r: Any) -> Interval | None:
    if not isinstance(r, dict):
        return None
    low, high = to_quantity(r.get("low")), to_quantity(r.get("high"))
    if low is None and high is None:
        return None
    return Interval(low, high, True, True, "Quantity")


def to_valueset(url: Any) -> ValueSetRef | None:
    return ValueSetRef(url) if isinstance(url, str) and url else None


_PRIMITIVE = {
    "System.Boolean": lambda v: v if isinstance(v, bool) else None,
    "System.Integer": lambda v: v if isinstance(v, int) and not isinstance(v, bool) else None,
    "System.Decimal": to_decimal,
    "System.String": lambda v: v if isinstance(v, str) else None,
    "System.Date": to_date,
    "System.DateTime": to_datetime,
    "System.Time": to_time,
}


def primitive(value: Any, system_type: str) -> Any:
    """A FHIR primitive JSON value read as the given System type (dates parsed, ...)."""
    conv = _PRIMITIVE.get(system_type)
    if conv is None:
        return value
    return conv(value)


# FHIR data type name (as in choice suffixes: valueQuantity -> Quantity) -> conversion
_BY_FHIR_TYPE = {
    "Quantity": to_quantity, "Age": to_quantity, "Duration": to_quantity, "Distance": to_quantity,
    "Count": to_quantity, "SimpleQuantity": to_quantity, "MoneyQuantity": to_quantity,
    "CodeableConcept": to_concept, "Coding": to_code, "Period": to_interval_period,
    "Range": to_interval_range, "Ratio": to_ratio, "DateTime": to_datetime, "Instant": to_datetime,
    "Date": to_date, "Time": to_time, "Decimal": to_decimal,
    "Boolean": lambda v: v if isinstance(v, bool) else None,
    "Integer": lambda v: v if isinstance(v, int) else None, "PositiveInt": lambda v: v if isinstance(v, int) else None,
    "UnsignedInt": lambda v: v if isinstance(v, int) else None,
    "String": lambda v: v, "Code": lambda v: v, "Uri": lambda v: v, "Url": lambda v: v,
    "Canonical": lambda v: v, "Id": lambda v: v, "Markdown": lambda v: v, "Oid": lambda v: v,
}


def choice_key(data: dict[str, Any], name: str) -> tuple[str, str] | None:
    """The JSON key and FHIR type of choice element `name` (`value` -> ('valueQuantity', 'Quantity'))."""
    for key in data:
        if key.startswith(name) and len(key) > len(name) and key[len(name)].isupper():
            return key, key[len(name):]
    return None


def to_value(json_value: Any, fhir_type: str | None) -> Any:
    """FHIRHelpers.ToValue: a choice element's JSON read according to its FHIR type."""
    if fhir_type is None:
        return json_value
    conv = _BY_FHIR_TYPE.get(fhir_type)
    if conv is None:
        return json_value  # complex types without a System counterpart stay as JSON
    return conv(json_value)


_OID = re.compile(r"^(urn:oid:)?([0-2](\.[0-9]+)+)$")


def oid_of(url: str) -> str | None:
    """The OID in a value set canonical ('.../ValueSet/2.16.840...' or 'urn:oid:2.16...')."""
    last = url.rstrip("/").rsplit("/", 1)[-1]
    m = _OID.match(last) or _OID.match(url)
    return m.group(2) if m else None

"""Declared signatures of CQL system operators: argument types and result type per overload.

The resolver consults this table to choose an overload statically, by CQL's conversion
precedence (Developer's Guide, 'Conversion Precedence': exact, subtype, compatible, cast,
implicit conversion to a simple type, then to a class type), to insert the conversions the
chosen overload needs (`2 * 1.5` is `ToDecimal(2) * 1.5`; `Q / 0.7` is `Q / ToQuantity(0.7)`;
`start of X` with X a `Choice<Interval<DateTime>, DateTime>` is `start of (X as
Interval<DateTime>)`), to give the call its result type, and to reject at compile time a call
no overload accepts (`Upper(1)`, `1 + 'two'`).

The overloads are those of the CQL 1.5 Reference (Appendix B) for each operator listed here;
operators not listed (generic comparisons, list and interval operators, which are typed by
their operands) keep the resolver's operand-driven typing. `T` in a signature is a generic
point type: `Interval<T>` binds T to the interval's point type.
"""

from __future__ import annotations

from dataclasses import dataclass

from . import types as T


@dataclass(frozen=True)
class Signature:
    params: tuple[T.CqlType, ...]
    result: T.CqlType

    def __str__(self) -> str:
        return "(" + ", ".join(str(p).replace("System.", "") for p in self.params) + ")"


GENERIC = T.NamedType("System.T")  # a type parameter, bound by the argument


def _type(text: str) -> T.CqlType:
    text = text.strip()
    if text == "T":
        return GENERIC
    for wrapper, cls in (("List<", T.ListType), ("Interval<", T.IntervalType)):
        if text.startswith(wrapper):
            return cls(_type(text[len(wrapper):-1]))  # type: ignore[abstract]
    return T.system(text)


def _sigs(*texts: str) -> list[Signature]:
    """`"(Integer, Integer) Integer"` -> Signature; several per operator."""
    out = []
    for text in texts:
        args, result = text[1:].split(")", 1)
        params = tuple(_type(a) for a in _split(args)) if args.strip() else ()
        out.append(Signature(params, _type(result)))
    return out


def _split(args: str) -> list[str]:
    parts, depth, cur = [], 0, ""
    for ch in args:
        depth += ch == "<"
        depth -= ch == ">"
        if ch == "," and depth == 0:
            parts.append(cur)
            cur = ""
        else:
            cur += ch
    return [*parts, cur]


def _each(template: str, *types: str) -> list[str]:
    return [template.replace("X", t) for t in types]


_NUMERIC = ("Integer", "Long", "Decimal")
_ORDERED_POINTS = ("Integer", "Long", "Decimal", "Quantity", "Date", "DateTime", "Time")

SIGNATURES: dict[str, list[Signature]] = {
    # Arithmetic (CQL Reference 'Arithmetic Operators', 'Date and Time Operators' for +/-)
    "Add": _sigs(*_each("(X, X) X", *_NUMERIC, "Quantity"), "(Date, Quantity) Date",
                 "(DateTime, Quantity) DateTime", "(Time, Quantity) Time", "(String, String) String"),
    "Subtract": _sigs(*_each("(X, X) X", *_NUMERIC, "Quantity"), "(Date, Quantity) Date",
                      "(DateTime, Quantity) DateTime", "(Time, Quantity) Time"),
    "Multiply": _sigs(*_each("(X, X) X", *_NUMERIC, "Quantity")),
    "Divide": _sigs("(Decimal, Decimal) Decimal", "(Quantity, Quantity) Quantity"),
    "TruncatedDivide": _sigs(*_each("(X, X) X", *_NUMERIC, "Quantity")),
    "Modulo": _sigs(*_each("(X, X) X", *_NUMERIC, "Quantity")),
    "Power": _sigs(*_each("(X, X) X", *_NUMERIC)),
    "Negate": _sigs(*_each("(X) X", *_NUMERIC, "Quantity")),
    "Abs": _sigs(*_each("(X) X", *_NUMERIC, "Quantity")),
    "Successor": _sigs(*_each("(X) X", *_ORDERED_POINTS)),
    "Predecessor": _sigs(*_each("(X) X", *_ORDERED_POINTS)),
    "Ceiling": _sigs("(Decimal) Integer"),
    "Floor": _sigs("(Decimal) Integer"),
    "Truncate": _sigs("(Decimal) Integer"),
    "Round": _sigs("(Decimal) Decimal", "(Decimal, Integer) Decimal"),
    "Ln": _sigs("(Decimal) Decimal"),
    "Exp": _sigs("(Decimal) Decimal"),
    "Log": _sigs("(Decimal, Decimal) Decimal"),
    "HighBoundary": _sigs("(Decimal, Integer) Decimal", "(Date, Integer) Date",
                          "(DateTime, Integer) DateTime", "(Time, Integer) Time"),
    "LowBoundary": _sigs("(Decimal, Integer) Decimal", "(Date, Integer) Date",
                         "(DateTime, Integer) DateTime", "(Time, Integer) Time"),
    "Precision": _sigs("(Decimal) Integer", "(Date) Integer", "(DateTime) Integer", "(Time) Integer"),
    # Logical (the binary ones are checked by the resolver's Boolean rule)
    "Not": _sigs("(Boolean) Boolean"),
    # String (CQL Reference 'String Operators')
    "Length": _sigs("(String) Integer", "(List<T>) Integer"),
    "Upper": _sigs("(String) String"),
    "Lower": _sigs("(String) String"),
    "StartsWith": _sigs("(String, String) Boolean"),
    "EndsWith": _sigs("(String, String) Boolean"),
    "Matches": _sigs("(String, String) Boolean"),
    "ReplaceMatches": _sigs("(String, String, String) String"),
    "PositionOf": _sigs("(String, String) Integer"),
    "LastPositionOf": _sigs("(String, String) Integer"),
    "Substring": _sigs("(String, Integer) String", "(String, Integer, Integer) String"),
    "Split": _sigs("(String, String) List<String>"),
    "SplitOnMatches": _sigs("(String, String) List<String>"),
    # Date and time (CQL Reference 'Date and Time Operators')
    "DateFrom": _sigs("(DateTime) Date"),
    "TimeFrom": _sigs("(DateTime) Time"),
    "TimezoneOffsetFrom": _sigs("(DateTime) Decimal"),
    "DateTimeComponentFrom": _sigs("(Date) Integer", "(DateTime) Integer", "(Time) Integer"),
    "DateSelector": _sigs("(Integer) Date", "(Integer, Integer) Date", "(Integer, Integer, Integer) Date"),
    "DateTimeSelector": _sigs(
        "(Integer) DateTime", "(Integer, Integer) DateTime", "(Integer, Integer, Integer) DateTime",
        "(Integer, Integer, Integer, Integer) DateTime",
        "(Integer, Integer, Integer, Integer, Integer) DateTime",
        "(Integer, Integer, Integer, Integer, Integer, Integer) DateTime",
        "(Integer, Integer, Integer, Integer, Integer, Integer, Integer) DateTime",
        "(Integer, Integer, Integer, Integer, Integer, Integer, Integer, Decimal) DateTime"),
    "TimeSelector": _sigs("(Integer) Time", "(Integer, Integer) Time", "(Integer, Integer, Integer) Time",
                          "(Integer, Integer, Integer, Integer) Time"),
    "CalculateAge": _sigs("(Date) Integer", "(DateTime) Integer"),
    "CalculateAgeAt": _sigs("(Date, Date) Integer", "(DateTime, DateTime) Integer"),
    "DurationBetween": _sigs("(Date, Date) Integer", "(DateTime, DateTime) Integer", "(Time, Time) Integer"),
    "DifferenceBetween": _sigs("(Date, Date) Integer", "(DateTime, DateTime) Integer", "(Time, Time) Integer"),
    # Interval accessors: a choice argument with one interval component is cast to it
    "Start": _sigs("(Interval<T>) T"),
    "End": _sigs("(Interval<T>) T"),
    "Width": _sigs("(Interval<T>) T"),
    "PointFrom": _sigs("(Interval<T>) T"),
    # Aggregates (CQL Reference 'Aggregate Functions')
    "Sum": _sigs(*_each("(List<X>) X", *_NUMERIC, "Quantity")),
    "Avg": _sigs("(List<Decimal>) Decimal", "(List<Quantity>) Quantity"),
    "Median": _sigs("(List<Decimal>) Decimal", "(List<Quantity>) Quantity"),
    "StdDev": _sigs("(List<Decimal>) Decimal", "(List<Quantity>) Quantity"),
    "Variance": _sigs("(List<Decimal>) Decimal", "(List<Quantity>) Quantity"),
    "PopulationStdDev": _sigs("(List<Decimal>) Decimal", "(List<Quantity>) Quantity"),
    "PopulationVariance": _sigs("(List<Decimal>) Decimal", "(List<Quantity>) Quantity"),
    "GeometricMean": _sigs("(List<Decimal>) Decimal"),
    "Product": _sigs(*_each("(List<X>) X", *_NUMERIC, "Quantity")),
    "Min": _sigs(*_each("(List<X>) X", *_ORDERED_POINTS, "String")),
    "Max": _sigs(*_each("(List<X>) X", *_ORDERED_POINTS, "String")),
    "AllTrue": _sigs("(List<Boolean>) Boolean"),
    "AnyTrue": _sigs("(List<Boolean>) Boolean"),
}


def signatures(name: str) -> list[Signature] | None:
    return SIGNATURES.get(name)

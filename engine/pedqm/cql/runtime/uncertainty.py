"""Integer uncertainties: "some whole number between low and high" (CQL 1.5 Language Semantics,
"Uncertainty").

`duration in X between` and `difference in X between` return an uncertainty when an operand
lacks components needed for the requested precision (e.g. ``days between @2014-01-15 and
@2014-02`` is somewhere in [17, 44]).  The spec defines comparison and arithmetic on them so
that timing logic over partial dates gives the intuitively right three-valued answers; an
uncertainty of width zero is the point value itself, so every operation here returns a plain
``int`` when the result collapses to a single value.
"""

from __future__ import annotations


class Uncertainty:
    """A closed range ``[low, high]`` of possible integer values.

    Build results with :meth:`of`: it returns a plain ``int`` when ``low == high``, which is what
    the engine expects for certain results.  (:meth:`lift` makes zero-width instances only so
    that mixed int/uncertainty operations can share one code path.)
    """

    __slots__ = ("low", "high")

    low: int
    high: int

    def __init__(self, low: int, high: int):
        if low > high:
            raise ValueError(f"uncertainty low {low} is above high {high}")
        object.__setattr__(self, "low", low)
        object.__setattr__(self, "high", high)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("Uncertainty is immutable")

    @staticmethod
    def of(low: int, high: int) -> IntOrUncertainty:
        """The value for the range: the point itself when the range has width zero."""
        if low > high:
            low, high = high, low
        return low if low == high else Uncertainty(low, high)

    @staticmethod
    def lift(value: IntOrUncertainty) -> Uncertainty:
        """View a point value as a zero-width uncertainty (the spec's implicit conversion)."""
        if isinstance(value, Uncertainty):
            return value
        u = object.__new__(Uncertainty)
        object.__setattr__(u, "low", int(value))
        object.__setattr__(u, "high", int(value))
        return u

    # -- value semantics -------------------------------------------------------------------

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Uncertainty) and (self.low, self.high) == (other.low, other.high)

    def __hash__(self) -> int:
        return hash(("Uncertainty", self.low, self.high))

    def __repr__(self) -> str:
        return f"Uncertainty({self.low}, {self.high})"

    def to_cql(self) -> str:
        """How results are shown: the range of possible values as an interval."""
        return f"Interval[{self.low}, {self.high}]"

    __str__ = to_cql

    def contains(self, value: int) -> bool:
        return self.low <= value <= self.high

    @property
    def is_point(self) -> bool:
        return self.low == self.high

    # -- comparison (spec "Uncertainty: Comparison Operators") --------------------------------------------------------

    def equal(self, other: IntOrUncertainty) -> bool | None:
        """``=``: false if the ranges cannot meet, true only for equal points, else unknown."""
        o = Uncertainty.lift(other)
        if self.low <= o.high and self.high >= o.low:
            return True if self.is_point and o.is_point else None
        return False

    def less(self, other: IntOrUncertainty) -> bool | None:
        o = Uncertainty.lift(other)
        if self.high < o.low:
            return True
        if self.low >= o.high:
            return False
        return None

    def less_or_equal(self, other: IntOrUncertainty) -> bool | None:
        o = Uncertainty.lift(other)
        if self.high <= o.low:
            return True
        if self.low > o.high:
            return False
        return None

    def greater(self, other: IntOrUncertainty) -> bool | None:
        return Uncertainty.lift(other).less(self)

    def greater_or_equal(self, other: IntOrUncertainty) -> bool | None:
        return Uncertainty.lift(other).less_or_equal(self)

    def compare(self, other: IntOrUncertainty) -> int | None:
        """-1/0/1 when every possible pair of values orders the same way, else None.

        Note ``A <= B`` is not ``compare(A, B) <= 0``: ``[30, 40] <= [40, 50]`` is true while
        their order is unknown, so use :meth:`less_or_equal` / :meth:`greater_or_equal` for those.
        """
        o = Uncertainty.lift(other)
        if self.high < o.low:
            return -1
        if self.low > o.high:
            return 1
        if self.is_point and o.is_point:
            return 0
        return None

    # -- arithmetic (spec: interval arithmetic on the bounds) ----------------------

    def add(self, other: IntOrUncertainty) -> IntOrUncertainty:
        o = Uncertainty.lift(other)
        return Uncertainty.of(self.low + o.low, self.high + o.high)

    def negate(self) -> IntOrUncertainty:
        return Uncertainty.of(-self.high, -self.low)

    def subtract(self, other: IntOrUncertainty) -> IntOrUncertainty:
        o = Uncertainty.lift(other)
        return Uncertainty.of(self.low - o.high, self.high - o.low)

    def multiply(self, other: IntOrUncertainty) -> IntOrUncertainty:
        o = Uncertainty.lift(other)
        products = (self.low * o.low, self.low * o.high, self.high * o.low, self.high * o.high)
        return Uncertainty.of(min(products), max(products))


#: What duration/difference and uncertainty arithmetic return: a point or a range.
IntOrUncertainty = int | Uncertainty

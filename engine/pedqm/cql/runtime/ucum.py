"""UCUM units for CQL quantities: parsing, validation, exact conversion and unit algebra.

CQL quantities carry case-sensitive UCUM units (CQL reference, "Quantity"), and comparison,
arithmetic and ``ConvertQuantity`` must follow UCUM conversions. This module is pedqm's own
implementation because no PyPI package fits: ``ucumate`` wraps a Java library and needs a
Java 21 runtime started in-process through JPype, and ``ucumvert`` maps UCUM onto ``pint``,
which converts with binary floats rather than exact decimals. Here every unit reduces to an
exact rational factor (:class:`fractions.Fraction`) over UCUM's seven base units, so
``1 '[in_i]'`` is exactly ``2.54 'cm'`` and conversions round only once, at the end.

Grammar (UCUM specification section 2, "Syntax rules"), implemented by :class:`_Parser`::

    main-term   ::= "/" term | term
    term        ::= term "." component | term "/" component | component   (left-associative)
    component   ::= annotatable annotation | annotatable | annotation | factor | "(" term ")"
    annotatable ::= simple-unit exponent | simple-unit
    simple-unit ::= ATOM | PREFIX METRIC-ATOM
    exponent    ::= ("+" | "-")? digits
    annotation  ::= "{" any printable ASCII except braces "}"

Annotations carry no meaning (``{beats}/min`` is ``/min``). Arbitrary units such as ``[iU]``
are commensurable only with themselves. Special (non-ratio) units: ``Cel``, ``[degF]`` and
``[degRe]`` convert with their offsets when the whole unit is that one atom; in compound
units (``Cel/h``) they count as their ratio-scale size (1 K, 5/9 K, 5/4 K). The other special
units (``[pH]``, ``B``, ``Np``, ``[p'diop]``...) are valid but convert only to themselves.

The unit table at the end of this module is transcribed from the UCUM essence file
``ucum-essence.xml`` version 2.2 (revision date 2024-06-17), https://ucum.org: every prefix
and every unit, with its definition, metric flag, and arbitrary/special flags.

This product includes all or a portion of the UCUM table, UCUM codes, and UCUM definitions or
is derived from it, subject to a license from Regenstrief Institute, Inc. and The UCUM
Organization. Your use of the UCUM table, UCUM codes, UCUM definitions also is subject to
this license, a copy of which is available at https://ucum.org/license. The current complete
UCUM table and UCUM Specification are available for download at https://ucum.org. The UCUM
table and UCUM codes are copyright Regenstrief Institute, Inc. and the Unified Codes for
Units of Measures (UCUM) Organization. All rights reserved.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Context, Decimal
from fractions import Fraction
from functools import lru_cache

__all__ = [
    "Dimension",
    "ReducedUnit",
    "UcumError",
    "apply_factor",
    "convert_decimal",
    "convert_exact",
    "divide_units",
    "from_base",
    "is_commensurable",
    "is_valid_unit",
    "multiply_units",
    "parse_unit",
    "to_base",
]


class UcumError(ValueError):
    """A unit string is not valid UCUM, or two units cannot be converted into each other."""


Dimension = tuple[tuple[str, int], ...]
"""Exponents per base unit (``m s g rad K C cd``, plus one key per arbitrary unit), sorted
by key, zero exponents omitted; ``()`` is dimensionless."""

_BASE_UNITS = frozenset({"m", "s", "g", "rad", "K", "C", "cd"})

# Flags of _UNITS entries.
_M = 1  # metric: takes prefixes
_A = 2  # arbitrary: not commensurable with any other unit
_S = 4  # special: not a ratio scale (the table holds its ratio-scale size)

# Offset conversions to kelvin for the special units pedqm supports: x -> (x + add) * mul.
_OFFSET_UNITS: dict[str, tuple[Fraction, Fraction]] = {
    "Cel": (Fraction("273.15"), Fraction(1)),
    "[degF]": (Fraction("459.67"), Fraction(5, 9)),
    "[degRe]": (Fraction("218.52"), Fraction(5, 4)),
}

# CQL decimals: 28 significant digits; results are rounded half away from zero.
_CTX = Context(prec=28, rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class ReducedUnit:
    """A unit reduced to base units: one unit equals ``factor`` times ``dimension``.

    ``special`` names the special atom (e.g. ``'Cel'``) when the whole unit is a single,
    possibly prefixed, special atom; then ``factor`` is its prefix and conversion goes
    through the atom's offset function. ``convertible`` is false when the unit holds a
    special atom pedqm has no conversion for: such a unit converts only to itself.
    """

    factor: Fraction
    dimension: Dimension
    special: str | None = None
    convertible: bool = True

    def commensurable(self, other: ReducedUnit) -> bool:
        return self.convertible and other.convertible and self.dimension == other.dimension


@dataclass(frozen=True)
class _Term:
    """A parsed unit kept symbolic for unit algebra: numeric factor and ordered components.

    Each component is ``(symbol, exponent)``: symbol is a simple unit with its annotation
    (``'mg'``, ``'[in_i]'``, ``'mL{total}'``) or a bare annotation (``'{beats}'``).
    """

    factor: Fraction
    components: tuple[tuple[str, int], ...]


_EXPONENT = re.compile(r"^(.*?)([+-]?[0-9]+)$")
_DIGITS = re.compile(r"^[0-9]+$")
_ANNOTATION = re.compile(r"\{[^{}]*\}$")


class _Parser:
    """Recursive-descent parser for one UCUM expression (grammar in the module docstring)."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    def parse(self) -> _Term:
        text = self.text
        if not text:
            raise UcumError("empty unit")
        if any(not (33 <= ord(ch) <= 126) for ch in text):
            raise UcumError(f"unit {text!r} has a character outside printable ASCII")
        if text.startswith("/"):
            self.pos = 1
            term = _invert(self._term())
        else:
            term = self._term()
        if self.pos != len(text):
            raise UcumError(f"unexpected {text[self.pos]!r} in unit {text!r}")
        return term

    def _term(self) -> _Term:
        term = self._component()
        while self.pos < len(self.text) and self.text[self.pos] in "./":
            op = self.text[self.pos]
            self.pos += 1
            right = self._component()
            term = _combine(term, right if op == "." else _invert(right))
        return term

    def _component(self) -> _Term:
        text = self.text
        if self.pos >= len(text):
            raise UcumError(f"unit {text!r} ends where a unit was expected")
        ch = text[self.pos]
        if ch == "(":
            self.pos += 1
            inner = self._term()
            if self.pos >= len(text) or text[self.pos] != ")":
                raise UcumError(f"unbalanced parenthesis in unit {text!r}")
            self.pos += 1
            return inner
        if ch == "{":
            annotation = self._annotation()
            return _Term(Fraction(1), ((annotation, 1),))
        symbol = self._symbol()
        annotation = self._annotation() if self._at("{") else ""
        if _DIGITS.match(symbol):
            if annotation:
                raise UcumError(f"annotation on a number in unit {text!r}")
            return _Term(Fraction(int(symbol)), ())
        exponent = 1
        match = _EXPONENT.match(symbol)
        if match and match.group(1):
            symbol, exponent = match.group(1), int(match.group(2))
        _resolve_symbol(symbol)  # validates the atom and its prefix
        if exponent == 0:
            return _Term(Fraction(1), ())
        return _Term(Fraction(1), ((symbol + annotation, exponent),))

    def _at(self, ch: str) -> bool:
        return self.pos < len(self.text) and self.text[self.pos] == ch

    def _symbol(self) -> str:
        """Read a simple unit with its exponent; characters inside ``[...]`` are literal."""
        text, start, depth = self.text, self.pos, 0
        while self.pos < len(text):
            ch = text[self.pos]
            if ch == "[":
                depth += 1
            elif ch == "]":
                depth -= 1
                if depth < 0:
                    raise UcumError(f"unbalanced bracket in unit {text!r}")
            elif depth == 0 and ch in "./(){}":
                break
            self.pos += 1
        if depth:
            raise UcumError(f"unbalanced bracket in unit {text!r}")
        if self.pos == start:
            raise UcumError(f"missing unit at position {start} of {text!r}")
        return text[start : self.pos]

    def _annotation(self) -> str:
        end = self.text.find("}", self.pos)
        if end < 0 or "{" in self.text[self.pos + 1 : end]:
            raise UcumError(f"unbalanced annotation in unit {self.text!r}")
        annotation = self.text[self.pos : end + 1]
        self.pos = end + 1
        return annotation


def _combine(left: _Term, right: _Term) -> _Term:
    """Multiply two terms, summing the exponents of equal symbols in order of appearance."""
    exponents: dict[str, int] = {}
    for symbol, exponent in left.components + right.components:
        exponents[symbol] = exponents.get(symbol, 0) + exponent
    merged = tuple((s, e) for s, e in exponents.items() if e != 0)
    return _Term(left.factor * right.factor, merged)


def _invert(term: _Term) -> _Term:
    return _Term(1 / term.factor, tuple((s, -e) for s, e in term.components))


@lru_cache(maxsize=4096)
def _parse_term(unit: str) -> _Term:
    return _Parser(unit).parse()


@lru_cache(maxsize=4096)
def _resolve_symbol(symbol: str) -> tuple[Fraction, str]:
    """Split a simple unit (no exponent, no annotation) into (prefix factor, atom code)."""
    if symbol in _UNITS or symbol in _BASE_UNITS:
        return Fraction(1), symbol
    for size in (2, 1):
        prefix, atom = symbol[:size], symbol[size:]
        if prefix in _PREFIXES and atom and (atom in _BASE_UNITS or atom in _METRIC_ATOMS):
            return Fraction(_PREFIXES[prefix]), atom
    raise UcumError(f"unknown unit {symbol!r}")


def _dimension(exponents: dict[str, int]) -> Dimension:
    return tuple(sorted((k, v) for k, v in exponents.items() if v != 0))


@lru_cache(maxsize=1024)
def _reduce_atom(atom: str) -> tuple[Fraction, Dimension, bool]:
    """Reduce one atom to (factor, dimension, convertible) through its UCUM definition."""
    if atom in _BASE_UNITS:
        return Fraction(1), ((atom, 1),), True
    value, definition, flags = _UNITS[atom]
    if flags & _A and definition == "1":
        return Fraction(1), ((atom, 1),), True
    reduced = _reduce_term(_parse_term(definition))
    convertible = reduced.convertible and (not flags & _S or atom in _OFFSET_UNITS)
    return Fraction(value) * reduced.factor, reduced.dimension, convertible


def _reduce_term(term: _Term) -> ReducedUnit:
    factor = term.factor
    exponents: dict[str, int] = {}
    convertible = True
    for symbol, exponent in term.components:
        if symbol.startswith("{"):
            continue
        simple = _ANNOTATION.sub("", symbol)
        prefix, atom = _resolve_symbol(simple)
        atom_factor, atom_dimension, atom_convertible = _reduce_atom(atom)
        convertible = convertible and atom_convertible
        factor *= (prefix * atom_factor) ** exponent
        for base, power in atom_dimension:
            exponents[base] = exponents.get(base, 0) + power * exponent
    return ReducedUnit(factor, _dimension(exponents), None, convertible)


@lru_cache(maxsize=4096)
def parse_unit(unit: str) -> ReducedUnit:
    """Parse and reduce a UCUM unit string; raise :class:`UcumError` when it is not valid."""
    term = _parse_term(unit)
    if term.factor == 1 and len(term.components) == 1 and term.components[0][1] == 1:
        simple = _ANNOTATION.sub("", term.components[0][0])
        if simple:
            prefix, atom = _resolve_symbol(simple)
            if atom in _OFFSET_UNITS:
                return ReducedUnit(prefix, _reduce_atom(atom)[1], atom, True)
    return _reduce_term(term)


def is_valid_unit(unit: str) -> bool:
    """True when ``unit`` is a syntactically valid UCUM expression over known atoms."""
    try:
        parse_unit(unit)
    except UcumError:
        return False
    return True


def is_commensurable(left: str, right: str) -> bool:
    """True when quantities in ``left`` can be converted to ``right`` (same dimension)."""
    if left == right:
        return is_valid_unit(left)
    try:
        return parse_unit(left).commensurable(parse_unit(right))
    except UcumError:
        return False


def to_base(value: Fraction, unit: str) -> Fraction:
    """The magnitude of ``value unit`` in base units (kelvin for temperatures)."""
    reduced = parse_unit(unit)
    if reduced.special is not None:
        add, mul = _OFFSET_UNITS[reduced.special]
        return (value * reduced.factor + add) * mul
    return value * reduced.factor


def from_base(value: Fraction, unit: str) -> Fraction:
    """Inverse of :func:`to_base`: the number of ``unit`` in a base-unit magnitude."""
    reduced = parse_unit(unit)
    if reduced.special is not None:
        add, mul = _OFFSET_UNITS[reduced.special]
        return (value / mul - add) / reduced.factor
    return value / reduced.factor


def convert_exact(value: Fraction, from_unit: str, to_unit: str) -> Fraction:
    """Convert exactly; raise :class:`UcumError` for invalid or incommensurable units."""
    if from_unit == to_unit:
        parse_unit(from_unit)
        return value
    source, target = parse_unit(from_unit), parse_unit(to_unit)
    if not source.commensurable(target):
        raise UcumError(f"cannot convert {from_unit!r} to {to_unit!r}")
    return from_base(to_base(value, from_unit), to_unit)


def convert_decimal(value: Decimal, from_unit: str, to_unit: str) -> Decimal:
    """Convert a decimal value, keeping the operand's scale where the conversion is exact.

    Ratio units multiply by the exact factor in decimal arithmetic (``2.50 'm'`` gives
    ``250.00 'cm'``, like CQL's Java engine); offset units go through exact fractions. The
    result is not yet rounded to CQL's 8 decimal places: callers normalize.
    """
    if from_unit == to_unit:
        parse_unit(from_unit)
        return value
    source, target = parse_unit(from_unit), parse_unit(to_unit)
    if not source.commensurable(target):
        raise UcumError(f"cannot convert {from_unit!r} to {to_unit!r}")
    if source.special is None and target.special is None:
        return apply_factor(value, source.factor / target.factor)
    exact = from_base(to_base(Fraction(value), from_unit), to_unit)
    return _CTX.divide(Decimal(exact.numerator), Decimal(exact.denominator))


def apply_factor(value: Decimal, factor: Fraction) -> Decimal:
    """``value * factor`` in CQL decimal arithmetic (28 significant digits)."""
    result = _CTX.multiply(value, Decimal(factor.numerator))
    if factor.denominator != 1:
        result = _CTX.divide(result, Decimal(factor.denominator))
    return result


def _render(term: _Term) -> str:
    """Write a term back as UCUM: numerator components joined by '.', then '/' each divisor."""

    def pieces(symbol: str, exponent: int) -> list[str]:
        if exponent == 1:
            return [symbol]
        if symbol.startswith("{"):  # a bare annotation takes no exponent: repeat it
            return [symbol] * exponent
        match = _ANNOTATION.search(symbol)
        if match:  # the exponent goes between the unit and its annotation
            return [f"{symbol[: match.start()]}{exponent}{match.group(0)}"]
        return [f"{symbol}{exponent}"]

    head: list[str] = []
    tail: list[str] = []
    for symbol, exponent in term.components:
        if exponent > 0:
            head.extend(pieces(symbol, exponent))
        else:
            tail.extend(pieces(symbol, -exponent))
    if term.factor.numerator != 1:
        head.insert(0, str(term.factor.numerator))
    if term.factor.denominator != 1:
        tail.insert(0, str(term.factor.denominator))
    text = ".".join(head)
    if tail:
        text += "/" + "/".join(tail)
    return text or "1"


def _harmonize(left: _Term, right: _Term) -> tuple[_Term, Fraction]:
    """Rewrite ``right``'s components into ``left``'s units where dimensions match.

    So that ``'mg/dL' * 'L'`` becomes ``'mg'`` (times 10) instead of ``'mg.L/dL'``: each
    right-hand simple unit with the same non-empty dimension as a left-hand one (and no
    special or annotation) is replaced by it, and the conversion factor is returned.
    """
    targets: dict[Dimension, str] = {}
    for symbol, _ in left.components:
        reduced = _simple_reduced(symbol)
        if reduced is not None:
            targets.setdefault(reduced.dimension, symbol)
    factor = Fraction(1)
    components: list[tuple[str, int]] = []
    for symbol, exponent in right.components:
        reduced = _simple_reduced(symbol)
        target = targets.get(reduced.dimension) if reduced is not None else None
        if reduced is not None and target is not None and target != symbol:
            target_reduced = _simple_reduced(target)
            assert target_reduced is not None
            factor *= (reduced.factor / target_reduced.factor) ** exponent
            components.append((target, exponent))
        else:
            components.append((symbol, exponent))
    return _Term(right.factor, tuple(components)), factor


def _simple_reduced(symbol: str) -> ReducedUnit | None:
    """The reduction of one plain simple unit, or None if it cannot take part in cancelling."""
    if "{" in symbol:
        return None
    reduced = parse_unit(symbol)
    if reduced.special is not None or not reduced.convertible or not reduced.dimension:
        return None
    return reduced


def multiply_units(left: str, right: str) -> tuple[str, Fraction]:
    """Unit of a product and the factor its value needs: ``('cm', 'cm') -> ('cm2', 1)``."""
    left_term, right_term = _parse_term(left), _parse_term(right)
    _reduce_term(left_term)  # validates every atom
    _reduce_term(right_term)
    right_term, factor = _harmonize(left_term, right_term)
    product = _combine(left_term, right_term)
    return _render(_Term(Fraction(1), product.components)), factor * product.factor


def divide_units(left: str, right: str) -> tuple[str, Fraction]:
    """Unit of a quotient and the factor its value needs: ``('g', 'cm3') -> ('g/cm3', 1)``."""
    left_term, right_term = _parse_term(left), _parse_term(right)
    _reduce_term(left_term)
    _reduce_term(right_term)
    right_term, factor = _harmonize(left_term, right_term)
    quotient = _combine(left_term, _invert(right_term))
    return _render(_Term(Fraction(1), quotient.components)), quotient.factor / factor


# ---------------------------------------------------------------------------------------------
# UCUM essence 2.2 (2024-06-17): prefixes, then units as code -> (value, definition, flags),
# meaning "1 code = value definition". For special units (flag _S) value and definition are
# the argument of the special function, i.e. the unit's ratio-scale size. Base units: m s g
# rad K C cd.
# ---------------------------------------------------------------------------------------------

_PREFIXES: dict[str, str] = {
    "Y": "1e24",  # yotta
    "Z": "1e21",  # zetta
    "E": "1e18",  # exa
    "P": "1e15",  # peta
    "T": "1e12",  # tera
    "G": "1e9",  # giga
    "M": "1e6",  # mega
    "k": "1e3",  # kilo
    "h": "1e2",  # hecto
    "da": "1e1",  # deka
    "d": "1e-1",  # deci
    "c": "1e-2",  # centi
    "m": "1e-3",  # milli
    "u": "1e-6",  # micro
    "n": "1e-9",  # nano
    "p": "1e-12",  # pico
    "f": "1e-15",  # femto
    "a": "1e-18",  # atto
    "z": "1e-21",  # zepto
    "y": "1e-24",  # yocto
    "Ki": "1024",  # kibi
    "Mi": "1048576",  # mebi
    "Gi": "1073741824",  # gibi
    "Ti": "1099511627776",  # tebi
}

_UNITS: dict[str, tuple[str, str, int]] = {
    # class dimless
    "10*": ("10", "1", 0),  # the number ten for arbitrary powers
    "10^": ("10", "1", 0),  # the number ten for arbitrary powers
    "[pi]": (
        "3.1415926535897932384626433832795028841971693993751058209749445923",
        "1",
        0,
    ),  # the number pi
    "%": ("1", "10*-2", 0),  # percent
    "[ppth]": ("1", "10*-3", 0),  # parts per thousand
    "[ppm]": ("1", "10*-6", 0),  # parts per million
    "[ppb]": ("1", "10*-9", 0),  # parts per billion
    "[pptr]": ("1", "10*-12", 0),  # parts per trillion
    # class si
    "mol": ("6.02214076", "10*23", _M),  # mole
    "sr": ("1", "rad2", _M),  # steradian
    "Hz": ("1", "s-1", _M),  # hertz
    "N": ("1", "kg.m/s2", _M),  # newton
    "Pa": ("1", "N/m2", _M),  # pascal
    "J": ("1", "N.m", _M),  # joule
    "W": ("1", "J/s", _M),  # watt
    "A": ("1", "C/s", _M),  # ampère
    "V": ("1", "J/C", _M),  # volt
    "F": ("1", "C/V", _M),  # farad
    "Ohm": ("1", "V/A", _M),  # ohm
    "S": ("1", "Ohm-1", _M),  # siemens
    "Wb": ("1", "V.s", _M),  # weber
    "Cel": ("1", "K", _M | _S),  # degree Celsius
    "T": ("1", "Wb/m2", _M),  # tesla
    "H": ("1", "Wb/A", _M),  # henry
    "lm": ("1", "cd.sr", _M),  # lumen
    "lx": ("1", "lm/m2", _M),  # lux
    "Bq": ("1", "s-1", _M),  # becquerel
    "Gy": ("1", "J/kg", _M),  # gray
    "Sv": ("1", "J/kg", _M),  # sievert
    # class iso1000
    "gon": ("0.9", "deg", 0),  # gon
    "deg": ("2", "[pi].rad/360", 0),  # degree
    "'": ("1", "deg/60", 0),  # minute
    "''": ("1", "'/60", 0),  # second
    "l": ("1", "dm3", _M),  # liter
    "L": ("1", "l", _M),  # liter
    "ar": ("100", "m2", _M),  # are
    "min": ("60", "s", 0),  # minute
    "h": ("60", "min", 0),  # hour
    "d": ("24", "h", 0),  # day
    "a_t": ("365.24219", "d", 0),  # tropical year
    "a_j": ("365.25", "d", 0),  # mean Julian year
    "a_g": ("365.2425", "d", 0),  # mean Gregorian year
    "a": ("1", "a_j", 0),  # year
    "wk": ("7", "d", 0),  # week
    "mo_s": ("29.53059", "d", 0),  # synodal month
    "mo_j": ("1", "a_j/12", 0),  # mean Julian month
    "mo_g": ("1", "a_g/12", 0),  # mean Gregorian month
    "mo": ("1", "mo_j", 0),  # month
    "t": ("1e3", "kg", _M),  # tonne
    "bar": ("1e5", "Pa", _M),  # bar
    "u": ("1.66053906660e-24", "g", _M),  # unified atomic mass unit
    "eV": ("1", "[e].V", _M),  # electronvolt
    "AU": ("149597.870691", "Mm", 0),  # astronomic unit
    "pc": ("3.085678e16", "m", _M),  # parsec
    # class const
    "[c]": ("299792458", "m/s", _M),  # velocity of light
    "[h]": ("6.62607015e-34", "J.s", _M),  # Planck constant
    "[k]": ("1.380649e-23", "J/K", _M),  # Boltzmann constant
    "[eps_0]": ("8.854187817e-12", "F/m", _M),  # permittivity of vacuum
    "[mu_0]": ("1", "4.[pi].10*-7.N/A2", _M),  # permeability of vacuum
    "[e]": ("1.602176634e-19", "C", _M),  # elementary charge
    "[m_e]": ("9.1093837139e-31", "kg", _M),  # electron mass
    "[m_p]": ("1.67262192595e-27", "kg", _M),  # proton mass
    "[G]": ("6.67430e-11", "m3.kg-1.s-2", _M),  # Newtonian constant of gravitation
    "[g]": ("980665e-5", "m/s2", _M),  # standard acceleration of free fall
    "atm": ("101325", "Pa", 0),  # standard atmosphere
    "[ly]": ("1", "[c].a_j", _M),  # light-year
    "gf": ("1", "g.[g]", _M),  # gram-force
    "[lbf_av]": ("1", "[lb_av].[g]", 0),  # pound force
    # class cgs
    "Ky": ("1", "cm-1", _M),  # Kayser
    "Gal": ("1", "cm/s2", _M),  # Gal
    "dyn": ("1", "g.cm/s2", _M),  # dyne
    "erg": ("1", "dyn.cm", _M),  # erg
    "P": ("1", "dyn.s/cm2", _M),  # Poise
    "Bi": ("10", "A", _M),  # Biot
    "St": ("1", "cm2/s", _M),  # Stokes
    "Mx": ("1e-8", "Wb", _M),  # Maxwell
    "G": ("1e-4", "T", _M),  # Gauss
    "Oe": ("250", "/[pi].A/m", _M),  # Oersted
    "Gb": ("1", "Oe.cm", _M),  # Gilbert
    "sb": ("1", "cd/cm2", _M),  # stilb
    "Lmb": ("1", "cd/cm2/[pi]", _M),  # Lambert
    "ph": ("1e-4", "lx", _M),  # phot
    "Ci": ("37e9", "Bq", _M),  # Curie
    "R": ("2.58e-4", "C/kg", _M),  # Roentgen
    "RAD": ("100", "erg/g", _M),  # radiation absorbed dose
    "REM": ("1", "RAD", _M),  # radiation equivalent man
    # class intcust
    "[in_i]": ("254e-2", "cm", 0),  # inch
    "[ft_i]": ("12", "[in_i]", 0),  # foot
    "[yd_i]": ("3", "[ft_i]", 0),  # yard
    "[mi_i]": ("5280", "[ft_i]", 0),  # mile
    "[fth_i]": ("6", "[ft_i]", 0),  # fathom
    "[nmi_i]": ("1852", "m", 0),  # nautical mile
    "[kn_i]": ("1", "[nmi_i]/h", 0),  # knot
    "[sin_i]": ("1", "[in_i]2", 0),  # square inch
    "[sft_i]": ("1", "[ft_i]2", 0),  # square foot
    "[syd_i]": ("1", "[yd_i]2", 0),  # square yard
    "[cin_i]": ("1", "[in_i]3", 0),  # cubic inch
    "[cft_i]": ("1", "[ft_i]3", 0),  # cubic foot
    "[cyd_i]": ("1", "[yd_i]3", 0),  # cubic yard
    "[bf_i]": ("144", "[in_i]3", 0),  # board foot
    "[cr_i]": ("128", "[ft_i]3", 0),  # cord
    "[mil_i]": ("1e-3", "[in_i]", 0),  # mil
    "[cml_i]": ("1", "[pi]/4.[mil_i]2", 0),  # circular mil
    "[hd_i]": ("4", "[in_i]", 0),  # hand
    # class us-lengths
    "[ft_us]": ("1200", "m/3937", 0),  # foot
    "[yd_us]": ("3", "[ft_us]", 0),  # yard
    "[in_us]": ("1", "[ft_us]/12", 0),  # inch
    "[rd_us]": ("16.5", "[ft_us]", 0),  # rod
    "[ch_us]": ("4", "[rd_us]", 0),  # Gunter's chain
    "[lk_us]": ("1", "[ch_us]/100", 0),  # link for Gunter's chain
    "[rch_us]": ("100", "[ft_us]", 0),  # Ramden's chain
    "[rlk_us]": ("1", "[rch_us]/100", 0),  # link for Ramden's chain
    "[fth_us]": ("6", "[ft_us]", 0),  # fathom
    "[fur_us]": ("40", "[rd_us]", 0),  # furlong
    "[mi_us]": ("8", "[fur_us]", 0),  # mile
    "[acr_us]": ("160", "[rd_us]2", 0),  # acre
    "[srd_us]": ("1", "[rd_us]2", 0),  # square rod
    "[smi_us]": ("1", "[mi_us]2", 0),  # square mile
    "[sct]": ("1", "[mi_us]2", 0),  # section
    "[twp]": ("36", "[sct]", 0),  # township
    "[mil_us]": ("1e-3", "[in_us]", 0),  # mil
    # class brit-length
    "[in_br]": ("2.539998", "cm", 0),  # inch
    "[ft_br]": ("12", "[in_br]", 0),  # foot
    "[rd_br]": ("16.5", "[ft_br]", 0),  # rod
    "[ch_br]": ("4", "[rd_br]", 0),  # Gunter's chain
    "[lk_br]": ("1", "[ch_br]/100", 0),  # link for Gunter's chain
    "[fth_br]": ("6", "[ft_br]", 0),  # fathom
    "[pc_br]": ("2.5", "[ft_br]", 0),  # pace
    "[yd_br]": ("3", "[ft_br]", 0),  # yard
    "[mi_br]": ("5280", "[ft_br]", 0),  # mile
    "[nmi_br]": ("6080", "[ft_br]", 0),  # nautical mile
    "[kn_br]": ("1", "[nmi_br]/h", 0),  # knot
    "[acr_br]": ("4840", "[yd_br]2", 0),  # acre
    # class us-volumes
    "[gal_us]": ("231", "[in_i]3", 0),  # Queen Anne's wine gallon
    "[bbl_us]": ("42", "[gal_us]", 0),  # barrel
    "[qt_us]": ("1", "[gal_us]/4", 0),  # quart
    "[pt_us]": ("1", "[qt_us]/2", 0),  # pint
    "[gil_us]": ("1", "[pt_us]/4", 0),  # gill
    "[foz_us]": ("1", "[gil_us]/4", 0),  # fluid ounce
    "[fdr_us]": ("1", "[foz_us]/8", 0),  # fluid dram
    "[min_us]": ("1", "[fdr_us]/60", 0),  # minim
    "[crd_us]": ("128", "[ft_i]3", 0),  # cord
    "[bu_us]": ("2150.42", "[in_i]3", 0),  # bushel
    "[gal_wi]": ("1", "[bu_us]/8", 0),  # historical winchester gallon
    "[pk_us]": ("1", "[bu_us]/4", 0),  # peck
    "[dqt_us]": ("1", "[pk_us]/8", 0),  # dry quart
    "[dpt_us]": ("1", "[dqt_us]/2", 0),  # dry pint
    "[tbs_us]": ("1", "[foz_us]/2", 0),  # tablespoon
    "[tsp_us]": ("1", "[tbs_us]/3", 0),  # teaspoon
    "[cup_us]": ("16", "[tbs_us]", 0),  # cup
    "[foz_m]": ("30", "mL", 0),  # metric fluid ounce
    "[cup_m]": ("240", "mL", 0),  # metric cup
    "[tsp_m]": ("5", "mL", 0),  # metric teaspoon
    "[tbs_m]": ("15", "mL", 0),  # metric tablespoon
    # class brit-volumes
    "[gal_br]": ("4.54609", "l", 0),  # gallon
    "[pk_br]": ("2", "[gal_br]", 0),  # peck
    "[bu_br]": ("4", "[pk_br]", 0),  # bushel
    "[qt_br]": ("1", "[gal_br]/4", 0),  # quart
    "[pt_br]": ("1", "[qt_br]/2", 0),  # pint
    "[gil_br]": ("1", "[pt_br]/4", 0),  # gill
    "[foz_br]": ("1", "[gil_br]/5", 0),  # fluid ounce
    "[fdr_br]": ("1", "[foz_br]/8", 0),  # fluid dram
    "[min_br]": ("1", "[fdr_br]/60", 0),  # minim
    # class avoirdupois
    "[gr]": ("64.79891", "mg", 0),  # grain
    "[lb_av]": ("7000", "[gr]", 0),  # pound
    "[oz_av]": ("1", "[lb_av]/16", 0),  # ounce
    "[dr_av]": ("1", "[oz_av]/16", 0),  # dram
    "[scwt_av]": ("100", "[lb_av]", 0),  # short hundredweight
    "[lcwt_av]": ("112", "[lb_av]", 0),  # long hundredweight
    "[ston_av]": ("20", "[scwt_av]", 0),  # short ton
    "[lton_av]": ("20", "[lcwt_av]", 0),  # long ton
    "[stone_av]": ("14", "[lb_av]", 0),  # stone
    # class troy
    "[pwt_tr]": ("24", "[gr]", 0),  # pennyweight
    "[oz_tr]": ("20", "[pwt_tr]", 0),  # ounce
    "[lb_tr]": ("12", "[oz_tr]", 0),  # pound
    # class apoth
    "[sc_ap]": ("20", "[gr]", 0),  # scruple
    "[dr_ap]": ("3", "[sc_ap]", 0),  # dram
    "[oz_ap]": ("8", "[dr_ap]", 0),  # ounce
    "[lb_ap]": ("12", "[oz_ap]", 0),  # pound
    "[oz_m]": ("28", "g", 0),  # metric ounce
    # class typeset
    "[lne]": ("1", "[in_i]/12", 0),  # line
    "[pnt]": ("1", "[lne]/6", 0),  # point
    "[pca]": ("12", "[pnt]", 0),  # pica
    "[pnt_pr]": ("0.013837", "[in_i]", 0),  # Printer's point
    "[pca_pr]": ("12", "[pnt_pr]", 0),  # Printer's pica
    "[pied]": ("32.48", "cm", 0),  # pied
    "[pouce]": ("1", "[pied]/12", 0),  # pouce
    "[ligne]": ("1", "[pouce]/12", 0),  # ligne
    "[didot]": ("1", "[ligne]/6", 0),  # didot
    "[cicero]": ("12", "[didot]", 0),  # cicero
    # class heat
    "[degF]": ("5", "K/9", _S),  # degree Fahrenheit
    "[degR]": ("5", "K/9", 0),  # degree Rankine
    "[degRe]": ("5", "K/4", _S),  # degree Réaumur
    "cal_[15]": ("4.18580", "J", _M),  # calorie at 15 °C
    "cal_[20]": ("4.18190", "J", _M),  # calorie at 20 °C
    "cal_m": ("4.19002", "J", _M),  # mean calorie
    "cal_IT": ("4.1868", "J", _M),  # international table calorie
    "cal_th": ("4.184", "J", _M),  # thermochemical calorie
    "cal": ("1", "cal_th", _M),  # calorie
    "[Cal]": ("1", "kcal_th", 0),  # nutrition label Calories
    "[Btu_39]": ("1.05967", "kJ", 0),  # British thermal unit at 39 °F
    "[Btu_59]": ("1.05480", "kJ", 0),  # British thermal unit at 59 °F
    "[Btu_60]": ("1.05468", "kJ", 0),  # British thermal unit at 60 °F
    "[Btu_m]": ("1.05587", "kJ", 0),  # mean British thermal unit
    "[Btu_IT]": ("1.05505585262", "kJ", 0),  # international table British thermal unit
    "[Btu_th]": ("1.054350", "kJ", 0),  # thermochemical British thermal unit
    "[Btu]": ("1", "[Btu_th]", 0),  # British thermal unit
    "[HP]": ("550", "[ft_i].[lbf_av]/s", 0),  # horsepower
    "tex": ("1", "g/km", _M),  # tex
    "[den]": ("1", "g/9/km", 0),  # Denier
    # class clinical
    "m[H2O]": ("980665e-5", "kPa", _M),  # meter of water column
    "m[Hg]": ("133.3220", "kPa", _M),  # meter of mercury column
    "[in_i'H2O]": ("1", "m[H2O].[in_i]/m", 0),  # inch of water column
    "[in_i'Hg]": ("1", "m[Hg].[in_i]/m", 0),  # inch of mercury column
    "[PRU]": ("1", "mm[Hg].s/ml", 0),  # peripheral vascular resistance unit
    "[wood'U]": ("1", "mm[Hg].min/L", 0),  # Wood unit
    "[diop]": ("1", "/m", 0),  # diopter
    "[p'diop]": ("1", "rad", _S),  # prism diopter
    "%[slope]": ("1", "deg", _S),  # percent of slope
    "[mesh_i]": ("1", "/[in_i]", 0),  # mesh
    "[Ch]": ("1", "mm/3", 0),  # Charrière
    "[drp]": ("1", "ml/20", 0),  # drop
    "[hnsf'U]": ("1", "1", 0),  # Hounsfield unit
    "[MET]": ("3.5", "mL/min/kg", 0),  # metabolic equivalent
    "[hp'_X]": ("1", "1", _S),  # homeopathic potency of decimal series (retired)
    "[hp'_C]": ("1", "1", _S),  # homeopathic potency of centesimal series (retired)
    "[hp'_M]": ("1", "1", _S),  # homeopathic potency of millesimal series (retired)
    "[hp'_Q]": ("1", "1", _S),  # homeopathic potency of quintamillesimal series (retired)
    "[hp_X]": ("1", "1", _A),  # homeopathic potency of decimal hahnemannian series
    "[hp_C]": ("1", "1", _A),  # homeopathic potency of centesimal hahnemannian series
    "[hp_M]": ("1", "1", _A),  # homeopathic potency of millesimal hahnemannian series
    "[hp_Q]": ("1", "1", _A),  # homeopathic potency of quintamillesimal hahnemannian series
    "[kp_X]": ("1", "1", _A),  # homeopathic potency of decimal korsakovian series
    "[kp_C]": ("1", "1", _A),  # homeopathic potency of centesimal korsakovian series
    "[kp_M]": ("1", "1", _A),  # homeopathic potency of millesimal korsakovian series
    "[kp_Q]": ("1", "1", _A),  # homeopathic potency of quintamillesimal korsakovian series
    # class chemical
    "eq": ("1", "mol", _M),  # equivalents
    "osm": ("1", "mol", _M),  # osmole
    "[pH]": ("1", "mol/l", _S),  # pH
    "g%": ("1", "g/dl", _M),  # gram percent
    "[S]": ("1", "10*-13.s", 0),  # Svedberg unit
    "[HPF]": ("1", "1", 0),  # high power field
    "[LPF]": ("100", "1", 0),  # low power field
    "kat": ("1", "mol/s", _M),  # katal
    "U": ("1", "umol/min", _M),  # Unit
    "[iU]": ("1", "1", _M | _A),  # international unit
    "[IU]": ("1", "[iU]", _M | _A),  # international unit
    "[arb'U]": ("1", "1", _A),  # arbitrary unit
    "[USP'U]": ("1", "1", _A),  # United States Pharmacopeia unit
    "[GPL'U]": ("1", "1", _A),  # GPL unit
    "[MPL'U]": ("1", "1", _A),  # MPL unit
    "[APL'U]": ("1", "1", _A),  # APL unit
    "[beth'U]": ("1", "1", _A),  # Bethesda unit
    "[anti'Xa'U]": ("1", "1", _A),  # anti factor Xa unit
    "[todd'U]": ("1", "1", _A),  # Todd unit
    "[dye'U]": ("1", "1", _A),  # Dye unit
    "[smgy'U]": ("1", "1", _A),  # Somogyi unit
    "[bdsk'U]": ("1", "1", _A),  # Bodansky unit
    "[ka'U]": ("1", "1", _A),  # King-Armstrong unit
    "[knk'U]": ("1", "1", _A),  # Kunkel unit
    "[mclg'U]": ("1", "1", _A),  # Mac Lagan unit
    "[tb'U]": ("1", "1", _A),  # tuberculin unit
    "[CCID_50]": ("1", "1", _A),  # 50% cell culture infectious dose
    "[TCID_50]": ("1", "1", _A),  # 50% tissue culture infectious dose
    "[EID_50]": ("1", "1", _A),  # 50% embryo infectious dose
    "[PFU]": ("1", "1", _A),  # plaque forming units
    "[FFU]": ("1", "1", _A),  # focus forming units
    "[CFU]": ("1", "1", _A),  # colony forming units
    "[IR]": ("1", "1", _A),  # index of reactivity
    "[BAU]": ("1", "1", _A),  # bioequivalent allergen unit
    "[AU]": ("1", "1", _A),  # allergen unit
    "[Amb'a'1'U]": ("1", "1", _A),  # allergen unit for Ambrosia artemisiifolia
    "[PNU]": ("1", "1", _A),  # protein nitrogen unit
    "[Lf]": ("1", "1", _A),  # Limit of flocculation
    "[D'ag'U]": ("1", "1", _A),  # D-antigen unit
    "[FEU]": ("1", "1", _A),  # fibrinogen equivalent unit
    "[ELU]": ("1", "1", _A),  # ELISA unit
    "[EU]": ("1", "1", _A),  # Ehrlich unit
    # class levels
    "Np": ("1", "1", _M | _S),  # neper
    "B": ("1", "1", _M | _S),  # bel
    "B[SPL]": ("2", "10*-5.Pa", _M | _S),  # bel sound pressure
    "B[V]": ("1", "V", _M | _S),  # bel volt
    "B[mV]": ("1", "mV", _M | _S),  # bel millivolt
    "B[uV]": ("1", "uV", _M | _S),  # bel microvolt
    "B[10.nV]": ("10", "nV", _M | _S),  # bel 10 nanovolt
    "B[W]": ("1", "W", _M | _S),  # bel watt
    "B[kW]": ("1", "kW", _M | _S),  # bel kilowatt
    # class misc
    "st": ("1", "m3", _M),  # stere
    "Ao": ("0.1", "nm", 0),  # Ångström
    "b": ("100", "fm2", 0),  # barn
    "att": ("1", "kgf/cm2", 0),  # technical atmosphere
    "mho": ("1", "S", _M),  # mho
    "[psi]": ("1", "[lbf_av]/[in_i]2", 0),  # pound per square inch
    "circ": ("2", "[pi].rad", 0),  # circle
    "sph": ("4", "[pi].sr", 0),  # sphere
    "[car_m]": ("2e-1", "g", 0),  # metric carat
    "[car_Au]": ("1", "/24", 0),  # carat of gold alloys
    "[smoot]": ("67", "[in_i]", 0),  # Smoot
    "[m/s2/Hz^(1/2)]": ("1", "m2/s4/Hz", _S),  # meter per square seconds per square root of hertz
    "[NTU]": ("1", "1", 0),  # Nephelometric Turbidity Unit
    "[FNU]": ("1", "1", 0),  # Formazin Nephelometric Unit
    # class infotech
    "bit_s": ("1", "1", _S),  # bit
    "bit": ("1", "1", _M),  # bit
    "By": ("8", "bit", _M),  # byte
    "Bd": ("1", "/s", _M),  # baud
}

_METRIC_ATOMS = frozenset(code for code, (_, _, flags) in _UNITS.items() if flags & _M)

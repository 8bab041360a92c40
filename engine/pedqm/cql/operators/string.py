"""String operators (CQL 1.5 reference, 'String Operators').

Indexes are 0-based. Regular expressions: the spec recommends the PCRE dialect and the
reference engines (Java's ``String.matches``/``Matcher``) use Java's; we run them on Python's
``re`` after translating the few Java/PCRE spellings Python lacks (``(?<name>``, ``\\k<name>``,
``\\z``), always case-sensitive and in "single line" mode (``.`` matches a newline).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import lru_cache
from typing import Any

from ..errors import CqlRuntimeError
from .registry import operator

# -- regular expressions ------------------------------------------------------------------------


def _translate_regex(pattern: str) -> str:
    """Rewrite Java/PCRE-only regex syntax into Python ``re`` syntax, leaving the rest as is."""
    out: list[str] = []
    i, n = 0, len(pattern)
    in_class = False
    while i < n:
        ch = pattern[i]
        if ch == "\\" and i + 1 < n:
            nxt = pattern[i + 1]
            if nxt == "z" and not in_class:
                out.append(r"\Z")  # Java \z: end of input
                i += 2
                continue
            if nxt == "k" and pattern.startswith("<", i + 2) and not in_class:
                end = pattern.find(">", i + 3)
                if end > 0:
                    out.append(f"(?P={pattern[i + 3:end]})")
                    i = end + 1
                    continue
            out.append(pattern[i : i + 2])
            i += 2
            continue
        if in_class:
            if ch == "]":
                in_class = False
        elif ch == "[":
            in_class = True
            out.append(ch)
            i += 1
            # a ']' right after '[' or '[^' is a literal member, not the class end
            if i < n and pattern[i] == "^":
                out.append("^")
                i += 1
            if i < n and pattern[i] == "]":
                out.append("]")
                i += 1
            continue
        elif pattern.startswith("(?<", i) and i + 3 < n and pattern[i + 3] not in "=!":
            out.append("(?P<")
            i += 3
            continue
        out.append(ch)
        i += 1
    return "".join(out)


@lru_cache(maxsize=512)
def compile_regex(pattern: str) -> re.Pattern[str]:
    """Compile a CQL regular expression; a malformed pattern is a run-time error."""
    try:
        return re.compile(_translate_regex(pattern), re.DOTALL)
    except re.error as exc:
        raise CqlRuntimeError(f"invalid regular expression {pattern!r}: {exc}") from exc


def _java_replacement(template: str) -> Callable[[re.Match[str]], str]:
    """A replacement function for Java's substitution syntax: ``$1``, ``${name}``, ``\\x``.

    Java (the reference engine's dialect, and what the conformance test
    ``ReplaceMatches(..., '\\\\s', '\\\\$')`` relies on) treats ``\\x`` as a literal ``x``;
    Python's template syntax differs, so we interpret the template ourselves.
    """
    parts: list[str | int] = []  # literal text, or a group number / name reference
    buf: list[str] = []
    i, n = 0, len(template)
    while i < n:
        ch = template[i]
        if ch == "\\":
            if i + 1 >= n:
                raise CqlRuntimeError("invalid substitution: trailing backslash")
            buf.append(template[i + 1])
            i += 2
        elif ch == "$":
            if i + 1 < n and template[i + 1] == "{":
                end = template.find("}", i + 2)
                if end < 0:
                    raise CqlRuntimeError("invalid substitution: unclosed group name")
                parts.extend(["".join(buf), "{" + template[i + 2 : end]])
                buf = []
                i = end + 1
            elif i + 1 < n and template[i + 1].isdigit():
                j = i + 1
                while j < n and template[j].isdigit():
                    j += 1
                parts.extend(["".join(buf), template[i + 1 : j]])
                buf = []
                i = j
            else:
                raise CqlRuntimeError("invalid substitution: '$' not followed by a group")
        else:
            buf.append(ch)
            i += 1
    parts.append("".join(buf))

    def replace(m: re.Match[str]) -> str:
        out: list[str] = []
        for k, part in enumerate(parts):
            if k % 2 == 0:
                out.append(str(part))
                continue
            ref = str(part)
            if ref.startswith("{"):
                try:
                    out.append(m.group(ref[1:]) or "")
                except IndexError as exc:
                    raise CqlRuntimeError(f"no group named {ref[1:]!r}") from exc
                continue
            # Java takes as many digits as still name an existing group
            digits, count = ref, m.re.groups
            while len(digits) > 1 and int(digits) > count:
                digits = digits[:-1]
            if int(digits) > count:
                raise CqlRuntimeError(f"no group {digits} in regular expression")
            out.append((m.group(int(digits)) or "") + ref[len(digits) :])
        return "".join(out)

    return replace



# -- operators ----------------------------------------------------------------------------------


@operator("Concatenate", arity=(2, 99))
def Concatenate(*parts: str) -> str:
    """`+` on strings and `Concatenate(...)`: null if any part is null (`&` is rewritten to
    coalesce nulls to '' before reaching here)."""
    return "".join(parts)


@operator("Combine", strict=False)
def Combine(source: list[Any] | None, separator: str | None = None) -> str | None:
    """Join a list of strings; null elements are ignored (as aggregates do), a null separator
    is ignored, and a null or (after dropping nulls) empty list gives null."""
    if source is None:
        return None
    items = [s for s in source if s is not None]
    if not items:
        return None
    return ("" if separator is None else separator).join(items)


@operator("Split", strict=False)
def Split(string: str | None, separator: str | None) -> list[str] | None:
    """Split on a literal separator; a null or empty separator leaves the string whole
    (conformance: ``Split('a,b', null)`` = ``{'a,b'}``). Empty pieces are kept."""
    if string is None:
        return None
    if not separator:
        return [string]
    return string.split(separator)


@operator("SplitOnMatches", strict=False)
def SplitOnMatches(string: str | None, pattern: str | None) -> list[str] | None:
    """Split around the matches of a regular expression (same regex semantics as Matches).

    Capturing groups are not spliced into the result (unlike Python's ``re.split``), and an
    empty match at the very start does not produce a leading empty piece (as in Java).
    """
    if string is None:
        return None
    if not pattern:
        return [string]
    rx = compile_regex(pattern)
    pieces: list[str] = []
    start = 0
    for m in rx.finditer(string):
        if m.end() == 0:
            continue
        if m.start() == m.end() and m.start() == start and pieces:
            continue
        pieces.append(string[start : m.start()])
        start = m.end()
    pieces.append(string[start:])
    return pieces


@operator("Length", strict=False)
def Length(value: str | list[Any] | None, *, list_operand: bool = False) -> int | None:
    """Characters in a string or elements in a list.

    A null String has null length but a null List has length 0 (spec 'Length' in both
    chapters; conformance LengthNullString / LengthNullList). A run-time null carries no type,
    so the resolver passes ``list_operand=True`` when the operand's static type is a List.
    """
    if value is None:
        return 0 if list_operand else None
    return len(value)


@operator("Upper")
def Upper(s: str) -> str:
    return s.upper()


@operator("Lower")
def Lower(s: str) -> str:
    return s.lower()


@operator("Indexer")
def Indexer(source: str | list[Any], index: int) -> Any:
    """`s[i]` / `list[i]`: the 0-based element; null when out of range (either side)."""
    if index < 0 or index >= len(source):
        return None
    return source[index]


@operator("PositionOf")
def PositionOf(pattern: str, string: str) -> int:
    """0-based index of the first occurrence of `pattern` in `string`, or -1."""
    return string.find(pattern)


@operator("LastPositionOf")
def LastPositionOf(pattern: str, string: str) -> int:
    """0-based index of the last occurrence of `pattern` in `string`, or -1."""
    return string.rfind(pattern)


@operator("Substring")
def Substring(string: str, start: int, length: int | None = None) -> str | None:
    """The `length` characters (or the rest) from 0-based `start`; null when `start` is out of
    range. ``Substring('', 0)`` is ``''`` (conformance SubstringEmptyAnd0) while
    ``Substring('ab', 2)`` is null (SubstringAB2); a negative length gives null."""
    if start < 0 or start > len(string) or (start == len(string) and string):
        return None
    if length is None:
        return string[start:]
    if length < 0:
        return None
    return string[start : start + length]


@operator("StartsWith")
def StartsWith(string: str, prefix: str) -> bool:
    return string.startswith(prefix)


@operator("EndsWith")
def EndsWith(string: str, suffix: str) -> bool:
    return string.endswith(suffix)


@operator("Matches")
def Matches(string: str, pattern: str) -> bool:
    """True when the whole string matches the regular expression.

    The 1.5 text says "partial matching" but its own example ``Matches('1,2three', '\\\\w+')``
    is false, and both reference engines (Java ``String.matches``, cql-execution
    ``^...$``) match the whole string; we do the same.
    """
    return compile_regex(pattern).fullmatch(string) is not None


@operator("ReplaceMatches")
def ReplaceMatches(string: str, pattern: str, substitution: str) -> str:
    """Replace every match of `pattern`; `substitution` uses Java's ``$n``/``${name}``/``\\x``."""
    return compile_regex(pattern).sub(_java_replacement(substitution), string)

"""Deep nesting and duplicate names (issue 10 §5): a clean compile error or a value, never a
RecursionError from the parser, resolver or compiler."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from pedqm.cql import CqlCompileError, compile_library, evaluate
from pedqm.cql.parser import MAX_NESTING_DEPTH


def _with_frames_used(frames: int, fn: Callable[[], Any]) -> Any:
    """Call `fn` with `frames` more Python frames on the stack (a caller deep in other code)."""
    return _with_frames_used(frames - 1, fn) if frames > 0 else fn()


def _too_deep(text: str) -> CqlCompileError:
    with pytest.raises(CqlCompileError, match="nested too deeply") as info:
        evaluate(text)
    with pytest.raises(CqlCompileError, match="nested too deeply"):
        compile_library("library T\ndefine X:\n  " + text)
    return info.value


def test_or_chain_of_600_evaluates() -> None:
    assert evaluate(" or ".join(["false"] * 599 + ["true"])) is True
    assert evaluate(" or ".join(["false"] * 599 + ["null"])) is None
    assert evaluate(" and ".join(["true"] * 600)) is True
    assert evaluate(" xor ".join(["true"] * 601)) is True
    lib = compile_library("library T\ndefine X: " + " or ".join(["false"] * 600))
    assert lib.evaluate("X") is False


def test_union_of_many_lists_evaluates() -> None:
    assert evaluate(" union ".join(f"{{{i % 7}}}" for i in range(400))) == list(range(7))


def test_interval_union_chain_is_not_reassociated() -> None:
    # [1,2] union [5,6] is null (they neither overlap nor meet), so grouping matters here.
    text = " union ".join(["Interval[1, 2]", "Interval[5, 6]", *["Interval[3, 4]"] * 40])
    assert evaluate(text) is None


def test_addition_chain_of_3000_is_a_compile_error_with_location() -> None:
    err = _too_deep(" + ".join(["1"] * 3000))
    assert f"more than {MAX_NESTING_DEPTH} levels" in str(err)
    assert (err.errors[0].line, err.errors[0].column) == (1, 1)


def test_abs_nested_1000_is_a_compile_error_at_the_deep_call() -> None:
    err = _too_deep("Abs(" * 1000 + "1" + ")" * 1000)
    assert err.errors[0].line == 1
    assert err.errors[0].column == 4 * MAX_NESTING_DEPTH + 1  # the first Abs( past the limit


@pytest.mark.parametrize("text", [
    "(" * 3000 + "1" + ")" * 3000,  # parentheses add no level: fine
    "1" + " as Integer" * 150,
], ids=["parens", "as-chain"])
def test_deep_but_allowed_text_evaluates(text: str) -> None:
    assert evaluate(text) == 1


@pytest.mark.parametrize("build", [
    lambda n: " + ".join(["1"] * n),
    lambda n: "Abs(" * (n - 1) + "1" + ")" * (n - 1),
    lambda n: "{" * (n - 1) + "1" + "}" * (n - 1),
    lambda n: "singleton from {" * (n // 2 - 1) + "1" + "}" * (n // 2 - 1),
    lambda n: "-" * (n - 1) + "1",
], ids=["add", "abs", "list", "singleton", "negate"])
def test_the_limit_leaves_room_for_the_caller(build: Callable[[int], str]) -> None:
    """The deepest accepted expression still resolves, compiles and runs with the default
    recursion limit when 300 frames are already in use."""
    text = build(MAX_NESTING_DEPTH)
    _with_frames_used(300, lambda: evaluate(text))
    _too_deep(build(MAX_NESTING_DEPTH + 2))


@pytest.mark.parametrize("decl,kind", [
    ("define X: 1\ndefine X: 2", "X"),
    ("parameter P Integer\nparameter P Integer", "P"),
    ("valueset V: 'urn:a'\nvalueset V: 'urn:b'", "V"),
    ("codesystem S: 'urn:s'\ncodesystem S: 'urn:t'", "S"),
    ("codesystem CS: 'urn:s'\ncode C: '1' from CS\ncode C: '2' from CS", "C"),
    ("parameter X Integer\ndefine X: 1", "X"),
])
def test_duplicate_names_are_compile_errors_with_both_lines(decl: str, kind: str) -> None:
    text = "library T\n" + decl + "\n"
    second = text.count("\n")
    with pytest.raises(CqlCompileError, match=f"duplicate definition of '{kind}'") as info:
        compile_library(text)
    err = info.value.errors[0]
    assert err.line == second
    assert f"first defined at line {second - 1}" in err.message


def test_duplicate_define_in_another_context_is_an_error() -> None:
    text = "library T\ndefine X: 1\ncontext Unfiltered\ndefine X: 2\n"
    with pytest.raises(CqlCompileError, match=r"duplicate definition of 'X' \(first defined at line 2\)"):
        compile_library(text)


def test_functions_overload_but_not_with_the_same_signature() -> None:
    ok = "library T\ndefine function F(a Integer): a\ndefine function F(a String): a\ndefine X: F(1)\n"
    assert compile_library(ok).evaluate("X") == 1
    bad = "library T\ndefine function F(a Integer): a\ndefine function F(b Integer): b + 1\n"
    with pytest.raises(CqlCompileError, match=r"duplicate function F\(Integer\) \(first defined at line 2\)"):
        compile_library(bad)

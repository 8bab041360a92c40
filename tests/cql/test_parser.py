"""Parser tests: the grammar against published libraries and the error reports users see."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from pedqm.cql import CqlCompileError, ast, compile_library, evaluate
from pedqm.cql.parser import parse_expression, parse_library

ECQM_DIR = Path(__file__).resolve().parents[2].parent / "shared" / "ecqm"


def _ecqm_libraries() -> list[tuple[str, str]]:
    libs: dict[str, str] = {}
    for bundle in sorted(ECQM_DIR.glob("*/measure-bundle.json")):
        for entry in json.loads(bundle.read_text())["entry"]:
            res = entry["resource"]
            if res["resourceType"] != "Library":
                continue
            for content in res.get("content", []):
                if content.get("contentType") == "text/cql":
                    key = f"{res['name']}-{res.get('version', '')}"
                    libs[key] = base64.b64decode(content["data"]).decode("utf-8")
    return sorted(libs.items())


@pytest.mark.skipif(not ECQM_DIR.is_dir(), reason="../shared/ecqm not present")
@pytest.mark.parametrize("name,text", _ecqm_libraries(), ids=lambda x: x if len(x) < 80 else "")
def test_every_ecqm_library_parses(name: str, text: str) -> None:
    lib = parse_library(text, name)
    assert lib.name and lib.statements, "a published library has a name and definitions"


def test_ecqm_libraries_were_found() -> None:
    if ECQM_DIR.is_dir():
        assert len(_ecqm_libraries()) >= 10


def test_precedence_follows_the_spec() -> None:
    e = parse_expression("1 + 2 * 3 = 7 and not false")
    assert isinstance(e, ast.Binary) and e.op == "And"
    eq = e.left
    assert isinstance(eq, ast.Binary) and eq.op == "Equal"
    add = eq.left
    assert isinstance(add, ast.Binary) and add.op == "Add"
    assert isinstance(add.right, ast.Binary) and add.right.op == "Multiply"


def test_timing_phrase_with_offset() -> None:
    e = parse_expression("A starts 3 days or less on or after day of start of B")
    assert isinstance(e, ast.Timing)
    assert (e.kind, e.left_part, e.relation, e.or_on, e.offset_qualifier, e.precision) == (
        "before_after", "starts", "after", True, "or less", "day")
    assert isinstance(e.right, ast.Unary) and e.right.op == "Start"


def test_keywords_usable_as_identifiers_where_the_spec_allows() -> None:
    e = parse_expression("X.start union X.end")
    assert isinstance(e, ast.Binary) and e.op == "Union"
    assert isinstance(e.left, ast.Member) and e.left.name == "start"


def test_query_clauses() -> None:
    e = parse_expression("from A X, B Y let Z: 1 with C W such that true where X > 1 return all X sort by X desc")
    assert isinstance(e, ast.Query)
    assert [s.alias for s in e.sources] == ["X", "Y"]
    assert e.lets[0][0] == "Z" and len(e.relationships) == 1
    assert e.return_distinct is False and e.sort and e.sort[0].descending


def test_syntax_error_names_line_and_column_with_caret() -> None:
    text = "library L\ndefine A: 1 +\ndefine B: 2\n"
    with pytest.raises(CqlCompileError) as info:
        parse_library(text, "L")
    err = info.value.errors[0]
    assert (err.library, err.line, err.column) == ("L", 2, 13)
    rendered = err.render()
    assert rendered.startswith("L:2:13: syntax error") and "define A: 1 +" in rendered
    assert rendered.splitlines()[-1].index("^") == rendered.splitlines()[-2].index("+")


def test_all_syntax_errors_of_a_library_are_reported() -> None:
    text = "library L\ndefine A: 1 +\ndefine B: 2\ndefine C: (3\ndefine D: 4 4\n"
    with pytest.raises(CqlCompileError) as info:
        parse_library(text, "L")
    lines = sorted({e.line for e in info.value.errors})
    assert len(lines) >= 3, info.value


def test_semantic_errors_are_all_reported_with_locations() -> None:
    text = "library L\ndefine A: Foo + 1\ndefine B: Bar(1)\ndefine C: 2\n"
    with pytest.raises(CqlCompileError) as info:
        compile_library(text)
    msgs = [(e.line, e.column) for e in info.value.errors]
    assert (2, 11) in msgs and (3, 11) in msgs


def test_expression_error_positions_are_relative_to_the_expression() -> None:
    with pytest.raises(CqlCompileError) as info:
        evaluate("1 +\n  * 2")
    assert info.value.errors[0].line == 2

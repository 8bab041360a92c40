"""Smoke tests for the reference CQL-to-ELM translator oracle (tools/oracles/translate.*).

Skipped when node or .oracles/node_modules (npm ci --prefix .oracles) is missing.
"""

from __future__ import annotations

import base64
import importlib.util
import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
ORACLE_PY = REPO / "tools" / "oracles" / "translate.py"
CMS2_BUNDLE = (
    REPO.parent
    / "shared"
    / "ecqm"
    / "CMS2-PCSDepressionScreenAndFollowUpFHIR"
    / "measure-bundle.json"
)
INTEGER = "{urn:hl7-org:elm-types:r1}Integer"  # ELM JSON spells System.Integer as a QName


def _load_oracle() -> ModuleType:
    spec = importlib.util.spec_from_file_location("pedqm_translator_oracle", ORACLE_PY)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


oracle = _load_oracle()

pytestmark = pytest.mark.skipif(
    not oracle.available() or not oracle.modelinfo_dir().is_dir(),
    reason="translator oracle unavailable (needs node and `npm ci --prefix .oracles`)",
)


@pytest.fixture(scope="module")
def proc() -> Iterator[Any]:
    with oracle.TranslatorProcess() as p:
        yield p


def _defs(result: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {d["name"]: d for d in result["elm"]["library"]["statements"]["def"]}


def _errors(result: dict[str, Any]) -> list[str]:
    return list(oracle.error_messages(result))


def test_integer_addition_has_result_type(proc: Any) -> None:
    out = proc.translate(
        {"Simple": "library Simple version '1.0.0'\ndefine X: 1 + 1\n"}, ["Simple"]
    )
    result = out["Simple"]
    assert _errors(result) == []
    x = _defs(result)["X"]
    assert x["resultTypeName"] == INTEGER
    assert x["expression"]["type"] == "Add"
    assert x["expression"]["resultTypeName"] == INTEGER
    assert x["expression"]["locator"] == "2:11-2:15"


def test_fhir_retrieve(proc: Any) -> None:
    cql = (
        "library R version '1'\nusing FHIR version '4.0.1'\ncontext Patient\n"
        "define Patients: [Patient]\n"
    )
    result = proc.translate({"R": cql})["R"]
    assert _errors(result) == []
    retrieve = _defs(result)["Patients"]["expression"]
    assert retrieve["type"] == "Retrieve"
    assert retrieve["dataType"] == "{http://hl7.org/fhir}Patient"


@pytest.mark.parametrize("version", ["4.1.1", "6.0.0"])
def test_qicore(proc: Any, version: str) -> None:
    cql = (
        f"library Q version '1'\nusing QICore version '{version}'\ncontext Patient\n"
        "define Enc: [Encounter] E where E.status = 'finished'\ndefine Pt: Patient\n"
    )
    result = proc.translate({"Q": cql})["Q"]
    assert _errors(result) == []
    assert _defs(result)["Enc"]["expression"]["type"] == "Query"


def test_choice_operand_gets_to_datetime(proc: Any) -> None:
    cql = (
        "library C version '1'\n"
        "define function Kind(c Choice<DateTime, Interval<DateTime>>): "
        "if c is DateTime then 'point' else 'interval'\n"
        "define K: Kind(@2024-01-02)\n"
    )
    result = proc.translate({"C": cql})["C"]
    assert _errors(result) == []
    call = _defs(result)["K"]["expression"]
    assert call["type"] == "FunctionRef" and call["name"] == "Kind"
    assert [op["type"] for op in call["operand"]] == ["ToDateTime"]
    # quirk: the reference wraps the literal in a redundant As: ToDateTime(As(Date, Date(...)))
    inner = call["operand"][0]["operand"]
    while inner["type"] == "As":
        inner = inner["operand"]
    assert inner["type"] == "Date"


def test_errors_are_reported_not_raised(proc: Any) -> None:
    libs = {
        "Main": "library Main version '1'\ninclude Inc version '1'\ndefine Y: 1 + 'a'\n",
        "Inc": "library Inc version '1'\ndefine Z: (\n",
    }
    out = proc.translate(libs, ["Main", "Inc", "Missing"])
    main_errors = [e for e in out["Main"]["errors"] if e["severity"] == "error"]
    assert any(
        e["line"] == 3 and e["library"] == "Main" and "Add" in e["message"] for e in main_errors
    )
    assert any(e["library"] == "Inc" for e in main_errors)
    assert any("Syntax error" in e["message"] for e in out["Inc"]["errors"])
    assert out["Missing"]["elm"] is None and out["Missing"]["errors"]
    # the process survives and keeps answering
    assert _errors(proc.translate({"A": "library A\ndefine X: 1"})["A"]) == []


def test_cli_line_mode() -> None:
    node = shutil.which("node")
    assert node is not None
    requests = [
        {"libraries": {"A": "library A\ndefine X: 1 + 1"}},
        "not json",
        {"libraries": {"B": "library B\ndefine Y: 'a' + 1"}, "translate": ["B"]},
    ]
    stdin = "".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in requests)
    run = subprocess.run(
        [node, str(REPO / "tools" / "oracles" / "translate.mjs"), "--lines"],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    lines = [json.loads(line) for line in run.stdout.splitlines()]
    assert len(lines) == 3
    assert lines[0]["A"]["errors"] == []
    assert "$error" in lines[1]
    assert lines[2]["B"]["errors"][0]["severity"] == "error"


def test_disk_cache(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(oracle, "CACHE_DIR", tmp_path)
    libs = {"K": "library K\ndefine X: 2 * 3"}
    first = oracle.translate(libs)
    assert len(list(tmp_path.rglob("*.json"))) == 1
    assert oracle.translate(libs) == first


def _bundle_cql(bundle_path: Path) -> dict[str, str]:
    bundle = json.loads(bundle_path.read_text(encoding="utf-8"))
    libs: dict[str, str] = {}
    for entry in bundle["entry"]:
        res = entry["resource"]
        if res["resourceType"] != "Library":
            continue
        for content in res.get("content", []):
            if content.get("contentType") == "text/cql":
                libs[res["name"]] = base64.b64decode(content["data"]).decode("utf-8")
    return libs


@pytest.mark.skipif(not CMS2_BUNDLE.is_file(), reason="../shared/ecqm not present")
def test_published_package_translates_cleanly(proc: Any) -> None:
    libs = _bundle_cql(CMS2_BUNDLE)
    assert len(libs) >= 4
    out = proc.translate(libs)
    assert set(out) == set(libs)
    for name, result in out.items():
        assert _errors(result) == [], name
        assert result["elm"]["library"]["identifier"]["id"] == name

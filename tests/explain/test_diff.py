"""`pedqm diff`: a CQL edit moves a known set of cases, and only those."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from pedqm.cli import main

ROOT = Path(__file__).resolve().parents[2]
LEAD = ROOT / "measure_library" / "lead-screening"
CASES = ["test-day-after-second-birthday", "test-on-second-birthday", "no-test", "excl-died", "second-birthday-day-after"]


@pytest.fixture
def edited(tmp_path: Path) -> tuple[Path, Path]:
    """Measure B: a test on the day after the second birthday counts; and the data."""
    b = tmp_path / "lead-b"
    shutil.copytree(LEAD, b, ignore=shutil.ignore_patterns("cases"))
    [cql] = list(b.glob("*.cql"))
    text = cql.read_text()
    old = 'TestDate in Interval[Patient.birthDate, "Second Birthday"]'
    assert old in text
    cql.write_text(text.replace(old, 'TestDate in Interval[Patient.birthDate, "Second Birthday" + 1 day]'))
    data = tmp_path / "data"
    for c in CASES:
        shutil.copytree(LEAD / "cases" / c, data / c)
    return b, data


def test_the_edit_moves_exactly_the_expected_case(edited: tuple[Path, Path], capsys: pytest.CaptureFixture[str]) -> None:
    b, data = edited
    code = main(["diff", str(LEAD), str(b), "--data", str(data), "--json", "--fail-on-change"])
    assert code == 1
    out = json.loads(capsys.readouterr().out)
    assert out["patients"] == len(CASES)
    assert [(m["patient"], m["from"], m["to"]) for m in out["movers"]] == [
        ("test-day-after-second-birthday", "denominator", "numerator")]
    [group] = out["groups"]
    moved = [t for t in group["transitions"] if t["from"] != t["to"]]
    assert moved == [{"from": "denominator", "to": "numerator", "count": 1}]
    assert sum(t["count"] for t in group["transitions"]) == len(CASES)
    reasons = out["movers"][0]["explanations"]
    assert reasons["A"][0].startswith("not in Numerator: 'Numerator' is false")
    assert reasons["B"][0].startswith("in Numerator: 'Numerator' is true")


def test_no_change_no_failure(edited: tuple[Path, Path], capsys: pytest.CaptureFixture[str]) -> None:
    _, data = edited
    assert main(["diff", str(LEAD), str(LEAD), "--data", str(data), "--fail-on-change", "--samples", "0"]) == 0
    assert f"{len(CASES)} patients; 0 member(s) moved" in capsys.readouterr().out

"""`pedqm gaps`: the care-gap worklist over the childhood-immunization test cases."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from pedqm.cli import main

ROOT = Path(__file__).resolve().parents[1]
CASES = ROOT / "measure_library" / "childhood-immunization" / "cases"


def test_worklist_lists_open_gaps_and_never_a_child_outside_the_denominator(tmp_path: Path) -> None:
    out = tmp_path / "gaps.csv"
    assert main(["gaps", "childhood-immunization", "--data", str(CASES), "--output", str(out)]) == 0
    rows = list(csv.DictReader(out.open()))
    listed = {r["patient"] for r in rows}
    assert {"hepa-not-done", "dtap-first-dose-day-41", "second-birthday-last-day"} <= listed
    assert not listed & {"complete-series-met", "excl-died", "second-birthday-day-after"}
    assert all(r["status"] == "open-gap" and r["dueBy"] == "2025-12-31" and r["birthDate"] for r in rows)
    both = tmp_path / "both.csv"
    assert main(["gaps", "childhood-immunization", "--data", str(CASES), "--status", "closed-gap",
                 "--status", "not-applicable", "--output", str(both)]) == 0
    statuses = {r["patient"]: r["status"] for r in csv.DictReader(both.open())}
    assert statuses["complete-series-met"] == "closed-gap"
    assert statuses["excl-died"] == statuses["second-birthday-day-after"] == "not-applicable"


def test_a_measure_without_gaps_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["gaps", "ed-visits-per-child-year-ccc", "--data", str(CASES)]) == 2
    assert "proportion" in capsys.readouterr().err

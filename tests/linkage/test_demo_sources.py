"""`pedqm demo --sources`: practice scores with and without the other places of care."""

from __future__ import annotations

from pathlib import Path

import pytest

from pedqm.cli import main
from pedqm.cli.demo_sources import run_sources_demo
from pedqm.measure import MeasurePackage

LIBRARY = Path(__file__).resolve().parents[2] / "measure_library"


def test_demo_shows_practice_scores_with_and_without_other_sources(capsys: pytest.CaptureFixture[str]) -> None:
    packages = {m: MeasurePackage.load(LIBRARY / m) for m in ("sdoh-referral-closed-loop", "lead-screening")}
    assert run_sources_demo(packages, "all", patients=400) == 0
    out = capsys.readouterr().out
    assert "score: practice data" in out and "score: all sources" in out
    closed = out.split("sdoh-referral-closed-loop, group closed-loop")[1].split("lead-screening")[0]
    total = next(line for line in closed.splitlines() if "All practices" in line)
    cells = [c.strip() for c in total.split("│") if c.strip()]
    # closing the loop is only in the food bank's data: 0 from the practice's alone, more with it
    assert cells[2] == "0.000" and float(cells[4]) > 0 and cells[1] == cells[3]
    lead = out.split("lead-screening")[1]
    assert "+0.000" in next(line for line in lead.splitlines() if "All practices" in line)  # no lead tests elsewhere
    assert "State Medicaid Program" not in out  # payers are not practices


def test_demo_sources_bad_list_is_usage_error() -> None:
    assert main(["demo", "--sources", "practice,dentist"]) == 2

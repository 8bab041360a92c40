"""One synthetic population and one `pedqm vet` run shared by the end-to-end and browser tests."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from pedqm.cli import main

from .population import DEFAULT_PRACTICES, write_population

MEASURE = Path(__file__).parent / "fixtures" / "bmi_measure"


@dataclass
class VetRun:
    data: Path
    html: Path
    json_path: Path
    exit_code: int

    @property
    def result(self) -> dict[str, Any]:
        return json.loads(self.json_path.read_text(encoding="utf-8"))


@pytest.fixture(scope="session")
def population_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_population(tmp_path_factory.mktemp("vetpop"), DEFAULT_PRACTICES)


@pytest.fixture(scope="session")
def vet_run(population_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> VetRun:
    out = tmp_path_factory.mktemp("vetout")
    html, js = out / "report.html", out / "report.json"
    code = main(["vet", str(MEASURE), "--data", str(population_dir), "--output", str(html), "--json", str(js)])
    return VetRun(population_dir, html, js, code)

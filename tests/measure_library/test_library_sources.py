"""The library measures that need several places of care (sdoh-referral-closed-loop,
asthma-urgent-visit-followup) have enough cases and ship their value sets with a source in their
README; their cases run in test_cases.py with every library measure."""

from __future__ import annotations

import functools
import json
import re
from pathlib import Path

import pytest

from pedqm.measure.package import MeasurePackage

LIBRARY = Path(__file__).resolve().parents[2] / "measure_library"
MEASURES = ["sdoh-referral-closed-loop", "asthma-urgent-visit-followup"]
CASES = [(m, d.name) for m in MEASURES for d in sorted((LIBRARY / m / "cases").iterdir()) if d.is_dir()]


@functools.cache
def _package(measure_id: str) -> MeasurePackage:
    return MeasurePackage.load(LIBRARY / measure_id)


@pytest.mark.parametrize("measure_id", MEASURES)
def test_measure_has_cases_value_sets_and_sources(measure_id: str) -> None:
    assert sum(1 for m, _ in CASES if m == measure_id) >= 10
    package = _package(measure_id)
    assert package.measure.url == f"http://pedqm.org/fhir/Measure/{measure_id}"
    cql = package.cql[package.main_library_key]
    declared = re.findall(r"^valueset\s+\"[^\"]+\":\s+'([^']+)'", cql, re.MULTILINE)
    files = {json.loads(f.read_text())["url"]: json.loads(f.read_text()) for f in (LIBRARY / measure_id / "valuesets").glob("*.json")}
    for url in declared:
        assert files[url]["expansion"]["contains"], url
    readme = (LIBRARY / measure_id / "README.md").read_text()
    for url in declared:
        assert url.rsplit("/", 1)[1] in readme, f"{url} has no source in the README"

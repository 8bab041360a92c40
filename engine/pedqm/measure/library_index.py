"""Measures shipped in `measure_library/`, found by id (used by `pedqm evaluate <id>`, `pedqm list`)."""

from __future__ import annotations

import os
from pathlib import Path


def library_root() -> Path | None:
    """`$PEDQM_MEASURE_LIBRARY`, else the repository's measure_library/ beside the package."""
    env = os.environ.get("PEDQM_MEASURE_LIBRARY")
    if env:
        return Path(env)
    here = Path(__file__).resolve()
    for parent in here.parents:
        candidate = parent / "measure_library"
        if candidate.is_dir():
            return candidate
    return None


def measure_dirs() -> list[Path]:
    root = library_root()
    if root is None:
        return []
    return sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(("_", ".")) and (p / "measure.json").is_file())


def find_measure(measure_id: str) -> Path | None:
    for d in measure_dirs():
        if d.name == measure_id:
            return d
    return None


def population_root() -> Path | None:
    """`$PEDQM_POPULATION`, else the repository's synthetic population (fhir_fixtures/population)."""
    env = os.environ.get("PEDQM_POPULATION")
    if env:
        return Path(env)
    root = library_root()
    if root is not None and (root.parent / "fhir_fixtures" / "population").is_dir():
        return root.parent / "fhir_fixtures" / "population"
    return None

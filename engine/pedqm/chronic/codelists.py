"""The packaged code lists (``data/``, provenance in ``data/SOURCES.md``), loaded once per process.

Lookups are exact on (ICD version, kind, compact code), as the published algorithms' reference
implementations match: the lists already enumerate every descendant code they include.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import cache
from importlib import resources

from .codes import CodeKey

CCC_VERSIONS = ("2.0", "2.1", "3.0", "3.1")


class CodeListError(RuntimeError):
    """A packaged code list is missing or malformed (a broken installation, not bad input)."""


@dataclass(frozen=True, slots=True)
class CccEntry:
    """One row of the CCC list: a code's category, subcategory and its two special flags."""

    condition: str  # neuromusc, cvd, ..., or misc (tech/transplant codes of no organ system)
    subcondition: str
    tech_dep: bool
    transplant: bool


@dataclass(frozen=True, slots=True)
class PmcaEntry:
    body_system: str  # as published, e.g. "pulmonary/respiratory"
    progressive: bool


def _rows(name: str) -> list[dict[str, str]]:
    try:
        text = resources.files("pedqm.chronic").joinpath("data", name).read_text(encoding="utf-8")
    except (FileNotFoundError, OSError) as exc:
        raise CodeListError(f"code list {name} is missing from the pedqm installation: {exc}") from exc
    return list(csv.DictReader(text.splitlines()))


@cache
def ccc_table(version: str) -> dict[CodeKey, tuple[CccEntry, ...]]:
    """Code -> its CCC rows (a code may sit in several categories) for one CCC version."""
    if version not in CCC_VERSIONS:
        raise ValueError(f"unknown CCC version {version!r}; known: {', '.join(CCC_VERSIONS)}")
    table: dict[CodeKey, tuple[CccEntry, ...]] = {}
    try:
        for r in _rows("ccc_codes.csv"):
            if r[f"v{version}"] != "1":
                continue
            key: CodeKey = (int(r["icdv"]), "dx" if r["kind"] == "dx" else "pr", r["code"])
            entry = CccEntry(r["condition"], r["subcondition"], r["tech_dep"] == "1", r["transplant"] == "1")
            if entry not in table.get(key, ()):
                table[key] = table.get(key, ()) + (entry,)
    except (KeyError, ValueError) as exc:
        raise CodeListError(f"ccc_codes.csv is malformed: {exc}") from exc
    return table


@cache
def ccc_labels() -> dict[str, str]:
    """CCC category -> its published label (``gi`` -> ``Gastrointestinal``), for explanations."""
    return {r["condition"]: r["condition_label"] for r in _rows("ccc_conditions.csv")}


@cache
def pmca_table() -> dict[tuple[int, str], PmcaEntry]:
    """(ICD version, compact diagnosis code) -> PMCA body system and progressive flag."""
    try:
        return {(int(r["icdv"]), r["code"]): PmcaEntry(r["body_system"], r["progressive"] == "1")
                for r in _rows("pmca_codes.csv")}
    except (KeyError, ValueError) as exc:
        raise CodeListError(f"pmca_codes.csv is malformed: {exc}") from exc


@cache
def ccir_table() -> dict[str, int]:
    """Compact ICD-10-CM code -> CCIR indicator (1 chronic, 0 not chronic, 9 no determination)."""
    try:
        return {r["code"]: int(r["chronic_indicator"]) for r in _rows("ccir_codes.csv")}
    except (KeyError, ValueError) as exc:
        raise CodeListError(f"ccir_codes.csv is malformed: {exc}") from exc

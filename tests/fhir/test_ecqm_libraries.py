"""Every CQL library in the published eCQM packages resolves all its retrieves and types, each
within its own package (a package is one unit: its libraries include each other by name, and an
include that asks for a version the package does not carry takes the package's one version)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from pedqm.cql import LibraryManager
from pedqm.measure import MeasurePackage

ECQM_DIR = Path(__file__).resolve().parents[2].parent / "shared" / "ecqm"


def _libraries() -> list[tuple[str, str, str | None]]:
    """(deck, library name, version), each distinct library text once."""
    seen: set[str] = set()
    out = []
    for bundle in sorted(ECQM_DIR.glob("*/measure-bundle.json")):
        pkg = MeasurePackage.load(bundle)
        for (name, version), text in sorted(pkg.cql.items(), key=lambda kv: (kv[0][0], kv[0][1] or "")):
            digest = hashlib.sha256(text.encode()).hexdigest()
            if digest not in seen:
                seen.add(digest)
                out.append((bundle.parent.name, name, version))
    return out


LIBRARIES = _libraries() if ECQM_DIR.is_dir() else []
_PACKAGES: dict[str, MeasurePackage] = {}


@pytest.mark.skipif(not LIBRARIES, reason="../shared/ecqm not present")
@pytest.mark.parametrize("deck,name,version", LIBRARIES, ids=[f"{n}-{v}" for _, n, v in LIBRARIES])
def test_library_resolves_with_zero_errors(deck: str, name: str, version: str | None) -> None:
    pkg = _PACKAGES.setdefault(deck, MeasurePackage.load(ECQM_DIR / deck / "measure-bundle.json"))
    lib = LibraryManager(pkg.lookup, strict_versions=False).compile(pkg.cql[(name, version)], name)
    assert lib.name == name

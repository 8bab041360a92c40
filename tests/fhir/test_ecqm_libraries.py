"""Every CQL library in the published eCQM packages resolves all its retrieves and types."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from pedqm.cql import LibraryManager

ECQM_DIR = Path(__file__).resolve().parents[2].parent / "shared" / "ecqm"


def _sources() -> dict[tuple[str, str | None], str]:
    out: dict[tuple[str, str | None], str] = {}
    for bundle in sorted(ECQM_DIR.glob("*/measure-bundle.json")):
        for entry in json.loads(bundle.read_text())["entry"]:
            res = entry["resource"]
            if res["resourceType"] != "Library":
                continue
            for content in res.get("content", []):
                if content.get("contentType") == "text/cql":
                    out[(res["name"], res.get("version"))] = base64.b64decode(content["data"]).decode()
    return out


SOURCES = _sources() if ECQM_DIR.is_dir() else {}


def _lookup(name: str, version: str | None) -> tuple[str, str] | None:
    for (n, v), text in SOURCES.items():
        if n == name and (version is None or v == version):
            return text, n
    return None


@pytest.mark.skipif(not SOURCES, reason="../shared/ecqm not present")
@pytest.mark.parametrize("key", sorted(SOURCES), ids=lambda k: f"{k[0]}-{k[1]}")
def test_library_resolves_with_zero_errors(key: tuple[str, str | None]) -> None:
    lib = LibraryManager(_lookup).compile(SOURCES[key], key[0])
    assert lib.name == key[0]

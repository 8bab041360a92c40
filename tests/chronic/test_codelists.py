"""The packaged code lists are what SOURCES.md says: rebuilt from ../shared/ccc byte for byte,
with the recorded checksums, and consistent with the official CCC v3 eTable 2."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path

import pytest

from pedqm.chronic.codelist_build import DATA_DIR, build_all, sha256
from pedqm.chronic.codelists import ccc_table, ccir_table, pmca_table

SHARED = Path(__file__).resolve().parents[2].parent / "shared" / "ccc"
needs_shared = pytest.mark.skipif(not SHARED.is_dir(), reason="../shared/ccc is not beside the repository")
SOURCES_MD = (DATA_DIR / "SOURCES.md").read_text(encoding="utf-8")


def test_packaged_checksums_match_sources_md() -> None:
    for name in ("ccc_codes.csv", "ccc_conditions.csv", "pmca_codes.csv", "ccir_codes.csv"):
        digest = sha256((DATA_DIR / name).read_bytes())
        assert f"| `{name}` |" in SOURCES_MD and digest in SOURCES_MD, name


@needs_shared
def test_rebuilding_from_the_sources_gives_the_packaged_files() -> None:
    for name, text in build_all(SHARED).items():
        assert (DATA_DIR / name).read_bytes() == text.encode("utf-8"), name


@needs_shared
def test_source_checksums_match_sources_md() -> None:
    for name in ("ccc_codes.csv", "ccc_conditions.csv", "pmca_icd10_codes.csv", "pmca_icd9_codes.csv",
                 "ahrq_ccir_v2023_1.csv", "ccc_v3_etable2.xlsx"):
        assert sha256((SHARED / name).read_bytes()) in SOURCES_MD, name


def _xlsx_rows(path: Path, sheet: str) -> list[dict[str, str]]:
    """The rows of one worksheet, keyed by the header row (a tiny reader: stdlib only)."""
    ns = {"m": "http://schemas.openxmlformats.org/spreadsheetml/2006/main"}
    with zipfile.ZipFile(path) as z:
        strings = ["".join(t.text or "" for t in si.iter(f"{{{ns['m']}}}t"))
                   for si in ET.fromstring(z.read("xl/sharedStrings.xml")).findall("m:si", ns)]
        root = ET.fromstring(z.read(sheet))
    table = []
    for row in root.iter(f"{{{ns['m']}}}row"):
        cells = {}
        for c in row.findall("m:c", ns):
            v = c.find("m:v", ns)
            col = re.match(r"[A-Z]+", c.get("r", "")).group()  # type: ignore[union-attr]
            cells[col] = "" if v is None else strings[int(v.text or 0)] if c.get("t") == "s" else (v.text or "")
        table.append(cells)
    header = table[0]
    return [{header[k]: v for k, v in r.items() if k in header} for r in table[1:]]


@needs_shared
def test_ccc_v3_matches_the_official_etable2() -> None:
    rows = _xlsx_rows(SHARED / "ccc_v3_etable2.xlsx", "xl/worksheets/sheet2.xml")
    assert len(rows) == 6815
    official: dict[tuple[int, str, str], set[tuple[bool, bool]]] = {}
    for r in rows:
        key = (9 if r["ICD9_ICD10"] == "9" else 10, "dx" if r["DX_PR"] == "DX" else "pr", r["ICD_Code"].replace(".", "").strip().upper())
        official.setdefault(key, set()).add((r["Tech_Dep"] == "1", r["Transplant"] == "1"))
    ours = ccc_table("3.0")
    assert set(official) == set(ours)
    assert all(official[k] == {(e.tech_dep, e.transplant) for e in ours[k]} for k in official)


def test_tables_load_with_expected_sizes() -> None:
    assert len(ccc_table("2.0")) > 6000 and len(ccc_table("3.0")) == 6559
    assert len(pmca_table()) == 14662
    assert len(ccir_table()) == 74549


def test_unknown_ccc_version_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="unknown CCC version"):
        ccc_table("4.0")

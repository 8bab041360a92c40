"""Rebuild the packaged code lists in ``data/`` from the published sources (a developer tool).

The product reads only ``data/``; this module records, as code, exactly how those files were
derived, so ``SOURCES.md`` can be checked (``tests/chronic/test_codelists.py`` rebuilds and
compares byte for byte when ``../shared/ccc`` is present).

Usage: python -m pedqm.chronic.codelist_build SOURCE_DIR [OUT_DIR]
(SOURCE_DIR is the folder holding ccc_codes.csv, pmca_icd*_codes.csv, ahrq_ccir_v2023_1.csv.)
"""

from __future__ import annotations

import csv
import hashlib
import io
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path

DATA_DIR = Path(__file__).with_name("data")
SOURCES = ("ccc_codes.csv", "ccc_conditions.csv", "pmca_icd10_codes.csv", "pmca_icd9_codes.csv", "ahrq_ccir_v2023_1.csv")


def _compact(code: str) -> str:
    return code.replace(".", "").strip().upper()


def _csv_text(header: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(header)
    w.writerows(rows)
    return buf.getvalue()


def _read(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def build_ccc(src: Path) -> str:
    """CCC rows without the dotted code: the compact code and dx/pr already key each row."""
    rows = []
    for r in _read(src / "ccc_codes.csv"):
        rows.append((r["icdv"], "dx" if r["dx"] == "1" else "pr", r["code"], r["condition"], r["subcondition"],
                     r["tech_dep_flag"], r["transplant_flag"], r["pccc_v2.0"], r["pccc_v2.1"], r["pccc_v3.0"], r["pccc_v3.1"]))
    header = ("icdv", "kind", "code", "condition", "subcondition", "tech_dep", "transplant", "v2.0", "v2.1", "v3.0", "v3.1")
    return _csv_text(header, rows)


def build_pmca(src: Path) -> str:
    """PMCA body system and progressive flag per diagnosis code, ICD-10 then ICD-9.

    The compact code is derived from the dotted ``dx`` column: the source's ``dx_nodecimal`` lost
    ICD-9 leading zeros (``010.0`` became ``100``), which would collide with other codes.
    """
    rows = []
    for version, name in ((10, "pmca_icd10_codes.csv"), (9, "pmca_icd9_codes.csv")):
        for r in _read(src / name):
            rows.append((str(version), _compact(r["dx"]), r["body_system"], "1" if r["progressive"] == "yes" else "0"))
    return _csv_text(("icdv", "code", "body_system", "progressive"), rows)


def build_ccir(src: Path) -> str:
    """CCIR chronic indicator per ICD-10-CM code (1 chronic, 0 not, 9 no determination)."""
    rows = ((_compact(r["icd10cm"]), r["chronic_indicator"]) for r in _read(src / "ahrq_ccir_v2023_1.csv"))
    return _csv_text(("code", "chronic_indicator"), rows)


def build_all(src: Path) -> dict[str, str]:
    """File name -> text of every packaged code list."""
    conditions = (src / "ccc_conditions.csv").read_text(encoding="utf-8")
    return {
        "ccc_codes.csv": build_ccc(src),
        "ccc_conditions.csv": conditions,
        "pmca_codes.csv": build_pmca(src),
        "ccir_codes.csv": build_ccir(src),
    }


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or len(args) > 2:
        print(__doc__, file=sys.stderr)
        return 2
    src, out = Path(args[0]), Path(args[1]) if len(args) == 2 else DATA_DIR
    missing = [n for n in SOURCES if not (src / n).is_file()]
    if missing:
        print(f"codelist_build: missing in {src}: {', '.join(missing)}", file=sys.stderr)
        return 2
    for n in SOURCES:
        print(f"source  {n}  sha256 {sha256((src / n).read_bytes())}")
    out.mkdir(parents=True, exist_ok=True)
    for name, text in build_all(src).items():
        (out / name).write_text(text, encoding="utf-8", newline="")
        print(f"wrote   {name}  sha256 {sha256(text.encode('utf-8'))}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())

"""A child with no ICD-coded data (Synthea codes conditions only in SNOMED CT) is unknown in every
output: CSV cells read "unknown", JSON flags are null, the stratum is no_icd_data, and the
ChronicConditions CQL library answers null, never 0, non_chronic or false."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from pedqm.chronic import ALGORITHMS, NO_ICD_DATA, classify_record, columns
from pedqm.cli import main
from pedqm.cql import compile_library, evaluate
from pedqm.fhir.evaluation import patient_context
from pedqm.fhir.records import PatientRecord

from .builders import ICD10CM, SNOMED, condition, record

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "fhir_fixtures" / "chronic"
ICD_SYSTEMS = ("icd-10", "icd-9", "icd10", "icd9")


def _patients_without_icd_codings() -> set[str]:
    """Read straight from the fixture JSON: patients none of whose codings is an ICD system."""
    out = set()
    for f in FIXTURES.glob("*.json"):
        text = json.dumps(json.loads(f.read_text(encoding="utf-8")))
        if not any(s in text.lower() for s in ICD_SYSTEMS):
            out.add(f.stem)
    return out


@pytest.mark.parametrize("algorithm", sorted(ALGORITHMS))
def test_csv_says_unknown_for_children_without_icd_data(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                        algorithm: str) -> None:
    out = tmp_path / "flags.csv"
    assert main(["chronic", "--data", str(FIXTURES), "-a", algorithm, "--as-of", "2025-12-31", "--output", str(out)]) == 0
    capsys.readouterr()
    rows = {r["patient_id"]: r for r in csv.DictReader(out.open(newline=""))}
    no_icd = _patients_without_icd_codings()
    assert "no-icd-snomed-only" in no_icd
    for pid in no_icd:
        assert {rows[pid][c] for c in columns(algorithm)[1:]} == {"unknown"}, pid
    for pid, row in rows.items():  # and "unknown" never stands where ICD data was used
        if classify_record(_load(pid), algorithm, as_of="2025-12-31").has_icd_data:
            assert "unknown" not in row.values(), pid


def _load(pid: str) -> PatientRecord:
    from pedqm.fhir.sources import open_source

    return next(r for r in open_source(str(FIXTURES / f"{pid}.json")).patients())


def test_json_flags_are_null_and_say_why(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "flags.ndjson"
    assert main(["chronic", "--data", str(FIXTURES), "-a", "pmca", "--as-of", "2025-12-31", "--output", str(out)]) == 0
    capsys.readouterr()
    rows = {d["patient_id"]: d for d in map(json.loads, out.read_text().splitlines())}
    snomed = rows["no-icd-snomed-only"]
    assert set(snomed["flags"].values()) == {None} and snomed["known"] is False
    assert snomed["stratum"] == NO_ICD_DATA
    assert "SNOMED CT" in snomed["unknown_reason"] and "map" in snomed["unknown_reason"]
    known = rows["ccc-cp-gtube"]
    assert known["known"] is True and known["unknown_reason"] is None and known["flags"]["pmca_more"] == "complex_chronic"


def test_explain_gives_the_reason_for_every_unknown_column() -> None:
    result = classify_record(record(condition("a", (SNOMED, "195967001"))), "ccc-v3", as_of="2025-12-31")
    for column in columns("ccc-v3")[1:]:
        (e,) = result.explain(column)
        assert e.value == "unknown" and "SNOMED CT" in e.rule
    assert "every flag = unknown" in result.explain_text()


CQL = """
library UsesChronicUnknown version '1.0.0'
using QICore version '4.1.1'
include ChronicConditions version '1.0.0' called CC
parameter "Measurement Period" Interval<DateTime>
context Patient
define "CCC": CC."Has Complex Chronic Condition"
define "Categories": CC."Complex Chronic Condition Categories"
define "PMCA": CC."PMCA Class"
define "Chronic PMCA": CC."Has Chronic Condition (PMCA)"
define "Complex PMCA": CC."Has Complex Chronic Disease (PMCA)"
define "Count": CC."Chronic Condition Count"
"""


def _cql_answers(rec: PatientRecord) -> dict[str, object]:
    lib = compile_library(CQL)
    period = evaluate("Interval[@2025-01-01T00:00:00.000Z, @2025-12-31T23:59:59.999Z]")
    ctx = patient_context(lib, rec, parameters={"Measurement Period": period})
    return {name: lib.evaluate(name, ctx) for name in ("CCC", "Categories", "PMCA", "Chronic PMCA", "Complex PMCA", "Count")}


def test_cql_answers_null_not_false_without_icd_data() -> None:
    snomed_only = record(condition("a", (SNOMED, "195967001"), onset="2025-03-01"))
    assert _cql_answers(snomed_only) == dict.fromkeys(("CCC", "Categories", "PMCA", "Chronic PMCA", "Complex PMCA", "Count"))
    healthy = record(condition("b", (ICD10CM, "J06.9"), onset="2025-03-01"))  # ICD data, nothing chronic
    assert _cql_answers(healthy) == {"CCC": False, "Categories": [], "PMCA": "non_chronic", "Chronic PMCA": False,
                                     "Complex PMCA": False, "Count": 0}

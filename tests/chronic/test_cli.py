"""`pedqm chronic` on the fixture patients in fhir_fixtures/chronic (one Bundle per patient, named
for what it shows; see fhir_fixtures/README.md). The golden CSVs in tests/chronic/golden were
checked by hand against what each fixture is meant to show."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from pedqm.chronic import columns
from pedqm.cli import main
from pedqm.fhir.records import PatientRecord
from pedqm.fhir.sources import DataSourceError

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "fhir_fixtures" / "chronic"
GOLDEN = Path(__file__).with_name("golden")


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(["chronic", "--data", str(FIXTURES), *argv])
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return code, out, err


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as f:
        return list(csv.DictReader(f))


@pytest.mark.parametrize(("algorithm", "extra", "golden"), [
    ("ccc-v2", ["--as-of", "2025-12-31"], "ccc-v2.csv"),
    ("ccc-v2", [], "ccc-v2-all-dates.csv"),
    ("ccc-v3", ["--as-of", "2025-12-31"], "ccc-v3.csv"),
    ("pmca", ["--as-of", "2025-12-31"], "pmca.csv"),
    ("ccir", ["--as-of", "2025-12-31", "--lookback-years", "3"], "ccir.csv"),
])
def test_csv_output_matches_golden(tmp_path: Path, capsys: pytest.CaptureFixture[str], algorithm: str,
                                   extra: list[str], golden: str) -> None:
    out_file = tmp_path / "out.csv"
    code, out, err = run(capsys, "--algorithm", algorithm, *extra, "--output", str(out_file))
    assert code == 0 and out == ""
    assert "8 patients" in err and f"wrote {out_file}" in err
    rows = read_csv(out_file)
    assert list(rows[0]) == list(columns(algorithm))
    assert sorted(rows, key=lambda r: r["patient_id"]) == sorted(read_csv(GOLDEN / golden), key=lambda r: r["patient_id"])


def test_golden_rows_say_what_the_fixtures_are_for() -> None:
    v3 = {r["patient_id"]: r for r in read_csv(GOLDEN / "ccc-v3.csv")}
    assert (v3["ccc-cp-gtube"]["gi_tech_only"], v3["ccc-cp-gtube"]["neuromusc_dxpr_only"]) == ("1", "1")
    assert v3["ccc-v3-tech-only-gtube-procedure"]["ccc_flag"] == "0"
    assert (v3["claims-down-syndrome"]["cvd"], v3["claims-down-syndrome"]["congeni_genetic"]) == ("1", "1")
    pmca = {r["patient_id"]: r for r in read_csv(GOLDEN / "pmca.csv")}
    two = pmca["pmca-asthma-two-visits-adhd-once"]
    assert (two["pmca_less"], two["pmca_more"]) == ("complex_chronic", "noncomplex_chronic")
    assert pmca["claims-down-syndrome"]["pmca_more"] == "non_chronic"  # Claim + EOB: one encounter
    all_dates = {r["patient_id"]: r for r in read_csv(GOLDEN / "ccc-v2-all-dates.csv")}
    assert all_dates["old-malignancy-outside-window"]["malignancy"] == "1"
    assert all_dates["icd9-5641-procedure-and-diagnosis"]["renal"] == "1"


def test_terminal_table_and_summary(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "-a", "ccc-v3", "--as-of", "2025-12-31")
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split() == ["patient_id", "ccc_flag", "num_ccc", "flagged", "data"]
    cp = next(line for line in lines if line.startswith("ccc-cp-gtube"))
    assert "neuromusc (dxpr_only), gi (tech_only), tech_dep" in cp
    assert "no ICD data (1 SNOMED-only)" in next(line for line in lines if line.startswith("no-icd-snomed-only"))
    assert "ccc 2, no_ccc 4, no_icd_data 2" in err and "SNOMED CT" in err


def test_explain_names_rule_codes_resources_and_dates(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "-a", "ccc-v3", "--as-of", "2025-12-31", "--explain")
    assert code == 0
    block = out.split("patient ccc-cp-gtube ")[1].split("\npatient ")[0]
    assert "gi_tech_only = 1: technology-dependence code(s) of this category only" in block
    assert "Z93.1 (ICD-10-CM diagnosis) in Condition/cond-gtube [Condition.code], 2024-05-01" in block
    assert "G80.0 (ICD-10-CM diagnosis) in Condition/cond-cp" in block and "Encounter/enc-cp-2" in block
    refuted = out.split("patient refuted-cf-asthma ")[1].split("\npatient ")[0]
    assert "skipped: 1 Condition entered-in-error; 1 Condition refuted" in refuted


def test_explain_with_csv_output_goes_to_stdout(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "-a", "pmca", "--as-of", "2025-12-31", "--explain", "--output", str(tmp_path / "x.csv"))
    assert code == 0 and "pmca_more = noncomplex_chronic: one body system on two or more encounters" in out


def test_ndjson_output_carries_explanations(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out_file = tmp_path / "out.ndjson"
    assert run(capsys, "-a", "ccc-v3", "--output", str(out_file))[0] == 0
    results = {r["patient_id"]: r for r in map(json.loads, out_file.read_text().splitlines())}
    cp = results["ccc-cp-gtube"]
    assert cp["flags"]["gi_tech_only"] == 1 and cp["stratum"] == "ccc"
    [why] = [e for e in cp["explanations"] if e["flag"] == "gi_tech_only"]
    assert why["evidence"][0]["resource"] == "Condition/cond-gtube" and why["evidence"][0]["date"] == "2024-05-01"
    assert results["no-icd-snomed-only"]["data"]["snomed_only_conditions"] == 1


def test_csv_to_stdout_with_data_counts(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "-a", "ccir", "--output", "-", "--data-counts")
    assert code == 0
    rows = {r["patient_id"]: r for r in csv.DictReader(out.splitlines())}
    assert (rows["no-icd-snomed-only"]["icd_codes"], rows["no-icd-snomed-only"]["snomed_only_conditions"]) == ("0", "1")


@pytest.mark.parametrize(("argv", "message"), [
    (["-a", "ccc-v3", "--as-of", "31/12/2025"], "YYYY-MM-DD"),
    (["-a", "ccc-v3", "--lookback-years", "2"], "needs an as-of date"),
    (["-a", "ccc-v3", "--as-of", "2025-12-31", "--lookback-years", "0"], "at least one year"),
    (["-a", "ccc-v3", "--output", "/no/such/dir/out.csv"], "cannot write"),
])
def test_usage_errors_exit_2(capsys: pytest.CaptureFixture[str], argv: list[str], message: str) -> None:
    code, _, err = run(capsys, *argv)
    assert code == 2 and message in err


def test_unknown_algorithm_and_missing_data_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["chronic", "--data", str(FIXTURES), "-a", "ccc-v9"]) == 2  # argparse's message, no SystemExit
    assert main(["chronic", "--data", "/no/such/place", "-a", "ccc-v3"]) == 2
    assert "no such file or directory" in capsys.readouterr().err


def test_data_source_failure_exits_3(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    class Broken:
        description = "broken"
        issues: list[object] = []

        def patients(self):  # type: ignore[no-untyped-def]
            yield PatientRecord("p1")
            raise DataSourceError("server went away", url="https://fhir.example/Patient", status=503)

    monkeypatch.setattr("pedqm.cli.chronic_command.open_patients", lambda args: Broken())
    code, _, err = run(capsys, "-a", "ccc-v3")
    assert code == 3 and "server went away" in err and "503" in err

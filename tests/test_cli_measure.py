"""`pedqm evaluate`, `pedqm test`, `pedqm list` and `pedqm cql --data` as a user runs them."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from pedqm.cli import main

FIXTURE = Path(__file__).parent / "measure" / "fixtures" / "boundary"
ECQM = Path(__file__).resolve().parents[1].parent / "shared" / "ecqm"


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def _data_dir(tmp_path: Path) -> Path:
    data = tmp_path / "data"
    data.mkdir()
    patients = [("a", "2015-01-01", "2025-03-01T10:00:00Z"), ("b", "2016-01-01", "2024-03-01T10:00:00Z")]
    for pid, birth, start in patients:
        bundle = {"resourceType": "Bundle", "type": "collection", "entry": [
            {"resource": {"resourceType": "Patient", "id": pid, "birthDate": birth, "gender": "female"}},
            {"resource": {"resourceType": "Encounter", "id": f"{pid}-e", "status": "finished",
                          "type": [{"coding": [{"system": "http://www.ama-assn.org/go/cpt", "code": "99213"}]}],
                          "subject": {"reference": f"Patient/{pid}"},
                          "period": {"start": start, "end": start.replace("10:00", "10:30")}}},
        ]}
        (data / f"{pid}.json").write_text(json.dumps(bundle))
    return data


def test_evaluate_summary_json_and_individual_bundle(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = _data_dir(tmp_path)
    code, out, err = run(capsys, "evaluate", str(FIXTURE), "--data", str(data), "--format", "json", "--no-progress")
    assert code == 0, err
    report = json.loads(out)
    assert report["type"] == "summary"
    counts = {p["code"]["coding"][0]["code"]: p["count"] for p in report["group"][0]["population"]}
    assert counts["initial-population"] == 1
    out_file = tmp_path / "individual.json"
    code, _, err = run(capsys, "evaluate", str(FIXTURE), "--data", str(data), "--report-type", "individual",
                       "--output", str(out_file), "--no-progress")
    assert code == 0 and "wrote" in err
    bundle = json.loads(out_file.read_text())
    assert bundle["type"] == "collection" and len(bundle["entry"]) == 2


def test_evaluate_period_option_and_table(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = _data_dir(tmp_path)
    code, out, _ = run(capsys, "evaluate", str(FIXTURE), "--data", str(data), "--period", "2024-01-01", "2024-12-31",
                       "--format", "table", "--no-progress")
    assert code == 0 and "initial-population" in out and "2 patients" in out


def test_evaluate_csv_rows_per_subject(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = _data_dir(tmp_path)
    code, out, _ = run(capsys, "evaluate", str(FIXTURE), "--data", str(data), "--format", "csv", "--no-progress")
    assert code == 0
    assert out.splitlines()[0].startswith("subject_id") and len(out.strip().splitlines()) >= 3


def test_evaluate_bad_inputs_are_clear(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "evaluate", str(tmp_path / "nope"), "--data", str(tmp_path))
    assert code == 2 and "nope" in err and "Traceback" not in err
    code, _, err = run(capsys, "evaluate", str(FIXTURE), "--data", str(tmp_path / "missing"))
    assert code == 2 and "missing" in err


def test_test_command_passes_and_fails(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    if not ECQM.is_dir():
        pytest.skip("../shared/ecqm not present")
    measure = next(ECQM.glob("CMS75*"))
    code, out, _ = run(capsys, "test", str(measure / "measure-bundle.json"), "--cases", str(measure / "cases"))
    assert code == 0 and "20 passed, 0 failed" in out
    # a case whose expected report is wrong is reported with expected vs actual, and exit 1
    cases = tmp_path / "cases"
    shutil.copytree(next(p for p in (measure / "cases").iterdir() if p.is_dir()), cases / "one")
    mr_file = next((cases / "one").glob("MeasureReport*.json"))
    mr = json.loads(mr_file.read_text())
    mr["group"][0]["population"][0]["count"] = 1 - mr["group"][0]["population"][0]["count"]
    mr_file.write_text(json.dumps(mr))
    code, out, _ = run(capsys, "test", str(measure / "measure-bundle.json"), "--cases", str(cases), "--json")
    result = json.loads(out)
    assert code == 1 and result["summary"] == {"failed": 1}
    assert result["cases"][0]["mismatches"][0]["population"] == "initial-population"


def test_cql_per_patient_over_data(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = _data_dir(tmp_path)
    lib = tmp_path / "Ages.cql"
    lib.write_text("library Ages using QICore version '4.1.1'\ncontext Patient\ndefine Age: AgeInYearsAt(@2025-12-31)\n"
                   "define Visits: [Encounter] E return E.id\n")
    code, out, err = run(capsys, "cql", "--file", str(lib), "--data", str(data))
    assert code == 0, err
    assert "Patient/a\n  Age: 10\n  Visits: {'a-e'}" in out


@pytest.mark.skipif(not (ECQM / "q25-CMS832-CMS832HHAKIFHIR").is_dir(), reason="../shared/ecqm not present")
def test_a_package_include_of_another_version_is_substituted_and_said(capsys: pytest.CaptureFixture[str],
                                                                      tmp_path: Path) -> None:
    """q25-CMS832: CumulativeMedicationDuration asks for QICoreCommon '3.0.000', the package
    carries only 4.0.000 (assembled from several releases); the package's version is used and
    the user is told, instead of the measure failing to compile."""
    deck = ECQM / "q25-CMS832-CMS832HHAKIFHIR"
    cases = tmp_path / "cases"
    cases.mkdir()
    first = sorted(p for p in (deck / "cases").iterdir() if p.is_dir())[0]
    shutil.copytree(first, cases / first.name)
    code, out, err = run(capsys, "test", str(deck / "measure-bundle.json"), "--cases", str(cases))
    assert code == 0, out + err
    assert "QICoreCommon version '3.0.000'; the only version available, '4.0.000', is used" in err


def test_evaluate_csv_conventions(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """CSV (issue 15): booleans `true`/`false`, an `error` column on every run, and an errored
    patient's populations empty (unknown), never `false`; the column set does not depend on
    whether someone errored."""
    import csv
    import io

    data = _data_dir(tmp_path)
    code, clean, _ = run(capsys, "evaluate", str(FIXTURE), "--data", str(data), "--format", "csv", "--no-progress")
    assert code == 0
    rows = list(csv.DictReader(io.StringIO(clean)))
    assert rows and "error" in rows[0] and all(r["error"] == "" for r in rows)
    populations = [c for c in rows[0] if c not in ("subject_id", "episode", "error") and "stratum:" not in c]
    assert populations and all(r[c] in ("true", "false") for r in rows for c in populations)
    # a patient whose birth date cannot be read errors in age-based logic
    bad = json.loads((data / "b.json").read_text())
    bad["entry"][0]["resource"]["birthDate"] = "2016-02-30"
    (data / "b.json").write_text(json.dumps(bad))
    code, out, err = run(capsys, "evaluate", str(FIXTURE), "--data", str(data), "--format", "csv", "--no-progress")
    rows2 = list(csv.DictReader(io.StringIO(out)))
    assert list(rows2[0]) == list(rows[0])
    errored = [r for r in rows2 if r["error"]]
    if errored:  # the record may instead be skipped as malformed: then it is named on stderr
        assert all(r[c] == "" for r in errored for c in populations)
    else:
        assert "b" in err

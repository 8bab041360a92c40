"""`pedqm evaluate` and `pedqm test` on records whose references name a Patient that is not there.

`evaluate` keeps the FHIR Patient-compartment rule (no phantom subject for a missing Patient; its
resources are reported as skipped) and offers `--bundle-per-patient`; `pedqm test` evaluates a
case's every resource as the case's patient and says so.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from pedqm.cli import main

FIXTURE = Path(__file__).parent / "measure" / "fixtures" / "boundary"
LEAD = Path(__file__).resolve().parents[1] / "measure_library" / "lead-screening"


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def _encounter(eid: str, pid: str) -> dict[str, Any]:
    return {"resourceType": "Encounter", "id": eid, "status": "finished",
            "type": [{"coding": [{"system": "http://www.ama-assn.org/go/cpt", "code": "99213"}]}],
            "subject": {"reference": f"Patient/{pid}"},
            "period": {"start": "2025-03-01T10:00:00Z", "end": "2025-03-01T10:30:00Z"}}


def _data(tmp_path: Path) -> Path:
    """Patient a's bundle, whose one encounter names a stale Patient id, and a lone encounter of
    a Patient nobody supplied."""
    data = tmp_path / "data"
    data.mkdir()
    a = {"resourceType": "Patient", "id": "a", "birthDate": "2015-01-01", "gender": "female"}
    bundle = {"resourceType": "Bundle", "type": "collection",
              "entry": [{"resource": a}, {"resource": _encounter("a-e", "Patient-5")}]}
    (data / "a.json").write_text(json.dumps(bundle))
    (data / "ghost-encounter.json").write_text(json.dumps(_encounter("ghost-e", "ghost")))
    return data


def _counts(out: str) -> dict[str, int]:
    report = json.loads(out)
    return {p["code"]["coding"][0]["code"]: p["count"] for p in report["group"][0]["population"]}


def test_evaluate_has_no_phantom_subjects(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "evaluate", str(FIXTURE), "--data", str(_data(tmp_path)), "--format", "json", "--no-progress")
    assert code == 0, err
    assert _counts(out)["initial-population"] == 0
    assert "could not be evaluated" not in err and "Patient context" not in err  # was: ghost and Patient-5, failing on AgeIn
    assert "2 resources skipped (2 no Patient resource)" in err
    assert "Patient/ghost: no Patient resource: 1 resource(s) refer to Patient/ghost, which is not in the data; skipped: Encounter/ghost-e" in err


def test_evaluate_bundle_per_patient(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "evaluate", str(FIXTURE), "--data", str(_data(tmp_path)), "--bundle-per-patient",
                         "--format", "json", "--no-progress")
    assert code == 0, err
    assert _counts(out)["initial-population"] == 1  # a's bundle is a's record, stale reference or not
    assert "1 resource skipped (1 no Patient resource)" in err and "Encounter/ghost-e" in err


def test_bundle_per_patient_is_for_files(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "evaluate", str(FIXTURE), "--data", "https://fhir.example.org/r4", "--bundle-per-patient")
    assert code == 2 and "--bundle-per-patient applies to files of Bundles, not to a server" in err


def test_pedqm_test_evaluates_stray_references_as_the_cases_patient(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cases = tmp_path / "cases"
    shutil.copytree(LEAD / "cases" / "test-at-12-months-met", cases / "test-at-12-months-met")
    lab = cases / "test-at-12-months-met" / "Observation-test-at-12-months-met-lead.json"
    observation = json.loads(lab.read_text())
    observation["subject"] = {"reference": "Patient/Patient-2"}  # as MADiE exports leave it
    lab.write_text(json.dumps(observation))
    code, out, err = run(capsys, "test", str(LEAD), "--cases", str(cases))
    assert code == 0, out + err
    assert "PASS  test-at-12-months-met" in out
    assert "note: 1 resource referenced Patient/Patient-2, evaluated as the case's patient (Patient/test-at-12-months-met)" in out
    code, out, _ = run(capsys, "test", str(LEAD), "--cases", str(cases), "--json")
    assert code == 0 and "referenced Patient/Patient-2" in json.loads(out)["cases"][0]["notes"][0]

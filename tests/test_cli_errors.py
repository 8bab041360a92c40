"""Nothing silent, nothing internal: every user mistake and every bad input gets a clear, located
error with the exit code `pedqm.cli.errors` gives it, the same in every command (never 70).

Exit codes: 1 CQL errors, 2 bad usage or input (found before any work starts), 3 the run failed
(a CQL run-time error, a source that broke off, every patient errored).
"""

from __future__ import annotations

import json
import shutil
import socket
from pathlib import Path
from typing import Any

import pytest

from pedqm.cli import main

FIXTURE = Path(__file__).parent / "measure" / "fixtures" / "boundary"
CPT = "http://www.ama-assn.org/go/cpt"


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    assert "Traceback" not in err and "internal error:" not in err, err  # never exit 70
    return code, out, err


def _bundle(pid: str, birth: str = "2015-01-01", **patient: Any) -> dict[str, Any]:
    start = "2025-03-01T10:00:00Z"
    return {"resourceType": "Bundle", "type": "collection", "entry": [
        {"resource": {"resourceType": "Patient", "id": pid, "birthDate": birth, "gender": "female", **patient}},
        {"resource": {"resourceType": "Encounter", "id": f"{pid}-e", "status": "finished",
                      "type": [{"coding": [{"system": CPT, "code": "99213"}]}],
                      "subject": {"reference": f"Patient/{pid}"},
                      "period": {"start": start, "end": "2025-03-01T10:30:00Z"}}},
    ]}


@pytest.fixture
def data(tmp_path: Path) -> Path:
    """Two patients, a and b, one Bundle file each."""
    d = tmp_path / "data"
    d.mkdir()
    for pid in ("a", "b"):
        (d / f"{pid}.json").write_text(json.dumps(_bundle(pid)))
    return d


@pytest.fixture
def empty(tmp_path: Path) -> Path:
    d = tmp_path / "empty"
    d.mkdir()
    return d


def _library(tmp_path: Path, body: str, name: str = "Lib") -> Path:
    lib = tmp_path / f"{name}.cql"
    lib.write_text(f"library {name} using QICore version '4.1.1'\n{body}")
    return lib


def _measure(tmp_path: Path, cql: str | None = None, valuesets: bool = True) -> Path:
    """The boundary fixture measure, its CQL changed by ``cql(text)`` and its value sets kept or not."""
    m = tmp_path / "measure"
    shutil.copytree(FIXTURE, m)
    if cql is not None:
        (m / "Boundary.cql").write_text(cql)
    if not valuesets:
        shutil.rmtree(m / "valuesets")
    return m


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port


# ------------------------------------------------------------------ 1. silent runs are errors


def test_ndjson_lines_holding_bundles_are_read(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f = tmp_path / "patients.ndjson"
    f.write_text("".join(json.dumps(_bundle(pid)) + "\n" for pid in ("a", "b")))
    lib = _library(tmp_path, "context Patient\ndefine Visits: [Encounter] E return E.id\n")
    code, out, err = run(capsys, "cql", "--file", str(lib), "--data", str(f))
    assert code == 0, err
    assert "Patient/a\n  Visits: {'a-e'}" in out and "Patient/b\n  Visits: {'b-e'}" in out


@pytest.mark.parametrize("command", [["evaluate", str(FIXTURE), "--no-progress"], ["vet", str(FIXTURE)],
                                     ["chronic", "-a", "ccc-v3"]])
def test_empty_directory_is_exit_2_in_every_command(command: list[str], empty: Path, tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    extra = ["--output", str(tmp_path / "report.html")] if command[0] == "vet" else []
    code, _, err = run(capsys, *command, "--data", str(empty), *extra)
    assert code == 2
    assert f"no patients in {empty}" in err and "no .json, .ndjson or .jsonl files found" in err
    assert "--allow-empty" in err


def test_zero_byte_and_non_fhir_files_say_what_was_found(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    d = tmp_path / "junk"
    d.mkdir()
    (d / "zero.json").write_text("")
    (d / "other.json").write_text('{"hello": "world"}')
    (d / "org.json").write_text('{"resourceType": "Organization", "id": "o1"}')
    code, _, err = run(capsys, "evaluate", str(FIXTURE), "--data", str(d), "--no-progress")
    assert code == 2
    assert "3 file(s) read: org.json, other.json, zero.json" in err
    assert "resource types seen: Organization 1" in err and "invalid JSON" in err and "not a resource" in err


def test_allow_empty_runs_on_no_patients(empty: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "evaluate", str(FIXTURE), "--data", str(empty), "--allow-empty", "--no-progress",
                         "--format", "json")
    assert code == 0, err
    assert json.loads(out)["group"][0]["population"][0]["count"] == 0
    code, _, err = run(capsys, "chronic", "--data", str(empty), "-a", "ccc-v3", "--allow-empty")
    assert code == 0 and "0 patients" in err


def test_demo_with_an_unknown_measure_is_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "demo", "--measure", "no-such-measure")
    assert code == 2 and "--measure: no measure 'no-such-measure'" in err and "lead-screening" in err


def test_duplicate_patient_names_both_files_and_keeps_the_last(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    d = tmp_path / "dup"
    d.mkdir()
    (d / "a.json").write_text(json.dumps(_bundle("p1", "2015-01-01")))
    (d / "b.json").write_text(json.dumps({"resourceType": "Patient", "id": "p1", "birthDate": "2016-06-06"}))
    (d / "c.json").write_text(json.dumps({"resourceType": "Patient", "id": "p1", "birthDate": "2016-06-06",
                                          "meta": {"lastUpdated": "2025-01-01T00:00:00Z"}}))  # same content: silent
    lib = _library(tmp_path, "context Patient\ndefine Born: Patient.birthDate\n")
    code, out, err = run(capsys, "cql", "--file", str(lib), "--data", str(d))
    assert code == 0, err
    assert out.count("Patient/p1") == 1 and "Born: @2016-06-06" in out
    assert f"Patient/p1 appears twice with different content, in {d / 'a.json'} and {d / 'b.json'}" in err
    assert f"the one read later (in {d / 'b.json'}) is used" in err and "c.json" not in err


def test_test_command_without_cases_is_exit_2(measure_with_empty_cases: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "test", str(FIXTURE), "--cases", str(measure_with_empty_cases))
    assert code == 2 and "holds no test cases" in err and out == ""
    code, _, err = run(capsys, "test", str(FIXTURE), "--cases", str(measure_with_empty_cases / "nope"))
    assert code == 2 and "--cases: no such directory" in err


@pytest.fixture
def measure_with_empty_cases(tmp_path: Path) -> Path:
    d = tmp_path / "cases"
    d.mkdir()
    return d


def test_test_command_where_every_case_errored_is_exit_3(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cases = tmp_path / "cases"
    (cases / "one").mkdir(parents=True)
    (cases / "one" / "patient.json").write_text(json.dumps(_bundle("a")))  # no expected MeasureReport
    code, out, _ = run(capsys, "test", str(FIXTURE), "--cases", str(cases))
    assert code == 3 and "ERROR one" in out


def test_missing_value_sets_fail_up_front_naming_every_one(tmp_path: Path, data: Path,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    cql = (FIXTURE / "Boundary.cql").read_text()
    cql = cql.replace('parameter "Measurement Period"',
                      'valueset "Well Visit": \'http://example.org/ValueSet/well\'\n'
                      'valueset "Unused": \'http://example.org/ValueSet/unused\'\n\nparameter "Measurement Period"')
    cql = cql.replace('define "Denominator Exclusion":\n  Patient.gender = \'other\'',
                      'define "Denominator Exclusion":\n  exists [Encounter: "Well Visit"]')
    measure = _measure(tmp_path, cql, valuesets=False)
    code, out, err = run(capsys, "evaluate", str(measure), "--data", str(data), "--no-progress")
    assert code == 2 and out == ""
    assert "2 value set(s) the measure's libraries use are not in the package" in err
    assert "2.16.840.1.113883.3.464.1003.101.12.1001  (Boundary.\"Office Visit\")" in err
    assert "http://example.org/ValueSet/well  (Boundary.\"Well Visit\")" in err
    assert "unused" not in err  # declared, never used: published packages do that
    assert err.count("value set") == 1  # said once, not once per patient


def test_cql_warns_that_an_unset_measurement_period_is_null(tmp_path: Path, data: Path,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    lib = _library(tmp_path, 'parameter "Measurement Period" Interval<DateTime>\ncontext Patient\n'
                             'define X: "Measurement Period"\n')
    code, out, err = run(capsys, "cql", "--file", str(lib), "--data", str(data), "--define", "X")
    assert code == 0 and "X: null" in out
    assert 'warning: parameter "Measurement Period" has no default and no --param: it is null' in err
    code, _, err = run(capsys, "cql", "--file", str(lib), "--data", str(data), "--define", "X",
                       "-p", "Measurement Period=Interval[@2025-01-01T00:00:00, @2026-01-01T00:00:00)")
    assert code == 0 and "warning" not in err


# ------------------------------------------------------------------ 2. one map, arguments checked first


def test_refused_connection_is_exit_2_in_every_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = f"http://127.0.0.1:{_closed_port()}"
    lib = _library(tmp_path, "context Patient\ndefine X: 1\n")
    for argv in (["evaluate", str(FIXTURE), "--no-progress"], ["cql", "--file", str(lib)], ["chronic", "-a", "pmca"]):
        code, _, err = run(capsys, *argv, "--data", url)
        assert code == 2, argv
        assert "--data: capability check" in err and "cannot reach" in err


@pytest.mark.parametrize("command", [["evaluate", "--no-progress"], ["test"], ["vet"]])
def test_reversed_and_unreadable_periods_name_the_option(command: list[str], data: Path, tmp_path: Path,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    argv = [command[0], str(FIXTURE), *command[1:]] + ([] if command[0] == "test" else ["--data", str(data)])
    if command[0] == "vet":
        argv += ["--output", str(tmp_path / "r.html")]
    code, _, err = run(capsys, *argv, "--period", "2025-12-31", "2025-01-01")
    assert code == 2 and "--period: the start 2025-12-31 is after the end 2025-01-01" in err
    code, _, err = run(capsys, *argv, "--period", "foo", "bar")
    assert code == 2 and "--period: 'foo' is not a date or date-time" in err


@pytest.mark.parametrize(("option", "message"), [
    (["--timezone-offset", "99"], "argument --timezone-offset: must be between -14 and 14 hours, got 99"),
    (["--timezone-offset", "east"], "argument --timezone-offset: expected hours from UTC"),
    (["--workers", "0"], "argument --workers: must be at least 1, got 0"),
    (["--workers", "-2"], "argument --workers: must be at least 1, got -2"),
    (["--stratify-by", "ccc-v9"], "argument --stratify-by: invalid choice: 'ccc-v9' (choose from 'ccc-v2', 'ccc-v3'"),
    (["--format", "csv", "--report-type", "summary"], "--report-type summary applies to --format json or ndjson"),
    (["--format", "table", "--report-type", "individual"], "--format table writes the summary table"),
])
def test_evaluate_options_are_checked_before_work(option: list[str], message: str, data: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "evaluate", str(FIXTURE), "--data", str(data), "--no-progress", *option)
    assert code == 2 and out == "" and message in err


def test_cql_timezone_offset_is_checked(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "cql", "Now()", "--timezone-offset", "99")
    assert code == 2 and "--timezone-offset: must be between -14 and 14 hours" in err and "@" not in err


def test_stratify_by_help_lists_the_names_it_accepts(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["evaluate", "--help"]) == 0
    help_text = " ".join(capsys.readouterr().out.split()).replace("- ", "-")  # argparse wraps at hyphens
    assert "ccc-v2, ccc-v3, ccc-v2.1, ccc-v3.1, pmca, pmca-more, pmca-less, ccir" in help_text


def test_output_into_a_missing_directory_or_onto_a_directory(data: Path, tmp_path: Path,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    base = ["evaluate", str(FIXTURE), "--data", str(data), "--no-progress", "--output"]
    code, _, err = run(capsys, *base, str(tmp_path / "nodir" / "r.json"))
    assert code == 2 and f"--output: cannot write {tmp_path / 'nodir' / 'r.json'}: the directory" in err
    code, _, err = run(capsys, *base, str(tmp_path))
    assert code == 2 and f"--output: {tmp_path} is a directory" in err
    code, _, err = run(capsys, "vet", str(FIXTURE), "--data", str(data), "--output", str(tmp_path))
    assert code == 2 and "--output:" in err
    code, _, err = run(capsys, "chronic", "--data", str(data), "-a", "pmca", "--output", str(tmp_path))
    assert code == 2 and "--output:" in err


# ------------------------------------------------------------------ 3. errors during evaluation

_ERRS_FOR_B = ('define "Denominator Exclusion":\n  Patient.gender = \'other\'',
               'define "Denominator Exclusion":\n  if Patient.id = \'b\' then (singleton from {1, 2}) = 1 else false')


def test_a_patient_that_errors_is_counted_and_located(tmp_path: Path, data: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    measure = _measure(tmp_path, (FIXTURE / "Boundary.cql").read_text().replace(*_ERRS_FOR_B))
    code, out, err = run(capsys, "evaluate", str(measure), "--data", str(data), "--no-progress", "--format", "json")
    assert code == 0, err
    report = json.loads(out)
    assert report["status"] == "complete"
    ext = next(e for e in report["extension"] if e["url"].endswith("/subjects-in-error"))
    assert {e["url"]: e["valueInteger"] for e in ext["extension"]} == {"count": 1, "evaluated": 2}
    # library, definition and line:column of the failing expression (the singleton from)
    assert "1 patient(s) could not be evaluated" in err and "Patient/b: Boundary.Denominator Exclusion (23:29): " in err
    code, out, _ = run(capsys, "evaluate", str(measure), "--data", str(data), "--no-progress", "--format", "table")
    assert code == 0 and "(2 patients, 1 could not be evaluated)" in out


def test_every_patient_errored_is_exit_3_and_status_error(tmp_path: Path, data: Path,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    cql = (FIXTURE / "Boundary.cql").read_text().replace(*_ERRS_FOR_B).replace("Patient.id = 'b'", "true")
    measure = _measure(tmp_path, cql)
    code, out, err = run(capsys, "evaluate", str(measure), "--data", str(data), "--no-progress", "--format", "json")
    assert code == 3 and json.loads(out)["status"] == "error"
    assert "every patient (2) could not be evaluated" in err


def test_a_python_error_in_one_patient_does_not_stop_the_others(data: Path, monkeypatch: pytest.MonkeyPatch,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    from pedqm.cql.library import Library

    real = Library.evaluate
    failed: list[str] = []

    def flaky(self: Library, name: str, ctx: Any = None, **kw: Any) -> Any:
        if name == "Numerator" and not failed:
            failed.append(name)
            raise TypeError("unsupported operand type(s) for +: 'int' and 'str'")
        return real(self, name, ctx, **kw)

    monkeypatch.setattr(Library, "evaluate", flaky)
    code, out, err = run(capsys, "evaluate", str(FIXTURE), "--data", str(data), "--no-progress", "--format", "json")
    assert code == 0, err
    assert "Patient/a: Boundary.Numerator: internal error in pedqm (unsupported operand type(s) for +: Integer and String)" in err
    assert "'int'" not in err
    initial = json.loads(out)["group"][0]["population"][0]
    assert initial["count"] == 1  # patient b was evaluated

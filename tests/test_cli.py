"""The `pedqm` command as a user runs it: output, exit codes, and no tracebacks."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from pedqm.cli import main


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_cql_expression_prints_a_cql_literal(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, "cql", "Interval[1, 10] contains 5") == (0, "true\n", "")
    code, out, _ = run(capsys, "cql", "{ 1 'mg', 2 days }")
    assert (code, out.strip()) == (0, "{1 'mg', 2 days}")


def test_cql_syntax_error_shows_line_column_and_caret(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "cql", "1 + (2 *")
    assert code == 1 and out == ""
    assert "<expression>:1:" in err and "^" in err and "Traceback" not in err


def test_cql_runtime_error_exit_code(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "cql", "singleton from {1, 2}")
    assert code == 3 and "run-time error" in err and "Traceback" not in err


def test_cql_file_with_define_and_params(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    lib = tmp_path / "Lib.cql"
    lib.write_text("library Lib\nparameter Age Integer default 3\ndefine Older: Age + 1\ndefine Other: 'x'\n")
    assert run(capsys, "cql", "--file", str(lib), "--define", "Older") == (0, "Older: 4\n", "")
    assert run(capsys, "cql", "-f", str(lib), "-d", "Older", "-p", "Age=10") == (0, "Older: 11\n", "")
    code, out, _ = run(capsys, "cql", "-f", str(lib))
    assert code == 0 and out.splitlines() == ["Older: 4", "Other: 'x'"]


def test_cql_file_reports_all_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    lib = tmp_path / "Bad.cql"
    lib.write_text("library Bad\ndefine A: Nope\ndefine B: 1 +\ndefine C: Missing(2)\n")
    code, _, err = run(capsys, "cql", "--file", str(lib))
    assert code == 1
    assert "Bad.cql:3:13: syntax error" in err  # syntax errors come first, every one of them
    lib.write_text("library Bad\ndefine A: Nope\ndefine B: 1\ndefine C: Missing(2)\n")
    code, _, err = run(capsys, "cql", "--file", str(lib))
    assert code == 1 and "Bad:2:11:" in err and "Bad:4:11:" in err and "2 errors" in err


def test_missing_file_and_bad_usage(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "cql", "--file", str(tmp_path / "none.cql"))
    assert code == 2 and "no such file" in err
    code, _, err = run(capsys, "cql")
    assert code == 2


def test_demo_runs_on_bundled_data(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "demo", "--cql")
    assert code == 0, err
    assert "First Birthday" in out and "@2025-02-28" in out  # leap-day birthday rolls to Feb 28


@pytest.mark.skipif(shutil.which("pedqm") is None and not Path(sys.executable).with_name("pedqm").exists(),
                    reason="console script not installed")
def test_installed_console_script() -> None:
    exe = shutil.which("pedqm") or str(Path(sys.executable).with_name("pedqm"))
    proc = subprocess.run([exe, "cql", "2 + 3"], capture_output=True, text=True, timeout=60)
    assert (proc.returncode, proc.stdout) == (0, "5\n")


def test_version_names_the_installed_distribution(capsys: pytest.CaptureFixture[str]) -> None:
    """`pedqm --version` (issue 15, Conventions): the version of the installed package, exit 0."""
    from importlib.metadata import version

    from pedqm.cli import main

    assert main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"pedqm {version('pedqm')}"


def test_list_has_a_header_row_and_json(capsys: pytest.CaptureFixture[str]) -> None:
    """`pedqm list` prints a header row over its columns, and `--json` the same rows as data."""
    import json

    from pedqm.cli import main

    assert main(["list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["MEASURE", "SCORING", "BASIS", "TITLE"]
    assert main(["list", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert {r["id"] for r in rows} == {line.split()[0] for line in lines[1:]}


@pytest.mark.parametrize("command", ["list", "test", "diff", "vet"])
def test_json_has_one_meaning_in_every_command(command: str) -> None:
    """`--json [FILE]` (issue 15, Conventions): JSON on standard output, or into FILE, everywhere."""
    import argparse

    from pedqm.cli import build_parser

    sub = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    option = next(a for a in sub.choices[command]._actions if "--json" in a.option_strings)
    assert option.nargs == "?" and option.const == "-" and option.metavar == "FILE"


def test_json_into_a_file_and_on_stdout(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import json

    from pedqm.cli import main

    target = tmp_path / "list.json"
    assert main(["list", "--json", str(target)]) == 0
    table = capsys.readouterr().out
    assert table.startswith("MEASURE") and json.loads(target.read_text())
    assert main(["list", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == json.loads(target.read_text())
    code = main(["list", "--json", str(tmp_path / "missing" / "x.json")])
    assert code == 2 and "--json" in capsys.readouterr().err


@pytest.mark.parametrize("command", ["evaluate", "vet", "chronic", "demo"])
def test_long_commands_share_progress_options(command: str) -> None:
    """Progress (issue 15, Conventions): every long command has --quiet/-q and --no-progress."""
    import argparse

    from pedqm.cli import build_parser

    sub = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    options = {o for a in sub.choices[command]._actions for o in a.option_strings}
    assert {"--quiet", "-q", "--no-progress"} <= options


def test_progress_summary_line_and_quiet(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Not on a terminal, a long command ends with one summary line (patients, time, rate) on
    standard error; --quiet leaves it out; standard output is untouched either way."""
    import json

    from pedqm.cli import main

    data = tmp_path / "data"
    data.mkdir()
    for pid in ("a", "b", "c"):
        (data / f"{pid}.json").write_text(json.dumps({"resourceType": "Bundle", "type": "collection", "entry": [
            {"resource": {"resourceType": "Patient", "id": pid, "birthDate": "2015-01-01"}}]}))
    out = tmp_path / "flags.csv"
    assert main(["chronic", "--data", str(data), "-a", "ccc-v3", "-o", str(out)]) == 0
    err = capsys.readouterr().err
    assert "chronic: 3 patients in" in err and "/s" in err
    assert main(["chronic", "--data", str(data), "-a", "ccc-v3", "-o", str(out), "--quiet"]) == 0
    assert "patients in" not in capsys.readouterr().err

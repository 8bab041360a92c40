"""`pedqm explain`: golden explanation trees for measure-library test cases, and the CLI."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from pedqm.cli import main
from pedqm.explain import explain_patient, traced_calculator
from pedqm.measure import load_measure
from pedqm.measure.testing import load_case

ROOT = Path(__file__).resolve().parents[2]
LIBRARY = ROOT / "measure_library"
GOLDEN = Path(__file__).with_name("golden")
UPDATE = os.environ.get("PEDQM_UPDATE_GOLDEN") == "1"  # rewrite the golden files (then review the diff)

CASES = [
    ("childhood-immunization", "dtap-first-dose-day-41"),
    ("childhood-immunization", "excl-died"),
    ("lead-screening", "cancelled-test"),
    ("pharyngitis-testing", "age17-two-episodes-one-tested"),
]

_calcs: dict[str, object] = {}


def _explain(measure: str, case: str) -> dict:
    if measure not in _calcs:
        _calcs[measure] = traced_calculator(load_measure(LIBRARY / measure))
    record = load_case(LIBRARY / measure / "cases" / case)[0]
    return explain_patient(_calcs[measure], record).data  # type: ignore[arg-type]


@pytest.mark.parametrize(("measure", "case"), CASES)
def test_explanation_matches_golden_tree(measure: str, case: str) -> None:
    data = _explain(measure, case)
    golden = GOLDEN / f"{measure}--{case}.json"
    if UPDATE:
        golden.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
    assert data == json.loads(golden.read_text(encoding="utf-8"))


def test_decisive_reasons_name_the_clause_and_the_evidence() -> None:
    reasons = [p["reason"] for g in _explain("childhood-immunization", "dtap-first-dose-day-41")["groups"] for p in g["populations"]]
    assert reasons[0] == "in Initial Population: 'Initial Population' is true ('Second Birthday' is @2025-06-15)"
    # the dose on day 41 does not count: 4 DTaP immunizations, 3 doses
    assert reasons[3] == ("not in Numerator: 'Numerator' is false because \"DTaP Doses\" >= 4 is false "
                          "('DTaP Doses' is 3; 4 'DTaP Vaccine' immunizations found, last 2024-09-13)")


def test_a_population_below_a_false_one_is_not_decided() -> None:
    data = _explain("childhood-immunization", "excl-died")
    numerator = data["groups"][0]["populations"][3]
    assert numerator["reason"] == "not in Numerator: in Denominator Exclusions"
    assert numerator["relevant"] is False


def test_episodes_are_counted() -> None:
    pops = _explain("pharyngitis-testing", "age17-two-episodes-one-tested")["groups"][0]["populations"]
    assert pops[0]["reason"].startswith("2 episodes in Initial Population:")
    assert pops[3]["reason"].startswith("1 episode in Numerator:")
    assert len(pops[3]["episodes"]) == 1


def test_cli_formats(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    case = LIBRARY / "childhood-immunization" / "cases" / "dtap-first-dose-day-41"
    args = [str(LIBRARY / "childhood-immunization"), "--data", str(case), "--patient", "dtap-first-dose-day-41"]
    assert main(["explain", *args]) == 0
    tree = capsys.readouterr().out
    assert "✗ not in Numerator: 'Numerator' is false because" in tree
    assert "Immunization/dtap-first-dose-day-41-dtap-1 2023-07-26 cvx 20 completed" in tree
    assert main(["explain", *args, "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["patient"] == "dtap-first-dose-day-41"
    out = tmp_path / "x.html"
    assert main(["explain", *args, "--format", "html", "-o", str(out)]) == 0
    page = out.read_text()
    assert "<span class='r-FALSE'>" in page and "define &quot;Numerator&quot;" in page
    assert main(["explain", args[0], "--data", str(case), "--patient", "nobody"]) == 2
    assert "no Patient/nobody" in capsys.readouterr().err


def test_evidence_names_the_place_of_care() -> None:
    """Issue 16: with several named sources, an explanation says where the care was recorded
    ("closed by the school clinic on ...")."""
    from pedqm.explain.values import describe_resource, resource_summary
    from pedqm.fhir.sources.provenance import tag_source

    imm = {"resourceType": "Immunization", "id": "i1", "status": "completed", "occurrenceDateTime": "2024-02-11",
           "vaccineCode": {"coding": [{"system": "http://hl7.org/fhir/sid/cvx", "code": "20"}]}}
    plain = describe_resource(resource_summary(dict(imm)) or {})
    assert "from" not in plain and plain.startswith("Immunization/i1 2024-02-11")
    tagged = describe_resource(resource_summary(tag_source(dict(imm), "school")) or {})
    assert tagged.endswith("(from school)")

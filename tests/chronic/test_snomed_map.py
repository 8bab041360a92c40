"""A user-supplied SNOMED CT -> ICD-10-CM map classifies children coded only in SNOMED CT (issue 15).

The map rows below are written here in the layout of NLM's extended map release file (the real
file needs a UMLS licence and is not shipped); the concepts are real SNOMED CT ids, the targets
the ICD-10-CM codes a clinician would assign. Without a map the flags stay unknown.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from pedqm.chronic import classify_record
from pedqm.chronic.snomed_map import Patient, SnomedIcdMap, SnomedMapError
from pedqm.cli import main

from .builders import SNOMED, condition, record

HEADER = "id\teffectiveTime\tactive\tmoduleId\trefsetId\treferencedComponentId\tmapGroup\tmapPriority\tmapRule\tmapAdvice\tmapTarget\tcorrelationId\tmapCategoryId"
CF, ASTHMA, FEMALE = "190905008", "195967001", "248152002"


def _row(concept: str, group: int, priority: int, rule: str, target: str, active: str = "1") -> str:
    return "\t".join(["x", "20250301", active, "m", "6011000124106", concept, str(group), str(priority), rule,
                      "advice", target, "447561005", "447637006"])


@pytest.fixture
def map_file(tmp_path: Path) -> Path:
    rows = [
        HEADER,
        _row(CF, 1, 1, "TRUE", "E84.9"),
        _row(ASTHMA, 1, 1, "IFA 445518008 | Age at onset of clinical finding (observable entity) | < 12.0 years", "J45.20"),
        _row(ASTHMA, 1, 2, "OTHERWISE TRUE", "J45.909"),
        _row(ASTHMA, 2, 1, f"IFA {FEMALE} | Female (finding) |", "Z00.00"),
        _row(ASTHMA, 2, 2, "OTHERWISE TRUE", ""),
        _row("111111111", 1, 1, "TRUE", "Q99.9", active="0"),
    ]
    path = tmp_path / "map.tsv"
    path.write_text("\n".join(rows) + "\n")
    return path


def test_rules_by_group_and_priority(map_file: Path) -> None:
    m = SnomedIcdMap.load(map_file)
    girl, boy = Patient("female"), Patient("male")
    assert m.targets(CF, boy, 5.0) == ["E84.9"]
    assert m.targets(ASTHMA, boy, 5.0) == ["J45.20"]  # age rule holds; group 2 gives no target for a boy
    assert m.targets(ASTHMA, boy, 14.0) == ["J45.909"]  # otherwise
    assert m.targets(ASTHMA, girl, 14.0) == ["J45.909", "Z00.00"]
    assert m.targets("111111111", boy, 5.0) == []  # inactive row
    before = m.undecided
    assert m.targets(ASTHMA, boy, None) == ["J45.909"]  # age unknown: the age rule does not hold, counted
    assert m.undecided == before + 1


def test_snomed_only_child_is_classified_with_a_map(map_file: Path) -> None:
    rec = record(condition("c1", (SNOMED, CF), onset="2020-03-01"))
    rec.patient["birthDate"] = "2015-01-01"  # type: ignore[index]
    without = classify_record(rec, "ccc-v3")
    assert without.flags["ccc_flag"] is None and not without.known
    mapped = classify_record(rec, "ccc-v3", snomed_map=SnomedIcdMap.load(map_file))
    assert mapped.flags["ccc_flag"] == 1 and mapped.flags["respiratory"] == 1
    assert mapped.rests_on_mapped_codes and mapped.data.mapped_conditions == 1
    assert "SNOMED CT 190905008 mapped" in mapped.explain_text()


def test_two_column_csv_and_bad_files(tmp_path: Path) -> None:
    csv_map = tmp_path / "map.csv"
    csv_map.write_text("snomed,icd10cm\n190905008,E84.0\n")
    assert SnomedIcdMap.load(csv_map).targets(CF, Patient(), None) == ["E84.0"]
    bad = tmp_path / "bad.csv"
    bad.write_text("snomed,icd10cm\nnot-a-code,E84.0\n")
    with pytest.raises(SnomedMapError, match=r"bad.csv, line 2"):
        SnomedIcdMap.load(bad)


def test_cli_column_and_usage_error(map_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import json

    data = tmp_path / "data"
    data.mkdir()
    bundle = {"resourceType": "Bundle", "type": "collection", "entry": [
        {"resource": {"resourceType": "Patient", "id": "p", "birthDate": "2015-01-01", "gender": "male"}},
        {"resource": condition("c1", (SNOMED, CF), onset="2020-03-01")},
    ]}
    (data / "p.json").write_text(json.dumps(bundle))
    out = tmp_path / "flags.csv"
    assert main(["chronic", "--data", str(data), "-a", "ccc-v3", "--snomed-map", str(map_file), "-o", str(out)]) == 0
    header, row = out.read_text().splitlines()[:2]
    values = dict(zip(header.split(","), row.split(",")))
    assert values["mapped_codes"] == "true" and values["ccc_flag"] == "1"
    capsys.readouterr()
    code = main(["chronic", "--data", str(data), "-a", "ccc-v3", "--snomed-map", str(tmp_path / "none.tsv")])
    assert code == 2 and "--snomed-map" in capsys.readouterr().err

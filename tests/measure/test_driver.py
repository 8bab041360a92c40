"""The one driver: several measures in one pass, per entity, over partitions, processes and Dask,
always giving the result of one pass; and the one attribution module with ATR-style lists."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import pytest

from pedqm.cli import main
from pedqm.fhir.sources.partition import PartitionSource, partition_of, shard_dirs
from pedqm.measure.attribution import read_attribution_list
from pedqm.measure.driver import RunPlan, RunResult, run
from pedqm.measure.library_index import find_measure
from pedqm.synth import SynthConfig, generate

from .test_merge import snapshot

MEASURES = ["lead-screening", "childhood-immunization"]
PATIENTS = 120


@pytest.fixture(scope="module")
def flat(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("flat")
    generate(SynthConfig(patients=PATIENTS, seed=21), out)
    return out


@pytest.fixture(scope="module")
def sharded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("sharded")
    generate(SynthConfig(patients=PATIENTS, seed=21, shards=3), out)
    return out


def plan(**options: Any) -> RunPlan:
    dirs = [find_measure(m) for m in MEASURES]
    return RunPlan.for_measures([d for d in dirs if d is not None], **options)


def figures(r: RunResult) -> Any:
    return {"n": r.n_patients,
            "overall": {m: snapshot(x) for m, x in r.overall.items()},
            "entities": {m: {e: snapshot(x) for e, x in ents.items()} for m, ents in r.by_entity.items()},
            "methods": dict(r.attribution_methods)}


@pytest.fixture(scope="module")
def one_pass(flat: Path) -> RunResult:
    return run(plan(by="practice"), flat)


def test_one_pass_has_every_measure_overall_and_per_practice(one_pass: RunResult) -> None:
    assert one_pass.n_patients == PATIENTS
    assert list(one_pass.overall) == MEASURES
    for m in MEASURES:
        per = one_pass.by_entity[m]
        assert len(per) > 3 and sum(r.n_subjects for r in per.values()) == PATIENTS
        for code in ("initial-population", "numerator"):
            assert sum(r.count(0, code) for r in per.values()) == one_pass.overall[m].count(0, code)
    assert one_pass.attribution_methods == {"Patient.managingOrganization": PATIENTS}


def test_hash_partitions_in_worker_processes_equal_one_pass(flat: Path, one_pass: RunResult) -> None:
    ids = [r.patient_id for i in range(3) for r in PartitionSource(flat, i, 3).patients()]
    assert sorted(ids) == sorted(f"pt-{k:05d}" for k in range(1, PATIENTS + 1))  # each patient in one partition
    merged = run(plan(by="practice"), flat, workers=2, partitions=3)
    one = figures(one_pass)
    got = figures(merged)
    for m in MEASURES:  # patients arrive partition by partition, so only subject order may differ
        for f in (one, got):
            for snap in [f["overall"][m], *f["entities"][m].values()]:
                snap["subject_results"] = sorted(snap["subject_results"])
    assert got == one


def test_a_sharded_population_holds_the_same_patients_and_gives_the_same_result(
        flat: Path, sharded: Path, one_pass: RunResult) -> None:
    assert [d.name for d in shard_dirs(sharded)] == ["shard-000", "shard-001", "shard-002"]
    for k, d in enumerate(shard_dirs(sharded)):
        with gzip.open(d / "Patient.ndjson.gz", "rt") as fh:
            assert all(partition_of(json.loads(line)["id"], 3) == k for line in fh)
    common = PartitionSource(sharded, 0, 1)
    assert common.shared_resources() and all(r["resourceType"] != "Patient" for r in common.shared_resources())
    merged = run(plan(by="practice"), sharded, workers=2)
    assert figures(merged) == figures(run(plan(by="practice"), sharded))
    assert {m: snapshot(r)["groups"] for m, r in merged.overall.items()} == \
        {m: snapshot(r)["groups"] for m, r in one_pass.overall.items()}


def test_synth_shards_are_byte_reproducible(sharded: Path, tmp_path: Path) -> None:
    again = tmp_path / "again"
    generate(SynthConfig(patients=PATIENTS, seed=21, shards=3), again)
    files = sorted(p.relative_to(sharded) for p in sharded.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(again) for p in again.rglob("*") if p.is_file())
    assert all((sharded / f).read_bytes() == (again / f).read_bytes() for f in files)


def test_dask_local_cluster_gives_the_local_result(sharded: Path) -> None:
    pytest.importorskip("dask.distributed")
    local = run(plan(by="practice"), sharded, workers=2)
    remote = run(plan(by="practice"), sharded, workers=2, backend="dask")
    assert figures(remote) == figures(local)


# ------------------------------------------------------------------------------ attribution lists

def _group(entity: str, members: list[tuple[str, str | None, str | None]]) -> dict[str, Any]:
    out = []
    for pid, start, end in members:
        period = {k: v for k, v in (("start", start), ("end", end)) if v}
        out.append({"entity": {"reference": f"Patient/{pid}"}, **({"period": period} if period else {})})
    return {"resourceType": "Group", "id": f"atr-{entity}", "type": "person", "actual": True,
            "managingEntity": {"reference": f"Organization/{entity}", "display": entity.title()}, "member": out}


def test_atr_group_member_periods_decide_who_is_accountable(tmp_path: Path) -> None:
    bundle = {"resourceType": "Bundle", "type": "collection", "entry": [
        {"resource": _group("practice", [("a", "2024-01-01", "2025-03-31"), ("b", "2023-01-01", "2024-12-31"),
                                         ("c", None, None)])},
        {"resource": _group("school", [("a", "2025-04-01", None), ("c", "2025-02-01", "2025-06-30")])},
    ]}
    path = tmp_path / "atr.json"
    path.write_text(json.dumps(bundle))
    listed, names = read_attribution_list(path, ("2025-01-01", "2025-12-31"))
    # a: both memberships overlap 2025, the school's started last; b: left the list before 2025;
    # c: open-ended at the practice, dated at the school, which therefore started last
    assert listed == {"a": "school", "c": "school"}
    assert names == {"practice": "Practice", "school": "School"}
    assert read_attribution_list(path, ("2024-01-01", "2024-12-31"))[0] == {"a": "practice", "b": "practice",
                                                                              "c": "practice"}


def test_csv_list_with_periods_and_a_bad_date_is_named(tmp_path: Path) -> None:
    path = tmp_path / "list.csv"
    path.write_text("patient,entity,start,end\nPatient/a,org-1,2025-01-01,\nb,org-2,2020-01-01,2021-01-01\n")
    assert read_attribution_list(path, ("2025-01-01", "2025-12-31"))[0] == {"a": "org-1"}
    path.write_text("patient,entity,start\na,org-1,yesterday\n")
    with pytest.raises(ValueError, match="line 2: start 'yesterday' is not an ISO date"):
        read_attribution_list(path)


def test_a_child_listed_by_an_entity_counts_there_wherever_care_happened(flat: Path, tmp_path: Path,
                                                                         one_pass: RunResult) -> None:
    # every child of the synthetic practices is listed to the school clinic, which holds no record
    ids = [f"pt-{k:05d}" for k in range(1, PATIENTS + 1)]
    path = tmp_path / "atr.ndjson"
    path.write_text(json.dumps(_group("school-clinic", [(p, "2025-01-01", None) for p in ids[:40]])) + "\n")
    result = run(plan(by=str(path)), flat)
    for m in MEASURES:
        assert set(result.by_entity[m]) == {"school-clinic", "unattributed"}
        assert result.by_entity[m]["school-clinic"].n_subjects == 40
    assert result.attribution_methods == {"attribution list": 40, "unattributed": PATIENTS - 40}


# ------------------------------------------------------------------------------ the command

def test_evaluate_several_measures_by_practice_writes_a_list_of_summaries(
        flat: Path, tmp_path: Path, one_pass: RunResult, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "reports.json"
    code = main(["evaluate", *MEASURES, "--data", str(flat), "--by", "practice", "--output", str(out)])
    assert code == 0, capsys.readouterr().err
    reports = json.loads(out.read_text())
    entities = {m: len(one_pass.by_entity[m]) for m in MEASURES}
    assert len(reports) == sum(1 + n for n in entities.values())
    assert all(r["resourceType"] == "MeasureReport" and r["type"] == "summary" for r in reports)
    overall = [r for r in reports if "reporter" not in r]
    assert [r["measure"].rsplit("/", 1)[-1] for r in overall] == MEASURES
    practices = [r for r in reports if r.get("reporter", {}).get("reference", "").startswith("Organization/")]
    assert len(practices) == sum(entities.values()) and all(r["reporter"].get("display") for r in practices)


def test_evaluate_usage_errors(flat: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["evaluate", "--data", str(flat)]) == 2
    assert "no measure given" in capsys.readouterr().err
    assert main(["evaluate", "lead-screening", "--all", "--data", str(flat)]) == 2
    assert main(["evaluate", *MEASURES, "--data", str(flat), "--report-type", "individual"]) == 2
    assert "one measure" in capsys.readouterr().err
    assert main(["evaluate", "lead-screening", "--data", str(flat), "--by", "nosuch.csv"]) == 2
    assert main(["evaluate", "lead-screening", "--data", str(flat), "--scheduler", "tcp://x:1"]) == 2


def test_a_bad_attribution_list_is_a_usage_error_before_any_work(flat: Path, tmp_path: Path,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "list.csv"
    bad.write_text("who,where\na,b\n")
    assert main(["evaluate", "lead-screening", "--data", str(flat), "--attribution", str(bad)]) == 2
    assert "an attribution CSV needs a patient column" in capsys.readouterr().err
    assert main(["demo", "--measure", "lead-screening", "--attribution", str(bad)]) == 2


def test_measures_evaluating_one_record_share_its_wrapped_resources_and_codes(flat: Path) -> None:
    from pedqm.cql.runtime.values import Code
    from pedqm.fhir.retrieve import RecordDataProvider

    record = next(r for r in PartitionSource(flat, 0, 1).patients() if r.of_type("Immunization"))
    first, second = RecordDataProvider(record), RecordDataProvider(record)  # as two measures' requests
    ask = {"context": "Patient", "context_value": None, "code_path": None, "codes": None, "comparator": None}
    a = first.retrieve("FHIR.Immunization", **ask)
    b = second.retrieve("FHIR.Immunization", **ask)
    assert a and all(x is y for x, y in zip(a, b, strict=True))
    code = record.of_type("Immunization")[0]["vaccineCode"]["coding"][0]
    ask.update(code_path="vaccineCode", codes=[Code(code["code"], code["system"])], comparator="=")
    assert first.retrieve("FHIR.Immunization", **ask) == second.retrieve("FHIR.Immunization", **ask)
    assert len(record.memo["retrieve.codes"]) == len(a)  # each resource's codes read once for both


def _stable(reports: Any) -> Any:
    for r in reports if isinstance(reports, list) else [reports]:
        r.pop("id", None)
        r.pop("date", None)
    return reports


def test_evaluate_with_two_workers_writes_the_one_worker_report(sharded: Path, tmp_path: Path,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    outs = []
    for workers in ("1", "2"):
        out = tmp_path / f"w{workers}.json"
        assert main(["evaluate", "lead-screening", "--data", str(sharded), "--workers", workers,
                     "--output", str(out)]) == 0
        outs.append(_stable(json.loads(out.read_text())))
    assert outs[0] == outs[1] and outs[0]["resourceType"] == "MeasureReport"
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "Organization.ndjson").write_text('{"resourceType":"Organization","id":"o"}\n')
    assert main(["evaluate", "lead-screening", "--data", str(empty), "--workers", "2"]) == 2
    assert "no patients" in capsys.readouterr().err


@pytest.mark.slow  # a JVM start: about a minute; CI does not install the spark extra
def test_spark_local_gives_the_local_result(sharded: Path) -> None:
    """`pip install -e '.[spark]'` and Java 17, then `pytest -m slow -k spark`."""
    import shutil

    pytest.importorskip("pyspark")
    if shutil.which("java") is None:
        pytest.skip("Spark needs Java 17")
    local = run(plan(by="practice"), sharded, workers=2)
    spark = run(plan(by="practice"), sharded, workers=2, backend="spark")
    assert figures(spark) == figures(local)

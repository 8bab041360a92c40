"""The file source on real synthetic data (../shared/synthetic) and on the malformed fixtures.

Layouts are derived from the same Synthea and PySynthea bundles (NDJSON per type, gzipped,
multi-patient collection bundles, single-resource files), so every layout must give exactly the
records the original transaction bundles give.
"""

from __future__ import annotations

import argparse
import gzip
import importlib
import json
import pkgutil
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from pedqm.cli.data_options import DataOptionsError, add_data_arguments, open_data
from pedqm.fhir.records import ResourceSource
from pedqm.fhir.sources import (
    DataSourceError,
    FileSource,
    format_issue_summary,
    open_source,
    summarize_issues,
)
from pedqm.fhir.sources.checks import resource_problem
from pedqm.fhir.sources.compartment import compartment_patients, patient_id_of
from pedqm.fhir.sources.resource_types import R4_ONLY_TYPES, R4_RESOURCE_TYPES, R4B_ONLY_TYPES

from .conftest import SYNTHETIC, require_synthetic

MALFORMED = Path(__file__).resolve().parents[2] / "fhir_fixtures" / "malformed"
Keys = dict[str, list[tuple[str, str]]]


def keys_of(source: ResourceSource) -> Keys:
    return {r.patient_id: sorted((x["resourceType"], x["id"]) for x in r.resources) for r in source.patients()}


@pytest.fixture(scope="module")
def synthetic() -> FileSource:
    require_synthetic()
    return FileSource(SYNTHETIC)


@pytest.fixture(scope="module")
def synthetic_keys(synthetic: FileSource) -> Keys:
    return keys_of(synthetic)


def all_resources() -> list[dict[str, Any]]:
    out = []
    for path in sorted(SYNTHETIC.rglob("*.json")):
        out += [e["resource"] for e in json.loads(path.read_text())["entry"]]
    return out


def test_synthetic_bundles_group_by_patient(synthetic: FileSource, synthetic_keys: Keys) -> None:
    patients = {r["id"] for r in all_resources() if r["resourceType"] == "Patient"}
    assert set(synthetic_keys) == patients and len(patients) == 14
    assert synthetic.issues == []
    # every resource is in exactly one place: one patient's record, or the shared list
    placed = Counter(k for keys in synthetic_keys.values() for k in keys)
    shared = {(r["resourceType"], r["id"]) for r in synthetic.shared_resources()}
    unique = {(r["resourceType"], r["id"]) for r in all_resources()}
    assert max(placed.values()) == 1 and not (set(placed) & shared)
    assert set(placed) | shared == unique
    assert {t for t, _ in shared} == {"Organization", "Practitioner", "PractitionerRole", "Location", "Device"}


def test_records_are_patient_first_with_urn_references_resolved(synthetic: FileSource) -> None:
    for record in synthetic.patients():
        assert record.resources[0]["resourceType"] == "Patient" and record.patient is record.resources[0]
        text = json.dumps(record.resources)
        assert '"urn:uuid:' not in text  # rewritten to Type/id, as a server would on transaction
        for encounter in record.of_type("Encounter"):
            assert encounter["subject"]["reference"] == f"Patient/{record.patient_id}"


def test_single_bundle_file(synthetic_keys: Keys) -> None:
    path = next((SYNTHETIC / "synthea-r4-generated-sample-data").glob("Burton_*.json"))
    keys = keys_of(open_source(str(path)))
    assert list(keys) == ["c26c8d14-0497-4550-bab9-996eb8a1d83c"]
    assert keys["c26c8d14-0497-4550-bab9-996eb8a1d83c"] == synthetic_keys["c26c8d14-0497-4550-bab9-996eb8a1d83c"]


def write_bulk_layout(folder: Path, resources: list[dict[str, Any]], *, gz: bool = False) -> None:
    """One NDJSON file per type, references resolved: what a Bulk export writes."""
    by_type: dict[str, list[dict[str, Any]]] = {}
    with FileSource(SYNTHETIC) as source:
        for record in source.patients():
            for r in record.resources:
                by_type.setdefault(r["resourceType"], []).append(r)
        for r in source.shared_resources():
            by_type.setdefault(r["resourceType"], []).append(r)
    folder.mkdir(parents=True, exist_ok=True)
    for rtype, items in by_type.items():
        text = "".join(json.dumps(r) + "\n" for r in items).encode()
        if gz:
            (folder / f"{rtype}.ndjson.gz").write_bytes(gzip.compress(text))
        else:
            (folder / f"{rtype}.ndjson").write_bytes(text)


@pytest.mark.parametrize("gz", [False, True], ids=["ndjson", "ndjson.gz"])
def test_bulk_ndjson_layout_gives_the_same_records(tmp_path: Path, synthetic_keys: Keys, gz: bool) -> None:
    write_bulk_layout(tmp_path, all_resources(), gz=gz)
    with FileSource(tmp_path) as source:
        assert keys_of(source) == synthetic_keys
        assert source.issues == []
        shared_types = Counter(r["resourceType"] for r in source.shared_resources())
    assert shared_types["Organization"] > 0


def test_multi_patient_collection_bundle_and_single_resource_files(tmp_path: Path, synthetic_keys: Keys) -> None:
    bundles = sorted((SYNTHETIC / "pysynthea-generated").glob("*.json"))
    entries = []
    for path in bundles[:3]:  # three patients in one collection bundle, urn:uuid references kept
        entries += [{"fullUrl": e["fullUrl"], "resource": e["resource"]} for e in json.loads(path.read_text())["entry"]]
    (tmp_path / "collection.json").write_text(json.dumps({"resourceType": "Bundle", "type": "collection", "entry": entries}))
    singles = tmp_path / "singles"
    singles.mkdir()
    for e in json.loads(bundles[3].read_text())["entry"][:40]:  # the fourth patient as loose files
        r = e["resource"]
        text = json.dumps(r)
        for other in json.loads(bundles[3].read_text())["entry"]:
            text = text.replace(other["fullUrl"], f"{other['resource']['resourceType']}/{other['resource']['id']}")
        (singles / f"{r['resourceType']}-{r['id']}.json").write_text(text)
    with FileSource(tmp_path) as source:
        keys = keys_of(source)
    for pid in keys:
        if pid in list(keys)[:3]:
            assert keys[pid] == synthetic_keys[pid]
    fourth = next(pid for pid in keys if pid not in list(keys)[:3])
    assert set(keys[fourth]) <= set(synthetic_keys[fourth]) and len(keys[fourth]) > 10


def test_malformed_fixtures_are_skipped_reported_and_counted() -> None:
    with FileSource(MALFORMED) as source:
        records = {r.patient_id: r for r in source.patients()}
        issues = source.issues
    assert {pid: sorted(x["id"] for x in r.resources) for pid, r in records.items()} == {
        "mal-1": ["mal-1", "mal-imm-good", "mal-obs-good"],
        "mal-2": ["mal-2", "mal-enc-good"],
    }  # the observation whose Patient is not in the data makes no phantom subject (issue 17 C)
    where = {(Path(i.location.split(" (")[0].rsplit(":", 1)[0]).name, i.message.split(":")[0]): i for i in issues}
    lines = {i.location.rsplit(":", 1)[1]: i.message.split(":")[0] for i in issues if ".ndjson:" in i.location}
    assert lines == {
        "2": "invalid JSON",
        "3": "missing id",
        "4": "unknown resourceType",
        "5": "invalid date",
        "6": "wrong JSON type",
        "9": "not a resource",
        "10": "wrong JSON type",
    }
    assert ("truncated-bundle.json", "invalid JSON") in where
    assert where[("bad-bundle.json", "invalid date")].resource_id == "mal-enc-date"
    assert where[("bad-bundle.json", "wrong JSON type")].resource_id == "mal-imm-flag"
    lost = where[("bad-bundle.json", "unresolved reference")]
    assert not lost.skipped and lost.resource_id == "mal-cond-lost"
    orphan = [i for i in issues if i.message.startswith("no Patient resource")]
    assert len(orphan) == 1 and orphan[0].skipped and orphan[0].count == 1 and "Patient/mal-missing" in orphan[0].message
    assert summarize_issues(issues) == {
        "invalid JSON": 2,
        "wrong JSON type": 3,
        "invalid date": 2,
        "not a resource": 2,
        "missing id": 1,
        "unknown resourceType": 1,
        "no Patient resource": 1,
    }
    assert format_issue_summary(issues).startswith("12 resources skipped (")
    assert str(where[("bad-lines.ndjson", "unknown resourceType")]).endswith(
        "bad-lines.ndjson:4: Observaton/mal-obs-typo: unknown resourceType: 'Observaton' is not a FHIR R4 resource type"
    )


def test_ndjson_saved_as_json_is_read_as_ndjson(tmp_path: Path) -> None:
    rows = [{"resourceType": "Patient", "id": "a"}, {"resourceType": "Condition", "id": "c", "subject": {"reference": "Patient/a"}}]
    (tmp_path / "export.json").write_text("".join(json.dumps(r) + "\n" for r in rows))
    with FileSource(tmp_path) as source:
        assert keys_of(source) == {"a": [("Condition", "c"), ("Patient", "a")]} and source.issues == []


def test_truncated_gzip_keeps_what_was_readable(tmp_path: Path) -> None:
    lines = [json.dumps({"resourceType": "Patient", "id": f"p{i}", "birthDate": "2015-01-01"}) for i in range(2000)]
    data = gzip.compress("\n".join(lines).encode())
    (tmp_path / "Patient.ndjson.gz").write_bytes(data[: len(data) // 2])
    with FileSource(tmp_path) as source:
        ids = source.patient_ids()
        assert 0 < len(ids) < 2000 and ids[:3] == ["p0", "p1", "p2"]
        assert any(i.message.startswith("unreadable file") for i in source.issues)


@pytest.mark.parametrize(
    ("resource", "reason"),
    [
        ({"resourceType": "Patient", "id": "a", "birthDate": "2020-02-29"}, None),
        ({"resourceType": "Patient", "id": "a", "birthDate": "2021-02-29"}, "invalid date"),
        ({"resourceType": "Patient", "id": "a", "birthDate": "2020"}, None),
        ({"resourceType": "Observation", "id": "a", "effectiveDateTime": "2020-01-01T10:00"}, None),
        ({"resourceType": "Observation", "id": "a", "effectiveDateTime": "2020-01-01T25:00:00Z"}, "invalid date"),
        ({"resourceType": "Observation", "id": "a", "issued": "2020-01-01"}, "invalid date"),
        ({"resourceType": "Observation", "id": "a", "effectivePeriod": {"start": "01/02/2020"}}, "invalid date"),
        ({"resourceType": "Observation", "id": "a", "valueInteger": True}, "wrong JSON type"),
        ({"resourceType": "Observation", "id": "a", "valueQuantity": {"value": "12"}}, "wrong JSON type"),
        ({"resourceType": "Patient", "id": "a", "deceasedBoolean": "false"}, "wrong JSON type"),
        ({"resourceType": "Patient", "id": "a", "name": {"family": "Doe"}}, "wrong JSON type"),
        ({"resourceType": "Patient", "id": "a b"}, "invalid id"),
        ({"resourceType": "Patient", "id": "a", "someFutureElement": 1}, None),
        ({"resourceType": "MedicinalProduct", "id": "r4-only"}, None),
        ({"resourceType": "Citation", "id": "r4b-only"}, "unknown resourceType"),
    ],
)
def test_resource_checks(resource: dict[str, Any], reason: str | None) -> None:
    problem = resource_problem(resource)
    assert (problem[0] if problem else None) == reason


def test_r4_type_list_against_fhir_resources_r4b_models() -> None:
    import fhir.resources.R4B as r4b
    from fhir.resources.R4B.resource import Resource

    names = set()
    for module in pkgutil.iter_modules(r4b.__path__):
        mod = importlib.import_module(f"fhir.resources.R4B.{module.name}")
        cls = next((c for n, c in vars(mod).items() if n.lower() == module.name and isinstance(c, type)), None)
        if cls is not None and issubclass(cls, Resource) and cls.__name__ not in ("Resource", "DomainResource"):
            names.add(cls.__name__)
    assert R4_RESOURCE_TYPES - names == R4_ONLY_TYPES
    assert names - R4_RESOURCE_TYPES == R4B_ONLY_TYPES
    assert len(R4_RESOURCE_TYPES) == 146


def test_compartment_references() -> None:
    assert patient_id_of({"reference": "Patient/1"}) == "1"
    assert patient_id_of({"reference": "https://ehr.example/fhir/Patient/7/_history/3"}) == "7"
    assert patient_id_of({"reference": "Group/1"}) is None
    assert patient_id_of({"reference": "9", "type": "Patient"}) == "9"
    assert patient_id_of({"reference": "#contained"}) is None
    assert patient_id_of({"reference": "urn:uuid:x"}, {"urn:uuid:x": ("Patient", "p")}.get) == "p"
    group = {"resourceType": "Group", "id": "g", "member": [{"entity": {"reference": "Patient/a"}},
                                                            {"entity": {"reference": "Patient/b"}}]}
    assert compartment_patients(group) == ["a", "b"]
    provenance = {"resourceType": "Provenance", "id": "p", "target": [{"reference": "Encounter/e"}, {"reference": "Patient/a"}]}
    assert compartment_patients(provenance) == ["a"]
    appointment = {"resourceType": "Appointment", "id": "x", "participant": [{"actor": {"reference": "Patient/a"}},
                                                                            {"actor": {"reference": "Practitioner/d"}}]}
    assert compartment_patients(appointment) == ["a"]
    assert compartment_patients({"resourceType": "Device", "id": "d", "patient": {"reference": "Patient/a"}}) == []


def test_resource_in_two_compartments_is_in_both_records(tmp_path: Path) -> None:
    rows = [
        {"resourceType": "Patient", "id": "a"},
        {"resourceType": "Patient", "id": "b"},
        {"resourceType": "Group", "id": "twins", "type": "person", "actual": True,
         "member": [{"entity": {"reference": "Patient/a"}}, {"entity": {"reference": "Patient/b"}}]},
        {"resourceType": "Medication", "id": "m"},
    ]
    (tmp_path / "mixed.ndjson").write_text("".join(json.dumps(r) + "\n" for r in rows))
    with FileSource(tmp_path / "mixed.ndjson") as source:
        assert keys_of(source) == {"a": [("Group", "twins"), ("Patient", "a")], "b": [("Group", "twins"), ("Patient", "b")]}
        assert [r["id"] for r in source.shared_resources()] == ["m"]


def test_missing_and_empty_paths_are_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(DataSourceError, match="no such file or directory"):
        FileSource(tmp_path / "nope")
    (tmp_path / "notes.txt").write_text("not FHIR")
    with pytest.raises(DataSourceError, match="no FHIR data"):
        list(FileSource(tmp_path).patients())
    with pytest.raises(DataSourceError, match="server URL"):
        open_source(str(tmp_path), bulk=True)


# ---------------------------------------------------------------------------- CLI helpers


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_data_arguments(parser)
    return parser.parse_args(list(argv))


def test_cli_data_option_opens_files(monkeypatch: pytest.MonkeyPatch) -> None:
    require_synthetic()
    monkeypatch.setenv("PEDQM_BEARER_TOKEN", "set-for-servers")  # ignored for files
    source = open_data(parse("--data", str(SYNTHETIC / "pysynthea-generated")))
    assert isinstance(source, FileSource) and len(list(source.patients())) == 5


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--data", "fhir_fixtures", "--bearer-token", "t"], "only apply when --data is a server URL"),
        (["--data", "fhir_fixtures", "--bulk"], "only apply when --data is a server URL"),
        (["--data", "/no/such/dir"], "no such file or directory"),
        (["--data", "http://x/fhir", "--smart-client-id", "c"], "needs both --smart-client-id and --smart-key"),
        (["--data", "http://x/fhir", "--bearer-token", "t", "--smart-client-id", "c"], "not both"),
        (["--data", "http://x/fhir", "--smart-client-id", "c", "--smart-key", "/no/key.pem"], "no such file"),
        (["--data", "http://x/fhir", "--since", "2020-01-01"], "only apply with --bulk"),
        (["--data", "http://x/fhir", "--bulk", "--bulk-level", "group"], "needs --bulk-group"),
        (["--data", "http://x/fhir", "--bulk", "--page-size", "5"], "apply to searches"),
        (["--data", "http://x/fhir", "--page-size", "0"], "must be positive"),
    ],
)
def test_cli_bad_combinations(argv: list[str], message: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(Path(__file__).resolve().parents[2])
    monkeypatch.delenv("PEDQM_BEARER_TOKEN", raising=False)
    with pytest.raises(DataOptionsError, match=message):
        open_data(parse(*argv))


def test_cli_smart_key_must_match_algorithm(tmp_path: Path) -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    key = tmp_path / "ec256.pem"
    key.write_bytes(ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    with pytest.raises(DataOptionsError, match="P-384"):
        open_data(parse("--data", "http://x/fhir", "--smart-client-id", "c", "--smart-key", str(key)))

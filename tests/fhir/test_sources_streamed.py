"""Large Bundles are streamed entry by entry (issue 10 §6) and read exactly as when parsed whole:
the same patients with the same resources, the same shared resources and the same issues."""

from __future__ import annotations

import functools
import itertools
import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from pedqm.fhir.sources.files import FileSource

FIXTURES = Path(__file__).resolve().parents[2] / "fhir_fixtures"


@functools.cache
def _population() -> list[dict[str, Any]]:
    """The shared resources and the first 150 patients' resources of the population fixture."""
    with FileSource(FIXTURES / "population") as source:
        resources = list(source.shared_resources())
        for record in itertools.islice(source.patients(), 150):
            resources.extend(record.resources)
    return resources


def _bundle(resources: list[dict[str, Any]], urn: bool) -> dict[str, Any]:
    """A transaction Bundle; with `urn`, entries have urn:uuid fullUrls and Patient references use them."""
    entries = []
    for r in resources:
        entry: dict[str, Any] = {"resource": json.loads(json.dumps(r))}
        if urn:
            entry["fullUrl"] = f"urn:uuid:{r['resourceType']}-{r['id']}"
        entries.append(entry)
    if urn:
        for e in entries:
            subject = e["resource"].get("subject")
            if isinstance(subject, dict) and str(subject.get("reference", "")).startswith("Patient/"):
                subject["reference"] = "urn:uuid:Patient-" + subject["reference"].split("/", 1)[1]
    return {"resourceType": "Bundle", "type": "transaction", "entry": entries}


def _read(root: Path, **options: Any) -> tuple[dict[str, list[str]], list[str], list[str]]:
    with FileSource(root, **options) as source:
        patients = {r.patient_id: sorted(json.dumps(x, sort_keys=True) for x in r.resources) for r in source.patients()}
        shared = sorted(json.dumps(x, sort_keys=True) for x in source.shared_resources())
        issues = sorted(str(i) for i in source.issues)
    return patients, shared, issues


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("bundles")
    resources = _population()
    half = len(resources) // 2
    (root / "plain.json").write_text(json.dumps(_bundle(resources[:half], urn=False)))
    (root / "urn.json").write_text(json.dumps(_bundle(resources[half:], urn=True), indent=1))
    nested = {"resourceType": "Bundle", "type": "collection", "entry": [
        {"resource": _bundle(resources[:5], urn=True)}, {"request": {"method": "DELETE"}}, 7]}
    (root / "nested.json").write_text(json.dumps(nested))
    (root / "ndjson-saved-as.json").write_text("\n".join(json.dumps(r) for r in resources[:20]) + "\n")
    for name in ("bad-bundle.json", "truncated-bundle.json", "orphan-observation.json"):
        shutil.copy(FIXTURES / "malformed" / name, root / name)
    return root


def test_streamed_bundles_read_as_parsed_ones(data: Path) -> None:
    parsed = _read(data, stream_bytes=1 << 62)
    streamed = _read(data, stream_bytes=0)
    assert len(parsed[0]) > 50 and len(parsed[1]) > 10
    assert streamed[0] == parsed[0]
    assert streamed[1] == parsed[1]
    # the same problems are found; a streamed file's JSON errors have no line number
    assert [i.split(": ")[-1] for i in streamed[2] if "truncated" not in i] == \
        [i.split(": ")[-1] for i in parsed[2] if "truncated" not in i]
    assert any("truncated-bundle.json" in i for i in streamed[2])


def test_bundle_per_patient_streamed(tmp_path: Path) -> None:
    resources = _population()
    pid = next(r["id"] for r in resources if r["resourceType"] == "Patient")
    mine = [r for r in resources if r["resourceType"] == "Patient" and r["id"] == pid]
    mine += [r for r in resources if (r.get("subject") or {}).get("reference") == f"Patient/{pid}"]
    (tmp_path / "one.json").write_text(json.dumps(_bundle(mine, urn=True)))
    parsed = _read(tmp_path, bundle_per_patient=True, stream_bytes=1 << 62)
    assert _read(tmp_path, bundle_per_patient=True, stream_bytes=0) == parsed
    assert list(parsed[0]) == [pid] and len(parsed[0][pid]) == len(mine)

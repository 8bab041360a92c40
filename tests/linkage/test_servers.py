"""Linked sources give the same children and the same measure results whether read from files or
served by two real FHIR server processes (sekmet-fhir, as in tests/fhir/conftest.py): the
practice on one server, the school-based health centre on another, urgent care and the food bank
as files."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from pedqm.cli import main
from pedqm.fhir.sources import FileSource, RestSource
from pedqm.fhir.sources.provenance import NamedSource, sources_of
from pedqm.linkage import LinkedSource
from pedqm.measure import evaluate_measure
from pedqm.synth import SynthConfig
from pedqm.synth.sources import SOURCES, generate_sources

from ..fhir.conftest import SekmetServer, start_sekmet

pytestmark = pytest.mark.server
ROOT = Path(__file__).resolve().parents[2]
SERVED = ("practice", "school")
FIRST = ("Organization", "Practitioner", "PractitionerRole", "Patient")


def load_ndjson(server: SekmetServer, folder: Path) -> int:
    """Every resource of ``folder`` PUT by transaction (ids kept), shared resources first."""
    files = sorted(folder.glob("*.ndjson"), key=lambda p: (p.stem not in FIRST, FIRST.index(p.stem) if p.stem in FIRST else 0, p.name))
    n = 0
    for path in files:
        resources = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
        for i in range(0, len(resources), 300):
            chunk = resources[i:i + 300]
            server.post({"resourceType": "Bundle", "type": "transaction", "entry": [
                {"resource": r, "request": {"method": "PUT", "url": f"{r['resourceType']}/{r['id']}"}} for r in chunk]})
            n += len(chunk)
    return n


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, dict[str, SekmetServer]]]:
    data = tmp_path_factory.mktemp("linked-sources")
    generate_sources(SynthConfig(patients=80, seed=3, gzip=False), data)
    servers: dict[str, SekmetServer] = {}
    try:
        for name in SERVED:
            servers[name] = start_sekmet(tmp_path_factory.mktemp(f"sekmet-{name}"), {"validation": {"inbound": "off"}})
            load_ndjson(servers[name], data / name)
        yield data, servers
    finally:
        for server in servers.values():
            server.stop()


def _linked(data: Path, servers: dict[str, SekmetServer] | None) -> LinkedSource:
    named = []
    for s in SOURCES:
        source = RestSource(servers[s].base_url) if servers and s in servers else FileSource(data / s)
        named.append(NamedSource(s, source))
    return LinkedSource(named)


def _content(source: LinkedSource) -> dict[str, set[tuple[str, str, tuple[str, ...]]]]:
    return {r.patient_id: {(x["resourceType"], x["id"], tuple(sources_of(x))) for x in r.resources}
            for r in source.patients()}


def test_files_and_two_servers_link_and_merge_alike(served: tuple[Path, dict[str, SekmetServer]]) -> None:
    data, servers = served
    files, rest = _linked(data, None), _linked(data, servers)
    assert sorted(map(sorted, files.linkage.clusters)) == sorted(map(sorted, rest.linkage.clusters))
    assert _content(files) == _content(rest)
    assert sorted(map(repr, files.duplicates)) == sorted(map(repr, rest.duplicates))
    assert files.duplicates  # the school's copies of practice immunizations, the food bank's referral copies


@pytest.mark.parametrize("measure", ["adolescent-depression-screening", "childhood-immunization"])
def test_measure_results_are_the_same_from_files_and_servers(served: tuple[Path, dict[str, SekmetServer]],
                                                            measure: str) -> None:
    data, servers = served
    package = str(ROOT / "measure_library" / measure)
    a = evaluate_measure(package, _linked(data, None)).measure_report("summary")
    b = evaluate_measure(package, _linked(data, servers)).measure_report("summary")
    assert a["group"] == b["group"]


def test_cli_reads_named_server_and_file_sources(served: tuple[Path, dict[str, SekmetServer]],
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    data, servers = served
    argv = ["evaluate", "adolescent-depression-screening", "--format", "json", "--no-progress",
            f"--data=practice={servers['practice'].base_url}", f"--data=school={servers['school'].base_url}",
            f"--data=urgent-care={data / 'urgent-care'}", f"--data=cbo={data / 'cbo'}"]
    assert main(argv) == 0
    served_report = json.loads(capsys.readouterr().out)
    files_report = evaluate_measure(str(ROOT / "measure_library" / "adolescent-depression-screening"),
                                    _linked(data, None)).measure_report("summary")
    assert served_report["group"] == files_report["group"]

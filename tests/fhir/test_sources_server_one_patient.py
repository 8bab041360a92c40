"""One patient from a FHIR server (RestSource.patient_ids / .patient), and `pedqm serve` over a
FHIR server as its --data: a single-subject request fetches that patient only."""

from __future__ import annotations

from pathlib import Path

import pytest

from pedqm.fhir.records import PatientRecord
from pedqm.fhir.sources import FileSource, RestSource
from pedqm.measure import evaluate_measure

from .conftest import SYNTHETIC, SekmetServer
from .test_sources_server import SEKMET_UNINDEXED

pytestmark = pytest.mark.server


def _keys(record: PatientRecord) -> set[tuple[str, str]]:
    return {(r["resourceType"], r["id"]) for r in record.resources if r["resourceType"] not in SEKMET_UNINDEXED}


@pytest.mark.parametrize("strategy", ["everything", "search"])
def test_one_patient_equals_the_files(fhir_server: SekmetServer, strategy: str) -> None:
    with FileSource(SYNTHETIC) as files, RestSource(fhir_server.base_url, strategy=strategy) as server:  # type: ignore[arg-type]
        assert sorted(server.patient_ids()) == sorted(files.patient_ids())
        for pid in files.patient_ids()[:2]:
            expected, got = files.patient(pid), server.patient(pid)
            assert expected is not None and got is not None
            assert got.patient_id == pid and _keys(got) == _keys(expected)
        assert server.patient("no-such-patient") is None


def test_serve_over_a_fhir_server(fhir_server: SekmetServer, tmp_path: Path) -> None:
    from tests.server.conftest import Server

    measure = "child-adolescent-well-care"
    with FileSource(SYNTHETIC) as files:
        pid = files.patient_ids()[0]
        record = files.patient(pid)
        assert record is not None
        expected = evaluate_measure(measure, [record], ("2025-01-01", "2025-12-31")).measure_report("individual", pid)
    server = Server(["--data", fhir_server.base_url, "--page-size", "5"], tmp_path / "s.sqlite", tmp_path / "s.log").start()
    try:
        with server.client() as c:
            r = c.get(f"/Measure/{measure}/$evaluate-measure",
                      params={"periodStart": "2025-01-01", "periodEnd": "2025-12-31", "subject": f"Patient/{pid}"})
            assert r.status_code == 200, r.text
            assert r.json()["group"] == expected["group"]
            assert c.get("/Patient/no-such-patient").status_code == 404
    finally:
        server.stop()

"""A child on a practice's attribution list counts for the practice wherever its care happened
(issue 16): the list names children by member id, the practice and the school clinic each have
their own Patient ids, and care recorded only at the school closes the practice's measure."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from pedqm.cli import main

FIXTURE = Path(__file__).resolve().parents[1] / "measure" / "fixtures" / "boundary"
MEMBER = "urn:example:medicaid-member-id"


def _patient(pid: str, member: str, org: str | None = None) -> dict:
    p = {"resourceType": "Patient", "id": pid, "birthDate": "2015-01-01", "gender": "female",
         "identifier": [{"system": MEMBER, "value": member}]}
    if org:
        p["managingOrganization"] = {"reference": f"Organization/{org}"}
    return p


def _visit(eid: str, pid: str) -> dict:
    return {"resourceType": "Encounter", "id": eid, "status": "finished",
            "type": [{"coding": [{"system": "http://www.ama-assn.org/go/cpt", "code": "99213"}]}],
            "subject": {"reference": f"Patient/{pid}"},
            "period": {"start": "2025-03-01T10:00:00Z", "end": "2025-03-01T10:30:00Z"}}


def _write(folder: Path, *resources: dict) -> Path:
    folder.mkdir()
    bundle = {"resourceType": "Bundle", "type": "collection", "entry": [{"resource": r} for r in resources]}
    (folder / "data.json").write_text(json.dumps(bundle))
    return folder


def _entity_counts(out: str) -> dict[str, int]:
    reports = json.loads(out)
    counts = {}
    for r in reports:
        who = (r.get("reporter") or {}).get("reference") or (r.get("reporter") or {}).get("identifier", {}).get("value")
        ipp = next(p["count"] for p in r["group"][0]["population"]
                   if p["code"]["coding"][0]["code"] == "initial-population")
        counts[who or "overall"] = ipp
    return counts


@pytest.fixture
def sources(tmp_path: Path) -> tuple[Path, Path, Path]:
    practice = _write(tmp_path / "practice", _patient("pp1", "M1", "org-p01"))
    school = _write(tmp_path / "school", _patient("sch-7", "M1"), _visit("sv1", "sch-7"),
                    _patient("sch-9", "M2"), _visit("sv2", "sch-9"))
    listing = tmp_path / "attribution.csv"
    with listing.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["patient", "entity"])
        w.writerow([f"{MEMBER}|M1", "org-p01"])
        w.writerow([f"{MEMBER}|M2", "org-p01"])
    return practice, school, listing


def test_school_only_care_counts_for_the_attributed_practice(sources: tuple[Path, Path, Path],
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    practice, school, listing = sources
    code = main(["evaluate", str(FIXTURE), "--data", f"practice={practice}", "--attribution", str(listing),
                 "--format", "json", "--quiet"])
    alone = _entity_counts(capsys.readouterr().out)
    assert code == 0 and alone.get("org-p01", 0) == 0  # the practice's own record has no visit
    code = main(["evaluate", str(FIXTURE), "--data", f"practice={practice}", "--data", f"school={school}",
                 "--attribution", str(listing), "--format", "json", "--quiet"])
    together = _entity_counts(capsys.readouterr().out)
    assert code == 0
    # M1's visit happened only at the school; M2 is known only to the school: both are the practice's
    assert together["org-p01"] == 2 and together["overall"] == 2

"""`pedqm vet` on a synthetic population: counts checked against a direct reading of the generated
FHIR data (not through the measure engine), statistics against independent fits, HTML and JSON."""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from scipy import optimize, stats

from pedqm.cli import main
from pedqm.vet import vet_measure

from .conftest import MEASURE, VetRun

OFFICE = {"99213", "99214"}


def truth(data: Path) -> dict[str, dict[str, int]]:
    """Per practice (known from the generator's ids): initial population, exclusions, denominator
    and numerator, read straight from the JSON the way the fixture measure defines them."""
    out: dict[str, Counter[str]] = {}
    for f in sorted(data.glob("*.json")):
        entries = [e["resource"] for e in json.loads(f.read_text())["entry"]]
        patient = entries[0]
        if patient["resourceType"] != "Patient":
            continue
        practice = patient["id"].rsplit("-", 1)[0]
        c = out.setdefault(practice, Counter())
        y, m, d = (int(v) for v in patient["birthDate"].split("-"))
        age = 2025 - y - ((12, 31) < (m, d))
        visit = any(r["resourceType"] == "Encounter" and r["status"] == "finished"
                    and r["type"][0]["coding"][0]["code"] in OFFICE and r["period"]["start"].startswith("2025")
                    for r in entries)
        if not (3 <= age <= 17 and visit):
            continue
        c["ip"] += 1
        if any(r["resourceType"] == "Condition" and r["code"]["coding"][0]["code"] == "Z51.5" for r in entries):
            c["denex"] += 1
            continue
        c["n"] += 1
        c["x"] += any(r["resourceType"] == "Observation" for r in entries)
    return {k: dict(v) for k, v in out.items()}


def test_run_succeeds_and_writes_both_files(vet_run: VetRun) -> None:
    assert vet_run.exit_code == 0
    html = vet_run.html.read_text(encoding="utf-8")
    assert html.startswith("<!DOCTYPE html>")
    for plot in ("funnel", "caterpillar", "reliability-histogram", "strata", "calibration"):
        assert f'data-plot="{plot}"' in html
    assert not re.search(r'(src|href)="(https?:)?//', html), "the report must not load anything from elsewhere"
    assert "Adams JL" in html and "Spiegelhalter" in html and "Wilson EB" in html


def test_counts_match_the_data(vet_run: VetRun) -> None:
    expected = truth(vet_run.data)
    g = vet_run.result["groups"][0]
    assert g["flow"]["initial-population"] == sum(v.get("ip", 0) for v in expected.values())
    assert g["flow"]["denominator-exclusion"] == sum(v.get("denex", 0) for v in expected.values())
    assert g["n"] == sum(v.get("n", 0) for v in expected.values())
    assert g["x"] == sum(v.get("x", 0) for v in expected.values())
    rows = {e["entity"]: e for e in g["entities"]}
    assert set(rows) == set(expected)
    for practice, c in expected.items():
        e = rows[practice]
        assert e["n"] == c.get("n", 0)
        if e["suppressed"]:
            assert e["n"] < 30 and e["rate"] is None and e["x"] is None
        else:
            assert e["x"] == c["x"]
            assert e["rate"] == pytest.approx(c["x"] / c["n"])


def test_reliability_matches_an_independent_fit_on_the_true_counts(vet_run: VetRun) -> None:
    expected = truth(vet_run.data)
    xs = np.array([c["x"] for c in expected.values()])
    ns = np.array([c["n"] for c in expected.values()])

    def nll(theta: np.ndarray) -> float:
        return -float(stats.betabinom.logpmf(xs, ns, *np.exp(theta)).sum())

    a, b = np.exp(optimize.minimize(nll, np.zeros(2), method="Nelder-Mead",
                                    options={"xatol": 1e-10, "fatol": 1e-12, "maxiter": 20000}).x)
    g = vet_run.result["groups"][0]
    assert g["beta_binomial"]["alpha"] == pytest.approx(a, rel=5e-3)
    assert g["beta_binomial"]["beta"] == pytest.approx(b, rel=5e-3)
    for e in g["entities"]:
        assert e["reliability"] == pytest.approx(e["n"] / (e["n"] + a + b), rel=5e-3)


def test_value_set_hit_rate_matches_the_data(vet_run: VetRun) -> None:
    total = matched = 0
    for f in vet_run.data.glob("*.json"):
        for e in json.loads(f.read_text())["entry"]:
            r = e["resource"]
            if r["resourceType"] == "Encounter":
                total += 1
                matched += r["type"][0]["coding"][0]["code"] in OFFICE
    hits = {t["resource_type"]: t for t in vet_run.result["diagnostics"]["value_set_hits"]}
    enc = hits["Encounter"]
    assert (enc["resources"], enc["matched"]) == (total, matched)
    assert enc["top_unmatched_codes"][0]["code"].startswith("http://www.ama-assn.org/go/cpt|99212")


def test_attribution_is_stated(vet_run: VetRun) -> None:
    att = vet_run.result["attribution"]
    assert att["by"] == "practice" and "generalPractitioner" in att["rule"]
    assert set(att["methods"]) == {"Patient.generalPractitioner", "Patient.managingOrganization", "most encounters"}


def test_by_clinician_and_by_list(population_dir: Path, tmp_path: Path) -> None:
    by_doc = vet_measure(MEASURE, str(population_dir), "clinician")
    entities = {e.entity for e in by_doc.groups[0].entities}
    assert entities and all(re.fullmatch(r"[a-z]+-dr[12]", e) for e in entities)
    listing = tmp_path / "attribution.csv"
    rows = ["patient,entity"] + [f"Patient/{f.stem},{'odd' if i % 2 else 'even'}"
                                 for i, f in enumerate(sorted(population_dir.glob("*.json"))) if f.stem != "organizations"]
    listing.write_text("\n".join(rows) + "\n", encoding="utf-8")
    out = tmp_path / "r.html"
    assert main(["vet", str(MEASURE), "--data", str(population_dir), "--by", str(listing), "--output", str(out),
                 "--min-n", "10", "--interval", "jeffreys"]) == 0
    by_list = vet_measure(MEASURE, str(population_dir), listing, min_n=10)
    assert {e.entity for e in by_list.groups[0].entities} == {"odd", "even"}
    assert by_list.attribution["methods"] == {"attribution list": len(rows) - 1}


def test_usage_errors(population_dir: Path, tmp_path: Path) -> None:
    assert main(["vet", str(MEASURE), "--data", str(population_dir), "--by", str(tmp_path / "missing.csv")]) == 2
    assert main(["vet", str(tmp_path / "nope"), "--data", str(population_dir)]) == 2


def test_diagnostics_say_which_logic_fired(vet_run: VetRun) -> None:
    """Population clause coverage (issue 14) in vet's diagnostics: every definition's true count
    among the patients it decides, checked against the direct reading of the data."""
    cov = vet_run.result["diagnostics"]["clause_coverage"]
    counts = truth(vet_run.data)
    ip = sum(c.get("ip", 0) for c in counts.values())
    rows = {d["name"]: d for d in cov["definitions"]}
    assert rows["Initial Population"]["true"] == ip
    assert rows["Denominator Exclusion"] == {**rows["Denominator Exclusion"], "true": sum(c.get("denex", 0) for c in counts.values()),
                                             "counted": ip}
    assert rows["Numerator"]["true"] == sum(c.get("x", 0) for c in counts.values())
    assert cov["covered"] <= cov["clauses"] and cov["patients"] == vet_run.result["patients"]
    assert "Logic that fired" in vet_run.html.read_text(encoding="utf-8")

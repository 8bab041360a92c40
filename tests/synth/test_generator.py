"""The synthetic population generator: reproducible, well-formed, attributed, and as prevalent as
configured. Expectations come from the configuration and from reading the files back, never from
the generator's internal state."""

from __future__ import annotations

import csv
import datetime as _dt
import gzip
import hashlib
import json
import math
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from pedqm.chronic import classify_codes
from pedqm.cli import main
from pedqm.fhir.sources import open_source
from pedqm.synth import (
    PRACTICES_CSV,
    GenerationSummary,
    Prevalence,
    SynthConfig,
    default_practices,
    generate,
    read_practices_csv,
)
from pedqm.synth.codes import CCC_DIAGNOSES, CDC_RACE_ETH, SOPT, US_CORE_ETHNICITY, US_CORE_RACE
from pedqm.synth.config import PREVALENCE_AGES, roster_sizes
from pedqm.synth.stats import PopulationStats, population_stats

ROOT = Path(__file__).resolve().parents[2]
COMMITTED = ROOT / "fhir_fixtures" / "population"
START, END = _dt.date(2023, 1, 1), _dt.date(2025, 12, 31)
PATIENTS = 1500
Resource = dict[str, Any]


def digests(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


def read_ndjson(folder: Path) -> Iterator[tuple[str, int, str]]:
    for path in sorted(folder.glob("*.ndjson*")):
        opener = gzip.open if path.name.endswith(".gz") else open
        with opener(path, "rt", encoding="utf-8") as f:
            for n, line in enumerate(f, 1):
                yield path.name, n, line


@pytest.fixture(scope="module")
def population(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, GenerationSummary]:
    out = tmp_path_factory.mktemp("population")
    return out, generate(SynthConfig(patients=PATIENTS, seed=11, gzip=False), out)


@pytest.fixture(scope="module")
def resources(population: tuple[Path, GenerationSummary]) -> dict[str, list[Resource]]:
    by_type: dict[str, list[Resource]] = defaultdict(list)
    for name, n, line in read_ndjson(population[0]):
        res = json.loads(line)
        assert isinstance(res, dict), f"{name}:{n} is not a JSON object"
        assert name.startswith(f"{res['resourceType']}.ndjson"), f"{name}:{n} holds a {res['resourceType']}"
        by_type[res["resourceType"]].append(res)
    return by_type


@pytest.fixture(scope="module")
def stats(population: tuple[Path, GenerationSummary]) -> PopulationStats:
    return population_stats(population[0], chronic=("ccc-v3", "pmca"))


def _refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        if isinstance(node.get("reference"), str):
            yield node["reference"]
        for value in node.values():
            yield from _refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from _refs(value)


def _se(p: float, n: int) -> float:
    return math.sqrt(p * (1 - p) / n)


# ------------------------------------------------------------------ reproducibility
def test_same_seed_gives_identical_files_and_another_seed_does_not(tmp_path: Path) -> None:
    runs = {}
    for name, seed in (("a", 5), ("b", 5), ("c", 6)):
        generate(SynthConfig(patients=200, seed=seed), tmp_path / name)
        runs[name] = digests(tmp_path / name)
    assert runs["a"] == runs["b"]
    assert "Patient.ndjson.gz" in runs["a"] and PRACTICES_CSV in runs["a"]
    differing = [f for f in runs["a"] if f.endswith(".gz") and runs["a"][f] != runs["c"][f]]
    assert {"Patient.ndjson.gz", "Encounter.ndjson.gz", "Immunization.ndjson.gz"} <= set(differing)


def test_a_child_does_not_change_when_the_population_grows(tmp_path: Path) -> None:
    """Per-child random streams: the first practice's first patients are the same at any size."""
    small = generate(SynthConfig(patients=1500, seed=3, gzip=False), tmp_path / "small")
    large = generate(SynthConfig(patients=1550, seed=3, gzip=False), tmp_path / "large")
    assert small.practices[0].size != large.practices[0].size  # the large practices absorb the growth
    lines = [(tmp_path / d / "Patient.ndjson").read_text().splitlines()[:20] for d in ("small", "large")]
    assert lines[0] == lines[1]


# ------------------------------------------------------------------ well-formed
def test_every_resource_has_an_id_and_every_reference_resolves(resources: dict[str, list[Resource]]) -> None:
    known = set()
    for rtype, items in resources.items():
        ids = [r["id"] for r in items]
        assert all(isinstance(i, str) and i for i in ids), rtype
        assert len(ids) == len(set(ids)), f"duplicate {rtype} ids"
        known.update(f"{rtype}/{i}" for i in ids)
    dangling = Counter(ref for items in resources.values() for r in items for ref in _refs(r) if ref not in known)
    assert not dangling, dangling.most_common(5)
    patients = {f"Patient/{p['id']}" for p in resources["Patient"]}
    for rtype, subject in (("Encounter", "subject"), ("Condition", "subject"), ("Observation", "subject"),
                           ("Procedure", "subject"), ("MedicationRequest", "subject"), ("Immunization", "patient"),
                           ("Coverage", "beneficiary"), ("ServiceRequest", "subject")):
        assert resources[rtype], f"no {rtype} generated"
        assert all(r[subject]["reference"] in patients for r in resources[rtype]), rtype


def test_the_file_source_reads_everything_and_skips_nothing(population: tuple[Path, GenerationSummary]) -> None:
    out, summary = population
    source = open_source(out)
    records = list(source.patients())
    assert source.issues == []
    assert len(records) == PATIENTS and all(r.patient is not None for r in records)
    in_records = sum(len(r.resources) for r in records)
    assert in_records + len(source.shared_resources()) == summary.resources


def test_resources_validate_against_the_fhir_models(resources: dict[str, list[Resource]]) -> None:
    """A sample of every type through fhir.resources (R4B, whose models match R4 for these types)."""
    r4b = pytest.importorskip("fhir.resources.R4B")
    import importlib

    for rtype, items in resources.items():
        model = getattr(importlib.import_module(f"{r4b.__name__}.{rtype.lower()}"), rtype)
        step = max(1, len(items) // 40)
        for res in items[::step]:
            model.model_validate(res)


def test_dates_lie_in_the_window_and_after_birth(resources: dict[str, list[Resource]]) -> None:
    birth = {p["id"]: _dt.date.fromisoformat(p["birthDate"]) for p in resources["Patient"]}

    def day(value: str) -> _dt.date:
        return _dt.date.fromisoformat(value[:10])

    checks = (("Encounter", "subject", lambda r: r["period"]["start"]),
              ("Observation", "subject", lambda r: r["effectiveDateTime"]),
              ("Procedure", "subject", lambda r: r["performedDateTime"]),
              ("MedicationRequest", "subject", lambda r: r["authoredOn"]))
    for rtype, subject, when in checks:
        for r in resources[rtype]:
            d = day(when(r))
            assert START <= d <= END, (rtype, r["id"], d)
            assert d >= birth[r[subject]["reference"].split("/")[1]], (rtype, r["id"])
    for r in resources["Immunization"]:  # history before the window comes from the registry
        d = day(r["occurrenceDateTime"])
        assert birth[r["patient"]["reference"].split("/")[1]] <= d <= END
        assert r["primarySource"] is (d >= START)
    for r in resources["Encounter"]:
        if "end" in r["period"]:
            assert r["period"]["end"] >= r["period"]["start"], r["id"]
        else:
            assert r["status"] == "in-progress" and r["class"]["code"] == "IMP"


def test_ccc_codes_are_complex_chronic_conditions_in_ccc_v3() -> None:
    for d in CCC_DIAGNOSES:
        result = classify_codes("x", [(10, "dx", d.code.code)], "ccc-v3")
        assert result.flags["ccc_flag"] == 1, d.code.code
        assert result.flags[d.category] == 1, (d.code.code, d.category)


# ------------------------------------------------------------------ practices and attribution
def test_default_roster_has_small_medium_and_large_practices() -> None:
    practices = default_practices(3000, seed=1)
    sizes = sorted(p.size for p in practices)
    assert sum(sizes) == 3000
    assert sum(1 for s in sizes if 20 <= s <= 60) >= 5
    assert sum(1 for s in sizes if 150 <= s <= 400) >= 3
    assert 1 <= sum(1 for s in sizes if s >= 500) <= 2
    for n in (14, 100, 1499, 1500, 5000, 30000):
        assert sum(roster_sizes(n)) == n and min(roster_sizes(n)) >= 1
    assert roster_sizes(30000)[-1] == 20  # small practices stay small
    with pytest.raises(ValueError):
        roster_sizes(5)


def test_practices_have_their_configured_sizes_and_attribution(
        resources: dict[str, list[Resource]], population: tuple[Path, GenerationSummary]) -> None:
    _, summary = population
    orgs = {o["id"]: o for o in resources["Organization"]}
    practice_of_org = {oid: o["identifier"][0]["value"] for oid, o in orgs.items() if o.get("identifier")}
    role_org = {r["practitioner"]["reference"]: r["organization"]["reference"] for r in resources["PractitionerRole"]}
    sizes: Counter[str] = Counter()
    for p in resources["Patient"]:
        org_ref = p["managingOrganization"]["reference"]
        org = orgs[org_ref.split("/")[1]]
        assert org["name"] and org["identifier"]
        sizes[practice_of_org[org["id"]]] += 1
        (pcp,) = p["generalPractitioner"]
        assert role_org[pcp["reference"]] == org_ref, "the clinician belongs to the patient's practice"
    assert sizes == {p.id: p.size for p in summary.practices}
    on_disk = {row["id"]: int(row["size"]) for row in csv.DictReader((population[0] / PRACTICES_CSV).open())}
    assert on_disk == dict(sizes)


def test_encounters_are_mostly_at_the_practice_and_hospital_care_is_elsewhere(
        resources: dict[str, list[Resource]]) -> None:
    practice = {f"Patient/{p['id']}": p["managingOrganization"]["reference"] for p in resources["Patient"]}
    at_practice = Counter()
    for e in resources["Encounter"]:
        home = e["serviceProvider"]["reference"] == practice[e["subject"]["reference"]]
        at_practice[home] += 1
        if e["class"]["code"] in ("EMER", "IMP"):
            assert not home
    share = at_practice[True] / sum(at_practice.values())
    assert 0.75 <= share < 0.99


def test_patients_carry_race_ethnicity_and_payer(resources: dict[str, list[Resource]],
                                                 population: tuple[Path, GenerationSummary]) -> None:
    omb = {"1002-5", "2028-9", "2054-5", "2076-8", "2106-3", "2135-2", "2186-5"}
    for p in resources["Patient"]:
        by_url = {e["url"]: e for e in p["extension"]}
        for url in (US_CORE_RACE, US_CORE_ETHNICITY):
            parts = by_url[url]["extension"]
            assert any(x["url"] == "text" for x in parts)
            for x in parts:
                if x["url"] == "ombCategory":
                    assert x["valueCoding"]["system"] == CDC_RACE_ETH and x["valueCoding"]["code"] in omb
    current = {c["beneficiary"]["reference"]: c for c in resources["Coverage"] if "end" not in c["period"]}
    assert len(current) == PATIENTS
    payer = Counter(c["type"]["coding"][0]["code"] for c in current.values())
    assert all(c["type"]["coding"][0]["system"] == SOPT for c in current.values())
    assert set(payer) == {"2", "5", "81"}
    practices = population[1].practices
    expected = sum(p.size * p.medicaid_share for p in practices) / PATIENTS
    assert abs(payer["2"] / PATIENTS - expected) <= 4 * _se(expected, PATIENTS)


# ------------------------------------------------------------------ prevalence and care gaps
@pytest.mark.parametrize("key", sorted(k for k in PREVALENCE_AGES if getattr(Prevalence(), k) >= 0.01))
def test_prevalence_is_within_tolerance_of_the_configured_rate(stats: PopulationStats, key: str) -> None:
    configured = getattr(Prevalence(), key)
    rate = stats.prevalence[key]
    assert rate.denominator > 200
    assert abs(rate.numerator / rate.denominator - configured) <= 4 * _se(configured, rate.denominator) + 0.003, \
        (key, configured, str(rate))


def test_obesity_by_bmi_percentile_and_ccc_by_the_chronic_layer(stats: PopulationStats) -> None:
    prev = Prevalence()
    obesity = stats.prevalence["obesity"]
    assert abs(obesity.value - prev.obesity) <= 4 * _se(prev.obesity, obesity.denominator)  # type: ignore[operator]
    flagged = stats.chronic["ccc-v3"]["ccc"] / stats.patients
    assert abs(flagged - prev.ccc) <= 4 * _se(prev.ccc, stats.patients)


@pytest.mark.parametrize("name", ["well_visit", "immunization", "lead_screening", "depression_screening",
                                  "bmi_percentile", "strep_testing", "fluoride_varnish"])
def test_care_rates_match_the_practices_configuration(stats: PopulationStats,
                                                      population: tuple[Path, GenerationSummary], name: str) -> None:
    practices = population[1].practices
    pooled = stats.care_rate(name)
    assert pooled.denominator >= 60, name
    expected = sum(getattr(p.care, name) * stats.care_rate(name, p.id).denominator for p in practices) \
        / pooled.denominator
    assert abs(pooled.numerator / pooled.denominator - expected) <= 4 * _se(expected, pooled.denominator) + 0.005


def test_practice_level_rates_differ_as_configured(stats: PopulationStats,
                                                   population: tuple[Path, GenerationSummary]) -> None:
    practices = [p for p in population[1].practices if stats.care_rate("well_visit", p.id).denominator >= 100]
    low = min(practices, key=lambda p: p.care.well_visit)
    high = max(practices, key=lambda p: p.care.well_visit)
    configured_gap = high.care.well_visit - low.care.well_visit
    assert configured_gap >= 0.1
    achieved_gap = stats.care_rate("well_visit", high.id).value - stats.care_rate("well_visit", low.id).value  # type: ignore[operator]
    assert achieved_gap >= configured_gap / 2


def test_chronic_children_show_in_the_chronic_layer(stats: PopulationStats) -> None:
    """PMCA (more conservative) needs a body system on two encounters: chronic care provides them."""
    labels = stats.chronic["pmca"]
    complex_share = labels["complex_chronic"] / PATIENTS
    chronic_share = (labels["complex_chronic"] + labels["noncomplex_chronic"]) / PATIENTS
    assert 0.03 <= complex_share <= 0.10
    assert 0.15 <= chronic_share <= 0.35
    assert labels["no_icd_data"] / PATIENTS < 0.05


# ------------------------------------------------------------------ configuration and CLI
def test_practices_csv_round_trips_and_configures_a_run(tmp_path: Path) -> None:
    assert main(["synth", "--out", str(tmp_path / "a"), "--patients", "150", "--seed", "4", "--no-gzip"]) == 0
    practices = read_practices_csv(tmp_path / "a" / PRACTICES_CSV)
    assert practices == default_practices(150, 4)
    assert main(["synth", "--out", str(tmp_path / "b"), "--practices", str(tmp_path / "a" / PRACTICES_CSV),
                 "--seed", "4", "--no-gzip"]) == 0
    assert digests(tmp_path / "a") == digests(tmp_path / "b")
    # a different configuration changes the data
    changed = tuple(replace(p, care=replace(p.care, well_visit=0.2)) if p.id == "P01" else p for p in practices)
    generate(SynthConfig(patients=150, seed=4, gzip=False, practices=changed), tmp_path / "c")
    assert digests(tmp_path / "c")["Encounter.ndjson"] != digests(tmp_path / "a")["Encounter.ndjson"]


def test_cli_rejects_bad_configuration(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["synth", "--out", str(tmp_path / "x"), "--patients", "5"]) == 2
    bad = tmp_path / "bad.csv"
    bad.write_text("id,name\nP01,Somewhere\n")
    assert main(["synth", "--out", str(tmp_path / "y"), "--practices", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "need at least 14 patients" in err and "missing" in err
    assert not (tmp_path / "x").exists() and not (tmp_path / "y").exists()


def test_switching_compression_leaves_one_file_per_type(tmp_path: Path) -> None:
    generate(SynthConfig(patients=60, seed=1), tmp_path)
    generate(SynthConfig(patients=60, seed=1, gzip=False), tmp_path)
    assert not list(tmp_path.glob("*.gz"))
    assert open_source(tmp_path).patient_ids() and len(list(open_source(tmp_path).patients())) == 60


@pytest.mark.slow
def test_committed_population_is_reproduced_by_its_readme_command(tmp_path: Path) -> None:
    """fhir_fixtures/population is exactly what `pedqm synth --out DIR` (defaults) writes."""
    if not COMMITTED.is_dir():
        pytest.skip("fhir_fixtures/population not generated")
    assert main(["synth", "--out", str(tmp_path)]) == 0
    committed = {k: v for k, v in digests(COMMITTED).items() if k != "README.md"}
    assert digests(tmp_path) == committed

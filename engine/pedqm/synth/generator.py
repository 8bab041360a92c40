"""The generator's entry point: practices → children → charts → NDJSON files.

Each child has its own random stream, seeded from the run's seed and the child's id, so a child's
record does not change when another part of the population does (and a run is reproducible
byte for byte from its seed and configuration).
"""

from __future__ import annotations

import datetime as _dt
import random
import time
from dataclasses import dataclass, field
from pathlib import Path

from ..fhir.sources.partition import COMMON_DIR, partition_of, shard_name
from . import codes as C
from .config import GENERATOR_VERSION, Practice, SynthConfig, write_practices_csv
from .directory import PAYERS, Directory, build_directory
from .fhir import Resource, coding, ref
from .history import Chart, build_history
from .names import person_name
from .patient import Child, age_weights, assign_conditions, birth_date, draw_payer, draw_race
from .writer import NdjsonWriter

PRACTICES_CSV = "practices.csv"


@dataclass
class GenerationSummary:
    """What a run wrote."""

    config: SynthConfig
    practices: tuple[Practice, ...]
    files: dict[str, tuple[int, int]]  # file name -> (resources, bytes)
    patients_by_practice: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def resources(self) -> int:
        return sum(n for n, _ in self.files.values())

    @property
    def bytes(self) -> int:
        return sum(b for _, b in self.files.values())

    def describe(self) -> str:
        lines = [f"pedqm synth {GENERATOR_VERSION}: {self.config.patients} patients, seed {self.config.seed}, "
                 f"{len(self.practices)} practices, {self.resources} resources, {self.bytes / 1e6:.1f} MB "
                 f"in {self.seconds:.1f} s"]
        if self.config.shards > 1:  # per resource type over all shards: K x 12 lines say nothing more
            by_type: dict[str, list[int]] = {}
            for name, (n, b) in self.files.items():
                totals = by_type.setdefault(name.rsplit("/", 1)[-1], [0, 0])
                totals[0] += n
                totals[1] += b
            lines.append(f"  patient-partitioned: {self.config.shards} shards (shard-000/ ...) and common/")
            lines += [f"  {name}: {n} resources, {b / 1e6:.2f} MB" for name, (n, b) in sorted(by_type.items())]
        else:
            lines += [f"  {name}: {n} resources, {b / 1e6:.2f} MB" for name, (n, b) in sorted(self.files.items())]
        return "\n".join(lines)


def _payer_org(payer: str, rng: random.Random) -> str | None:
    if payer == "medicaid":
        return "org-payer-medicaid"
    if payer == "private":
        return rng.choice([oid for oid, (_, kind) in PAYERS.items() if kind == "private"])
    return None


def make_child(pid: str, practice: Practice, directory: Directory, config: SynthConfig, rng: random.Random,
               medicaid_share: float) -> Child:
    age = rng.choices(range(22), age_weights(config))[0]
    birth = birth_date(rng, config.end, age)
    sex = "male" if rng.random() < 0.51 else "female"
    races, hispanic = draw_race(rng, practice.setting)
    payer = draw_payer(rng, practice)
    earlier, switch = None, None
    if rng.random() < 0.06 and birth < _dt.date(config.end.year - 1, 1, 1):
        earlier = "private" if payer == "medicaid" else "medicaid"
        switch = _dt.date(config.end.year - 1, 1, 1) + _dt.timedelta(days=rng.randint(0, 364))
    team = directory.clinicians[practice.id]
    given, family = person_name(rng, sex)
    child = Child(pid=pid, practice=practice, birth=birth, sex=sex, races=races, hispanic=hispanic, payer=payer,
                  earlier_payer=earlier, switch_date=switch, pcp=team[int(rng.random() * len(team))],
                  engagement=rng.gauss(0.0, 1.0), given=given, family=family)
    assign_conditions(child, rng, config, medicaid_share)
    return child


def _race_extension(child: Child) -> Resource:
    parts: list[Resource] = []
    for key in child.races:
        code, display = C.RACE_CODES[key]
        parts.append({"url": "ombCategory", "valueCoding": coding(C.CDC_RACE_ETH, code, display)})
    text = ", ".join(C.RACE_CODES[k][1] for k in child.races) or "Unknown"
    return {"url": C.US_CORE_RACE, "extension": [*parts, {"url": "text", "valueString": text}]}


def _ethnicity_extension(child: Child) -> Resource:
    if child.hispanic is None:
        return {"url": C.US_CORE_ETHNICITY, "extension": [{"url": "text", "valueString": "Unknown"}]}
    code, display = C.HISPANIC if child.hispanic else C.NOT_HISPANIC
    return {"url": C.US_CORE_ETHNICITY, "extension": [
        {"url": "ombCategory", "valueCoding": coding(C.CDC_RACE_ETH, code, display)},
        {"url": "text", "valueString": display}]}


def patient_resource(child: Child, directory: Directory) -> Resource:
    return {
        "resourceType": "Patient", "id": child.pid,
        "extension": [_race_extension(child), _ethnicity_extension(child)],
        "identifier": [{"system": f"{C.SID_MRN}/{child.practice.id}", "value": child.pid.split("-")[-1]}],
        "active": True,
        "name": [{"family": child.family, "given": [child.given]}],
        "gender": child.sex,
        "birthDate": child.birth.isoformat(),
        "generalPractitioner": [ref("Practitioner", child.pcp)],
        "managingOrganization": ref("Organization", directory.practice_org[child.practice.id]),
    }


def coverage_resources(child: Child, config: SynthConfig, rng: random.Random) -> list[Resource]:
    """Coverage at the end of the window, and the earlier one when the child switched payer."""
    periods: list[tuple[str, _dt.date, _dt.date | None]] = []
    enrolled = max(child.birth, _dt.date(config.start.year - rng.randint(0, 5), 1, 1))
    if child.earlier_payer and child.switch_date:
        periods.append((child.earlier_payer, enrolled, child.switch_date - _dt.timedelta(days=1)))
        periods.append((child.payer, child.switch_date, None))
    else:
        periods.append((child.payer, enrolled, None))
    out = []
    for k, (payer, start, end) in enumerate(periods, 1):
        code, text = C.PAYER_TYPES[payer]
        org = _payer_org(payer, rng)
        period: dict[str, str] = {"start": start.isoformat()}
        if end is not None:
            period["end"] = end.isoformat()
        relationship = "self" if child.age_on(config.end) >= 18 else "child"
        out.append({
            "resourceType": "Coverage", "id": f"{child.pid}-cov{k}",
            "status": "active",
            "type": {"coding": [{"system": C.SOPT, "code": code}], "text": text},
            "subscriberId": f"{child.pid.split('-')[-1]}{k:02d}",
            "beneficiary": ref("Patient", child.pid),
            "relationship": {"coding": [coding(C.SUBSCRIBER_RELATIONSHIP, relationship)]},
            "period": period,
            "payor": [ref("Organization", org) if org else ref("Patient", child.pid)],
        })
    return out


def generate(config: SynthConfig, out: Path) -> GenerationSummary:
    """Write the population described by ``config`` to ``out`` (NDJSON plus practices.csv)."""
    started = time.perf_counter()
    practices = config.resolved_practices()
    directory = build_directory(practices, config.seed)
    medicaid_share = sum(p.size * p.medicaid_share for p in practices) / sum(p.size for p in practices)
    if config.shards < 1:
        raise ValueError(f"shards must be at least 1, got {config.shards}")
    sharded = config.shards > 1
    common = NdjsonWriter(out / COMMON_DIR if sharded else out, compress=config.gzip)
    shards = [NdjsonWriter(out / shard_name(k), compress=config.gzip) for k in range(config.shards)] if sharded \
        else [common]
    counts: dict[str, int] = {}
    try:
        for res in directory.resources:
            common.write(res)
        width = max(5, len(str(config.patients)))
        n = 0
        for practice in practices:
            counts[practice.id] = practice.size
            for _ in range(practice.size):
                n += 1
                pid = f"pt-{n:0{width}d}"
                rng = random.Random(f"pedqm-synth/{config.seed}/{pid}")
                child = make_child(pid, practice, directory, config, rng, medicaid_share)
                chart = Chart(child, config, directory, rng)
                build_history(chart)
                writer = shards[partition_of(pid, config.shards)]
                writer.write(patient_resource(child, directory))
                for res in coverage_resources(child, config, rng):
                    writer.write(res)
                for res in sorted(chart.resources, key=_chronological):
                    writer.write(res)
    finally:
        files = _close_all(out, common, shards if sharded else [])
    write_practices_csv(practices, out / PRACTICES_CSV)
    return GenerationSummary(config, practices, files, counts, time.perf_counter() - started)


def _close_all(out: Path, common: NdjsonWriter, shards: list[NdjsonWriter]) -> dict[str, tuple[int, int]]:
    """Every writer closed; files named relative to ``out`` (``shard-003/Patient.ndjson.gz``)."""
    files: dict[str, tuple[int, int]] = {}
    for writer in [common, *shards]:
        prefix = "" if writer.out == out else f"{writer.out.name}/"
        for name, figures in writer.close().items():
            files[prefix + name] = figures
    return files


def _chronological(res: Resource) -> tuple[str, str]:
    """Within a patient, resources in date order (then id), as an EHR export would list them."""
    when = res.get("period", {}).get("start") or res.get("effectiveDateTime") or res.get("occurrenceDateTime") \
        or res.get("performedDateTime") or res.get("authoredOn") or res.get("recordedDate") or ""
    return str(when), res["id"]


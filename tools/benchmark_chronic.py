"""Chronic-condition layer benchmark (a script, not a timed test).

Synthetic patients, each a FHIR PatientRecord with about ten ICD codes spread over Conditions
(encounter diagnoses on Encounters), Procedures and a Claim, go through the whole per-patient
path: extraction from FHIR JSON, the lookback window, the algorithm and its explanations. Records
are generated on the fly (as a streaming source yields them), so peak memory is the layer's own.
The generation cost is measured alone and reported, then included in the totals (a conservative
figure). The issue's bar: 100,000 patients in under a minute per algorithm, one process.

Usage: python tools/benchmark_chronic.py [--patients N] [--codes K] [--algorithms ccc-v2,ccc-v3,pmca,ccir]
"""

from __future__ import annotations

import argparse
import datetime as _dt
import random
import resource
import sys
import time
import tracemalloc
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "engine"))

from pedqm.chronic import classify_records  # noqa: E402
from pedqm.chronic.codelists import ccc_table, ccir_table, pmca_table  # noqa: E402
from pedqm.fhir.records import PatientRecord  # noqa: E402

ICD10CM = "http://hl7.org/fhir/sid/icd-10-cm"
ICD10PCS = "http://www.cms.gov/Medicare/Coding/ICD10"
AS_OF = _dt.date(2025, 12, 31)


def code_pools(seed: int) -> tuple[list[str], list[str], list[str]]:
    """Diagnosis codes: a mix of CCC, PMCA-only and common non-chronic codes; PCS procedures."""
    rng = random.Random(seed)
    ccc_dx = sorted(k[2] for k in ccc_table("3.0") if k[0] == 10 and k[1] == "dx")
    pmca_dx = sorted(c for (v, c) in pmca_table() if v == 10)
    other_dx = sorted(c for c in ccir_table())
    pcs = sorted(k[2] for k in ccc_table("3.0") if k[0] == 10 and k[1] == "pr")
    dx = rng.sample(ccc_dx, 400) + rng.sample(pmca_dx, 800) + rng.sample(other_dx, 4000)
    return dx, pcs, rng.sample(other_dx, 50)


def records(n: int, codes: int, seed: int) -> Iterator[PatientRecord]:
    rng = random.Random(seed)
    dx_pool, pcs_pool, common = code_pools(seed)
    for i in range(n):
        pid = f"p{i}"
        rec = PatientRecord(pid)
        rec.add({"resourceType": "Patient", "id": pid, "birthDate": "2015-01-01"})
        encounters = []
        for e in range(3):
            day = AS_OF - _dt.timedelta(days=rng.randrange(0, 3 * 365))
            eid = f"{pid}-e{e}"
            encounters.append((eid, day))
            rec.add({"resourceType": "Encounter", "id": eid, "status": "finished", "subject": {"reference": f"Patient/{pid}"},
                     "period": {"start": day.isoformat() + "T10:00:00Z"}})
        for c in range(codes):
            eid, day = rng.choice(encounters)
            roll = rng.random()
            if roll < 0.1:  # a procedure
                code = rng.choice(pcs_pool)
                rec.add({"resourceType": "Procedure", "id": f"{pid}-p{c}", "status": "completed",
                         "code": {"coding": [{"system": ICD10PCS, "code": code}]}, "subject": {"reference": f"Patient/{pid}"},
                         "encounter": {"reference": f"Encounter/{eid}"}, "performedDateTime": day.isoformat()})
                continue
            code = rng.choice(common) if roll < 0.5 else rng.choice(dx_pool)
            written = code[:3] + "." + code[3:] if len(code) > 3 else code
            rec.add({"resourceType": "Condition", "id": f"{pid}-c{c}",
                     "verificationStatus": {"coding": [{"code": "confirmed"}]},
                     "category": [{"coding": [{"code": "encounter-diagnosis"}]}],
                     "code": {"coding": [{"system": ICD10CM, "code": written}]},
                     "subject": {"reference": f"Patient/{pid}"}, "encounter": {"reference": f"Encounter/{eid}"}})
        yield rec


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--patients", type=int, default=100_000)
    ap.add_argument("--codes", type=int, default=10, help="ICD codes per patient")
    ap.add_argument("--algorithms", default="ccc-v2,ccc-v3,pmca,ccir")
    ap.add_argument("--seed", type=int, default=20251231)
    args = ap.parse_args()

    t = time.perf_counter()
    for name in ("2.0", "3.0"):
        ccc_table(name)
    pmca_table()
    ccir_table()
    print(f"code lists loaded in {time.perf_counter() - t:.2f} s")

    t = time.perf_counter()
    for _ in records(args.patients, args.codes, args.seed):
        pass
    gen = time.perf_counter() - t
    print(f"generating {args.patients:,} records alone: {gen:.1f} s (included in the totals below)")
    print(f"{'algorithm':<8}  {'seconds':>8}  {'patients/s':>10}  {'w/o generation':>14}  {'peak heap MB':>12}  {'peak RSS MB':>11}  strata")
    for name in args.algorithms.split(","):
        t = time.perf_counter()
        strata: Counter[str] = Counter()
        for result in classify_records(records(args.patients, args.codes, args.seed), name, AS_OF):
            strata[result.stratum_label] += 1
        elapsed = time.perf_counter() - t
        # peak Python heap of the same pipeline, on a tenth of the patients (tracemalloc slows it down)
        tracemalloc.start()
        for _ in classify_records(records(max(1, args.patients // 10), args.codes, args.seed), name, AS_OF):
            pass
        heap = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()
        rate = args.patients / elapsed
        alone = args.patients / max(elapsed - gen, 1e-9)
        top = ", ".join(f"{k} {v}" for k, v in strata.most_common())
        print(f"{name:<8}  {elapsed:8.1f}  {rate:10,.0f}  {alone:14,.0f}  {heap:12.1f}  {peak_rss_mb():11.0f}  {top}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Peak memory of reading one large FHIR Bundle (a script, not a timed test; issue 10 §6).

Writes a transaction Bundle of N synthetic patients (each a Patient, encounters, observations
and conditions, urn:uuid fullUrls and references, as Synthea writes them) to a scratch file, then,
in a fresh process per engine, reads every patient through `FileSource` and reports the file
size, the seconds taken and the peak RSS. Give `--engine` twice to compare two checkouts in one
run (e.g. before and after a change):

    python tools/bundle_memory.py --patients 20000 --engine /work/main/engine --engine engine
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

_MEASURE = """
import json, resource, sys, time
sys.path.insert(0, sys.argv[1])
from pedqm.fhir.sources.files import FileSource
t0 = time.perf_counter()
patients = resources = 0
with FileSource(sys.argv[2]) as source:
    for record in source.patients():
        patients += 1
        resources += len(record.resources)
print(json.dumps({"patients": patients, "resources": resources, "seconds": time.perf_counter() - t0,
                  "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def _patient(i: int, per_patient: int) -> list[dict[str, object]]:
    pid = f"p{i}"
    subject = {"reference": f"urn:uuid:patient-{pid}"}
    out: list[dict[str, object]] = [{
        "fullUrl": f"urn:uuid:patient-{pid}",
        "resource": {"resourceType": "Patient", "id": pid, "gender": "female" if i % 2 else "male",
                     "birthDate": f"{2010 + i % 12}-0{1 + i % 9}-1{i % 9}",
                     "name": [{"family": f"Family{i}", "given": [f"Given{i}"]}]},
        "request": {"method": "POST", "url": "Patient"},
    }]
    for k in range(per_patient):
        kind = k % 3
        rid = f"{pid}-{k}"
        if kind == 0:
            res: dict[str, object] = {
                "resourceType": "Encounter", "id": rid, "status": "finished", "subject": subject,
                "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "AMB"},
                "type": [{"coding": [{"system": "http://snomed.info/sct", "code": "410620009",
                                      "display": "Well child visit (procedure)"}]}],
                "period": {"start": f"2025-0{1 + k % 9}-10T09:00:00Z", "end": f"2025-0{1 + k % 9}-10T09:30:00Z"}}
        elif kind == 1:
            res = {
                "resourceType": "Observation", "id": rid, "status": "final", "subject": subject,
                "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category",
                                          "code": "vital-signs"}]}],
                "code": {"coding": [{"system": "http://loinc.org", "code": "39156-5", "display": "BMI"}]},
                "effectiveDateTime": f"2025-0{1 + k % 9}-10T09:10:00Z",
                "valueQuantity": {"value": 17.5 + k % 7, "unit": "kg/m2", "system": "http://unitsofmeasure.org",
                                  "code": "kg/m2"}}
        else:
            res = {
                "resourceType": "Condition", "id": rid, "subject": subject,
                "clinicalStatus": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-clinical",
                                               "code": "active"}]},
                "code": {"coding": [{"system": "http://snomed.info/sct", "code": "195967001", "display": "Asthma"}]},
                "onsetDateTime": f"2024-0{1 + k % 9}-02"}
        out.append({"fullUrl": f"urn:uuid:{rid}", "resource": res,
                    "request": {"method": "POST", "url": str(res["resourceType"])}})
    return out


def write_bundle(path: Path, patients: int, per_patient: int) -> None:
    """The Bundle written entry by entry, so that making the data does not need the memory."""
    with path.open("w", encoding="utf-8") as f:
        f.write('{"resourceType": "Bundle", "type": "transaction", "entry": [\n')
        first = True
        for i in range(patients):
            for entry in _patient(i, per_patient):
                f.write(("" if first else ",\n") + json.dumps(entry))
                first = False
        f.write("\n]}\n")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--patients", type=int, default=20_000)
    ap.add_argument("--per-patient", type=int, default=30, help="resources per patient besides the Patient")
    ap.add_argument("--engine", action="append", type=Path, help="engine directory to measure (repeatable)")
    ap.add_argument("--bundle", type=Path, help="use this Bundle instead of generating one")
    args = ap.parse_args(argv)
    engines = args.engine or [ROOT / "engine"]
    with tempfile.TemporaryDirectory(prefix="pedqm-bundle-") as tmp:
        bundle = args.bundle
        if bundle is None:
            bundle = Path(tmp) / "large-bundle.json"
            write_bundle(bundle, args.patients, args.per_patient)
        size_mb = bundle.stat().st_size / 2**20
        print(f"bundle: {bundle.name}, {size_mb:.0f} MB")
        for engine in engines:
            done = subprocess.run([sys.executable, "-c", _MEASURE, str(engine.resolve()), str(bundle)],
                                  capture_output=True, text=True, check=False)
            if done.returncode != 0:
                print(f"{engine}: failed\n{done.stderr[-2000:]}")
                continue
            r = json.loads(done.stdout.strip().splitlines()[-1])
            print(f"{engine}: {r['patients']} patients, {r['resources']} resources, {r['seconds']:.1f} s, "
                  f"peak RSS {r['peak_mb']:.0f} MB ({r['peak_mb'] / size_mb:.1f} x the file)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Benchmark of pedqm's FHIR data sources: files (NDJSON) and a real server (sekmet-fhir).

    .venv/bin/python tools/benchmark_data.py                    # 100,000 resources; server 20,000
    .venv/bin/python tools/benchmark_data.py --resources 20000 --server-resources 5000
    .venv/bin/python tools/benchmark_data.py --no-server

The synthetic patients in ../shared/synthetic are replicated with unique ids (every id and every
reference to it gets a ``-rN`` suffix) until the wanted number of resources is reached, and
written as Bulk Data NDJSON (one file per type). Each measurement runs in a fresh child process,
so its peak memory (``ru_maxrss``) is its own; the baseline is a child that only imports pedqm.
The server part starts sekmet on 127.0.0.1, loads a smaller set by transaction, and reads it
back with ``$everything``, per-type searches and a system-level Bulk ``$export``.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
SYNTHETIC = ROOT.parent / "shared" / "synthetic"


# ---------------------------------------------------------------------------- data


def _suffix_refs(node: Any, own: set[str], suffix: str) -> None:
    if isinstance(node, dict):
        ref = node.get("reference")
        if isinstance(ref, str) and ref in own:
            node["reference"] = ref + suffix
        for value in node.values():
            _suffix_refs(value, own, suffix)
    elif isinstance(node, list):
        for value in node:
            _suffix_refs(value, own, suffix)


def replicate(target: int) -> tuple[list[list[dict[str, Any]]], list[dict[str, Any]]]:
    """Patients (each a list of resources) and shared resources, ``target`` resources in all."""
    from pedqm.fhir.sources import FileSource

    with FileSource(SYNTHETIC) as source:
        originals = [record.resources for record in source.patients()]
        shared = source.shared_resources()
    patients: list[list[dict[str, Any]]] = []
    total = len(shared)
    copy = 0
    while total < target:
        for resources in originals:
            if total >= target:
                break
            suffix = f"-r{copy}"
            own = {f"{r['resourceType']}/{r['id']}" for r in resources}
            replica = json.loads(json.dumps(resources))
            for r in replica:
                r["id"] = r["id"] + suffix
                _suffix_refs(r, own, suffix)
            replica = replica[: target - total]
            patients.append(replica)
            total += len(replica)
        copy += 1
    return patients, shared


def write_ndjson(folder: Path, patients: list[list[dict[str, Any]]], shared: list[dict[str, Any]]) -> int:
    folder.mkdir(parents=True, exist_ok=True)
    handles: dict[str, Any] = {}
    written = 0
    try:
        for resources in [*patients, shared]:
            for r in resources:
                handle = handles.get(r["resourceType"])
                if handle is None:
                    handle = handles[r["resourceType"]] = (folder / f"{r['resourceType']}.ndjson").open("w")
                handle.write(json.dumps(r, separators=(",", ":")) + "\n")
                written += 1
    finally:
        for handle in handles.values():
            handle.close()
    return written


# ---------------------------------------------------------------------------- measuring (child processes)


def measure(kind: str, spec: str, **options: Any) -> dict[str, Any]:
    """Run one measurement in a fresh interpreter; returns its JSON line."""
    cmd = [sys.executable, __file__, "--child", kind, spec, json.dumps(options)]
    out = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(ROOT / "engine")})
    if out.returncode != 0:
        raise SystemExit(f"benchmark child failed ({kind} {spec}):\n{out.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def child(kind: str, spec: str, options: dict[str, Any]) -> None:
    from pedqm.fhir.sources import (  # the baseline includes this
        BulkExportSource,
        FileSource,
        RestSource,
    )

    if kind == "baseline":
        print(json.dumps({"rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
        return
    if kind == "generate":
        patients, shared = replicate(options["resources"])
        print(json.dumps({"resources": write_ndjson(Path(spec), patients, shared), "patients": len(patients)}))
        return
    if kind == "load":
        print(json.dumps({"seconds": load(options["base"], Path(spec))}))
        return
    started = time.perf_counter()
    patients = resources = 0
    largest = 0
    source: Any
    if kind == "files":
        source = FileSource(spec)
    elif kind == "rest":
        source = RestSource(spec, **options)
    else:
        source = BulkExportSource(spec, **options)
    for record in source.patients():
        patients += 1
        resources += len(record.resources)
        largest = max(largest, len(record.resources))
    shared = len(source.shared_resources())
    elapsed = time.perf_counter() - started
    print(json.dumps({
        "seconds": elapsed,
        "patients": patients,
        "resources": resources + shared,
        "largest_record": largest,
        "skipped": sum(1 for i in source.issues if i.skipped),
        "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }))


def report(name: str, result: dict[str, Any], baseline: float) -> None:
    s = result["seconds"]
    print(f"{name:<34} {result['patients']:>6} patients {result['resources']:>8} resources  {s:7.2f} s  "
          f"{result['patients'] / s:8.1f} patients/s  {result['resources'] / s:9.0f} resources/s  "
          f"peak RSS {result['rss_mb']:6.0f} MB (+{result['rss_mb'] - baseline:.0f} over imports)")


# ---------------------------------------------------------------------------- server


def start_sekmet(workdir: Path) -> tuple[subprocess.Popen[bytes], str]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    base = f"http://127.0.0.1:{port}/fhir"
    settings = {"base_url": base, "host": "127.0.0.1", "port": port, "data_dir": str(workdir / "data"),
                "simulator": {"enabled": False, "delay_seconds": 0.1}, "log_inbound": False,
                "validation": {"inbound": "off"}}
    (workdir / "settings.yaml").write_text(json.dumps(settings))
    log = (workdir / "sekmet.log").open("wb")
    proc = subprocess.Popen([sys.executable, "-m", "uvicorn", "sekmet.main:app_factory", "--factory", "--host",
                             "127.0.0.1", "--port", str(port), "--log-level", "warning"], cwd=workdir,
                            env={**os.environ, "SEKMET_CONFIG": str(workdir / "settings.yaml")}, stdout=log, stderr=log)
    for _ in range(300):
        try:
            if httpx.get(f"{base}/metadata", timeout=2).status_code == 200:
                return proc, base
        except httpx.HTTPError:
            pass
        if proc.poll() is not None:
            break
        time.sleep(0.2)
    proc.kill()
    raise SystemExit(f"sekmet did not start:\n{(workdir / 'sekmet.log').read_text()[-3000:]}")


def load(base: str, folder: Path) -> float:
    """PUT every resource of the NDJSON folder by transaction, a patient at a time."""
    from pedqm.fhir.sources import FileSource

    started = time.perf_counter()
    with httpx.Client(timeout=300) as client, FileSource(folder) as source:
        for resources in [source.shared_resources(), *(r.resources for r in source.patients())]:
            for i in range(0, len(resources), 1000):
                entries = [{"resource": r, "request": {"method": "PUT", "url": f"{r['resourceType']}/{r['id']}"}}
                           for r in resources[i:i + 1000]]
                resp = client.post(base, json={"resourceType": "Bundle", "type": "transaction", "entry": entries},
                                   headers={"Content-Type": "application/fhir+json"})
                if resp.status_code != 200:
                    raise SystemExit(f"load failed: HTTP {resp.status_code} {resp.text[:500]}")
    return time.perf_counter() - started


# ---------------------------------------------------------------------------- main


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--resources", type=int, default=100_000, help="resources in the NDJSON set (default 100000)")
    parser.add_argument("--server-resources", type=int, default=20_000, help="resources loaded into sekmet (default 20000)")
    parser.add_argument("--no-server", action="store_true", help="skip the server part")
    args = parser.parse_args()
    if not SYNTHETIC.is_dir():
        raise SystemExit(f"{SYNTHETIC} not found: the benchmark replicates ../shared/synthetic")
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs; data replicated from {SYNTHETIC}")
    # The parent holds no data: Linux keeps a process's peak RSS across fork+exec, so every
    # child (generation and loading included) must start from a small parent to measure itself.
    baseline = measure("baseline", "-")["rss_mb"]
    with tempfile.TemporaryDirectory(prefix="pedqm-bench-") as tmp:
        work = Path(tmp)
        made = measure("generate", str(work / "ndjson"), resources=args.resources)
        size = sum(f.stat().st_size for f in (work / "ndjson").iterdir()) / 1e6
        print(f"\nfile source: {made['resources']} resources, {made['patients']} patients, {size:.0f} MB of NDJSON in "
              f"{len(list((work / 'ndjson').iterdir()))} files")
        report("FileSource (NDJSON, 2 passes)", measure("files", str(work / "ndjson")), baseline)
        if args.no_server:
            return
        made = measure("generate", str(work / "server"), resources=args.server_resources)
        count = made["resources"]
        proc, base = start_sekmet(work)
        try:
            seconds = measure("load", str(work / "server"), base=base)["seconds"]
            print(f"\nserver (sekmet-fhir 0.1.1 on 127.0.0.1): N = {count} resources, {made['patients']} patients; "
                  f"loaded by transaction in {seconds:.1f} s ({count / seconds:.0f} resources/s)")
            report("RestSource $everything (x4)", measure("rest", base, strategy="everything", page_size=50), baseline)
            report("RestSource per-type search (x4)", measure("rest", base, strategy="search", page_size=50), baseline)
            report("BulkExportSource (system)", measure("bulk", base, level="system", work_dir=str(work / "bulk"),
                                                        poll_interval=0.5), baseline)
        finally:
            proc.terminate()
            proc.wait(timeout=10)


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        child(sys.argv[2], sys.argv[3], json.loads(sys.argv[4]))
    else:
        main()

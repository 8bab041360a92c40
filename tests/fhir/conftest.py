"""Real FHIR servers for the data-source tests: sekmet-fhir processes loaded with ../shared/synthetic.

Two servers run for the whole session, each a ``uvicorn`` subprocess on a free 127.0.0.1 port
with its own SQLite file, started once and stopped at the end:

* ``fhir_server``: no authorization, every synthetic bundle loaded by transaction (hospital and
  practitioner bundles first, as ../shared/README.md asks). Inbound validation is off: every
  synthetic resource passes sekmet's structural (R4B model) validation, which only doubles the
  load time (about 19 s instead of 12 s on a busy 2-core machine).
* ``secure_server``: bearer and SMART Backend Services required, inbound validation off (so a
  malformed resource can be stored, as a lenient production server would), three patients, a
  Group of two of them, and one Observation with an impossible date.

Transactions are sent with each POST entry turned into ``PUT Type/id``: sekmet (like any server)
assigns new ids to POSTed resources, and the tests compare ids with the file source. A server that
cannot start fails the session with its log, never a silent skip.

``FaultProxy`` is a small real HTTP proxy in front of a server that answers chosen requests with
an error status, a ``Retry-After`` or a delay, for the retry, timeout and mid-paging tests.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

SYNTHETIC = Path(__file__).resolve().parents[2].parent / "shared" / "synthetic"
STARTUP_SECONDS = 60


def synthetic_bundles(folder: Path = SYNTHETIC) -> list[Path]:
    """Bundle files, hospital and practitioner bundles first (they are referenced by the rest)."""
    paths = sorted(folder.rglob("*.json"))
    return sorted(paths, key=lambda p: (not p.name.startswith(("hospitalInformation", "practitionerInformation")), str(p)))


def require_synthetic() -> None:
    if not SYNTHETIC.is_dir():
        pytest.fail(f"{SYNTHETIC} is missing: the data-source tests need ../shared/synthetic beside the repo")


def with_client_ids(bundle: dict[str, Any]) -> dict[str, Any]:
    """The transaction with POST entries sent as PUT Type/id, so the server keeps the file ids."""
    for entry in bundle.get("entry", []):
        resource = entry.get("resource") or {}
        if (entry.get("request") or {}).get("method") == "POST" and resource.get("id"):
            entry["request"] = {"method": "PUT", "url": f"{resource['resourceType']}/{resource['id']}"}
    return bundle


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class SekmetServer:
    base_url: str
    process: subprocess.Popen[bytes]
    log: Path
    headers: dict[str, str] = field(default_factory=dict)  # what the loader sends (e.g. a static token)
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def root_url(self) -> str:
        return self.base_url.rsplit("/fhir", 1)[0]

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")[-6000:] if self.log.exists() else "(no log)"

    def post(self, body: dict[str, Any]) -> dict[str, Any]:
        resp = httpx.post(self.base_url, json=body, headers={"Content-Type": "application/fhir+json", **self.headers}, timeout=120)
        if resp.status_code != 200:
            pytest.fail(f"loading into sekmet failed: HTTP {resp.status_code} {resp.text[:1000]}")
        result: dict[str, Any] = resp.json()
        return result

    def put(self, resource: dict[str, Any]) -> None:
        url = f"{self.base_url}/{resource['resourceType']}/{resource['id']}"
        resp = httpx.put(url, json=resource, headers={"Content-Type": "application/fhir+json", **self.headers}, timeout=30)
        if resp.status_code not in (200, 201):
            pytest.fail(f"PUT {url} failed: HTTP {resp.status_code} {resp.text[:1000]}")

    def load(self, paths: list[Path]) -> int:
        count = 0
        for path in paths:
            bundle = with_client_ids(json.loads(path.read_text()))
            self.post(bundle)
            count += len(bundle.get("entry", []))
        return count

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)


def start_sekmet(workdir: Path, settings: dict[str, Any]) -> SekmetServer:
    """Start sekmet (``uvicorn sekmet.main:app_factory``) with ``settings``; wait for /metadata."""
    workdir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    base_url = f"http://127.0.0.1:{port}/fhir"
    config = {
        "base_url": base_url,
        "host": "127.0.0.1",
        "port": port,
        "data_dir": str(workdir / "data"),
        "simulator": {"enabled": False, "delay_seconds": 0.1},  # no simulated lab/pharmacy replies
        "log_inbound": False,
        **settings,
    }
    config_path = workdir / "settings.yaml"
    config_path.write_text(json.dumps(config, indent=1))  # JSON is YAML
    log = workdir / "sekmet.log"
    env = {**os.environ, "SEKMET_CONFIG": str(config_path)}
    cmd = [sys.executable, "-m", "uvicorn", "sekmet.main:app_factory", "--factory",
           "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"]
    with log.open("wb") as out:
        process = subprocess.Popen(cmd, cwd=workdir, env=env, stdout=out, stderr=subprocess.STDOUT)
    server = SekmetServer(base_url, process, log)
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"sekmet exited with status {process.returncode} while starting:\n{server.log_text()}")
        try:
            if httpx.get(f"{base_url}/metadata", timeout=2).status_code == 200:
                return server
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    server.stop()
    pytest.fail(f"sekmet did not answer {base_url}/metadata within {STARTUP_SECONDS} s:\n{server.log_text()}")


@pytest.fixture(scope="session")
def fhir_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SekmetServer]:
    require_synthetic()
    server = start_sekmet(tmp_path_factory.mktemp("sekmet-open"), {"validation": {"inbound": "off"}})
    try:
        server.info["loaded"] = server.load(synthetic_bundles())
        yield server
    finally:
        server.stop()


def _write_keys(folder: Path) -> dict[str, Path]:
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    ec_key = ec.generate_private_key(ec.SECP384R1())
    paths = {}
    for name, key in (("rsa", rsa_key), ("ec", ec_key)):
        private = folder / f"{name}-private.pem"
        private.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
        public = folder / f"{name}-public.pem"
        public.write_bytes(key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
        paths[name], paths[f"{name}-public"] = private, public
    return paths


SECURE_PATIENTS = ["62e03ae7-079c-4eda-9b5a-29440d3a015a", "65e1e178-0b4c-4539-a688-08cbde765967", "cde6eb49-a760-4f65-bdf7-007ba3b87076"]
MALFORMED_OBSERVATION = {
    "resourceType": "Observation",
    "id": "impossible-date",
    "status": "final",
    "code": {"coding": [{"system": "http://loinc.org", "code": "29463-7"}], "text": "Body weight"},
    "subject": {"reference": f"Patient/{SECURE_PATIENTS[2]}"},
    "effectiveDateTime": "2019-02-30T10:00:00Z",
    "valueQuantity": {"value": 20, "unit": "kg", "system": "http://unitsofmeasure.org", "code": "kg"},
}


@pytest.fixture(scope="session")
def secure_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SekmetServer]:
    require_synthetic()
    workdir = tmp_path_factory.mktemp("sekmet-secure")
    keys = _write_keys(workdir)
    loader_token = "loader-static-token"
    settings = {
        "validation": {"inbound": "off"},
        "server_auth": {
            "types": ["bearer", "smart"],
            "tokens": [loader_token],
            "token_lifetime": 600,
            "enforce_scopes": True,
            "smart_clients": [
                {"client_id": "pedqm-rs384", "public_key_path": str(keys["rsa-public"]), "scopes": "system/*.read"},
                {"client_id": "pedqm-es384", "public_key_path": str(keys["ec-public"]), "scopes": "system/*.read"},
                {"client_id": "pedqm-narrow", "public_key_path": str(keys["rsa-public"]), "scopes": "system/Observation.read"},
            ],
        },
    }
    server = start_sekmet(workdir, settings)
    server.headers = {"Authorization": f"Bearer {loader_token}"}
    try:
        folder = SYNTHETIC / "synthea-r4-bulk-data-server"
        wanted = [p for p in synthetic_bundles(folder) if p.name.startswith(("hospital", "practitioner"))
                  or any(pid in p.name for pid in SECURE_PATIENTS)]
        server.load(wanted)
        server.put({"resourceType": "Group", "id": "pedqm-cohort", "type": "person", "actual": True,
                    "member": [{"entity": {"reference": f"Patient/{pid}"}} for pid in SECURE_PATIENTS[:2]]})
        server.put(MALFORMED_OBSERVATION)
        server.info.update(keys=keys, loader_token=loader_token, patients=SECURE_PATIENTS, group="pedqm-cohort",
                           bundles=wanted)
        yield server
    finally:
        server.stop()


# ---------------------------------------------------------------------------- fault proxy


@dataclass
class Fault:
    match: str  # substring of the request path and query
    status: int | None = None  # answer with this status instead of forwarding
    times: int | None = None  # how many requests to affect (None: all)
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # seconds to wait before answering (or forwarding)


class FaultProxy:
    """A real HTTP proxy to ``upstream`` that injects faults by rule; rewrites the upstream's
    absolute URLs (links, Content-Location) to its own so clients keep coming through it."""

    def __init__(self, upstream_root: str) -> None:
        self.upstream = upstream_root.rstrip("/")
        self.faults: list[Fault] = []
        self.seen: list[str] = []
        self._lock = threading.Lock()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:  # quiet
                pass

            def do_GET(self) -> None:
                proxy.handle(self, "GET")

            def do_POST(self) -> None:
                proxy.handle(self, "POST")

            def do_DELETE(self) -> None:
                proxy.handle(self, "DELETE")

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.root = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.client = httpx.Client(timeout=60)

    @property
    def base_url(self) -> str:
        return f"{self.root}/fhir"

    def fail(self, match: str, status: int | None = None, *, times: int | None = None,
             headers: dict[str, str] | None = None, delay: float = 0.0) -> None:
        self.faults.append(Fault(match, status, times, headers or {}, delay))

    def _fault_for(self, path: str) -> Fault | None:
        with self._lock:
            self.seen.append(path)
            for fault in self.faults:
                if fault.match in path and (fault.times is None or fault.times > 0):
                    if fault.times is not None:
                        fault.times -= 1
                    return fault
        return None

    def handle(self, h: BaseHTTPRequestHandler, method: str) -> None:
        fault = self._fault_for(h.path)
        if fault is not None and fault.delay:
            time.sleep(fault.delay)
        if fault is not None and fault.status is not None:
            body = json.dumps({"resourceType": "OperationOutcome", "issue": [
                {"severity": "error", "code": "transient", "diagnostics": f"injected {fault.status}"}]}).encode()
            self._reply(h, fault.status, body, {"Content-Type": "application/fhir+json", **fault.headers})
            return
        length = int(h.headers.get("Content-Length") or 0)
        content = h.rfile.read(length) if length else None
        headers = {k: v for k, v in h.headers.items() if k.lower() not in ("host", "content-length", "connection")}
        try:
            resp = self.client.request(method, self.upstream + h.path, headers=headers, content=content)
        except httpx.HTTPError as exc:
            self._reply(h, 502, str(exc).encode(), {"Content-Type": "text/plain"})
            return
        body = resp.content.replace(self.upstream.encode(), self.root.encode())
        keep = {k: v.replace(self.upstream, self.root) for k, v in resp.headers.items()
                if k.lower() in ("content-type", "content-location", "location", "retry-after", "x-progress", "www-authenticate")}
        self._reply(h, resp.status_code, body, keep)

    @staticmethod
    def _reply(h: BaseHTTPRequestHandler, status: int, body: bytes, headers: dict[str, str]) -> None:
        try:
            h.send_response(status)
            for k, v in headers.items():
                h.send_header(k, v)
            h.send_header("Content-Length", str(len(body)))
            h.end_headers()
            h.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):  # the client gave up (timeout tests)
            pass

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.client.close()


@pytest.fixture
def fault_proxy(fhir_server: SekmetServer) -> Iterator[FaultProxy]:
    proxy = FaultProxy(fhir_server.root_url)
    try:
        yield proxy
    finally:
        proxy.close()

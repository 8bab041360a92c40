"""Real `pedqm serve` processes for the server tests, each on a free 127.0.0.1 port with its own
SQLite file, talked to over HTTP with httpx.

``population_server`` (the measure library over fhir_fixtures/population) runs once for the
session; tests that restart a server start their own with :func:`start_server`. A server that
does not come up fails the test with its log, never a silent skip.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]
POPULATION = ROOT / "fhir_fixtures" / "population"
LIBRARY = ROOT / "measure_library"
ECQM = ROOT.parent / "shared" / "ecqm"
STARTUP_SECONDS = 90


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def pedqm_command(*args: str) -> list[str]:
    return [sys.executable, "-c", "import sys; from pedqm.cli import main; sys.exit(main())", *args]


def pedqm_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "engine"), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    return env


@dataclass
class Server:
    args: list[str]
    db: Path
    log: Path
    port: int = 0
    process: subprocess.Popen[bytes] | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def client(self, **kw: Any) -> httpx.Client:
        return httpx.Client(base_url=self.base, timeout=kw.pop("timeout", 120), **kw)

    def start(self) -> Server:
        self.port = self.port or free_port()  # a restart keeps the port: status URLs stay valid
        cmd = pedqm_command("serve", "--host", "127.0.0.1", "--port", str(self.port), "--db", str(self.db), *self.args)
        out = self.log.open("ab")
        self.process = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=pedqm_env(), cwd=ROOT)
        deadline = time.monotonic() + STARTUP_SECONDS
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail(f"pedqm serve exited with {self.process.returncode}:\n{self.log.read_text()}")
            try:
                if httpx.get(f"{self.base}/metadata", timeout=2).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        self.stop()
        pytest.fail(f"pedqm serve did not answer within {STARTUP_SECONDS} s:\n{self.log.read_text()}")

    def stop(self, kill: bool = False) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGKILL if kill else signal.SIGTERM)
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def restart(self, kill: bool = False) -> Server:
        self.stop(kill)
        return self.start()


def start_server(tmp: Path, *args: str, name: str = "server") -> Server:
    return Server(list(args), tmp / f"{name}.sqlite", tmp / f"{name}.log").start()


@pytest.fixture(scope="session")
def population_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    server = start_server(tmp_path_factory.mktemp("population"), "--data", str(POPULATION))
    yield server
    server.stop()


@pytest.fixture(scope="session")
def population(population_server: Server) -> Iterator[httpx.Client]:
    with population_server.client() as c:
        yield c


def run_pedqm(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(pedqm_command(*args), capture_output=True, text=True, env=pedqm_env(), cwd=ROOT, timeout=600)


def start_pedqm(*args: str) -> subprocess.Popen[str]:
    """`pedqm ARGS` started in the background (it runs while the server computes the same thing)."""
    return subprocess.Popen(pedqm_command(*args), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=pedqm_env(), cwd=ROOT)


def finish(process: subprocess.Popen[str]) -> str:
    out, err = process.communicate(timeout=600)
    assert process.returncode == 0, err
    return out


def without_volatile(report: dict[str, Any]) -> dict[str, Any]:
    """A MeasureReport without what differs between two runs of the same calculation."""
    return {k: v for k, v in report.items() if k not in ("id", "date", "meta")}

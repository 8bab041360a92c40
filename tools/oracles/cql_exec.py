"""Python access to the cql-execution expression oracle (``cql_exec_run.mjs``).

Test and tool helper only: pedqm never imports this at run time, and it has no pedqm dependency.
It evaluates System-only ELM libraries (as produced by ``translate.py``) in cql-execution and
returns every define's value as typed JSON (format in the header of ``cql_exec_run.mjs``)::

    from cql_exec import CqlExecProcess
    with CqlExecProcess() as proc:
        [values] = proc.run([elm])      # {"X": {"type": "Number", "value": 2}, ...}

One long-lived node process serves any number of requests, so thousands of defines (best put
many in one library) evaluate in seconds.
"""

from __future__ import annotations

import json
import os
import select
import shutil
import subprocess
import tempfile
import threading
from pathlib import Path
from typing import IO, Any

__all__ = ["CqlExecError", "CqlExecProcess", "OracleUnavailable", "available", "engine_version"]

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
SCRIPT = HERE / "cql_exec_run.mjs"
ORACLES_DIR = Path(os.environ.get("PEDQM_ORACLES_DIR", str(REPO / ".oracles")))
PACKAGE_DIR = ORACLES_DIR / "node_modules" / "cql-execution"


class OracleUnavailable(RuntimeError):
    """node or cql-execution is missing (tests should skip)."""


class CqlExecError(RuntimeError):
    """The oracle process died or rejected a request as a whole."""


def engine_version() -> str:
    """Version of the installed cql-execution package (raises OracleUnavailable if absent)."""
    pkg = PACKAGE_DIR / "package.json"
    if not pkg.is_file():
        raise OracleUnavailable(f"cql-execution is not installed in {ORACLES_DIR}; run: npm ci --prefix .oracles")
    return str(json.loads(pkg.read_text(encoding="utf-8"))["version"])


def available() -> bool:
    """True when node and cql-execution are both present."""
    try:
        engine_version()
    except OracleUnavailable:
        return False
    return shutil.which("node") is not None


class CqlExecProcess:
    """One ``node cql_exec_run.mjs --lines`` process; requests are serialized, a dead one restarts."""

    def __init__(self) -> None:
        node = shutil.which("node")
        if node is None:
            raise OracleUnavailable("node is not on PATH; the cql-execution oracle needs Node.js >= 18")
        engine_version()
        self._node = node
        self._proc: subprocess.Popen[str] | None = None
        self._stderr: IO[str] | None = None
        self._lock = threading.Lock()

    def _start(self) -> subprocess.Popen[str]:
        if self._proc is not None and self._proc.poll() is None:
            return self._proc
        self._stderr = tempfile.TemporaryFile(mode="w+", encoding="utf-8")
        self._proc = subprocess.Popen(
            [self._node, str(SCRIPT), "--lines"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=self._stderr, text=True, encoding="utf-8", bufsize=1)
        return self._proc

    def _stderr_tail(self) -> str:
        if self._stderr is None:
            return ""
        self._stderr.seek(0)
        return self._stderr.read()[-4000:]

    def request(self, request: dict[str, Any], timeout: float = 120.0) -> dict[str, Any]:
        """Send one raw request (see the .mjs header) and return the raw response.

        A request that takes over ``timeout`` seconds kills the process (restarted on the next
        call) and raises CqlExecError, so a runaway expression cannot hang a test run.
        """
        line = json.dumps(request, separators=(",", ":"))
        with self._lock:
            proc = self._start()
            assert proc.stdin is not None and proc.stdout is not None
            try:
                proc.stdin.write(line + "\n")
                proc.stdin.flush()
                ready, _, _ = select.select([proc.stdout], [], [], timeout)
                if not ready:
                    proc.kill()
                    proc.wait()
                    raise CqlExecError(f"cql-execution took over {timeout}s; process killed")
                answer = proc.stdout.readline()
            except (BrokenPipeError, OSError) as exc:
                raise CqlExecError(f"cql-execution process died: {exc}\n{self._stderr_tail()}") from exc
            if not answer:
                code = proc.wait(timeout=5)
                raise CqlExecError(f"cql-execution process exited with {code}\n{self._stderr_tail()}")
        response: dict[str, Any] = json.loads(answer)
        if "$error" in response:
            raise CqlExecError(str(response["$error"]))
        return response

    def run(self, libraries: list[dict[str, Any]], defines: list[str] | None = None,
            timeout: float = 120.0) -> list[dict[str, Any]]:
        """Evaluate each ELM library (``{"library": ...}``); one ``{define: value}`` dict per library.

        A library cql-execution cannot load yields ``{"$library_error": message}``.
        """
        request = {"libraries": libraries, "defines": defines}
        results: list[dict[str, Any]] = self.request(request, timeout)["results"]
        return results

    def close(self) -> None:
        with self._lock:
            proc, self._proc = self._proc, None
            if proc is not None:
                if proc.stdin is not None:
                    proc.stdin.close()
                try:
                    proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
                if proc.stdout is not None:
                    proc.stdout.close()
            if self._stderr is not None:
                self._stderr.close()
                self._stderr = None

    def __enter__(self) -> CqlExecProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

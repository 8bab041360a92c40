"""A long-lived ``node SCRIPT --lines`` process speaking one JSON request per line and one JSON
response per line: what the translator and cql-execution oracles share. Test and tool helper
only; no pedqm dependency.

Requests are serialized; a process that died is started again on the next request; with a
timeout, a request that takes longer kills the process so a runaway expression cannot hang a run.
"""

from __future__ import annotations

import json
import select
import subprocess
import tempfile
import threading
from pathlib import Path
from typing import IO, Any, Self


def stop_process(proc: subprocess.Popen[str]) -> None:
    """Close a line-protocol process's input and wait for it to end (kill it after 10 s)."""
    if proc.stdin is not None:
        proc.stdin.close()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    if proc.stdout is not None:
        proc.stdout.close()


class NodeLineProcess:
    """Subclasses set `label` (for messages) and `error` (the exception class raised)."""

    label = "node"
    error: type[Exception] = RuntimeError

    def __init__(self, node: str, script: Path) -> None:
        self._argv = [node, str(script), "--lines"]
        self._proc: subprocess.Popen[str] | None = None
        self._stderr: IO[str] | None = None
        self._lock = threading.Lock()

    def _start(self) -> subprocess.Popen[str]:
        if self._proc is not None and self._proc.poll() is None:
            return self._proc
        self._stderr = tempfile.TemporaryFile(mode="w+", encoding="utf-8")
        self._proc = subprocess.Popen(self._argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                      stderr=self._stderr, text=True, encoding="utf-8", bufsize=1)
        return self._proc

    def _stderr_tail(self) -> str:
        if self._stderr is None:
            return ""
        self._stderr.seek(0)
        return self._stderr.read()[-4000:]

    def request(self, request: dict[str, Any], timeout: float | None = None) -> dict[str, Any]:
        """Send one raw request object and return the raw response object."""
        line = json.dumps(request, separators=(",", ":"))
        with self._lock:
            proc = self._start()
            assert proc.stdin is not None and proc.stdout is not None
            try:
                proc.stdin.write(line + "\n")
                proc.stdin.flush()
                if timeout is not None and not select.select([proc.stdout], [], [], timeout)[0]:
                    proc.kill()
                    proc.wait()
                    raise self.error(f"{self.label} took over {timeout}s; process killed")
                answer = proc.stdout.readline()
            except (BrokenPipeError, OSError) as exc:
                raise self.error(f"{self.label} process died: {exc}\n{self._stderr_tail()}") from exc
            if not answer:
                code = proc.wait(timeout=5)
                raise self.error(f"{self.label} process exited with {code}\n{self._stderr_tail()}")
        response: dict[str, Any] = json.loads(answer)
        if "$error" in response:
            raise self.error(str(response["$error"]))
        return response

    def close(self) -> None:
        with self._lock:
            proc, self._proc = self._proc, None
            if proc is not None:
                stop_process(proc)
            if self._stderr is not None:
                self._stderr.close()
                self._stderr = None

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

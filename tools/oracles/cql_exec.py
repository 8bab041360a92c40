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
import shutil
import sys as _sys
from pathlib import Path
from typing import Any

if str(Path(__file__).resolve().parent) not in _sys.path:  # sibling helpers: these files are not a package
    _sys.path.insert(0, str(Path(__file__).resolve().parent))
from node_process import NodeLineProcess  # noqa: E402

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


class CqlExecProcess(NodeLineProcess):
    """One ``node cql_exec_run.mjs --lines`` process; requests are serialized, a dead one restarts."""

    label = "cql-execution"
    error = CqlExecError

    def __init__(self) -> None:
        node = shutil.which("node")
        if node is None:
            raise OracleUnavailable("node is not on PATH; the cql-execution oracle needs Node.js >= 18")
        engine_version()
        super().__init__(node, SCRIPT)

    def request(self, request: dict[str, Any], timeout: float | None = 120.0) -> dict[str, Any]:
        """Send one raw request (see the .mjs header) and return the raw response; a request
        that takes over ``timeout`` seconds kills the process and raises CqlExecError."""
        return super().request(request, timeout)

    def run(self, libraries: list[dict[str, Any]], defines: list[str] | None = None,
            timeout: float = 120.0) -> list[dict[str, Any]]:
        """Evaluate each ELM library (``{"library": ...}``); one ``{define: value}`` dict per library.

        A library cql-execution cannot load yields ``{"$library_error": message}``.
        """
        request = {"libraries": libraries, "defines": defines}
        results: list[dict[str, Any]] = self.request(request, timeout)["results"]
        return results


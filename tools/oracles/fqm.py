"""fqm-execution as a test oracle: population counts and define values for published measure cases.

fqm-execution 1.8.6 (with cql-execution and cql-exec-fhir) is installed for tests only, under
``<repo>/.oracles/node_modules`` (or ``$PEDQM_ORACLES/node_modules``); ``fqm_run.mjs`` beside this
file drives it. Nothing here is a pedqm runtime dependency.

    from tools.oracles.fqm import run_fqm, case_bundle, FqmSession, OracleUnavailable

    results = run_fqm("…/measure-bundle.json", [case_bundle(case_dir)], statements=True)
    results[0]["groups"][0]["counts"]        # {"initial-population": 1, "denominator": 1, ...}
    results[0]["statements"]["CMS771FHIR"]   # {"Numerator": true, ...}

    with FqmSession() as fqm:                # one node process for many calls
        for case in cases:
            fqm.run(bundle_path, [case_bundle(case)])

Each result: ``index``, ``patientId``, ``error`` (None, or the engine's message when the patient's
calculation failed), ``groups`` (per Measure.group in order: ``groupId`` and ``counts`` per population
code, a repeated code as ``code#2``; episode-based groups count episodes), ``statements`` when
asked (library name -> define name -> JSON value; see fqm_run.mjs for the value encoding; defines
never evaluated are absent), ``measureReport`` when asked.

``OracleUnavailable`` is raised when node or the oracle packages are missing: tests turn it into a skip.
Run as a script for a quick look: ``python tools/oracles/fqm.py DECK_DIR CASE_ID [--statements]``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sys as _sys
import threading
from collections.abc import Iterable, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

if str(Path(__file__).resolve().parent) not in _sys.path:  # sibling helpers: these files are not a package
    _sys.path.insert(0, str(Path(__file__).resolve().parent))
from node_process import stop_process  # noqa: E402

HERE = Path(__file__).resolve().parent
SCRIPT = HERE / "fqm_run.mjs"
REPO = HERE.parent.parent

__all__ = [
    "FqmError",
    "FqmSession",
    "OracleUnavailable",
    "case_bundle",
    "case_resources",
    "oracle_available",
    "oracles_dir",
    "run_fqm",
]


class OracleUnavailable(RuntimeError):
    """node or fqm-execution is not installed here (tests skip on this)."""


class FqmError(RuntimeError):
    """fqm-execution could not run the request at all (e.g. a measure bundle it cannot load)."""


def oracles_dir() -> Path:
    """Where the oracle node_modules live: $PEDQM_ORACLES (or $PEDQM_ORACLES_DIR, as translate.py
    reads it), else <repo>/.oracles."""
    env = os.environ.get("PEDQM_ORACLES") or os.environ.get("PEDQM_ORACLES_DIR")
    return Path(env).resolve() if env else REPO / ".oracles"


def _node() -> str:
    node = os.environ.get("PEDQM_NODE") or shutil.which("node")
    if not node:
        raise OracleUnavailable("node is not installed")
    return node


def oracle_available() -> bool:
    try:
        _check()
    except OracleUnavailable:
        return False
    return True


def _check() -> str:
    node = _node()
    if not (oracles_dir() / "node_modules" / "fqm-execution" / "package.json").is_file():
        raise OracleUnavailable(f"fqm-execution is not installed under {oracles_dir()}")
    if not SCRIPT.is_file():
        raise OracleUnavailable(f"{SCRIPT} is missing")
    return node


_OPTION_NAMES = {
    "measurement_period_start": "measurementPeriodStart",
    "measurement_period_end": "measurementPeriodEnd",
    "trust_meta_profile": "trustMetaProfile",
    "calculate_sdes": "calculateSDEs",
    "calculate_ravs": "calculateRAVs",
}


def _request(
    bundle_path: str | Path, patient_bundles: Sequence[dict[str, Any]], opts: dict[str, Any]
) -> dict[str, Any]:
    options: dict[str, Any] = dict(opts.pop("options", None) or {})
    statements = bool(opts.pop("statements", False))
    report = bool(opts.pop("report", False))
    for key, value in opts.items():
        if key not in _OPTION_NAMES:
            raise TypeError(
                f"unknown fqm option {key!r} (known: {', '.join(_OPTION_NAMES)}, options, statements, report)"
            )
        if value is not None:
            options[_OPTION_NAMES[key]] = value
    return {
        "measure_bundle": str(Path(bundle_path).resolve()),
        "patients": list(patient_bundles),
        "options": options,
        "statements": statements,
        "report": report,
    }


def _results(response: dict[str, Any]) -> list[dict[str, Any]]:
    if response.get("missing"):
        raise OracleUnavailable(str(response.get("error")))
    if not response.get("ok"):
        raise FqmError(str(response.get("error")))
    results: list[dict[str, Any]] = response["results"]
    return results


def run_fqm(
    bundle_path: str | Path,
    patient_bundles: Sequence[dict[str, Any]],
    *,
    timeout: float = 600,
    **opts: Any,
) -> list[dict[str, Any]]:
    """Calculate a measure for patients (one Bundle of resources each) in a fresh node process.

    Keyword options: measurement_period_start / measurement_period_end (ISO dates; default: the
    Measure's effectivePeriod, as fqm-execution does), trust_meta_profile (default True),
    calculate_sdes (default False), statements (return every evaluated define's value), report
    (return the individual MeasureReport), options (raw fqm-execution CalculationOptions).
    """
    node = _check()
    request = _request(bundle_path, patient_bundles, opts)
    proc = subprocess.run(
        [node, str(SCRIPT)],
        input=json.dumps(request),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        env={**os.environ, "PEDQM_ORACLES": str(oracles_dir())},
    )
    lines = [line for line in proc.stdout.splitlines() if line.strip()]
    if not lines:
        raise FqmError(
            f"fqm_run.mjs gave no answer (exit {proc.returncode}): {proc.stderr[-2000:]}"
        )
    return _results(json.loads(lines[-1]))


class FqmSession:
    """A persistent fqm_run.mjs process: measure bundles stay parsed between calls."""

    def __init__(self, timeout: float = 600):
        node = _check()
        self.timeout = timeout
        env = {**os.environ, "PEDQM_ORACLES": str(oracles_dir())}
        self._lock = threading.Lock()
        self._proc: subprocess.Popen[str] | None = subprocess.Popen(
            [node, str(SCRIPT), "--serve"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            bufsize=1,
            env=env,
        )
        self._next = 0

    def _call(self, request: dict[str, Any]) -> dict[str, Any]:
        proc = self._proc
        if proc is None or proc.poll() is not None or proc.stdin is None or proc.stdout is None:
            raise FqmError("the fqm_run.mjs process is not running")
        with self._lock:
            self._next += 1
            request = {"id": self._next, **request}
            proc.stdin.write(json.dumps(request) + "\n")
            proc.stdin.flush()
            line = proc.stdout.readline()
        if not line:
            raise FqmError(f"fqm_run.mjs exited (code {proc.poll()})")
        response: dict[str, Any] = json.loads(line)
        return response

    def ping(self) -> dict[str, Any]:
        """The oracle packages' versions."""
        return self._call({"cmd": "ping"})

    def run(
        self, bundle_path: str | Path, patient_bundles: Sequence[dict[str, Any]], **opts: Any
    ) -> list[dict[str, Any]]:
        """As :func:`run_fqm`, in this session's process."""
        return _results(self._call(_request(bundle_path, patient_bundles, opts)))

    def close(self) -> None:
        proc, self._proc = self._proc, None
        if proc is not None:
            stop_process(proc)

    def __enter__(self) -> FqmSession:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:  # noqa: BLE001 - interpreter shutdown
            pass


def case_resources(case_dir: str | Path) -> list[dict[str, Any]]:
    """A published case's resources (not its expected MeasureReport), each distinct copy once:
    a resource in its own file and again in a transaction Bundle is the same resource."""
    out: list[dict[str, Any]] = []
    for f in sorted(Path(case_dir).glob("*.json")):
        try:
            data = json.loads(f.read_text(encoding="utf-8"))
        except ValueError:
            continue
        items: Iterable[dict[str, Any]]
        if data.get("resourceType") == "Bundle":
            items = [e.get("resource") or {} for e in data.get("entry") or []]
        else:
            items = [data]
        for r in items:
            if r.get("resourceType") in (None, "MeasureReport") or r in out:
                continue
            out.append(r)
    return out


def case_bundle(case_dir: str | Path) -> dict[str, Any]:
    """A collection Bundle of one published case's resources, as fqm-execution takes patients."""
    return {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [
            {"fullUrl": f"urn:uuid:{r.get('resourceType')}-{r.get('id')}", "resource": r}
            for r in case_resources(case_dir)
        ],
    }


def _main(argv: list[str]) -> int:
    import argparse

    ap = argparse.ArgumentParser(description="Run fqm-execution on published cases of one deck")
    ap.add_argument("deck", help="deck directory (holding measure-bundle.json and cases/)")
    ap.add_argument("cases", nargs="*", help="case ids (default: all)")
    ap.add_argument(
        "--statements", action="store_true", help="print every evaluated define's value"
    )
    ap.add_argument("--untrusted", action="store_true", help="trustMetaProfile false")
    args = ap.parse_args(argv)
    deck = Path(args.deck)
    cases = [deck / "cases" / c for c in args.cases] or sorted(
        p for p in (deck / "cases").iterdir() if p.is_dir()
    )
    with FqmSession() as session:
        for case in cases:
            [res] = session.run(
                deck / "measure-bundle.json",
                [case_bundle(case)],
                statements=args.statements,
                trust_meta_profile=not args.untrusted,
            )
            print(json.dumps({"case": case.name, **res}, indent=1 if args.statements else None))
    return 0


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))

"""Python access to the reference CQL-to-ELM translator oracle (``translate.mjs``).

Test and tool helper only: pedqm never imports this at run time.  Import it by path or with
``tools/oracles`` on ``sys.path``::

    from translate import translate
    out = translate({"Lib": "library Lib define X: 1 + 1"}, ["Lib"])
    out["Lib"]["elm"]["library"]["statements"]["def"]
    out["Lib"]["errors"]          # [] when clean

Responses are cached on disk under ``.oracles/cache/`` keyed by sha256 of (translator version,
wrapper script, model info files, request).  Set ``PEDQM_ORACLE_CACHE=0`` to bypass the cache.
"""

from __future__ import annotations

import atexit
import hashlib
import json
import os
import shutil
import sys as _sys
import threading
from pathlib import Path
from typing import Any

if str(Path(__file__).resolve().parent) not in _sys.path:  # sibling helpers: these files are not a package
    _sys.path.insert(0, str(Path(__file__).resolve().parent))
from node_process import NodeLineProcess  # noqa: E402

__all__ = [
    "OracleUnavailable",
    "TranslatorError",
    "TranslatorProcess",
    "available",
    "error_messages",
    "translate",
    "translate_request",
    "translator_version",
]

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
SCRIPT = HERE / "translate.mjs"
ORACLES_DIR = Path(os.environ.get("PEDQM_ORACLES_DIR", str(REPO / ".oracles")))
PACKAGE_DIR = ORACLES_DIR / "node_modules" / "@cqframework" / "cql"
CACHE_DIR = Path(os.environ.get("PEDQM_ORACLE_CACHE_DIR", str(ORACLES_DIR / "cache")))


def modelinfo_dir() -> Path:
    return Path(os.environ.get("PEDQM_MODELINFO_DIR", str(REPO.parent / "shared" / "modelinfo")))


class OracleUnavailable(RuntimeError):
    """node or the @cqframework/cql package is missing (tests should skip)."""


class TranslatorError(RuntimeError):
    """The translator process failed or rejected the request as a whole."""


def _node() -> str:
    node = shutil.which("node")
    if node is None:
        raise OracleUnavailable("node is not on PATH; the translator oracle needs Node.js >= 18")
    return node


def translator_version() -> str:
    """Version of the installed @cqframework/cql package (raises OracleUnavailable if absent)."""
    pkg = PACKAGE_DIR / "package.json"
    if not pkg.is_file():
        raise OracleUnavailable(
            f"@cqframework/cql is not installed in {ORACLES_DIR}; run: npm ci --prefix .oracles"
        )
    return str(json.loads(pkg.read_text(encoding="utf-8"))["version"])


def available() -> bool:
    """True when node and the translator package are both present."""
    try:
        _node()
        translator_version()
    except OracleUnavailable:
        return False
    return True


def _check() -> str:
    node = _node()
    translator_version()
    if not modelinfo_dir().is_dir():
        raise OracleUnavailable(f"model info directory not found: {modelinfo_dir()}")
    return node


class TranslatorProcess(NodeLineProcess):
    """One long-lived ``node translate.mjs --lines`` process; requests are serialized.

    Use as a context manager or call :meth:`close`.  A dead process is restarted on the next call.
    """

    label = "translator"
    error = TranslatorError

    def __init__(self) -> None:
        super().__init__(_check(), SCRIPT)

    def translate(
        self,
        libraries: dict[str, str],
        names: list[str] | None = None,
        options: dict[str, Any] | None = None,
    ) -> dict[str, dict[str, Any]]:
        return self.request(_make_request(libraries, names, options))


def _make_request(
    libraries: dict[str, str], names: list[str] | None, options: dict[str, Any] | None
) -> dict[str, Any]:
    request: dict[str, Any] = {
        "libraries": dict(libraries),
        "translate": list(libraries) if names is None else list(names),
    }
    if options:
        request["options"] = dict(options)
    return request


_shared: TranslatorProcess | None = None
_shared_lock = threading.Lock()
_fingerprint: str | None = None


def _shared_process() -> TranslatorProcess:
    global _shared
    with _shared_lock:
        if _shared is None:
            _shared = TranslatorProcess()
            atexit.register(_shared.close)
        return _shared


def _environment_fingerprint() -> str:
    """Translator version + wrapper script + model info files: everything besides the request."""
    global _fingerprint
    if _fingerprint is None:
        h = hashlib.sha256()
        h.update(translator_version().encode())
        h.update(SCRIPT.read_bytes())
        for xml in sorted(modelinfo_dir().glob("*.xml")):
            stat = xml.stat()
            h.update(f"{xml.name}:{stat.st_size}:{stat.st_mtime_ns}".encode())
        _fingerprint = h.hexdigest()
    return _fingerprint


def _cache_enabled() -> bool:
    return os.environ.get("PEDQM_ORACLE_CACHE", "1") not in ("0", "false", "no", "")


def translate_request(request: dict[str, Any], *, use_cache: bool = True) -> dict[str, Any]:
    """Translate a raw request (see README) through the shared process, with the disk cache."""
    _check()
    key = ""
    path: Path | None = None
    if use_cache and _cache_enabled():
        payload = json.dumps(request, sort_keys=True, separators=(",", ":"))
        key = hashlib.sha256(f"{_environment_fingerprint()}\n{payload}".encode()).hexdigest()
        path = CACHE_DIR / key[:2] / f"{key}.json"
        if path.is_file():
            try:
                cached: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
                return cached
            except (OSError, ValueError):
                pass
    response = _shared_process().request(request)
    if path is not None:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(f".{os.getpid()}.tmp")
            tmp.write_text(json.dumps(response), encoding="utf-8")
            os.replace(tmp, path)
        except OSError:
            pass
    return response


def translate(
    libraries: dict[str, str],
    names: list[str] | None = None,
    options: dict[str, Any] | None = None,
    *,
    use_cache: bool = True,
) -> dict[str, dict[str, Any]]:
    """Translate ``names`` (default: all) from ``libraries`` (name -> CQL text).

    Returns ``{name: {"elm": {"library": ...} | None, "errors": [...]}}``.  Raises
    :class:`OracleUnavailable` when node or the package is missing and :class:`TranslatorError`
    when the process fails.
    """
    return translate_request(_make_request(libraries, names, options), use_cache=use_cache)


def error_messages(result: dict[str, Any], severity: str = "error") -> list[str]:
    """``"Lib:line:col: message"`` for each message of ``severity`` in one library's result."""
    return [
        f"{e.get('library')}:{e.get('line')}:{e.get('column')}: {e.get('message')}"
        for e in result.get("errors", [])
        if e.get("severity") == severity
    ]


def _main() -> int:
    """``python tools/oracles/translate.py [--no-cache] < request.json`` prints the response."""
    import sys

    use_cache = "--no-cache" not in sys.argv[1:]
    try:
        response = translate_request(json.load(sys.stdin), use_cache=use_cache)
    except (OracleUnavailable, TranslatorError) as exc:
        print(f"translate.py: {exc}", file=sys.stderr)
        return 2
    json.dump(response, sys.stdout)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(_main())

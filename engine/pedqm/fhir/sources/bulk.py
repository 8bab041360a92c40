"""FHIR Bulk Data ``$export`` as a data source: kick off, poll, download, then read as files.

https://hl7.org/fhir/uv/bulkdata/export.html. Levels: ``system`` (``[base]/$export``),
``patient`` (``[base]/Patient/$export``) and ``group`` (``[base]/Group/[id]/$export``), with
``_type``, ``_since`` and ``_typeFilter``. An export of a large population takes minutes to hours,
so everything is kept in a work directory (one per server and request): the status URL as soon
as the server gives it, the manifest, and each output file as it completes. A rerun after any
failure (network, timeout, Ctrl-C) continues where it stopped: it polls the same job rather than
starting another, and downloads only the files it does not have. The NDJSON is then read by
:class:`~pedqm.fhir.sources.files.FileSource`, so records and checks are the same as for files.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, Literal

import httpx

from ..records import PatientRecord, Resource, ResourceIssue
from .auth import Auth
from .checks import SERVER_REPORTED, issue
from .errors import DataSourceError
from .files import FileSource
from .http import FhirHttp, outcome_text, retry_after_seconds

Level = Literal["system", "patient", "group"]
NDJSON = "application/fhir+ndjson"
STATE_FILE = "export-state.json"
GONE = frozenset({404, 410})


def default_work_root() -> Path:
    """``$XDG_CACHE_HOME/pedqm/bulk`` (``~/.cache/pedqm/bulk``): exports survive between runs."""
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache) / "pedqm" / "bulk"


class BulkExportSource:
    """Patients from a Bulk Data ``$export`` of a FHIR server (see the module docstring)."""

    def __init__(
        self,
        base_url: str,
        *,
        auth: Auth | None = None,
        level: Level = "patient",
        group_id: str | None = None,
        types: Sequence[str] | None = None,
        since: str | None = None,
        type_filters: Sequence[str] | None = None,
        work_dir: str | Path | None = None,
        poll_interval: float = 2.0,
        max_poll_interval: float = 120.0,
        max_wait: float = 6 * 3600.0,
        timeout: float = 60.0,
        retries: int = 4,
        backoff: float = 0.5,
        check_elements: bool = True,
        progress: Callable[[str], None] | None = None,
        client: httpx.Client | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if not base_url.startswith(("http://", "https://")):
            raise DataSourceError(f"not an http(s) URL: {base_url}", url=base_url)
        if level not in ("system", "patient", "group"):
            raise DataSourceError(f"unknown $export level {level!r}: use system, patient or group")
        if (level == "group") != bool(group_id):
            raise DataSourceError("a group-level $export needs a group id, and only it takes one")
        self.base_url = base_url.rstrip("/")
        self.level: Level = level
        self.group_id = group_id
        self.types = list(types or [])
        self.since = since
        self.type_filters = list(type_filters or [])
        self.description = f"{self.base_url} ($export, {level} level{f' Group/{group_id}' if group_id else ''})"
        self.issues: list[ResourceIssue] = []
        self.http = FhirHttp(self.base_url, auth=auth, timeout=timeout, retries=retries, backoff=backoff, client=client)
        self.poll_interval = poll_interval
        self.max_poll_interval = max_poll_interval
        self.max_wait = max_wait
        self.check_elements = check_elements
        self.progress = progress or (lambda message: None)
        self.sleep = sleep
        root = Path(work_dir) if work_dir is not None else default_work_root()
        self.work_dir = root / f"export-{self._request_key()}"
        self.kickoffs = 0  # kick-off requests sent by this object (a resumed run sends none)
        self.downloads = 0  # files downloaded by this object
        self.last_progress: str | None = None
        self._files: FileSource | None = None

    # ---------------------------------------------------------------- the protocol

    def patients(self) -> Iterator[PatientRecord]:
        yield from self.files().patients()

    def shared_resources(self) -> list[Resource]:
        return self.files().shared_resources()

    def files(self) -> FileSource:
        """The downloaded export as a file source (running or resuming the export first)."""
        if self._files is None:
            output = self.run()
            files = FileSource(output, check_elements=self.check_elements, allow_empty=True)
            files.patient_ids()  # index now, so its issues join ours once
            self.issues.extend(files.issues)
            self._files = files
        return self._files

    # ---------------------------------------------------------------- the export

    @property
    def output_dir(self) -> Path:
        return self.work_dir / "output"

    def run(self) -> Path:
        """Make sure the export is downloaded (starting, resuming or reusing it); return its folder."""
        state = self._load_state()
        if state.get("complete") and all((self.work_dir / p).is_file() for p in state.get("downloaded", {}).values()):
            self.progress(f"using the export already downloaded in {self.work_dir}")
            return self.output_dir
        for attempt in (1, 2):
            try:
                if state.get("manifest") is None:
                    if not state.get("status_url"):
                        self.kick_off(state)
                    self.wait(state)
                self.download(state)
                break
            except _Expired as exc:  # the server dropped the job or its files: start over once
                if attempt == 2:
                    raise DataSourceError(f"export files keep disappearing: {exc}", url=str(exc)) from None
                self.progress(f"the server no longer has this export ({exc}); starting a new one")
                state = self._fresh_state()
                self._save_state(state)
        state["complete"] = True
        self._save_state(state)
        return self.output_dir

    def kick_off(self, state: dict[str, Any] | None = None) -> str:
        """Send the kick-off request; remember and return the status URL."""
        state = state if state is not None else self._load_state()
        path = {"system": "$export", "patient": "Patient/$export", "group": f"Group/{self.group_id}/$export"}[self.level]
        params: list[tuple[str, str]] = [("_outputFormat", NDJSON)]
        if self.types:
            params.append(("_type", ",".join(self.types)))
        if self.since:
            params.append(("_since", self.since))
        params.extend(("_typeFilter", f) for f in self.type_filters)
        resp = self.http.request(
            "GET",
            path,
            what=f"$export kick-off ({self.level} level)",
            params=params,
            headers={"Prefer": "respond-async"},
            ok=(202,),
        )
        status_url = resp.headers.get("Content-Location")
        if not status_url:
            raise DataSourceError(
                "$export kick-off was accepted but gave no Content-Location status URL", url=str(resp.request.url), status=202
            )
        self.kickoffs += 1
        state.update(status_url=status_url, kicked_off_at=time.time(), manifest=None, downloaded={}, complete=False)
        self._save_state(state)
        self.progress(f"export started; status at {status_url}")
        return status_url

    def wait(self, state: dict[str, Any]) -> dict[str, Any]:
        """Poll the status URL until the manifest is ready; store and return it."""
        status_url = state["status_url"]
        deadline = time.monotonic() + self.max_wait
        while True:
            resp = self.http.request("GET", status_url, what="$export status", ok=(200, 202, *GONE, 500))
            if resp.status_code in GONE:
                raise _Expired(status_url)
            if resp.status_code == 500:
                state["status_url"] = None
                self._save_state(state)
                raise DataSourceError(
                    f"the server reports the export failed: {outcome_text(resp)}; a rerun starts a new export",
                    url=status_url,
                    status=500,
                )
            if resp.status_code == 200:
                manifest = self.http.json_of(resp, "$export manifest")
                if not isinstance(manifest.get("output"), list):
                    raise DataSourceError("the $export manifest has no output list", url=status_url, status=200)
                state["manifest"] = manifest
                self._save_state(state)
                return manifest
            self.last_progress = resp.headers.get("X-Progress")
            if self.last_progress:
                self.progress(f"export in progress: {self.last_progress}")
            if time.monotonic() > deadline:
                raise DataSourceError(
                    f"the export did not finish within {self.max_wait:.0f} s; rerun to keep waiting for the same job",
                    url=status_url,
                )
            wait = retry_after_seconds(resp.headers.get("Retry-After"))
            self.sleep(min(self.max_poll_interval, wait if wait is not None else self.poll_interval))

    def download(self, state: dict[str, Any]) -> None:
        """Fetch every output (and error) file not downloaded yet; each is recorded when complete."""
        manifest = state["manifest"]
        needs_token = bool(manifest.get("requiresAccessToken"))
        downloaded: dict[str, str] = state.setdefault("downloaded", {})
        counts: dict[str, int] = {}
        for kind, folder in (("output", "output"), ("error", "errors")):
            for item in manifest.get(kind) or []:
                if not isinstance(item, dict) or not isinstance(item.get("url"), str):
                    continue
                rtype = str(item.get("type") or "Resource")
                counts[rtype] = counts.get(rtype, 0) + 1
                relative = f"{folder}/{rtype}.{counts[rtype]:03d}.ndjson"
                if item["url"] in downloaded and (self.work_dir / downloaded[item["url"]]).is_file():
                    continue
                self._fetch_file(item["url"], self.work_dir / relative, needs_token)
                downloaded[item["url"]] = relative
                self._save_state(state)
        self.output_dir.mkdir(parents=True, exist_ok=True)
        self._read_errors(state)

    # ---------------------------------------------------------------- internals

    def _fetch_file(self, url: str, target: Path, needs_token: bool) -> None:
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(target.name + ".part")
        resp = self.http.request(
            "GET",
            url,
            what=f"$export file {url}",
            headers={"Accept": NDJSON},
            use_auth=needs_token,
            ok=(200, *GONE),
            stream=True,
        )
        try:
            if resp.status_code in GONE:
                raise _Expired(url)
            with partial.open("wb") as out:
                for chunk in resp.iter_bytes(1 << 20):
                    out.write(chunk)
        except httpx.HTTPError as exc:
            raise DataSourceError(f"download of {url} broke off ({exc}); a rerun fetches it again", url=url) from exc
        finally:
            resp.close()
        os.replace(partial, target)
        self.downloads += 1
        self.progress(f"downloaded {target.name}")

    def _read_errors(self, state: dict[str, Any]) -> None:
        for relative in state.get("downloaded", {}).values():
            if not relative.startswith("errors/"):
                continue
            with (self.work_dir / relative).open("rb") as f:
                for line_no, line in enumerate(f, 1):
                    try:
                        outcome = json.loads(line)
                    except ValueError:
                        continue
                    for item in outcome.get("issue", []) if isinstance(outcome, dict) else []:
                        text = item.get("diagnostics") or (item.get("details") or {}).get("text") or item.get("code")
                        where = f"{self.work_dir / relative}:{line_no}"
                        self.issues.append(issue(where, None, SERVER_REPORTED, str(text), skipped=False))

    def _request_key(self) -> str:
        request = [self.base_url, self.level, self.group_id, sorted(self.types), self.since, sorted(self.type_filters)]
        return hashlib.sha256(json.dumps(request).encode()).hexdigest()[:16]

    def _fresh_state(self) -> dict[str, Any]:
        return {
            "request": {
                "base_url": self.base_url,
                "level": self.level,
                "group_id": self.group_id,
                "types": self.types,
                "since": self.since,
                "type_filters": self.type_filters,
            },
            "status_url": None,
            "manifest": None,
            "downloaded": {},
            "complete": False,
        }

    def _load_state(self) -> dict[str, Any]:
        path = self.work_dir / STATE_FILE
        if not path.is_file():
            return self._fresh_state()
        try:
            state = json.loads(path.read_text())
        except ValueError:
            self.progress(f"{path} is unreadable; starting a new export")
            return self._fresh_state()
        return state if isinstance(state, dict) else self._fresh_state()

    def _save_state(self, state: dict[str, Any]) -> None:
        self.work_dir.mkdir(parents=True, exist_ok=True)
        path = self.work_dir / STATE_FILE
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(state, indent=1))
        os.replace(tmp, path)

    def close(self) -> None:
        self.http.close()
        if self._files is not None:
            self._files.close()

    def __enter__(self) -> BulkExportSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class _Expired(Exception):
    """The server no longer has the job or a file (404/410): the export must start again."""

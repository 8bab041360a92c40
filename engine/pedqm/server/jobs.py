"""Asynchronous operations (``Prefer: respond-async``), as the FHIR asynchronous request pattern
and Bulk Data's kick-off/status do it: the request is answered 202 with ``Content-Location`` of a
status URL at once, and the status URL answers 202 (with ``X-Progress``) until the result is
ready, then 200 with a ``batch-response`` Bundle holding the operation's answer (or its error
status and OperationOutcome). ``DELETE`` on the status URL cancels the job and forgets it.

The job's state is in the store (SQLite), so a restarted server still answers for it: finished
jobs with their result, unfinished ones as failed because the server stopped.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from .errors import FhirError, operation_outcome
from .store import Store

log = logging.getLogger("pedqm.server")


class JobRunner:
    def __init__(self, store: Store, workers: int = 1):
        self.store = store
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="pedqm-job")
        self._cancelled: set[str] = set()
        self._lock = threading.Lock()

    def submit(self, operation: str, request: dict[str, Any], work: Callable[[], dict[str, Any]]) -> str:
        job_id = uuid.uuid4().hex
        self.store.create_job(job_id, operation, request)
        self._pool.submit(self._run, job_id, work)
        return job_id

    def _run(self, job_id: str, work: Callable[[], dict[str, Any]]) -> None:
        if self._is_cancelled(job_id):
            return
        self.store.update_job(job_id, "in-progress")
        try:
            result = {"status": 200, "resource": work()}
            state = "completed"
            error = None
        except FhirError as exc:
            result, state, error = {"status": exc.status, "resource": exc.outcome()}, "failed", exc.diagnostics
        except Exception as exc:  # noqa: BLE001 - a job's failure is the job's answer, never a lost thread
            log.exception("job %s failed", job_id)
            message = f"internal error in pedqm ({type(exc).__name__}); please report it"
            result, state, error = {"status": 500, "resource": operation_outcome(message, "exception")}, "failed", message
        if not self._is_cancelled(job_id):
            self.store.update_job(job_id, state, result, error)

    def cancel(self, job_id: str) -> bool:
        with self._lock:
            self._cancelled.add(job_id)
        return self.store.delete_job(job_id)

    def _is_cancelled(self, job_id: str) -> bool:
        with self._lock:
            return job_id in self._cancelled

    def shutdown(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)


def status_response(job: dict[str, Any]) -> tuple[int, dict[str, Any] | None, dict[str, str]]:
    """(HTTP status, body, headers) for polling ``job``."""
    state = job["status"]
    if state in ("accepted", "in-progress"):
        return 202, None, {"X-Progress": state, "Retry-After": "1"}
    result = job.get("result")
    if result is None:  # failed without an answer: the server stopped while it ran
        return 500, operation_outcome(job.get("error") or "the job failed", "exception"), {}
    bundle = {
        "resourceType": "Bundle", "id": job["id"], "type": "batch-response",
        "entry": [{"response": {"status": str(result["status"])}, "resource": result["resource"]}],
    }
    return 200, bundle, {}

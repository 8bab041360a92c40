"""The served store: submitted resources and asynchronous jobs, in one SQLite file.

Nothing the server is given is kept only in memory: a resource received by ``$submit-data`` and a
job started with ``Prefer: respond-async`` are written here before the request is answered, so a
restarted server still has them (a job that was running when the server stopped is found again
as failed, with that reason). Resources are kept as their FHIR JSON, keyed by type and id, with
the Patient compartment(s) they belong to indexed so that one patient's data is one query.

Writes are idempotent: storing a resource whose content (``meta`` aside) equals the stored one
changes nothing, not even its version.
"""

from __future__ import annotations

import datetime as _dt
import json
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ..fhir.sources.compartment import compartment_patients

Resource = dict[str, Any]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS resource (
    type TEXT NOT NULL, id TEXT NOT NULL, version INTEGER NOT NULL, updated TEXT NOT NULL,
    body TEXT NOT NULL, PRIMARY KEY (type, id));
CREATE TABLE IF NOT EXISTS compartment (
    patient TEXT NOT NULL, type TEXT NOT NULL, id TEXT NOT NULL, PRIMARY KEY (patient, type, id));
CREATE INDEX IF NOT EXISTS compartment_resource ON compartment (type, id);
CREATE TABLE IF NOT EXISTS job (
    id TEXT PRIMARY KEY, status TEXT NOT NULL, operation TEXT NOT NULL, request TEXT NOT NULL,
    created TEXT NOT NULL, updated TEXT NOT NULL, result TEXT, error TEXT);
"""

JOB_STATES = ("accepted", "in-progress", "completed", "failed", "cancelled")


def now() -> str:
    return _dt.datetime.now(_dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _content(resource: Resource) -> str:
    return json.dumps({k: v for k, v in resource.items() if k != "meta"}, sort_keys=True, separators=(",", ":"))


class Store:
    """SQLite-backed resources and jobs; safe to share between the server's threads."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.RLock()
        self._db = sqlite3.connect(str(self.path), check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)
        self.revision = 0  # bumped on every write, so readers can drop caches of patient data
        self._interrupt_unfinished_jobs()

    def close(self) -> None:
        with self._lock:
            self._db.close()

    # ------------------------------------------------------------------ resources
    def put(self, resource: Resource) -> tuple[Resource, bool]:
        """Store ``resource`` (it must have a type and an id); returns the stored resource and
        whether anything changed (False for an identical resubmission)."""
        rtype, rid = resource["resourceType"], resource["id"]
        with self._lock:
            row = self._db.execute("SELECT version, body FROM resource WHERE type=? AND id=?", (rtype, rid)).fetchone()
            if row is not None and _content(json.loads(row[1])) == _content(resource):
                return json.loads(row[1]), False
            version = (row[0] + 1) if row is not None else 1
            updated = now()
            stored = dict(resource)
            stored["meta"] = {**(resource.get("meta") or {}), "versionId": str(version), "lastUpdated": updated}
            self._db.execute("BEGIN")
            try:
                self._db.execute("INSERT OR REPLACE INTO resource VALUES (?, ?, ?, ?, ?)",
                                 (rtype, rid, version, updated, json.dumps(stored)))
                self._db.execute("DELETE FROM compartment WHERE type=? AND id=?", (rtype, rid))
                for pid in compartment_patients(stored):
                    self._db.execute("INSERT OR IGNORE INTO compartment VALUES (?, ?, ?)", (pid, rtype, rid))
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self.revision += 1
            return stored, True

    def get(self, rtype: str, rid: str) -> Resource | None:
        with self._lock:
            row = self._db.execute("SELECT body FROM resource WHERE type=? AND id=?", (rtype, rid)).fetchone()
        return json.loads(row[0]) if row else None

    def of_type(self, rtype: str) -> list[Resource]:
        with self._lock:
            rows = self._db.execute("SELECT body FROM resource WHERE type=? ORDER BY id", (rtype,)).fetchall()
        return [json.loads(r[0]) for r in rows]

    def patient_resources(self, patient_id: str) -> list[Resource]:
        """Every stored resource in the patient's compartment (the Patient itself included)."""
        with self._lock:
            rows = self._db.execute(
                "SELECT r.body FROM compartment c JOIN resource r ON r.type=c.type AND r.id=c.id "
                "WHERE c.patient=? ORDER BY r.type, r.id", (patient_id,)).fetchall()
        return [json.loads(r[0]) for r in rows]

    def patient_ids(self) -> list[str]:
        """Patients with a stored Patient resource."""
        with self._lock:
            rows = self._db.execute("SELECT id FROM resource WHERE type='Patient' ORDER BY id").fetchall()
        return [r[0] for r in rows]

    def patients_with_data(self) -> set[str]:
        with self._lock:
            rows = self._db.execute("SELECT DISTINCT patient FROM compartment").fetchall()
        return {r[0] for r in rows}

    def shared_resources(self) -> Iterator[Resource]:
        """Stored resources in no patient's compartment (Organizations, Medications, ...)."""
        with self._lock:
            rows = self._db.execute(
                "SELECT body FROM resource r WHERE NOT EXISTS "
                "(SELECT 1 FROM compartment c WHERE c.type=r.type AND c.id=r.id) ORDER BY type, id").fetchall()
        for r in rows:
            yield json.loads(r[0])

    def count(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT COUNT(*) FROM resource").fetchone()[0])

    # ------------------------------------------------------------------ jobs
    def create_job(self, job_id: str, operation: str, request: dict[str, Any]) -> None:
        stamp = now()
        with self._lock:
            self._db.execute("INSERT INTO job VALUES (?, 'accepted', ?, ?, ?, ?, NULL, NULL)",
                             (job_id, operation, json.dumps(request), stamp, stamp))

    def update_job(self, job_id: str, status: str, result: Any = None, error: str | None = None) -> None:
        assert status in JOB_STATES
        with self._lock:
            self._db.execute("UPDATE job SET status=?, updated=?, result=?, error=? WHERE id=?",
                             (status, now(), None if result is None else json.dumps(result), error, job_id))

    def job(self, job_id: str) -> dict[str, Any] | None:
        with self._lock:
            row = self._db.execute("SELECT id, status, operation, request, created, updated, result, error FROM job WHERE id=?",
                                   (job_id,)).fetchone()
        if row is None:
            return None
        return {"id": row[0], "status": row[1], "operation": row[2], "request": json.loads(row[3]),
                "created": row[4], "updated": row[5], "result": json.loads(row[6]) if row[6] else None, "error": row[7]}

    def delete_job(self, job_id: str) -> bool:
        with self._lock:
            cur = self._db.execute("DELETE FROM job WHERE id=?", (job_id,))
        return cur.rowcount > 0

    def _interrupt_unfinished_jobs(self) -> None:
        """Jobs that were running when the server stopped cannot finish: they are failed, with
        the reason, rather than left to be polled for ever."""
        with self._lock:
            self._db.execute("UPDATE job SET status='failed', updated=?, error=? WHERE status IN ('accepted', 'in-progress')",
                             (now(), "the server stopped before this job finished; submit the request again"))

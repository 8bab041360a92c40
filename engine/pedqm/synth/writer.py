"""Bulk Data NDJSON output: one file per resource type, optionally gzipped, byte-for-byte
reproducible (compact JSON, fixed key order, gzip header without a name or time)."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import IO, Any, cast

# Written even when empty, so a reader always finds the same layout.
RESOURCE_TYPES = ("Patient", "Organization", "Practitioner", "PractitionerRole", "Coverage", "Encounter",
                  "Condition", "Observation", "Procedure", "Immunization", "MedicationRequest", "ServiceRequest")


class NdjsonWriter:
    """Appends resources to ``<Type>.ndjson[.gz]`` files under ``out``; :meth:`close` reports
    resources and bytes per file."""

    def __init__(self, out: Path, *, compress: bool, level: int = 9) -> None:
        self.out = out
        self.compress = compress
        self.level = level
        self._files: dict[str, IO[bytes]] = {}
        self._raw: dict[str, IO[bytes]] = {}
        self.counts: dict[str, int] = {}
        out.mkdir(parents=True, exist_ok=True)
        for rtype in RESOURCE_TYPES:
            self._open(rtype)

    def path(self, rtype: str) -> Path:
        return self.out / f"{rtype}.ndjson{'.gz' if self.compress else ''}"

    def _open(self, rtype: str) -> IO[bytes]:
        twin = self.out / f"{rtype}.ndjson{'' if self.compress else '.gz'}"
        if twin.exists():  # a previous run with the other compression: it would be read twice
            twin.unlink()
        raw = self.path(rtype).open("wb")
        self._raw[rtype] = raw
        handle: IO[bytes] = raw
        if self.compress:
            handle = cast(IO[bytes], gzip.GzipFile(filename="", mode="wb", compresslevel=self.level, fileobj=raw,
                                                   mtime=0))
        self._files[rtype] = handle
        self.counts[rtype] = 0
        return handle

    def write(self, resource: dict[str, Any]) -> None:
        rtype = resource["resourceType"]
        handle = self._files.get(rtype) or self._open(rtype)
        handle.write(json.dumps(resource, separators=(",", ":"), ensure_ascii=False).encode())
        handle.write(b"\n")
        self.counts[rtype] += 1

    def close(self) -> dict[str, tuple[int, int]]:
        """{file name: (resources, bytes on disk)}."""
        for rtype, handle in self._files.items():
            handle.close()
            if handle is not self._raw[rtype]:
                self._raw[rtype].close()
        return {self.path(t).name: (n, self.path(t).stat().st_size) for t, n in self.counts.items()}

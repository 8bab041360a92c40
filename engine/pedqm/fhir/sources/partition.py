"""Patient partitions of data on disk, so that each worker reads and parses only its own share.

Two layouts are partitioned:

- **sharded** (what ``pedqm synth --shards K`` writes): ``shard-000/ … shard-K-1/``, each a Bulk
  NDJSON set holding every resource of its patients, and ``common/`` holding resources of no
  patient (Organizations, Practitioners, ...). Partition *i* of *n* reads the shards *j* with
  ``j % n == i`` and ``common/``; nothing else is opened.
- **anything else** a :class:`FileSource` reads: partition *i* of *n* indexes the data (one parse
  of every resource, the cheap part) and loads and yields only the patients whose id hashes to
  *i* (:func:`partition_of`, CRC-32, the same in every process and on every machine).

Either way a patient's record is whole in exactly one partition, so partial results merge to the
result of one pass (``MeasureResult.merge``).
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ..records import PatientRecord, Resource, ResourceIssue
from .files import FileSource

SHARD_PREFIX = "shard-"
COMMON_DIR = "common"


def partition_of(patient_id: str, n: int) -> int:
    """The partition (0 .. n-1) a patient id belongs to; stable across processes and machines."""
    return zlib.crc32(patient_id.encode("utf-8")) % n if n > 1 else 0


def shard_name(index: int) -> str:
    return f"{SHARD_PREFIX}{index:03d}"


def shard_dirs(root: Path) -> list[Path]:
    """The shard directories of a sharded layout, in order; [] when ``root`` is not one."""
    if not root.is_dir():
        return []
    return sorted(p for p in root.iterdir() if p.is_dir() and p.name.startswith(SHARD_PREFIX)
                  and p.name[len(SHARD_PREFIX):].isdigit())


def natural_partitions(root: str | Path, workers: int) -> int:
    """How many partitions to cut ``root`` into for ``workers``: its shards when it is sharded
    (more tasks than workers balance the load), else one per worker (each partition indexes the
    whole data once, so more would cost more parsing)."""
    shards = shard_dirs(Path(root))
    return len(shards) if len(shards) >= workers else max(1, workers)


class PartitionSource:
    """The patients of partition ``index`` of ``count`` of a directory or file (a
    :class:`~pedqm.fhir.records.ResourceSource`)."""

    def __init__(self, root: str | Path, index: int, count: int, **options: Any) -> None:
        if not 0 <= index < count:
            raise ValueError(f"partition {index} of {count} does not exist")
        self.root = Path(root)
        self.index, self.count = index, count
        self.description = f"{self.root} (partition {index + 1} of {count})"
        shards = shard_dirs(self.root)
        self._sharded = len(shards) >= count
        if self._sharded:
            mine = [s for j, s in enumerate(shards) if j % count == index]
            self._sources = [FileSource(s, allow_empty=True, **options) for s in mine]
            common = self.root / COMMON_DIR
            self._common = FileSource(common, allow_empty=True, **options) if common.is_dir() else None
        else:
            self._sources = [FileSource(self.root, **options)]
            self._common = None

    @property
    def issues(self) -> list[ResourceIssue]:
        """What was skipped; without shards every partition reads all the data, so only the first
        reports it (merged partitions then report each issue once)."""
        out: list[ResourceIssue] = []
        if not self._sharded and self.index != 0:
            return out
        for s in self._all():
            out.extend(s.issues)
        return out

    def _all(self) -> list[FileSource]:
        return self._sources + ([self._common] if self._common is not None else [])

    def patients(self) -> Iterator[PatientRecord]:
        if self._sharded:
            for s in self._sources:
                yield from s.patients()
            return
        source = self._sources[0]
        yield from source.patients_where(lambda pid: partition_of(pid, self.count) == self.index)

    def shared_resources(self) -> list[Resource]:
        seen: dict[tuple[str, str], Resource] = {}
        for s in self._all():
            for r in s.shared_resources():
                seen[(str(r.get("resourceType")), str(r.get("id")))] = r
        return list(seen.values())

    def close(self) -> None:
        for s in self._all():
            s.close()

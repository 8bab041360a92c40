"""Several named sources read as one :class:`~pedqm.fhir.records.ResourceSource` of linked children.

The first pass reads every source once, spooling each patient's record to a scratch file and
keeping only the Patient resources in memory; linkage runs on those (deterministic, then, if
asked, probabilistic); the second pass yields one merged record per child (:mod:`.merge`),
reading each source record back from the spool. Memory stays bounded by the Patients plus one
child's records, whatever the sources are (files, servers, Bulk exports).
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import IO, Any

from ..fhir.records import PatientRecord, Resource, ResourceIssue
from ..fhir.sources.provenance import NamedSource, sources_of, tag_source
from .deterministic import Link, deterministic_links
from .keys import PatientKey
from .merge import Duplicate, merge_records
from .probabilistic import ProbabilisticOptions, ScoredPair, probabilistic_links
from .unionfind import UnionFind


@dataclass
class Linkage:
    """Who is the same child: the clusters of source records, and why."""

    sources: list[str]
    patients: dict[PatientKey, Resource]
    links: list[Link] = field(default_factory=list)
    review: list[ScoredPair] = field(default_factory=list)
    clusters: list[list[PatientKey]] = field(default_factory=list)  # each in source order
    golden_ids: list[str] = field(default_factory=list)  # the linked record's id, per cluster
    options: ProbabilisticOptions | None = None

    def cluster_of(self) -> dict[PatientKey, int]:
        return {key: i for i, members in enumerate(self.clusters) for key in members}

    def summary(self) -> str:
        per_source = {s: sum(1 for k in self.patients if k[0] == s) for s in self.sources}
        by_method: dict[str, int] = {}
        for link in self.links:
            by_method[link.method] = by_method.get(link.method, 0) + 1
        multi = sum(1 for c in self.clusters if len(c) > 1)
        lines = [f"linkage: {len(self.patients)} Patient records in {len(self.sources)} sources "
                 f"({', '.join(f'{s} {n}' for s, n in per_source.items())}) are {len(self.clusters)} children, "
                 f"{multi} of them in more than one source",
                 "  links: " + (", ".join(f"{m} {n}" for m, n in sorted(by_method.items())) or "none")]
        if self.options is not None:
            lines.append(f"  probabilistic: linked at match probability >= {self.options.accept}, "
                         f"{len(self.review)} pair(s) from {self.options.review} to review (not linked)")
        return "\n".join(lines)


class LinkedSource:
    """``sources`` (in priority order: the first one's Patient is a linked child's Patient) as one
    source of merged records. ``probabilistic`` turns on splink linkage after the deterministic
    one; ``identifier_systems`` restricts which identifier systems link records."""

    def __init__(self, sources: Sequence[NamedSource], *, probabilistic: ProbabilisticOptions | None = None,
                 identifier_systems: frozenset[str] | None = None,
                 on_pass_done: Callable[[LinkedSource], None] | None = None) -> None:
        names = [s.name for s in sources]
        if len(set(names)) != len(names):
            raise ValueError(f"source names must differ: {', '.join(names)}")
        self.sources = list(sources)
        self.description = " + ".join(s.description for s in sources)
        self.issues: list[ResourceIssue] = []
        self.duplicates: list[Duplicate] = []
        self.probabilistic = probabilistic
        self.identifier_systems = identifier_systems
        self._linkage: Linkage | None = None
        self._spool: IO[bytes] | None = None
        self._offsets: dict[PatientKey, int] = {}
        self._shared: list[Resource] | None = None
        self.on_pass_done = on_pass_done  # called after each full pass of patients() (e.g. to report duplicates)
        self.checked_patients = False  # the CLI checked, after linkage, that there are patients

    # ------------------------------------------------------------ first pass
    @property
    def linkage(self) -> Linkage:
        if self._linkage is None:
            self._linkage = self._link()
        return self._linkage

    def _read_all(self) -> dict[PatientKey, Resource]:
        spool = self._spool = tempfile.TemporaryFile(prefix="pedqm-linkage-")
        patients: dict[PatientKey, Resource] = {}
        for source in self.sources:
            seen = len(source.issues)
            for record in source.patients():
                patient = record.patient
                if patient is None:
                    continue
                key = (source.name, record.patient_id)
                self._offsets[key] = spool.tell()
                spool.write(json.dumps(record.resources, separators=(",", ":")).encode() + b"\n")
                patients[key] = patient
            self.issues.extend(source.issues[seen:])
        return patients

    def _link(self) -> Linkage:
        patients = self._read_all()
        names = [s.name for s in self.sources]
        bases = {s.name: s.source.description for s in self.sources
                 if str(s.source.description).lower().startswith(("http://", "https://"))}
        links = deterministic_links(patients, bases, self.identifier_systems)
        uf: UnionFind[PatientKey] = UnionFind(patients)
        for link in links:
            uf.union(link.a, link.b)
        review: list[ScoredPair] = []
        if self.probabilistic is not None:
            accepted, review = probabilistic_links(patients, links, lambda a, b: uf.find(a) == uf.find(b),
                                                   self.probabilistic)
            for link in accepted:
                if uf.union(link.a, link.b):
                    links.append(link)
        order = {key: i for i, key in enumerate(patients)}  # sources in order, records as read
        rank = {name: i for i, name in enumerate(names)}
        clusters = sorted((sorted(members, key=lambda k: (rank[k[0]], order[k])) for members in uf.groups().values()),
                          key=lambda members: order[members[0]])
        golden: list[str] = []
        used: set[str] = set()
        for members in clusters:
            source, pid = members[0]
            gid = pid if pid not in used else f"{pid}-{source}"[:64]
            used.add(gid)
            golden.append(gid)
        return Linkage(names, patients, links, review, clusters, golden, self.probabilistic)

    # ------------------------------------------------------------ second pass
    def _load(self, key: PatientKey) -> PatientRecord:
        assert self._spool is not None
        self._spool.seek(self._offsets[key])
        return PatientRecord(key[1], json.loads(self._spool.readline()))

    def patients(self) -> Iterator[PatientRecord]:
        linkage = self.linkage
        self.duplicates = []
        for members, gid in zip(linkage.clusters, linkage.golden_ids):
            merged, duplicates = merge_records(gid, [(key, self._load(key)) for key in members])
            self.duplicates.extend(duplicates)
            yield merged
        if self.on_pass_done is not None:
            self.on_pass_done(self)

    def shared_resources(self) -> list[Resource]:
        """Every source's shared resources; one (type, id) read from two sources is kept once (the
        first source's) with both tags, and an issue when their content differs."""
        if self._shared is not None:
            return self._shared
        kept: dict[tuple[str, str], Resource] = {}
        for source in self.sources:
            for r in source.shared_resources():
                key = (str(r.get("resourceType")), str(r.get("id")))
                first = kept.get(key)
                if first is None:
                    kept[key] = r
                    continue
                for name in sources_of(r):
                    tag_source(first, name)
                if _without_meta(first) != _without_meta(r):
                    self.issues.append(ResourceIssue(source.description, key[0], key[1],
                                                     f"also in {sources_of(first)[0]} with different content; "
                                                     "the first source's is used", skipped=True))
        self._shared = list(kept.values())
        return self._shared

    def duplicate_summary(self) -> str:
        by: dict[tuple[str, str], int] = {}
        for d in self.duplicates:
            how = "identifier" if d.how.startswith("identifier") else "content"
            by[(d.resource_type, how)] = by.get((d.resource_type, how), 0) + 1
        if not by:
            return "duplicates across sources: none"
        return "duplicates across sources, kept once: " + ", ".join(
            f"{t} {n} (by {how})" for (t, how), n in sorted(by.items()))

    def close(self) -> None:
        if self._spool is not None:
            self._spool.close()
            self._spool = None
        for s in self.sources:
            s.close()

    def __enter__(self) -> LinkedSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _without_meta(r: Resource) -> dict[str, Any]:
    return {k: v for k, v in r.items() if k != "meta"}

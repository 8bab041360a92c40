"""Where a resource came from, kept on the resource itself as a ``meta.tag``.

When several sources are read in one run (a practice, a school-based clinic, urgent care, a
community organization), every resource is tagged with the name of the source it was read from:
``meta.tag`` = ``{system: SOURCE_TAG_SYSTEM, code: <name>, display: <directory or URL>}``. A tag
rather than ``meta.source``: FHIR reserves ``meta.source`` for the system that *created* the
resource (a server may already have set it), while tags are the element the specification
offers for workflow labels like "read from the school clinic's server". A resource found in
several sources and collapsed to one keeps one tag per source, so a report can say which sources
recorded an event.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from ..records import PatientRecord, Resource, ResourceIssue, ResourceSource

SOURCE_TAG_SYSTEM = "http://pedqm.org/fhir/CodeSystem/data-source"


def tag_source(resource: Resource, name: str, description: str | None = None) -> Resource:
    """Add the source tag for ``name`` to ``resource`` (in place, once) and return it."""
    meta = resource.get("meta")
    if not isinstance(meta, dict):
        meta = resource["meta"] = {}
    tags = meta.get("tag")
    if not isinstance(tags, list):
        tags = meta["tag"] = []
    if not any(isinstance(t, dict) and t.get("system") == SOURCE_TAG_SYSTEM and t.get("code") == name for t in tags):
        tag: dict[str, str] = {"system": SOURCE_TAG_SYSTEM, "code": name}
        if description:
            tag["display"] = description
        tags.append(tag)
    return resource


def sources_of(resource: Resource) -> list[str]:
    """The names of the sources a resource was read from (its source tags, in order)."""
    tags = (resource.get("meta") or {}).get("tag") or []
    return [str(t["code"]) for t in tags
            if isinstance(t, dict) and t.get("system") == SOURCE_TAG_SYSTEM and t.get("code")]


class NamedSource:
    """A :class:`ResourceSource` under a name; every resource it yields carries the name's tag.

    Issues are the wrapped source's, each location prefixed with the name, so a message from a
    run over several sources says which one it concerns.
    """

    def __init__(self, name: str, source: ResourceSource) -> None:
        self.name = name
        self.source = source
        self.description = f"{name}={source.description}"
        self._issues_seen = 0
        self.issues: list[ResourceIssue] = []

    def _sync_issues(self) -> None:
        new = self.source.issues[self._issues_seen:]
        self._issues_seen = len(self.source.issues)
        for i in new:
            self.issues.append(ResourceIssue(f"{self.name}: {i.location}", i.resource_type, i.resource_id, i.message,
                                             skipped=i.skipped, count=i.count))

    def patients(self) -> Iterator[PatientRecord]:
        try:
            for record in self.source.patients():
                for resource in record.resources:
                    tag_source(resource, self.name, self.source.description)
                self._sync_issues()
                yield record
        finally:
            self._sync_issues()

    def shared_resources(self) -> list[Resource]:
        shared = self.source.shared_resources()
        for resource in shared:
            tag_source(resource, self.name, self.source.description)
        self._sync_issues()
        return shared

    def close(self) -> None:
        close = getattr(self.source, "close", None)
        if callable(close):
            close()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.source, name)

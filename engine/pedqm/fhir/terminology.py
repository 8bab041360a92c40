"""Value sets for CQL membership tests (`code in "Value Set"`), from FHIR ValueSet resources.

Value sets are found by canonical URL whatever the scheme (published packages mix http:// and
https://), without a `|version` suffix, and by OID (`urn:oid:2.16...` or a URL ending in the OID).
A value set nobody supplied is an error naming its URL: answering `false` would silently
exclude every patient from a measure.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..cql.errors import CqlRuntimeError
from ..cql.runtime.values import Code, ValueSetRef
from .convert import oid_of


class TerminologyError(CqlRuntimeError):
    """A value set is missing or cannot be expanded."""


def canonical_key(url: str) -> str:
    """Scheme-less, version-less canonical: 'http://x/ValueSet/1|2' -> 'x/ValueSet/1'."""
    url = url.split("|", 1)[0].strip()
    for scheme in ("https://", "http://"):
        if url.startswith(scheme):
            return url[len(scheme):].rstrip("/")
    return url.rstrip("/")


@dataclass
class ValueSetEntry:
    url: str
    name: str | None
    version: str | None
    codes: set[tuple[str | None, str]] = field(default_factory=set)  # (system, code)
    codes_any_system: set[str] = field(default_factory=set)
    complete: bool = True  # False when only an intensional compose (filters) was available
    members: list[Code] = field(default_factory=list)

    def add(self, system: str | None, code: str, version: str | None = None, display: str | None = None) -> None:
        if (system, code) not in self.codes:
            self.codes.add((system, code))
            self.codes_any_system.add(code)
            self.members.append(Code(code, system, version, display))


def _contains(items: Iterable[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    for item in items:
        if item.get("code") is not None and not item.get("abstract") and not item.get("inactive"):
            yield item
        yield from _contains(item.get("contains") or [])


class ValueSetIndex:
    """Implements the CQL engine's TerminologyProvider over ValueSet resources."""

    def __init__(self, server: Any = None) -> None:
        self._by_key: dict[str, ValueSetEntry] = {}
        self.server = server  # optional TerminologyServer, asked for value sets not supplied

    def __len__(self) -> int:
        return len({id(v) for v in self._by_key.values()})

    @classmethod
    def from_resources(cls, resources: Iterable[dict[str, Any]]) -> ValueSetIndex:
        index = cls()
        for r in resources:
            if r.get("resourceType") == "ValueSet":
                index.add(r)
            elif r.get("resourceType") == "Bundle":
                index.add_all(e.get("resource") or {} for e in r.get("entry") or [])
        return index

    @classmethod
    def from_directory(cls, path: Path | str) -> ValueSetIndex:
        """Every ValueSet (or Bundle of them) in `*.json` files below `path`."""
        index = cls()
        for file in sorted(Path(path).rglob("*.json")):
            try:
                data = json.loads(file.read_text(encoding="utf-8"))
            except (OSError, ValueError) as exc:
                raise TerminologyError(f"{file}: not readable JSON: {exc}") from None
            index.add_all([data])
        return index

    def add_all(self, resources: Iterable[dict[str, Any]]) -> None:
        for r in resources:
            if r.get("resourceType") == "ValueSet":
                self.add(r)
            elif r.get("resourceType") == "Bundle":
                self.add_all(e.get("resource") or {} for e in r.get("entry") or [])

    def add(self, vs: dict[str, Any]) -> ValueSetEntry:
        url = vs.get("url") or ""
        entry = ValueSetEntry(url, vs.get("name"), vs.get("version"))
        expansion = vs.get("expansion") or {}
        if expansion.get("contains"):
            for c in _contains(expansion["contains"]):
                entry.add(c.get("system"), c["code"], c.get("version"), c.get("display"))
        else:
            for inc in (vs.get("compose") or {}).get("include") or []:
                if inc.get("filter") or inc.get("valueSet") or (inc.get("system") and not inc.get("concept")):
                    entry.complete = False
                for c in inc.get("concept") or []:
                    entry.add(inc.get("system"), c["code"], inc.get("version"), c.get("display"))
        for key in self._keys(url, vs):
            self._by_key[key] = entry
        return entry

    @staticmethod
    def _keys(url: str, vs: dict[str, Any]) -> list[str]:
        keys = [canonical_key(url)] if url else []
        oid = oid_of(url) if url else None
        for ident in vs.get("identifier") or []:
            value = ident.get("value") or ""
            oid = oid or oid_of(value)
        if oid:
            keys.append("oid:" + oid)
        if vs.get("id"):
            keys.append("id:" + str(vs["id"]))
        return keys

    def find(self, ref: ValueSetRef) -> ValueSetEntry:
        url = ref.id
        entry = self._by_key.get(canonical_key(url))
        if entry is None:
            oid = oid_of(url)
            entry = self._by_key.get("oid:" + oid) if oid else None
        if entry is None and self.server is not None:
            try:
                entry = self.add(self.server.expand(url))
            except OSError as exc:  # DataSourceError: the server's answer, said with the URL
                raise TerminologyError(str(exc)) from None
            for key in self._keys(url, {}):
                self._by_key.setdefault(key, entry)
        if entry is None:
            raise TerminologyError(f"value set {url} was not provided (load it from the measure bundle or a ValueSet directory)")
        if not entry.complete and not entry.codes:
            raise TerminologyError(f"value set {url} has no expansion and its definition uses filters or other value sets; supply an expansion")
        return entry

    # --- TerminologyProvider protocol
    def in_valueset(self, code: Code, valueset: ValueSetRef) -> bool | None:
        if code.code is None:
            return False
        entry = self.find(valueset)
        if code.system is None:
            return code.code in entry.codes_any_system
        return (code.system, code.code) in entry.codes

    def expand(self, valueset: ValueSetRef) -> list[Code]:
        return list(self.find(valueset).members)

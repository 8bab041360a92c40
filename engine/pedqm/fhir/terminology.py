"""Value sets for CQL membership tests (`code in "Value Set"`), from FHIR ValueSet resources.

Value sets are found by canonical URL whatever the scheme (published packages mix http:// and
https://), without a `|version` suffix, and by OID (`urn:oid:2.16...` or a URL ending in the OID).
A value set nobody supplied is an error naming its URL: answering `false` would silently
exclude every patient from a measure.

A value set published with only its definition (`compose`, no `expansion`) is expanded here when
the definition says its members without a code system's hierarchy: listed concepts, `concept`/
`code` filters with `=` or `in`, `=`/`in` filters on a property of a supplied CodeSystem (or a
whole supplied CodeSystem), other supplied value sets, and `exclude`. Anything else (`is-a`,
`descendent-of`, `regex`, an included value set nobody supplied, ...) goes to the terminology
server when one is configured, and is otherwise an error naming the value set and the part that
could not be computed: a partial expansion would silently give wrong results.
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


class _Unsupported(Exception):
    """A part of a value set's definition that pedqm cannot compute locally (the message says which)."""


def canonical_key(url: str) -> str:
    """Scheme-less, version-less canonical: 'http://x/ValueSet/1|2' -> 'x/ValueSet/1'."""
    url = url.split("|", 1)[0].strip()
    for scheme in ("https://", "http://"):
        if url.startswith(scheme):
            return url[len(scheme):].rstrip("/")
    return url.rstrip("/")


CodeKey = tuple[str | None, str]
# filter operators whose members follow from listed codes or concept properties, without a hierarchy
_LOCAL_OPS = frozenset({"=", "in"})
# properties that encode the hierarchy: a filter on them needs subsumption, not property matching
_HIERARCHY_PROPERTIES = frozenset({"parent", "child"})


@dataclass
class ValueSetEntry:
    url: str
    name: str | None
    version: str | None
    codes: set[CodeKey] = field(default_factory=set)  # (system, code)
    codes_any_system: set[str] = field(default_factory=set)
    complete: bool = True  # False until an intensional definition (compose only) has been expanded
    members: list[Code] = field(default_factory=list)
    oid: str | None = None
    compose: dict[str, Any] | None = None  # the definition still to expand (on first use: its parts may load later)

    def add(self, system: str | None, code: str, version: str | None = None, display: str | None = None) -> None:
        if (system, code) not in self.codes:
            self.codes.add((system, code))
            self.codes_any_system.add(code)
            self.members.append(Code(code, system, version, display))

    def fill(self, members: Iterable[Code]) -> None:
        """Take an expansion computed later (locally or by a server) as this value set's members."""
        for c in members:
            if c.code is not None:
                self.add(c.system, c.code, c.version, c.display)
        self.compose = None
        self.complete = True

    def describe(self) -> str:
        """URL and OID, the two names a measure author may know the value set by."""
        return f"value set {self.url}" + (f" (OID {self.oid})" if self.oid else "")


def _contains(items: Iterable[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    for item in items:
        if item.get("code") is not None and not item.get("abstract") and not item.get("inactive"):
            yield item
        yield from _contains(item.get("contains") or [])


def _concepts(items: Iterable[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    """Every concept of a CodeSystem, nested ones included (for property filters, not subsumption)."""
    for item in items:
        if isinstance(item, dict) and isinstance(item.get("code"), str):
            yield item
            yield from _concepts(item.get("concept") or [])


def _property_values(concept: dict[str, Any], name: str) -> set[str]:
    """A concept's values of one property, as the strings a filter's `value` is written in."""
    values: set[str] = set()
    for prop in concept.get("property") or []:
        if not isinstance(prop, dict) or prop.get("code") != name:
            continue
        for key, value in prop.items():
            if not key.startswith("value"):
                continue
            if isinstance(value, bool):
                values.add("true" if value else "false")
            elif isinstance(value, dict):  # valueCoding
                if isinstance(value.get("code"), str):
                    values.add(value["code"])
            else:
                values.add(str(value))
    return values


def _filter_text(f: dict[str, Any]) -> str:
    return f"'{f.get('property')} {f.get('op')} {f.get('value')}'"


class ValueSetIndex:
    """Implements the CQL engine's TerminologyProvider over ValueSet (and CodeSystem) resources."""

    def __init__(self, server: Any = None) -> None:
        self._by_key: dict[str, ValueSetEntry] = {}
        self._code_systems: dict[str, dict[str, Any]] = {}  # url (no version) -> CodeSystem
        self.server = server  # optional TerminologyServer, asked for value sets not supplied

    def __len__(self) -> int:
        return len({id(v) for v in self._by_key.values()})

    @classmethod
    def from_resources(cls, resources: Iterable[dict[str, Any]]) -> ValueSetIndex:
        index = cls()
        index.add_all(resources)
        return index

    @classmethod
    def from_directory(cls, path: Path | str) -> ValueSetIndex:
        """Every ValueSet and CodeSystem (or Bundle of them) in `*.json` files below `path`."""
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
            elif r.get("resourceType") == "CodeSystem":
                self.add_code_system(r)
            elif r.get("resourceType") == "Bundle":
                self.add_all(e.get("resource") or {} for e in r.get("entry") or [])

    def add_code_system(self, cs: dict[str, Any]) -> None:
        """A CodeSystem whose concepts property filters (and whole-system includes) are read from."""
        url = cs.get("url")
        if isinstance(url, str) and url:
            self._code_systems[url.split("|", 1)[0]] = cs

    def add(self, vs: dict[str, Any]) -> ValueSetEntry:
        url = vs.get("url") or ""
        keys = self._keys(url, vs)
        oid = next((k[4:] for k in keys if k.startswith("oid:")), None)
        entry = ValueSetEntry(url, vs.get("name"), vs.get("version"), oid=oid)
        expansion = vs.get("expansion") or {}
        compose = vs.get("compose")
        if expansion.get("contains"):
            for c in _contains(expansion["contains"]):
                entry.add(c.get("system"), c["code"], c.get("version"), c.get("display"))
        elif isinstance(compose, dict) and (compose.get("include") or compose.get("exclude")):
            entry.compose = compose
            entry.complete = False
        for key in keys:
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

    def _lookup(self, url: str) -> ValueSetEntry | None:
        entry = self._by_key.get(canonical_key(url))
        if entry is None:
            oid = oid_of(url)
            entry = self._by_key.get("oid:" + oid) if oid else None
        return entry

    def has(self, url: str) -> bool:
        """Whether a value set is supplied (by canonical or OID), without asking any server."""
        return self._lookup(url) is not None

    def find(self, ref: ValueSetRef) -> ValueSetEntry:
        url = ref.id
        entry = self._lookup(url)
        if entry is None and self.server is not None:
            try:
                entry = self.add(self.server.expand(url))
            except OSError as exc:  # DataSourceError: the server's answer, said with the URL
                raise TerminologyError(str(exc)) from None
            for key in self._keys(url, {}):
                self._by_key.setdefault(key, entry)
        if entry is None:
            raise TerminologyError(f"value set {url} was not provided (load it from the measure bundle or a ValueSet directory)")
        if entry.compose is not None:
            self._expand(entry, url)
        return entry

    # --- intensional value sets

    def _expand(self, entry: ValueSetEntry, asked: str) -> None:
        """Expand ``entry``'s definition here, else by the terminology server, else say why not."""
        try:
            entry.fill(self._compose_members(entry, []))
            return
        except _Unsupported as exc:
            reason = str(exc)
        if self.server is not None:
            try:
                served = self.server.expand(entry.url or asked)
            except OSError as exc:
                raise TerminologyError(f"{entry.describe()} has no expansion and pedqm cannot compute it ({reason}); "
                                       f"the terminology server could not either: {exc}") from None
            contains = (served.get("expansion") or {}).get("contains") or []
            entry.fill(Code(c["code"], c.get("system"), c.get("version"), c.get("display")) for c in _contains(contains))
            return
        raise TerminologyError(f"{entry.describe()} has no expansion and pedqm cannot compute it from its definition: "
                               f"{reason}; supply an expansion or give --terminology-server URL")

    def _compose_members(self, entry: ValueSetEntry, stack: list[ValueSetEntry]) -> list[Code]:
        """Union of the includes minus the union of the excludes (FHIR ValueSet.compose)."""
        compose = entry.compose or {}
        stack = [*stack, entry]
        included: dict[CodeKey, Code] = {}
        for part in compose.get("include") or []:
            for c in self._part_members(part, stack):
                included.setdefault((c.system, str(c.code)), c)
        excluded: set[CodeKey] = set()
        for part in compose.get("exclude") or []:
            excluded.update((c.system, str(c.code)) for c in self._part_members(part, stack))
        return [c for key, c in included.items() if key not in excluded]

    def _part_members(self, part: dict[str, Any], stack: list[ValueSetEntry]) -> list[Code]:
        """One include/exclude: its system selection intersected with each value set it names."""
        selections: list[list[Code]] = []
        system = part.get("system")
        if isinstance(system, str) and system:
            version = part.get("version")
            if part.get("concept") and part.get("filter"):
                raise _Unsupported(f"an include of {system} has both concepts and filters")
            if part.get("concept"):
                selections.append([Code(c["code"], system, version, c.get("display"))
                                   for c in part["concept"] if isinstance(c, dict) and isinstance(c.get("code"), str)])
            elif part.get("filter"):
                selections.append(self._filtered(system, version, part["filter"]))
            else:
                cs = self._code_system(system, f"the whole code system {system} is included")
                selections.append([Code(c["code"], system, version, c.get("display")) for c in _concepts(cs.get("concept") or [])])
        for url in part.get("valueSet") or []:
            selections.append(self._nested(str(url), stack))
        if not selections:
            raise _Unsupported("an include or exclude names neither a code system nor a value set")
        members = selections[0]
        for other in selections[1:]:
            keys = {(c.system, c.code) for c in other}
            members = [c for c in members if (c.system, c.code) in keys]
        return members

    def _filtered(self, system: str, version: str | None, filters: list[dict[str, Any]]) -> list[Code]:
        """Codes of ``system`` passing every filter (filters combine with AND)."""
        chosen: list[str] | None = None
        displays: dict[str, str | None] = {}
        for f in filters:
            prop, op, value = f.get("property"), f.get("op"), str(f.get("value") or "")
            if op not in _LOCAL_OPS or prop in _HIERARCHY_PROPERTIES or not prop:
                raise _Unsupported(f"filter {_filter_text(f)} on {system} needs the code system's hierarchy or a terminology server")
            wanted = [v.strip() for v in value.split(",") if v.strip()] if op == "in" else [value]
            if prop in ("concept", "code"):
                codes = wanted
            else:
                cs = self._code_system(system, f"filter {_filter_text(f)} reads a property of {system}")
                targets = set(wanted)
                codes = []
                for concept in _concepts(cs.get("concept") or []):
                    if _property_values(concept, str(prop)) & targets:
                        codes.append(concept["code"])
                        displays[concept["code"]] = concept.get("display")
            chosen = codes if chosen is None else [c for c in chosen if c in set(codes)]
        return [Code(c, system, version, displays.get(c)) for c in dict.fromkeys(chosen or [])]

    def _code_system(self, system: str, why: str) -> dict[str, Any]:
        cs = self._code_systems.get(system)
        if cs is None:
            raise _Unsupported(f"{why}, and no CodeSystem {system} was supplied")
        if cs.get("content") not in (None, "complete"):
            raise _Unsupported(f"{why}, and the CodeSystem supplied has content '{cs.get('content')}', not 'complete'")
        return cs

    def _nested(self, url: str, stack: list[ValueSetEntry]) -> list[Code]:
        nested = self._lookup(url)
        if nested is None:
            raise _Unsupported(f"it includes value set {url}, which was not supplied")
        if any(nested is seen for seen in stack):
            chain = " -> ".join(e.url for e in [*stack, nested])
            raise _Unsupported(f"its definition includes itself ({chain})")
        if nested.compose is not None:
            try:
                nested.fill(self._compose_members(nested, stack))
            except _Unsupported as exc:
                raise _Unsupported(f"included {nested.describe()}: {exc}") from None
        return list(nested.members)

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

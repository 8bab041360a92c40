"""Measure packages: a Measure with its CQL libraries and value sets, ready to calculate.

Two layouts are read:

* a FHIR Bundle (`measure-bundle.json`) holding the Measure, its Libraries (the `text/cql`
  content is the source; any ELM is ignored) and ValueSets with expansions;
* a directory as `measure_library/` uses it: `measure.json` (the Measure), the CQL files beside
  it (or in `cql/`), value sets in `valuesets/` (ValueSet resources or Bundles of them), and
  libraries shared by several measures in the library root's `_shared/` folder.

Libraries are found by name and version, never by URL: published packages mix
`https://madie.cms.gov/...` and `http://ecqi.healthit.gov/...` canonicals for the same library.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..cql import Library, LibraryManager
from ..cql.model import TerminologyRef, walk
from ..fhir.terminology import ValueSetIndex
from .definition import MeasureDef, MeasureDefinitionError


class MeasurePackageError(Exception):
    """A measure package that cannot be loaded (names the file and what is wrong)."""


def _name_version(canonical: str) -> tuple[str, str | None]:
    url, _, version = canonical.partition("|")
    return url.rstrip("/").rsplit("/", 1)[-1], (version or None)


@dataclass
class MeasurePackage:
    measure: MeasureDef
    cql: dict[tuple[str, str | None], str]  # (library name, version) -> CQL text
    valuesets: ValueSetIndex
    source: str
    other_resources: list[dict[str, Any]] = field(default_factory=list)
    _library: Library | None = field(default=None, repr=False)
    warnings: list[str] = field(default_factory=list)  # e.g. an include's version substituted

    # ------------------------------------------------------------------ loading
    @classmethod
    def load(cls, path: str | Path) -> MeasurePackage:
        p = Path(path)
        if p.is_dir():
            return cls.from_directory(p)
        if p.is_file():
            return cls.from_bundle_file(p)
        raise MeasurePackageError(f"{p}: no such measure bundle or directory")

    @classmethod
    def from_bundle_file(cls, path: Path) -> MeasurePackage:
        try:
            bundle = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise MeasurePackageError(f"{path}: cannot read the measure bundle: {exc}") from None
        return cls.from_bundle(bundle, str(path))

    @classmethod
    def from_bundle(cls, bundle: dict[str, Any], source: str = "<bundle>") -> MeasurePackage:
        if bundle.get("resourceType") != "Bundle":
            raise MeasurePackageError(f"{source}: expected a FHIR Bundle, found {bundle.get('resourceType')!r}")
        resources = [e.get("resource") or {} for e in bundle.get("entry") or []]
        return cls._from_resources(resources, source, {})

    @classmethod
    def from_directory(cls, path: Path) -> MeasurePackage:
        measure_file = path / "measure.json"
        if not measure_file.is_file():
            bundles = sorted(path.glob("*bundle*.json"))
            if bundles:
                return cls.from_bundle_file(bundles[0])
            raise MeasurePackageError(f"{path}: a measure directory needs measure.json (a FHIR Measure)")
        try:
            resources: list[dict[str, Any]] = [json.loads(measure_file.read_text(encoding="utf-8"))]
        except ValueError as exc:
            raise MeasurePackageError(f"{measure_file}: not valid JSON: {exc}") from None
        for vs_dir in (path / "valuesets", path.parent / "_shared" / "valuesets"):
            for f in sorted(vs_dir.glob("*.json")) if vs_dir.is_dir() else []:
                resources.append(json.loads(f.read_text(encoding="utf-8")))
        cql: dict[tuple[str, str | None], str] = {}
        for d in (path, path / "cql", path.parent / "_shared", path.parent / "_shared" / "cql"):
            for f in sorted(d.glob("*.cql")) if d.is_dir() else []:
                text = f.read_text(encoding="utf-8")
                cql.setdefault(_declared_name_version(text, f.stem), text)
        return cls._from_resources(resources, str(path), cql)

    @classmethod
    def _from_resources(cls, resources: list[dict[str, Any]], source: str,
                        cql: dict[tuple[str, str | None], str]) -> MeasurePackage:
        measures = [r for r in resources if r.get("resourceType") == "Measure"]
        if len(measures) != 1:
            raise MeasurePackageError(f"{source}: expected exactly one Measure, found {len(measures)}")
        try:
            mdef = MeasureDef.from_resource(measures[0])
        except MeasureDefinitionError as exc:
            raise MeasurePackageError(f"{source}: {exc}") from None
        other = []
        for r in resources:
            if r.get("resourceType") == "Library":
                for c in r.get("content") or []:
                    if c.get("contentType") == "text/cql" and c.get("data"):
                        text = base64.b64decode(c["data"]).decode("utf-8")
                        cql[(r.get("name") or _declared_name_version(text, "")[0], r.get("version"))] = text
            elif r.get("resourceType") not in ("Measure", "ValueSet"):
                other.append(r)
        valuesets = ValueSetIndex.from_resources(r for r in resources if r.get("resourceType") in ("ValueSet", "CodeSystem", "Bundle"))
        return cls(mdef, cql, valuesets, source, other)

    # ------------------------------------------------------------------ value sets
    def missing_valuesets(self) -> dict[str, list[str]]:
        """Value sets the measure's libraries use that the package does not supply (URL ->
        declarations), checked before any patient so that one message names all of them; a
        terminology server, when configured, is asked for them lazily instead."""
        declared = used_valuesets(self.library())
        return {url: names for url, names in sorted(declared.items()) if not self.valuesets.has(url)}

    def check_valuesets(self) -> None:
        """Raise :class:`MeasurePackageError` listing every missing value set (no terminology server)."""
        if self.valuesets.server is not None:
            return
        missing = self.missing_valuesets()
        if not missing:
            return
        lines = [f"  {url}  ({', '.join(names)})" for url, names in missing.items()]
        raise MeasurePackageError(
            f"{self.source}: {len(missing)} value set(s) the measure's libraries use are not in the package "
            "(add them to the package or its valuesets/ folder, or give --terminology-server URL):\n" + "\n".join(lines))

    # ------------------------------------------------------------------ libraries
    def lookup(self, name: str, version: str | None) -> tuple[str, str] | None:
        if (name, version) in self.cql:
            return self.cql[(name, version)], name
        candidates = [(v, t) for (n, v), t in self.cql.items() if n == name]
        if not candidates:
            return None
        if version is None or len(candidates) == 1:
            return candidates[-1][1], name
        return None

    @property
    def main_library_key(self) -> tuple[str, str | None]:
        return _name_version(self.measure.library)

    def library(self) -> Library:
        """The measure's main library, compiled once (includes resolved within the package)."""
        if self._library is None:
            name, version = self.main_library_key
            found = self.lookup(name, version) or self.lookup(name, None)
            if found is None:
                known = ", ".join(f"{n} {v or ''}".strip() for n, v in self.cql)
                raise MeasurePackageError(f"{self.source}: the measure's library {name} {version or ''} is not in the package (it has: {known})")
            manager = LibraryManager(self.lookup, strict_versions=False)
            self._library = manager.compile(found[0], name)
            self.warnings.extend(manager.warnings)
        return self._library


def used_valuesets(library: Library) -> dict[str, list[str]]:
    """The value sets a library and those it includes refer to in any expression: canonical URL
    -> the ``Library."name"`` declarations used. Declared but unreferenced value sets are left
    out (published packages declare some they never use, and do not ship them)."""
    libs = library.compiled.resolved.closure()
    roots: list[Any] = []
    for lib in libs.values():
        roots.extend(d.expression for d in lib.definitions.values())
        roots.extend(fm.body for overloads in lib.functions.values() for fm in overloads)
        roots.extend(p.default for p in lib.parameters.values())
    refs = {(n.library, n.name): None for n in walk(roots) if isinstance(n, TerminologyRef) and n.kind == "valueset"}
    found: dict[str, list[str]] = {}
    for key, name in refs:
        owner = libs.get(key)
        vs = owner.valuesets.get(name) if owner is not None else None
        if owner is not None and vs is not None:
            found.setdefault(vs.id, []).append(f'{owner.name or owner.source_name}."{name}"')
    return found


def _declared_name_version(text: str, fallback: str) -> tuple[str, str | None]:
    """The `library Name version 'v'` header of a CQL text."""
    import re

    m = re.search(r"^\s*library\s+(\"[^\"]+\"|[\w.]+)(?:\s+version\s+'([^']*)')?", text, re.MULTILINE)
    if not m:
        return fallback, None
    return m.group(1).strip('"'), m.group(2)

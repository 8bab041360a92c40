"""The knowledge artifacts a server offers: Measures, their Libraries and ValueSets.

Read once at start-up from the measure library (``measure_library/``) and the packages given with
``--measures`` (measure bundles, measure directories, or folders of either). A bundle's Library
and ValueSet resources are served as they are; a measure directory's CQL files are served as
Library resources with their ``text/cql`` content (the canonical built from the Measure's main
library URL), and its ``valuesets/`` files as they are. A Library or ValueSet shared by several
packages (FHIRHelpers, a common value set) is served once per canonical and version.

Each Measure is compiled the first time it is evaluated, and kept: every later request reuses the
compiled package.
"""

from __future__ import annotations

import base64
import json
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..measure.package import MeasurePackage, MeasurePackageError

Resource = dict[str, Any]
KNOWLEDGE_TYPES = ("Measure", "Library", "ValueSet")


@dataclass
class MeasureEntry:
    """One served Measure and where its package comes from."""

    id: str
    resource: Resource
    path: Path
    _package: MeasurePackage | None = field(default=None, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def url(self) -> str | None:
        return self.resource.get("url")

    def package(self) -> MeasurePackage:
        """The package, loaded and compiled once (later calls share it)."""
        with self._lock:
            if self._package is None:
                package = MeasurePackage.load(self.path)
                package.library()
                package.check_valuesets()
                self._package = package
            return self._package


def _package_paths(spec: Path) -> list[Path]:
    """A bundle file, a measure directory, or a folder of those."""
    if spec.is_file():
        return [spec]
    if (spec / "measure.json").is_file() or any(spec.glob("*bundle*.json")):
        return [spec]
    found: list[Path] = []
    for child in sorted(spec.iterdir()) if spec.is_dir() else []:
        if child.is_dir() and not child.name.startswith(("_", ".")):
            if (child / "measure.json").is_file() or any(child.glob("*bundle*.json")):
                found.append(child)
    return found


def _bundle_file(path: Path) -> Path | None:
    if path.is_file():
        return path
    if (path / "measure.json").is_file():
        return None
    bundles = sorted(path.glob("*bundle*.json"))
    return bundles[0] if bundles else None


def _read_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


class Catalog:
    """Measures, Libraries and ValueSets by id, with FHIR search by url, version, identifier, name."""

    def __init__(self) -> None:
        self.resources: dict[str, dict[str, Resource]] = {t: {} for t in KNOWLEDGE_TYPES}
        self.measures: dict[str, MeasureEntry] = {}
        self._canonicals: set[tuple[str, str, str | None]] = set()
        self.problems: list[str] = []  # packages that could not be read, for the start-up log

    @classmethod
    def load(cls, specs: list[Path], *, include_library: bool = True) -> Catalog:
        catalog = cls()
        paths: list[Path] = []
        if include_library:
            from ..measure.library_index import measure_dirs

            paths.extend(measure_dirs())
        for spec in specs:
            if not spec.exists():
                raise MeasurePackageError(f"--measures: no such file or directory: {spec}")
            found = _package_paths(spec)
            if not found:
                raise MeasurePackageError(f"--measures: {spec} holds no measure bundle or measure directory")
            paths.extend(found)
        for path in paths:
            try:
                catalog.add_package(path)
            except (OSError, ValueError, KeyError, MeasurePackageError) as exc:
                catalog.problems.append(f"{path}: {exc}")
        return catalog

    # ------------------------------------------------------------------ loading
    def add_package(self, path: Path) -> MeasureEntry:
        bundle = _bundle_file(path)
        if bundle is not None:
            doc = _read_json(bundle)
            if doc.get("resourceType") != "Bundle":
                raise MeasurePackageError(f"{bundle}: not a FHIR Bundle")
            resources = [e.get("resource") or {} for e in doc.get("entry") or []]
            measures = [r for r in resources if r.get("resourceType") == "Measure"]
            if len(measures) != 1:
                raise MeasurePackageError(f"{bundle}: expected exactly one Measure, found {len(measures)}")
            measure = measures[0]
            others = [r for r in resources if r.get("resourceType") in ("Library", "ValueSet")]
            source = bundle
        else:
            measure = _read_json(path / "measure.json")
            others = self._directory_artifacts(path, measure)
            source = path
        mid = self._unique_id("Measure", str(measure.get("id") or path.name))
        measure = {**measure, "id": mid}
        self.resources["Measure"][mid] = measure
        entry = MeasureEntry(mid, measure, source)
        self.measures[mid] = entry
        for r in others:
            self._add_artifact(r)
        return entry

    def _directory_artifacts(self, path: Path, measure: Resource) -> list[Resource]:
        main = str((measure.get("library") or [""])[0]).split("|")[0]
        base = main.rsplit("/", 1)[0] if "/" in main else "http://pedqm.org/fhir/Library"
        package = MeasurePackage.load(path)
        out: list[Resource] = []
        for (name, version), text in package.cql.items():
            lib: Resource = {
                "resourceType": "Library", "id": name, "url": f"{base}/{name}", "name": name, "status": "active",
                "type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/library-type", "code": "logic-library"}]},
                "content": [{"contentType": "text/cql", "data": base64.b64encode(text.encode("utf-8")).decode("ascii")}],
            }
            if version:
                lib["version"] = version
            out.append(lib)
        for vs_dir in (path / "valuesets", path.parent / "_shared" / "valuesets"):
            for f in sorted(vs_dir.glob("*.json")) if vs_dir.is_dir() else []:
                doc = _read_json(f)
                if doc.get("resourceType") == "Bundle":
                    out.extend(e.get("resource") or {} for e in doc.get("entry") or [])
                else:
                    out.append(doc)
        return [r for r in out if r.get("resourceType") in ("Library", "ValueSet")]

    def _add_artifact(self, resource: Resource) -> None:
        rtype = str(resource["resourceType"])
        key = (rtype, str(resource.get("url") or resource.get("name") or resource.get("id")), resource.get("version"))
        if key in self._canonicals:
            return
        self._canonicals.add(key)
        rid = self._unique_id(rtype, str(resource.get("id") or resource.get("name") or "artifact"))
        self.resources[rtype][rid] = {**resource, "id": rid}

    def _unique_id(self, rtype: str, wanted: str) -> str:
        import re

        base = re.sub(r"[^A-Za-z0-9\-.]", "-", wanted)[:64] or rtype.lower()
        rid, n = base, 1
        while rid in self.resources[rtype]:
            n += 1
            rid = f"{base[:60]}-{n}"
        return rid

    # ------------------------------------------------------------------ lookup
    def read(self, rtype: str, rid: str) -> Resource | None:
        return self.resources.get(rtype, {}).get(rid)

    def search(self, rtype: str, params: dict[str, list[str]]) -> list[Resource]:
        """FHIR search over the artifacts of one type: ``_id``, ``url`` (``url|version`` too),
        ``version``, ``name`` (starts with, case-insensitive, as FHIR string search),
        ``name:exact``, ``title``, ``identifier`` (``system|value``, ``value`` or ``system|``),
        ``status``. Several values of one parameter (comma-separated) are alternatives."""
        out = []
        for r in self.resources.get(rtype, {}).values():
            if all(any(_matches(r, name, v) for v in value.split(",")) for name, values in params.items() for value in values):
                out.append(r)
        return out

    def measure(self, rid: str) -> MeasureEntry | None:
        return self.measures.get(rid)

    def measure_by_url(self, canonical: str) -> list[MeasureEntry]:
        url, _, version = canonical.partition("|")
        found = [m for m in self.measures.values() if m.url == url and (not version or m.resource.get("version") == version)]
        return _latest(found)

    def measure_by_identifier(self, token: str) -> list[MeasureEntry]:
        return [m for m in self.measures.values() if _matches(m.resource, "identifier", token)]


def _latest(entries: list[MeasureEntry]) -> list[MeasureEntry]:
    """Of several versions of one canonical, the highest version (as a FHIR server resolves an
    unversioned canonical)."""
    if len(entries) <= 1:
        return entries

    def key(e: MeasureEntry) -> tuple[int, ...]:
        parts = str(e.resource.get("version") or "0").split(".")
        return tuple(int(p) if p.isdigit() else 0 for p in parts)

    return [max(entries, key=key)]


def _matches(resource: Resource, name: str, value: str) -> bool:
    modifier = ""
    if ":" in name:
        name, modifier = name.split(":", 1)
    if name == "_id":
        return resource.get("id") == value
    if name == "url":
        url, _, version = value.partition("|")
        return resource.get("url") == url and (not version or resource.get("version") == version)
    if name == "version":
        return resource.get("version") == value
    if name in ("name", "title"):
        text = str(resource.get(name) or "")
        if modifier == "exact":
            return text == value
        if modifier == "contains":
            return value.lower() in text.lower()
        return text.lower().startswith(value.lower())
    if name == "status":
        return resource.get("status") == value
    if name == "identifier":
        system, sep, code = value.rpartition("|")
        for ident in resource.get("identifier") or []:
            if not sep and ident.get("value") == value:
                return True
            if sep and (ident.get("system") or "") == system and (not code or ident.get("value") == code):
                return True
        return False
    raise KeyError(name)


SEARCH_PARAMETERS = ("_id", "url", "version", "name", "title", "identifier", "status")

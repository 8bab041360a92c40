"""Build fqm-execution-ready measure bundles for pedqm's own library measures (test-only).

pedqm reads ``measure_library/<id>/`` as CQL text; fqm-execution needs ELM. This module
translates a measure's CQL and every library it includes (pedqm's shared libraries and pedqm's
own FHIRHelpers 4.0.1 from engine/pedqm/cql_libraries) with the reference translator (``translate.py``, options as in the published
packages), puts CQL + ELM into Library resources, adds the Measure and the value sets pedqm ships,
and caches the Bundle under ``.oracles/cache/measure-bundles/`` (git-ignored), keyed by the hash of
every input.

Two mechanical shims make the bundle loadable, and both are recorded as findings because they mean
the measure package is not portable as written:

* A library that uses a FHIR-based model but does not ``include FHIRHelpers`` (pedqm interprets
  QI-Core element mappings natively, so pedqm does not need it) still gets ``FHIRHelpers.To...``
  calls from the reference translator, which cql-execution cannot resolve. The builder appends
  ``include FHIRHelpers version '4.0.1'`` to the ``using`` line (same line, so line:column of
  every other message is unchanged). The measure_library measures include pedqm's FHIRHelpers
  themselves; ChronicConditions (FHIR, no element access) is the one library still shimmed.
* ``Measure.library`` is ``url|version``; fqm-execution 1.8.6 matches the root library by bare
  url only, so the bundle's Measure names the bare url.

Translation errors of the *unshimmed* CQL are the portability findings; definitions whose ELM is
broken by an error (and everything that references them) are listed as ``tainted`` so the
differential test does not compare populations built on them.

    python tools/oracles/measure_bundle.py [MEASURE_ID ...]     # builds, prints the findings
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
sys.path.insert(0, str(HERE))

import translate as _translate  # noqa: E402

LIBRARY_ROOT = REPO / "measure_library"
BUILTIN_CQL = REPO / "engine" / "pedqm" / "cql_libraries"
CACHE_DIR = _translate.CACHE_DIR / "measure-bundles"
FHIRHELPERS_VERSION = "4.0.1"
BUILDER_VERSION = "2"  # bump when the bundle layout changes, to invalidate the cache

_LIBRARY_RE = re.compile(r"^\s*library\s+(\"[^\"]+\"|[\w.]+)(?:\s+version\s+'([^']*)')?", re.M)
_INCLUDE_RE = re.compile(r"^\s*include\s+(\"[^\"]+\"|[\w.]+)(?:\s+version\s+'([^']*)')?", re.M)
_USING_RE = re.compile(r"^\s*using\s+(QICore|FHIR|USCore)\b[^\n]*", re.M)

__all__ = ["BuiltMeasure", "build", "library_measure_ids", "OracleUnavailable"]
OracleUnavailable = _translate.OracleUnavailable


@dataclass
class BuiltMeasure:
    """A built bundle and what the translation found."""

    measure_id: str
    path: Path
    main_library: str
    errors: list[str] = field(default_factory=list)  # "Lib:line:col: message" of the CQL as written
    shims: list[str] = field(default_factory=list)  # what the builder had to change to load it
    tainted: set[str] = field(default_factory=set)  # main-library defines whose ELM is broken

    def to_json(self) -> dict[str, Any]:
        return {"measure_id": self.measure_id, "path": str(self.path), "main_library": self.main_library,
                "errors": self.errors, "shims": self.shims, "tainted": sorted(self.tainted)}


def library_measure_ids() -> list[str]:
    return sorted(p.name for p in LIBRARY_ROOT.iterdir() if (p / "measure.json").is_file())


def _name_version(text: str) -> tuple[str, str | None]:
    m = _LIBRARY_RE.search(text)
    if not m:
        raise ValueError("a CQL library without a `library` header")
    return m.group(1).strip('"'), m.group(2)


def _fhirhelpers_cql() -> str:
    """pedqm's own FHIRHelpers (engine/pedqm/cql_libraries), the one its measures include."""
    return (BUILTIN_CQL / f"FHIRHelpers-{FHIRHELPERS_VERSION}.cql").read_text(encoding="utf-8")


def _sources(measure_dir: Path) -> dict[str, str]:
    """Every CQL library the measure can see, by name, in pedqm's lookup order."""
    out: dict[str, str] = {}
    shared = measure_dir.parent / "_shared"
    for d in (measure_dir, measure_dir / "cql", shared, shared / "cql", BUILTIN_CQL):
        for f in sorted(d.glob("*.cql")) if d.is_dir() else []:
            text = f.read_text(encoding="utf-8")
            out.setdefault(_name_version(text)[0], text)
    out.setdefault("FHIRHelpers", _fhirhelpers_cql())
    return out


def _closure(main: str, sources: dict[str, str]) -> list[str]:
    names, todo = [main], [main]
    while todo:
        for m in _INCLUDE_RE.finditer(sources.get(todo.pop(), "")):
            name = m.group(1).strip('"')
            if name in sources and name not in names:
                names.append(name)
                todo.append(name)
    return names


def _shim_fhirhelpers(text: str) -> str | None:
    """The text with FHIRHelpers included on its `using` line, or None when no shim is needed."""
    if re.search(r"^\s*include\s+FHIRHelpers\b", text, re.M) or _name_version(text)[0] == "FHIRHelpers":
        return None  # (a self-include sends translator 5.3.0 into an endless loop)
    m = _USING_RE.search(text)
    if not m:
        return None
    inc = f" include FHIRHelpers version '{FHIRHELPERS_VERSION}' called FHIRHelpers"
    return text[: m.end()] + inc + text[m.end():]


def _walk(node: Any) -> Iterator[dict[str, Any]]:
    if isinstance(node, dict):
        yield node
        for v in node.values():
            yield from _walk(v)
    elif isinstance(node, list):
        for v in node:
            yield from _walk(v)


def _tainted(elm: dict[str, Any], error_lines: set[int], broken_includes: set[str]) -> set[str]:
    """Defines covering an error line or calling a broken include, closed over local references."""
    defs = ((elm.get("library") or {}).get("statements") or {}).get("def") or []
    aliases = {i.get("localIdentifier"): i.get("path") for i in
               ((elm.get("library") or {}).get("includes") or {}).get("def") or []}
    bad: set[str] = set()
    refs: dict[str, set[str]] = {}
    for d in defs:
        name = d.get("name", "")
        lo, _, hi = str(d.get("locator", "")).partition("-")
        try:
            start, end = int(lo.split(":")[0]), int(hi.split(":")[0])
        except ValueError:
            start, end = -1, -2
        if any(start <= ln <= end for ln in error_lines):
            bad.add(name)
        refs[name] = set()
        for n in _walk(d.get("expression")):
            if n.get("type") in ("ExpressionRef", "FunctionRef"):
                lib = n.get("libraryName")
                if lib is None:
                    refs[name].add(n.get("name", ""))
                elif aliases.get(lib) in broken_includes:
                    bad.add(name)
    changed = True
    while changed:
        changed = False
        for name, used in refs.items():
            if name not in bad and used & bad:
                bad.add(name)
                changed = True
    return bad


def _library_resource(name: str, url: str, version: str | None, cql: str, elm: dict[str, Any]) -> dict[str, Any]:
    def b64(s: str) -> str:
        return base64.b64encode(s.encode("utf-8")).decode("ascii")

    res: dict[str, Any] = {
        "resourceType": "Library", "id": name, "url": url, "name": name, "status": "active",
        "type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/library-type", "code": "logic-library"}]},
        "content": [{"contentType": "text/cql", "data": b64(cql)},
                    {"contentType": "application/elm+json", "data": b64(json.dumps(elm))}],
    }
    if version:
        res["version"] = version
    return res


def _valuesets(measure_dir: Path) -> list[tuple[Path, dict[str, Any]]]:
    out: list[tuple[Path, dict[str, Any]]] = []
    for d in (measure_dir / "valuesets", measure_dir.parent / "_shared" / "valuesets"):
        for f in sorted(d.glob("*.json")) if d.is_dir() else []:
            data = json.loads(f.read_text(encoding="utf-8"))
            items = [e.get("resource") or {} for e in data.get("entry") or []] \
                if data.get("resourceType") == "Bundle" else [data]
            out.extend((f, r) for r in items if r.get("resourceType") == "ValueSet")
    return out


def build(measure: str | Path, *, use_cache: bool = True) -> BuiltMeasure:
    """Build (or read from the cache) the fqm-execution bundle of one measure_library measure."""
    measure_dir = Path(measure) if Path(measure).is_dir() else LIBRARY_ROOT / str(measure)
    measure_json = json.loads((measure_dir / "measure.json").read_text(encoding="utf-8"))
    lib_ref = measure_json["library"][0]
    lib_url, _, _ = lib_ref.partition("|")
    main = lib_url.rstrip("/").rsplit("/", 1)[-1]
    sources = _sources(measure_dir)
    if main not in sources:
        raise FileNotFoundError(f"{measure_dir}: library {main} not found")
    names = _closure(main, sources)
    valuesets = _valuesets(measure_dir)

    h = hashlib.sha256()
    h.update(Path(__file__).read_bytes())
    h.update(f"{BUILDER_VERSION}|{_translate.translator_version()}|{_translate._environment_fingerprint()}".encode())
    h.update(json.dumps(measure_json, sort_keys=True).encode())
    for n in names:
        h.update(n.encode() + b"\0" + sources[n].encode())
    for f, _ in valuesets:
        h.update(f.read_bytes())
    key = h.hexdigest()[:16]
    path = CACHE_DIR / f"{measure_dir.name}-{key}.json"
    meta_path = path.with_suffix(".findings.json")
    if use_cache and path.is_file() and meta_path.is_file():
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        return BuiltMeasure(measure_dir.name, path, main, meta["errors"], meta["shims"], set(meta["tainted"]))

    built = BuiltMeasure(measure_dir.name, path, main)
    subset = {n: sources[n] for n in names}
    as_written = _translate.translate(subset, names)
    for n in names:
        built.errors.extend(_translate.error_messages(as_written[n]))
    built.errors = list(dict.fromkeys(built.errors))

    shimmed = dict(subset)
    if "FHIRHelpers" not in names:
        names.append("FHIRHelpers")
        shimmed["FHIRHelpers"] = sources["FHIRHelpers"]
    for n in names:
        new = _shim_fhirhelpers(shimmed[n])
        if new is not None:
            shimmed[n] = new
            built.shims.append(f"{n}: no `include FHIRHelpers`; added one to its `using` line")
    if lib_ref != lib_url:
        built.shims.append(f"Measure.library {lib_ref!r} -> {lib_url!r} (fqm-execution matches the bare url)")
    out = _translate.translate(shimmed, names)
    errors_by_lib: dict[str, set[int]] = {}
    for n in names:
        for e in out[n].get("errors") or []:
            if e.get("severity") == "error":
                errors_by_lib.setdefault(str(e.get("library") or n), set()).add(int(e.get("line") or 0))
    broken = {n for n in errors_by_lib if n != main}
    elm_main = out[main].get("elm") or {}
    built.tainted = _tainted(elm_main, errors_by_lib.get(main, set()), broken)

    resources: list[dict[str, Any]] = []
    m = dict(measure_json)
    m["library"] = [lib_url]
    resources.append(m)
    for n in names:
        elm = out[n].get("elm") or {"library": {}}
        url = lib_url if n == main else f"http://pedqm.org/fhir/Library/{n}"
        resources.append(_library_resource(n, url, _name_version(shimmed[n])[1], shimmed[n], elm))
    resources.extend(r for _, r in valuesets)
    bundle = {"resourceType": "Bundle", "id": f"{measure_dir.name}-fqm", "type": "collection",
              "entry": [{"fullUrl": f"urn:uuid:{r['resourceType']}-{r.get('id')}", "resource": r} for r in resources]}
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(bundle), encoding="utf-8")
    meta_path.write_text(json.dumps(built.to_json(), indent=1), encoding="utf-8")
    return built


def _main(argv: list[str]) -> int:
    for mid in argv or library_measure_ids():
        b = build(mid)
        print(json.dumps(b.to_json(), indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(_main(sys.argv[1:]))

"""`$data-requirements` and `$collect-data`: what a measure reads, and what it read for a subject.

Data requirements are computed from the compiled measure's resolved CQL, never from a Library's
published ``dataRequirement`` (a package may carry none, or stale ones). Every ``Retrieve``
reachable from the Measure's population, stratifier and supplemental-data expressions (following
expression and function references into included libraries) becomes one ``dataRequirement``:

* ``type`` the FHIR resource type, ``profile`` the profile its model class stands for (QI-Core,
  US Core) or the base resource's StructureDefinition;
* ``codeFilter`` with the code path and the value set canonical, or the direct-reference codes;
* ``dateFilter`` when the retrieve is the source of a query whose ``where`` compares one of the
  resource's elements with the "Measurement Period" parameter: the element's path, valued with
  the requested period. This is read from the query's shape, as the reference translator's data
  requirements analysis does for the common patterns, and is left out where the shape is other.

The Library answered is a ``module-definition`` with ``relatedArtifact`` (depends-on) for every
library in the closure and every value set the expressions use. The same requirements could drive a
``_type``/``_typeFilter`` fetch from a server (not done here).
"""

from __future__ import annotations

from typing import Any

from ..cql.model import (
    AliasRef,
    ExpressionRef,
    FunctionRef,
    ListSelector,
    OperatorCall,
    ParameterRef,
    Property,
    Query,
    Retrieve,
    TerminologyRef,
    walk,
)
from ..measure.package import MeasurePackage, MeasurePackageError, used_valuesets
from .catalog import Catalog
from .errors import FhirError, bad_request, not_found
from .evaluate import AdditionalData, Evaluator, entry_effective_period
from .params import OperationParams, period

Resource = dict[str, Any]
DATA_REQUIREMENTS_PARAMS: dict[str, int | None] = {"periodStart": 1, "periodEnd": 1}
COLLECT_DATA_PARAMS: dict[str, int | None] = {"periodStart": 1, "periodEnd": 1, "subject": 1, "practitioner": 1,
                                              "lastReceivedOn": 1}
_MEASUREMENT_PERIOD = "Measurement Period"


def _measure_expressions(package: MeasurePackage) -> list[str]:
    d = package.measure
    names: list[str] = []
    for g in d.groups:
        names.extend(p.expression for p in g.populations if p.expression)
        for s in g.stratifiers:
            if s.expression:
                names.append(s.expression)
            names.extend(expr for _, expr in s.components)
    names.extend(s.expression for s in d.supplemental)
    return list(dict.fromkeys(names))


def _model_class(libs: dict[str, Any], data_type: str) -> tuple[str, str | None, str | None]:
    """(FHIR resource type, profile URL, primary code path) of a retrieve's model type."""
    from ..fhir.model import load_model

    namespace, _, name = data_type.partition(".")
    if not name:
        namespace, name = "FHIR", data_type
    version = None
    for lib in libs.values():
        for u in lib.usings:
            if u.model == namespace:
                version = u.version
                break
    try:
        model = load_model(namespace, version)
    except Exception:  # noqa: BLE001 - an unknown model still has a type name to report
        return name, None, None
    cls = model.find_class(name)
    rtype = model.resource_type(name) if cls is not None else name
    profile = getattr(cls, "identifier", None) or f"http://hl7.org/fhir/StructureDefinition/{rtype}"
    return rtype, profile, getattr(cls, "primary_code_path", None)


def _terminology(libs: dict[str, Any], node: Any) -> tuple[list[str], list[dict[str, str]]]:
    """(value set canonicals, codes) a retrieve's terminology operand names."""
    valuesets: list[str] = []
    codes: list[dict[str, str]] = []
    items = node.elements if isinstance(node, ListSelector) else [node]
    for item in items:
        if not isinstance(item, TerminologyRef):
            continue
        owner = libs.get(item.library)
        if owner is None:
            continue
        if item.kind == "valueset" and item.name in owner.valuesets:
            valuesets.append(owner.valuesets[item.name].id)
        elif item.kind == "code" and item.name in owner.codes:
            c = owner.codes[item.name]
            cs = owner.codesystems.get(c.system)
            codes.append({"system": cs.id if cs else c.system, "code": c.code})
        elif item.kind == "concept" and item.name in owner.concepts:
            for code_name in owner.concepts[item.name].codes:
                c = owner.codes.get(code_name)
                if c is not None:
                    cs = owner.codesystems.get(c.system)
                    codes.append({"system": cs.id if cs else c.system, "code": c.code})
    return valuesets, codes


def _date_paths(query: Query, alias: str) -> list[str]:
    """Elements of ``alias`` compared with "Measurement Period" in the query's where clause."""
    if query.where is None:
        return []
    paths: list[str] = []
    for node in walk([query.where]):
        if not isinstance(node, OperatorCall):
            continue
        operands = node.operands
        has_period = any(isinstance(n, ParameterRef) and n.name == _MEASUREMENT_PERIOD for n in walk(operands))
        if not has_period:
            continue
        for n in walk(operands):
            if isinstance(n, Property) and isinstance(n.source, AliasRef) and n.source.name == alias:
                paths.append(n.path.split(".")[0])
    return list(dict.fromkeys(paths))


def requirements_of(package: MeasurePackage, start: str | None, end: str | None,
                    expressions: list[str] | None = None) -> Resource:
    """The module-definition Library for the measure's expressions (or only ``expressions``)."""
    library = package.library()
    libs = library.compiled.resolved.closure()
    main = library.compiled.resolved

    def follow(node: Any) -> list[Any]:
        if isinstance(node, ExpressionRef):
            d = libs.get(node.library)
            found = d.definitions.get(node.name) if d is not None else None
            return [found.expression] if found is not None else []
        if isinstance(node, FunctionRef):
            lib = libs.get(node.library)
            return [fm.body for fm in (lib.functions.get(node.name, []) if lib is not None else []) if fm.body is not None]
        return []

    names = _measure_expressions(package) if expressions is None else expressions
    roots = [main.definitions[n].expression for n in names if n in main.definitions]
    nodes = list(walk(roots, follow))
    date_filters: dict[int, list[str]] = {}
    for q in (n for n in nodes if isinstance(n, Query)):
        for src in q.sources:
            if isinstance(src.expression, Retrieve):
                date_filters.setdefault(id(src.expression), []).extend(_date_paths(q, src.alias))
    requirements: list[Resource] = []
    seen: set[str] = set()
    for r in (n for n in nodes if isinstance(n, Retrieve)):
        rtype, profile, primary = _model_class(libs, r.data_type)
        req: Resource = {"type": rtype}
        if profile:
            req["profile"] = [profile]
        if r.codes is not None:
            valuesets, codes = _terminology(libs, r.codes)
            path = r.code_path or primary or "code"
            filters: list[Resource] = [{"path": path, "valueSet": vs} for vs in valuesets]
            if codes:
                filters.append({"path": path, "code": codes})
            if filters:
                req["codeFilter"] = filters
        paths = date_filters.get(id(r), [])
        if paths and start and end:
            req["dateFilter"] = [{"path": p, "valuePeriod": {"start": start, "end": end}} for p in dict.fromkeys(paths)]
        key = repr(sorted(req.items()))
        if key not in seen:
            seen.add(key)
            requirements.append(req)
    related: list[Resource] = []
    for lib in libs.values():
        canonical = f"Library/{lib.name or lib.source_name}" + (f"|{lib.version}" if lib.version else "")
        related.append({"type": "depends-on", "display": f"Library {lib.name or lib.source_name}", "resource": canonical})
    for url, names in used_valuesets(library).items():
        related.append({"type": "depends-on", "display": f"Value set {', '.join(names)}", "resource": url})
    parameters = [{"name": _MEASUREMENT_PERIOD, "use": "in", "min": 0, "max": "1", "type": "Period"}]
    return {
        "resourceType": "Library", "status": "active",
        "type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/library-type", "code": "module-definition"}]},
        "relatedArtifact": related, "parameter": parameters,
        "dataRequirement": sorted(requirements, key=lambda q: (q["type"], str(q.get("codeFilter")))),
    }


def data_requirements(catalog: Catalog, rtype: str, rid: str, params: OperationParams) -> Resource:
    params.check(DATA_REQUIREMENTS_PARAMS, "$data-requirements")
    if rtype == "Measure":
        entry = catalog.measure(rid)
        if entry is None:
            raise not_found(f"no Measure with id {rid!r} on this server")
        start, end = period(params, entry_effective_period(entry)) if (params.get("periodStart") or params.get("periodEnd") or
                                                                        all(entry_effective_period(entry))) else (None, None)
        try:
            package = entry.package()
        except MeasurePackageError as exc:
            raise FhirError(422, f"Measure/{rid}: {exc}") from None
        out = requirements_of(package, start, end)
        for rel in out["relatedArtifact"]:  # a library the catalog serves: its canonical URL
            name, _, version = rel["resource"].removeprefix("Library/").partition("|")
            if rel["resource"].startswith("Library/"):
                found = catalog.search("Library", {"name:exact": [name], **({"version": [version]} if version else {})})
                if found and found[0].get("url"):
                    rel["resource"] = found[0]["url"] + (f"|{version}" if version else "")
        out["name"] = f"EffectiveDataRequirements{entry.resource.get('name') or rid}"
        return out
    if rtype == "Library":
        lib = catalog.read("Library", rid)
        if lib is None:
            raise not_found(f"no Library with id {rid!r} on this server")
        entry = next((m for m in catalog.measures.values()
                      if any(str(u).split("|")[0].rsplit("/", 1)[-1] == lib.get("name") for u in m.resource.get("library") or [])),
                     None)
        if entry is None:
            raise FhirError(422, f"Library/{rid} is not the main library of a served Measure; its data requirements "
                                 "are computed for a Measure (Measure/[id]/$data-requirements)")
        return data_requirements(catalog, "Measure", entry.id, params)
    raise bad_request(f"$data-requirements applies to Measure or Library, not {rtype}")


def collect_data(ev: Evaluator, measure_id: str, params: OperationParams) -> Resource:
    """``Measure/[id]/$collect-data``: per subject, a data-collection MeasureReport and the
    resources the calculation read (its evaluatedResource)."""
    params.check(COLLECT_DATA_PARAMS, "$collect-data")
    entry = ev.catalog.measure(measure_id)
    if entry is None:
        raise not_found(f"no Measure with id {measure_id!r} on this server")
    start, end = period(params, entry_effective_period(entry))
    none = AdditionalData(None)
    ids = ev.subject_ids(params.get("subject"), none)
    if params.get("practitioner"):
        chosen = ev.data.practitioner_patients(str(params.get("practitioner")))
        ids = chosen if ids is None else [i for i in ids if i in set(chosen)]
    result = ev.calculate(entry, start, end, ids, none, keep_subjects=True)
    out: list[Resource] = []
    for s in result.subject_results:
        report = result.measure_report("individual", s.subject_id)
        report["type"] = "data-collection"
        report.pop("group", None)
        report.pop("improvementNotation", None)
        out.append({"name": "measureReport", "resource": report})
        record = ev.data.record(s.subject_id)
        by_ref = {f"{r.get('resourceType')}/{r.get('id')}": r for r in (record.resources if record else [])}
        for ref in s.evaluated_resources:
            if ref in by_ref:
                out.append({"name": "resource", "resource": by_ref[ref]})
    return {"resourceType": "Parameters", "parameter": out}

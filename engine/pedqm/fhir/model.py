"""CQL data models (FHIR 4.0.1, QI-Core 4.1.1 and 6.0.0, US Core 6.1.0) from their model info.

The model info (CQL's description of a data model: classes, elements, their types, how each
element maps onto FHIR JSON, primary code paths for retrieves) ships as compact JSON in
``modelinfo/`` (see its SOURCE.md). The resolver asks this module for the types of properties
and retrieves; the run-time navigation (:mod:`pedqm.fhir.navigation`) asks it how to read an
element from a resource's JSON.
"""

from __future__ import annotations

import gzip
import json
from dataclasses import dataclass, field
from functools import cache
from importlib import resources

from ..cql import types as T

_FILES = {
    ("FHIR", "4.0.1"): "fhir-modelinfo-4.0.1.json.gz",
    ("QICore", "4.1.1"): "qicore-modelinfo-4.1.1.json.gz",
    ("QICore", "6.0.0"): "qicore-modelinfo-6.0.0.json.gz",
    ("USCore", "6.1.0"): "uscore-modelinfo-6.1.0.json.gz",
}
DEFAULT_VERSIONS = {"FHIR": "4.0.1", "QICore": "4.1.1", "USCore": "6.1.0"}


class ModelError(Exception):
    """An unknown model or model version."""


@dataclass(frozen=True)
class Element:
    name: str
    type_text: str  # as in the model info, e.g. 'List<QICore.Identifier>'
    target: str | None  # mapping onto FHIR JSON (QI-Core/US Core), e.g. 'FHIRHelpers.ToConcept(%value)'


@dataclass
class ClassInfo:
    model: ModelInfo
    name: str
    base: str | None
    identifier: str | None
    label: str | None
    target: str | None  # the FHIR resource type a profile constrains (e.g. ProcedureNotDone -> Procedure)
    retrievable: bool
    primary_code_path: str | None
    elements: dict[str, Element] = field(default_factory=dict)

    @property
    def qualified(self) -> str:
        return f"{self.model.name}.{self.name}"


class ModelInfo:
    def __init__(self, data: dict):  # type: ignore[type-arg]
        self.name: str = data["name"]
        self.version: str = data["version"]
        self.url: str | None = data.get("url")
        self.patient_class: str | None = data.get("patientClassName")
        self.patient_birth_date: str | None = data.get("patientBirthDatePropertyName")
        self.classes: dict[str, ClassInfo] = {}
        for name, t in data["types"].items():
            ci = ClassInfo(self, name, t.get("base"), t.get("id"), t.get("label"), t.get("target"),
                           bool(t.get("retrievable")), t.get("pcp"))
            for ename, etype, etarget in t.get("el", []):
                ci.elements[ename] = Element(ename, etype, etarget)
            self.classes[name] = ci
        self.conversions = {(f, to): fn for f, to, fn in data.get("conversions", [])}
        self._elements: dict[tuple[str, str], Element | None] = {}
        self.by_identifier = {c.identifier: c for c in self.classes.values() if c.identifier}
        # CQL lets a model type be named by its model-info label (["US Core Laboratory Result
        # Observation Profile": ...]); a name always wins over a label
        self.by_label = {c.label: c for c in self.classes.values() if c.label and c.label not in self.classes}

    def __repr__(self) -> str:
        return f"ModelInfo({self.name} {self.version})"

    def find_class(self, name: str) -> ClassInfo | None:
        """A class by simple or qualified name ('Encounter' or 'QICore.Encounter')."""
        if "." in name:
            ns, simple = name.split(".", 1)
            if ns != self.name:
                return None
            name = simple
        return self.classes.get(name) or self.by_label.get(name)

    def element(self, type_name: str, prop: str) -> Element | None:
        """Look up a property on a class, walking up its base types (memoised: it is asked for
        every property read of every resource)."""
        key = (type_name, prop)
        if key in self._elements:
            return self._elements[key]
        found = self._find_element(type_name, prop)
        self._elements[key] = found
        return found

    def _find_element(self, type_name: str, prop: str) -> Element | None:
        seen = 0
        ci = self.find_class(type_name)
        while ci is not None and seen < 32:
            if prop in ci.elements:
                return ci.elements[prop]
            if not ci.base or not ci.base.startswith(self.name + "."):
                return None
            ci = self.find_class(ci.base)
            seen += 1
        return None

    def is_subclass(self, type_name: str, ancestor: str) -> bool:
        ci = self.find_class(type_name)
        seen = 0
        while ci is not None and seen < 32:
            if ci.qualified == ancestor or ci.name == ancestor:
                return True
            if not ci.base:
                return False
            if ci.base == ancestor:
                return True
            ci = self.find_class(ci.base)
            seen += 1
        return False

    def is_subtype(self, type_name: str, ancestor: str) -> bool:
        """Class inheritance, and profiles: a class whose target is resource R is a subtype of
        the model's class R (QICore.observation-bmi is a QICore.Observation)."""
        if self.is_subclass(type_name, ancestor):
            return True
        anc = self.find_class(ancestor)
        if anc is None or anc.name != self.resource_type(ancestor):
            return False
        return self.resource_type(type_name) == anc.name

    def system_type(self, type_name: str) -> T.CqlType | None:
        """The System type this model type converts to implicitly (the model info's
        conversions, e.g. FHIR.Period -> Interval<System.DateTime>; a primitive's `value`
        element, e.g. FHIR.dateTime -> System.DateTime; a restriction of a System type)."""
        qualified = type_name if "." in type_name else f"{self.name}.{type_name}"
        for (source, target), _fn in self.conversions.items():
            if source == qualified:
                return parse_type_text(target, self)
        base = self.system_base(qualified)
        if base is not None:
            return T.from_type_name(base)
        ci = self.find_class(qualified)
        if ci is not None and ci.name[:1].islower():  # FHIR primitives: boolean, dateTime, ...
            el = self.element(qualified, "value")
            if el is not None and el.type_text.startswith("System."):
                return T.from_type_name(el.type_text)
        return None

    def system_base(self, type_name: str) -> str | None:
        """The System type a model type is a restriction of (QICore.EncounterStatus -> String)."""
        ci = self.find_class(type_name)
        seen = 0
        while ci is not None and seen < 32:
            if ci.base and ci.base.startswith("System."):
                return None if ci.base == "System.Any" else ci.base
            if not ci.base:
                return None
            ci = self.find_class(ci.base)
            seen += 1
        return None

    def resource_type(self, type_name: str) -> str:
        """The FHIR resourceType a retrievable class reads (profiles name their base resource)."""
        ci = self.find_class(type_name)
        if ci is None:
            return type_name.rsplit(".", 1)[-1]
        if ci.target and "(" not in ci.target and "." not in ci.target:
            return ci.target
        return ci.name

    def static_type(self, text: str) -> T.CqlType:
        """A model-info type text as a CQL type; restrictions of System types become that type."""
        return parse_type_text(text, self)


def parse_type_text(text: str, model: ModelInfo | None = None) -> T.CqlType:
    text = text.strip()
    if text.startswith("List<") and text.endswith(">"):
        return T.ListType(parse_type_text(text[5:-1], model))
    if text.startswith("Interval<") and text.endswith(">"):
        return T.IntervalType(parse_type_text(text[9:-1], model))
    if text.startswith("Choice<") and text.endswith(">"):
        return T.ChoiceType(tuple(parse_type_text(p, model) for p in split_top_level(text[7:-1])))
    if text.startswith("Tuple{") and text.endswith("}"):
        parts = []
        for p in split_top_level(text[6:-1]):
            n, _, t = p.partition(":")
            parts.append((n, parse_type_text(t, model)))
        return T.TupleType(tuple(parts))
    if model is not None and text.startswith(model.name + "."):
        base = model.system_base(text)
        if base is not None:
            return T.NamedType(base)
    return T.from_type_name(text)


def split_top_level(text: str, sep: str = ",", opening: str = "<{", closing: str = ">}") -> list[str]:
    """Split `text` at `sep` where it is not nested inside brackets (type texts, FHIRPath)."""
    parts, depth, cur = [], 0, ""
    for ch in text:
        if ch in opening:
            depth += 1
        elif ch in closing:
            depth -= 1
        if ch == sep and depth == 0:
            parts.append(cur)
            cur = ""
        else:
            cur += ch
    if cur:
        parts.append(cur)
    return parts


@cache
def load_model(name: str, version: str | None = None) -> ModelInfo:
    """The model info for `using NAME version 'V'` (version defaults to the one pedqm ships)."""
    version = version or DEFAULT_VERSIONS.get(name)
    filename = _FILES.get((name, version or ""))
    if filename is None:
        known = ", ".join(f"{n} {v}" for n, v in _FILES)
        raise ModelError(f"unknown data model {name} version {version!r} (pedqm knows {known})")
    with resources.files("pedqm.fhir.modelinfo").joinpath(filename).open("rb") as raw, gzip.open(raw, "rt", encoding="utf-8") as fh:
        return ModelInfo(json.load(fh))

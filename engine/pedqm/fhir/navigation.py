"""FHIR resources as CQL values: property navigation driven by the model info.

A :class:`FhirNode` wraps a resource's (or element's) JSON with its model type. Reading a
property looks the element up in the model info:

* QI-Core and US Core elements carry a *target* mapping onto FHIR JSON (`%value.value`,
  `FHIRHelpers.ToConcept(%value)`, `%parent.extension[url='...'].value`), which is interpreted
  here with the native conversions of :mod:`pedqm.fhir.convert`, so CQL sees System values
  (Concept, Interval<DateTime>, String) exactly as the model info's types say;
* FHIR 4.0.1 elements are FHIR types (FHIR.dateTime, FHIR.CodeableConcept) and come back as
  FhirNodes, which FHIRHelpers (ordinary CQL) converts through their `value` elements.
"""

from __future__ import annotations

import re
from typing import Any

from . import convert as C
from .model import ModelInfo, split_top_level

_FHIRHELPERS = re.compile(r"^FHIRHelpers\.(\w+)\((.*)\)$")
_SEGMENT = re.compile(r"^(\w+)(\[x\])?(?:\[(.+)\])?$")
_FILTER = re.compile(r"([\w.]+)\s*=\s*'([^']*)'")

_HELPER_FN = {
    "ToConcept": C.to_concept,
    "ToCode": C.to_code,
    "ToQuantity": C.to_quantity,
    "ToRatio": C.to_ratio,
    "ToValueSet": C.to_valueset,
}


_TO_SYSTEM = {
    "CodeableConcept": C.to_concept, "Coding": C.to_code, "Quantity": C.to_quantity,
    "Period": C.to_interval_period, "Range": C.to_interval_range, "Ratio": C.to_ratio,
}


class FhirNode:
    """A FHIR resource or element with its model type (hashable by identity of content)."""

    __slots__ = ("model", "type_name", "data", "extra", "_props")

    def __init__(self, model: ModelInfo, type_name: str, data: Any, extra: Any = None):
        self.model = model
        self.type_name = type_name if "." in type_name else f"{model.name}.{type_name}"
        self.data = data  # dict for complex types/resources, the JSON primitive for primitives
        self.extra = extra  # the `_name` companion of a primitive (id, extension)
        self._props: dict[str, Any] | None = None  # properties already read (values are immutable)

    @property
    def cql_type(self) -> str:
        return self.type_name

    def __repr__(self) -> str:
        ident = self.data.get("id") if isinstance(self.data, dict) else self.data
        return f"FhirNode({self.type_name}, {ident!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, FhirNode) and self.type_name == other.type_name and self.data == other.data

    def __hash__(self) -> int:
        ident = self.data.get("id") if isinstance(self.data, dict) else self.data
        return hash((self.type_name, str(ident)))

    def equal(self, other: Any) -> bool | None:
        return isinstance(other, FhirNode) and self.data == other.data

    def equivalent(self, other: Any) -> bool:
        return isinstance(other, FhirNode) and self.data == other.data

    def is_instance_of(self, type_name: str) -> bool:
        if type_name == self.type_name:
            return True
        if self.model.is_subclass(self.type_name, type_name):
            return True
        # a QI-Core profile is also an instance of the FHIR resource it constrains
        return type_name.rsplit(".", 1)[-1] == self.model.resource_type(self.type_name) and type_name.split(".", 1)[0] in (
            self.model.name, "FHIR")

    def get_property(self, path: str) -> Any:
        props = self._props
        if props is None:
            props = self._props = {}
        elif path in props:
            return props[path]
        value = props[path] = read_property(self, path)
        return value

    def to_system(self) -> Any:
        """The System value this FHIR element stands for (FHIRHelpers' implicit conversions);
        resources and elements without a System counterpart are returned unchanged."""
        simple = self.type_name.rsplit(".", 1)[-1]
        if not isinstance(self.data, dict):
            el = self.model.element(self.type_name, "value")
            return C.primitive(self.data, el.type_text) if el is not None else self.data
        conv = _TO_SYSTEM.get(simple)
        if conv is None:
            base = self.model.find_class(self.type_name)
            while conv is None and base is not None and base.base:
                conv = _TO_SYSTEM.get(base.base.rsplit(".", 1)[-1])
                base = self.model.find_class(base.base)
        return conv(self.data) if conv is not None else self


def _lower_first(s: str) -> str:
    return s[:1].lower() + s[1:]


def _fhir_type_for_suffix(model: ModelInfo, suffix: str) -> str:
    """`valueDateTime` -> FHIR.dateTime, `valueQuantity` -> FHIR.Quantity (model spelling)."""
    low = _lower_first(suffix)
    if model.find_class(low) is not None:
        return f"{model.name}.{low}"
    return f"{model.name}.{suffix}"


def read_property(node: FhirNode, name: str) -> Any:
    data = node.data
    model = node.model
    if not isinstance(data, dict):
        # a FHIR primitive: `value` is the System value, `id`/`extension` come from `_name`
        if name == "value":
            el = model.element(node.type_name, "value")
            return C.primitive(data, el.type_text if el else "System.Any")
        if isinstance(node.extra, dict):
            return _wrap_plain(model, node.extra.get(name), "FHIR.Extension" if name == "extension" else "System.String")
        return None
    el = model.element(node.type_name, name)
    if el is None:
        # not in the model (e.g. a contained/unknown element): return the JSON as plainly as possible
        return _plain(data.get(name))
    if el.target:
        return _apply_target(el.target, node, name, el.type_text)
    return _typed_child(model, data, name, el.type_text)


def _plain(value: Any) -> Any:
    return value


def _wrap_plain(model: ModelInfo, value: Any, type_text: str) -> Any:
    if value is None:
        return None
    if isinstance(value, list):
        return [FhirNode(model, type_text, v) for v in value]
    return FhirNode(model, type_text, value)


def _element_types(type_text: str) -> tuple[bool, str]:
    """(is_list, element type text) for a model-info type text."""
    if type_text.startswith("List<") and type_text.endswith(">"):
        return True, type_text[5:-1]
    return False, type_text


def _typed_child(model: ModelInfo, data: dict[str, Any], name: str, type_text: str) -> Any:
    """An element of the FHIR model: FHIR-typed nodes (FHIRHelpers converts them in CQL)."""
    is_list, elem_type = _element_types(type_text)
    if elem_type.startswith("Choice<"):
        found = C.choice_key(data, name)
        if found is None:
            return [] if is_list else None
        key, suffix = found
        return _node_or_value(model, data[key], _fhir_type_for_suffix(model, suffix), data.get("_" + key))
    raw = data.get(name)
    extra = data.get("_" + name)
    if is_list:
        if raw is None and extra is None:
            return []
        items = raw if isinstance(raw, list) else [raw]
        extras = extra if isinstance(extra, list) else [None] * len(items)
        return [_node_or_value(model, v, elem_type, x) for v, x in zip(items, extras) if v is not None or x is not None]
    if raw is None and extra is None:
        return None
    return _node_or_value(model, raw, elem_type, extra)


def _node_or_value(model: ModelInfo, raw: Any, elem_type: str, extra: Any = None) -> Any:
    if elem_type.startswith("System."):
        return C.primitive(raw, elem_type)
    system = model.system_base(elem_type) if not elem_type.startswith(("List<", "Choice<")) else None
    if system is not None:
        return C.primitive(raw, system)
    if elem_type.startswith("Interval<") or elem_type.startswith("Tuple{"):
        return raw
    return FhirNode(model, elem_type, raw, extra)


def _apply_target(target: str, node: FhirNode, name: str, type_text: str) -> Any:
    """Interpret a model-info target mapping (the small language QI-Core/US Core use)."""
    if ";" in target and ":" in target:
        # 'System.Concept:<expr>;System.ValueSet:<expr>': a negation profile's code is either the
        # concept that was not done or the value set named by the notDoneValueSet extension
        options = [part.split(":", 1) for part in target.split(";")]
        for type_name, expr in reversed(options):
            value = _apply_target(expr, node, name, type_name)
            if value is not None and value != []:
                return value
        return None
    is_list, elem_type = _element_types(type_text)
    m = _FHIRHELPERS.match(target)
    if m:
        fn, arg = m.group(1), m.group(2)
        raw, suffix = _target_source(arg, node, name)
        if fn == "ToValue":
            if isinstance(raw, list):
                return [C.to_value(v, suffix) for v in raw]
            value = C.to_value(raw, suffix)
            return ([] if value is None else [value]) if is_list else value
        if fn == "ToInterval":
            conv = C.to_interval_range if (suffix == "Range" or "Quantity" in elem_type) else C.to_interval_period
        else:
            conv = _HELPER_FN.get(fn, lambda v: v)  # type: ignore[assignment]
        if isinstance(raw, list):
            out = [conv(v) for v in raw]
            return [v for v in out if v is not None]
        if is_list:
            one = conv(raw) if raw is not None else None
            return [] if one is None else [one]
        return conv(raw)
    raw, suffix = _target_source(target, node, name)
    return _finish(node.model, raw, elem_type, is_list)


def _finish(model: ModelInfo, raw: Any, elem_type: str, is_list: bool) -> Any:
    if isinstance(raw, list):
        items = [_node_or_value(model, v, elem_type) for v in raw if v is not None]
        return items if is_list else (items[0] if len(items) == 1 else (items or None))
    if raw is None:
        return [] if is_list else None
    value = _node_or_value(model, raw, elem_type)
    return [value] if is_list else value


def _target_source(expr: str, node: FhirNode, name: str) -> tuple[Any, str | None]:
    """Evaluate `%value...` or `%parent...`; return the JSON found and a choice type suffix."""
    data = node.data
    if expr.startswith("%value"):
        rest = expr[len("%value"):]
        found = C.choice_key(data, name) if name not in data else None
        if found is not None:
            raw, suffix = data[found[0]], found[1]
        else:
            raw, suffix = data.get(name), None
        if rest in ("", None):
            return raw, suffix
        if rest == ".value":
            return raw, suffix  # a JSON primitive is its own value
        return _walk(raw, rest.lstrip(".").split(".")), suffix
    if expr.startswith("%parent."):
        return _walk_path(data, expr[len("%parent."):])
    return None, None


def _walk_path(data: Any, path: str) -> tuple[Any, str | None]:
    current: list[Any] = [data]
    suffix: str | None = None
    for seg in split_top_level(path, ".", "[", "]"):
        m = _SEGMENT.match(seg)
        if m is None:
            return None, None
        name, _choice, flt = m.group(1), m.group(2), m.group(3)
        nxt: list[Any] = []
        for item in current:
            if not isinstance(item, dict):
                # `.value` on a JSON primitive is the primitive itself
                if name == "value":
                    nxt.append(item)
                continue
            if name in item:
                value = item[name]
            else:
                found = C.choice_key(item, name)
                if found is None:
                    continue
                value, suffix = item[found[0]], found[1]
            values = value if isinstance(value, list) else [value]
            if flt:
                values = [v for v in values if _matches(v, flt)]
            nxt.extend(values)
        current = nxt
        if not current:
            return None, suffix
    if len(current) == 1:
        return current[0], suffix
    return current, suffix


def _matches(item: Any, flt: str) -> bool:
    if not isinstance(item, dict):
        return False
    for path, expected in _FILTER.findall(flt):
        values = [item]
        for part in path.split("."):
            nxt = []
            for v in values:
                if isinstance(v, dict) and part in v:
                    x = v[part]
                    nxt.extend(x if isinstance(x, list) else [x])
            values = nxt
        if expected not in values:
            return False
    return True


def _walk(raw: Any, parts: list[str]) -> Any:
    for p in parts:
        if isinstance(raw, dict):
            raw = raw.get(p)
        else:
            return raw if p == "value" else None
    return raw

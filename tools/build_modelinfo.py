"""Convert CQL model info XML (../shared/modelinfo, Apache-2.0, from cqframework/clinical_quality_language)
into the compact JSON pedqm ships in engine/pedqm/fhir/modelinfo/ (descriptions dropped).

Usage: python tools/build_modelinfo.py [SOURCE_DIR]
"""

from __future__ import annotations

import gzip
import hashlib
import json
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

NS = "{urn:hl7-org:elm-modelinfo:r1}"
XSI = "{http://www.w3.org/2001/XMLSchema-instance}type"
ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "engine" / "pedqm" / "fhir" / "modelinfo"
FILES = ["fhir-modelinfo-4.0.1.xml", "qicore-modelinfo-4.1.1.xml", "qicore-modelinfo-6.0.0.xml", "uscore-modelinfo-6.1.0.xml"]


def spec(el: ET.Element) -> str:
    """A type specifier as text: 'NS.Name', 'List<...>', 'Interval<...>', 'Choice<a,b>', 'Tuple{n:T,...}'."""
    kind = el.get(XSI, "NamedTypeSpecifier")
    if kind == "NamedTypeSpecifier":
        ns = el.get("namespace") or el.get("modelName")
        return f"{ns}.{el.get('name')}" if ns else str(el.get("name"))
    if kind == "ListTypeSpecifier":
        if el.get("elementType"):
            return f"List<{el.get('elementType')}>"
        inner = el.find(NS + "elementTypeSpecifier")
        return f"List<{spec(inner)}>" if inner is not None else "List<System.Any>"
    if kind == "IntervalTypeSpecifier":
        if el.get("pointType"):
            return f"Interval<{el.get('pointType')}>"
        inner = el.find(NS + "pointTypeSpecifier")
        return f"Interval<{spec(inner)}>" if inner is not None else "Interval<System.Any>"
    if kind == "ChoiceTypeSpecifier":
        choices = el.findall(NS + "choice") or el.findall(NS + "type")
        return "Choice<" + ",".join(dict.fromkeys(spec(c) for c in choices)) + ">"
    if kind == "TupleTypeSpecifier":
        parts = [f"{e.get('name')}:{e.get('elementType') or spec(e.find(NS + 'elementTypeSpecifier'))}" for e in el.findall(NS + "element")]
        return "Tuple{" + ",".join(parts) + "}"
    return "System.Any"


def element_type(el: ET.Element) -> str:
    if el.get("elementType"):
        return str(el.get("elementType"))
    for tag in ("elementTypeSpecifier", "typeSpecifier"):
        inner = el.find(NS + tag)
        if inner is not None:
            return spec(inner)
    return "System.Any"


def convert(path: Path) -> dict[str, object]:
    root = ET.parse(path).getroot()
    model: dict[str, object] = {k: root.get(k) for k in ("name", "version", "url", "targetUrl", "patientClassName", "patientBirthDatePropertyName")}
    types: dict[str, object] = {}
    for ti in root.findall(NS + "typeInfo"):
        name = ti.get("name")
        if not name:
            continue
        info: dict[str, object] = {
            "base": ti.get("baseType"),
            "id": ti.get("identifier"),
            "label": ti.get("label"),
            "target": ti.get("target"),
            "retrievable": ti.get("retrievable") == "true",
            "pcp": ti.get("primaryCodePath"),
            "el": [[e.get("name"), element_type(e), e.get("target")] for e in ti.findall(NS + "element")],
        }
        types[name] = {k: v for k, v in info.items() if v not in (None, [], False)}
    model["types"] = types
    model["conversions"] = [[c.get("fromType"), c.get("toType"), c.get("functionName")] for c in root.findall(NS + "conversionInfo")]
    model["contexts"] = {c.get("name"): {"key": c.get("keyElement"), "birthDate": c.get("birthDateElement"),
                                         "type": spec(c.find(NS + "contextType")) if c.find(NS + "contextType") is not None else None}
                         for c in root.findall(NS + "contextInfo")}
    return model


def main() -> int:
    src = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT.parent / "shared" / "modelinfo"
    OUT.mkdir(parents=True, exist_ok=True)
    lines = ["# Model info shipped with pedqm", "",
             "Compact JSON made by `tools/build_modelinfo.py` from the CQL model info XML of",
             "github.com/cqframework/clinical_quality_language @ 3198cd14 (Apache-2.0; copy of its LICENSE beside this file).",
             "Descriptions are dropped; names, types, targets, primary code paths and conversions are kept.", "",
             "| file | from | sha256 of source XML |", "|---|---|---|"]
    for name in FILES:
        data = convert(src / name)
        out = OUT / (name.replace(".xml", ".json.gz"))
        with gzip.open(out, "wt", encoding="utf-8") as fh:
            json.dump(data, fh, separators=(",", ":"), sort_keys=True)
        digest = hashlib.sha256((src / name).read_bytes()).hexdigest()
        lines.append(f"| {out.name} | {name} | {digest} |")
        print(f"{out.name}: {len(data['types'])} types, {out.stat().st_size // 1024} KiB")  # type: ignore[arg-type]
    (OUT / "SOURCE.md").write_text("\n".join(lines) + "\n")
    (OUT / "LICENSE").write_bytes((src / "LICENSE").read_bytes())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

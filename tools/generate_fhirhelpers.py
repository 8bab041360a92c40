"""Generate the model-info-driven part of pedqm's FHIRHelpers (engine/pedqm/cql_libraries/FHIRHelpers-4.0.1.cql).

Why generated: the FHIR 4.0.1 model info declares ~250 implicit conversions `FHIRHelpers.ToString`
from FHIR code enumerations (FHIR.EncounterStatus, ...) to System.String, and QI-Core maps its
choice elements through `FHIRHelpers.ToValue(%value)` over the open value[x] types (the types of
`Extension.value[x]`). Writing those lists by hand would drift from the model info.

Source: the CQL model info XML in ../shared/modelinfo (fhir-modelinfo-4.0.1.xml, from
github.com/cqframework/clinical_quality_language at 3198cd14, Apache-2.0). Only type names are
read; the output is committed, and pedqm never reads ../shared at run time.

    python tools/generate_fhirhelpers.py [--check] [MODELINFO_DIR]

rewrites the text between the `// BEGIN GENERATED` / `// END GENERATED` lines of the CQL file
(hand-written functions above it are kept); --check exits 1 when the file is not up to date.
"""

from __future__ import annotations

import sys
import xml.etree.ElementTree as ET
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TARGET = ROOT / "engine" / "pedqm" / "cql_libraries" / "FHIRHelpers-4.0.1.cql"
DEFAULT_SOURCE = ROOT.parent / "shared" / "modelinfo"
NS = "{urn:hl7-org:elm-modelinfo:r1}"
BEGIN = "// BEGIN GENERATED (tools/generate_fhirhelpers.py)"
END = "// END GENERATED"

# How ToValue reads each open type: a primitive gives its `.value`; these complex types have a
# System counterpart; any other type (Address, Reference, ...) is returned as the FHIR value.
# Listed most specific first: a subtype (FHIR.code is a FHIR.string) is caught by its base's test.
_PRIMITIVE_BASES = ["boolean", "integer", "decimal", "date", "dateTime", "instant", "time",
                    "string", "uri", "base64Binary"]
_COMPLEX = {"Quantity": "ToQuantity", "CodeableConcept": "ToConcept", "Coding": "ToCode",
            "Period": "ToInterval", "Range": "ToInterval", "Ratio": "ToRatio"}


def _model(source: Path) -> tuple[list[str], list[str], dict[str, str]]:
    """(ToString enumeration types, Extension.value[x] types, type -> base type)."""
    root = ET.parse(source / "fhir-modelinfo-4.0.1.xml").getroot()
    enums = sorted(str(c.get("fromType")) for c in root.findall(NS + "conversionInfo")
                   if c.get("functionName") == "FHIRHelpers.ToString")
    bases: dict[str, str] = {}
    open_types: list[str] = []
    for ti in root.findall(NS + "typeInfo"):
        name = str(ti.get("name"))
        bases[name] = str(ti.get("baseType") or "")
        if name == "Extension":
            for el in ti.findall(NS + "element"):
                if el.get("name") == "value":
                    open_types = [str(c.get("name")) for c in el.iter() if c is not el and c.get("name")]
    if len(enums) < 200 or len(open_types) < 40:
        raise SystemExit(f"{source}: unexpected model info ({len(enums)} enumerations, {len(open_types)} open types)")
    return enums, open_types, bases


def _is_a(name: str, base: str, bases: dict[str, str]) -> bool:
    while name:
        if name == base:
            return True
        name = bases.get(name, "").removeprefix("FHIR.")
    return False


def _wrap(names: list[str], width: int = 96) -> list[str]:
    """Type names, comma-separated, over indented lines of at most `width` characters."""
    out: list[str] = []
    line = "    "
    for i, n in enumerate(names):
        item = n + ("," if i < len(names) - 1 else "")
        if len(line) + len(item) + 1 > width and line.strip():
            out.append(line.rstrip())
            line = "    "
        line += item + " "
    out.append(line.rstrip())
    return out


def generate(source: Path) -> str:
    enums, open_types, bases = _model(source)
    lines = [BEGIN,
             "",
             "/* ------------------------------------------------------------------ value[x] */",
             "",
             "/*",
             " * A choice element's value (value[x] of Extension, Observation, ...) as the System value of its",
             " * FHIR type: primitives their value, Quantity (Age, Count, Distance, Duration), CodeableConcept,",
             " * Coding, Period, Range and Ratio converted as above; other complex types (Address, Reference,",
             " * Timing, ...) have no System counterpart and are returned unchanged.",
             " */",
             "define function ToValue(value Choice<",
             *_wrap([f"FHIR.{t}" for t in open_types]),
             "  >):",
             "  case"]
    for base in _PRIMITIVE_BASES:
        assert any(_is_a(t, base, bases) for t in open_types), base
        lines.append(f"    when value is FHIR.{base} then (value as FHIR.{base}).value")
    for typ, fn in _COMPLEX.items():
        lines.append(f"    when value is FHIR.{typ} then {fn}(value as FHIR.{typ})")
    lines += ["    else value", "  end", ""]
    covered = {t for t in open_types if any(_is_a(t, b, bases) for b in [*_PRIMITIVE_BASES, *_COMPLEX])}
    lines.append(f"// ({len(covered)} of the {len(open_types)} open types have a System value)")
    lines += ["",
              "/* ------------------------------------------------------------------ code enumerations */",
              "",
              f"// The {len(enums)} conversions to System.String the FHIR 4.0.1 model info declares (string, uri,",
              "// base64Binary, xhtml and the code enumerations; code, id, markdown and url, canonical, oid, uuid",
              "// are subtypes of string and uri).",
              ]
    lines += [f"define function ToString(value {t}) returns System.String: value.value" for t in enums]
    lines.append(END)
    return "\n".join(lines)


def render(current: str, generated: str) -> str:
    head, sep, rest = current.partition(BEGIN)
    _, sep2, tail = rest.partition(END)
    if not sep or not sep2:
        raise SystemExit(f"{TARGET}: the GENERATED markers are missing")
    return head + generated + tail


def main(argv: list[str]) -> int:
    check = "--check" in argv
    args = [a for a in argv if a != "--check"]
    source = Path(args[0]) if args else DEFAULT_SOURCE
    current = TARGET.read_text(encoding="utf-8")
    new = render(current, generate(source))
    if check:
        if new != current:
            print(f"{TARGET} is not up to date: run python tools/generate_fhirhelpers.py")
            return 1
        return 0
    TARGET.write_text(new, encoding="utf-8")
    print(f"wrote {TARGET.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))

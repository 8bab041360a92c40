"""Resolution differential: pedqm's resolver against the reference CQL-to-ELM translator.

Why: pedqm decides overloads, implicit conversions and static types itself (resolver.py). The
reference translator (tools/oracles/translate.py, 5.3.0, result types and locators on) is what
published measures were authored against, so every place where the two resolve the same text
differently is either a pedqm bug, a translator departure from the spec, or a known design
choice. This tool finds those places, groups them into stable classes and checks the classes
against a strict known-differences list.

Alignment (documented in the report too): every ELM node with a ``locator`` and every pedqm model
node with a ``loc`` is keyed by its start position, after skipping opening parentheses and
white space on both sides (the translator counts a parenthesized expression from its ``(``,
pedqm from the first token of the rule). Implicit conversions are not aligned themselves: ELM
conversions carry no locator, pedqm's carry their operand's ``loc``; both are peeled off and
attached to the node they wrap as its *conversion chain*. At one start position both sides give
a pre-order list (outermost first); the lists are aligned by a monotone best-score matching:
the same kind of expression scores 3, two calls of different operators/functions score 1 (an
operator-choice difference), anything else never pairs. Unpaired nodes are not differences
(timing phrases and macros legitimately expand differently); they are counted as coverage.

    python tools/resolution_diff.py [--library NAME] [--report FILE] [--update-known]
"""

from __future__ import annotations

import argparse
import base64
import dataclasses
import functools
import hashlib
import importlib.util
import json
import re
import sys
import time
import xml.etree.ElementTree as ET
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

REPO = Path(__file__).resolve().parent.parent
ENGINE = REPO / "engine"
ECQM_DIR = REPO.parent / "shared" / "ecqm"
CQL_LIBRARIES = ENGINE / "pedqm" / "cql_libraries"
MEASURE_LIBRARY = REPO / "measure_library"
KNOWN_FILE = REPO / "tests" / "differential" / "resolution_known_differences.txt"
CACHE_DIR = REPO / ".oracles" / "cache" / "resolution_diff"
DEFAULT_REPORT = REPO / "tools" / "resolution_diff_report.md"

if str(ENGINE) not in sys.path:
    sys.path.insert(0, str(ENGINE))

Rec = dict[str, Any]
"""One aligned-able node: pos (normalized start), loc, end, kind, call, type, conv, parent, detail."""

# ---------------------------------------------------------------- libraries


@dataclass
class Source:
    """One CQL library to compare, with the libraries its includes resolve against."""

    label: str  # unique, e.g. "FHIRHelpers-4.4.000"
    name: str
    version: str | None
    text: str
    group: str  # package / directory the includes come from
    libraries: dict[str, str]  # name -> text available to includes (this one too)
    versions: dict[str, str | None]
    strict_versions: bool
    also_in: list[str] = field(default_factory=list)

    @property
    def digest(self) -> str:
        return hashlib.sha256(self.text.encode()).hexdigest()


_HEADER = re.compile(r"^\s*library\s+(\"[^\"]+\"|[A-Za-z_][\w]*)(?:\s+version\s+'([^']*)')?", re.M)
_INCLUDE = re.compile(r"^\s*include\s+(\"[^\"]+\"|[A-Za-z_][\w.]*)", re.M)


def _header(text: str) -> tuple[str, str | None]:
    m = _HEADER.search(text)
    if m is None:
        return "<anonymous>", None
    return m.group(1).strip('"'), m.group(2)


def _closure(name: str, libraries: dict[str, str]) -> list[str]:
    """Names of `name` and every library it includes, transitively (cache keys depend on them)."""
    seen: list[str] = []
    todo = [name]
    while todo:
        n = todo.pop()
        if n in seen or n not in libraries:
            continue
        seen.append(n)
        todo.extend(m.group(1).strip('"').split(".")[-1] for m in _INCLUDE.finditer(libraries[n]))
    return sorted(seen)


def _pin_versions(text: str, versions: dict[str, str | None]) -> str:
    """Include versions rewritten to the one version the package ships (q25-CMS832 asks for
    QICoreCommon 3.0.000 and ships 4.0.000): the translator refuses a mismatch, pedqm's
    LibraryManager(strict_versions=False) substitutes; the package's version is the one meant."""
    def pin(m: re.Match[str]) -> str:
        shipped = versions.get(m.group(2).strip('"'))
        return m.group(0) if shipped is None else f"{m.group(1)}'{shipped}'"

    return re.sub(r"^(\s*include\s+(\"[^\"]+\"|[\w.]+)\s+version\s+)'[^']*'", pin, text, flags=re.M)


def collect_sources() -> list[Source]:
    """Every eCQM package library (identical texts once), pedqm's own and measure_library's."""
    out: list[Source] = []
    by_digest: dict[str, Source] = {}
    labels: Counter[str] = Counter()

    def add(src: Source) -> None:
        prior = by_digest.get(src.digest)
        if prior is not None:
            prior.also_in.append(src.group)
            return
        base = f"{src.name}-{src.version}" if src.version else src.name
        labels[base] += 1
        src.label = base if labels[base] == 1 else f"{base}#{labels[base]}"
        by_digest[src.digest] = src
        out.append(src)

    for bundle in sorted(ECQM_DIR.glob("*/measure-bundle.json")):
        group = bundle.parent.name
        data = json.loads(bundle.read_text(encoding="utf-8"))
        libs: dict[str, str] = {}
        versions: dict[str, str | None] = {}
        for entry in data.get("entry", []):
            res = entry.get("resource", {})
            if res.get("resourceType") != "Library":
                continue
            for content in res.get("content", []):
                if content.get("contentType") == "text/cql" and content.get("data"):
                    libs[res["name"]] = base64.b64decode(content["data"]).decode("utf-8")
                    versions[res["name"]] = res.get("version")
        for name, text in libs.items():
            add(Source("", name, versions[name], text, group, libs, versions, False))
    own = {p: p.read_text(encoding="utf-8") for p in sorted(CQL_LIBRARIES.glob("*.cql"))}
    own_libs = {_header(t)[0]: t for t in own.values()}
    for text in own.values():
        name, version = _header(text)
        add(Source("", name, version, text, "pedqm/cql_libraries", own_libs,
                   {n: _header(t)[1] for n, t in own_libs.items()}, True))
    for d in sorted(p for p in MEASURE_LIBRARY.iterdir() if p.is_dir()):
        texts = [p.read_text(encoding="utf-8") for p in sorted(d.glob("*.cql"))]
        libs = dict(own_libs)
        libs.update({_header(t)[0]: t for t in texts})
        for text in texts:
            name, version = _header(text)
            add(Source("", name, version, text, f"measure_library/{d.name}", libs,
                       {n: _header(t)[1] for n, t in libs.items()}, True))
    return out


# ---------------------------------------------------------------- types


def _model_namespaces() -> dict[str, str]:
    """ELM QName namespace -> model name prefix used in normalized type text."""
    ns = {"urn:hl7-org:elm-types:r1": "System"}
    oracle = _oracle()
    for xml in sorted(oracle.modelinfo_dir().glob("*.xml")):
        try:
            root = ET.parse(xml).getroot()
        except ET.ParseError:
            continue
        if root.get("url") and root.get("name") != "System":
            ns.setdefault(str(root.get("url")), str(root.get("name")))
    return ns


_FHIR_MODELS = ("FHIR", "QICore", "USCore")


@functools.cache
def _model_classes() -> tuple[dict[str, str], frozenset[str], frozenset[str]]:
    """From the model info XML: profile name -> FHIR target type; resource names; code-enum
    names (classes derived from System.String, e.g. QICore.EncounterStatus)."""
    targets: dict[str, str] = {}
    resources: set[str] = set()
    enums: set[str] = set()
    for xml in sorted(_oracle().modelinfo_dir().glob("*.xml")):
        try:
            root = ET.parse(xml).getroot()
        except ET.ParseError:
            continue
        if root.get("name") not in _FHIR_MODELS:
            continue
        for ti in root:
            name = ti.get("name")
            if not name or not ti.tag.endswith("typeInfo"):
                continue
            target = ti.get("target")
            if target and "." not in target and root.get("name") != "FHIR":
                targets[name] = target
            if ti.get("retrievable") == "true":
                resources.add(target or name)
            if ti.get("baseType") == "System.String" and name[:1].isupper():
                enums.add(name)
            elif (ti.get("baseType") or "").startswith("System.") and not any(c.tag.endswith("element") for c in ti):
                _SYSTEM_BASED[name] = str(ti.get("baseType"))
    return targets, frozenset(resources), frozenset(enums)


# model classes that only restrict a System type and add nothing (QI-Core 6's NotDoneRecorded is a
# System.DateTime read from an extension, DoNotPerformReason a System.Concept): written as that
# System type on both sides, as pedqm types them (filled by _model_classes)
_SYSTEM_BASED: dict[str, str] = {}


def _norm_named(model: str, name: str) -> str:
    """QI-Core/US Core classes are written with their FHIR target type in ELM
    (`{http://hl7.org/fhir}Condition` for QICore.ConditionProblemsHealthConcerns), so FHIR-based
    model types are written `FHIR.<target>` on both sides."""
    if model in _FHIR_MODELS:
        _model_classes()
        if name in _SYSTEM_BASED:
            return _SYSTEM_BASED[name]
        model = "FHIR"
        name = _model_classes()[0].get(name, name)
    return f"{model}.{name}"


def elm_type(node: dict[str, Any], namespaces: dict[str, str]) -> str | None:
    """Normalized result type of an ELM node (None when the translator gives none)."""
    if "resultTypeName" in node:
        return _elm_qname(node["resultTypeName"], namespaces)
    spec = node.get("resultTypeSpecifier")
    return elm_spec(spec, namespaces) if isinstance(spec, dict) else None


def _elm_qname(q: str, namespaces: dict[str, str]) -> str:
    m = re.match(r"\{([^}]*)\}(.*)", q)
    if m is None:
        return q if "." in q else f"System.{q}"
    return _norm_named(namespaces.get(m.group(1), m.group(1)), m.group(2))


def elm_spec(spec: dict[str, Any], namespaces: dict[str, str]) -> str:
    t = spec.get("type")
    if t == "NamedTypeSpecifier":
        return _elm_qname(spec["name"], namespaces)
    if t == "ListTypeSpecifier":
        return f"List<{elm_spec(spec['elementType'], namespaces)}>"
    if t == "IntervalTypeSpecifier":
        return f"Interval<{elm_spec(spec['pointType'], namespaces)}>"
    if t == "ChoiceTypeSpecifier":
        parts = sorted({elm_spec(c, namespaces) for c in spec.get("choice", spec.get("type_", []))})
        return parts[0] if len(parts) == 1 else f"Choice<{', '.join(parts)}>"
    if t == "TupleTypeSpecifier":
        els = sorted(f"{e['name']} {elm_spec(e['elementType'], namespaces)}" for e in spec.get("element", []))
        return "Tuple{" + ", ".join(els) + "}"
    return str(t)


def pedqm_type(t: Any) -> str:
    """pedqm CqlType in the same text form (choices sorted, tuple elements sorted)."""
    from pedqm.cql import types as T

    if isinstance(t, T.NamedType):
        if "." in t.name:
            model, name = t.name.split(".", 1)
            return _norm_named(model, name)
        return t.name
    if isinstance(t, T.ListType):
        return f"List<{pedqm_type(t.element)}>"
    if isinstance(t, T.IntervalType):
        return f"Interval<{pedqm_type(t.point)}>"
    if isinstance(t, T.ChoiceType):
        parts = sorted({pedqm_type(c) for c in t.choices})
        return parts[0] if len(parts) == 1 else f"Choice<{', '.join(parts)}>"
    if isinstance(t, T.TupleType):
        return "Tuple{" + ", ".join(sorted(f"{n} {pedqm_type(et)}" for n, et in t.elements)) + "}"
    return str(t)


UNKNOWN = "System.Any"


def _type_tokens(t: str) -> list[str]:
    return re.findall(r"[\w.\-]+|[<>{},]", t)


def unknown_matches(pedqm_t: str, elm_t: str) -> bool:
    """True when pedqm's type equals the translator's except where pedqm says System.Any."""
    if UNKNOWN not in pedqm_t:
        return False
    pattern = re.escape(pedqm_t).replace(re.escape(UNKNOWN), ".+")
    return re.fullmatch(pattern, elm_t) is not None


def generalize(t: str | None) -> str:
    """Type text for class keys: tuple element names dropped, FHIR resources written
    `FHIR.<resource>` and code enumerations `FHIR.<code>` (they name places, not kinds)."""
    if t is None:
        return "?"
    _, resources, enums = _model_classes()

    def sub(m: re.Match[str]) -> str:
        name = m.group(1)
        if name in enums:
            return "FHIR.<code>"
        if name in resources:
            return "FHIR.<resource>"
        return m.group(0)

    t = re.sub(r"FHIR\.([\w\-]+)(?![\w.\-])", sub, t)
    t = re.sub(r"Tuple\{[^{}]*\}", "Tuple{…}", t)
    for token in ("FHIR.<resource>", "FHIR.<code>", "Tuple{…}"):
        t = re.sub(rf"{re.escape(token)}(, {re.escape(token)})+", token, t)
    return t


# ---------------------------------------------------------------- ELM side

_ELM_SKIP_KEYS = {"annotation", "signature", "resultTypeSpecifier", "operandTypeSpecifier",
                  "asTypeSpecifier", "isTypeSpecifier", "locator", "resultTypeName",
                  "elementType", "pointType"}
_ELM_NOT_EXPR = {"With", "Without", "ByExpression", "ByDirection", "ByColumn", "SortClause",
                 "ReturnClause", "AggregateClause", "LetClause", "AliasedQuerySource",
                 "CodeFilterElement", "DateFilterElement", "OtherFilterElement", "IncludeElement"}
NON_CALL_KINDS = {
    "Literal", "Date", "DateTime", "Time", "Quantity", "Ratio", "Null", "ExpressionRef",
    "ParameterRef", "AliasRef", "QueryLetRef", "OperandRef", "IdentifierRef", "Property",
    "ValueSetRef", "CodeRef", "CodeSystemRef", "ConceptRef", "Retrieve", "Query", "If", "Case",
    "As", "Is", "Interval", "List", "Tuple", "Instance", "Code", "Concept",
}
_CONVERSIONS = {"ToDateTime", "ToDecimal", "ToQuantity", "ToConcept", "ToLong", "ToList",
                "SingletonFrom", "ToInterval", "ToDate", "ToString", "ToInteger", "ToTime",
                "ToBoolean", "ToRatio"}
_TRANSPARENT = ""


_CLAUSE_WORDS = re.compile(r"(?:where|return|all|distinct|such\s+that)\b")


def _start(text_offsets: list[int], text: str, line: int, col: int) -> tuple[int, int]:
    """(line, col) moved past opening parentheses, white space and query clause keywords (the
    translator starts a `where`/`return`/`such that` expression at its keyword)."""
    if not 0 < line <= len(text_offsets):
        return line, col
    off = text_offsets[line - 1] + col - 1
    while off < len(text):
        m = _CLAUSE_WORDS.match(text, off)
        step = len(m.group(0)) if m else (1 if text[off] in "( \t\r\n" else 0)
        if not step:
            break
        for ch in text[off:off + step]:
            line, col = (line + 1, 1) if ch == "\n" else (line, col + 1)
        off += step
    return line, col


def _line_offsets(text: str) -> list[int]:
    offs = [0]
    for i, ch in enumerate(text):
        if ch == "\n":
            offs.append(i + 1)
    return offs


def _parse_locator(loc: str) -> tuple[int, int, int, int]:
    parts = loc.split("-")
    sl, sc = (int(x) for x in parts[0].split(":"))
    el, ec = (int(x) for x in parts[-1].split(":"))
    return sl, sc, el, ec


def _elm_label(node: dict[str, Any], namespaces: dict[str, str]) -> str | None:
    """Conversion label of an unlocated ELM node; _TRANSPARENT to look through, None: structural."""
    t = node.get("type")
    if t in _CONVERSIONS:
        return str(t)
    if t == "As":
        if "asType" in node:
            target = _elm_qname(node["asType"], namespaces)
        elif isinstance(node.get("asTypeSpecifier"), dict):
            target = elm_spec(node["asTypeSpecifier"], namespaces)
        else:
            target = elm_type(node, namespaces) or "?"
        inner = node.get("operand")
        if isinstance(inner, dict) and elm_type(inner, namespaces) == target:
            return _TRANSPARENT  # the translator's redundant As (see tools/oracles README quirks)
        if target.startswith(("Choice<", "List<Choice<")):
            return _TRANSPARENT  # an upcast to a choice (argument, union) changes no value
        return f"As<{target}>"
    if t == "FunctionRef" and node.get("libraryName") and "FHIRHelpers" in str(node.get("libraryName")):
        return "ToSystemValue"
    if t == "Query":
        ret = json.dumps(node.get("return", {}))
        return "ToSystemValue" if "FHIRHelpers" in ret else "Query"
    if t == "Interval":
        return "Interval"
    if t == "Property" and node.get("path") in ("low", "high") and "source" in node:
        return _TRANSPARENT
    return None


def _located_conversion(node: dict[str, Any], namespaces: dict[str, str]) -> bool:
    """An implicit conversion the translator gave its operand's locator (it does so for
    FHIRHelpers calls such as `ToInterval(Encounter.period)`): a wrapper, not an expression."""
    operand = node.get("operand")
    if isinstance(operand, list):
        if len(operand) != 1:
            return False
        operand = operand[0]
    if not isinstance(operand, dict) or operand.get("locator", node["locator"]) != node["locator"]:
        return False
    if not _elm_label(node, namespaces):
        return False
    operand.setdefault("locator", node["locator"])  # the wrapped expression is what was written
    return True


def elm_records(elm: dict[str, Any], text: str, namespaces: dict[str, str]) -> list[Rec]:
    """Located expression nodes of one translated library, with their conversion chains."""
    lib = elm.get("library", {})
    aliases = {i.get("localIdentifier"): i.get("path") for i in lib.get("includes", {}).get("def", [])}
    offs = _line_offsets(text)
    out: list[Rec] = []

    def record(node: dict[str, Any], kind: str, conv: list[str], parent: str) -> None:
        sl, sc, el, ec = _parse_locator(node["locator"])
        detail = kind
        if kind == "FunctionRef":
            sig = [elm_spec(s, namespaces) for s in node.get("signature", []) if isinstance(s, dict)]
            lib_name = aliases.get(node.get("libraryName"), node.get("libraryName") or lib.get("identifier", {}).get("id"))
            detail = f"{lib_name}.{node.get('name')}" + (f"({', '.join(sig)})" if sig else "")
        out.append({
            "pos": list(_start(offs, text, sl, sc)), "loc": f"{sl}:{sc}", "end": [el, ec],
            "kind": kind, "call": kind not in NON_CALL_KINDS, "type": elm_type(node, namespaces),
            "conv": conv, "parent": parent, "detail": detail, "i": len(out),
        })

    def walk(x: Any, conv: list[str], parent: str) -> None:
        if isinstance(x, list):
            for v in x:
                walk(v, conv, parent)
            return
        if not isinstance(x, dict):
            return
        t = x.get("type")
        is_expr = isinstance(t, str) and not t.endswith("TypeSpecifier") and t not in _ELM_NOT_EXPR
        if is_expr and "locator" in x and not _located_conversion(x, namespaces):
            record(x, str(t), conv, parent)
            conv, parent = [], str(t)
        elif is_expr:
            label = _elm_label(x, namespaces)
            if label is None:
                conv = []
            elif label == "ToSystemValue" and t == "Query":
                for s in x.get("source", []):
                    walk(s.get("expression"), [*conv, label], parent)
                return
            elif label:
                conv = [*conv, label]
        else:
            conv = []
        for k, v in x.items():
            if k not in _ELM_SKIP_KEYS and isinstance(v, (dict, list)):
                walk(v, conv, parent)

    for d in lib.get("statements", {}).get("def", []):
        if "locator" in d and "expression" in d:
            kind = "FunctionDef" if d.get("type") == "FunctionDef" else "ExpressionDef"
            sl, sc, el, ec = _parse_locator(d["locator"])
            out.append({"pos": [sl, sc], "loc": f"{sl}:{sc}", "end": [el, ec], "kind": kind,
                        "call": False, "type": elm_type(d, namespaces), "conv": [], "parent": "",
                        "detail": d.get("name"), "i": len(out)})
            walk(d["expression"], [], kind)
    for p in lib.get("parameters", {}).get("def", []):
        if "default" in p:
            walk(p["default"], [], "ParameterDef")
    return out


def elm_errors(result: dict[str, Any], name: str) -> list[dict[str, Any]]:
    """The translator's errors located in this library (not in its includes)."""
    errs = []
    for e in result.get("errors", []):
        if e.get("severity") != "error" or e.get("library") not in (name, None):
            continue
        msg = str(e.get("message"))
        if "was included with version" in msg:
            continue  # the package ships one version of the include: the one meant (brief, CMS832)
        errs.append({"line": e.get("line") or 0, "column": e.get("column") or 0, "message": msg})
    return errs


# ---------------------------------------------------------------- pedqm side

_P_CONVERSIONS = {"ToDateTime", "ToDecimal", "ToQuantity", "ToConcept", "ToLong", "ToSystemValue",
                  "ImplicitConvert"}
_P_KIND_ALIASES = {"DateTimeWithDefaultOffset": "DateTime", "CoalesceList": "Coalesce"}


def _explicit_as(tree: Any) -> Counter[tuple[int, int]]:
    """Start positions of `as`/`cast` written in the text (an As at another place is implicit)."""
    from pedqm.cql import ast

    found: Counter[tuple[int, int]] = Counter()
    stack: list[Any] = [tree]
    seen: set[int] = set()
    while stack:
        x = stack.pop()
        if id(x) in seen:
            continue
        seen.add(id(x))
        if isinstance(x, ast.TypeOp) and x.op in ("as", "cast"):
            found[(x.loc.line, x.loc.column)] += 1
        if isinstance(x, (list, tuple)):
            stack.extend(x)
        elif dataclasses.is_dataclass(x) and not isinstance(x, type):
            stack.extend(getattr(x, f.name) for f in dataclasses.fields(x))
    return found


def _p_kind(n: Any) -> str:
    from pedqm.cql import model as M
    from pedqm.cql import types as T

    if isinstance(n, M.OperatorCall):
        return _P_KIND_ALIASES.get(n.name, n.name)
    if isinstance(n, M.Logical):
        return n.op
    if isinstance(n, M.Literal):
        if n.value is None:
            return "Null"
        for simple in ("Date", "DateTime", "Time", "Quantity", "Ratio"):
            if n.type == T.system(simple):
                return simple
        return "Literal"
    if isinstance(n, M.IntervalSelector):
        return "Interval"
    if isinstance(n, M.ListSelector):
        return "List"
    if isinstance(n, M.TupleSelector):
        return "Tuple"
    if isinstance(n, M.Instance):
        return {"System.Code": "Code", "System.Concept": "Concept"}.get(n.class_type, "Instance")
    if isinstance(n, M.TerminologyRef):
        return {"valueset": "ValueSetRef", "code": "CodeRef", "codesystem": "CodeSystemRef",
                "concept": "ConceptRef"}[n.kind]
    return type(n).__name__


def pedqm_records(resolved: Any, tree: Any, text: str) -> list[Rec]:
    """Located model nodes of one resolved library, with their conversion chains."""
    from pedqm.cql import ast
    from pedqm.cql import model as M

    offs = _line_offsets(text)
    explicit = _explicit_as(tree)
    out: list[Rec] = []
    seen: set[int] = set()

    def label(n: Any) -> str | None:
        if isinstance(n, M.OperatorCall) and n.name in _P_CONVERSIONS and len(n.operands) == 1 \
                and n.operands[0].loc == n.loc:
            if n.name == "ImplicitConvert":
                kind = "ImplicitCast" if n.options.get("cast") else "ImplicitConvert"
                return f"{kind}<{pedqm_type(n.options.get('to'))}>"
            return n.name
        if isinstance(n, M.As) and n.operand.loc == n.loc:
            key = (n.loc.line, n.loc.column)
            if explicit[key] > 0:
                explicit[key] -= 1
                return None
            return f"As<{pedqm_type(n.as_type)}>"
        return None

    def children(n: Any) -> Iterable[Any]:
        for f in dataclasses.fields(n):
            if f.name in ("type", "loc", "candidates", "options", "is_type", "as_type"):
                continue
            yield getattr(n, f.name)

    def walk(x: Any, conv: list[str], parent: str) -> None:
        if isinstance(x, (list, tuple)):
            for v in x:
                walk(v, conv, parent)
            return
        if isinstance(x, M.Node):
            if id(x) in seen:
                return
            seen.add(id(x))
            lab = label(x)
            if lab is not None:
                inner = x.operands[0] if isinstance(x, M.OperatorCall) else x.operand
                walk(inner, [*conv, lab], parent)
                return
            if x.loc is ast.NOWHERE or x.loc.line == 0:
                for c in children(x):
                    walk(c, [], parent)
                return
            kind = _p_kind(x)
            detail = kind
            if isinstance(x, M.FunctionRef):
                detail = f"{x.library.split('|')[0]}.{x.name}"
                if len(x.candidates) == 1:
                    detail += f"({', '.join(pedqm_type(t) for t in x.candidates[0].operand_types)})"
                else:
                    detail += f"[{len(x.candidates)} overloads left to run time]"
            out.append({
                "pos": list(_start(offs, text, x.loc.line, x.loc.column)),
                "loc": f"{x.loc.line}:{x.loc.column}", "kind": kind,
                "call": kind not in NON_CALL_KINDS, "type": pedqm_type(x.type), "conv": conv,
                "parent": parent, "detail": detail, "i": len(out),
            })
            for c in children(x):
                walk(c, [], kind)
            return
        if dataclasses.is_dataclass(x) and not isinstance(x, type):
            for f in dataclasses.fields(x):
                walk(getattr(x, f.name), [], parent)

    for d in resolved.definitions.values():
        if d.loc is ast.NOWHERE or d.loc.line == 0:
            continue
        t = pedqm_type(d.expression.type) if d.expression is not None else None
        out.append({"pos": [d.loc.line, d.loc.column], "loc": f"{d.loc.line}:{d.loc.column}",
                    "kind": "ExpressionDef", "call": False, "type": t, "conv": [], "parent": "",
                    "detail": d.name, "i": len(out)})
        if d.expression is not None:
            walk(d.expression, [], "ExpressionDef")
    for overloads in resolved.functions.values():
        for fm in overloads:
            if fm.external:
                continue
            out.append({"pos": [fm.loc.line, fm.loc.column], "loc": f"{fm.loc.line}:{fm.loc.column}",
                        "kind": "FunctionDef", "call": False, "type": pedqm_type(fm.return_type),
                        "conv": [], "parent": "", "detail": fm.name, "i": len(out)})
            if fm.body is not None:
                walk(fm.body, [], "FunctionDef")
    for p in resolved.parameters.values():
        if p.default is not None:
            walk(p.default, [], "ParameterDef")
    return out


def pedqm_resolve(src: Source, managers: dict[str, Any]) -> dict[str, Any]:
    """Resolve with pedqm, keeping the partial model when there are errors (the library API
    raises instead), and return records + errors. Reads pedqm's model only."""
    from pedqm.cql import library as L
    from pedqm.cql.errors import CqlCompileError
    from pedqm.cql.parser import parse_library
    from pedqm.cql.resolver import Resolver

    def lookup(name: str, version: str | None) -> tuple[str, str] | None:
        text = src.libraries.get(name)
        return (text, f"{name}.cql") if text is not None else None

    manager = managers.get(src.group)
    if manager is None:
        manager = managers[src.group] = L.LibraryManager(lookup, strict_versions=src.strict_versions)
    try:
        tree = parse_library(src.text, src.name)
    except CqlCompileError as exc:
        return {"records": [], "errors": [{"line": e.line, "column": e.column, "message": e.message}
                                          for e in exc.errors]}
    try:
        resolver = Resolver(tree, src.text, src.name, manager._load_resolved, manager.models)
        resolved = resolver.resolve_library()
    except Exception as exc:  # noqa: BLE001 - a resolver crash is a difference, not a tool failure
        return {"records": [], "errors": [{"line": 0, "column": 0,
                                           "message": f"pedqm resolver crashed: {type(exc).__name__}: {exc}"}]}
    return {"records": pedqm_records(resolved, tree, src.text),
            "errors": [{"line": e.line, "column": e.column, "message": e.message} for e in resolver.errors]}


# ---------------------------------------------------------------- caching


def _oracle() -> ModuleType:
    name = "pedqm_translator_oracle"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, REPO / "tools" / "oracles" / "translate.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def _hash_files(paths: Iterable[Path]) -> str:
    h = hashlib.sha256()
    for p in sorted(paths):
        h.update(str(p.relative_to(REPO)).encode())
        h.update(p.read_bytes())
    return h.hexdigest()


def _engine_hash() -> str:
    engine_files = [p for p in (ENGINE / "pedqm").rglob("*") if p.is_file()
                    and p.suffix in (".py", ".lark", ".json") and "__pycache__" not in p.parts]
    return _hash_files(engine_files)


@functools.cache
def _fingerprints() -> dict[str, str]:
    """What each side's cached records depend on besides the library texts. The engine's
    files are hashed when this module is imported (beside the engine, at the start of a test
    session), so that the key names the code this process runs: a long test run whose files
    are edited meanwhile must not file its older results under the new files' key."""
    tool = hashlib.sha256(Path(__file__).read_bytes()).hexdigest()
    oracle = _oracle()
    mi = "".join(f"{x.name}:{x.stat().st_size}:{x.stat().st_mtime_ns}"
                 for x in sorted(oracle.modelinfo_dir().glob("*.xml")))
    translator = hashlib.sha256(f"{oracle.translator_version()}|{mi}".encode()).hexdigest()
    return {"pedqm": tool + _ENGINE_HASH_AT_IMPORT, "elm": tool + translator}


_ENGINE_HASH_AT_IMPORT = _engine_hash()


def _cache_key(side: str, src: Source, fingerprints: dict[str, str]) -> str:
    h = hashlib.sha256(fingerprints[side].encode())
    for name in _closure(src.name, src.libraries):
        h.update(f"\0{name}\0{src.versions.get(name)}\0".encode())
        h.update(src.libraries[name].encode())
    h.update(b"\0main\0" + src.text.encode())
    h.update(str(src.strict_versions).encode())
    return h.hexdigest()


def _cache_get(side: str, key: str) -> dict[str, Any] | None:
    path = CACHE_DIR / side / f"{key}.json"
    try:
        data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        return data
    except (OSError, ValueError):
        return None


def _cache_put(side: str, key: str, value: dict[str, Any]) -> None:
    path = CACHE_DIR / side / f"{key}.json"
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(value), encoding="utf-8")
        tmp.replace(path)
    except OSError:
        pass


# ---------------------------------------------------------------- comparison


@dataclass
class Difference:
    library: str
    loc: str
    snippet: str
    category: str  # type-unknown | type | operator | overload | conversion | error
    key: str  # the class key
    translator: str
    pedqm: str


def _align(es: list[Rec], ps: list[Rec]) -> list[tuple[Rec, Rec]]:
    """Monotone best-score matching of two pre-order lists at one start position."""
    def score(e: Rec, p: Rec) -> int:
        if e["kind"] == p["kind"]:
            # the same kind of node, preferably of the same type (in `timing.repeat.timeOfDay`
            # the translator locates the conversion query and `repeat`, pedqm both properties)
            return 4 if e["type"] == p["type"] else 3
        if e["call"] and p["call"] and (e["type"] == p["type"] or p["type"] in ("System.Any", None) or not e["type"]):
            return 1  # a different operator with the same result type: a wrong overload
        # (a call of another result type is a node one side has and the other writes without
        # a locator, e.g. the Start pedqm gives `X starts ...`; not a pair)
        return -1

    n, m = len(es), len(ps)
    best = [[0] * (m + 1) for _ in range(n + 1)]
    for i in range(n - 1, -1, -1):
        for j in range(m - 1, -1, -1):
            s = score(es[i], ps[j])
            best[i][j] = max(best[i + 1][j], best[i][j + 1], best[i + 1][j + 1] + s if s > 0 else -1)
    pairs = []
    i = j = 0
    while i < n and j < m:
        s = score(es[i], ps[j])
        if s > 0 and best[i][j] == best[i + 1][j + 1] + s:
            pairs.append((es[i], ps[j]))
            i, j = i + 1, j + 1
        elif best[i][j] == best[i + 1][j]:
            i += 1
        else:
            j += 1
    return pairs


def _snippet(lines: list[str], rec: Rec) -> str:
    line, col = rec["pos"]
    if not 0 < line <= len(lines):
        return ""
    text = lines[line - 1][col - 1:]
    end = rec.get("end")
    if end and end[0] == line:
        text = lines[line - 1][col - 1:end[1]]
    text = " ".join(text.split())
    return text if len(text) <= 70 else text[:67] + "..."


def _conv_text(conv: list[str]) -> str:
    return "[" + ", ".join(conv) + "]" if conv else "none"


def _norm_message(msg: str) -> str:
    """Error message with names and numbers abstracted, for class keys."""
    msg = re.sub(r"\"[^\"]*\"|'[^']*'", "…", msg)
    msg = re.sub(r"\b\d+\b", "N", msg)
    msg = re.sub(r"\s+", " ", msg).strip()
    return msg[:140]


def compare(label: str, text: str, elm: dict[str, Any], ped: dict[str, Any]) -> tuple[list[Difference], dict[str, int]]:
    lines = text.splitlines()
    diffs: list[Difference] = []
    e_by: dict[tuple[int, int], list[Rec]] = defaultdict(list)
    p_by: dict[tuple[int, int], list[Rec]] = defaultdict(list)
    for r in elm["records"]:
        e_by[tuple(r["pos"])].append(r)  # type: ignore[index]
    for r in ped["records"]:
        p_by[tuple(r["pos"])].append(r)  # type: ignore[index]
    paired = 0
    for pos in sorted(e_by):
        es = sorted(e_by[pos], key=lambda r: r["i"])
        ps = sorted(p_by.get(pos, []), key=lambda r: r["i"])
        for e, p in _align(es, ps):
            paired += 1
            diffs.extend(_compare_pair(label, lines, e, p))
    diffs.extend(_compare_errors(label, lines, elm["errors"], ped["errors"]))
    stats = {"elm_nodes": len(elm["records"]), "pedqm_nodes": len(ped["records"]), "paired": paired}
    return diffs, stats


def _compare_pair(label: str, lines: list[str], e: Rec, p: Rec) -> list[Difference]:
    out: list[Difference] = []
    loc = f"{e['pos'][0]}:{e['pos'][1]}"
    snip = _snippet(lines, e)
    kind = e["kind"]

    def add(category: str, key: str, t: str, q: str) -> None:
        out.append(Difference(label, loc, snip, category, key, t, q))

    et, pt = e["type"], p["type"]
    if e["kind"] != p["kind"]:
        add("operator", f"operator | translator {e['kind']} | pedqm {p['kind']}",
            f"{e['detail']} : {et}", f"{p['detail']} : {pt}")
    elif kind == "FunctionRef" and e["detail"] != p["detail"]:
        e_name, p_name = e["detail"].split("(")[0], re.split(r"[(\[]", p["detail"])[0]
        if e_name != p_name:
            k = "overload | function differs"
        elif "overloads left to run time" in p["detail"]:
            k = "overload | translator picks one, pedqm leaves several to run time"
        elif "(" not in e["detail"]:
            k = "" # the translator records no signature (one overload): nothing to compare
        else:
            k = f"overload | {e_name} | translator {e['detail'][len(e_name):]} | pedqm {p['detail'][len(p_name):]}"
        if k:
            add("overload", k, e["detail"], p["detail"])
    if et is not None and pt is not None and et != pt:
        if pt == UNKNOWN or unknown_matches(pt, et):
            add("type-unknown", f"pedqm type unknown where translator knows it | {kind} | translator {generalize(et)} | pedqm {generalize(pt)}", et, pt)
        else:
            add("type", f"type | {kind} | translator {generalize(et)} | pedqm {generalize(pt)}", et, pt)
    e_conv, p_conv = list(e["conv"]), list(p["conv"])
    if pt is not None and not pt.startswith(("FHIR.", "List<FHIR.")):
        # pedqm reads FHIR elements through the QI-Core mappings as System values natively
        # (ARCHITECTURE.md 'FHIR values in CQL'): the FHIRHelpers call the translator needs is
        # already done when pedqm types the node with a System type
        e_conv = [c for c in e_conv if c != "ToSystemValue"]
        p_conv = [c for c in p_conv if c != "ToSystemValue"]
    # a cast repeated with nothing between (the translator casts to a profile, then to its
    # resource, both written FHIR.<resource> here) is one cast
    e_conv = [c for i, c in enumerate(e_conv) if i == 0 or c != e_conv[i - 1] or not c.startswith("As<")]
    if e_conv != p_conv:
        add("conversion",
            f"conversion | {kind} : {generalize(et or pt)} under {e['parent']} | translator {_conv_text(e_conv)} | pedqm {_conv_text(p_conv)}",
            _conv_text(e["conv"]), _conv_text(p["conv"]))
    return out


def _compare_errors(label: str, lines: list[str], e_errs: list[dict[str, Any]], p_errs: list[dict[str, Any]]) -> list[Difference]:
    """An error on one side at a line where the other side has none is a difference."""
    out = []
    e_lines = {e["line"] for e in e_errs}
    p_lines = {e["line"] for e in p_errs}
    for e in e_errs:
        if e["line"] not in p_lines:
            src = lines[e["line"] - 1].strip()[:70] if 0 < e["line"] <= len(lines) else ""
            out.append(Difference(label, f"{e['line']}:{e['column']}", src, "error",
                                  f"error | translator rejects, pedqm accepts | {_norm_message(e['message'])}",
                                  e["message"], "accepted"))
    for p in p_errs:
        if p["line"] not in e_lines:
            src = lines[p["line"] - 1].strip()[:70] if 0 < p["line"] <= len(lines) else ""
            out.append(Difference(label, f"{p['line']}:{p['column']}", src, "error",
                                  f"error | pedqm rejects, translator accepts | {_norm_message(p['message'])}",
                                  "accepted", p["message"]))
    return out


# ---------------------------------------------------------------- running


@dataclass
class Run:
    sources: list[Source]
    diffs: list[Difference]
    stats: dict[str, dict[str, int]]
    timings: dict[str, float]


def run(library_filter: str | None = None, progress: Callable[[str], None] | None = None) -> Run:
    """Compare every library (or those whose label contains `library_filter`)."""
    oracle = _oracle()
    t0 = time.monotonic()
    sources = collect_sources()
    if library_filter:
        sources = [s for s in sources if library_filter.lower() in s.label.lower()]
    fingerprints = _fingerprints()
    namespaces = _model_namespaces()
    timings = {"translate": 0.0, "pedqm": 0.0}
    elm_results: dict[str, dict[str, Any]] = {}
    todo: dict[str, list[Source]] = defaultdict(list)
    for s in sources:
        cached = _cache_get("elm", _cache_key("elm", s, fingerprints))
        if cached is not None:
            elm_results[s.label] = cached
        else:
            todo[s.group].append(s)
    for group, group_sources in todo.items():
        t = time.monotonic()
        names = sorted({n for s in group_sources for n in _closure(s.name, s.libraries)})
        first = group_sources[0]
        libs = {n: first.libraries[n] if first.strict_versions else _pin_versions(first.libraries[n], first.versions)
                for n in names}
        wanted = sorted({s.name for s in group_sources})
        if progress:
            progress(f"translating {group}: {', '.join(wanted)}")
        response = oracle.translate(libs, wanted)
        for s in group_sources:
            res = response.get(s.name) or {}
            elm = res.get("elm") or {}
            value = {"records": elm_records(elm, s.text, namespaces), "errors": elm_errors(res, s.name)}
            if res.get("elm") is None:
                value["errors"].append({"line": 0, "column": 0, "message": "translator produced no ELM"})
            _cache_put("elm", _cache_key("elm", s, fingerprints), value)
            elm_results[s.label] = value
        timings["translate"] += time.monotonic() - t
    ped_results: dict[str, dict[str, Any]] = {}
    managers: dict[str, Any] = {}
    t = time.monotonic()
    for s in sources:
        key = _cache_key("pedqm", s, fingerprints)
        cached = _cache_get("pedqm", key)
        if cached is None:
            if progress:
                progress(f"resolving {s.label}")
            cached = pedqm_resolve(s, managers)
            _cache_put("pedqm", key, cached)
        ped_results[s.label] = cached
    timings["pedqm"] = time.monotonic() - t
    diffs: list[Difference] = []
    stats: dict[str, dict[str, int]] = {}
    for s in sources:
        d, st = compare(s.label, s.text, elm_results[s.label], ped_results[s.label])
        diffs.extend(d)
        stats[s.label] = st
    timings["total"] = time.monotonic() - t0
    return Run(sources, diffs, stats, timings)


def read_known(path: Path = KNOWN_FILE) -> dict[str, str]:
    """Class key -> reason. Format: `<class key> => <reason>`; `#` lines are comments."""
    known: dict[str, str] = {}
    if not path.is_file():
        return known
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        key, sep, reason = line.rpartition(" => ")
        if not sep:
            key, reason = line, "open: (no reason given)"
        known[key.strip()] = reason.strip()
    return known


_DESCRIPTIONS = {
    "type-unknown": "pedqm leaves the static type unknown",
    "type": "static types disagree",
    "operator": "a different system operator or function is chosen",
    "overload": "a different user-function overload is chosen",
    "conversion": "different implicit conversions",
    "error": "one side reports an error the other does not",
}


# Classes whose two resolutions are equivalent by construction (the same value for every input),
# with the reason; applied where the list has no reason written by hand.
_SAME_RULES: list[tuple[re.Pattern[str], str]] = [(re.compile(p), r) for p, r in [
    (r"^type \| Property \| translator FHIR\.<code> \| pedqm System\.String$",
     "same: a FHIR code-valued element (a model-info restriction of System.String) is typed by its System base; "
     "the translator keeps the model type and applies FHIRHelpers.ToString where it is used"),
    (r"under Retrieve \| translator \[ToList\] \| pedqm none$",
     "same: ELM Retrieve.codes is a list, so the translator wraps a Code in ToList; pedqm's retrieve takes a Code, "
     "a list, a Concept or a value set as the code filter (CQL Author's Guide, Retrieve)"),
    (r"^operator \| translator AnyInValueSet \| pedqm InValueSet$",
     "same: pedqm's InValueSet on a list of codes answers whether any is in the value set (ELM AnyInValueSet)"),
    (r"^operator \| translator Not \| pedqm NotEquivalent$",
     "same: NotEquivalent is not (a ~ b) (CQL Reference, Not Equivalent); ELM has no node for it"),
    (r"^operator \| translator Not \| pedqm NotEqual$",
     "same: `a != b` is `not (a = b)` (CQL Reference, Not Equal); the translator writes Not(Equal), pedqm NotEqual"),
    (r"^operator \| translator CalculateAgeAt \| pedqm AgeAt$",
     "same: AgeInYearsAt(x) is CalculateAgeAt(Patient.birthDate, x) (CQL Reference, Clinical Operators, Age); "
     "pedqm reads the birth date from the Patient context inside the operator"),
    (r"^operator \| translator CalculateAge \| pedqm Age$",
     "same: AgeInYears() is CalculateAge(Patient.birthDate) (CQL Reference, Clinical Operators, Age)"),
    (r"translator \[ToSystemValue\] \| pedqm \[ImplicitConvert<",
     "same: a FHIR choice value becomes a System value by its run-time type (FHIRHelpers.ToValue) and then fits the "
     "Choice parameter unchanged; pedqm's run-time check is a no-op for it"),
    (r"translator none \| pedqm \[ImplicitConvert<Choice<",
     "same: pedqm checks at run time that an argument fits a Choice parameter, converting only a value that is not a "
     "component (CQL Developer's Guide, Conversion Precedence); for these statically fitting arguments it is a no-op"),
    (r"translator \[Interval, ToDateTime\] \| pedqm \[ImplicitConvert<Interval<System\.DateTime>>\]$",
     "same: both convert an Interval<Date> to an Interval<DateTime> bound by bound, keeping closedness (the "
     "translator rebuilds the interval with ToDateTime bounds; pedqm's ImplicitConvert does it on the value)"),
    (r"translator \[Interval, As<([^|>]*)>\] \| pedqm \[ImplicitCast<Interval<\1>>\]$",
     "same: both cast an interval of a choice type to an interval of one component point by point, a point of "
     "another component becoming null (the translator rebuilds the interval with `As` bounds; pedqm's "
     "ImplicitConvert with cast does it on the value; CQL Developer's Guide, Choice Types)"),
    (r"translator \[Interval, (To\w+)\] \| pedqm \[\1\]$",
     "same: an interval written in the text converts bound by bound on both sides; the translator builds a new "
     "(unlocated) Interval around the converted bounds, pedqm converts the bounds of the interval it has"),
    (r"^conversion \| QueryLetRef : List<FHIR\.[\w.]+> under Flatten \| translator \[ToSystemValue\] \| pedqm none$",
     "same: a path over a list of FHIR elements (`PD.type` for a list PD) is flattened on both sides; the translator "
     "converts each element's value with a FHIRHelpers query inside the Flatten, pedqm's list property access gives "
     "the System values natively (typed List<System.Concept>)"),
    (r"^conversion \| Null : System\.Any under [A-Za-z]+ \| translator \[As<[^|]*>\] \| pedqm none$",
     "same: the translator types a null literal by its context (null as T); a null is null whatever its type"),
    (r"^conversion \| (CodeRef|OperandRef) : System\.Code under (Equivalent|Query) \| translator \[ToConcept\] \| pedqm none$",
     "same: pedqm's ~ between a Concept and a Code is true when some coding is equivalent to the Code, which is "
     "what the translator's Equivalent(Concept, ToConcept(Code)) gives (CQL Reference, Equivalent)"),
    (r"Choice<FHIR\.(Reference|DoNotPerformReason), System\.Concept> under InValueSet \| translator \[As<System\.Concept>\] "
     r"\| pedqm none$",
     "same: a value that is not a code is in no value set (pedqm answers false), as `(x as Concept) in VS` is "
     "`null in VS`, false (CQL Reference, In (ValueSet))"),
    (r"^pedqm type unknown where translator knows it",
     "same: pedqm leaves this static type unknown; operators dispatch on the run-time values, so results agree "
     "(a typing gap, not a semantic one)"),
]]


def _reason_for(key: str, category: str, known: dict[str, str]) -> str:
    written = known.get(key)
    auto = f"open: {_DESCRIPTIONS[category]}"
    if written and written != auto and not written.startswith("same: "):
        return written
    for pattern, reason in _SAME_RULES:
        if pattern.search(key):
            return reason
    return written if written and not written.startswith("same: ") else auto


def write_known(classes: dict[str, list[Difference]], known: dict[str, str], path: Path = KNOWN_FILE) -> None:
    lines = [
        "# Known resolution differences between pedqm and the reference CQL-to-ELM translator.",
        "# One class per line: `<class key> => <reason>`; reason `spec: <section>` when the",
        "# translator departs from the CQL spec, `same: <why>` when both resolutions give the same value",
        "# for every input (a representation difference), `open: <what is known>` while pedqm is to be fixed.",
        "# Strict: a listed class that no longer occurs fails tools/resolution_diff.py and",
        "# tests/differential/test_resolution_diff.py. Regenerate with --update-known (reasons kept).",
        "",
    ]
    for key in sorted(classes):
        lines.append(f"{key} => {_reason_for(key, classes[key][0].category, known)}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def _md_escape(s: str) -> str:
    return s.replace("|", "\\|").replace("\n", " ")


def write_report(result: Run, known: dict[str, str], path: Path) -> None:
    classes: dict[str, list[Difference]] = defaultdict(list)
    for d in result.diffs:
        classes[d.key].append(d)
    by_cat = Counter(d.category for d in result.diffs)
    total_e = sum(s["elm_nodes"] for s in result.stats.values())
    total_p = sum(s["paired"] for s in result.stats.values())
    out = [
        "# Resolution differences: pedqm resolver vs reference CQL-to-ELM translator",
        "",
        "Generated by `python tools/resolution_diff.py --report tools/resolution_diff_report.md`.",
        f"Translator {_oracle().translator_version()} (result types and locators on; "
        "DisableListDemotion, DisableListPromotion, signature level Overloads).",
        "",
        "## How nodes are aligned",
        "",
        "* Each ELM node with a `locator` and each pedqm model node with a `loc` is keyed by its start "
        "position, after skipping `(` and white space on both sides (the translator counts a "
        "parenthesized expression from its `(`).",
        "* Implicit conversions are peeled off and attached to the node they wrap as its *conversion "
        "chain*: ELM conversions have no locator (To*, `As`, FHIRHelpers calls = `ToSystemValue`, "
        "`ToList`, `SingletonFrom`, `Interval` rebuilt from `low`/`high`); pedqm's are "
        "`ToDateTime`/`ToDecimal`/`ToQuantity`/`ToConcept`/`ToLong`/`ToSystemValue`/`ImplicitConvert` "
        "and `As` nodes with their operand's `loc` (an `As` written in the text is not a conversion).",
        "* At one start position both sides list their nodes outermost first; the lists are matched "
        "monotonically with the best total score: same kind of node 3 (4 with the same type), two calls of different "
        "operators/functions with the same result type (or one unknown) 1 (reported as an operator "
        "difference), otherwise no pair (a Start pedqm writes for `X starts ...` does not pair "
        "with the translator's FunctionRef X). Definitions "
        "pair with definitions at the `define` keyword.",
        "* Unpaired nodes are not differences (timing phrases expand differently); they show as coverage.",
        "* QI-Core and US Core classes are in the FHIR namespace in ELM, so FHIR-based model prefixes are "
        "written `FHIR.` on both sides; model classes that only restrict a System type and add no element "
        "(QI-Core 6 `NotDoneRecorded`, a System.DateTime; `DoNotPerformReason`, a System.Concept) are "
        "written as that System type, as pedqm types them. `System.Any` in pedqm means unknown: such places form their own "
        "classes (*pedqm type unknown where translator knows it*).",
        "",
        "## Summary",
        "",
        f"* libraries: {len(result.sources)}; ELM located nodes: {total_e}; paired with pedqm nodes: "
        f"{total_p} ({100.0 * total_p / max(total_e, 1):.1f} %)",
        f"* differences: {len(result.diffs)} in {len(classes)} classes — "
        + ", ".join(f"{c}: {n}" for c, n in sorted(by_cat.items())),
        f"* timings: total {result.timings['total']:.1f} s (translation {result.timings['translate']:.1f} s, "
        f"pedqm resolution {result.timings['pedqm']:.1f} s; cached parts cost ~0). Cold, with no "
        "caches, the whole run took ~110 s on 2 shared cores (translation ~92 s, pedqm ~17 s); "
        "after an engine change only pedqm's side is redone (~25 s).",
        "",
        "## Classes",
        "",
        "| # | class | places | libraries | status |",
        "|---|---|---|---|---|",
    ]
    ordered = sorted(classes.items(), key=lambda kv: (-len(kv[1]), kv[0]))
    for i, (key, ds) in enumerate(ordered, 1):
        libs = sorted({d.library for d in ds})
        shown = ", ".join(libs[:6]) + (f", … (+{len(libs) - 6})" if len(libs) > 6 else "")
        status = known.get(key, "**unexplained**")
        out.append(f"| {i} | {_md_escape(key)} | {len(ds)} | {len(libs)}: {_md_escape(shown)} | {_md_escape(status)} |")
    out += ["", "## Per library", ""]
    index = {key: i for i, (key, _) in enumerate(ordered, 1)}
    per_lib: dict[str, list[Difference]] = defaultdict(list)
    for d in result.diffs:
        per_lib[d.library].append(d)
    for s in result.sources:
        ds = per_lib.get(s.label, [])
        st = result.stats[s.label]
        where = s.group + (f" (also {len(s.also_in)} more)" if s.also_in else "")
        out += [f"### {s.label}", "",
                f"{where}; ELM nodes {st['elm_nodes']}, paired {st['paired']}; {len(ds)} differences", ""]
        if not ds:
            continue
        out += ["| line:col | CQL | class | translator | pedqm |", "|---|---|---|---|---|"]
        for d in sorted(ds, key=lambda d: tuple(int(x) for x in d.loc.split(":"))):
            out.append(f"| {d.loc} | `{_md_escape(d.snippet)}` | {index[d.key]} | "
                       f"{_md_escape(d.translator)} | {_md_escape(d.pedqm)} |")
        out.append("")
    path.write_text("\n".join(out) + "\n", encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--library", help="only libraries whose label contains this (case-insensitive)")
    ap.add_argument("--report", type=Path, help="write the markdown report here")
    ap.add_argument("--update-known", action="store_true", help="rewrite the known list (reasons kept)")
    ap.add_argument("--quiet", action="store_true")
    args = ap.parse_args(argv)
    oracle = _oracle()
    try:
        oracle.translator_version()
    except oracle.OracleUnavailable as exc:
        print(f"resolution_diff: translator unavailable: {exc}", file=sys.stderr)
        return 2
    progress = None if args.quiet else (lambda m: print(m, file=sys.stderr, flush=True))
    result = run(args.library, progress)
    known = read_known()
    classes: dict[str, list[Difference]] = defaultdict(list)
    for d in result.diffs:
        classes[d.key].append(d)
    if args.update_known:
        if args.library:
            print("resolution_diff: --update-known needs every library (no --library)", file=sys.stderr)
            return 2
        write_known(classes, known)
        known = read_known()
    if args.report:
        write_report(result, known, args.report)
    unexplained = [d for d in result.diffs if d.key not in known]
    listed = len(result.diffs) - len(unexplained)
    stale = [] if args.library else sorted(k for k in known if k not in classes)
    for key in sorted({d.key for d in unexplained}):
        n = len(classes[key])
        print(f"unexplained: {key} ({n} place{'s' if n != 1 else ''}, e.g. "
              f"{classes[key][0].library}:{classes[key][0].loc})")
    for key in stale:
        print(f"listed class no longer occurs (remove it from {KNOWN_FILE.name}): {key}")
    t = result.timings
    sys.stdout.flush()
    print(f"timings: total {t['total']:.1f} s, translation {t['translate']:.1f} s, pedqm {t['pedqm']:.1f} s",
          file=sys.stderr, flush=True)
    print(f"resolution differences: {len(unexplained)} unexplained, {listed} listed, "
          f"over {len(result.sources)} libraries")
    return 1 if unexplained or stale else 0


if __name__ == "__main__":
    raise SystemExit(main())

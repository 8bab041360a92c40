"""The CQL engine knows nothing above it (issue 11): no module under engine/pedqm/cql imports
the FHIR, chronic-condition, measure, vetting or CLI layers. Those layers give the engine what
it needs from outside (data models, external functions: see pedqm/composition.py)."""

from __future__ import annotations

import ast
from pathlib import Path

CQL = Path(__file__).resolve().parents[2] / "engine" / "pedqm" / "cql"
HIGHER = ("fhir", "chronic", "measure", "vet", "cli", "synth", "composition")


def _imports(path: Path, package: list[str] | None = None) -> list[tuple[int, str]]:
    """(line, absolute module name) of every import in a module of package `package`."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    if package is None:
        package = ["pedqm", "cql", *path.relative_to(CQL).parts[:-1]]
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.extend((node.lineno, a.name) for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - (node.level - 1)] if node.level > 1 else list(package)
                name = ".".join([*base, node.module] if node.module else base)
                out.append((node.lineno, name))
                out.extend((node.lineno, f"{name}.{a.name}") for a in node.names)
            elif node.module:
                out.append((node.lineno, node.module))
    return out


def test_cql_imports_no_higher_layer() -> None:
    offending = []
    for path in sorted(CQL.rglob("*.py")):
        for line, name in _imports(path):
            parts = name.split(".")
            if parts[0] == "pedqm" and len(parts) > 1 and parts[1] in HIGHER:
                offending.append(f"{path.relative_to(CQL.parent)}:{line} imports {name}")
    assert not offending, "\n".join(offending)


def test_the_check_sees_relative_imports(tmp_path: Path) -> None:
    """Guard the guard: a relative import of a higher layer is reported."""
    fake = tmp_path / "probe.py"
    fake.write_text("from ..fhir import model\nfrom ...chronic import x\n", encoding="utf-8")
    assert {n for _, n in _imports(fake, ["pedqm", "cql"])} >= {"pedqm.fhir", "pedqm.fhir.model"}
    assert "pedqm.chronic" in {n for _, n in _imports(fake, ["pedqm", "cql", "operators"])}


# --- value semantics live in cql/runtime, without circles (issue 11, step 1) -----------------

ENGINE = CQL.parent
# Files another change set owns; their function-local imports do not dodge a circle.
LOCAL_IMPORTS_ALLOWED = {"resolver.py", "types.py"}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ENGINE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in sorted(CQL.rglob("*.py"))}


def _module_edges(path: Path, known: dict[str, Path]) -> set[str]:
    """The cql modules `path` imports: `from . import x` is module x, `from .x import y` is x."""
    edges = set()
    for _, name in _imports(path):
        while name and name not in known:
            name = name.rpartition(".")[0]
        if name and name != _module_name(path):
            edges.add(name)
    # `from . import x` also names the package itself; only the module x is meant
    tree = ast.parse(path.read_text(encoding="utf-8"))
    if not any(isinstance(n, ast.ImportFrom) and n.module is None and n.level and n.names[0].name == "*" for n in ast.walk(tree)):
        for pkg in [m for m in edges if known[m].name == "__init__.py"]:
            if any(e.startswith(pkg + ".") for e in edges):
                edges.discard(pkg)
    return edges


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state:
                found = visit(nxt)
                if found:
                    return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state:
            found = visit(node)
            if found:
                return found
    return None


def test_no_import_circle_inside_cql() -> None:
    known = _modules()
    graph = {name: _module_edges(path, known) for name, path in known.items()}
    found = _cycle(graph)
    assert found is None, " -> ".join(found or [])


def test_the_cycle_check_finds_a_circle() -> None:
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) is None


def test_no_class_name_checks() -> None:
    """Values are told apart with isinstance, never by comparing class names as strings."""
    offending = []
    for path in sorted(ENGINE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Compare) and isinstance(node.left, ast.Attribute):
                if node.left.attr == "__name__" and not (
                    isinstance(node.left.value, ast.Name) and node.left.value.id == "__name__"
                ) and isinstance(node.left.value, ast.Call):
                    offending.append(f"{path.relative_to(ENGINE)}:{node.lineno}")
    assert not offending, "\n".join(offending)


def test_no_function_local_imports_in_cql() -> None:
    """An import inside a function hides a dependency (and used to dodge import circles)."""
    offending = []
    for path in sorted(CQL.rglob("*.py")):
        if path.name in LOCAL_IMPORTS_ALLOWED:
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for fn in ast.walk(tree):
            if isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)):
                for node in ast.walk(fn):
                    if isinstance(node, (ast.Import, ast.ImportFrom)):
                        offending.append(f"{path.relative_to(ENGINE)}:{node.lineno}")
    assert not offending, "\n".join(offending)


def test_only_the_engine_imports_operator_chapters() -> None:
    """Code above the engine (the FHIR retrieve, measures) compares values through
    cql.runtime.compare, never through an operator chapter."""
    offending = []
    for path in sorted(ENGINE.rglob("*.py")):
        if CQL in path.parents:
            continue
        for line, name in _imports(path, ["pedqm", *path.relative_to(ENGINE.parent).parts[1:-1]]):
            if name.startswith("pedqm.cql.operators"):
                offending.append(f"{path.relative_to(ENGINE)}:{line} imports {name}")
    assert not offending, "\n".join(offending)


# each package imports only packages below it (composition.py wires the engine to them)
RANK = {"cql": 0, "fhir": 1, "chronic": 2, "measure": 3, "synth": 3, "explain": 4, "vet": 5, "cli": 6}


def test_packages_import_only_lower_layers() -> None:
    offending = []
    for path in sorted(ENGINE.rglob("*.py")):
        parts = path.relative_to(ENGINE).parts
        if len(parts) < 2 or parts[0] not in RANK:
            continue
        own = parts[0]
        for line, name in _imports(path, ["pedqm", *parts[:-1]]):
            target = name.split(".")
            if target[0] != "pedqm" or len(target) < 2 or target[1] == own:
                continue
            if target[1] == "composition" or RANK.get(target[1], -1) >= RANK[own]:
                offending.append(f"{path.relative_to(ENGINE)}:{line} ({own}) imports {name}")
    assert not offending, "\n".join(offending)

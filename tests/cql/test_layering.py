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

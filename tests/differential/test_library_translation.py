"""Every measure_library measure and every library pedqm ships translates with the reference
CQL-to-ELM translator (@cqframework/cql 5.3.0) with zero errors.

Why: pedqm's measures are meant to run on other engines (cql-execution / fqm-execution,
HAPI clinical-reasoning), which take ELM from the reference translator. pedqm accepts CQL that the
translator rejects (it maps QI-Core elements natively and needs no FHIRHelpers), so only this test
keeps the library portable. Includes resolve against the measure's folder and
engine/pedqm/cql_libraries (pedqm's FHIRHelpers 4.0.1, ChronicConditions), as pedqm resolves them.
Skipped when node or .oracles/node_modules is missing (npm ci --prefix .oracles).
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tools" / "oracles"))

import translate  # noqa: E402

LIBRARY_ROOT = REPO / "measure_library"
BUILTIN = REPO / "engine" / "pedqm" / "cql_libraries"
_HEADER = re.compile(r"^\s*library\s+(\"[^\"]+\"|[\w.]+)", re.M)


def _available() -> bool:
    try:
        return translate.available() and translate.modelinfo_dir().is_dir()
    except Exception:  # noqa: BLE001 - a broken oracle install is "unavailable", not a failure
        return False


pytestmark = pytest.mark.skipif(not _available(), reason="translator oracle missing (npm ci --prefix .oracles)")


def _texts(*dirs: Path) -> dict[str, str]:
    out: dict[str, str] = {}
    for d in dirs:
        for f in sorted(d.glob("*.cql")):
            text = f.read_text(encoding="utf-8")
            m = _HEADER.search(text)
            assert m, f"{f}: no library header"
            out[m.group(1).strip('"')] = text
    return out


BUILTIN_TEXTS = _texts(BUILTIN)
MEASURES = sorted(p.name for p in LIBRARY_ROOT.iterdir() if (p / "measure.json").is_file())


def _errors(libraries: dict[str, str], names: list[str]) -> list[str]:
    result = translate.translate(libraries, names)
    found: list[str] = []
    for n in names:
        assert result[n].get("elm") is not None, f"{n}: no ELM"
        found += translate.error_messages(result[n])
    return found


@pytest.mark.parametrize("measure", MEASURES)
def test_measure_translates_without_errors(measure: str) -> None:
    own = _texts(LIBRARY_ROOT / measure)
    assert own, f"{measure}: no CQL"
    libraries = {**BUILTIN_TEXTS, **own}
    assert not _errors(libraries, list(own)), f"{measure}: {_errors(libraries, list(own))}"


def test_builtin_libraries_translate_without_errors() -> None:
    assert "FHIRHelpers" in BUILTIN_TEXTS
    assert not _errors(BUILTIN_TEXTS, list(BUILTIN_TEXTS))


def test_measures_include_pedqm_fhirhelpers() -> None:
    """The QI-Core model info maps elements through FHIRHelpers, so every measure includes it."""
    for measure in MEASURES:
        for name, text in _texts(LIBRARY_ROOT / measure).items():
            assert re.search(r"^include FHIRHelpers version '4\.0\.1' called FHIRHelpers$", text, re.M), name


def test_fhirhelpers_generated_part_is_current() -> None:
    """The model-info-driven part of FHIRHelpers-4.0.1.cql matches tools/generate_fhirhelpers.py."""
    if not (REPO.parent / "shared" / "modelinfo" / "fhir-modelinfo-4.0.1.xml").is_file():
        pytest.skip("../shared/modelinfo missing")
    sys.path.insert(0, str(REPO / "tools"))
    import generate_fhirhelpers as gen

    current = gen.TARGET.read_text(encoding="utf-8")
    assert gen.render(current, gen.generate(gen.DEFAULT_SOURCE)) == current

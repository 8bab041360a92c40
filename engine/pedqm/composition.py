"""Where pedqm's layers are put together: the CQL engine (:mod:`pedqm.cql`) knows no data model
and no external functions; this module gives it the FHIR layer's model info (FHIR 4.0.1,
QI-Core, US Core) as its default data models and the chronic-condition layer's
`ChronicConditions` externals. It runs when :mod:`pedqm` is imported, so the engine's public
API (`compile_library`, `evaluate`) works with `using FHIR` / `using QICore` out of the box,
while `pedqm.cql` itself imports nothing above it (tests/cql/test_layering.py)."""

from __future__ import annotations

from typing import Any


def _fhir_models(name: str, version: str | None) -> Any:
    from .fhir.model import load_model

    return load_model(name, version)


def _chronic_externals() -> None:
    import pedqm.chronic.cql_functions  # noqa: F401 - registers the ChronicConditions externals


def install_defaults() -> None:
    from .cql.externals import register_provider
    from .cql.library import set_default_model_loader

    set_default_model_loader(_fhir_models)
    register_provider(_chronic_externals)

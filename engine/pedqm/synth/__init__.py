"""A seeded synthetic pediatric population for developing and vetting measures.

Pipeline position: beside the engine, not in it. ``generate(SynthConfig(...), out)`` writes FHIR R4
NDJSON in the Bulk Data layout (one file per resource type) that :func:`pedqm.fhir.sources.open_source`
reads like any export:

    config (practices, care-gap rates, prevalence) → children (patient.py) → each child's care over
    the data window (history.py, immunizations.py) → NDJSON files and practices.csv (writer.py)

Children belong to practices of different sizes and archetypes (``config.DEFAULT_ROSTER``) whose
care-gap rates differ, so practice-level measure rates differ too; condition prevalence follows
published pediatric figures (see fhir_fixtures/population/README.md). :mod:`.stats` reads a written
population back and measures what it holds.

    from pedqm.synth import SynthConfig, generate
    summary = generate(SynthConfig(patients=3000, seed=2025), Path("out"))
"""

from __future__ import annotations

from .config import (
    DEFAULT_PATIENTS,
    DEFAULT_SEED,
    GENERATOR_VERSION,
    CareRates,
    Practice,
    Prevalence,
    SynthConfig,
    default_practices,
    read_practices_csv,
    write_practices_csv,
)
from .generator import PRACTICES_CSV, GenerationSummary, generate

__all__ = [
    "DEFAULT_PATIENTS", "DEFAULT_SEED", "GENERATOR_VERSION", "PRACTICES_CSV",
    "CareRates", "GenerationSummary", "Practice", "Prevalence", "SynthConfig",
    "default_practices", "generate", "read_practices_csv", "write_practices_csv",
]

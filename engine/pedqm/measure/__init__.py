"""Measure calculation: FHIR Measure packages evaluated over patients into MeasureReports.

Pipeline position: per-patient CQL results (:mod:`.calculator`) -> population rules
(:mod:`.populations`) -> population results (:mod:`.results`) -> MeasureReport (:mod:`.report`)
and DataFrame (:mod:`.frame`).
"""

from __future__ import annotations

from .api import evaluate_measure, load_measure
from .calculator import MeasureCalculator, SubjectResult, measurement_period
from .definition import MeasureDef
from .package import MeasurePackage, MeasurePackageError
from .results import MeasureResult

__all__ = [
    "MeasureCalculator", "MeasureDef", "MeasurePackage", "MeasurePackageError", "MeasureResult",
    "SubjectResult", "evaluate_measure", "load_measure", "measurement_period",
]

"""Explanations for measure authors: why a patient is in or out of each population, and which
clauses test cases or a population exercise. Built on the instrumented compile of
:mod:`pedqm.cql.trace`; nothing here changes how a measure is calculated."""

from .api import Explanation, explain_patient, traced_calculator
from .instrument import TracedCalculator, TracedResult

__all__ = ["Explanation", "TracedCalculator", "TracedResult", "explain_patient", "traced_calculator"]

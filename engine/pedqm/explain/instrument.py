"""A measure compiled in instrumented mode: each patient's result together with its clause trace.

The plain compile of the package is left alone (its closures stay uninstrumented for ordinary
runs); the traced copy is compiled from the same resolved libraries with a
:class:`~pedqm.cql.trace.Tracer`, so both give the same results by construction.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from ..cql.compiler import CompiledLibrary
from ..cql.context import EvaluationContext, RetrieveObserver
from ..cql.library import Library
from ..cql.trace import Clause, Trace, Tracer
from ..fhir.records import PatientRecord
from ..measure.calculator import MeasureCalculator, SubjectResult
from ..measure.package import MeasurePackage


@dataclass
class TracedResult:
    """One patient's measure result, the clause trace, and the definitions' values."""

    result: SubjectResult
    trace: Trace
    values: dict[tuple[str, str], Any]  # (library key, definition) -> value, for those evaluated


def traced_library(library: Library, tracer: Tracer) -> Library:
    """`library` (and what it includes) compiled again with every clause recording into `tracer`."""
    return Library(CompiledLibrary(library.compiled.resolved, {}, tracer))


class TracedCalculator(MeasureCalculator):
    """A :class:`MeasureCalculator` over the instrumented compile of its package."""

    def __init__(self, package: MeasurePackage, *args: Any, **kw: Any):
        super().__init__(package, *args, **kw)
        self.tracer = Tracer()
        self.library = traced_library(self.library, self.tracer)
        self._ctx: EvaluationContext | None = None
        self.listeners: list[Callable[[TracedResult], None]] = []
        self.last_traced: TracedResult | None = None

    def context(self, record: PatientRecord, observers: Iterable[RetrieveObserver] = ()) -> EvaluationContext:
        self._ctx = super().context(record, observers)
        return self._ctx

    def evaluate(self, record: PatientRecord, observers: Iterable[RetrieveObserver] = ()) -> SubjectResult:
        """The patient's result, as :class:`MeasureCalculator` gives it; the trace and values are
        kept in `last_traced` and handed to each listener (coverage counts them)."""
        trace = self.tracer.begin(record.patient_id)
        self._ctx = None
        result = super().evaluate(record, observers)
        cache: dict[Any, Any] = self._ctx.cache if self._ctx is not None else {}
        values = {k: v for k, v in cache.items() if isinstance(k, tuple) and len(k) == 2 and not str(k[1]).startswith("$")}
        self.last_traced = TracedResult(result, trace, values)
        for listener in self.listeners:
            listener(self.last_traced)
        return result

    def evaluate_traced(self, record: PatientRecord) -> TracedResult:
        self.evaluate(record)
        assert self.last_traced is not None
        return self.last_traced

    @property
    def clauses(self) -> list[Clause]:
        return self.tracer.clauses

    def library_key(self, name: str) -> str | None:
        """The registry key of an included (or the main) library, by name."""
        for key, lib in self.library.compiled.registry.items():
            if lib.name == name or key == name:
                return key
        return None

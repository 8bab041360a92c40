"""`explain_patient`: the Python entry point behind `pedqm explain`."""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from ..cql.trace import Span
from ..fhir.records import PatientRecord, Resource
from ..measure.calculator import measurement_period
from ..measure.package import MeasurePackage, MeasurePackageError
from .explanation import Explainer, Sources, package_sources
from .instrument import TracedCalculator, TracedResult
from .render import render_html, render_tree


@dataclass
class Explanation:
    """One patient's explanation, with what the renderers need besides its JSON."""

    data: dict[str, Any]
    traced: TracedResult
    calc: TracedCalculator
    sources: Sources
    texts: dict[str, str]

    def tree(self, max_depth: int | None = None) -> str:
        return render_tree(self.data, max_depth)

    def html(self) -> str:
        return render_html(self.data, self.highlights())

    def highlights(self) -> dict[str, tuple[str, list[tuple[Span, str]]]]:
        """Per library with CQL text and at least one clause evaluated: its text and clause results."""
        out: dict[str, tuple[str, list[tuple[Span, str]]]] = {}
        t = self.traced.trace
        main = self.calc.library.compiled.key
        for key, text in self.texts.items():
            spans = [(c.span, t.result(c.index)) for c in self.calc.clauses if c.library_key == key]
            if key == main or any(r != "UNHIT" for _, r in spans):
                name = self.calc.library.compiled.registry[key].name or key
                out[name] = (text, spans)
        return out


def traced_calculator(package: MeasurePackage, period: tuple[str, str] | None = None, *,
                      timezone_offset: Decimal | int | float = 0, now: _dt.datetime | None = None,
                      shared: list[Resource] | None = None, require_profile_tags: bool = False) -> TracedCalculator:
    start, end = period or package.measure.effective_period
    if not start or not end:
        raise MeasurePackageError(f"{package.source}: no measurement period given and the Measure has no effectivePeriod")
    return TracedCalculator(package, measurement_period(start, end, timezone_offset), timezone_offset=timezone_offset,
                            now=now, shared=shared or [], require_profile_tags=require_profile_tags)


def explain_patient(calc: TracedCalculator, record: PatientRecord) -> Explanation:
    sources = package_sources(calc)
    traced = calc.evaluate_traced(record)
    data = Explainer(calc, sources).explain_traced(traced)
    return Explanation(data, traced, calc, sources, sources.texts)

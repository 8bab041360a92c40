"""A FHIR Measure resource read into what the calculator needs: groups, populations, strata.

Scoring and population basis come from the group's cqfm extensions when present (published
eCQMs put them there), else from the Measure. Population and report codes are the FHIR codes
themselves (measure-population, measure-scoring, measure-report-type).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

POPULATION_SYSTEM = "http://terminology.hl7.org/CodeSystem/measure-population"
IPP, DEN, DENEX, DENEXCEP = "initial-population", "denominator", "denominator-exclusion", "denominator-exception"
NUMER, NUMEX = "numerator", "numerator-exclusion"
MSRPOPL, MSRPOPLEX, MSROBS = "measure-population", "measure-population-exclusion", "measure-observation"
POPULATION_ORDER = [IPP, DEN, DENEX, NUMER, NUMEX, DENEXCEP, MSRPOPL, MSRPOPLEX, MSROBS]

_EXT = {
    "scoring": ("cqfm-scoring", "scoring"),
    "basis": ("cqfm-populationBasis",),
    "improvement": ("cqfm-improvementNotation",),
    "aggregate": ("cqfm-aggregateMethod", "aggregateMethod"),
    "criteria_reference": ("cqfm-criteriaReference", "criteriaReference"),
}


class MeasureDefinitionError(ValueError):
    """A Measure resource that pedqm cannot calculate (said with the measure's URL)."""


def _ext(element: dict[str, Any], key: str) -> str | None:
    for e in element.get("extension") or []:
        name = str(e.get("url", "")).rsplit("/", 1)[-1]
        if name in _EXT[key]:
            for vk in ("valueCode", "valueString"):
                if vk in e:
                    return str(e[vk])
            cc = e.get("valueCodeableConcept")
            if cc:
                return str((cc.get("coding") or [{}])[0].get("code"))
    return None


def _code(cc: dict[str, Any] | None) -> str | None:
    if not cc:
        return None
    coding = cc.get("coding") or []
    return str(coding[0].get("code")) if coding and coding[0].get("code") else cc.get("text")


@dataclass
class PopulationDef:
    code: str
    expression: str | None
    id: str | None = None
    aggregate: str | None = None  # measure-observation: sum | average | median | min | max | count
    criteria_reference: str | None = None


@dataclass
class StratifierDef:
    id: str | None
    label: str
    expression: str | None
    components: list[tuple[str, str]] = field(default_factory=list)  # (label, expression)


@dataclass
class GroupDef:
    index: int
    id: str | None
    scoring: str
    basis: str  # 'boolean' or a resource type such as 'Encounter'
    populations: list[PopulationDef]
    stratifiers: list[StratifierDef]
    improvement: str | None

    @property
    def episode_based(self) -> bool:
        return self.basis != "boolean"

    def keyed_populations(self) -> list[tuple[str, PopulationDef]]:
        """Populations with unique keys: the code, and `code#2` for a second population of the
        same code (a ratio measure's second initial population)."""
        seen: dict[str, int] = {}
        out = []
        for p in self.populations:
            seen[p.code] = seen.get(p.code, 0) + 1
            out.append((p.code if seen[p.code] == 1 else f"{p.code}#{seen[p.code]}", p))
        return out

    def population_by_key(self, key: str) -> PopulationDef | None:
        return next((p for k, p in self.keyed_populations() if k == key), None)

    def ipp_key_for(self, code: str) -> str:
        """The initial population a ratio measure's denominator or numerator draws from: the one
        its cqfm-criteriaReference names, else the first (denominator) or second (numerator)."""
        keyed = self.keyed_populations()
        ipps = [(k, p) for k, p in keyed if p.code == IPP]
        pop = self.population(code)
        if pop is not None and pop.criteria_reference:
            for k, p in ipps:
                if p.id == pop.criteria_reference:
                    return k
        if code == NUMER and len(ipps) > 1:
            return ipps[1][0]
        return IPP

    def population(self, code: str) -> PopulationDef | None:
        return next((p for p in self.populations if p.code == code), None)

    def populations_of(self, code: str) -> list[PopulationDef]:
        return [p for p in self.populations if p.code == code]


@dataclass
class SupplementalDataDef:
    id: str | None
    label: str
    expression: str


@dataclass
class MeasureDef:
    url: str | None
    name: str | None
    title: str | None
    version: str | None
    library: str  # canonical of the main library (possibly with |version)
    groups: list[GroupDef]
    supplemental: list[SupplementalDataDef]
    effective_period: tuple[str | None, str | None]
    resource: dict[str, Any]

    @property
    def label(self) -> str:
        return self.title or self.name or self.url or "measure"

    @classmethod
    def from_resource(cls, m: dict[str, Any]) -> MeasureDef:
        url = m.get("url")
        where = url or m.get("id") or "Measure"
        libraries = m.get("library") or []
        if not libraries:
            raise MeasureDefinitionError(f"{where}: Measure.library is empty; pedqm needs the CQL library it runs")
        default_scoring = _code(m.get("scoring")) or ""
        default_basis = _ext(m, "basis") or "boolean"
        default_improvement = _code(m.get("improvementNotation"))
        groups = []
        for i, g in enumerate(m.get("group") or []):
            scoring = _ext(g, "scoring") or default_scoring
            if scoring not in ("proportion", "ratio", "continuous-variable", "cohort"):
                raise MeasureDefinitionError(f"{where}: group {i + 1} has no supported scoring ({scoring!r})")
            pops = []
            for p in g.get("population") or []:
                code = _code(p.get("code"))
                if code is None:
                    raise MeasureDefinitionError(f"{where}: group {i + 1} has a population without a code")
                crit = p.get("criteria") or {}
                pops.append(PopulationDef(code, crit.get("expression"), p.get("id"), _ext(p, "aggregate"), _ext(p, "criteria_reference")))
            strats = []
            for s in g.get("stratifier") or []:
                comps = [((c.get("code") or {}).get("text") or _code(c.get("code")) or f"component {k + 1}",
                          (c.get("criteria") or {}).get("expression"))
                         for k, c in enumerate(s.get("component") or [])]
                label = (s.get("code") or {}).get("text") or _code(s.get("code")) or (s.get("criteria") or {}).get("expression") or s.get("id") or "stratifier"
                strats.append(StratifierDef(s.get("id"), label, (s.get("criteria") or {}).get("expression"),
                                            [(str(lbl), str(expr)) for lbl, expr in comps if expr]))
            groups.append(GroupDef(i, g.get("id"), scoring, _ext(g, "basis") or default_basis, pops, strats,
                                   _ext(g, "improvement") or default_improvement))
        if not groups:
            raise MeasureDefinitionError(f"{where}: Measure has no group")
        sdes = [SupplementalDataDef(s.get("id"), (s.get("code") or {}).get("text") or str(s["criteria"]["expression"]),
                                    str(s["criteria"]["expression"]))
                for s in m.get("supplementalData") or [] if (s.get("criteria") or {}).get("expression")]
        ep = m.get("effectivePeriod") or {}
        return cls(url, m.get("name"), m.get("title"), m.get("version"), libraries[0], groups, sdes,
                   (ep.get("start"), ep.get("end")), m)

"""Which populations each value set feeds, so a value-set hit rate can be read for what it is.

A value set the measure uses only to exclude children (hospice, contraindications) matches nothing
in most data, and its 0 % hit rate is expected, not an alarm. The roles come from the measure's
compiled CQL: from each population's definition, every definition and function it reaches and
every value set they retrieve.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ..cql.model import ExpressionRef, FunctionRef, TerminologyRef, walk
from ..measure.definition import DENEX, DENEXCEP, MSRPOPLEX, NUMEX, MeasureDef
from ..measure.package import MeasurePackage

EXCLUSION_ROLES = frozenset({DENEX, DENEXCEP, NUMEX, MSRPOPLEX})


def reached_valuesets(libs: dict[str, Any], start: Any) -> dict[str, str]:
    """Value sets (canonical id -> declared name) reachable from one definition's expression through
    the definitions and function bodies it refers to."""

    def follow(node: Any) -> list[Any]:
        if isinstance(node, ExpressionRef):
            owner = libs.get(node.library)
            d = owner.definitions.get(node.name) if owner is not None else None
            return [d.expression] if d is not None else []
        if isinstance(node, FunctionRef):
            return [getattr(c, "body", None) for c in node.candidates]
        return []

    found: dict[str, str] = {}
    for node in walk([start], follow):
        if isinstance(node, TerminologyRef) and node.kind == "valueset":
            owner = libs.get(node.library)
            vs = owner.valuesets.get(node.name) if owner is not None else None
            if vs is not None:
                found[vs.id] = node.name
    return found


def valueset_roles(package: MeasurePackage, groups: Iterable[int] | None = None) -> dict[str, dict[str, Any]]:
    """Canonical id -> {"name", "roles": population codes whose criteria reach it, "exclusion_only"}.
    Value sets reached only by stratifiers or supplemental data have no roles."""
    root = package.library().compiled.resolved
    libs = root.closure()
    mdef: MeasureDef = package.measure
    chosen = set(groups) if groups is not None else set(range(len(mdef.groups)))
    out: dict[str, dict[str, Any]] = {}
    for g in mdef.groups:
        if g.index not in chosen:
            continue
        for pop in g.populations:
            d = root.definitions.get(pop.expression) if pop.expression else None
            if d is None:
                continue
            for vs_id, name in reached_valuesets(libs, d.expression).items():
                row = out.setdefault(vs_id, {"name": name, "roles": set()})
                row["roles"].add(pop.code)
    for row in out.values():
        row["exclusion_only"] = bool(row["roles"]) and row["roles"] <= EXCLUSION_ROLES
        row["roles"] = sorted(row["roles"])
    return out


def explain_type(resource_type: str, valuesets: list[dict[str, Any]], hit_rate: float | None) -> str:
    """What one resource type's hit rate means, given the roles of the value sets that read it."""
    names = ", ".join(f'"{v["name"]}"' for v in valuesets)
    excl = [v for v in valuesets if v["exclusion_only"]]
    if valuesets and len(excl) == len(valuesets):
        return (f"The measure reads {resource_type} only through value sets used for exclusions or exceptions "
                f"({names}): a hit is a child taken out of the denominator, so a low rate, or 0 % when no child in "
                "the data is excluded this way, is expected and not a coding problem.")
    if excl:
        return (f"Value sets used only for exclusions or exceptions ({', '.join(chr(34) + v['name'] + chr(34) for v in excl)}) "
                "are expected to match rarely; a low rate matters only for the others "
                f"({', '.join(chr(34) + v['name'] + chr(34) for v in valuesets if not v['exclusion_only'])}).")
    if hit_rate == 0:
        return (f"No {resource_type} in the data matches the value sets the measure needs ({names or 'its codes'}): "
                "check the most frequent unmatched codes for local codes the value sets miss.")
    return (f"Most {resource_type} resources in a record are unrelated to any one measure, so a low share is "
            "normal; the unmatched codes show whether local coding misses the value sets.")

"""Deterministic linkage: records that share an identifier, or that a ``Patient.link`` joins.

A shared ``Patient.identifier`` (same ``system`` and ``value``, e.g. a Medicaid member id) or an
existing ``Patient.link`` (any type: replaced-by, replaces, refer, seealso all say "the same
person") makes two source records one child. Such links are exact: no threshold is involved,
and the tests hold them to the generator's truth without error.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from ..fhir.records import Resource
from .keys import PatientKey, identifier_keys, link_targets


@dataclass(frozen=True)
class Link:
    """Why two source records were taken to be the same child."""

    a: PatientKey
    b: PatientKey
    method: str  # "identifier", "patient-link" or "probabilistic"
    detail: str  # the shared identifier, the link, or the match probability
    probability: float | None = None


def deterministic_links(patients: Mapping[PatientKey, Resource], bases: Mapping[str, str] | None = None,
                        systems: frozenset[str] | None = None) -> list[Link]:
    """Links between ``patients`` (keyed by (source, id)) from shared identifiers and Patient.link.

    ``bases`` maps a source name to its server's base URL, so an absolute ``Patient.link``
    reference finds the record it names; ``systems`` restricts which identifier systems count.
    """
    links: list[Link] = []
    by_identifier: dict[str, PatientKey] = {}
    for key, patient in patients.items():
        for ident in identifier_keys(patient, systems):
            first = by_identifier.setdefault(ident, key)
            if first != key:
                links.append(Link(first, key, "identifier", ident))
    base_to_source = {b.rstrip("/"): s for s, b in (bases or {}).items()}
    for key, patient in patients.items():
        source = key[0]
        for base, target in link_targets(patient):
            if base == "identifier":
                other = by_identifier.get(target)
            elif base is None:
                other = (source, target) if (source, target) in patients else None
            else:
                named = base_to_source.get(base)
                other = (named, target) if named is not None and (named, target) in patients else None
            if other is not None and other != key:
                links.append(Link(key, other, "patient-link", f"Patient.link to {other[0]}:Patient/{other[1]}"))
    return links

"""One child, many places of care: several FHIR sources read as one population of linked children.

    NamedSource per --data ──► LinkedSource: spool records, link Patients ──► merged PatientRecords
                                 deterministic.py (identifier, Patient.link)
                                 probabilistic.py (splink, optional extra ``linkage``)
                                 merge.py (linked Patient, references, duplicates collapsed)
                                 output.py (linkage as a FHIR Bundle, review CSV)

Every resource carries its source in a ``meta.tag`` (:mod:`pedqm.fhir.sources.provenance`), so
what a measure counts can be traced to the source that recorded it.
"""

from __future__ import annotations

from .deterministic import Link, deterministic_links
from .merge import Duplicate, merge_records
from .output import linkage_bundle, write_review
from .probabilistic import LinkageUnavailable, ProbabilisticOptions, ScoredPair
from .source import Linkage, LinkedSource

__all__ = ["Duplicate", "Link", "Linkage", "LinkageUnavailable", "LinkedSource", "ProbabilisticOptions",
           "ScoredPair", "deterministic_links", "linkage_bundle", "merge_records", "write_review"]

"""The chronic-condition layer: find children with chronic conditions in FHIR data, flag them,
explain every flag, and give measures a stratum to report by.

Pipeline position: a :class:`~pedqm.fhir.records.PatientRecord` → ICD code occurrences
(:mod:`.extract`) → lookback window (:mod:`.window`) → one algorithm (:mod:`.ccc`,
:mod:`.pmca`, :mod:`.ccir`) → a :class:`ChronicResult` (CSV row, explanations, JSON, stratum).

    from pedqm.chronic import classify_record, stratum_value
    result = classify_record(record, "ccc-v3", as_of="2025-12-31")
    result.flags["ccc_flag"], result.explain("gi_tech_only"), result.stratum_label
    stratum_value(record, "pmca", as_of="2025-12-31")   # 'complex_chronic', ..., 'no_icd_data'
    by_ccc = stratifier("ccc-v3", as_of="2025-12-31")    # record -> label, for a measure's strata

Code lists ship in ``data/`` with their sources, versions, licenses and sha256 in ``SOURCES.md``.
"""

from __future__ import annotations

from .classify import (
    ALGORITHMS,
    STRATIFIERS,
    Algorithm,
    algorithm,
    classify_codes,
    classify_occurrences,
    classify_record,
    classify_records,
    columns,
    stratifier,
    stratum_value,
)
from .codelists import CodeListError
from .codes import CodeOccurrence
from .explain import Evidence, Explanation
from .extract import ExtractedCodes, extract_codes
from .result import NO_ICD_DATA, ChronicResult, DataSummary
from .window import DEFAULT_LOOKBACK_YEARS, LookbackWindow, make_window

__all__ = [
    "ALGORITHMS", "STRATIFIERS", "NO_ICD_DATA", "DEFAULT_LOOKBACK_YEARS",
    "Algorithm", "ChronicResult", "CodeListError", "CodeOccurrence", "DataSummary", "Evidence",
    "Explanation", "ExtractedCodes", "LookbackWindow",
    "algorithm", "classify_codes", "classify_occurrences", "classify_record", "classify_records",
    "columns", "extract_codes", "make_window", "stratifier", "stratum_value",
]

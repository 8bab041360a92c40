"""Run a chronic-condition algorithm over a patient: extract codes, apply the window, classify.

Algorithms by name: ``ccc-v2`` (CCC 2.0), ``ccc-v3`` (CCC 3.0), ``ccc-v2.1`` and ``ccc-v3.1``
(later revisions of the same lists), ``pmca`` and ``ccir``. Stratifiers (for MeasureReport
strata) by name: the CCC names, ``pmca`` (= ``pmca-more``), ``pmca-less`` and ``ccir``; every
stratifier has a fixed set of labels (:data:`STRATIFIERS`), ``no_icd_data`` among them.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass

from ..fhir.records import PatientRecord
from . import ccc, ccir, pmca
from .codes import CodeOccurrence, Kind
from .extract import ExtractedCodes, extract_codes, occurrences_from_codes
from .result import NO_ICD_DATA, ChronicResult, Classification, DataSummary, Flag
from .snomed_map import SnomedIcdMap
from .window import LookbackWindow, make_window


@dataclass(frozen=True)
class Algorithm:
    name: str
    title: str
    columns: tuple[str, ...]  # output columns after patient_id
    run: Callable[[Sequence[CodeOccurrence]], Classification]
    stratifiers: tuple[str, ...]


def _ccc(version: str) -> Callable[[Sequence[CodeOccurrence]], Classification]:
    def run(occurrences: Sequence[CodeOccurrence]) -> Classification:
        result = ccc.classify_ccc(occurrences, version)
        result.strata[f"ccc-v{version.removesuffix('.0')}"] = "ccc" if result.flags["ccc_flag"] else "no_ccc"
        return result
    return run


ALGORITHMS: dict[str, Algorithm] = {
    "ccc-v2": Algorithm("ccc-v2", "Complex Chronic Conditions v2.0 (Feudtner 2014)", ccc.V2_COLUMNS, _ccc("2.0"), ("ccc-v2",)),
    "ccc-v3": Algorithm("ccc-v3", "Complex Chronic Conditions v3.0 (Feinstein 2024)", ccc.V3_COLUMNS, _ccc("3.0"), ("ccc-v3",)),
    "ccc-v2.1": Algorithm("ccc-v2.1", "Complex Chronic Conditions v2.1", ccc.V2_COLUMNS, _ccc("2.1"), ("ccc-v2.1",)),
    "ccc-v3.1": Algorithm("ccc-v3.1", "Complex Chronic Conditions v3.1", ccc.V3_COLUMNS, _ccc("3.1"), ("ccc-v3.1",)),
    "pmca": Algorithm("pmca", "Pediatric Medical Complexity Algorithm (PMCA v3.x)", pmca.COLUMNS, pmca.classify_pmca,
                      ("pmca", "pmca-more", "pmca-less")),
    "ccir": Algorithm("ccir", "AHRQ Chronic Condition Indicator Refined v2023.1", ccir.COLUMNS, ccir.classify_ccir, ("ccir",)),
}

_CCC_STRATA = ("ccc", "no_ccc", NO_ICD_DATA)
# stratifier -> (algorithm, every label it can give): strata can be reported even when empty
STRATIFIERS: dict[str, tuple[str, tuple[str, ...]]] = {
    "ccc-v2": ("ccc-v2", _CCC_STRATA),
    "ccc-v3": ("ccc-v3", _CCC_STRATA),
    "ccc-v2.1": ("ccc-v2.1", _CCC_STRATA),
    "ccc-v3.1": ("ccc-v3.1", _CCC_STRATA),
    "pmca": ("pmca", (*pmca.CLASSES, NO_ICD_DATA)),
    "pmca-more": ("pmca", (*pmca.CLASSES, NO_ICD_DATA)),
    "pmca-less": ("pmca", (*pmca.CLASSES, NO_ICD_DATA)),
    "ccir": ("ccir", (*ccir.STRATA, NO_ICD_DATA)),
}


def algorithm(name: str) -> Algorithm:
    try:
        return ALGORITHMS[name]
    except KeyError:
        raise ValueError(f"unknown chronic-condition algorithm {name!r}; known: {', '.join(ALGORITHMS)}") from None


def columns(name: str) -> tuple[str, ...]:
    """The output columns of an algorithm, ``patient_id`` first."""
    return ("patient_id", *algorithm(name).columns)


def classify_occurrences(patient_id: str, occurrences: Sequence[CodeOccurrence], name: str,
                         window: LookbackWindow | None = None, extracted: ExtractedCodes | None = None) -> ChronicResult:
    """Classify already-extracted code occurrences; the window (if any) is applied here."""
    alg = algorithm(name)
    summary = DataSummary()
    if extracted is not None:
        summary.snomed_only_conditions = extracted.snomed_only_conditions
        summary.mapped_conditions = extracted.mapped_conditions
        summary.uncoded_conditions = extracted.uncoded_conditions
        summary.skipped = extracted.skipped
    if window is None:
        used = list(occurrences)
    else:
        used = []
        for occ in occurrences:
            if occ.date is None:
                summary.undated += 1
            elif window.contains(occ.date):
                used.append(occ)
            else:
                summary.outside_window += 1
    summary.icd_codes = len(used)
    if not used:  # nothing to classify: every flag is unknown (None), not 0, and the stratum says why
        flags: dict[str, Flag] = dict.fromkeys(alg.columns)
        return ChronicResult(patient_id, name, flags, [], summary, dict.fromkeys(alg.stratifiers, NO_ICD_DATA), window)
    out = alg.run(used)
    strata = {s: out.strata[s] for s in alg.stratifiers}
    known: dict[str, Flag] = dict(out.flags)
    return ChronicResult(patient_id, name, known, out.explanations, summary, strata, window, out.details)


def classify_record(record: PatientRecord, name: str = "ccc-v3", as_of: _dt.date | _dt.datetime | str | None = None,
                    lookback_years: int | None = None, snomed_map: SnomedIcdMap | None = None) -> ChronicResult:
    """One patient's flags, explanations and stratum for one algorithm.

    ``as_of`` is the end of the measurement period; the window then reaches ``lookback_years``
    (default 3) back. Without ``as_of`` every code counts, dated or not. ``snomed_map`` (the
    user's SNOMED CT -> ICD-10-CM map) classifies SNOMED-only conditions by their mapped codes.
    """
    window = make_window(as_of, lookback_years)
    extracted = extract_codes(record, snomed_map)
    return classify_occurrences(record.patient_id, extracted.occurrences, name, window, extracted)


def classify_records(records: Iterable[PatientRecord], name: str = "ccc-v3",
                     as_of: _dt.date | _dt.datetime | str | None = None,
                     lookback_years: int | None = None, snomed_map: SnomedIcdMap | None = None) -> Iterator[ChronicResult]:
    """:func:`classify_record` over a stream of records (one at a time: memory stays flat)."""
    algorithm(name)
    window = make_window(as_of, lookback_years)
    for record in records:
        extracted = extract_codes(record, snomed_map)
        yield classify_occurrences(record.patient_id, extracted.occurrences, name, window, extracted)


def classify_codes(patient_id: str, codes: Iterable[tuple[int, Kind, str]], name: str = "ccc-v3") -> ChronicResult:
    """Classify bare (ICD version, "dx"/"pr", code) triples, e.g. one row set of a claims extract."""
    return classify_occurrences(patient_id, occurrences_from_codes(codes, patient_id), name)


def stratum_value(record: PatientRecord, stratifier: str = "ccc-v3",
                  as_of: _dt.date | _dt.datetime | str | None = None, lookback_years: int | None = None) -> str:
    """The patient's stratum label under a stratifier (one of ``STRATIFIERS[stratifier][1]``)."""
    if stratifier not in STRATIFIERS:
        raise ValueError(f"unknown chronic-condition stratifier {stratifier!r}; known: {', '.join(STRATIFIERS)}")
    return classify_record(record, STRATIFIERS[stratifier][0], as_of, lookback_years).strata[stratifier]


def stratifier(name: str, as_of: _dt.date | _dt.datetime | str | None = None,
               lookback_years: int | None = None) -> Callable[[PatientRecord], str]:
    """A function from a patient's record to their stratum label, for a measure's extra strata.

    Names and window are checked now, so a bad ``--stratify-by`` fails before any patient is read.
    """
    if name not in STRATIFIERS:
        raise ValueError(f"unknown chronic-condition stratifier {name!r}; known: {', '.join(STRATIFIERS)}")
    make_window(as_of, lookback_years)

    def label(record: PatientRecord) -> str:
        return stratum_value(record, name, as_of, lookback_years)

    return label

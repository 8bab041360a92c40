"""The Python API a measure uses: classify_record, stratum_value, STRATIFIERS, explanations."""

from __future__ import annotations

import datetime as _dt
import json
from pathlib import Path

import pytest

from pedqm.chronic import (
    ALGORITHMS,
    NO_ICD_DATA,
    STRATIFIERS,
    classify_codes,
    classify_record,
    classify_records,
    columns,
    stratifier,
    stratum_value,
)
from pedqm.fhir.records import PatientRecord
from pedqm.fhir.sources import open_source

from .builders import ICD10CM, condition, record

FIXTURES = Path(__file__).resolve().parents[2] / "fhir_fixtures" / "chronic"


@pytest.fixture(scope="module")
def patients() -> dict[str, PatientRecord]:
    return {r.patient_id: r for r in open_source(FIXTURES).patients()}


def test_stratum_value_for_each_stratifier(patients: dict[str, PatientRecord]) -> None:
    as_of = _dt.date(2025, 12, 31)
    cp, none, two = patients["ccc-cp-gtube"], patients["no-icd-snomed-only"], patients["pmca-asthma-two-visits-adhd-once"]
    assert stratum_value(cp, "ccc-v3", as_of) == "ccc"
    assert stratum_value(two, "ccc-v3", as_of) == "no_ccc"
    assert stratum_value(none, "ccc-v3", as_of) == NO_ICD_DATA
    assert (stratum_value(two, "pmca", as_of), stratum_value(two, "pmca-less", as_of)) == ("noncomplex_chronic", "complex_chronic")
    assert stratum_value(two, "ccir", as_of) == "chronic_2_or_more"
    assert stratum_value(none, "pmca", as_of) == NO_ICD_DATA


def test_every_stratum_label_is_declared(patients: dict[str, PatientRecord]) -> None:
    for name, (_algorithm, labels) in STRATIFIERS.items():
        for rec in patients.values():
            for as_of in (None, "2025-12-31"):
                assert stratum_value(rec, name, as_of) in labels


def test_every_nonzero_flag_has_an_explanation(patients: dict[str, PatientRecord]) -> None:
    for name in ALGORITHMS:
        for rec in patients.values():
            result = classify_record(rec, name)
            for column, value in result.flags.items():
                if value not in (0, "non_chronic"):
                    assert result.explain(column), f"{name} {rec.patient_id}: {column}={value} unexplained"


def test_result_renders_to_json_and_rows(patients: dict[str, PatientRecord]) -> None:
    result = classify_record(patients["claims-down-syndrome"], "ccc-v3", as_of="2025-12-31")
    data = json.loads(json.dumps(result.to_dict()))
    assert data["window"] == {"start": "2023-01-01", "end": "2025-12-31"}
    assert data["data"]["outside_window"] == 1 and data["stratum"] == "ccc"
    assert len(result.row()) == len(columns("ccc-v3"))


def test_classify_records_streams(patients: dict[str, PatientRecord]) -> None:
    results = classify_records(iter(patients.values()), "pmca", as_of="2025-12-31")
    assert next(results).algorithm == "pmca"
    assert len(list(results)) == len(patients) - 1


def test_unknown_names_are_clear_errors() -> None:
    rec = record(condition("c", (ICD10CM, "G80.0")))
    with pytest.raises(ValueError, match="unknown chronic-condition algorithm 'ccc'; known: ccc-v2"):
        classify_record(rec, "ccc")
    with pytest.raises(ValueError, match="unknown chronic-condition stratifier"):
        stratum_value(rec, "pmca-most")
    with pytest.raises(ValueError, match="version must be 9 or 10"):
        classify_codes("p", [(11, "dx", "G80.0")])  # type: ignore[list-item]


def test_no_icd_data_is_distinct_from_no_condition() -> None:
    healthy = classify_codes("a", [(10, "dx", "J06.9")], "ccc-v3")
    unknown = classify_codes("b", [], "ccc-v3")
    assert set(healthy.flags.values()) == {0} and set(unknown.flags.values()) == {None}  # unknown, not 0
    assert (healthy.stratum_label, unknown.stratum_label) == ("no_ccc", NO_ICD_DATA)
    assert (healthy.has_icd_data, unknown.has_icd_data) == (True, False)


def test_stratifier_function_for_measures(patients: dict[str, PatientRecord]) -> None:
    by_pmca = stratifier("pmca", as_of="2025-12-31T23:59:59.999Z")
    assert by_pmca(patients["pmca-asthma-two-visits-adhd-once"]) == "noncomplex_chronic"
    assert stratifier("ccc-v3")(patients["old-malignancy-outside-window"]) == "ccc"  # all dates
    with pytest.raises(ValueError, match="unknown chronic-condition stratifier"):
        stratifier("ccc-v4")
    with pytest.raises(ValueError, match="as-of date"):
        stratifier("ccc-v3", as_of="next year")

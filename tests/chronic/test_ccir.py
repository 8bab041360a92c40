"""CCIR counts: distinct codes per class, ICD-10-CM only, unknown codes counted apart."""

from __future__ import annotations

from pedqm.chronic import classify_codes, columns


def test_columns() -> None:
    assert columns("ccir") == ("patient_id", "num_chronic", "num_not_chronic", "num_no_determination", "num_not_in_ccir",
                               "chronic_flag")


def test_counts_distinct_codes_per_class() -> None:
    codes = [(10, "dx", "J45.909"), (10, "dx", "J45.909"), (10, "dx", "E84.0"),  # chronic (asthma twice, CF)
             (10, "dx", "J06.9"),  # not chronic (URI)
             (10, "dx", "Z93.1"),  # no determination
             (10, "dx", "Z99.999"), (9, "dx", "493.90"),  # not in CCIR: unknown code, ICD-9
             (10, "pr", "0DH63UZ")]  # procedures are not diagnoses
    result = classify_codes("a", codes, "ccir")
    assert result.flags == {"num_chronic": 2, "num_not_chronic": 1, "num_no_determination": 1, "num_not_in_ccir": 2,
                            "chronic_flag": 1}
    assert result.stratum_label == "chronic_2_or_more"
    assert "E840, J45909" in result.explain("num_chronic")[0].rule


def test_strata() -> None:
    assert classify_codes("a", [(10, "dx", "J06.9")], "ccir").stratum_label == "chronic_0"
    assert classify_codes("b", [(10, "dx", "J45.909")], "ccir").stratum_label == "chronic_1"
    assert classify_codes("c", [], "ccir").stratum_label == "no_icd_data"

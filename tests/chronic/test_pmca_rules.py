"""PMCA at its edges: the two-encounter rule, once per encounter, progressive, malignancy."""

from __future__ import annotations

from pedqm.chronic import classify_codes, classify_record, columns

from .builders import (
    ICD9CM,
    ICD10CM,
    ICD10PCS,
    claim,
    concept,
    condition,
    encounter,
    procedure,
    record,
)

ASTHMA, ADHD, CP, ALL, DOWN = "J45.40", "F90.0", "G80.0", "C91.00", "Q90.9"


def visits(*per_visit: tuple[str, ...]) -> list[dict[str, object]]:
    """One encounter per argument, each with a Condition for every code given."""
    out: list[dict[str, object]] = []
    for i, codes in enumerate(per_visit):
        out.append(encounter(f"e{i}", f"2025-0{i + 1}-15"))
        out += [condition(f"c{i}-{j}", (ICD10CM, code), encounter=f"Encounter/e{i}") for j, code in enumerate(codes)]
    return out


def pmca(*resources: dict[str, object]) -> dict[str, int | str]:
    return classify_record(record(*resources), "pmca", as_of="2025-12-31").flags  # type: ignore[arg-type]


def test_columns() -> None:
    cols = columns("pmca")
    assert cols[:3] == ("patient_id", "pmca_less", "pmca_more")
    assert len(cols) == 3 + 18 + 2 and cols[-2:] == ("malignancy", "progressive")


def test_one_body_system_on_one_encounter() -> None:
    flags = pmca(*visits((ASTHMA,)))
    assert (flags["pmca_less"], flags["pmca_more"], flags["pulmonary_respiratory"]) == ("noncomplex_chronic", "non_chronic", 1)


def test_more_conservative_needs_two_encounters() -> None:
    flags = pmca(*visits((ASTHMA,), (ASTHMA,)))
    assert (flags["pmca_less"], flags["pmca_more"]) == ("noncomplex_chronic", "noncomplex_chronic")


def test_body_system_counts_once_per_encounter() -> None:
    """Two asthma codes (and the same code twice) on one visit are still one encounter."""
    flags = pmca(*visits((ASTHMA, "J45.909", ASTHMA)))
    assert flags["pmca_more"] == "non_chronic"


def test_claim_and_its_eob_are_one_encounter() -> None:
    dx = [{"diagnosisCodeableConcept": concept((ICD10CM, DOWN))}]
    flags = pmca(encounter("e1", "2025-03-03"),
                 claim("cl1", dx, start="2025-03-03", encounter="Encounter/e1"),
                 claim("eob1", dx, start="2025-03-03", resource_type="ExplanationOfBenefit", claim={"reference": "Claim/cl1"}))
    assert (flags["genetic"], flags["pmca_more"]) == (1, "non_chronic")


def test_two_systems_less_complex_more_needs_each_on_two_encounters() -> None:
    one_repeated = pmca(*visits((ASTHMA,), (ASTHMA, ADHD)))
    assert (one_repeated["pmca_less"], one_repeated["pmca_more"]) == ("complex_chronic", "noncomplex_chronic")
    both_repeated = pmca(*visits((ASTHMA, ADHD), (ASTHMA, ADHD)))
    assert (both_repeated["pmca_less"], both_repeated["pmca_more"]) == ("complex_chronic", "complex_chronic")


def test_progressive_condition_is_complex_in_both_even_once() -> None:
    flags = pmca(*visits((CP,)))
    assert (flags["pmca_less"], flags["pmca_more"], flags["progressive"], flags["neurological"]) == \
        ("complex_chronic", "complex_chronic", 1, 1)


def test_malignancy_is_complex_in_both_and_not_a_body_system() -> None:
    flags = pmca(*visits((ALL,)))
    assert (flags["pmca_less"], flags["pmca_more"], flags["malignancy"]) == ("complex_chronic", "complex_chronic", 1)
    assert sum(int(flags[c]) for c in columns("pmca")[3:-2]) == 0


def test_procedures_do_not_count() -> None:
    flags = pmca(procedure("x", (ICD10PCS, "0DH63UZ"), performed="2025-01-01"))
    assert flags["pmca_less"] == "non_chronic"


def test_problem_list_entries_without_encounter_are_each_their_own_occurrence() -> None:
    flags = pmca(condition("a", (ICD10CM, ASTHMA), category="problem-list-item", recorded="2025-01-01"),
                 condition("b", (ICD10CM, ASTHMA), category="problem-list-item", recorded="2025-06-01"))
    assert flags["pmca_more"] == "noncomplex_chronic"


def test_icd9_codes_with_leading_zeros() -> None:
    """010.0 (primary tuberculous infection) is pulmonary/respiratory; the source's compact column
    had lost its leading zero, which would have made it collide with 100 (leptospirosis)."""
    assert classify_codes("a", [(9, "dx", "010.0")], "pmca").flags["pulmonary_respiratory"] == 1
    icd9 = record(condition("c", (ICD9CM, "010.0"), onset="2025-01-01"))
    assert classify_record(icd9, "pmca").flags["pulmonary_respiratory"] == 1


def test_explanations_give_encounter_counts() -> None:
    result = classify_record(record(*visits((ASTHMA,), (ASTHMA, ADHD))), "pmca", as_of="2025-12-31")
    assert result.explain("pulmonary_respiratory")[0].rule == "coded on 2 encounters"
    assert "on one encounter only: mental_health" in result.explain("pmca_more")[0].rule
    assert result.strata == {"pmca": "noncomplex_chronic", "pmca-more": "noncomplex_chronic", "pmca-less": "complex_chronic"}

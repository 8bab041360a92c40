"""CCC v2/v3 rules at their edges: v3 technology ordering, dx/procedure collisions, columns."""

from __future__ import annotations

from pedqm.chronic import classify_codes, classify_record, columns

from .builders import ICD10CM, ICD10PCS, condition, encounter, procedure, record

CP, GTUBE_STATUS, GTUBE_PROC, INSULIN_PUMP, CF = "G80.0", "Z93.1", "0DH63UZ", "Z46.81", "E84.0"


def test_v2_and_v3_columns_are_exactly_as_specified() -> None:
    ten = ["neuromusc", "cvd", "respiratory", "renal", "gi", "hemato_immu", "metabolic", "congeni_genetic", "malignancy", "neonatal"]
    v2 = ["patient_id", *ten, "tech_dep", "transplant", "num_ccc", "ccc_flag"]
    assert list(columns("ccc-v2")) == v2
    variants = [f"{c}_{v}" for c in ten for v in ("dxpr_only", "tech_only", "dxpr_and_tech", "dxpr_or_tech")]
    assert list(columns("ccc-v3")) == v2 + variants


def test_v3_technology_code_counts_whichever_comes_first() -> None:
    """The order codes arrive in never matters: technology first or last gives the same result."""
    first = classify_codes("a", [(10, "dx", GTUBE_STATUS), (10, "dx", CP)], "ccc-v3").flags
    last = classify_codes("b", [(10, "dx", CP), (10, "dx", GTUBE_STATUS)], "ccc-v3").flags
    assert first == last
    assert (first["gi_tech_only"], first["neuromusc_dxpr_only"], first["tech_dep"], first["num_ccc"]) == (1, 1, 1, 2)


def test_v3_technology_code_dated_before_the_diagnosis_still_counts() -> None:
    """The companion condition may be coded later than the technology, inside the same window."""
    rec = record(procedure("g", (ICD10PCS, GTUBE_PROC), performed="2023-02-01"),
                 condition("c", (ICD10CM, CP), onset="2025-06-01"))
    flags = classify_record(rec, "ccc-v3", as_of="2025-12-31").flags
    assert (flags["gi_tech_only"], flags["tech_dep"], flags["ccc_flag"]) == (1, 1, 1)


def test_v3_companion_outside_the_window_does_not_qualify_the_technology_code() -> None:
    rec = record(procedure("g", (ICD10PCS, GTUBE_PROC), performed="2025-02-01"),
                 condition("c", (ICD10CM, CP), onset="2020-06-01"))
    result = classify_record(rec, "ccc-v3", as_of="2025-12-31")
    assert (result.flags["gi"], result.flags["tech_dep"], result.flags["ccc_flag"]) == (0, 0, 0)
    assert result.explain("tech_dep")[0].value == 0  # why the technology code did not count
    assert classify_record(rec, "ccc-v3").flags["tech_dep"] == 1  # all dates: it does


def test_v3_technology_alone_or_with_only_other_technology_codes_does_not_count() -> None:
    alone = classify_codes("a", [(10, "pr", GTUBE_PROC)], "ccc-v3")
    two_tech = classify_codes("b", [(10, "pr", GTUBE_PROC), (10, "dx", INSULIN_PUMP)], "ccc-v3")
    for result in (alone, two_tech):
        assert result.flags["ccc_flag"] == 0 and result.flags["tech_dep"] == 0
        assert result.stratum_label == "no_ccc"
    assert classify_codes("c", [(10, "pr", GTUBE_PROC)], "ccc-v2").flags["tech_dep"] == 1  # v2: counts alone


def test_v3_technology_and_diagnosis_in_the_same_category_is_dxpr_and_tech() -> None:
    flags = classify_codes("a", [(10, "dx", "K50.90"), (10, "pr", GTUBE_PROC)], "ccc-v3").flags  # Crohn's + G-tube
    assert (flags["gi_dxpr_only"], flags["gi_tech_only"], flags["gi_dxpr_and_tech"], flags["gi_dxpr_or_tech"]) == (0, 0, 1, 1)
    assert flags["num_ccc"] == 1


def test_v3_transplant_code_always_counts_and_qualifies_technology() -> None:
    kidney = classify_codes("a", [(10, "dx", "Z94.0")], "ccc-v3").flags
    assert (kidney["renal_dxpr_only"], kidney["transplant"], kidney["tech_dep"], kidney["ccc_flag"]) == (1, 1, 0, 1)
    with_tube = classify_codes("b", [(10, "dx", "Z94.0"), (10, "pr", GTUBE_PROC)], "ccc-v3").flags
    assert (with_tube["gi_tech_only"], with_tube["tech_dep"]) == (1, 1)


def test_v3_1_technology_transplant_code_counts_on_its_own() -> None:
    """v3.1 lists codes that are both technology and transplant (a heart transplant device):
    transplant codes always count, so these count without a companion."""
    from pedqm.chronic.codelists import ccc_table

    both = sorted(k for k, rows in ccc_table("3.1").items() if any(r.tech_dep and r.transplant for r in rows))
    assert both
    version, kind, code = both[0]
    flags = classify_codes("a", [(version, kind, code)], "ccc-v3.1").flags
    assert (flags["tech_dep"], flags["transplant"], flags["ccc_flag"]) == (1, 1, 1)


def test_compact_codes_collide_across_diagnosis_and_procedure() -> None:
    """ICD-9 diagnosis 564.1 (irritable bowel) and procedure 56.41 (partial ureterectomy) are both 5641."""
    as_dx = classify_codes("dx", [(9, "dx", "564.1")], "ccc-v2").flags
    as_pr = classify_codes("pr", [(9, "pr", "56.41")], "ccc-v2").flags
    assert (as_dx["renal"], as_dx["ccc_flag"]) == (0, 0)
    assert (as_pr["renal"], as_pr["ccc_flag"]) == (1, 1)


def test_fhir_procedure_and_condition_keep_icd9_kinds_apart() -> None:
    """One ICD-9-CM URI covers both volumes: the resource decides diagnosis or procedure."""
    icd9 = "http://hl7.org/fhir/sid/icd-9-cm"
    as_condition = classify_record(record(condition("c", (icd9, "5641"))), "ccc-v2").flags
    as_procedure = classify_record(record(procedure("x", (icd9, "5641"))), "ccc-v2").flags
    assert (as_condition["renal"], as_procedure["renal"]) == (0, 1)


def test_icd9_and_icd10_codes_with_the_same_text_are_different_codes() -> None:
    """E03.0 (congenital hypothyroidism, ICD-10) is CCC v3 metabolic; an ICD-9 "E030" is not."""
    assert classify_codes("a", [(10, "dx", "E03.0")], "ccc-v3").flags["metabolic"] == 1
    assert classify_codes("b", [(9, "dx", "E030")], "ccc-v3").flags["ccc_flag"] == 0


def test_codes_are_normalised_dots_and_case() -> None:
    for written in ("G80.0", "g800", " G80.0 ", "G800"):
        assert classify_codes("a", [(10, "dx", written)], "ccc-v2").flags["neuromusc"] == 1


def test_misc_category_sets_tech_dep_and_transplant_but_is_not_a_column() -> None:
    result = classify_codes("a", [(10, "dx", "Z94.0")], "ccc-v2")
    assert "misc" not in result.flags and result.details["misc"] == 1
    assert (result.flags["renal"], result.flags["tech_dep"], result.flags["transplant"], result.flags["num_ccc"]) == (1, 1, 1, 1)


def test_every_set_flag_is_explained_with_its_codes() -> None:
    codes = [(10, "dx", CP), (10, "dx", GTUBE_STATUS), (10, "dx", "Z94.0"), (10, "dx", CF), (10, "pr", GTUBE_PROC)]
    for algorithm in ("ccc-v2", "ccc-v3"):
        result = classify_codes("a", codes, algorithm)
        for column, value in result.flags.items():
            if value:
                explanations = result.explain(column)
                assert explanations, f"{algorithm}: {column} has no explanation"
                if column not in ("num_ccc", "ccc_flag"):
                    assert explanations[0].evidence, f"{algorithm}: {column} has no evidence"


def test_explanation_names_code_resource_date_and_rule() -> None:
    rec = record(encounter("e1", "2025-03-01T10:00:00Z"), condition("c1", (ICD10CM, CP), encounter="Encounter/e1"),
                 condition("c2", (ICD10CM, GTUBE_STATUS), category="problem-list-item", recorded="2025-04-01"))
    result = classify_record(rec, "ccc-v3", as_of="2025-12-31")
    [why] = result.explain("gi_tech_only")
    assert "non-technology CCC code (neuromusc)" in why.rule
    [ev] = why.evidence
    assert (ev.occurrence.written, ev.occurrence.resource, str(ev.occurrence.date)) == ("Z93.1", "Condition/c2", "2025-04-01")
    [cp] = result.explain("neuromusc")[0].evidence
    assert (cp.occurrence.encounter, str(cp.occurrence.date)) == ("Encounter/e1", "2025-03-01")
    text = result.explain_text()
    assert "Z93.1" in text and "Condition/c2" in text and "2025-04-01" in text

"""Codes from FHIR resources: status filters, systems by canonical URI, SNOMED-only counting,
Encounter.diagnosis links, Claims and ExplanationOfBenefits."""

from __future__ import annotations

import pytest

from pedqm.chronic import classify_record, extract_codes

from .builders import (
    ICD9CM,
    ICD10CM,
    ICD10PCS,
    SNOMED,
    claim,
    concept,
    condition,
    encounter,
    procedure,
    record,
)


def keys(*resources: dict[str, object]) -> list[tuple[int, str, str]]:
    return sorted({o.key for o in extract_codes(record(*resources)).occurrences})  # type: ignore[arg-type]


@pytest.mark.parametrize("verification", ["refuted", "entered-in-error"])
def test_refuted_and_entered_in_error_conditions_are_skipped(verification: str) -> None:
    out = extract_codes(record(condition("c", (ICD10CM, "E84.0"), verification=verification)))
    assert out.occurrences == [] and out.skipped == {f"Condition {verification}": 1}


@pytest.mark.parametrize("verification", ["confirmed", "provisional", "unconfirmed", "differential", None])
def test_other_verification_statuses_count(verification: str | None) -> None:
    assert keys(condition("c", (ICD10CM, "E84.0"), verification=verification)) == [(10, "dx", "E840")]


def test_condition_categories() -> None:
    assert keys(condition("a", (ICD10CM, "E84.0"), category="encounter-diagnosis")) == [(10, "dx", "E840")]
    assert keys(condition("b", (ICD10CM, "E84.0"), category="problem-list-item")) == [(10, "dx", "E840")]
    assert keys(condition("c", (ICD10CM, "E84.0"), category=None)) == [(10, "dx", "E840")]  # no category: counted
    out = extract_codes(record(condition("d", (ICD10CM, "E84.0"), category="health-concern")))
    assert out.occurrences == [] and out.skipped == {"Condition of another category (health-concern)": 1}


@pytest.mark.parametrize("status", ["not-done", "entered-in-error", "preparation"])
def test_procedures_not_performed_are_skipped(status: str) -> None:
    out = extract_codes(record(procedure("x", (ICD10PCS, "0DH63UZ"), status=status)))
    assert out.occurrences == [] and out.skipped == {f"Procedure {status}": 1}


@pytest.mark.parametrize(("system", "expected"), [
    ("http://hl7.org/fhir/sid/icd-10-cm", (10, "dx", "G800")),
    ("urn:oid:2.16.840.1.113883.6.90", (10, "dx", "G800")),
    ("https://hl7.org/fhir/sid/icd-10-cm/", (10, "dx", "G800")),
])
def test_icd10cm_by_canonical_uri(system: str, expected: tuple[int, str, str]) -> None:
    assert keys(condition("c", (system, "G80.0"))) == [expected]


@pytest.mark.parametrize("system", ["http://hl7.org/fhir/sid/icd-10", "http://example.org/icd10cm", "G80.0", ""])
def test_other_systems_are_not_icd10cm(system: str) -> None:
    out = extract_codes(record(condition("c", (system, "G80.0"))))
    assert out.occurrences == [] and out.uncoded_conditions == 1


def test_icd10pcs_and_icd9_procedure_systems() -> None:
    assert keys(procedure("a", (ICD10PCS, "0DH63UZ"))) == [(10, "pr", "0DH63UZ")]
    assert keys(procedure("b", ("urn:oid:2.16.840.1.113883.6.4", "0DH63UZ"))) == [(10, "pr", "0DH63UZ")]
    assert keys(procedure("c", (ICD9CM, "56.41"))) == [(9, "pr", "5641")]
    assert keys(procedure("d", ("urn:oid:2.16.840.1.113883.6.104", "56.41"))) == [(9, "pr", "5641")]
    # the ICD-9-CM diagnosis OID says diagnosis wherever it is found
    assert keys(procedure("e", ("urn:oid:2.16.840.1.113883.6.103", "564.1"))) == [(9, "dx", "5641")]


def test_snomed_only_conditions_are_counted_so_no_data_is_not_healthy() -> None:
    rec = record(condition("a", (SNOMED, "195967001")), condition("b", (SNOMED, "128613002"), (SNOMED, "x")),
                 condition("c", ("urn:oid:2.16.840.1.113883.6.96", "195967001")),
                 condition("d", (SNOMED, "195967001"), (ICD10CM, "J45.909")),  # ICD too: not SNOMED-only
                 condition("e", ("http://loinc.org", "1234-5")))
    out = extract_codes(rec)
    assert (out.snomed_only_conditions, out.uncoded_conditions) == (3, 1)
    result = classify_record(rec, "ccc-v3")
    assert result.data.snomed_only_conditions == 3 and result.stratum_label == "no_ccc"  # it has ICD data (J45.909)
    only_snomed = classify_record(record(condition("a", (SNOMED, "195967001"))), "ccc-v3")
    assert (only_snomed.stratum_label, only_snomed.data.snomed_only_conditions) == ("no_icd_data", 1)
    assert only_snomed.flags["ccc_flag"] is None and "SNOMED CT" in only_snomed.explain_text()


def test_encounter_diagnosis_links_a_condition_to_each_encounter() -> None:
    rec = record(encounter("e1", "2024-01-01", ("Condition/c",)), encounter("e2", "2025-02-02", ("Condition/c",)),
                 condition("c", (ICD10CM, "J45.40"), category="problem-list-item", recorded="2020-01-01"))
    occ = sorted((o.encounter, str(o.date)) for o in extract_codes(rec).occurrences)
    assert occ == [("Encounter/e1", "2024-01-01"), ("Encounter/e2", "2025-02-02")]
    assert classify_record(rec, "pmca", as_of="2025-12-31").flags["pmca_more"] == "noncomplex_chronic"


def test_entered_in_error_encounter_does_not_link() -> None:
    rec = record(encounter("e1", "2024-01-01", ("Condition/c",), status="entered-in-error"),
                 condition("c", (ICD10CM, "J45.40"), recorded="2024-05-05"))
    [occ] = extract_codes(rec).occurrences
    assert (occ.encounter, str(occ.date)) == ("Condition/c", "2024-05-05")


def test_condition_date_prefers_encounter_then_recorded_then_onset() -> None:
    rec = record(encounter("e1", "2025-03-03T08:00:00Z"),
                 condition("a", (ICD10CM, "G80.0"), encounter="Encounter/e1", onset="2016-01-01", recorded="2024-01-01"),
                 condition("b", (ICD10CM, "G80.1"), onset="2016-01-01", recorded="2024-01-01"),
                 condition("c", (ICD10CM, "G80.2"), onset="2016-01-01"))
    dates = {o.code: str(o.date) for o in extract_codes(rec).occurrences}
    assert dates == {"G800": "2025-03-03", "G801": "2024-01-01", "G802": "2016-01-01"}


def test_urn_uuid_and_absolute_references_resolve() -> None:
    enc = encounter("6a1f", "2025-01-01")
    cond = condition("c", (ICD10CM, "G80.0"))
    cond["encounter"] = {"reference": "urn:uuid:6a1f"}
    [occ] = extract_codes(record(enc, cond)).occurrences
    assert (occ.encounter, str(occ.date)) == ("Encounter/6a1f", "2025-01-01")
    cond["encounter"] = {"reference": "https://server/fhir/Encounter/6a1f/_history/2"}
    [occ] = extract_codes(record(enc, cond)).occurrences
    assert occ.encounter == "Encounter/6a1f"


def test_claim_diagnoses_and_procedures() -> None:
    cl = claim("cl1", [{"diagnosisCodeableConcept": concept((ICD10CM, "Q90.9"))},
                       {"diagnosisCodeableConcept": concept((ICD9CM, "758.0"))}],
               [{"procedureCodeableConcept": concept((ICD10PCS, "0DH63UZ")), "date": "2025-02-03"},
                {"procedureCodeableConcept": concept((ICD9CM, "56.41"))}],
               start="2025-02-01", encounter="Encounter/e9")
    occ = {(o.key, o.path, str(o.date), o.encounter) for o in extract_codes(record(cl)).occurrences}
    assert occ == {
        ((10, "dx", "Q909"), "Claim.diagnosis", "2025-02-01", "Encounter/e9"),
        ((9, "dx", "7580"), "Claim.diagnosis", "2025-02-01", "Encounter/e9"),
        ((10, "pr", "0DH63UZ"), "Claim.procedure", "2025-02-03", "Encounter/e9"),
        ((9, "pr", "5641"), "Claim.procedure", "2025-02-01", "Encounter/e9"),
    }


def test_claim_references_to_conditions_and_procedures() -> None:
    cl = claim("cl1", [{"diagnosisReference": {"reference": "Condition/c"}},
                       {"diagnosisReference": {"reference": "Condition/refuted"}}],
               [{"procedureReference": {"reference": "Procedure/x"}}], start="2025-02-01")
    rec = record(cl, condition("c", (ICD10CM, "Q90.9")), condition("refuted", (ICD10CM, "E84.0"), verification="refuted"),
                 procedure("x", (ICD10PCS, "0DH63UZ")))
    claim_keys = {o.key for o in extract_codes(rec).occurrences if o.resource == "Claim/cl1"}
    assert claim_keys == {(10, "dx", "Q909"), (10, "pr", "0DH63UZ")}


def test_explanation_of_benefit_and_its_claim_share_an_encounter() -> None:
    dx = [{"diagnosisCodeableConcept": concept((ICD10CM, "Q90.9"))}]
    cl = claim("cl1", dx, start="2025-02-01")
    eob = claim("eob1", dx, start="2025-02-01", resource_type="ExplanationOfBenefit", claim={"reference": "Claim/cl1"})
    assert {o.encounter for o in extract_codes(record(cl, eob)).occurrences} == {"Claim/cl1"}
    lone = claim("eob2", dx, start="2025-02-01", resource_type="ExplanationOfBenefit")
    assert {o.encounter for o in extract_codes(record(lone)).occurrences} == {"ExplanationOfBenefit/eob2"}


def test_claims_in_error_or_for_preauthorization_are_skipped() -> None:
    dx = [{"diagnosisCodeableConcept": concept((ICD10CM, "Q90.9"))}]
    bad = claim("a", dx)
    bad["status"] = "entered-in-error"
    pre = claim("b", dx, use="preauthorization")
    out = extract_codes(record(bad, pre))
    assert out.occurrences == [] and out.skipped == {"Claim entered-in-error": 1, "Claim preauthorization": 1}


def test_malformed_resources_never_raise() -> None:
    junk: list[dict[str, object]] = [
        {"resourceType": "Condition", "code": "G80.0"},
        {"resourceType": "Condition", "code": {"coding": "nope"}},
        {"resourceType": "Condition", "code": {"coding": [None, 3, {"system": ICD10CM}]}, "category": "x"},
        {"resourceType": "Procedure", "code": {"coding": [{"system": ICD10PCS, "code": 5}]}},
        {"resourceType": "Claim", "diagnosis": ["x", {"diagnosisReference": "y"}], "item": [{"encounter": "z"}]},
        {"resourceType": "ExplanationOfBenefit", "procedure": [{"procedureCodeableConcept": None}], "claim": 4},
        {"resourceType": "Encounter", "id": "e", "diagnosis": [{"condition": {"reference": 7}}], "period": "2025"},
        condition("bad-date", (ICD10CM, "G80.0"), onset="2025-13-45"),
    ]
    out = extract_codes(record(*junk))
    assert [o.code for o in out.occurrences] == ["G800"]  # the last one, undated
    assert out.occurrences[0].date is None


def test_arrays_of_the_wrong_shape_never_raise() -> None:
    junk: list[dict[str, object]] = [
        {"resourceType": "Claim", "id": "a", "item": [{"encounter": 5}], "diagnosis": {"x": 1}, "procedure": 3},
        {"resourceType": "Encounter", "id": "e", "diagnosis": 7},
        {"resourceType": "Condition", "id": "c", "code": {"coding": {"system": ICD10CM, "code": "G80.0"}}, "category": 1},
    ]
    out = extract_codes(record(*junk))
    assert out.occurrences == [] and out.uncoded_conditions == 1

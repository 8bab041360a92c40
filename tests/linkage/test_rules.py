"""Linkage rules on small hand-made records: identifiers, Patient.link, conflicts, --data names."""

from __future__ import annotations

import pytest

from pedqm.cli.data_options import split_data_spec
from pedqm.linkage import deterministic_links
from pedqm.linkage.keys import content_key
from pedqm.linkage.probabilistic import ProbabilisticOptions, _identifier_conflict, demographics


def patient(pid: str, *idents: tuple[str, str], links: list[dict] | None = None) -> dict:
    p: dict = {"resourceType": "Patient", "id": pid, "identifier": [{"system": s, "value": v} for s, v in idents]}
    if links:
        p["link"] = links
    return p


def test_shared_identifier_links_and_other_systems_do_not() -> None:
    patients = {("a", "1"): patient("1", ("urn:member", "M1"), ("urn:mrn-a", "7")),
                ("b", "x"): patient("x", ("urn:member", "M1"), ("urn:mrn-b", "7")),
                ("c", "y"): patient("y", ("urn:member", "M2"), ("urn:mrn-b", "8"))}
    links = deterministic_links(patients)
    assert [(k.a, k.b, k.detail) for k in links] == [(("a", "1"), ("b", "x"), "urn:member|M1")]
    assert deterministic_links(patients, systems=frozenset({"urn:mrn-a"})) == []


def test_patient_link_relative_absolute_and_by_identifier() -> None:
    patients = {
        ("a", "1"): patient("1", links=[{"other": {"reference": "Patient/2"}, "type": "replaced-by"}]),
        ("a", "2"): patient("2"),
        ("b", "9"): patient("9", links=[{"other": {"reference": "https://ehr.example.org/fhir/Patient/2"}, "type": "seealso"}]),
        ("c", "5"): patient("5", links=[{"other": {"identifier": {"system": "urn:m", "value": "Q"}}, "type": "refer"}]),
        ("d", "6"): patient("6", ("urn:m", "Q")),
        ("d", "7"): patient("7", links=[{"other": {"reference": "Patient/404"}, "type": "seealso"}]),
    }
    links = deterministic_links(patients, bases={"a": "https://ehr.example.org/fhir/"})
    joined = {frozenset((k.a, k.b)) for k in links}
    assert joined == {frozenset({("a", "1"), ("a", "2")}), frozenset({("b", "9"), ("a", "2")}),
                      frozenset({("d", "6"), ("c", "5")})}


def test_two_member_ids_never_link_probabilistically() -> None:
    assert _identifier_conflict(patient("1", ("urn:member", "M1")), patient("2", ("urn:member", "M2")))
    assert not _identifier_conflict(patient("1", ("urn:member", "M1")), patient("2", ("urn:mrn", "M2")))
    with pytest.raises(ValueError):
        ProbabilisticOptions(accept=0.5, review=0.9)


def test_demographics_are_normalised() -> None:
    d = demographics({"name": [{"family": "O'Brien-Núñez", "given": ["Zoë"]}], "birthDate": "2015-02-30",
                      "gender": "unknown", "telecom": [{"system": "phone", "value": "+1 (216) 555-0101"}]})
    assert d["family"] == "obriennunez" and d["given"] == "zoe"
    assert d["birth_date"] is None and d["sex"] is None and d["phone"] == "2165550101"


def test_content_key_ignores_ids_references_and_meta() -> None:
    a = {"resourceType": "Immunization", "id": "1", "status": "completed", "patient": {"reference": "Patient/a"},
         "vaccineCode": {"coding": [{"system": "cvx", "code": "141"}]}, "occurrenceDateTime": "2025-10-01",
         "meta": {"source": "x"}}
    b = {**a, "id": "2", "patient": {"reference": "Patient/b"}, "meta": {}, "encounter": {"reference": "Encounter/e"}}
    assert content_key(a) == content_key(b) is not None
    assert content_key({**a, "occurrenceDateTime": "2025-10-02"}) != content_key(a)
    assert content_key({"resourceType": "Observation", "id": "o", "status": "final"}) is None


@pytest.mark.parametrize(("spec", "expected"), [
    ("school=https://x.org/fhir", ("school", "https://x.org/fhir")),
    ("practice=/data/p", ("practice", "/data/p")),
    ("/data/p", (None, "/data/p")),
    ("https://x.org/fhir?a=b", (None, "https://x.org/fhir?a=b")),
    ("9lives=/d", (None, "9lives=/d")),
])
def test_data_spec_names(spec: str, expected: tuple[str | None, str]) -> None:
    assert split_data_spec(spec) == expected

"""Attribution rules, patient features and strata on hand-made records."""

from __future__ import annotations

from pathlib import Path

import pytest
from statsmodels.stats.proportion import confint_proportions_2indep, proportion_confint

from pedqm.fhir.records import PatientRecord
from pedqm.vet.attribution import (
    ENCOUNTERS,
    GP,
    LISTED,
    MANAGING,
    NONE,
    AttributionError,
    Attributor,
    read_attribution_list,
    reference_id,
)
from pedqm.vet.patient_features import age_band, age_in_years, features
from pedqm.vet.strata import stratify

PERIOD = ("2025-01-01", "2025-12-31")


def _enc(eid: str, org: str, day: str, doc: str | None = None) -> dict:
    e = {"resourceType": "Encounter", "id": eid, "period": {"start": day}, "serviceProvider": {"reference": f"Organization/{org}"}}
    if doc:
        e["participant"] = [{"individual": {"reference": f"Practitioner/{doc}"}}]
    return e


def test_reference_forms() -> None:
    assert reference_id("Organization/7") == ("Organization", "7")
    assert reference_id("http://x.org/fhir/Organization/7/_history/2") == ("Organization", "7")
    assert reference_id("urn:uuid:abc") == (None, "abc")
    assert reference_id("Organization?identifier=https://github.com/synthetichealth/synthea|123") == ("Organization", "123")


def test_practice_rules_in_order() -> None:
    shared = [{"resourceType": "Organization", "id": "a", "name": "Alpha Kids"},
              {"resourceType": "PractitionerRole", "id": "r1", "organization": {"reference": "Organization/b"},
               "practitioner": {"reference": "Practitioner/d1"}}]
    att = Attributor("practice", PERIOD, shared)
    gp = PatientRecord("1", [{"resourceType": "Patient", "id": "1", "generalPractitioner": [{"reference": "Organization/a"}],
                              "managingOrganization": {"reference": "Organization/z"}}])
    role = PatientRecord("2", [{"resourceType": "Patient", "id": "2", "generalPractitioner": [{"reference": "PractitionerRole/r1"}]}])
    managing = PatientRecord("3", [{"resourceType": "Patient", "id": "3", "managingOrganization": {"reference": "Organization/z"}}])
    # two encounters at c in the period beat three at d before it; a tie would go to the latest
    visits = PatientRecord("4", [{"resourceType": "Patient", "id": "4"},
                                 _enc("e1", "c", "2025-03-01"), _enc("e2", "c", "2025-04-01"),
                                 _enc("e3", "d", "2025-05-01"),
                                 _enc("e4", "d", "2024-01-01"), _enc("e5", "d", "2024-02-01"), _enc("e6", "d", "2024-03-01")])
    tie = PatientRecord("5", [{"resourceType": "Patient", "id": "5"}, _enc("f1", "c", "2025-03-01"), _enc("f2", "d", "2025-06-01")])
    nobody = PatientRecord("6", [{"resourceType": "Patient", "id": "6"}])
    assert att.attribute(gp) == ("a", GP)
    assert att.attribute(role) == ("b", GP)
    assert att.attribute(managing) == ("z", MANAGING)
    assert att.attribute(visits) == ("c", ENCOUNTERS)
    assert att.attribute(tie) == ("d", ENCOUNTERS)
    assert att.attribute(nobody) == (None, NONE)
    assert att.methods == {GP: 2, MANAGING: 1, ENCOUNTERS: 2, NONE: 1}
    assert att.name("a") == "Alpha Kids"


def test_clinician_rules() -> None:
    att = Attributor("clinician", PERIOD, [{"resourceType": "Practitioner", "id": "d1", "name": [{"given": ["Ann"], "family": "Lee"}]}])
    gp = PatientRecord("1", [{"resourceType": "Patient", "id": "1", "generalPractitioner": [
        {"reference": "Organization/a"}, {"reference": "Practitioner/d1"}]}])
    visits = PatientRecord("2", [{"resourceType": "Patient", "id": "2"}, _enc("e1", "a", "2025-01-02", "d2"),
                                 _enc("e2", "a", "2025-02-02", "d2"), _enc("e3", "a", "2025-03-02", "d1")])
    assert att.attribute(gp) == ("d1", GP)
    assert att.attribute(visits) == ("d2", ENCOUNTERS)
    assert att.name("d1") == "Ann Lee"


def test_attribution_lists(tmp_path: Path) -> None:
    csv_file = tmp_path / "att.csv"
    csv_file.write_text("Patient_ID,Practice,Entity_Name\nPatient/1,p1,Practice One\n2,p2,\n", encoding="utf-8")
    assert read_attribution_list(csv_file) == ({"1": "p1", "2": "p2"}, {"p1": "Practice One"})
    group = {"resourceType": "Group", "id": "g1", "type": "person", "actual": True,
             "managingEntity": {"reference": "Organization/p9", "display": "Ninth Practice"},
             "member": [{"entity": {"reference": "Patient/1"}},
                        {"entity": {"reference": "Patient/2"}, "inactive": True},
                        {"entity": {"reference": "Patient/3"}, "extension": [{
                            "url": "http://hl7.org/fhir/us/davinci-atr/StructureDefinition/ext-attributedProvider",
                            "valueReference": {"reference": "Practitioner/d7"}}]}]}
    gfile = tmp_path / "group.json"
    import json

    gfile.write_text(json.dumps({"resourceType": "Bundle", "entry": [{"resource": group}]}), encoding="utf-8")
    listed, names = read_attribution_list(gfile)
    assert listed == {"1": "p9", "3": "d7"} and names == {"p9": "Ninth Practice"}
    att = Attributor("list", PERIOD, listed=listed, source=str(gfile))
    assert att.attribute(PatientRecord("3", [])) == ("d7", LISTED)
    assert att.attribute(PatientRecord("2", [])) == (None, NONE)
    bad = tmp_path / "bad.csv"
    bad.write_text("a,b\n1,2\n", encoding="utf-8")
    with pytest.raises(AttributionError, match="patient column"):
        read_attribution_list(bad)


def test_patient_features() -> None:
    import datetime as dt

    assert age_in_years("2015-12-31", dt.date(2025, 12, 31)) == 10
    assert age_in_years("2016-01-01", dt.date(2025, 12, 31)) == 9
    assert [age_band(a) for a in (0, 1, 2, 5, 6, 12, 17, 18, None)] == \
        ["0-1", "0-1", "2-5", "2-5", "6-11", "12-17", "12-17", "18+", "Unknown"]
    race = {"url": "http://hl7.org/fhir/us/core/StructureDefinition/us-core-race", "extension": [
        {"url": "ombCategory", "valueCoding": {"code": "2054-5"}}, {"url": "ombCategory", "valueCoding": {"code": "2106-3"}}]}
    record = PatientRecord("1", [
        {"resourceType": "Patient", "id": "1", "birthDate": "2014-06-01", "gender": "female", "extension": [race]},
        {"resourceType": "Coverage", "id": "c1", "status": "active", "order": 1, "period": {"start": "2020-01-01"},
         "type": {"coding": [{"system": "urn:oid:2.16.840.1.113883.3.221.5", "code": "5"}]}},
        {"resourceType": "Coverage", "id": "c2", "status": "active", "order": 2, "period": {"start": "2025-03-01"},
         "type": {"text": "CHIP"}},
        {"resourceType": "Coverage", "id": "c3", "status": "cancelled", "type": {"text": "self pay"}},
    ])
    f = features(record, *PERIOD, chronic=False)
    assert (f.age, f.age_band, f.sex, f.race, f.ethnicity, f.payer) == \
        (11, "6-11", "Female", "Multiple races", "Unknown", "Medicaid/CHIP")


def test_strata_counts_intervals_differences_and_suppression() -> None:
    units = [({"sex": "Female"}, i < 30) for i in range(50)] + [({"sex": "Male"}, i < 18) for i in range(40)] \
        + [({"sex": "Other"}, True) for _ in range(3)]
    rows = {r.level: r for r in stratify(units, ["sex"], min_n=10)}
    f, m, o = rows["Female"], rows["Male"], rows["Other"]
    assert f.reference and (f.n, f.x) == (50, 30)
    assert (f.lower, f.upper) == pytest.approx(proportion_confint(30, 50, method="wilson"))
    assert m.difference == pytest.approx(18 / 40 - 30 / 50)
    assert (m.diff_lower, m.diff_upper) == pytest.approx(
        confint_proportions_2indep(18, 40, 30, 50, method="newcomb", compare="diff"))
    assert o.suppressed and o.rate is None and o.x is None and o.n == 3

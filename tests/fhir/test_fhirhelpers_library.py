"""pedqm's own FHIRHelpers 4.0.1 (engine/pedqm/cql_libraries), run by pedqm on FHIR values.

Why: other engines run pedqm's measures through this CQL, while pedqm converts QI-Core elements
natively (pedqm.fhir.convert). The two must give the same System values, so a measure means the
same on every engine; where the CQL follows the FHIR spec and the native code does not
(ToInterval(Range) with a missing boundary), the test says so.
"""

from __future__ import annotations

import shutil
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from pedqm.cql.errors import CqlRuntimeError
from pedqm.cql.library import LibraryManager, builtin_library
from pedqm.cql.runtime.quantity import Quantity
from pedqm.cql.runtime.values import Interval, ValueSetRef
from pedqm.fhir import convert as C
from pedqm.fhir.model import load_model
from pedqm.fhir.navigation import FhirNode
from pedqm.measure.package import MeasurePackage

UCUM = "http://unitsofmeasure.org"


@pytest.fixture(scope="module")
def helpers() -> Any:
    found = builtin_library("FHIRHelpers", "4.0.1")
    assert found is not None
    lib = LibraryManager().compile(found[0], found[1])
    assert (lib.name, lib.version) == ("FHIRHelpers", "4.0.1")
    model = load_model("FHIR", "4.0.1")
    ctx = lib.context()

    def call(function: str, fhir_type: str, data: Any) -> Any:
        return lib.call(function, [FhirNode(model, fhir_type, data)], ctx)

    return call


QUANTITIES = [
    {"value": 5, "unit": "mg", "system": UCUM, "code": "mg"},
    {"value": 2.50, "system": UCUM, "code": "a"},
    {"value": 3, "system": "http://hl7.org/fhirpath/CodeSystem/calendar-units", "code": "month"},
    {"value": 7, "unit": "kg"},
    {"value": 1},
    {"unit": "mg", "system": UCUM, "code": "mg"},
]


@pytest.mark.parametrize("q", QUANTITIES)
def test_to_quantity_agrees_with_native(helpers: Any, q: dict[str, Any]) -> None:
    assert helpers("ToQuantity", "FHIR.Quantity", q) == C.to_quantity(q)


def test_to_quantity_reads_ucum_time_units_as_calendar_units(helpers: Any) -> None:
    assert helpers("ToQuantity", "FHIR.Quantity", {"value": 2, "system": UCUM, "code": "a"}) == Quantity(Decimal(2), "year")


@pytest.mark.parametrize("q", [
    {"value": 5, "comparator": "<", "system": UCUM, "code": "mg"},  # no System Quantity means "< 5"
    {"value": 5, "system": "http://snomed.info/sct", "code": "258684004"},  # not a UCUM unit
])
def test_to_quantity_refuses_what_has_no_system_counterpart(helpers: Any, q: dict[str, Any]) -> None:
    with pytest.raises(CqlRuntimeError, match="FHIRHelpers.ToQuantity"):
        helpers("ToQuantity", "FHIR.Quantity", q)
    with pytest.raises(CqlRuntimeError):
        C.to_quantity(q)


@pytest.mark.parametrize("period", [
    {"start": "2025-01-01", "end": "2025-03-01T10:00:00Z"},
    {"start": "2025-01-01T08:00:00+01:00"},  # ongoing: closed, unbounded end
    {"end": "2025-03-01"},  # unknown start: open null low boundary
])
def test_to_interval_period_agrees_with_native(helpers: Any, period: dict[str, Any]) -> None:
    got = helpers("ToInterval", "FHIR.Period", period)
    want = C.to_interval_period(period)
    assert (got.low, got.high, got.low_closed, got.high_closed) == (want.low, want.high, want.low_closed, want.high_closed)


def test_to_interval_range_missing_boundary_is_unknown(helpers: Any) -> None:
    """FHIR R4 Range: a missing low or high means that boundary is not known -> open null bound."""
    low = {"value": 1, "system": UCUM, "code": "mg"}
    got = helpers("ToInterval", "FHIR.Range", {"low": low})
    assert isinstance(got, Interval)
    assert (got.low, got.high, got.low_closed, got.high_closed) == (Quantity(Decimal(1), "mg"), None, True, False)
    both = helpers("ToInterval", "FHIR.Range", {"low": low, "high": {"value": 3, "system": UCUM, "code": "mg"}})
    assert (both.low_closed, both.high_closed, both.high) == (True, True, Quantity(Decimal(3), "mg"))
    assert helpers("ToInterval", "FHIR.Range", {}) is None


def test_terminology_agrees_with_native(helpers: Any) -> None:
    coding = {"system": "http://loinc.org", "version": "2.77", "code": "8302-2", "display": "Body height"}
    cc = {"coding": [coding, {"system": "http://snomed.info/sct", "code": "50373000"}], "text": "Height"}
    assert helpers("ToCode", "FHIR.Coding", coding) == C.to_code(coding)
    got = helpers("ToConcept", "FHIR.CodeableConcept", cc)
    assert got == C.to_concept(cc)
    assert got.display == "Height" and got.codes[0].version == "2.77" and got.codes[0].display == "Body height"


def test_to_ratio(helpers: Any) -> None:
    r = {"numerator": {"value": 1, "system": UCUM, "code": "mg"}, "denominator": {"value": 2, "system": UCUM, "code": "mL"}}
    assert helpers("ToRatio", "FHIR.Ratio", r) == C.to_ratio(r)
    assert helpers("ToRatio", "FHIR.Ratio", {"numerator": r["numerator"]}) is None


@pytest.mark.parametrize(("fhir_type", "suffix", "data"), [
    ("FHIR.dateTime", "DateTime", "2025-03-04T10:11:12Z"),
    ("FHIR.date", "Date", "2025-03-04"),
    ("FHIR.boolean", "Boolean", True),
    ("FHIR.integer", "Integer", 3),
    ("FHIR.decimal", "Decimal", 1.5),
    ("FHIR.string", "String", "positive"),
    ("FHIR.code", "Code", "final"),
    ("FHIR.Quantity", "Quantity", {"value": 1, "system": UCUM, "code": "mg"}),
    ("FHIR.CodeableConcept", "CodeableConcept", {"coding": [{"system": "s", "code": "c"}]}),
    ("FHIR.Period", "Period", {"start": "2025-01-01"}),
])
def test_to_value_agrees_with_native(helpers: Any, fhir_type: str, suffix: str, data: Any) -> None:
    got = helpers("ToValue", fhir_type, data)
    want = C.to_value(data, suffix)
    if isinstance(want, Interval):
        assert (got.low, got.high, got.low_closed, got.high_closed) == (want.low, want.high, want.low_closed, want.high_closed)
    else:
        assert got == want


def test_to_value_keeps_types_without_system_counterpart(helpers: Any) -> None:
    got = helpers("ToValue", "FHIR.Address", {"city": "Denver"})
    assert isinstance(got, FhirNode) and got.data == {"city": "Denver"}


def test_to_string_of_a_code_enumeration_and_to_valueset(helpers: Any) -> None:
    assert helpers("ToString", "FHIR.EncounterStatus", "finished") == "finished"
    found = builtin_library("FHIRHelpers", "4.0.1")
    assert found is not None
    lib = LibraryManager().compile(found[0], found[1])
    vs = lib.call("ToValueSet", ["http://pedqm.org/fhir/ValueSet/x"], lib.context())
    assert isinstance(vs, ValueSetRef) and vs.id == "http://pedqm.org/fhir/ValueSet/x"


REPO = Path(__file__).resolve().parents[2]
ECQM = REPO.parent / "shared" / "ecqm"


def _fhirhelpers_source(pkg: MeasurePackage) -> tuple[str | None, str]:
    for lib in pkg.library().compiled.registry.values():
        if lib.name == "FHIRHelpers":
            return lib.version, lib.resolved.source_name
    raise AssertionError("no FHIRHelpers compiled")


def test_measure_library_measure_uses_the_builtin_fhirhelpers() -> None:
    assert _fhirhelpers_source(MeasurePackage.load(REPO / "measure_library" / "lead-screening")) == (
        "4.0.1", "pedqm:FHIRHelpers-4.0.1.cql")


@pytest.mark.skipif(not ECQM.is_dir(), reason="../shared/ecqm missing")
def test_published_deck_keeps_its_own_fhirhelpers() -> None:
    deck = sorted(ECQM.glob("CMS2-*/measure-bundle.json"))[0]
    version, source = _fhirhelpers_source(MeasurePackage.load(deck))
    assert version == "4.4.000" and not source.startswith("pedqm:")


def test_a_package_fhirhelpers_of_the_same_version_wins(tmp_path: Path) -> None:
    """A package that ships FHIRHelpers 4.0.1 itself is calculated with that text, not pedqm's."""
    measure = tmp_path / "lead-screening"
    shutil.copytree(REPO / "measure_library" / "lead-screening", measure)
    found = builtin_library("FHIRHelpers", "4.0.1")
    assert found is not None
    own = found[0].replace("define function ToCalendarUnit", "define \"Shipped With The Package\": true\n\n"
                           "define function ToCalendarUnit", 1)
    (measure / "FHIRHelpers.cql").write_text(own, encoding="utf-8")
    pkg = MeasurePackage.load(measure)
    assert _fhirhelpers_source(pkg) == ("4.0.1", "FHIRHelpers")
    helpers = next(lib for lib in pkg.library().compiled.registry.values() if lib.name == "FHIRHelpers")
    assert "Shipped With The Package" in helpers.definition_names


def test_builtin_fhirhelpers_is_resolved_once_per_process() -> None:
    """Every measure_library measure includes it; parsing ~280 functions per package load cost most
    of a second, so LibraryManagers share the resolved built-in library (not a package's own)."""
    def resolved(path: Path) -> Any:
        lib = MeasurePackage.load(path).library()
        return next(x.resolved for x in lib.compiled.registry.values() if x.name == "FHIRHelpers")

    a = resolved(REPO / "measure_library" / "lead-screening")
    b = resolved(REPO / "measure_library" / "pharyngitis-testing")
    assert a is b

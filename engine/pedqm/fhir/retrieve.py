"""CQL retrieve (`[Encounter: "Office Visit"]`) over one patient's FHIR resources.

Implements the engine's `DataProvider` protocol for a :class:`~pedqm.fhir.records.PatientRecord`:
the retrieve's model type names a FHIR resource type (QI-Core profiles name their base resource);
negation profiles (ProcedureNotDone, ObservationNotDone, MedicationNotRequested, ...) select the
resources that say the act did not happen; vital-sign profiles select by their fixed LOINC code;
the code filter reads the type's primary code path (or the path written) through the model and
tests it against a value set, a code, a concept or a list of codes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from ..cql.context import TerminologyProvider
from ..cql.errors import CqlRuntimeError
from ..cql.runtime.compare import equal, equivalent
from ..cql.runtime.values import Code, Concept, ValueSetRef
from .convert import to_concept
from .model import ModelInfo, load_model
from .navigation import FhirNode, read_property
from .records import PatientRecord, Resource


def _status(*values: str) -> Callable[[Resource], bool]:
    return lambda r: r.get("status") in values


def _do_not_perform(r: Resource) -> bool:
    if r.get("doNotPerform") is True:
        return True
    return any(
        ext.get("url", "").endswith("request-doNotPerform") and ext.get("valueBoolean") is True
        for ext in r.get("modifierExtension") or []
    )


# QI-Core negation profiles: what makes a resource of the base type one of them
_NEGATION: dict[str, Callable[[Resource], bool]] = {
    "ProcedureNotDone": _status("not-done"),
    "ImmunizationNotDone": _status("not-done"),
    "MedicationAdministrationNotDone": _status("not-done"),
    "CommunicationNotDone": _status("not-done"),
    "MedicationDispenseNotDone": _status("declined", "stopped"),
    "MedicationDispenseDeclined": _status("declined"),
    "ObservationNotDone": _status("cancelled"),
    "ObservationCancelled": _status("cancelled"),
    "TaskRejected": _status("rejected"),
    "MedicationNotRequested": _do_not_perform,
    "ServiceNotRequested": _do_not_perform,
    "DeviceNotRequested": _do_not_perform,
    "NutritionOrderNotRequested": _do_not_perform,
}

def _category(*codes: str) -> Callable[[Resource], bool]:
    def has(r: Resource) -> bool:
        return any(c.get("code") in codes for cat in r.get("category") or [] for c in cat.get("coding") or [])
    return has


# QI-Core 6 profiles distinguished by category (their fixed category slice)
_CATEGORY_PROFILES: dict[str, Callable[[Resource], bool]] = {
    "ConditionProblemsHealthConcerns": _category("problem-list-item", "health-concern"),
    "ConditionEncounterDiagnosis": _category("encounter-diagnosis"),
}

# FHIR R4 vital-signs profiles and their fixed LOINC codes (hl7.org/fhir/R4/observation-vitalsigns.html)
_VITAL_SIGN_CODES = {
    "http://hl7.org/fhir/StructureDefinition/bmi": {"39156-5"},
    "http://hl7.org/fhir/StructureDefinition/bodyheight": {"8302-2"},
    "http://hl7.org/fhir/StructureDefinition/bodyweight": {"29463-7"},
    "http://hl7.org/fhir/StructureDefinition/bodytemp": {"8310-5"},
    "http://hl7.org/fhir/StructureDefinition/bp": {"85354-9"},
    "http://hl7.org/fhir/StructureDefinition/headcircum": {"9843-4"},
    "http://hl7.org/fhir/StructureDefinition/heartrate": {"8867-4"},
    "http://hl7.org/fhir/StructureDefinition/oxygensat": {"2708-6", "59408-5"},
    "http://hl7.org/fhir/StructureDefinition/resprate": {"9279-1"},
    "http://hl7.org/fhir/StructureDefinition/vitalspanel": {"85353-1"},
}

_REFERENCE_CONTEXT = {"Patient": ("subject", "patient", "beneficiary")}


def _negations_of(model: ModelInfo, resource_type: str) -> list[Callable[[Resource], bool]]:
    """The negation profiles' predicates for one base resource type in a model (e.g. for
    MedicationRequest in QI-Core: MedicationNotRequested's `doNotPerform = true`)."""
    key = (model.name, model.version, resource_type)
    found = _NEGATIONS_BY_TYPE.get(key)
    if found is None:
        found = [pred for name, pred in _NEGATION.items()
                 if pred is _do_not_perform and model.find_class(name) is not None
                 and model.resource_type(name) == resource_type]
        _NEGATIONS_BY_TYPE[key] = found
    return found


_NEGATIONS_BY_TYPE: dict[tuple[str, str, str], list[Callable[[Resource], bool]]] = {}


def _positive_intent(model: ModelInfo, resource_type: str, resources: list[Resource]) -> list[Resource]:
    """A positive request profile's retrieve leaves out the requests that say the act must not
    be done: QI-Core pairs MedicationRequest / MedicationNotRequested (and ServiceRequest,
    DeviceRequest, NutritionOrder likewise) and says that to meet positive intent
    `doNotPerform` is checked (QI-Core 4.1.1 and 6.0.0, the pairs' profile pages). Events
    (a Procedure or Observation not done) stay in the positive retrieve: their status is the
    measure's to test, as published measures do. This holds without meta.profile claims; with
    --require-profile-tags the claims decide instead."""
    negations = _negations_of(model, resource_type)
    if not negations:
        return resources
    return [r for r in resources if not any(neg(r) for neg in negations)]


def _has_profile(resource: Resource, url: str | None) -> bool:
    return bool(url) and url in ((resource.get("meta") or {}).get("profile") or [])


def _loinc_codes(resource: Resource) -> set[str]:
    return {c.get("code") for c in (resource.get("code") or {}).get("coding") or [] if c.get("system") == "http://loinc.org"}


class RecordDataProvider:
    """The `DataProvider` for one patient's record (plus resources shared by all patients)."""

    def __init__(
        self,
        record: PatientRecord,
        terminology: TerminologyProvider | None = None,
        shared: Iterable[Resource] = (),
        require_profile_tags: bool = False,
    ):
        self.record = record
        # fqm-execution's default ("trustMetaProfile"): a profile's retrieve returns only resources
        # whose meta.profile claims it. FHIR does not require the claim, so pedqm's default is off.
        self.require_profile_tags = require_profile_tags
        self.terminology = terminology
        # retrieves are deterministic within one patient's evaluation: answer repeats from memory,
        # and wrap each resource once so the properties it has converted are reused
        self._results: dict[tuple[Any, ...], list[FhirNode]] = {}
        self._nodes: dict[tuple[str, int], FhirNode] = {}
        self._shared: dict[str, list[Resource]] = {}
        for r in shared:
            self._shared.setdefault(r.get("resourceType", ""), []).append(r)

    def patient_node(self, model_name: str = "QICore", version: str | None = None) -> FhirNode | None:
        patient = self.record.patient
        if patient is None:
            return None
        model = load_model(model_name, version)
        return FhirNode(model, f"{model.name}.{model.resource_type('Patient')}", patient)

    def retrieve(
        self,
        data_type: str,
        *,
        context: str | None,
        context_value: Any,
        code_path: str | None,
        codes: Any,
        comparator: str | None,
        follow_references: bool = False,
    ) -> list[FhirNode]:
        key = (data_type, context, id(context_value), code_path, comparator, _codes_key(codes), follow_references)
        cached = self._results.get(key)
        if cached is not None:
            return list(cached)
        nodes = self._retrieve(data_type, context, context_value, code_path, codes, comparator, follow_references)
        self._results[key] = nodes
        return list(nodes)

    def _retrieve(self, data_type: str, context: str | None, context_value: Any, code_path: str | None,
                  codes: Any, comparator: str | None, follow_references: bool = False) -> list[FhirNode]:
        model = _model_for(data_type, context_value)
        class_name = data_type.split(".", 1)[1] if "." in data_type else data_type
        ci = model.find_class(class_name)
        resource_type = model.resource_type(class_name)
        if context == "Patient" or context is None:
            candidates = self.record.of_type(resource_type)
            if not candidates:
                candidates = self._shared.get(resource_type, [])
        else:
            candidates = self._shared.get(resource_type, []) + self.record.of_type(resource_type)
        selected = self._profile_filter(class_name, ci.identifier if ci else None, candidates)
        if model.name != "FHIR" and class_name not in _NEGATION and not self.require_profile_tags:
            selected = _positive_intent(model, resource_type, selected)
        if self.require_profile_tags and ci is not None and ci.identifier and model.name != "FHIR":
            selected = [r for r in selected if _has_profile(r, ci.identifier)]
        type_name = f"{model.name}.{class_name}"
        nodes = []
        for r in selected:
            node = self._nodes.get((type_name, id(r)))
            if node is None:
                node = self._nodes[(type_name, id(r))] = FhirNode(model, type_name, r)
            nodes.append(node)
        if codes is not None and code_path is not None:
            nodes = [n for n in nodes if self._code_matches(n, code_path, codes, comparator or "in", follow_references)]
        return nodes

    @staticmethod
    def _profile_filter(class_name: str, profile_url: str | None, resources: list[Resource]) -> list[Resource]:
        negation = _NEGATION.get(class_name) or _CATEGORY_PROFILES.get(class_name)
        if negation is not None:
            return [r for r in resources if negation(r) or _has_profile(r, profile_url)]
        vital = _VITAL_SIGN_CODES.get(profile_url or "")
        if vital is not None:
            return [r for r in resources if _has_profile(r, profile_url) or (_loinc_codes(r) & vital)]
        return resources

    def _code_matches(self, node: FhirNode, code_path: str, codes: Any, comparator: str,
                      follow_references: bool = False) -> bool:
        value: Any = node
        for step in code_path.split("."):
            if isinstance(value, list):
                value = [read_property(v, step) if isinstance(v, FhirNode) else None for v in value]
            elif isinstance(value, FhirNode):
                value = read_property(value, step)
            else:
                return False
        items = value if isinstance(value, list) else [value]
        items = [v.to_system() if isinstance(v, FhirNode) else v for v in items if v is not None]
        if follow_references and "." not in code_path:
            items += self._referenced_codes(node.data, code_path)
        return any(self._item_matches(item, codes, comparator) for item in items)

    def _referenced_codes(self, resource: Resource, code_path: str) -> list[Concept]:
        """The code of a resource that the code element references instead of coding it in
        place (`MedicationRequest.medicationReference` -> `Medication.code`): a retrieve's code
        filter on such a choice element matches through the reference, as the reference
        translator's retrieve does for QI-Core (it joins the referenced Medication)."""
        ref = resource.get(code_path + "Reference")
        target = ref.get("reference") if isinstance(ref, dict) else None
        if not isinstance(target, str):
            return []
        if target.startswith("#"):
            found = [c for c in resource.get("contained") or [] if c.get("id") == target[1:]]
        else:
            rtype, _, rid = target.rstrip("/").rpartition("/")
            rtype = rtype.rsplit("/", 1)[-1]
            pool = self.record.of_type(rtype) + self._shared.get(rtype, [])
            found = [r for r in pool if r.get("id") == rid]
        concepts = [to_concept(r.get("code")) for r in found[:1]]
        return [c for c in concepts if c is not None]

    def _item_matches(self, item: Any, codes: Any, comparator: str) -> bool:
        if isinstance(codes, ValueSetRef):
            if self.terminology is None:
                raise CqlRuntimeError(f"value set {codes.id} cannot be checked: no terminology was provided")
            its_codes = item.codes if isinstance(item, Concept) else ([item] if isinstance(item, Code) else [])
            if isinstance(item, str):
                its_codes = (Code(item),)
            return any(self.terminology.in_valueset(c, codes) is True for c in its_codes)
        targets = codes if isinstance(codes, list) else [codes]
        if comparator == "=" and isinstance(item, (Code, Concept)):
            # a retrieve's code filter is a terminology match, as the FHIR token search it maps
            # to ("Using CQL with FHIR": code=system|code): some coding has the target's system
            # and code (and version, when both give one); displays are not compared
            return any(_same_code(c, t) for c in (item.codes if isinstance(item, Concept) else (item,))
                       for target in targets for t in (target.codes if isinstance(target, Concept) else (target,))
                       if isinstance(t, Code))
        if comparator == "=":
            return any(equal(item, t) is True for t in targets)
        return any(equivalent(item, t) for t in targets)


def _same_code(a: Code, b: Code) -> bool:
    return a.code == b.code and a.system == b.system and (a.version is None or b.version is None or a.version == b.version)


def _codes_key(codes: Any) -> Any:
    if isinstance(codes, list):
        return tuple(_codes_key(c) for c in codes)
    try:
        hash(codes)
    except TypeError:
        return repr(codes)
    return codes


def _model_for(data_type: str, context_value: Any) -> ModelInfo:
    if "." in data_type:
        name = data_type.split(".", 1)[0]
        if isinstance(context_value, FhirNode) and context_value.model.name == name:
            return context_value.model
        return load_model(name)
    if isinstance(context_value, FhirNode):
        return context_value.model
    return load_model("FHIR")

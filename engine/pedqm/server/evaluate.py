"""`Measure/[id]/$evaluate-measure` (FHIR R4, HAPI/clinical-reasoning parameter names) and the DEQM
`Measure/$evaluate` (several measures, ``subjectGroup``, reportType individual|subject-list|summary).

Both are the library's calculation (:class:`~pedqm.measure.calculator.MeasureCalculator` per
patient, :class:`~pedqm.measure.results.MeasureResult`, :mod:`pedqm.measure.report`) over the
patients the subject parameters select, so the MeasureReports are those ``pedqm evaluate``
writes for the same data. A compiled calculator is kept per measure and period (and dropped when
``$submit-data`` changes the shared resources).

Parameters read (others are a 400 naming them):

* ``$evaluate-measure``: periodStart, periodEnd (default: Measure.effectivePeriod), reportType
  ``subject`` | ``subject-list`` | ``population`` (default subject when a subject is given, else
  population), subject (Patient, Group, Practitioner or Organization reference), practitioner,
  additionalData (a Bundle used for this request only), lastReceivedOn and productLine (accepted,
  no effect: pedqm computes from the data as it is).
* ``$evaluate``: measureId / measureUrl / measureIdentifier (together 1..*), periodStart,
  periodEnd, subject, subjectGroup (an inline Group), provider and location (patients attributed
  to that Practitioner/Organization), reportType ``individual`` | ``subject-list`` | ``summary``
  (default individual with a subject, else summary), additionalData. The answer is a Parameters
  resource: for ``individual`` one ``return`` Bundle per subject holding its MeasureReport per
  measure; otherwise one ``return`` Bundle holding one MeasureReport per measure.
"""

from __future__ import annotations

import copy
import threading
import uuid
from collections import OrderedDict
from typing import Any

from ..fhir.records import PatientRecord
from ..measure.calculator import MeasureCalculator, measurement_period
from ..measure.package import MeasurePackageError
from ..measure.results import MeasureResult
from .catalog import Catalog, MeasureEntry
from .errors import FhirError, bad_request, not_found
from .params import OperationParams, period
from .patients import PatientData, overlay, split_by_patient

Resource = dict[str, Any]
_CACHE_SIZE = 32

EVALUATE_MEASURE_PARAMS: dict[str, int | None] = {
    "periodStart": 1, "periodEnd": 1, "reportType": 1, "subject": 1, "practitioner": 1, "lastReceivedOn": 1,
    "additionalData": 1, "productLine": 1,
}
EVALUATE_PARAMS: dict[str, int | None] = {
    "measureId": None, "measureUrl": None, "measureIdentifier": None, "periodStart": 1, "periodEnd": 1,
    "subject": 1, "subjectGroup": 1, "reportType": 1, "additionalData": 1, "provider": 1, "location": 1,
    "lastReceivedOn": 1, "productLine": 1,
}


class AdditionalData:
    """An ``additionalData`` Bundle split by patient, applied to records for one request only."""

    def __init__(self, bundle: Resource | None):
        resources: list[Resource] = []
        if bundle is not None:
            if bundle.get("resourceType") != "Bundle":
                raise bad_request(f"additionalData must be a Bundle, found {bundle.get('resourceType')!r}", "additionalData")
            resources = [e.get("resource") for e in bundle.get("entry") or [] if isinstance(e.get("resource"), dict)]
            for r in resources:
                if not r.get("resourceType") or not r.get("id"):
                    raise FhirError(422, "additionalData: every resource needs a resourceType and an id", expression=["additionalData"])
        self.by_patient, self.shared = split_by_patient(resources)
        self.patients = [pid for pid, rs in self.by_patient.items() if any(r.get("resourceType") == "Patient" for r in rs)]

    def apply(self, record: PatientRecord) -> PatientRecord:
        extra = self.by_patient.get(record.patient_id)
        return overlay(record, extra) if extra else record


class Evaluator:
    """Measures over the served patients: calculators compiled once per measure and period."""

    def __init__(self, catalog: Catalog, data: PatientData, *, require_profile_tags: bool = False):
        self.catalog = catalog
        self.data = data
        self.require_profile_tags = require_profile_tags
        self._calculators: OrderedDict[tuple[str, str, str, int], MeasureCalculator] = OrderedDict()
        self._lock = threading.Lock()

    # ------------------------------------------------------------------ measures
    def resolve_measures(self, params: OperationParams) -> list[MeasureEntry]:
        found: list[MeasureEntry] = []
        for mid in params.all("measureId", split=True):
            entry = self.catalog.measure(mid.rsplit("/", 1)[-1])
            if entry is None:
                raise not_found(f"measureId: no Measure with id {mid!r} on this server")
            found.append(entry)
        for url in params.all("measureUrl", split=True):
            entries = self.catalog.measure_by_url(url)
            if not entries:
                raise not_found(f"measureUrl: no Measure with url {url!r} on this server")
            found.extend(entries)
        for ident in params.all("measureIdentifier"):
            entries = self.catalog.measure_by_identifier(ident)
            if not entries:
                raise not_found(f"measureIdentifier: no Measure with identifier {ident!r} on this server")
            found.extend(entries)
        return list({e.id: e for e in found}.values())

    def calculator(self, entry: MeasureEntry, start: str, end: str) -> MeasureCalculator:
        key = (entry.id, start, end, self.data.store.revision)
        with self._lock:
            calc = self._calculators.get(key)
            if calc is not None:
                self._calculators.move_to_end(key)
                return calc
        try:
            package = entry.package()
        except MeasurePackageError as exc:
            raise FhirError(422, f"Measure/{entry.id} cannot be evaluated: {exc}") from None
        calc = MeasureCalculator(package, measurement_period(start, end), shared=self.data.shared_resources(),
                                 require_profile_tags=self.require_profile_tags)
        with self._lock:
            self._calculators[key] = calc
            while len(self._calculators) > _CACHE_SIZE:
                self._calculators.popitem(last=False)
        return calc

    def calculate(self, entry: MeasureEntry, start: str, end: str, patient_ids: list[str] | None,
                  additional: AdditionalData, *, keep_subjects: bool = True) -> MeasureResult:
        """The measure over ``patient_ids`` (every served patient when None)."""
        calc = self.calculator(entry, start, end)
        if additional.shared:
            calc = copy.copy(calc)
            calc.shared = calc.shared + additional.shared
        result = MeasureResult(calc.definition, calc.period, keep_subjects=keep_subjects)
        ids = patient_ids
        if ids is None and additional.patients:
            ids = list(dict.fromkeys(self.data.patient_ids() + additional.patients))
        for pid in ids if ids is not None else [None]:
            records = self.data.records() if pid is None else [self._record(pid, additional)]
            for record in records:
                if record is not None:
                    result.add(calc.evaluate(additional.apply(record)))
        return result

    def _record(self, pid: str, additional: AdditionalData) -> PatientRecord | None:
        record = self.data.record(pid)
        if record is None and pid in additional.patients:
            record = PatientRecord(pid, [])
        return record

    # ------------------------------------------------------------------ subjects
    def subject_ids(self, subject: str | None, additional: AdditionalData, parameter: str = "subject") -> list[str] | None:
        if subject is None:
            return None
        rtype, _, rid = subject.strip().rpartition("/")
        if rtype.rsplit("/", 1)[-1] in ("", "Patient") and rid and rid in additional.patients:
            return [rid]
        if not rtype and not rid:
            raise bad_request(f"{parameter}: empty reference", parameter)
        return self.data.subject_patients(subject if "/" in subject else f"Patient/{subject}", parameter)


def _narrow(ids: list[str] | None, other: list[str] | None) -> list[str] | None:
    if ids is None:
        return other
    if other is None:
        return ids
    keep = set(other)
    return [i for i in ids if i in keep]


def evaluate_measure(ev: Evaluator, measure_id: str, params: OperationParams) -> Resource:
    """``Measure/[id]/$evaluate-measure``: one MeasureReport."""
    params.check(EVALUATE_MEASURE_PARAMS, "$evaluate-measure")
    entry = ev.catalog.measure(measure_id)
    if entry is None:
        raise not_found(f"no Measure with id {measure_id!r} on this server")
    start, end = period(params, entry_effective_period(entry))
    additional = AdditionalData(params.resource("additionalData"))
    subject = params.get("subject")
    report_type = params.get("reportType") or ("subject" if subject else "population")
    kinds = {"subject": "individual", "subject-list": "subject-list", "population": "summary"}
    if report_type not in kinds:
        raise bad_request(f"reportType: {report_type!r} is not one of subject, subject-list, population", "reportType")
    ids = ev.subject_ids(subject, additional)
    if params.get("practitioner"):
        ids = _narrow(ids, ev.data.practitioner_patients(str(params.get("practitioner"))))
    if report_type == "subject":
        kind = subject.split("/")[0] if subject and "/" in subject else "Patient"
        if not subject or kind != "Patient" or ids is None or len(ids) != 1:
            raise bad_request("reportType subject needs a Patient subject (use subject-list or population for a Group)",
                              "reportType")
    result = ev.calculate(entry, start, end, ids, additional, keep_subjects=report_type != "population")
    if report_type == "subject":
        assert ids is not None
        individual: Resource = result.measure_report("individual", ids[0])
        return individual
    report: Resource = result.measure_report(kinds[report_type])
    if subject:  # a population report about a Group (or one patient) names it as its subject
        report["subject"] = {"reference": subject if "/" in subject else f"Patient/{subject}"}
    return report


def entry_effective_period(entry: MeasureEntry) -> tuple[str | None, str | None]:
    ep = entry.resource.get("effectivePeriod") or {}
    return ep.get("start"), ep.get("end")


def evaluate(ev: Evaluator, params: OperationParams, measure_id: str | None = None) -> Resource:
    """DEQM ``$evaluate``: Parameters with one ``return`` Bundle per subject (individual) or one
    for all (subject-list, summary)."""
    params.check(EVALUATE_PARAMS, "$evaluate")
    entries = ev.resolve_measures(params)
    if measure_id is not None:
        entry = ev.catalog.measure(measure_id)
        if entry is None:
            raise not_found(f"no Measure with id {measure_id!r} on this server")
        entries = [entry] + [e for e in entries if e.id != entry.id]
    if not entries:
        raise bad_request("$evaluate needs at least one of measureId, measureUrl, measureIdentifier", "measureId")
    additional = AdditionalData(params.resource("additionalData"))
    subject = params.get("subject")
    group = params.resource("subjectGroup")
    if subject and group is not None:
        raise bad_request("give subject or subjectGroup, not both", "subjectGroup")
    ids = ev.subject_ids(subject, additional)
    if group is not None:
        ids = ev.data.group_members(group)
    for name in ("provider", "location"):
        ref = params.get(name)
        if ref:
            rtype = ref.split("/")[0] if "/" in ref else ("Practitioner" if name == "provider" else "Location")
            if rtype == "Location":
                raise FhirError(422, "location: attributing patients to a Location is not supported by this server", expression=[name])
            ids = _narrow(ids, ev.data.subject_patients(ref if "/" in ref else f"{rtype}/{ref}", name))
    report_type = params.get("reportType") or ("individual" if (subject or group is not None) else "summary")
    if report_type not in ("individual", "subject-list", "summary"):
        raise bad_request(f"reportType: {report_type!r} is not one of individual, subject-list, summary", "reportType")
    first = entries[0]
    start, end = period(params, entry_effective_period(first))
    results = [(e, ev.calculate(e, start, end, ids, additional, keep_subjects=report_type != "summary")) for e in entries]
    out: list[Resource] = []
    if report_type == "individual":
        subjects: list[str] = []
        for _, r in results:
            subjects.extend(s.subject_id for s in r.subject_results)
        for pid in dict.fromkeys(subjects):
            reports = [r.measure_report("individual", pid) for _, r in results
                       if any(s.subject_id == pid for s in r.subject_results)]
            out.append(_bundle(reports))
    else:
        reports = []
        for _, r in results:
            rep = r.measure_report(report_type)
            if subject:
                rep["subject"] = {"reference": subject if "/" in subject else f"Patient/{subject}"}
            elif group is not None and group.get("id"):
                rep["subject"] = {"reference": f"Group/{group['id']}"}
            reports.append(rep)
        out.append(_bundle(reports))
    return {"resourceType": "Parameters", "parameter": [{"name": "return", "resource": b} for b in out]}


def _bundle(resources: list[Resource]) -> Resource:
    return {"resourceType": "Bundle", "id": str(uuid.uuid4()), "type": "collection",
            "entry": [{"fullUrl": f"urn:uuid:{r.get('id') or uuid.uuid4()}", "resource": r} for r in resources]}

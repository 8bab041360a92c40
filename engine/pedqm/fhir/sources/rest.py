"""A FHIR server as a data source, by its base URL.

Patients are listed by paging ``Patient?_count=N`` through ``Bundle.link[next]``. Each page's
patients are then fetched with ``Patient/[id]/$everything`` where the server offers it, or else
by one search per Patient-compartment type and parameter for the whole page at once
(``Observation?subject=Patient/a,Patient/b,...``), with ``_include`` of medications where the
server lists it. The "search" strategy is also used whenever the caller pushes filters down
(``filters={"Observation": {"code": "http://loinc.org|8302-2"}}``), because ``$everything``
cannot filter. Whatever the server returns is regrouped with pedqm's own Patient-compartment
rules and checked like file data, so a server and a directory of the same data give the same
records.

Requests run on a bounded thread pool. Memory holds a few records per worker with
``$everything`` (fetched ahead, in page order), one page of patients with per-type searches.
Non-patient resources that come along (``$everything`` extras, included medications) go to
:meth:`RestSource.shared_resources`. A page that cannot be fetched completely raises
:class:`DataSourceError` naming the page; records yielded before stay valid, and a record is
never yielded incomplete.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Generator, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, Literal, cast

import httpx

from ..records import PatientRecord, Resource, ResourceIssue
from .auth import Auth
from .capability import ServerCapabilities
from .checks import SERVER_REPORTED, check_resource, issue
from .compartment import PATIENT_COMPARTMENT, compartment_patients
from .errors import DataSourceError
from .http import FhirHttp, Params, as_pairs

Strategy = Literal["auto", "everything", "search"]
MEDICATION_INCLUDES = {
    "MedicationRequest": "MedicationRequest:medication",
    "MedicationAdministration": "MedicationAdministration:medication",
    "MedicationDispense": "MedicationDispense:medication",
    "MedicationStatement": "MedicationStatement:medication",
}
NOT_SUPPORTED_STATUSES = frozenset({400, 404, 405, 422, 501})
Key = tuple[str, str]


class _Fetched:
    """What one worker brought back: resources per patient, shared ones, issues."""

    def __init__(self) -> None:
        self.by_patient: dict[str, dict[Key, Resource]] = {}
        self.shared: dict[Key, Resource] = {}
        self.issues: list[ResourceIssue] = []
        self.unsupported: list[tuple[str, str, int]] = []  # (type, param, HTTP status)


class RestSource:
    """Patients from a FHIR REST server (see the module docstring)."""

    def __init__(
        self,
        base_url: str,
        *,
        auth: Auth | None = None,
        page_size: int = 50,
        strategy: Strategy = "auto",
        resource_types: Sequence[str] | None = None,
        filters: Mapping[str, Params] | None = None,
        shared_types: Sequence[str] = ("Medication",),
        max_concurrency: int = 4,
        search_count: int = 200,
        timeout: float = 30.0,
        retries: int = 4,
        backoff: float = 0.5,
        max_retry_wait: float = 60.0,
        check_elements: bool = True,
        client: httpx.Client | None = None,
    ) -> None:
        if not base_url.startswith(("http://", "https://")):
            raise DataSourceError(f"not an http(s) URL: {base_url}", url=base_url)
        if page_size < 1 or max_concurrency < 1:
            raise DataSourceError("page_size and max_concurrency must be at least 1")
        self.base_url = base_url.rstrip("/")
        self.description = self.base_url
        self.issues: list[ResourceIssue] = []
        self.http = FhirHttp(
            self.base_url,
            auth=auth,
            timeout=timeout,
            retries=retries,
            backoff=backoff,
            max_retry_wait=max_retry_wait,
            client=client,
        )
        self.page_size = page_size
        self.strategy: Strategy = strategy
        self.resource_types = set(resource_types) if resource_types else None
        self.filters = {t: as_pairs(p) for t, p in (filters or {}).items()}
        self.shared_types = list(shared_types)
        self.max_concurrency = max_concurrency
        self.search_count = search_count
        self.check_elements = check_elements
        self._caps: ServerCapabilities | None = None
        self._shared: dict[Key, Resource] = {}
        self._shared_fetched = False
        self._unsupported: set[tuple[str, str]] = set()

    # ---------------------------------------------------------------- server checks

    def check(self) -> ServerCapabilities:
        """Read ``[base]/metadata`` once; raise :class:`DataSourceError` if no FHIR server answers."""
        if self._caps is None:
            statement = self.http.get_json("metadata", what="capability check (GET [base]/metadata)")
            self._caps = ServerCapabilities.from_json(statement, self.base_url)
            if self._caps.fhir_version and not self._caps.fhir_version.startswith("4.0"):
                self.issues.append(
                    issue(
                        f"{self.base_url}/metadata",
                        None,
                        "version mismatch",
                        f"server states FHIR {self._caps.fhir_version}; pedqm reads R4 (4.0.x)",
                        skipped=False,
                    )
                )
        return self._caps

    @property
    def capabilities(self) -> ServerCapabilities:
        return self.check()

    def chosen_strategy(self) -> Literal["everything", "search"]:
        if self.strategy != "auto":
            return self.strategy
        wants_search = bool(self.filters) or self.resource_types is not None
        return "everything" if self.capabilities.supports_everything and not wants_search else "search"

    # ---------------------------------------------------------------- the protocol

    def patients(self) -> Iterator[PatientRecord]:
        """Each patient's record, one page of patients at a time."""
        strategy = self.chosen_strategy()
        yielded = 0
        with ThreadPoolExecutor(max_workers=self.max_concurrency, thread_name_prefix="pedqm-fhir") as pool:
            pages = self.http.pages("Patient", what="patient list", params={"_count": str(self.page_size)})
            while True:
                try:
                    number, url, bundle = next(pages)
                except StopIteration:
                    return
                except DataSourceError as exc:
                    raise _after(exc, yielded) from exc
                patients = self._patients_of(bundle, url)
                if not patients:
                    continue
                if strategy == "everything":
                    stream = self._by_everything(pool, patients)
                else:
                    stream = self._by_search(pool, patients, number)
                while True:
                    try:
                        record = next(stream)
                    except StopIteration as done:
                        failure: DataSourceError | None = done.value
                        break
                    yielded += 1
                    yield record
                if failure is not None:
                    raise _after(failure, yielded) from failure

    def shared_resources(self) -> list[Resource]:
        """Resources of ``shared_types`` on the server, plus the non-patient resources that came
        with patients (``$everything`` extras, included medications) read so far."""
        if not self._shared_fetched:
            for rtype in self.shared_types:
                for resource in self.search(rtype, {"_count": str(self.search_count)}):
                    self._shared[(resource["resourceType"], resource["id"])] = resource
            self._shared_fetched = True
        return list(self._shared.values())

    # ---------------------------------------------------------------- one patient

    def patient_ids(self) -> list[str]:
        """Every patient id on the server (the Patient list's pages only, no clinical data)."""
        self.check()
        ids: list[str] = []
        for _, url, bundle in self.http.pages("Patient", what="patient list",
                                              params={"_count": str(self.page_size)}):
            ids.extend(p["id"] for p in self._patients_of(bundle, url))
        return list(dict.fromkeys(ids))

    def patient(self, patient_id: str) -> PatientRecord | None:
        """One patient's record, fetched as :meth:`patients` fetches each (``$everything`` or the
        per-type searches), or None when the server has no such Patient: a server evaluating one
        subject should not read every patient to find it."""
        self.check()
        found: list[Resource] = []
        for _, url, bundle in self.http.pages("Patient", what=f"Patient {patient_id}", params={"_id": patient_id}):
            found.extend(p for p in self._patients_of(bundle, url) if p.get("id") == patient_id)
        if not found:
            return None
        with ThreadPoolExecutor(max_workers=self.max_concurrency, thread_name_prefix="pedqm-fhir") as pool:
            stream = (self._by_everything(pool, found[:1]) if self.chosen_strategy() == "everything"
                      else self._by_search(pool, found[:1], 1))
            while True:
                try:
                    return next(stream)
                except StopIteration as done:
                    failure: DataSourceError | None = done.value
                    if failure is not None:
                        raise failure from None
                    return None

    # ---------------------------------------------------------------- the public search

    def search(self, resource_type: str, params: Params | None = None) -> Iterator[Resource]:
        """Every matching resource (all pages), checked like any other; for callers that push
        their own code or date filters down to the server."""
        self.check()  # a server that is down fails here, at [base]/metadata, whatever is asked first
        fetched = _Fetched()
        try:
            for _, url, bundle in self.http.pages(resource_type, what=f"{resource_type} search", params=params):
                yield from self._entries(bundle, url, fetched, include_mode=False)
                self.issues.extend(fetched.issues)
                fetched.issues.clear()
        finally:
            self.issues.extend(fetched.issues)

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> RestSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---------------------------------------------------------------- internals

    def _check(self, resource: Any, location: str) -> ResourceIssue | None:
        return check_resource(resource, location, elements=self.check_elements)

    def _entries(self, bundle: dict[str, Any], url: str, fetched: _Fetched, *, include_mode: bool) -> Iterator[Resource]:
        """Checked resources of a search-set; OperationOutcome entries become issues."""
        for entry in bundle.get("entry") or []:
            if not isinstance(entry, dict):
                continue
            resource = entry.get("resource")
            mode = (entry.get("search") or {}).get("mode") if isinstance(entry.get("search"), dict) else None
            if isinstance(resource, dict) and resource.get("resourceType") == "OperationOutcome":
                if mode == "outcome" or mode is None:
                    texts = "; ".join(
                        str(i.get("diagnostics") or i.get("code"))
                        for i in resource.get("issue") or []
                        if isinstance(i, dict) and i.get("severity") in ("error", "fatal", "warning")
                    )
                    if texts:
                        fetched.issues.append(issue(url, None, SERVER_REPORTED, texts, skipped=False))
                    continue
            if mode == "include" and not include_mode:
                continue
            full_url = entry.get("fullUrl")
            problem = self._check(resource, full_url if isinstance(full_url, str) else url)
            if problem is not None:
                fetched.issues.append(problem)
                continue
            yield cast(Resource, resource)

    def _patients_of(self, bundle: dict[str, Any], url: str) -> list[Resource]:
        fetched = _Fetched()
        found = [r for r in self._entries(bundle, url, fetched, include_mode=False) if r["resourceType"] == "Patient"]
        self.issues.extend(fetched.issues)
        return found

    def _group(self, resource: Resource, wanted: set[str], fetched: _Fetched) -> None:
        key = (resource["resourceType"], resource["id"])
        pids = compartment_patients(resource)
        if not pids:
            fetched.shared[key] = resource
            return
        for pid in pids:
            if pid in wanted:
                fetched.by_patient.setdefault(pid, {})[key] = resource

    def _merge(self, fetched: _Fetched) -> None:
        self.issues.extend(fetched.issues)
        self._shared.update(fetched.shared)

    def _record(self, patient: Resource, resources: Mapping[Key, Resource] | None) -> PatientRecord:
        pid = patient["id"]
        merged = {("Patient", pid): patient, **(resources or {})}
        first = merged.pop(("Patient", pid))
        return PatientRecord(pid, [first, *merged.values()])

    # ---- $everything

    def _everything(self, patient: Resource) -> _Fetched:
        pid = patient["id"]
        fetched = _Fetched()
        path = f"Patient/{pid}/$everything"
        for _, url, bundle in self.http.pages(path, what=f"Patient/{pid}/$everything"):
            for resource in self._entries(bundle, url, fetched, include_mode=True):
                self._group(resource, {pid}, fetched)
        return fetched

    def _by_everything(
        self, pool: ThreadPoolExecutor, patients: list[Resource]
    ) -> Generator[PatientRecord, None, DataSourceError | None]:
        """Records in page order, at most two per worker fetched ahead (memory stays small);
        returns the error for patients that could not be fetched, after yielding the rest."""
        ahead: deque[tuple[Resource, Future[_Fetched]]] = deque()
        todo = iter(patients)
        failures: list[tuple[str, DataSourceError]] = []

        def fill() -> None:
            while len(ahead) < 2 * self.max_concurrency and (patient := next(todo, None)) is not None:
                ahead.append((patient, pool.submit(self._everything, patient)))

        fill()
        while ahead:
            patient, future = ahead.popleft()
            try:
                fetched = future.result()
            except DataSourceError as exc:
                failures.append((patient["id"], exc))
                fill()
                continue
            fill()
            self._merge(fetched)
            yield self._record(patient, fetched.by_patient.get(patient["id"]))
        if not failures:
            return None
        ids = ", ".join(pid for pid, _ in failures[:5])
        first = failures[0][1]
        return DataSourceError(
            f"could not fetch {len(failures)} patient(s) ({ids}): {first.message}", url=first.url, status=first.status
        )

    # ---- per-type searches

    def _search_plan(self) -> list[tuple[str, str]]:
        caps = self.capabilities
        plan = []
        for rtype, params in PATIENT_COMPARTMENT.items():
            if self.resource_types is not None and rtype not in self.resource_types:
                continue
            for param, _ in params:
                if (rtype, param) in self._unsupported:
                    continue
                # A type the CapabilityStatement omits is still tried (servers under-report; it is
                # searched with handling=strict, so an unknown parameter fails instead of matching all).
                if caps.lists_type(rtype) and not caps.supports_param(rtype, param):
                    continue
                plan.append((rtype, param))
        return plan

    def _type_search(self, rtype: str, param: str, ids: list[str], page_no: int) -> _Fetched:
        fetched = _Fetched()
        caps = self.capabilities
        params: list[tuple[str, str]] = [(param, ",".join(f"Patient/{pid}" for pid in ids)), ("_count", str(self.search_count))]
        for name, value in self.filters.get(rtype, []):
            if caps.supports_param(rtype, name.split(":", 1)[0]):
                params.append((name, value))
        include = MEDICATION_INCLUDES.get(rtype)
        if include and caps.supports_include(rtype, include):
            params.append(("_include", include))
        wanted = set(ids)
        what = f"{rtype}?{param}= search for patient page {page_no}"
        try:
            # handling=strict: a server that does not know the parameter must refuse, not match everything
            pages = self.http.pages(rtype, what=what, params=params, headers={"Prefer": "handling=strict"})
            for _, url, bundle in pages:
                for resource in self._entries(bundle, url, fetched, include_mode=True):
                    self._group(resource, wanted, fetched)
        except DataSourceError as exc:
            if exc.status in NOT_SUPPORTED_STATUSES and not caps.supports_param(rtype, param):
                fetched.unsupported.append((rtype, param, int(exc.status or 0)))
                return fetched
            raise
        return fetched

    def _by_search(
        self, pool: ThreadPoolExecutor, patients: list[Resource], page_no: int
    ) -> Generator[PatientRecord, None, DataSourceError | None]:
        ids = [p["id"] for p in patients]
        futures: list[Future[_Fetched]] = [
            pool.submit(self._type_search, rtype, param, ids, page_no) for rtype, param in self._search_plan()
        ]
        combined: dict[str, dict[Key, Resource]] = {}
        failure: DataSourceError | None = None
        for future in futures:
            try:
                fetched = future.result()
            except DataSourceError as exc:
                failure = failure or exc
                continue
            self._merge(fetched)
            for rtype, param, status in fetched.unsupported:
                self._unsupported.add((rtype, param))
                detail = f"the server refused {rtype}?{param}= (HTTP {status}); such resources may be missing"
                self.issues.append(issue(self.base_url, {"resourceType": rtype}, "not searched", detail, skipped=False))
            for pid, resources in fetched.by_patient.items():
                combined.setdefault(pid, {}).update(resources)
        if failure is not None:  # a page with a missing search would give incomplete records
            return DataSourceError(
                f"patient page {page_no} not read (its {len(ids)} patients were not yielded): {failure.message}",
                url=failure.url,
                status=failure.status,
            )
        for patient in patients:
            yield self._record(patient, combined.pop(patient["id"], None))
        return None


def _after(exc: DataSourceError, yielded: int) -> DataSourceError:
    return DataSourceError(f"{exc.message} ({yielded} patient record(s) were read before this)", url=exc.url, status=exc.status)

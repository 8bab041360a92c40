"""The ASGI application: routes from FHIR URLs to the operations, and nothing else.

Each route reads its parameters (query string or a POSTed Parameters resource), runs the
operation in a worker thread (the calculation is CPU-bound; the event loop stays free for other
requests and for polling), and answers FHIR JSON. ``Prefer: respond-async`` turns any operation
into a job (:mod:`.jobs`). Errors are OperationOutcomes (:mod:`.errors`); an unexpected one is
logged by type only, since its message could hold patient data.

Requests are logged by route template (``GET /Measure/{id}/$evaluate-measure 200 35 ms``), never
with their query string or ids: a subject reference or a patient id is patient data.
"""

from __future__ import annotations

import contextlib
import hmac
import json
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.middleware.base import BaseHTTPMiddleware, RequestResponseEndpoint
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ..fhir.records import ResourceSource
from .capability import RESOURCE_TYPES, capability_statement
from .catalog import SEARCH_PARAMETERS, Catalog
from .errors import FhirError, bad_request, not_found, operation_outcome
from .evaluate import Evaluator, evaluate, evaluate_measure
from .jobs import JobRunner, status_response
from .params import OperationParams
from .patients import PatientData
from .store import Store
from .submit import submit_data

log = logging.getLogger("pedqm.server")
FHIR_JSON = "application/fhir+json"
Resource = dict[str, Any]


@dataclass
class ServerConfig:
    data: str | None = None
    measures: list[Path] = field(default_factory=list)
    db: Path = Path("pedqm-server.sqlite")
    include_library: bool = True
    require_profile_tags: bool = False
    job_workers: int = 1
    bearer_token: str | None = None  # when set, every endpoint but /metadata needs it


class ServerState:
    """Everything the routes share: the catalog, the store, the patients, the evaluator, the jobs."""

    def __init__(self, config: ServerConfig, source: ResourceSource | None = None):
        self.config = config
        self.catalog = Catalog.load(config.measures, include_library=config.include_library)
        self.store = Store(config.db)
        self.data = PatientData(config.data, self.store, source=source)
        self.evaluator = Evaluator(self.catalog, self.data, require_profile_tags=config.require_profile_tags)
        self.jobs = JobRunner(self.store, config.job_workers)

    def close(self) -> None:
        self.jobs.shutdown()
        self.store.close()


def fhir_response(resource: Resource | None, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    body = b"" if resource is None else json.dumps(resource).encode("utf-8")
    return Response(body, status_code=status, media_type=FHIR_JSON if resource is not None else None, headers=headers)


def error_response(exc: FhirError) -> Response:
    return fhir_response(exc.outcome(), exc.status)


async def read_params(request: Request) -> OperationParams:
    if request.method == "GET":
        return OperationParams.from_query(list(request.query_params.multi_items()))
    body = await request.body()
    if not body.strip():
        return OperationParams.from_query(list(request.query_params.multi_items()))
    try:
        doc = json.loads(body)
    except ValueError as exc:
        raise bad_request(f"the request body is not JSON: {exc}") from None
    params = OperationParams.from_body(doc)
    for k, v in request.query_params.multi_items():  # POST may also carry query parameters
        params.values.setdefault(k, []).append(v)
    return params


def _wants_async(request: Request) -> bool:
    prefer = request.headers.get("prefer", "")
    return any(p.strip().lower() == "respond-async" for p in prefer.split(","))


def create_app(config: ServerConfig, state: ServerState | None = None) -> Starlette:
    st = state or ServerState(config)

    def operation(name: str, fn: Callable[[Request, OperationParams], Resource],
                  *, asynchronous: bool = True) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            params = await read_params(request)
            if asynchronous and _wants_async(request):
                job_id = st.jobs.submit(name, params.to_json(), lambda: fn(request, params))
                base = str(request.base_url).rstrip("/")
                return fhir_response(None, 202, {"Content-Location": f"{base}/jobs/{job_id}"})
            return fhir_response(await run_in_threadpool(fn, request, params))
        return endpoint

    # ------------------------------------------------------------------ operations
    def op_evaluate_measure(request: Request, params: OperationParams) -> Resource:
        return evaluate_measure(st.evaluator, request.path_params["id"], params)

    def op_evaluate(request: Request, params: OperationParams) -> Resource:
        return evaluate(st.evaluator, params, request.path_params.get("id"))

    def op_submit(request: Request, params: OperationParams) -> Resource:
        mid = request.path_params.get("id")
        if mid is not None and st.catalog.measure(mid) is None:
            raise not_found(f"no Measure with id {mid!r} on this server")
        return submit_data(st.store, params)

    def op_data_requirements(request: Request, params: OperationParams) -> Resource:
        from .requirements import data_requirements

        return data_requirements(st.catalog, request.path_params.get("type", "Measure"), request.path_params["id"], params)

    def op_collect_data(request: Request, params: OperationParams) -> Resource:
        from .requirements import collect_data

        return collect_data(st.evaluator, request.path_params["id"], params)

    def op_care_gaps(request: Request, params: OperationParams) -> Resource:
        from .caregaps import care_gaps

        return care_gaps(st.evaluator, params, str(request.base_url).rstrip("/"))

    # ------------------------------------------------------------------ REST
    async def metadata(request: Request) -> Response:
        ops = {"evaluate-measure", "evaluate", "submit-data", "data-requirements", "collect-data", "care-gaps"}
        return fhir_response(capability_statement(str(request.base_url).rstrip("/"), ops))

    async def read(request: Request) -> Response:
        rtype, rid = request.path_params["type"], request.path_params["id"]
        found = await run_in_threadpool(_read, rtype, rid)
        if found is None:
            raise not_found(f"{rtype}/{rid} is not on this server")
        return fhir_response(found)

    def _read(rtype: str, rid: str) -> Resource | None:
        if rtype in RESOURCE_TYPES:
            return st.catalog.read(rtype, rid)
        if rtype == "Patient":
            record = st.data.record(rid)
            return record.patient if record is not None else None
        stored = st.store.get(rtype, rid)
        if stored is not None:
            return stored
        return st.data.find_shared(rtype, rid)

    async def everything(request: Request) -> Response:
        """``Patient/[id]/$everything``: the patient's record as the measures see it (source and
        store), as a searchset Bundle, so a tester can check what an evaluation read."""
        pid = request.path_params["id"]
        record = await run_in_threadpool(st.data.record, pid)
        if record is None:
            raise not_found(f"Patient/{pid} is not on this server")
        base_url = str(request.base_url).rstrip("/")
        return fhir_response({"resourceType": "Bundle", "type": "searchset", "total": len(record.resources),
                              "entry": [{"fullUrl": f"{base_url}/{r['resourceType']}/{r['id']}", "resource": r,
                                         "search": {"mode": "match"}} for r in record.resources]})

    async def search(request: Request) -> Response:
        rtype = request.path_params["type"]
        query: dict[str, list[str]] = {}
        ignored: list[str] = []
        for k, v in request.query_params.multi_items():
            if k in ("_format", "_pretty", "_count", "_summary"):
                continue
            base = k.split(":", 1)[0]
            if (rtype in RESOURCE_TYPES and base in SEARCH_PARAMETERS) or base == "_id":
                query.setdefault(k, []).append(v)
            else:
                ignored.append(k)
        if rtype in RESOURCE_TYPES:
            found = st.catalog.search(rtype, query)
        else:
            ids = [v for vs in query.get("_id", []) for v in vs.split(",")]
            if ids:
                found = [r for r in (_read(rtype, i) for i in ids) if r is not None]
            elif rtype == "MeasureReport":
                found = st.store.of_type(rtype)
            else:
                raise bad_request(f"{rtype} is searched by _id only on this server (Measure, Library and ValueSet "
                                  "also by url, version, identifier, name; MeasureReport lists the submitted reports)")
        base_url = str(request.base_url).rstrip("/")
        entries: list[Resource] = [{"fullUrl": f"{base_url}/{rtype}/{r['id']}", "resource": r, "search": {"mode": "match"}}
                                   for r in found]
        if ignored:
            entries.append({"resource": operation_outcome(
                f"search parameter(s) not supported here and ignored: {', '.join(sorted(set(ignored)))}",
                "not-supported", "warning"), "search": {"mode": "outcome"}})
        return fhir_response({"resourceType": "Bundle", "type": "searchset", "total": len(found),
                              "link": [{"relation": "self", "url": str(request.url)}], "entry": entries})

    async def job_status(request: Request) -> Response:
        job = st.store.job(request.path_params["job"])
        if job is None:
            raise not_found(f"no job {request.path_params['job']} on this server (finished jobs are kept until deleted)")
        status, body, headers = status_response(job)
        return fhir_response(body, status, headers)

    async def job_delete(request: Request) -> Response:
        if not st.jobs.cancel(request.path_params["job"]):
            raise not_found(f"no job {request.path_params['job']} on this server")
        return fhir_response(None, 202)

    both = ["GET", "POST"]
    routes = [
        Route("/metadata", metadata, methods=["GET"]),
        Route("/jobs/{job}", job_status, methods=["GET"]),
        Route("/jobs/{job}", job_delete, methods=["DELETE"]),
        Route("/Measure/$evaluate", operation("evaluate", op_evaluate), methods=both),
        Route("/Measure/$submit-data", operation("submit-data", op_submit, asynchronous=False), methods=["POST"]),
        Route("/Measure/$care-gaps", operation("care-gaps", op_care_gaps), methods=both),
        Route("/Measure/{id}/$evaluate-measure", operation("evaluate-measure", op_evaluate_measure), methods=both),
        Route("/Measure/{id}/$evaluate", operation("evaluate", op_evaluate), methods=both),
        Route("/Measure/{id}/$submit-data", operation("submit-data", op_submit, asynchronous=False), methods=["POST"]),
        Route("/Measure/{id}/$collect-data", operation("collect-data", op_collect_data), methods=both),
        Route("/Patient/{id}/$everything", everything, methods=["GET"]),
        Route("/{type:str}/{id}/$data-requirements", operation("data-requirements", op_data_requirements), methods=both),
        Route("/{type}/{id}", read, methods=["GET"]),
        Route("/{type}", search, methods=["GET"]),
    ]

    async def on_fhir_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, FhirError)
        return error_response(exc)

    async def on_error(request: Request, exc: Exception) -> Response:
        log.error("internal error in %s %s: %s", request.method, _route(request), type(exc).__name__)
        return fhir_response(operation_outcome(
            f"internal error in pedqm ({type(exc).__name__}); please report it", "exception"), 500)

    async def on_http_error(request: Request, exc: Exception) -> Response:
        status = int(getattr(exc, "status_code", 500))
        text = {404: f"no such endpoint: {request.method} {request.url.path}",
                405: f"{request.method} is not allowed on {request.url.path}"}.get(status, str(getattr(exc, "detail", "")))
        return error_response(FhirError(status, text))

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        st.close()

    app = Starlette(routes=routes, exception_handlers={FhirError: on_fhir_error, 404: on_http_error, 405: on_http_error,
                                                      Exception: on_error},
                    middleware=[Middleware(AccessLog), Middleware(BearerAuth, token=config.bearer_token)],
                    lifespan=lifespan)
    app.state.pedqm = st
    return app


class AccessLog(BaseHTTPMiddleware):
    """One log line per request: method, route template, status, time."""

    async def dispatch(self, request: Request, call_next: RequestResponseEndpoint) -> Response:
        t0 = time.perf_counter()
        response = await call_next(request)
        log.info("%s %s %d %.0f ms", request.method, _route(request), response.status_code, 1000 * (time.perf_counter() - t0))
        return response


class BearerAuth(BaseHTTPMiddleware):
    """``Authorization: Bearer TOKEN`` on every request but ``GET /metadata`` (a client reads the
    CapabilityStatement before it authenticates), when the server was given a token."""

    def __init__(self, app: Any, token: str | None = None):
        super().__init__(app)
        self.token = token

    async def dispatch(self, request: Request, call_next: RequestResponseEndpoint) -> Response:
        if self.token and request.url.path != "/metadata":
            given = request.headers.get("authorization", "")
            scheme, _, value = given.partition(" ")
            if scheme.lower() != "bearer" or not hmac.compare_digest(value.strip(), self.token):
                what = "no bearer token" if not given else "the bearer token is not accepted"
                response = error_response(FhirError(401, f"{what}: send Authorization: Bearer TOKEN", code="login"))
                response.headers["WWW-Authenticate"] = 'Bearer realm="pedqm"'
                return response
        return await call_next(request)


def _route(request: Request) -> str:
    """The matched route's template: no ids, no query string (they may identify a patient)."""
    route = request.scope.get("route")
    path = getattr(route, "path", None)
    return str(path) if path else "(no route)"

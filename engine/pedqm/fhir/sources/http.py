"""HTTP for FHIR servers: retries with backoff, timeouts, authorization, and errors that say where.

One place decides what is worth retrying (connection failures, timeouts, 429 and 5xx, waiting
what ``Retry-After`` asks, capped) and what is final (401/403 and other 4xx), and turns every
final failure into a :class:`DataSourceError` naming the request's purpose, URL and status.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urljoin

import httpx

from .auth import Auth
from .errors import DataSourceError

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
FHIR_JSON = "application/fhir+json"
Params = Mapping[str, str | Sequence[str]] | Sequence[tuple[str, str]]


def retry_after_seconds(value: str | None, now: Callable[[], datetime] = lambda: datetime.now(UTC)) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - now()).total_seconds())


def outcome_text(resp: httpx.Response) -> str:
    """The diagnostics of an OperationOutcome (or OAuth error) body, else a short body excerpt."""
    try:
        body = resp.json()
    except ValueError:
        return resp.text.strip()[:200]
    if isinstance(body, dict):
        if body.get("resourceType") == "OperationOutcome":
            texts = [
                i.get("diagnostics") or (i.get("details") or {}).get("text") or i.get("code", "")
                for i in body.get("issue", [])
                if isinstance(i, dict)
            ]
            return "; ".join(t for t in texts if t)[:300]
        if "error" in body:
            return ": ".join(str(body[k]) for k in ("error", "error_description") if body.get(k))[:300]
    return resp.text.strip()[:200]


def as_pairs(params: Params | None) -> list[tuple[str, str]]:
    if params is None:
        return []
    if isinstance(params, Mapping):
        pairs: list[tuple[str, str]] = []
        for key, value in params.items():
            values = [value] if isinstance(value, str | int) else list(value)
            pairs.extend((key, str(v)) for v in values)
        return pairs
    return [(str(k), str(v)) for k, v in params]


class FhirHttp:
    """A FHIR server's HTTP endpoint with pedqm's retry, timeout and error policy."""

    def __init__(
        self,
        base_url: str,
        *,
        auth: Auth | None = None,
        timeout: float = 30.0,
        retries: int = 4,
        backoff: float = 0.5,
        max_retry_wait: float = 60.0,
        client: httpx.Client | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.auth = auth
        self.retries = max(0, retries)
        self.backoff = backoff
        self.max_retry_wait = max_retry_wait
        self.sleep = sleep
        self.client = client or httpx.Client(
            timeout=httpx.Timeout(timeout),
            follow_redirects=True,
            headers={"User-Agent": "pedqm"},
            limits=httpx.Limits(max_connections=32, max_keepalive_connections=16),
        )
        self.retried = 0  # requests repeated after a retryable failure (for reports and tests)

    def url(self, path_or_url: str) -> str:
        if path_or_url.startswith(("http://", "https://")):
            return path_or_url
        return urljoin(self.base_url + "/", path_or_url.lstrip("/"))

    def request(
        self,
        method: str,
        path_or_url: str,
        *,
        what: str,
        params: Params | None = None,
        headers: Mapping[str, str] | None = None,
        use_auth: bool = True,
        ok: Sequence[int] = (200,),
        stream: bool = False,
    ) -> httpx.Response:
        """Send with retries; return a response whose status is in ``ok`` or raise DataSourceError.

        ``what`` says what the request was for ("patient list page 3"), for the error message.
        With ``stream`` the caller reads (and closes) the body.
        """
        url = self.url(path_or_url)
        pairs = as_pairs(params)
        reauthorized = False
        attempt = 0
        while True:
            send_headers = {"Accept": FHIR_JSON, **(headers or {})}
            if use_auth and self.auth is not None:
                send_headers.update(self.auth.headers(self.client, self.base_url))
            try:
                req = self.client.build_request(
                    method, url, params=httpx.QueryParams(tuple(pairs)) if pairs else None, headers=send_headers
                )
                resp = self.client.send(req, stream=stream)
            except httpx.TimeoutException as exc:
                if attempt < self.retries:
                    attempt += 1
                    self._pause(None, attempt)
                    continue
                raise DataSourceError(f"{what}: {url} timed out ({type(exc).__name__})", url=url) from exc
            except httpx.TransportError as exc:
                if attempt < self.retries:
                    attempt += 1
                    self._pause(None, attempt)
                    continue
                raise DataSourceError(f"{what}: cannot reach {url}: {exc or type(exc).__name__}", url=url) from exc
            status = resp.status_code
            if status in ok:
                return resp
            if stream:
                resp.read()
                resp.close()
            if status == 401 and use_auth and self.auth is not None and not reauthorized and self.auth.refresh():
                reauthorized = True
                continue
            if status in RETRY_STATUSES and attempt < self.retries:
                attempt += 1
                self._pause(resp.headers.get("Retry-After"), attempt)
                continue
            reason = resp.reason_phrase or ""
            detail = outcome_text(resp)
            hint = ""
            if status == 401:
                hint = " (authorization refused: check the token or client credentials)"
            elif status == 403:
                hint = " (forbidden: the credentials lack the scope for this request)"
            raise DataSourceError(
                f"{what} failed: HTTP {status} {reason}{': ' + detail if detail else ''}{hint} [{resp.request.url}]",
                url=str(resp.request.url),
                status=status,
            )

    def _pause(self, retry_after: str | None, attempt: int) -> None:
        self.retried += 1
        wait = retry_after_seconds(retry_after)
        if wait is None:
            wait = self.backoff * (2 ** (attempt - 1))
        self.sleep(min(wait, self.max_retry_wait))

    def get_json(self, path_or_url: str, *, what: str, params: Params | None = None) -> dict[str, Any]:
        resp = self.request("GET", path_or_url, what=what, params=params)
        return self.json_of(resp, what)

    @staticmethod
    def json_of(resp: httpx.Response, what: str) -> dict[str, Any]:
        try:
            body = resp.json()
        except ValueError as exc:
            raise DataSourceError(f"{what}: {resp.request.url} did not answer with JSON", url=str(resp.request.url)) from exc
        if not isinstance(body, dict):
            raise DataSourceError(f"{what}: {resp.request.url} answered with JSON that is not a resource", url=str(resp.request.url))
        return body

    def pages(
        self,
        path_or_url: str,
        *,
        what: str,
        params: Params | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Iterator[tuple[int, str, dict[str, Any]]]:
        """Search-set pages, following ``Bundle.link[next]``: (page number, URL, Bundle)."""
        url: str | None = self.url(path_or_url)
        page_params: Params | None = params
        number = 0
        seen: set[str] = set()
        while url:
            number += 1
            resp = self.request("GET", url, what=f"{what}, page {number}", params=page_params, headers=headers)
            bundle = self.json_of(resp, f"{what}, page {number}")
            if bundle.get("resourceType") != "Bundle":
                raise DataSourceError(
                    f"{what}, page {number}: expected a Bundle, got {bundle.get('resourceType')!r}", url=str(resp.request.url)
                )
            yield number, str(resp.request.url), bundle
            url = next_link(bundle, str(resp.request.url))
            if url in seen:
                raise DataSourceError(f"{what}: the server's next link repeats page {url}", url=url)
            if url:
                seen.add(url)
            page_params = None

    def close(self) -> None:
        self.client.close()


def next_link(bundle: dict[str, Any], current_url: str) -> str | None:
    for link in bundle.get("link") or []:
        if isinstance(link, dict) and link.get("relation") == "next" and isinstance(link.get("url"), str):
            return urljoin(current_url, link["url"])
    return None

"""Value sets nobody supplied, expanded by a terminology server over real HTTP (a small server
process speaking FHIR `ValueSet/$expand` with paging, as the FHIR spec defines it)."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest

from pedqm.cql.runtime.values import Code, ValueSetRef
from pedqm.fhir.terminology import TerminologyError, ValueSetIndex
from pedqm.fhir.terminology_server import TerminologyServer

VS_URL = "http://cts.nlm.nih.gov/fhir/ValueSet/2.16.840.1.113883.3.464.1003.196.12.1253"
CODES = [{"system": "http://hl7.org/fhir/sid/cvx", "code": str(c)} for c in (20, 106, 107, 110, 120)]


class _Expand(BaseHTTPRequestHandler):
    calls: list[str] = []

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        q = parse_qs(urlparse(self.path).query)
        type(self).calls.append(self.path)
        if not self.path.startswith("/fhir/ValueSet/$expand") or q.get("url", [""])[0] != VS_URL:
            body = {"resourceType": "OperationOutcome", "issue": [{"severity": "error", "code": "not-found"}]}
            self._send(404, body)
            return
        offset, count = int(q.get("offset", ["0"])[0]), int(q.get("count", ["2"])[0])
        count = min(count, 2)  # page small to exercise paging
        self._send(200, {"resourceType": "ValueSet", "url": VS_URL, "expansion": {
            "total": len(CODES), "offset": offset, "contains": CODES[offset:offset + count]}})

    def _send(self, status: int, body: dict) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/fhir+json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture()
def server() -> str:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Expand)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/fhir"
    httpd.shutdown()


def test_missing_value_set_is_expanded_paged_and_cached(server: str, tmp_path: Path) -> None:
    _Expand.calls.clear()
    index = ValueSetIndex(TerminologyServer(server, cache_dir=tmp_path))
    assert index.in_valueset(Code("110", "http://hl7.org/fhir/sid/cvx"), ValueSetRef(VS_URL)) is True
    assert index.in_valueset(Code("03", "http://hl7.org/fhir/sid/cvx"), ValueSetRef(VS_URL)) is False
    assert len(_Expand.calls) == 3  # five codes in pages of two
    again = ValueSetIndex(TerminologyServer(server, cache_dir=tmp_path))
    assert len(again.expand(ValueSetRef(VS_URL))) == 5 and len(_Expand.calls) == 3  # from the cache


def test_unknown_value_set_on_the_server_is_a_clear_error(server: str, tmp_path: Path) -> None:
    index = ValueSetIndex(TerminologyServer(server, cache_dir=tmp_path, retries=0))
    with pytest.raises(TerminologyError, match="could not expand http://example.org/ValueSet/nope"):
        index.in_valueset(Code("1", "x"), ValueSetRef("http://example.org/ValueSet/nope"))

"""Value sets published with only a definition (`compose`, no `expansion`).

pedqm expands them itself when the definition names the members without a code system's
hierarchy, asks the terminology server when one is configured, and otherwise refuses with an
error that names the value set and the part it could not compute (a partial expansion would
silently exclude patients).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest

from pedqm.cql.runtime.values import Code, ValueSetRef
from pedqm.fhir.terminology import TerminologyError, ValueSetIndex
from pedqm.fhir.terminology_server import TerminologyServer

SNOMED = "http://snomed.info/sct"
SOPT = "https://nahdo.org/sopt"
BASE = "http://cts.nlm.nih.gov/fhir/ValueSet/"


def _vs(oid: str, compose: dict[str, Any]) -> dict[str, Any]:
    return {"resourceType": "ValueSet", "id": oid, "url": BASE + oid, "name": f"VS{oid[-1]}",
            "identifier": [{"system": "urn:ietf:rfc:3986", "value": f"urn:oid:{oid}"}], "compose": compose}


def _codes(index: ValueSetIndex, url: str) -> set[tuple[str | None, str | None]]:
    return {(c.system, c.code) for c in index.expand(ValueSetRef(url))}


def test_listed_concepts_are_the_expansion_and_excludes_apply() -> None:
    vs = _vs("2.16.1.1", {"include": [{"system": SNOMED, "concept": [{"code": "1", "display": "one"}, {"code": "2"}, {"code": "3"}]}],
                          "exclude": [{"system": SNOMED, "concept": [{"code": "2"}]}]})
    index = ValueSetIndex.from_resources([vs])
    assert _codes(index, vs["url"]) == {(SNOMED, "1"), (SNOMED, "3")}
    assert index.in_valueset(Code("2", SNOMED), ValueSetRef("urn:oid:2.16.1.1")) is False  # was True: exclude ignored
    assert index.expand(ValueSetRef(vs["url"]))[0].display == "one"


def test_in_filter_on_concept_lists_its_codes() -> None:
    vs = _vs("2.16.1.2", {"include": [{"system": SOPT, "version": "9.2",
                                       "filter": [{"property": "concept", "op": "in", "value": "1, 2,21"}]}]})
    index = ValueSetIndex.from_resources([vs])
    assert _codes(index, vs["url"]) == {(SOPT, "1"), (SOPT, "2"), (SOPT, "21")}
    assert index.in_valueset(Code("21", SOPT), ValueSetRef(vs["url"])) is True
    assert index.in_valueset(Code("3", SOPT), ValueSetRef(vs["url"])) is False


def test_nested_value_sets_with_an_exclude_are_expanded_recursively() -> None:
    inner = _vs("2.16.1.3", {"include": [{"system": SNOMED, "concept": [{"code": "10"}, {"code": "11"}]}]})
    middle = _vs("2.16.1.4", {"include": [{"valueSet": [inner["url"]]}, {"system": SNOMED, "concept": [{"code": "12"}]}]})
    outer = _vs("2.16.1.5", {"include": [{"valueSet": ["https://cts.nlm.nih.gov/fhir/ValueSet/2.16.1.4|2024"]}],
                             "exclude": [{"system": SNOMED, "filter": [{"property": "concept", "op": "=", "value": "11"}]}]})
    index = ValueSetIndex.from_resources([outer, middle, inner])  # order does not matter: expanded on first use
    assert _codes(index, outer["url"]) == {(SNOMED, "10"), (SNOMED, "12")}
    assert _codes(index, middle["url"]) == {(SNOMED, "10"), (SNOMED, "11"), (SNOMED, "12")}


def test_whole_code_system_and_property_filter_read_a_supplied_code_system() -> None:
    cs = {"resourceType": "CodeSystem", "url": SOPT, "content": "complete", "concept": [
        {"code": "1", "display": "Medicare", "property": [{"code": "level", "valueString": "top"}],
         "concept": [{"code": "11", "property": [{"code": "level", "valueString": "sub"}]}]},
        {"code": "2", "display": "Medicaid", "property": [{"code": "level", "valueString": "top"}]},
    ]}
    payer = _vs("2.16.1.6", {"include": [{"system": SOPT}], "exclude": [{"system": SOPT, "filter": [
        {"property": "concept", "op": "=", "value": "11"}]}]})
    top = _vs("2.16.1.7", {"include": [{"system": SOPT, "filter": [{"property": "level", "op": "=", "value": "top"}]}]})
    index = ValueSetIndex.from_resources([{"resourceType": "Bundle", "entry": [{"resource": cs}]}, payer, top])
    assert _codes(index, payer["url"]) == {(SOPT, "1"), (SOPT, "2")}
    assert _codes(index, top["url"]) == {(SOPT, "1"), (SOPT, "2")}
    assert index.expand(ValueSetRef(top["url"]))[1].display == "Medicaid"


def test_is_a_filter_stays_an_error_naming_the_value_set_filter_and_server_option() -> None:
    vs = _vs("2.16.1.8", {"include": [{"system": SNOMED, "concept": [{"code": "1"}]},
                                      {"system": SNOMED, "filter": [{"property": "concept", "op": "is-a", "value": "73211009"}]}]})
    index = ValueSetIndex.from_resources([vs])
    with pytest.raises(TerminologyError) as err:
        index.in_valueset(Code("1", SNOMED), ValueSetRef(vs["url"]))  # was True: the listed code, silently partial
    message = str(err.value)
    assert BASE + "2.16.1.8" in message and "OID 2.16.1.8" in message
    assert "'concept is-a 73211009'" in message and "--terminology-server" in message


def test_missing_included_value_set_and_cycles_are_named() -> None:
    lonely = _vs("2.16.1.9", {"include": [{"valueSet": [BASE + "9.9.9"]}]})
    a = _vs("2.16.2.1", {"include": [{"valueSet": [BASE + "2.16.2.2"]}]})
    b = _vs("2.16.2.2", {"include": [{"valueSet": [BASE + "2.16.2.1"]}]})
    index = ValueSetIndex.from_resources([lonely, a, b])
    with pytest.raises(TerminologyError, match=r"includes value set .*9\.9\.9, which was not supplied"):
        index.expand(ValueSetRef(lonely["url"]))
    with pytest.raises(TerminologyError, match="includes itself"):
        index.expand(ValueSetRef(a["url"]))


class _Expand(BaseHTTPRequestHandler):
    calls: list[str] = []

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        type(self).calls.append(self.path)
        url = parse_qs(urlparse(self.path).query).get("url", [""])[0]
        body = {"resourceType": "ValueSet", "url": url, "expansion": {"total": 2, "contains": [
            {"system": SNOMED, "code": "73211009"}, {"system": SNOMED, "code": "44054006"}]}}
        data = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/fhir+json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture()
def server() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Expand)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/fhir"
    httpd.shutdown()


def test_unsupported_filter_goes_to_the_terminology_server(server: str, tmp_path: Path) -> None:
    _Expand.calls.clear()
    vs = _vs("2.16.3.1", {"include": [{"system": SNOMED, "filter": [{"property": "concept", "op": "is-a", "value": "73211009"}]}]})
    index = ValueSetIndex(TerminologyServer(server, cache_dir=tmp_path))
    index.add(vs)
    assert index.in_valueset(Code("44054006", SNOMED), ValueSetRef("urn:oid:2.16.3.1")) is True
    assert len(_Expand.calls) == 1 and "2.16.3.1" in _Expand.calls[0]
    local = _vs("2.16.3.2", {"include": [{"system": SNOMED, "concept": [{"code": "5"}]}]})
    index.add(local)
    assert _codes(index, local["url"]) == {(SNOMED, "5")} and len(_Expand.calls) == 1  # computable: not asked

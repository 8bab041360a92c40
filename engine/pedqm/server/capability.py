"""The server's CapabilityStatement (``GET /metadata``): what it serves, said from the same tables
the routes use, so the statement cannot promise an operation the server lacks."""

from __future__ import annotations

import datetime as _dt
from typing import Any

from .. import __version__ as pedqm_version
from .catalog import SEARCH_PARAMETERS

# (name, definition canonical, where it is invoked, documentation)
OPERATIONS: tuple[tuple[str, str, str, str], ...] = (
    ("evaluate-measure", "http://hl7.org/fhir/OperationDefinition/Measure-evaluate-measure", "Measure/[id]",
     "periodStart, periodEnd, reportType subject|subject-list|population, subject (Patient/Group/Practitioner/"
     "Organization), practitioner, additionalData; lastReceivedOn and productLine accepted without effect"),
    ("evaluate", "http://hl7.org/fhir/us/davinci-deqm/OperationDefinition/evaluate", "Measure, Measure/[id]",
     "measureId/measureUrl/measureIdentifier (1..*), periodStart, periodEnd, subject, subjectGroup, provider, "
     "reportType individual|subject-list|summary, additionalData; answers Parameters of Bundles"),
    ("submit-data", "http://hl7.org/fhir/OperationDefinition/Measure-submit-data", "Measure, Measure/[id]",
     "measureReport 1..*, resource 0..*, or DEQM bundle 1..*; idempotent; stored in SQLite"),
    ("data-requirements", "http://hl7.org/fhir/OperationDefinition/Measure-data-requirements", "Measure/[id], Library/[id]",
     "periodStart, periodEnd: a module-definition Library with the retrieves of the compiled CQL"),
    ("collect-data", "http://hl7.org/fhir/OperationDefinition/Measure-collect-data", "Measure/[id]",
     "periodStart, periodEnd, subject, practitioner: Parameters with a data-collection MeasureReport and the resources"),
    ("care-gaps", "http://hl7.org/fhir/us/davinci-deqm/OperationDefinition/care-gaps", "Measure",
     "periodStart, periodEnd, subject, practitioner/organization, measureId/measureUrl/measureIdentifier, status"),
)

RESOURCE_TYPES: tuple[str, ...] = ("Measure", "Library", "ValueSet")
STORED_TYPES: tuple[str, ...] = ("MeasureReport", "Patient", "Group")


def capability_statement(base_url: str, operations: set[str]) -> dict[str, Any]:
    ops = [(n, d, where, doc) for n, d, where, doc in OPERATIONS if n in operations]
    resources: list[dict[str, Any]] = []
    for rtype in RESOURCE_TYPES:
        entry: dict[str, Any] = {
            "type": rtype, "interaction": [{"code": "read"}, {"code": "search-type"}],
            "searchParam": [{"name": n, "type": "token" if n in ("_id", "identifier", "status") else
                             ("uri" if n == "url" else "string")} for n in SEARCH_PARAMETERS],
        }
        if rtype == "Measure":
            entry["operation"] = [{"name": n, "definition": d, "documentation": f"{where}: {doc}"} for n, d, where, doc in ops]
        if rtype == "Library" and "data-requirements" in operations:
            entry["operation"] = [{"name": "data-requirements",
                                   "definition": "http://hl7.org/fhir/OperationDefinition/Library-data-requirements"}]
        resources.append(entry)
    for rtype in STORED_TYPES:
        entry = {"type": rtype, "interaction": [{"code": "read"}, {"code": "search-type"}],
                 "documentation": "read from the served data and the $submit-data store; search by _id"
                                  + (" (no parameters: every submitted report)" if rtype == "MeasureReport" else "")}
        if rtype == "Patient":
            entry["operation"] = [{"name": "everything", "definition": "http://hl7.org/fhir/OperationDefinition/Patient-everything"}]
        resources.append(entry)
    return {
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": _dt.date.today().isoformat(),
        "kind": "instance",
        "software": {"name": "pedqm", "version": pedqm_version},
        "implementation": {"description": "pedqm measure operations server", "url": base_url},
        "fhirVersion": "4.0.1",
        "format": ["application/fhir+json", "json"],
        "instantiates": ["http://hl7.org/fhir/us/davinci-deqm/CapabilityStatement/producer-service"],
        "rest": [{"mode": "server", "resource": resources,
                  "documentation": "Long population runs: send 'Prefer: respond-async' to get 202 and a "
                                   "Content-Location status URL (polled with GET, cancelled with DELETE)."}],
    }

"""What a FHIR server says it supports, read from its CapabilityStatement (``[base]/metadata``).

The REST source plans its requests from this: ``$everything`` or per-type searches, which search
parameters it may push filters into, which ``_include`` it may ask for, whether Bulk ``$export``
exists at each level, and where SMART's token endpoint is. :meth:`ServerCapabilities.describe`
is what ``pedqm`` prints when it checks a server.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .errors import DataSourceError

OAUTH_URIS = "http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris"


@dataclass
class ServerCapabilities:
    base_url: str
    fhir_version: str | None = None
    software: str | None = None
    formats: list[str] = field(default_factory=list)
    search_params: dict[str, set[str]] = field(default_factory=dict)  # type -> search parameters
    includes: dict[str, set[str]] = field(default_factory=dict)  # type -> searchInclude values
    type_operations: dict[str, set[str]] = field(default_factory=dict)  # type -> operation names
    system_operations: set[str] = field(default_factory=set)
    security: list[str] = field(default_factory=list)  # service codes, e.g. SMART-on-FHIR
    token_url: str | None = None

    @classmethod
    def from_json(cls, statement: dict[str, Any], base_url: str) -> ServerCapabilities:
        if statement.get("resourceType") != "CapabilityStatement":
            raise DataSourceError(
                f"{base_url}/metadata did not return a CapabilityStatement (got {statement.get('resourceType')!r}); "
                "is this the base URL of a FHIR server?",
                url=f"{base_url}/metadata",
            )
        caps = cls(base_url=base_url, fhir_version=statement.get("fhirVersion"))
        software = statement.get("software") or {}
        if isinstance(software, dict) and software.get("name"):
            caps.software = " ".join(str(software[k]) for k in ("name", "version") if software.get(k))
        caps.formats = [f for f in statement.get("format") or [] if isinstance(f, str)]
        for rest in statement.get("rest") or []:
            if not isinstance(rest, dict) or rest.get("mode", "server") != "server":
                continue
            caps.system_operations.update(_op_names(rest.get("operation")))
            caps._read_security(rest.get("security"))
            for res in rest.get("resource") or []:
                if not isinstance(res, dict) or not isinstance(res.get("type"), str):
                    continue
                rtype = res["type"]
                params = {p["name"] for p in res.get("searchParam") or [] if isinstance(p, dict) and isinstance(p.get("name"), str)}
                caps.search_params.setdefault(rtype, set()).update(params)
                caps.includes.setdefault(rtype, set()).update(i for i in res.get("searchInclude") or [] if isinstance(i, str))
                caps.type_operations.setdefault(rtype, set()).update(_op_names(res.get("operation")))
        return caps

    def _read_security(self, security: Any) -> None:
        if not isinstance(security, dict):
            return
        for service in security.get("service") or []:
            for coding in (service or {}).get("coding") or []:
                if isinstance(coding, dict) and coding.get("code"):
                    self.security.append(str(coding["code"]))
        for ext in security.get("extension") or []:
            if isinstance(ext, dict) and ext.get("url") == OAUTH_URIS:
                for sub in ext.get("extension") or []:
                    if isinstance(sub, dict) and sub.get("url") == "token" and isinstance(sub.get("valueUri"), str):
                        self.token_url = sub["valueUri"]

    def lists_type(self, resource_type: str) -> bool:
        return resource_type in self.search_params

    def supports_param(self, resource_type: str, param: str) -> bool:
        return param in self.search_params.get(resource_type, ())

    def supports_include(self, resource_type: str, include: str) -> bool:
        declared = self.includes.get(resource_type, set())
        return include in declared or "*" in declared

    @property
    def supports_everything(self) -> bool:
        return "everything" in self.type_operations.get("Patient", ())

    def export_levels(self) -> list[str]:
        """Bulk ``$export`` levels offered: ``system``, ``patient``, ``group``."""
        levels = []
        if "export" in self.system_operations:
            levels.append("system")
        if "export" in self.type_operations.get("Patient", ()):
            levels.append("patient")
        if "export" in self.type_operations.get("Group", ()):
            levels.append("group")
        return levels

    def describe(self) -> str:
        """A few lines for people: version, software, what pedqm will use, how to authorize."""
        lines = [f"FHIR server {self.base_url}"]
        lines.append(f"  FHIR version {self.fhir_version or 'not stated'}; software {self.software or 'not stated'}")
        if self.fhir_version and not self.fhir_version.startswith("4.0"):
            lines.append("  warning: pedqm reads FHIR R4 (4.0.x); this server states another version")
        lines.append(f"  {len(self.search_params)} resource types searchable")
        lines.append(f"  Patient/$everything: {'yes' if self.supports_everything else 'no (per-type searches instead)'}")
        levels = self.export_levels()
        lines.append(f"  Bulk $export: {', '.join(levels) if levels else 'no'}")
        auth = ", ".join(self.security) if self.security else "none stated"
        lines.append(f"  security: {auth}{f' (token endpoint {self.token_url})' if self.token_url else ''}")
        return "\n".join(lines)


def _op_names(operations: Any) -> set[str]:
    names = set()
    for op in operations or []:
        if isinstance(op, dict) and isinstance(op.get("name"), str):
            names.add(op["name"].lstrip("$"))
    return names

"""Where FHIR data comes from: files, a REST server, or a Bulk Data export.

Each source implements :class:`~pedqm.fhir.records.ResourceSource`: ``patients()`` yields one
:class:`~pedqm.fhir.records.PatientRecord` at a time, grouped by the Patient compartment
(:mod:`.compartment`), and ``shared_resources()`` returns the rest. Bad resources are skipped and
listed in ``source.issues`` (:func:`format_issue_summary` counts them by reason); a source that
cannot go on raises :class:`DataSourceError`.

>>> source = open_source("path/to/bundles")                       # doctest: +SKIP
>>> source = open_source("https://ehr.example.org/fhir", auth=SmartBackendAuth(...))  # doctest: +SKIP
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..records import ResourceSource
from .auth import Auth, BearerToken, SmartBackendAuth
from .bulk import BulkExportSource
from .capability import ServerCapabilities
from .checks import format_issue_summary, summarize_issues
from .errors import DataSourceError
from .files import FileSource
from .rest import RestSource

__all__ = [
    "Auth",
    "BearerToken",
    "BulkExportSource",
    "DataSourceError",
    "FileSource",
    "RestSource",
    "ServerCapabilities",
    "SmartBackendAuth",
    "format_issue_summary",
    "open_source",
    "summarize_issues",
]


def is_url(spec: str) -> bool:
    return spec.lower().startswith(("http://", "https://"))


def open_source(spec: str | Path, *, auth: Auth | None = None, bulk: bool = False, **options: Any) -> ResourceSource:
    """A source for ``spec``: a directory, a file, or the base URL of a FHIR server.

    ``auth`` applies to URLs only; ``bulk=True`` reads a server through Bulk ``$export`` instead
    of searches. Other keyword options go to the source's constructor (``FileSource``,
    ``RestSource`` or ``BulkExportSource``).
    """
    text = str(spec)
    if is_url(text):
        if bulk:
            return BulkExportSource(text, auth=auth, **options)
        return RestSource(text, auth=auth, **options)
    if auth is not None:
        raise DataSourceError(f"authorization options apply to a server URL, not to {text}")
    if bulk:
        raise DataSourceError(f"Bulk $export needs a server URL, not {text}")
    return FileSource(text, **options)

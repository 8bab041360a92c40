"""The one exception a data source raises when it cannot go on.

Bad resources never raise (they become :class:`~pedqm.fhir.records.ResourceIssue` and are
skipped); this is for a source that is unreachable, refuses us, or breaks off mid-way. The
message names the URL (or path) and the HTTP status so the user can act on it, and records
yielded before the error stay valid.
"""

from __future__ import annotations


class DataSourceError(OSError):
    """A data source failed: server down, authorization refused, paging broke off, bad path.

    An ``OSError`` (like ``ConnectionError``), so a command that already reports I/O failures
    as bad input reports this one the same way rather than as a crash.
    """

    def __init__(self, message: str, *, url: str | None = None, status: int | None = None) -> None:
        self.message = message
        self.url = url
        self.status = status
        super().__init__(message)

    def __str__(self) -> str:
        where = f" [{self.url}]" if self.url and self.url not in self.message else ""
        status = f" (HTTP {self.status})" if self.status is not None and str(self.status) not in self.message else ""
        return f"{self.message}{status}{where}"

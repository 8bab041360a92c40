"""Errors a measure operation answers with: an HTTP status and an OperationOutcome that says why.

Operations raise :class:`FhirError`; the app turns it into the response. Anything else that
escapes an operation is a bug, answered 500 with an OperationOutcome that says so (never a
traceback, never patient data).
"""

from __future__ import annotations

from typing import Any


class FhirError(Exception):
    """A request the server cannot answer as asked: ``status`` is the HTTP status (400 bad
    parameters, 404 unknown resource, 422 content that cannot be processed)."""

    def __init__(self, status: int, diagnostics: str, code: str | None = None, expression: list[str] | None = None):
        super().__init__(diagnostics)
        self.status = status
        self.diagnostics = diagnostics
        self.code = code or {400: "invalid", 404: "not-found", 405: "not-supported", 409: "conflict",
                             410: "deleted", 422: "processing"}.get(status, "exception")
        self.expression = expression
        self.issues: list[dict[str, Any]] = []

    def with_issues(self, issues: list[dict[str, Any]]) -> FhirError:
        """Further issues (one per problem) after the summary one."""
        self.issues = issues
        return self

    def outcome(self) -> dict[str, Any]:
        oo = operation_outcome(self.diagnostics, self.code, expression=self.expression)
        oo["issue"].extend(self.issues)
        return oo


def operation_outcome(diagnostics: str, code: str = "processing", severity: str = "error",
                      expression: list[str] | None = None) -> dict[str, Any]:
    issue: dict[str, Any] = {"severity": severity, "code": code, "diagnostics": diagnostics}
    if expression:
        issue["expression"] = expression
    return {"resourceType": "OperationOutcome", "issue": [issue]}


def bad_request(diagnostics: str, parameter: str | None = None) -> FhirError:
    return FhirError(400, diagnostics, expression=[parameter] if parameter else None)


def not_found(diagnostics: str) -> FhirError:
    return FhirError(404, diagnostics)

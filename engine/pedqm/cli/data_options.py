"""The ``--data`` option and its authorization options, shared by every command that reads FHIR data.

A command calls :func:`add_data_arguments` when it builds its parser and :func:`open_data` when it
runs; a bad combination raises :class:`DataOptionsError` with a message meant for the user (exit 2,
bad usage). Secrets can come from the environment (``PEDQM_BEARER_TOKEN``) so they need not
appear on a command line.

A run over no patients is an error (:class:`NoPatientsError`, exit 2) unless ``--allow-empty``
was given: a measure over an empty directory otherwise prints a table of zeros and exits 0,
which looks like a result. Files are checked before any work starts, a server's ``metadata`` is
read first (so a refused connection fails at once), and other sources are checked when their
patients have been read (:func:`open_patients`).
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ..fhir.records import PatientRecord, Resource, ResourceIssue, ResourceSource
from ..fhir.sources import (
    BearerToken,
    DataSourceError,
    FileSource,
    RestSource,
    SmartBackendAuth,
    open_source,
)
from ..fhir.sources.auth import Auth
from ..fhir.sources.bulk import default_work_root
from ..fhir.sources.checks import format_issue_summary
from .errors import NoPatientsError, UsageError

BEARER_ENV = "PEDQM_BEARER_TOKEN"


class DataOptionsError(UsageError):
    """The data options do not make sense together (or name something that is not there)."""




def add_data_arguments(parser: argparse.ArgumentParser, *, required: bool = True) -> None:
    """Add ``--data`` and the server options to ``parser``, in their own help section."""
    group = parser.add_argument_group(
        "FHIR data",
        "where patient data comes from: a directory or file of FHIR JSON / NDJSON, or a FHIR server's base URL",
    )
    group.add_argument(
        "--data",
        metavar="[NAME=]SOURCE",
        required=required,
        action="append",
        help="directory (searched recursively), .json / .ndjson file, or http(s) base URL of a FHIR R4 server; "
        "repeat it, each optionally named (--data practice=DIR --data school=URL), to read several sources "
        "as one population of linked children (server options apply to every server; a per-source token "
        f"comes from {BEARER_ENV}_<NAME>)",
    )
    group.add_argument(
        "--bundle-per-patient",
        action="store_true",
        help="each Bundle (or NDJSON line holding a Bundle) is one patient's whole record: its resources belong to its "
        "Patient whatever their references say (default: the FHIR Patient compartment decides)",
    )
    group.add_argument("--allow-empty", action="store_true",
                       help="a source with no patients is a run over no one, not an error (default: an error, exit 2)")
    group.add_argument("--bearer-token", metavar="TOKEN", help=f"access token for the server (or set {BEARER_ENV})")
    group.add_argument("--smart-client-id", metavar="ID", help="SMART Backend Services client id")
    group.add_argument("--smart-key", metavar="FILE", type=Path, help="private key for SMART (PEM, JWK or JWKS)")
    group.add_argument("--smart-alg", choices=("RS384", "ES384"), help="signing algorithm (default: from the key)")
    group.add_argument("--smart-kid", metavar="KID", help="key id sent in the JWT header (default: the JWK's, else its thumbprint)")
    group.add_argument("--smart-scope", metavar="SCOPES", help="scopes to request (default: system/*.read)")
    group.add_argument("--token-url", metavar="URL", help="token endpoint (default: from [base]/.well-known/smart-configuration)")
    group.add_argument("--bulk", action="store_true", help="read the server through Bulk Data $export instead of searches")
    group.add_argument("--bulk-level", choices=("system", "patient", "group"), help="$export level (default: patient)")
    group.add_argument("--bulk-group", metavar="ID", help="Group id for a group-level $export")
    group.add_argument("--bulk-type", metavar="TYPES", help="comma-separated resource types to export (_type)")
    group.add_argument("--since", metavar="INSTANT", help="only resources changed since (_since), e.g. 2025-01-01T00:00:00Z")
    group.add_argument(
        "--type-filter", action="append", metavar="QUERY", help="_typeFilter, e.g. 'Observation?status=final' (repeatable)"
    )
    group.add_argument("--work-dir", metavar="DIR", type=Path, help=f"where $export files are kept for resuming (default: {default_work_root()})")
    group.add_argument("--page-size", type=int, metavar="N", help="patients per page when searching a server (default: 50)")
    group.add_argument("--max-concurrency", type=int, metavar="N", help="parallel requests to a server (default: 4)")
    group.add_argument("--timeout", type=float, metavar="SECONDS", help="timeout of one HTTP request (default: 30)")
    add_linkage_arguments(parser)


def add_linkage_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of a run over several sources: probabilistic linkage and where its outcome goes."""
    group = parser.add_argument_group(
        "linking several sources",
        "with several --data, records of one child are linked by a shared Patient.identifier or Patient.link; "
        "these options add probabilistic linkage (pip install 'pedqm[linkage]') and write the outcome",
    )
    group.add_argument("--link-probabilistic", action="store_true",
                       help="also link records by name, birth date, sex, address and phone (splink)")
    group.add_argument("--link-accept", type=float, metavar="P",
                       help="link pairs with match probability >= P (default 0.99)")
    group.add_argument("--link-review", type=float, metavar="P",
                       help="list pairs from P up to the accept threshold for review, unlinked (default 0.80)")
    group.add_argument("--link-identifier-system", action="append", metavar="URI",
                       help="only these identifier systems link records (repeatable; default: every system)")
    group.add_argument("--linkage-output", type=Path, metavar="FILE",
                       help="write the linkage as a FHIR Bundle (linked Patients with Patient.link)")
    group.add_argument("--review-output", type=Path, metavar="FILE",
                       help="write the pairs to review as CSV (with --link-probabilistic)")


def _auth(args: argparse.Namespace, is_url: bool) -> Auth | None:
    token = getattr(args, "bearer_token", None) or (os.environ.get(BEARER_ENV) if is_url else None) or None
    smart_given = [name for name in ("smart_client_id", "smart_key", "smart_alg", "smart_kid", "smart_scope", "token_url")
                   if getattr(args, name, None)]
    if token and smart_given:
        raise DataOptionsError("give either a bearer token or SMART Backend Services options, not both")
    if smart_given:
        if not args.smart_client_id or not args.smart_key:
            raise DataOptionsError("SMART Backend Services needs both --smart-client-id and --smart-key")
        if not args.smart_key.is_file():
            raise DataOptionsError(f"--smart-key: no such file: {args.smart_key}")
        try:
            return SmartBackendAuth(
                args.smart_client_id,
                args.smart_key,
                alg=args.smart_alg,
                scope=args.smart_scope or "system/*.read",
                token_url=args.token_url,
                kid=args.smart_kid,
            )
        except DataSourceError as exc:
            raise DataOptionsError(f"--smart-key: {exc}") from exc
    if token:
        return BearerToken(token)
    return None


def _positive(args: argparse.Namespace, name: str) -> Any:
    value = getattr(args, name, None)
    if value is not None and value <= 0:
        raise DataOptionsError(f"--{name.replace('_', '-')} must be positive, got {value}")
    return value


def open_data(args: argparse.Namespace) -> ResourceSource:
    """The source the options describe; :class:`DataOptionsError` if they are inconsistent.
    Several ``--data`` (or a named one) are read together as linked children
    (:mod:`.multi_source`)."""
    specs = getattr(args, "data", None)
    if isinstance(specs, str | Path):
        specs = [specs]
    if not specs:
        raise DataOptionsError("no data given: use --data DIRECTORY, FILE or URL")
    named = [split_data_spec(str(s)) for s in specs]
    if len(named) == 1 and named[0][0] is None:
        given = [f"--{n.replace('_', '-')}" for n in ("link_probabilistic", "link_accept", "link_review",
                 "link_identifier_system", "linkage_output", "review_output") if getattr(args, n, None)]
        if given:
            raise DataOptionsError(f"{', '.join(given)} apply when several --data sources are read (or a named one)")
        return _open_one(args, str(specs[0]))
    from .multi_source import open_linked

    return open_linked(args, named)


def split_data_spec(spec: str) -> tuple[str | None, str]:
    """``NAME=SOURCE`` as (NAME, SOURCE); a plain SOURCE (or an existing path with '=') as (None, SOURCE)."""
    name, eq, rest = spec.partition("=")
    if eq and rest and name and name[0].isalpha() and all(c.isalnum() or c in "-_" for c in name) \
            and not Path(spec).exists():
        return name, rest
    return None, spec


def _open_one(args: argparse.Namespace, spec: str) -> ResourceSource:
    """One ``--data`` source with the server and authorization options."""
    is_url = spec.lower().startswith(("http://", "https://"))
    auth = _auth(args, is_url)
    bulk_only = [f"--{n.replace('_', '-')}" for n in ("bulk_level", "bulk_group", "bulk_type", "since", "type_filter", "work_dir")
                 if getattr(args, n, None)]
    server_only = [f"--{n.replace('_', '-')}" for n in ("page_size", "max_concurrency", "timeout")
                   if getattr(args, n, None) is not None]
    if not is_url:
        extras = (["authorization options"] if auth is not None else []) + (["--bulk"] if args.bulk else [])
        extras += bulk_only + server_only
        if extras:
            raise DataOptionsError(f"{', '.join(extras)} only apply when --data is a server URL, not a path ({spec})")
        if not Path(spec).exists():
            raise DataOptionsError(f"--data: no such file or directory: {spec}")
    elif not args.bulk and bulk_only:
        raise DataOptionsError(f"{', '.join(bulk_only)} only apply with --bulk")
    bundle_per_patient = bool(getattr(args, "bundle_per_patient", False))
    allow_empty = bool(getattr(args, "allow_empty", False))
    if is_url and bundle_per_patient:
        raise DataOptionsError("--bundle-per-patient applies to files of Bundles, not to a server (which groups by Patient compartment)")
    level = args.bulk_level or ("group" if args.bulk_group else "patient")
    if args.bulk and (level == "group") != bool(args.bulk_group):
        raise DataOptionsError("a group-level export needs --bulk-group ID (and --bulk-group needs --bulk-level group)")
    options: dict[str, Any] = {"bundle_per_patient": True} if bundle_per_patient else {}
    if not is_url and allow_empty:
        options["allow_empty"] = True
    if is_url:
        timeout = _positive(args, "timeout")
        if timeout is not None:
            options["timeout"] = timeout
        if args.bulk:
            options.update(level=level, group_id=args.bulk_group, since=args.since, work_dir=args.work_dir,
                           types=[t.strip() for t in (args.bulk_type or "").split(",") if t.strip()] or None,
                           type_filters=args.type_filter)
            if server_only and server_only != ["--timeout"]:
                raise DataOptionsError("--page-size and --max-concurrency apply to searches, not to --bulk")
        else:
            for name in ("page_size", "max_concurrency"):
                value = _positive(args, name)
                if value is not None:
                    options[name] = value
    try:
        source = open_source(spec, auth=auth, bulk=bool(args.bulk), **options)
    except DataSourceError as exc:
        raise DataOptionsError(f"--data: {exc}") from exc
    if isinstance(source, RestSource):
        try:  # GET [base]/metadata: an unreachable or refusing server fails now, not mid-run
            source.check()
        except DataSourceError as exc:
            raise DataOptionsError(f"--data: {exc}") from exc
    if isinstance(source, FileSource) and not allow_empty:
        try:
            found = source.patient_ids()  # the first pass, done now rather than after the measure compiles
        except DataSourceError as exc:
            if source.files_seen or not source.root.is_dir():
                raise DataOptionsError(f"--data: {exc}") from exc
            raise NoPatientsError(describe_no_patients(source), url=source.description) from exc
        if not found:
            raise NoPatientsError(describe_no_patients(source), url=source.description)
    return source


def open_patients(args: argparse.Namespace) -> ResourceSource:
    """:func:`open_data`, and a source that raises :class:`NoPatientsError` if it yields no patient
    (files are checked at once; servers and exports when read) unless ``--allow-empty``."""
    source = open_data(args)
    if isinstance(source, FileSource) or getattr(args, "allow_empty", False) or getattr(source, "checked_patients", False):
        return source
    return _RequirePatients(source)


def describe_no_patients(source: Any) -> str:
    """What a source held, for a user whose data gave no patient: files, resource types, issues."""
    lines = [f"no patients in {source.description}"]
    files = getattr(source, "files_seen", None)
    if files is not None:
        names = ", ".join(str(f.name) for f in files[:5]) + (f" and {len(files) - 5} more" if len(files) > 5 else "")
        lines.append(f"{len(files)} file(s) read: {names}" if files
                     else "no .json, .ndjson or .jsonl files found (searched recursively; hidden files skipped)")
    types = getattr(source, "types_seen", None)
    if types is not None and files != []:
        seen = ", ".join(f"{t} {n}" for t, n in types.most_common(8))
        lines.append(f"resource types seen: {seen} (a patient is a Patient resource; none was found)" if seen
                     else "no FHIR resource could be read")
    issues: list[ResourceIssue] = list(getattr(source, "issues", []) or [])
    if issues:
        lines.append(f"{format_issue_summary(issues)}; first: {issues[0]}")
    lines.append("give --allow-empty to run on no patients")
    return "\n  ".join(lines)


class _RequirePatients:
    """A source that raises :class:`NoPatientsError` when its patients run out and there were none."""

    def __init__(self, source: ResourceSource) -> None:
        self.source = source
        self.description = source.description
        self.issues = source.issues  # the same list: issues found while reading show here too

    def shared_resources(self) -> list[Resource]:
        return self.source.shared_resources()

    def patients(self) -> Iterator[PatientRecord]:
        n = 0
        for record in self.source.patients():
            n += 1
            yield record
        if n == 0:
            raise NoPatientsError(describe_no_patients(self.source), url=self.description)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.source, name)

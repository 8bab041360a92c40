"""`pedqm cql`: evaluate a CQL expression or a library's definitions and print CQL literals."""

from __future__ import annotations

import argparse
import datetime as _dt
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

from ..cql import CqlError, CqlRuntimeError, Library, compile_library, evaluate, to_cql
from ..cql.convert import from_python
from ..fhir.records import ResourceSource
from .arguments import timezone_offset
from .data_options import add_data_arguments, open_patients
from .errors import EXIT_OK, EXIT_RUNTIME_ERROR, UsageError


def register(sub: Any) -> None:
    p = sub.add_parser("cql", help="evaluate a CQL expression or library", description=__doc__)
    p.add_argument("expression", nargs="?", help="a CQL expression, e.g. 'Interval[1, 10] contains 5'")
    p.add_argument("--file", "-f", type=Path, help="a CQL library file (includes are looked up beside it)")
    p.add_argument("--define", "-d", action="append", metavar="NAME", help="evaluate only this definition (repeatable)")
    p.add_argument("--param", "-p", action="append", default=[], metavar="NAME=CQL",
                   help="a parameter value as a CQL expression, e.g. -p \"Measurement Period=Interval[@2025-01-01, @2026-01-01)\"")
    p.add_argument("--now", help="the evaluation request's Now() as an ISO date-time (default: the clock)")
    p.add_argument("--timezone-offset", type=timezone_offset, help="the evaluation timezone offset in hours, -14 to 14 (default: 0)")
    p.add_argument("--valuesets", type=Path, metavar="DIR", help="ValueSet resources (JSON, searched recursively) for `in \"Value Set\"` tests")
    add_data_arguments(p, required=False)
    p.set_defaults(run=run)


def _parse_params(items: list[str]) -> dict[str, Any]:
    params: dict[str, Any] = {}
    for item in items:
        name, sep, text = item.partition("=")
        if not sep or not name.strip():
            raise UsageError(f"--param expects NAME=CQL, got {item!r}")
        try:
            params[name.strip()] = evaluate(text)
        except CqlError as exc:
            raise UsageError(f"--param {name.strip()}: {str(exc).splitlines()[0]}") from exc
    return params


def run(args: argparse.Namespace) -> int:
    if (args.expression is None) == (args.file is None):
        raise UsageError("give either an EXPRESSION or --file LIBRARY.cql")
    if args.data and args.file is None:
        raise UsageError("--data needs --file LIBRARY.cql (a library evaluated per patient)")
    if args.file is not None and not args.file.is_file():
        raise UsageError(f"--file: no such file: {args.file}")
    if args.valuesets is not None and not args.valuesets.is_dir():
        raise UsageError(f"--valuesets: no such directory: {args.valuesets}")
    try:
        now = _dt.datetime.fromisoformat(args.now) if args.now else None
    except ValueError:
        raise UsageError(f"--now: {args.now!r} is not an ISO date-time (e.g. 2025-06-30T12:00:00+00:00)") from None
    offset: Decimal | None = args.timezone_offset
    params = _parse_params(args.param)
    if args.expression is not None:
        print(to_cql(evaluate(args.expression, params, now=now, timezone_offset=offset)))
        return EXIT_OK
    source = open_patients(args) if args.data else None  # a bad --data fails before anything else is said
    lib = compile_library(args.file)
    _check_defines(lib, args.define)
    _warn_unset_parameters(lib, params)
    if source is not None:
        return run_per_patient(args, source, lib, params, now, offset)
    return run_library(lib, args.define, params, now, offset)


def _check_defines(lib: Library, names: list[str] | None) -> None:
    unknown = [n for n in names or [] if n not in lib.definitions]
    if unknown:
        raise UsageError(f"--define: library {lib.name or '<anonymous>'} has no definition "
                         f"{', '.join(repr(n) for n in unknown)}; it has: {', '.join(lib.definitions)}")


def _warn_unset_parameters(lib: Library, params: dict[str, Any]) -> None:
    """Say which parameters are null: a Measurement Period left unset makes every interval test
    null, so the definitions look evaluated but answer nothing."""
    for name, p in lib.compiled.resolved.parameters.items():
        if p.default is None and name not in params:
            print(f'warning: parameter "{name}" has no default and no --param: it is null '
                  f'(give -p "{name}=<CQL>")', file=sys.stderr)


def run_library(lib: Library, names: list[str] | None, params: dict[str, Any],
                now: _dt.datetime | None, offset: Decimal | None) -> int:
    ctx = lib.context({k: from_python(v) for k, v in params.items()}, now=now, timezone_offset=offset)
    wanted = names or lib.definitions
    status = EXIT_OK
    for name in wanted:
        try:
            print(f"{name}: {show(lib.evaluate(name, ctx))}")
        except CqlRuntimeError as exc:
            print(f"{name}: run-time error: {exc}", file=sys.stderr)
            status = EXIT_RUNTIME_ERROR
    for message in ctx.messages:
        print(message, file=sys.stderr)
    return status


def show(value: Any) -> str:
    """A CQL literal, or `Encounter/123` for a FHIR resource (which has no CQL literal)."""
    if isinstance(value, list):
        return "{" + ", ".join(show(v) for v in value) + "}"
    data = getattr(value, "data", None)
    if isinstance(data, dict) and "resourceType" in data:
        return f"{data['resourceType']}/{data.get('id')}"
    try:
        return to_cql(value)
    except TypeError:
        return repr(value)


def run_per_patient(args: argparse.Namespace, source: ResourceSource, lib: Library, params: dict[str, Any],
                    now: _dt.datetime | None, offset: Decimal | None) -> int:
    """Evaluate a library's definitions for every patient of a data source (Patient context)."""
    from ..fhir.evaluation import patient_context
    from ..fhir.terminology import TerminologyError, ValueSetIndex

    try:
        terminology = ValueSetIndex.from_directory(args.valuesets) if args.valuesets else None
    except TerminologyError as exc:
        raise UsageError(f"--valuesets: {exc}") from exc
    shared = source.shared_resources()
    names = args.define or [n for n in lib.definitions if n != "Patient"]
    status = EXIT_OK
    for record in source.patients():
        ctx = patient_context(lib, record, terminology=terminology, shared=shared,
                              parameters={k: from_python(v) for k, v in params.items()}, now=now, timezone_offset=offset)
        print(f"Patient/{record.patient_id}")
        for name in names:
            try:
                print(f"  {name}: {show(lib.evaluate(name, ctx))}")
            except CqlRuntimeError as exc:
                print(f"  {name}: run-time error: {exc}", file=sys.stderr)
                status = EXIT_RUNTIME_ERROR
    for issue in source.issues[:20]:
        print(f"skipped: {issue}", file=sys.stderr)
    return status

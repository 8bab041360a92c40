"""`pedqm cql`: evaluate a CQL expression or a library's definitions and print CQL literals."""

from __future__ import annotations

import argparse
import datetime as _dt
import sys
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from ..cql import CqlCompileError, CqlError, CqlRuntimeError, compile_library, evaluate, to_cql
from ..cql.convert import from_python
from .data_options import DataOptionsError, add_data_arguments, open_data


def register(sub: Any) -> None:
    p = sub.add_parser("cql", help="evaluate a CQL expression or library", description=__doc__)
    p.add_argument("expression", nargs="?", help="a CQL expression, e.g. 'Interval[1, 10] contains 5'")
    p.add_argument("--file", "-f", type=Path, help="a CQL library file (includes are looked up beside it)")
    p.add_argument("--define", "-d", action="append", metavar="NAME", help="evaluate only this definition (repeatable)")
    p.add_argument("--param", "-p", action="append", default=[], metavar="NAME=CQL",
                   help="a parameter value as a CQL expression, e.g. -p \"Measurement Period=Interval[@2025-01-01, @2026-01-01)\"")
    p.add_argument("--now", help="the evaluation request's Now() as an ISO date-time (default: the clock)")
    p.add_argument("--timezone-offset", help="the evaluation timezone offset in hours (default: 0)")
    p.add_argument("--valuesets", type=Path, metavar="DIR", help="ValueSet resources (JSON, searched recursively) for `in \"Value Set\"` tests")
    add_data_arguments(p, required=False)
    p.set_defaults(run=run)


def _parse_params(items: list[str]) -> dict[str, Any]:
    params: dict[str, Any] = {}
    for item in items:
        name, sep, text = item.partition("=")
        if not sep or not name.strip():
            raise ValueError(f"--param expects NAME=CQL, got {item!r}")
        params[name.strip()] = evaluate(text)
    return params


def run(args: argparse.Namespace) -> int:
    if (args.expression is None) == (args.file is None):
        print("pedqm cql: give either an EXPRESSION or --file LIBRARY.cql", file=sys.stderr)
        return 2
    try:
        now = _dt.datetime.fromisoformat(args.now) if args.now else None
        offset = Decimal(args.timezone_offset) if args.timezone_offset else None
    except (ValueError, InvalidOperation) as exc:
        print(f"pedqm cql: {exc}", file=sys.stderr)
        return 2
    try:
        params = _parse_params(args.param)
        if args.expression is not None:
            value = evaluate(args.expression, params, now=now, timezone_offset=offset)
            print(to_cql(value))
            return 0
        if args.data:
            if args.file is None:
                print("pedqm cql: --data needs --file LIBRARY.cql (a library evaluated per patient)", file=sys.stderr)
                return 2
            return run_per_patient(args, params, now, offset)
        return run_library(args.file, args.define, params, now, offset)
    except CqlCompileError as exc:
        print(str(exc), file=sys.stderr)
        n = len(exc.errors)
        print(f"{n} error{'s' if n != 1 else ''}", file=sys.stderr)
        return 1
    except CqlRuntimeError as exc:
        print(f"run-time error: {exc}", file=sys.stderr)
        return 3
    except DataOptionsError as exc:
        print(f"pedqm cql: {exc}", file=sys.stderr)
        return 2
    except (CqlError, ValueError, OSError) as exc:
        print(f"pedqm cql: {exc}", file=sys.stderr)
        return 2 if isinstance(exc, (ValueError, OSError)) else 1


def run_library(path: Path, names: list[str] | None, params: dict[str, Any],
                now: _dt.datetime | None, offset: Decimal | None) -> int:
    if not path.is_file():
        raise OSError(f"no such file: {path}")
    lib = compile_library(path)
    ctx = lib.context({k: from_python(v) for k, v in params.items()}, now=now, timezone_offset=offset)
    wanted = names or lib.definitions
    status = 0
    for name in wanted:
        try:
            print(f"{name}: {show(lib.evaluate(name, ctx))}")
        except CqlRuntimeError as exc:
            print(f"{name}: run-time error: {exc}", file=sys.stderr)
            status = 3
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


def run_per_patient(args: argparse.Namespace, params: dict[str, Any], now: _dt.datetime | None,
                    offset: Decimal | None) -> int:
    """Evaluate a library's definitions for every patient of a data source (Patient context)."""
    from ..fhir.evaluation import patient_context
    from ..fhir.terminology import ValueSetIndex

    if not args.file.is_file():
        raise OSError(f"no such file: {args.file}")
    lib = compile_library(args.file)
    source = open_data(args)
    terminology = ValueSetIndex.from_directory(args.valuesets) if args.valuesets else None
    shared = source.shared_resources()
    names = args.define or [n for n in lib.definitions if n != "Patient"]
    status = 0
    for record in source.patients():
        ctx = patient_context(lib, record, terminology=terminology, shared=shared,
                              parameters={k: from_python(v) for k, v in params.items()}, now=now, timezone_offset=offset)
        print(f"Patient/{record.patient_id}")
        for name in names:
            try:
                print(f"  {name}: {show(lib.evaluate(name, ctx))}")
            except CqlRuntimeError as exc:
                print(f"  {name}: run-time error: {exc}", file=sys.stderr)
                status = 3
    for issue in source.issues[:20]:
        print(f"skipped: {issue}", file=sys.stderr)
    return status

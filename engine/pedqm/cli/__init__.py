"""pedqm's command line: one module per command, each a thin layer over the library API.

Exit codes: 0 success; 1 the CQL has syntax or semantic errors (or a test case failed); 2 bad
usage or bad input (an option, the data, the measure package); 3 evaluation failed (a CQL
run-time error, or every patient errored); 70 an internal error (a bug in pedqm: please report
it). Commands raise and :mod:`.errors` maps the error to the code, once for all of them.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from . import (
    chronic_command,
    cql_command,
    demo_command,
    diff_command,
    errors,
    evaluate_command,
    explain_command,
    gaps_command,
    list_command,
    serve_command,
    synth_command,
    test_command,
    vet_command,
)
from .errors import EXIT_COMPILE_ERROR, EXIT_INTERNAL, EXIT_OK, EXIT_RUNTIME_ERROR, EXIT_USAGE

__all__ = ["EXIT_COMPILE_ERROR", "EXIT_INTERNAL", "EXIT_OK", "EXIT_RUNTIME_ERROR", "EXIT_USAGE", "build_parser", "main"]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="pedqm", description="FHIR-native quality measurement for children's health care")
    parser.add_argument("--version", action="version", version=f"pedqm {_version()}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    cql_command.register(sub)
    evaluate_command.register(sub)
    test_command.register(sub)
    list_command.register(sub)
    chronic_command.register(sub)
    demo_command.register(sub)
    synth_command.register(sub)
    vet_command.register(sub)
    explain_command.register(sub)
    diff_command.register(sub)
    serve_command.register(sub)
    gaps_command.register(sub)
    return parser


def _version() -> str:
    """The installed distribution's version (the source tree's when run uninstalled)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("pedqm")
    except PackageNotFoundError:  # pragma: no cover - running from a checkout without install
        return "unknown (not installed)"


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse has printed the usage error (2) or the help (0)
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE
    if not getattr(args, "run", None):
        parser.print_help()
        return EXIT_USAGE
    try:
        code: int = args.run(args)
        return code
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # output piped into `head` and closed: not an error
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except Exception as exc:  # noqa: BLE001 - every error is said once, with its exit code; never a traceback
        return errors.report(exc, args.command)


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())

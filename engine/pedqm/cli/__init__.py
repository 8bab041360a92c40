"""pedqm's command line: one module per command, each a thin layer over the library API.

Exit codes: 0 success; 1 the CQL has syntax or semantic errors; 2 bad command-line usage;
3 a CQL run-time error; 70 an internal error (a bug in pedqm: please report it).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from . import (
    chronic_command,
    cql_command,
    demo_command,
    evaluate_command,
    list_command,
    synth_command,
    test_command,
    vet_command,
)

EXIT_OK = 0
EXIT_COMPILE_ERROR = 1
EXIT_USAGE = 2
EXIT_RUNTIME_ERROR = 3
EXIT_INTERNAL = 70


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="pedqm", description="FHIR-native quality measurement for children's health care")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    cql_command.register(sub)
    evaluate_command.register(sub)
    test_command.register(sub)
    list_command.register(sub)
    chronic_command.register(sub)
    demo_command.register(sub)
    synth_command.register(sub)
    vet_command.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
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
    except Exception as exc:  # noqa: BLE001 - the last line of defence: never a bare traceback
        print(f"pedqm: internal error: {type(exc).__name__}: {exc}", file=sys.stderr)
        print("This is a bug in pedqm; please report it with the command you ran.", file=sys.stderr)
        return EXIT_INTERNAL


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())

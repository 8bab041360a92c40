"""The one map from error to exit code, used by every command through :func:`pedqm.cli.main`.

Commands raise; they do not pick exit codes for errors or print them. ``main`` catches whatever a
command raises, prints one ``pedqm COMMAND: message`` (never a traceback) and returns the code
this map gives, so the same mistake is the same exit code in every command:

====  =================================================================================
0     success
1     the CQL has syntax or semantic errors (:class:`CqlCompileError`, other CqlError);
      ``pedqm test``: a case failed
2     bad usage or bad input, found before any work starts: :class:`UsageError` (an option's
      value; ``DataOptionsError`` for ``--data``, a source that cannot be opened or reached
      included), data with no patient (:class:`NoPatientsError`), a measure package that
      cannot be used (:class:`MeasurePackageError`, missing value sets included), a file
      that cannot be read or written (OSError)
3     the run failed: a CQL run-time error (:class:`CqlRuntimeError`), a data source that
      broke off mid-run (:class:`DataSourceError`), every patient errored (:class:`RunError`)
70    anything else: a bug in pedqm, said as one
====  =================================================================================
"""

from __future__ import annotations

import sys

from ..cql import CqlCompileError, CqlError, CqlRuntimeError
from ..fhir.sources import DataSourceError
from ..measure import MeasurePackageError

EXIT_OK = 0
EXIT_COMPILE_ERROR = 1
EXIT_TEST_FAILED = 1  # `pedqm test`: a case's results differ from its expected report
EXIT_USAGE = 2
EXIT_RUNTIME_ERROR = 3
EXIT_INTERNAL = 70


class UsageError(Exception):
    """A command-line mistake: an option's value, or options that do not go together. The
    message names the option, so the user knows what to change."""


class NoPatientsError(DataSourceError):
    """The data holds no patient, and the user did not ask for an empty run (``--allow-empty``):
    a table of zeros with exit 0 would look like a result."""


class RunError(Exception):
    """The run went through but produced nothing usable (e.g. every patient errored)."""


# First match wins: subclasses before their bases (CqlRuntimeError before CqlError,
# NoPatientsError before DataSourceError before OSError).
EXIT_CODES: tuple[tuple[type[BaseException], int], ...] = (
    (UsageError, EXIT_USAGE),
    (CqlCompileError, EXIT_COMPILE_ERROR),
    (CqlRuntimeError, EXIT_RUNTIME_ERROR),
    (CqlError, EXIT_COMPILE_ERROR),
    (NoPatientsError, EXIT_USAGE),
    (MeasurePackageError, EXIT_USAGE),
    (DataSourceError, EXIT_RUNTIME_ERROR),
    (OSError, EXIT_USAGE),
    (RunError, EXIT_RUNTIME_ERROR),
)


def exit_code(exc: BaseException) -> int:
    """The exit code for an error a command raised (70 for anything not in :data:`EXIT_CODES`)."""
    for cls, code in EXIT_CODES:
        if isinstance(exc, cls):
            return code
    return EXIT_INTERNAL


def report(exc: BaseException, command: str | None) -> int:
    """Print ``exc`` for the user and return its exit code."""
    code = exit_code(exc)
    prog = f"pedqm {command}" if command else "pedqm"
    if isinstance(exc, CqlCompileError):
        print(str(exc), file=sys.stderr)  # file:line:column and a caret, one per error
        n = len(exc.errors)
        print(f"{n} error{'s' if n != 1 else ''}", file=sys.stderr)
    elif isinstance(exc, CqlRuntimeError):
        print(f"{prog}: run-time error: {exc}", file=sys.stderr)
    elif code == EXIT_INTERNAL:
        print(f"{prog}: internal error: {type(exc).__name__}: {exc}", file=sys.stderr)
        print("This is a bug in pedqm; please report it with the command you ran.", file=sys.stderr)
    elif isinstance(exc, OSError) and not isinstance(exc, DataSourceError) and exc.strerror:
        where = f": {exc.filename}" if exc.filename else ""
        print(f"{prog}: {exc.strerror}{where}", file=sys.stderr)
    else:
        print(f"{prog}: {exc}", file=sys.stderr)
    return code

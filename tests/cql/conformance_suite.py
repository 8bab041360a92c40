"""Loader and judge for the HL7 CQL conformance suite (../shared/cql-tests, Apache-2.0).

Each XML <test> has an <expression> and expected <output> literals (or `invalid=` for an
expected error). Expression and expected output are evaluated in one evaluation request (so
`Now()` agrees) and compared structurally: same CQL type, and CQL equality or identical literal
rendering (the latter for values whose `=` is null, such as lists containing nulls).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

NS = "{http://hl7.org/fhirpath/tests}"
SUITE_DIR = Path(__file__).resolve().parents[2].parent / "shared" / "cql-tests"
KNOWN_FAILURES = Path(__file__).with_name("conformance_known_failures.txt")
ENGINE_VERSION = (1, 5)


@dataclass(frozen=True)
class Case:
    file: str
    group: str
    name: str
    expression: str
    outputs: tuple[str, ...]
    invalid: str | None  # 'true' / 'semantic' / None
    version_to: str | None

    @property
    def id(self) -> str:
        return f"{self.file}::{self.group}::{self.name}"

    @property
    def applies(self) -> bool:
        if not self.version_to:
            return True
        parts = tuple(int(x) for x in self.version_to.split(".")[:2])
        return parts >= ENGINE_VERSION


def load_cases(suite_dir: Path = SUITE_DIR) -> list[Case]:
    cases = []
    for path in sorted(suite_dir.glob("*.xml")):
        root = ET.parse(path).getroot()
        for group in root.iter(NS + "group"):
            for test in group.iter(NS + "test"):
                expr = test.find(NS + "expression")
                if expr is None or expr.text is None:
                    continue
                outputs = tuple((o.text or "").strip() for o in test.findall(NS + "output"))
                cases.append(Case(path.stem, group.get("name", ""), test.get("name", ""), expr.text.strip(),
                                  outputs, expr.get("invalid"), test.get("versionTo")))
    return cases


def load_known_failures(path: Path = KNOWN_FAILURES) -> dict[str, str]:
    """`<case id>  <reason>` per line; '#' starts a comment."""
    known: dict[str, str] = {}
    if not path.exists():
        return known
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        # ids are File::Group::Name where Group may contain spaces; the name has none
        file_part, group, rest = line.split("::", 2)
        name, _, reason = rest.partition(" ")
        known[f"{file_part}::{group}::{name}"] = reason.strip() or "no reason given"
    return known


def same_value(actual: Any, expected: Any) -> bool:
    """Structural sameness of two run-time values, strict about CQL types."""
    from pedqm.cql import to_cql
    from pedqm.cql.runtime.compare import equal
    from pedqm.cql.runtime.temporal import Uncertainty
    from pedqm.cql.runtime.values import CqlTuple, Interval
    from pedqm.cql.types import type_of_value

    if actual is None or expected is None:
        return actual is None and expected is None
    if isinstance(actual, Uncertainty) and isinstance(expected, Interval):
        # the suite writes an uncertain duration as the interval of its possible values
        return (actual.low, actual.high) == (expected.low, expected.high)
    if isinstance(expected, list):
        return isinstance(actual, list) and len(actual) == len(expected) and all(
            same_value(a, e) for a, e in zip(actual, expected))
    if isinstance(expected, Interval):
        return isinstance(actual, Interval) and (actual.low_closed, actual.high_closed) == (
            expected.low_closed, expected.high_closed) and same_value(actual.low, expected.low) and same_value(
            actual.high, expected.high)
    if isinstance(expected, CqlTuple):
        return isinstance(actual, CqlTuple) and set(actual) == set(expected) and all(
            same_value(actual[k], expected[k]) for k in expected)
    if type_of_value(actual) != type_of_value(expected):
        # an untyped expected literal such as 5 for a Decimal result is accepted when CQL equal
        if not (isinstance(actual, Decimal) and isinstance(expected, int) and not isinstance(expected, bool)):
            return False
    if equal(actual, expected) is True:
        return True
    try:
        return to_cql(actual) == to_cql(expected)
    except Exception:
        return False


class Outcome:
    PASS = "pass"
    FAIL = "fail"
    ERROR = "error"  # a CQL error where a value was expected
    CRASH = "crash"  # a Python exception that is not a CqlError: an engine bug


def run_case(case: Case) -> tuple[str, str]:
    """Evaluate one case; return (outcome, detail)."""
    from pedqm.cql import CqlError, compile_library, to_cql

    if case.invalid:
        try:
            lib = compile_library(f'define "Actual": {case.expression}\n')
            lib.evaluate("Actual", lib.context(timezone_offset=0))
        except CqlError as exc:
            return Outcome.PASS, f"error as expected: {str(exc).splitlines()[0]}"
        except Exception as exc:  # noqa: BLE001
            return Outcome.CRASH, f"{type(exc).__name__}: {exc}"
        return Outcome.FAIL, "expected an error, got a value"
    outputs = case.outputs or ("",)
    text = f'define "Actual": {case.expression}\n'
    for i, out in enumerate(outputs):
        text += f'define "Expected{i}": {out or "null"}\n'
    try:
        lib = compile_library(text)
        ctx = lib.context(timezone_offset=0)
        actual = lib.evaluate("Actual", ctx)
        expected = [lib.evaluate(f"Expected{i}", ctx) for i in range(len(outputs))]
    except CqlError as exc:
        return Outcome.ERROR, str(exc)
    except Exception as exc:  # noqa: BLE001
        import traceback

        return Outcome.CRASH, f"{type(exc).__name__}: {exc}\n{traceback.format_exc(limit=-3)}"
    want: Any = expected[0] if len(expected) == 1 else expected
    if len(expected) > 1 and not isinstance(actual, list):
        want = expected[0]
    if same_value(actual, want):
        return Outcome.PASS, ""
    try:
        shown = to_cql(actual)
    except Exception:  # noqa: BLE001
        shown = repr(actual)
    return Outcome.FAIL, f"got {shown}, expected {' / '.join(outputs)}"

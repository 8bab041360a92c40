"""Fuzzing the CQL pipeline (issue 10 §5): mutated CQL compiles, evaluates or fails with a pedqm
error (:class:`CqlError` and subclasses); any other exception is a crash.

Seeds are the measure libraries (measure_library/*/*.cql) and the HL7 conformance expressions;
mutations are token deletions, duplications, insertions, replacements, splices and deep nesting.

* default run: a few seconds, derandomized (the same inputs every run);
* long run: ``PEDQM_FUZZ_EXAMPLES=20000 pytest -m slow tests/cql/test_fuzz.py`` (optionally
  ``PEDQM_FUZZ_SEED``); stops and shrinks at the first crash, as hypothesis does;
* crash census: ``python -m tests.cql.test_fuzz --seconds 300 [--seed N]`` keeps going and
  prints one shortest input per crash class (exception type and innermost pedqm frame).
"""

from __future__ import annotations

import argparse
import os
import random
import re
import signal
import sys
import time
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from types import FrameType

import pytest
from hypothesis import HealthCheck, Phase, given, note, seed, settings
from hypothesis import strategies as st

from pedqm.cql import CqlError, compile_library, evaluate

from .conformance_suite import SUITE_DIR, load_cases

ROOT = Path(__file__).resolve().parents[2]
TIME_LIMIT = 20  # seconds per input; longer is reported as a hang
KNOWN_CRASHES = Path(__file__).with_name("fuzz_known_crashes.txt")

Choose = Callable[[int], int]
"""choose(n) -> an int in range(n): hypothesis draws it (and shrinks it) or random does."""

_TOKEN = re.compile(r"""\s+|//[^\n]*|/\*.*?\*/|'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*"|`(?:[^`\\]|\\.)*`"""
                    r"""|@[0-9T][0-9T:.+\-Z]*|[0-9]+(?:\.[0-9]+)?L?|[$%]?\w+|<=|>=|!=|!~|<>|->|.""", re.S)

VOCABULARY = (
    "( ) [ ] { } < > , : . ; + - * / ^ & | = != ~ !~ <= >= <> -> % "
    "and or xor implies not in contains is as cast convert to between properly includes "
    "included during before after on starts ends occurs same within of meets overlaps "
    "from where return all distinct sort by asc desc let with without such that aggregate "
    "starting define function fluent returns external context parameter default valueset "
    "codesystem codesystems code concept include using library version called public private "
    "null true false if then else case when end exists singleton point start width successor "
    "predecessor minimum maximum expand collapse per flatten union intersect except div mod "
    "year month day hour minute second millisecond years days Interval List Tuple Choice Code "
    "Concept Integer Decimal String Boolean DateTime Date Time Quantity Patient Observation "
    "$this $index $total 0 1 -1 2147483647 2147483648 9223372036854775807L 1.5 0.00000001 1L "
    "'x' '' 'mg' 'cm' @2020 @2020-01-01 @2020-01-01T10:00:00.000Z @T12:00 \"X\" `x` X"
).split() + ["\r", "\n", "\u2028", "\x0c", "\x00", "é", "\\", "'", '"', "`", "/*", "*/", "//", "@", "'\\uD800'"]

NESTING = (  # (opening, closing) repeated around a token span
    ("(", ")"), ("Abs(", ")"), ("{", "}"), ("not ", ""), ("-", ""), ("singleton from {", "}"),
    ("exists ", ""), ("List<", ">"), ("Interval[1, ", "]"), ("if true then ", " else null"),
    ("Tuple{a: ", "}"), ("1 + ", ""), ("true or ", ""), ("{1} union ", ""), ("case when true then ", " else 1 end"),
    ("(", ").a"), ("", " as Integer"), ("", "[0]"), ("", ".x"), ("", " + 1"), ("", " or false"),
    ("[Observation: ", "]"), ("from ", " X"), ("Coalesce(", ", 1)"), ("start of ", ""),
)


def tokenize(text: str) -> list[str]:
    return _TOKEN.findall(text)


def mutate(text: str, choose: Choose, donors: list[str]) -> str:
    """Apply 1-4 random edits to `text`'s tokens (whitespace and comments are tokens too)."""
    tokens = tokenize(text) or [""]
    for _ in range(1 + choose(4)):
        n = len(tokens)
        i = choose(n + 1)
        span = 1 + choose(8)
        kind = choose(7)
        if kind == 0:  # delete
            del tokens[i:i + span]
        elif kind == 1:  # duplicate
            tokens[i:i] = tokens[i:i + span]
        elif kind == 2:  # insert a token
            tokens.insert(i, f" {VOCABULARY[choose(len(VOCABULARY))]} ")
        elif kind == 3:  # replace a token
            tokens[min(i, n - 1)] = f" {VOCABULARY[choose(len(VOCABULARY))]} "
        elif kind == 4:  # splice tokens from another seed
            other = tokenize(donors[choose(len(donors))]) or [""]
            j = choose(len(other))
            tokens[i:i] = other[j:j + span * 4]
        else:  # deep nesting around tokens[i:i+span]
            opening, closing = NESTING[choose(len(NESTING))]
            times = (2, 50, 250, 1000, 3000)[choose(5)]
            tokens[i:i + span] = [opening * times, *tokens[i:i + span], closing * times]
        if not tokens:
            tokens = [""]
    return "".join(tokens)


@lru_cache(maxsize=1)
def library_seeds() -> tuple[str, ...]:
    return tuple(p.read_text(encoding="utf-8") for p in sorted(ROOT.glob("measure_library/*/*.cql")))


@lru_cache(maxsize=1)
def expression_seeds() -> tuple[str, ...]:
    if not SUITE_DIR.is_dir():  # pragma: no cover - CI always has ../shared
        return ("1 + 2 * 3", "Interval[1, 10] overlaps Interval[5, 20]", "({1, 2, 3}) X where X > 1 return X * 2",
                "Tuple{a: 1, b: 'x'}.b", "DateTime(2020, 1, 1) + 1 month", "Round(1.55, 1)")
    return tuple(sorted({c.expression for c in load_cases()}))


class Hang(BaseException):
    """One input ran longer than TIME_LIMIT (a BaseException: the engine must not swallow it)."""


@contextmanager
def time_limit(seconds: int) -> Iterator[None]:
    if not hasattr(signal, "SIGALRM"):  # pragma: no cover - Windows
        yield
        return

    def on_alarm(signum: int, frame: FrameType | None) -> None:
        raise Hang(f"took more than {seconds} s")

    previous = signal.signal(signal.SIGALRM, on_alarm)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def crash_class(exc: BaseException) -> str:
    """`TypeError @ cql/operators/string.py:Indexer`: the exception and innermost pedqm frame."""
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if "/pedqm/" in f.filename]
    where = f"{frames[-1].filename.split('/pedqm/')[-1]}:{frames[-1].name}" if frames else "?"
    return f"{type(exc).__name__} @ {where}"


def load_known_crashes() -> list[tuple[str, str, str]]:
    """(crash class, kind, reproduction) from fuzz_known_crashes.txt."""
    rows = []
    for line in KNOWN_CRASHES.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            key, kind, text = line.split("\t", 2)
            rows.append((key, kind, text))
    return rows


_KNOWN = {key for key, _, _ in load_known_crashes()}


def run_library(text: str, *, tolerate_known: bool = True) -> None:
    """Compile, then evaluate every definition (no data: retrieves are empty)."""
    _run(lambda: compile_library(text).evaluate_all(), tolerate_known)


def run_expression(text: str, *, tolerate_known: bool = True) -> None:
    _run(lambda: evaluate(text), tolerate_known)


def _run(action: Callable[[], object], tolerate_known: bool) -> None:
    try:
        with time_limit(TIME_LIMIT):
            action()
    except CqlError:
        pass
    except Exception as exc:
        if not (tolerate_known and crash_class(exc) in _KNOWN):
            raise


def _draw_chooser(data: st.DataObject) -> Choose:
    return lambda n: data.draw(st.integers(0, max(n - 1, 0)))


# No `explain` phase: it re-runs the failing input under a line tracer, far too slow here.
_PHASES = (Phase.explicit, Phase.reuse, Phase.generate, Phase.shrink)
_QUICK = settings(max_examples=25, deadline=None, derandomize=True, database=None, phases=_PHASES,
                  suppress_health_check=list(HealthCheck))
_LONG = settings(max_examples=int(os.environ.get("PEDQM_FUZZ_EXAMPLES", "3000")), deadline=None,
                 database=None, phases=_PHASES, suppress_health_check=list(HealthCheck))
_LONG_SEED = int(os.environ.get("PEDQM_FUZZ_SEED", "0"))


def _mutated(data: st.DataObject, seeds: tuple[str, ...]) -> str:
    text = mutate(seeds[data.draw(st.integers(0, len(seeds) - 1))], _draw_chooser(data), list(seeds))
    note(f"input: {text if len(text) < 2000 else text[:1000] + ' ... ' + text[-500:]!r}")
    return text


def _library_case(data: st.DataObject) -> None:
    run_library(_mutated(data, library_seeds()))


def _expression_case(data: st.DataObject) -> None:
    run_expression(_mutated(data, expression_seeds()))


@_QUICK
@given(st.data())
def test_fuzz_measure_libraries(data: st.DataObject) -> None:
    _library_case(data)


@settings(_QUICK, max_examples=100)
@given(st.data())
def test_fuzz_conformance_expressions(data: st.DataObject) -> None:
    _expression_case(data)


@pytest.mark.slow
@seed(_LONG_SEED)
@_LONG
@given(st.data())
def test_fuzz_measure_libraries_long(data: st.DataObject) -> None:
    _library_case(data)


@pytest.mark.slow
@seed(_LONG_SEED)
@_LONG
@given(st.data())
def test_fuzz_conformance_expressions_long(data: st.DataObject) -> None:
    _expression_case(data)


@pytest.mark.parametrize("key,kind,text", [pytest.param(*row, id=row[0]) for row in load_known_crashes()])
@pytest.mark.xfail(strict=True, reason="a known crash, for the resolver/operators to fix")
def test_known_crash_still_reproduces(key: str, kind: str, text: str) -> None:
    (run_library if kind == "library" else run_expression)(text, tolerate_known=False)


def census(seconds: float, rng_seed: int) -> dict[str, tuple[str, str, str]]:
    """Fuzz for `seconds`; per crash class keep (kind, shortest input, message)."""
    rng = random.Random(rng_seed)
    libs, exprs = list(library_seeds()), list(expression_seeds())
    found: dict[str, tuple[str, str, str]] = {}
    runs = 0
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        kind = "library" if rng.random() < 0.3 else "expression"
        pool = libs if kind == "library" else exprs
        text = mutate(rng.choice(pool), rng.randrange, pool)
        runs += 1
        try:
            (run_library if kind == "library" else run_expression)(text, tolerate_known=False)
        except (Exception, Hang) as exc:  # a crash: anything but CqlError
            key = crash_class(exc)
            if key not in found or len(text) < len(found[key][1]):
                found[key] = (kind, text, f"{type(exc).__name__}: {str(exc)[:200]}")
    print(f"{runs} inputs in {seconds:.0f} s, {len(found)} crash classes", file=sys.stderr)
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    sys.setrecursionlimit(1000)
    found = census(args.seconds, args.seed)
    for key, (kind, text, message) in sorted(found.items()):
        shown = text if len(text) < 400 else text[:200] + f" ...[{len(text)} chars]... " + text[-100:]
        known = " (known)" if key in _KNOWN else ""
        print(f"\n== {key}{known}\n   {kind}: {shown!r}\n   {message}")
    return 1 if found else 0


if __name__ == "__main__":
    raise SystemExit(main())

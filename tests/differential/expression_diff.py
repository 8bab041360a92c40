"""Run generated CQL expressions through the reference translator, cql-execution and pedqm.

Flow per batch: one library of many defines is translated to ELM (translator errors mean the
generator produced an ill-typed expression: counted, never compared), the ELM runs in
cql-execution (``tools/oracles/cql_exec.py``), each define runs in pedqm on its own library, and
the two values are compared with CQL semantics.  A disagreeing expression is then shrunk to its
innermost disagreeing subterm, whose operator names the disagreement class ``Op|kind``.
"""

from __future__ import annotations

import datetime as _dt
import fnmatch
import importlib.util
import json
import signal
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from types import ModuleType
from typing import Any

from expression_gen import Node, library_text

REPO = Path(__file__).resolve().parents[2]
ORACLES = REPO / "tools" / "oracles"
KNOWN_FILE = Path(__file__).with_name("expression_known_disagreements.txt")
NOW = _dt.datetime(2024, 1, 1, tzinfo=_dt.UTC)  # the oracle's fixed clock
EIGHT = Decimal("1e-8")
CHUNK = 250  # defines per translated library
PEDQM_TIMEOUT_S = 5


def load_oracle(name: str) -> ModuleType:
    """Import ``tools/oracles/<name>.py`` by path (they are not a package)."""
    key = f"pedqm_oracle_{name}"
    if key in sys.modules:
        return sys.modules[key]
    spec = importlib.util.spec_from_file_location(key, ORACLES / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[key] = module
    spec.loader.exec_module(module)
    return module


class PedqmFailure:
    """pedqm did not produce a value: a CQL error (``crash`` False) or a Python exception."""

    def __init__(self, message: str, crash: bool, phase: str = "run") -> None:
        self.message, self.crash, self.phase = message, crash, phase

    def __repr__(self) -> str:
        return f"{'crash' if self.crash else 'error'}({self.phase}): {self.message}"


@dataclass
class Result:
    """One expression's outcome in both engines."""

    node: Node
    gen_errors: list[str] = field(default_factory=list)
    elm_type: str | None = None
    oracle: Any = None
    pedqm: Any = None
    kind: str = "agree"  # agree | both-error | value | type | pedqm-error | oracle-error | ...

    @property
    def agrees(self) -> bool:
        return self.kind in ("agree", "both-error")

    def show(self) -> str:
        return (f"{_cut(self.node.text)}\n      pedqm:          {_cut(render_pedqm(self.pedqm))}\n"
                f"      cql-execution:  {_cut(render_oracle(self.oracle))}")

    @property
    def cls(self) -> str:
        """Disagreement class: operator label and kind, e.g. ``Predecessor|value``."""
        return f"{self.node.op}|{self.kind}"


def _cut(text: str, limit: int = 400) -> str:
    return text if len(text) <= limit else text[:limit] + f"... ({len(text)} chars)"


# -- oracle JSON -> pedqm values ------------------------------------------------------------------

def from_oracle(v: Any) -> Any:
    """Turn cql_exec_run.mjs's typed JSON into pedqm run-time values (numbers as int/Decimal)."""
    from pedqm.cql.runtime.quantity import Quantity, Ratio
    from pedqm.cql.runtime.temporal import Date, DateTime, Time
    from pedqm.cql.runtime.uncertainty import Uncertainty
    from pedqm.cql.runtime.values import Code, Concept, CqlTuple, Interval

    if v is None or isinstance(v, bool | str):
        return v
    if isinstance(v, list):
        return [from_oracle(x) for x in v]
    t = v.get("type")
    if t == "Number":
        n = v["value"]
        if isinstance(n, int):
            return n
        if isinstance(n, float):
            return Decimal(repr(n))
        return str(n)  # Infinity / NaN / a BigInt string: kept as text so it never matches
    if t == "Date":
        return Date(v["year"], v["month"], v["day"])
    if t == "DateTime":
        off = v["offset"]
        return DateTime(v["year"], v["month"], v["day"], v["hour"], v["minute"], v["second"], v["millisecond"],
                        None if off is None else Decimal(repr(off)))
    if t == "Time":
        return Time(v["hour"], v["minute"], v["second"], v["millisecond"])
    if t == "Interval":
        return Interval(from_oracle(v["low"]), from_oracle(v["high"]), v["lowClosed"], v["highClosed"])
    if t == "Quantity":
        return Quantity(Decimal(str(from_oracle(v["value"]))), v["unit"])
    if t == "Ratio":
        return Ratio(from_oracle(v["numerator"]), from_oracle(v["denominator"]))
    if t == "Uncertainty":
        low, high = from_oracle(v["low"]), from_oracle(v["high"])
        return Uncertainty(low, high) if isinstance(low, int) and isinstance(high, int) and low <= high else (low, high)
    if t == "Code":
        return Code(v["code"], v["system"], v["version"], v["display"])
    if t == "Concept":
        return Concept(tuple(from_oracle(c) for c in v["codes"]), v["display"])
    if t == "Tuple":
        return CqlTuple({k: from_oracle(x) for k, x in v["elements"].items()})
    raise ValueError(f"unknown oracle value {v!r}")


def render_pedqm(value: Any) -> str:
    from pedqm.cql import to_cql

    if isinstance(value, PedqmFailure):
        return repr(value)
    try:
        return to_cql(value)
    except Exception:  # noqa: BLE001 - rendering is best effort
        return repr(value)


def render_oracle(value: Any) -> str:
    if isinstance(value, dict) and "error" in value:
        return f"error: {value['error']}"
    try:
        return render_pedqm(from_oracle(value))
    except Exception:  # noqa: BLE001
        return json.dumps(value)


# -- comparison -----------------------------------------------------------------------------------

def _num(x: Any) -> Decimal | None:
    if isinstance(x, bool) or not isinstance(x, int | Decimal):
        return None
    return Decimal(x)


def _same_number(a: Decimal, b: Decimal) -> bool:
    if a == b or abs(a - b) <= EIGHT / 2:
        return True
    scale = max(abs(a), abs(b))
    return bool(scale and abs(a - b) / scale < Decimal("1e-12"))


_CALENDAR = {"year", "month", "week", "day", "hour", "minute", "second", "millisecond"}


def _unit(u: str | None) -> str:
    u = u or "1"
    return u[:-1] if u.endswith("s") and u[:-1] in _CALENDAR else u


def same(p: Any, q: Any) -> bool:
    """CQL-semantic sameness of a pedqm value and a converted oracle value (see module doc)."""
    from pedqm.cql.runtime.compare import equal
    from pedqm.cql.runtime.quantity import Quantity, Ratio
    from pedqm.cql.runtime.temporal import Date, DateTime, Time
    from pedqm.cql.runtime.uncertainty import Uncertainty
    from pedqm.cql.runtime.values import Code, Concept, CqlTuple, Interval

    if p is None or q is None:
        return p is None and q is None
    if isinstance(p, bool) or isinstance(q, bool):
        return isinstance(p, bool) and isinstance(q, bool) and p == q
    a, b = _num(p), _num(q)
    if a is not None and b is not None:
        return _same_number(a, b)
    if isinstance(p, str) or isinstance(q, str):
        return p == q
    if isinstance(p, list) or isinstance(q, list):
        return isinstance(p, list) and isinstance(q, list) and len(p) == len(q) and all(map(same, p, q))
    for cls in (Date, DateTime, Time):
        if isinstance(p, cls) or isinstance(q, cls):
            return type(p) is type(q) and p.to_cql() == q.to_cql()
    if isinstance(p, Quantity) and isinstance(q, Quantity):
        if _same_number(p.value, q.value) and _unit(p.unit) == _unit(q.unit):
            return True
        try:  # the same quantity in other units (e.g. 'g2/dL' and 'g.mg/dL') is CQL-equal
            return equal(p, q) is True
        except Exception:  # noqa: BLE001
            return False
    if isinstance(p, Interval) and isinstance(q, Interval):
        if (p.low_closed, p.high_closed) == (q.low_closed, q.high_closed) and same(p.low, q.low) and same(p.high, q.high):
            return True
        try:
            return equal(p, q) is True
        except Exception:  # noqa: BLE001
            return False
    if isinstance(p, Uncertainty) and isinstance(q, Uncertainty):
        return (p.low, p.high) == (q.low, q.high)
    if isinstance(p, CqlTuple) and isinstance(q, CqlTuple):
        return set(p) == set(q) and all(same(p[k], q[k]) for k in p)
    if isinstance(p, Code) and isinstance(q, Code):
        return (p.code, p.system, p.version, p.display) == (q.code, q.system, q.version, q.display)
    if isinstance(p, Concept) and isinstance(q, Concept):
        return p.display == q.display and same(list(p.codes), list(q.codes))
    if isinstance(p, Ratio) and isinstance(q, Ratio):
        return same(p.numerator, q.numerator) and same(p.denominator, q.denominator)
    return False


def classify(pedqm: Any, oracle: Any, elm_type: str | None) -> str:
    """The kind of (dis)agreement between pedqm's value and the oracle's JSON value."""
    oracle_failed = isinstance(oracle, dict) and "error" in oracle
    if isinstance(pedqm, PedqmFailure):
        if pedqm.crash:
            return "pedqm-crash"
        if pedqm.phase == "compile":
            return "pedqm-compile-error"
        return "both-error" if oracle_failed else "pedqm-error"
    if oracle_failed:
        return "oracle-error"
    try:
        converted = from_oracle(oracle)
    except Exception:  # noqa: BLE001
        return "value"
    if pedqm is None and converted is not None:
        return "pedqm-null"
    if converted is None and pedqm is not None:
        return "oracle-null"
    if not same(pedqm, converted):
        return "value"
    if elm_type in ("Integer", "Decimal") and _num(pedqm) is not None:
        if (elm_type == "Integer") != (not isinstance(pedqm, Decimal)):
            return "type"
    return "agree"


# -- running ----------------------------------------------------------------------------------------

@contextmanager
def _time_limit(seconds: int) -> Iterator[None]:
    """SIGALRM guard so one runaway pedqm evaluation cannot hang the suite (main thread only)."""
    def boom(signum: int, frame: Any) -> None:
        raise TimeoutError(f"pedqm took over {seconds}s")

    try:
        old = signal.signal(signal.SIGALRM, boom)
    except ValueError:  # not the main thread
        yield
        return
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


def run_pedqm(text: str) -> Any:
    """Evaluate one expression in pedqm (own library, offset 0, the oracle's clock)."""
    from pedqm.cql import CqlError, compile_library

    try:
        with _time_limit(PEDQM_TIMEOUT_S):
            try:
                lib = compile_library(library_text("P", [text]))
            except CqlError as exc:
                return PedqmFailure(str(exc).splitlines()[0][:300], False, "compile")
            try:
                return lib.evaluate("E0", lib.context(now=NOW, timezone_offset=0))
            except CqlError as exc:
                return PedqmFailure(str(exc).splitlines()[0][:300], False)
    except Exception as exc:  # noqa: BLE001 - any Python exception is an engine crash
        return PedqmFailure(f"{type(exc).__name__}: {exc}"[:300], True)


def _type_name(d: dict[str, Any]) -> str | None:
    name = d.get("resultTypeName")
    if isinstance(name, str):
        return name.rsplit("}", 1)[-1]
    return None


class Harness:
    """Translator + cql-execution processes shared across batches."""

    def __init__(self) -> None:
        self.translate = load_oracle("translate")
        self.cql_exec_module = load_oracle("cql_exec")
        self.cql_exec = self.cql_exec_module.CqlExecProcess()

    def close(self) -> None:
        self.cql_exec.close()

    def run(self, nodes: Sequence[Node]) -> list[Result]:
        results: list[Result] = []
        for start in range(0, len(nodes), CHUNK):
            results.extend(self._run_chunk(list(nodes[start:start + CHUNK])))
        return results

    def _run_chunk(self, nodes: list[Node]) -> list[Result]:
        text = library_text("G", [n.text for n in nodes])
        lines = text.splitlines()
        line_of = {i + 1: int(line[len('define "E'):].split('"')[0])
                   for i, line in enumerate(lines) if line.startswith('define "E')}
        first_define = min(line_of)
        out = self.translate.translate({"G": text}, ["G"])["G"]
        results = [Result(n) for n in nodes]
        for e in out["errors"]:
            if e.get("severity") != "error":
                continue
            line = e.get("line") or 0
            targets = [line_of[line]] if line in line_of else [] if line >= first_define else range(len(nodes))
            for i in targets:
                results[i].gen_errors.append(str(e.get("message")).splitlines()[0][:200])
        elm = out["elm"]
        defs = {d["name"]: d for d in elm["library"]["statements"]["def"]} if elm else {}
        values = self._oracle_values(elm, len(nodes)) if elm else {}
        for i, r in enumerate(results):
            if r.gen_errors:
                r.kind = "generator-error"
                continue
            name = f"E{i}"
            r.elm_type = _type_name(defs.get(name, {}))
            r.oracle = values.get(name, {"error": values.get("$library_error", "not evaluated")})
            r.pedqm = run_pedqm(r.node.text)
            r.kind = classify(r.pedqm, r.oracle, r.elm_type)
        return results

    def _oracle_values(self, elm: dict[str, Any], count: int) -> dict[str, Any]:
        """All defines in one request; after a timeout, one request per define (a slow one then
        only loses its own value)."""
        oracle_error = self.cql_exec_module.CqlExecError
        try:
            values: dict[str, Any] = self.cql_exec.run([elm])[0]
            return values
        except oracle_error:
            pass
        values = {}
        for i in range(count):
            try:
                values.update(self.cql_exec.run([elm], [f"E{i}"], timeout=20)[0])
            except oracle_error as exc:
                values[f"E{i}"] = {"error": f"oracle: {exc}"[:200]}
        return values

    def minimize(self, results: Sequence[Result]) -> list[Result]:
        """For each disagreeing result, its innermost closed subterm that still disagrees.

        All subterms of all results are evaluated in one batch; a subterm is innermost when every
        subterm below it agrees, so its operator is the one to blame.
        """
        subs = {s.text: s for r in results for s in r.node.subterms() if s is not r.node and s.children}
        by_text = {r.node.text: r for r in self.run(list(subs.values()))}
        out = []
        for r in results:
            chosen = r
            for s in r.node.subterms():
                sub = by_text.get(s.text)
                if sub is not None and not sub.agrees and sub.kind != "generator-error":
                    chosen = sub
                    break
            out.append(chosen)
        return out


# -- known disagreements ------------------------------------------------------------------------------

@dataclass(frozen=True)
class Known:
    pattern: str
    reason: str


def load_known(path: Path = KNOWN_FILE) -> list[Known]:
    """``<Op|kind glob>  spec: ... | open: ...`` per line; '#' starts a comment."""
    known = []
    for raw in path.read_text(encoding="utf-8").splitlines() if path.exists() else []:
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        pattern, _, reason = line.partition(" ")
        reason = reason.strip()
        if not (reason.startswith("spec:") or reason.startswith("open:")):
            raise ValueError(f"{path.name}: entry needs 'spec: ...' or 'open: ...': {raw}")
        known.append(Known(pattern, reason))
    return known


def match_known(cls: str, known: Sequence[Known]) -> Known | None:
    for k in known:
        if fnmatch.fnmatchcase(cls, k.pattern):
            return k
    return None

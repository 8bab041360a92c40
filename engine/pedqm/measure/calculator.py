"""Per-subject measure calculation: one patient's record in, one :class:`SubjectResult` out.

The calculator evaluates each population's criteria in the patient's evaluation request (CQL
definitions are cached per request, so groups sharing "Initial Population" evaluate it once),
turns the values into members (the subject, or episode keys), applies the population rules,
evaluates measure observations, stratifiers and supplemental data, and notes the resources the
retrieves returned. Nothing here knows about other patients: aggregation is in
:mod:`pedqm.measure.results`, rendering in :mod:`pedqm.measure.report`.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from ..cql import CqlError, to_cql
from ..cql.context import EvaluationContext, RetrieveObserver, RetrieveRequest
from ..cql.errors import CqlRuntimeError, cql_type_names
from ..cql.runtime.temporal import DateTime
from ..cql.runtime.values import Interval
from ..fhir.evaluation import patient_context
from ..fhir.navigation import FhirNode
from ..fhir.records import PatientRecord, Resource
from .definition import IPP, MSROBS, GroupDef
from .package import MeasurePackage
from .populations import Members, apply_rules


@dataclass
class GroupOutcome:
    members: dict[str, Members]  # population code -> members after the rules
    observations: list[Any] = field(default_factory=list)  # measure-observation values
    strata: dict[str, dict[str, Members]] = field(default_factory=dict)  # stratifier -> stratum value -> members
    episode_based: bool = False


@dataclass
class SubjectResult:
    subject_id: str
    groups: list[GroupOutcome]
    sde: dict[str, list[str]] = field(default_factory=dict)  # supplemental data element -> value labels
    evaluated_resources: list[str] = field(default_factory=list)
    error: str | None = None
    # a supplemental data element or stratifier that could not be computed, by element label:
    # such a failure is the element's, never the populations' (CQFM: SDEs and strata are
    # information reported about members, not conditions of membership)
    element_errors: dict[str, str] = field(default_factory=dict)

    def count(self, group: int, code: str) -> int:
        return len(self.groups[group].members.get(code, [])) if self.groups else 0


def sde_element(label: str) -> str:
    """The key under which a supplemental data element's failure is recorded."""
    return f"supplementalData:{label}"


def stratifier_element(group: int, label: str) -> str:
    """The key under which a stratifier's failure is recorded (groups counted from 0)."""
    return f"stratifier:{group}:{label}"


def episode_key(value: Any) -> str:
    """A stable key for an episode (a resource: 'Encounter/123'; other values: their literal)."""
    if isinstance(value, FhirNode) and isinstance(value.data, dict):
        return f"{value.data.get('resourceType')}/{value.data.get('id')}"
    try:
        return to_cql(value)
    except Exception:  # noqa: BLE001 - any value still needs a key
        return repr(value)


def stratum_label(value: Any) -> str:
    """How a stratifier value is shown in a report ('true', a code, a number, ...)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    code = getattr(value, "code", None)
    if isinstance(code, str):
        return code
    codes = getattr(value, "codes", None)
    if codes:
        return str(codes[0].code)
    try:
        return to_cql(value)
    except Exception:  # noqa: BLE001
        return repr(value)


def sde_labels(value: Any) -> list[str]:
    """A supplemental data element's value(s) as labels (codes where there are codes), so that
    results stay small and picklable for worker processes."""
    out: list[str] = []
    for v in value if isinstance(value, list) else [value]:
        if v is None:
            continue
        getter = getattr(v, "get", None)
        if getter is not None and not isinstance(v, dict):
            codes = getter("codes") or getter("code")
            if codes is not None:
                out.extend(stratum_label(c) for c in (codes if isinstance(codes, list) else [codes]))
                continue
        out.append(stratum_label(v))
    return out


def measurement_period(start: str | None, end: str | None, timezone_offset: Decimal | int | float = 0) -> Interval:
    """The Measurement Period from ISO dates or date-times; a date-only end covers its whole day.

    Date-only bounds are read in the evaluation's timezone offset (explicit, default UTC), so
    `2025-01-01 .. 2025-12-31` is [2025-01-01T00:00:00.000, 2025-12-31T23:59:59.999]. Bounds are
    millisecond-precision DateTimes, as the literals `@2025-01-01T00:00:00.000+00:00` would be.
    """
    if not start or not end:
        raise ValueError("a measurement period needs a start and an end")
    off = Decimal(str(timezone_offset))
    return Interval(_period_bound(start, off, end_of_day=False), _period_bound(end, off, end_of_day=True),
                    True, True, "DateTime")


def _period_bound(text: str, offset: Decimal, *, end_of_day: bool) -> DateTime:
    text = text.strip()
    if "T" not in text:
        d = _dt.date.fromisoformat(text)  # validates, raising ValueError with the bad value
        if end_of_day:
            return DateTime(d.year, d.month, d.day, 23, 59, 59, 999, offset)
        return DateTime(d.year, d.month, d.day, 0, 0, 0, 0, offset)
    t = _dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    utc = t.utcoffset()
    tz = offset if utc is None else Decimal(int(utc.total_seconds()) // 60) / 60
    return DateTime(t.year, t.month, t.day, t.hour, t.minute, t.second, t.microsecond // 1000, tz)


class EvaluatedResources:
    """A retrieve observer noting 'Type/id' of every resource a retrieve returned, in the order
    first seen (the MeasureReport's evaluatedResource)."""

    __slots__ = ("ids",)

    def __init__(self) -> None:
        self.ids: dict[str, None] = {}

    def __call__(self, request: RetrieveRequest, results: Sequence[Any]) -> None:
        for n in results:
            data = getattr(n, "data", None)
            if isinstance(data, dict):
                self.ids[f"{data.get('resourceType')}/{data.get('id')}"] = None


class MeasureCalculator:
    """Evaluates one measure package for one subject at a time."""

    def __init__(
        self,
        package: MeasurePackage,
        period: Interval,
        *,
        timezone_offset: Decimal | int | float = 0,
        now: _dt.datetime | None = None,
        shared: Iterable[Resource] = (),
        extra_strata: dict[str, Callable[[PatientRecord], Any]] | None = None,
        require_profile_tags: bool = False,
    ):
        self.package = package
        self.require_profile_tags = require_profile_tags
        self.definition = package.measure
        self.library = package.library()
        package.check_valuesets()  # all missing value sets named once, before any patient errs on one
        self.period = period
        self.timezone_offset = timezone_offset
        self.now = now
        self.shared = list(shared) + list(package.other_resources)
        self.extra_strata = extra_strata or {}

    def context(self, record: PatientRecord, observers: Iterable[RetrieveObserver] = ()) -> EvaluationContext:
        """The patient's evaluation request; `observers` are told of every retrieve it makes."""
        ctx = patient_context(
            self.library, record, terminology=self.package.valuesets, shared=self.shared,
            parameters={"Measurement Period": self.period}, now=self.now, timezone_offset=self.timezone_offset,
            require_profile_tags=self.require_profile_tags,
        )
        ctx.observers.extend(observers)
        return ctx

    def evaluate(self, record: PatientRecord, observers: Iterable[RetrieveObserver] = ()) -> SubjectResult:
        """One patient's result. Nothing raised while evaluating one patient stops the population:
        a failure of a population criterion becomes the patient's ``error`` (counted by
        :class:`~pedqm.measure.results.MeasureResult`), one of a stratifier or supplemental data
        element that element's; each message names the definition that failed."""
        subject = record.patient_id
        element_errors: dict[str, str] = {}
        evaluated = EvaluatedResources()
        try:
            ctx = self.context(record, [evaluated, *observers])
            groups = [self._group(g, gi, ctx, subject, record, element_errors)
                      for gi, g in enumerate(self.definition.groups)]
        except Exception as exc:  # noqa: BLE001 - one patient's failure, whatever it is, is that patient's
            return SubjectResult(subject, [], error=self.describe_error(exc))
        sde: dict[str, list[str]] = {}
        for s in self.definition.supplemental:
            try:
                sde[s.label] = sde_labels(self._evaluate(s.expression, ctx))
            except Exception as exc:  # noqa: BLE001 - the element's failure, not the patient's
                element_errors[sde_element(s.label)] = self.describe_error(exc)
        return SubjectResult(subject, groups, sde, list(evaluated.ids), element_errors=element_errors)

    def _evaluate(self, expression: str, ctx: EvaluationContext, args: list[Any] | None = None) -> Any:
        """A definition's value (or a function's, with ``args``), its errors tagged with its name."""
        try:
            if args is None:
                return self.library.evaluate(expression, ctx)
            return self.library.call(expression, args, ctx)
        except CqlRuntimeError as exc:
            raise exc.locate(library=self.library.name, definition=expression) from None
        except CqlError:
            raise
        except Exception as exc:  # noqa: BLE001 - a bug in pedqm, said as one, with where it happened
            text = cql_type_names(str(exc)) or "no message"
            raise CqlRuntimeError(f"internal error in pedqm ({text}); please report it",
                                  library=self.library.name, definition=expression) from exc

    @staticmethod
    def describe_error(exc: BaseException) -> str:
        """The first line of an error, in CQL's words (no Python type names)."""
        if not isinstance(exc, CqlError):
            exc = CqlRuntimeError(f"internal error in pedqm ({str(exc) or 'no message'}); please report it")
        return cql_type_names((str(exc).splitlines() or [""])[0])

    def _members(self, group: GroupDef, value: Any, subject: str) -> Members:
        if group.episode_based:
            if value is None:
                return []
            items = value if isinstance(value, list) else [value]
            return list(dict.fromkeys(episode_key(v) for v in items if v is not None and v is not False))
        return [subject] if value is True else []

    def _group(self, group: GroupDef, gi: int, ctx: EvaluationContext, subject: str, record: PatientRecord,
               element_errors: dict[str, str]) -> GroupOutcome:
        raw: dict[str, Members] = {}
        episodes: dict[str, Any] = {}
        for key, pop in group.keyed_populations():
            if pop.code == MSROBS or not pop.expression:
                continue
            value = self._evaluate(pop.expression, ctx)
            if group.episode_based and isinstance(value, list):
                for v in value:
                    episodes.setdefault(episode_key(v), v)
            raw[key] = self._members(group, value, subject)
        outcome = GroupOutcome(apply_rules(group, raw), episode_based=group.episode_based)
        obs = group.population(MSROBS)
        if obs is not None and obs.expression:
            from .definition import MSRPOPL, MSRPOPLEX

            observed = [m for m in outcome.members.get(MSRPOPL, outcome.members.get(IPP, []))
                        if m not in set(outcome.members.get(MSRPOPLEX, []))]
            for m in observed:
                args = [episodes[m]] if group.episode_based and m in episodes else []
                outcome.observations.append(self._evaluate(obs.expression, ctx, args))
        for strat in group.stratifiers:
            try:
                if strat.expression:
                    outcome.strata[strat.label] = self._stratum(group, self._evaluate(strat.expression, ctx), outcome, episodes)
                elif strat.components:
                    parts = [stratum_label(self._evaluate(expr, ctx)) for _, expr in strat.components]
                    outcome.strata[strat.label] = {" | ".join(parts): _all_members(outcome)}
            except Exception as exc:  # noqa: BLE001 - the stratifier's failure, not the patient's
                element_errors[stratifier_element(gi, strat.label)] = self.describe_error(exc)
        for label, fn in self.extra_strata.items():
            try:
                outcome.strata[label] = {stratum_label(fn(record)): _all_members(outcome)}
            except Exception as exc:  # noqa: BLE001
                element_errors[stratifier_element(gi, label)] = self.describe_error(exc)
        return outcome

    @staticmethod
    def _stratum(group: GroupDef, value: Any, outcome: GroupOutcome, episodes: dict[str, Any]) -> dict[str, Members]:
        everyone = _all_members(outcome)
        if group.episode_based and isinstance(value, list):
            inside = {episode_key(v) for v in value}
            return {"true": [m for m in everyone if m in inside], "false": [m for m in everyone if m not in inside]}
        return {stratum_label(value): everyone}


def _all_members(outcome: GroupOutcome) -> Members:
    seen: dict[str, None] = {}
    for members in outcome.members.values():
        for m in members:
            seen[m] = None
    return list(seen)

"""The one driver: many measures × one data source × optional attribution, in one pass per patient.

`pedqm evaluate` (one measure, several, or `--all`) and `pedqm demo` run through here; `pedqm
vet` keeps its own loop (a retrieve observer per patient) but attributes with the same module. Each patient's record is read and parsed once and evaluated by every
measure; its subject result is folded into the measure's overall result and into the result of
the entity the patient is attributed to (:mod:`.attribution`).

Parallelism cuts the population, not the work of one patient: a data source on disk is split
into patient partitions (:mod:`pedqm.fhir.sources.partition`) and each task reads and parses only
its own partition, with measures compiled once per worker process; the partial results merge
exactly (:meth:`RunResult.merge`, :meth:`MeasureResult.merge`) in partition order, so the merged
result does not depend on which worker ran which partition or when. Backends:

- ``local``, 1 worker: this process, over the source it is given.
- ``local``, N workers: N forked processes that inherit the compiled measures; a server source
  (which cannot be partitioned without reading it) is read here and shipped in chunks instead.
- ``dask``: one task per partition on a ``dask.distributed`` cluster (``scheduler`` address, or
  an in-process LocalCluster); workers compile the measures on their first task.
- ``spark``: one ``mapInPandas`` task per partition (``scheduler`` is the master URL, default
  ``local[workers]``), each returning its pickled partial result.

Within one process the measures share each patient's work where it does not depend on the
measure: the record is read and parsed once, and its wrapped resources and the codes at each code
path are kept in the record's memo for every measure's retrieves (``fhir/retrieve.py``).
"""

from __future__ import annotations

import datetime as _dt
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from ..fhir.records import PatientRecord, Resource, ResourceIssue
from .attribution import Attributor, make_attributor
from .calculator import MeasureCalculator, SubjectResult, measurement_period
from .package import MeasurePackage
from .results import MeasureResult

UNATTRIBUTED = "unattributed"
BACKENDS = ("local", "dask", "spark")
Progress = Callable[[int], None]
RecordHook = Callable[[PatientRecord, "str | None", "dict[str, SubjectResult]"], None]


@dataclass(frozen=True)
class RunPlan:
    """What to compute, independent of where: picklable and hashable, so a worker process or a
    Dask task rebuilds (once) the same calculators from it."""

    measures: tuple[tuple[str, str], ...]  # (name in results, measure location: directory, bundle or library id)
    period: tuple[str, str] | None = None  # default: each Measure's effectivePeriod
    timezone_offset: Decimal = Decimal(0)
    by: str | None = None  # 'practice', 'clinician', or an attribution list file; None: overall only
    stratify_by: tuple[str, ...] = ()  # chronic-condition stratifiers
    keep_subjects: bool = False
    require_profile_tags: bool = False
    terminology_server: str | None = None
    now: _dt.datetime | None = None
    tolerate_failures: bool = False  # a measure that cannot be compiled is noted, the others run (demo)

    @staticmethod
    def for_measures(measures: Iterable[str | Path], **options: Any) -> RunPlan:
        """A plan naming each measure by its directory name (or as given); paths are made
        absolute so that workers elsewhere find them."""
        pairs = []
        for m in measures:
            p = Path(m)
            location = str(p.resolve()) if p.exists() else str(m)
            name = p.name if p.is_dir() else (p.stem if p.exists() else str(m))
            pairs.append((name, location))
        if options.get("by") is not None and str(options["by"]) not in ("practice", "clinician"):
            options["by"] = str(Path(options["by"]).resolve())
        return RunPlan(tuple(pairs), **options)


@dataclass
class RunResult:
    """Per-measure results overall and per entity, and what the run saw."""

    overall: dict[str, MeasureResult] = field(default_factory=dict)
    by_entity: dict[str, dict[str, MeasureResult]] = field(default_factory=dict)  # measure -> entity -> result
    entity_names: dict[str, str] = field(default_factory=dict)
    attribution_methods: Counter[str] = field(default_factory=Counter)
    n_patients: int = 0
    issues: list[ResourceIssue] = field(default_factory=list)
    failures: dict[str, str] = field(default_factory=dict)  # measure -> why it could not run

    def merge(self, other: RunResult) -> RunResult:
        """Fold in the result of another partition of the same plan."""
        for mid, result in other.overall.items():
            if mid in self.overall:
                self.overall[mid].merge(result)
            else:
                self.overall[mid] = result
        for mid, entities in other.by_entity.items():
            mine = self.by_entity.setdefault(mid, {})
            for entity, result in entities.items():
                if entity in mine:
                    mine[entity].merge(result)
                else:
                    mine[entity] = result
        for entity, name in other.entity_names.items():
            self.entity_names.setdefault(entity, name)
        self.attribution_methods.update(other.attribution_methods)
        self.n_patients += other.n_patients
        self.issues.extend(other.issues)
        for mid, why in other.failures.items():
            self.failures.setdefault(mid, why)
        return self

    def entity_name(self, entity: str) -> str:
        return self.entity_names.get(entity, entity)


class Evaluator:
    """The plan's measures, compiled once, evaluating one record at a time for all of them."""

    def __init__(self, plan: RunPlan, packages: dict[str, MeasurePackage] | None = None) -> None:
        from .api import load_measure

        self.plan = plan
        self.packages: dict[str, MeasurePackage] = {}
        self.failures: dict[str, str] = {}
        for name, location in plan.measures:
            try:
                pkg = packages[name] if packages and name in packages else load_measure(location)
                if plan.terminology_server:
                    from ..fhir.terminology_server import TerminologyServer

                    pkg.valuesets.server = TerminologyServer(plan.terminology_server)
                pkg.library()  # compiled here, once per process, before any patient
                self.packages[name] = pkg
            except Exception as exc:  # noqa: BLE001 - with tolerate_failures one broken measure must not stop the others
                if not plan.tolerate_failures:
                    raise
                self.failures[name] = str(exc).splitlines()[0]

    def calculators(self, shared: list[Resource],
                    make: Callable[..., MeasureCalculator] = MeasureCalculator) -> dict[str, MeasureCalculator]:
        """One calculator per measure for a source whose shared resources are ``shared`` (``make``:
        another calculator class, such as the instrumented one that counts clause coverage)."""
        out: dict[str, MeasureCalculator] = {}
        for name, pkg in self.packages.items():
            try:
                start, end = self.plan.period or pkg.measure.effective_period
                if not start or not end:
                    from .package import MeasurePackageError

                    raise MeasurePackageError(
                        f"{pkg.source}: no measurement period given and the Measure has no effectivePeriod")
                mp = measurement_period(str(start), str(end), self.plan.timezone_offset)
                out[name] = make(
                    pkg, mp, timezone_offset=self.plan.timezone_offset, now=self.plan.now, shared=shared,
                    extra_strata=_extra_strata(self.plan.stratify_by, str(end)),
                    require_profile_tags=self.plan.require_profile_tags)
            except Exception as exc:  # noqa: BLE001
                if not self.plan.tolerate_failures:
                    raise
                self.failures[name] = str(exc).splitlines()[0]
        return out

    def attribution_period(self) -> tuple[str, str]:
        if self.plan.period:
            return self.plan.period
        for pkg in self.packages.values():
            start, end = pkg.measure.effective_period
            if start and end:
                return str(start), str(end)
        return "0001-01-01", "9999-12-31"

    def run(self, records: Iterable[PatientRecord], shared: list[Resource], progress: Progress | None = None, *,
            calculators: dict[str, MeasureCalculator] | None = None, attributor: Attributor | None = None,
            on_record: RecordHook | None = None) -> RunResult:
        """One pass over ``records``: every measure for each record, folded overall and per entity.

        A consumer with more to do per patient (``pedqm vet``: diagnostics, patient features)
        gives its own ``calculators`` and ``attributor`` and is called with each record, its
        entity (None when unattributed) and its subject results."""
        calculators = calculators if calculators is not None else self.calculators(shared)
        out = RunResult(failures=dict(self.failures))
        if attributor is None and self.plan.by:
            attributor = make_attributor(self.plan.by, self.attribution_period(), shared)
        for name, calc in calculators.items():
            out.overall[name] = MeasureResult(calc.definition, calc.period, keep_subjects=self.plan.keep_subjects)
            if attributor is not None:
                out.by_entity[name] = {}
        for i, record in enumerate(records, 1):
            out.n_patients += 1
            results = {name: calc.evaluate(record) for name, calc in calculators.items()}
            entity = self.fold(out, calculators, attributor, record, results)
            if on_record is not None:
                on_record(record, entity, results)
            if progress is not None:
                progress(i)
        if attributor is not None:
            out.entity_names.update(attributor.names)
            out.attribution_methods.update(attributor.methods)
        return out

    def fold(self, out: RunResult, calculators: dict[str, MeasureCalculator], attributor: Attributor | None,
             record: PatientRecord, results: dict[str, SubjectResult]) -> str | None:
        """Add one record's results overall and to its entity's; the entity (None: unattributed)."""
        attributed = attributor.attribute(record)[0] if attributor is not None else None
        entity = (attributed or UNATTRIBUTED) if attributor is not None else None
        for name, result in results.items():
            out.overall[name].add(result)
            if entity is not None:
                per = out.by_entity[name].get(entity)
                if per is None:
                    calc = calculators[name]
                    per = out.by_entity[name][entity] = MeasureResult(calc.definition, calc.period,
                                                                      keep_subjects=self.plan.keep_subjects)
                per.add(result)
        return attributed


def _extra_strata(names: tuple[str, ...], period_end: str | None) -> dict[str, Any]:
    if not names:
        return {}
    from ..chronic import stratifier  # the chronic-condition layer supplies stratum functions

    return {f"chronic:{n}": stratifier(n, as_of=period_end) for n in names}


# ---------------------------------------------------------------------------- data and partitions

@dataclass(frozen=True)
class DataSpec:
    """Data on disk that any worker can open on its own: a path and FileSource options."""

    path: str
    bundle_per_patient: bool = False

    def partition(self, index: int, count: int) -> Any:
        from ..fhir.sources.partition import PartitionSource

        options = {"bundle_per_patient": True} if self.bundle_per_patient else {}
        return PartitionSource(self.path, index, count, **options)


_EVALUATORS: dict[RunPlan, Evaluator] = {}  # per process: measures compiled once, whatever the tasks


def evaluator_for(plan: RunPlan, packages: dict[str, MeasurePackage] | None = None) -> Evaluator:
    ev = _EVALUATORS.get(plan)
    if ev is None:
        ev = _EVALUATORS[plan] = Evaluator(plan, packages)
    return ev


def evaluate_partition(plan: RunPlan, data: DataSpec, index: int, count: int,
                       counter: Any = None) -> RunResult:
    """The result of partition ``index`` of ``count``: read, parsed and evaluated here (a worker
    process or a Dask task). ``counter`` (a shared integer) is advanced as patients are done."""
    ev = evaluator_for(plan)
    source = data.partition(index, count)
    try:
        progress = None
        if counter is not None:
            last = [0]

            def progress(i: int) -> None:
                if i - last[0] >= 16:
                    with counter.get_lock():
                        counter.value += i - last[0]
                    last[0] = i

        result = ev.run(source.patients(), source.shared_resources(), progress)
        if counter is not None:
            with counter.get_lock():
                counter.value += result.n_patients - last[0]
        result.issues = list(source.issues)
        return result
    finally:
        source.close()


def run(plan: RunPlan, source: Any, *, workers: int = 1, backend: str = "local", scheduler: str | None = None,
        partitions: int | None = None, packages: dict[str, MeasurePackage] | None = None,
        progress: Progress | None = None, calculator: Callable[..., MeasureCalculator] = MeasureCalculator) -> RunResult:
    """Run ``plan`` over ``source``: a ResourceSource, a path (str/Path) or a :class:`DataSpec`.

    ``workers`` > 1 or ``backend='dask'`` need data on disk to partition (a path, a DataSpec, or
    a FileSource); a server source with ``workers`` > 1 is read here and shipped to the workers.
    ``calculator`` (another calculator class, e.g. coverage's) applies to one local process only.
    """
    if calculator is not MeasureCalculator and (workers > 1 or backend != "local"):
        raise ValueError("another calculator class runs in one local process only")
    if backend not in BACKENDS:
        raise ValueError(f"unknown backend {backend!r}: use {', '.join(BACKENDS)}")
    data = _data_spec(source)
    if backend in ("dask", "spark"):
        if data is None:
            raise ValueError(f"the {backend} backend needs data on disk (a directory or file) that its workers can read")
        runner = _run_dask if backend == "dask" else _run_spark
        return runner(plan, data, scheduler, workers, partitions, packages, progress)
    ev = evaluator_for(plan, packages)  # compiled here: errors surface before any data is read
    if workers <= 1:
        if data is not None and not hasattr(source, "patients"):
            source = data.partition(0, 1)
        shared = list(source.shared_resources())
        result = ev.run(source.patients(), shared, progress, calculators=ev.calculators(shared, calculator))
        result.issues = list(getattr(source, "issues", []) or [])
        return result
    if data is None:
        return _run_shipped(ev, source, workers, progress)
    return _run_processes(plan, data, workers, partitions, progress)


def _data_spec(source: Any) -> DataSpec | None:
    if isinstance(source, DataSpec):
        return source
    if isinstance(source, (str, Path)):
        return DataSpec(str(Path(source).resolve()))
    from ..fhir.sources import FileSource

    inner = getattr(source, "source", source)  # the CLI's wrappers keep the source they wrap
    if isinstance(inner, FileSource):
        return DataSpec(str(inner.root.resolve()), bundle_per_patient=bool(getattr(inner, "_bundle_per_patient", False)))
    return None


def _partition_count(data: DataSpec, workers: int, partitions: int | None) -> int:
    from ..fhir.sources.partition import natural_partitions

    return partitions or natural_partitions(data.path, workers)


def _merge_in_order(parts: Iterable[RunResult]) -> RunResult:
    total = RunResult()
    for part in parts:
        total.merge(part)
    return total


def _run_processes(plan: RunPlan, data: DataSpec, workers: int, partitions: int | None,
                   progress: Progress | None) -> RunResult:
    """Forked workers, each evaluating whole partitions it reads itself."""
    import multiprocessing

    n = _partition_count(data, workers, partitions)
    ctx = multiprocessing.get_context("fork")
    counter = ctx.Value("q", 0)
    with ctx.Pool(min(workers, n), initializer=_set_counter, initargs=(counter,)) as pool:
        pending = pool.starmap_async(_partition_task, [(plan, data, i, n) for i in range(n)], chunksize=1)
        while not pending.ready():
            pending.wait(0.5)
            if progress is not None:
                progress(int(counter.value))
        parts = pending.get()
    result = _merge_in_order(parts)
    if progress is not None:
        progress(result.n_patients)
    return result


_COUNTER: Any = None


def _set_counter(counter: Any) -> None:
    global _COUNTER
    _COUNTER = counter


def _partition_task(plan: RunPlan, data: DataSpec, index: int, count: int) -> RunResult:
    return evaluate_partition(plan, data, index, count, _COUNTER)


_CHUNK = 64


def _ship_chunk(plan: RunPlan, shared: list[Resource], records: list[PatientRecord]) -> RunResult:
    return evaluator_for(plan).run(records, shared)


def _run_shipped(ev: Evaluator, source: Any, workers: int, progress: Progress | None) -> RunResult:
    """A source only this process can read (a server): records go to forked workers in chunks,
    at most two per worker in flight so memory stays bounded; results merge in chunk order."""
    import multiprocessing
    from collections import deque
    from itertools import islice

    shared = list(source.shared_resources())
    ctx = multiprocessing.get_context("fork")
    total = RunResult()
    it: Iterator[PatientRecord] = iter(source.patients())
    with ctx.Pool(workers) as pool:
        pending: deque[Any] = deque()
        while True:
            while len(pending) < 2 * workers:
                chunk = list(islice(it, _CHUNK))
                if not chunk:
                    break
                pending.append(pool.apply_async(_ship_chunk, (ev.plan, shared, chunk)))
            if not pending:
                break
            total.merge(pending.popleft().get())
            if progress is not None:
                progress(total.n_patients)
    if not total.overall:  # no patient at all: the empty result still names the measures
        total = ev.run([], shared)
    total.issues = list(getattr(source, "issues", []) or [])
    return total


def _run_dask(plan: RunPlan, data: DataSpec, scheduler: str | None, workers: int, partitions: int | None,
              packages: dict[str, MeasurePackage] | None, progress: Progress | None) -> RunResult:
    """One task per partition on a dask.distributed cluster; results gathered and merged in
    partition order, so the result is the local one whatever the cluster did."""
    try:
        from dask.distributed import Client, LocalCluster, as_completed
    except ImportError as exc:
        raise ImportError("the Dask backend needs the optional extra: pip install 'pedqm[dask]'") from exc
    Evaluator(plan, packages)  # compile here first: a broken measure fails now, not on every worker
    n = _partition_count(data, max(workers, 1), partitions)
    cluster = None
    if scheduler:
        client = Client(scheduler)
    else:
        cluster = LocalCluster(n_workers=max(workers, 1), threads_per_worker=1, processes=True,
                               dashboard_address=None)
        client = Client(cluster)
    try:
        futures = [client.submit(evaluate_partition, plan, data, i, n, pure=False) for i in range(n)]
        done = 0
        for fut in as_completed(futures):
            done += fut.result().n_patients
            if progress is not None:
                progress(done)
        parts = client.gather(futures)
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
    return _merge_in_order(parts)


def _run_spark(plan: RunPlan, data: DataSpec, master: str | None, workers: int, partitions: int | None,
               packages: dict[str, MeasurePackage] | None, progress: Progress | None) -> RunResult:
    """One Spark task per partition (``mapInPandas`` over a frame of partition numbers), each
    returning its pickled partial result; merged here in partition order, as the other backends.
    ``master`` is a Spark master URL (default ``local[workers]``)."""
    import pickle

    try:
        from pyspark.sql import SparkSession
    except ImportError as exc:
        raise ImportError("the Spark backend needs the optional extra: pip install 'pedqm[spark]' (and Java 17)") from exc
    Evaluator(plan, packages)  # compile here first: a broken measure fails now, not in every task
    n = _partition_count(data, max(workers, 1), partitions)
    import os
    import sys

    if master is None:  # local workers run this interpreter (its environment has pedqm), not `python3`
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    spark = (SparkSession.builder.appName("pedqm").master(master or f"local[{max(workers, 1)}]")
             .config("spark.ui.enabled", "false").getOrCreate())
    try:
        frame = spark.createDataFrame([(i,) for i in range(n)], "part int").repartition(n, "part")

        def evaluate(batches: Iterable[Any]) -> Iterator[Any]:
            import pandas as pd

            for batch in batches:
                for i in batch["part"]:
                    result = evaluate_partition(plan, data, int(i), n)
                    yield pd.DataFrame({"part": [int(i)], "result": [pickle.dumps(result)]})

        rows = frame.mapInPandas(evaluate, schema="part int, result binary").collect()
    finally:
        if master is None:
            spark.stop()
    parts = [pickle.loads(bytes(r["result"])) for r in sorted(rows, key=lambda r: r["part"])]
    result = _merge_in_order(parts)
    if progress is not None:
        progress(result.n_patients)
    return result

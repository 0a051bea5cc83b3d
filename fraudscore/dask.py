"""Distributed scoring on Dask: the same Scorer on every partition, history shared by all workers.

Results equal one process scoring the partitions one after another in partition order, row for
row, duplicate counts included, however many workers run and in whatever order partitions finish.
Two phases make that true:

1. **Record.** The client reserves one batch number per partition in the shared history store
   (:meth:`~fraudscore.history.HistoryStore.reserve_batches`), then every partition is fingerprinted
   and recorded under its own number, in parallel. A partition's rows are ordered as if it had
   arrived right after the partitions before it, so arrival order stops mattering.
2. **Score.** Every partition is scored by the ordinary :class:`~fraudscore.scorer.Scorer`; its
   history lookup replays the rows recorded in phase 1 (nothing is added), so each row sees what
   it would have seen in one process. Phase 2 only reads history: computing the results twice
   gives the same results.

Retries are safe: a store records each ``submission_id`` once and atomically (a partition whose
worker dies mid-write is all there or not at all), so Dask re-running a partition adds nothing.
The model is sent to each worker once and compiled there once per process.

For input in time order (the usual case for logs) the results also equal scoring the whole
input in one call, or in chunks of any size. Two limits, shared with chunked single-process
scoring: retention is judged against each partition's latest submission, and a ``submission_id``
repeated in two partitions is kept from whichever partition is recorded first.
"""

from __future__ import annotations

import copy
import threading
import time
import uuid
import weakref
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from fraudscore.allocator import MMAP_THRESHOLD_MAX, TRIM_THRESHOLD, check_thresholds, retain_freed_memory
from fraudscore.results import Results, run_summary

try:
    from distributed import WorkerPlugin as _WorkerPlugin
except ImportError:  # dask without distributed: the local scheduler needs no plugin
    _WorkerPlugin = object

__all__ = ["HistorySpec", "RetainFreedMemory", "parquet_fragments", "read_submissions", "retain_freed_memory_on_workers",
           "score_dask", "score_files"]


@dataclass(frozen=True)
class HistorySpec:
    """How a worker opens the shared history store: a URL and the store's options.

    Parameters
    ----------
    url : str
        ``redis://HOST:PORT/DB`` (any number of machines) or ``sqlite:PATH`` (workers on one
        machine sharing one file).
    options : tuple of (str, value) pairs
        Keyword arguments of the store (``prefix``, ``retention_days``, ``timeout_s``). The secret
        is never part of the spec: workers read ``FRAUDSCORE_SECRET`` or get it from the job.
    """

    url: str
    options: tuple = field(default=())

    @classmethod
    def of(cls, history) -> HistorySpec:
        """A spec from a URL, a spec, or an open Redis or SQLite store."""
        from fraudscore.history import HistoryStore

        if isinstance(history, HistorySpec):
            return history
        if isinstance(history, str):
            if history.partition(":")[0] not in ("redis", "rediss", "unix", "sqlite"):
                raise ValueError(f"distributed scoring needs a shared history store (redis:// or sqlite:), "
                                 f"got {history!r}")
            return cls(history)
        if isinstance(history, HistoryStore):
            options = (("retention_days", history.retention_days),)
            if history.name == "redis":
                return cls(history.url, options + (("prefix", history.prefix),))
            if history.name == "sqlite" and history.path != ":memory:":
                return cls(f"sqlite:{history.path}", options)
        raise TypeError(f"distributed scoring needs a shared history store (a redis:// or sqlite: URL, or a "
                        f"RedisStore/SQLiteStore), not {history!r}")

    def open(self, secret=None):
        from fraudscore.history import open_history

        return open_history(self.url, secret=secret, **dict(self.options))


class _ReservedBatch:
    """A history store whose every ``observe`` is recorded under one reserved batch number."""

    def __init__(self, store, batch: int) -> None:
        self._store = store
        self._batch = batch

    def observe(self, obs, now=None):
        return self._store.observe(obs, now=now, batch=self._batch)


# ------------------------------------------------------------------ worker side
# Each worker process keeps its last few stores and Scorers: Redis is connected and the forest
# compiled once per job (or once for many jobs of one model), not once per partition.
_CACHE_SIZE = 4
_CACHE_LOCK = threading.Lock()
_STORES: OrderedDict = OrderedDict()
_SCORERS: OrderedDict = OrderedDict()
# On the client: per Client, the futures that keep recent models on its workers (see
# _hold_on_every_worker); a closed and dropped client takes its entries with it. Its own lock:
# the worker-side caches' lock is not held across a call to the scheduler.
_HELD: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_HELD_LOCK = threading.Lock()


def _cached(cache: OrderedDict, key, make):
    """``cache[key]``, made by ``make()`` when missing; the least recently used entry goes first.

    An evicted entry is only dropped, not closed: another task thread may still be using it, and
    its connections close when the last reference goes.
    """
    with _CACHE_LOCK:
        if key in cache:
            cache.move_to_end(key)
            return cache[key]
        cache[key] = value = make()
        while len(cache) > _CACHE_SIZE:
            cache.popitem(last=False)
        return value


def _secret_check(secret) -> str:
    """A short public digest of the secret in use, to catch workers configured differently."""
    from fraudscore.secret import derive_key, get_secret

    return derive_key(get_secret(secret), "dask-consistency-check")


def _store(spec: HistorySpec, secret, check: str):
    def make():
        if _secret_check(secret) != check:
            raise RuntimeError(
                "this Dask worker uses a different installation secret than the client: set the same "
                "FRAUDSCORE_SECRET on every worker (or pass secret= to score_dask)")
        return spec.open(secret)

    return _cached(_STORES, (spec, secret), make)


def _scorer(model, survey, secret):
    from fraudscore.scorer import Scorer

    # A saved model is named by its content hash, so every job of one model shares the compiled
    # forest; an unsaved one by identity (the entry holds the model, so the id stays unique).
    name = getattr(model, "model_version_", None) or id(model)
    entry = _cached(_SCORERS, (name, repr(survey), secret),
                    lambda: (Scorer(model, history=False, survey=survey, secret=secret), model))
    return entry[0]


#: Phase 1 needs everything but telemetry: reader errors depend on ids and timestamps only, and
#: fingerprints and history keys on device, network, identity and answer fields.
_NOT_FOR_HISTORY = ("telemetry", "label")


def _for_history(names) -> list:
    return [n for n in names if str(n).split(".")[0] not in _NOT_FOR_HISTORY]


def _as_input(frame: pd.DataFrame):
    """A partition as the readers' fastest input: Arrow when its columns already are Arrow."""
    if any(isinstance(dtype, pd.ArrowDtype) for dtype in frame.dtypes):
        import pyarrow as pa

        return pa.Table.from_pandas(frame, preserve_index=False)
    return frame


@dataclass(frozen=True)
class _Job:
    """What every task of one job needs (small; the model travels separately, once per worker)."""

    spec: HistorySpec
    secret: object
    check: str
    first: int
    survey: object = None


def _record(data, job: _Job, number: int) -> int:
    """Phase 1: fingerprint and record one partition under its reserved batch number."""
    from fraudscore.model import history_counts

    store = _store(job.spec, job.secret, job.check)
    counts = history_counts(data, _ReservedBatch(store, job.first + number), secret=job.secret)
    return int((~counts.replayed).sum())


def _score(data, model, job: _Job, number: int) -> pd.DataFrame:
    """Phase 2: score one partition; its history lookup replays what phase 1 recorded."""
    scorer = copy.copy(_scorer(model, job.survey, job.secret))  # shares the compiled model
    scorer.history = _ReservedBatch(_store(job.spec, job.secret, job.check), job.first + number)
    return scorer.score(data).to_pandas()


def _write(results: pd.DataFrame, output: str, number: int) -> pd.DataFrame:
    """Write one partition's results as ``part.NNNNN.parquet``; return its one-row summary."""
    results = Results(results)
    results.write(Path(output) / f"part.{number:05d}.parquet")
    summary = results.summary()
    return pd.DataFrame({"partition": [number], "rows": [summary["rows"]],
                         "decisions": [summary["decisions"]], "errors": [summary["errors"]]})


# Tasks over a Dask DataFrame's partitions (map_partitions gives the partition number).
def _number(partition_info) -> int:
    if partition_info is None:  # only while Dask infers metadata on an empty frame
        return 0
    return int(partition_info["number"])


def _record_partition(frame, job, partition_info=None):
    added = _record(_as_input(frame), job, _number(partition_info))
    return pd.DataFrame({"partition": [_number(partition_info)], "rows": [len(frame)], "added": [added]})


def _score_partition(frame, model, job, partition_info=None):
    out = _score(_as_input(frame), model, job, _number(partition_info))
    out.index = frame.index
    return out


def _write_partition(frame, model, job, output, partition_info=None):
    return _write(_score_partition(frame, model, job, partition_info), output, _number(partition_info))


# Tasks over Parquet fragments read straight into Arrow (no pandas round trip).
@dataclass(frozen=True)
class _Fragment:
    """Consecutive row groups of one Parquet file: one partition."""

    path: str
    row_groups: tuple
    offset: int  # input row number of the fragment's first row
    rows: int

    def read(self, history_only: bool = False):
        """The fragment as an Arrow table; ``history_only`` leaves out what phase 1 never reads."""
        import pyarrow.parquet as pq

        file = pq.ParquetFile(self.path)
        columns = _for_history(file.schema_arrow.names) if history_only else None
        return file.read_row_groups(list(self.row_groups), columns=columns)


def _record_fragment(fragment: _Fragment, number: int, job: _Job) -> int:
    return _record(fragment.read(history_only=True), job, number)


def _score_fragment(fragment: _Fragment, number: int, model, job: _Job) -> pd.DataFrame:
    out = _score(fragment.read(), model, job, number)
    out.index = pd.RangeIndex(fragment.offset, fragment.offset + fragment.rows)
    return out


def _write_fragment(fragment: _Fragment, number: int, model, job: _Job, output: str) -> pd.DataFrame:
    return _write(_score_fragment(fragment, number, model, job), output, number)


def parquet_fragments(paths, rows_per_partition: int = 50_000) -> list:
    """Split local Parquet files into partitions of whole row groups, in input order.

    Parameters
    ----------
    paths : str, Path or list
        Files, directories (their ``*.parquet`` files) or globs; sorted by name within each.
    rows_per_partition : int
        Row groups of a file are grouped until a partition reaches this many rows.

    Returns
    -------
    list of _Fragment
    """
    import glob

    import pyarrow.parquet as pq

    files = []
    for item in [paths] if isinstance(paths, (str, Path)) else list(paths):
        item = str(item)
        if Path(item).is_dir():
            files += sorted(str(p) for p in Path(item).glob("*.parquet"))
        elif any(c in item for c in "*?["):
            files += sorted(glob.glob(item))
        else:
            files.append(item)
    if not files:
        raise FileNotFoundError(f"no Parquet files in {paths!r}")
    fragments, offset = [], 0
    for path in files:
        meta = pq.ParquetFile(path).metadata
        group, size = [], 0
        for g in range(meta.num_row_groups):
            group.append(g)
            size += meta.row_group(g).num_rows
            if size >= rows_per_partition or g == meta.num_row_groups - 1:
                if size == 0:  # an empty file or row group has no rows to score
                    continue
                fragments.append(_Fragment(str(Path(path).resolve()), tuple(group), offset, size))
                offset += size
                group, size = [], 0
    return fragments


# ------------------------------------------------------------------ client side
def read_submissions(paths, **kwargs):
    """Submissions in Parquet files as a Dask DataFrame, Arrow-typed for the fast reader path.

    Parameters
    ----------
    paths : str, Path or list
        Files, a directory or a glob (anything ``dask.dataframe.read_parquet`` takes).
    **kwargs
        Passed to ``dask.dataframe.read_parquet`` (e.g. ``split_row_groups``, ``blocksize``).
    """
    import dask.dataframe as dd

    if isinstance(paths, Path):
        paths = str(paths)
    elif isinstance(paths, (list, tuple)):
        paths = [str(p) for p in paths]
    kwargs.setdefault("dtype_backend", "pyarrow")
    return dd.read_parquet(paths, **kwargs)


def _results_meta() -> pd.DataFrame:
    return Results.concat([]).to_pandas()


class RetainFreedMemory(_WorkerPlugin):
    """Worker plugin: :func:`fraudscore.allocator.retain_freed_memory` in every worker process,
    over the nanny's ``MALLOC_TRIM_THRESHOLD_`` (see :func:`retain_freed_memory_on_workers`).

    Parameters
    ----------
    trim_threshold, mmap_threshold : int
        As :func:`~fraudscore.allocator.retain_freed_memory` takes them.
    """

    name = "fraudscore-retain-freed-memory"

    def __init__(self, trim_threshold: int = TRIM_THRESHOLD, mmap_threshold: int = MMAP_THRESHOLD_MAX) -> None:
        self.trim_threshold = trim_threshold
        self.mmap_threshold = mmap_threshold

    def setup(self, worker) -> None:
        retain_freed_memory(self.trim_threshold, self.mmap_threshold, override_environment=True)


def retain_freed_memory_on_workers(client, trim_threshold: int = TRIM_THRESHOLD, mmap_threshold: int = MMAP_THRESHOLD_MAX) -> None:
    """Keep freed memory for reuse in every worker of ``client``'s cluster, and in workers that join later.

    Dask's nanny starts workers with ``MALLOC_TRIM_THRESHOLD_=65536`` (to keep their unmanaged
    memory low), so glibc hands freed memory back to the kernel at once and scoring faults its
    temporaries back in page by page: ~17 page faults a submission, and a worker spends ~1.4x
    the CPU of one that keeps freed memory (benchmarks/README.md, "Distributed scoring"). This
    raises both thresholds in each worker process (a worker plugin, so also in workers started
    later). The cost: up to ``trim_threshold`` of freed memory stays in each worker, which Dask
    reports as unmanaged memory. Workers on a C library other than glibc are left as they are.

    Parameters
    ----------
    client : distributed.Client
    trim_threshold, mmap_threshold : int
        As :func:`fraudscore.allocator.retain_freed_memory` takes them.
    """
    check_thresholds(trim_threshold, mmap_threshold)  # here, not in every worker's log
    client.register_plugin(RetainFreedMemory(trim_threshold, mmap_threshold))


def _default_client():
    try:
        from distributed import default_client

        return default_client()
    except (ImportError, ValueError):  # no distributed, or no client made: the local scheduler
        return None


def _compute(client, *collections):
    import dask

    if client is not None:
        return client.gather(client.compute(list(collections)))
    return list(dask.compute(*collections))


def _hold_on_every_worker(client, shipped) -> None:
    """Keep the model's key in memory on ``client``'s cluster while the client lives, on every worker now.

    Copied to every worker right before phase 2: otherwise the scheduler keeps the scoring tasks
    on the one worker holding the model until work stealing spreads them. (Dask's active memory
    manager drops the extra copies a few seconds later when no task waits for them, one stays.)
    The results graph keeps the model as a plain value under the same key, which the cluster
    does not recompute while it holds the key, so the graph also runs on any other scheduler:
    ``.compute()`` when ``client`` is not the default client runs it on Dask's local scheduler.
    """
    from distributed import futures_of

    with _HELD_LOCK:
        held = _HELD.setdefault(client, OrderedDict())
        if shipped.key not in held:
            held[shipped.key] = futures_of(client.persist(shipped))
        held.move_to_end(shipped.key)
        futures = held[shipped.key]
        while len(held) > _CACHE_SIZE:  # released futures let the cluster drop old models
            held.popitem(last=False)
    client.replicate(futures)  # again per job: a restarted worker has lost its copy


def _is_remote(data) -> bool:
    items = [data] if isinstance(data, (str, Path)) else list(data)
    return any("://" in str(item) for item in items)


def _prepare(data, history, model, survey, secret, client, rows_per_partition):
    """Load and ship the model, plan the partitions, reserve batches and run phase 1.

    Returns ``(client, shipped model, job, frame or None, fragments or None)``.
    """
    import dask
    import dask.dataframe as dd

    from fraudscore.model import FraudModel, load_model

    if model is None or isinstance(model, (str, Path)):
        model = load_model(model)
    if not isinstance(model, FraudModel):
        raise TypeError(f"model must be a FraudModel or a model directory, got {type(model).__name__}")
    spec = HistorySpec.of(history)
    client = client if client is not None else _default_client()
    frame = fragments = None
    if isinstance(data, dd.DataFrame):
        frame = data
    elif _is_remote(data):  # object stores: Dask's reader knows them (fsspec)
        frame = read_submissions(data)
    else:
        fragments = parquet_fragments(data, rows_per_partition)
    partitions = frame.npartitions if frame is not None else len(fragments)

    with spec.open(secret) as store:
        first = store.reserve_batches(partitions) if partitions else 1
    job = _Job(spec, secret, _secret_check(secret), first, survey)
    # One graph key holding the model: sent to the scheduler once and to each worker that needs it
    # once. Not client.scatter: scattered data lost with a dead worker cannot be recomputed, a
    # graph key can, so a killed worker does not fail the job. A saved model's version names its
    # file's sha256; any other model gets a new key per job, since it may be refitted in place.
    name = f"fraudscore-model-{getattr(model, 'model_version_', None) or uuid.uuid4().hex}"
    shipped = dask.delayed(model, name=name, traverse=False)

    if frame is not None:
        light = frame[_for_history(frame.columns)]  # projection reaches the Parquet reader
        _compute(client, light.map_partitions(_record_partition, job,
                                              meta={"partition": "int64", "rows": "int64", "added": "int64"}))
    else:
        record = dask.delayed(_record_fragment, pure=False)
        _compute(client, *[record(f, i, job) for i, f in enumerate(fragments)])
    if client is not None:
        _hold_on_every_worker(client, shipped)
    return client, shipped, job, frame, fragments


def score_dask(data, history, *, model=None, survey=None, secret=None, client=None,
               rows_per_partition: int = 50_000):
    """Score submissions on Dask, partition by partition, with shared history.

    Phase 1 (recording every partition in the history store) runs now and blocks; phase 2
    (scoring) runs when the returned DataFrame is computed. See the module docstring for the
    guarantee: results equal one process scoring the partitions in order.

    Parameters
    ----------
    data : dask.dataframe.DataFrame, or Parquet path(s)
        A DataFrame in any layout the readers accept (nested or dotted columns), or Parquet
        files, directories or globs: local paths are read straight into Arrow in partitions of
        whole row groups (:func:`parquet_fragments`), remote URLs with :func:`read_submissions`.
    history : str, HistorySpec, RedisStore or SQLiteStore
        The shared store: ``redis://HOST:PORT/DB`` for a cluster, ``sqlite:PATH`` for workers on
        one machine.
    model : FraudModel, str or Path, optional
        Default: the shipped model.
    survey : SurveySpec or list of SurveySpec, optional
        As for :class:`~fraudscore.scorer.Scorer`.
    secret : str or bytes, optional
        Installation secret; default ``FRAUDSCORE_SECRET``, which must then be set identically on
        every worker (checked: a worker with another secret fails the job).
    client : distributed.Client, optional
        Default: the current client, else Dask's local scheduler.
    rows_per_partition : int
        For local Parquet paths: row groups per partition up to about this many rows.

    Returns
    -------
    dask.dataframe.DataFrame
        The results contract (:mod:`fraudscore.results`), one row per input row, in input order;
        a DataFrame input keeps its partitions and index, paths get the input row number.
        ``.compute()`` runs it on the default client; with another ``client``, use
        ``client.compute(results)`` to score on that cluster, which already holds the model
        (``.compute()`` without a default client scores in this process, with the same results).
    """
    import dask
    import dask.dataframe as dd

    _, shipped, job, frame, fragments = _prepare(data, history, model, survey, secret, client, rows_per_partition)
    if frame is not None:
        return frame.map_partitions(_score_partition, shipped, job, meta=_results_meta(), enforce_metadata=False)
    if not fragments:  # files without a single row: no results, but a well-formed DataFrame
        return dd.from_pandas(_results_meta(), npartitions=1)
    # Results keep the column types of the results contract; Dask would otherwise turn its text
    # columns into its own string type on this path only.
    score = dask.delayed(_score_fragment, pure=False)
    with dask.config.set({"dataframe.convert-string": False}):
        return dd.from_delayed([score(f, i, shipped, job) for i, f in enumerate(fragments)],
                               meta=_results_meta(), verify_meta=False,
                               divisions=[f.offset for f in fragments] + [fragments[-1].offset + fragments[-1].rows - 1])


def score_files(inputs, output, history, *, model=None, survey=None, secret=None, client=None,
                rows_per_partition: int = 50_000) -> dict:
    """Score Parquet files on a Dask cluster and write one results file per partition.

    Parameters
    ----------
    inputs : str, Path or list
        Parquet files, a directory or a glob.
    output : str or Path
        Directory for ``part.00000.parquet``, ... (one per input partition, in input order).
    history, model, survey, secret, client, rows_per_partition
        As for :func:`score_dask`.

    Returns
    -------
    dict
        ``rows``, ``partitions``, ``seconds``, ``rows_per_s``, ``decisions`` and ``errors``.
    """
    import dask

    start = time.perf_counter()
    output = Path(output)
    output.mkdir(parents=True, exist_ok=True)
    target = str(output.resolve())
    client, shipped, job, frame, fragments = _prepare(inputs, history, model, survey, secret, client,
                                                      rows_per_partition)
    if frame is not None:
        meta = {"partition": "int64", "rows": "int64", "decisions": "object", "errors": "object"}
        (summaries,) = _compute(client, frame.map_partitions(_write_partition, shipped, job, target, meta=meta,
                                                             enforce_metadata=False))
        parts = [summaries]
    else:
        write = dask.delayed(_write_fragment, pure=False)
        parts = _compute(client, *[write(f, i, shipped, job, target) for i, f in enumerate(fragments)])
    summaries = pd.concat(parts, ignore_index=True).to_dict("records")
    return {**run_summary(summaries, time.perf_counter() - start), "partitions": len(summaries)}

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
from collections import Counter, OrderedDict
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

__all__ = ["HistorySpec", "read_submissions", "score_dask", "score_files"]


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


def _cached(cache: OrderedDict, key, make, close=None):
    """``cache[key]``, made by ``make()`` when missing; the least recently used entry goes first."""
    with _CACHE_LOCK:
        if key in cache:
            cache.move_to_end(key)
            return cache[key]
        cache[key] = value = make()
        while len(cache) > _CACHE_SIZE:
            _, old = cache.popitem(last=False)
            if close is not None:
                close(old)
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

    return _cached(_STORES, (spec, secret), make, close=lambda store: store.close())


def _scorer(model, survey, secret):
    from fraudscore.scorer import Scorer

    # A saved model is named by its content hash, so every job of one model shares the compiled
    # forest; an unsaved one by identity (the entry holds the model, so the id stays unique).
    name = getattr(model, "model_version_", None) or id(model)
    entry = _cached(_SCORERS, (name, repr(survey), secret),
                    lambda: (Scorer(model, history=False, survey=survey, secret=secret), model))
    return entry[0]


def _as_input(frame: pd.DataFrame):
    """A partition as the readers' fastest input: Arrow when its columns already are Arrow."""
    if any(isinstance(dtype, pd.ArrowDtype) for dtype in frame.dtypes):
        import pyarrow as pa

        return pa.Table.from_pandas(frame, preserve_index=False)
    return frame


def _number(partition_info) -> int:
    if partition_info is None:  # only while Dask infers metadata on an empty frame
        return 0
    return int(partition_info["number"])


def _record_partition(frame, spec, secret, check, first, partition_info=None):
    """Phase 1: fingerprint and record one partition under its reserved batch number."""
    from fraudscore.model import history_counts

    store = _store(spec, secret, check)
    number = _number(partition_info)
    counts = history_counts(_as_input(frame), _ReservedBatch(store, first + number), secret=secret)
    return pd.DataFrame({"partition": [number], "rows": [len(frame)], "added": [int((~counts.replayed).sum())]})


def _score_partition(frame, model, survey, spec, secret, check, first, partition_info=None):
    """Phase 2: score one partition; its history lookup replays what phase 1 recorded."""
    scorer = copy.copy(_scorer(model, survey, secret))  # shares the compiled model; history is per call
    scorer.history = _ReservedBatch(_store(spec, secret, check), first + _number(partition_info))
    out = scorer.score(_as_input(frame)).to_pandas()
    out.index = frame.index
    return out


def _write_partition(frame, model, survey, spec, secret, check, first, output, partition_info=None):
    """Phase 2 for files: score one partition, write ``part.NNNNN.parquet``, return its summary."""
    from fraudscore.results import Results

    results = Results(_score_partition(frame, model, survey, spec, secret, check, first, partition_info))
    number = _number(partition_info)
    if partition_info is not None:
        results.write(Path(output) / f"part.{number:05d}.parquet")
    summary = results.summary()
    return pd.DataFrame({"partition": [number], "rows": [summary["rows"]],
                         "decisions": [summary["decisions"]], "errors": [summary["errors"]]})


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
    from fraudscore.results import Results

    return Results.concat([]).to_pandas()


def _prepare(data, history, model, secret, client):
    """Load the model, ship it to the workers, reserve batches and run phase 1. Returns the job."""
    import dask
    import dask.dataframe as dd

    from fraudscore.model import FraudModel, load_model

    frame = data if isinstance(data, dd.DataFrame) else read_submissions(data)
    if model is None or isinstance(model, (str, Path)):
        model = load_model(model)
    if not isinstance(model, FraudModel):
        raise TypeError(f"model must be a FraudModel or a model directory, got {type(model).__name__}")
    spec = HistorySpec.of(history)
    check = _secret_check(secret)
    client = client if client is not None else _default_client()
    # Sent once to every worker (or, without a distributed client, once as one graph key).
    shipped = client.scatter(model, broadcast=True, hash=False) if client is not None else dask.delayed(model)

    with spec.open(secret) as store:
        first = store.reserve_batches(frame.npartitions)
    recorded = frame.map_partitions(_record_partition, spec, secret, check, first,
                                    meta={"partition": "int64", "rows": "int64", "added": "int64"})
    recorded = (client.compute(recorded).result() if client is not None else recorded.compute())
    return frame, shipped, spec, check, first, recorded


def _default_client():
    try:
        from distributed import default_client

        return default_client()
    except (ImportError, ValueError):  # no distributed, or no client made: the local scheduler
        return None


def score_dask(data, history, *, model=None, survey=None, secret=None, client=None):
    """Score a Dask DataFrame of submissions, partition by partition, with shared history.

    Phase 1 (recording every partition in the history store) runs now and blocks; phase 2
    (scoring) runs when the returned DataFrame is computed. See the module docstring for the
    guarantee: results equal one process scoring the partitions in order.

    Parameters
    ----------
    data : dask.dataframe.DataFrame, or Parquet path(s)
        Partitions in any layout the readers accept (nested or dotted columns). Paths are read
        with :func:`read_submissions`.
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

    Returns
    -------
    dask.dataframe.DataFrame
        The results contract (:mod:`fraudscore.results`), one row per input row, same partitions
        and index as ``data``.
    """
    frame, shipped, spec, check, first, _ = _prepare(data, history, model, secret, client)
    return frame.map_partitions(_score_partition, shipped, survey, spec, secret, check, first,
                                meta=_results_meta(), enforce_metadata=False)


def score_files(inputs, output, history, *, model=None, survey=None, secret=None, client=None) -> dict:
    """Score Parquet files on a Dask cluster and write one results file per partition.

    Parameters
    ----------
    inputs : str, Path or list
        Parquet files, a directory or a glob.
    output : str or Path
        Directory for ``part.00000.parquet``, ... (one per input partition, in input order).
    history, model, survey, secret, client
        As for :func:`score_dask`.

    Returns
    -------
    dict
        ``rows``, ``partitions``, ``seconds``, ``rows_per_s``, ``decisions`` and ``errors``.
    """
    start = time.perf_counter()
    output = Path(output)
    output.mkdir(parents=True, exist_ok=True)
    frame, shipped, spec, check, first, _ = _prepare(inputs, history, model, secret, client)
    client = client if client is not None else _default_client()
    meta = {"partition": "int64", "rows": "int64", "decisions": "object", "errors": "object"}
    summaries = frame.map_partitions(_write_partition, shipped, survey, spec, secret, check, first,
                                     str(output.resolve()), meta=meta, enforce_metadata=False)
    summaries = client.compute(summaries).result() if client is not None else summaries.compute()
    decisions: Counter = Counter()
    errors: Counter = Counter()
    for d, e in zip(summaries["decisions"], summaries["errors"]):
        decisions.update(d)
        errors.update(e)
    seconds = time.perf_counter() - start
    rows = int(np.sum(summaries["rows"]))
    return {"rows": rows, "partitions": len(summaries), "seconds": seconds,
            "rows_per_s": rows / seconds if seconds > 0 else float("nan"),
            "decisions": dict(decisions), "errors": dict(errors)}

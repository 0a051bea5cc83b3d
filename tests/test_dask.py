"""Distributed scoring on a real LocalCluster (2 worker processes) with a real redis-server.

The claim under test: results equal one process scoring the partitions in order, row for row,
duplicate counts included, even when a worker is killed in the middle of the job.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import uuid
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

pytest.importorskip("distributed")

from fraudscore.dask import (
    HistorySpec,
    _store,
    parquet_fragments,
    read_submissions,
    score_dask,
)
from fraudscore.history import MemoryStore, RedisStore
from fraudscore.results import FAMILIES, Results
from fraudscore.scorer import Scorer

PARTS = 4
ROWS = 300


@pytest.fixture(scope="module")
def cluster_client():
    from distributed import Client, LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                      silence_logs=50) as cluster, Client(cluster) as client:
        yield client


@pytest.fixture(scope="module")
def submissions() -> pa.Table:
    """Simulated traffic rich in repeat respondents, so duplicates cross partition boundaries."""
    from fraudscore.simulation import simulate

    return simulate(PARTS * ROWS, fraud_rate=0.3, families=["duplicate", "naive_bot", "geo_fraud"], seed=11,
                    output="arrow").data


def _write_parts(table: pa.Table, directory: Path) -> list[Path]:
    directory.mkdir()
    paths = []
    for i in range(PARTS):
        paths.append(directory / f"part{i}.parquet")
        pq.write_table(table.slice(i * ROWS, ROWS), paths[-1])
    return paths


def _redis_spec(redis_url: str) -> HistorySpec:
    return HistorySpec(redis_url, (("prefix", f"dask-test:{uuid.uuid4().hex}"),))


def _in_order(table: pa.Table, store) -> pd.DataFrame:
    """The single-process reference: one Scorer, the partitions one after another."""
    scorer = Scorer(history=store)
    return pd.concat([scorer.score(table.slice(i * ROWS, ROWS)).to_pandas() for i in range(PARTS)],
                     ignore_index=True)


def _assert_same_results(got: pd.DataFrame, expected: pd.DataFrame) -> None:
    got = got.reset_index(drop=True)
    assert list(got.columns) == list(expected.columns)
    assert len(got) == len(expected)
    for column in expected.columns:
        if column in FAMILIES:
            # Sums of contributions, equal to the last bits only: numpy's SIMD reductions can round
            # differently with another memory alignment or batch size.
            np.testing.assert_allclose(got[column], expected[column], rtol=1e-12, err_msg=column)
        elif column == "reasons":
            assert [[r["code"] for r in row] for row in got[column]] == \
                   [[r["code"] for r in row] for row in expected[column]]
            np.testing.assert_allclose([r["value"] for row in got[column] for r in row],
                                       [r["value"] for row in expected[column] for r in row], rtol=1e-12)
        elif column == "warnings":
            assert list(got[column].map(list)) == list(expected[column].map(list))
        else:
            pd.testing.assert_series_equal(got[column], expected[column], check_exact=True, obj=column)


def test_dask_results_equal_one_process_scoring_the_partitions_in_order(
        cluster_client, submissions, redis_url, tmp_path):
    _write_parts(submissions, tmp_path / "in")
    expected = _in_order(submissions, RedisStore(redis_url, prefix=f"reference:{uuid.uuid4().hex}"))
    spec = _redis_spec(redis_url)

    results = score_dask(read_submissions(tmp_path / "in"), spec, client=cluster_client)
    assert results.npartitions == PARTS
    got = results.compute()
    _assert_same_results(got, expected)
    # Not a vacuous equality: repeat devices are counted, some across partition boundaries.
    dup = got["duplicate_count"].to_numpy()
    assert (dup > 0).sum() >= 20
    first_seen = pd.Series(np.arange(len(got)) // ROWS).groupby(got["link_id"].to_numpy()).transform("min")
    assert ((dup > 0) & (first_seen.to_numpy() < np.arange(len(got)) // ROWS)).any()

    # Phase 2 only reads history: computing again gives the same results and stores nothing.
    with spec.open() as store:
        held = store.submission_count()
        _assert_same_results(results.compute(), expected)
        assert store.submission_count() == held == len(submissions)


def test_parquet_paths_are_read_straight_into_arrow_with_the_same_results(
        cluster_client, submissions, redis_url, tmp_path):
    _write_parts(submissions, tmp_path / "in")
    expected = _in_order(submissions, MemoryStore())

    results = score_dask(tmp_path / "in", _redis_spec(redis_url), client=cluster_client)
    assert results.npartitions == PARTS
    got = results.compute()
    assert got.index.tolist() == list(range(len(submissions)))  # input row numbers
    _assert_same_results(got, expected)


def test_results_of_a_job_also_compute_off_the_cluster_that_holds_the_model(
        cluster_client, submissions, redis_url, tmp_path):
    """A client that is not the default one: ``.compute()`` then runs on Dask's local scheduler,
    which must not need the copy of the model held on the cluster's workers."""
    import dask

    _write_parts(submissions, tmp_path / "in")
    expected = _in_order(submissions, MemoryStore())
    results = score_dask(tmp_path / "in", _redis_spec(redis_url), client=cluster_client)

    assert any(key.startswith("fraudscore-model-") for key in cluster_client.who_has())  # held there
    with dask.config.set(scheduler="sync"):
        _assert_same_results(results.compute(), expected)
    _assert_same_results(cluster_client.compute(results).result(), expected)


def test_parquet_fragments_group_row_groups_of_each_file_in_order(tmp_path):
    table = pa.table({"submission_id": [f"s{i}" for i in range(10)]})
    pq.write_table(table, tmp_path / "b.parquet", row_group_size=3)  # groups of 3, 3, 3, 1
    pq.write_table(table.slice(0, 0), tmp_path / "c.parquet")  # empty: contributes nothing
    pq.write_table(table.slice(0, 4), tmp_path / "a.parquet")
    fragments = parquet_fragments(tmp_path, rows_per_partition=5)
    assert [(Path(f.path).name, f.row_groups, f.offset, f.rows) for f in fragments] == [
        ("a.parquet", (0,), 0, 4), ("b.parquet", (0, 1), 4, 6), ("b.parquet", (2, 3), 10, 4)]
    assert fragments[1].read().column("submission_id").to_pylist() == [f"s{i}" for i in range(6)]


def test_time_ordered_input_equals_scoring_it_in_one_call(cluster_client, submissions, redis_url, tmp_path):
    ordered = submissions.take(np.argsort(submissions.column("submitted_at").to_numpy(), kind="stable"))
    _write_parts(ordered, tmp_path / "in")
    expected = Scorer(history=MemoryStore()).score(ordered).to_pandas()

    got = score_dask(read_submissions(tmp_path / "in"), _redis_spec(redis_url), client=cluster_client).compute()
    _assert_same_results(got, expected)


@dataclass(frozen=True)
class _KillOnce(HistorySpec):
    """A spec whose store SIGKILLs its worker right after recording partition 1 — once."""

    marker: str = ""

    def open(self, secret=None):
        return _KillAfterRecord(super().open(secret), Path(self.marker))


class _KillAfterRecord:
    def __init__(self, store, marker: Path) -> None:
        self.store, self.marker = store, marker
        self.first = None

    def reserve_batches(self, n):
        return self.store.reserve_batches(n)

    def observe(self, obs, now=None, *, batch=None):
        counts = self.store.observe(obs, now=now, batch=batch)
        if batch is not None and not counts.replayed.all() and not self.marker.exists():
            with open(self.marker, "x") as fh:  # only the first recording of any partition dies
                fh.write(str(os.getpid()))
            os.kill(os.getpid(), signal.SIGKILL)  # after the commit: the retry must not count it twice
        return counts

    def submission_count(self):
        return self.store.submission_count()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.store.close()


def test_worker_killed_after_recording_a_partition_is_retried_without_double_counting(
        cluster_client, submissions, redis_url, tmp_path):
    import cloudpickle

    cloudpickle.register_pickle_by_value(sys.modules[__name__])  # workers cannot import test modules
    _write_parts(submissions, tmp_path / "in")
    expected = _in_order(submissions, MemoryStore())
    marker = tmp_path / "killed"
    spec = _KillOnce(redis_url, (("prefix", f"dask-kill:{uuid.uuid4().hex}"),), marker=str(marker))

    got = score_dask(read_submissions(tmp_path / "in"), spec, client=cluster_client).compute()
    assert marker.exists()  # a worker really died mid-job
    killed = int(marker.read_text())
    assert killed not in cluster_client.run(os.getpid).values()  # that process is gone (the nanny restarted it)
    _assert_same_results(got, expected)
    with HistorySpec.open(spec) as store:
        assert store.submission_count() == len(submissions)


def test_cli_score_on_a_dask_scheduler_writes_one_results_file_per_partition(
        cluster_client, submissions, redis_url, tmp_path):
    _write_parts(submissions, tmp_path / "in")
    expected = _in_order(submissions, MemoryStore())
    history = redis_url.rsplit("/", 1)[0] + "/7"  # a database of its own: the CLI uses the default prefix
    import redis

    redis.Redis.from_url(history).flushdb()
    out = tmp_path / "out"
    run = subprocess.run(
        [sys.executable, "-m", "fraudscore.cli", "score", str(tmp_path / "in"), "-o", str(out),
         "--dask", cluster_client.scheduler.address, "--history", history, "--retain-worker-memory", "-q"],
        check=False, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-3000:]
    assert f"{len(submissions)} rows" in run.stdout
    # --retain-worker-memory registered the worker plugin (tests/test_dask_allocator.py: what it does)
    assert "fraudscore-retain-freed-memory" in cluster_client.run_on_scheduler(_worker_plugins)
    parts = sorted(out.glob("part.*.parquet"))
    assert [p.name for p in parts] == [f"part.{i:05d}.parquet" for i in range(PARTS)]
    got = pd.concat([Results.read(p).to_pandas() for p in parts], ignore_index=True)
    _assert_same_results(got, _round_trip(expected, tmp_path))


def _worker_plugins(dask_scheduler) -> list:
    return list(dask_scheduler.worker_plugins)


def _round_trip(frame: pd.DataFrame, tmp_path: Path) -> pd.DataFrame:
    """The reference as it reads back from Parquet, so both sides went through the same writer."""
    Results(frame).write(tmp_path / "expected.parquet")
    return Results.read(tmp_path / "expected.parquet").to_pandas()


def test_a_worker_with_another_secret_refuses_to_open_the_store(redis_url):
    with pytest.raises(RuntimeError, match="different installation secret"):
        _store(_redis_spec(redis_url), "another-secret-0123456789abcdef", "not-the-clients-check")


@pytest.mark.parametrize("history", ["memory:", MemoryStore()])
def test_history_that_workers_cannot_share_is_refused(history):
    with pytest.raises((ValueError, TypeError), match="shared history"):
        HistorySpec.of(history)

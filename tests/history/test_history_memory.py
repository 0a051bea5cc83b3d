"""MemoryStore internals: its sorted runs merge without changing a count; purge reaches every run."""

from __future__ import annotations

import numpy as np

from fraudscore.history import MemoryStore, Observations

SECRET = "history-tests-secret-0123456789abcdef"
T = 1_800_000_000_000


def _stream(n: int) -> Observations:
    rng = np.random.default_rng(7)
    return Observations.from_hashes([f"s{i}" for i in range(n)], T + np.sort(rng.integers(0, 10**8, n)), 1,
                                    device_id=rng.integers(1, 300, n), respondent=rng.integers(1, 2000, n),
                                    text=rng.integers(0, 5, n))


def test_counts_are_the_same_before_and_after_runs_merge():
    obs = _stream(12_000)  # 12 batches of 1,000 rows: runs merge several times
    whole = MemoryStore(secret=SECRET).observe(obs).values
    store = MemoryStore(secret=SECRET)
    parts = [store.observe(obs.take(slice(i, i + 1_000))).values for i in range(0, 12_000, 1_000)]
    assert max(len(run["code"]) for run in store._index.kinds["device"].events.runs) > 1_000  # runs merged
    assert np.array_equal(np.vstack(parts), whole)
    assert store.observe(obs.take(slice(0, 3_000))).replayed.all()  # held rows are found after tables grew
    assert store.submission_count() == 12_000


def test_purge_reaches_both_runs():
    obs = _stream(6_000)
    store = MemoryStore(secret=SECRET)
    for i in range(0, 6_000, 1_000):
        store.observe(obs.take(slice(i, i + 1_000)))
    old = int(np.sum(obs.timestamp_ms <= T + 5 * 10**7))
    assert store.purge(now=T + 5 * 10**7 + store.retention_ms) == old
    assert store.submission_count() == 6_000 - old
    assert (store._index.all_rows()["t"] > T + 5 * 10**7).all()
    assert store._index.gather("device", np.arange(1, 300, dtype=np.uint64))["t"].min() > T + 5 * 10**7

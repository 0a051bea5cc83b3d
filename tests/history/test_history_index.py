"""The index agrees with the reference kernel, row for row; its hash tables keep their ids as they grow."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fraudscore.history._counting import COLUMNS, EVENT_DTYPE, ROW_DTYPE, count_history
from fraudscore.history import _index
from fraudscore.history._index import HistoryIndex, _Ids, count_within_batch
from fraudscore.history.observations import KIND_FIELDS, KINDS

HOUR = 3_600_000
T0 = 1_800_000_000_000

row = st.tuples(
    st.integers(0, 60).map(lambda m: T0 + m * HOUR // 2),  # half hours over 30 h: window edges and ties
    st.integers(1, 2),  # survey
    st.lists(st.integers(0, 3), min_size=len(KINDS), max_size=len(KINDS)),  # few keys: they collide; 0 = missing
)
batches = st.lists(st.lists(row, min_size=1, max_size=8), min_size=1, max_size=5)


def _rows(batch: list, first_sub: int) -> np.ndarray:
    rows = np.zeros(len(batch), ROW_DTYPE)
    rows["sub"] = np.arange(first_sub, first_sub + len(batch))
    rows["t"] = [t for t, _, _ in batch]
    rows["survey"] = [s for _, s, _ in batch]
    for k, kind in enumerate(KINDS):
        rows[KIND_FIELDS[kind]] = [keys[k] for _, _, keys in batch]
    position = np.empty(len(batch), np.int64)
    position[np.lexsort((np.arange(len(batch)), rows["t"]))] = np.arange(len(batch))  # as observe() orders
    rows["seq"] = position
    return rows[np.argsort(rows["sub"])]


@pytest.fixture(params=["few-row paths", "vectorized only"])
def path(request):
    """Batches this small take the few-row paths; the second run makes them all vectorized."""
    saved = _index._SCALAR
    _index._SCALAR = saved if request.param == "few-row paths" else 0
    yield request.param
    _index._SCALAR = saved


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(stored=batches, query=st.lists(row, min_size=1, max_size=8), cutoff_step=st.integers(-1, 40),
       on_grid=st.booleans(), reserved=st.booleans())
def test_new_batch_counts_by_search_equal_the_reference_kernel(path, stored, query, cutoff_step, on_grid, reserved):
    # Stored batches arrive with times in any order (backfills), some under a reserved number
    # below later ones; the cutoff falls anywhere, so some keys have occurrences past retention.
    index = HistoryIndex()
    sub = 1
    numbers = [1 + 2 * i for i in range(len(stored))]
    if reserved and len(numbers) > 1:
        numbers[-1], numbers[-2] = numbers[-2], numbers[-1]
    for number, batch in zip(numbers, stored):
        rows, new = index.stamp(_rows(batch, sub), number)
        index.add(rows[new])
        sub += len(batch)
    cutoff = T0 + cutoff_step * HOUR // 2 - (not on_grid)  # on the grid: an event exactly at the cutoff
    rows, new = index.stamp(_rows(query, sub), 2 * len(stored) + 1)
    fast = index.count_new(rows, cutoff)
    reference = index.count_reference(rows, new, cutoff)
    assert np.array_equal(fast, reference), [
        (c, fast[:, i].tolist(), reference[:, i].tolist()) for i, c in enumerate(COLUMNS)
        if not np.array_equal(fast[:, i], reference[:, i])]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(batch=st.lists(row, min_size=1, max_size=30), cutoff_step=st.integers(-1, 60))
def test_counts_within_a_new_batch_equal_the_reference_kernel(path, batch, cutoff_step):
    rows = _rows(batch, 1)
    rows["seq"] |= 7 << 32  # one batch number, as stamped
    cutoff = T0 + cutoff_step * HOUR // 2
    empty = {kind: np.zeros(0, EVENT_DTYPE) for kind in KINDS}
    reference = count_history(rows, empty, np.ones(len(rows), bool), cutoff)
    fast = count_within_batch(rows, cutoff)
    assert np.array_equal(fast, reference), [
        (c, fast[:, i].tolist(), reference[:, i].tolist()) for i, c in enumerate(COLUMNS)
        if not np.array_equal(fast[:, i], reference[:, i])]


# v * golden ratio (mod 2**64) close to 2**64: a home at the very end for every table size.
_LAST_SLOT = np.array([pow(0x9E3779B97F4A7C15, -1, 2**64) * (2**64 - 1 - j) % 2**64 for j in range(300)], np.uint64)


def test_hash_table_ids_survive_growth_and_repeated_values():
    # Many small adds grow the table several times (each a sorted re-layout); values repeat within
    # and across adds, and 300 values have their home in the table's last slot, whatever its size,
    # so probing runs past the end and wraps to slot 0.
    rng = np.random.default_rng(3)
    table, seen = _Ids(), []
    for i in range(60):
        values = rng.integers(1, 2**64 - 1, 700, dtype=np.uint64)
        if seen:
            values[:200] = np.concatenate(seen)[rng.integers(0, 700 * len(seen), 200)]
        values[-5:] = _LAST_SLOT[5 * i:5 * i + 5]
        ids = table.add(values, table.get(values))
        assert np.array_equal(table.get(values), ids)
        seen.append(values)
    everything = np.concatenate(seen)
    distinct = np.unique(everything)
    ids = table.get(distinct)
    assert table.size == len(distinct) and np.array_equal(np.sort(ids), np.arange(len(distinct)))
    assert (table.get(rng.integers(1, 2**63, 1_000, dtype=np.uint64)) == -1).all()

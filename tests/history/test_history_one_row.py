"""Batches of one or a few rows take Python-int paths (hash probes, lookups, recording, the
one-row ``observe``); every count, replay flag and stored row equals the vectorized paths'."""

from __future__ import annotations

import contextlib
import uuid

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fraudscore.history import MemoryStore, Observations, RedisStore, SQLiteStore
from fraudscore.history import _index
from fraudscore.history._index import HistoryIndex, _Ids
from fraudscore.history.observations import KIND_FIELDS, KINDS

SECRET = "one-row-history-test-secret-0123456789"
HOUR = 3_600_000
T0 = 1_800_000_000_000
# Few keys, so they collide; 0 is missing; large values exercise uint64 arithmetic in Python ints.
KEYS = [0, 1, 2, 2**63 + 5, 2**64 - 1]


@contextlib.contextmanager
def vectorized_only():
    """The index as it was before the few-row paths: every call through the vectorized code."""
    saved = _index._SCALAR
    _index._SCALAR = 0
    try:
        yield
    finally:
        _index._SCALAR = saved


def _observations(rows: list, respondents: list[int]) -> Observations:
    subs, times, surveys, keys = zip(*rows)
    hashes = {KIND_FIELDS[kind]: [k[i] for k in keys] for i, kind in enumerate(KINDS)}
    # The respondent column holds real respondent hashes so that erase() can find them.
    hashes["respondent"] = [respondents[k[KINDS.index("respondent")] % len(respondents)] if k[KINDS.index("respondent")]
                            else 0 for k in keys]
    hashes = {name: np.array(values, np.uint64) for name, values in hashes.items()}
    return Observations.from_hashes([f"s{s}" for s in subs], list(times), list(surveys), **hashes)


row = st.tuples(
    st.integers(0, 12),  # submission: repeats are replays (or repeats within a batch)
    st.integers(0, 70).map(lambda m: T0 + m * HOUR // 2),  # half hours: window edges, equal times, any order
    st.integers(1, 2),  # survey
    st.lists(st.sampled_from(KEYS), min_size=len(KINDS), max_size=len(KINDS)),
)
step = st.one_of(
    st.tuples(st.just("observe"), st.lists(row, min_size=1, max_size=3), st.sampled_from([None, 0, 20, 40])),
    st.tuples(st.just("erase"), st.integers(0, 2), st.none()),
    st.tuples(st.just("purge"), st.integers(0, 70), st.none()),
)


def _apply(store, action, arg, extra, respondents, one_copy: bool):
    """One step on ``store``; a one-row observe as a batch of two copies of the row if ``one_copy`` is
    False (the general ``observe`` path: the copy is folded into the first row)."""
    if action == "erase":
        return store.erase(f"r{arg}")
    if action == "purge":
        return store.purge(T0 + arg * HOUR // 2 + int(store.retention_ms))
    obs = _observations(arg, respondents)
    now = None if extra is None else T0 + extra * HOUR // 2
    if len(obs) == 1 and not one_copy:
        counts = store.observe(obs.take([0, 0]), now=now)
        return counts.values[:1].tolist(), counts.replayed[:1].tolist()
    counts = store.observe(obs, now=now)
    return counts.values.tolist(), counts.replayed.tolist()


@pytest.mark.parametrize("store_kind", ["memory", "sqlite", "redis"])
@settings(max_examples=150, deadline=None)
@given(steps=st.lists(step, min_size=1, max_size=12))
def test_one_and_few_row_observes_count_as_the_vectorized_paths(request, store_kind, steps):
    # Sequences of small observes with replays, erasure and purge between them, equal and
    # out-of-order times and missing keys: the same counts and replay flags, call by call.
    def make():
        if store_kind == "memory":
            return MemoryStore(secret=SECRET, retention_days=1)
        if store_kind == "redis":
            return RedisStore(request.getfixturevalue("redis_url"), prefix=f"one-row:{uuid.uuid4().hex}",
                              secret=SECRET, retention_days=1)
        return SQLiteStore(":memory:", secret=SECRET, retention_days=1)

    fast, reference = make(), MemoryStore(secret=SECRET, retention_days=1)
    respondents = [fast._respondent_hash(f"r{i}") for i in range(3)]
    for action, arg, extra in steps:
        got = _apply(fast, action, arg, extra, respondents, one_copy=True)
        with vectorized_only():
            expected = _apply(reference, action, arg, extra, respondents, one_copy=False)
        assert got == expected, (action, arg, extra)
    held, expected = (np.sort(store._index.all_rows(), order="sub") for store in (fast, reference))
    if store_kind == "redis":  # its batch counter also moves on calls that add nothing: positions only
        held["seq"] &= 0xFFFFFFFF
        expected["seq"] &= 0xFFFFFFFF
    assert np.array_equal(held, expected)
    fast.close()


@settings(max_examples=100, deadline=None)
@given(rows=st.lists(row, min_size=1, max_size=40, unique_by=lambda r: r[0]))
def test_row_by_row_equals_the_vectorized_paths_row_by_row(rows):
    # One batch observed one row at a time: the few-row paths and the vectorized ones record and
    # count the same, row by row (and the index they build answers the same).
    fast, reference = MemoryStore(secret=SECRET), MemoryStore(secret=SECRET)
    respondents = [fast._respondent_hash(f"r{i}") for i in range(3)]
    for r in rows:
        got = fast.observe(_observations([r], respondents))
        with vectorized_only():
            expected = reference.observe(_observations([r], respondents))
        assert got.values.tolist() == expected.values.tolist() and got.replayed.tolist() == expected.replayed.tolist()
    batch = _observations([(r[0] + 100, *r[1:]) for r in rows], respondents)
    with vectorized_only():
        assert np.array_equal(fast.observe(batch).values, reference.observe(batch).values)


def test_few_value_hash_table_paths_equal_the_vectorized_ones():
    # Lookups and inserts of up to _SCALAR values give the ids the vectorized rounds give, through
    # growth (re-layouts) and with values whose home is the table's last slot (probing wraps).
    rng = np.random.default_rng(5)
    last_slot = np.array([pow(0x9E3779B97F4A7C15, -1, 2**64) * (2**64 - 1 - j) % 2**64 for j in range(400)], np.uint64)
    few, many, seen = _Ids(), _Ids(), [np.zeros(0, np.uint64)]
    for i in range(400):
        values = rng.integers(1, 2**64 - 1, int(rng.integers(1, _index._SCALAR + 1)), dtype=np.uint64)
        held = np.concatenate(seen)
        if len(held) and i % 2:
            values[:2] = held[rng.integers(0, len(held), min(2, len(values)))]
        values[-1] = last_slot[i]
        distinct = bool(i % 3 == 0)
        if distinct:
            values = np.unique(values)[rng.permutation(len(np.unique(values)))]
        got = few.add(values, few.get(values), distinct)
        with vectorized_only():
            expected = many.add(values, many.get(values), distinct)
            assert np.array_equal(many.get(values), expected)
        assert np.array_equal(got, expected) and np.array_equal(few.get(values), got)
        seen.append(values)
    assert few.size == many.size and np.array_equal(few.values[:few.size], many.values[:many.size])


def test_one_row_record_leaves_the_index_the_vectorized_path_builds():
    # The same rows recorded one at a time by both paths: identical rows, ids and sorted codes.
    rng = np.random.default_rng(11)
    fast, reference = HistoryIndex(), HistoryIndex()
    for number in range(1, 300):
        rows = np.zeros(1, fast.rows.dtype)
        rows["sub"] = number
        rows["t"] = T0 + int(rng.integers(0, 48)) * HOUR // 2
        rows["survey"] = int(rng.integers(1, 3))
        for kind in KINDS:
            rows[KIND_FIELDS[kind]] = [0, 1, 2, 3, 2**64 - 2][int(rng.integers(0, 5))]
        rows["seq"] = number << 32
        fast.add(rows)
        with vectorized_only():
            reference.add(rows)
    assert np.array_equal(fast.all_rows(), reference.all_rows())
    assert np.array_equal(fast.pair_first[:fast.pairs.size], reference.pair_first[:reference.pairs.size])
    for kind in KINDS:
        a, b = fast.kinds[kind], reference.kinds[kind]
        assert np.array_equal(a.ids.values[:a.ids.size], b.ids.values[:b.ids.size])
        for runs_a, runs_b in zip(a.code_runs(), b.code_runs()):
            assert len(runs_a) == len(runs_b)
            runs_a.flush()  # the one-row path's elements may still wait in its pending list
            assert np.array_equal(np.sort(np.concatenate([r["code"] for r in runs_a.runs] or [np.zeros(0, np.int64)])),
                                  np.sort(np.concatenate([r["code"] for r in runs_b.runs] or [np.zeros(0, np.int64)])))


@settings(max_examples=60, deadline=None)
@given(texts=st.lists(st.one_of(st.none(), st.lists(st.one_of(st.none(), st.just(""), st.just(float("nan")),
                                                             st.text(max_size=5)), max_size=4)),
                      min_size=1, max_size=6))
def test_open_text_of_one_row_is_joined_as_the_batch_joins_it(texts):
    # history_counts hashes each row's open-text answers joined by newlines; score_one's one-row
    # join must give the batch's string (missing answers as "", no answers as None) for every row.
    import fraudscore
    from fraudscore.io import from_records
    from fraudscore.model import _joined_text

    records = fraudscore.simulate(len(texts), seed=4, output="records").records
    for record, text in zip(records, texts):
        if text is None:
            record["answers"].pop("text", None)
        else:
            record["answers"]["text"] = text
    whole = _joined_text(from_records(records))
    for i, record in enumerate(records):
        one = _joined_text(from_records([record]))
        assert one.tolist() == whole[i:i + 1].tolist()

"""The HistoryStore contract, checked by hand on tiny batches, against every store."""

from __future__ import annotations

import json

import numpy as np
import pytest

from fraudscore.history import COLUMNS, HistoryCounts, Observations

T = 1_800_000_000_000  # ms, an ordinary 2027 timestamp
MIN = 60_000
HOUR = 60 * MIN
DAY = 24 * HOUR


def batch(ids, times, survey=7, **hashes):
    return Observations.from_hashes(ids, times, survey, **hashes)


def test_device_seen_at_t_30min_2h_has_prior_1h_of_0_1_0(store):
    counts = store.observe(batch(["a", "b", "c"], [T, T + 30 * MIN, T + 2 * HOUR], device_id=[5, 5, 5]))
    assert counts.prior_device_1h.tolist() == [0, 1, 0]
    assert counts.prior_device_24h.tolist() == [0, 1, 2]
    assert counts.prior_device_survey.tolist() == [0, 1, 2]


def test_window_excludes_an_observation_exactly_one_window_old(store):
    counts = store.observe(batch(["a", "b", "c"], [T, T + HOUR, T + DAY + HOUR], ip=[9, 9, 9]))
    assert counts.prior_ip_1h.tolist() == [0, 0, 0]  # windows are (t - W, t]
    assert counts.prior_ip_24h.tolist() == [0, 1, 0]  # c is exactly 24 h after b


def test_same_timestamp_rows_count_in_input_order(store):
    counts = store.observe(batch(["a", "b", "c"], [T, T, T], cookie=[3, 3, 3]))
    assert counts.prior_cookie_1h.tolist() == [0, 1, 2]


def test_rows_of_a_batch_are_ordered_by_time_not_position(store):
    counts = store.observe(batch(["late", "early"], [T + MIN, T], text=[4, 4]))
    assert counts.prior_text_1h.tolist() == [1, 0]


def test_survey_window_counts_only_the_same_survey(store):
    obs = Observations.from_hashes(["a", "b", "c"], [T, T + 1, T + 2], [1, 2, 1], ip_prefix=[8, 8, 8])
    counts = store.observe(obs)
    assert counts.prior_ip_prefix_survey.tolist() == [0, 0, 1]
    assert counts.prior_ip_prefix_1h.tolist() == [0, 1, 2]  # time windows span all surveys


def test_missing_key_is_neither_counted_nor_counts(store):
    counts = store.observe(batch(["a", "b", "c"], [T, T + 1, T + 2], device_id=[0, 0, 5], respondent=[1, 1, 0]))
    assert counts.prior_device_1h.tolist() == [0, 0, 0]
    assert counts.respondents_per_device.tolist() == [0, 0, 0]  # c has a device but no respondent
    assert counts.devices_per_respondent.tolist() == [0, 0, 0]  # a, b have no device


def test_distinct_respondents_per_device_include_the_row_itself(store):
    counts = store.observe(batch(["a", "b", "c", "d"], [T, T + 1, T + 2, T + 3],
                                 device_id=[5, 5, 5, 6], link_id=[2, 2, 2, 2], respondent=[1, 2, 1, 1]))
    assert counts.respondents_per_device.tolist() == [1, 2, 2, 1]
    assert counts.respondents_per_link.tolist() == [1, 2, 2, 2]
    assert counts.devices_per_respondent.tolist() == [1, 1, 1, 2]


def test_splitting_a_stream_into_batches_gives_the_same_counts(make_store, store_kind):
    times = [T, T + 10 * MIN, T + 10 * MIN, T + 50 * MIN, T + 3 * HOUR]
    obs = batch(list("abcde"), times, device_id=[1, 1, 2, 1, 1], respondent=[1, 2, 2, 3, 1])
    whole = make_store("memory").observe(obs)
    split = make_store(store_kind)
    parts = [split.observe(obs.take(slice(0, 2))), split.observe(obs.take(slice(2, 5)))]
    assert np.array_equal(np.vstack([p.values for p in parts]), whole.values)


def test_a_row_does_not_see_stored_rows_with_a_later_timestamp(store):
    store.observe(batch(["later"], [T + HOUR], device_id=[5]))
    counts = store.observe(batch(["earlier", "after"], [T, T + 2 * HOUR], device_id=[5, 5]))
    assert counts.prior_device_24h.tolist() == [0, 2]


def test_replayed_batch_returns_first_counts_and_adds_nothing(store):
    first_batch = batch(["a", "b"], [T, T + MIN], device_id=[5, 5], respondent=[1, 2])
    first = store.observe(first_batch)
    store.observe(batch(["c"], [T + 30, ], device_id=[5], respondent=[3]))  # later arrival, earlier time
    again = store.observe(first_batch)
    assert np.array_equal(again.values, first.values)
    assert again.replayed.all() and not first.replayed.any()
    assert store.submission_count() == 3
    assert store.observe(batch(["d"], [T + 2 * MIN], device_id=[5])).prior_device_1h.tolist() == [3]


def test_reserved_batches_recorded_out_of_order_replay_the_in_order_counts(make_store, store_kind):
    # Partitions recorded in any order under reserved numbers, then replayed, count exactly as
    # one process observing them in partition order: the two-phase flow of fraudscore.dask.
    parts = [batch(["a", "b"], [T, T + 2 * MIN], device_id=[5, 5], respondent=[1, 2]),
             batch(["c", "d"], [T + MIN, T + 3 * MIN], device_id=[5, 6], respondent=[1, 1]),
             batch(["e"], [T + 2 * MIN], device_id=[5], respondent=[3])]
    reference = make_store("memory")
    expected = [reference.observe(part).values for part in parts]

    store = make_store(store_kind)
    store.observe(batch(["old"], [T - HOUR], device_id=[5], respondent=[9]))
    first = store.reserve_batches(len(parts))
    later = store.observe(batch(["after"], [T + 4 * MIN], device_id=[5]))
    for i in (2, 0, 1):
        store.observe(parts[i], batch=first + i)
    replayed = [store.observe(part, batch=first + i) for i, part in enumerate(parts)]
    earlier = np.array([1, 1, 1, 0, 1])  # "old" is 1 h before each row: in its 24 h window only
    got = np.vstack([r.values for r in replayed])
    assert np.array_equal(got[:, COLUMNS.index("prior_device_1h")],
                          np.vstack(expected)[:, COLUMNS.index("prior_device_1h")])
    assert np.array_equal(got[:, COLUMNS.index("prior_device_24h")],
                          np.vstack(expected)[:, COLUMNS.index("prior_device_24h")] + earlier)
    assert all(r.replayed.all() for r in replayed)
    assert later.prior_device_24h.tolist() == [1]  # "after" arrived before the partitions: sees "old" only
    assert store.submission_count() == 7


def test_reserve_batches_orders_the_block_after_earlier_and_before_later_batches(make_store, store_kind):
    store = make_store(store_kind)
    store.observe(batch(["a"], [T], device_id=[5]))
    first = store.reserve_batches(3)
    store.observe(batch(["late-arrival"], [T + MIN], device_id=[5]))
    counts = store.observe(batch(["b"], [T + MIN], device_id=[5]), batch=first + 2)
    assert counts.prior_device_1h.tolist() == [1]  # sees "a", not the same-time later arrival
    assert store.reserve_batches(1) == first + 4  # the later arrival took first + 3
    with pytest.raises(ValueError):
        store.reserve_batches(0)
    with pytest.raises(ValueError):
        store.observe(batch(["c"], [T], device_id=[5]), batch=0)


def test_partly_replayed_batch_adds_only_the_new_rows(store):
    store.observe(batch(["a"], [T], device_id=[5]))
    counts = store.observe(batch(["a", "b"], [T, T + 1], device_id=[5, 5]))
    assert counts.replayed.tolist() == [True, False]
    assert counts.prior_device_1h.tolist() == [0, 1]
    assert store.submission_count() == 2


def test_submission_repeated_inside_a_batch_is_recorded_once(store):
    counts = store.observe(batch(["a", "a", "b"], [T, T, T + 1], device_id=[5, 5, 5]))
    assert counts.prior_device_1h.tolist() == [0, 0, 1]
    assert counts.replayed.tolist() == [False, True, False]
    assert store.submission_count() == 2


def test_observations_past_retention_are_invisible(make_store, store_kind):
    store = make_store(store_kind, retention_days=1)
    store.observe(batch(["old"], [T], device_id=[5]))
    counts = store.observe(batch(["new"], [T + DAY + 1], device_id=[5]))
    assert counts.prior_device_survey.tolist() == [0]


def test_purge_removes_only_rows_past_retention(store):
    store.observe(batch(["old", "new"], [T, T + 20 * DAY], device_id=[5, 5]))
    assert store.purge(now=T + 31 * DAY) == 1
    assert store.submission_count() == 1
    counts = store.observe(batch(["x"], [T + 20 * DAY + 1], device_id=[5]), now=T + 31 * DAY)
    assert counts.prior_device_survey.tolist() == [1]


def test_erase_removes_the_respondents_rows_and_their_occurrences(make_store, store_kind):
    store = make_store(store_kind)
    raw = Observations.from_raw(["a", "b", "c"], ["s", "s", "s"], [T, T + 1, T + 2],
                                device_id=np.array([5, 5, 5], np.uint64),
                                respondent_id=["alice", "bob", "alice"], secret="history-tests-secret-0123456789abcdef")
    store.observe(raw)
    assert store.erase("alice") == 2
    assert store.erase("alice") == 0
    assert store.submission_count() == 1
    assert store.export("alice")["submissions"] == []
    later = store.observe(batch(["d"], [T + 3], device_id=[5]))
    assert later.prior_device_1h.tolist() == [1]  # only bob's row is left on that device


def test_export_lists_what_is_held_as_json(make_store, store_kind):
    store = make_store(store_kind)
    raw = Observations.from_raw(["a", "b"], ["s", "s"], [T, T + 1], ip=["10.1.2.3", "10.1.2.4"],
                                respondent_id=["alice", "bob"], secret="history-tests-secret-0123456789abcdef")
    store.observe(raw)
    held = store.export("alice")
    json.dumps(held)
    assert [s["timestamp_ms"] for s in held["submissions"]] == [T]
    assert held["submissions"][0]["ip"] == f"{int(raw.ip[0]):016x}"
    assert held["submissions"][0]["cookie"] is None
    assert "10.1.2.3" not in json.dumps(held)


def test_empty_batch_gives_empty_counts(store):
    counts = store.observe(batch([], []))
    assert counts.values.shape == (0, len(COLUMNS))


def test_counts_frame_has_stable_column_names(store):
    frame = store.observe(batch(["a"], [T], device_id=[1])).to_frame()
    assert list(frame.columns) == ["submission_id", *COLUMNS, "replayed"]
    assert "prior_ip_prefix_24h" in COLUMNS and "devices_per_respondent" in COLUMNS
    assert isinstance(store.observe(batch(["b"], [T], device_id=[1])), HistoryCounts)


def test_observe_rejects_anything_but_observations(store):
    with pytest.raises(TypeError):
        store.observe({"submission_id": ["a"]})


def test_backfill_keeps_the_history_of_rows_older_than_the_retention(store):
    # One device every 10 days for 60 days, given out of order: one observe() would count every
    # row older than 30 days before the last as expired (nothing before it, nothing for later rows).
    days = [50, 0, 30, 10, 60, 20, 40]
    obs = batch([f"s{d}" for d in days], [T + d * DAY for d in days], device_id=[5] * len(days))
    counts = store.backfill(obs)
    # Retention 30 days: a row sees the rows of the (t - 30 d, t] window, i.e. the two before it.
    expected = {0: 0, 10: 1, 20: 2, 30: 2, 40: 2, 50: 2, 60: 2}
    assert counts.prior_device_survey.tolist() == [expected[d] for d in days]
    assert counts.prior_device_24h.tolist() == [0] * len(days)
    assert not counts.replayed.any()


def test_backfill_equals_observing_the_rows_hour_by_hour_as_they_arrived(make_store, store_kind):
    rng = np.random.default_rng(3)
    times = np.sort(T + rng.integers(0, 45 * DAY, 300))
    obs = batch([f"s{i}" for i in range(300)], times, device_id=rng.integers(1, 20, 300),
                respondent=rng.integers(1, 30, 300), text=rng.integers(0, 5, 300))
    arrived = make_store("memory")
    hour = times // HOUR
    expected = np.vstack([arrived.observe(obs.take(np.flatnonzero(hour == h))).values for h in np.unique(hour)])
    shuffled = rng.permutation(300)
    counts = make_store(store_kind).backfill(obs.take(shuffled))
    assert np.array_equal(counts.values, expected[shuffled])  # in input order


def test_backfill_of_rows_within_one_slice_is_one_observe(make_store, store_kind):
    obs = batch(list("abcd"), [T + MIN, T, T, T + 2 * MIN], device_id=[1, 1, 1, 1], cookie=[2, 0, 2, 2])
    whole = make_store("memory").observe(obs)
    assert np.array_equal(make_store(store_kind).backfill(obs).values, whole.values)

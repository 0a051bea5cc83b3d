"""Redis-only behaviour: the log layout, converting a store of the first layout, several clients on
one store seeing each other's writes and erasures, and the keys' retention TTL."""

from __future__ import annotations

import uuid

import numpy as np
import pytest
import redis

from fraudscore.history import HistoryError, Observations, RedisStore
from fraudscore.history.observations import KIND_FIELDS, KINDS
from fraudscore.history.redis import LAYOUT, MIGRATED_NOTE

SECRET = "history-tests-secret-0123456789abcdef"
T = 1_800_000_000_000
MIN = 60_000

_OLD_ROW_WIRE = np.dtype([("sub", ">u8"), ("t", ">i8"), ("survey", ">u8")] + [(KIND_FIELDS[k], ">u8") for k in KINDS]
                         + [("pos", ">u4"), ("batch", ">u4")])


@pytest.fixture
def client(redis_url):
    connection = redis.Redis.from_url(redis_url)
    yield connection
    connection.close()


@pytest.fixture
def prefix() -> str:
    return f"test:{uuid.uuid4().hex}"


def _write_first_layout(client, prefix: str, rows: np.ndarray, batch: int) -> None:
    """Keys as fraudscore's first Redis layout wrote them: a counter, each submission's row in a
    bucket hash, each key's events in per-kind bucket hashes (content irrelevant here: the
    conversion rebuilds from the rows and drops them)."""
    client.set(f"{prefix}:batch", batch)
    wire = np.zeros(len(rows), _OLD_ROW_WIRE)
    for name in _OLD_ROW_WIRE.names:
        if name not in ("pos", "batch"):
            wire[name] = rows[name]
    wire["pos"], wire["batch"] = rows["seq"] & 0xFFFFFFFF, rows["seq"] >> 32
    for row, record in zip(rows, wire):
        client.hset(f"{prefix}:sub:{int(row['sub']) & 255:02x}", np.array([row["sub"]], ">u8").tobytes(), record.tobytes())
        device = int(row["device_id"])
        if device:
            client.hset(f"{prefix}:device:{device & 255:02x}", np.array([device], ">u8").tobytes(), b"x" * 40)


def test_a_store_of_the_first_layout_is_converted_and_counts_as_before(client, redis_url, prefix, old_layout_case):
    first, later, expected = old_layout_case.first, old_layout_case.later, old_layout_case.expected
    _write_first_layout(client, prefix, old_layout_case.held, batch=2)

    store = RedisStore(redis_url, prefix=prefix, secret=SECRET)
    assert store.submission_count() == 4
    assert np.array_equal(store.observe(later).values, expected)
    assert store.observe(first).replayed.all()  # idempotency survives the conversion
    assert store.reserve_batches(1) == 4  # the old counter (2) carried over, then `later` took 3
    assert store.erase("r1") == 3  # two converted submissions and the new one
    store.close()
    assert sorted(client.scan_iter(match=f"{prefix}:*")) == sorted(
        k.encode() for k in (f"{prefix}:meta", f"{prefix}:log", f"{prefix}:batch"))
    assert client.get(f"{prefix}:batch") == MIGRATED_NOTE  # an old client's counter read now fails
    assert int(client.hget(f"{prefix}:meta", "layout")) == LAYOUT


def test_a_store_of_a_newer_layout_is_refused_with_its_version(client, redis_url, prefix):
    RedisStore(redis_url, prefix=prefix, secret=SECRET).observe(
        Observations.from_hashes(["a"], [T], 1, device_id=[5]))
    client.hset(f"{prefix}:meta", "layout", 99)
    with pytest.raises(HistoryError, match="layout 99"):
        RedisStore(redis_url, prefix=prefix, secret=SECRET).submission_count()


def test_two_clients_see_each_others_batches_and_erasures(redis_url, prefix):
    one, two = (RedisStore(redis_url, prefix=prefix, secret=SECRET) for _ in range(2))
    rows = Observations.from_raw(["a", "b"], ["s", "s"], [T, T + 1], device_id=np.array([5, 5], np.uint64),
                                 respondent_id=["alice", "bob"], secret=SECRET)
    two.submission_count()  # two reads the log now: what follows it must catch up on
    one.observe(rows)
    probe = Observations.from_raw(["p"], ["s"], [T + 2], device_id=np.array([5], np.uint64), secret=SECRET)
    assert two.observe(probe).prior_device_1h.tolist() == [2]  # its append was refused, it caught up, recounted
    assert one.erase("alice") == 1
    again = Observations.from_raw(["q"], ["s"], [T + 3], device_id=np.array([5], np.uint64), secret=SECRET)
    assert two.observe(again).prior_device_1h.tolist() == [2]  # bob and p: alice's row is gone for two too
    assert one.observe(rows).replayed.tolist() == [False, True]  # a is new again, b is held
    assert two.submission_count() == one.submission_count() == 4
    assert one.purge(now=T + 2 + one.retention_ms) == 3  # b, p and the new a; q stays
    assert two.submission_count() == 1
    one.close()
    two.close()


def test_every_write_refreshes_the_retention_ttl_of_the_store_keys(client, redis_url, prefix):
    store = RedisStore(redis_url, prefix=prefix, secret=SECRET, retention_days=1)
    store.observe(Observations.from_hashes(["a"], [T], 1, device_id=[5]))
    keys = list(client.scan_iter(match=f"{prefix}:*"))
    assert sorted(keys) == sorted([f"{prefix}:meta".encode(), f"{prefix}:log".encode()])
    client.pexpire(f"{prefix}:log", 5_000)
    store.observe(Observations.from_hashes(["b"], [T + 1], 1, device_id=[5]))
    for key in keys:
        assert 86_000_000 < client.pttl(key) <= 86_400_000
    store.close()


def test_a_client_holding_an_expired_store_starts_again_from_the_new_one(client, redis_url, prefix):
    one, two = (RedisStore(redis_url, prefix=prefix, secret=SECRET) for _ in range(2))
    one.observe(Observations.from_hashes(["a", "b", "c"], [T, T + 1, T + 2], 1, device_id=[5, 5, 5]))
    client.delete(f"{prefix}:meta", f"{prefix}:log")  # what the retention TTL does to an idle store
    for name in ("x", "y", "z", "w"):  # a longer log than `one` read: same length would not tell
        two.observe(Observations.from_hashes([name], [T + 10], 1, device_id=[5]))
    counts = one.observe(Observations.from_hashes(["p"], [T + 20], 1, device_id=[5]))
    assert counts.prior_device_1h.tolist() == [4]  # x, y, z, w; nothing of the expired a, b, c
    assert one.submission_count() == two.submission_count() == 5
    one.close()
    two.close()


def test_an_erased_respondent_leaves_no_hash_in_the_keyspace(client, redis_url, prefix):
    store = RedisStore(redis_url, prefix=prefix, secret=SECRET)
    for tag, who in (("a", ["keep", "erase-me"]), ("b", ["erase-me", "erase-me"]), ("c", ["later", "later"])):
        store.observe(Observations.from_raw([f"{tag}1", f"{tag}2"], ["s", "s"], [T, T + 1], respondent_id=who,
                                            secret=SECRET))
    erased = np.uint64(store._respondent_hash("erase-me")).tobytes()
    kept = np.uint64(store._respondent_hash("later")).tobytes()
    assert store.erase("erase-me") == 3
    content = b"".join(b"".join(client.lrange(key, 0, -1)) if client.type(key) == b"list" else client.dump(key)
                       for key in client.scan_iter(match=f"{prefix}:*"))
    assert kept in content and erased not in content
    assert client.llen(f"{prefix}:log") == 3  # b's entry is empty now; a's first entry keeps "keep"
    assert store.purge(now=T + 1 + store.retention_ms) == 3
    assert client.llen(f"{prefix}:log") == 0  # entries emptied from the head are dropped
    store.close()

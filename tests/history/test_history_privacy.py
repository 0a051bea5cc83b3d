"""Stores hold keyed hashes and timestamps only: raw identifiers fed in are nowhere in them."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import redis

from fraudscore.history import Observations, RedisStore, SQLiteStore

SECRET = "history-tests-secret-0123456789abcdef"
T = 1_800_000_000_000
RAW = {
    "submission_id": ["submission-QZXJ-0001", "submission-QZXJ-0002"],
    "survey_id": ["survey-QZXJ", "survey-QZXJ"],
    "cookie": ["cookie-QZXJ-4471", "cookie-QZXJ-4472"],
    "ip": ["203.0.113.77", "2001:db8:7777:1::42"],
    "respondent_id": ["respondent-QZXJ-9", "respondent-QZXJ-9"],
    "text": ["My distinctive answer QZXJ", "another distinctive answer qzxj"],
}
# Every raw value, and the derived texts a careless store might keep (prefix, normalised text).
NEEDLES = [v for values in RAW.values() for v in values] + [
    "203.0.113", "203.0.113.0/24", "2001:db8:7777", "my distinctive answer qzxj", "QZXJ", "qzxj"]


def _observations() -> Observations:
    return Observations.from_raw(RAW["submission_id"], RAW["survey_id"], [T, T + 1],
                                 device_id=np.array([11, 12], np.uint64), link_id=np.array([21, 22], np.uint64),
                                 cookie=RAW["cookie"], ip=RAW["ip"], respondent_id=RAW["respondent_id"],
                                 text=RAW["text"], secret=SECRET)


def _leaks(blob: bytes) -> list[str]:
    return [needle for needle in NEEDLES if needle.encode() in blob or needle.encode("utf-16-le") in blob]


def test_sqlite_file_and_wal_hold_no_raw_value(tmp_path):
    store = SQLiteStore(tmp_path / "h.db", secret=SECRET)
    store.observe(_observations())
    store.export(RAW["respondent_id"][0])
    files = sorted(Path(tmp_path).glob("h.db*"))
    assert any(f.name.endswith("-wal") for f in files)  # scanned while the WAL still holds the batch
    for path in files:
        assert _leaks(path.read_bytes()) == [], path
    store.close()
    for path in Path(tmp_path).glob("h.db*"):
        assert _leaks(path.read_bytes()) == [], path


def test_redis_keyspace_holds_no_raw_value(redis_url):
    store = RedisStore(redis_url, prefix="privacy-test", secret=SECRET)
    store.observe(_observations())
    client = redis.Redis.from_url(redis_url)
    keys = list(client.scan_iter(match="privacy-test:*"))
    assert keys
    for key in keys:
        kind = client.type(key)
        if kind == b"hash":
            content = b"".join(k + v for k, v in client.hgetall(key).items())
        else:
            content = client.dump(key)
        assert _leaks(key + content) == [], key
    store.close()
    client.close()


def test_erased_respondent_leaves_no_hash_in_the_sqlite_file(tmp_path):
    # secure_delete: the pages the erased records leave are zeroed, so even their keyed hashes are
    # gone (with secure_delete=OFF this fails: the freed pages keep them).
    store = SQLiteStore(tmp_path / "h.db", secret=SECRET)
    n = 4_000  # a batch's log record spans overflow pages; the middle batch's are freed whole

    def batch(tag, who, t0):
        store.observe(Observations.from_raw([f"{tag}{i}" for i in range(n)], ["v"] * n, t0 + np.arange(n),
                                            respondent_id=who, secret=SECRET))

    batch("a", [f"keep-{i}" for i in range(n)], T)
    batch("b", ["erase-me"] * n, T + n)
    batch("c", [f"later-{i}" for i in range(n)], T + 2 * n)
    erased = np.uint64(store._respondent_hash("erase-me")).tobytes()
    kept = np.uint64(store._respondent_hash("later-7")).tobytes()
    assert store._db.execute("PRAGMA secure_delete").fetchone() == (1,)  # set, whatever SQLite's build default
    assert store.erase("erase-me") == n
    store.close()
    blob = b"".join(path.read_bytes() for path in Path(tmp_path).glob("h.db*"))
    assert kept in blob and erased not in blob

"""SQLite-only behaviour: the file's schema version, migrating version 1 and 2 files in place, and
several store objects on one file seeing each other's writes, erasures included."""

from __future__ import annotations

import sqlite3

import numpy as np
import pytest

from fraudscore.history import HistoryError, MemoryStore, Observations, SQLiteStore
from fraudscore.history._counting import ROW_DTYPE
from fraudscore.history.observations import KIND_FIELDS, KINDS
from fraudscore.history.sqlite import SCHEMA_VERSION

SECRET = "history-tests-secret-0123456789abcdef"
T = 1_800_000_000_000
MIN = 60_000

_V1_COLUMNS = ["sub", "t", "survey", *(KIND_FIELDS[k] for k in KINDS), "seq"]


def _write_v1_file(path, rows: list[tuple], batch: int) -> None:
    """A database exactly as fraudscore's schema version 1 wrote it."""
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("CREATE TABLE meta (name TEXT PRIMARY KEY, value INTEGER NOT NULL)")
    db.execute("INSERT INTO meta VALUES ('batch', ?), ('schema_version', 1)", (batch,))
    db.execute("CREATE TABLE observations (sub INTEGER PRIMARY KEY, t INTEGER NOT NULL, survey INTEGER NOT NULL, "
               + ", ".join(f"{KIND_FIELDS[k]} INTEGER NOT NULL" for k in KINDS) + ", seq INTEGER NOT NULL)")
    db.execute("CREATE INDEX observations_t ON observations (t)")
    for k in KINDS:
        db.execute(f"CREATE INDEX observations_{KIND_FIELDS[k]} ON observations ({KIND_FIELDS[k]}) "
                   f"WHERE {KIND_FIELDS[k]} != 0")
    db.executemany(f"INSERT INTO observations ({', '.join(_V1_COLUMNS)}) VALUES ({', '.join('?' * len(_V1_COLUMNS))})",
                   rows)
    db.close()


def test_a_version_1_file_is_migrated_and_counts_as_before(tmp_path):
    first = Observations.from_raw(["a", "b", "c"], ["s"] * 3, [T, T + MIN, T + 2 * MIN],
                                  device_id=np.array([5, 5, 6], np.uint64), respondent_id=["r1", "r2", "r1"],
                                  ip=["10.0.0.1", "10.0.0.2", None], secret=SECRET)
    later = Observations.from_raw(["d"], ["s"], [T + 3 * MIN], device_id=np.array([5], np.uint64),
                                  respondent_id=["r3"], ip=["10.0.0.9"], secret=SECRET)
    reference = MemoryStore(secret=SECRET)
    reference.observe(first)
    expected = reference.observe(later).values
    # The rows a version 1 store held after observing `first` as its batch 1.
    held = reference._index.all_rows()
    held = held[held["seq"] >> 32 == 1]
    columns = [held[c].view(np.int64) if held.dtype[c] == np.uint64 else held[c] for c in _V1_COLUMNS]
    _write_v1_file(tmp_path / "old.db", list(zip(*(c.tolist() for c in columns))), batch=1)

    store = SQLiteStore(tmp_path / "old.db", secret=SECRET)
    assert store.submission_count() == 3
    assert np.array_equal(store.observe(later).values, expected)
    assert store.observe(first).replayed.all()  # idempotency survives the migration
    assert [s["timestamp_ms"] for s in store.export("r1")["submissions"]] == [T, T + 2 * MIN]
    store.close()
    db = sqlite3.connect(tmp_path / "old.db")
    tables = {name for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert "observations" not in tables
    assert db.execute("SELECT value FROM meta WHERE name = 'schema_version'").fetchone() == (SCHEMA_VERSION,)
    db.close()


def _write_v2_file(path, rows: np.ndarray, batch: int) -> None:
    """A database as fraudscore's schema version 2 wrote it (its key tables are what migration drops)."""
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("CREATE TABLE meta (name TEXT PRIMARY KEY, value INTEGER NOT NULL)")
    db.execute("INSERT INTO meta VALUES ('batch', ?), ('schema_version', 2)", (batch,))
    db.execute("CREATE TABLE submissions (seq INTEGER PRIMARY KEY, sub INTEGER NOT NULL, t INTEGER NOT NULL, "
               "record BLOB NOT NULL)")
    db.execute("CREATE UNIQUE INDEX submissions_sub ON submissions (sub)")
    for k in KINDS:
        db.execute(f"CREATE TABLE events_{k} (key INTEGER PRIMARY KEY, events BLOB NOT NULL)")
    record = np.dtype([(name, ROW_DTYPE[name].newbyteorder("<")) for name in ROW_DTYPE.names])
    db.executemany("INSERT INTO submissions VALUES (?, ?, ?, ?)",
                   [(int(r["seq"]), int(np.int64(r["sub"].view(np.int64))), int(r["t"]),
                     np.array([r], ROW_DTYPE).astype(record).tobytes()) for r in rows])
    db.close()


def test_a_version_2_file_is_migrated_and_counts_as_before(tmp_path, old_layout_case):
    first, later, expected = old_layout_case.first, old_layout_case.later, old_layout_case.expected
    _write_v2_file(tmp_path / "v2.db", old_layout_case.held, batch=2)

    store = SQLiteStore(tmp_path / "v2.db", secret=SECRET)
    assert store.submission_count() == 4
    assert np.array_equal(store.observe(later).values, expected)
    assert store.observe(first).replayed.all()
    assert store.erase("r1") == 3  # two migrated submissions and the new one
    store.close()
    db = sqlite3.connect(tmp_path / "v2.db")
    tables = {name for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert not tables & {"submissions", *(f"events_{k}" for k in KINDS)}
    assert db.execute("SELECT value FROM meta WHERE name = 'schema_version'").fetchone() == (SCHEMA_VERSION,)
    db.close()


def test_two_stores_on_one_file_see_each_others_batches_and_erasures(tmp_path):
    one, two = (SQLiteStore(tmp_path / "h.db", secret=SECRET) for _ in range(2))
    rows = Observations.from_raw(["a", "b"], ["s", "s"], [T, T + 1], device_id=np.array([5, 5], np.uint64),
                                 respondent_id=["alice", "bob"], secret=SECRET)
    one.observe(rows)
    probe = Observations.from_raw(["p"], ["s"], [T + 2], device_id=np.array([5], np.uint64), secret=SECRET)
    assert two.observe(probe).prior_device_1h.tolist() == [2]
    assert one.erase("alice") == 1
    again = Observations.from_raw(["q"], ["s"], [T + 3], device_id=np.array([5], np.uint64), secret=SECRET)
    assert two.observe(again).prior_device_1h.tolist() == [2]  # bob and p: alice's row is gone for two too
    assert one.observe(rows).replayed.tolist() == [False, True]  # a is new again, b is held
    assert two.submission_count() == one.submission_count() == 4
    one.close()
    two.close()


def test_a_file_from_a_newer_fraudscore_is_refused_with_its_version(tmp_path):
    SQLiteStore(tmp_path / "h.db", secret=SECRET).close()
    db = sqlite3.connect(tmp_path / "h.db", isolation_level=None)
    db.execute("UPDATE meta SET value = 99 WHERE name = 'schema_version'")
    db.close()
    with pytest.raises(HistoryError, match="schema version 99"):
        SQLiteStore(tmp_path / "h.db", secret=SECRET)

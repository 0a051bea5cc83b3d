"""SQLite-only behaviour: the file's schema version, and migrating a version 1 file in place."""

from __future__ import annotations

import sqlite3

import numpy as np
import pytest

from fraudscore.history import HistoryError, MemoryStore, Observations, SQLiteStore
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


def test_a_file_from_a_newer_fraudscore_is_refused_with_its_version(tmp_path):
    SQLiteStore(tmp_path / "h.db", secret=SECRET).close()
    db = sqlite3.connect(tmp_path / "h.db", isolation_level=None)
    db.execute("UPDATE meta SET value = 99 WHERE name = 'schema_version'")
    db.close()
    with pytest.raises(HistoryError, match="schema version 99"):
        SQLiteStore(tmp_path / "h.db", secret=SECRET)

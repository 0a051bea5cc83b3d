"""History in one SQLite file: the embedded default.

WAL journal, one ``BEGIN IMMEDIATE`` transaction per batch: concurrent writers (threads or
processes) queue on SQLite's write lock, so no update is lost and a batch is all there or not at
all, even if the process is killed mid-write. One row per submission; one partial index per key
kind finds the history of a batch's keys with set-based ``IN (SELECT value FROM json_each(?))``.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from pathlib import Path

import numpy as np

from fraudscore.history._counting import AUX_KIND, EVENT_DTYPE, ROW_DTYPE, events_of_rows
from fraudscore.history.base import HistoryError, HistoryStore, HistoryUnavailableError
from fraudscore.history.observations import KIND_FIELDS, KINDS

__all__ = ["SQLiteStore"]

_KEY_COLUMNS = [KIND_FIELDS[k] for k in KINDS]
_ROW_COLUMNS = ["sub", "t", "survey", *_KEY_COLUMNS, "seq"]
_SCHEMA = [
    "CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value INTEGER NOT NULL)",
    "INSERT OR IGNORE INTO meta VALUES ('batch', 0), ('schema_version', 1)",
    "CREATE TABLE IF NOT EXISTS observations (sub INTEGER PRIMARY KEY, t INTEGER NOT NULL, "
    "survey INTEGER NOT NULL, " + ", ".join(f"{c} INTEGER NOT NULL" for c in _KEY_COLUMNS) + ", seq INTEGER NOT NULL)",
    "CREATE INDEX IF NOT EXISTS observations_t ON observations (t)",
    # Partial indexes: most rows lack some kinds (no cookie, no text); 0 means missing.
    *(f"CREATE INDEX IF NOT EXISTS observations_{c} ON observations ({c}) WHERE {c} != 0" for c in _KEY_COLUMNS),
]


def _signed(values: np.ndarray) -> np.ndarray:
    """uint64 hashes as the int64 SQLite stores (same bits)."""
    return np.ascontiguousarray(values, dtype=np.uint64).view(np.int64)


def _json_ints(values: np.ndarray) -> str:
    return json.dumps(_signed(values).tolist())


def _rows_from(records: list[tuple]) -> np.ndarray:
    out = np.zeros(len(records), ROW_DTYPE)
    if records:
        table = np.array(records, dtype=np.int64)
        for i, name in enumerate(_ROW_COLUMNS):
            out[name] = table[:, i].view(out.dtype[name])
    return out


class SQLiteStore(HistoryStore):
    """History in a SQLite database file (see :class:`HistoryStore` for the contract).

    Parameters
    ----------
    path : str or Path
        Database file, created if missing. ``":memory:"`` works but is private to this object.
    timeout_s : float
        Longest wait for another writer's lock before :class:`HistoryUnavailableError`.
    cache_mb : int
        SQLite page cache of this connection, MiB (an upper bound; pages are allocated as used).
    **kwargs
        ``secret``, ``retention_days`` (see :class:`HistoryStore`).

    Notes
    -----
    ``synchronous=NORMAL``: a batch survives a killed process; after a power cut the last batches
    may be missing, but the file is never torn. One connection per store object, guarded by a
    lock; open a store per process (do not share one across ``fork``).
    """

    name = "sqlite"

    def __init__(self, path: str | Path, *, timeout_s: float = 10.0, cache_mb: int = 256, **kwargs):
        super().__init__(**kwargs)
        self.path = str(path)
        self.timeout_s = float(timeout_s)
        self._lock = threading.Lock()
        try:
            self._db = sqlite3.connect(self.path, timeout=self.timeout_s, isolation_level=None,
                                       check_same_thread=False)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            # Random hashes touch every index page: keep them cached rather than re-read each batch.
            self._db.execute(f"PRAGMA cache_size=-{int(cache_mb) * 1024}")
            with self._transaction():
                for statement in _SCHEMA:
                    self._db.execute(statement)
        except sqlite3.Error as exc:
            raise self._unavailable(exc) from exc

    def _unavailable(self, exc: sqlite3.Error) -> HistoryError:
        message = str(exc)
        if "locked" in message or "busy" in message:
            return HistoryUnavailableError(
                f"SQLite history {self.path!r} stayed locked by another connection for {self.timeout_s:g} s")
        return HistoryError(f"SQLite history {self.path!r}: {message}")

    def _transaction(self):
        store = self

        class _Txn:
            def __enter__(self):
                store._db.execute("BEGIN IMMEDIATE")  # take the write lock now: reads see a settled state

            def __exit__(self, exc_type, exc, tb):
                store._db.execute("COMMIT" if exc_type is None else "ROLLBACK")

        return _Txn()

    def _run(self, work):
        with self._lock:
            try:
                with self._transaction():
                    return work(self._db)
            except sqlite3.Error as exc:
                raise self._unavailable(exc) from exc

    def _reserve(self, n):
        return self._run(lambda db: db.execute(
            "UPDATE meta SET value = value + ? WHERE name = 'batch' RETURNING value", (n,)).fetchone()[0] - n + 1)

    def _exchange(self, rows, cutoff_ms, batch):
        def work(db):
            held = _rows_from(db.execute(
                f"SELECT {', '.join(_ROW_COLUMNS)} FROM observations WHERE sub IN (SELECT value FROM json_each(?))",
                (_json_ints(rows["sub"]),)).fetchall())
            out = rows.copy()
            at = np.searchsorted(rows["sub"], held["sub"])  # rows are sorted by sub
            out[at] = held
            new = np.ones(len(rows), bool)
            new[at] = False
            number = batch if batch is not None else db.execute(
                "UPDATE meta SET value = value + 1 WHERE name = 'batch' RETURNING value").fetchone()[0]
            out["seq"][new] = (number << 32) | rows["seq"][new]

            events = {}
            for kind in KINDS:
                column = KIND_FIELDS[kind]
                aux = KIND_FIELDS[AUX_KIND[kind]] if kind in AUX_KIND else "0"
                keys = np.unique(events_of_rows(out, kind)["key"])
                found = db.execute(
                    f"SELECT {column}, t, survey, {aux}, sub, seq FROM observations "
                    f"WHERE {column} IN (SELECT value FROM json_each(?)) AND {column} != 0 AND t > ?",
                    (_json_ints(keys), cutoff_ms)).fetchall()
                ev = np.zeros(len(found), EVENT_DTYPE)
                if found:
                    table = np.array(found, dtype=np.int64)
                    for i, name in enumerate(EVENT_DTYPE.names):
                        ev[name] = table[:, i].view(EVENT_DTYPE[name])
                events[kind] = ev

            added = out[new]
            columns = [_signed(added[name]) if added.dtype[name] == np.uint64 else added[name] for name in _ROW_COLUMNS]
            db.executemany(
                f"INSERT INTO observations ({', '.join(_ROW_COLUMNS)}) VALUES ({', '.join('?' * len(_ROW_COLUMNS))})",
                zip(*(c.tolist() for c in columns)))
            return out, new, events

        return self._run(work)

    def _rows_of_respondent(self, respondent):
        return self._run(lambda db: _rows_from(db.execute(
            f"SELECT {', '.join(_ROW_COLUMNS)} FROM observations WHERE respondent = ? AND respondent != 0",
            (int(_signed(np.array([respondent]))[0]),)).fetchall()))

    def _erase_respondent(self, respondent):
        return self._run(lambda db: db.execute(
            "DELETE FROM observations WHERE respondent = ? AND respondent != 0",
            (int(_signed(np.array([respondent]))[0]),)).rowcount)

    def _purge(self, cutoff_ms):
        return self._run(lambda db: db.execute("DELETE FROM observations WHERE t <= ?", (cutoff_ms,)).rowcount)

    def submission_count(self) -> int:
        return self._run(lambda db: db.execute("SELECT count(*) FROM observations").fetchone()[0])

    def close(self) -> None:
        with self._lock:
            self._db.close()

"""History in one SQLite file: the embedded default.

A durable log under an in-memory index. The file keeps one ``log`` row per committed batch: that
batch's new submissions as one blob of fixed-size records (keyed hashes, time, order), so recording
a batch is one INSERT, whatever the keys. Counting runs on the in-memory index every store object
keeps (:mod:`fraudscore.history._index`, the same code as :class:`MemoryStore`), loaded from the
log when the store is opened.

WAL journal, one ``BEGIN IMMEDIATE`` transaction per batch: concurrent writers (threads or
processes) queue on SQLite's write lock, so no update is lost and a batch is all there or not at
all, even if the process is killed mid-write. Inside it, a store first reads the log rows other
connections appended since it last looked, so each process counts against every committed batch;
its own batch enters its index only once COMMIT succeeded. Erase and purge rewrite the log rows
of the batches concerned and bump ``generation`` in ``meta``: a connection that sees another
generation reloads its index from the log.

Layout (schema version 3)::

    meta    batch counter, generation, schema_version
    log     id (INTEGER PRIMARY KEY AUTOINCREMENT: commit order), batch, rows (blob of 88-byte records)

Trade-off: each process that opens a store holds its index, about 630 bytes per retained
submission (on top of SQLite's page cache; the file itself is ~95 bytes per submission), and
opening reads the whole log and builds the index: ~7 s of CPU per million submissions (11 s at
1.6 million). Erase and purge rebuild the index too (seconds at a million). Files of schema
versions 1 and 2 are converted in place, in one transaction, when first opened.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from pathlib import Path

import numpy as np

from fraudscore.history._counting import ROW_DTYPE
from fraudscore.history._index import HistoryIndex
from fraudscore.history._log import decode_rows, encode_rows, split_by_batch
from fraudscore.history.base import HistoryError, HistoryStore, HistoryUnavailableError
from fraudscore.history.observations import KIND_FIELDS, KINDS

__all__ = ["SQLiteStore", "SCHEMA_VERSION"]

#: Layout version written to ``meta``; files with another version are migrated (1, 2) or refused.
SCHEMA_VERSION = 3

_V1_ROW_COLUMNS = ["sub", "t", "survey", *(KIND_FIELDS[k] for k in KINDS), "seq"]
_SCHEMA = [
    "CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value INTEGER NOT NULL)",
    "INSERT OR IGNORE INTO meta VALUES ('batch', 0)",
    "INSERT OR IGNORE INTO meta VALUES ('generation', 0)",
    # AUTOINCREMENT: ids are never reused, so "rows after the last id I read" is exact even after deletes.
    "CREATE TABLE IF NOT EXISTS log (id INTEGER PRIMARY KEY AUTOINCREMENT, batch INTEGER NOT NULL, "
    "rows BLOB NOT NULL)",
    "CREATE INDEX IF NOT EXISTS log_batch ON log (batch)",  # erase and purge find a submission's batch
]


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
    may be missing, but the file is never torn. One connection and one in-memory index per store
    object, guarded by a lock; open a store per process (do not share one across ``fork``). A file
    written by an older fraudscore (schema version 1 or 2) is converted to version 3 in one
    transaction when first opened; a file from a newer fraudscore is refused with
    :class:`HistoryError`.
    """

    name = "sqlite"

    def __init__(self, path: str | Path, *, timeout_s: float = 10.0, cache_mb: int = 64, **kwargs):
        super().__init__(**kwargs)
        self.path = str(path)
        self.timeout_s = float(timeout_s)
        self._lock = threading.Lock()
        self._index = HistoryIndex()
        self._seen = 0  # last log id in the index
        self._generation = None  # of the log the index was loaded from
        try:
            self._db = sqlite3.connect(self.path, timeout=self.timeout_s, isolation_level=None,
                                       check_same_thread=False)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            # Erased and purged records are overwritten with zeros, not left in free pages: erasure
            # means gone from the file. Cheap here: the log is appended to, rarely freed.
            self._db.execute("PRAGMA secure_delete=ON")
            self._db.execute(f"PRAGMA cache_size=-{int(cache_mb) * 1024}")
            with self._lock, self._transaction():
                self._create_or_migrate()
                self._catch_up()
        except sqlite3.Error as exc:
            raise self._unavailable(exc) from exc

    # -- schema ------------------------------------------------------------------------------------
    def _create_or_migrate(self) -> None:
        db = self._db
        tables = {name for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        version = None
        if "meta" in tables:
            found = db.execute("SELECT value FROM meta WHERE name = 'schema_version'").fetchone()
            version = found[0] if found else None
        if version is not None and version > SCHEMA_VERSION:
            raise HistoryError(f"SQLite history {self.path!r} has schema version {version}; this fraudscore "
                               f"reads version {SCHEMA_VERSION}: upgrade fraudscore to use this file")
        if version is not None and version not in (1, 2, SCHEMA_VERSION):
            raise HistoryError(f"SQLite history {self.path!r} has unknown schema version {version}")
        for statement in _SCHEMA:
            db.execute(statement)
        if version == 1:
            self._migrate_from_v1()
        elif version == 2:
            self._migrate_from_v2()
        db.execute("INSERT INTO meta VALUES ('schema_version', ?) ON CONFLICT (name) DO UPDATE SET value = ?",
                   (SCHEMA_VERSION, SCHEMA_VERSION))

    def _migrate_from_v1(self) -> None:
        """Version 1 kept one ``observations`` row per submission with an index per key kind."""
        table = np.array(self._db.execute(f"SELECT {', '.join(_V1_ROW_COLUMNS)} FROM observations").fetchall(),
                         dtype=np.int64).reshape(-1, len(_V1_ROW_COLUMNS))
        rows = np.zeros(len(table), ROW_DTYPE)
        for i, name in enumerate(_V1_ROW_COLUMNS):
            rows[name] = table[:, i].view(rows.dtype[name])
        self._append_by_batch(rows)
        self._db.execute("DROP TABLE observations")

    def _migrate_from_v2(self) -> None:
        """Version 2 kept a ``submissions`` table of records and one blob of occurrences per key."""
        rows = decode_rows([r for (r,) in self._db.execute("SELECT record FROM submissions ORDER BY seq")])
        self._append_by_batch(rows)
        for table in ["submissions", *(f"events_{kind}" for kind in KINDS)]:
            self._db.execute(f"DROP TABLE IF EXISTS {table}")

    def _append_by_batch(self, rows: np.ndarray) -> None:
        """Log ``rows`` as one entry per batch number (what erase and purge rewrite)."""
        self._db.executemany("INSERT INTO log (batch, rows) VALUES (?, ?)",
                             [(batch, encode_rows(part)) for batch, part in split_by_batch(rows)])

    # -- transactions ------------------------------------------------------------------------------
    def _unavailable(self, exc: sqlite3.Error) -> HistoryError:
        message = str(exc)
        if "locked" in message or "busy" in message:
            return HistoryUnavailableError(
                f"SQLite history {self.path!r} stayed locked by another connection for {self.timeout_s:g} s")
        return HistoryError(f"SQLite history {self.path!r}: {message}")

    def _transaction(self) -> _Transaction:
        return _Transaction(self._db)

    def _run(self, work, committed=None):
        """``work()`` in one write transaction, the index brought up to date first; then, if it
        committed, ``committed(result)`` (still under the lock: no other call sees the log between).
        Returns ``work``'s result."""
        with self._lock:
            try:
                with self._transaction():
                    self._catch_up()
                    result = work()
            except sqlite3.Error as exc:
                raise self._unavailable(exc) from exc
            if committed is not None:
                committed(result)
            return result

    def _catch_up(self) -> None:
        """Bring the index up to the log: other connections' new batches, or all of it after an
        erase or purge elsewhere (another generation). Inside a transaction."""
        db = self._db
        generation = db.execute("SELECT value FROM meta WHERE name = 'generation'").fetchone()[0]
        if generation != self._generation:
            self._index, self._seen, self._generation = HistoryIndex(), 0, generation
        found = db.execute("SELECT id, rows FROM log WHERE id > ? ORDER BY id", (self._seen,)).fetchall()
        if found:
            self._index.add(decode_rows([blob for _, blob in found]))
            self._seen = found[-1][0]

    # -- the store interface -----------------------------------------------------------------------
    def _reserve(self, n):
        return self._run(lambda: self._db.execute(
            "UPDATE meta SET value = value + ? WHERE name = 'batch' RETURNING value", (n,)).fetchone()[0] - n + 1)

    def _record_and_count(self, rows, cutoff_ms, batch):
        def work():
            number = batch if batch is not None else self._db.execute(
                "UPDATE meta SET value = value + 1 WHERE name = 'batch' RETURNING value").fetchone()[0]
            out, new, values, plan = self._index.count_batch(rows, number, cutoff_ms, batch is not None)
            logged = None
            if new.any():
                logged = self._db.execute("INSERT INTO log (batch, rows) VALUES (?, ?)",
                                          (number, encode_rows(out[new]))).lastrowid
            return out, new, values, plan, logged

        def committed(result):  # only now is the batch part of the history this index holds
            out, new, _, plan, logged = result
            if logged is not None:
                self._index.add(out[new], plan)
                self._seen = logged

        out, new, values, _, _ = self._run(work, committed)
        return out, new, values

    def _remove(self, doomed_of) -> int:
        """Delete the rows where ``doomed_of(rows)`` is true from the log and the index."""
        def work():
            rows = self._index.all_rows()
            doomed = doomed_of(rows)
            if not doomed.any():
                return 0, None
            gone = rows["sub"][doomed]
            batches = np.unique(rows["seq"][doomed] >> 32)
            db = self._db
            entries = db.execute("SELECT id, rows FROM log WHERE batch IN (SELECT value FROM json_each(?))",
                                 (json.dumps(batches.tolist()),)).fetchall()
            kept = [(log_id, decode_rows([blob])) for log_id, blob in entries]
            kept = [(log_id, r[~np.isin(r["sub"], gone)]) for log_id, r in kept]
            db.executemany("DELETE FROM log WHERE id = ?", [(log_id,) for log_id, r in kept if len(r) == 0])
            db.executemany("UPDATE log SET rows = ? WHERE id = ?", [(encode_rows(r), log_id) for log_id, r in kept if len(r)])
            generation = db.execute(
                "UPDATE meta SET value = value + 1 WHERE name = 'generation' RETURNING value").fetchone()[0]
            return int(doomed.sum()), (doomed, generation)

        def committed(result):
            if result[1] is not None:
                doomed, self._generation = result[1]
                self._index = self._index.without(doomed)

        return self._run(work, committed)[0]

    def _rows_of_respondent(self, respondent):
        def work():
            rows = self._index.all_rows()
            return rows[rows["respondent"] == np.uint64(respondent)].copy()

        return self._run(work)

    def _erase_respondent(self, respondent):
        return self._remove(lambda rows: rows["respondent"] == np.uint64(respondent))

    def _purge(self, cutoff_ms):
        return self._remove(lambda rows: rows["t"] <= cutoff_ms)

    def submission_count(self) -> int:
        return self._run(lambda: len(self._index))

    def close(self) -> None:
        with self._lock:
            self._db.close()
            self._index = HistoryIndex()


class _Transaction:
    """``BEGIN IMMEDIATE`` ... ``COMMIT`` (``ROLLBACK`` on an exception) on one connection."""

    __slots__ = ("db",)

    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db

    def __enter__(self) -> None:
        self.db.execute("BEGIN IMMEDIATE")  # take the write lock now: reads see a settled state

    def __exit__(self, exc_type, exc, tb) -> None:
        self.db.execute("COMMIT" if exc_type is None else "ROLLBACK")

"""History in one SQLite file: the embedded default.

WAL journal, one ``BEGIN IMMEDIATE`` transaction per batch: concurrent writers (threads or
processes) queue on SQLite's write lock, so no update is lost and a batch is all there or not at
all, even if the process is killed mid-write.

Layout (schema version 2)::

    meta                  batch counter and schema_version
    submissions           one row per submission: seq (INTEGER PRIMARY KEY), sub, t, its record (blob)
    events_<kind>         one row per key of that kind: key (INTEGER PRIMARY KEY), its events (blob)

A key's occurrences live together in one blob (24 bytes each: time, survey, order; 32 with the
paired respondent or device hash for the device, link and respondent kinds), so reading a batch's history is one primary-key lookup per distinct key, and recording a
batch is one B-tree write per distinct key rather than one per index per row. Every statement
takes the whole batch at once (``json_each`` over ``[key, offset, length]`` triples, ``substr``
into one blob parameter), so no per-row Python runs between SQLite and numpy. Version 1 files
(one ``observations`` table with seven secondary indexes) are migrated in place on open.
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

__all__ = ["SQLiteStore", "SCHEMA_VERSION"]

#: Layout version written to ``meta``; files with another version are migrated (1) or refused.
SCHEMA_VERSION = 2

_KEY_COLUMNS = [KIND_FIELDS[k] for k in KINDS]
_V1_ROW_COLUMNS = ["sub", "t", "survey", *_KEY_COLUMNS, "seq"]
#: A submission's stored record: its ROW_DTYPE fields, little-endian, as one blob.
_ROW_RECORD = np.dtype([(name, ROW_DTYPE[name].newbyteorder("<")) for name in ROW_DTYPE.names])
#: One occurrence of a key, as stored in its key's blob: time, survey, order (``seq``, unique per
#: submission, so erasure finds a submission's occurrences by it) and, for the kinds that have one,
#: the paired key the distinct counts need. The key itself is the row's primary key. Every byte
#: here is paid for in B-tree pages that each batch rewrites, so nothing else is kept.
_EVENT_RECORDS = {
    kind: np.dtype([("t", "<i8"), ("survey", "<u8"), ("seq", "<i8")] + ([("aux", "<u8")] if kind in AUX_KIND else []))
    for kind in KINDS
}

_SCHEMA = [
    "CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value INTEGER NOT NULL)",
    "INSERT OR IGNORE INTO meta VALUES ('batch', 0)",
    # Keyed by seq, which grows by batch: records are appended at the table's end, not scattered
    # by the random submission hash; only the narrow sub index takes random writes.
    "CREATE TABLE IF NOT EXISTS submissions (seq INTEGER PRIMARY KEY, sub INTEGER NOT NULL, t INTEGER NOT NULL, "
    "record BLOB NOT NULL)",
    "CREATE UNIQUE INDEX IF NOT EXISTS submissions_sub ON submissions (sub)",
    # Times mostly grow too, so this index is also appended to at its end; purge needs it.
    "CREATE INDEX IF NOT EXISTS submissions_t ON submissions (t)",
    *(f"CREATE TABLE IF NOT EXISTS events_{kind} (key INTEGER PRIMARY KEY, events BLOB NOT NULL)" for kind in KINDS),
]

# One statement per table per batch: JSON triples [key, 1-based offset, length] into one blob.
_APPEND = ("INSERT INTO events_{kind} (key, events) SELECT value ->> 0, substr(?2, value ->> 1, value ->> 2) "
           "FROM json_each(?1) WHERE 1 ON CONFLICT (key) DO UPDATE SET events = CAST(events || excluded.events AS BLOB)")
_REPLACE = ("INSERT INTO events_{kind} (key, events) SELECT value ->> 0, substr(?2, value ->> 1, value ->> 2) "
            "FROM json_each(?1) WHERE 1 ON CONFLICT (key) DO UPDATE SET events = excluded.events")
_INSERT_ROWS = ("INSERT INTO submissions (sub, t, seq, record) SELECT value ->> 0, value ->> 1, value ->> 2, "
                "substr(?2, value ->> 3, value ->> 4) FROM json_each(?1)")


def _signed(values: np.ndarray) -> np.ndarray:
    """uint64 hashes as the int64 SQLite stores (same bits)."""
    return np.ascontiguousarray(values, dtype=np.uint64).view(np.int64)


def _json_ints(values: np.ndarray) -> str:
    return json.dumps(_signed(values).tolist())


def _triples(keys: np.ndarray, offsets: np.ndarray, lengths: np.ndarray) -> str:
    """JSON ``[[key, offset + 1, length], ...]`` (SQLite's substr counts from 1)."""
    table = np.column_stack([_signed(keys), offsets + 1, lengths])
    return json.dumps(table.tolist())


def _rows_from_records(records: list[bytes]) -> np.ndarray:
    blob = b"".join(records)
    return np.frombuffer(blob, _ROW_RECORD).astype(ROW_DTYPE)


def _events_from(kind: str, found: list[tuple]) -> np.ndarray:
    """EVENT_DTYPE events (``sub`` 0: not stored) from ``(key, blob)`` rows of one kind."""
    ev = np.zeros(0, EVENT_DTYPE)
    if found:
        record = _EVENT_RECORDS[kind]
        keys, blobs = zip(*found)
        records = np.frombuffer(b"".join(blobs), record)
        ev = np.zeros(len(records), EVENT_DTYPE)
        per_key = np.fromiter(map(len, blobs), np.int64, count=len(blobs)) // record.itemsize
        ev["key"] = np.repeat(np.array(keys, np.int64).view(np.uint64), per_key)
        for name in record.names:
            ev[name] = records[name]
    return ev


def _grouped(kind: str, ev: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, bytes]:
    """Events grouped by key: distinct keys, byte offset and length of each key's run, packed blob.

    Keys come out in SQLite's (signed) order, so one batch writes the B-tree front to back.
    """
    order = np.argsort(_signed(ev["key"]), kind="stable")  # stable: a key's events stay in seq order
    ev = ev[order]
    change = np.r_[True, ev["key"][1:] != ev["key"][:-1]] if len(ev) else np.zeros(0, bool)
    starts = np.flatnonzero(change)
    counts = np.diff(np.r_[starts, len(ev)])
    record = _EVENT_RECORDS[kind]
    packed = np.empty(len(ev), record)
    for name in record.names:
        packed[name] = ev[name]
    return ev["key"][starts], starts * record.itemsize, counts * record.itemsize, packed.tobytes()


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
    lock; open a store per process (do not share one across ``fork``). A file written by an older
    fraudscore (schema version 1) is converted to version 2 in one transaction when first opened;
    a file from a newer fraudscore is refused with :class:`HistoryError`.
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
            # Random hashes touch pages all over each table: keep them cached rather than re-read each batch.
            self._db.execute(f"PRAGMA cache_size=-{int(cache_mb) * 1024}")
            with self._transaction():
                self._create_or_migrate()
        except sqlite3.Error as exc:
            raise self._unavailable(exc) from exc

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
        for statement in _SCHEMA:
            db.execute(statement)
        if version == 1:
            self._migrate_from_v1(db)
        elif version is not None and version != SCHEMA_VERSION:
            raise HistoryError(f"SQLite history {self.path!r} has unknown schema version {version}")
        db.execute("INSERT INTO meta VALUES ('schema_version', ?) ON CONFLICT (name) DO UPDATE SET value = ?",
                   (SCHEMA_VERSION, SCHEMA_VERSION))

    def _migrate_from_v1(self, db) -> None:
        """Version 1 kept one ``observations`` row per submission with an index per key kind."""
        table = np.array(db.execute(f"SELECT {', '.join(_V1_ROW_COLUMNS)} FROM observations").fetchall(),
                         dtype=np.int64).reshape(-1, len(_V1_ROW_COLUMNS))
        rows = np.zeros(len(table), ROW_DTYPE)
        for i, name in enumerate(_V1_ROW_COLUMNS):
            rows[name] = table[:, i].view(rows.dtype[name])
        self._write(db, rows)
        db.execute("DROP TABLE observations")

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

    # -- reading and writing whole batches ---------------------------------------------------------
    @staticmethod
    def _held_rows(db, subs: np.ndarray) -> np.ndarray:
        return _rows_from_records([r for (r,) in db.execute(
            "SELECT record FROM submissions WHERE sub IN (SELECT value FROM json_each(?))", (_json_ints(subs),))])

    @staticmethod
    def _events(db, kind: str, keys: np.ndarray) -> np.ndarray:
        return _events_from(kind, db.execute(
            f"SELECT key, events FROM events_{kind} WHERE key IN (SELECT value FROM json_each(?))",
            (_json_ints(keys),)).fetchall())

    @staticmethod
    def _write(db, rows: np.ndarray) -> None:
        """Append ``rows`` (new submissions, ROW_DTYPE) and their events."""
        if len(rows) == 0:
            return
        records = np.empty(len(rows), _ROW_RECORD)
        for name in _ROW_RECORD.names:
            records[name] = rows[name]
        size = _ROW_RECORD.itemsize
        table = np.column_stack([_signed(rows["sub"]), rows["t"], rows["seq"], np.arange(len(rows)) * size + 1, np.full(len(rows), size)])
        db.execute(_INSERT_ROWS, (json.dumps(table.tolist()), records.tobytes()))
        for kind in KINDS:
            ev = events_of_rows(rows, kind)
            if len(ev):
                keys, offsets, lengths, blob = _grouped(kind, ev[np.argsort(ev["seq"], kind="stable")])
                db.execute(_APPEND.format(kind=kind), (_triples(keys, offsets, lengths), blob))

    def _remove_rows(self, db, gone: np.ndarray) -> int:
        """Delete the submissions ``gone`` (ROW_DTYPE) and their occurrences under every key."""
        if len(gone) == 0:
            return 0
        subs = np.unique(gone["sub"])
        seqs = np.unique(gone["seq"])  # unique per submission; events carry it, not the submission hash
        for kind in KINDS:
            keys = np.unique(events_of_rows(gone, kind)["key"])
            if len(keys) == 0:
                continue
            ev = self._events(db, kind, keys)
            keep = ev[~np.isin(ev["seq"], seqs)]
            emptied = np.setdiff1d(keys, keep["key"])
            if len(emptied):
                db.execute(f"DELETE FROM events_{kind} WHERE key IN (SELECT value FROM json_each(?))",
                           (_json_ints(emptied),))
            if len(keep):
                k, offsets, lengths, blob = _grouped(kind, keep)
                db.execute(_REPLACE.format(kind=kind), (_triples(k, offsets, lengths), blob))
        return db.execute("DELETE FROM submissions WHERE sub IN (SELECT value FROM json_each(?))",
                          (_json_ints(subs),)).rowcount

    # -- the store interface -----------------------------------------------------------------------
    def _reserve(self, n):
        return self._run(lambda db: db.execute(
            "UPDATE meta SET value = value + ? WHERE name = 'batch' RETURNING value", (n,)).fetchone()[0] - n + 1)

    def _exchange(self, rows, cutoff_ms, batch):
        def work(db):
            held = self._held_rows(db, rows["sub"])
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
                ev = self._events(db, kind, np.unique(events_of_rows(out, kind)["key"]))
                events[kind] = ev[ev["t"] > cutoff_ms]
            self._write(db, out[new])
            return out, new, events

        return self._run(work)

    def _respondent_rows(self, db, respondent: int) -> np.ndarray:
        """The respondent's key lists its submissions; their records say the rest."""
        ev = self._events(db, "respondent", np.array([respondent], np.uint64))
        rows = _rows_from_records([r for (r,) in db.execute(
            "SELECT record FROM submissions WHERE seq IN (SELECT value FROM json_each(?))",
            (json.dumps(ev["seq"].tolist()),))])
        return rows[rows["respondent"] == np.uint64(respondent)]

    def _rows_of_respondent(self, respondent):
        return self._run(lambda db: self._respondent_rows(db, respondent))

    def _erase_respondent(self, respondent):
        return self._run(lambda db: self._remove_rows(db, self._respondent_rows(db, respondent)))

    def _purge(self, cutoff_ms):
        return self._run(lambda db: self._remove_rows(db, _rows_from_records(
            [r for (r,) in db.execute("SELECT record FROM submissions WHERE t <= ?", (cutoff_ms,))])))

    def submission_count(self) -> int:
        return self._run(lambda db: db.execute("SELECT count(*) FROM submissions").fetchone()[0])

    def close(self) -> None:
        with self._lock:
            self._db.close()

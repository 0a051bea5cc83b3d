"""In-process history: sorted numpy arrays, looked up with ``np.searchsorted``.

For tests, notebooks and single-process scoring where history need not outlive the process.
Thread-safe (one lock around each call); not shared between processes.
"""

from __future__ import annotations

import threading

import numpy as np

from fraudscore.history._counting import EVENT_DTYPE, ROW_DTYPE, events_of_rows
from fraudscore.history.base import HistoryStore
from fraudscore.history.observations import KINDS

__all__ = ["MemoryStore", "gather_ranges"]


def gather_ranges(sorted_keys: np.ndarray, wanted: np.ndarray) -> np.ndarray:
    """Indices of every element of ``sorted_keys`` equal to one of ``wanted``.

    Parameters
    ----------
    sorted_keys : ndarray of shape (N,), sorted
    wanted : ndarray of shape (k,), distinct

    Returns
    -------
    ndarray of shape (m,), dtype int64
    """
    lo = np.searchsorted(sorted_keys, wanted, "left")
    hi = np.searchsorted(sorted_keys, wanted, "right")
    length = hi - lo
    total = int(length.sum())
    if total == 0:
        return np.zeros(0, np.int64)
    # Offsets inside each range, without a Python loop over ranges.
    starts = np.repeat(lo - (np.cumsum(length) - length), length)
    return starts + np.arange(total)


def _insert_sorted(table: np.ndarray, new: np.ndarray, field: str) -> np.ndarray:
    new = new[np.argsort(new[field], kind="stable")]
    return np.insert(table, np.searchsorted(table[field], new[field], "right"), new)


class MemoryStore(HistoryStore):
    """History held in this process's memory (see :class:`HistoryStore` for the contract).

    Rows are kept sorted by submission hash and events of each kind sorted by key, so a batch
    costs a few ``searchsorted`` calls and one O(N) insert per table.
    """

    name = "memory"

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self._lock = threading.Lock()
        self._batch = 0
        self._rows = np.zeros(0, ROW_DTYPE)
        self._events = {kind: np.zeros(0, EVENT_DTYPE) for kind in KINDS}

    def _reserve(self, n):
        with self._lock:
            self._batch += n
            return self._batch - n + 1

    def _exchange(self, rows, cutoff_ms, batch):
        with self._lock:
            at = np.minimum(np.searchsorted(self._rows["sub"], rows["sub"]), max(len(self._rows) - 1, 0))
            held = (self._rows["sub"][at] == rows["sub"]) if len(self._rows) else np.zeros(len(rows), bool)
            out = rows.copy()
            out[held] = self._rows[at[held]]
            if batch is None:
                self._batch += 1
                batch = self._batch
            new = ~held
            out["seq"][new] = (batch << 32) | rows["seq"][new]

            events = {}
            for kind in KINDS:
                table = self._events[kind]
                keys = np.unique(events_of_rows(out, kind)["key"])
                found = table[gather_ranges(table["key"], keys)]
                events[kind] = found[found["t"] > cutoff_ms]
                self._events[kind] = _insert_sorted(table, events_of_rows(out[new], kind), "key")
            self._rows = _insert_sorted(self._rows, out[new], "sub")
            return out, new, events

    def _rows_of_respondent(self, respondent):
        with self._lock:
            return self._rows[self._rows["respondent"] == np.uint64(respondent)].copy()

    def _delete_rows(self, doomed: np.ndarray) -> int:
        """Drop rows where ``doomed`` (bool over rows) and their events; caller holds the lock."""
        gone = self._rows["sub"][doomed]
        for kind in KINDS:
            table = self._events[kind]
            self._events[kind] = table[~np.isin(table["sub"], gone)]
        self._rows = self._rows[~doomed]
        return int(doomed.sum())

    def _erase_respondent(self, respondent):
        with self._lock:
            return self._delete_rows(self._rows["respondent"] == np.uint64(respondent))

    def _purge(self, cutoff_ms):
        with self._lock:
            return self._delete_rows(self._rows["t"] <= cutoff_ms)

    def submission_count(self) -> int:
        return len(self._rows)

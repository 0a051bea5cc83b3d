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


class _SortedRuns:
    """A table kept as a few sorted runs, each at least four times larger than the next.

    Inserting into one sorted array copies all of it: O(N) per call, ~0.1 s at a million rows even
    for one row. Here each insert is a new run, merged with the newer runs it is not 4x larger
    than (the invariant of a binary-counter LSM), so a row is copied O(log N) times in its life,
    a call costs about its own size, and a lookup is one ``searchsorted`` per run (O(log N) runs).
    """

    def __init__(self, dtype: np.dtype, field: str):
        self.field = field
        self.empty = np.zeros(0, dtype)
        self.runs: list[np.ndarray] = []  # oldest and largest first

    def __len__(self) -> int:
        return sum(len(run) for run in self.runs)

    def find(self, wanted: np.ndarray) -> np.ndarray:
        """Every element whose ``field`` is one of ``wanted`` (distinct values)."""
        return np.concatenate([self.empty] + [run[gather_ranges(run[self.field], wanted)] for run in self.runs])

    def insert(self, new: np.ndarray) -> None:
        if len(new) == 0:
            return
        self.runs.append(new[np.argsort(new[self.field], kind="stable")])
        while len(self.runs) > 1 and len(self.runs[-2]) < 4 * len(self.runs[-1]):
            newer = self.runs.pop()
            self.runs[-1] = _insert_sorted(self.runs[-1], newer, self.field)

    def keep(self, mask_of) -> None:
        """Keep the elements where ``mask_of(run)`` is true."""
        self.runs = [kept for kept in (run[mask_of(run)] for run in self.runs) if len(kept)]

    def all(self) -> np.ndarray:
        return np.concatenate([self.empty] + self.runs)


class MemoryStore(HistoryStore):
    """History held in this process's memory (see :class:`HistoryStore` for the contract).

    Rows are kept sorted by submission hash and events of each kind sorted by key (each in a few
    sorted runs, see :class:`_SortedRuns`), so a batch costs a few ``searchsorted`` calls per run
    and copies about its own size.
    """

    name = "memory"

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self._lock = threading.Lock()
        self._batch = 0
        self._rows = _SortedRuns(ROW_DTYPE, "sub")
        self._events = {kind: _SortedRuns(EVENT_DTYPE, "key") for kind in KINDS}

    def _reserve(self, n):
        with self._lock:
            self._batch += n
            return self._batch - n + 1

    def _exchange(self, rows, cutoff_ms, batch):
        with self._lock:
            found = self._rows.find(rows["sub"])  # rows are distinct and sorted by sub
            held = np.isin(rows["sub"], found["sub"])
            out = rows.copy()
            out[held] = found[np.argsort(found["sub"])]
            if batch is None:
                self._batch += 1
                batch = self._batch
            new = ~held
            out["seq"][new] = (batch << 32) | rows["seq"][new]

            events = {}
            for kind in KINDS:
                found = self._events[kind].find(np.unique(events_of_rows(out, kind)["key"]))
                events[kind] = found[found["t"] > cutoff_ms]
                self._events[kind].insert(events_of_rows(out[new], kind))
            self._rows.insert(out[new])
            return out, new, events

    def _rows_of_respondent(self, respondent):
        with self._lock:
            rows = self._rows.all()
            return rows[rows["respondent"] == np.uint64(respondent)]

    def _delete_rows(self, doomed_of) -> int:
        """Drop rows where ``doomed_of(rows)`` is true and their events; caller holds the lock."""
        rows = self._rows.all()
        gone = rows["sub"][doomed_of(rows)]
        for kind in KINDS:
            self._events[kind].keep(lambda table: ~np.isin(table["sub"], gone))
        self._rows.keep(lambda table: ~doomed_of(table))
        return len(gone)

    def _erase_respondent(self, respondent):
        with self._lock:
            return self._delete_rows(lambda rows: rows["respondent"] == np.uint64(respondent))

    def _purge(self, cutoff_ms):
        with self._lock:
            return self._delete_rows(lambda rows: rows["t"] <= cutoff_ms)

    def submission_count(self) -> int:
        return len(self._rows)

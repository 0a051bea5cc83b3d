"""In-process history: the shared in-memory index (:mod:`fraudscore.history._index`).

For tests, notebooks and single-process scoring where history need not outlive the process.
Thread-safe (one lock around each call); not shared between processes.
"""

from __future__ import annotations

import threading

import numpy as np

from fraudscore.history._index import HistoryIndex
from fraudscore.history.base import HistoryStore

__all__ = ["MemoryStore"]


class MemoryStore(HistoryStore):
    """History held in this process's memory (see :class:`HistoryStore` for the contract).

    A new batch is counted by ``np.searchsorted`` over sorted codes of every key's occurrences,
    never by reading a key's history (see :class:`~fraudscore.history._index.HistoryIndex`);
    about 630 bytes per submission held
    (:meth:`~fraudscore.history._index.HistoryIndex.nbytes`). Erase and purge rebuild the index from the rows kept.
    """

    name = "memory"

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self._lock = threading.Lock()
        self._batch = 0
        self._index = HistoryIndex()

    def _reserve(self, n):
        with self._lock:
            self._batch += n
            return self._batch - n + 1

    def _record_and_count(self, rows, cutoff_ms, batch):
        with self._lock:
            if batch is None:
                self._batch += 1
            out, new, values, plan = self._index.count_batch(rows, self._batch if batch is None else batch, cutoff_ms,
                                                             batch is not None)
            self._index.add(out[new], plan)
            return out, new, values

    def _rows_of_respondent(self, respondent):
        with self._lock:
            rows = self._index.all_rows()
            return rows[rows["respondent"] == np.uint64(respondent)]

    def _delete_rows(self, doomed_of) -> int:
        """Drop rows where ``doomed_of(rows)`` is true; caller holds the lock."""
        doomed = doomed_of(self._index.all_rows())
        if doomed.any():
            self._index = self._index.without(doomed)
        return int(doomed.sum())

    def _erase_respondent(self, respondent):
        with self._lock:
            return self._delete_rows(lambda rows: rows["respondent"] == np.uint64(respondent))

    def _purge(self, cutoff_ms):
        with self._lock:
            return self._delete_rows(lambda rows: rows["t"] <= cutoff_ms)

    def submission_count(self) -> int:
        return len(self._index)

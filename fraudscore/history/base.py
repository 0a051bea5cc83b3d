"""The :class:`HistoryStore` interface and what every store shares.

Contract
--------
``observe(obs)`` is one atomic call: it records the batch and returns, per input row, how many
observations *prior* to that row the store holds for each key kind (device, link, cookie, IP,
IP prefix, respondent, text) over the trailing 1 h and 24 h and over the survey's retained
lifetime, plus distinct respondents per device / per link and distinct devices per respondent.

*Prior* means: recorded by an earlier ``observe`` call with a timestamp ``<=`` the row's, or in
the same call and earlier in ``(timestamp_ms, row index)`` order. A window of width *W* holds
timestamps in ``(t - W, t]``. So a batch gives the same counts as the same rows split into
several batches in arrival order; a row whose timestamp is earlier than rows already stored
does not see those later rows. Observations with ``timestamp_ms <= now - retention`` are
invisible, as if purged (``now`` defaults to the batch's latest timestamp, so backfills work).

Distinct counts include the row itself: a device seen only with respondent *r* has
``respondents_per_device`` 1.

Idempotency: a ``submission_id`` the store already holds is not recorded again, and its counts
are recomputed with the order it was first recorded in, so a retried batch returns the same
counts as the first time (unless the store was purged or erased in between). A submission id
repeated inside one batch is recorded once (its first row) and every copy gets that row's counts.
"""

from __future__ import annotations

import abc
import time
from dataclasses import dataclass

import numpy as np
import pandas as pd

from fraudscore.history._counting import COLUMNS, ROW_DTYPE
from fraudscore.history.observations import KIND_FIELDS, KINDS, Observations, hash_values
from fraudscore.secret import derive_key, get_secret, keyed_hash, keyed_hash_one

__all__ = [
    "COLUMNS",
    "DEFAULT_RETENTION_DAYS",
    "HistoryCounts",
    "HistoryError",
    "HistoryStore",
    "HistoryUnavailableError",
]

DEFAULT_RETENTION_DAYS = 30.0
_DAY_MS = 86_400_000


class HistoryError(Exception):
    """A history store cannot do what was asked."""


class HistoryUnavailableError(HistoryError):
    """The store is locked or unreachable and did not answer within the configured timeout."""


@dataclass(frozen=True)
class HistoryCounts:
    """Prior counts per input row, as returned by :meth:`HistoryStore.observe`.

    Parameters
    ----------
    submission_id : ndarray of shape (n,), dtype object
    values : ndarray of shape (n, len(COLUMNS)), dtype int64
        One column per name in :data:`COLUMNS` (``prior_device_1h``, ..., ``devices_per_respondent``).
    replayed : ndarray of shape (n,), dtype bool
        The submission was already stored (a retry) or repeats an earlier row of the batch:
        nothing was added for it.
    """

    submission_id: np.ndarray
    values: np.ndarray
    replayed: np.ndarray

    columns = COLUMNS

    def __len__(self) -> int:
        return len(self.submission_id)

    def __getitem__(self, name: str) -> np.ndarray:
        """Column ``name`` as an int64 array of shape (n,)."""
        return self.values[:, COLUMNS.index(name)]

    def __getattr__(self, name: str) -> np.ndarray:
        if name in COLUMNS:
            return self[name]
        raise AttributeError(name)

    def to_frame(self) -> pd.DataFrame:
        """A DataFrame with ``submission_id``, one int64 column per count, and ``replayed``."""
        frame = pd.DataFrame(self.values, columns=list(COLUMNS))
        frame.insert(0, "submission_id", self.submission_id)
        frame["replayed"] = self.replayed
        return frame


def _hex(value) -> str | None:
    return None if int(value) == 0 else f"{int(value):016x}"


class HistoryStore(abc.ABC):
    """Memory of past submissions: keyed hashes, timestamps and counts, never raw values.

    Parameters
    ----------
    secret : str or bytes, optional
        Installation secret (else ``FRAUDSCORE_SECRET``, else the development key with a warning).
        It must be the one :meth:`Observations.from_raw` hashed with.
    retention_days : float
        Observations older than this are invisible to counts and removed by :meth:`purge`.
    """

    #: Short name used in exports and errors.
    name = "history"

    def __init__(self, *, secret: str | bytes | None = None, retention_days: float = DEFAULT_RETENTION_DAYS):
        if not retention_days > 0:
            raise ValueError("retention_days must be positive")
        key = get_secret(secret)
        self.retention_days = float(retention_days)
        self._submission_key = derive_key(key, "submission")
        self._respondent_key = derive_key(key, "respondent")

    # -- what a store implements -------------------------------------------------------------------
    @abc.abstractmethod
    def _record_and_count(self, rows: np.ndarray, cutoff_ms: int, batch: int | None
                          ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Atomically record the rows of ``rows`` whose ``sub`` is not stored yet, and count them all.

        ``rows`` (ROW_DTYPE, distinct ``sub``, sorted by ``sub``) carry their batch position in
        ``seq``; new rows are stored with ``seq = batch << 32 | position`` for a fresh, increasing
        batch number (or the reserved ``batch`` given). Returns the rows as stored, in the order
        given (replayed rows with their stored values), the bool mask of rows this call added, and
        every row's counts, shape (m, len(COLUMNS)). Every store counts on a
        :class:`~fraudscore.history._index.HistoryIndex` (``count_batch``).
        """

    @abc.abstractmethod
    def _reserve(self, n: int) -> int:
        """Atomically advance the batch counter by ``n``; return the first number taken."""

    @abc.abstractmethod
    def _rows_of_respondent(self, respondent: int) -> np.ndarray:
        """Stored rows (ROW_DTYPE) whose respondent hash is ``respondent``."""

    @abc.abstractmethod
    def _erase_respondent(self, respondent: int) -> int:
        """Atomically delete the rows of ``respondent``; return how many."""

    @abc.abstractmethod
    def _purge(self, cutoff_ms: int) -> int:
        """Delete rows with ``t <= cutoff_ms``; return how many."""

    @abc.abstractmethod
    def submission_count(self) -> int:
        """Number of submissions held."""

    def close(self) -> None:
        """Release connections; the store is unusable afterwards."""

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- the public interface ----------------------------------------------------------------------
    @property
    def retention_ms(self) -> int:
        return int(self.retention_days * _DAY_MS)

    def reserve_batches(self, n: int) -> int:
        """Reserve ``n`` consecutive batch numbers for :meth:`observe` ``(batch=...)``.

        They order after every batch recorded so far and before any recorded later.

        Parameters
        ----------
        n : int
            How many (e.g. the number of partitions of a distributed job).

        Returns
        -------
        int
            The first reserved number; the block is ``first, ..., first + n - 1``.
        """
        n = int(n)
        if n < 1:
            raise ValueError("reserve at least one batch")
        return int(self._reserve(n))

    def observe(self, obs: Observations, now: int | None = None, *, batch: int | None = None) -> HistoryCounts:
        """Record a batch and return each row's prior counts (see the module docstring).

        Parameters
        ----------
        obs : Observations
            Batch of n rows.
        now : int, optional
            ms since the epoch; observations with ``timestamp_ms <= now - retention`` are ignored.
            Defaults to the batch's latest timestamp.
        batch : int, optional
            A number from :meth:`reserve_batches`: new rows are ordered as batch ``batch`` instead
            of after everything recorded so far. Give each reserved number to one batch only.

        Returns
        -------
        HistoryCounts
            n rows, in input order.
        """
        if not isinstance(obs, Observations):
            raise TypeError("observe() takes an Observations batch (see Observations.from_raw)")
        n = len(obs)
        if n == 0:
            return HistoryCounts(obs.submission_id, np.zeros((0, len(COLUMNS)), np.int64), np.zeros(0, bool))
        if batch is not None and not 0 < int(batch) < 2**31:
            raise ValueError(f"batch must be a number from reserve_batches(), got {batch!r}")
        if now is None:
            now = int(obs.timestamp_ms.max())
        cutoff = int(now) - self.retention_ms

        if n == 1:  # score_one: no repeats to fold, position 0 (the calls below cost ~40 us)
            rows = np.zeros(1, ROW_DTYPE)
            # keyed_hash of the one id (a str: Observations checked it), 0 mapped to 1 as below
            rows["sub"] = keyed_hash_one(obs.submission_id[0], self._submission_key) or 1
            rows["t"], rows["survey"] = obs.timestamp_ms, obs.survey_key
            for kind in KINDS:
                rows[KIND_FIELDS[kind]] = getattr(obs, KIND_FIELDS[kind])
            _, new, values = self._record_and_count(rows, cutoff, None if batch is None else int(batch))
            return HistoryCounts(obs.submission_id, values, ~new)
        sub = keyed_hash(obs.submission_id, self._submission_key)
        sub[sub == 0] = 1
        _, first, inverse = np.unique(sub, return_index=True, return_inverse=True)
        rows = np.zeros(len(first), ROW_DTYPE)
        rows["sub"] = sub[first]
        rows["t"] = obs.timestamp_ms[first]
        rows["survey"] = obs.survey_key[first]
        for kind in KINDS:
            rows[KIND_FIELDS[kind]] = getattr(obs, KIND_FIELDS[kind])[first]
        # Position in the batch: time order, input order among equal times.
        position = np.empty(len(first), np.int64)
        position[np.lexsort((first, rows["t"]))] = np.arange(len(first))
        rows["seq"] = position

        _, new, values = self._record_and_count(rows, cutoff, None if batch is None else int(batch))
        replayed = ~new[inverse]
        replayed[np.setdiff1d(np.arange(n), first)] = True
        return HistoryCounts(obs.submission_id, values[inverse], replayed)

    def backfill(self, obs: Observations, slice_ms: int = 3_600_000) -> HistoryCounts:
        """Record past submissions as a deployment would have recorded them as they arrived, and
        return each row's prior counts (in input order).

        One :meth:`observe` counts a batch against one "now", its latest time: in a batch that
        spans more than the retention, its older rows would count as already expired, recorded
        for nobody and seeing nothing. Here the rows are observed in time order, in slices of at
        most ``slice_ms`` (an hour by default), each with its own latest time as "now", so a row
        sees what a store with this retention held at most ``slice_ms`` after its own time. On a
        fresh store, rows that span less than the retention get the counts of one :meth:`observe`.

        Parameters
        ----------
        obs : Observations
            Batch of n rows, in any order.
        slice_ms : int
            Longest time span observed at once.

        Returns
        -------
        HistoryCounts
            n rows, in input order.
        """
        if slice_ms < 1:
            raise ValueError("slice_ms must be at least 1")
        t = obs.timestamp_ms
        if len(obs) == 0 or int(t.max()) - int(t.min()) < slice_ms:
            return self.observe(obs)
        order = np.argsort(t, kind="stable")
        slot = t[order] // slice_ms
        values = np.empty((len(obs), len(COLUMNS)), np.int64)
        replayed = np.empty(len(obs), bool)
        for rows in np.split(order, np.flatnonzero(slot[1:] != slot[:-1]) + 1):
            counts = self.observe(obs.take(rows))
            values[rows], replayed[rows] = counts.values, counts.replayed
        return HistoryCounts(obs.submission_id, values, replayed)

    def purge(self, now: int | None = None) -> int:
        """Delete observations with ``timestamp_ms <= now - retention``.

        Parameters
        ----------
        now : int, optional
            ms since the epoch; defaults to the wall clock.

        Returns
        -------
        int
            Submissions removed.
        """
        if now is None:
            now = int(time.time() * 1000)
        return self._purge(int(now) - self.retention_ms)

    def _respondent_hash(self, respondent_id: str) -> int:
        if not isinstance(respondent_id, str) or not respondent_id:
            raise ValueError("respondent_id must be a non-empty string")
        return int(hash_values([respondent_id], self._respondent_key)[0])

    def erase(self, respondent_id: str) -> int:
        """Delete every submission of this respondent (all its keys and timestamps), atomically.

        "Linked" means the rows of this respondent's own submissions: their device, link, cookie,
        IP, IP-prefix and text occurrences go with them, so later counts no longer include them.
        Other respondents' rows that share a device or IP are theirs and stay.

        Returns
        -------
        int
            Submissions removed.
        """
        return self._erase_respondent(self._respondent_hash(respondent_id))

    def export(self, respondent_id: str) -> dict:
        """Everything held about this respondent, as a JSON-able dict (data-subject access).

        Keys are hex keyed hashes; ``null`` means the submission had no value of that kind.
        """
        respondent = self._respondent_hash(respondent_id)
        rows = self._rows_of_respondent(respondent)
        rows = rows[np.lexsort((rows["seq"], rows["t"]))]
        return {
            "store": self.name,
            "respondent_hash": _hex(respondent),
            "retention_days": self.retention_days,
            "what_is_held": "keyed hashes (installation secret) of the submission, survey and each key kind, "
                            "and the submission time; never raw identifiers or text",
            "submissions": [
                {
                    "submission_hash": _hex(row["sub"]),
                    "survey_hash": _hex(row["survey"]),
                    "timestamp_ms": int(row["t"]),
                    **{KIND_FIELDS[k]: _hex(row[KIND_FIELDS[k]]) for k in KINDS},
                }
                for row in rows
            ],
        }

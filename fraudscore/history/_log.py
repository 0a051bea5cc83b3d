"""How the log-backed stores (SQLite, Redis) write submissions: fixed-size little-endian records.

A log entry is one committed batch's new submissions, their records laid end to end, so recording a
batch is one append whatever its keys. Every process rebuilds its
:class:`~fraudscore.history._index.HistoryIndex` by decoding the entries in log order.
"""

from __future__ import annotations

import numpy as np

from fraudscore.history._counting import ROW_DTYPE

__all__ = ["ROW_RECORD", "decode_rows", "encode_rows", "split_by_batch"]

#: A submission's stored record: its ROW_DTYPE fields, little-endian (88 bytes).
ROW_RECORD = np.dtype([(name, ROW_DTYPE[name].newbyteorder("<")) for name in ROW_DTYPE.names])


def encode_rows(rows: np.ndarray) -> bytes:
    """Records of ``rows`` (ROW_DTYPE), end to end."""
    if rows.dtype == ROW_RECORD:  # a little-endian machine: the rows' own bytes are the records
        return np.ascontiguousarray(rows).tobytes()
    records = np.empty(len(rows), ROW_RECORD)
    for name in ROW_RECORD.names:
        records[name] = rows[name]
    return records.tobytes()


def decode_rows(blobs: list[bytes]) -> np.ndarray:
    """The rows (ROW_DTYPE) of log entries ``blobs``, in order."""
    return np.frombuffer(b"".join(blobs), ROW_RECORD).astype(ROW_DTYPE)


def split_by_batch(rows: np.ndarray) -> list[tuple[int, np.ndarray]]:
    """``rows`` as one (batch number, rows) entry per batch, in batch order (for migrations)."""
    rows = rows[np.argsort(rows["seq"], kind="stable")]
    batch = rows["seq"] >> 32
    starts = np.flatnonzero(np.r_[True, batch[1:] != batch[:-1]]) if len(rows) else np.zeros(0, np.int64)
    ends = np.r_[starts[1:], len(rows)]
    return [(int(batch[a]), rows[a:b]) for a, b in zip(starts, ends)]

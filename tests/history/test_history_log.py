"""The log records of the SQLite and Redis stores: fixed little-endian bytes, whatever the path."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from fraudscore.history._counting import ROW_DTYPE
from fraudscore.history._log import ROW_RECORD, decode_rows, encode_rows


def _field_by_field(rows: np.ndarray) -> bytes:
    """The records as written before the fast path: each field copied into a little-endian record."""
    records = np.empty(len(rows), ROW_RECORD)
    for name in ROW_RECORD.names:
        records[name] = rows[name]
    return records.tobytes()


@settings(max_examples=50, deadline=None)
@given(n=st.integers(0, 40), seed=st.integers(0, 2**32 - 1), step=st.sampled_from([1, 2, 3]))
def test_records_are_the_field_by_field_bytes_and_decode_back(n, seed, step):
    rng = np.random.default_rng(seed)
    rows = np.zeros(n, ROW_DTYPE)
    for name in ROW_DTYPE.names:
        rows[name] = rng.integers(0, 2**63, n).astype(ROW_DTYPE[name])
    rows = rows[::step]  # not contiguous: the bytes must still be the rows', in order
    blob = encode_rows(rows)
    assert blob == _field_by_field(rows)
    assert len(blob) == len(rows) * ROW_RECORD.itemsize == len(rows) * 88
    assert np.array_equal(decode_rows([blob]), rows)
    big_endian = rows.astype(ROW_DTYPE.newbyteorder(">"))  # the other path: converted field by field
    assert encode_rows(big_endian) == blob

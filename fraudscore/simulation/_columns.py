"""Small column containers used while a block is built: coded strings and hex identifiers."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

__all__ = ["Coded", "mix64", "hex_ids"]


@dataclass
class Coded:
    """A string column held as integer codes into a small vocabulary (code -1 = null).

    Attack families rewrite codes (and may append to ``vocab``) with array operations, so no
    per-row string handling happens until :meth:`to_arrow`.
    """

    codes: np.ndarray
    vocab: list

    def code_of(self, value: str) -> int:
        """Code of ``value``, appending it to the vocabulary when new."""
        try:
            return self.vocab.index(value)
        except ValueError:
            self.vocab.append(value)
            return len(self.vocab) - 1

    def values(self) -> np.ndarray:
        """Object array of the strings (``None`` for null); for tests and small samples."""
        v = np.array(list(self.vocab) + [None], dtype=object)
        return v[self.codes]

    def to_arrow(self) -> pa.Array:
        vocab = pa.array(self.vocab, type=pa.string())
        codes = pa.array(self.codes, mask=self.codes < 0)
        return vocab.take(codes)


def mix64(*parts: np.ndarray) -> np.ndarray:
    """SplitMix64-style hash of integer arrays, shape (n,) uint64; deterministic across runs."""
    h = np.full(np.broadcast(*parts).shape, 0x9E3779B97F4A7C15, dtype=np.uint64)
    with np.errstate(over="ignore"):
        for p in parts:
            h ^= np.asarray(p).astype(np.uint64)
            h *= np.uint64(0xBF58476D1CE4E5B9)
            h ^= h >> np.uint64(31)
            h *= np.uint64(0x94D049BB133111EB)
            h ^= h >> np.uint64(29)
    return h


def hex_ids(h: np.ndarray, width: int = 16) -> pa.Array:
    """Hex strings of uint64 hashes, shape (n,); formats only the distinct values."""
    uniq, inverse = np.unique(h, return_inverse=True)
    fmt = f"%0{width}x"
    vocab = pa.array([fmt % int(u) if width >= 16 else (fmt % int(u))[:width] for u in uniq], type=pa.string())
    return vocab.take(pa.array(inverse.astype(np.int64)))

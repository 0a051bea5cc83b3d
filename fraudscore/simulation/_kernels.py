"""Array kernels the event generators share: segment layouts and a branch-free select.

These exist for speed only; each returns exactly what the plain numpy expression in its
docstring returns, so swapping one in never changes a generated row.
"""

from __future__ import annotations

import numpy as np

__all__ = ["segments", "select", "choice_cdf", "weighted_choice"]


def segments(lengths: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Layout of segments of ``lengths`` elements laid end to end.

    Same values as :func:`fraudscore.ragged.segment_index`, computed with ``take`` (faster than
    fancy indexing) and also returning the starts.

    Parameters
    ----------
    lengths : ndarray of int, shape (S,)

    Returns
    -------
    seg : ndarray of int64, shape (lengths.sum(),)
        Segment of each element.
    pos : ndarray of int64, shape (lengths.sum(),)
        Position of each element inside its segment.
    starts : ndarray of int64, shape (S,)
        Index of each segment's first element.
    """
    lengths = np.asarray(lengths, dtype=np.int64)
    ends = np.cumsum(lengths)
    starts = ends - lengths
    total = int(ends[-1]) if len(ends) else 0
    seg = np.repeat(np.arange(len(lengths), dtype=np.int64), lengths)
    pos = np.arange(total, dtype=np.int64)
    pos -= starts.take(seg)
    return seg, pos, starts


def select(cond: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``np.where(cond, a, b)`` for float32 or float64 arrays of one shape, bit for bit.

    ``np.where`` branches per element, and on conditions that flip at random it mispredicts
    about half the time (~5x slower than this). Here the choice is a bit mask:
    ``b ^ ((a ^ b) & mask)``.
    """
    if a.dtype != b.dtype or a.dtype.kind != "f" or a.shape != b.shape:
        return np.where(cond, a, b)
    bits = np.uint32 if a.itemsize == 4 else np.uint64
    mask = cond.astype(bits)
    np.negative(mask, out=mask)  # True -> all ones, False -> 0
    bb = np.ascontiguousarray(b).view(bits)
    out = np.bitwise_xor(np.ascontiguousarray(a).view(bits), bb)
    out &= mask
    out ^= bb
    return out.view(a.dtype)



def choice_cdf(p) -> np.ndarray:
    """The table ``Generator.choice(len(p), p=p)`` searches: ``cumsum(p) / cumsum(p)[-1]``."""
    cdf = np.asarray(p, dtype=np.float64).cumsum()
    cdf /= cdf[-1]
    return cdf


def weighted_choice(rng: np.random.Generator, cdf: np.ndarray, size: int) -> np.ndarray:
    """``rng.choice(len(p), size, p=p)`` for ``cdf = choice_cdf(p)``: the same draws and indices.

    ``Generator.choice`` validates ``p`` and rebuilds its table on every call (~20 µs); device
    and locale draws make hundreds of such calls per block with a few fixed tables.
    """
    return cdf.searchsorted(rng.random(size), side="right")

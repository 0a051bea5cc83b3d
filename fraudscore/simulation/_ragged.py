"""Helpers for ragged event series built as one values array plus row offsets."""

from __future__ import annotations

import numpy as np

__all__ = ["exclusive_cumsum", "local_index", "segment_sum"]


def exclusive_cumsum(counts: np.ndarray) -> np.ndarray:
    """Start offset of each segment, shape (len(counts),)."""
    out = np.zeros(len(counts), dtype=np.int64)
    np.cumsum(counts[:-1], out=out[1:])
    return out


def local_index(counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(segment of each element, position inside its segment), both shape (counts.sum(),)."""
    counts = counts.astype(np.int64)
    seg = np.repeat(np.arange(len(counts)), counts)
    pos = np.arange(int(counts.sum())) - np.repeat(exclusive_cumsum(counts), counts)
    return seg, pos


def segment_sum(values: np.ndarray, seg: np.ndarray, n_segments: int) -> np.ndarray:
    """Sum of ``values`` per segment, shape (n_segments,)."""
    return np.bincount(seg, weights=values, minlength=n_segments)

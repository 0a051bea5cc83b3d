"""Ragged arrays: one flat values array plus int64 offsets, one segment per row.

Row ``i`` owns ``values[offsets[i]:offsets[i + 1]]``. Every operation here works on whole
columns at once (no per-row Python), which is what keeps telemetry cheap at hundreds of
thousands of rows a second.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np

__all__ = ["Ragged", "nan_to_num", "nans", "offsets_from_lengths", "segment_index"]

_MAX = np.finfo(np.float64).max


def nan_to_num(values: np.ndarray) -> np.ndarray:
    """``np.nan_to_num(values)`` of a float64 array (NaN -> 0.0, +-inf -> +-max), bit for bit, in
    three ufunc calls instead of its ~10 us of Python per call (five calls in a one-row pointer batch)."""
    out = np.maximum(values, -_MAX)  # NaN propagates through maximum and minimum
    np.minimum(out, _MAX, out=out)
    out[np.isnan(out)] = 0.0
    return out


def nans(shape) -> np.ndarray:
    """``np.full(shape, np.nan)`` without its Python layer (a visible share of a one-row call)."""
    out = np.empty(shape)
    out.fill(np.nan)
    return out


def offsets_from_lengths(lengths: np.ndarray) -> np.ndarray:
    """Offsets (shape (n + 1,), int64, starting at 0) of rows with these lengths."""
    offsets = np.zeros(len(lengths) + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    return offsets


def segment_index(lengths: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(row of each element, position of each element inside its row), both of shape (sum,)."""
    lengths = np.asarray(lengths, dtype=np.int64)
    offsets = offsets_from_lengths(lengths)
    rows = np.repeat(np.arange(len(lengths), dtype=np.int64), lengths)
    return rows, np.arange(offsets[-1], dtype=np.int64) - offsets[:-1][rows]


@dataclass(frozen=True, eq=False)
class Ragged:
    """A list column.

    Parameters
    ----------
    values : ndarray of shape (total,)
        All rows' elements, row after row.
    offsets : ndarray of shape (n + 1,), int64
        ``offsets[0] == 0``, non-decreasing, ``offsets[-1] == total``.
    """

    values: np.ndarray
    offsets: np.ndarray

    def __post_init__(self) -> None:
        if self.offsets.ndim != 1 or len(self.offsets) < 1 or self.offsets[0] != 0:
            raise ValueError("offsets must be a 1-d array starting at 0")
        if self.offsets[-1] != len(self.values):
            raise ValueError(f"offsets end at {self.offsets[-1]} but there are {len(self.values)} values")

    @classmethod
    def from_lengths(cls, values: np.ndarray, lengths: np.ndarray) -> "Ragged":
        """Build from per-row lengths."""
        return cls(values, offsets_from_lengths(lengths))

    @classmethod
    def empty(cls, n: int, dtype=np.float64) -> "Ragged":
        """``n`` empty rows."""
        return cls(np.empty(0, dtype=dtype), np.zeros(n + 1, dtype=np.int64))

    def __len__(self) -> int:
        return len(self.offsets) - 1

    # Cached: feature families ask for the same layout arrays many times per batch. (A frozen
    # dataclass still allows cached_property, which writes to the instance __dict__ directly.)
    @cached_property
    def lengths(self) -> np.ndarray:
        """Elements per row, int64 of shape (n,) (read-only)."""
        out = self.offsets[1:] - self.offsets[:-1]  # np.diff, minus its Python layer
        out.flags.writeable = False
        return out

    @cached_property
    def _row_ids(self) -> np.ndarray:
        out = np.repeat(np.arange(len(self), dtype=np.int64), self.lengths)
        out.flags.writeable = False
        return out

    def row_ids(self) -> np.ndarray:
        """Row index of each value, int64 of shape (total,) (read-only)."""
        return self._row_ids

    def position(self) -> np.ndarray:
        """Position of each value inside its row (0, 1, ...), int64 of shape (total,)."""
        return np.arange(len(self.values), dtype=np.int64) - np.repeat(self.offsets[:-1], self.lengths)

    def row(self, i: int) -> np.ndarray:
        """Values of row ``i`` (a view)."""
        return self.values[self.offsets[i]:self.offsets[i + 1]]

    def filter_values(self, keep: np.ndarray) -> "Ragged":
        """Keep only the values where ``keep`` is true; rows shrink accordingly."""
        lengths = self.counts(keep)
        return Ragged.from_lengths(self.values[keep], lengths)

    def clear_rows(self, rows: np.ndarray) -> "Ragged":
        """Empty the rows where the boolean mask ``rows`` is true."""
        if not rows.any():
            return self
        lengths = self.lengths
        return Ragged.from_lengths(self.values[np.repeat(~rows, lengths)], np.where(rows, 0, lengths))

    def truncate(self, max_items: int) -> tuple["Ragged", np.ndarray]:
        """Keep the first ``max_items`` of each row; also return the mask of truncated rows."""
        too_long = self.lengths > max_items
        if not too_long.any():
            return self, too_long
        return self.filter_values(self.position() < max_items), too_long

    def take(self, rows: np.ndarray) -> "Ragged":
        """Rows ``rows`` (int indices), in that order."""
        rows = np.asarray(rows, dtype=np.int64)
        lengths = self.lengths[rows]
        offsets = np.zeros(len(rows) + 1, dtype=np.int64)
        np.cumsum(lengths, out=offsets[1:])
        starts = np.repeat(self.offsets[rows], lengths)
        inner = np.arange(offsets[-1], dtype=np.int64) - np.repeat(offsets[:-1], lengths)
        return Ragged(self.values[starts + inner], offsets)

    def unsorted_rows(self) -> np.ndarray:
        """Boolean mask of rows whose values decrease somewhere."""
        bad = np.zeros(len(self), dtype=bool)
        if len(self.values) < 2:
            return bad
        drop = np.flatnonzero(np.diff(self.values) < 0) + 1  # index of the later element
        rows = np.searchsorted(self.offsets, drop, side="right") - 1
        same_row = self.offsets[rows] < drop  # a drop across a row boundary is not a drop
        bad[rows[same_row]] = True
        return bad

    def sort_order(self) -> np.ndarray:
        """Permutation of ``values`` that sorts each row (stable) and keeps rows in place."""
        return np.lexsort((self.values, self.row_ids()))

    # ------------------------------------------------------------------ segment reductions
    # ``values`` defaults to this column's values; a parallel array (same offsets) may be given
    # instead, so one Ragged's layout serves every series that shares it.

    def _vals(self, values):
        return self.values if values is None else values

    @cached_property
    def _nonempty(self) -> tuple[np.ndarray, np.ndarray]:
        # reduceat over the starts of non-empty rows only: each such start runs to the next one,
        # which is exactly that row's values (empty rows share the next row's start).
        mask = self.lengths > 0
        return mask, self.offsets[:-1][mask]

    def sums(self, values: np.ndarray | None = None) -> np.ndarray:
        """Sum per row (0 for empty rows), float64 of shape (n,)."""
        v = self._vals(values)
        out = np.zeros(len(self), dtype=np.float64)
        mask, starts = self._nonempty
        if len(starts):
            out[mask] = np.add.reduceat(v.astype(np.float64, copy=False), starts)
        return out

    def counts(self, where: np.ndarray) -> np.ndarray:
        """Number of true ``where`` elements per row, int64 of shape (n,)."""
        out = np.zeros(len(self), dtype=np.int64)
        mask, starts = self._nonempty
        if len(starts):
            out[mask] = np.add.reduceat(where.astype(np.int64), starts)
        return out

    def means(self, values: np.ndarray | None = None) -> np.ndarray:
        """Mean per row (NaN for empty rows)."""
        lengths = self.lengths
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(lengths > 0, self.sums(values) / np.maximum(lengths, 1), np.nan)

    def stds(self, values: np.ndarray | None = None, ddof: int = 0, mean: np.ndarray | None = None) -> np.ndarray:
        """Standard deviation per row (NaN when fewer than ``ddof + 1`` values).

        Two-pass (subtract the row mean first), so large offsets such as epoch times lose no
        precision. ``mean``: the rows' :meth:`means` of the same values, when the caller has
        them already (not computed again). :meth:`means_stds` is the faster route to both.
        """
        v = self._vals(values)
        mean = self.means(v) if mean is None else mean
        centred = v - np.repeat(nan_to_num(mean), self.lengths)
        lengths = self.lengths
        with np.errstate(invalid="ignore", divide="ignore"):
            var = self.sums(centred * centred) / (lengths - ddof)
        return np.where(lengths > ddof, np.sqrt(np.maximum(var, 0.0)), np.nan)

    def means_stds(self, values: np.ndarray | None = None, ddof: int = 0) -> tuple[np.ndarray, np.ndarray]:
        """Mean (NaN for empty rows) and standard deviation (NaN under ``ddof + 1`` values) per row.

        Equal to :meth:`means` and :meth:`stds` up to rounding, and faster: from the sums of the
        values and of their squares (two passes over the values, not five), as
        ``k * sum(x^2) - sum(x)^2``; rows where that difference cancels to within 1e-6 of its
        terms (a spread small against the values, e.g. epoch times, and constant rows) are redone
        by subtracting the row mean first, so large offsets lose no precision. For whole numbers
        (pixels, milliseconds) the sums are exact and so is a zero spread.
        """
        v = self._vals(values).astype(np.float64, copy=False)
        lengths = self.lengths
        k = lengths.astype(np.float64)
        total = self.sums(v)
        squares = self.sums(v * v)
        with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
            mean = np.where(lengths > 0, total / k, np.nan)
            spread = k * squares - total * total
            var = np.maximum(spread, 0.0) / (k * (k - ddof))
            redo = (spread <= 1e-6 * k * squares) & (lengths > ddof)
            if redo.any():
                part = Ragged(v, self.offsets).take(np.flatnonzero(redo))
                centred = part.values - np.repeat(mean[redo], part.lengths)
                var[redo] = part.sums(centred * centred) / (k[redo] - ddof)
            sd = np.where(lengths > ddof, np.sqrt(var), np.nan)
        return mean, sd

    def nanmeans(self, values: np.ndarray | None = None) -> np.ndarray:
        """Mean of the finite values per row (NaN when a row has none)."""
        v = self._vals(values)
        finite = np.isfinite(v)
        n_finite = self.counts(finite)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(n_finite > 0, self.sums(np.where(finite, v, 0.0)) / n_finite, np.nan)

    def nancvs(self, values: np.ndarray | None = None, min_count: int = 2) -> np.ndarray:
        """Coefficient of variation (population SD / mean) of the finite values per row."""
        v = self._vals(values)
        finite = np.isfinite(v)
        n_finite = self.counts(finite)
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = np.where(n_finite > 0, self.sums(np.where(finite, v, 0.0)) / n_finite, np.nan)
            centred = np.where(finite, v - np.repeat(np.nan_to_num(mean), self.lengths), 0.0)
            sd = np.sqrt(self.sums(centred * centred) / n_finite)
            return np.where(n_finite >= min_count, sd / mean, np.nan)

    def _reduce(self, ufunc, values, empty: float) -> np.ndarray:
        v = self._vals(values)
        out = np.empty(len(self))
        out.fill(empty)
        mask, starts = self._nonempty
        if len(starts):
            out[mask] = ufunc.reduceat(v, starts)
        return out

    def maxs(self, values: np.ndarray | None = None) -> np.ndarray:
        """Maximum per row (NaN for empty rows)."""
        return self._reduce(np.maximum, values, np.nan)

    def mins(self, values: np.ndarray | None = None) -> np.ndarray:
        """Minimum per row (NaN for empty rows)."""
        return self._reduce(np.minimum, values, np.nan)

    def firsts(self, values: np.ndarray | None = None) -> np.ndarray:
        """First value per row (NaN for empty rows)."""
        v = self._vals(values).astype(np.float64, copy=False)
        out = nans(len(self))
        nonempty = self.lengths > 0
        out[nonempty] = v[self.offsets[:-1][nonempty]]
        return out

    def lasts(self, values: np.ndarray | None = None) -> np.ndarray:
        """Last value per row (NaN for empty rows)."""
        v = self._vals(values).astype(np.float64, copy=False)
        out = nans(len(self))
        nonempty = self.lengths > 0
        out[nonempty] = v[self.offsets[1:][nonempty] - 1]
        return out

    def _pairs(self, values, combine) -> "Ragged":
        v = self._vals(values)
        lengths = np.maximum(self.lengths - 1, 0)
        if len(v) < 2:
            return Ragged.from_lengths(np.empty(0, dtype=np.result_type(v.dtype, np.float64)), lengths)
        combined = combine(v[1:], v[:-1])
        inner = np.ones(len(combined), dtype=bool)
        starts = self.offsets[1:-1]
        inner[starts[(starts > 0) & (starts <= len(combined))] - 1] = False  # pairs that straddle two rows
        return Ragged.from_lengths(combined[inner], lengths)

    def diff(self, values: np.ndarray | None = None) -> "Ragged":
        """Differences of consecutive values inside each row (rows shrink by one)."""
        return self._pairs(values, np.subtract)

    def pair_means(self, values: np.ndarray | None = None) -> "Ragged":
        """Means of consecutive values inside each row (rows shrink by one)."""
        return self._pairs(values, lambda later, earlier: (later + earlier) / 2.0)

    def to_lists(self) -> list[list]:
        """Plain Python lists (for tests and reports, not hot paths)."""
        return [self.row(i).tolist() for i in range(len(self))]

    def equals(self, other: "Ragged") -> bool:
        """Same offsets and same values (NaN equal to NaN)."""
        if not np.array_equal(self.offsets, other.offsets):
            return False
        a, b = self.values, other.values
        if a.dtype.kind == "f" and b.dtype.kind == "f":
            return bool(np.array_equal(a, b, equal_nan=True))
        return bool(np.array_equal(a, b))

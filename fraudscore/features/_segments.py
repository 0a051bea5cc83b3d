"""Per-row statistics of event series kept in their full event layout.

The pointer and key families compute differences of differences of an event series (speed,
acceleration, jerk). :class:`~fraudscore.ragged.Ragged` does that by building a new, shorter
ragged array at every level, which copies every series once per level. Here every level stays in
the layout of the events themselves: the value of level ``k`` for event ``i`` sits at index ``i``
and is meaningful where the event's position in its row is at least ``k`` (``valid(k)``); the
other indices hold values that are never read.

Sums over a level use ``np.add.reduceat`` over exactly the contiguous values the shorter ragged
array would hold, in the same order, so floating-point results are bit-for-bit those of
``Ragged.sums`` / ``means`` / ``stds`` (reduceat's pairwise summation depends on where a
segment starts and how long it is, not on what lies around it).

A statistic over only some events of each row (the pointer's moves) is cheaper over those
events taken out into a :class:`Selection`: compact, one contiguous segment per row, no mask.
Its sums are reduceats too, over different segments than the level's: equal to a few ulps.

Long batches are cut into :func:`row_blocks` of about ``BLOCK_EVENTS`` events so the dozen
scratch arrays of a block stay in cache; results do not depend on the cut (everything is per row).
"""

from __future__ import annotations

import math
from functools import cached_property

import numpy as np

from fraudscore.ragged import Ragged, nan_to_num

__all__ = ["BLOCK_EVENTS", "EventLevels", "Selection", "adjacent", "both", "lag_diff", "lag_mean", "nan_to_num", "row_blocks",
           "where_zero", "WHOLE", "row_sum", "quotient", "means_stds_one", "mean_cv_one"]

#: Events per block: ~20 float64 scratch arrays of 64k events (~10 MB) stay in the last-level
#: cache; measured 2x faster than whole 20k-row batches, and per-block Python costs stay <5 %.
BLOCK_EVENTS = 1 << 16


def row_blocks(offsets: np.ndarray, block_events: int | None = None) -> list[tuple[int, int]]:
    """``(first row, end row)`` of consecutive row blocks holding about ``block_events`` events each.

    A row longer than ``block_events`` gets a block of its own; rows are never split. Default:
    :data:`BLOCK_EVENTS`, read at call time.
    """
    block_events = BLOCK_EVENTS if block_events is None else block_events
    n = len(offsets) - 1
    total = int(offsets[-1])
    if total <= block_events:
        return [(0, n)]
    cuts = np.searchsorted(offsets[:-1], np.arange(block_events, total, block_events), side="left")
    bounds = np.unique(np.concatenate(([0], cuts, [n])))
    return list(zip(bounds[:-1].tolist(), bounds[1:].tolist()))


def lag_diff(values: np.ndarray) -> np.ndarray:
    """``out[i] = values[i] - values[i - 1]`` (``out[0]`` is NaN), shape of ``values``."""
    out = np.empty(len(values), dtype=np.float64)
    if len(values):
        out[0] = np.nan
        np.subtract(values[1:], values[:-1], out=out[1:])
    return out


def lag_mean(values: np.ndarray) -> np.ndarray:
    """``out[i] = (values[i] + values[i - 1]) / 2`` (``out[0]`` is NaN), as ``Ragged.pair_means``."""
    out = np.empty(len(values), dtype=np.float64)
    if len(values):
        out[0] = np.nan
        np.add(values[1:], values[:-1], out=out[1:])
        out[1:] *= 0.5  # exactly / 2, a little cheaper
    return out


_NO_SIGN = np.int64(0x7FFF_FFFF_FFFF_FFFF)
#: CV above which a variance is computed in one pass (see :meth:`Selection.mean_cv`).
_ONE_PASS_CV = 0.1
#: Accumulator of per-row counts: half the cost of int64 in reduceat; a row of 2**31 events
#: (16 GiB per float64 column) cannot be held anyway.
_COUNT = np.int32


def _keep_bits(mask: np.ndarray, absolute: bool = False) -> np.ndarray:
    # int64 per element: every bit set where ``mask`` holds (all but the sign bit if
    # ``absolute``), 0 elsewhere, in one pass.
    if absolute:
        return np.multiply(mask.view(np.int8), _NO_SIGN, dtype=np.int64)
    return np.negative(mask.view(np.int8), dtype=np.int64)


def where_zero(mask: np.ndarray, values: np.ndarray, absolute: bool = False) -> np.ndarray:
    """``np.where(mask, values, 0.0)`` (of ``np.abs(values)`` if ``absolute``) bit for bit, float64.

    Clears the bits of the excluded values (all-zero bits are +0.0; a cleared sign bit is
    ``np.abs`` for every non-NaN value): two branch-free passes, ~3x cheaper than ``np.where``,
    whose data-dependent choice mispredicts on mixed masks. ``mask`` is a bool array.
    """
    keep = _keep_bits(mask, absolute)
    return np.bitwise_and(values.view(np.int64), keep, out=keep).view(np.float64)


def both(mask: np.ndarray) -> np.ndarray:
    """``mask[i] & mask[i - 1]`` (``False`` at 0): both values of a lag difference were usable."""
    out = mask.copy()
    if len(out):
        out[1:] &= mask[:-1]
        out[0] = False
    return out


class EventLevels:
    """Row layout of a block of events, with per-row reductions over each difference level.

    ``nonempty`` marks the rows with events, ``starts`` holds their first events' indices and
    ``first`` marks those events.

    The reductions divide by counts that may be zero and take square roots of NaN: call them
    under ``np.errstate(invalid="ignore", divide="ignore", over="ignore")`` (one per family call,
    not one per reduction: a one-row call makes dozens of them).

    Parameters
    ----------
    offsets : ndarray of shape (n + 1,), int64
        Row offsets into the block's events, starting at 0.
    """

    def __init__(self, offsets: np.ndarray) -> None:
        self.offsets = offsets
        self.n = len(offsets) - 1
        self.size = int(offsets[-1])
        self.lengths = offsets[1:] - offsets[:-1]  # np.diff, minus its Python layer
        nonempty = self.lengths > 0
        self.nonempty = nonempty
        self.starts = offsets[:-1][nonempty]
        self._valid: dict[int, np.ndarray] = {}
        self._segments: dict[int, tuple[np.ndarray, np.ndarray]] = {}

    @cached_property
    def first(self) -> np.ndarray:
        """Whether each event is its row's first, bool of shape (size,) (made when asked: two passes
        over the events that the families' reductions do not need)."""
        first = np.zeros(self.size, dtype=bool)
        first[self.starts] = True
        return first

    def valid(self, k: int) -> np.ndarray:
        """Events at position ``>= k`` in their row (where level ``k`` is defined), bool of shape (size,)."""
        if k == 0:
            return np.ones(self.size, dtype=bool)
        if k == 1 and k not in self._valid:
            self._valid[1] = ~self.first
        if k not in self._valid:
            below = self.valid(k - 1)
            out = below.copy()
            out[1:] &= below[:-1]
            out[:1] = False
            self._valid[k] = out
        return self._valid[k]

    def level_lengths(self, k: int) -> np.ndarray:
        """Values of level ``k`` per row: ``max(length - k, 0)``, int64 of shape (n,)."""
        return np.maximum(self.lengths - k, 0)

    def counts(self, where: np.ndarray) -> np.ndarray:
        """True elements of ``where`` per row, integers of shape (n,) (exact, any level)."""
        if len(self.starts) == self.n:  # no empty row: the reduction is the result
            return np.add.reduceat(where.view(np.uint8), self.starts, dtype=_COUNT)
        out = np.zeros(self.n, dtype=_COUNT)
        if len(self.starts):
            out[self.nonempty] = np.add.reduceat(where.view(np.uint8), self.starts, dtype=_COUNT)
        return out

    def _segment_index(self, k: int) -> tuple[np.ndarray, np.ndarray]:
        # Rows with a value at level k, and reduceat indices alternating "start of the row's level-k
        # values" and "end of the row": the odd segments (the first k events of the next row)
        # are computed and dropped. Indices strictly increase because k >= 1.
        if k not in self._segments:
            rows = (self.lengths > k).nonzero()[0]
            index = np.empty(2 * len(rows), dtype=np.int64)
            index[0::2] = self.offsets[:-1][rows] + k
            index[1::2] = self.offsets[1:][rows]
            if len(index) and index[-1] == self.size:
                index = index[:-1]  # the last segment runs to the end
            self._segments[k] = rows, index
        return self._segments[k]

    def level_counts(self, mask: np.ndarray, k: int) -> np.ndarray:
        """True elements of ``mask`` among each row's level-``k`` values (``k >= 1``), integers of
        shape (n,).

        Equals ``counts(mask & valid(k))`` without the extra pass: only level-``k`` positions are read.
        """
        rows, index = self._segment_index(k)
        if len(rows) == self.n:  # every row has a level-k value (a small batch, typically)
            return np.add.reduceat(mask.view(np.uint8), index, dtype=_COUNT)[0::2]
        out = np.zeros(self.n, dtype=_COUNT)
        if len(rows):
            out[rows] = np.add.reduceat(mask.view(np.uint8), index, dtype=_COUNT)[0::2]
        return out

    def sums(self, values: np.ndarray, k: int) -> np.ndarray:
        """Sum per row of level ``k`` (``k >= 1``), bit-for-bit ``Ragged.sums`` of that level."""
        rows, index = self._segment_index(k)
        if len(rows) == self.n:
            return np.add.reduceat(values, index)[0::2]
        out = np.zeros(self.n, dtype=np.float64)
        if len(rows):
            out[rows] = np.add.reduceat(values, index)[0::2]
        return out

    def per_event(self, per_row: np.ndarray) -> np.ndarray:
        """Broadcast one value per row to the row's events."""
        return per_row.repeat(self.lengths)

    def means_stds(self, values: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """(mean, population SD) per row of level ``k``, as ``Ragged.means`` and ``Ragged.stds``.

        NaN for rows without a level-``k`` value. The SD is two-pass (centred on the row mean).
        """
        lengths = self.level_lengths(k)
        mean = np.where(lengths > 0, self.sums(values, k) / np.maximum(lengths, 1), np.nan)
        centred = values - self.per_event(nan_to_num(mean))
        var = self.sums(centred * centred, k) / lengths
        return mean, np.where(lengths > 0, np.sqrt(np.maximum(var, 0.0)), np.nan)


class Selection:
    """Per-row reductions over the values of a selection of events, stored compactly in event order.

    A statistic over some events of each row (the moves, the positive intervals) reads only those
    values when they are taken out first: the passes after the selection are over the selected
    values, with no mask to apply, and each row's values form one contiguous segment.

    Parameters
    ----------
    positions : ndarray of int64, sorted
        Index of each selected event in the parent layout.
    offsets : ndarray of shape (n + 1,), int64
        Row offsets into the parent layout (of a block's events, or of another selection).
    """

    def __init__(self, positions: np.ndarray, offsets: np.ndarray) -> None:
        self.positions = positions
        self.bounds = np.searchsorted(positions, offsets)  # row offsets into the selection
        self.n = len(offsets) - 1
        self.lengths = self.bounds[1:] - self.bounds[:-1]
        self._rows = self.lengths > 0
        self._index = self.bounds[:-1][self._rows]  # strictly increasing: empty rows left out
        self._all = len(self._index) == self.n

    def sub(self, where: np.ndarray) -> "Selection":
        """The selection of the values where ``where`` (bool, one per value) holds."""
        return Selection(where.nonzero()[0], self.bounds)

    def _per_row(self, reduced: np.ndarray, fill) -> np.ndarray:
        if self._all:
            return reduced
        out = np.empty(self.n, dtype=reduced.dtype)
        out.fill(fill)  # np.full's Python layer costs more than the fill at a block's few hundred rows
        out[self._rows] = reduced
        return out

    def sums(self, values: np.ndarray) -> np.ndarray:
        """Sum of each row's values (0.0 for a row without any), float64 of shape (n,)."""
        if not len(self._index):
            return np.zeros(self.n)
        return self._per_row(np.add.reduceat(values, self._index), 0.0)

    def counts(self, mask: np.ndarray) -> np.ndarray:
        """True elements of ``mask`` (bool, one per value) per row, integers of shape (n,)."""
        if not len(self._index):
            return np.zeros(self.n, dtype=_COUNT)
        return self._per_row(np.add.reduceat(mask.view(np.uint8), self._index, dtype=_COUNT), 0)

    def mean_cv(self, values: np.ndarray, min_count: int = 2) -> tuple[np.ndarray, np.ndarray]:
        """(mean, population SD / mean) of each row's values, NaN for a row without values (the CV
        also below ``min_count`` values).

        The variance is ``mean(v**2) - mean(v)**2`` (one pass fewer than centring), whose rounding
        error relative to the variance is about ``eps / cv**2``: below 2e-14 for a CV over
        ``_ONE_PASS_CV``. Rows under it (a machine's regular values), or overflowing, are centred
        on their mean (two-pass) instead, as are the rows of every batch, so a row's result does
        not depend on the others.
        """
        count = self.lengths
        mean = self.sums(values) / count  # 0 / 0 is NaN
        var = self.sums(np.square(values)) / count
        var -= mean * mean
        exact = ~(var >= _ONE_PASS_CV ** 2 * (mean * mean))  # NaN and inf fail too
        exact &= count >= min_count
        if exact.any():
            rows = exact.nonzero()[0]
            part = Ragged(values, self.bounds).take(rows)  # the selected values are laid out by bounds
            lengths = part.lengths
            centred = part.values - mean[rows].repeat(lengths)
            np.multiply(centred, centred, out=centred)
            var[rows] = np.add.reduceat(centred, part.offsets[:-1]) / lengths
        return mean, np.where(count >= min_count, np.sqrt(var) / mean, np.nan)

    def masked_mean(self, values: np.ndarray, mask: np.ndarray, absolute: bool = False) -> np.ndarray:
        """Mean of each row's values (absolute values if ``absolute``) where ``mask`` holds; NaN for
        a row without one. ``values`` where ``mask`` fails are never read (they may be NaN)."""
        return self.sums(where_zero(mask, values, absolute)) / self.counts(mask)


def adjacent(positions: np.ndarray) -> np.ndarray:
    """``positions[i] == positions[i - 1] + 1`` (``False`` at 0): value ``i`` and the one before it
    come from consecutive events, bool of the shape of ``positions``."""
    out = np.zeros(len(positions), dtype=bool)
    if len(positions) > 1:
        np.equal(np.subtract(positions[1:], positions[:-1]), 1, out=out[1:])
    return out


# ------------------------------------------------------------------------------ one row (score_one)
# A batch of one row pays for the row layout's bookkeeping (~1 us per numpy call, dozens of calls
# per family) more than for its arithmetic; its one-row paths compute on the row's arrays and on
# Python floats instead, with the same operations in the same order, so that a row scored alone
# gets the bits it gets inside a batch.

#: reduceat index of a whole array: a row's sum exactly as the column code's segment sums take it.
WHOLE = np.zeros(1, dtype=np.intp)


def row_sum(values: np.ndarray) -> float:
    """``np.add.reduceat`` of one row's values (0.0 for none), bit for bit the column code's sums.

    Not ``values.sum()``: reduceat starts from the first value and adds the pairwise sum of the
    rest, which differs from ``sum`` in the last bits from 9 values on (and below, by association).
    """
    return float(np.add.reduceat(values, WHOLE)[0]) if len(values) else 0.0


def quotient(a: float, b: float) -> float:
    """``a / b`` with numpy's float division: x / 0 is a signed infinity, 0 / 0 and NaN / 0 are NaN."""
    if b:
        return a / b
    if a != a or not a:  # NaN or zero
        return math.nan
    return math.copysign(math.inf, a) * math.copysign(1.0, b)


def means_stds_one(values: np.ndarray, ddof: int = 0) -> tuple[float, float]:
    """:meth:`fraudscore.ragged.Ragged.means_stds` of one row's (float64) values, as floats: the
    same one-pass variance, redone centred where it cancels, in the same order."""
    k = len(values)
    if not k:
        return math.nan, math.nan
    total, squares = row_sum(values), row_sum(values * values)
    kf = float(k)
    mean = total / kf
    spread = kf * squares - total * total
    var = quotient(max(spread, 0.0), kf * (kf - ddof))  # max keeps NaN and -0.0 as np.maximum does
    if k <= ddof:
        return mean, math.nan
    if spread <= 1e-6 * kf * squares:
        centred = values - mean
        var = row_sum(centred * centred) / (kf - ddof)
    return mean, math.sqrt(var) if var >= 0.0 else math.nan


def mean_cv_one(values: np.ndarray, min_count: int = 2) -> tuple[float, float]:
    """:meth:`Selection.mean_cv` of one row's values, as floats.

    The same arithmetic in the same order: one-pass variance, two-pass where the CV is under
    ``_ONE_PASS_CV`` or the variance is not finite.
    """
    count = len(values)
    if not count:
        return math.nan, math.nan
    mean = row_sum(values) / count
    var = row_sum(np.square(values)) / count - mean * mean
    if count < min_count:
        return mean, math.nan
    if not var >= _ONE_PASS_CV ** 2 * (mean * mean):  # NaN and inf fail too
        centred = values - mean
        var = row_sum(np.multiply(centred, centred, out=centred)) / count
    return mean, quotient(math.sqrt(var) if var >= 0.0 else math.nan, mean)

"""Vectorized statistics behind the careless-responding indices.

Every kernel works on a whole ``(n, p)`` float64 matrix at once (NaN = missing) and reproduces
the R function careless calls: ``stats::cor``/``stats::cov`` with ``use = "pairwise.complete.obs"``,
``stats::sd`` with ``na.rm = TRUE``, ``base::cut`` on item positions. No kernel warns: each runs
under ``np.errstate`` and turns undefined values into NaN explicitly.

A matrix of one row (``score_one``) goes through the kernels' one-row versions (``*_one``, at
the end): the same values bit for bit, with sums of whole answers on Python floats (exact, so
their order does not matter) and the rest by the kernels' own numpy calls on one-row shapes.
"""

from __future__ import annotations

import math

import numpy as np

from fraudscore.ragged import nans

__all__ = [
    "BLOCK_ROWS",
    "product_block_rows",
    "pair_correlation",
    "profile_correlation",
    "row_correlation",
    "row_sd",
    "sd_from_sums",
    "pairwise_moments",
    "r_cut_labels",
]


#: Whether a matrix of one row takes the one-row paths (the same values, bit for bit, with a
#: fraction of the numpy calls); tests turn them off to compare with the column code.
_ONE_ROW = True

#: Rows per block where a kernel builds (n, p) temporaries: for a 100-item survey a block is
#: 1.6 MB, so it stays in cache instead of streaming full-size copies through memory
#: (measured: 2,048 rows beat 1,024 / 4,096 / 8,192 at 100k x 100).
BLOCK_ROWS = 2_048

#: OpenBLAS multiplies with one thread while ``m * n * k <= 65536 * 4`` (its SMP threshold).
#: A product above it wakes BLAS threads that then busy-wait on the other cores for a while
#: after it: without ``OMP_NUM_THREADS=1``, a 20k-row transform took ~40 % more CPU and more
#: wall time (the spinning threads take the cores from the caller's own work).
ONE_THREAD_PRODUCT = 65536 * 4
MIN_PRODUCT_ROWS = 256


def product_block_rows(inner: int, outer: int) -> int:
    """Rows per block whose ``(rows, inner) @ (inner, outer)`` product stays on one BLAS thread.

    At most :data:`BLOCK_ROWS`. When even :data:`MIN_PRODUCT_ROWS` rows would be over the
    threshold (Mahalanobis distance on more than 32 Likert items), :data:`BLOCK_ROWS`: smaller
    blocks would cost more in per-block calls than they save (100 items in blocks of 26 rows ran
    1.2x slower) and could not keep BLAS on one thread anyway.
    """
    rows = ONE_THREAD_PRODUCT // max(1, inner * outer)
    return int(BLOCK_ROWS if rows < MIN_PRODUCT_ROWS else min(BLOCK_ROWS, rows))


def _centred_where_complete(a: np.ndarray, b: np.ndarray, missing: np.ndarray):
    """(complete pairs, means of a and b over them, deviations from those means with 0 where a
    pair is incomplete) per row: the skipped-answers branch of :func:`row_correlation`, shared by
    its one-row path."""
    valid = ~missing
    complete = valid.sum(axis=1)
    mean_a = np.where(valid, a, 0.0).sum(axis=1) / complete
    mean_b = np.where(valid, b, 0.0).sum(axis=1) / complete
    return complete, mean_a, mean_b, np.where(valid, a - mean_a[:, None], 0.0), np.where(valid, b - mean_b[:, None], 0.0)


def row_correlation(a: np.ndarray, b: np.ndarray, min_pairs: int) -> tuple[np.ndarray, np.ndarray]:
    """Pearson correlation of ``a[i]`` with ``b[i]`` for every row, over complete pairs.

    R ``cor(a, b, use = "pairwise.complete.obs")`` per row: pairs where either side is NaN
    are dropped; fewer than ``min_pairs`` complete pairs, or a side that does not vary, gives
    NaN (R: NA, "the standard deviation is zero"); the result is clamped to [-1, 1] as R does.

    Parameters
    ----------
    a, b : ndarray of shape (n, k)
    min_pairs : int

    Returns
    -------
    r : ndarray of shape (n,)
    complete : ndarray of shape (n,), int64
        Number of complete pairs per row.
    """
    n, k = a.shape
    if n == 1 and _ONE_ROW:
        r, complete = row_correlation_one(a, b, min_pairs)
        return np.array([r]), np.array([complete])
    missing = np.isnan(a) | np.isnan(b)
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        if not missing.any():
            complete = np.full(n, k, dtype=np.int64)
            # Two passes (centre, then sum products), as R's cov.c does, for 1e-9 agreement.
            # (ndarray.mean's own arithmetic, add.reduce then one division, minus its Python layers.)
            mean_a = np.add.reduce(a, axis=1) / k
            mean_b = np.add.reduce(b, axis=1) / k
            da = a - mean_a[:, None]
            db = b - mean_b[:, None]
        else:
            complete, mean_a, mean_b, da, db = _centred_where_complete(a, b, missing)
        ss_a = np.einsum("ij,ij->i", da, da)
        ss_b = np.einsum("ij,ij->i", db, db)
        r = np.einsum("ij,ij->i", da, db) / np.sqrt(ss_a * ss_b)
        # _no_spread of both sides, inline: already under the errstate it would open twice.
        constant = ss_a <= 1e-20 * complete * mean_a * mean_a
        constant |= ss_b <= 1e-20 * complete * mean_b * mean_b
    r[(complete < min_pairs) | constant] = np.nan
    _clip_unit(r)
    return r, complete


def _clip_unit(r: np.ndarray) -> None:
    """``np.clip(r, -1, 1, out=r)`` (NaN stays NaN) as two ufunc calls, without clip's Python layers."""
    np.maximum(r, -1.0, out=r)
    np.minimum(r, 1.0, out=r)


def _no_spread(sum_squares: np.ndarray, count: np.ndarray, mean: np.ndarray) -> np.ndarray:
    """True where values do not vary: their spread is only the rounding of their mean.

    R computes means in long double, so identical values give an exact zero SD and NA; here
    the mean of identical values can be off by an ulp, leaving a sum of squares near
    ``count * (eps * mean)**2``. A real spread of Likert answers is many orders larger.
    """
    with np.errstate(invalid="ignore", over="ignore"):
        return sum_squares <= 1e-20 * count * mean * mean


def row_sd(x: np.ndarray) -> np.ndarray:
    """Sample standard deviation of each row ignoring NaN (R ``sd(x, na.rm = TRUE)``).

    Fewer than two answered items gives NaN (R: NA).

    Parameters
    ----------
    x : ndarray of shape (n, k)

    Returns
    -------
    ndarray of shape (n,)
    """
    n, k = x.shape
    if k == 0:
        return nans(n)
    if n == 1 and _ONE_ROW:
        sd = _row_sd_one(x[0])
        if sd is not None:
            return np.array([sd])
    total = x.sum(axis=1)  # NaN exactly where a row has a skipped item: no isnan pass needed
    skipped = np.isnan(total)
    if not skipped.any():
        return _complete_row_sd(x, total)
    # Complete rows as in a complete matrix, the others ignoring their NaN: a row's SD does not
    # depend on whether other rows of the batch skipped items.
    out = np.empty(n)
    complete = np.flatnonzero(~skipped)
    if len(complete):
        out[complete] = _complete_row_sd(x[complete], total[complete])
    partial = np.flatnonzero(skipped)
    y = x[partial]
    missing = np.isnan(y)
    count = (k - missing.sum(axis=1)).astype(np.float64)
    y[missing] = 0.0  # a copy: skipped items add nothing to the sums
    # As complete rows (and split_irv's chunks): the sums' formula, exact for whole answers, and
    # the two-pass formula where it cancels.
    sd, cancels = sd_from_sums(y.sum(axis=1), np.einsum("ij,ij->i", y, y), count)
    redo = np.flatnonzero(cancels & (count >= 2))  # under two answered items: the formula's NaN
    if len(redo):
        with np.errstate(invalid="ignore", divide="ignore"):
            answered = ~missing[redo]
            mean = y[redo].sum(axis=1) / count[redo]
            dev = np.where(answered, y[redo] - mean[:, None], 0.0)
            sd[redo] = np.sqrt(np.einsum("ij,ij->i", dev, dev) / (count[redo] - 1))
    out[partial] = sd
    return out


def sd_from_sums(total: np.ndarray, squares: np.ndarray, k) -> tuple[np.ndarray, np.ndarray]:
    """Sample SD of ``k`` values from their sum and sum of squares, and where to redo it.

    ``k * sum(x^2) - sum(x)^2`` is exact for whole-number answers (and two passes fewer than
    centring first); where it cancels badly (``cancels``) the caller redoes the rows with the
    two-pass formula. ``k`` may be an array broadcasting against ``total`` (chunk sizes).
    """
    spread = k * squares - total * total
    with np.errstate(invalid="ignore", divide="ignore"):
        sd = np.sqrt(np.maximum(spread, 0.0) / (k * (k - 1)))
    return sd, spread <= 1e-6 * k * squares


def _complete_row_sd(x: np.ndarray, total: np.ndarray) -> np.ndarray:
    """:func:`row_sd` of rows without NaN, given their sums."""
    n, k = x.shape
    if k < 2:
        return nans(n)
    out, cancels = sd_from_sums(total, np.einsum("ij,ij->i", x, x), k)
    redo = cancels.nonzero()[0]
    if len(redo):
        dev = x[redo] - x[redo].mean(axis=1)[:, None]
        out[redo] = np.sqrt(np.einsum("ij,ij->i", dev, dev) / (k - 1))
    return out


def pairwise_moments(x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Column means, pairwise covariance and pairwise correlation, as R computes them.

    ``colMeans(x, na.rm = TRUE)``, ``cov(x, use = "pairwise")`` and
    ``cor(x, use = "pairwise.complete.obs")``: each entry (i, j) uses the rows where both
    items were answered, with means taken over those rows. Computed with four matrix
    products over the centred, zero-filled matrix instead of a loop over item pairs.

    Parameters
    ----------
    x : ndarray of shape (n, p)

    Returns
    -------
    mean : ndarray of shape (p,)
        NaN for an item nobody answered.
    covariance : ndarray of shape (p, p)
        NaN where fewer than two rows answered both items.
    correlation : ndarray of shape (p, p)
        NaN where the covariance is NaN or either item does not vary over the shared rows.
    """
    n, p = x.shape
    column_totals = x.sum(axis=0)  # NaN exactly for items someone skipped
    complete = not np.isnan(column_totals).any()
    with np.errstate(invalid="ignore", divide="ignore"):
        if complete:
            mean = column_totals / n
        else:
            observed = ~np.isnan(x)
            mean = np.where(observed, x, 0.0).sum(axis=0) / observed.sum(axis=0)
        if n < 2:
            return mean, np.full((p, p), np.nan), np.full((p, p), np.nan)
        # Centring by the overall mean first changes nothing algebraically but keeps the
        # one-pass pairwise formulas below free of cancellation. Products accumulate over
        # blocks of rows so the centred copy never exists at full size.
        s_ij = np.zeros((p, p))
        if complete:
            centred = np.empty((min(n, BLOCK_ROWS), p))
            for start in range(0, n, BLOCK_ROWS):
                block = x[start:start + BLOCK_ROWS]
                z = np.subtract(block, mean, out=centred[:len(block)])
                s_ij += z.T @ z
            covariance = s_ij / (n - 1)
            variance = np.diag(covariance).copy()
            correlation = covariance / np.sqrt(np.outer(variance, variance))
            flat = _no_spread(variance, 1, mean)
            correlation[flat, :] = np.nan
            correlation[:, flat] = np.nan
        else:
            n_ij = np.zeros((p, p))
            s_i = np.zeros((p, p))   # [i, j]: sum of item i over rows where j is answered too
            ss_i = np.zeros((p, p))
            largest = np.zeros(p)
            for start in range(0, n, BLOCK_ROWS):
                block_observed = observed[start:start + BLOCK_ROWS]
                m = block_observed.astype(np.float64)
                z = np.where(block_observed, x[start:start + BLOCK_ROWS] - mean, 0.0)
                n_ij += m.T @ m
                s_i += z.T @ m
                s_ij += z.T @ z
                ss_i += (z * z).T @ m
                np.maximum(largest, np.abs(z).max(axis=0, initial=0.0), out=largest)
            covariance = (s_ij - s_i * s_i.T / n_ij) / (n_ij - 1)
            var_i = (ss_i - s_i * s_i / n_ij) / (n_ij - 1)
            correlation = covariance / np.sqrt(var_i * var_i.T)
            covariance[n_ij < 2] = np.nan
            # An item constant over the shared rows has no correlation (R: NA); its pairwise
            # variance is an exact zero up to rounding, so compare with the item's scale.
            flat = var_i <= 1e-13 * np.maximum(1.0, largest ** 2)[:, None]
            correlation[(n_ij < 2) | flat | flat.T] = np.nan
    _clip_unit(correlation)
    return mean, covariance, correlation


def r_cut_labels(n_items: int, n_chunks: int) -> np.ndarray:
    """Chunk of each item position, as R ``cut(seq_along(x), n_chunks, labels = FALSE)``.

    careless' split IRV chunks the items with ``cut``: ``n_chunks`` equal-width intervals over
    ``1..n_items`` (the outer breaks widened by a thousandth of the range), closed on the right.
    The breaks are built the way R's ``seq.int(from, to, length.out =)`` builds them so the
    rounding of a break that falls on an item position matches R.

    Parameters
    ----------
    n_items : int
        At least 2 (R's ``cut`` needs a non-empty range here).
    n_chunks : int
        At least 2 (R: "invalid number of intervals" below 2).

    Returns
    -------
    ndarray of shape (n_items,), int64
        0-based chunk of each item.
    """
    if n_chunks < 2:
        raise ValueError("num_split must be at least 2 (R's cut() rejects fewer intervals)")
    if n_items < 2:
        raise ValueError("split IRV needs at least 2 items")
    lo, hi = 1.0, float(n_items)
    n_breaks = n_chunks + 1
    step = (hi - lo) / (n_breaks - 1)
    i = np.arange(n_breaks, dtype=np.float64)
    # seq.int fills the first half from `from` and the second half back from `to`.
    breaks = np.where(np.arange(n_breaks) < n_breaks // 2, lo + i * step, hi - (n_breaks - 1 - i) * step)
    breaks[0] = lo - (hi - lo) / 1000
    breaks[-1] = hi + (hi - lo) / 1000
    positions = np.arange(1, n_items + 1, dtype=np.float64)
    # Right-closed intervals (a, b]: searchsorted 'left' finds the first break >= position.
    return np.searchsorted(breaks, positions, side="left").astype(np.int64) - 1


def pair_correlation(x: np.ndarray, pairs: np.ndarray, min_pairs: int = 3) -> tuple[np.ndarray, np.ndarray]:
    """Per-row correlation of ``x[:, pairs[:, 0]]`` with ``x[:, pairs[:, 1]]`` (psychsyn).

    Rows without a missing answer take a shortcut: the sums over a side of the pairs are
    matrix products with pair-count weights, and the cross products are summed per second
    item, so the ``(n, k)`` pair matrices are never built. For whole-number answers those
    sums are exact, so the result agrees with the two-pass formula far below 1e-9 and zero
    spread is exactly zero.
    Rows with a missing answer go through :func:`row_correlation` on their complete pairs.

    Parameters
    ----------
    x : ndarray of shape (n, p)
    pairs : ndarray of shape (k, 2), int
    min_pairs : int

    Returns
    -------
    r : ndarray of shape (n,)
    complete : ndarray of shape (n,), int64
    """
    n, p = x.shape
    k = len(pairs)
    r = nans(n)
    complete = np.zeros(n, dtype=np.int64)
    if k == 0 or n == 0:
        return r, complete
    if n == 1 and _ONE_ROW:
        one = _pair_correlation_one(x[0], pairs, min_pairs)
        if one is not None:
            return np.array([one[0]]), np.array([one[1]])
    first, second = pairs[:, 0], pairs[:, 1]
    # Only the paired items matter: a skipped item outside every pair must not turn the
    # sums below into NaN.
    items = np.union1d(first, second)
    all_items = len(items) == p
    local_first, local_second = np.searchsorted(items, first), np.searchsorted(items, second)
    # How often each item is a pair's first / second member: sums over a side of the pairs
    # become one matrix product.
    sides = np.zeros((len(items), 2))
    np.add.at(sides[:, 0], local_first, 1.0)
    np.add.at(sides[:, 1], local_second, 1.0)
    # Pairs grouped by their second item: sum(a * b) = sum_j x_j * (sum of x_i paired with j),
    # a loop over the distinct second items (at most p), each step over a block of rows.
    order = np.argsort(local_second, kind="stable")
    seconds, group_starts = np.unique(local_second[order], return_index=True)
    firsts_by_second = np.split(local_first[order], group_starts[1:])
    partial_blocks = []
    for start in range(0, n, BLOCK_ROWS):
        block = x[start:start + BLOCK_ROWS]
        block = block if all_items else block[:, items]
        sums = block @ sides
        has_missing = np.isnan(sums).any(axis=1)  # every item weighs on one side at least
        if has_missing.any():
            partial_blocks.append(start + has_missing.nonzero()[0])
            keep = (~has_missing).nonzero()[0]
            block, sums = block[keep], sums[keep]
            rows = start + keep
        else:
            rows = slice(start, start + len(block))
        # Item-major copy of the block: each item's answers are one contiguous row.
        items_major = np.ascontiguousarray(block.T)
        squares = (items_major * items_major).T @ sides
        cross_sum = np.zeros(items_major.shape[1])
        for item, partners_of_item in zip(seconds, firsts_by_second):
            partners = (items_major[partners_of_item[0]] if len(partners_of_item) == 1
                        else items_major[partners_of_item].sum(axis=0))
            cross_sum += items_major[item] * partners
        with np.errstate(invalid="ignore", divide="ignore"):
            # k * sum(ab) - sum(a) sum(b): exact for whole-number answers, no cancellation.
            spread = k * squares - sums * sums
            r_block = (k * cross_sum - sums[:, 0] * sums[:, 1]) / np.sqrt(spread[:, 0] * spread[:, 1])
        flat = (spread <= 1e-12 * k * squares).any(axis=1)
        r_block[flat | (k < min_pairs)] = np.nan
        _clip_unit(r_block)
        r[rows] = r_block
        complete[rows] = k
    if partial_blocks:
        partial = np.concatenate(partial_blocks)
        xp = x[partial]
        r[partial], complete[partial] = row_correlation(xp[:, first], xp[:, second], min_pairs)
    return r, complete


def profile_correlation(x: np.ndarray, profile: np.ndarray, min_items: int = 2) -> np.ndarray:
    """Per-row correlation of ``x[i]`` with one shared profile (person-total correlation).

    For rows with every item answered the centred profile is computed once and the
    correlation is one matrix-vector product; rows with skipped items (or a profile with
    undefined entries) use :func:`row_correlation` over their answered items.

    Parameters
    ----------
    x : ndarray of shape (n, p)
    profile : ndarray of shape (p,)
    min_items : int

    Returns
    -------
    ndarray of shape (n,)
    """
    n, p = x.shape
    r = nans(n)
    if n == 0 or p == 0:
        return r
    if n == 1 and _ONE_ROW:
        one = _profile_correlation_one(x[0], profile, min_items)
        if one is not None:
            return np.array([one])
    total = x.sum(axis=1)  # NaN exactly for rows with a skipped item: no separate isnan pass
    has_missing = np.isnan(total) | np.isnan(profile).any()
    full = (~has_missing).nonzero()[0]
    if len(full) and p >= min_items:
        xf = x if len(full) == n else x[full]
        tf = total if len(full) == n else total[full]
        profile_mean = np.add.reduce(profile) / p  # profile.mean(), minus its Python layers
        centred = profile - profile_mean
        ss_profile = centred @ centred
        squares = np.einsum("ij,ij->i", xf, xf)
        spread = p * squares - tf * tf  # p * sum of squared deviations; exact for whole numbers
        with np.errstate(invalid="ignore", divide="ignore"):
            # sum((x - mean) * centred) == x @ centred because centred sums to zero. By einsum,
            # not BLAS: a matrix-vector product over more than ~9k values wakes BLAS threads.
            r_full = np.einsum("ij,j->i", xf, centred) * np.sqrt(p / (spread * ss_profile))
        flat = (spread <= 1e-12 * p * squares) | bool(_no_spread(ss_profile, p, profile_mean))
        r_full[flat] = np.nan
        _clip_unit(r_full)
        r[full] = r_full
    partial = has_missing.nonzero()[0]
    if len(partial):
        xp = x[partial]
        r[partial], _ = row_correlation(xp, np.broadcast_to(profile, xp.shape), min_items)
    return r



# --------------------------------------------------------------------------------------------
# One row (score_one): the kernels above on one submission's answers, with the sums of whole
# answers on Python floats and what rounds (means of them, BLAS and einsum products) by the
# same numpy calls on the same shapes as the kernels, so the results are the same bit for bit.
# --------------------------------------------------------------------------------------------

try:  # einsum without its Python layer (half of a one-row call's ~2 us): the same kernel, same bits
    from numpy._core.multiarray import c_einsum as einsum_one
except ImportError:  # pragma: no cover - another numpy layout
    einsum_one = np.einsum

#: Sums of whole numbers under 2**53 in magnitude are exact in float64 whatever the order of the
#: additions (numpy's pairwise sums, BLAS, einsum, Python's left to right): the same value.
_EXACT_INTEGERS = 2.0 ** 53
#: Answers over this magnitude are left to the column kernels (the rules cap Likert answers at 1,000).
_LARGEST_ANSWER = 2.0 ** 20


def exact_sums(values: list[float], terms: int) -> bool:
    """Whether ``values`` (NaN = skipped) are whole numbers whose sums of ``terms`` products of two,
    and ``terms`` times those, are exact: when the one-row kernels may sum them on floats."""
    largest = 0.0
    for v in set(values):  # a few distinct answers (NaN, unequal to itself, fails every test below)
        magnitude = abs(v)
        if magnitude <= _LARGEST_ANSWER:
            if v != math.floor(v):
                return False
            if magnitude > largest:
                largest = magnitude
        elif v == v:  # too large, or infinite
            return False
    return (terms * largest) ** 2 < _EXACT_INTEGERS


def answered_sums(values: list[float]) -> tuple[float, float, int]:
    """(sum, sum of squares, count) of the answered values (NaN = skipped)."""
    total = squares = 0.0
    k = 0
    for v in values:
        if v == v:
            total += v
            squares += v * v
            k += 1
    return total, squares, k


def sd_one(total: float, squares: float, k: int) -> float | None:
    """The SD :func:`row_sd` gives ``k`` whole values of exact ``total`` and ``squares``.

    :func:`sd_from_sums` and its two-pass redo where it cancels: NaN under two values, 0.0 when the
    values are all equal (the zero spread is exact, and the redo of such a row gives 0.0); None for
    a row the redo would change otherwise (not with Likert answers), to go through :func:`row_sd`.
    """
    if k < 2:
        return math.nan
    spread = k * squares - total * total
    if spread <= 1e-6 * k * squares:
        return 0.0 if spread == 0.0 else None
    return math.sqrt(spread / (k * (k - 1)))


def _row_sd_one(row: np.ndarray) -> float | None:
    """:func:`row_sd` of one row of whole answers (None: not whole, or the two-pass redo is needed)."""
    values = row.tolist()
    if not exact_sums(values, len(values)):
        return None
    return sd_one(*answered_sums(values))


def clip_unit(r: float) -> float:
    """:func:`_clip_unit` of one value: into [-1, 1], NaN stays NaN."""
    if r > 1.0:
        return 1.0
    return -1.0 if r < -1.0 else r


def row_correlation_one(a: np.ndarray, b: np.ndarray, min_pairs: int) -> tuple[float, int]:
    """:func:`row_correlation` of one pair of rows (``a``, ``b`` of shape (1, k)), bit for bit:
    (r, complete pairs).

    The means, deviations and sums of products are the kernel's numpy calls on the same shapes
    (their rounding depends on numpy's order of summation); the counts, the tests and the last
    division are on scalars.
    """
    missing = np.isnan(a)
    missing |= np.isnan(b)
    n_missing = int(np.count_nonzero(missing))
    complete = a.shape[1] - n_missing
    if complete < min_pairs:
        return math.nan, complete
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        if not n_missing:
            # Both rows in one array for the elementwise steps; the row sums (reduce along a row)
            # are each row's alone. The sums of products stay on (1, k) arrays: einsum's order of
            # summation depends on the shape.
            both = np.concatenate((a, b))
            means = np.add.reduce(both, axis=1) / complete
            deviations = both - means[:, None]
            da, db = deviations[:1], deviations[1:]
            ma, mb = means
        else:
            _, mean_a, mean_b, da, db = _centred_where_complete(a, b, missing)
            ma, mb = mean_a[0], mean_b[0]
        # numpy scalars from here: a zero or non-finite division follows numpy's rules, as in the kernel.
        ss_a = einsum_one("ij,ij->i", da, da)[0]
        ss_b = einsum_one("ij,ij->i", db, db)[0]
        if ss_a <= 1e-20 * complete * ma * ma or ss_b <= 1e-20 * complete * mb * mb:
            return math.nan, complete
        r = einsum_one("ij,ij->i", da, db)[0] / np.sqrt(ss_a * ss_b)
    return clip_unit(float(r)), complete


def _pair_correlation_one(row: np.ndarray, pairs: np.ndarray, min_pairs: int) -> tuple[float, int] | None:
    """:func:`pair_correlation` of one row: (r, complete pairs), or None for answers that are not
    whole numbers (the kernel itself then).

    With every paired item answered, the kernel's sums are of whole answers, hence exact: the
    same formula on floats. Otherwise :func:`row_correlation_one` over the pairs, as the kernel.
    """
    k = len(pairs)
    values = row.tolist()
    first = [values[i] for i in pairs[:, 0].tolist()]
    second = [values[j] for j in pairs[:, 1].tolist()]
    if not exact_sums(first + second, k):
        return None
    if any(v != v for v in first) or any(v != v for v in second):
        x = row[None, :]
        return row_correlation_one(x[:, pairs[:, 0]], x[:, pairs[:, 1]], min_pairs)
    if k < min_pairs:
        return math.nan, k
    total_a, squares_a, _ = answered_sums(first)
    total_b, squares_b, _ = answered_sums(second)
    cross = 0.0
    for a, b in zip(first, second):
        cross += a * b
    spread_a = k * squares_a - total_a * total_a
    spread_b = k * squares_b - total_b * total_b
    if spread_a <= 1e-12 * k * squares_a or spread_b <= 1e-12 * k * squares_b:
        return math.nan, k
    return clip_unit((k * cross - total_a * total_b) / math.sqrt(spread_a * spread_b)), k


def _profile_correlation_one(row: np.ndarray, profile: np.ndarray, min_items: int) -> float | None:
    """:func:`profile_correlation` of one row (None for answers that are not whole numbers: the
    kernel itself then)."""
    values = row.tolist()
    p = len(values)
    if not exact_sums(values, p):
        return None
    total, squares, k = answered_sums(values)
    if k < p or np.isnan(profile).any():  # a skipped item, or a profile with an unknown mean
        return row_correlation_one(row[None, :], profile[None, :], min_items)[0]
    if p < min_items:
        return math.nan
    profile_mean = np.add.reduce(profile) / p
    centred = profile - profile_mean
    ss_profile = centred @ centred
    spread = p * squares - total * total
    if spread <= 1e-12 * p * squares or _no_spread(ss_profile, p, profile_mean):
        return math.nan
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        r = einsum_one("ij,j->i", row[None, :], centred)[0] * np.sqrt(p / (spread * ss_profile))
    return clip_unit(float(r))

"""Careless-responding indices with the semantics of the R package ``careless`` 1.2.x.

Each index takes the Likert matrix of shape ``(n, p)`` (float64, NaN = skipped item; build it
from ``answers.likert`` with :func:`likert_matrix`) and returns one value per row, computed for
all rows at once (a single row, as ``score_one`` gives, by one-row paths with the same results
bit for bit). Higher means more careless for every index except IRV, psychometric
synonyms and person-total correlation (low = careless) and psychometric antonyms (high =
careless, since attentive people answer antonym pairs in opposite directions, giving r < 0).

Two modes:

- *batch*: the reference statistics (item means, covariance, synonym/antonym pairs) come from
  the batch itself. The module-level functions do this by default and reproduce careless to
  1e-9 (tests compare with values R computed; ``tests/features/r_reference/``).
- *fitted*: :class:`CarelessReference` learns the reference statistics from calibration data
  once and applies them to new rows, so a single submission can be scored alone; applying it
  row by row equals applying it to the whole batch.

R sources transcribed (careless 1.2.1 on CRAN, https://github.com/ryentes/careless, MIT
licence, Yentes & Wilhelm): ``R/longstring.R``, ``R/irv.R``, ``R/mahad.R`` (which calls
``psych::outlier``), ``R/evenodd.R``, ``R/psychsyn.R``, ``R/psychant.R``. Where careless
errors out (no synonym pairs, singular covariance) these functions return NaN or use a
pseudo-inverse instead, because one odd batch must not stop scoring; each docstring says where.
The text of ``R/irv.R`` at 1.2.1 was not available to us: :func:`irv` follows the 1.1.3 source
plus the NA handling 1.2.1 added (``sd(na.rm = TRUE)``, per NEWS, the documented signature and
upstream ``tests/testthat/test-irv.R``). careless has no person-total correlation;
:func:`person_total` uses the standard definition (Curran, 2016).

References
----------
Curran, P. G. (2016). Methods for the detection of carelessly invalid responses in survey data.
    Journal of Experimental Social Psychology, 66, 4-19. doi:10.1016/j.jesp.2015.07.006
Dunn, A. M., Heggestad, E. D., Shanock, L. R., & Theilgard, N. (2018). Intra-individual response
    variability as an indicator of insufficient effort responding. Journal of Business and
    Psychology, 33(1), 105-121. doi:10.1007/s10869-016-9479-0
Johnson, J. A. (2005). Ascertaining the validity of individual protocols from web-based
    personality inventories. Journal of Research in Personality, 39, 103-129.
    doi:10.1016/j.jrp.2004.09.009
Meade, A. W., & Craig, S. B. (2012). Identifying careless responses in survey data.
    Psychological Methods, 17(3), 437-455. doi:10.1037/a0028085
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping, Sequence

import numpy as np

from fraudscore.features._careless_stats import (
    BLOCK_ROWS,
    answered_sums,
    einsum_one,
    exact_sums,
    product_block_rows,
    pair_correlation,
    pairwise_moments,
    profile_correlation,
    r_cut_labels,
    row_correlation,
    row_correlation_one,
    row_sd,
    sd_from_sums,
    sd_one,
)
from fraudscore.ragged import Ragged
from fraudscore.survey import SurveySpec

__all__ = [
    "CRITICAL_VALUE",
    "CarelessReference",
    "attention_check_failures",
    "careless_indices",
    "evenodd",
    "honeypot_filled",
    "irv",
    "likert_matrix",
    "longstring",
    "mahad",
    "person_total",
    "psychant",
    "psychometric_pairs",
    "psychsyn",
    "split_irv",
]

#: Whether a matrix of one row takes the one-row paths (the same values, bit for bit, with a
#: fraction of the numpy calls); tests turn them off to compare with the column code.
_ONE_ROW = True

#: careless' default critical correlation for psychometric synonyms (antonyms: its negative).
CRITICAL_VALUE = 0.60


def likert_matrix(likert: Ragged, n_items: int) -> np.ndarray:
    """Dense Likert matrix from the ragged ``answers.likert`` column.

    Parameters
    ----------
    likert : Ragged
        float64 values, NaN = skipped item; row ``i`` holds that submission's answers in item order.
    n_items : int
        Columns of the result. Shorter rows are padded with NaN, longer rows truncated.

    Returns
    -------
    ndarray of shape (n, n_items), float64
    """
    if len(likert.values) == len(likert) * n_items and (likert.lengths == n_items).all():
        return likert.values.reshape(len(likert), n_items).copy()  # every row complete: already row-major
    out = np.full((len(likert), n_items), np.nan)
    position = likert.position()
    keep = position < n_items
    out[likert.row_ids()[keep], position[keep]] = likert.values[keep]
    return out


def _column_means(x: np.ndarray) -> np.ndarray:
    """``colMeans(x, na.rm = TRUE)``; NaN for an item nobody answered."""
    answered = ~np.isnan(x)
    with np.errstate(invalid="ignore", divide="ignore"):
        if answered.all():
            return x.mean(axis=0)
        return np.where(answered, x, 0.0).sum(axis=0) / answered.sum(axis=0)


def _as_matrix(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 2:
        raise ValueError(f"expected a matrix of shape (n, p), got shape {x.shape}")
    return x


# --------------------------------------------------------------------------------------------
# Within-person indices (no reference statistics)
# --------------------------------------------------------------------------------------------

def longstring(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Longest and average run of identical consecutive answers (Johnson, 2005).

    careless ``R/longstring.R``: ``rle()`` of each row, ``max`` and ``mean`` of the run
    lengths. R's ``rle`` ends a run at a missing answer and counts every NA as its own run
    of length 1 (``NA == NA`` is not TRUE), so a skipped item breaks a straight line and an
    all-skipped row has longest run 1 and average run 1. High = careless.

    Parameters
    ----------
    x : ndarray of shape (n, p)

    Returns
    -------
    longest : ndarray of shape (n,)
        ``longstr``; NaN when ``p == 0``.
    average : ndarray of shape (n,)
        ``avgstr`` = p / number of runs; NaN when ``p == 0``.
    """
    x = _as_matrix(x)
    n, p = x.shape
    if p == 0:
        return np.full(n, np.nan), np.full(n, np.nan)
    if n == 1 and _ONE_ROW:
        longest, average = _longstring_one(x[0].tolist())
        return np.array([longest]), np.array([average])
    if 0 < n <= _RUN_ROWS:
        return _longstring_runs(x)
    run_type = np.uint8 if p < 255 else (np.uint16 if p < 65535 else np.int64)
    longest = np.empty(n, dtype=run_type)
    n_runs = np.empty(n, dtype=np.int64)
    # Blocks 8x taller than elsewhere: the loop below holds one byte per answer, and every
    # block costs p small numpy calls.
    step = 8 * BLOCK_ROWS
    for start in range(0, n, step):
        block = x[start:start + step]
        same = block[:, 1:] == block[:, :-1]  # NaN compares unequal: R's run break at NA
        n_runs[start:start + step] = p - np.count_nonzero(same, axis=1)
        # Item-major copy of a cache-sized block: each step reads one contiguous column.
        same_by_item = np.ascontiguousarray(same.T).view(np.uint8)
        current = np.ones(len(block), dtype=run_type)
        block_longest = np.ones(len(block), dtype=run_type)
        # Length of the run ending at each item, item by item: a loop over the p items
        # (whole columns at once), never over rows. current * same + 1 resets to 1 at a break.
        for j in range(p - 1):
            current *= same_by_item[j]
            current += 1
            np.maximum(block_longest, current, out=block_longest)
        longest[start:start + step] = block_longest
    return longest.astype(np.float64), p / n_runs


#: Up to this many rows :func:`longstring` measures runs directly (a dozen numpy calls) instead of
#: looping over the items (three calls per item, which dominate a one-row call).
_RUN_ROWS = 64


def _longstring_runs(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """:func:`longstring` of a matrix with ``p >= 1`` columns from the flat positions where runs start."""
    n, p = x.shape
    starts = np.empty((n, p), dtype=bool)
    starts[:, 0] = True  # every row starts a run (and so do skipped answers: NaN != NaN)
    np.not_equal(x[:, 1:], x[:, :-1], out=starts[:, 1:])
    n_runs = np.count_nonzero(starts, axis=1)
    first = starts.ravel().nonzero()[0]
    lengths = np.empty(len(first), dtype=np.int64)
    np.subtract(first[1:], first[:-1], out=lengths[:-1])
    lengths[-1] = n * p - first[-1]  # runs never cross rows: each row's first answer starts one
    row_first_run = np.zeros(n, dtype=np.int64)
    np.cumsum(n_runs[:-1], out=row_first_run[1:])
    return np.maximum.reduceat(lengths, row_first_run).astype(np.float64), p / n_runs


def _longstring_one(values: list[float]) -> tuple[float, float]:
    """:func:`longstring` of one row of ``p >= 1`` answers: its runs counted in Python (NaN, which
    equals nothing, ends a run and is one)."""
    runs = longest = run = 1
    previous = values[0]
    for v in values[1:]:
        if v == previous:
            run += 1
            longest = max(longest, run)
        else:
            run = 1
            runs += 1
        previous = v
    return float(longest), len(values) / runs


def irv(x: np.ndarray) -> np.ndarray:
    """Intra-individual response variability: the row's sample SD (Dunn et al., 2018).

    careless ``R/irv.R`` (``irv(x, na.rm = TRUE)``): ``sd`` of the answered items (n - 1
    denominator). Fewer than two answered items gives NaN. Low = straight-lining, high =
    random answering (Marjanovic et al., 2015).

    Parameters
    ----------
    x : ndarray of shape (n, p)

    Returns
    -------
    ndarray of shape (n,)
    """
    return row_sd(_as_matrix(x))


def split_irv(x: np.ndarray, num_split: int = 3) -> np.ndarray:
    """IRV of consecutive item chunks (careless ``irv(x, split = TRUE, num.split =)``).

    The items are cut into ``num_split`` chunks with R's ``cut(seq_along(items), num.split)``
    (equal-width intervals over the item positions, so chunk sizes can differ by one and the
    larger chunks are not always first); each chunk's IRV is its sample SD ignoring NaN.

    Parameters
    ----------
    x : ndarray of shape (n, p)
    num_split : int
        Between 2 and ``p``.

    Returns
    -------
    ndarray of shape (n, num_split)
        Column ``k`` is careless' ``irv{k+1}``.
    """
    x = _as_matrix(x)
    if num_split > x.shape[1]:
        raise ValueError(f"num_split={num_split} exceeds the {x.shape[1]} items")
    bounds = _split_bounds(x.shape[1], num_split)
    if x.shape[0] == 1 and _ONE_ROW:
        one = _split_irv_one(x[0].tolist(), bounds)
        if one is not None:
            return np.array([one])
    starts = np.asarray(bounds[:-1])
    # Every chunk's count, sum and sum of squares of answered items by one reduceat over the
    # columns each (exact for whole-number answers; no matrix product, which BLAS would spread
    # over idle-spinning threads), then row_sd's formula (sd_from_sums): the same values as
    # row_sd per chunk. Chunk-rows where it cancels go through row_sd itself.
    missing = np.isnan(x)
    if missing.any():
        values = np.where(missing, 0.0, x)
        k = np.add.reduceat(~missing, starts, axis=1, dtype=np.float64)  # answered items per chunk
    else:
        values = x
        k = np.diff(np.asarray(bounds)).astype(np.float64)
    out, cancels = sd_from_sums(np.add.reduceat(values, starts, axis=1),
                                np.add.reduceat(values * values, starts, axis=1), k)
    redo = cancels & (k >= 2)  # under two answered items the formula's 0 / 0 is row_sd's NaN
    for j in np.flatnonzero(redo.any(axis=0)):
        rows = np.flatnonzero(redo[:, j])
        out[rows, j] = row_sd(np.ascontiguousarray(x[rows, bounds[j]:bounds[j + 1]]))
    return out


def _split_irv_one(values: list[float], bounds: tuple[int, ...]) -> list[float] | None:
    """:func:`split_irv` of one row: each chunk's SD from its exact sums (:func:`sd_one`, as
    :func:`row_sd`); None when the answers are not whole numbers or a chunk needs the two-pass redo."""
    if not exact_sums(values, len(values)):
        return None
    out = []
    for lo, hi in zip(bounds[:-1], bounds[1:]):
        sd = sd_one(*answered_sums(values[lo:hi]))
        if sd is None:
            return None
        out.append(sd)
    return out


@functools.lru_cache(maxsize=64)
def _split_bounds(n_items: int, num_split: int) -> tuple[int, ...]:
    """First column of each of split IRV's chunks, and the end: the same for every call on a survey."""
    labels = r_cut_labels(n_items, num_split)
    return tuple(np.searchsorted(labels, np.arange(num_split + 1)).tolist())


def evenodd(x: np.ndarray, factors: Sequence[int]) -> np.ndarray:
    """Even-odd consistency, careless 1.2.1+ sign: higher = more careless (Johnson, 2005).

    careless ``R/evenodd.R``: the columns are the items of consecutive factors (scales) of
    lengths ``factors``. For each person and factor, the mean of the even-position items and
    the mean of the odd-position items (positions 1-based within the factor, NaN ignored; a
    factor with no answered item on one side is left out). The person's score is the
    correlation, across factors, of even means with odd means (pairwise complete, at least
    two factors), stepped up with Spearman-Brown ``2r / (1 + r)``, floored at -1, and negated
    (the 1.2.1 change: higher = more careless). Zero variance of the even or odd means gives
    NaN (careless: NA with a warning). Reverse-keyed items must be recoded beforehand.

    careless indexes the factor's items by ``colnames`` and only behaves as documented for a
    data.frame; the reference values in the tests were computed from data.frames.

    Parameters
    ----------
    x : ndarray of shape (n, p)
    factors : sequence of int
        Length of each factor, at least two factors, ``sum(factors) <= p`` (extra trailing
        columns are ignored, as careless does after its warning).

    Returns
    -------
    ndarray of shape (n,)
        In [-1, 1].
    """
    x = _as_matrix(x)
    factors = [int(f) for f in factors]
    if len(factors) < 2:
        raise ValueError("even-odd consistency needs at least two factors (careless stops here too)")
    if min(factors) < 1 or sum(factors) > x.shape[1]:
        raise ValueError("factor lengths must be positive and fit in the columns of x")
    n_items = sum(factors)
    if x.shape[0] == 1 and _ONE_ROW:
        one = _evenodd_one(x[0, :n_items].tolist(), factors)
        if one is not None:
            return np.array([one])
    halves, half_counts = _evenodd_weights(tuple(factors))
    n_factors = len(factors)
    even_means = np.empty((x.shape[0], n_factors))
    odd_means = np.empty((x.shape[0], n_factors))
    step = product_block_rows(n_items, 2 * n_factors)
    for start in range(0, x.shape[0], step):
        block = x[start:start + step, :n_items]
        answered = ~np.isnan(block)
        # Sums of whole answers are exact, so equal half means come out identical (as R's
        # long-double mean gives them) and a person with no spread is NaN, not rounding noise.
        if answered.all():
            sums, counts = block @ halves, half_counts
        else:
            sums, counts = np.where(answered, block, 0.0) @ halves, answered.astype(np.float64) @ halves
        with np.errstate(invalid="ignore", divide="ignore"):
            means = sums / counts
        even_means[start:start + step] = means[:, :n_factors]
        odd_means[start:start + step] = means[:, n_factors:]
    r, _ = row_correlation(even_means, odd_means, min_pairs=2)
    with np.errstate(invalid="ignore", divide="ignore"):
        stepped = 2.0 * r / (1.0 + r)
    stepped[stepped < -1.0] = -1.0  # r <= -1/3 would step below -1
    return -stepped


def _evenodd_one(values: list[float], factors: list[int]) -> float | None:
    """:func:`evenodd` of one row: the half means from exact sums of whole answers (the block
    products' sums), their correlation by :func:`row_correlation_one`; None for answers that are
    not whole numbers."""
    if not exact_sums(values, len(values)):
        return None
    even_means, odd_means = [], []
    start = 0
    for length in factors:
        for means, first in ((odd_means, start), (even_means, start + 1)):  # positions 1, 3, ... and 2, 4, ...
            total, _, count = answered_sums(values[first:start + length:2])
            means.append(total / count if count else math.nan)  # the block code's 0 / 0 is NaN
        start += length
    r = row_correlation_one(np.array([even_means]), np.array([odd_means]), 2)[0]
    if r == -1.0:  # 2r / (1 + r) is -inf there, floored at -1
        return 1.0
    return -max(2.0 * r / (1.0 + r), -1.0) if r == r else math.nan


@functools.lru_cache(maxsize=64)
def _evenodd_weights(factors: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
    """Weights summing each factor's even / odd items in one matrix product, and their column
    sums (the item counts of a fully answered block); read-only, the same for every call."""
    starts = np.cumsum([0] + list(factors[:-1]))
    n_items = sum(factors)
    even = np.zeros((n_items, len(factors)))
    odd = np.zeros((n_items, len(factors)))
    for j, (start, length) in enumerate(zip(starts, factors)):
        odd[start:start + length:2, j] = 1.0      # positions 1, 3, 5, ... (1-based)
        even[start + 1:start + length:2, j] = 1.0  # positions 2, 4, ...
    halves = np.hstack([even, odd])  # one product gives both halves' sums
    counts = halves.sum(axis=0)
    halves.flags.writeable = counts.flags.writeable = False
    return halves, counts


# --------------------------------------------------------------------------------------------
# Indices against reference statistics (batch: from x itself; fitted: CarelessReference)
# --------------------------------------------------------------------------------------------

def _precision(covariance: np.ndarray) -> np.ndarray:
    """Pseudo-inverse of a covariance matrix whose undefined entries are set to zero."""
    if np.isnan(np.diag(covariance)).all():
        return np.full_like(covariance, np.nan)
    # Pairs never answered together carry no covariance information: treat them as
    # uncorrelated rather than refusing (R's solve() would error on the NA).
    return np.linalg.pinv(np.nan_to_num(covariance, nan=0.0), hermitian=True)


def mahad(x: np.ndarray, mean: np.ndarray | None = None, precision: np.ndarray | None = None) -> np.ndarray:
    """Squared Mahalanobis distance (Meade & Craig, 2012), as careless' ``d_sq``.

    careless ``R/mahad.R`` calls ``psych::outlier(x, na.rm = TRUE)``: column means ignoring
    NA, covariance ``cov(x, use = "pairwise")``, ``solve`` for its inverse, then for each row
    ``sum_ij z_i P_ij z_j`` over the answered items only (psych's ``colSums``/``rowSums`` with
    ``na.rm = TRUE``), i.e. missing deviations count as zero. All-NA rows are NA. Here the
    inverse is the pseudo-inverse, which equals ``solve`` for an invertible covariance and
    still works when the covariance is singular (where R stops). High = careless.

    Parameters
    ----------
    x : ndarray of shape (n, p)
    mean : ndarray of shape (p,), optional
        Reference item means; default: the batch's (``colMeans(x, na.rm = TRUE)``).
    precision : ndarray of shape (p, p), optional
        Reference inverse covariance; default: the batch's pairwise covariance, inverted.

    Returns
    -------
    ndarray of shape (n,)
    """
    x = _as_matrix(x)
    if mean is None or precision is None:
        batch_mean, covariance, _ = pairwise_moments(x)
        mean = batch_mean if mean is None else mean
        precision = _precision(covariance) if precision is None else precision
    if x.shape[0] == 1 and _ONE_ROW:
        return np.array([_mahad_one(x, mean, precision)])
    return _mahad_blocks(x, mean, precision)


def _mahad_blocks(x: np.ndarray, mean: np.ndarray, precision: np.ndarray) -> np.ndarray:
    """:func:`mahad` against given reference statistics, in blocks of rows."""
    n, p = x.shape
    d_sq = np.empty(n)
    # Cache-sized blocks of rows, reusing two buffers: the centred block and its product with
    # the precision matrix stay small instead of streaming full-size temporaries through memory.
    step = product_block_rows(p, p)  # small enough that the product never wakes BLAS threads
    centred = np.empty((min(n, step), p))
    projected = np.empty_like(centred)
    for start in range(0, n, step):
        block = x[start:start + step]
        z, zp = centred[:len(block)], projected[:len(block)]
        out = d_sq[start:start + step]
        with np.errstate(invalid="ignore"):
            np.subtract(block, mean, out=z)
            np.matmul(z, precision, out=zp)
            np.einsum("ij,ij->i", zp, z, out=out)
        # A skipped item makes its row NaN above; only those rows pay for the masking.
        redo = np.flatnonzero(np.isnan(out))
        if len(redo):
            z_redo = z[redo]
            missing = np.isnan(z_redo)
            z_redo[missing] = 0.0
            redone = np.einsum("ij,ij->i", z_redo @ precision, z_redo)
            redone[missing.all(axis=1)] = np.nan
            out[redo] = redone
    return d_sq


def _mahad_one(x: np.ndarray, mean: np.ndarray, precision: np.ndarray) -> float:
    """:func:`_mahad_blocks` of a matrix of one row, bit for bit: its numpy calls on the same
    shapes (the product and its sum round), without the loop and its buffers.

    Like the block code's own result for a one-row matrix, this can differ in the last bit from
    the same row's distance inside a block of several rows: BLAS computes a vector-matrix product
    (gemv) in another order than the rows of a matrix product (gemm), and gemm's order can depend
    on the row's place in the block.
    """
    with np.errstate(invalid="ignore"):
        z = x - mean
        d_sq = einsum_one("ij,ij->i", z @ precision, z)[0]
        if d_sq != d_sq:  # a skipped item (or an unusable reference): its deviation counts as zero
            missing = np.isnan(z)
            if missing.all():
                return math.nan
            z[missing] = 0.0
            d_sq = einsum_one("ij,ij->i", z @ precision, z)[0]
    return float(d_sq)


def psychometric_pairs(x: np.ndarray, critval: float = CRITICAL_VALUE, antonyms: bool = False,
                       correlation: np.ndarray | None = None) -> np.ndarray:
    """Item pairs whose sample correlation is beyond the critical value (Meade & Craig, 2012).

    careless ``get_item_pairs`` in ``R/psychsyn.R``: ``cor(x, use = "pairwise.complete.obs")``,
    lower triangle, pairs with ``r > |critval|`` (antonyms: ``r < -|critval|``); strict
    inequalities; undefined correlations never qualify. Pairs come in R's order (column-major
    over the lower triangle).

    Parameters
    ----------
    x : ndarray of shape (n, p)
    critval : float
    antonyms : bool
    correlation : ndarray of shape (p, p), optional
        Precomputed item correlations (skips computing them from ``x``).

    Returns
    -------
    ndarray of shape (k, 2), int64
        ``[i, j]`` with ``i > j``.
    """
    if correlation is None:
        _, _, correlation = pairwise_moments(_as_matrix(x))
    critval = abs(float(critval))
    p = correlation.shape[0]
    rows, cols = np.tril_indices(p, k=-1)
    r = correlation[rows, cols]
    with np.errstate(invalid="ignore"):
        selected = (r < -critval) if antonyms else (r > critval)
    order = np.lexsort((rows[selected], cols[selected]))  # column-major, as as.table() flattens
    return np.column_stack([rows[selected][order], cols[selected][order]]).astype(np.int64)


def psychsyn(x: np.ndarray, pairs: np.ndarray | None = None, critval: float = CRITICAL_VALUE) -> np.ndarray:
    """Psychometric synonyms score: within-person correlation over synonym item pairs.

    careless ``R/psychsyn.R`` (``syn_for_one``): for each person, the correlation between the
    first and second items of the selected pairs, over the pairs the person answered both
    items of; more than two such pairs are needed, otherwise NaN. Zero variance on either side
    gives NaN. careless' default ``resample_na = TRUE`` then retries such a person up to ten
    times with the two items of each pair randomly swapped; that is random, so it is not
    reproduced (this equals ``resample_na = FALSE``). When no pair passes the critical value
    careless stops; here every score is NaN. Low = careless (Meade & Craig, 2012).

    Parameters
    ----------
    x : ndarray of shape (n, p)
    pairs : ndarray of shape (k, 2), optional
        Reference pairs (:func:`psychometric_pairs`); default: the batch's synonyms.
    critval : float
        Used only when ``pairs`` is None.

    Returns
    -------
    ndarray of shape (n,)
    """
    x = _as_matrix(x)
    if pairs is None:
        pairs = psychometric_pairs(x, critval, antonyms=False)
    return _pair_correlation(x, pairs)


def psychant(x: np.ndarray, pairs: np.ndarray | None = None, critval: float = -CRITICAL_VALUE) -> np.ndarray:
    """Psychometric antonyms score (careless ``R/psychant.R`` = ``psychsyn(anto = TRUE)``).

    Same as :func:`psychsyn` over the item pairs correlated below ``-|critval|``. Attentive
    people score near -1; high = careless.

    Parameters
    ----------
    x : ndarray of shape (n, p)
    pairs : ndarray of shape (k, 2), optional
        Reference antonym pairs; default: the batch's.
    critval : float
        Used only when ``pairs`` is None.

    Returns
    -------
    ndarray of shape (n,)
    """
    x = _as_matrix(x)
    if pairs is None:
        pairs = psychometric_pairs(x, critval, antonyms=True)
    return _pair_correlation(x, pairs)


def _pair_correlation(x: np.ndarray, pairs: np.ndarray) -> np.ndarray:
    pairs = np.asarray(pairs, dtype=np.int64).reshape(-1, 2)
    if len(pairs) == 0:
        return np.full(x.shape[0], np.nan)
    r, _ = pair_correlation(x, pairs, min_pairs=3)
    return r


def person_total(x: np.ndarray, item_means: np.ndarray | None = None) -> np.ndarray:
    """Person-total correlation: a person's answers vs the sample's item means (Curran, 2016).

    careless 1.2.x has no person-total index, so this is the standard definition: Pearson
    correlation, over the items the person answered (and the reference has a mean for), of
    the person's answers with the item means (not leave-one-out, so that one fitted reference
    serves every new submission). At least two items and variation on both sides, else NaN.
    Low = careless.

    Parameters
    ----------
    x : ndarray of shape (n, p)
    item_means : ndarray of shape (p,), optional
        Reference item means; default: the batch's, ignoring NaN.

    Returns
    -------
    ndarray of shape (n,)
    """
    x = _as_matrix(x)
    if item_means is None:
        item_means = _column_means(x)
    return profile_correlation(x, np.asarray(item_means, dtype=np.float64), min_items=2)


# --------------------------------------------------------------------------------------------
# Instructed items and honeypot
# --------------------------------------------------------------------------------------------

def attention_check_failures(x: np.ndarray, checks: Mapping[int, int]) -> np.ndarray:
    """Number of attention-check items answered other than instructed.

    A skipped check counts as a failure: the instruction ("select 'agree'") was not followed,
    and skipping is what a script filling only some fields does. No checks in the survey
    gives NaN (unknown), not 0.

    Parameters
    ----------
    x : ndarray of shape (n, p)
    checks : mapping of int to int
        Item index -> expected answer (``SurveySpec.attention_checks``).

    Returns
    -------
    ndarray of shape (n,)
    """
    x = _as_matrix(x)
    if not checks:
        return np.full(x.shape[0], np.nan)
    if x.shape[0] == 1 and _ONE_ROW:  # one row: the checks read one by one (NaN != expected: a failure)
        values = x[0].tolist()
        return np.array([float(sum(not values[item] == float(expected) for item, expected in checks.items()))])
    items = np.fromiter(checks.keys(), dtype=np.int64, count=len(checks))
    expected = np.fromiter(checks.values(), dtype=np.float64, count=len(checks))
    answers = x[:, items]
    return (answers != expected).sum(axis=1).astype(np.float64)  # NaN != expected: failure


def honeypot_filled(honeypot: np.ndarray) -> np.ndarray:
    """1.0 where the hidden honeypot field holds a non-blank string, else 0.0.

    Parameters
    ----------
    honeypot : ndarray of shape (n,), object
        ``answers.honeypot``: str or None.

    Returns
    -------
    ndarray of shape (n,), float64
    """
    honeypot = np.asarray(honeypot, dtype=object)
    if len(honeypot) == 1 and _ONE_ROW:
        return np.array([_honeypot_filled_one(honeypot[0])])
    out = np.zeros(len(honeypot))
    present = np.flatnonzero(np.not_equal(honeypot, None))
    if len(present):
        # Whitespace-only is what form autofill of an empty field leaves; not a fill.
        text = np.char.strip(honeypot[present].astype(str))
        out[present] = (np.char.str_len(text) > 0).astype(np.float64)
    return out



def _honeypot_filled_one(value) -> float:
    """:func:`honeypot_filled` of one value, on the Python string: numpy's strip takes trailing
    NUL characters off with the whitespace (its fixed-width strings end in NUL padding), leading
    ones not."""
    if value is None:
        return 0.0
    text = str(value)
    while True:  # whitespace and NUL, in any mix, off the end
        stripped = text.rstrip().rstrip("\x00")
        if stripped == text:
            break
        text = stripped
    return float(len(text.lstrip()) > 0)

# --------------------------------------------------------------------------------------------
# Fitted mode
# --------------------------------------------------------------------------------------------

class CarelessReference:
    """Reference statistics learned on calibration data, applied to new submissions.

    ``fit`` learns what the batch indices take from the batch (item means, pairwise
    covariance and its pseudo-inverse, synonym and antonym pairs) plus the survey layout
    (scales for even-odd, reverse-keyed items, attention checks); ``transform`` scores any
    number of new rows against them, each row independently. Fitting on a batch and
    transforming the same batch is careless' batch mode.

    Parameters
    ----------
    critval : float, default 0.60
        Critical correlation for psychometric synonyms (antonyms: ``-critval``).
    num_split : int, default 3
        Chunks for split IRV (careless' ``num.split``); 0 leaves split IRV out.

    Attributes
    ----------
    n_items_ : int
    mean_ : ndarray of shape (n_items,)
    covariance_ : ndarray of shape (n_items, n_items)
    precision_ : ndarray of shape (n_items, n_items)
        Pseudo-inverse of ``covariance_``.
    synonym_pairs_, antonym_pairs_ : ndarray of shape (k, 2), int64
    scale_items_ : ndarray of shape (m,), int64
        Items in scale order, for even-odd (empty without a spec of two or more scales).
    factors_ : tuple of int
        Length of each scale in ``scale_items_``.
    reverse_keyed_ : ndarray of shape (r,), int64
    likert_points_ : int or None
    attention_checks_ : dict of int to int
    feature_names_ : list of str
        Keys of :meth:`transform`'s result, in order.

    Notes
    -----
    Even-odd is computed on reverse-keyed items recoded as ``likert_points + 1 - answer``
    (Johnson, 2005: both halves of a scale must point the same way). Every other index reads
    the answers as given: straight-lining shows in raw answers, Mahalanobis distance does not
    change under recoding, and recoding would turn synonym pairs into antonym pairs.
    """

    def __init__(self, critval: float = CRITICAL_VALUE, num_split: int = 3) -> None:
        self.critval = critval
        self.num_split = num_split

    def fit(self, matrix: np.ndarray, spec: SurveySpec | None = None) -> "CarelessReference":
        """Learn the reference statistics.

        Parameters
        ----------
        matrix : ndarray of shape (n, n_items)
            Calibration answers, NaN = skipped.
        spec : SurveySpec, optional
            Scales, reverse-keyed items, Likert points and attention checks.

        Returns
        -------
        self
        """
        matrix = _as_matrix(matrix)
        if not 0 < self.critval < 1:
            raise ValueError("critval must be between 0 and 1")
        if self.num_split == 1 or self.num_split < 0:
            raise ValueError("num_split must be 0 (no split IRV) or at least 2")
        n_items = matrix.shape[1]
        if spec is not None and spec.n_likert and spec.n_likert != n_items:
            raise ValueError(f"the spec has {spec.n_likert} Likert items but the matrix {n_items} columns")
        self.n_items_ = n_items
        self.mean_, self.covariance_, correlation = pairwise_moments(matrix)
        self.precision_ = _precision(self.covariance_)
        self.synonym_pairs_ = psychometric_pairs(matrix, self.critval, False, correlation=correlation)
        self.antonym_pairs_ = psychometric_pairs(matrix, self.critval, True, correlation=correlation)
        scales = [s for s in (spec.scales if spec else ()) if len(s) > 0]
        if len(scales) >= 2:
            self.scale_items_ = np.array([i for s in scales for i in s], dtype=np.int64)
            self.factors_ = tuple(len(s) for s in scales)
        else:
            self.scale_items_ = np.zeros(0, dtype=np.int64)
            self.factors_ = ()
        self.reverse_keyed_ = np.array(spec.reverse_keyed if spec else (), dtype=np.int64)
        self.likert_points_ = spec.likert_points if spec else None
        self.attention_checks_ = dict(spec.attention_checks) if spec else {}
        split_names = [f"irv_split_{k + 1}" for k in range(self.num_split if n_items >= self.num_split else 0)]
        self.feature_names_ = ["longstring_max", "longstring_avg", "irv", *split_names, "mahad", "evenodd",
                               "psychsyn", "psychant", "person_total", "attention_check_failures"]
        return self

    def transform(self, matrix: np.ndarray) -> dict[str, np.ndarray]:
        """Score rows against the fitted reference.

        Parameters
        ----------
        matrix : ndarray of shape (n, n_items)

        Returns
        -------
        dict of str to ndarray of shape (n,)
            One float64 column per name in ``feature_names_``.
        """
        if not hasattr(self, "n_items_"):
            raise RuntimeError("CarelessReference is not fitted; call fit() first")
        matrix = _as_matrix(matrix)
        if matrix.shape[1] != self.n_items_:
            raise ValueError(f"fitted on {self.n_items_} items, got {matrix.shape[1]}")
        out, splits = self._indices(matrix)
        if splits is not None:
            for k, column in enumerate(splits.T):
                out[f"irv_split_{k + 1}"] = column
        return {name: out[name] for name in self.feature_names_}

    def _indices(self, matrix: np.ndarray) -> tuple[dict[str, np.ndarray], np.ndarray | None]:
        """:meth:`transform`'s columns but the split IRVs, and the split IRVs as one matrix of
        shape (n, num_split) (None without them), for a validated ``matrix``."""
        n = matrix.shape[0]
        out: dict[str, np.ndarray] = {}
        out["longstring_max"], out["longstring_avg"] = longstring(matrix)
        out["irv"] = irv(matrix)
        splits = (split_irv(matrix, self.num_split)
                  if any(name.startswith("irv_split_") for name in self.feature_names_) else None)
        out["mahad"] = mahad(matrix, self.mean_, self.precision_)
        out["evenodd"] = self._evenodd(matrix) if self.factors_ else np.full(n, np.nan)
        out["psychsyn"] = _pair_correlation(matrix, self.synonym_pairs_)
        out["psychant"] = _pair_correlation(matrix, self.antonym_pairs_)
        out["person_total"] = person_total(matrix, self.mean_)
        out["attention_check_failures"] = attention_check_failures(matrix, self.attention_checks_)
        return out, splits

    def _evenodd(self, matrix: np.ndarray) -> np.ndarray:
        if matrix.shape[0] == 1 and _ONE_ROW:  # the scales' answers recoded on floats (exact: whole answers)
            values = matrix[0].tolist()
            reverse = set(self.reverse_keyed_.tolist()) if self.likert_points_ is not None else set()
            flip = (self.likert_points_ or 0) + 1
            keyed = [flip - values[i] if i in reverse else values[i] for i in self.scale_items_.tolist()]
            one = _evenodd_one(keyed, self.factors_)  # the factors were checked in fit
            if one is not None:
                return np.array([one])
        keyed = matrix[:, self.scale_items_]  # a copy of the scales' columns only, recoded in place
        if len(self.reverse_keyed_) and self.likert_points_ is not None:
            reverse = _positions_of(tuple(self.scale_items_.tolist()), tuple(self.reverse_keyed_.tolist()))
            keyed[:, reverse] = self.likert_points_ + 1 - keyed[:, reverse]
        return evenodd(keyed, self.factors_)


@functools.lru_cache(maxsize=64)
def _positions_of(items: tuple[int, ...], wanted: tuple[int, ...]) -> np.ndarray:
    """Positions in ``items`` holding one of ``wanted`` (the same for every call on a survey)."""
    wanted_set = set(wanted)
    return np.array([i for i, item in enumerate(items) if item in wanted_set], dtype=np.int64)


def careless_indices(matrix: np.ndarray, spec: SurveySpec | None = None, critval: float = CRITICAL_VALUE,
                     num_split: int = 3) -> dict[str, np.ndarray]:
    """Batch mode: every index with the batch itself as the reference.

    Parameters
    ----------
    matrix : ndarray of shape (n, p)
    spec : SurveySpec, optional
    critval : float
    num_split : int

    Returns
    -------
    dict of str to ndarray of shape (n,)
        As :meth:`CarelessReference.transform`.
    """
    return CarelessReference(critval=critval, num_split=num_split).fit(matrix, spec).transform(matrix)

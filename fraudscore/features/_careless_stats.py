"""Vectorized statistics behind the careless-responding indices.

Every kernel works on a whole ``(n, p)`` float64 matrix at once (NaN = missing) and reproduces
the R function careless calls: ``stats::cor``/``stats::cov`` with ``use = "pairwise.complete.obs"``,
``stats::sd`` with ``na.rm = TRUE``, ``base::cut`` on item positions. No kernel warns: each runs
under ``np.errstate`` and turns undefined values into NaN explicitly.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "row_correlation",
    "row_sd",
    "pairwise_moments",
    "r_cut_labels",
]


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
    valid = ~(np.isnan(a) | np.isnan(b))
    complete = valid.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        a0 = np.where(valid, a, 0.0)
        b0 = np.where(valid, b, 0.0)
        mean_a = a0.sum(axis=1) / complete
        mean_b = b0.sum(axis=1) / complete
        # Two passes (centre, then sum products), as R's cov.c does, to keep 1e-9 agreement.
        da = np.where(valid, a - mean_a[:, None], 0.0)
        db = np.where(valid, b - mean_b[:, None], 0.0)
        r = (da * db).sum(axis=1) / np.sqrt((da * da).sum(axis=1) * (db * db).sum(axis=1))
    # A constant side must give NaN even when rounding leaves a tiny non-zero spread: test
    # constancy exactly with min == max instead of trusting the sum of squares.
    constant = (_row_min(a, valid) == _row_max(a, valid)) | (_row_min(b, valid) == _row_max(b, valid))
    r[(complete < min_pairs) | constant] = np.nan
    np.clip(r, -1.0, 1.0, out=r)
    return r, complete


def _row_min(x: np.ndarray, valid: np.ndarray) -> np.ndarray:
    return np.min(x, axis=1, where=valid, initial=np.inf)


def _row_max(x: np.ndarray, valid: np.ndarray) -> np.ndarray:
    return np.max(x, axis=1, where=valid, initial=-np.inf)


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
        return np.full(n, np.nan)
    missing = np.isnan(x)
    if not missing.any():
        if k < 2:
            return np.full(n, np.nan)
        return x.std(axis=1, ddof=1)
    count = k - missing.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(missing, 0.0, x).sum(axis=1) / count
        dev = np.where(missing, 0.0, x - mean[:, None])
        out = np.sqrt((dev * dev).sum(axis=1) / (count - 1))
    out[count < 2] = np.nan
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
    observed = ~np.isnan(x)
    counts = observed.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(observed, x, 0.0).sum(axis=0) / counts
        # Centring by the overall mean first changes nothing algebraically but keeps the
        # one-pass pairwise formulas below free of cancellation.
        z = np.where(observed, x - mean, 0.0)
        if observed.all():
            n = x.shape[0]
            covariance = (z.T @ z) / (n - 1)
            sd = np.sqrt(np.diag(covariance))
            correlation = covariance / np.outer(sd, sd)
            spread = np.broadcast_to(x.max(axis=0) > x.min(axis=0), covariance.shape)
            correlation[~(spread & spread.T)] = np.nan
            if n < 2:
                covariance[:] = np.nan
                correlation[:] = np.nan
        else:
            m = observed.astype(np.float64)
            n_ij = m.T @ m
            s_i = z.T @ m  # [i, j]: sum of item i over rows where j is answered too
            s_ij = z.T @ z
            ss_i = (z * z).T @ m
            covariance = (s_ij - s_i * s_i.T / n_ij) / (n_ij - 1)
            var_i = (ss_i - s_i * s_i / n_ij) / (n_ij - 1)
            correlation = covariance / np.sqrt(var_i * var_i.T)
            covariance[n_ij < 2] = np.nan
            # An item constant over the shared rows has no correlation (R: NA); its pairwise
            # variance is an exact zero up to rounding, so compare with the item's scale.
            scale = np.maximum(1.0, np.nanmax(np.abs(z), axis=0, initial=0.0) ** 2)
            flat = var_i <= 1e-13 * scale[:, None]
            correlation[(n_ij < 2) | flat | flat.T] = np.nan
    np.clip(correlation, -1.0, 1.0, out=correlation)
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

"""Run a Python function once per distinct value (or tuple of values), broadcast to rows.

Text-valued checks (a time zone against a country, a platform string against an OS) cannot be
vectorized with numpy, but their inputs repeat heavily across rows; this is the one place that
turns "per row" into "per distinct value".

Grouping goes through :func:`~fraudscore.enrich._factorize.factorize_objects` (one C hash table
pass per column, missing values coded -1), never through a pandas DataFrame: building frames and
group-bys cost ~1 ms per call whatever the number of rows, which made a one-row batch spend most of
its feature time here.
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Callable

import numpy as np

from fraudscore.enrich._factorize import factorize_objects

try:  # the test pandas' factorize applies to each value: None, NaN of any float type, NA, NaT
    from pandas._libs.missing import checknull as _missing
except ImportError:  # pragma: no cover - a future pandas
    from pandas import isna as _missing

__all__ = ["per_unique", "per_value", "isin", "is_member", "factorization_cache"]

# Factorizations made while a cache is open, by column object: the network and device families
# pass the same columns (time zone, IP country, survey country, locale region...) to per_unique
# and isin ~35 times per batch, and each would hash the column again.
_CACHE: contextvars.ContextVar[dict | None] = contextvars.ContextVar("fraudscore_factorizations", default=None)


@contextlib.contextmanager
def factorization_cache():
    """Within the block, each column object is factorized once (by :func:`per_unique` and :func:`isin`).

    For one feature extraction: the columns must not be modified while the block runs. The cache
    holds each column, so no other array can take its ``id`` while it lives; it is dropped on exit.
    Per context (thread or task), so concurrent extractions do not share it.
    """
    token = _CACHE.set({})
    try:
        yield
    finally:
        _CACHE.reset(token)


def _factorize(column: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    cache = _CACHE.get()
    if cache is None:
        return factorize_objects(column)
    hit = cache.get(id(column))
    if hit is None or hit[0] is not column:
        hit = cache[id(column)] = (column, *factorize_objects(column))
    return hit[1], hit[2]


_KEY_LIMIT = 1 << 62  # mixed-radix keys are compacted before they could overflow int64


def _groups(key: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(group of each element, index of each group's first element) of an int64 key array."""
    if len(key) == 1:  # a batch of one: skip the sort
        return np.zeros(1, dtype=np.int64), np.zeros(1, dtype=np.int64)
    _, first, group = np.unique(key, return_index=True, return_inverse=True)  # return_index: stable
    return group.reshape(-1), first


def per_unique(fn: Callable[..., float], *columns: np.ndarray, mask: np.ndarray | None = None) -> np.ndarray:
    """``fn(*values)`` for each distinct combination of the columns' values, as float64 per row.

    Rows where ``mask`` is false, or where any column is missing (None/NaN, as ``pandas.isna``),
    get NaN and are not passed to ``fn``. Each distinct combination is passed once, as the values
    of its first row.

    Parameters
    ----------
    fn : callable
        Takes one value per column, returns a float.
    *columns : ndarray of shape (n,)
        Hashable values (object arrays of str, tuples, ...).
    mask : ndarray of bool of shape (n,), optional

    Returns
    -------
    ndarray of shape (n,), float64
    """
    n = len(columns[0])
    if n == 1:  # a batch of one (score_one): no grouping to do, and factorizing costs ~20x the call
        return np.array([per_value(fn, *(c[0] for c in columns), mask=mask is None or bool(mask[0]))],
                        dtype=np.float64)
    cache = _CACHE.get()
    key = ("groups", *map(id, columns), id(mask))
    hit = cache.get(key) if cache is not None else None
    if hit is not None and all(a is b for a, b in zip(hit[0], (*columns, mask))):
        rows, group, first = hit[1]
    else:
        rows, group, first = _row_groups(columns, mask, n)
        if cache is not None:
            cache[key] = ((*columns, mask), (rows, group, first))
    out = np.full(n, np.nan)
    if not len(rows):
        return out
    values = np.array([fn(*(c[rows[i]] for c in columns)) for i in first], dtype=np.float64)
    out[rows] = values[group]
    return out


def _row_groups(columns, mask, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(rows to evaluate, group of each such row, index into rows of each group's first row)."""
    ok = np.ones(n, dtype=bool) if mask is None else np.array(mask, dtype=bool)
    codes = []
    for c in columns:
        code, uniques = _factorize(c)
        ok &= code >= 0
        codes.append((code, len(uniques)))
    rows = np.flatnonzero(ok)
    if not len(rows):
        return rows, rows, rows
    # One int64 key per row: the columns' codes in mixed radix.
    key, radix = codes[0][0][rows], codes[0][1]
    for code, size in codes[1:]:
        if radix * size >= _KEY_LIMIT:
            key = _groups(key)[0]
            radix = int(key.max()) + 1
        key = key * size + code[rows]
        radix *= size
    group, first = _groups(key)
    return rows, group, first


def per_value(fn: Callable[..., float], *values, mask: bool = True) -> float:
    """:func:`per_unique` of one row's values: ``fn(*values)``, NaN where ``mask`` is false or a
    value is missing."""
    for v in values:
        hash(v)  # unhashable values fail here as factorize would fail on them
    if not mask or any(_missing(v) for v in values):
        return np.nan
    return fn(*values)


def is_member(value, options) -> bool:
    """:func:`isin` of one value (``options`` a set or dict): missing values are never members."""
    return not _missing(value) and value in options


def isin(values: np.ndarray, options) -> np.ndarray:
    """Elementwise membership of an object array in ``options`` (hash based, unlike np.isin on objects).

    Missing values (None/NaN) are never members; ``options`` holds non-missing values.
    """
    options = set(options)
    if len(values) == 1:  # a batch of one: skip the factorize
        return np.array([is_member(values[0], options)], dtype=bool)
    codes, uniques = _factorize(values)
    # One Python membership test per distinct value; the extra last entry answers code -1.
    member = np.array([u in options for u in uniques] + [False], dtype=bool)
    return member[codes]

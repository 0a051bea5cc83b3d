"""Factorize object columns of text fast.

``pandas.factorize`` sends an object array that holds only ``str`` to a hash table that re-hashes
the UTF-8 bytes of every element (pandas 3.x), about 4x slower than Python's own cached string hash
on user agents. pandas' ``PyObjectHashTable`` uses the latter; it is a private class, so when it is
missing (a future pandas) this falls back to ``pandas.factorize``. Results are identical either way
(property-tested against ``pandas.factorize``).

Columns whose elements are few *objects* repeated (text read from Arrow through its dictionary,
values picked from a list) are first factorized by object address, an int64 hash table ~10x
cheaper per element than hashing objects; only the distinct objects are then hashed by value.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

try:  # private, but present and unchanged in pandas 1.x-3.x
    from pandas._libs.hashtable import PyObjectHashTable as _PyObjectHashTable
except ImportError:  # pragma: no cover - depends on the installed pandas
    _PyObjectHashTable = None

__all__ = ["factorize_objects", "estimated_repeats"]

#: Elements looked at to guess whether objects repeat, and the share of distinct ones that still pays
#: (a column of 20,000 distinct objects in 1M rows shows ~82 % distinct in the sample; all-distinct 100 %).
_SAMPLE = 8192
_SHARED_OBJECTS = 0.9


def factorize_objects(values) -> tuple[np.ndarray, np.ndarray]:
    """``pandas.factorize`` of an object array, with missing values (None, NaN) coded -1.

    Parameters
    ----------
    values : array-like of shape (n,)

    Returns
    -------
    codes : ndarray of int64 of shape (n,)
    uniques : ndarray of object of shape (k,)
        In order of first appearance.
    """
    arr = np.ascontiguousarray(np.asarray(values, dtype=object).ravel())
    if len(arr) > 4 * _SAMPLE:
        # Object addresses, read while ``arr`` holds the objects alive.
        address = np.frombuffer(arr, dtype=np.intp)  # (numpy refuses .view on object arrays)
        sample = address[:: len(arr) // _SAMPLE][:_SAMPLE]  # spread out: sorted input has runs
        if len(np.unique(sample)) <= _SHARED_OBJECTS * len(sample):
            # First appearances of each object are in order, so value codes of the distinct objects
            # (in their order) give exactly the codes and uniques of factorizing every element.
            object_codes, first = pd.factorize(address)
            representative = np.empty(len(first), dtype=np.int64)
            representative[object_codes] = np.arange(len(arr), dtype=np.int64)  # any element of each object
            codes, uniques = _factorize_values(arr[representative])
            return codes[object_codes], uniques
    return _factorize_values(arr)


def _factorize_values(arr: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    if _PyObjectHashTable is not None:
        try:
            uniques, codes = _PyObjectHashTable(max(len(arr) // 8, 64)).factorize(arr, na_sentinel=-1)
            return np.asarray(codes, dtype=np.int64), np.asarray(uniques, dtype=object)
        except TypeError:  # pragma: no cover - a changed private signature
            pass
    codes, uniques = pd.factorize(arr, use_na_sentinel=True)
    return codes.astype(np.int64, copy=False), np.asarray(uniques, dtype=object)


def estimated_repeats(values) -> float:
    """Estimated mean number of rows per distinct value (1.0: all distinct), from a sample.

    For deciding whether factorizing first pays (a lookup per distinct value) or only costs a hash
    table (all values distinct). Among ``s`` rows spread over ``n``, values that each fill ``k``
    rows give about ``s**2 (k - 1) / (2 n)`` repeats, whatever the number of distinct values.
    """
    arr = np.asarray(values, dtype=object).ravel()
    n = len(arr)
    if n == 0:
        return 1.0
    s = min(_SAMPLE, n)
    sample = arr if s == n else arr[np.linspace(0, n - 1, s).astype(np.int64)]
    distinct = max(len(_factorize_values(np.ascontiguousarray(sample))[1]), 1)
    if s == n:
        return n / distinct
    return 1.0 + 2.0 * n * (s - distinct) / (s * s)

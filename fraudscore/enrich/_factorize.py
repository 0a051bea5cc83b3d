"""Factorize object columns of text fast.

``pandas.factorize`` sends an object array that holds only ``str`` to a hash table that re-hashes
the UTF-8 bytes of every element; with one non-string element it uses Python's own (cached) string
hash instead, which is 4-20x faster on user agents and similar long texts (measured in
benchmarks/bench_enrich.py's data, pandas 3.x). Putting a ``None`` first selects that path and also
ends pandas' all-strings scan at the first element. Results are identical either way (tested).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["factorize_objects"]


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
    arr = np.asarray(values, dtype=object).ravel()
    padded = np.empty(len(arr) + 1, dtype=object)
    padded[0] = None
    padded[1:] = arr
    codes, uniques = pd.factorize(padded, use_na_sentinel=True)
    return codes[1:], np.asarray(uniques, dtype=object)

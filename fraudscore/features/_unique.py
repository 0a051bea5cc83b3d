"""Run a Python function once per distinct value (or tuple of values), broadcast to rows.

Text-valued checks (a time zone against a country, a platform string against an OS) cannot be
vectorized with numpy, but their inputs repeat heavily across rows; this is the one place that
turns "per row" into "per distinct value".
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

__all__ = ["per_unique", "isin"]


def per_unique(fn: Callable[..., float], *columns: np.ndarray, mask: np.ndarray | None = None) -> np.ndarray:
    """``fn(*values)`` for each distinct combination of the columns' values, as float64 per row.

    Rows where ``mask`` is false, or where any column is missing (None/NaN), get NaN and are not
    passed to ``fn``.
    """
    n = len(columns[0])
    ok = np.ones(n, dtype=bool) if mask is None else np.asarray(mask, dtype=bool).copy()
    for c in columns:
        ok &= pd.notna(c)
    out = np.full(n, np.nan)
    if not ok.any():
        return out
    frame = pd.DataFrame({i: pd.Series(c[ok], dtype=object) for i, c in enumerate(columns)})
    codes = frame.groupby(list(frame.columns), sort=False).ngroup().to_numpy()
    first = np.unique(codes, return_index=True)[1]
    values = np.array([fn(*row) for row in frame.iloc[first].itertuples(index=False, name=None)], dtype=np.float64)
    out[ok] = values[codes]
    return out


def isin(values: np.ndarray, options) -> np.ndarray:
    """Elementwise membership of an object array in ``options`` (hash based, unlike np.isin on objects)."""
    return pd.Series(values, dtype=object).isin(set(options)).to_numpy(dtype=bool)

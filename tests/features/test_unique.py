"""per_unique / isin equal their pandas reference (group-by over a DataFrame), one call per distinct value."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from fraudscore.features._unique import isin, per_unique


def reference_per_unique(fn, *columns, mask=None):
    """The original implementation: pandas group-by over the rows with every value present."""
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


_VALUES = st.sampled_from(["a", "b", "Europe/Berlin", "", None, float("nan"), ("en", "de"), ("en",)])


def _column(values):
    out = np.empty(len(values), dtype=object)
    out[:] = values
    return out


def _fn(*values):
    return float(hash(repr(values)) % 1000)


@settings(max_examples=200, deadline=None)
@given(st.integers(1, 3).flatmap(lambda k: st.tuples(
    st.just(k), st.lists(st.tuples(*[_VALUES] * k), min_size=1, max_size=40))),
    st.data())
def test_per_unique_equals_the_pandas_group_by(case, data):
    k, rows = case
    columns = [_column([r[j] for r in rows]) for j in range(k)]
    mask = data.draw(st.none() | st.lists(st.booleans(), min_size=len(rows), max_size=len(rows)).map(np.array))
    np.testing.assert_array_equal(per_unique(_fn, *columns, mask=mask),
                                  reference_per_unique(_fn, *columns, mask=mask))


def test_fn_runs_once_per_distinct_combination_and_never_on_missing_or_masked_rows():
    calls = []
    a = _column(["x", "y", "x", None, "x", "z"])
    b = _column(["1", "1", "1", "1", "2", "1"])
    out = per_unique(lambda u, v: calls.append((u, v)) or 1.0, a, b, mask=np.array([1, 1, 1, 1, 1, 0], bool))
    assert sorted(calls) == [("x", "1"), ("x", "2"), ("y", "1")]
    np.testing.assert_array_equal(out, [1, 1, 1, np.nan, 1, np.nan])


@settings(max_examples=100, deadline=None)
@given(st.lists(_VALUES, min_size=0, max_size=30), st.lists(st.sampled_from(["a", "", "Europe/Berlin", "c"])))
def test_isin_equals_pandas_isin(values, options):
    column = _column(values)
    want = pd.Series(column, dtype=object).isin(set(options)).to_numpy(dtype=bool)
    np.testing.assert_array_equal(isin(column, options), want)

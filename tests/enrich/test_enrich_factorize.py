"""fraudscore.enrich._factorize: same answers as pandas.factorize, missing values coded -1."""

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from fraudscore.enrich._factorize import factorize_objects


def test_small_case_by_hand():
    codes, uniques = factorize_objects(["b", None, "a", "b", "", float("nan")])
    assert codes.tolist() == [0, -1, 1, 0, 2, -1]
    assert uniques.tolist() == ["b", "a", ""]


def test_empty_input():
    codes, uniques = factorize_objects([])
    assert codes.shape == (0,) and uniques.shape == (0,)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(st.none(), st.text(max_size=5), st.integers(-3, 3)), max_size=40))
def test_agrees_with_pandas_factorize(values):
    arr = np.array(values + [None], dtype=object)[: len(values)]
    codes, uniques = factorize_objects(arr)
    want_codes, want_uniques = pd.factorize(arr, use_na_sentinel=True)
    assert codes.tolist() == want_codes.tolist()
    assert list(uniques) == list(want_uniques)

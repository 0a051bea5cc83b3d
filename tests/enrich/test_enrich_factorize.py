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


@settings(max_examples=50, deadline=None)
@given(st.lists(st.one_of(st.none(), st.just(float("nan")), st.text(max_size=3)), min_size=1, max_size=30),
       st.integers(0, 2**32 - 1))
def test_repeated_objects_take_the_address_path_and_agree_with_pandas(pool, seed):
    # Large enough for the address path; equal texts as distinct objects too ("a" + "" is a new str).
    pool = pool + [v + "" if isinstance(v, str) else v for v in pool]
    rng = np.random.default_rng(seed)
    arr = np.array(pool + [None], dtype=object)[:-1][rng.integers(0, len(pool), 40_000)]
    codes, uniques = factorize_objects(arr)
    want_codes, want_uniques = pd.factorize(arr, use_na_sentinel=True)
    assert codes.tolist() == want_codes.tolist()
    assert list(uniques) == list(want_uniques)

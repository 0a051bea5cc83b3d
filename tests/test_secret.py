"""The installation secret keys every hash; the public development key is loudly refused as silent."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fraudscore.secret import DevelopmentSecretWarning, derive_key, get_secret, keyed_hash


def test_the_development_key_warns(monkeypatch):
    monkeypatch.delenv("FRAUDSCORE_SECRET", raising=False)
    with pytest.warns(DevelopmentSecretWarning, match="FRAUDSCORE_SECRET"):
        get_secret()


def test_the_environment_secret_is_used_without_warning(monkeypatch, recwarn):
    monkeypatch.setenv("FRAUDSCORE_SECRET", "a-long-production-secret-value")
    assert get_secret() == b"a-long-production-secret-value"
    assert not [w for w in recwarn if issubclass(w.category, DevelopmentSecretWarning)]


def test_short_secrets_are_refused():
    with pytest.raises(ValueError):
        get_secret("short")


def test_hashes_depend_on_the_secret_and_the_purpose_and_are_vectorized():
    values = np.array(["1.2.3.4", "1.2.3.4", "5.6.7.8"], dtype=object)
    a = keyed_hash(values, derive_key(b"secret-number-one-xxxx", "ip"))
    assert a.dtype == np.uint64 and a[0] == a[1] != a[2]
    assert not np.array_equal(a, keyed_hash(values, derive_key(b"secret-number-two-xxxx", "ip")))
    assert not np.array_equal(a, keyed_hash(values, derive_key(b"secret-number-one-xxxx", "device")))
    assert len(derive_key(b"secret-number-one-xxxx", "ip").encode()) == 16


def test_small_and_large_arrays_hash_alike_whichever_way_they_are_computed():
    import numpy as np

    from fraudscore.secret import derive_key, keyed_hash

    key = derive_key(b"k" * 32, "test")
    values = np.array([f"v{i % 7}" for i in range(198)] + [None, float("nan"), 12], dtype=object)
    whole = keyed_hash(values, key)  # large: factorized first
    one_by_one = [int(keyed_hash(values[i:i + 1], key)[0]) for i in range(len(values))]
    assert one_by_one == [int(h) for h in whole]


@settings(max_examples=150, deadline=None)
@given(st.lists(st.text(max_size=12) | st.none() | st.floats(allow_nan=True) | st.integers(-5, 2**40), max_size=9))
def test_the_siphash_shortcut_equals_pandas_hash_array(values):
    # Stored histories hold these hashes: the shortcut must give pandas' own, bit for bit.
    import pandas as pd

    from fraudscore.secret import derive_key, siphash_objects

    arr = np.empty(len(values), dtype=object)
    arr[:] = values
    key = derive_key(b"k" * 32, "test")
    try:
        want = pd.util.hash_array(arr, hash_key=key, categorize=False)
    except UnicodeEncodeError:  # a lone surrogate: pandas refuses, and so must the shortcut
        with pytest.raises(UnicodeEncodeError):
            siphash_objects(arr, key)
        return
    np.testing.assert_array_equal(siphash_objects(arr, key), want)

"""Contract of the FeatureExtractor: one row per submission, order-free, batch = one by one, docs."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.base import clone

import fraudscore
from fraudscore.features.extractor import FeatureExtractor
from fraudscore.features.registry import FAMILIES, features
from fraudscore.io import read_batch


@pytest.fixture(scope="module")
def simulated():
    sim = fraudscore.simulate(300, seed=5, output="records")
    return sim.records


@pytest.fixture(scope="module")
def fitted(simulated):
    return FeatureExtractor().fit(simulated)


def test_matrix_shape_dtype_and_names(fitted, simulated):
    X = fitted.transform(simulated)
    assert X.shape == (len(simulated), len(fitted.get_feature_names_out()))
    assert X.dtype == np.float32
    assert np.all(np.isnan(X) | np.isfinite(X))
    assert list(fitted.get_feature_names_out()) == [f.name for f in features()]


def test_fitted_extractor_scores_one_submission_as_inside_the_batch(fitted, simulated):
    X = fitted.transform(simulated)
    for i in (0, 7, 123, len(simulated) - 1):
        np.testing.assert_array_equal(fitted.transform([simulated[i]])[0], X[i])


@settings(max_examples=10)
@given(st.randoms())
def test_row_order_does_not_change_a_row(fitted, simulated, rnd):
    order = list(range(len(simulated)))
    rnd.shuffle(order)
    X = fitted.transform(simulated)
    np.testing.assert_array_equal(fitted.transform([simulated[i] for i in order]), X[order])


def test_pandas_output_and_clone(fitted, simulated):
    fx = clone(fitted).set_output(transform="pandas").fit(simulated)
    frame = fx.transform(simulated[:5])
    assert list(frame.columns) == list(fitted.get_feature_names_out())
    assert len(frame) == 5


def test_a_batch_object_and_records_give_the_same_features(fitted, simulated):
    np.testing.assert_array_equal(fitted.transform(read_batch(simulated)), fitted.transform(simulated))


def test_family_selection_and_unknown_family():
    fx = FeatureExtractor(families=["keys"]).fit([])
    assert all(n.startswith("keys.") for n in fx.get_feature_names_out())
    with pytest.raises(ValueError, match="unknown feature families"):
        FeatureExtractor(families=["astrology"]).fit([])


def test_every_feature_is_documented_with_a_known_family_and_consent():
    for f in features():
        assert f.family in FAMILIES and f.consent in ("none", "usage", "analytics") and f.meaning
        assert f.name.startswith(f.family + ".")


def test_threads_split_a_batch_into_chunks_with_the_same_matrix(fitted, simulated, monkeypatch):
    # Chunks of 64 rows here (4,096 in use), so 300 rows run as 3 or 4 threads' chunks; the
    # history counts and IP facts handed in are split with the rows.
    from fraudscore.enrich.ip import IPDatabase
    from fraudscore.features import extractor as extractor_module
    from fraudscore.history import MemoryStore
    from fraudscore.model import history_counts

    batch = read_batch(simulated)
    counts = history_counts(batch, MemoryStore(secret="threads-test-secret-0123456789"))
    ip = IPDatabase.default().lookup(batch.column("network.ip"))
    one = fitted.transform(batch, history=counts, ip=ip)
    monkeypatch.setattr(extractor_module, "_MIN_CHUNK_ROWS", 64)
    for n_jobs in (3, 4, -1):
        threaded = clone(fitted).set_params(n_jobs=n_jobs).fit(simulated)
        assert extractor_module._chunk_bounds(batch.n, extractor_module._threads(n_jobs))[-1] == batch.n
        np.testing.assert_array_equal(threaded.transform(batch, history=counts, ip=ip).view(np.uint32),
                                      one.view(np.uint32))
    with pytest.raises(ValueError, match="n_jobs"):
        clone(fitted).set_params(n_jobs=0).fit(simulated).transform(simulated)


def test_an_extractor_pickled_before_n_jobs_existed_still_works(fitted, simulated):
    old = clone(fitted).fit(simulated)
    del old.__dict__["n_jobs"]  # as unpickled from a model saved before the parameter
    assert old.get_params()["n_jobs"] is None
    np.testing.assert_array_equal(old.transform(simulated[:3]), fitted.transform(simulated[:3]))

"""CompiledForest (fast path) agrees with scikit-learn (reference path), row by row and in batches."""

from __future__ import annotations

import pickle
import threading
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.calibration import CalibratedClassifierCV
from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
from sklearn.frozen import FrozenEstimator
from threadpoolctl import threadpool_limits

from fraudscore.forest import CalibrationMap, CompiledForest, UnsupportedModelError

TOL = 1e-9


@pytest.fixture(autouse=True, scope="module")
def _one_openmp_thread():
    # scikit-learn's OpenMP threads spin-wait: on a shared, loaded 2-core machine fitting the
    # many small models below is 10x slower with them. The answers do not depend on it.
    with threadpool_limits(1):
        yield


def _data(rng, n, n_features, nan_rate, integer_columns=0):
    X = rng.normal(size=(n, n_features)) * rng.uniform(0.1, 100, size=n_features)
    y = (X[:, 0] + rng.normal(size=n) * 0.5 * np.std(X[:, 0]) > 0).astype(int)
    X[:, :integer_columns] = np.round(X[:, :integer_columns] / 10) % 7  # few distinct values: ties
    y[:2] = [0, 1]  # both classes, always
    X[rng.random(X.shape) < nan_rate] = np.nan
    return X, y


def _split_values(hgb) -> list[tuple[int, float]]:
    """(feature, threshold) of every numeric split, in the caller's column order."""
    out = []
    for (tree,) in hgb._predictors:
        nodes = tree.nodes[~tree.nodes["is_leaf"].astype(bool) & ~tree.nodes["is_categorical"].astype(bool)]
        out += list(zip(nodes["feature_idx"].tolist(), nodes["num_threshold"].tolist()))
    return out


def _hard_rows(rng, hgb, X, n_rows=200):
    """Random rows plus cells set to thresholds, their float neighbours, ±inf and NaN."""
    rows = X[rng.integers(0, len(X), n_rows)].copy()
    splits = _split_values(hgb)
    for i in range(n_rows):
        for _ in range(rng.integers(1, 4)):
            if splits:
                f, t = splits[rng.integers(len(splits))]
                rows[i, f] = rng.choice([t, np.nextafter(t, -np.inf), np.nextafter(t, np.inf)])
        f = rng.integers(X.shape[1])
        rows[i, f] = rng.choice([np.inf, -np.inf, np.nan, rows[i, f]])
    return rows


def _assert_agree(cf, hgb_or_cal, X):
    expected = hgb_or_cal.predict_proba(X)[:, 1]
    proba, contrib = cf.predict_proba(X, contributions=True)
    assert np.max(np.abs(proba - expected), initial=0) <= TOL
    raw = cf.decision_function(X)
    assert np.max(np.abs(contrib.sum(axis=1) - raw), initial=0) <= TOL
    one = np.array([cf.predict_proba_one(x) for x in X[:40]])
    np.testing.assert_array_equal(one, proba[:40])


models = st.fixed_dictionaries({
    "seed": st.integers(0, 2**31 - 1),
    "n_features": st.integers(1, 20),
    "max_iter": st.integers(1, 60),
    "max_leaf_nodes": st.one_of(st.none(), st.integers(2, 80)),
    "max_depth": st.one_of(st.none(), st.integers(1, 8)),
    "min_samples_leaf": st.integers(1, 20),
    "learning_rate": st.floats(0.01, 1.0),
    "nan_rate": st.sampled_from([0.0, 0.05, 0.3]),
    "max_bins": st.sampled_from([255, 16, 3]),
})


def _fit(params, n=400, categorical=0):
    rng = np.random.default_rng(params["seed"])
    X, y = _data(rng, n, params["n_features"], params["nan_rate"], integer_columns=max(categorical, 1))
    if params["max_leaf_nodes"] is None and params["max_depth"] is None:
        params = {**params, "max_depth": 6}
    hgb = HistGradientBoostingClassifier(
        max_iter=params["max_iter"], max_leaf_nodes=params["max_leaf_nodes"],
        max_depth=params["max_depth"], min_samples_leaf=params["min_samples_leaf"],
        learning_rate=params["learning_rate"], max_bins=params["max_bins"],
        categorical_features=list(range(categorical)) or None, early_stopping=False,
        random_state=0).fit(X, y)
    return rng, X, y, hgb


@settings(max_examples=30)
@given(models)
def test_random_models_match_sklearn_on_thresholds_nan_and_infinities(params):
    rng, X, _, hgb = _fit(params)
    cf = CompiledForest.from_sklearn(hgb)
    _assert_agree(cf, hgb, _hard_rows(rng, hgb, X))


@settings(max_examples=15)
@given(models, st.integers(1, 3))
def test_categorical_features_match_sklearn_including_unknown_categories(params, n_categorical):
    n_categorical = min(n_categorical, params["n_features"])
    params = {**params, "max_bins": max(params["max_bins"], 16)}  # 7 categories must fit
    rng, X, _, hgb = _fit(params, categorical=n_categorical)
    cf = CompiledForest.from_sklearn(hgb)
    rows = _hard_rows(rng, hgb, X)
    # Unknown categories (never seen, negative, fractional) follow the missing-value rule.
    cells = rng.integers(0, n_categorical, size=len(rows))
    rows[np.arange(len(rows)), cells] = rng.choice([99.0, -1.0, 2.5, np.nan, 0.0, 3.0], size=len(rows))
    # scikit-learn refuses infinite categories; the compiled forest treats them as unknown (= NaN).
    categorical_part = rows[:, :n_categorical]
    infinite = np.isinf(categorical_part)
    with_inf = rows.copy()
    categorical_part[infinite] = np.nan
    _assert_agree(cf, hgb, rows)
    np.testing.assert_array_equal(cf.predict_proba(with_inf), cf.predict_proba(rows))


@settings(max_examples=12)
@given(models, st.sampled_from(["sigmoid", "isotonic"]), st.booleans())
def test_calibrated_models_match_calibrated_classifier_cv(params, method, frozen):
    rng, X, y, hgb = _fit(params)
    Xc, yc = _data(rng, 300, params["n_features"], params["nan_rate"])
    if frozen:
        # FraudModel's layout: a frozen model calibrated on held-out rows (cv folds share it).
        cal = CalibratedClassifierCV(FrozenEstimator(hgb), method=method, cv=2).fit(Xc, yc)
        cf = CompiledForest.from_sklearn(hgb, calibrator=cal) if params["seed"] % 2 else \
            CompiledForest.from_sklearn(cal)
    else:
        cal = CalibratedClassifierCV(hgb, method=method, ensemble=False, cv=3).fit(X, y)
        cf = CompiledForest.from_sklearn(cal)
    _assert_agree(cf, cal, _hard_rows(rng, hgb, X, n_rows=100))


@pytest.fixture(scope="module")
def small_model():
    rng, X, y, hgb = _fit(dict(seed=7, n_features=6, max_iter=30, max_leaf_nodes=15, max_depth=None,
                               min_samples_leaf=5, learning_rate=0.3, nan_rate=0.1, max_bins=255))
    return hgb, CompiledForest.from_sklearn(hgb), _hard_rows(rng, hgb, X, 300)


def test_plain_sigmoid_and_isotonic_calibrations_follow_their_documented_formulas(small_model):
    hgb, _, X = small_model
    raw = hgb.decision_function(X)
    sig = CompiledForest.from_sklearn(hgb, calibrator=(-1.5, 0.25))
    np.testing.assert_allclose(sig.predict_proba(X), 1 / (1 + np.exp(-1.5 * raw + 0.25)), atol=TOL)
    knots_x, knots_y = np.array([-1.0, 0.0, 2.0]), np.array([0.1, 0.5, 0.7])
    iso = CompiledForest.from_sklearn(hgb, calibrator=(knots_x, knots_y))
    np.testing.assert_allclose(iso.predict_proba(X), np.interp(np.clip(raw, -1, 2), knots_x, knots_y),
                               atol=TOL)
    assert iso.predict_proba_one(X[0]) == iso.predict_proba(X[:1])[0]
    assert isinstance(CompiledForest.from_sklearn(hgb, CalibrationMap.sigmoid(1, 0)), CompiledForest)


def test_float32_input_gives_the_float64_answer(small_model):
    hgb, cf, X = small_model
    with np.errstate(over="ignore"):  # nextafter(+inf, 0) rounds to +inf in float32: fine here
        X32 = X.astype(np.float32)
    np.testing.assert_array_equal(cf.predict_proba(X32), cf.predict_proba(X32.astype(np.float64)))
    assert np.max(np.abs(cf.predict_proba(X32) - hgb.predict_proba(X32)[:, 1])) <= TOL


def test_chunking_and_threads_do_not_change_the_answer(small_model):
    _, cf, X = small_model
    big = np.tile(X, (40, 1))  # several chunks
    one_thread = cf.predict_proba(big, n_threads=1)
    np.testing.assert_array_equal(cf.predict_proba(big, n_threads=3), one_thread)
    np.testing.assert_array_equal(one_thread[: len(X)], cf.predict_proba(X))


def test_empty_batch_and_wrong_shapes(small_model):
    _, cf, X = small_model
    proba, contrib = cf.predict_proba(X[:0], contributions=True)
    assert proba.shape == (0,) and contrib.shape == (0, X.shape[1] + 1)
    with pytest.raises(ValueError, match="shape"):
        cf.predict_proba(X[:, :-1])
    with pytest.raises(ValueError, match="values"):
        cf.predict_proba_one(X[0, :-1])


def test_pickle_round_trip_keeps_answers_and_read_only_arrays(small_model):
    _, cf, X = small_model
    back = pickle.loads(pickle.dumps(cf))
    np.testing.assert_array_equal(back.predict_proba(X), cf.predict_proba(X))
    assert back.predict_proba_one(X[3]) == cf.predict_proba_one(X[3])
    assert not back._masks.flags.writeable and not back._leaf_values.flags.writeable


def test_pickle_from_another_version_warns(small_model):
    _, cf, _ = small_model
    state = cf.__getstate__()
    state["_version"] = "0.0.0-other"
    clone = CompiledForest.__new__(CompiledForest)
    with pytest.warns(UserWarning, match="pickled with fraudscore 0.0.0-other"):
        clone.__setstate__(state)


def test_compiled_arrays_are_read_only(small_model):
    _, cf, _ = small_model
    with pytest.raises(ValueError):
        cf._masks[0, 0] = 0


def test_threads_calling_at_once_get_the_same_answers(small_model):
    _, cf, X = small_model
    expected = cf.predict_proba(X, n_threads=1)
    expected_one = [cf.predict_proba_one(x) for x in X[:50]]
    failures = []

    def worker():
        for _ in range(5):
            if not np.array_equal(cf.predict_proba(X), expected):
                failures.append("batch")
            if [cf.predict_proba_one(x) for x in X[:50]] != expected_one:
                failures.append("one")

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not failures


def test_unsupported_models_are_refused_clearly(small_model):
    hgb, _, _ = small_model
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 3))
    with pytest.raises(UnsupportedModelError, match="not fitted"):
        CompiledForest.from_sklearn(HistGradientBoostingClassifier())
    with pytest.raises(UnsupportedModelError, match="HistGradientBoostingClassifier"):
        CompiledForest.from_sklearn(HistGradientBoostingRegressor(max_iter=3).fit(X, X[:, 0]))
    multi = HistGradientBoostingClassifier(max_iter=3).fit(X, rng.integers(0, 3, 200))
    with pytest.raises(UnsupportedModelError, match="binary"):
        CompiledForest.from_sklearn(multi)
    binary = HistGradientBoostingClassifier(max_iter=3).fit(X, X[:, 0] > 0)
    ensemble = CalibratedClassifierCV(binary, cv=2).fit(X, X[:, 0] > 0)
    with pytest.raises(UnsupportedModelError, match="ensemble=False"):
        CompiledForest.from_sklearn(ensemble)
    with pytest.raises(UnsupportedModelError, match="other than the model"):
        CompiledForest.from_sklearn(hgb, calibrator=ensemble)
    temperature = CalibratedClassifierCV(FrozenEstimator(binary), method="temperature").fit(X, X[:, 0] > 0)
    with pytest.raises(UnsupportedModelError, match="temperature"):
        CompiledForest.from_sklearn(temperature)
    with pytest.raises(UnsupportedModelError, match="unsupported calibrator"):
        CompiledForest.from_sklearn(binary, calibrator="platt")


def test_string_categories_are_refused():
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame({"c": pd.Categorical(list("abcab") * 40), "x": np.arange(200.0)})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = HistGradientBoostingClassifier(max_iter=3).fit(frame, np.arange(200) % 2)
    with pytest.raises(UnsupportedModelError, match="numeric categories"):
        CompiledForest.from_sklearn(model)


def test_contributions_credit_only_the_split_features():
    # y depends on column 1 only, and the model only ever splits on it: every other column's
    # contribution is exactly zero and the bias column is constant.
    rng = np.random.default_rng(3)
    X = rng.normal(size=(500, 3))
    X[:, [0, 2]] = 0.0
    hgb = HistGradientBoostingClassifier(max_iter=10).fit(X, X[:, 1] > 0.2)
    cf = CompiledForest.from_sklearn(hgb)
    _, contrib = cf.predict_proba(X, contributions=True)
    assert np.all(contrib[:, [0, 2]] == 0)
    assert np.ptp(contrib[:, -1]) == 0 and np.ptp(contrib[:, 1]) > 0
    assert np.max(np.abs(contrib.sum(axis=1) - hgb.decision_function(X))) <= TOL


@pytest.mark.slow
@settings(max_examples=300)
@given(models, st.integers(0, 3))
def test_many_more_random_models_match_sklearn(params, n_categorical):
    n_categorical = min(n_categorical, params["n_features"])
    if n_categorical:
        params = {**params, "max_bins": max(params["max_bins"], 16)}
    rng, X, _, hgb = _fit(params, n=1500, categorical=n_categorical)
    rows = _hard_rows(rng, hgb, X, n_rows=400)
    part = rows[:, :n_categorical]
    part[np.isinf(part)] = np.nan  # scikit-learn refuses infinite categories
    _assert_agree(CompiledForest.from_sklearn(hgb), hgb, rows)


def test_one_row_contributions_and_a_batch_of_one_match_the_batch(small_model):
    _, cf, X = small_model
    proba, contrib = cf.predict_proba(X, contributions=True)
    for i in (0, 5, 17):
        p, c = cf.predict_proba_one(X[i], contributions=True)
        assert p == proba[i]
        np.testing.assert_allclose(c, contrib[i], rtol=0, atol=1e-12)
        p1, c1 = cf.predict_proba(X[i:i + 1], contributions=True)
        assert p1.shape == (1,) and c1.shape == (1, X.shape[1] + 1) and p1[0] == proba[i]
        assert cf.decision_function(X[i:i + 1])[0] == cf.decision_function_one(X[i])


def test_split_on_missing_values_sends_plus_infinity_left_like_sklearn():
    # y is "the value is missing": scikit-learn splits on NaN with threshold +inf and missing
    # values going right, so +inf (<= +inf) goes left with the finite values.
    rng = np.random.default_rng(5)
    X = rng.normal(size=(400, 1))
    X[::2] = np.nan
    hgb = HistGradientBoostingClassifier(max_iter=3, max_depth=1).fit(X, np.isnan(X[:, 0]))
    (tree,) = hgb._predictors[0]
    assert tree.nodes["num_threshold"][0] == np.inf and not tree.nodes["missing_go_to_left"][0]
    cf = CompiledForest.from_sklearn(hgb)
    rows = np.array([[np.inf], [-np.inf], [0.0], [np.nan], [1e308]])
    proba = cf.predict_proba(rows)
    assert np.max(np.abs(proba - hgb.predict_proba(rows)[:, 1])) <= TOL
    assert proba[0] == proba[2] == proba[1] < 0.5 < proba[3]


def test_a_model_without_splits_predicts_its_baseline():
    X = np.zeros((100, 3))
    hgb = HistGradientBoostingClassifier(max_iter=5).fit(X, np.arange(100) % 2)
    cf = CompiledForest.from_sklearn(hgb)
    rows = np.random.default_rng(0).normal(size=(50, 3))
    assert np.max(np.abs(cf.predict_proba(rows) - hgb.predict_proba(rows)[:, 1])) <= TOL
    assert cf.predict_proba_one(rows[0]) == cf.predict_proba(rows)[0]


def test_nbytes_counts_the_mask_table(small_model):
    _, cf, _ = small_model
    assert cf.nbytes >= cf._masks.nbytes > 0


@settings(max_examples=25)
@given(cut=st.floats(0.0, 1.0), chunk=st.sampled_from([7, 64, 1000]), threads=st.sampled_from([1, 3]),
       n=st.integers(0, 300))
def test_predict_explain_explains_exactly_the_picked_rows_like_the_full_matrix(small_model, cut, chunk, threads, n):
    _, cf, X = small_model
    X = X[:n]
    proba, contrib = cf.predict_proba(X, contributions=True, n_threads=1)
    cf_chunked = pickle.loads(pickle.dumps(cf))
    cf_chunked._chunk = chunk  # several chunks, so per-chunk picking and the thread pool are exercised
    seen = []

    def select(p):
        seen.append(len(p))
        return p >= cut

    p, rows, c = cf_chunked.predict_explain(X, select, n_threads=threads)
    np.testing.assert_array_equal(p, proba)
    np.testing.assert_array_equal(rows, np.flatnonzero(proba >= cut))
    np.testing.assert_array_equal(c, contrib[rows])  # exactly: the same kernel, row by row
    assert c.shape == (len(rows), X.shape[1] + 1) and sum(seen) == n
    p_all, rows_all, c_all = cf_chunked.predict_explain(X, n_threads=threads)
    np.testing.assert_array_equal(rows_all, np.arange(n))
    np.testing.assert_array_equal(c_all, contrib)
    np.testing.assert_array_equal(p_all, proba)


def test_predict_explain_of_one_row_takes_the_one_row_kernel(small_model):
    _, cf, X = small_model
    for i in (0, 5):
        p1, c1 = cf.predict_proba_one(X[i], contributions=True)
        p, rows, c = cf.predict_explain(X[i:i + 1], lambda q: q >= 0)
        assert p[0] == p1 and rows.tolist() == [0]
        np.testing.assert_array_equal(c[0], c1)
        p, rows, c = cf.predict_explain(X[i:i + 1], lambda q: q > 1)
        assert p[0] == p1 and rows.shape == (0,) and c.shape == (0, X.shape[1] + 1)


def _float32_hard_rows(rng, hgb, X, n_rows=200):
    """float32 rows with cells at the float32 numbers nearest every side of thresholds, ±0, ±inf,
    NaN, float32's extremes and subnormals: where a float32 key search could go wrong."""
    rows = X[rng.integers(0, len(X), n_rows)].astype(np.float32)
    splits = _split_values(hgb)
    odd = np.array([0.0, -0.0, np.inf, -np.inf, np.nan, 3.4028235e38, -3.4028235e38, 1e-45, -1e-45, 1.0],
                   dtype=np.float32)
    for i in range(n_rows):
        for _ in range(rng.integers(1, 5)):
            if splits and rng.random() < 0.8:
                f, t = splits[rng.integers(len(splits))]
                with np.errstate(over="ignore"):
                    near = np.float32(t)
                rows[i, f] = rng.choice([near, np.nextafter(near, np.float32(-np.inf)),
                                         np.nextafter(near, np.float32(np.inf))])
            else:
                rows[i, rng.integers(X.shape[1])] = rng.choice(odd)
    return rows


@settings(max_examples=30, deadline=None)
@given(models)
def test_float32_one_row_kernel_equals_the_general_one_row_path_and_the_batch(params):
    """The float32 one-row kernel finds table rows by one key search; it must give the exit
    leaves, raw values and probabilities of the bisect path and of the batch kernel, bit for bit."""
    rng, X, _, hgb = _fit(params)
    cf = CompiledForest.from_sklearn(hgb)
    rows = _float32_hard_rows(rng, hgb, X)
    batch = cf.decision_function(rows)
    bisect_only = pickle.loads(pickle.dumps(cf))
    bisect_only._keys32 = None  # the general one-row path
    for i, row in enumerate(rows):
        raw, leaf = cf._raw_one(row)
        raw_ref, leaf_ref = bisect_only._raw_one(row)
        np.testing.assert_array_equal(leaf, leaf_ref)
        assert raw[0] == raw_ref[0] == batch[i]
        assert cf._probability_one(raw)[0] == cf.predict_proba(rows[i:i + 1])[0]
    assert np.max(np.abs(cf.predict_proba(rows) - hgb.predict_proba(rows.astype(np.float64))[:, 1])) <= TOL


def test_float32_one_row_kernel_on_edges_beyond_float32_range():
    """Thresholds above float32's largest number (or at ±inf) compare like float64: only +inf is above them."""
    rng = np.random.default_rng(3)
    X = rng.normal(size=(400, 2))
    X[:200, 0] = 1e300
    X[200:, 0] = -1e300
    hgb = HistGradientBoostingClassifier(max_iter=3, max_depth=2).fit(X, X[:, 0] > 0)
    cf = CompiledForest.from_sklearn(hgb)
    rows = np.array([[np.inf, 0], [3.4028235e38, 0], [-3.4028235e38, 0], [-np.inf, 0], [0, 0], [np.nan, 0]],
                    dtype=np.float32)
    for row in rows:
        assert cf._raw_one(row)[0][0] == cf._raw_one(row.astype(np.float64))[0][0]
    np.testing.assert_array_equal([cf._raw_one(r)[0][0] for r in rows], cf.decision_function(rows))

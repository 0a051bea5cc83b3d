"""FraudModel and FraudClassifier: estimator conventions, bad input, thresholds, prior shift, history."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.utils.estimator_checks import parametrize_with_checks

import fraudscore
from fraudscore.evaluation import group_ids
from fraudscore.history import MemoryStore
from fraudscore.model import FraudClassifier, FraudModel, _odds_shift, history_counts

SECRET = "test-secret-0123456789"

# Every common check passes, none is marked as an expected failure. (Tiny data sets fall back to
# uncalibrated trees when the calibration split cannot hold every class twice; see fit.)
@parametrize_with_checks([FraudClassifier(max_iter=20, n_threads=1, random_state=0)])
def test_fraud_classifier_passes_sklearn_checks(estimator, check):
    check(estimator)


@pytest.fixture(scope="module")
def sim():
    return fraudscore.simulate(1500, fraud_rate=0.2, seed=11, output="arrow")


@pytest.fixture(scope="module")
def fitted(sim):
    groups = group_ids(sim.labels["person_id"].to_numpy(), sim.labels["device_key"].to_numpy())
    return FraudModel(surveys=[sim.survey], max_iter=30, n_threads=1, random_state=0).fit(
        sim.data, sim.labels["is_fraud"].to_numpy(), groups=groups)


def test_fit_records_counts_splits_and_stores_thresholds(fitted):
    s = fitted.training_summary_
    assert s["rows_read"] == 1500 and s["rows_excluded_reader_errors"] == 0
    assert s["rows_train"] + s["rows_calibration"] + s["rows_validation"] == 1500
    assert 0 < fitted.thresholds_["review"] <= fitted.thresholds_["reject"] <= 1
    assert fitted.metrics_["review_fpr"] <= 0.05 and fitted.metrics_["reject_fpr"] <= 0.01
    assert fitted.metrics_["roc_auc"] > 0.8  # far above chance even for a tiny model


def test_scores_are_probabilities_and_higher_means_fraud(fitted, sim):
    test = fraudscore.simulate(600, fraud_rate=0.2, seed=12)
    p = fitted.score(test.records)
    assert p.shape == (600,) and np.all((p >= 0) & (p <= 1))
    y = test.labels["is_fraud"].to_numpy()
    assert p[y].mean() > p[~y].mean() + 0.3
    proba = fitted.predict_proba(test.records)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    assert np.all(np.diff(fitted.decision_function(test.records)[np.argsort(p)]) >= -1e-9)
    np.testing.assert_allclose(fitted.risk(p), np.round(100 * p, 1))


def test_decide_uses_thresholds_and_marks_nan_as_error(fitted):
    t = fitted.thresholds
    p = np.array([0.0, t["review"], np.nextafter(t["reject"], 0), t["reject"], 1.0, np.nan])
    assert fitted.decide(p).tolist() == ["accept", "review", "review", "reject", "reject", "error"]


def test_rows_with_reader_errors_are_excluded_from_training_and_scored_nan(sim):
    records = fraudscore.simulate(800, fraud_rate=0.25, seed=13).records
    records[3] = {**records[3], "submission_id": None}  # a required field missing: a reader error
    y = fraudscore.simulate(800, fraud_rate=0.25, seed=13).labels["is_fraud"].to_numpy()
    m = FraudModel(max_iter=10, n_threads=1, random_state=1).fit(records, y)
    assert m.training_summary_["rows_excluded_reader_errors"] == 1
    p = m.score(records[:5])
    assert np.isnan(p[3]) and np.isfinite(np.delete(p, 3)).all()
    assert m.decide(p)[3] == "error"


@pytest.mark.parametrize("labels, message", [
    (lambda n: np.zeros(n), "one class"),
    (lambda n: np.r_[np.nan, np.ones(n - 1)], "missing"),
    (lambda n: np.ones(n - 1), "lengths must match"),
    (lambda n: np.full(n, 2), "0/1"),
    (lambda n: np.array(["yes"] * n, dtype=object), "0/1"),
])
def test_bad_labels_raise_a_clear_value_error(labels, message):
    records = fraudscore.simulate(60, seed=14).records
    with pytest.raises(ValueError, match=message):
        FraudModel(max_iter=5).fit(records, labels(60))


def test_clone_keeps_params_and_pickle_keeps_scores(fitted, sim):
    c = clone(fitted)
    assert c.get_params() == fitted.get_params() and not hasattr(c, "classifier_")
    back = pickle.loads(pickle.dumps(fitted))
    batch = fraudscore.simulate(100, seed=15).records
    np.testing.assert_array_equal(back.score(batch), fitted.score(batch))


def test_same_seed_same_model(sim):
    y = sim.labels["is_fraud"].to_numpy()
    a = FraudModel(max_iter=10, n_threads=1, random_state=3).fit(sim.data, y)
    b = FraudModel(max_iter=10, n_threads=1, random_state=3).fit(sim.data, y)
    assert a.thresholds_ == b.thresholds_
    rows = fraudscore.simulate(50, seed=16).records
    np.testing.assert_array_equal(a.score(rows), b.score(rows))


def test_with_prior_shifts_odds_and_keeps_decisions(fitted):
    rows = fraudscore.simulate(300, fraud_rate=0.2, seed=17).records
    p = fitted.score(rows)
    shifted = fitted.with_prior(0.01)
    q = shifted.score(rows)
    pi, pt = 0.01, fitted.train_prior_
    ratio = (pi / (1 - pi)) / (pt / (1 - pt))
    mid = (p > 0) & (p < 1)
    np.testing.assert_allclose(q[mid] / (1 - q[mid]), ratio * p[mid] / (1 - p[mid]), rtol=1e-9)
    assert (q <= p + 1e-12).all()  # a rarer prior lowers every probability
    # Thresholds move with the scores, so the same rows are reviewed and rejected.
    assert shifted.decide(q).tolist() == fitted.decide(p).tolist()
    assert fitted.prior_ == pt  # the original is unchanged
    raw = fitted.classifier_.predict_proba(fitted.features(rows))[:, 1]
    np.testing.assert_allclose(shifted.adjust(raw), q)  # what a scorer with its own forest applies
    with pytest.raises(ValueError):
        fitted.with_prior(1.0)


def test_odds_shift_is_identity_for_ratio_one_and_maps_ends_to_ends():
    p = np.array([0.0, 0.25, 1.0])
    np.testing.assert_array_equal(_odds_shift(p, 1.0), p)
    np.testing.assert_allclose(_odds_shift(p, 3.0), [0.0, 0.5, 1.0])


def test_history_counts_follow_submission_time_not_row_order():
    base = {"survey_id": "s", "respondent_id": "r1", "consent": {"usage": True},
            "network": {"ip": "203.0.113.9"}, "answers": {"text": ["same words"]}}
    times = [3_000_000, 1_000_000, 2_000_000]
    records = [base | {"submission_id": f"x{i}", "started_at": 1_777_000_000_000 + t - 60_000,
                       "submitted_at": 1_777_000_000_000 + t} for i, t in enumerate(times)]
    counts = history_counts(records, MemoryStore(secret=SECRET), secret=SECRET)
    assert counts["prior_respondent_survey"].tolist() == [2, 0, 1]
    assert counts["prior_ip_survey"].tolist() == [2, 0, 1]
    assert counts["prior_text_survey"].tolist() == [2, 0, 1]


def test_history_counts_skip_rows_with_reader_errors():
    t = 1_777_000_000_000
    records = [{"submission_id": sid, "survey_id": "s", "respondent_id": "r", "started_at": t, "submitted_at": t + i}
               for i, sid in enumerate(["a", None, "c"])]
    counts = history_counts(records, MemoryStore(secret=SECRET), secret=SECRET)
    assert counts["prior_respondent_survey"].tolist() == [0, 0, 1]
    assert counts.replayed.tolist() == [False, True, False]


def test_classifier_fit_rejects_one_class():
    with pytest.raises(ValueError, match="one class"):
        FraudClassifier().fit(np.zeros((10, 2)), np.ones(10))


def test_classifier_accepts_all_nan_columns():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 3))
    X[:, 1] = np.nan
    y = (X[:, 0] > 0).astype(int)
    p = FraudClassifier(max_iter=10, n_threads=1, random_state=0).fit(X, y).predict_proba(X)[:, 1]
    assert p[y == 1].mean() > p[y == 0].mean()


def test_records_dataframe_and_arrow_inputs_score_alike(fitted):
    rows = fraudscore.simulate(60, seed=18, output="arrow")
    frame = fraudscore.simulate(60, seed=18, output="pandas").data
    p = fitted.score(rows.data)
    np.testing.assert_allclose(fitted.score(rows.records), p)
    np.testing.assert_allclose(fitted.score(frame), p)


def test_joined_text_joins_each_rows_answers_in_order_with_newlines():
    from fraudscore.io import from_records
    from fraudscore.model import _joined_text

    batch = from_records([
        {"submission_id": "a", "answers": {"text": ["x", None, "z"]}},
        {"submission_id": "b", "answers": {"text": []}},
        {"submission_id": "c"},
        {"submission_id": "d", "answers": {"text": ["only"]}},
    ])
    assert _joined_text(batch).tolist() == ["x\n\nz", None, None, "only"]

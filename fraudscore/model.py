"""FraudModel: submissions in, calibrated P(fraud), risk and an accept/review/reject decision out.

Pipeline: :class:`~fraudscore.features.extractor.FeatureExtractor` (with history counts from a
store) -> :class:`FraudClassifier` (gradient-boosted trees, then probability calibration on a
held-out calibration split) -> thresholds chosen on a held-out *validation* split for target
false-positive rates (default: review at 5 %, reject at 1 %).

A high score means likely fraud. ``score`` is a calibrated probability under the training fraud
rate; :meth:`FraudModel.with_prior` moves it to a deployment's fraud rate.

Saved models are ``model.joblib`` + ``manifest.json`` + ``MODEL_CARD.md``; :func:`load_model`
checks the sha256 of ``model.joblib`` against the manifest *before* unpickling anything, then the
input-schema hash and feature names against this code.
"""

from __future__ import annotations

import copy
import hashlib
import itertools
import json
import os
import platform
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.calibration import CalibratedClassifierCV
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.frozen import FrozenEstimator
from sklearn.model_selection import ShuffleSplit, StratifiedShuffleSplit
from sklearn.utils import check_random_state
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

from fraudscore.evaluation import binary_metrics, group_ids, grouped_split, threshold_at_fpr

__all__ = [
    "FraudClassifier",
    "FraudModel",
    "ModelLoadError",
    "ModelIntegrityError",
    "SchemaMismatchError",
    "backfill",
    "history_counts",
    "load_model",
    "default_model_dir",
    "train_default",
    "train_file",
    "MODEL_FILE",
    "MANIFEST_FILE",
    "CARD_FILE",
]

#: :meth:`FraudModel.decide` labels by level: below review, review, reject, NaN score.
_DECISIONS = np.array(["accept", "review", "reject", "error"], dtype=object)

MODEL_FILE = "model.joblib"
MANIFEST_FILE = "manifest.json"
CARD_FILE = "MODEL_CARD.md"
#: Bumped when the manifest layout changes.
MANIFEST_FORMAT = 1
#: Key for the throwaway history store used while training. Counts do not depend on the key, and
#: nothing trained on is kept, so a public constant is fine (and avoids the dev-secret warning).
_TRAINING_SECRET = "fraudscore-training-history-only"


class ModelLoadError(Exception):
    """A saved model cannot be used."""


class ModelIntegrityError(ModelLoadError):
    """``model.joblib`` is missing, truncated or altered: its sha256 differs from the manifest's."""


class SchemaMismatchError(ModelLoadError):
    """The model was trained on another input schema or feature set than this code computes."""


# ================================================================================ classifier
class FraudClassifier(ClassifierMixin, BaseEstimator):
    """Gradient-boosted trees with probability calibration on a held-out split of the training data.

    ``fit`` holds out ``calibration_size`` of the rows (by group when ``groups`` is given), fits a
    :class:`~sklearn.ensemble.HistGradientBoostingClassifier` on the rest, and calibrates its
    frozen probabilities on the held-out part (``CalibratedClassifierCV(FrozenEstimator(...))``,
    the scikit-learn >= 1.6 form of ``cv="prefit"``). NaN is a valid input value (missing).

    Parameters
    ----------
    max_iter, learning_rate, max_leaf_nodes, min_samples_leaf, l2_regularization
        Passed to :class:`~sklearn.ensemble.HistGradientBoostingClassifier`.
    calibration : {"sigmoid", "isotonic", None}
        Calibration method; ``None`` keeps the boosted probabilities. Sigmoid (Platt) is the
        default: it keeps the trees' ranking (isotonic's steps tie many rows, which coarsens
        thresholds) and was as well calibrated on the default model's validation split.
    calibration_size : float in (0, 1)
        Share of rows (or groups) held out for calibration.
    n_threads : int, optional
        OpenMP threads for fitting and predicting (default: scikit-learn's, all cores). On a
        machine busier than its cores, 1 can be a hundred times faster: OpenMP threads spin.
    random_state : int, RandomState or None
        Seeds the calibration split and the trees.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
    n_features_in_ : int
    estimator_ : HistGradientBoostingClassifier
        The boosted trees (uncalibrated).
    calibrated_ : CalibratedClassifierCV or None
    n_calibration_ : int
        Rows used for calibration (0 when it fell back to none, see ``fit``).
    n_iter_ : int
        Boosting iterations of the trees.
    """

    def __init__(self, *, max_iter=200, learning_rate=0.1, max_leaf_nodes=31, min_samples_leaf=20,
                 l2_regularization=0.0, calibration="sigmoid", calibration_size=0.2, n_threads=None,
                 random_state=None):
        self.max_iter = max_iter
        self.learning_rate = learning_rate
        self.max_leaf_nodes = max_leaf_nodes
        self.min_samples_leaf = min_samples_leaf
        self.l2_regularization = l2_regularization
        self.calibration = calibration
        self.calibration_size = calibration_size
        self.n_threads = n_threads
        self.random_state = random_state

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        return tags

    def _calibration_split(self, X, y, groups, seed):
        n = len(y)
        classes, counts = np.unique(y, return_counts=True)
        if groups is not None:
            return grouped_split(groups, self.calibration_size, random_state=seed)
        if counts.min() >= 2 and n * self.calibration_size >= len(classes):
            splitter = StratifiedShuffleSplit(1, test_size=self.calibration_size, random_state=seed)
        else:
            splitter = ShuffleSplit(1, test_size=self.calibration_size, random_state=seed)
        return next(splitter.split(X, y))

    def _threads(self):
        from threadpoolctl import threadpool_limits

        # getattr: models pickled before n_threads existed still load and score.
        return threadpool_limits(limits=getattr(self, "n_threads", None), user_api="openmp")

    def fit(self, X, y, groups=None):
        """Fit trees on part of the data and calibrate on the rest.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            NaN allowed.
        y : array-like of shape (n_samples,)
        groups : array-like of shape (n_samples,), optional
            Rows of one group (device, person) stay on one side of the calibration split.

        Returns
        -------
        self
        """
        if self.calibration not in ("isotonic", "sigmoid", None):
            raise ValueError(f"calibration must be 'isotonic', 'sigmoid' or None, got {self.calibration!r}")
        if not 0.0 < self.calibration_size < 1.0:
            raise ValueError(f"calibration_size must be in (0, 1), got {self.calibration_size!r}")
        X, y = validate_data(self, X, y, ensure_all_finite="allow-nan", dtype=np.float64)
        check_classification_targets(y)
        self.classes_ = np.unique(y)
        if len(self.classes_) < 2:
            raise ValueError(f"training data has one class only ({self.classes_.tolist()}); need at least 2")
        rng = check_random_state(self.random_state)
        split_seed, tree_seed = (int(s) for s in rng.randint(0, 2**31 - 1, size=2))
        # scikit-learn's binner fails on a column with no value at all (numpy sliding_window_view
        # of zero distinct values); a constant column gets no split, so its values never matter.
        empty = np.isnan(X).all(axis=0)
        if empty.any():
            X = X.copy()
            X[:, empty] = 0.0
        self.estimator_ = HistGradientBoostingClassifier(
            max_iter=self.max_iter, learning_rate=self.learning_rate, max_leaf_nodes=self.max_leaf_nodes,
            min_samples_leaf=self.min_samples_leaf, l2_regularization=self.l2_regularization,
            early_stopping=False, random_state=tree_seed)
        self.calibrated_, self.n_calibration_ = None, 0
        with self._threads():
            self._fit(X, y, groups, split_seed)
        self.n_iter_ = self.estimator_.n_iter_
        return self

    def _fit(self, X, y, groups, split_seed) -> None:
        if self.calibration is None:
            self.estimator_.fit(X, y)
            return
        fit_rows, cal_rows = self._calibration_split(X, y, None if groups is None else np.asarray(groups), split_seed)
        # Calibration needs every class on both sides; tiny or very skewed data cannot give that,
        # and then the trees are fitted on everything and left uncalibrated (n_calibration_ = 0).
        cal_counts = np.unique(y[cal_rows], return_counts=True)[1]
        if len(np.unique(y[fit_rows])) < len(self.classes_) or len(cal_counts) < len(self.classes_) \
                or cal_counts.min() < 2:
            self.estimator_.fit(X, y)
            return
        self.estimator_.fit(X[fit_rows], y[fit_rows])
        # A frozen estimator is not refitted per fold, so the folds only split the prediction work:
        # cv=2 asks for the fewest rows per class (the check scikit-learn makes before splitting).
        self.calibrated_ = CalibratedClassifierCV(FrozenEstimator(self.estimator_), method=self.calibration, cv=2)
        self.calibrated_.fit(X[cal_rows], y[cal_rows])
        self.n_calibration_ = int(len(cal_rows))

    def predict_proba(self, X):
        """Calibrated class probabilities, shape (n_samples, n_classes)."""
        check_is_fitted(self, "estimator_")
        X = validate_data(self, X, ensure_all_finite="allow-nan", dtype=np.float64, reset=False)
        model = self.calibrated_ if self.calibrated_ is not None else self.estimator_
        with self._threads():
            return model.predict_proba(X)

    def predict(self, X):
        """Most probable class, shape (n_samples,)."""
        check_is_fitted(self, "estimator_")
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]


# ================================================================================ history
def _joined_text(batch) -> np.ndarray:
    """All open-text answers of each row joined by newlines (None when a row has none), shape (n,)."""
    text = batch.column("answers.text")
    out = np.full(batch.n, None, dtype=object)
    if batch.n == 1:  # score_one: the same joins in plain Python (the pandas pass costs ~50 us)
        answers = ["" if value is None or (pd.api.types.is_scalar(value) and pd.isna(value)) else value
                   for value in text.values[text.offsets[0]:text.offsets[1]].tolist()]
        if answers:
            joined = answers[0]
            for answer in answers[1:]:
                joined = joined + "\n" + answer
            out[0] = joined
        return out
    lengths = np.diff(text.offsets)
    if lengths.sum() == 0:
        return out
    values = pd.Series(text.values, dtype=object).fillna("").to_numpy(dtype=object)
    starts = text.offsets[:-1]
    present = lengths > 0
    out[present] = values[starts[present]]
    # One pass per answer position, not per row: object-array "+" concatenates in a C loop.
    for k in range(1, int(lengths.max())):
        more = lengths > k
        out[more] = out[more] + "\n" + values[starts[more] + k]
    return out


def history_counts(batch, store, *, secret=None, now=None, fingerprints=None):
    """Observe a batch into a history store and return each row's prior counts.

    This is the realistic flow, used for training as for scoring: fingerprint the rows
    (:func:`fraudscore.fingerprint.fingerprint_batch`), hash their identifiers
    (:meth:`Observations.from_raw`) and record them; the store orders rows by submission time, so a
    row sees only earlier submissions. Rows with reader errors are neither observed nor counted.

    Parameters
    ----------
    batch : SubmissionBatch, records, DataFrame or Arrow table
    store : HistoryStore
    secret : str or bytes, optional
        The store's installation secret (used for fingerprints and identifier hashes).
    now : int, optional
        Passed to :meth:`HistoryStore.observe`.
    fingerprints : Fingerprints, optional
        ``fingerprint_batch(batch, secret=secret)`` when the caller already has it (the Scorer
        does), so it is not computed twice.

    Returns
    -------
    HistoryCounts of length n
        Rows with reader errors get zero counts and ``replayed = True``.
    """
    from fraudscore.fingerprint import fingerprint_batch
    from fraudscore.io import read_batch

    batch = read_batch(batch)
    fp = None
    if batch.valid.any():
        fp = fingerprints if fingerprints is not None else fingerprint_batch(batch, secret=secret)
    ids, valid, obs = _observed_rows(batch, fp, secret)
    return _all_rows(ids, valid, store.observe(obs, now=now) if len(valid) else None)


def backfill(data, store, *, secret=None, chunk_size: int = 20_000):
    """Record past submissions in a history store as if each had been recorded on arrival, and
    return each row's prior counts then: :func:`history_counts` for earlier traffic.

    For priming a new deployment's store with the submissions it would have seen, and for
    scoring such traffic as it would have been scored (``Scorer.score(rows, history=counts)``,
    what ``fraudscore evaluate`` does). The rows go in time order, an hour at a time
    (:meth:`~fraudscore.history.base.HistoryStore.backfill`), so rows of a period longer than
    the store's retention keep their history, which one :func:`history_counts` of them all
    would count as expired. A file is read in chunks; held: ~0.3 KB a row (hashes and counts).

    Parameters
    ----------
    data : records, DataFrame, Arrow table or batch, file path, SubmissionBatch, or a list of paths
        Several files are one period: their rows go into one time order.
    store : HistoryStore
    secret : str or bytes, optional
        The store's installation secret (fingerprints and identifier hashes).
    chunk_size : int
        Rows of a file read at a time.

    Returns
    -------
    HistoryCounts
        One row per input row (file rows in file order, files one after another); rows with
        reader errors are not recorded and get zero counts and ``replayed = True``.
    """
    from fraudscore.fingerprint import fingerprint_batch
    from fraudscore.io import iter_batches, read_batch

    def is_file(item) -> bool:
        return isinstance(item, (str, os.PathLike)) and not isinstance(item, bytes) and bool(Path(item).suffix)

    if is_file(data):
        batches = iter_batches(data, chunk_size)
    elif isinstance(data, (list, tuple)) and data and all(map(is_file, data)):
        batches = itertools.chain.from_iterable(iter_batches(path, chunk_size) for path in data)
    else:
        batches = [read_batch(data)]
    return _backfilled([_observed_rows(batch, fingerprint_batch(batch, secret=secret), secret) for batch in batches],
                       store)


def _backfilled(observed: list, store):
    """Backfill the rows of consecutive batches (their :func:`_observed_rows`) into ``store`` in
    one time order; HistoryCounts of every row, the batches' rows one after another."""
    from fraudscore.history import Observations

    counts = store.backfill(Observations.concat(obs for _, _, obs in observed))
    ids, valid, start = [], [], 0
    for batch_ids, batch_valid, _ in observed:
        ids.append(batch_ids)
        valid.append(batch_valid + start)
        start += len(batch_ids)
    return _all_rows(np.concatenate(ids) if ids else np.empty(0, object),
                     np.concatenate(valid) if valid else np.empty(0, np.int64), counts)


def _observed_rows(batch, fp, secret):
    """What :func:`history_counts` records of ``batch``: its submission ids, the indices of its
    rows without reader errors, and their :class:`~fraudscore.history.Observations` (``fp``: the
    batch's fingerprints; None when no row is valid)."""
    from fraudscore.history import Observations

    ids = np.asarray(batch.submission_id, dtype=object)
    valid = np.flatnonzero(batch.valid)
    if not len(valid):
        return ids, valid, Observations.concat([])
    t = np.asarray(batch.submitted_at_ms, dtype=np.float64)
    t = np.where(np.isnan(t), batch.started_at_ms, t)
    # A valid row without times still needs one; "now" keeps it inside the retention window.
    t = np.where(np.isnan(t), np.nanmax(t) if np.isfinite(t).any() else 0.0, t)
    obs = Observations.from_raw(
        ids[valid], np.asarray(batch.survey_id, dtype=object)[valid], t[valid].astype(np.int64),
        device_id=fp.device_id[valid], link_id=fp.link_id[valid],
        cookie=np.asarray(batch.column("device.cookie_id"), dtype=object)[valid],
        ip=np.asarray(batch.column("network.ip"), dtype=object)[valid],
        respondent_id=np.asarray(batch.column("respondent_id"), dtype=object)[valid],
        text=_joined_text(batch)[valid], secret=secret)
    return ids, valid, obs


def _own_history(batch, fp):
    """Training history counts of ``batch`` alone (fingerprints ``fp``): its rows backfilled in
    time order into a fresh store."""
    return _backfilled([_observed_rows(batch, fp, _TRAINING_SECRET)], _training_store())


def _all_rows(ids: np.ndarray, valid: np.ndarray, counts):
    """HistoryCounts of every row from the ``counts`` of the ``valid`` ones: the others get zero
    counts and ``replayed = True``."""
    from fraudscore.history import HistoryCounts
    from fraudscore.history.base import COLUMNS

    values = np.zeros((len(ids), len(COLUMNS)), np.int64)
    replayed = np.ones(len(ids), bool)
    if counts is not None:
        values[valid] = counts.values
        replayed[valid] = counts.replayed
    return HistoryCounts(ids, values, replayed)


#: ``training_summary_["history"]`` of a model whose history counts were backfilled for training.
_BACKFILLED = "backfilled in time order into a fresh MemoryStore"


def _telemetry_without_item_times() -> tuple[str, ...]:
    """Dotted keys of every telemetry series of the schema but the item times."""
    from fraudscore.schema import FIELDS

    series = {".".join(f.name.split(".")[:2]) for f in FIELDS if f.name.startswith("telemetry.")}
    return tuple(sorted(series - {"telemetry.item_ms"}))


#: What the extractor's reference statistics never read (``fit_file`` skips it in its sample):
#: every telemetry series but the item times, which the pace norm is fitted on.
_REFERENCE_SKIP = _telemetry_without_item_times()


# ================================================================================ labels
def _labels(y, n: int) -> np.ndarray:
    """0/1 int8 labels of shape (n,), or a ValueError that says what is wrong."""
    if y is None:
        raise ValueError("labels are required to train a FraudModel")
    raw = np.asarray(y)
    if raw.ndim != 1:
        raise ValueError(f"labels must be one-dimensional, got shape {raw.shape}")
    if len(raw) != n:
        raise ValueError(f"got {len(raw)} labels for {n} submissions; lengths must match")
    try:
        values = pd.to_numeric(pd.Series(raw, dtype=object if raw.dtype == object else None)).to_numpy(np.float64)
    except (ValueError, TypeError):
        raise ValueError("labels must be 0/1 or booleans") from None
    if np.isnan(values).any():
        raise ValueError(f"labels contain {int(np.isnan(values).sum())} missing (NaN/None) values")
    if not np.isin(values, (0.0, 1.0)).all():
        raise ValueError(f"labels must be 0/1 or booleans, got values {np.unique(values)[:5].tolist()}")
    return values.astype(np.int8)


def _training_store():
    """The throwaway store training counts history in (its key: see ``_TRAINING_SECRET``)."""
    from fraudscore.history import MemoryStore

    return MemoryStore(secret=_TRAINING_SECRET)


def _same_length(rows: int, labels: int, path) -> None:
    if rows != labels:
        raise ValueError(f"{Path(path).name} has {rows} rows but there are {labels} labels; "
                         "give one label per row, in file order")


def _checked_classes(y: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """The labels of the rows without reader errors, or a ValueError when there is nothing to
    learn from (no such row, or one class only)."""
    if not valid.any():
        raise ValueError("no submission without reader errors to train on")
    yv = y[valid]
    if len(np.unique(yv)) < 2:
        raise ValueError(f"training data has one class only (all {'fraud' if yv[0] else 'honest'} "
                         "among rows without reader errors); need both")
    return yv


def _odds_shift(p, ratio: float):
    """Multiply the odds of ``p`` by ``ratio`` (a monotone map of [0, 1] onto itself)."""
    p = np.asarray(p, dtype=np.float64)
    if ratio == 1.0:
        return p
    return ratio * p / (ratio * p + 1.0 - p)


# ================================================================================ model
class FraudModel(BaseEstimator):
    """Feature extraction + :class:`FraudClassifier` + decision thresholds chosen by false-positive rate.

    Parameters
    ----------
    surveys : sequence of SurveySpec, optional
        Surveys whose specs the feature extractor uses (matched on ``survey_id``).
    feature_families : sequence of str, optional
        Feature families to use (default: all).
    max_iter, learning_rate, max_leaf_nodes, min_samples_leaf, l2_regularization, calibration, n_threads
        Passed to :class:`FraudClassifier`.
    calibration_size : float
        Share of the *training* groups held out for calibration.
    validation_size : float
        Share of all groups held out for validation: thresholds and ``metrics_`` come from it.
    review_fpr, reject_fpr : float
        Target false-positive rates of the review and reject thresholds.
    use_history : bool
        Without given counts, observe the training data into a fresh in-memory history store
        (:func:`history_counts`) so that duplicate and velocity features are learned.
    history_dropout : float in [0, 1)
        Share of training rows whose history columns are blanked (NaN), so the model has seen
        rows scored without a history store.
    random_state : int, RandomState or None

    Attributes
    ----------
    extractor_ : FeatureExtractor
    classifier_ : FraudClassifier
    feature_names_ : ndarray of str, shape (n_features,)
    thresholds_ : dict
        ``{"review": float, "reject": float}`` in training-prior probability units.
    train_prior_ : float
        Fraud rate of the rows the probabilities were calibrated on.
    prior_ : float
        Fraud rate the scores are expressed for (``train_prior_`` unless :meth:`with_prior`).
    metrics_ : dict
        :func:`fraudscore.evaluation.binary_metrics` on the validation split, plus realised
        false-positive rates at the thresholds.
    training_summary_ : dict
        Row counts: read, excluded for reader errors, train / calibration / validation, fraud rate.
    schema_hash_ : str
        :func:`fraudscore.schema.schema_hash` at training time.
    """

    def __init__(self, *, surveys=None, feature_families=None, max_iter=200, learning_rate=0.1,
                 max_leaf_nodes=31, min_samples_leaf=20, l2_regularization=0.0, calibration="sigmoid",
                 calibration_size=0.2, validation_size=0.2, review_fpr=0.05, reject_fpr=0.01, use_history=True,
                 history_dropout=0.1, n_threads=None, random_state=0):
        self.surveys = surveys
        self.feature_families = feature_families
        self.max_iter = max_iter
        self.learning_rate = learning_rate
        self.max_leaf_nodes = max_leaf_nodes
        self.min_samples_leaf = min_samples_leaf
        self.l2_regularization = l2_regularization
        self.calibration = calibration
        self.calibration_size = calibration_size
        self.validation_size = validation_size
        self.review_fpr = review_fpr
        self.reject_fpr = reject_fpr
        self.use_history = use_history
        self.history_dropout = history_dropout
        self.n_threads = n_threads
        self.random_state = random_state

    # ------------------------------------------------------------------ training
    def _classifier(self, random_state) -> FraudClassifier:
        return FraudClassifier(max_iter=self.max_iter, learning_rate=self.learning_rate,
                               max_leaf_nodes=self.max_leaf_nodes, min_samples_leaf=self.min_samples_leaf,
                               l2_regularization=self.l2_regularization, calibration=self.calibration,
                               calibration_size=self.calibration_size, n_threads=self.n_threads,
                               random_state=random_state)

    def _check_params(self) -> None:
        if not 0.0 < self.validation_size < 1.0:
            raise ValueError(f"validation_size must be in (0, 1), got {self.validation_size!r}")
        if not 0.0 <= self.reject_fpr <= self.review_fpr <= 1.0:
            raise ValueError("need 0 <= reject_fpr <= review_fpr <= 1 "
                             f"(got reject_fpr={self.reject_fpr!r}, review_fpr={self.review_fpr!r})")
        if not 0.0 <= self.history_dropout < 1.0:
            raise ValueError(f"history_dropout must be in [0, 1), got {self.history_dropout!r}")

    def features(self, X, history=None) -> np.ndarray:
        """The fitted extractor's feature matrix, shape (n_submissions, n_features), float32."""
        check_is_fitted(self, "extractor_")
        return self.extractor_.transform(X, history=history)

    def fit(self, X, y, groups=None, history=None):
        """Train on labelled submissions.

        Parameters
        ----------
        X : records, DataFrame, Arrow table, file path or SubmissionBatch
            n submissions; rows with reader errors are left out (counted in ``training_summary_``).
        y : array-like of shape (n,)
            1 = fraud, 0 = honest (booleans accepted).
        groups : array-like of shape (n,), optional
            Identity groups kept on one side of every split (e.g. from
            :func:`fraudscore.evaluation.group_ids` of person and device labels). Default:
            connected components of link id, device id and respondent id.
        history : HistoryCounts, optional
            Prior counts of these rows; default (when ``use_history``): backfilled in time order
            into a fresh :class:`MemoryStore` (:meth:`~fraudscore.history.base.HistoryStore.backfill`),
            so rows of data spanning more than the retention keep their history.

        Returns
        -------
        self
        """
        from fraudscore.fingerprint import fingerprint_batch
        from fraudscore.io import read_batch

        self._check_params()
        batch = read_batch(X)
        y = _labels(y, batch.n)
        if groups is not None and len(groups) != batch.n:
            raise ValueError(f"got {len(groups)} groups for {batch.n} submissions; lengths must match")
        valid = np.asarray(batch.valid)
        yv = _checked_classes(y, valid)

        rng, split_seed, clf_seed = self._seeds()
        history_source = "given" if history is not None else (_BACKFILLED if self.use_history else "none")
        count_history = history is None and self.use_history
        fp = fingerprint_batch(batch, secret=_TRAINING_SECRET) if groups is None or count_history else None
        if count_history:
            history = _own_history(batch, fp)
        if groups is None:
            groups = group_ids(fp.link_id, fp.device_id, np.asarray(batch.column("respondent_id"), dtype=object))
        groups = np.asarray(groups)[valid]

        # Reference statistics are unsupervised (medians, covariances), so fitting them on every
        # valid row, validation included, leaks no label.
        self._fit_extractor(batch)
        F = self.extractor_.transform(batch, history=history)[valid]
        return self._fit_matrix(F, yv, groups, rng, split_seed, clf_seed,
                                rows_read=batch.n, history_source=history_source)

    def fit_file(self, path, y, chunk_size: int = 20_000, fit_rows: int = 50_000, progress: bool = False):
        """Train on a labelled Parquet or JSONL file read in chunks: memory follows the chunk size
        and the feature matrix, not the file.

        The same training as :meth:`fit` on the whole file, in three passes over it: fingerprints,
        groups and keyed history observations of every row; the extractor's reference statistics
        from ``fit_rows`` rows drawn at random (every row of a smaller file, which then gives
        :meth:`fit`'s model exactly); the feature matrix chunk by chunk. Held at once: one chunk,
        the sample, and per row the features (~0.6 KB), history counts and hashes (~0.3 KB).

        Parameters
        ----------
        path : str or Path
            Submissions, one per row, in any order.
        y : array-like of shape (n,)
            1 = fraud, 0 = honest, one per row of the file (:func:`fraudscore.labels.read_labels`).
        chunk_size : int
            Rows read at a time.
        fit_rows : int
            Rows the extractor's reference statistics (survey duration medians, Likert means and
            covariance) are fitted on, read without their telemetry but item times (~1-2 KB a row).
        progress : bool
            Show a progress bar for the two passes over every row.

        Returns
        -------
        self
        """
        import pyarrow.parquet as pq
        from tqdm.auto import tqdm

        from fraudscore.features.extractor import _rows_of
        from fraudscore.fingerprint import fingerprint_batch
        from fraudscore.io import check_input_file, iter_batches, read_rows

        self._check_params()
        if fit_rows < 1:
            raise ValueError("fit_rows must be at least 1")
        y = _labels(y, len(y))
        if check_input_file(path) == "parquet":  # its footer says how many rows: refuse before reading them
            _same_length(pq.read_metadata(path).num_rows, len(y), path)

        def passing(desc: str):
            """The file's batches, counted on a progress bar (the labels give the row count)."""
            with tqdm(total=len(y), unit="rows", desc=desc, disable=not progress) as bar:
                for batch in iter_batches(path, chunk_size):
                    yield batch
                    bar.update(batch.n)

        rng, split_seed, clf_seed = self._seeds()
        valid, ids, observed = [], [], []
        for batch in passing("train: ids and history"):
            fp = fingerprint_batch(batch, secret=_TRAINING_SECRET)
            valid.append(np.asarray(batch.valid))
            ids.append((fp.link_id, fp.device_id, np.asarray(batch.column("respondent_id"), dtype=object)))
            if self.use_history:
                observed.append(_observed_rows(batch, fp, _TRAINING_SECRET))
        valid = np.concatenate(valid) if valid else np.zeros(0, bool)
        _same_length(len(valid), len(y), path)
        yv = _checked_classes(y, valid)
        groups = group_ids(*(np.concatenate(column) for column in zip(*ids)))[valid]
        del ids
        history = _backfilled(observed, _training_store()) if self.use_history else None
        del observed

        n = len(valid)
        sample = np.arange(n) if n <= fit_rows else np.random.default_rng(split_seed).choice(n, fit_rows, replace=False)
        # The reference statistics read times, survey ids, answers and item times, no other
        # telemetry (most of a row's size): the sample is read without it.
        self._fit_extractor(read_rows(path, sample, chunk_size, skip=_REFERENCE_SKIP))
        F = np.empty((len(yv), len(self.feature_names_)), dtype=np.float32)
        at, row = 0, 0
        for batch in passing("train: features"):
            part = self.extractor_.transform(batch, history=_rows_of(history, row, row + batch.n))
            part = part[np.asarray(batch.valid)]
            F[at:at + len(part)] = part
            at, row = at + len(part), row + batch.n
        return self._fit_matrix(F, yv, groups, rng, split_seed, clf_seed, rows_read=n,
                                history_source=_BACKFILLED if self.use_history else "none")

    def _fit_independent(self, samples):
        """Train on independent samples of traffic, each observed into its own history store.

        :meth:`fit` of all their rows, except that no row counts as history of another sample's
        rows (separate surveys' weeks, say, or the simulator's weeks: one simulated week of many
        times the rows would be denser traffic than any one deployment sees). Samples are read one
        at a time, so memory holds one sample's batch plus every row's features. The extractor's
        reference statistics are fitted on the first sample: one sample gives :meth:`fit`'s model.

        Parameters
        ----------
        samples : iterable of (X, y, groups)
            As :meth:`fit` takes them; ``groups`` is required. Groups of different samples never
            merge.

        Returns
        -------
        self
        """
        from fraudscore.fingerprint import fingerprint_batch
        from fraudscore.io import read_batch

        self._check_params()
        rng, split_seed, clf_seed = self._seeds()
        features, labels, group_codes, rows_read, offset = [], [], [], 0, 0
        for X, y, groups in samples:
            batch = read_batch(X)
            y = _labels(y, batch.n)
            if groups is None or len(groups) != batch.n:
                raise ValueError(f"each sample needs one group per submission ({batch.n})")
            valid = np.asarray(batch.valid)
            history = None
            if self.use_history:
                fp = fingerprint_batch(batch, secret=_TRAINING_SECRET)
                history = _own_history(batch, fp)
            if not features:
                self._fit_extractor(batch)
            features.append(self.extractor_.transform(batch, history=history)[valid])
            labels.append(y[valid])
            # Ranks keep the order of each sample's groups (so one sample splits as fit splits it)
            # and the offset keeps samples apart.
            codes = np.unique(np.asarray(groups)[valid], return_inverse=True)[1].astype(np.int64)
            group_codes.append(codes + offset)
            offset += int(codes.max()) + 1 if len(codes) else 0
            rows_read += batch.n
            del batch, history
        if not features:
            raise ValueError("no sample to train on")
        yv = _checked_classes(np.concatenate(labels), np.ones(sum(map(len, labels)), bool))
        F = features[0] if len(features) == 1 else np.concatenate(features)
        del features
        source = "none"
        if self.use_history:
            source = _BACKFILLED if len(labels) == 1 else \
                f"each of the {len(labels)} samples (independent traffic) {_BACKFILLED} of its own"
        return self._fit_matrix(F, yv, np.concatenate(group_codes), rng, split_seed, clf_seed,
                                rows_read=rows_read, history_source=source)

    def _seeds(self):
        """(random state, split seed, classifier seed) of a training run, from ``random_state``."""
        rng = check_random_state(self.random_state)
        split_seed, clf_seed = (int(s) for s in rng.randint(0, 2**31 - 1, size=2))
        return rng, split_seed, clf_seed

    def _fit_extractor(self, data) -> None:
        """Fit the feature extractor's reference statistics on ``data`` (unsupervised)."""
        from fraudscore.features.extractor import FeatureExtractor

        self.extractor_ = FeatureExtractor(surveys=self.surveys, families=self.feature_families).fit(data)
        self.feature_names_ = self.extractor_.get_feature_names_out()

    def _fit_matrix(self, F, yv, groups, rng, split_seed: int, clf_seed: int, rows_read: int,
                    history_source: str):
        """The rest of :meth:`fit` once the valid rows' features ``F`` exist: grouped split,
        classifier, thresholds on the validation split, metrics and summary."""
        from fraudscore.schema import schema_hash

        train, val = grouped_split(groups, self.validation_size, random_state=split_seed)
        if len(np.unique(yv[train])) < 2 or not (yv[val] == 0).any():
            raise ValueError("too little data: the grouped split left one class only in training, or "
                             "no honest row for validation; give more rows")
        if self.history_dropout > 0:
            # Training rows only: validation (and so the thresholds) should look like a deployment
            # that has its history store.
            blank = train[rng.random_sample(len(train)) < self.history_dropout]
            cols = np.flatnonzero(np.char.startswith(self.feature_names_.astype(str), "history."))
            F[np.ix_(blank, cols)] = np.nan
        self.classifier_ = self._classifier(clf_seed).fit(F[train], yv[train], groups=groups[train])
        p_val = self.classifier_.predict_proba(F[val])[:, 1]
        neg = p_val[yv[val] == 0]
        self.thresholds_ = {"review": threshold_at_fpr(neg, self.review_fpr),
                            "reject": threshold_at_fpr(neg, self.reject_fpr)}
        self.train_prior_ = float(yv[train].mean())
        self.prior_ = self.train_prior_
        m = binary_metrics(yv[val], p_val)
        m["review_fpr"] = float((neg >= self.thresholds_["review"]).mean())
        m["reject_fpr"] = float((neg >= self.thresholds_["reject"]).mean())
        pos = p_val[yv[val] == 1]
        m["review_recall"] = float((pos >= self.thresholds_["review"]).mean()) if len(pos) else float("nan")
        m["reject_recall"] = float((pos >= self.thresholds_["reject"]).mean()) if len(pos) else float("nan")
        self.metrics_ = {"split": "validation", **m}
        self.training_summary_ = {
            "rows_read": int(rows_read),
            "rows_excluded_reader_errors": int(rows_read - len(yv)),
            "rows_train": int(len(train) - self.classifier_.n_calibration_),
            "rows_calibration": int(self.classifier_.n_calibration_),
            "rows_validation": int(len(val)),
            "groups": int(len(np.unique(groups))),
            "fraud_rate": float(yv.mean()),
            "history": history_source,
        }
        self.schema_hash_ = schema_hash()
        return self

    # ------------------------------------------------------------------ scoring
    def predict_proba(self, X, history=None) -> np.ndarray:
        """[P(honest), P(fraud)] per row, shape (n, 2); NaN for rows with reader errors.

        Parameters
        ----------
        X : records, DataFrame, Arrow table, file path or SubmissionBatch
        history : HistoryCounts, optional
            Prior counts for these rows (without them the history features are unknown).
        """
        from fraudscore.io import read_batch

        check_is_fitted(self, "classifier_")
        batch = read_batch(X)
        out = np.full((batch.n, 2), np.nan)
        valid = np.asarray(batch.valid)
        if valid.any():
            F = self.extractor_.transform(batch, history=history)[valid]
            p = self.adjust(self.classifier_.predict_proba(F)[:, 1])
            out[valid, 1] = p
            out[valid, 0] = 1.0 - p
        return out

    def score(self, X, history=None) -> np.ndarray:
        """Calibrated P(fraud) per row, shape (n,); NaN for rows with reader errors."""
        return self.predict_proba(X, history=history)[:, 1]

    def decision_function(self, X, history=None) -> np.ndarray:
        """Log-odds of fraud per row, shape (n,) (monotone in :meth:`score`; clipped at +-36)."""
        p = np.clip(self.score(X, history=history), 1e-16, 1 - 1e-16)
        return np.log(p) - np.log1p(-p)

    @staticmethod
    def risk(p) -> np.ndarray:
        """Risk 0-100 (one decimal) from scores, shape (n,); NaN stays NaN."""
        return np.round(100.0 * np.asarray(p, dtype=np.float64), 1)

    def adjust(self, p) -> np.ndarray:
        """Express the classifier's calibrated P(fraud) for this model's prior (see :meth:`with_prior`).

        For scorers that evaluate ``classifier_`` themselves (e.g. a compiled forest); identity
        unless :meth:`with_prior` was used.

        Parameters
        ----------
        p : array-like of shape (n,)
            ``classifier_.predict_proba(F)[:, 1]``.
        """
        return _odds_shift(p, self._ratio())

    def _ratio(self) -> float:
        prior, train = self.prior_, self.train_prior_
        return (prior / (1 - prior)) / (train / (1 - train))

    @property
    def thresholds(self) -> dict:
        """Review and reject thresholds in the units of :meth:`score` (after :meth:`with_prior`)."""
        check_is_fitted(self, "thresholds_")
        r = self._ratio()
        return {k: float(_odds_shift(v, r)) for k, v in self.thresholds_.items()}

    def decide(self, p) -> np.ndarray:
        """``"accept"``, ``"review"``, ``"reject"`` (or ``"error"`` for NaN) per score, shape (n,)."""
        p = np.asarray(p, dtype=np.float64)
        t = self.thresholds
        # An index into one object array of labels: no fixed-width string arrays to build and convert.
        level = (p >= t["review"]).astype(np.intp)
        level[p >= t["reject"]] = 2
        level[np.isnan(p)] = 3
        return _DECISIONS[level]

    def with_prior(self, fraud_rate: float) -> FraudModel:
        """A copy whose scores are calibrated for a deployment fraud rate ``fraud_rate``.

        Bayes' rule under prior shift (the look of each fraud and honest row unchanged, only their
        mix): the odds of every score are multiplied by
        ``(fraud_rate / (1 - fraud_rate)) / (train_prior / (1 - train_prior))``. The thresholds
        go through the same monotone map, so they select the same rows and keep their
        false-positive-rate meaning (5 % / 1 % of honest rows); only the probabilities change.

        Parameters
        ----------
        fraud_rate : float in (0, 1)
        """
        check_is_fitted(self, "train_prior_")
        if not 0.0 < fraud_rate < 1.0:
            raise ValueError(f"fraud_rate must be in (0, 1), got {fraud_rate!r}")
        other = copy.deepcopy(self)
        other.prior_ = float(fraud_rate)
        return other

    # ------------------------------------------------------------------ persistence
    def manifest(self, model_sha256: str, metrics: dict | None = None, extra: dict | None = None) -> dict:
        """The manifest dict written by :meth:`save` (see there)."""
        import joblib
        import scipy
        import sklearn

        import fraudscore

        check_is_fitted(self, "classifier_")
        names = [str(n) for n in self.feature_names_]
        params = {k: v for k, v in self.get_params().items() if k != "surveys"}
        params["surveys"] = [getattr(s, "survey_id", str(s)) for s in (self.surveys or ())]
        return {
            "format": MANIFEST_FORMAT,
            "model_version": f"{fraudscore.__version__}+{model_sha256[:12]}",
            "model_file": MODEL_FILE,
            "model_sha256": model_sha256,
            "schema_hash": self.schema_hash_,
            "feature_names": names,
            "feature_names_sha256": hashlib.sha256("\n".join(names).encode()).hexdigest(),
            "versions": {"fraudscore": fraudscore.__version__, "scikit-learn": sklearn.__version__,
                         "numpy": np.__version__, "scipy": scipy.__version__, "joblib": joblib.__version__,
                         "python": platform.python_version()},  # scipy: the calibration fit's optimiser
            "params": params,
            "training": self.training_summary_,
            "prior": {"train": self.train_prior_, "current": self.prior_},
            "thresholds": {**self.thresholds, "review_fpr": self.review_fpr, "reject_fpr": self.reject_fpr,
                           "chosen_on": "validation split"},
            "metrics": {"validation": self.metrics_, **(metrics or {})},
            **(extra or {}),
        }

    def save(self, directory, metrics: dict | None = None, extra: dict | None = None) -> Path:
        """Write ``model.joblib``, ``manifest.json`` and ``MODEL_CARD.md`` into ``directory``.

        Parameters
        ----------
        directory : str or Path
            Created if needed; existing files of these names are replaced.
        metrics : dict, optional
            More metrics for the manifest (e.g. ``{"test": ...}``), next to the validation ones.
        extra : dict, optional
            More top-level manifest entries (e.g. the command that trained the model).

        Returns
        -------
        Path of the directory.
        """
        import joblib

        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / MODEL_FILE
        joblib.dump(self, path, compress=3)
        manifest = self.manifest(_sha256(path), metrics=metrics, extra=extra)
        (directory / MANIFEST_FILE).write_text(json.dumps(_jsonable(manifest), indent=2, sort_keys=False) + "\n")
        (directory / CARD_FILE).write_text(model_card(manifest))
        return directory


# ================================================================================ persistence
def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _jsonable(value):
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return None if not np.isfinite(value) else float(value)
    if isinstance(value, np.ndarray):
        return _jsonable(value.tolist())
    return value


def default_model_dir() -> Path:
    """Directory of the shipped default model.

    ``fraudscore/_models/default`` inside an installed wheel (pyproject force-includes ``models``
    there), else ``<repository>/models/default`` in a source checkout.
    """
    from importlib import resources

    try:
        shipped = Path(str(resources.files("fraudscore") / "_models" / "default"))
        if (shipped / MANIFEST_FILE).is_file():
            return shipped
    except (ModuleNotFoundError, TypeError):  # pragma: no cover - zipped or unusual installs
        pass
    return Path(__file__).resolve().parent.parent / "models" / "default"


def load_model(directory=None) -> FraudModel:
    """Load a saved :class:`FraudModel`, refusing anything that does not check out.

    Order of checks: ``manifest.json`` is read; the sha256 of ``model.joblib`` must equal the
    manifest's (so a tampered or truncated file is refused *without being unpickled*); the
    manifest's input-schema hash must equal this code's; only then is the file unpickled, and the
    model's own schema hash and feature names must match the manifest and this code.

    The hash proves the file is the one the manifest describes, not who wrote it: load only
    model directories you trust (unpickling runs code).

    Parameters
    ----------
    directory : str or Path, optional
        A directory written by :meth:`FraudModel.save`; default :func:`default_model_dir`.

    Raises
    ------
    ModelIntegrityError
        Missing files, unreadable manifest, sha256 mismatch, not a FraudModel.
    SchemaMismatchError
        Trained for another input schema or feature set than this code's.
    """
    import joblib

    from fraudscore.features.registry import features
    from fraudscore.schema import schema_hash

    directory = Path(directory) if directory is not None else default_model_dir()
    manifest_path, model_path = directory / MANIFEST_FILE, directory / MODEL_FILE
    if not directory.is_dir():
        raise ModelIntegrityError(f"{directory}: no such model directory")
    if not manifest_path.is_file():
        raise ModelIntegrityError(f"{manifest_path}: no manifest; refusing to load a model without one")
    try:
        manifest = json.loads(manifest_path.read_text())
        expected = str(manifest["model_sha256"])
    except (ValueError, KeyError, TypeError) as exc:
        raise ModelIntegrityError(f"{manifest_path}: unreadable manifest ({exc}); refusing to load") from None
    if not model_path.is_file():
        raise ModelIntegrityError(f"{model_path}: missing")
    actual = _sha256(model_path)
    if actual != expected:
        raise ModelIntegrityError(
            f"{model_path}: sha256 {actual} differs from the manifest's {expected}; the file was altered "
            "or truncated, so it was not unpickled")
    current = schema_hash()
    if manifest.get("schema_hash") != current:
        raise SchemaMismatchError(
            f"{directory}: model trained for input schema {manifest.get('schema_hash')}, this code has "
            f"{current}; retrain the model (fraudscore train)")
    model = joblib.load(model_path)
    if not isinstance(model, FraudModel):
        raise ModelIntegrityError(f"{model_path}: holds a {type(model).__name__}, not a FraudModel")
    names = [str(n) for n in model.feature_names_]
    if model.schema_hash_ != manifest["schema_hash"] or names != manifest.get("feature_names"):
        raise ModelIntegrityError(f"{model_path}: model and manifest disagree on schema or features")
    enabled = set(model.feature_families) if model.feature_families is not None else None
    code_names = [f.name for f in features() if enabled is None or f.family in enabled]
    if names != code_names:
        missing, new = sorted(set(names) - set(code_names)), sorted(set(code_names) - set(names))
        raise SchemaMismatchError(
            f"{directory}: model features differ from this code's (gone: {missing[:5]}, new: {new[:5]}, "
            "or reordered); retrain the model")
    model.model_version_ = manifest.get("model_version")
    return model


# ================================================================================ model card
def _fmt(v) -> str:
    return "n/a" if v is None or (isinstance(v, float) and not np.isfinite(v)) else (
        f"{v:.4f}" if isinstance(v, float) else str(v))


def _families_of(feature_names) -> list[str]:
    """The feature families a model's columns come from, in the registry's order."""
    from fraudscore.features.registry import FAMILIES

    prefixes = {name.split(".", 1)[0] for name in feature_names}
    return [family for family in FAMILIES if family in prefixes] + sorted(prefixes - set(FAMILIES))


#: What "reproduce" means for a trained model. The shipped model retrained on 2026-12-07, on another
#: host than the one that trained it, had the same trees, feature statistics and thresholds, its
#: calibration's parameters 1-2 ulp apart, scores at most 2.2e-16 apart (5,000 rows, no decision
#: changed) and another sha256; three retrains on that host gave one sha256.
_REPRODUCIBLE = (
    "On one machine the command gives the same model file, byte for byte. On another machine (another "
    "CPU, whose instruction set picks the floating-point kernels, or another SciPy) it gives the same "
    "trees, feature statistics and thresholds, but the calibration's fitted values can differ in their "
    "last bits, and so can the file's sha256; scores then differ by about 1e-16.")


def model_card(manifest: dict) -> str:
    """MODEL_CARD.md text for a manifest."""
    t, m, tr = manifest["thresholds"], manifest["metrics"]["validation"], manifest["training"]
    sim = manifest.get("simulation", {})
    lines = [
        f"# fraudscore model {manifest['model_version']}",
        "",
        "## Intended use",
        "Scores online survey submissions for fraud (bots, LLM agents, click and emulator farms, "
        "duplicate respondents, geo fraud, careless responding): `score` is a calibrated P(fraud), "
        "`risk` is 100 x score, `decision` is accept / review / reject. Use it to hold incentives for "
        "review, not as the sole ground for sanctioning a person: a score is evidence, not proof.",
        "",
        "## Training data",
    ]
    own = manifest.get("data", {})
    for source, intro, per_family in (
            (sim, f"Simulated by `fraudscore.simulate` (n={sim.get('n')}, seed={sim.get('seed')}, "
                  f"difficulty={sim.get('difficulty')}, fraud_rate={sim.get('fraud_rate')}"
                  + (f"; {len(sim['weeks'])} independent weeks of {max(sim['weeks'])} rows or fewer, each with "
                     "its own history" if len(sim.get("weeks") or ()) > 1 else "")
                  + "); no real person's data. Reproduce with:", "Rows per family"),
            (own, f"Labelled submissions from `{own.get('file')}` (sha256 `{own.get('sha256')}`): "
                  f"{own.get('rows')} rows, {own.get('fraud')} labelled fraud by `{own.get('label')}`. "
                  "Reproduce with the same file:", "Fraud rows per family")):
        if source:
            lines += [intro, "", "```", str(manifest.get("command", "")), "```", "", _REPRODUCIBLE, ""]
            families = source.get("families") or {}
            if families:
                lines += [f"{per_family}: " + ", ".join(f"{k} {v}" for k, v in families.items()) + ".", ""]
    lines += [
        f"Rows read {tr['rows_read']}, excluded for reader errors {tr['rows_excluded_reader_errors']}; "
        f"train {tr['rows_train']}, calibration {tr['rows_calibration']}, validation {tr['rows_validation']} "
        f"(split by {tr['groups']} person/device groups, so no device or person is on two sides). "
        f"Fraud rate {tr['fraud_rate']:.3f}. History: {tr['history']}.",
        "",
        "## Model",
        f"{len(manifest['feature_names'])} features (families: {', '.join(_families_of(manifest['feature_names']))}; "
        "see docs/FEATURES.md) -> HistGradientBoostingClassifier -> "
        f"{manifest['params'].get('calibration')} calibration on a held-out calibration split. "
        f"Input schema hash `{manifest['schema_hash'][:16]}...`; versions {manifest['versions']}.",
        "",
        "## Thresholds",
        f"review at score >= {_fmt(t['review'])} (target FPR {t['review_fpr']:.0%}), reject at score >= "
        f"{_fmt(t['reject'])} (target FPR {t['reject_fpr']:.0%}), chosen on the validation split. "
        f"Scores are calibrated for a fraud rate of {manifest['prior']['current']:.3f}; "
        "`FraudModel.with_prior(rate)` re-expresses them for another deployment fraud rate and keeps "
        "the thresholds' false-positive meaning.",
        "",
        f"## Metrics (validation split of the training {'data' if own else 'seed'})",
        "| metric | value |",
        "|---|---|",
    ]
    for key in ("roc_auc", "pr_auc", "recall_at_1pct_fpr", "recall_at_5pct_fpr", "ece", "review_fpr",
                "reject_fpr", "review_recall", "reject_recall"):
        lines.append(f"| {key} | {_fmt(m.get(key))} |")
    surveys = ", ".join(manifest["params"].get("surveys") or ["none"])
    if own:
        lines += [
            "",
            "Measure it on labelled data it never saw (a later period, another panel) with "
            "`fraudscore evaluate DATA --model DIR`.",
            "",
            "## Limits",
            "- The labels are only as good as their source: fraud labelled honest teaches the model to "
            "pass it, and an attack absent from the labelled rows scores lower.",
            f"- Survey-specific reference statistics were fitted for the surveys given ({surveys}); "
            "other surveys fall back to generic references.",
        ]
    else:
        lines += [
            "",
            "Held-out-seed, per-family, hardest-difficulty and leave-one-family-out figures: "
            "docs/EVALUATION.md (`python -m fraudscore.evaluation`).",
            "",
            "## Limits",
            "- Trained on simulated traffic only: real attackers differ from the simulator's families, and "
            "an attack nobody modelled scores lower (see the leave-one-family-out figures).",
            f"- Survey-specific reference statistics were fitted for the simulated survey ({surveys}); other "
            "surveys fall back to generic references. Retrain with your labelled data for a production deployment.",
        ]
    lines += [
        "- Duplicate and velocity features need a history store at scoring time; without one they are "
        "unknown and duplicates are caught only by their other tells.",
        "- Probabilities assume the training fraud rate; use `with_prior` when yours differs.",
        "- The sha256 check proves the model file matches its manifest, not who wrote it: load model "
        "directories only from sources you trust.",
        "",
        "## Privacy",
        ("The model holds tree thresholds, calibration points and reference statistics (per-survey "
         "duration medians, answer means and covariances) computed from the training submissions: no "
         "submission, identifier or text. Keep it under the access rules of the data it came from. "
         if own else "The model holds tree thresholds and reference statistics of simulated data, no submissions. ")
        + "Scoring uses usage and analytics data only with the respondent's consent (otherwise those "
        "features are unknown); history stores keep keyed hashes, never raw IPs, user agents or text "
        "(docs/PRIVACY.md).",
        "",
    ]
    return "\n".join(lines)


# ================================================================================ training command
#: Rows of one simulated week when training on simulated traffic (``train_default``'s
#: ``week_rows``): the density of the shipped model's training traffic. More rows come as more
#: independent weeks, each with its own history, not as denser traffic in one week.
WEEK_ROWS = 60_000


def simulated_week_seeds(seed: int, weeks: int) -> list[int]:
    """Simulator seeds of the weeks ``train_default`` simulates: the first is ``seed`` itself (one
    week is ``simulate(n, seed=seed)``), the others derived from it (``SeedSequence``), so that
    trainings with neighbouring seeds share no week."""
    if weeks < 1:
        raise ValueError("need at least one week")
    derived = np.random.SeedSequence([seed, 0x5EED]).generate_state(weeks - 1, dtype=np.uint32)
    return [int(seed)] + [int(s) for s in derived]


def simulated_weeks(sizes, seeds, fraud_rate: float = 0.1, difficulty="default", families: dict | None = None):
    """``(data, labels, groups)`` of independent simulated weeks, one at a time, as
    :meth:`FraudModel._fit_independent` takes them; groups from the simulator's ground truth.
    ``families``, when given, counts the rows of each family as the weeks go by."""
    from fraudscore.simulation import simulate

    for size, week_seed in zip(sizes, seeds):
        sim = simulate(size, fraud_rate=fraud_rate, difficulty=difficulty, seed=week_seed, output="arrow")
        if families is not None:
            for k, v in sim.labels["family"].value_counts().items():
                families[str(k)] = families.get(str(k), 0) + int(v)
        groups = group_ids(sim.labels["person_id"].to_numpy(), sim.labels["device_key"].to_numpy())
        yield sim.data, sim.labels["is_fraud"].to_numpy(), groups


def train_default(n: int = 40_000, seed: int = 0, output="models/default", difficulty="default",
                  fraud_rate: float = 0.1, week_rows: int = WEEK_ROWS, **params) -> str:
    """Train a model on simulated data and save it: what ``fraudscore train --simulate N`` runs.

    The simulator spreads its rows over one week, so ``n`` rows in one simulation are traffic
    ``n / week_rows`` times as dense as ``week_rows``. More than ``week_rows`` rows are therefore
    simulated as independent weeks of at most ``week_rows`` rows (seeds from
    :func:`simulated_week_seeds`), each observed into its own history store
    (:meth:`FraudModel._fit_independent`); memory holds one week at a time. Groups come from the
    simulator's ground truth (``person_id``, ``device_key``), so no person or device is on both
    sides of the calibration or validation split.

    Parameters
    ----------
    n : int
        Simulated submissions.
    seed : int
        Simulator and model seed.
    output : str or Path
        Model directory to write.
    difficulty : str or float
        Simulator difficulty.
    fraud_rate : float
        Simulated fraud share.
    week_rows : int
        Most rows in one simulated week.
    **params
        :class:`FraudModel` parameters other than ``surveys`` and ``random_state`` (e.g.
        ``n_threads=1`` on a busy machine).

    Returns
    -------
    str
        A short human summary (also what the CLI prints).
    """
    import time

    from fraudscore.simulation import default_survey

    if n < 1 or week_rows < 1:
        raise ValueError(f"need n >= 1 and week_rows >= 1, got n={n}, week_rows={week_rows}")
    start = time.perf_counter()
    weeks = -(-n // week_rows)
    sizes = [n // weeks + (1 if j < n % weeks else 0) for j in range(weeks)]  # as even as whole rows allow
    seeds = simulated_week_seeds(seed, weeks)
    families: dict = {}
    model = FraudModel(surveys=[default_survey()], random_state=seed, **params)
    model._fit_independent(simulated_weeks(sizes, seeds, fraud_rate, difficulty, families))
    extra = {
        "command": f"fraudscore train --simulate {n} --seed {seed}"
                   + (f" --difficulty {difficulty}" if difficulty != "default" else "")
                   + (f" --fraud-rate {fraud_rate}" if fraud_rate != 0.1 else "")
                   + (f" --week-rows {week_rows}" if week_rows != WEEK_ROWS else "") + f" -o {output}",
        "simulation": {"n": n, "seed": seed, "difficulty": difficulty, "fraud_rate": fraud_rate,
                       "week_rows": week_rows, "weeks": sizes, "week_seeds": seeds,
                       "families": dict(sorted(families.items()))},
    }
    model.save(output, extra=extra)
    shape = f"{n} simulated submissions" + (f" in {weeks} independent weeks" if weeks > 1 else "")
    return _trained(model, f"{shape} (seed {seed}, difficulty {difficulty})", time.perf_counter() - start, output)


def train_file(data, output, label: str = "label.is_fraud", survey=None, seed: int = 0, chunk_size: int = 20_000,
               progress: bool = False, **params) -> str:
    """Train a model on a labelled file of real submissions and save it: what ``fraudscore train
    DATA`` runs.

    The file is an input file (Parquet or JSONL) whose rows also carry a 0/1 label at the dotted
    path ``label`` (:mod:`fraudscore.labels`). No row of one device or respondent is on both
    sides of a split: the groups are :meth:`FraudModel.fit`'s default, connected components of
    link id, device id and respondent id. History features come from backfilling the file in time
    order into a fresh in-memory store, as a deployment's store would have seen it. The file is
    read in chunks (:meth:`FraudModel.fit_file`), so its size is bounded by disk, not memory.

    Parameters
    ----------
    data : str or Path
        Labelled submissions.
    output : str or Path
        Model directory to write.
    label : str
        Dotted path of the label in each row.
    survey : SurveySpec or path of its JSON, optional
        The survey the submissions answered (its country and languages feed the network features).
    seed : int
        Model seed (splits and trees).
    chunk_size : int
        Rows read at a time (:meth:`FraudModel.fit_file`: the file is never held whole).
    progress : bool
        Progress bars for the passes over the file.
    **params
        :class:`FraudModel` parameters other than ``surveys`` and ``random_state``.

    Returns
    -------
    str
        A short human summary (also what the CLI prints).
    """
    import time

    from fraudscore.labels import read_labels
    from fraudscore.schema import FIELD_BY_NAME
    from fraudscore.survey import SurveySpec

    read = [name for name in FIELD_BY_NAME if name == label or name.startswith(label + ".")
            or label.startswith(name + ".")]
    if read:
        raise ValueError(f"label {label!r} is inside the input contract ({read[0]}), which the features read: "
                         "the label would leak into them; keep labels outside it (e.g. label.is_fraud)")
    start = time.perf_counter()
    path = Path(data)
    survey_file = None
    if survey is not None and not isinstance(survey, SurveySpec):
        survey_file, survey = survey, SurveySpec.from_json(survey)
    labels = read_labels(path, label=label)
    model = FraudModel(surveys=[survey] if survey is not None else None, random_state=seed, **params)
    model.fit_file(path, labels.is_fraud, chunk_size=chunk_size, progress=progress)
    fraud = labels.family[labels.is_fraud == 1]
    extra = {
        "command": f"fraudscore train {path.name}" + (f" --label {label}" if label != "label.is_fraud" else "")
                   + (f" --survey {survey_file}" if survey_file is not None else "")
                   + (f" --seed {seed}" if seed else "") + f" -o {output}",
        "data": {"file": path.name, "sha256": _sha256(path), "rows": int(len(labels.is_fraud)),
                 "fraud": int(len(fraud)), "label": label,
                 "survey_id": survey.survey_id if survey is not None else None,
                 "families": {str(k): int(v) for k, v in zip(*np.unique(fraud.astype(str), return_counts=True))}},
    }
    model.save(output, extra=extra)
    return _trained(model, f"{len(labels.is_fraud)} submissions of {path.name} ({len(fraud)} fraud)",
                    time.perf_counter() - start, output)


def _trained(model: FraudModel, source: str, seconds: float, output) -> str:
    """The one-paragraph summary the train commands print."""
    m = model.metrics_
    size = (Path(output) / MODEL_FILE).stat().st_size
    return (f"trained on {source} in {seconds:.0f} s; validation ROC AUC {m['roc_auc']:.4f}, recall at 1 % FPR "
            f"{m['recall_at_1pct_fpr']:.3f}, ECE {m['ece']:.4f}; thresholds review "
            f"{model.thresholds_['review']:.4f}, reject {model.thresholds_['reject']:.4f}; "
            f"wrote {output} ({size / 1e6:.1f} MB model.joblib)")

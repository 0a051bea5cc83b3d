"""FeatureExtractor: submissions in, float32 feature matrix out (a scikit-learn transformer)."""

from __future__ import annotations

import dataclasses
import functools
import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.exceptions import NotFittedError
from sklearn.utils.validation import check_is_fitted

from fraudscore.batch import SubmissionBatch
from fraudscore.features._unique import factorization_cache
from fraudscore.features.context import FeatureContext
from fraudscore.features.registry import FAMILIES, generation, groups
from fraudscore.io import read_batch
from fraudscore.survey import SurveySpec

__all__ = ["FeatureExtractor"]

#: A batch is split across threads only in chunks of at least this many rows: below it the
#: thread hand-off and the per-chunk fixed costs (~1 ms) outweigh what a second core gives.
_MIN_CHUNK_ROWS = 4_096
#: Up to this many rows the matrix is assembled by one concatenation of the groups' columns
#: instead of one strided column copy per feature (~100 numpy calls, a fifth of a one-row call).
_CONCAT_ROWS = 64


@functools.lru_cache(maxsize=16)
def _plan(families: tuple | None, generation: int):
    """The groups of ``families`` (all when None), their feature names, and the matrix columns of
    each consent gate: the same for every call until a group is registered (``generation``), so
    worked out once."""
    families = families if families is not None else FAMILIES
    unknown = set(families) - set(FAMILIES)
    if unknown:
        raise ValueError(f"unknown feature families {sorted(unknown)}; known: {FAMILIES}")
    chosen = tuple(g for g in groups() if g.family in families)
    names = tuple(tuple(f.name for f in g.features) for g in chosen)
    gated = {"usage": [], "analytics": []}
    col = 0
    for g in chosen:
        if g.consent in gated:
            gated[g.consent].extend(range(col, col + len(g.features)))
        col += len(g.features)
    return chosen, names, {k: np.array(v, dtype=np.int64) for k, v in gated.items()}, col


class FeatureExtractor(TransformerMixin, BaseEstimator):
    """Compute every registered feature for a batch of submissions.

    ``fit`` learns reference statistics from calibration data (survey duration medians, Likert
    means and covariance, synonym/antonym pairs); ``transform`` then computes features of any
    batch against that fixed reference, so a single submission is scored exactly as it would be
    inside a batch. Columns of features whose consent a row did not give are NaN for that row.

    Parameters
    ----------
    surveys : sequence of SurveySpec, optional
        Specs of the surveys to be scored (matched on ``survey_id``).
    families : sequence of str, optional
        Feature families to compute (default: all of ``FAMILIES``).
    n_jobs : int, optional
        Threads for ``transform`` of a large batch (contiguous row chunks of at least 4,096
        rows, computed concurrently where numpy releases the GIL). None or 1: one thread; -1:
        one per CPU. The matrix is the same whatever the number. Measured 1.15-1.5x on 2 cores:
        the pointer family barely gains from a second thread.

    Attributes
    ----------
    feature_names_in_ : not set; the input is submissions, not a matrix.
    states_ : dict
        What each feature group learned in ``fit``.
    feature_names_out_ : ndarray of str
        Output column names, in order.
    """

    #: Class default, so that extractors pickled before the parameter existed load with it.
    n_jobs = None

    def __init__(self, surveys=None, families=None, n_jobs=None) -> None:
        self.surveys = surveys
        self.families = families
        self.n_jobs = n_jobs

    # ------------------------------------------------------------------ helpers
    def _specs(self) -> dict[str, SurveySpec]:
        return {s.survey_id: s for s in (self.surveys or ())}

    def _plan(self):
        return _plan(tuple(self.families) if self.families is not None else None, generation())

    def _groups(self):
        return self._plan()[0]

    @staticmethod
    def _batch(X) -> SubmissionBatch:
        return X if isinstance(X, SubmissionBatch) else read_batch(X)

    # ------------------------------------------------------------------ estimator API
    def fit(self, X, y=None, history=None):
        """Learn reference statistics from calibration submissions.

        Parameters
        ----------
        X : records, DataFrame, Arrow table, file path or SubmissionBatch
        y : ignored
        """
        ctx = FeatureContext(self._batch(X), self._specs(), history)
        self.states_ = {g.name: (g.fit(ctx) if g.fit is not None else None) for g in self._groups()}
        self.feature_names_out_ = np.array([f.name for g in self._groups() for f in g.features], dtype=object)
        return self

    def transform(self, X, history=None, ip=None) -> np.ndarray:
        """Feature matrix of shape (n_submissions, n_features), float32, NaN = unknown.

        Parameters
        ----------
        X : records, DataFrame, Arrow table, file path or SubmissionBatch
        history : HistoryCounts, optional
            Prior counts of these rows from a history store (history family).
        ip : IPInfo, optional
            The batch's IP lookup when the caller already has it (saves a second lookup).
        """
        if not hasattr(self, "states_"):  # check_is_fitted's generic attribute scan costs more
            raise NotFittedError(f"This {type(self).__name__} instance is not fitted yet. Call 'fit' first.")
        batch = self._batch(X)
        bounds = _chunk_bounds(batch.n, _threads(self.n_jobs))
        if len(bounds) <= 2:
            return self._transform(batch, history, ip)
        out = np.empty((batch.n, self._plan()[3]), dtype=np.float32)

        def run(lo: int, hi: int) -> None:
            out[lo:hi] = self._transform(batch.rows(lo, hi), _rows_of(history, lo, hi), _rows_of(ip, lo, hi))

        with ThreadPoolExecutor(max_workers=len(bounds) - 1, thread_name_prefix="fraudscore-features") as pool:
            for done in [pool.submit(run, lo, hi) for lo, hi in zip(bounds[:-1], bounds[1:])]:
                done.result()  # re-raises a chunk's exception here
        return out

    def _transform(self, batch: SubmissionBatch, history, ip) -> np.ndarray:
        """:meth:`transform` of one batch in this thread."""
        ctx = FeatureContext(batch, self._specs(), history, ip=ip)
        chosen, names, gated, n_features = self._plan()
        states = self.states_
        with factorization_cache():  # columns shared by several text checks are hashed once
            computed = [g.compute(ctx, states.get(g.name)) for g in chosen]
        n = batch.n
        if n <= _CONCAT_ROWS:
            # Feature-major (n_features * n,) in float64 (every column is float64, bool or int64
            # below 2**53, so the one rounding to float32 below is the column copy's), transposed.
            flat = np.concatenate([values[name] for values, group in zip(computed, names) for name in group])
            out = flat.reshape(n_features, n).T.astype(np.float32, order="C")
            # One pass over the whole matrix instead of one per column (90 small passes dominate a
            # one-row call): non-finite values are NaN.
            out[~np.isfinite(out)] = np.nan
        else:
            # Feature-major float32, each column a contiguous cast (the float32 rounding
            # as_float32 makes), non-finite values NaN in one pass, then one transposing copy:
            # ~1/3 cheaper than writing each column with a stride of n_features.
            by_feature = np.empty((n_features, n), dtype=np.float32)
            col = 0
            for values, group in zip(computed, names):
                for name in group:
                    by_feature[col] = values[name]
                    col += 1
            by_feature[~np.isfinite(by_feature)] = np.nan
            out = np.ascontiguousarray(by_feature.T)
        # Columns without consent are NaN, whatever the inputs looked like.
        for consent, given in (("usage", batch.consent_usage), ("analytics", batch.consent_analytics)):
            if len(gated[consent]) and not given.all():
                out[np.ix_(np.flatnonzero(~given), gated[consent])] = np.nan
        return out

    def get_feature_names_out(self, input_features=None) -> np.ndarray:
        """Names of the output columns."""
        check_is_fitted(self, "feature_names_out_")
        return self.feature_names_out_.copy()


def _threads(n_jobs) -> int:
    """scikit-learn's reading of ``n_jobs``: None -> 1, -1 -> every CPU, -2 -> all but one, ..."""
    if n_jobs is None:
        return 1
    n_jobs = int(n_jobs)
    if n_jobs == 0:
        raise ValueError("n_jobs == 0 has no meaning; use None or 1 for one thread, -1 for every CPU")
    return max(1, n_jobs if n_jobs > 0 else (os.cpu_count() or 1) + 1 + n_jobs)


def _chunk_bounds(n: int, threads: int) -> list[int]:
    """Row bounds of at most ``threads`` near-equal chunks of at least ``_MIN_CHUNK_ROWS`` rows."""
    chunks = max(1, min(threads, n // _MIN_CHUNK_ROWS))
    return [n * i // chunks for i in range(chunks + 1)]


def _rows_of(info, lo: int, hi: int):
    """Rows ``lo:hi`` of a per-row dataclass of arrays (HistoryCounts, IPInfo); None stays None."""
    if info is None:
        return None
    return dataclasses.replace(info, **{f.name: getattr(info, f.name)[lo:hi] for f in dataclasses.fields(info)
                                        if isinstance(getattr(info, f.name), np.ndarray)})

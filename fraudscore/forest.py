"""A compiled evaluator for a fitted binary ``HistGradientBoostingClassifier``.

scikit-learn walks each tree for every row, tree after tree, over the whole matrix: for large
batches that reads the matrix once per tree, and for one row it pays a Python loop over trees plus
OpenMP start-up. :class:`CompiledForest` evaluates the same model with numpy alone:

* **Batch** (``predict_proba``): the *QuickScorer* bit-vector scheme. The leaves of each tree are
  numbered left to right and each internal node owns a bit mask: the leaves that remain reachable
  when the row goes *right* at that node. For one feature the nodes that send a value ``x`` right
  are exactly those with ``threshold < x``, a prefix of that feature's sorted thresholds, so the
  AND of their masks is precomputed per prefix. A row's exit leaf in every tree is the lowest set
  bit of the AND over features of one precomputed row each: a binary search per value (branchless,
  all features at once) and one contiguous row gather per feature, independent of the depth of the
  trees. Rows go in chunks (bounded memory) over a small thread pool (numpy releases the GIL).
* **One row** (``predict_proba_one``): the same tables, with ``bisect`` on plain Python lists
  and no validation copies.
* **Contributions** (``contributions=True``): Saabas path attribution, precomputed per
  (tree, leaf), so the batch adds one sparse one-hot product over the exit leaves already found.
  They cost 3-5x the prediction; ``predict_explain`` computes them only for the rows a selector
  picks from each chunk's probabilities (a scorer's flagged rows), in the same pass.

The decision rule is scikit-learn's, exactly (``_predictor.pyx``): ``x <= threshold`` goes left;
NaN follows ``missing_go_to_left``; ``+inf`` is compared like any number (a "split on NaN" has
threshold ``+inf``, so ``+inf`` goes left there); categorical features are encoded like the
model's ``OrdinalEncoder`` (unknown categories and NaN follow ``missing_go_to_left``) and tested
against the node's category bitset. Thresholds stay float64 and float32 inputs are widened exactly,
so no comparison differs from scikit-learn's.

Thread safety: a :class:`CompiledForest` is immutable after construction (its arrays are read-only)
and every call allocates its own scratch space, so any number of threads may call any method on
the same object at once.
"""

from __future__ import annotations

import bisect
import os
import warnings
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

__all__ = ["CompiledForest", "CalibrationMap", "UnsupportedModelError"]

# Rows per chunk are chosen so the chunk's mask matrix stays cache-sized (about 1 MB).
_CHUNK_BYTES = 1 << 20


class UnsupportedModelError(ValueError):
    """The model (or calibrator) cannot be compiled: wrong type, unfitted, multiclass, ..."""


def _frozen(array: np.ndarray) -> np.ndarray:
    array = np.ascontiguousarray(array)
    array.flags.writeable = False
    return array


def _expit(raw: np.ndarray) -> np.ndarray:
    with np.errstate(over="ignore"):
        return 1.0 / (1.0 + np.exp(-raw))


@dataclass(frozen=True, eq=False)
class CalibrationMap:
    """One calibration map from the raw decision function ``f`` to a probability.

    ``kind="sigmoid"`` (Platt, scikit-learn's ``_SigmoidCalibration``): ``p = 1 / (1 + exp(a*f + b))``.
    ``kind="isotonic"`` (``IsotonicRegression(out_of_bounds="clip")``): ``f`` is clipped to
    ``[x[0], x[-1]]`` and ``p`` is the piecewise-linear interpolation of ``(x, y)``; one knot
    means a constant ``y[0]``.
    """

    kind: str
    a: float = 0.0
    b: float = 0.0
    x: np.ndarray | None = None
    y: np.ndarray | None = None

    def __call__(self, raw: np.ndarray) -> np.ndarray:
        """Probability of shape (n,) for raw decision values of shape (n,)."""
        if self.kind == "sigmoid":
            with np.errstate(over="ignore"):
                return 1.0 / (1.0 + np.exp(self.a * raw + self.b))
        if self.x.size == 1:
            return np.full(raw.shape, self.y[0])
        return np.interp(raw, self.x, self.y)

    @classmethod
    def sigmoid(cls, a: float, b: float) -> CalibrationMap:
        return cls("sigmoid", a=float(a), b=float(b))

    @classmethod
    def isotonic(cls, x, y) -> CalibrationMap:
        x = np.asarray(x, dtype=np.float64).ravel()
        y = np.asarray(y, dtype=np.float64).ravel()
        if x.size == 0 or x.shape != y.shape or np.any(np.diff(x) < 0) or not np.isfinite(x).all():
            raise UnsupportedModelError("isotonic calibration needs finite, sorted x and y of equal length")
        return cls("isotonic", x=_frozen(x), y=_frozen(y))


def _calibration_maps(calibrator, hgb) -> tuple[CalibrationMap, ...]:
    """Turn any supported calibrator into maps whose mean is the calibrated probability."""
    if calibrator is None:
        return ()
    if isinstance(calibrator, CalibrationMap):
        return (calibrator,)
    kind = type(calibrator).__name__
    if kind == "CalibratedClassifierCV":
        if not hasattr(calibrator, "calibrated_classifiers_"):
            raise UnsupportedModelError("the CalibratedClassifierCV is not fitted")
        maps = []
        for member in calibrator.calibrated_classifiers_:
            if _unwrap(member.estimator) is not hgb:
                raise UnsupportedModelError(
                    "the CalibratedClassifierCV holds estimators other than the model being compiled "
                    "(cross-validated ensemble); fit it with ensemble=False or on FrozenEstimator(model) "
                    "and pass that model")
            maps.extend(_calibration_maps(member, hgb))
        return tuple(maps)
    if kind == "_CalibratedClassifier":
        method = getattr(calibrator, "method", "sigmoid")
        if method not in ("sigmoid", "isotonic"):
            raise UnsupportedModelError(f"calibration method {method!r} is not supported")
        if len(calibrator.calibrators) != 1:
            raise UnsupportedModelError("only binary calibration (one calibrator) is supported")
        return _calibration_maps(calibrator.calibrators[0], hgb)
    if kind == "_SigmoidCalibration":
        return (CalibrationMap.sigmoid(calibrator.a_, calibrator.b_),)
    if kind == "IsotonicRegression":
        if getattr(calibrator, "out_of_bounds", "clip") != "clip":
            raise UnsupportedModelError("isotonic calibration must use out_of_bounds='clip'")
        return (CalibrationMap.isotonic(calibrator.X_thresholds_, calibrator.y_thresholds_),)
    if isinstance(calibrator, tuple) and len(calibrator) == 2:
        first, second = (np.asarray(part, dtype=np.float64) for part in calibrator)
        if first.ndim == 0 and second.ndim == 0:
            return (CalibrationMap.sigmoid(first, second),)
        return (CalibrationMap.isotonic(first, second),)
    raise UnsupportedModelError(f"unsupported calibrator {kind}")


def _unwrap(estimator):
    """The estimator inside a ``FrozenEstimator`` (or the estimator itself)."""
    if type(estimator).__name__ == "FrozenEstimator":
        return estimator.estimator
    return estimator


class CompiledForest:
    """A fitted binary ``HistGradientBoostingClassifier`` (+ calibration) as flat numpy tables.

    Build it with :meth:`from_sklearn`. Probabilities equal scikit-learn's to rounding
    (|Δp| ≤ 1e-12 in practice); the object is immutable, picklable and thread-safe.

    Attributes
    ----------
    n_features : int
        Columns expected in ``X`` (the model's ``n_features_in_``, in its column order).
    n_trees : int
        Number of trees (one per boosting iteration).
    baseline : float
        The model's ``_baseline_prediction`` (log-odds of the training prior).
    calibration : tuple of CalibrationMap
        Empty when uncalibrated; otherwise the calibrated probability is the mean of the maps
        applied to the raw decision function (that is how ``CalibratedClassifierCV`` averages).
    """

    def __init__(self, *, n_features, baseline, n_trees, word_dtype, words_per_tree, columns, edges,
                 categorical, table_offsets, masks, leaf_values, leaf_contributions, bias,
                 calibration=(), version=None):
        self.n_features = int(n_features)
        self.baseline = float(baseline)
        self.n_trees = int(n_trees)
        self._word_dtype = np.dtype(word_dtype)
        self._words_per_tree = int(words_per_tree)
        self._columns = _frozen(np.asarray(columns, dtype=np.intp))
        self._edges = tuple(_frozen(np.asarray(e, dtype=np.float64)) for e in edges)
        self._categorical = _frozen(np.asarray(categorical, dtype=bool))
        self._table_offsets = _frozen(np.asarray(table_offsets, dtype=np.intp))
        self._masks = _frozen(masks)
        self._leaf_values = _frozen(leaf_values)
        self._leaf_contributions = _frozen(leaf_contributions)
        self.bias = float(bias)
        self.calibration = tuple(calibration)
        self._version = version or _library_version()
        self._prepare()

    # -- construction -----------------------------------------------------------------------
    @classmethod
    def from_sklearn(cls, hgb, calibrator=None) -> CompiledForest:
        """Compile a fitted binary ``HistGradientBoostingClassifier``.

        Parameters
        ----------
        hgb : HistGradientBoostingClassifier or CalibratedClassifierCV
            A fitted binary classifier. A ``CalibratedClassifierCV`` whose calibrated classifiers
            all wrap one model (``ensemble=False`` or ``FrozenEstimator(model)``) may be passed
            alone: its model and calibration are both compiled.
        calibrator : optional
            ``CalibratedClassifierCV`` (method ``"sigmoid"`` or ``"isotonic"``) fitted on ``hgb``;
            a fitted ``_SigmoidCalibration`` or ``IsotonicRegression``; a tuple ``(a, b)`` of
            scalars (Platt: ``p = 1 / (1 + exp(a*f + b))``); a tuple ``(x, y)`` of isotonic knots;
            or a :class:`CalibrationMap`.

        Raises
        ------
        UnsupportedModelError
            Regressors, multiclass or unfitted models, non-numeric categories, unsupported
            calibration methods.
        """
        if type(hgb).__name__ == "CalibratedClassifierCV" and calibrator is None:
            members = getattr(hgb, "calibrated_classifiers_", None)
            if not members:
                raise UnsupportedModelError("the CalibratedClassifierCV is not fitted")
            calibrator, hgb = hgb, _unwrap(members[0].estimator)
        from sklearn.ensemble import HistGradientBoostingClassifier

        if not isinstance(hgb, HistGradientBoostingClassifier):
            raise UnsupportedModelError(
                f"expected a fitted HistGradientBoostingClassifier, got {type(hgb).__name__}")
        if not hasattr(hgb, "_predictors"):
            raise UnsupportedModelError("the HistGradientBoostingClassifier is not fitted")
        if hgb.n_trees_per_iteration_ != 1 or len(hgb.classes_) != 2:
            raise UnsupportedModelError(
                f"only binary classifiers are supported; this one has {len(hgb.classes_)} classes")
        maps = _calibration_maps(calibrator, hgb)
        from fraudscore._forest_compile import compile_trees

        return cls(**compile_trees(hgb), calibration=maps)

    def _prepare(self):
        """Derived, unpickled state: plain Python lists for the one-row path, chunk size."""
        self._edge_lists = [e.tolist() for e in self._edges]
        self._nan_keys = [len(e) for e in self._edges]
        self._offsets_list = self._table_offsets.tolist()
        self._columns_list = self._columns.tolist()
        self._categorical_list = self._categorical.tolist()
        # Batch search tables: edges padded with +inf to one power-of-two width (wider than every
        # feature's edge count, so a categorical value above every category stays in range).
        n_used = len(self._edges)
        width = 1 << int(max([len(e) for e in self._edges], default=0)).bit_length()
        padded = np.full((n_used, width), np.inf)
        for j, e in enumerate(self._edges):
            padded[j, :len(e)] = e
        self._edge_width = width
        self._padded_edges = _frozen(padded.ravel())
        self._edge_base = _frozen((np.arange(n_used, dtype=np.intp) * width)[:, None])
        self._row_shift = _frozen(self._table_offsets[:, None] - self._edge_base)
        self._nan_rows = _frozen((self._table_offsets + np.array(self._nan_keys, dtype=np.intp))[:, None])
        self._categorical_rows = np.flatnonzero(self._categorical).tolist()
        self._one_row_plan = list(zip(self._columns_list, self._edge_lists, self._offsets_list,
                                      self._nan_keys, self._categorical_list))
        n_words = self._masks.shape[1]
        self._chunk = int(np.clip(_CHUNK_BYTES // max(1, n_words * self._word_dtype.itemsize), 64, 16384))
        bits = self._word_dtype.itemsize * 8
        # The lowest set bit, as float, has exponent bits (bias + index): one shift gives the index.
        self._float_of_word = np.float32 if bits == 32 else np.float64
        self._int_of_float = np.int32 if bits == 32 else np.int64
        self._mantissa_bits = 23 if bits == 32 else 52
        exponent_bias = 127 if bits == 32 else 1023
        leaves_per_tree = self._words_per_tree * bits
        self._leaf_base = _frozen(
            (np.arange(self.n_trees, dtype=np.int64) * leaves_per_tree - exponent_bias)
            .astype(self._int_of_float))
        self._bits = bits
        self._exponent_bias = exponent_bias
        self._prepare_float32_one_row()

    def _prepare_float32_one_row(self):
        """Search table of the one-row kernel for float32 rows (:meth:`_raw_one_float32`).

        A float32 ``v`` is above a float64 edge ``e`` exactly when ``v >= e'``, the least float32
        above ``e``; on float32 the order of the numbers is the order of their bits read as
        sign-magnitude integers (:func:`_float32_keys`). So every feature's ``count(edges < v)``
        (its table row) is one count of keys ``<= key(v)`` in one sorted int64 array, each feature
        in its own band of 2**32: one ``searchsorted`` for all features instead of a ``bisect``
        each. None for categorical features (their rows need an exact category match).
        """
        self._keys32 = None
        if any(self._categorical_list):
            return
        keys, band_start = [], []
        with np.errstate(over="ignore"):  # edges beyond float32's range: e' is +inf, compared exactly
            for j, edges in enumerate(self._edges):
                band_start.append(len(keys))
                # The nearest float32 is e itself, the one just below e or the least one above
                # (+inf beyond float32's range): one step up in the first two cases.
                above = np.float32(edges)
                step_up = above.astype(np.float64) <= edges
                above = np.where(step_up, np.nextafter(above, np.float32(np.inf)), above)
                finite_edge = edges < np.inf  # v > +inf never: a key above every number's
                band = (np.int64(j) << 32) + (1 << 31)
                k = np.where(finite_edge, _float32_keys(above + np.float32(0.0)).astype(np.int64), (1 << 31) - 1)
                keys.extend((band + k).tolist())
        self._keys32 = _frozen(np.asarray(keys, dtype=np.int64))
        self._key_bands = _frozen((np.arange(len(self._edges), dtype=np.int64) << 32) + (1 << 31))
        # searchsorted position -> table row: row = offset + (position - band start)
        self._key_shift = _frozen(self._table_offsets - np.asarray(band_start, dtype=np.intp))
        self._nan_table_rows = _frozen(self._table_offsets + np.asarray(self._nan_keys, dtype=np.intp))
        n_words = self._masks.shape[1]
        wide = self._word_dtype.itemsize < 8 and (n_words * self._word_dtype.itemsize) % 8 == 0
        # AND-reducing 64 bits at a time: half the words for a 32-bit table (the AND is bitwise).
        self._masks_wide = self._masks.view(np.uint64) if wide else self._masks

    def __getstate__(self):
        keep = ("n_features", "baseline", "n_trees", "_word_dtype", "_words_per_tree", "_columns",
                "_edges", "_categorical", "_table_offsets", "_masks", "_leaf_values",
                "_leaf_contributions", "bias", "calibration", "_version")
        return {name: getattr(self, name) for name in keep}

    def __setstate__(self, state):
        if state.get("_version") != _library_version():
            warnings.warn(f"CompiledForest pickled with fraudscore {state.get('_version')}, "
                          f"loaded with {_library_version()}", UserWarning, stacklevel=2)
        self.__dict__.update(state)
        for name in ("_columns", "_categorical", "_table_offsets", "_masks", "_leaf_values",
                     "_leaf_contributions"):
            setattr(self, name, _frozen(getattr(self, name)))
        self._edges = tuple(_frozen(e) for e in self._edges)
        self.calibration = tuple(
            CalibrationMap.isotonic(m.x, m.y) if m.kind == "isotonic" else m for m in self.calibration)
        self._prepare()

    @property
    def nbytes(self) -> int:
        """Bytes held by the compiled tables (the mask table dominates: one row per feature and
        threshold interval, one bit per leaf of every tree)."""
        arrays = (self._masks, self._leaf_values, self._leaf_contributions, self._padded_edges)
        return int(sum(a.nbytes for a in arrays) + sum(e.nbytes for e in self._edges))

    def __repr__(self):
        kinds = "+".join(m.kind for m in self.calibration[:1]) or "uncalibrated"
        return (f"CompiledForest(n_trees={self.n_trees}, n_features={self.n_features}, "
                f"used_features={len(self._columns)}, {kinds})")

    # -- batch path -------------------------------------------------------------------------
    def decision_function(self, X, *, contributions=False, n_threads=None):
        """Raw log-odds, equal to ``hgb.decision_function(X)``.

        Parameters
        ----------
        X : ndarray of shape (n_samples, n_features)
            float32 or float64 (other dtypes are converted); NaN = missing.
        contributions : bool
            Also return the per-feature contributions (see :meth:`predict_proba`).
        n_threads : int, optional
            Worker threads over chunks of rows; default: the CPUs this process may use.

        Returns
        -------
        raw : ndarray of shape (n_samples,)
        contributions : ndarray of shape (n_samples, n_features + 1), if asked
        """
        raw, _, _, contrib = self._evaluate(X, explain=bool(contributions), n_threads=n_threads)
        return (raw, contrib) if contributions else raw

    def predict_proba(self, X, *, contributions=False, n_threads=None):
        """P(positive class) — ``hgb.predict_proba(X)[:, 1]`` or the calibrated equivalent.

        Parameters
        ----------
        X : ndarray of shape (n_samples, n_features)
        contributions : bool
            Also return Saabas path contributions in log-odds: column ``j < n_features`` sums,
            over the trees, the change of the expected node value at every split on feature
            ``j`` along the row's path; the last column is the bias (baseline + the trees' root
            expected values). Each row sums to its raw decision function (not the calibrated
            probability).
        n_threads : int, optional

        Returns
        -------
        proba : ndarray of shape (n_samples,)
        contributions : ndarray of shape (n_samples, n_features + 1), if asked
        """
        _, proba, _, contrib = self._evaluate(X, explain=bool(contributions), proba=True, n_threads=n_threads)
        return (proba, contrib) if contributions else proba

    def predict_explain(self, X, select=None, *, n_threads=None):
        """Probabilities of every row and contributions of the rows ``select`` picks, in one pass.

        Contributions cost 3-5x the prediction; a scorer that explains only the rows it flags
        calls this with a ``select`` that applies its thresholds. ``select`` sees each chunk's
        probabilities while the chunk's exit leaves are still at hand, so picked rows are
        explained without finding their leaves again.

        Parameters
        ----------
        X : ndarray of shape (n_samples, n_features)
        select : callable, optional
            ``select(proba) -> bool mask`` of the same shape, called on the probabilities of
            each chunk of rows (shape (m,), the exact values returned); default: every row.
            Called from worker threads when ``n_threads > 1``: it must be thread-safe.
        n_threads : int, optional

        Returns
        -------
        proba : ndarray of shape (n_samples,)
        rows : ndarray of int64 of shape (k,)
            The rows picked, ascending.
        contributions : ndarray of shape (k, n_features + 1)
            Contributions of ``rows`` (see :meth:`predict_proba`); row for row equal to those
            ``predict_proba(X, contributions=True)`` gives.
        """
        if select is None:
            _, proba, _, contrib = self._evaluate(X, explain=True, proba=True, n_threads=n_threads)
            return proba, np.arange(len(proba), dtype=np.int64), contrib
        _, proba, rows, contrib = self._evaluate(X, explain=select, proba=True, n_threads=n_threads)
        return proba, rows, contrib

    def _evaluate(self, X, explain, proba=False, n_threads=None):
        """The one loop behind every batch method: ``(raw, proba, rows, contributions)``.

        ``explain`` is False (no contributions), True (every row, a dense (n, F + 1) matrix and
        ``rows`` None) or a ``select`` callable (contributions of the rows it picks, per chunk).
        ``proba`` is None unless asked or needed by ``select``.
        """
        X = self._check_matrix(X)
        n = X.shape[0]
        selective = callable(explain)
        want_proba = proba or selective
        if n == 1:
            # A batch of one (e.g. a Scorer's score_one): the one-row kernel has ~10x less fixed
            # cost than a chunk of the batch kernel, and gives the same raw value.
            raw, leaf = self._raw_one(X[0])
            p = self._probability(raw) if want_proba else None
            if explain is True:
                return raw, p, None, self._contributions_one(leaf)[None, :]
            if selective and bool(np.asarray(explain(p))[0]):
                return raw, p, np.zeros(1, np.int64), self._contributions_one(leaf)[None, :]
            return raw, p, np.empty(0, np.int64), np.empty((0, self.n_features + 1))
        raw = np.empty(n, dtype=np.float64)
        p = np.empty(n, dtype=np.float64) if want_proba else None
        contrib = np.zeros((n, self.n_features + 1), dtype=np.float64) if explain is True else None
        starts = range(0, n, self._chunk)
        picked: list = [None] * len(starts)
        n_threads = _usable_cpus() if n_threads is None else max(1, int(n_threads))

        def work(index: int) -> None:  # chunks write disjoint slices of raw / p / contrib
            start = starts[index]
            stop = min(start + self._chunk, n)
            leaf = self._chunk_raw(X, start, stop, raw)
            if want_proba:
                p[start:stop] = self._probability(raw[start:stop])
            if explain is True:
                self._contributions(leaf, contrib[start:stop])
            elif selective:
                mine = np.flatnonzero(np.asarray(explain(p[start:stop]), dtype=bool))
                out = np.zeros((len(mine), self.n_features + 1), dtype=np.float64)
                if len(mine):
                    self._contributions(leaf[mine], out)
                picked[index] = (mine + start, out)

        if n_threads > 1 and len(starts) > 1:
            with ThreadPoolExecutor(max_workers=min(n_threads, len(starts))) as pool:
                list(pool.map(work, range(len(starts))))
        else:
            for index in range(len(starts)):
                work(index)
        if not selective:
            return raw, p, None, contrib
        if not picked:  # no rows at all
            return raw, p, np.empty(0, np.int64), np.empty((0, self.n_features + 1))
        return (raw, p, np.concatenate([r for r, _ in picked]).astype(np.int64, copy=False),
                np.concatenate([c for _, c in picked]))

    def _probability(self, raw: np.ndarray) -> np.ndarray:
        if not self.calibration:
            return _expit(raw)
        proba = self.calibration[0](raw)
        for extra in self.calibration[1:]:
            proba = proba + extra(raw)
        return proba / len(self.calibration) if len(self.calibration) > 1 else proba

    def _probability_one(self, raw: np.ndarray) -> np.ndarray:
        """:meth:`_probability` of one raw value, shape (1,): the same numpy arithmetic, without
        the overflow guard (a context manager) when exp cannot overflow."""
        if len(self.calibration) == 1 and self.calibration[0].kind == "sigmoid":
            calibration = self.calibration[0]
            t = calibration.a * raw + calibration.b
            if t[0] < 700.0:  # (NaN is guarded too)
                return 1.0 / (1.0 + np.exp(t))
        elif not self.calibration:
            if -raw[0] < 700.0:
                return 1.0 / (1.0 + np.exp(-raw))
        return self._probability(raw)

    def _check_matrix(self, X) -> np.ndarray:
        X = np.asarray(X)
        if X.dtype not in (np.float32, np.float64):
            X = X.astype(np.float64)
        if X.ndim != 2 or X.shape[1] != self.n_features:
            raise ValueError(f"X must have shape (n_samples, {self.n_features}), got {X.shape}")
        return X

    def _table_rows(self, values: np.ndarray) -> np.ndarray:
        """Table row of every value: ``values`` and result have shape (n_used_features, m).

        A branchless binary search of all features at once over their edges padded with +inf
        to one power-of-two length: each step is a few whole-matrix numpy operations, which
        beats one ``searchsorted`` per feature (whose unpredictable branches dominate).
        After the search ``probe - base`` is ``count(edges < value)``, the same as
        ``searchsorted(edges, value, side="left")``; NaN compares false and is fixed afterwards.
        """
        probe = np.broadcast_to(self._edge_base, values.shape).copy()
        found = np.empty(values.shape, dtype=bool)
        edge = np.empty(values.shape, dtype=np.float64)
        at = np.empty_like(probe)
        step = self._edge_width // 2
        while step:
            np.add(probe, step - 1, out=at)
            np.take(self._padded_edges, at, out=edge, mode="clip")
            np.less(edge, values, out=found)
            # found * step, then add: twice as fast as a masked add (ufunc where=).
            np.multiply(found, step, out=at)
            probe += at
            step //= 2
        for j in self._categorical_rows:
            # OrdinalEncoder semantics: a value not among the categories is unknown, like NaN.
            known = self._padded_edges.take(probe[j], mode="clip") == values[j]
            probe[j, ~known] = self._edge_base[j, 0] + self._nan_keys[j]
        np.add(probe, self._row_shift, out=probe)
        np.copyto(probe, self._nan_rows, where=np.isnan(values))
        return probe

    def _chunk_raw(self, X, start, stop, raw):
        """Write ``raw[start:stop]``; return the chunk's flat exit leaves, shape (m, n_trees)."""
        columns = X[start:stop].take(self._columns, axis=1)
        values = np.ascontiguousarray(columns.T, dtype=np.float64)
        m = stop - start
        n_words = self._masks.shape[1]
        mask = np.empty((m, n_words), dtype=self._word_dtype)
        scratch = np.empty_like(mask)
        if len(self._columns) == 0:
            mask.fill(np.iinfo(self._word_dtype).max)
        rows = self._table_rows(values)
        for j in range(len(self._columns)):
            # mode="clip" skips numpy's buffered bounds check; rows are in range by construction.
            np.take(self._masks, rows[j], axis=0, out=mask if j == 0 else scratch, mode="clip")
            if j:
                mask &= scratch
        leaf = self._exit_leaves(mask, scratch)
        values_at_leaf = self._leaf_values.take(leaf)
        raw[start:stop] = values_at_leaf.sum(axis=1)
        raw[start:stop] += self.baseline
        return leaf

    def _exit_leaves(self, mask, scratch):
        """Flat leaf index (tree * leaves_per_tree + leaf) of shape (m, n_trees)."""
        # Lowest set bit: x & -x; its float exponent is the bit's index.
        np.negative(mask, out=scratch)
        scratch &= mask
        exponent = scratch.astype(self._float_of_word).view(self._int_of_float)
        exponent >>= self._mantissa_bits
        if self._words_per_tree == 1:
            exponent += self._leaf_base
            return exponent
        m = mask.shape[0]
        words = self._words_per_tree
        exponent = exponent.reshape(m, self.n_trees, words)
        first = np.argmax(mask.reshape(m, self.n_trees, words) != 0, axis=2)
        bit = np.take_along_axis(exponent, first[..., None], axis=2)[..., 0]
        return bit + first * self._bits + self._leaf_base

    def _contributions(self, leaf, out):
        # The per-(tree, leaf) path sums are precomputed, so a row's contributions are the sum
        # of one precomputed row per tree: a one-hot sparse matrix (rows x leaves) times the
        # dense (leaves x used features) table. scipy (a scikit-learn dependency) does that in
        # one C loop, about twice as fast as a numpy gather-and-sum per feature.
        from scipy.sparse import csr_matrix

        m, n_trees = leaf.shape
        one_hot = csr_matrix(
            (np.ones(leaf.size), leaf.ravel().astype(np.intp), np.arange(0, leaf.size + 1, n_trees)),
            shape=(m, self._leaf_contributions.shape[0]))
        out[:, self._columns] = one_hot @ self._leaf_contributions
        out[:, -1] = self.bias

    # -- one row ------------------------------------------------------------------------------
    def _raw_one_float32(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """:meth:`_raw_one` of a float32 row: table rows by one search (see
        :meth:`_prepare_float32_one_row`), then the same AND, exit leaves and sum of leaf values."""
        v = x.take(self._columns)
        v += np.float32(0.0)  # -0.0 -> 0.0 (equal numbers, one key)
        q = _float32_keys(v).astype(np.int64)
        q += self._key_bands
        rows = self._keys32.searchsorted(q, side="right")
        rows += self._key_shift
        np.copyto(rows, self._nan_table_rows, where=v != v)
        mask = np.bitwise_and.reduce(self._masks_wide.take(rows, axis=0), axis=0).view(self._word_dtype)[None, :]
        leaf = self._exit_leaves(mask, np.empty_like(mask))
        raw = self._leaf_values.take(leaf).sum(axis=1)
        raw += self.baseline
        return raw, leaf

    def decision_function_one(self, x) -> float:
        """Raw log-odds of one row ``x`` of shape (n_features,); equals the batch path."""
        return float(self._raw_one(x)[0][0])

    def predict_proba_one(self, x, *, contributions=False):
        """P(positive class) of one row ``x`` of shape (n_features,); equals the batch path.

        No validation beyond the length: ``x`` must hold ``n_features`` numbers (ndarray, list).

        Returns
        -------
        proba : float
        contributions : ndarray of shape (n_features + 1,), if asked (see :meth:`predict_proba`)
        """
        raw, leaf = self._raw_one(x)
        proba = float(self._probability(raw)[0])
        if not contributions:
            return proba
        return proba, self._contributions_one(leaf)

    def _contributions_one(self, leaf: np.ndarray) -> np.ndarray:
        out = np.zeros(self.n_features + 1)
        out[self._columns] = self._leaf_contributions.take(leaf[0], axis=0).sum(axis=0)
        out[-1] = self.bias
        return out

    def _raw_one(self, x) -> tuple[np.ndarray, np.ndarray]:
        """Raw value, shape (1,), and flat exit leaves, shape (1, n_trees), of one row."""
        if self._keys32 is not None and isinstance(x, np.ndarray) and x.dtype == np.float32 and x.ndim == 1 \
                and len(x) == self.n_features and len(self._columns):
            return self._raw_one_float32(x)
        values = x.tolist() if isinstance(x, np.ndarray) else list(x)
        if len(values) != self.n_features:
            raise ValueError(f"x must have {self.n_features} values, got {len(values)}")
        rows = []
        for column, edges, offset, nan_key, categorical in self._one_row_plan:
            value = float(values[column])
            if value != value:
                key = nan_key
            else:
                key = bisect.bisect_left(edges, value)
                if categorical and (key == nan_key or edges[key] != value):
                    key = nan_key
            rows.append(offset + key)
        # (Measured: a Python big-int AND over the same rows is slower than these numpy calls.)
        if rows:
            mask = np.bitwise_and.reduce(self._masks.take(rows, axis=0), axis=0, keepdims=True)
        else:
            mask = np.full((1, self._masks.shape[1]), np.iinfo(self._word_dtype).max, self._word_dtype)
        leaf = self._exit_leaves(mask, np.empty_like(mask))
        raw = self._leaf_values.take(leaf).sum(axis=1)
        raw += self.baseline
        return raw, leaf


def _float32_keys(v: np.ndarray) -> np.ndarray:
    """int32 keys in the order of the float32 numbers ``v`` (no NaN, no -0.0): two's complement
    of the sign-magnitude bits (a negative number's magnitude bits flipped)."""
    bits = v.view(np.int32)
    return bits ^ ((bits >> 31) & 0x7FFFFFFF)


def _usable_cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def _library_version() -> str:
    from fraudscore import __version__

    return __version__

"""Honest evaluation: leak-free splits, metrics at fixed false-positive rates, calibration error.

Every metric here is meant for *held-out* rows only: rows of devices and people the model never
saw (grouped splits), preferably from a different simulator seed. A "recall at 1 % FPR" is the
share of fraud scored at or above the threshold that lets at most 1 % of honest rows through.

``python -m fraudscore.evaluation`` regenerates docs/EVALUATION.md (see :func:`main`).

>>> import numpy as np
>>> y = np.array([0, 0, 0, 0, 1, 1]); p = np.array([.1, .2, .3, .9, .8, .95])
>>> round(recall_at_fpr(y, p, 0.25), 2), round(recall_at_fpr(y, p, 0.0), 2)
(1.0, 0.5)
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import sparse
from scipy.sparse.csgraph import connected_components
from sklearn.metrics import average_precision_score, roc_auc_score
from sklearn.model_selection import GroupShuffleSplit

__all__ = [
    "group_ids",
    "grouped_split",
    "threshold_at_fpr",
    "recall_at_fpr",
    "expected_calibration_error",
    "binary_metrics",
    "metrics_by_family",
    "leave_one_family_out",
    "single_feature_auc",
    "table_features",
    "FAMILY_TELLS",
    "ABLATIONS",
    "recall_by_tells",
    "evaluate_model",
    "main",
    "TARGETS",
    "TEST_SEED",
    "LOFO_SEED",
    "VALIDATION_SEED",
]


# ---------------------------------------------------------------------------- splits
def group_ids(*keys) -> np.ndarray:
    """Connected components of rows that share any key: one group per person-and-device cluster.

    A person on two devices and a device used by two people end up in one group, so a grouped
    split never puts one device *or* one person on both sides.

    Parameters
    ----------
    *keys : array-like of shape (n,)
        Identity columns (ints or strings). ``None``, NaN, ``""`` and integer 0 mean "unknown"
        and link nothing.

    Returns
    -------
    ndarray of shape (n,), dtype int64
        Group label per row.
    """
    if not keys:
        raise ValueError("group_ids needs at least one key column")
    n = len(keys[0])
    rows, cols, offset = [], [], n
    for key in keys:
        series = pd.Series(np.asarray(key, dtype=object))
        if len(series) != n:
            raise ValueError("key columns have different lengths")
        missing = series.isna().to_numpy() | series.isin(["", 0]).to_numpy()
        codes, uniques = pd.factorize(series.where(~missing))
        present = (codes >= 0) & ~missing
        rows.append(np.flatnonzero(present))
        cols.append(codes[present] + offset)
        offset += len(uniques)
    # Bipartite graph rows <-> key values; components are the groups.
    r, c = np.concatenate(rows), np.concatenate(cols)
    graph = sparse.coo_matrix((np.ones(len(r), np.int8), (r, c)), shape=(offset, offset))
    _, labels = connected_components(graph, directed=False)
    return labels[:n].astype(np.int64)


def grouped_split(groups, test_size: float, random_state=None) -> tuple[np.ndarray, np.ndarray]:
    """One train/test split with no group on both sides (:class:`~sklearn.model_selection.GroupShuffleSplit`).

    Parameters
    ----------
    groups : array-like of shape (n,)
    test_size : float in (0, 1)
        Share of *groups* (not rows) in the test part.
    random_state : int, Generator or None

    Returns
    -------
    train, test : ndarray of int64 row indices
    """
    groups = np.asarray(groups)
    seed = random_state if random_state is None or isinstance(random_state, (int, np.integer)) else \
        int(np.random.default_rng(random_state).integers(2**31 - 1))
    splitter = GroupShuffleSplit(n_splits=1, test_size=test_size, random_state=seed)
    train, test = next(splitter.split(np.zeros((len(groups), 1)), groups=groups))
    return train.astype(np.int64), test.astype(np.int64)


# ---------------------------------------------------------------------------- metrics
def threshold_at_fpr(negative_scores, fpr: float) -> float:
    """Lowest threshold ``t`` with ``mean(negative_scores >= t) <= fpr``.

    Ties (isotonic calibration makes many) can make the realised rate lower than ``fpr``, never
    higher.

    Parameters
    ----------
    negative_scores : array-like of shape (n_negatives,)
        Scores of honest rows (validation data when choosing a deployment threshold).
    fpr : float in [0, 1]
    """
    s = np.sort(np.asarray(negative_scores, dtype=np.float64))[::-1]
    if len(s) == 0:
        raise ValueError("no negative scores to choose a threshold from")
    if not 0.0 <= fpr <= 1.0:
        raise ValueError(f"fpr must be in [0, 1], got {fpr}")
    k = int(np.floor(fpr * len(s) + 1e-9))  # negatives allowed at or above the threshold
    if k >= len(s):
        return float(s[-1])
    # Strictly above the (k+1)-th highest negative; candidates equal to it would all pass together.
    return float(np.nextafter(s[k], np.inf))


def recall_at_fpr(y, p, fpr: float) -> float:
    """Share of positives with ``p >= threshold_at_fpr(p[y == 0], fpr)``.

    Parameters
    ----------
    y : array-like of shape (n,) of 0/1
    p : array-like of shape (n,)
    fpr : float
    """
    y, p = np.asarray(y).astype(bool), np.asarray(p, dtype=np.float64)
    if not y.any():
        return float("nan")
    return float((p[y] >= threshold_at_fpr(p[~y], fpr)).mean())


def expected_calibration_error(y, p, n_bins: int = 15) -> float:
    """Expected calibration error: row-weighted mean |observed rate - mean score| over equal-width bins.

    Parameters
    ----------
    y : array-like of shape (n,) of 0/1
    p : array-like of shape (n,) in [0, 1]
    n_bins : int
    """
    y, p = np.asarray(y, dtype=np.float64), np.asarray(p, dtype=np.float64)
    if len(y) == 0:
        return float("nan")
    b = np.minimum((p * n_bins).astype(np.int64), n_bins - 1)
    count = np.bincount(b, minlength=n_bins)
    gap = np.abs(np.bincount(b, y, n_bins) - np.bincount(b, p, n_bins))  # per bin: n * |rate - mean p|
    return float(gap.sum() / count.sum())


def binary_metrics(y, p) -> dict:
    """ROC AUC, PR AUC, recall at 1 % and 5 % FPR, calibration error, counts.

    Parameters
    ----------
    y : array-like of shape (n,) of 0/1
    p : array-like of shape (n,)
    """
    y, p = np.asarray(y).astype(int), np.asarray(p, dtype=np.float64)
    two = 0 < y.sum() < len(y)
    return {
        "n": int(len(y)),
        "n_fraud": int(y.sum()),
        "roc_auc": float(roc_auc_score(y, p)) if two else float("nan"),
        "pr_auc": float(average_precision_score(y, p)) if two else float("nan"),
        "recall_at_1pct_fpr": recall_at_fpr(y, p, 0.01),
        "recall_at_5pct_fpr": recall_at_fpr(y, p, 0.05),
        "ece": expected_calibration_error(y, p),
    }


def metrics_by_family(y, p, family) -> dict:
    """:func:`binary_metrics` overall and for each attack family against all honest rows.

    Parameters
    ----------
    y : array-like of shape (n,) of 0/1
    p : array-like of shape (n,)
    family : array-like of shape (n,) of str
        Family of each row ("honest" for honest rows).

    Returns
    -------
    dict
        ``{"overall": {...}, "families": {family: {...}}}``; a family's calibration error is
        over its rows and the honest rows together.
    """
    y, p, family = np.asarray(y).astype(int), np.asarray(p, dtype=np.float64), np.asarray(family, dtype=object)
    honest = y == 0
    out = {"overall": binary_metrics(y, p), "families": {}}
    for fam in sorted(set(family[y == 1].tolist())):
        rows = honest | (family == fam)
        out["families"][fam] = binary_metrics(y[rows], p[rows])
    return out


def leave_one_family_out(make_model, X, y, family, X_test, y_test, family_test, families=None) -> dict:
    """Train without one attack family, test on honest rows plus that family; for each family.

    Parameters
    ----------
    make_model : callable
        ``make_model()`` returns an unfitted classifier with ``fit(X, y)`` and ``predict_proba``.
    X, y, family : training matrix of shape (n, d), labels and families of shape (n,)
    X_test, y_test, family_test : held-out rows (another seed), same layout
    families : sequence of str, optional
        Families to hold out (default: every attack family in ``family``).

    Returns
    -------
    dict
        ``{family: {"roc_auc", "recall_at_1pct_fpr", "recall_at_5pct_fpr", "n_fraud"}}``.
    """
    family, family_test = np.asarray(family, dtype=object), np.asarray(family_test, dtype=object)
    y, y_test = np.asarray(y).astype(int), np.asarray(y_test).astype(int)
    if families is None:
        families = sorted(set(family[y == 1].tolist()))
    out = {}
    for fam in families:
        keep = family != fam
        model = make_model().fit(X[keep], y[keep])
        rows = (y_test == 0) | (family_test == fam)
        p = model.predict_proba(X_test[rows])[:, 1]
        m = binary_metrics(y_test[rows], p)
        out[fam] = {k: m[k] for k in ("roc_auc", "recall_at_1pct_fpr", "recall_at_5pct_fpr", "n_fraud")}
    return out


# ---------------------------------------------------------------------------- the report
TARGETS = {
    "roc_auc": 0.98,
    "recall_at_1pct_fpr": 0.90,
    "family_recall_at_5pct_fpr": 0.80,
    "lofo_auc": 0.85,
    "ece": 0.02,
}


def single_feature_auc(F, y, family, names, top: int = 3) -> dict:
    """For each attack family, the ``top`` features that alone separate it best from honest rows.

    A single feature with AUC near 1 is a leakage suspect (a simulator artefact or a count that
    encodes the label). NaN is ranked below every value.

    Returns
    -------
    dict
        ``{family: [(feature name, AUC of the better direction), ...]}``.
    """
    y, family = np.asarray(y).astype(int), np.asarray(family, dtype=object)
    F = np.asarray(F, dtype=np.float64)
    filled = np.where(np.isnan(F), np.nanmin(np.where(np.isnan(F), np.inf, F), axis=0) - 1.0, F)
    filled = np.where(np.isfinite(filled), filled, 0.0)  # all-NaN columns
    out = {}
    for fam in sorted(set(family[y == 1].tolist())):
        rows = (y == 0) | (family == fam)
        yy = (family[rows] == fam).astype(int)
        aucs = np.array([roc_auc_score(yy, filled[rows, j]) for j in range(F.shape[1])])
        aucs = np.maximum(aucs, 1.0 - aucs)
        best = np.argsort(-aucs)[:top]
        out[fam] = [(str(names[j]), float(aucs[j])) for j in best]
    return out


#: Per family, the features that carry its tells (docs/SIMULATOR.md) and the value above which a
#: feature shows one (fnmatch patterns). A row showing none of them differs from honest people only
#: in what the family shares with them (a hidden behavioural tell keeps the honest value).
FAMILY_TELLS = {
    "geo_fraud": {"network.hosting": 0, "network.private_ip": 0, "network.ip_country_mismatch": 0,
                  "network.tz_country_mismatch": 0, "network.tz_offset_mismatch_h": 0.5,
                  "network.language_mismatch": 0, "network.header_language_mismatch": 0,
                  "network.language_region_*": 0, "network.language_tz_mismatch": 0, "network.carrier_*": 0,
                  "network.gps_tz_mismatch_h": 3},
    "duplicate": {"history.prior_*": 0, "history.respondents_per_*": 1, "history.devices_per_respondent": 1},
}


#: Feature groups whose worth is measured by leaving them out (fnmatch patterns).
ABLATIONS = {
    "locale and carrier": ("network.language_region_*", "network.language_tz_mismatch", "network.carrier_*"),
    "carrier": ("network.carrier_*",),
    "locale": ("network.language_region_*", "network.language_tz_mismatch"),
    "scroll and focus": ("scroll.*", "focus.*"),
}


def recall_by_tells(F, y, p, family, names, fpr: float = 0.05, tells=None) -> dict:
    """How much of a family shows any of its tells, and what the model catches with and without one.

    A ceiling for the current features: rows that show no tell are told apart from honest rows
    only by what both share, so even catching every row that shows a tell gives at most
    ``share_with_tell + share_without_tell * recall_without_tell``; and catching them all would
    also flag the ``honest_with_tell`` share of honest rows.

    Parameters
    ----------
    F : ndarray of shape (n, d)
    y, p, family : ndarray of shape (n,)
        Labels, scores and families ("honest" for honest rows).
    names : sequence of str of length d
    fpr : float
        False-positive rate that sets the threshold (on the honest rows).
    tells : dict, optional
        ``{family: {feature pattern: value above which it is a tell}}`` (default :data:`FAMILY_TELLS`).

    Returns
    -------
    dict
        ``{family: {"n", "share_without_tell", "recall_with_tell", "recall_without_tell",
        "auc_without_tell", "honest_with_tell", "ceiling"}}``; ``auc_without_tell`` ranks the
        family's no-tell rows against the honest rows without a tell.
    """
    import fnmatch

    y, family = np.asarray(y).astype(int), np.asarray(family, dtype=object)
    p, F = np.asarray(p, dtype=np.float64), np.asarray(F, dtype=np.float64)
    names = [str(n) for n in names]
    t = threshold_at_fpr(p[y == 0], fpr)
    out = {}
    for fam, spec in (FAMILY_TELLS if tells is None else tells).items():
        rows = family == fam
        if not rows.any():
            continue
        above = np.full(len(names), np.inf)
        for j, name in enumerate(names):
            for pattern, value in spec.items():
                if fnmatch.fnmatchcase(name, pattern):
                    above[j] = value
        with np.errstate(invalid="ignore"):
            shows = (F > above).any(axis=1)  # NaN (unknown) never shows a tell
        without = rows & ~shows
        clean_honest = (y == 0) & ~shows
        share_without = float(without.sum() / rows.sum())
        recall_without = float((p[without] >= t).mean()) if without.any() else float("nan")
        both = clean_honest | without
        auc = float(roc_auc_score(y[both], p[both])) if without.any() and clean_honest.any() else float("nan")
        out[fam] = {"n": int(rows.sum()), "share_without_tell": share_without,
                    "recall_with_tell": float((p[rows & shows] >= t).mean()) if (rows & shows).any() else float("nan"),
                    "recall_without_tell": recall_without, "auc_without_tell": auc,
                    "honest_with_tell": float(shows[y == 0].mean()),
                    "ceiling": 1.0 - share_without + share_without * (0.0 if np.isnan(recall_without) else recall_without)}
    return out


def _training_simulation(model_dir) -> dict:
    """The ``simulation`` entry of a model's manifest (empty for a model trained on a file)."""
    import json
    from pathlib import Path

    from fraudscore.model import MANIFEST_FILE, default_model_dir

    path = Path(model_dir if model_dir is not None else default_model_dir()) / MANIFEST_FILE
    return json.loads(path.read_text()).get("simulation") or {}


#: Simulator seeds of docs/EVALUATION.md: the test set, the leave-one-family-out training set, and
#: the validation set that choices are made on (so the test numbers stay untouched).
TEST_SEED, LOFO_SEED, VALIDATION_SEED = 1_000, 2_000, 3_000


def training_weeks_study(weeks=(1, 2, 4, 8), week_rows: int | None = None, seed: int = 0,
                         validation_seed: int = VALIDATION_SEED,
                         validation_n: int = 30_000, log=print, **params) -> list[dict]:
    """Validation metrics of models trained on more and more independent simulated weeks.

    What chose the shipped model's training size (docs/EVALUATION.md, "Reading the numbers"):
    each model is ``fraudscore train --simulate`` of the first k weeks (``train_default``'s seeds
    and weeks), scored on ``validation_n`` rows of ``validation_seed``, which is neither the test
    seed nor the leave-one-family-out seed of :func:`evaluate_model`, so choosing on it leaves
    the test numbers untouched.

    ``week_rows`` defaults to ``train_default``'s (:data:`fraudscore.model.WEEK_ROWS`).

    Returns
    -------
    list of dict
        One per entry of ``weeks``: rows, ROC AUC, recall at 1 % and 5 % FPR, ECE, and recall at
        5 % FPR of the weakest family.
    """
    from fraudscore.model import WEEK_ROWS, FraudModel, simulated_week_seeds, simulated_weeks
    from fraudscore.simulation import default_survey

    week_rows = WEEK_ROWS if week_rows is None else week_rows
    seeds = simulated_week_seeds(seed, max(weeks))
    if validation_seed in seeds:
        raise ValueError(f"validation seed {validation_seed} is one of the training weeks' seeds")
    out = []
    for k in weeks:
        log(f"training on {k} week(s) of {week_rows} rows")
        model = FraudModel(surveys=[default_survey()], random_state=seed, **params)
        model._fit_independent(simulated_weeks([week_rows] * k, seeds[:k]))
        F, y, fam = _simulate_features(model, validation_n, validation_seed, "default")
        m = metrics_by_family(y, model.classifier_.predict_proba(F)[:, 1], fam)
        o = m["overall"]
        out.append({"weeks": k, "rows": k * week_rows, "roc_auc": o["roc_auc"], "recall_at_1pct_fpr": o["recall_at_1pct_fpr"],
                    "recall_at_5pct_fpr": o["recall_at_5pct_fpr"], "ece": o["ece"],
                    "weakest_family_recall_at_5pct_fpr": min(v["recall_at_5pct_fpr"] for v in m["families"].values())})
    return out


def table_features(model, table) -> tuple[np.ndarray, np.ndarray]:
    """``model``'s features of a simulated table, history counted in a fresh store as in training.

    Returns the matrix of every row and the mask of valid rows.
    """
    from fraudscore.history import MemoryStore
    from fraudscore.io import read_batch
    from fraudscore.model import _TRAINING_SECRET, history_counts

    batch = read_batch(table)
    history = history_counts(batch, MemoryStore(secret=_TRAINING_SECRET), secret=_TRAINING_SECRET)
    return model.features(batch, history=history), np.asarray(batch.valid)


def _simulate_features(model, n, seed, difficulty):
    from fraudscore.simulation import simulate

    sim = simulate(n, difficulty=difficulty, seed=seed, output="arrow")
    F, valid = table_features(model, sim.data)
    labels = sim.labels[valid]
    return F[valid], labels["is_fraud"].to_numpy().astype(int), labels["family"].to_numpy(dtype=object)


_HEAD = ("| rows | ROC AUC | PR AUC | recall @1 % FPR | recall @5 % FPR | ECE |", "|---|---|---|---|---|---|")


def _row(name, m, keys):
    return "| " + name + " | " + " | ".join("n/a" if not np.isfinite(m[k]) else f"{m[k]:.3f}" for k in keys) + " |"


def evaluate_model(model_dir=None, test_n: int = 30_000, test_seed: int = TEST_SEED, lofo_n: int = 30_000,
                   lofo_seed: int = LOFO_SEED, hard: bool = True, log=print) -> tuple[str, dict]:
    """Evaluate a saved model on fresh simulator seeds; return (Markdown report, numbers).

    Held-out data only: the test sets come from ``test_seed`` (the model was trained on another
    seed) and leave-one-family-out models are trained on ``lofo_seed`` data with the saved
    model's hyperparameters and feature extractor, then tested on the ``test_seed`` set. Nothing
    here feeds back into training or thresholds.
    """
    from fraudscore.model import load_model

    model = load_model(model_dir)
    manifest_n = model.training_summary_["rows_read"]
    simulation = _training_simulation(model_dir)
    seen = set(simulation.get("week_seeds") or ([simulation["seed"]] if "seed" in simulation else []))
    if seen & {test_seed, lofo_seed}:
        raise ValueError(f"seeds {sorted(seen & {test_seed, lofo_seed})} are in the model's training data "
                         "(manifest simulation.week_seeds); evaluate on seeds it never saw")
    weeks = len(simulation.get("weeks") or [1])
    trained_on = f"{manifest_n} simulated rows " + (f"in {weeks} independent weeks of other seeds" if weeks > 1
                                                    else "of another seed")
    names = model.feature_names_
    numbers = {"model_version": getattr(model, "model_version_", None), "test_n": test_n, "test_seed": test_seed}
    keys = ("roc_auc", "pr_auc", "recall_at_1pct_fpr", "recall_at_5pct_fpr", "ece")
    lines = []
    for difficulty in ("default", "hard") if hard else ("default",):
        log(f"simulating and scoring {test_n} rows, seed {test_seed}, difficulty {difficulty}")
        F, y, fam = _simulate_features(model, test_n, test_seed, difficulty)
        p = model.classifier_.predict_proba(F)[:, 1]
        m = metrics_by_family(y, p, fam)
        t = model.thresholds
        m["at_thresholds"] = {k: {"fpr": float((p[y == 0] >= v).mean()), "recall": float((p[y == 1] >= v).mean())}
                              for k, v in t.items()}
        if difficulty == "default":
            m["single_feature_auc"] = single_feature_auc(F, y, fam, names)
            m["tells"] = recall_by_tells(F, y, p, fam, names)
            no_hist = np.char.startswith(names.astype(str), "history.")
            Fh = F.copy()
            Fh[:, no_hist] = np.nan
            m["without_history"] = metrics_by_family(y, model.classifier_.predict_proba(Fh)[:, 1], fam)
            test = (F, y, fam)
        numbers[difficulty] = m
        lines += [f"## Held-out seed {test_seed}, difficulty `{difficulty}` ({len(y)} rows, {int(y.sum())} fraud)",
                  "", *_HEAD, _row("**all**", m["overall"], keys)]
        lines += [_row(f, fm, keys) for f, fm in m["families"].items()]
        lines += ["", "At the model's stored thresholds (chosen on the training seed's validation split): "
                  + "; ".join(f"{k}: FPR {v['fpr']:.3f}, recall {v['recall']:.3f}"
                              for k, v in m["at_thresholds"].items())
                  + ".", "", "Per-family rows are that family against all honest rows; a family's ECE is "
                  "over those rows only (a small sample).", ""]

    log(f"leave-one-family-out: simulating {lofo_n} rows, seed {lofo_seed}")
    Ftr, ytr, famtr = _simulate_features(model, lofo_n, lofo_seed, "default")
    F, y, fam = test

    def make():
        return model._classifier(0)

    log("leave-one-family-out: reference model with every family")
    ref = make().fit(Ftr, ytr)
    ref_m = metrics_by_family(y, ref.predict_proba(F)[:, 1], fam)["families"]
    lofo = leave_one_family_out(make, Ftr, ytr, famtr, F, y, fam)
    numbers["lofo"] = {"n_train": int(len(ytr)), "held_out": lofo, "all_families": ref_m}
    lines += [f"## Leave one family out (train: {len(ytr)} rows of seed {lofo_seed} without the family; "
              f"test: seed {test_seed}, default difficulty, honest rows + the family)", "",
              "| family | AUC, family unseen | AUC, family seen (same training size) | recall @5 % FPR unseen |",
              "|---|---|---|---|"]
    lines += [f"| {f} | {v['roc_auc']:.3f} | {ref_m[f]['roc_auc']:.3f} | {v['recall_at_5pct_fpr']:.3f} |"
              for f, v in lofo.items()]
    lines.append("")

    import fnmatch

    log("feature ablations")
    ref_p = ref.predict_proba(F)[:, 1]
    rows_ab = [("all features (the reference model above)", metrics_by_family(y, ref_p, fam))]
    for label, patterns in ABLATIONS.items():
        drop = np.array([any(fnmatch.fnmatchcase(str(n), pat) for pat in patterns) for n in names])
        if not drop.any():
            continue
        A, B = Ftr.copy(), F.copy()
        A[:, drop] = np.nan
        B[:, drop] = np.nan
        rows_ab.append((f"without the {label} features", metrics_by_family(y, make().fit(A, ytr).predict_proba(B)[:, 1], fam)))
    numbers["ablation"] = {k: v for k, v in rows_ab}
    lines += ["## Feature ablation (same training and test rows as leave one family out)", "",
              "| features | ROC AUC | recall @1 % FPR | `geo_fraud` recall @5 % FPR | `geo_fraud` AUC |",
              "|---|---|---|---|---|"]
    lines += [f"| {k} | {v['overall']['roc_auc']:.3f} | {v['overall']['recall_at_1pct_fpr']:.3f} | "
              f"{v['families'].get('geo_fraud', {}).get('recall_at_5pct_fpr', float('nan')):.3f} | "
              f"{v['families'].get('geo_fraud', {}).get('roc_auc', float('nan')):.3f} |" for k, v in rows_ab]
    lines.append("")

    d = numbers["default"]
    checks = [
        ("ROC AUC >= 0.98 (default)", d["overall"]["roc_auc"], d["overall"]["roc_auc"] >= TARGETS["roc_auc"]),
        ("recall >= 0.90 at 1 % FPR (default)", d["overall"]["recall_at_1pct_fpr"],
         d["overall"]["recall_at_1pct_fpr"] >= TARGETS["recall_at_1pct_fpr"]),
        ("every family recall >= 0.80 at 5 % FPR", min(v["recall_at_5pct_fpr"] for v in d["families"].values()),
         all(v["recall_at_5pct_fpr"] >= TARGETS["family_recall_at_5pct_fpr"] for v in d["families"].values())),
        ("leave-one-family-out AUC >= 0.85, every family", min(v["roc_auc"] for v in lofo.values()),
         all(v["roc_auc"] >= TARGETS["lofo_auc"] for v in lofo.values())),
        ("calibration error <= 0.02 (default)", d["overall"]["ece"], d["overall"]["ece"] <= TARGETS["ece"]),
    ]
    short = [f for f, v in d["families"].items() if v["recall_at_5pct_fpr"] < TARGETS["family_recall_at_5pct_fpr"]]
    lofo_short = [f for f, v in lofo.items() if v["roc_auc"] < TARGETS["lofo_auc"]]
    head = ["# Evaluation of the default model", "",
            "Generated by `OMP_NUM_THREADS=1 python -m fraudscore.evaluation` (a few minutes) for model "
            f"`{numbers['model_version']}` "
            f"(trained on {trained_on}). Every number is on data the model "
            "never saw: fresh simulator seeds, and the leave-one-family-out models never see the held-out "
            "family. Thresholds and hyperparameters were not tuned on any of it.", "",
            "## Targets (issue 6)", "", "| target | measured | met |", "|---|---|---|"]
    head += [f"| {name} | {value:.3f} | {'yes' if ok else '**no**'} |" for name, value, ok in checks]
    head += ["", f"Families under 0.80 recall at 5 % FPR: {', '.join(short) or 'none'}. "
             f"Families under 0.85 leave-one-family-out AUC: {', '.join(lofo_short) or 'none'}.", ""]
    sf = d["single_feature_auc"]
    wh = d["without_history"]
    tail = ["## Leakage checks", "",
            "Best single features per family on the default test set (AUC of one feature alone, better "
            "direction; near 1.0 means one tell gives the family away, which a real attacker would not "
            "leave):", "", "| family | best single features |", "|---|---|"]
    tail += [f"| {f} | " + ", ".join(f"`{n}` {a:.3f}" for n, a in v) + " |" for f, v in sf.items()]
    tail += ["", "Same model, history features blanked (scored without a history store):", "",
             *_HEAD, _row("**all**", wh["overall"], keys)]
    tail += [_row(f, fm, keys) for f, fm in wh["families"].items()]
    tail += ["", "## What the model misses: rows without a tell", "",
             "Each family's fraud rows on the default test set split by whether they show any of the family's "
             "tells (`FAMILY_TELLS` in `fraudscore/evaluation.py`: for `geo_fraud` every network mismatch, "
             "hosting IP, foreign locale or carrier; for `duplicate` any earlier submission of the same device, "
             "link, cookie, IP, respondent or text). Recall at the 5 % FPR threshold. A row without a tell differs "
             "from honest people only in what it shares with them, so the ceiling is the recall if every row "
             "with a tell were caught and the rest stayed as they are; catching every row with a tell would "
             "also flag the share of honest rows that show one.", "",
             "| family | rows without a tell | recall with a tell | recall without | AUC without a tell vs "
             "honest without | honest rows with a tell | ceiling at 5 % FPR |", "|---|---|---|---|---|---|---|"]
    tail += [f"| {f} | {v['share_without_tell']:.3f} | {v['recall_with_tell']:.3f} | {v['recall_without_tell']:.3f} "
             f"| {v['auc_without_tell']:.3f} | {v['honest_with_tell']:.3f} | {v['ceiling']:.3f} |"
             for f, v in d["tells"].items()]
    tail += ["", _NOTES]
    return "\n".join(head + lines + tail) + "\n", numbers


#: Hand-written reading of the numbers; update it when the model or simulator changes.
_NOTES = """## Reading the numbers

Written for the model version above (trained with `fraudscore train --simulate 480000 --seed 0`:
eight independent simulated weeks of 60,000 rows, each with its own history); re-read it after
retraining. Calibration and leave-one-family-out meet their targets (the lowest unseen family is
`geo_fraud`, 0.873; it moved between 0.849 and 0.884 over retrains as the simulator changed,
and classifier seeds alone move it by ~0.005, so read it as "about 0.85-0.88"; those models
train on 30,000 rows). Overall ROC AUC, recall at 1 % FPR and the
weakest family (`geo_fraud`) miss their targets. Why:

- **More training rows helped; hyperparameters did not.** Chosen on a validation seed (3000,
  30,000 rows), never on the test seed above. `python -m fraudscore.evaluation --weeks-study
  1,2,4,8` (~3 minutes) trains on the first 1 / 2 / 4 / 8 of the shipped model's weeks and gives
  ROC AUC 0.969 / 0.973 / 0.975 / 0.976, recall at 1 % FPR 0.879 / 0.886 / 0.894 / 0.898 and
  weakest-family recall at 5 % FPR 0.725 / 0.723 / 0.728 / 0.754 there (this model's features).
  An earlier exploration (the features before `timing.pace_drop`, classifiers refitted on fixed
  matrices) found 16 weeks no better than 8 (ROC AUC 0.976 both), and learning rate 0.05 with
  400 iterations, 63 leaves, 50 rows per leaf, L2 1.0 and 400 iterations each moving ROC AUC by
  0.001 or less at 4 or 8 weeks, so the defaults stay. One simulation of 480,000 rows (eight
  times the traffic density in one week) scored the same as eight weeks (0.9745 there), but
  holds every row at once; the weeks keep memory to one week's rows (2.9 GB peak, ~1 minute on
  two cores). On the test seed the eight weeks moved ROC AUC from 0.965 to 0.973, recall at 1 %
  FPR from 0.871 to 0.889 and `geo_fraud` recall at 5 % FPR from 0.709 to 0.745, against the
  model trained on one week (both without `timing.pace_drop`). More fraud in the mix helps a
  little: four weeks at 10 % fraud and four at 30 %, against eight at 10 %, moved ROC AUC from
  0.973 to 0.974 and recall at 1 % FPR from 0.890 to 0.894 on validation seeds 3000-3009
  (300,000 rows). Not adopted: the shipped probabilities would then be calibrated to a 20 % mix,
  and every deployment at the usual rates would need `FraudModel.with_prior`.
- **A change of pace part-way through (`timing.pace_drop`) catches careless onsets.** Careless
  respondents speed up once they stop reading (Bowling et al. 2021; Ulitzsch et al. 2022 model
  the onset from response times). The feature is the highest running sum of the row's
  standardized log item times, each read against the survey's per-item median (fitted), over
  sqrt(items): any drop in pace, wherever it starts, whatever the row's overall speed. Added on
  the validation seed's evidence (eight weeks: ROC AUC 0.976 -> 0.978, recall at 1 % FPR 0.885
  -> 0.897, `careless` recall at 1 % FPR 0.807 -> 0.871); on the test seed ROC AUC went from
  0.973 to 0.974, recall at 1 % FPR from 0.889 to 0.893 and `careless` ROC AUC from 0.967 to
  0.982. Expect less on real traffic: simulated careless people answer 2-7x faster after their
  onset, and simulated honest people keep an even pace apart from item length, while real
  respondents also tire. The per-item norm absorbs a speed-up the whole population shares, not
  one that varies from person to person.

- **LLM agents' answer style is now a tell they can hide.** Their coherent, central, agreeable
  Likert answers (models answer more consistently than people) were set for every agent row,
  whatever its sophistication, so `answers.mahad_per_item` alone separated the family at AUC
  0.945-0.958 at the default difficulty and 0.952 at the hardest, against the simulator's ceilings
  of 0.95 and 0.85 (issue 3, item 4; the separability test did not compute a Mahalanobis
  distance then, and now does, against honest rows). Like every other tell it now shows with the
  row's sophistication (0.75 at the default difficulty, 0.52 at the hardest). `llm_agent` recall
  at 5 % FPR went from 0.933 to 0.931 and its ROC AUC from 0.981 to 0.968: the model leans on
  its other tells (typing, pointer timing, text).

- **The honest population is no longer unrealistically clean.** 8 % of honest residents browse
  with another country's locale (`vi-VN`, `en-IN`, `es-MX`: the fraud-origin diasporas included),
  some carry a foreign SIM, travellers' and expats' GPS is abroad, and start times follow a
  day-night rhythm (docs/SIMULATOR.md). Before that, honest rows never had a foreign-region
  locale, and a region-aware language feature looked better than it is (an earlier trial reached
  `geo_fraud` recall 0.79 at 5 % FPR on the old simulator). The new network features
  (`network.language_region_*`, `network.language_tz_mismatch`, `network.carrier_*`) are measured
  on the realistic population in the ablation table: they add about 0.007 ROC AUC and 0.07
  `geo_fraud` recall at 5 % FPR; dropping only one of the two groups costs much less than
  dropping both, because they overlap. An hour-of-day feature (the simulator's fraudsters keep
  their origin's waking hours unless hidden) gave no measurable gain and is not shipped.
- **Scroll and tab-away features** (`scroll.*`, `focus.*`) add little overall (ablation table:
  +0.001 ROC AUC, +0.004 recall at 1 % FPR) but help against scripted scrolling: `emulator_farm`
  recall at 5 % FPR +0.03 (constant steps, intervals paced by even item times). They were
  measured on a realistic honest population: the simulator's honest people used to scroll
  always, so "never scrolled" was a certain fraud sign; now about 12 % of desktop users never
  scroll (3.6 % of honest rows), 74 % of honest rows never leave the tab, and no scroll or focus
  feature alone reaches AUC 0.85 for any family (best: `scroll.interval_cv` 0.84 and
  `scroll.dy_cv` 0.81 for `emulator_farm`; blur count and time away 0.51-0.57 for every family).
  On real traffic, constant steps also come from mouse wheels without smooth scrolling and from
  keyboard scrolling, which the simulator models only in part, so `scroll.dy_cv` = 0 is weaker
  evidence there than here.
- **`geo_fraud`: the features carry most of what the simulator leaves; one score for every
  family costs the rest.** 28 % of its rows show none of the tells the network features see
  (residential proxy in the survey country, the country's zone and locale, no carrier or GPS
  reported: each hidden independently with the row's sophistication; table above). On those rows
  the model can only use what they share with honest people (somewhat faster, a few more failed
  attention checks: AUC 0.77 against honest rows without a tell) and catches about 31 %; 18 % of
  honest rows show one of the tells too (VPN users, travellers, immigrants), more than three
  times the 5 % budget. How far any model could get is measured by `python -m
  fraudscore.evaluation --geo-ceiling` (`fraudscore.ceiling`, about a minute). On seed 5005's
  18,000 `geo_fraud` rows against its 42,000 honest rows, recall at 5 % FPR is 0.748 for this
  model's score, 0.795 for a classifier trained for `geo_fraud` alone on the same features
  (72,000 `geo_fraud` rows of seeds 5001-5004), and 0.826 for one trained on the simulator's own
  parameters that `geo_fraud` rewrites, which bounds every model on this data up to its own
  estimation error (adding the features to the parameters gives 0.825: nothing is missing from
  them). The shared score loses
  0.05 because it must rank all eight families, and honest rows that look like the other families
  take part of the 5 % budget. Explored on validation seeds 3000-3009 (300,000 rows, models of
  four training weeks), not shipped: weighting `geo_fraud` rows 3x in training moved it from
  0.737 to 0.756 and cost
  `careless`, `duplicate` and `llm_agent` 0.006-0.011 each, ROC AUC unchanged; a second score for
  `geo_fraud` alone, combined with the first by the larger of the two, traded the same way. Half
  of the remaining 0.03 to the ceiling is the exact language profile (it takes the one-family
  classifier from 0.795 to 0.809): the simulator's fraud origins and immigrant origins are different
  countries (`FRAUD_ORIGINS`, `IMMIGRANT_ORIGINS` in `simulation/network.py`). A feature that
  scores the browser's language region country by country would learn that; we do not ship one,
  because on real traffic it would score honest immigrants by their country of birth.
- **The simulator caps what any model can reach at the default difficulty.** Each tell of each
  attack row is hidden independently with probability ~0.5 (docs/SIMULATOR.md), and the simulator
  is built so that no single per-row statistic exceeds AUC 0.95 per family. With every tell hidden
  independently, some attack rows keep few or none, which alone keeps overall recall at 1 % FPR
  below 0.90 and ROC AUC below 0.98: the misses are mostly `geo_fraud` (above), `careless` rows
  with a late onset (few careless items), and farm and duplicate rows whose history links were
  broken (new cookie, VPN, browser update, reworded text).
- **`duplicate`** depends on history: scored without a history store its recall at 5 % FPR falls
  to about a fifth of what it is with one (table above). 3 % of its rows show no history tell at
  all (device, link, cookie, IP, respondent and text all new); a respondent's *first* submission
  is labelled honest by construction and is not in the family.
- **Leave-one-family-out**: families whose tells are shared with others (bots, emulators, careless
  speeding) stay high unseen; `duplicate`, `geo_fraud` and `careless` lose the most, because
  their patterns are taught by their own family only.
- **Hardest difficulty**: nearly every tell is hidden by design; the model is trained at the
  default difficulty, so its probabilities under-state fraud there. Train on `difficulty="hard"`
  data if that is the threat model.
- **Per-family ECE** is over honest rows plus one family (about 1.5 % fraud) while the model is
  calibrated for a 10 % fraud mix; it is not a calibration target. The overall ECE is.

Leakage review. Nothing looks too good: the best single feature per family stays at or below the
simulator's designed ceiling (the new locale feature `network.language_tz_mismatch` reaches 0.67
for `geo_fraud`), the overall AUC is below 0.98, and the stored thresholds land on their target
false-positive rates on the new seed, which a leaky validation split would not give.
`emulator_farm` is caught entirely on this seed (it was at 0.998 ROC AUC with one week of
training, and 0.999 in the leave-one-family-out models): its rows carry many independent tells
(software or emulator renderer, a full battery on charge, hosting IP, scripted scrolling and
pointer timing), so few rows hide them all, while it falls to 0.67 ROC AUC at the hardest
difficulty, where nearly all are hidden.
Checks made: splits are grouped by the simulator's `person_id` and `device_key` (a duplicate and
its original, a farm's devices, stay on one side); history counts come from a time-ordered store,
never from labels; the feature extractor's reference statistics are fitted without labels. Two
simulator artefacts a reader should know: `device.mobile` alone separates naive bots (simulated
bots run on desktop hosts while most honest devices are phones, the UA file's mix), and the test
set (30,000 rows in a week) is half the training traffic's weekly volume, so volume-dependent history counts (honest
device-id collisions) are a little lower than in training. The carrier table
(`fraudscore/features/_carriers.py`) names the simulator's carriers; on real traffic many
carriers are unknown (NaN) and browsers report a carrier only through an app or SDK.
"""


def main(argv=None) -> int:
    """``python -m fraudscore.evaluation [--model DIR] [-o docs/EVALUATION.md] [--json FILE] ...``"""
    import argparse
    import json
    import sys
    import time

    ap = argparse.ArgumentParser(prog="python -m fraudscore.evaluation", description=main.__doc__)
    ap.add_argument("--model", default=None, help="model directory (default: the shipped model)")
    ap.add_argument("-o", "--output", default="docs/EVALUATION.md")
    ap.add_argument("--json", default=None, help="also write the numbers as JSON")
    ap.add_argument("--test-n", type=int, default=30_000)
    ap.add_argument("--test-seed", type=int, default=TEST_SEED)
    ap.add_argument("--lofo-n", type=int, default=30_000)
    ap.add_argument("--lofo-seed", type=int, default=LOFO_SEED)
    ap.add_argument("--no-hard", action="store_true", help="skip the hardest difficulty")
    ap.add_argument("--weeks-study", default=None, metavar="K,K,...",
                    help="instead: validation metrics of models trained on K independent simulated weeks "
                         f"each (e.g. 1,2,4,8; validation seed {VALIDATION_SEED}), as JSON lines")
    ap.add_argument("--geo-ceiling", action="store_true",
                    help="instead: geo_fraud recall at 5 %% FPR of the model, of one-family classifiers and of "
                         "a classifier on the simulator's parameters (fraudscore.ceiling), as JSON")
    args = ap.parse_args(argv)
    start = time.perf_counter()

    def log_to(stream):
        return lambda s: print(f"[{time.perf_counter() - start:6.0f} s] {s}", file=stream, flush=True)

    if args.weeks_study:  # progress on stderr: stdout carries the JSON lines
        for row in training_weeks_study(tuple(int(k) for k in args.weeks_study.split(",")), log=log_to(sys.stderr)):
            print(json.dumps(row))
        return 0
    if args.geo_ceiling:
        from fraudscore.ceiling import geo_fraud_ceiling

        print(json.dumps(geo_fraud_ceiling(args.model, log=log_to(sys.stderr)), indent=1))
        return 0
    text, numbers = evaluate_model(args.model, args.test_n, args.test_seed, args.lofo_n, args.lofo_seed,
                                   hard=not args.no_hard, log=log_to(sys.stdout))
    with open(args.output, "w") as fh:
        fh.write(text)
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(numbers, fh, indent=1, default=float)
    print(f"wrote {args.output} in {time.perf_counter() - start:.0f} s")
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())

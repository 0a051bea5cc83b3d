"""How far any model could get on ``geo_fraud``: a classifier on the simulator's own parameters.

The simulator draws each row's parameters, then renders the submission from them with noise that
does not depend on the row's class. ``_geo_fraud`` (``simulation/attacks.py``) rewrites a fixed
set of parameters; everything else about a geo-fraud row is an honest draw. A classifier given
those parameters, in the form the rendered data depends on them, therefore sees at least as much
as one given any feature of the data (the data is a noisy function of the parameters; Blackwell's
theorem), and its recall at a false-positive rate estimates the ceiling of every model on this
family. "Estimates": the classifier has its own estimation error. Adding the model's features to
the parameters checks the list; if they helped, a parameter would be missing.

The study compares, on ``geo_fraud`` rows against honest rows of a fresh seed:

- the model's own score, which has to rank all eight families at once;
- a classifier for ``geo_fraud`` alone on the same features (what one score costs);
- the parameters (the ceiling), and the parameters with the features;
- the features with the exact browser language profile, which the shipped features read only as
  "foreign or not" (docs/EVALUATION.md says why).

``python -m fraudscore.evaluation --geo-ceiling`` runs it (about two minutes on two cores); the
numbers are in docs/EVALUATION.md, "Reading the numbers".
"""

from __future__ import annotations

import numpy as np

__all__ = ["COVERED_FIELDS", "PARAMETERS", "geo_fraud_ceiling", "geo_parameters"]

#: The parameters ``_geo_fraud`` rewrites, in the form the rendered data depends on them.
PARAMETERS = (
    # Reading and thinking times are (decision + words * ms per word) * speed (timeline.plan_timeline):
    # the data sees speed only through these two products.
    ("log_decision_ms", "log(decision_ms * speed)"),
    ("log_ms_per_word", "log(ms_per_word * speed)"),
    ("type_mode", "keys, paste or injection"),
    ("start_hour_utc", "start time of day, UTC (the day is drawn alike for every class)"),
    ("zone", "time zone"),
    ("profile", "browser language profile"),
    ("ip_hosting", "exit on a hosting network"),
    ("ip_country", "the exit's country (the address is drawn within it)"),
    ("carrier", "a mobile carrier is reported"),
    ("carrier_country", "the carrier's country, where one is reported"),
    ("gps", "a GPS fix is reported"),
    ("gps_country", "the fix's country, where one is reported"),
    # Honest zones, carriers and fixes depend on the device and on consent.
    ("touch", "touch device"),
    ("consent_usage", "usage consent"),
    ("consent_analytics", "analytics consent"),
)
#: The block fields :data:`PARAMETERS` stand for. ``_geo_fraud`` may rewrite these, the labels
#: and ``home``, from which nothing is rendered (the country it names shows only through the zone,
#: locale, carrier and fix it also sets). The address ``ip`` is drawn within ``ip_country`` and
#: ``ip_hosting``; ``attention_p`` shows through the attention checks' outcomes.
COVERED_FIELDS = ("decision_ms", "ms_per_word", "speed", "type_mode", "started_at", "zone", "profile",
                  "ip_hosting", "ip_country", "ip", "carrier", "carrier_country", "gps", "gps_country",
                  "consent_usage", "consent_analytics", "attention_p")
#: Parameters that are codes, not quantities.
_CATEGORIES = ("type_mode", "zone", "profile", "ip_country", "carrier_country", "gps_country")
#: The data depends on ``attention_p`` only through the checks' outcomes, which the answers show.
_ATTENTION = "answers.attention_failures"


def geo_parameters(blk) -> dict[str, np.ndarray]:
    """:data:`PARAMETERS` of every row of a simulated block, as float columns (codes shifted to >= 0)."""
    reported_carrier = blk.carrier >= 0
    cols = {
        "log_decision_ms": np.log(blk.decision_ms * blk.speed),
        "log_ms_per_word": np.log(blk.ms_per_word * blk.speed),
        "type_mode": blk.type_mode,
        "start_hour_utc": (blk.started_at % 86_400_000) / 3_600_000,
        "zone": blk.zone,
        "profile": blk.profile,
        "ip_hosting": blk.ip_hosting,
        "ip_country": blk.ip_country + 1,  # -1: a hosting exit without a country
        "carrier": reported_carrier,
        "carrier_country": np.where(reported_carrier, blk.carrier_country + 1, 0),
        "gps": blk.gps,
        "gps_country": np.where(blk.gps, blk.gps_country + 1, 0),
        "touch": blk.devices.is_touch_device,
        "consent_usage": blk.consent_usage,
        "consent_analytics": blk.consent_analytics,
    }
    assert tuple(cols) == tuple(name for name, _ in PARAMETERS)
    return {k: np.asarray(v, dtype=np.float64) for k, v in cols.items()}


def _simulate(model, seed: int, n: int, geo_share: float):
    """Features, parameters and ``geo_fraud`` labels of the honest and geo-fraud rows of one seed."""
    import pyarrow as pa

    from fraudscore.evaluation import table_features
    from fraudscore.simulation import default_survey
    from fraudscore.simulation._knobs import BLOCK_ROWS, FAMILIES, check_knobs
    from fraudscore.simulation.generator import generate_block_with_parameters

    knobs = check_knobs(n, geo_share, ["geo_fraud"], "default", seed)
    spec = default_survey()
    blocks = [generate_block_with_parameters(knobs, spec, b) for b in range(-(-n // BLOCK_ROWS))]
    F, valid = table_features(model, pa.concat_tables([table for _, table in blocks]))
    params = np.vstack([np.column_stack(list(geo_parameters(blk).values())) for blk, _ in blocks])
    family = np.concatenate([blk.family for blk, _ in blocks])
    P = np.column_stack([params, F[:, list(model.feature_names_).index(_ATTENTION)]])
    y = (family == 1 + FAMILIES.index("geo_fraud")).astype(int)
    return F[valid], P[valid], y[valid]


def geo_fraud_ceiling(model_dir=None, train_seeds=(5_001, 5_002, 5_003, 5_004), test_seed: int = 5_005,
                      n: int = 60_000, geo_share: float = 0.3, fpr: float = 0.05, log=print) -> dict:
    """Recall of ``geo_fraud`` rows at ``fpr`` against honest rows: the model, one-family classifiers, the ceiling.

    Parameters
    ----------
    model_dir : path, optional
        The model whose features and score are studied (default: the shipped one).
    train_seeds, test_seed : int
        Simulator seeds of ``n`` rows each (a training week's traffic), ``geo_share`` of them
        ``geo_fraud`` and the rest honest. The test seed must be none of the others, of the
        model's training weeks or of docs/EVALUATION.md's seeds.
    fpr : float
        False-positive rate on the test seed's honest rows.

    Returns
    -------
    dict
        ``rows`` (train and test counts) and, per input (``model``, ``features``, ``parameters``,
        ``parameters_and_features``, ``features_and_language_profile``), ``recall`` at ``fpr`` and
        ``roc_auc``.
    """
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.metrics import roc_auc_score

    from fraudscore.evaluation import LOFO_SEED, TEST_SEED, VALIDATION_SEED, _training_simulation, recall_at_fpr
    from fraudscore.model import load_model

    train_seeds = tuple(int(s) for s in train_seeds)
    reserved = {TEST_SEED, LOFO_SEED, VALIDATION_SEED}  # docs/EVALUATION.md's: never used here
    taken = set(train_seeds) | reserved | set(_training_simulation(model_dir).get("week_seeds", ()))
    if int(test_seed) in taken:
        raise ValueError(f"test seed {test_seed} is a training seed or one docs/EVALUATION.md reads")
    if reserved & set(train_seeds):
        raise ValueError(f"training seeds {train_seeds} include one docs/EVALUATION.md reads {sorted(reserved)}")
    model = load_model(model_dir)
    parts = []
    for seed in (*train_seeds, test_seed):
        log(f"simulating {n} rows of seed {seed}")
        parts.append(_simulate(model, seed, n, geo_share))
    F, P, y = (np.concatenate(a) for a in zip(*parts[:-1]))
    Ft, Pt, yt = parts[-1]
    # The model's features without a value anywhere: HistGradientBoosting rejects all-NaN columns.
    empty = np.isnan(F).all(axis=0)
    F[:, empty] = 0.0
    Ft[:, empty] = 0.0
    categories = [i for i, (k, _) in enumerate(PARAMETERS) if k in _CATEGORIES]
    params = dict(max_iter=model.max_iter, learning_rate=model.learning_rate, max_leaf_nodes=model.max_leaf_nodes,
                  min_samples_leaf=model.min_samples_leaf, l2_regularization=model.l2_regularization,
                  early_stopping=False, random_state=0)

    def fitted(train, test, cats=None):
        clf = HistGradientBoostingClassifier(**params, categorical_features=cats).fit(train, y)
        return clf.predict_proba(test)[:, 1]

    scores = {"model": model.classifier_.predict_proba(Ft)[:, 1]}
    log("fitting one-family classifiers")
    scores["features"] = fitted(F, Ft)
    scores["parameters"] = fitted(P, Pt, categories)
    scores["parameters_and_features"] = fitted(np.hstack([P, F]), np.hstack([Pt, Ft]), categories)
    # How much of the rest is the exact language profile (where fraud and immigrant origins differ).
    profile = [k for k, _ in PARAMETERS].index("profile")
    scores["features_and_language_profile"] = fitted(np.hstack([F, P[:, [profile]]]), np.hstack([Ft, Pt[:, [profile]]]),
                                                     [F.shape[1]])
    out = {"rows": {"train": int(len(y)), "train_geo_fraud": int(y.sum()), "test": int(len(yt)),
                    "test_geo_fraud": int(yt.sum())}, "fpr": fpr}
    for name, p in scores.items():
        out[name] = {"recall": recall_at_fpr(yt, p, fpr), "roc_auc": float(roc_auc_score(yt, p))}
    return out

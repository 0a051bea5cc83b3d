"""Invariants every fraudscore model and scorer must keep, runnable against any of them.

``check_scorer(scorer, records)`` runs them all and raises :class:`InvariantError` naming the
first one broken. The test suite runs it on freshly trained models and on the shipped default;
a user can run it on a retrained model before deploying it.

- scores are probabilities in [0, 1] and risk is the score on a 0–100 scale;
- decisions follow the thresholds (a higher score never gets a milder decision);
- one output row per input row, in order, ids echoed;
- scoring a batch equals scoring its rows one by one (without history);
- row order has no effect on a row's result (without history);
- the same inputs give the same outputs (deterministic);
- higher means more fraud: simulated fraud scores above honest traffic (ROC AUC > 0.5);
- save and load round-trip to the same scores.
"""

from __future__ import annotations

import tempfile

import numpy as np

__all__ = ["InvariantError", "check_scorer"]

_ORDER = {"accept": 0, "review": 1, "reject": 2}


class InvariantError(AssertionError):
    """A model or scorer broke one of fraudscore's invariants."""


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise InvariantError(message)


def check_scorer(scorer, records: list, labels=None, sample: int = 20, random_state: int = 0) -> None:
    """Raise :class:`InvariantError` if ``scorer`` breaks an invariant on ``records``.

    Parameters
    ----------
    scorer : Scorer
        Checked without history (a copy with ``history=False`` is used), so results are pure
        functions of the rows.
    records : list of dict
        Submissions; a few are scored one by one, so keep it modest (hundreds).
    labels : array-like of 0/1, optional
        Ground truth for the "higher means more fraud" check.
    sample : int
        Rows scored one at a time and in shuffled order.
    """
    from sklearn.metrics import roc_auc_score

    from fraudscore.model import load_model
    from fraudscore.scorer import Scorer

    pure = Scorer(scorer.model, history=False, survey=list(scorer._extractor.surveys or ()))
    results = pure.score(records).to_pandas()
    n = len(records)
    _require(len(results) == n, f"{len(results)} output rows for {n} input rows")
    ids = [r.get("submission_id") if isinstance(r, dict) else None for r in records]
    _require(results["submission_id"].tolist() == [None if i is None else str(i) for i in ids],
             "output rows are not in input order")
    scored = results["decision"] != "error"
    score = results["score"].to_numpy()
    _require(bool(np.all((score[scored] >= 0) & (score[scored] <= 1))), "a score outside [0, 1]")
    _require(bool(np.allclose(results["risk"][scored], score[scored] * 100, atol=0.051)),
             "risk is not the score on a 0-100 scale")
    order = np.argsort(score[scored], kind="stable")
    ranks = results["decision"][scored].map(_ORDER).to_numpy()[order]
    _require(bool(np.all(np.diff(ranks) >= 0)), "a higher score got a milder decision")

    again = pure.score(records).to_pandas()
    _require(bool(np.array_equal(again["score"].to_numpy(), score, equal_nan=True)), "scores are not deterministic")

    rng = np.random.default_rng(random_state)
    picked = rng.choice(n, size=min(sample, n), replace=False)
    for i in picked:
        one = pure.score_one(records[i])
        _require(np.isclose(one.score, score[i], atol=1e-9, equal_nan=True),
                 f"row {i}: scoring it alone gives {one.score}, in the batch {score[i]}")
    shuffled = pure.score([records[i] for i in picked]).to_pandas()["score"].to_numpy()
    _require(bool(np.allclose(shuffled, score[picked], atol=1e-9, equal_nan=True)), "row order changed a row's score")

    if labels is not None:
        y = np.asarray(labels).astype(int)[scored.to_numpy()]
        if 0 < y.sum() < len(y):
            _require(roc_auc_score(y, score[scored]) > 0.5, "fraud does not score higher than honest traffic")

    with tempfile.TemporaryDirectory() as tmp:
        scorer.model.save(tmp)
        reloaded = Scorer(load_model(tmp), history=False, survey=list(scorer._extractor.surveys or ()))
        back = reloaded.score(records).to_pandas()["score"].to_numpy()
    _require(bool(np.allclose(back, score, atol=1e-12, equal_nan=True)), "save/load changed the scores")

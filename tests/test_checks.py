"""fraudscore.checks on a freshly trained model, and proof that it catches a broken scorer."""

from __future__ import annotations

import numpy as np
import pytest

import fraudscore
from fraudscore.checks import InvariantError, check_scorer
from fraudscore.model import FraudModel
from fraudscore.scorer import Scorer


@pytest.fixture(scope="module")
def scorer_and_data():
    train = fraudscore.simulate(1_500, seed=301, output="records")
    model = FraudModel(surveys=[train.survey], max_iter=25).fit(
        train.records, train.labels["is_fraud"].to_numpy(), groups=train.labels["person_id"].to_numpy())
    test = fraudscore.simulate(200, seed=302, output="records")
    return Scorer(model, history=False, survey=train.survey), test


def test_a_trained_model_keeps_every_invariant(scorer_and_data):
    scorer, test = scorer_and_data
    check_scorer(scorer, test.records, labels=test.labels["is_fraud"].to_numpy())


def test_a_scorer_that_depends_on_the_batch_is_caught(scorer_and_data, monkeypatch):
    scorer, test = scorer_and_data
    real = type(scorer.forest).predict_explain  # the Scorer's one call into the trees

    def batch_dependent(self, X, *args, **kwargs):
        p, rows, contributions = real(self, X, *args, **kwargs)
        p = np.clip(p + 0.001 * len(X), 0, 1)  # a score that changes with the batch size
        return p, rows, contributions

    monkeypatch.setattr(type(scorer.forest), "predict_explain", batch_dependent)
    with pytest.raises(InvariantError, match="alone"):
        check_scorer(scorer, test.records)

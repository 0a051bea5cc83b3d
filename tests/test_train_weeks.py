"""Training on independent samples of traffic (simulated weeks), each with its own history."""

from __future__ import annotations

import json

import numpy as np
import pytest

import fraudscore
from fraudscore.evaluation import group_ids
from fraudscore.model import FraudModel, load_model, simulated_week_seeds, train_default

PARAMS = {"max_iter": 15, "n_threads": 1}


def week(n: int, seed: int):
    sim = fraudscore.simulate(n, fraud_rate=0.25, seed=seed, output="arrow")
    groups = group_ids(sim.labels["person_id"].to_numpy(), sim.labels["device_key"].to_numpy())
    return sim.data, sim.labels["is_fraud"].to_numpy(), groups


class _Captured(FraudModel):
    """Keeps the training matrix (what the tests compare)."""

    def _fit_matrix(self, F, yv, groups, *args, **kwargs):
        self.matrix = (F.copy(), yv.copy(), np.asarray(groups).copy())
        return super()._fit_matrix(F, yv, groups, *args, **kwargs)


def test_one_sample_is_fit_exactly():
    X, y, groups = week(700, seed=3)
    probe = fraudscore.simulate(150, seed=4).records
    fitted = FraudModel(random_state=1, **PARAMS).fit(X, y, groups=groups)
    independent = FraudModel(random_state=1, **PARAMS)._fit_independent([(X, y, groups)])
    np.testing.assert_array_equal(independent.score(probe), fitted.score(probe))
    assert independent.thresholds_ == fitted.thresholds_
    assert independent.training_summary_ == fitted.training_summary_


def test_samples_do_not_count_as_each_others_history():
    X, y, groups = week(500, seed=8)
    # The same week twice: observed into one store, every row of the second copy would be a replay
    # of the first; each in its own store, both copies get the same history and so the same features.
    model = _Captured(random_state=0, **PARAMS)._fit_independent([(X, y, groups), (X, y, groups)])
    F, yv, g = model.matrix
    half = len(yv) // 2
    history = np.char.startswith(model.feature_names_.astype(str), "history.")
    assert np.nansum(F[:half, history]) > 0  # the week has repeats to count
    np.testing.assert_array_equal(F[:half], F[half:])
    np.testing.assert_array_equal(yv[:half], yv[half:])
    # ...and the copies' groups stay apart (a device in week 1 is not the same as in week 2).
    assert not set(g[:half]) & set(g[half:])
    assert model.training_summary_["rows_read"] == 1_000
    assert "each of the 2 samples (independent traffic)" in model.training_summary_["history"]


def test_train_default_simulates_more_rows_as_independent_weeks(tmp_path):
    summary = train_default(900, seed=5, output=tmp_path / "m", fraud_rate=0.3, week_rows=400, **PARAMS)
    assert "900 simulated submissions in 3 independent weeks" in summary
    manifest = json.loads((tmp_path / "m" / "manifest.json").read_text())
    simulation = manifest["simulation"]
    assert simulation["weeks"] == [300, 300, 300]
    assert simulation["week_seeds"] == simulated_week_seeds(5, 3) and simulation["week_seeds"][0] == 5
    assert sum(simulation["families"].values()) == 900
    assert "--week-rows 400" in manifest["command"]
    assert manifest["training"]["rows_read"] == 900
    card = (tmp_path / "m" / "MODEL_CARD.md").read_text()
    assert "3 independent weeks of 300 rows or fewer" in card and "--week-rows 400" in card
    assert load_model(tmp_path / "m").score(fraudscore.simulate(20, seed=6).records).shape == (20,)


def test_one_week_is_the_simulation_of_the_seed(tmp_path):
    train_default(500, seed=7, output=tmp_path / "m", fraud_rate=0.3, week_rows=500, **PARAMS)
    sim = fraudscore.simulate(500, fraud_rate=0.3, seed=7, output="arrow")
    groups = group_ids(sim.labels["person_id"].to_numpy(), sim.labels["device_key"].to_numpy())
    direct = FraudModel(surveys=[sim.survey], random_state=7, **PARAMS).fit(sim.data, sim.labels["is_fraud"].to_numpy(),
                                                                            groups=groups)
    probe = fraudscore.simulate(100, seed=8).records
    np.testing.assert_array_equal(load_model(tmp_path / "m").score(probe), direct.score(probe))


def test_week_seeds_of_neighbouring_seeds_do_not_overlap():
    a, b = simulated_week_seeds(0, 8), simulated_week_seeds(1, 8)
    assert len(set(a)) == 8 and not set(a) & set(b)
    with pytest.raises(ValueError):
        simulated_week_seeds(0, 0)


def test_each_sample_needs_its_groups():
    X, y, _ = week(300, seed=9)
    with pytest.raises(ValueError, match="one group per submission"):
        FraudModel(**PARAMS)._fit_independent([(X, y, None)])
    with pytest.raises(ValueError, match="no sample"):
        FraudModel(**PARAMS)._fit_independent([])


def test_evaluation_refuses_a_test_seed_the_model_was_trained_on(tmp_path):
    from fraudscore.evaluation import evaluate_model

    train_default(600, seed=5, output=tmp_path / "m", fraud_rate=0.3, week_rows=300, **PARAMS)
    second = simulated_week_seeds(5, 2)[1]
    for test_seed, lofo_seed in ((5, 2_000), (1_000, second)):
        with pytest.raises(ValueError, match="in the model's training data"):
            evaluate_model(tmp_path / "m", test_n=50, test_seed=test_seed, lofo_n=50, lofo_seed=lofo_seed)


def test_the_weeks_study_trains_on_more_weeks_and_refuses_a_training_seed_for_validation():
    from fraudscore.evaluation import training_weeks_study

    rows = training_weeks_study(weeks=(1, 2), week_rows=400, validation_n=300, log=lambda s: None, **PARAMS)
    assert [r["weeks"] for r in rows] == [1, 2] and [r["rows"] for r in rows] == [400, 800]
    assert all(0.5 < r["roc_auc"] <= 1.0 for r in rows)
    with pytest.raises(ValueError, match="training weeks' seeds"):
        training_weeks_study(weeks=(1,), seed=3_000, week_rows=400, validation_n=300, **PARAMS)

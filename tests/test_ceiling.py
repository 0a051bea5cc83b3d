"""The geo_fraud ceiling study: its parameters cover what the simulator changes, and it runs."""

import copy
import dataclasses

import numpy as np
import pytest

from fraudscore.ceiling import _CATEGORIES, COVERED_FIELDS, PARAMETERS, geo_fraud_ceiling, geo_parameters
from fraudscore.simulation import default_survey
from fraudscore.simulation._knobs import check_knobs
from fraudscore.simulation.attacks import apply_attacks, assign_families
from fraudscore.simulation.population import Block, draw_honest


def _differs(a, b) -> bool:
    if hasattr(a, "codes"):  # a coded column: codes into a vocabulary
        return _differs(a.codes, b.codes) or list(a.vocab) != list(b.vocab)
    if dataclasses.is_dataclass(a) and not isinstance(a, type):
        return any(_differs(getattr(a, f.name), getattr(b, f.name)) for f in dataclasses.fields(a))
    if isinstance(a, np.ndarray):
        return a.shape != b.shape or not np.array_equal(a, b, equal_nan=a.dtype.kind == "f")
    if isinstance(a, dict):
        return a.keys() != b.keys() or any(_differs(a[k], b[k]) for k in a)
    return a != b


def _geo_block(n=3_000):
    rng = np.random.default_rng(7)
    blk = draw_honest(rng, n, default_survey(), np.arange(n, dtype=np.int64))
    honest = copy.deepcopy(blk)
    knobs = check_knobs(n, 1.0, ["geo_fraud"], "default", 7)
    family, subtype = assign_families(rng, n, knobs)
    apply_attacks(rng, blk, family, subtype, knobs)
    return honest, blk


def test_the_parameters_stand_for_every_field_geo_fraud_rewrites():
    """A new geo_fraud tell in the simulator must come with a parameter, or the ceiling is too low."""
    honest, geo = _geo_block()
    changed = {f.name for f in dataclasses.fields(Block) if _differs(getattr(honest, f.name), getattr(geo, f.name))}
    assert {"speed", "zone", "profile", "ip_country", "home"} <= changed  # the comparison sees rewrites
    assert changed - {"family", "subtype", "sophistication", "home"} <= set(COVERED_FIELDS)


def test_speed_reaches_the_parameters_as_the_timeline_uses_it():
    honest, geo = _geo_block()
    for blk in (honest, geo):
        p = geo_parameters(blk)
        assert [k for k in p] == [name for name, _ in PARAMETERS]
        np.testing.assert_allclose(np.exp(p["log_ms_per_word"]), blk.ms_per_word * blk.speed)
        np.testing.assert_allclose(np.exp(p["log_decision_ms"]), blk.decision_ms * blk.speed)
        assert all(v.dtype == np.float64 and np.isfinite(v).all() for v in p.values())
        assert all((p[k] >= 0).all() for k in _CATEGORIES)  # codes shifted for categorical_features
    fast = geo.speed < 1
    assert fast.any() and (geo_parameters(geo)["log_ms_per_word"][fast] < np.log(geo.ms_per_word[fast])).all()


def test_the_study_runs_and_the_parameters_beat_the_features():
    out = geo_fraud_ceiling(train_seeds=(5_001,), test_seed=5_002, n=6_000, log=lambda s: None)
    assert out["rows"] == {"train": 6_000, "train_geo_fraud": 1_800, "test": 6_000, "test_geo_fraud": 1_800}
    for name in ("model", "features", "parameters", "parameters_and_features", "features_and_language_profile"):
        assert 0.5 < out[name]["roc_auc"] <= 1.0 and 0.0 <= out[name]["recall"] <= 1.0
    assert out["parameters"]["roc_auc"] > out["features"]["roc_auc"]
    assert out["parameters"]["roc_auc"] > out["model"]["roc_auc"]


@pytest.mark.parametrize("seeds", [dict(test_seed=1_000), dict(test_seed=5_001), dict(test_seed=0),
                                   dict(train_seeds=(3_000,))])
def test_the_study_refuses_seeds_that_would_leak(seeds):
    with pytest.raises(ValueError, match="seed"):
        geo_fraud_ceiling(**({"train_seeds": (5_001,), "test_seed": 5_002, "n": 600} | seeds))

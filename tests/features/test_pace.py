"""timing.pace_drop: a drop in pace part-way through a survey (careless onset), read against the
survey's per-item norm."""

from __future__ import annotations

import copy
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fraudscore.features import timing
from fraudscore.features.context import FeatureContext
from fraudscore.features.extractor import FeatureExtractor
from fraudscore.io import read_batch

BASE = {
    "submission_id": "s0", "survey_id": "sv", "started_at": 1_777_622_400_000, "submitted_at": 1_777_622_520_000,
    "consent": {"usage": True, "analytics": True}, "telemetry": {"item_ms": []},
}
#: The survey's items: long ones first, then short ones (a norm that is not flat).
WORDS = np.array([60, 60, 50, 50, 40, 40, 12, 12, 10, 10, 8, 8], dtype=np.float64)


def record(i: int, item_ms, survey: str = "sv") -> dict:
    r = copy.deepcopy(BASE)
    r["submission_id"], r["survey_id"] = f"s{i}", survey
    r["telemetry"]["item_ms"] = [float(v) for v in item_ms]
    return r


def attentive(rng, speed: float = 1.0) -> np.ndarray:
    """Reading time grows with the item's words, times lognormal noise."""
    return speed * (800.0 + 60.0 * WORDS) * np.exp(0.35 * rng.standard_normal(len(WORDS)))


def careless_from(rng, onset: int, faster: float = 4.0) -> np.ndarray:
    times = attentive(rng)
    times[onset:] /= faster
    return times


def pace_drop(records, fit_on) -> np.ndarray:
    extractor = FeatureExtractor(families=["timing"]).fit(fit_on)
    names = list(extractor.get_feature_names_out())
    return extractor.transform(records)[:, names.index("timing.pace_drop")]


@pytest.fixture(scope="module")
def calibration():
    rng = np.random.default_rng(0)
    return [record(i, attentive(rng, speed=rng.uniform(0.5, 2.0))) for i in range(200)]


def test_a_careless_onset_stands_out_against_attentive_rows(calibration):
    rng = np.random.default_rng(1)
    honest = [record(1000 + i, attentive(rng, rng.uniform(0.5, 2.0))) for i in range(200)]
    careless = [record(2000 + i, careless_from(rng, onset=int(rng.integers(3, 9)))) for i in range(200)]
    drop = pace_drop(honest + careless, calibration)
    assert np.isfinite(drop).all()
    h, c = drop[:200], drop[200:]
    auc = (c[:, None] > h[None, :]).mean()
    assert auc > 0.95, auc
    assert np.median(c) > 2 * np.median(h)


def test_the_norm_keeps_long_items_first_from_passing_for_a_change_of_pace(calibration):
    # Attentive rows read long items first, so their raw times fall part-way through; only the
    # survey's per-item norm tells that from carelessness.
    rng = np.random.default_rng(2)
    rows = [record(i, attentive(rng)) for i in range(100)]
    with_norm = pace_drop(rows, calibration)
    without = pace_drop(rows, [record(i, [1000.0] * 5) for i in range(40)])  # no norm for 12 items
    assert np.median(with_norm) < 0.6 * np.median(without)


def test_the_statistic_by_hand():
    times = np.array([4000.0, 3000.0, 5000.0, 1000.0, 500.0, 700.0])
    logs = np.log(times)
    z = (logs - logs.mean()) / logs.std()
    want = np.cumsum(z).max() / math.sqrt(len(times))
    got = pace_drop([record(0, times)], [record(0, times)])  # one row: no norm (fewer than 30)
    assert got[0] == pytest.approx(want, rel=1e-6)
    # Whatever the row's overall speed: times scaled by a constant give the same pace.
    assert pace_drop([record(0, times * 7.0)], [record(0, times)])[0] == pytest.approx(want, rel=1e-6)


def test_undefined_pace_is_nan():
    rows = [record(0, [1000.0, 2000.0, 500.0]),  # fewer than four items
            record(1, [800.0] * 10),  # constant pace
            record(2, []),
            record(3, [1000.0, float("nan"), 2000.0, 500.0])]  # a NaN time leaves three
    assert np.isnan(pace_drop(rows, rows)).all()


def test_the_norm_is_fitted_per_survey_on_its_most_common_item_count(calibration):
    rng = np.random.default_rng(3)
    other = [record(500 + i, attentive(rng)[:8], survey="short") for i in range(20)]  # too few rows
    state = timing.fit_item_norms(FeatureContext(read_batch(calibration + other)))
    assert set(state["log_ms"]) == {"sv"}
    norm = state["log_ms"]["sv"]
    assert norm.shape == (len(WORDS),) and np.all(np.diff(norm[[0, 2, 4, 6, 8, 10]]) < 0)  # long items slower


@settings(max_examples=60, deadline=None)
@given(st.lists(st.lists(st.floats(1.0, 1e6) | st.just(float("nan")), max_size=14), min_size=2, max_size=6),
       st.booleans())
def test_a_row_alone_gives_its_row_in_a_batch(rows, with_norm):
    records = [record(i, times) for i, times in enumerate(rows)]
    state = {"log_ms": {"sv": np.log(800.0 + 60.0 * WORDS)}} if with_norm else None
    batch = read_batch(records)
    together = timing.pace(FeatureContext(batch), state)["timing.pace_drop"]
    for i, r in enumerate(records):
        alone = timing.pace(FeatureContext(read_batch([r])), state)["timing.pace_drop"]
        assert alone.shape == (1,)
        assert np.array_equal(alone, together[i:i + 1], equal_nan=True), (i, alone, together[i])


@settings(max_examples=60, deadline=None)
@given(st.integers(4, 14).flatmap(lambda m: st.tuples(
    st.just(m), st.lists(st.lists(st.floats(1.0, 1e6) | st.just(float("nan")), min_size=m, max_size=m),
                         min_size=2, max_size=6))), st.booleans())
def test_rows_of_one_length_as_one_matrix_give_each_row_alone(drawn, with_norm):
    m, rows = drawn
    rows = rows + [[]]  # a row without item times (no analytics consent) keeps the matrix layout
    records = [record(i, times) for i, times in enumerate(rows)]
    state = {"log_ms": {"sv": np.log(np.linspace(500.0, 4000.0, m))}} if with_norm else None
    together = timing.pace(FeatureContext(read_batch(records)), state)["timing.pace_drop"]
    for i, r in enumerate(records):
        alone = timing.pace(FeatureContext(read_batch([r])), state)["timing.pace_drop"]
        assert np.array_equal(alone, together[i:i + 1], equal_nan=True), (i, alone, together[i])

"""Pointer kinematics equal the original ragged implementation, in batches and alone, to rounding.

The fast path is not bit-for-bit the reference: square roots instead of ``np.hypot`` (an ulp
apart), sums over the moves taken out of a block (another pairwise order), turns wrapped without
adding pi, variances in one pass where the CV is over 0.1. Over 6,000 hypothesis examples and
100,000 simulated rows the relative differences stayed under 1.1e-14, so ``RTOL`` leaves a margin
of about 100 and is still 50,000 times finer than the float32 features. Where a relative bound
means nothing, an absolute floor of the rounding noise itself: a CV of values equal but for
rounding (~1e-16), the reference's turns (rounded to ulp(pi) = 4.4e-16 by adding pi), changes
of speeds equal but for rounding (accel and jerk: a few ulps of the row's top speed, divided by its
shortest interval once or twice), underflowed values. NaN patterns must be identical.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import fraudscore
from fraudscore.features.context import FeatureContext
from fraudscore.features.extractor import FeatureExtractor
from fraudscore.features.pointer import kinematics
from fraudscore.io import read_batch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from pointer_reference import reference_kinematics  # noqa: E402

KINDS = ["move", "down", "up", "click"]
RTOL = 1e-12
_EPS = np.finfo(np.float64).eps
_ATOL = {"pointer.speed_cv": 1e-13, "pointer.interval_cv": 1e-13, "pointer.curvature_mean": 1e-14}


def _noise_floors(batch) -> dict:
    """Per row: bounds of the rounding noise of the acceleration and jerk means."""
    t_r = batch.column("telemetry.pointer.t")
    x, y = batch.column("telemetry.pointer.x").values, batch.column("telemetry.pointer.y").values
    dt = t_r.diff()
    with np.errstate(all="ignore"):
        speed = np.hypot(t_r.diff(x).values, t_r.diff(y).values) / dt.values * 1000.0
        top = dt.maxs(np.where(np.isfinite(speed) & (dt.values > 0), speed, 0.0))
        shortest = dt.mins(np.where(dt.values > 0, dt.values, np.inf)) / 1000.0  # s
        accel = np.nan_to_num(8 * _EPS * top / shortest, posinf=np.inf)
        jerk = 4 * accel / shortest
    return {"pointer.accel_mean": accel, "pointer.jerk_mean": np.nan_to_num(jerk, posinf=np.inf)}


def assert_close(got: dict, want: dict, batch) -> None:
    """Every feature of ``want`` in ``got``, equal to ``RTOL`` or the rounding floors above, with the
    same NaNs."""
    floors = _noise_floors(batch)
    for name, values in want.items():
        atol = np.maximum(floors.get(name, 0.0), _ATOL.get(name, np.finfo(np.float64).tiny))
        np.testing.assert_array_equal(np.isnan(got[name]), np.isnan(values), err_msg=name)
        with np.errstate(invalid="ignore"):  # inf - inf
            close = (got[name] == values) | np.isnan(values) | (np.abs(got[name] - values) <= atol + RTOL * np.abs(values))
        assert close.all(), (name, got[name][~close], values[~close])


@st.composite
def pointer_record(draw, i):
    # Repeated times and positions (zero intervals and displacements), exact turns of pi,
    # clicks at the start, runs of up to 40 events (past numpy's 8-element summation blocks).
    m = draw(st.integers(0, 40))
    steps = draw(st.lists(st.sampled_from([0.0, 1.0, 1.0, 2.5, 16.0, 499.0, 501.0, 1000.0]), min_size=m, max_size=m))
    coord = st.sampled_from([0.0, 0.0, 3.0, -3.0, 10.0, 0.5]) | st.floats(-2000, 2000)
    dx = draw(st.lists(coord, min_size=m, max_size=m))
    dy = draw(st.lists(coord, min_size=m, max_size=m))
    kind = draw(st.lists(st.sampled_from(KINDS), min_size=m, max_size=m))
    return {"submission_id": f"p{i}", "survey_id": "s", "started_at": 1_777_622_400_000,
            "submitted_at": 1_777_622_500_000, "consent": {"usage": True, "analytics": True},
            "telemetry": {"pointer": {"t": np.cumsum(steps).tolist(), "x": np.cumsum(dx).tolist(),
                                      "y": np.cumsum(dy).tolist(), "kind": kind}}}


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 12).flatmap(lambda n: st.tuples(*[pointer_record(i) for i in range(n)])))
def test_kinematics_equal_the_reference_in_a_batch_and_row_by_row(records):
    batch = read_batch(list(records))
    in_batch = kinematics(FeatureContext(batch), None)
    assert_close(in_batch, reference_kinematics(batch), batch)
    for i, record in enumerate(records[:3]):
        one = read_batch([record])
        alone = kinematics(FeatureContext(one), None)
        assert_close(alone, reference_kinematics(one), one)
        for name, values in in_batch.items():  # a row's value does not depend on the other rows
            np.testing.assert_array_equal(alone[name], values[i:i + 1], err_msg=name)


@pytest.fixture(scope="module")
def simulated():
    return read_batch(fraudscore.simulate(600, seed=13, output="arrow").data)


def test_kinematics_equal_the_reference_on_simulated_traffic(simulated):
    assert_close(kinematics(FeatureContext(simulated), None), reference_kinematics(simulated), simulated)


def test_one_row_features_equal_the_batch_rows(simulated):
    fx = FeatureExtractor().fit(simulated)
    X = fx.transform(simulated)
    records_like = fraudscore.simulate(600, seed=13, output="arrow").data
    for i in (0, 1, 57, 311, 599):
        np.testing.assert_array_equal(fx.transform(records_like.slice(i, 1))[0], X[i])

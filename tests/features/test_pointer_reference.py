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


# ------------------------------------------------------------- the block's helpers, bit for bit

@st.composite
def _event_blocks(draw):
    """Rows of events (times rising within each row) with every kind, clicks at row starts and ends."""
    lengths = np.array(draw(st.lists(st.integers(0, 40), min_size=1, max_size=10)), dtype=np.int64)
    size = int(lengths.sum())
    kind = np.array(draw(st.lists(st.integers(0, 3), min_size=size, max_size=size)), dtype=np.int8)
    steps = draw(st.lists(st.sampled_from([0.0, 1.0, 100.0, 499.0, 500.0, 501.0]), min_size=size, max_size=size))
    offsets = np.concatenate(([0], np.cumsum(lengths)))
    t = np.cumsum(np.asarray(steps, dtype=np.float64)) if size else np.zeros(0)
    return t, kind, offsets


@settings(max_examples=200, deadline=None)
@given(_event_blocks())
def test_click_look_up_equals_the_look_back_loop(block):
    # The packed-flags table look-up (times in order) and the event-by-event look-back (any order)
    # count the same moves on rows whose times rise.
    from fraudscore.features._segments import EventLevels
    from fraudscore.features.pointer import CLICK, MOVE, _click_no_approach
    t, kind, offsets = block
    lev = EventLevels(offsets)
    clicks = (kind == CLICK).nonzero()[0]
    bounds = np.searchsorted(clicks, offsets)
    table = _click_no_approach(lev, t, True, kind == MOVE, clicks, bounds)
    loop = _click_no_approach(lev, t, False, kind == MOVE, clicks, bounds)
    np.testing.assert_array_equal(table, loop)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from([0.0, -0.0, 1e-170, -3e-160, 1e-150, 2.0, 1e160, -1e200, 5e-324, np.nan]),
                min_size=0, max_size=20).flatmap(lambda dx: st.tuples(
                    st.just(dx), st.lists(st.sampled_from([0.0, -0.0, 1e-170, 3.0, 1e160, np.nan]),
                                          min_size=len(dx), max_size=len(dx)))))
def test_distance_is_the_square_root_or_hypot_where_squares_leave_the_range(steps):
    # (0, 0) steps next to underflowing ones: the fast path's zero check must not swallow the latter.
    from fraudscore.features.pointer import _distance
    dx, dy = (np.array(v, dtype=np.float64) for v in steps)
    with np.errstate(over="ignore", under="ignore", invalid="ignore"):
        d2 = dx * dx + dy * dy
        ok = (d2 >= np.finfo(np.float64).tiny) & (d2 <= np.finfo(np.float64).max) | ((dx == 0) & (dy == 0))
        want = np.where(ok, np.sqrt(d2), np.hypot(dx, dy))
        np.testing.assert_array_equal(_distance(dx, dy), want)


@settings(max_examples=200, deadline=None)
@given(_event_blocks(), st.data())
def test_path_lengths_are_the_sequential_sums_of_their_inner_steps(block, data):
    # bincount's order: each path's steps added one by one from +0.0, the step into its first event left out.
    from fraudscore.features.pointer import CLICK, _path_ratios, _paths
    _, kind, offsets = block
    size = int(offsets[-1])
    moved = np.array(data.draw(st.lists(st.booleans(), min_size=size, max_size=size)), dtype=bool)
    moved[offsets[:-1][offsets[:-1] < size]] = False  # a row's first event ends no step
    at = moved.nonzero()[0]
    dist = np.array(data.draw(st.lists(st.floats(0, 1e3) | st.just(0.1), min_size=len(at), max_size=len(at))))
    if not size:
        return
    starts, first, last = _paths(size, offsets[:-1][offsets[:-1] < size], (kind == CLICK).nonzero()[0])
    displacement = np.linspace(0.0, 50.0, len(first))
    with np.errstate(divide="ignore", over="ignore", invalid="ignore"):  # as kinematics calls it
        ok, ratio = _path_ratios(starts, first, displacement, at, dist)
    step = dict(zip(at.tolist(), dist.tolist()))
    for p, (a, z) in enumerate(zip(first.tolist(), last.tolist())):
        length = 0.0
        for e in range(a + 1, z + 1):
            length += step.get(e, 0.0)
        assert ok[p] == (length > 10.0)
        assert ratio[p] == (displacement[p] / length if length > 10.0 else 0.0)

"""Pointer kinematics equal the original ragged implementation bit for bit, in batches and alone."""

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


def _same(got: dict, want: dict) -> None:
    for name, values in want.items():
        np.testing.assert_array_equal(got[name], values, err_msg=name)
        np.testing.assert_array_equal(np.signbit(got[name]), np.signbit(values), err_msg=name)


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
    _same(kinematics(FeatureContext(batch), None), reference_kinematics(batch))
    for record in records[:3]:
        one = read_batch([record])
        _same(kinematics(FeatureContext(one), None), reference_kinematics(one))


@pytest.fixture(scope="module")
def simulated():
    return read_batch(fraudscore.simulate(600, seed=13, output="arrow").data)


def test_kinematics_equal_the_reference_on_simulated_traffic(simulated):
    _same(kinematics(FeatureContext(simulated), None), reference_kinematics(simulated))


def test_one_row_features_equal_the_batch_rows(simulated):
    fx = FeatureExtractor().fit(simulated)
    X = fx.transform(simulated)
    records_like = fraudscore.simulate(600, seed=13, output="arrow").data
    for i in (0, 1, 57, 311, 599):
        np.testing.assert_array_equal(fx.transform(records_like.slice(i, 1))[0], X[i])

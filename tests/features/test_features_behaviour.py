"""Timing, pointer and keys features on hand-built submissions whose values can be checked on paper."""

from __future__ import annotations

import copy

import numpy as np
import pytest

from fraudscore.features.extractor import FeatureExtractor

BASE = {
    "submission_id": "s0", "survey_id": "sv", "started_at": 1_777_622_400_000, "submitted_at": 1_777_622_520_000,
    "consent": {"usage": True, "analytics": True},
    "telemetry": {"pointer": {"t": [], "x": [], "y": [], "kind": []}, "keys": {"t": [], "kind": []}},
    "answers": {"text": []},
}


def sub(sid="s0", pointer=None, keys=None, item_ms=None, text=None, **top):
    r = copy.deepcopy(BASE)
    r["submission_id"] = sid
    if pointer is not None:
        t, x, y, kind = pointer
        r["telemetry"]["pointer"] = {"t": t, "x": x, "y": y, "kind": kind}
    if keys is not None:
        r["telemetry"]["keys"] = {"t": keys[0], "kind": keys[1]}
    if item_ms is not None:
        r["telemetry"]["item_ms"] = item_ms
    if text is not None:
        r["answers"]["text"] = text
    r.update(top)
    return r


def features(records, fit_on=None):
    fx = FeatureExtractor(families=["timing", "pointer", "keys"]).fit(fit_on or records)
    X = fx.transform(records)
    return {name: X[:, i] for i, name in enumerate(fx.get_feature_names_out())}


def test_straight_line_at_constant_speed():
    f = features([sub(pointer=([0.0, 100.0, 200.0, 300.0], [0.0, 10.0, 20.0, 30.0], [0.0] * 4,
                               ["move", "move", "move", "click"]))])
    assert f["pointer.events"][0] == 4
    assert f["pointer.speed_mean"][0] == pytest.approx(100.0)  # 10 px per 100 ms
    assert f["pointer.speed_cv"][0] == pytest.approx(0.0)
    assert f["pointer.accel_mean"][0] == pytest.approx(0.0)
    assert f["pointer.curvature_mean"][0] == pytest.approx(0.0)
    assert f["pointer.straightness"][0] == pytest.approx(1.0)
    assert f["pointer.interval_repeat"][0] == pytest.approx(1.0)
    assert f["pointer.click_no_approach"][0] == 0.0  # three moves in the 500 ms before the click


def test_right_angle_path_straightness_and_curvature():
    # (0,0) -> (30,0) -> (30,40): travelled 70 px, displacement 50 px, one 90-degree turn
    f = features([sub(pointer=([0.0, 100.0, 200.0], [0.0, 30.0, 30.0], [0.0, 0.0, 40.0], ["move", "move", "click"]))])
    assert f["pointer.straightness"][0] == pytest.approx(50.0 / 70.0)
    assert f["pointer.curvature_mean"][0] == pytest.approx(np.pi / 2)
    # speeds 300 and 400 px/s, 100 ms apart: acceleration 1000 px/s^2
    assert f["pointer.accel_mean"][0] == pytest.approx(1000.0)


def test_paths_are_split_at_clicks():
    # two straight paths in opposite directions: each has straightness 1 (one path would be 0)
    t = [0.0, 100.0, 200.0, 300.0, 400.0]
    f = features([sub(pointer=(t, [0.0, 20.0, 40.0, 20.0, 0.0], [0.0] * 5, ["move", "move", "click", "move", "click"]))])
    assert f["pointer.straightness"][0] == pytest.approx(1.0)


def test_a_click_out_of_nowhere_has_no_approach_and_pauses_count():
    f = features([sub(pointer=([0.0, 2000.0], [5.0, 900.0], [5.0, 700.0], ["move", "click"]))])
    assert f["pointer.click_no_approach"][0] == 1.0
    # one gap over 0.5 s in 2 s of activity: 30 per minute
    assert f["pointer.pauses_per_min"][0] == pytest.approx(30.0)


def test_typing_rhythm_backspaces_pastes_and_injected_text():
    keys = ([0.0, 50.0, 200.0, 250.0, 400.0, 600.0, 900.0], ["keydown", "keyup", "keydown", "keyup", "backspace", "keydown", "paste"])
    f = features([sub(keys=keys, text=["abcdefghij"])])
    # presses at 0, 200, 400, 600: intervals all 200 ms
    assert f["keys.presses"][0] == 4
    assert f["keys.iki_mean_ms"][0] == pytest.approx(200.0)
    assert f["keys.iki_cv"][0] == pytest.approx(0.0)
    assert f["keys.backspace_rate"][0] == pytest.approx(0.25)
    assert f["keys.pastes"][0] == 1
    assert f["keys.text_per_press"][0] == pytest.approx(10 / 5)


def test_duration_against_the_fitted_survey_median():
    calibration = [sub(sid=f"c{i}", submitted_at=1_777_622_400_000 + ms) for i, ms in enumerate([100_000, 200_000, 300_000])]
    f = features([sub(submitted_at=1_777_622_400_000 + 50_000)], fit_on=calibration)
    assert f["timing.duration_s"][0] == pytest.approx(50.0)
    assert f["timing.duration_ratio"][0] == pytest.approx(0.25)


def test_item_times():
    f = features([sub(item_ms=[500.0, 800.0, 3000.0, 5000.0])])
    assert f["timing.items_under_1s"][0] == pytest.approx(0.5)
    assert f["timing.item_time_median_s"][0] == pytest.approx(1.9)
    values = np.array([500.0, 800.0, 3000.0, 5000.0])
    assert f["timing.item_time_cv"][0] == pytest.approx(values.std() / values.mean(), rel=1e-5)


def test_without_analytics_consent_behaviour_features_are_nan_but_duration_is_known():
    r = sub(pointer=([0.0, 100.0], [0.0, 10.0], [0.0, 0.0], ["move", "click"]), item_ms=[500.0],
            consent={"usage": True, "analytics": False})
    f = features([r])
    for name, values in f.items():
        if name.startswith(("pointer.", "keys.", "timing.item", "timing.pace")):
            assert np.isnan(values[0]), name
    assert f["timing.duration_s"][0] == pytest.approx(120.0)


def test_empty_one_event_and_equal_timestamps_give_nan_or_finite_without_warnings(recwarn):
    records = [
        sub(sid="a"),
        sub(sid="b", pointer=([5.0], [1.0], [1.0], ["click"]), keys=([3.0], ["keydown"])),
        sub(sid="c", pointer=([5.0, 5.0, 5.0], [1.0, 2.0, 3.0], [1.0, 1.0, 1.0], ["move", "move", "click"]),
            keys=([3.0, 3.0], ["keydown", "keydown"])),
    ]
    f = features(records)
    for name, values in f.items():
        assert np.all(np.isnan(values) | np.isfinite(values)), name
    assert not [w for w in recwarn if issubclass(w.category, RuntimeWarning)]

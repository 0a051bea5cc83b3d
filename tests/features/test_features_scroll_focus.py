"""Scroll and focus (tab-away) features on hand-built submissions whose values can be checked on paper."""

from __future__ import annotations

import copy
import warnings

import numpy as np
import pytest

from fraudscore.features.extractor import FeatureExtractor
from fraudscore.features.registry import features as registered
from fraudscore.io import read_batch
from fraudscore.reasons import reason_of

# 120 s from opening to submitting: 2 minutes.
BASE = {
    "submission_id": "s0", "survey_id": "sv", "started_at": 1_777_622_400_000, "submitted_at": 1_777_622_520_000,
    "consent": {"usage": True, "analytics": True},
    "telemetry": {"scroll": {"t": [], "dy": []}, "focus": {"t": [], "kind": []}},
}
NAMES = ("scroll.events_per_min", "scroll.interval_cv", "scroll.dy_cv", "focus.blurs", "focus.away_share")


def sub(sid="s0", scroll=None, focus=None, **top):
    r = copy.deepcopy(BASE)
    r["submission_id"] = sid
    if scroll is not None:
        r["telemetry"]["scroll"] = {"t": scroll[0], "dy": scroll[1]}
    if focus is not None:
        r["telemetry"]["focus"] = {"t": focus[0], "kind": focus[1]}
    r.update(top)
    return r


def feats(records):
    fx = FeatureExtractor(families=["scroll", "focus"]).fit(records)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no RuntimeWarning from empty rows or zero means
        X = fx.transform(records)
    return {name: X[:, i] for i, name in enumerate(fx.get_feature_names_out())}


def cv(x):
    x = np.asarray(x, dtype=float)
    return x.std() / x.mean()


def test_registered_with_family_consent_and_one_reason_code_each():
    mine = [f for f in registered() if f.family in ("scroll", "focus")]
    assert tuple(f.name for f in mine) == NAMES
    assert all(f.consent == "analytics" and f.meaning for f in mine)
    assert {reason_of(n).code for n in NAMES if n.startswith("scroll.")} == {"SCRIPTED_SCROLLING"}
    assert {reason_of(n).code for n in NAMES if n.startswith("focus.")} == {"TAB_AWAY_PATTERN"}
    assert {reason_of(n).family for n in NAMES} == {"behaviour"}


def test_known_intervals_and_steps_give_known_cvs():
    t = [1000.0, 1200.0, 1600.0, 2400.0]  # intervals 200, 400, 800
    dy = [100.0, -100.0, 50.0, 150.0]  # |dy| 100, 100, 50, 150
    f = feats([sub(scroll=(t, dy))])
    assert f["scroll.events_per_min"][0] == pytest.approx(4 / 2.0)
    assert f["scroll.interval_cv"][0] == pytest.approx(cv([200, 400, 800]), rel=1e-6)
    assert f["scroll.dy_cv"][0] == pytest.approx(cv([100, 100, 50, 150]), rel=1e-6)


def test_scripted_scrolling_is_perfectly_regular():
    t = [1000.0 + 500.0 * i for i in range(10)]
    f = feats([sub(scroll=(t, [120.0] * 10))])
    assert f["scroll.interval_cv"][0] == 0.0
    assert f["scroll.dy_cv"][0] == 0.0
    assert f["scroll.events_per_min"][0] == pytest.approx(5.0)


def test_no_one_and_same_time_events():
    rows = [
        sub("none"),  # never scrolled, never left
        sub("one", scroll=([500.0], [80.0]), focus=([700.0], ["blur"])),
        sub("same", scroll=([500.0, 500.0, 500.0], [0.0, 0.0, 0.0])),  # equal times, zero steps
        sub("two", scroll=([500.0, 900.0], [40.0, 40.0])),
    ]
    f = feats(rows)
    assert f["scroll.events_per_min"].tolist() == [0.0, 0.5, 1.5, 1.0]
    # CVs need two intervals / two events and a positive mean
    assert np.isnan(f["scroll.interval_cv"]).tolist() == [True, True, True, True]
    assert np.isnan(f["scroll.dy_cv"]).tolist() == [True, True, True, False]
    assert f["scroll.dy_cv"][3] == 0.0
    # no tab-away: 0, known; a blur with no focus after it counts as a blur but no time away
    assert f["focus.blurs"].tolist() == [0.0, 1.0, 0.0, 0.0]
    assert f["focus.away_share"].tolist() == [0.0, 0.0, 0.0, 0.0]


def test_blur_focus_pairs_give_time_away():
    # away 6 s and 18 s of 120 s; the focus at 100 s follows a focus (no blur), the trailing blur is unpaired
    focus = ([10_000.0, 16_000.0, 40_000.0, 58_000.0, 100_000.0, 110_000.0],
             ["blur", "focus", "blur", "focus", "focus", "blur"])
    f = feats([sub(focus=focus), sub("s1", focus=([5_000.0, 5_000.0], ["blur", "focus"]))])
    assert f["focus.blurs"].tolist() == [3.0, 1.0]
    assert f["focus.away_share"][0] == pytest.approx(24.0 / 120.0)
    assert f["focus.away_share"][1] == 0.0


def test_pairs_never_cross_rows():
    # row a ends on a blur and row b starts with a focus: no time away in either
    rows = [sub("a", focus=([1_000.0], ["blur"])), sub("b", focus=([90_000.0], ["focus"])), sub("c")]
    f = feats(rows)
    assert f["focus.away_share"].tolist() == [0.0, 0.0, 0.0]
    assert f["focus.blurs"].tolist() == [1.0, 0.0, 0.0]


def test_unknown_duration_gives_nan_rates_but_counts():
    r = sub(scroll=([1.0, 2.0, 4.0], [10.0, 20.0, 30.0]), focus=([1.0, 3.0], ["blur", "focus"]))
    del r["submitted_at"]
    f = feats([r])
    assert np.isnan(f["scroll.events_per_min"][0]) and np.isnan(f["focus.away_share"][0])
    assert f["focus.blurs"][0] == 1.0
    assert f["scroll.dy_cv"][0] == pytest.approx(cv([10, 20, 30]), rel=1e-6)


def test_without_analytics_consent_nothing_is_read_and_every_feature_is_nan():
    # Values that would give finite, distinctive features if they were read.
    poison = sub("p", scroll=([1.0, 2.0, 4.0, 8.0], [7.0, 70.0, 700.0, 7000.0]),
                 focus=([1.0, 50_000.0], ["blur", "focus"]), consent={"usage": True, "analytics": False})
    batch = read_batch([poison, sub("ok", scroll=([1.0, 2.0, 4.0], [1.0, 2.0, 3.0]))])
    for column in ("telemetry.scroll.t", "telemetry.scroll.dy", "telemetry.focus.t", "telemetry.focus.kind"):
        assert batch.column(column).lengths.tolist()[0] == 0  # blanked before any feature could read it
    f = feats([poison, sub("ok", scroll=([1.0, 2.0, 4.0], [1.0, 2.0, 3.0]))])
    for name in NAMES:
        assert np.isnan(f[name][0]), name
        assert np.isfinite(f[name][1]) or name == "scroll.interval_cv", name


def test_one_row_equals_the_row_inside_a_batch():
    rows = [sub(f"r{i}", scroll=(list(np.cumsum(np.arange(1, i + 2) * 37.0)), list(np.arange(i + 1) * 10.0 + 5)),
                focus=([1000.0 * i, 1000.0 * i + 777.0], ["blur", "focus"])) for i in range(6)]
    rows.append(sub("empty"))
    fx = FeatureExtractor(families=["scroll", "focus"]).fit(rows)
    X = fx.transform(rows)
    for i in range(len(rows)):
        np.testing.assert_array_equal(fx.transform([rows[i]])[0], X[i])

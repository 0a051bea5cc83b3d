"""The scroll, focus, timing, keys and content families' one-row paths (``score_one``) give the column
code's values bit for bit.

Each row is scored alone and inside a batch of several rows, on hostile series: no events, one
event, equal and constant values (where the one-pass variance cancels and is redone centred),
huge and tiny values, NaN and negative item times, zero or unknown durations.
"""

from __future__ import annotations

import copy
import sys
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import fraudscore
from fraudscore.features import content, focus, keys, scroll, timing
from fraudscore.survey import SurveySpec

sys.path.insert(0, str(Path(__file__).resolve().parent))
from one_row import assert_alone_as_in_the_batch  # noqa: E402

GROUPS = (scroll.scrolling, timing.items, keys.typing, content.text, focus.tab_away, timing.duration)
_SIM = fraudscore.simulate(8, seed=9, output="records")
_SURVEYS = {_SIM.survey.survey_id: _SIM.survey, "timed": SurveySpec(survey_id="timed", expected_duration_s=300)}
# duration: a fitted median for the simulated survey, the spec's expected duration for "timed",
# the overall median for any other survey id.
_STATES = {timing.duration: {"median_ms": {_SIM.survey.survey_id: 412_345.5}, "overall_ms": 250_000.0}}

numbers = st.sampled_from([0.0, 1.0, 100.0, 53.0, 999.9, 1000.0, 1e-300, 3e300, 1e15, 0.1]) | st.floats(0, 1e7)
times = st.lists(numbers, max_size=40).map(sorted)
texts = st.lists(st.none() | st.text(max_size=40) | st.sampled_from(["aaaa!!!!", "ééé ъ 漢字", "", "asdfghjkl"]),
                 max_size=4)
rows = st.fixed_dictionaries({
    "scroll_t": times, "dy": st.lists(st.sampled_from([100.0, -100.0, 53.0, 0.0, -0.0]) | st.floats(-1e6, 1e6),
                                      max_size=40),
    "constant_dy": st.booleans(),
    "item_ms": st.lists(numbers | st.sampled_from([-5.0, None]), max_size=35),
    "key_t": times, "key_kind": st.lists(st.sampled_from(["keydown", "keyup", "backspace", "paste"]), max_size=40),
    "text": st.none() | texts,  # None: the simulated answers (long texts: sums over 100+ bytes)
    "duration": st.sampled_from([0, 1, 60_000, 3_600_000, -5]),
    "focus_t": times, "focus_kind": st.lists(st.sampled_from(["blur", "focus"]), max_size=40),
    "survey": st.sampled_from([_SIM.survey.survey_id, "timed", "other", None]),
    "base": st.integers(0, len(_SIM.records) - 1),
})


def _record(row: dict) -> dict:
    r = copy.deepcopy(_SIM.records[row["base"]])
    tel = r["telemetry"] = dict(r.get("telemetry") or {})
    n = min(len(row["scroll_t"]), len(row["dy"]))
    dy = [row["dy"][0]] * n if row["constant_dy"] and n else row["dy"][:n]
    tel["scroll"] = {"t": row["scroll_t"][:n], "dy": dy}
    tel["item_ms"] = row["item_ms"]
    n = min(len(row["key_t"]), len(row["key_kind"]))
    tel["keys"] = {"t": row["key_t"][:n], "kind": row["key_kind"][:n]}
    if row["text"] is not None:
        r["answers"] = {**(r.get("answers") or {}), "text": row["text"]}
    r["submitted_at"] = r["started_at"] + row["duration"]
    n = min(len(row["focus_t"]), len(row["focus_kind"]))
    tel["focus"] = {"t": row["focus_t"][:n], "kind": row["focus_kind"][:n]}
    r["survey_id"] = row["survey"]
    return r


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(rows, min_size=2, max_size=5))
def test_telemetry_and_text_features_of_one_row_equal_its_row_in_a_batch(drawn):
    assert_alone_as_in_the_batch([_record(row) for row in drawn], GROUPS, _SURVEYS, _STATES)

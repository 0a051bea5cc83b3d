"""SurveySpec validates itself and round-trips through JSON."""

from __future__ import annotations

import pytest

from fraudscore.survey import SurveySpec


def test_json_round_trip(tmp_path):
    spec = SurveySpec("s1", country="DE", languages=("de",), n_likert=16, scales=(tuple(range(8)), tuple(range(8, 16))),
                      reverse_keyed=(1, 3, 9), attention_checks={5: 4}, n_text=2, expected_duration_s=420.0)
    spec.to_json(tmp_path / "spec.json")
    assert SurveySpec.from_json(tmp_path / "spec.json") == spec
    assert hash(SurveySpec.from_json(tmp_path / "spec.json")) == hash(spec)


@pytest.mark.parametrize("kwargs", [
    {"survey_id": ""}, {"survey_id": "s", "country": "usa"}, {"survey_id": "s", "likert_points": 1},
    {"survey_id": "s", "n_likert": 4, "scales": ((0, 9),)}, {"survey_id": "s", "n_likert": 4, "attention_checks": {0: 9}},
    {"survey_id": "s", "n_likert": 2, "item_words": (3,)},
])
def test_inconsistent_specs_are_refused(kwargs):
    with pytest.raises(ValueError):
        SurveySpec(**kwargs)


def test_unknown_keys_are_refused():
    with pytest.raises(ValueError, match="unknown"):
        SurveySpec.from_dict({"survey_id": "s", "colour": "red"})

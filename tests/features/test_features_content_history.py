"""Content features on hand-written texts, and history features from a real store."""

from __future__ import annotations

import numpy as np
import pytest

from fraudscore.features.extractor import FeatureExtractor
from fraudscore.history import MemoryStore, Observations
from fraudscore.survey import SurveySpec


def sub(sid, texts, survey="de-survey"):
    return {"submission_id": sid, "survey_id": survey, "started_at": 1_777_622_400_000,
            "submitted_at": 1_777_622_700_000, "respondent_id": "r1", "answers": {"text": texts}}


def content(records):
    fx = FeatureExtractor(surveys=[SurveySpec("de-survey", country="DE", languages=("de",))],
                          families=["content"]).fit(records)
    X = fx.transform(records)
    return {name: X[:, i] for i, name in enumerate(fx.get_feature_names_out())}


def test_letter_statistics():
    f = content([sub("a", ["aaaa"]), sub("b", ["Das Essen war gut, aber teuer."]), sub("c", ["sdfghjklqwrtz"]),
                 sub("d", []), sub("e", ["Еда была хорошей"])])
    assert f["content.text_chars"].tolist()[:4] == [4, 30, 13, 0]
    assert f["content.entropy_bits"][0] == 0.0 and f["content.repeat_share"][0] == 1.0
    assert f["content.vowel_share"][1] > 0.3 and f["content.vowel_share"][2] == 0.0
    assert np.isnan(f["content.entropy_bits"][3]) and np.isnan(f["content.vowel_share"][3])
    assert f["content.foreign_script_share"][1] == 0.0
    assert f["content.foreign_script_share"][4] == 1.0  # Cyrillic answers to a German survey


def test_entropy_of_two_equally_frequent_bytes_is_one_bit():
    assert content([sub("a", ["abab"])])["content.entropy_bits"][0] == pytest.approx(1.0)


def test_history_features_come_from_the_store_and_are_nan_without_one():
    records = [sub(f"s{i}", ["same text"]) | {"consent": {"usage": True}} for i in range(3)]
    for i, r in enumerate(records):
        r["submitted_at"] += i * 60_000
    store = MemoryStore()
    obs = Observations.from_raw([r["submission_id"] for r in records], [r["survey_id"] for r in records],
                                [r["submitted_at"] for r in records], respondent_id=["r1"] * 3,
                                text=["same text"] * 3)
    counts = store.observe(obs)
    fx = FeatureExtractor(families=["history"]).fit(records)
    names = list(fx.get_feature_names_out())
    X = fx.transform(records, history=counts)
    assert X[:, names.index("history.prior_respondent_1h")].tolist() == [0, 1, 2]
    assert X[:, names.index("history.prior_text_survey")].tolist() == [0, 1, 2]
    assert np.isnan(fx.transform(records)).all()

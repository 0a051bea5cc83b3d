"""Answers family: per-survey careless references, reference-free indices for unseen surveys."""

from __future__ import annotations

import numpy as np
import pytest

from fraudscore.features.answers import MIN_CALIBRATION_ROWS
from fraudscore.features.extractor import FeatureExtractor
from fraudscore.survey import SurveySpec

SPEC = SurveySpec("sv", n_likert=8, scales=((0, 1, 2, 3), (4, 5, 6, 7)), reverse_keyed=(1, 5),
                  attention_checks={7: 5})


def sub(sid, likert, survey="sv", honeypot=""):
    return {"submission_id": sid, "survey_id": survey, "started_at": 1_777_622_400_000,
            "submitted_at": 1_777_622_700_000, "answers": {"likert": likert, "honeypot": honeypot}}


@pytest.fixture(scope="module")
def calibration():
    rng = np.random.default_rng(0)
    trait = rng.normal(size=(200, 2))
    answers = np.clip(np.rint(3 + np.repeat(trait, 4, axis=1) + rng.normal(scale=0.8, size=(200, 8))), 1, 5)
    answers[:, 7] = 5
    return [sub(f"c{i}", row.astype(int).tolist()) for i, row in enumerate(answers)]


def answers(records, fit_on):
    fx = FeatureExtractor(surveys=[SPEC], families=["answers"]).fit(fit_on)
    X = fx.transform(records)
    return {name: X[:, i] for i, name in enumerate(fx.get_feature_names_out())}


def test_straight_lining_attention_failure_and_honeypot(calibration):
    f = answers([sub("a", [3] * 8), sub("b", [4, 2, 5, 3, 1, 4, 2, 5], honeypot="buy now")], calibration)
    assert f["answers.longstring_max"].tolist() == [8, 1]
    assert f["answers.longstring_share"][0] == 1.0
    assert f["answers.irv"][0] == 0.0
    assert f["answers.attention_failures"].tolist() == [1, 0]
    assert f["answers.honeypot"].tolist() == [0, 1]
    assert np.isfinite(f["answers.mahad_per_item"]).all()


def test_skipped_items(calibration):
    f = answers([sub("a", [1, None, 3, None, 5, 1, 2, 5])], calibration)
    assert f["answers.skipped_share"][0] == pytest.approx(0.25)


def test_an_unseen_survey_gets_only_reference_free_indices(calibration):
    f = answers([sub("a", [3] * 8, survey="other")], calibration)
    assert f["answers.longstring_max"][0] == 8
    assert np.isnan(f["answers.mahad_per_item"][0]) and np.isnan(f["answers.person_total"][0])


def test_too_little_calibration_data_learns_no_reference(calibration):
    f = answers([sub("a", [3] * 8)], calibration[: MIN_CALIBRATION_ROWS - 1])
    assert np.isnan(f["answers.mahad_per_item"][0])
    assert f["answers.attention_failures"][0] == 1  # the spec still knows its attention checks

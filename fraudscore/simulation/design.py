"""The simulated survey: a SurveySpec plus the page layout the telemetry needs."""

from __future__ import annotations

import numpy as np

from fraudscore.survey import SurveySpec

__all__ = ["default_survey", "item_words", "TEXT_LANGUAGES"]

#: Languages with an open-text bank (see :mod:`fraudscore.simulation.text`).
TEXT_LANGUAGES = ("en", "de", "es", "fr", "pt")


def default_survey(country: str = "US", language: str = "en") -> SurveySpec:
    """A 26-item Likert survey with two open-text questions.

    Three psychometric scales of 8 items each (items interleaved so no two neighbours share a
    scale, half of each scale reverse-keyed), two instructed-response attention checks at items 9
    and 19, five answer points, two open-text items at the end.
    """
    n_likert = 26
    checks = {9: 2, 19: 4}
    content = [i for i in range(n_likert) if i not in checks]
    scales = tuple(tuple(content[s::3]) for s in range(3))
    reverse = tuple(sorted(i for scale in scales for i in scale[1::2]))
    rng = np.random.default_rng(26)  # fixed wording lengths: part of the survey, not of a sample
    words = rng.integers(7, 22, size=n_likert)
    words[list(checks)] = 14  # "Please select 'Disagree' for this item to show you are reading."
    return SurveySpec(
        survey_id=f"sim-{country.lower()}-{language}",
        country=country,
        languages=(language,),
        likert_points=5,
        n_likert=n_likert,
        scales=scales,
        reverse_keyed=reverse,
        attention_checks=checks,
        n_text=2,
        expected_duration_s=None,
        item_words=tuple(int(w) for w in words),
    )


def item_words(spec: SurveySpec) -> np.ndarray:
    """Words per Likert item, shape (n_likert,); 12 where the spec does not say."""
    if spec.item_words:
        return np.asarray(spec.item_words, dtype=float)
    return np.full(spec.n_likert, 12.0)

"""FeatureContext: one batch plus what several feature families share, computed once."""

from __future__ import annotations

from functools import cached_property

import numpy as np

from fraudscore.batch import SubmissionBatch
from fraudscore.survey import SurveySpec

__all__ = ["FeatureContext"]


class FeatureContext:
    """What a feature group reads.

    Parameters
    ----------
    batch : SubmissionBatch
    surveys : dict of str to SurveySpec
        Specs by ``survey_id``; rows of other surveys use defaults.
    history : object, optional
        Prior counts for the batch's rows (from a history store), for the history family.
    """

    def __init__(self, batch: SubmissionBatch, surveys: dict[str, SurveySpec] | None = None, history=None) -> None:
        self.batch = batch
        self.surveys = dict(surveys or {})
        self.history = history
        self.n = batch.n

    @cached_property
    def survey_codes(self) -> tuple[np.ndarray, np.ndarray]:
        """(code per row, distinct survey ids): rows grouped by survey once for every family."""
        import pandas as pd

        codes, uniques = pd.factorize(self.batch.survey_id, use_na_sentinel=True)
        return codes, np.asarray(uniques, dtype=object)

    @cached_property
    def answer_text_chars(self) -> np.ndarray:
        """Characters of open-text answers per row (float64)."""
        text = self.batch.column("answers.text")
        if not len(text.values):
            return np.zeros(self.n)
        present = text.values != None  # noqa: E711 - elementwise on an object array
        lengths = np.zeros(len(text.values))
        lengths[present] = np.fromiter(map(len, text.values[present]), dtype=np.float64, count=int(present.sum()))
        return text.sums(lengths)

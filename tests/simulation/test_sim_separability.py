"""No attack family is trivially separable by one feature (issue 3, item 4).

Per family × feature ROC AUC (max(AUC, 1 − AUC)) against honest traffic on simple per-row
statistics (:func:`fraudscore.simulation.stats.row_stats`): at the default difficulty none may
exceed 0.95, at the hardest none may exceed 0.85. At the crude level every family must have some
feature that separates it well, which shows the difficulty knob moves attacks.
"""

from __future__ import annotations

import pandas as pd
import pytest

from fraudscore.simulation.stats import feature_auc_table


def auc_table(difficulty, n=8000, seed=101) -> pd.DataFrame:
    return feature_auc_table(difficulty, n=n, seed=seed)


@pytest.mark.parametrize("difficulty, limit", [("default", 0.95), ("hard", 0.85)])
def test_no_single_feature_separates_any_family(difficulty, limit):
    table = auc_table(difficulty)
    worst = table.max()
    too_easy = {f: (table[f].idxmax(), round(worst[f], 3)) for f in table.columns if worst[f] > limit}
    assert not too_easy, f"trivially separable at {difficulty}: {too_easy}"


def test_crude_attacks_are_easy_to_spot():
    table = auc_table("crude", n=4000)
    assert (table.max() > 0.9).all(), table.max()

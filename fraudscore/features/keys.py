"""Keys family: typing rhythm from key *kinds* and times (never the keys themselves).

People type with log-normal, uneven inter-key intervals (~200-250 ms on average, Dhakal et al.
2018) and correct themselves; scripts type at a constant rhythm, and injected or pasted text is
longer than the keystrokes that could have produced it.
"""

from __future__ import annotations

import numpy as np

from fraudscore.features.context import FeatureContext
from fraudscore.features.registry import register

__all__: list[str] = []

KEYDOWN, KEYUP, BACKSPACE, PASTE = 0, 1, 2, 3


@register("typing", "keys", "analytics", [
    ("presses", "key presses (keydown and backspace events)"),
    ("iki_mean_ms", "mean inter-key interval between presses, ms"),
    ("iki_cv", "coefficient of variation of inter-key intervals"),
    ("backspace_rate", "backspaces per key press"),
    ("pastes", "paste events"),
    ("text_per_press", "characters of open-text answers per key press (+1): high means injected or pasted text"),
])
def typing(ctx: FeatureContext, state) -> dict:
    b = ctx.batch
    t_r = b.column("telemetry.keys.t")
    kind = b.column("telemetry.keys.kind").values
    press = (kind == KEYDOWN) | (kind == BACKSPACE)
    presses = t_r.filter_values(press)
    iki = presses.diff()
    presses_n = presses.lengths.astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        cv = iki.stds() / iki.means()
        return {
            "keys.presses": presses_n,
            "keys.iki_mean_ms": iki.means(),
            "keys.iki_cv": np.where(iki.lengths >= 2, cv, np.nan),
            "keys.backspace_rate": np.where(presses_n > 0, t_r.counts(kind == BACKSPACE) / presses_n, np.nan),
            "keys.pastes": t_r.counts(kind == PASTE).astype(np.float64),
            "keys.text_per_press": ctx.answer_text_chars / (presses_n + 1.0),
        }

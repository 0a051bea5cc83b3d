"""Focus family: leaving the survey's tab or window (blur) and coming back (focus).

People switch to another tab or app now and then (a message, a search, a break); a script that
drives the page never does. Most honest respondents on a short survey never leave either, so
the absence of tab-aways is weak evidence; time away is also where a human looks answers up.
"""

from __future__ import annotations

import math

import numpy as np

from fraudscore.features._segments import quotient, row_sum
from fraudscore.features.context import FeatureContext
from fraudscore.features.registry import one_row_columns, register

__all__: list[str] = []

BLUR, FOCUS = 0, 1  # codes of the schema's telemetry.focus.kind vocabulary ("blur", "focus")


@register("tab_away", "focus", "analytics", [
    ("blurs", "times the survey lost focus (blur events; 0: never left the tab)"),
    ("away_share", ("share of the survey's duration spent away: each blur to the focus event right after it "
                    "(a blur not followed by a focus counts nothing; 0 without blurs; NaN: duration unknown)")),
])
def tab_away(ctx: FeatureContext, state) -> dict:
    b = ctx.batch
    t_r = b.column("telemetry.focus.t")
    t, kind = t_r.values, b.column("telemetry.focus.kind").values
    if ctx.n == 1:
        return _tab_away_one(t, kind, float(b.duration_ms[0]))
    is_blur = kind == BLUR
    blurs = t_r.counts(is_blur).astype(np.float64)
    # A gap counts at the blur when the row's next event is a focus.
    gap = np.zeros(len(t))
    if len(t) > 1:
        paired = is_blur[:-1] & (kind[1:] == FOCUS)
        starts = t_r.offsets[1:-1]
        paired[starts[(starts > 0) & (starts < len(t))] - 1] = False  # the next event is another row's
        np.subtract(t[1:], t[:-1], out=gap[:-1], where=paired)
    away_ms = t_r.sums(np.maximum(gap, 0.0))
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.minimum(away_ms / b.duration_ms, 1.0)
    share = np.where(away_ms > 0, share, np.where(np.isfinite(b.duration_ms), 0.0, np.nan))
    return {"focus.blurs": blurs, "focus.away_share": share}


def _tab_away_one(t: np.ndarray, kind: np.ndarray, duration_ms: float) -> dict:
    """:func:`tab_away` of a batch of one row (``score_one``), on the row's arrays and floats; the
    gaps summed over the whole row, zeros included, as the column code's reduceat adds them."""
    is_blur = kind == BLUR
    gap = np.zeros(len(t))
    if len(t) > 1:
        np.subtract(t[1:], t[:-1], out=gap[:-1], where=is_blur[:-1] & (kind[1:] == FOCUS))
    away_ms = row_sum(np.maximum(gap, 0.0))
    if away_ms > 0:
        share = quotient(away_ms, duration_ms)
        share = share if share <= 1.0 or share != share else 1.0  # np.minimum keeps NaN
    else:
        share = 0.0 if math.isfinite(duration_ms) else math.nan
    return one_row_columns(("focus.blurs", "focus.away_share"), [float(np.count_nonzero(is_blur)), share])

"""Keys family: typing rhythm from key *kinds* and times (never the keys themselves).

People type with log-normal, uneven inter-key intervals (~200-250 ms on average, Dhakal et al.
2018) and correct themselves; scripts type at a constant rhythm, and injected or pasted text is
longer than the keystrokes that could have produced it.
"""

from __future__ import annotations

import math

import numpy as np

from fraudscore.features._segments import EventLevels, lag_diff, quotient, row_blocks, row_sum
from fraudscore.features.context import FeatureContext
from fraudscore.features.registry import one_row_columns, register
from fraudscore.ragged import nans, offsets_from_lengths

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
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):  # one for every reduction below
        return _typing(ctx)


def _typing(ctx: FeatureContext) -> dict:
    if ctx.n == 1:
        return _typing_one(ctx)
    b = ctx.batch
    t_r = b.column("telemetry.keys.t")
    t, kind = t_r.values, b.column("telemetry.keys.kind").values
    n = ctx.n
    counts = np.zeros((3, n), dtype=np.int64)
    presses_n, backspaces, pastes = counts
    iki = nans((2, n))
    iki_mean, iki_sd = iki
    offsets = t_r.offsets
    # Blocks of rows keep the scratch arrays in cache; every statistic is per row.
    for lo, hi in row_blocks(offsets):
        a, z = int(offsets[lo]), int(offsets[hi])
        k_block = kind[a:z]
        lev = EventLevels(offsets[lo:hi + 1] - a)
        is_backspace = k_block == BACKSPACE
        press = k_block == KEYDOWN
        press |= is_backspace
        presses_n[lo:hi] = lev.counts(press)
        backspaces[lo:hi] = lev.counts(is_backspace)
        pastes[lo:hi] = lev.counts(k_block == PASTE)
        # Inter-key intervals: level 1 of the press times alone (gathered by index: a boolean
        # selection costs ~3x as much on mixed masks).
        press_lev = EventLevels(offsets_from_lengths(presses_n[lo:hi]))
        iki_mean[lo:hi], iki_sd[lo:hi] = press_lev.means_stds(lag_diff(t[a:z].take(press.nonzero()[0])), 1)
    presses_f = presses_n.astype(np.float64)
    cv = iki_sd / iki_mean
    return {
        "keys.presses": presses_f,
        "keys.iki_mean_ms": iki_mean,
        "keys.iki_cv": np.where(presses_n >= 3, cv, np.nan),  # two intervals or more
        "keys.backspace_rate": np.where(presses_f > 0, backspaces / presses_f, np.nan),
        "keys.pastes": pastes.astype(np.float64),
        "keys.text_per_press": ctx.answer_text_chars / (presses_f + 1.0),
    }


_MAX = float(np.finfo(np.float64).max)


def _typing_one(ctx: FeatureContext) -> dict:
    """:func:`_typing` of a batch of one row (``score_one``), on the row's arrays and floats: the
    level-1 sums of :meth:`EventLevels.means_stds <fraudscore.features._segments.EventLevels.means_stds>`
    as reduceats of the intervals after the first press, its divisions as numpy's."""
    b = ctx.batch
    t, kind = b.column("telemetry.keys.t").values, b.column("telemetry.keys.kind").values
    is_backspace = kind == BACKSPACE
    press = kind == KEYDOWN
    press |= is_backspace
    presses = int(np.count_nonzero(press))
    backspaces = int(np.count_nonzero(is_backspace))
    intervals = np.diff(t[press]) if presses > 1 else t[:0]
    k = len(intervals)
    iki_mean = iki_sd = math.nan
    if k:
        iki_mean = row_sum(intervals) / k
        centred = intervals - (0.0 if iki_mean != iki_mean else min(max(iki_mean, -_MAX), _MAX))  # nan_to_num
        var = row_sum(centred * centred) / k
        iki_sd = math.sqrt(max(var, 0.0)) if var == var else math.nan
    presses_f = float(presses)
    return one_row_columns(_NAMES, [
        presses_f, iki_mean, quotient(iki_sd, iki_mean) if presses >= 3 else math.nan,
        backspaces / presses_f if presses > 0 else math.nan, float(np.count_nonzero(kind == PASTE)),
        float(ctx.answer_text_chars[0]) / (presses_f + 1.0)])


_NAMES = ("keys.presses", "keys.iki_mean_ms", "keys.iki_cv", "keys.backspace_rate", "keys.pastes",
          "keys.text_per_press")

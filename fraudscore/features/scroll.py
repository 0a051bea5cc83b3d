"""Scroll family: how the page was scrolled, from the ragged scroll series (times and deltas).

People scroll in uneven bursts: a finger flick or a trackpad sends many events of varying size,
a wheel sends notches (often a constant 100 px, or 53 px in Firefox) at uneven times, and people
scroll back up now and then. A script scrolls in constant steps, or not at all (a page that
fits the window or a keyboard-only respondent does not scroll either, so no scrolling is weak
evidence on its own). All statistics are segment reductions over the flat event arrays.
"""

from __future__ import annotations

import math

import numpy as np

from fraudscore.features._segments import lag_diff, means_stds_one
from fraudscore.features.context import FeatureContext
from fraudscore.features.registry import one_row_columns, register
from fraudscore.ragged import Ragged

__all__: list[str] = []


def _cv(r: Ragged, values: np.ndarray) -> np.ndarray:
    """Population SD / mean of ``values`` per row of ``r``'s layout (NaN with < 2 values or mean 0)."""
    mean, sd = r.means_stds(values)
    with np.errstate(invalid="ignore", divide="ignore"):
        cv = sd / mean
    return np.where((r.lengths >= 2) & (mean > 0), cv, np.nan)


def _intervals(r: Ragged) -> Ragged:
    """Times between consecutive events of each row (rows of ``max(length - 1, 0)`` values)."""
    d = lag_diff(r.values)
    later = np.ones(len(d), dtype=bool)
    starts = r.offsets[:-1][r.lengths > 0]
    later[starts] = False  # the first event of a row has no interval
    return Ragged.from_lengths(d[later], np.maximum(r.lengths - 1, 0))


@register("scrolling", "scroll", "analytics", [
    ("events_per_min", "scroll events per minute of the survey (0: never scrolled; NaN: duration unknown)"),
    ("interval_cv", "coefficient of variation of the time between scroll events (NaN under 2 intervals)"),
    ("dy_cv", ("coefficient of variation of the scroll step size |dy| (0: constant steps, a script's or "
               "a wheel's; NaN under 2 events)")),
])
def scrolling(ctx: FeatureContext, state) -> dict:
    if ctx.n == 1:
        return _scrolling_one(ctx)
    b = ctx.batch
    t_r = b.column("telemetry.scroll.t")  # telemetry.scroll.dy shares its offsets
    dy = b.column("telemetry.scroll.dy").values
    intervals = _intervals(t_r)
    n_events = t_r.lengths.astype(np.float64)
    duration_min = b.duration_ms / 60_000.0
    with np.errstate(invalid="ignore", divide="ignore"):
        per_min = np.where(duration_min > 0, n_events / duration_min, np.nan)
    return {
        "scroll.events_per_min": per_min,
        "scroll.interval_cv": _cv(intervals, intervals.values),
        "scroll.dy_cv": _cv(t_r, np.abs(dy)),
    }


def _cv_one(values: np.ndarray) -> float:
    """:func:`_cv` of one row's values."""
    mean, sd = means_stds_one(values)
    return sd / mean if len(values) >= 2 and mean > 0 else math.nan


def _scrolling_one(ctx: FeatureContext) -> dict:
    """:func:`scrolling` of a batch of one row (``score_one``), on the row's arrays and floats."""
    b = ctx.batch
    t = b.column("telemetry.scroll.t").values
    duration_min = float(b.duration_ms[0]) / 60_000.0
    return one_row_columns(("scroll.events_per_min", "scroll.interval_cv", "scroll.dy_cv"), [
        len(t) / duration_min if duration_min > 0 else math.nan, _cv_one(t[1:] - t[:-1]),
        _cv_one(np.abs(b.column("telemetry.scroll.dy").values))])

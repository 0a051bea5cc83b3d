"""Pointer family: how the mouse (or finger) moved, from the ragged pointer series.

People move in curved, bell-shaped submovements with corrections and pauses (Flash & Hogan 1985;
Fitts 1954); scripts move in straight lines or smooth synthetic curves, at machine-regular
intervals, and click where no pointer ever approached. All statistics are segment reductions
over the flat event arrays (no loop over rows).
"""

from __future__ import annotations

import numpy as np

from fraudscore.features._segments import EventLevels, lag_diff, lag_mean, row_blocks
from fraudscore.features.context import FeatureContext
from fraudscore.features.registry import register

__all__: list[str] = []

MOVE, DOWN, UP, CLICK = 0, 1, 2, 3
_APPROACH_MS = 500.0  # a human pointer travels to a target within the half-second before clicking
_APPROACH_LOOKBACK = 8  # events examined before each click
_PAUSE_MS = 500.0


_TWO_PI = 2 * np.pi
_NAMES = ("move_share", "speed_mean", "speed_cv", "accel_mean", "jerk_mean", "curvature_mean", "straightness",
          "pauses_per_min", "interval_cv", "interval_repeat", "click_no_approach")


@register("kinematics", "pointer", "analytics", [
    ("events", "pointer events recorded"),
    ("move_share", "share of pointer events that are moves (touch screens have almost none)"),
    ("speed_mean", "mean pointer speed while moving, px/s"),
    ("speed_cv", "coefficient of variation of pointer speed"),
    ("accel_mean", "mean absolute acceleration, px/s^2"),
    ("jerk_mean", "mean absolute jerk, px/s^3"),
    ("curvature_mean", "mean absolute change of heading between moves, radians"),
    ("straightness", "mean over click-to-click paths of straight distance / travelled distance"),
    ("pauses_per_min", "gaps over 0.5 s per minute of pointer activity"),
    ("interval_cv", "coefficient of variation of time between events (machines are regular)"),
    ("interval_repeat", "share of consecutive inter-event intervals equal to 1 ms (timer-driven scripts)"),
    ("click_no_approach", "share of clicks with fewer than two moves in the 0.5 s before them"),
])
def kinematics(ctx: FeatureContext, state) -> dict:
    b = ctx.batch
    t_r = b.column("telemetry.pointer.t")
    t, x, y = t_r.values, b.column("telemetry.pointer.x").values, b.column("telemetry.pointer.y").values
    kind = b.column("telemetry.pointer.kind").values
    offsets = t_r.offsets
    out = {f"pointer.{name}": np.full(ctx.n, np.nan) for name in _NAMES}
    out["pointer.events"] = t_r.lengths.astype(np.float64)
    # Blocks of rows: every statistic is per row, so blocks only bound the scratch memory.
    for lo, hi in row_blocks(offsets):
        a, z = int(offsets[lo]), int(offsets[hi])
        block = _kinematics_block(t[a:z], x[a:z], y[a:z], kind[a:z], offsets[lo:hi + 1] - a)
        for name, values in block.items():
            out[f"pointer.{name}"][lo:hi] = values
    return out


def _kinematics_block(t: np.ndarray, x: np.ndarray, y: np.ndarray, kind: np.ndarray, offsets: np.ndarray) -> dict:
    """Every kinematics statistic but ``events`` for one block of rows (``offsets`` start at 0).

    Levels (see :mod:`fraudscore.features._segments`): 1 = between consecutive events (interval,
    displacement, speed, heading), 2 = between consecutive intervals (acceleration, turn), 3 =
    jerk. Values are the definitions' exactly; only the layout differs from one ragged array per
    level.
    """
    lev = EventLevels(offsets)
    lengths = lev.lengths
    out = {}
    with np.errstate(invalid="ignore", divide="ignore"):
        out["move_share"] = lev.counts(kind == MOVE) / lengths
        out["click_no_approach"] = _click_no_approach(lev, t, kind)
        if lev.size < 2:  # no interval anywhere in the block: the other statistics are unknown
            return out
        v1 = lev.valid(1)
        dt = lag_diff(t)
        dx, dy = lag_diff(x), lag_diff(y)
        # Displacement and heading only where the pointer moved: hypot and arctan2 cost ~20x an
        # addition, and down/up/click events repeat the previous position (~1/3 of events).
        shifted = np.flatnonzero(((dx != 0) | (dy != 0)) & v1)
        dist = np.zeros(lev.size)
        heading = np.full(lev.size, np.nan)
        if len(shifted):
            sdx, sdy = dx[shifted], dy[shifted]
            sdist = np.hypot(sdx, sdy)
            dist[shifted] = sdist
            heading[shifted] = np.where(sdist > 0, np.arctan2(sdy, sdx), np.nan)

        positive = dt > 0
        moving = positive & (dist > 0)
        speed = np.where(moving, dist / np.where(positive, dt, 1.0) * 1000.0, np.nan)  # px/s
        speed_mean, speed_n, speed_finite = lev.nanmeans(speed, 1)
        out["speed_mean"] = speed_mean
        out["speed_cv"] = lev.cv_from_mean(speed, 1, speed_mean, speed_n, speed_finite)

        # Acceleration: change of speed over the time between the two intervals' midpoints;
        # jerk: change of acceleration likewise, one level further down.
        mid_dt = lag_mean(dt)
        accel = lag_diff(speed) / np.where(mid_dt > 0, mid_dt, np.nan) * 1000.0
        out["accel_mean"] = lev.nanmeans(np.abs(accel), 2)[0]
        mid_dt2 = lag_mean(mid_dt)
        jerk = lag_diff(accel) / np.where(mid_dt2 > 0, mid_dt2, np.nan) * 1000.0
        out["jerk_mean"] = lev.nanmeans(np.abs(jerk), 3)[0]

        out["curvature_mean"] = lev.nanmeans(np.abs(_wrap_turn(lag_diff(heading) + np.pi) - np.pi), 2)[0]
        out["straightness"] = _straightness(lev, x, y, kind, dist)

        active_min = np.full(lev.n, np.nan)
        nonempty = lengths > 0
        active_min[nonempty] = (t[offsets[1:][nonempty] - 1] - t[offsets[:-1][nonempty]]) / 60_000.0
        pauses = lev.counts((dt > _PAUSE_MS) & v1)
        out["pauses_per_min"] = np.where(active_min > 0, pauses / active_min, np.nan)

        out["interval_cv"] = lev.nancvs(np.where(positive, dt, np.nan), 1)
        # Timer-driven scripts repeat the same interval: level-2 differences under 1 ms.
        repeats = lev.counts((np.abs(lag_diff(dt)) < 1.0) & lev.valid(2))
        pairs = lev.level_lengths(2)
        out["interval_repeat"] = np.where(pairs >= 1, repeats / pairs, np.nan)
    return out


def _wrap_turn(a: np.ndarray) -> np.ndarray:
    """``a % (2 * pi)`` for ``a`` in [-pi, 3pi] (a heading change + pi), bit-for-bit numpy's.

    numpy's float remainder is ``fmod`` plus a sign fix (~30 ns per element); on this range
    ``fmod`` is exact, so the remainder is ``a``, ``a + 2pi`` (the fix, rounded as numpy
    rounds it) or ``a - 2pi`` (exact by Sterbenz' lemma), in three cheap passes.
    """
    return np.where(a < 0.0, a + _TWO_PI, np.where(a >= _TWO_PI, a - _TWO_PI, a))


def _straightness(lev: EventLevels, x: np.ndarray, y: np.ndarray, kind: np.ndarray, dist: np.ndarray) -> np.ndarray:
    """Mean over click-delimited paths (longer than 10 px) of displacement / path length."""
    # A path starts at each row's first event and right after each click.
    starts = lev.first.copy()
    starts[1:] |= kind[:-1] == CLICK
    first = np.flatnonzero(starts)
    last = np.append(first[1:] - 1, len(x) - 1)
    n_seg = len(first)
    seg = np.repeat(np.arange(n_seg), last - first + 1)  # path of each event (a cumsum of bools is 10x slower)
    seg_row = np.searchsorted(lev.offsets, first, side="right") - 1
    # The interval ending at event i belongs to i's path unless i starts a path. Summed in event
    # order from 0 like a bincount over those intervals alone: the zeros added change nothing.
    inner = lev.valid(1) & ~starts
    path = np.bincount(seg, weights=np.where(inner, dist, 0.0), minlength=n_seg)
    displacement = np.hypot(x[last] - x[first], y[last] - y[first])
    ok = path > 10.0
    ratio = np.where(ok, displacement / np.where(ok, path, 1.0), 0.0)
    counted = np.bincount(seg_row[ok], minlength=lev.n)
    total = np.bincount(seg_row, weights=ratio, minlength=lev.n)
    return np.where(counted > 0, total / counted, np.nan)


def _click_no_approach(lev: EventLevels, t: np.ndarray, kind: np.ndarray) -> np.ndarray:
    clicks = np.flatnonzero(kind == CLICK)
    if not len(clicks):
        return np.full(lev.n, np.nan)
    click_rows = np.searchsorted(lev.offsets, clicks, side="right") - 1
    position = clicks - lev.offsets[click_rows]
    t_click = t[clicks]
    moves_before = np.zeros(len(clicks), dtype=np.int64)
    # A fixed number of vectorized shifts, not a row loop (measured faster than one
    # (clicks, lookback) matrix of gathers: these 1-d arrays stay in cache).
    for k in range(1, _APPROACH_LOOKBACK + 1):
        ok = position >= k  # event k before the click is in the click's row
        j = np.where(ok, clicks - k, 0)
        ok &= (t_click - t[j] <= _APPROACH_MS) & (kind[j] == MOVE)
        moves_before += ok
    unapproached = np.bincount(click_rows, weights=(moves_before < 2).astype(np.float64), minlength=lev.n)
    total = np.bincount(click_rows, minlength=lev.n)
    return np.where(total > 0, unapproached / total, np.nan)

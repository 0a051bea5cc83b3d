"""Pointer family: how the mouse (or finger) moved, from the ragged pointer series.

People move in curved, bell-shaped submovements with corrections and pauses (Flash & Hogan 1985;
Fitts 1954); scripts move in straight lines or smooth synthetic curves, at machine-regular
intervals, and click where no pointer ever approached. All statistics are segment reductions
over the flat event arrays (no loop over rows).
"""

from __future__ import annotations

import numpy as np

from fraudscore.features._segments import EventLevels, both, lag_diff, lag_mean, row_blocks
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
    blocks = row_blocks(offsets)
    if len(blocks) == 1:  # a small batch (a single row included): the block's columns are the result
        block = _kinematics_block(t, x, y, kind, offsets)
        out = {f"pointer.{name}": block[name] if name in block else _nans(ctx.n) for name in _NAMES}
        out["pointer.events"] = t_r.lengths.astype(np.float64)
        return out
    out = {f"pointer.{name}": _nans(ctx.n) for name in _NAMES}
    out["pointer.events"] = t_r.lengths.astype(np.float64)
    # Blocks of rows: every statistic is per row, so blocks only bound the scratch memory.
    for lo, hi in blocks:
        a, z = int(offsets[lo]), int(offsets[hi])
        block = _kinematics_block(t[a:z], x[a:z], y[a:z], kind[a:z], offsets[lo:hi + 1] - a)
        for name, values in block.items():
            out[f"pointer.{name}"][lo:hi] = values
    return out


def _nans(n: int) -> np.ndarray:
    out = np.empty(n)
    out.fill(np.nan)  # np.full's Python layer is a visible share of a one-row call
    return out


def _kinematics_block(t: np.ndarray, x: np.ndarray, y: np.ndarray, kind: np.ndarray, offsets: np.ndarray) -> dict:
    """Every kinematics statistic but ``events`` for one block of rows (``offsets`` start at 0).

    Levels (see :mod:`fraudscore.features._segments`): 1 = between consecutive events (interval,
    displacement, speed, heading), 2 = between consecutive intervals (acceleration, turn), 3 =
    jerk. Values are the definitions' exactly; only the layout differs from one ragged array per
    level. Each quantity is computed once over every event, with a mask of where the definition
    gives a finite value (``*_ok``) instead of NaN-filled copies: the masked means read only those
    values, so the other entries may hold anything.
    """
    lev = EventLevels(offsets)
    lengths = lev.lengths
    out = {}
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        is_move = kind == MOVE
        out["move_share"] = lev.counts(is_move) / lengths
        is_click = kind == CLICK
        clicks = is_click.nonzero()[0]
        clicks_per_row = lev.counts(is_click)
        dt = lag_diff(t)
        out["click_no_approach"] = _click_no_approach(lev, t, dt, is_move, clicks, clicks_per_row)
        if lev.size < 2:  # no interval anywhere in the block: the other statistics are unknown
            return out
        dx, dy = lag_diff(x), lag_diff(y)
        # Displacement and heading only where the pointer moved: hypot and arctan2 cost ~20x an
        # addition, and down/up/click events repeat the previous position (~1/3 of events).
        # There hypot > 0 (it is at least max(|dx|, |dy|), and differences of finite numbers are
        # never NaN), so "moved" is the definition's "dist > 0" and every heading is finite.
        moved = dx != 0
        moved |= dy != 0
        moved &= lev.valid(1)
        shifted = moved.nonzero()[0]
        dist = np.zeros(lev.size)
        heading = np.zeros(lev.size)  # read only where moved
        if len(shifted):
            sdx, sdy = dx.take(shifted), dy.take(shifted)
            dist[shifted] = np.hypot(sdx, sdy)
            heading[shifted] = np.arctan2(sdy, sdx)

        positive = dt > 0
        speed = dist / dt  # px/s where moving: dt > 0 there, so this is the definition's division
        speed *= 1000.0
        speed_ok = moved & positive
        speed_ok &= np.isfinite(speed)
        out["speed_mean"], out["speed_cv"] = lev.masked_mean_cv(speed, speed_ok, 1)

        # Acceleration: change of speed over the time between the two intervals' midpoints;
        # jerk: change of acceleration likewise, one level further down.
        accel, accel_ok, mid_dt = _per_second_change(speed, speed_ok, dt)
        out["accel_mean"] = lev.masked_mean(accel, accel_ok, 2, absolute=True)[0]
        jerk, jerk_ok, _ = _per_second_change(accel, accel_ok, mid_dt)
        out["jerk_mean"] = lev.masked_mean(jerk, jerk_ok, 3, absolute=True)[0]

        turn = lag_diff(heading)
        turn += np.pi
        turn = _wrap_turn(turn)
        turn -= np.pi
        out["curvature_mean"] = lev.masked_mean(turn, both(moved), 2, absolute=True)[0]
        out["straightness"] = _straightness(lev, x, y, dist, clicks)

        active_min = _nans(lev.n)
        nonempty = lengths > 0
        active_min[nonempty] = (t[offsets[1:][nonempty] - 1] - t[offsets[:-1][nonempty]]) / 60_000.0
        pauses = lev.level_counts(dt > _PAUSE_MS, 1)
        out["pauses_per_min"] = np.where(active_min > 0, pauses / active_min, np.nan)

        out["interval_cv"] = lev.masked_mean_cv(dt, positive, 1)[1]  # t is finite: so is every dt
        # Timer-driven scripts repeat the same interval: level-2 differences under 1 ms.
        ddt = lag_diff(dt)
        repeats = lev.level_counts(np.abs(ddt, out=ddt) < 1.0, 2)
        pairs = lev.level_lengths(2)
        out["interval_repeat"] = np.where(pairs >= 1, repeats / pairs, np.nan)
    return out


def _per_second_change(values: np.ndarray, values_ok: np.ndarray, dt: np.ndarray):
    """Change of ``values`` per second between consecutive intervals, one difference level down.

    ``dt`` holds the intervals' durations (ms) at ``values``' level. Returns the change, where it
    is defined (both values defined, a positive midpoint gap, finite), and the midpoint gaps,
    which are the durations at the next level.
    """
    mid_dt = lag_mean(dt)
    change = lag_diff(values)
    change /= mid_dt
    change *= 1000.0
    ok = both(values_ok)
    ok &= mid_dt > 0
    ok &= np.isfinite(change)
    return change, ok, mid_dt


def _wrap_turn(a: np.ndarray) -> np.ndarray:
    """``a % (2 * pi)`` for ``a`` in [-pi, 3pi] (a heading change + pi), bit-for-bit numpy's, but
    for the sign of a zero result (callers subtract pi next).

    numpy's float remainder is ``fmod`` plus a sign fix (~30 ns per element); on this range
    ``fmod`` is exact, so the remainder is ``a``, ``a + 2pi`` (the fix, rounded as numpy
    rounds it) or ``a - 2pi`` (exact by Sterbenz' lemma). Adding and subtracting 0.0 or 2pi
    selects among them without ``np.where``'s mispredicted branches (x + 0.0 and x - 0.0 are x).
    """
    out = np.multiply(a < 0.0, _TWO_PI)
    out += a
    out -= np.multiply(a >= _TWO_PI, _TWO_PI)
    return out


def _straightness(lev: EventLevels, x: np.ndarray, y: np.ndarray, dist: np.ndarray, clicks: np.ndarray) -> np.ndarray:
    """Mean over click-delimited paths (longer than 10 px) of displacement / path length."""
    # A path starts at each row's first event and right after each click.
    starts = lev.first.copy()
    after = clicks + 1
    starts[after[after < lev.size]] = True
    first = starts.nonzero()[0]
    n_seg = len(first)
    last = np.empty(n_seg, dtype=np.int64)
    last[:-1] = first[1:] - 1
    last[-1:] = len(x) - 1
    seg = starts.cumsum(dtype=np.int64)  # path of each event, counted from 1 (bin 0 stays empty)
    paths_per_row = lev.counts(starts)
    seg_row = np.arange(lev.n).repeat(paths_per_row)
    # The interval ending at event i belongs to i's path unless i starts a path (dist is 0 at a
    # row's first event). Summed in event order from 0 by bincount, as the definition's was.
    inner = dist.copy()
    inner[first] = 0.0
    path = np.bincount(seg, weights=inner, minlength=n_seg + 1)[1:]
    displacement = np.hypot(x[last] - x[first], y[last] - y[first])
    ok = path > 10.0
    ratio = np.where(ok, displacement / np.where(ok, path, 1.0), 0.0)
    counted = np.bincount(seg_row[ok], minlength=lev.n)
    total = np.bincount(seg_row, weights=ratio, minlength=lev.n)
    return np.where(counted > 0, total / counted, np.nan)


def _click_no_approach(lev: EventLevels, t: np.ndarray, dt: np.ndarray, is_move: np.ndarray, clicks: np.ndarray,
                       clicks_per_row: np.ndarray) -> np.ndarray:
    """Share of a row's clicks with fewer than two moves among the ``_APPROACH_LOOKBACK`` events of
    its row before it that lie within ``_APPROACH_MS`` of it."""
    if not len(clicks):
        return _nans(lev.n)
    click_rows = np.arange(lev.n).repeat(clicks_per_row)
    position = clicks - lev.offsets[click_rows]
    lookback = np.minimum(position, _APPROACH_LOOKBACK)
    t_click = t[clicks]
    in_order = bool(np.all((dt >= 0) | lev.first))  # NaN fails too
    if in_order:
        # Times rise within a row, so the events within the time window form a run ending just
        # before the click: find its length (0-8) by a binary search of four vectorized steps,
        # then count its moves from a running count, instead of testing eight shifts one by one.
        window = np.zeros(len(clicks), dtype=np.int64)
        for step in (8, 4, 2, 1):
            candidate = window + step
            within = candidate <= lookback
            j = clicks - np.minimum(candidate, lookback)
            within &= t_click - t[j] <= _APPROACH_MS
            window += step * within
        moves_so_far = np.zeros(lev.size + 1, dtype=np.int32)
        is_move.cumsum(out=moves_so_far[1:])
        moves_before = moves_so_far[clicks] - moves_so_far[clicks - window]
    else:  # unreachable for a SubmissionBatch (it sorts telemetry by time); kept for any other caller
        moves_before = np.zeros(len(clicks), dtype=np.int64)
        for k in range(1, _APPROACH_LOOKBACK + 1):
            ok = lookback >= k  # event k before the click is in the click's row
            j = np.where(ok, clicks - k, 0)
            ok &= (t_click - t[j] <= _APPROACH_MS) & is_move[j]
            moves_before += ok
    unapproached = np.bincount(click_rows[moves_before < 2], minlength=lev.n)
    return np.where(clicks_per_row > 0, unapproached / clicks_per_row, np.nan)

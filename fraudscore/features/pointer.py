"""Pointer family: how the mouse (or finger) moved, from the ragged pointer series.

People move in curved, bell-shaped submovements with corrections and pauses (Flash & Hogan 1985;
Fitts 1954); scripts move in straight lines or smooth synthetic curves, at machine-regular
intervals, and click where no pointer ever approached. All statistics are segment reductions
over the flat event arrays (no loop over rows).
"""

from __future__ import annotations

import math

import numpy as np

from fraudscore.features._segments import (WHOLE, EventLevels, Selection, adjacent, both, lag_diff, lag_mean,
                                           mean_cv_one, quotient, row_blocks, row_sum, where_zero)
from fraudscore.features.context import FeatureContext
from fraudscore.features.registry import one_row_columns, register

__all__: list[str] = []

MOVE, DOWN, UP, CLICK = 0, 1, 2, 3
_APPROACH_MS = 500.0  # a human pointer travels to a target within the half-second before clicking
_APPROACH_LOOKBACK = 8  # events examined before each click
_PAUSE_MS = 500.0
_TWO_PI = 2 * np.pi

_NAMES = ("move_share", "speed_mean", "speed_cv", "accel_mean", "jerk_mean", "curvature_mean", "straightness",
          "pauses_per_min", "interval_cv", "interval_repeat", "click_no_approach")
_KEYS = tuple(f"pointer.{name}" for name in _NAMES) + ("pointer.events",)


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
    if ctx.n == 1:  # score_one: the row's statistics as scalars, without the block code's row layout
        return one_row_columns(_KEYS, _kinematics_one(t, x, y, kind) + [t_r.lengths[0]])
    blocks = row_blocks(offsets)
    if len(blocks) == 1:  # a small batch: the block's columns are the result
        block = _kinematics_block(t, x, y, kind, offsets)
        out = {f"pointer.{name}": block[name] if name in block else _nans(ctx.n) for name in _NAMES}
        out["pointer.events"] = t_r.lengths.astype(np.float64)
        return out
    out = {f"pointer.{name}": _nans(ctx.n) for name in _NAMES}
    out["pointer.events"] = t_r.lengths.astype(np.float64)
    # Blocks of rows: every statistic is per row, so blocks only bound the scratch memory.
    for lo, hi in blocks:
        a, z = int(offsets[lo]), int(offsets[hi])
        if hi - lo == 1:  # a row over BLOCK_EVENTS long has its block alone
            for name, value in zip(_NAMES, _kinematics_one(t[a:z], x[a:z], y[a:z], kind[a:z])):
                out[f"pointer.{name}"][lo] = value
            continue
        block = _kinematics_block(t[a:z], x[a:z], y[a:z], kind[a:z], offsets[lo:hi + 1] - a)
        for name, values in block.items():
            out[f"pointer.{name}"][lo:hi] = values
    return out


def _scatter(values: np.ndarray, rows: np.ndarray, fill) -> np.ndarray:
    """``values`` at the ``rows`` (bool) of an array filled with ``fill`` elsewhere."""
    out = np.full(len(rows), fill, dtype=values.dtype)
    out[rows] = values
    return out


def _nans(n: int) -> np.ndarray:
    out = np.empty(n)
    out.fill(np.nan)  # np.full's Python layer is a visible share of a one-row call
    return out


def _kinematics_block(t: np.ndarray, x: np.ndarray, y: np.ndarray, kind: np.ndarray, offsets: np.ndarray) -> dict:
    """Every kinematics statistic but ``events`` for one block of rows (``offsets`` start at 0).

    Intervals, displacements and speeds belong to the event that ends them (levels of
    :mod:`fraudscore.features._segments`). Speed, acceleration, jerk and heading are defined
    only where the pointer moved, so they are computed on the moves taken out of the block (a
    :class:`~fraudscore.features._segments.Selection`): a change between two values counts
    where they come from consecutive events, which is the definitions' "both defined".
    """
    lev = EventLevels(offsets)
    out = {}
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        is_move = kind == MOVE
        out["move_share"] = lev.counts(is_move) / lev.lengths
        is_click = kind == CLICK
        clicks = is_click.nonzero()[0]
        click_bounds = np.searchsorted(clicks, offsets)  # row offsets into the clicks
        if lev.size < 2:  # no interval anywhere in the block: only clicks after nothing
            out["click_no_approach"] = _click_no_approach(lev, t, True, is_move, clicks, click_bounds)
            return out
        dt, dx, dy = lag_diff(t), lag_diff(x), lag_diff(y)
        # A row's first event ends no interval: 0 there leaves it out of the moves and of the
        # positive intervals, and makes "times never go back within a row" one minimum.
        dt[lev.starts] = dx[lev.starts] = dy[lev.starts] = 0.0
        in_order = bool(dt.min() >= 0.0)  # NaN fails too
        out["click_no_approach"] = _click_no_approach(lev, t, in_order, is_move, clicks, click_bounds)

        # Paths and their displacements now, while x and y are in cache (the path lengths come last).
        starts, first, last = _paths(lev.size, lev.starts, clicks)
        displacement = _distance(x.take(last) - x.take(first), y.take(last) - y.take(first))

        moved = dx != 0
        moved |= dy != 0
        moves = Selection(moved.nonzero()[0], offsets)
        at = moves.positions
        dx, dy, dt_moved = dx.take(at), dy.take(at), dt.take(at)
        dist = _distance(dx, dy)
        turned = adjacent(at)  # a move right after a move: a change of heading
        turns = moves.counts(turned)
        out["curvature_mean"] = moves.sums(_abs_turn(np.arctan2(dy, dx), turned)) / turns

        speed = dist / dt_moved  # px/s where dt > 0: the definition's division (and its underflow)
        speed *= 1000.0
        seconds = dt_moved * 0.001  # for the changes: once, instead of "* 1000" after each division
        speeds, consecutive = moves, turned
        # Speeds under 1e100 px/s over intervals above 1e-100 s (any real pointer): every move has
        # a finite speed and no change of it can overflow, which two reductions show; otherwise
        # the moves without a speed (equal times, overflow) are taken out first.
        bounded = not len(speed) or (seconds.min() >= 1e-100 and speed.max() <= 1e100)
        if not bounded:
            speed_ok = dt_moved > 0
            speed_ok &= np.isfinite(speed)
            if not speed_ok.all():
                speeds = moves.sub(speed_ok)
                speed, seconds = speed.take(speeds.positions), seconds.take(speeds.positions)
                consecutive = adjacent(at.take(speeds.positions))
            bounded = not len(speed) or (speed.max() <= 1e100 and seconds.min() >= 1e-100)
        out["speed_mean"], out["speed_cv"] = speeds.mean_cv(speed)
        # Acceleration: change of speed over the time between the two intervals' midpoints;
        # jerk: change of acceleration likewise, one level further down.
        accel, accel_ok, mid_dt = _per_second_change(speed, consecutive, seconds, bounded)
        if bounded and speeds is moves:  # every move has a speed: accelerations are the turns' pairs
            out["accel_mean"] = speeds.sums(where_zero(accel_ok, accel, absolute=True)) / turns
        else:
            out["accel_mean"] = speeds.masked_mean(accel, accel_ok, absolute=True)
        jerk, jerk_ok, _ = _per_second_change(accel, both(accel_ok), mid_dt, bounded)
        out["jerk_mean"] = speeds.masked_mean(jerk, jerk_ok, absolute=True)

        out["straightness"] = _straightness(lev, starts, first, displacement, moves, dist)

        positive = dt > 0
        intervals = Selection(positive.nonzero()[0], offsets)
        dt_positive = dt.take(intervals.positions)
        out["interval_cv"] = intervals.mean_cv(dt_positive)[1]
        active_min = _nans(lev.n)
        active_min[lev.nonempty] = (t[offsets[1:][lev.nonempty] - 1] - t[lev.starts]) / 60_000.0
        pauses = intervals.counts(dt_positive > _PAUSE_MS)
        out["pauses_per_min"] = np.where(active_min > 0, pauses / active_min, np.nan)
        # Timer-driven scripts repeat the same interval: level-2 differences under 1 ms.
        ddt = lag_diff(dt)
        repeats = lev.level_counts(np.abs(ddt, out=ddt) < 1.0, 2)
        pairs = lev.level_lengths(2)
        out["interval_repeat"] = np.where(pairs >= 1, repeats / pairs, np.nan)
    return out


# ------------------------------------------------------------------------------ one row (score_one)

def _kinematics_one(t: np.ndarray, x: np.ndarray, y: np.ndarray, kind: np.ndarray) -> list[float]:
    """:func:`_kinematics_block` of a block of one row, bit for bit, as floats in ``_NAMES`` order.

    The block code's arithmetic on the row's arrays, in the same order, with its segment
    reductions as whole-array reductions (:func:`~fraudscore.features._segments.row_sum`) and its per-row divisions on floats,
    without the row layout's bookkeeping: half the block code's CPU time on a simulated row (~100
    vs ~200 us). Rows whose times go back, or with a move of undefined or overflowing speed
    (hand-built or hostile series), take the block code itself.
    """
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        return _kinematics_one_quiet(t, x, y, kind)


def _kinematics_one_quiet(t: np.ndarray, x: np.ndarray, y: np.ndarray, kind: np.ndarray) -> list[float]:
    m = len(t)
    is_move = kind == MOVE
    move_share = quotient(float(np.count_nonzero(is_move)), m)
    clicks = (kind == CLICK).nonzero()[0]
    if m < 2:  # no interval: a click here (the first event) has nothing before it
        return [move_share] + [math.nan] * 9 + [1.0 if len(clicks) else math.nan]
    steps = np.empty((3, m))
    steps[:, 0] = 0.0  # the first event ends no interval (the block code's zeros at row starts)
    txy = np.array((t, x, y))
    np.subtract(txy[:, 1:], txy[:, :-1], out=steps[:, 1:])
    dt, dx, dy = steps
    if not dt.min() >= 0.0:  # times go back (or NaN): the block code's look-back loop
        return _block_of_one(t, x, y, kind)

    starts, first, last = _paths(m, WHOLE, clicks)
    displacement = _distance(x.take(last) - x.take(first), y.take(last) - y.take(first))
    moved = dx != 0
    moved |= dy != 0
    at = moved.nonzero()[0]
    dt_moved, dx, dy = steps.take(at, axis=1)
    dist = _distance(dx, dy)
    turned = adjacent(at)
    turns = float(np.count_nonzero(turned))
    curvature = quotient(row_sum(_abs_turn(np.arctan2(dy, dx), turned)), turns)

    speed = dist / dt_moved
    speed *= 1000.0
    seconds = dt_moved * 0.001
    if len(speed) and not (seconds.min() >= 1e-100 and speed.max() <= 1e100):
        return _block_of_one(t, x, y, kind)  # a move without a finite speed (equal times, overflow)
    speed_mean, speed_cv = mean_cv_one(speed)
    accel, accel_ok, mid_dt = _per_second_change(speed, turned, seconds, True)
    accel_mean = quotient(row_sum(where_zero(accel_ok, accel, absolute=True)), turns)
    jerk, jerk_ok, _ = _per_second_change(accel, both(accel_ok), mid_dt, True)
    jerk_mean = quotient(row_sum(where_zero(jerk_ok, jerk, absolute=True)), float(np.count_nonzero(jerk_ok)))

    ok, ratio = _path_ratios(starts, first, displacement, at, dist)
    straightness = quotient(row_sum(ratio), float(np.count_nonzero(ok)))

    dt_positive = dt[dt > 0]
    interval_cv = mean_cv_one(dt_positive)[1]
    active_min = float(t[m - 1] - t[0]) / 60_000.0
    pauses = float(np.count_nonzero(dt_positive > _PAUSE_MS))
    pauses_per_min = pauses / active_min if active_min > 0 else math.nan
    # Level-2 differences (each interval minus the one before) under 1 ms: a timer's repeats.
    ddt = np.subtract(dt[2:], dt[1:-1])
    interval_repeat = quotient(float(np.count_nonzero(np.abs(ddt, out=ddt) < 1.0)), m - 2) if m > 2 else math.nan
    return [move_share, speed_mean, speed_cv, accel_mean, jerk_mean, curvature, straightness, pauses_per_min,
            interval_cv, interval_repeat, _click_no_approach_one(t, is_move, clicks)]


def _click_no_approach_one(t: np.ndarray, is_move: np.ndarray, clicks: np.ndarray) -> float:
    """:func:`_click_no_approach` of one row whose times never go back: a click is approached when
    its second-last move before it is among the ``_APPROACH_LOOKBACK`` events before it and within
    ``_APPROACH_MS`` of it."""
    if not len(clicks):
        return math.nan
    moves = is_move.nonzero()[0]
    if len(moves) < 2:
        return 1.0
    before = np.searchsorted(moves, clicks)  # moves before each click (a click is not a move)
    second = moves.take(np.maximum(before - 2, 0))
    approached = before >= 2
    approached &= clicks - second <= _APPROACH_LOOKBACK
    approached &= t.take(clicks) - t.take(second) <= _APPROACH_MS
    return (len(clicks) - int(np.count_nonzero(approached))) / len(clicks)


def _block_of_one(t: np.ndarray, x: np.ndarray, y: np.ndarray, kind: np.ndarray) -> list[float]:
    """:func:`_kinematics_block` of a one-row block, as floats in ``_NAMES`` order."""
    block = _kinematics_block(t, x, y, kind, np.array([0, len(t)], dtype=np.int64))
    return [float(block[name][0]) if name in block else math.nan for name in _NAMES]


def _per_second_change(values: np.ndarray, pair_ok: np.ndarray, dt: np.ndarray, bounded: bool = False):
    """Change of ``values`` per second between consecutive intervals, one difference level down.

    ``dt`` holds the intervals' durations (s) at ``values``' level and ``pair_ok`` where a value
    and the one before it are both defined and from consecutive intervals. Returns the change,
    where it is defined (``pair_ok`` and finite), and the midpoint gaps, which are the durations
    at the next level. Defined values come from positive durations only (speed needs dt > 0, each
    change a positive gap), so their midpoint gap is positive too: the mask does not test it.
    ``bounded``: the caller knows every defined change is finite.
    """
    mid_dt = lag_mean(dt)
    change = lag_diff(values)
    change /= mid_dt
    if bounded:
        return change, pair_ok, mid_dt
    ok = np.isfinite(change)
    ok &= pair_ok
    return change, ok, mid_dt


_SQ_MIN = np.finfo(np.float64).tiny  # below: dx * dx + dy * dy has lost precision to underflow
_SQ_MAX = np.finfo(np.float64).max


def _distance(dx: np.ndarray, dy: np.ndarray) -> np.ndarray:
    """Length of each displacement, ``sqrt(dx * dx + dy * dy)``.

    Within an ulp of ``np.hypot``, which numpy does not vectorize (~15 ns per element, ~7x the
    square root). Squares leave float64's normal range only for steps under ~1e-154 or over
    ~1e154 px, which no pointer makes: those elements (and NaN) get ``np.hypot``, one by one, so
    that a row's value never depends on the other rows of its block. A (0, 0) step (a path
    that ends where it began) is exact either way, so squares under the range that are all of
    such steps keep the fast path: checked on those few elements only.
    """
    d2 = np.multiply(dx, dx)
    d2 += np.square(dy)
    if not len(d2):
        return d2
    if d2.max() <= _SQ_MAX:  # NaN fails too
        if d2.min() >= _SQ_MIN:
            return np.sqrt(d2, out=d2)
        small = (d2 < _SQ_MIN).nonzero()[0]
        if not (dx.take(small).any() or dy.take(small).any()):  # only (0, 0) steps (-0.0 is 0 too)
            return np.sqrt(d2, out=d2)
    odd = d2 < _SQ_MIN
    odd &= (dx != 0) | (dy != 0)  # not a (0, 0) step, whose length is exactly 0
    if not d2.max() <= _SQ_MAX:  # NaN fails too
        odd |= ~(d2 <= _SQ_MAX)
    dist = np.sqrt(d2, out=d2)
    if odd.any():
        dist[odd] = np.hypot(dx[odd], dy[odd])
    return dist


def _abs_turn(heading: np.ndarray, turned: np.ndarray) -> np.ndarray:
    """``|(h[i] - h[i - 1] + pi) % (2 * pi) - pi|``, the absolute change of heading, where ``turned``
    holds and 0 elsewhere, for headings in [-pi, pi].

    The change d lies in [-2pi, 2pi], so its wrapped magnitude is ``min(|d|, 2pi - |d|)``: three
    cheap passes instead of a float remainder (fmod plus a sign fix). Small turns are exact here;
    adding pi first, as the remainder form does, rounds them to a multiple of ulp(pi) = 4.4e-16.
    """
    turn = lag_diff(heading)
    turn[:1] = 0.0  # no previous heading (not a turn): finite, so the mask below can multiply
    np.abs(turn, out=turn)
    np.minimum(turn, _TWO_PI - turn, out=turn)
    return np.multiply(turn, turned, out=turn)


def _paths(size: int, row_starts: np.ndarray, clicks: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Click-delimited paths of ``size`` events: one starts at each row's first event (``row_starts``)
    and right after each click.

    Returns whether each event starts a path (bool of shape (size,)), and each path's first and
    last event.
    """
    starts = np.zeros(size + 1, dtype=bool)  # one spare element for a click at the end
    starts[row_starts] = True
    starts[clicks + 1] = True
    starts = starts[:-1]
    first = starts.nonzero()[0]
    last = np.empty(len(first), dtype=np.int64)
    last[:-1] = first[1:] - 1
    last[-1:] = size - 1
    return starts, first, last


def _path_ratios(starts: np.ndarray, first: np.ndarray, displacement: np.ndarray, at: np.ndarray,
                 dist: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Which paths are longer than 10 px, and their displacement / length (0 for the others).

    A path's length sums the steps into its events but the first (``starts``, ``first``: see
    :func:`_paths`); only moves have a step (``dist``, one per move at the events ``at``), so it
    is summed over them, in event order, by bincount (reduceat would pay its per-segment cost for
    every path). The step into a path's first event goes to a spare bin 0 instead of being zeroed:
    a bin's sum starts from +0.0, so leaving a +0.0 out changes no bit, and a few thousand writes
    replace a take and a np.where over the moves (~270 -> ~200 us on a 64k-event block).
    """
    path_of = starts.cumsum(dtype=np.int32)  # 1 + the path of each event
    path_of[first] = 0  # the step into a path's first event comes from before the path: bin 0
    path = np.bincount(path_of.take(at), weights=dist, minlength=len(first) + 1)[1:]
    ok = path > 10.0
    return ok, np.where(ok, displacement / path, 0.0)


def _straightness(lev: EventLevels, starts: np.ndarray, first: np.ndarray, displacement: np.ndarray,
                  moves: Selection, dist: np.ndarray) -> np.ndarray:
    """Mean over click-delimited paths (longer than 10 px) of displacement / path length."""
    ok, ratio = _path_ratios(starts, first, displacement, moves.positions, dist)
    # A row's paths run from the path starting at its first event (rows without events have none).
    row_first = np.searchsorted(first, lev.starts)
    counted = np.add.reduceat(ok.view(np.uint8), row_first, dtype=np.int64)
    total = np.add.reduceat(ratio, row_first)
    if len(row_first) < lev.n:
        counted, total = _scatter(counted, lev.nonempty, 0), _scatter(total, lev.nonempty, 0.0)
    return total / counted  # 0 / 0 is NaN: no path over 10 px


def _second_move_back_table() -> np.ndarray:
    # Entry lookback * 256 + w: the move flags w of the eight events before a click (bit 7 the
    # event just before it, bit 8 - k the event k before it), of which the last ``lookback``
    # are in the click's row. Value: how far back the second-last of those moves is (0: none).
    table = np.zeros((_APPROACH_LOOKBACK + 1) * 256, dtype=np.intp)
    for lookback in range(_APPROACH_LOOKBACK + 1):
        for w in range(256):
            back = [k for k in range(1, lookback + 1) if w >> (8 - k) & 1]  # moves, nearest first
            table[lookback * 256 + w] = back[1] if len(back) >= 2 else 0
    return table


_SECOND_MOVE_BACK = _second_move_back_table()


def _click_no_approach(lev: EventLevels, t: np.ndarray, in_order: bool, is_move: np.ndarray, clicks: np.ndarray,
                       click_bounds: np.ndarray) -> np.ndarray:
    """Share of a row's clicks with fewer than two moves among the ``_APPROACH_LOOKBACK`` events of
    its row before it that lie within ``_APPROACH_MS`` of it (``click_bounds``: the rows' offsets
    into ``clicks``)."""
    if not len(clicks):
        return _nans(lev.n)
    clicks_per_row = click_bounds[1:] - click_bounds[:-1]
    lookback = clicks - lev.offsets[:-1].repeat(clicks_per_row)  # the click's position in its row
    np.minimum(lookback, _APPROACH_LOOKBACK, out=lookback)
    if in_order:
        # Times rise within a row, so the events within the time window form a run ending just
        # before the click, and it holds two moves exactly when the second-last move before the
        # click is in it. That move is looked up in a table, by the move flags of the eight
        # events before the click (one bit each, read from the block's flags packed eight to a
        # byte) and how many of them are in its row: a few passes over the clicks, instead of
        # over the events.
        bits = np.packbits(is_move, bitorder="little")  # event e: bit e % 8 of byte e // 8
        packed = np.zeros(len(bits) + 2, dtype=np.intp)
        packed[1:-1] = bits
        pairs = packed[1:] << 8  # pairs[k]: bits 8k..8k+15 of the flags after 8 leading zeros,
        pairs |= packed[:-1]  # so that bits c..c+7 are the flags of the 8 events before event c
        window = pairs.take(clicks >> 3)
        window >>= clicks & 7
        window &= 0xFF
        window |= np.left_shift(lookback, 8, out=lookback)
        back = _SECOND_MOVE_BACK.take(window)
        second = back != 0
        back -= clicks
        approached = t.take(clicks) - t.take(np.negative(back, out=back)) <= _APPROACH_MS
        approached &= second
        unapproached = ~approached
    else:  # unreachable for a SubmissionBatch (it sorts telemetry by time); kept for any other caller
        t_click = t.take(clicks)
        moves_before = np.zeros(len(clicks), dtype=np.int64)
        for k in range(1, _APPROACH_LOOKBACK + 1):
            ok = lookback >= k  # event k before the click is in the click's row
            j = np.where(ok, clicks - k, 0)
            ok &= (t_click - t[j] <= _APPROACH_MS) & is_move[j]
            moves_before += ok
        unapproached = moves_before < 2
    rows = clicks_per_row > 0
    out = np.add.reduceat(unapproached.view(np.uint8), click_bounds[:-1][rows], dtype=np.int32)
    out = out / clicks_per_row[rows]
    return out if len(out) == lev.n else _scatter(out, rows, np.nan)

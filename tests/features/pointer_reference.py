"""Reference pointer kinematics: the original one-ragged-array-per-level implementation.

Kept as the textbook version the full-layout code in ``fraudscore.features.pointer`` must equal
bit for bit (tests/features/test_pointer_reference.py) and as the same-run reference of the
feature benchmark (benchmarks/bench_features.py). Not collected by pytest (no ``test_`` prefix).
"""

from __future__ import annotations

import numpy as np

from fraudscore.ragged import Ragged

MOVE, DOWN, UP, CLICK = 0, 1, 2, 3
_APPROACH_MS = 500.0
_APPROACH_LOOKBACK = 8
_PAUSE_MS = 500.0


def _finite_mean(r: Ragged, values: np.ndarray) -> np.ndarray:
    return Ragged(values, r.offsets).nanmeans() if len(values) else np.full(len(r), np.nan)


def _finite_cv(r: Ragged, values: np.ndarray) -> np.ndarray:
    return Ragged(values, r.offsets).nancvs() if len(values) else np.full(len(r), np.nan)


def reference_kinematics(batch) -> dict:
    """Every pointer.* feature of a SubmissionBatch, float64 per row (consent not applied)."""
    b = batch
    t_r = b.column("telemetry.pointer.t")
    t, x, y = t_r.values, b.column("telemetry.pointer.x").values, b.column("telemetry.pointer.y").values
    kind = b.column("telemetry.pointer.kind").values
    n = batch.n
    lengths = t_r.lengths
    out = {"pointer.events": lengths.astype(np.float64)}
    with np.errstate(invalid="ignore", divide="ignore"):
        out["pointer.move_share"] = t_r.counts(kind == MOVE) / lengths

        dt_r = t_r.diff()
        dt = dt_r.values
        dist = np.hypot(t_r.diff(x).values, t_r.diff(y).values)
        moving = (dt > 0) & (dist > 0)
        speed = np.where(moving, dist / np.where(dt > 0, dt, 1.0) * 1000.0, np.nan)  # px/s
        out["pointer.speed_mean"] = _finite_mean(dt_r, speed)
        out["pointer.speed_cv"] = _finite_cv(dt_r, speed)

        # Acceleration: change of speed over the time between the two intervals' midpoints;
        # jerk: change of acceleration likewise, one level further down.
        dv = dt_r.diff(speed)
        mid_dt = dt_r.pair_means(dt).values
        accel = dv.values / np.where(mid_dt > 0, mid_dt, np.nan) * 1000.0
        out["pointer.accel_mean"] = _finite_mean(dv, np.abs(accel))
        da = dv.diff(accel)
        mid_dt2 = dv.pair_means(mid_dt).values
        jerk = da.values / np.where(mid_dt2 > 0, mid_dt2, np.nan) * 1000.0
        out["pointer.jerk_mean"] = _finite_mean(da, np.abs(jerk))

        heading = np.where(dist > 0, np.arctan2(t_r.diff(y).values, t_r.diff(x).values), np.nan)
        turn_r = dt_r.diff(heading)
        turn = np.abs((turn_r.values + np.pi) % (2 * np.pi) - np.pi)
        out["pointer.curvature_mean"] = _finite_mean(turn_r, turn)

        out["pointer.straightness"] = _straightness(t_r, x, y, kind, dist)

        active_min = (t_r.lasts() - t_r.firsts()) / 60_000.0
        out["pointer.pauses_per_min"] = np.where(active_min > 0, dt_r.counts(dt > _PAUSE_MS) / active_min, np.nan)

        positive = dt > 0
        out["pointer.interval_cv"] = _finite_cv(dt_r, np.where(positive, dt, np.nan))
        out["pointer.interval_repeat"] = _interval_repeat(dt_r, n)
        out["pointer.click_no_approach"] = _click_no_approach(t_r, t, kind)
    return out


def _straightness(t_r: Ragged, x: np.ndarray, y: np.ndarray, kind: np.ndarray, dist: np.ndarray) -> np.ndarray:
    """Mean over click-delimited paths (longer than 10 px) of displacement / path length."""
    n = len(t_r)
    if not len(x):
        return np.full(n, np.nan)
    # A path starts at each row's first event and right after each click.
    starts = t_r.position() == 0
    starts[1:] |= kind[:-1] == CLICK
    seg = np.cumsum(starts) - 1
    n_seg = int(seg[-1]) + 1
    seg_row = t_r.row_ids()[starts]
    # interval i joins event i and i+1 of the same row: it belongs to the path of event i if
    # event i+1 did not start a new path
    row_ids = t_r.row_ids()
    same_row = row_ids[:-1] == row_ids[1:]
    inner = same_row & ~starts[1:]
    event_dist = np.zeros(len(x) - 1)
    event_dist[same_row] = dist  # dist was computed on within-row intervals, in order
    path = np.bincount(seg[:-1][inner], weights=event_dist[inner], minlength=n_seg)
    first = np.flatnonzero(starts)
    last = np.append(first[1:] - 1, len(x) - 1)
    displacement = np.hypot(x[last] - x[first], y[last] - y[first])
    ok = path > 10.0
    ratio = np.where(ok, displacement / np.where(ok, path, 1.0), 0.0)
    counted = np.bincount(seg_row[ok], minlength=n)
    total = np.bincount(seg_row, weights=ratio, minlength=n)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(counted > 0, total / counted, np.nan)


def _interval_repeat(dt_r: Ragged, n: int) -> np.ndarray:
    """Share of consecutive inter-event intervals equal to 1 ms (timer-driven scripts repeat)."""
    same = dt_r.diff()
    if not len(same.values):
        return np.full(n, np.nan)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(same.lengths >= 1, same.counts(np.abs(same.values) < 1.0) / same.lengths, np.nan)


def _click_no_approach(t_r: Ragged, t: np.ndarray, kind: np.ndarray) -> np.ndarray:
    n = len(t_r)
    clicks = np.flatnonzero(kind == CLICK)
    if not len(clicks):
        return np.full(n, np.nan)
    rows = t_r.row_ids()
    moves_before = np.zeros(len(clicks), dtype=np.int64)
    for k in range(1, _APPROACH_LOOKBACK + 1):  # a fixed number of vectorized shifts, not a row loop
        j = clicks - k
        ok = j >= 0
        jj = np.where(ok, j, 0)
        ok &= (rows[jj] == rows[clicks]) & (t[clicks] - t[jj] <= _APPROACH_MS) & (kind[jj] == MOVE)
        moves_before += ok
    click_rows = rows[clicks]
    unapproached = np.bincount(click_rows, weights=(moves_before < 2).astype(np.float64), minlength=n)
    total = np.bincount(click_rows, minlength=n)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total > 0, unapproached / total, np.nan)


class HandBuiltBatch:
    """Just enough of a SubmissionBatch for the pointer family, with any series (unsorted too)."""

    def __init__(self, columns: dict[str, Ragged]) -> None:
        self._columns = columns
        self.n = len(next(iter(columns.values())))

    def column(self, name: str) -> Ragged:
        return self._columns[name]

    def row(self, i: int) -> "HandBuiltBatch":
        """Row ``i`` alone, as a batch of one."""
        return HandBuiltBatch({name: r.take(np.array([i])) for name, r in self._columns.items()})

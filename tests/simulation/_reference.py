"""Reference implementations of the simulator's event generators: the plain, one-expression-per-
step code they were before being tuned for speed. The tests check that the fast paths in
``fraudscore.simulation`` give exactly these rows (bit for bit, same random stream consumed)."""

from __future__ import annotations

import numpy as np

from fraudscore.ragged import offsets_from_lengths, segment_index
from fraudscore.simulation.pointer import CLICK, DOWN, MOVE, UP, _min_jerk
from fraudscore.simulation.population import POINTER_MOUSE, POINTER_TELEPORT


def pointer_events(rng: np.random.Generator, blk, tg, click_t: np.ndarray):
    """All pointer events of a block.

    Parameters
    ----------
    click_t : ndarray of shape (n, n_items)
        Time of each item's mouse-down, ms since page load.

    Returns
    -------
    row_counts : ndarray of shape (n,)
    t, x, y : ndarray of shape (E,)
    kind : ndarray of int8, shape (E,)
        Codes into ``KIND_VOCABULARIES["telemetry.pointer.kind"]``; sorted by time within a row.
    """
    n, items = click_t.shape
    S = n * items
    mode = np.repeat(blk.pointer_mode, items)
    row = np.repeat(np.arange(n), items)
    mt = tg.movement_ms.ravel()
    k = np.select([mode == POINTER_MOUSE, mode == POINTER_TELEPORT],
                  [np.clip(np.rint(mt / blk.sample_dt[row]), 2, 40), 1], 0).astype(np.int64)
    seg_len = k + 3
    seg_start = offsets_from_lengths(seg_len)[:-1]
    E = int(seg_len.sum())
    t = np.empty(E)
    x = np.empty(E, dtype=np.float32)
    y = np.empty(E, dtype=np.float32)
    kind = np.empty(E, dtype=np.int8)

    # Moves: per-segment quantities first (float32: positions need no more), then one gather each.
    f32 = np.float32
    x0s, y0s = tg.x0.ravel().astype(f32), tg.y0.ravel().astype(f32)
    x1s, y1s = tg.x1.ravel().astype(f32), tg.y1.ravel().astype(f32)
    dxs, dys = x1s - x0s, y1s - y0s
    dists = np.hypot(dxs, dys) + f32(1e-6)
    uxs, uys = dxs / dists, dys / dists
    seg_rand = rng.standard_normal((3, S), dtype=f32)
    human = (blk.overshoot[row] != 0).astype(f32)
    over = (blk.overshoot[row].astype(f32) + f32(0.03) * seg_rand[0] * human) * dists
    lat = f32(0.02) * seg_rand[1] * dists * human
    mxs = x1s + uxs * over - uys * lat
    mys = y1s + uys * over + uxs * lat
    arcs = (blk.curvature[row].astype(f32) * np.sign(seg_rand[2]) * dists)
    pause_s = tg.pause_ms.ravel()
    start_s = click_t.ravel() - mt - pause_s
    f_s = blk.primary_share[row].astype(f32)
    mj_s = blk.min_jerk[row].astype(f32)
    mseg, mpos = segment_index(k)
    m = len(mseg)
    kk = k[mseg].astype(f32)
    pos1 = (mpos + 1).astype(f32)
    u = pos1 / kk
    u_t = (pos1 - blk.dt_jitter[row].astype(f32)[mseg] * rng.random(m, dtype=f32)) / kk
    f = f_s[mseg]
    primary = u < f
    s = np.where(primary, u / f, (u - f) / np.maximum(f32(1) - f, f32(1e-6)))
    np.clip(s, 0, 1, out=s)
    mj = mj_s[mseg]
    prof = mj * _min_jerk(s) + (f32(1) - mj) * s
    # Each sample lies on the primary (start -> mid) or the corrective (mid -> end) submovement:
    # one gather from a (segment, phase) table instead of four.
    phase = mseg * 2 + (~primary)
    ax = np.column_stack([x0s, mxs]).ravel()[phase]
    ay = np.column_stack([y0s, mys]).ravel()[phase]
    bx = np.column_stack([mxs, x1s]).ravel()[phase]
    by = np.column_stack([mys, y1s]).ravel()[phase]
    arc = arcs[mseg] * np.sin(f32(np.pi) * np.minimum(u / f, f32(1)))
    noise = blk.path_noise[row].astype(f32)[mseg] * (mpos != k[mseg] - 1)
    # Sensor noise: triangular (sum of two uniforms, sd 1), far cheaper to draw than a normal.
    nz = (rng.random((2, m), dtype=f32) - rng.random((2, m), dtype=f32)) * f32(2.449)
    px = ax + (bx - ax) * prof - uys[mseg] * arc + noise * nz[0]
    py = ay + (by - ay) * prof + uxs[mseg] * arc + noise * nz[1]
    pause = pause_s[mseg]
    tt = start_s[mseg] + mt[mseg] * u_t + np.where(u_t > tg.pause_at.ravel()[mseg], pause, 0.0)
    teleport = np.flatnonzero(mode[mseg] == POINTER_TELEPORT)
    tt[teleport] = click_t.ravel()[mseg[teleport]] - 1.0
    at = seg_start[mseg] + mpos
    t[at], x[at], y[at], kind[at] = tt, px, py, MOVE

    # Down, up, click at the landing point.
    c = click_t.ravel()
    press = np.where(mode == POINTER_TELEPORT, 0.0, tg.press_ms.ravel())
    base = seg_start + k
    for j, (code, dt) in enumerate(((DOWN, 0.0), (UP, press), (CLICK, press))):
        t[base + j] = c + dt
        x[base + j] = tg.x1.ravel()
        y[base + j] = tg.y1.ravel()
        kind[base + j] = code
    row_counts = seg_len.reshape(n, items).sum(axis=1)
    return row_counts, t, x, y, kind

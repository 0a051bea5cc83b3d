"""Pointer movement: minimum-jerk submovements with overshoot and correction, Fitts-law timing.

Each click target is reached by a primary submovement that ends near (often past) the target and
a corrective submovement onto it (Meyer et al. 1988), each following the minimum-jerk position
profile ``10s³ − 15s⁴ + 6s⁵`` (Flash & Hogan 1985), with a slight arc, sensor noise, occasional
pauses and duration ``a + b·log2(D/W + 1)`` (Fitts 1954; MacKenzie 1992). Phones produce taps
(down/up/click, no hover moves). Bots move in straight or arced constant-speed lines with regular
timestamps, or teleport (one move, then an instant click at the target's centre).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._kernels import segments, select
from .population import POINTER_MOUSE, POINTER_TELEPORT, POINTER_TOUCH, Block

__all__ = ["Targets", "plan_targets", "pointer_events", "MOVE", "DOWN", "UP", "CLICK"]

MOVE, DOWN, UP, CLICK = 0, 1, 2, 3
TARGET_WIDTH = 36.0  # px: a radio button with its label


@dataclass(frozen=True)
class Targets:
    """Where and how long each item's pointer movement goes, arrays of shape (n, n_items)."""

    x0: np.ndarray
    y0: np.ndarray
    x1: np.ndarray
    y1: np.ndarray
    movement_ms: np.ndarray
    pause_ms: np.ndarray
    pause_at: np.ndarray
    press_ms: np.ndarray


def viewport(blk: Block) -> tuple[np.ndarray, np.ndarray]:
    """Viewport width and height in CSS px, shape (n,)."""
    d = blk.devices
    touch = blk.pointer_mode == POINTER_TOUCH
    vw = np.maximum(d.avail_w - np.where(touch, 0, 16), 200)
    vh = np.maximum(d.avail_h - np.where(touch, 140, 110), 200)
    return vw, vh


def plan_targets(rng: np.random.Generator, blk: Block, answers: np.ndarray) -> Targets:
    """Click targets for every item (Likert options by answer, then text boxes) and Fitts times."""
    n, L = answers.shape
    items = blk.n_items
    k = blk.spec.likert_points
    vw, vh = viewport(blk)
    option = np.where(answers > 0, answers, (k + 1) / 2)
    x = np.empty((n, items))
    x[:, :L] = vw[:, None] * (0.2 + 0.6 * (option - 0.5) / k)
    x[:, L:] = vw[:, None] * 0.5 + rng.normal(0, 30, (n, items - L))
    y = vh[:, None] * rng.uniform(0.3, 0.7, (n, items))
    # Where on the target the pointer lands: humans spread around the centre, scripts hit it.
    sd = blk.target_sd[:, None]
    x1 = x + sd * rng.standard_normal((n, items))
    y1 = y + sd * rng.standard_normal((n, items))
    x0 = np.empty_like(x1)
    y0 = np.empty_like(y1)
    x0[:, 1:], y0[:, 1:] = x1[:, :-1], y1[:, :-1]
    x0[:, 0] = vw * rng.uniform(0.2, 0.8, n)
    y0[:, 0] = vh * rng.uniform(0.2, 0.8, n)
    dist = np.hypot(x1 - x0, y1 - y0)
    fitts_id = np.log2(dist / TARGET_WIDTH + 1.0)
    mt = (blk.fitts_a[:, None] + blk.fitts_b[:, None] * fitts_id) * np.exp(0.15 * rng.standard_normal((n, items)))
    mode = blk.pointer_mode[:, None]
    mt = np.where(mode == POINTER_MOUSE, np.maximum(mt, 80.0), 1.0)
    pause = np.where((rng.random((n, items)) < blk.pause_p[:, None]) & (mode == POINTER_MOUSE),
                     250 * np.exp(0.5 * rng.standard_normal((n, items))), 0.0)
    press = blk.press_ms[:, None] * np.exp(0.2 * rng.standard_normal((n, items)))
    return Targets(x0=x0, y0=y0, x1=x1, y1=y1, movement_ms=mt, pause_ms=pause,
                   pause_at=rng.uniform(0.3, 0.7, (n, items)), press_ms=press)


def _min_jerk(s: np.ndarray) -> np.ndarray:
    return s * s * s * (10.0 + s * (-15.0 + 6.0 * s))


_CHUNK = 32_768  # samples per run of segments in pointer_events: ~128 KB per float32 temporary


@dataclass(frozen=True)
class _SegmentTerms:
    """Per-segment inputs of the pointer samples, shape (S,) (the tables: (2 S,), by phase)."""

    k: np.ndarray
    k_f: np.ndarray
    mstart: np.ndarray
    f: np.ndarray
    den: np.ndarray
    mj: np.ndarray
    omj: np.ndarray
    jitter: np.ndarray
    noise: np.ndarray
    arcs: np.ndarray
    ux: np.ndarray
    uy: np.ndarray
    mt: np.ndarray
    start: np.ndarray
    pause: np.ndarray
    pause_at: np.ndarray
    teleport: np.ndarray
    click: np.ndarray
    ax: np.ndarray
    ay: np.ndarray
    dx: np.ndarray
    dy: np.ndarray


def _moves(sg: _SegmentTerms, s0: int, s1: int, a0: int, a1: int, jitter: np.ndarray, nz: np.ndarray,
           t: np.ndarray, x: np.ndarray, y: np.ndarray) -> None:
    """Move samples ``a0:a1`` (the samples of segments ``s0:s1``) written into ``t, x, y``.

    ``jitter`` and ``nz`` are those samples' uniform draws and sensor noise (shape (a1 - a0,) and
    (2, a1 - a0)); ``nz`` is overwritten.
    """
    f32 = np.float32
    sl = slice(s0, s1)
    k = sg.k[sl]
    mseg, mpos, mstart = segments(k)
    pos1 = mpos.astype(f32)
    pos1 += f32(1)
    kk = sg.k_f[sl].take(mseg)
    u = pos1 / kk
    u_t = sg.jitter[sl].take(mseg)
    u_t *= jitter
    np.subtract(pos1, u_t, out=u_t)
    u_t /= kk
    del pos1, kk
    f = sg.f[sl].take(mseg)
    primary = u < f
    uf = u / f
    u -= f
    u /= sg.den[sl].take(mseg)
    s = select(primary, uf, u)
    del u, f
    np.clip(s, 0, 1, out=s)
    prof = _min_jerk(s)
    prof *= sg.mj[sl].take(mseg)
    s *= sg.omj[sl].take(mseg)
    prof += s
    del s
    phase = mseg + s0
    phase *= 2
    phase += ~primary
    arc = np.minimum(uf, f32(1), out=uf)
    arc *= f32(np.pi)
    np.sin(arc, out=arc)
    arc *= sg.arcs[sl].take(mseg)
    # No sensor noise on the last sample, which lands where the button goes down.
    noise = sg.noise[sl].take(mseg)
    noise[(mstart + k - 1)[k > 0]] = 0
    nz *= noise
    del noise
    px = sg.dx.take(phase)
    px *= prof
    px += sg.ax.take(phase)
    px -= sg.uy[sl].take(mseg) * arc
    px += nz[0]
    py = sg.dy.take(phase)
    py *= prof
    py += sg.ay.take(phase)
    py += sg.ux[sl].take(mseg) * arc
    py += nz[1]
    del phase, prof, arc
    tt = sg.mt[sl].take(mseg)
    tt *= u_t
    tt += sg.start[sl].take(mseg)
    # The pause: only segments with one (a few percent) need the comparison; elsewhere it adds 0.
    paused = np.flatnonzero(sg.pause[sl] != 0)
    if paused.size:
        pseg, ppos, _ = segments(k[paused])
        at = mstart[paused].take(pseg) + ppos
        late = u_t[at] > sg.pause_at[sl][paused].take(pseg)
        tt[at[late]] += sg.pause[sl][paused].take(pseg[late])
    teleport = np.flatnonzero(sg.teleport[sl])
    tt[mstart[teleport]] = sg.click[sl][teleport] - 1.0
    # Segment j starts at mstart[j] + 3 j in the event arrays (3 button events per earlier segment).
    at = mseg + s0
    at *= 3
    at += np.arange(a0, a1, dtype=np.int64)
    t[at], x[at], y[at] = tt, px, py


def pointer_events(rng: np.random.Generator, blk: Block, tg: Targets, click_t: np.ndarray):
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
    f32 = np.float32
    mode = np.repeat(blk.pointer_mode, items)
    row = np.repeat(np.arange(n), items)
    mt = tg.movement_ms.ravel()
    k = np.select([mode == POINTER_MOUSE, mode == POINTER_TELEPORT],
                  [np.clip(np.rint(mt / blk.sample_dt[row]), 2, 40), 1], 0).astype(np.int64)
    seg_len = k + 3
    E = int(seg_len.sum())

    # Per-segment quantities first (float32: positions need no more). Everything that depends on
    # the segment only is computed here, S values, and then gathered once per sample: the sample
    # arrays (~100 per row) are what costs.
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
    den_s = np.maximum(f32(1) - f_s, f32(1e-6))
    mj_s = blk.min_jerk[row].astype(f32)
    # Each sample lies on the primary (start -> mid) or the corrective (mid -> end) submovement:
    # (segment, phase) tables of the submovement's start and extent, one gather each.
    ax_tab = np.column_stack([x0s, mxs]).ravel()
    ay_tab = np.column_stack([y0s, mys]).ravel()
    dx_tab = np.column_stack([mxs - x0s, x1s - mxs]).ravel()
    dy_tab = np.column_stack([mys - y0s, y1s - mys]).ravel()

    m_end = np.cumsum(k)
    mstart = m_end - k
    m = int(m_end[-1]) if S else 0
    # The draws for every sample first, in the order the stream has always had them.
    jitter = rng.random(m, dtype=f32)
    nz = rng.random((2, m), dtype=f32)
    nz -= rng.random((2, m), dtype=f32)
    # Sensor noise: triangular (sum of two uniforms, sd 1), far cheaper to draw than a normal.
    nz *= f32(2.449)
    t = np.empty(E)
    x = np.empty(E, dtype=np.float32)
    y = np.empty(E, dtype=np.float32)
    kind = np.full(E, MOVE, dtype=np.int8)
    seg = _SegmentTerms(
        k=k, k_f=k.astype(f32), mstart=mstart, f=f_s, den=den_s, mj=mj_s, omj=f32(1) - mj_s,
        jitter=blk.dt_jitter[row].astype(f32), noise=blk.path_noise[row].astype(f32), arcs=arcs, ux=uxs, uy=uys,
        mt=mt, start=start_s, pause=pause_s, pause_at=tg.pause_at.ravel(),
        teleport=(mode == POINTER_TELEPORT) & (k > 0), click=click_t.ravel(),
        ax=ax_tab, ay=ay_tab, dx=dx_tab, dy=dy_tab)
    # Samples in runs of whole segments of about _CHUNK samples: each run's temporaries stay in
    # cache, instead of ~25 MB of fresh arrays a block (page faults cost as much as the arithmetic).
    cuts = np.unique(np.concatenate([[0], np.searchsorted(mstart, np.arange(_CHUNK, m, _CHUNK)), [S]]))
    for s0, s1 in zip(cuts[:-1], cuts[1:]):
        a0 = int(mstart[s0]) if s0 < S else m
        a1 = int(mstart[s1]) if s1 < S else m
        if a1 > a0:
            _moves(seg, int(s0), int(s1), a0, a1, jitter[a0:a1], nz[:, a0:a1], t, x, y)

    # Down, up, click at the landing point.
    c = click_t.ravel()
    press = np.where(mode == POINTER_TELEPORT, 0.0, tg.press_ms.ravel())
    base = mstart + 3 * np.arange(S, dtype=np.int64) + k
    for j, (code, dt) in enumerate(((DOWN, 0.0), (UP, press), (CLICK, press))):
        t[base + j] = c + dt
        x[base + j] = tg.x1.ravel()
        y[base + j] = tg.y1.ravel()
        kind[base + j] = code
    row_counts = seg_len.reshape(n, items).sum(axis=1)
    return row_counts, t, x, y, kind

"""Reference implementations of the simulator's event generators: the plain, one-expression-per-
step code they were before being tuned for speed. The tests check that the fast paths in
``fraudscore.simulation`` give exactly these rows (bit for bit, same random stream consumed)."""

from __future__ import annotations

import numpy as np

import pyarrow as pa
import pyarrow.compute as pc

from fraudscore.ragged import offsets_from_lengths, segment_index
from fraudscore.simulation._columns import mix64
from fraudscore.simulation.keystrokes import _LOG_DIGRAPH, _LOG_WORD, BACKSPACE, KeyPlan, PASTE
from fraudscore.simulation.pointer import CLICK, DOWN, MOVE, UP, _min_jerk
from fraudscore.simulation.population import (POINTER_MOUSE, POINTER_TELEPORT, SCROLL_NONE, SCROLL_SCRIPTED,
                                              SCROLL_SMOOTH, SCROLL_WHEEL, TYPE_KEYS, TYPE_PASTE)
from fraudscore.simulation.text import _CARELESS, _JUNK, _LLM, _SLOTS, BANKS, CARELESS, JUNK, LLM
from fraudscore.simulation.timeline import ITEM_HEIGHT


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


def plan_keys(rng: np.random.Generator, blk, text_len: np.ndarray) -> KeyPlan:
    """Plan key events for texts of ``text_len`` characters, shape (n, n_text)."""
    n, T = text_len.shape
    mode = np.repeat(blk.type_mode, T)
    length = text_len.ravel().astype(np.int64)
    rate = np.repeat(blk.backspace_rate, T)
    n_back = np.where(mode == TYPE_KEYS, rng.binomial(length, np.clip(rate, 0, 1)), 0)
    counts = np.select([mode == TYPE_KEYS, mode == TYPE_PASTE], [length + 2 * n_back, np.where(length > 0, 3, 0)], 0)
    seg, pos = segment_index(counts)
    starts = offsets_from_lengths(counts)[:-1]
    m = len(seg)
    f32 = np.float32
    sigma = np.repeat(blk.iki_sigma.astype(f32), T)[seg]
    log_mean = np.repeat(np.log(blk.iki_ms).astype(f32), T)[seg]
    # Digraph and word-boundary effects scale with the typist's own variability: a constant-rhythm
    # bot (sigma ~ 0) has none. One exp for all log-normal factors.
    human = np.minimum(sigma / f32(0.55), f32(1.2))
    key_seed = np.repeat(blk.text_seed % 64, T)[seg]
    log_iki = log_mean - sigma * sigma / 2 + sigma * rng.standard_normal(m, dtype=f32)
    log_iki += human * (_LOG_DIGRAPH[(pos * 7 + key_seed) % 64] + np.where(pos % 6 == 5, _LOG_WORD, f32(0)))
    iki = np.exp(log_iki).astype(np.float64)
    n_think = rng.binomial(counts, np.repeat(blk.think_pause_p, T))
    tseg, _ = segment_index(n_think)
    if len(tseg):
        where = starts[tseg] + (rng.random(len(tseg)) * counts[tseg]).astype(np.int64)
        iki[where] += 1500 * np.exp(0.6 * rng.standard_normal(len(tseg)))
    kind = np.zeros(m, dtype=np.int8)
    # Backspaces at spread-out positions inside each typed segment (never the first key).
    nb = n_back
    bseg, bpos = segment_index(nb)
    if len(bseg):
        e = counts[bseg]
        where = 1 + np.floor((e - 1) * (bpos + rng.random(len(bseg))) / nb[bseg]).astype(np.int64)
        where = np.minimum(where, e - 1)
        kind[starts[bseg] + where] = BACKSPACE
        iki[starts[bseg] + where] *= 1.3  # noticing an error takes a moment
    # Paste: Ctrl/Cmd down, V down, paste.
    paste_seg = mode[seg] == TYPE_PASTE
    kind[paste_seg & (pos == 2)] = PASTE
    iki = np.where(paste_seg, np.where(pos == 0, 0.0, np.where(pos == 1, 120.0, 15.0)), iki)
    iki[pos == 0] = 0.0
    rel_t = np.cumsum(iki)
    rel_t -= np.repeat(rel_t[starts[counts > 0]], counts[counts > 0])
    duration = np.bincount(seg, weights=iki, minlength=len(counts))
    return KeyPlan(counts=counts, rel_t=rel_t, kind=kind, duration=duration)


def scroll_events(rng: np.random.Generator, blk, tl):
    """Scroll events while reading each Likert item.

    Returns
    -------
    row_counts : ndarray of shape (n,)
    t, dy : ndarray of shape (E,)
    """
    n = blk.n
    L = blk.spec.n_likert
    mode = np.repeat(blk.scroll_mode, L)
    lam = np.select([mode == SCROLL_WHEEL, mode == SCROLL_SMOOTH, mode == SCROLL_SCRIPTED], [0.9, 2.5, 1.0], 0.0)
    counts = np.where(mode == SCROLL_SCRIPTED, 1, rng.poisson(lam))
    counts = np.where(mode == SCROLL_NONE, 0, counts)
    seg, pos = segment_index(counts)
    m = len(seg)
    c = counts[seg].astype(float)
    start = tl.item_start[:, :L].ravel()[seg]
    read = tl.read_ms[:, :L].ravel()[seg]
    scripted = mode[seg] == SCROLL_SCRIPTED
    frac = np.where(scripted, 0.1, (pos + rng.random(m)) / c * 0.9)
    t = start + frac * np.minimum(read, 5_000)
    share = ITEM_HEIGHT / c * np.exp(0.4 * rng.standard_normal(m))
    dy = np.select([mode[seg] == SCROLL_WHEEL, scripted], [100.0 * np.maximum(1, np.rint(share / 100)), ITEM_HEIGHT],
                   np.round(share, 1))
    back = (rng.random(m) < 0.06) & ~scripted
    dy = np.where(back, -dy, dy)
    row_counts = counts.reshape(n, L).sum(axis=1)
    return row_counts, t, dy


def _slot_text(bank: dict, slot: str, index: np.ndarray, present: np.ndarray) -> pa.Array:
    # Empty bank entries stand for "no such slot": null, skipped by the join.
    vocab = pa.array([w or None for w in bank[slot]], type=pa.string())
    idx = pa.array(index % len(bank[slot]), mask=~present)
    return vocab.take(idx)


def _compose(bank: dict, seed: np.ndarray, item: int, statements: int) -> pa.Array:
    """Texts, one per seed, shape (m,): slots chosen by hashing the seed, so equal seeds give equal text."""
    parts = []
    m = len(seed)
    for j, slot in enumerate(_SLOTS):
        h = mix64(seed, np.full(m, item * 31 + j))
        present = np.ones(m, dtype=bool)
        if slot == "statement":
            parts.append(_slot_text(bank, slot, (h % np.uint64(1 << 20)).astype(np.int64), present))
            if statements > 1:
                second = (h >> np.uint64(40)) % np.uint64(3) == 0  # a third write two statements
                parts.append(_slot_text(bank, slot, ((h >> np.uint64(20)) % np.uint64(1 << 20)).astype(np.int64), second))
            continue
        parts.append(_slot_text(bank, slot, (h % np.uint64(1 << 20)).astype(np.int64), present))
    joined = pc.binary_join_element_wise(*parts, " ", null_handling="skip")
    return pc.fill_null(joined, "")


def compose_texts(style: np.ndarray, seed: np.ndarray, n_text: int, language: str,
                  capitalize: np.ndarray) -> pa.Array:
    """Open-text answers, flat array of shape (n * n_text,) in row-major (row, item) order.

    Parameters
    ----------
    style : ndarray of shape (n,)
        Index into :data:`STYLES`.
    seed : ndarray of uint64-compatible ints, shape (n,)
        Rows with equal seed and style get equal text (copies, duplicates).
    capitalize : ndarray of bool, shape (n,)
        Upper-case the first letter and end with a full stop (a tidy writer).
    """
    n = len(style)
    bank = BANKS.get(language, BANKS["en"])
    seed = np.asarray(seed).astype(np.uint64)
    columns = []
    for item in range(n_text):
        honest = _compose(bank, seed, item, statements=2)
        h = mix64(seed, np.full(n, 977 + item))
        careless = pa.array(_CARELESS, type=pa.string()).take(pa.array((h % np.uint64(len(_CARELESS))).astype(np.int64)))
        junk = pa.array(_JUNK, type=pa.string()).take(pa.array(((h >> np.uint64(8)) % np.uint64(len(_JUNK))).astype(np.int64)))
        llm = _compose(_LLM, seed, item, statements=1)
        tidy = pc.binary_join_element_wise(pc.utf8_capitalize(honest), pa.scalar("."), "")
        honest = pc.if_else(pa.array(capitalize & (pc.utf8_length(honest).to_numpy(zero_copy_only=False) > 0)),
                            tidy, honest)
        col = honest
        for code, arr in ((CARELESS, careless), (LLM, llm), (JUNK, junk)):
            col = pc.if_else(pa.array(style == code), arr, col)
        columns.append(col)
    if not columns:
        return pa.array([], type=pa.string())
    stacked = pa.concat_arrays(columns)  # item-major
    order = (np.arange(n_text)[None, :] * n + np.arange(n)[:, None]).ravel()
    return stacked.take(pa.array(order))

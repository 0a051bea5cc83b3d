"""Typing: log-normal inter-key intervals with digraph variation, word pauses and backspaces.

Only event *kinds* are produced (keydown, backspace, paste), never key values. Typists' mean
inter-key interval is ~240 ms with a wide spread across people (Dhakal et al. 2018, 136 M
keystrokes); intervals within a person are right-skewed (log-normal), slower across word
boundaries and after errors. Bots type with a constant rhythm or inject/paste text.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from fraudscore.ragged import segment_index
from ._kernels import segments
from .population import TYPE_KEYS, TYPE_PASTE, Block

__all__ = ["KeyPlan", "plan_keys"]

KEYDOWN, KEYUP, BACKSPACE, PASTE = 0, 1, 2, 3
# Fixed digraph speed classes: some letter pairs are fast (same-hand rolls), some slow.
_LOG_DIGRAPH = np.random.default_rng(64).normal(0.0, 0.3, 64).astype(np.float32)
_LOG_WORD = np.float32(np.log(1.6))  # crossing a word boundary
# Both effects of key ``pos`` of a typist with key seed ``ks`` (0..63): the digraph class
# ``(7 pos + ks) % 64`` plus the word pause every sixth key repeat every 192 keys, so one table
# lookup per key replaces six integer passes over every key.
_KEY_PERIOD = 192
_pos = np.arange(_KEY_PERIOD)
_KEY_EFFECT = (_LOG_DIGRAPH[(_pos[None, :] * 7 + np.arange(64)[:, None]) % 64]
               + np.where(_pos % 6 == 5, _LOG_WORD, np.float32(0))[None, :]).ravel()
del _pos


@dataclass(frozen=True)
class KeyPlan:
    """Key events per (row, text item) segment, times relative to the segment's first key.

    Attributes
    ----------
    counts : ndarray of shape (n * n_text,)
        Events per segment.
    rel_t : ndarray of shape (counts.sum(),)
    kind : ndarray of int8, shape (counts.sum(),)
    duration : ndarray of shape (n * n_text,)
        Time from the first to the last event of the segment, ms.
    """

    counts: np.ndarray
    rel_t: np.ndarray
    kind: np.ndarray
    duration: np.ndarray


def plan_keys(rng: np.random.Generator, blk: Block, text_len: np.ndarray) -> KeyPlan:
    """Plan key events for texts of ``text_len`` characters, shape (n, n_text)."""
    n, T = text_len.shape
    mode = np.repeat(blk.type_mode, T)
    length = text_len.ravel().astype(np.int64)
    rate = np.repeat(blk.backspace_rate, T)
    n_back = np.where(mode == TYPE_KEYS, rng.binomial(length, np.clip(rate, 0, 1)), 0)
    counts = np.select([mode == TYPE_KEYS, mode == TYPE_PASTE], [length + 2 * n_back, np.where(length > 0, 3, 0)], 0)
    seg, pos, starts = segments(counts)
    m = len(seg)
    f32 = np.float32
    # Per-segment terms once, then one gather per key.
    sigma_s = np.repeat(blk.iki_sigma.astype(f32), T)
    log_mean_s = np.repeat(np.log(blk.iki_ms).astype(f32), T)
    # Digraph and word-boundary effects scale with the typist's own variability: a constant-rhythm
    # bot (sigma ~ 0) has none. One exp for all log-normal factors.
    human_s = np.minimum(sigma_s / f32(0.55), f32(1.2))
    key_row = np.repeat(blk.text_seed % 64, T) * _KEY_PERIOD
    log_iki = rng.standard_normal(m, dtype=f32)
    log_iki *= sigma_s.take(seg)
    log_iki += (log_mean_s - sigma_s * sigma_s / 2).take(seg)
    effect = pos % _KEY_PERIOD
    effect += key_row.take(seg)
    effect = _KEY_EFFECT.take(effect)
    effect *= human_s.take(seg)
    log_iki += effect
    del effect
    iki = np.exp(log_iki, out=log_iki).astype(np.float64)
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
    # Paste: Ctrl/Cmd down, V down, paste (set on the paste segments' keys only).
    paste = np.flatnonzero((mode == TYPE_PASTE) & (counts > 0))
    if paste.size:
        pseg, ppos, _ = segments(counts[paste])
        at = starts[paste].take(pseg) + ppos
        kind[at[ppos == 2]] = PASTE
        iki[at] = np.where(ppos == 0, 0.0, np.where(ppos == 1, 120.0, 15.0))
    typed = counts > 0
    iki[starts[typed]] = 0.0
    rel_t = np.cumsum(iki)
    first = np.zeros(len(counts))
    first[typed] = rel_t[starts[typed]]
    rel_t -= first.take(seg)
    duration = np.bincount(seg, weights=iki, minlength=len(counts))
    return KeyPlan(counts=counts, rel_t=rel_t, kind=kind, duration=duration)

"""Typing: log-normal inter-key intervals with digraph variation, word pauses and backspaces.

Only event *kinds* are produced (keydown, backspace, paste), never key values. Typists' mean
inter-key interval is ~240 ms with a wide spread across people (Dhakal et al. 2018, 136 M
keystrokes); intervals within a person are right-skewed (log-normal), slower across word
boundaries and after errors. Bots type with a constant rhythm or inject/paste text.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from fraudscore.ragged import offsets_from_lengths, segment_index
from .population import TYPE_KEYS, TYPE_PASTE, Block

__all__ = ["KeyPlan", "plan_keys"]

KEYDOWN, KEYUP, BACKSPACE, PASTE = 0, 1, 2, 3
# Fixed digraph speed classes: some letter pairs are fast (same-hand rolls), some slow.
_LOG_DIGRAPH = np.random.default_rng(64).normal(0.0, 0.3, 64).astype(np.float32)
_LOG_WORD = np.float32(np.log(1.6))  # crossing a word boundary


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

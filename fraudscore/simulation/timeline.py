"""Time on each item, the survey timeline, scrolling and tab-away (focus) events.

Reading time per Likert item is ``(decision + words · ms_per_word) · lognormal noise`` (reading
speed 200–300 words/min, Brysbaert 2019; answer decision ~1 s, Yan & Tourangeau 2008), so longer
items take longer. Careless people speed up after their onset; tab-aways add their away time to
the item they happen on.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from fraudscore.ragged import segment_index
from ._kernels import segments
from .answers import careless_item_mask
from .design import item_words
from .keystrokes import KeyPlan
from .pointer import Targets
from .population import SCROLL_NONE, SCROLL_SCRIPTED, SCROLL_SMOOTH, SCROLL_WHEEL, Block

__all__ = ["Timeline", "plan_timeline", "scroll_events", "ITEM_HEIGHT"]

ITEM_HEIGHT = 120.0  # px of page per item


@dataclass(frozen=True)
class Timeline:
    """Per-item times, shape (n, n_items) unless noted, ms since the survey page loaded."""

    item_ms: np.ndarray
    item_start: np.ndarray
    read_ms: np.ndarray
    click_t: np.ndarray
    key_start: np.ndarray  # (n, n_text): first key of each text item
    duration_ms: np.ndarray  # (n,): page load to submit
    focus_counts: np.ndarray  # (n,)
    focus_t: np.ndarray
    focus_kind: np.ndarray


def plan_timeline(rng: np.random.Generator, blk: Block, tg: Targets, keys: KeyPlan) -> Timeline:
    n, items = tg.movement_ms.shape
    L, T = blk.spec.n_likert, blk.spec.n_text
    words = np.concatenate([item_words(blk.spec), np.full(T, 0.0)])
    noise = np.exp(blk.item_sigma[:, None] * rng.standard_normal((n, items)))
    read = (blk.decision_ms[:, None] + words[None, :] * blk.ms_per_word[:, None]) * noise
    # Before typing, people think about what to write.
    read[:, L:] = 2_500 * np.exp(0.6 * rng.standard_normal((n, T))) * blk.decision_ms[:, None] / 1_100
    read *= blk.speed[:, None]
    slow = np.ones((n, items))
    slow[:, :L] = np.where(careless_item_mask(blk), blk.careless_speed[:, None], 1.0)
    slow[:, L:] = np.where(blk.careless[:, None] > 0, blk.careless_speed[:, None], 1.0)
    read *= slow
    read = np.maximum(read, 1.0)
    # Tab-away: at most one per item; the away time is spent on that item.
    n_pairs = np.minimum(rng.poisson(blk.blur_rate), items)
    pseg, ppos = segment_index(n_pairs)
    p_item = rng.integers(0, items, len(pseg))
    flat = pseg * items + p_item
    flat, first = np.unique(flat, return_index=True)
    pseg = pseg[first]
    away = 4_000 * np.exp(1.1 * rng.standard_normal(len(flat)))
    blur_frac = rng.uniform(0.05, 0.8, len(flat))
    read_before = read.ravel()[flat]
    read.ravel()[flat] += away
    typing = keys.duration.reshape(n, T)
    post = 60.0 + 40.0 * rng.random((n, items))
    item_ms = read + tg.movement_ms + tg.pause_ms + tg.press_ms + post
    item_ms[:, L:] += typing + np.where(typing > 0, 250.0, 0.0)
    item_start = blk.pre_ms[:, None] + np.concatenate([np.zeros((n, 1)), np.cumsum(item_ms, axis=1)[:, :-1]], axis=1)
    click_t = item_start + read + tg.movement_ms + tg.pause_ms
    key_start = click_t[:, L:] + tg.press_ms[:, L:] + 250.0
    duration = blk.pre_ms + item_ms.sum(axis=1) + 300.0 + 700.0 * rng.random(n)
    blur_t = item_start.ravel()[flat] + blur_frac * read_before
    ft = np.empty(2 * len(flat))
    fk = np.empty(2 * len(flat), dtype=np.int8)
    ft[0::2], ft[1::2] = blur_t, blur_t + away
    fk[0::2], fk[1::2] = 0, 1
    counts = 2 * np.bincount(pseg, minlength=n)
    return Timeline(item_ms=item_ms, item_start=item_start, read_ms=read, click_t=click_t, key_start=key_start,
                    duration_ms=duration, focus_counts=counts, focus_t=ft, focus_kind=fk)


def scroll_events(rng: np.random.Generator, blk: Block, tl: Timeline):
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
    seg, pos, starts = segments(counts)
    m = len(seg)
    # Per-item terms once, gathered per event; the few wheel and scripted items are then
    # rewritten through their own events' indices rather than by masks over every event.
    c = counts.astype(float)
    scripted = np.flatnonzero((mode == SCROLL_SCRIPTED) & (counts > 0))
    wheel = np.flatnonzero((mode == SCROLL_WHEEL) & (counts > 0))
    t = rng.random(m)
    t += pos
    t /= c.take(seg)
    t *= 0.9
    t[starts[scripted]] = 0.1  # one event per scripted item
    t *= np.minimum(tl.read_ms[:, :L].ravel(), 5_000).take(seg)
    t += tl.item_start[:, :L].ravel().take(seg)
    share = rng.standard_normal(m)
    share *= 0.4
    np.exp(share, out=share)
    share *= (ITEM_HEIGHT / np.maximum(c, 1)).take(seg)
    dy = np.round(share, 1)
    wseg, wpos, _ = segments(counts[wheel])
    at = starts[wheel].take(wseg) + wpos
    dy[at] = 100.0 * np.maximum(1, np.rint(share[at] / 100))
    dy[starts[scripted]] = ITEM_HEIGHT
    back = rng.random(m) < 0.06
    back[starts[scripted]] = False
    np.negative(dy, out=dy, where=back)
    row_counts = counts.reshape(n, L).sum(axis=1)
    return row_counts, t, dy

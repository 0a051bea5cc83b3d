"""Likert answers: a latent-trait model for attentive people, careless patterns, bot strategies.

Each scale measures one latent trait θ ~ N(0, 1). Item response
``z = ±loading·θ + sqrt(1 − loading²)·ε + item_shift + acquiescence``, scaled by the person's
extremity and cut into ``likert_points`` categories, gives within-scale item correlations of
about 0.4–0.6 for loadings 0.68–0.8 (the usual range of personality item inter-correlations).
"""

from __future__ import annotations

from statistics import NormalDist

import numpy as np

from .population import ANSWER_FIXED, ANSWER_LATENT, ANSWER_UNIFORM, Block

__all__ = ["draw_answers", "careless_item_mask"]


def careless_item_mask(blk: Block) -> np.ndarray:
    """True where an item is answered after the person's careless onset, shape (n, n_likert)."""
    L = blk.spec.n_likert
    onset_item = np.floor(blk.onset * L)
    return (np.arange(L)[None, :] >= onset_item[:, None]) & (blk.careless[:, None] > 0)


def draw_answers(rng: np.random.Generator, blk: Block) -> np.ndarray:
    """Answers in 1..likert_points, -1 = skipped; shape (n, n_likert), int64."""
    spec = blk.spec
    n, L, k = blk.n, spec.n_likert, spec.likert_points
    scale_of = np.full(L, len(spec.scales))  # items outside any scale load on the extra trait
    for s, items in enumerate(spec.scales):
        scale_of[list(items)] = s
    sign = np.ones(L)
    sign[list(spec.reverse_keyed)] = -1.0
    item_shift = np.random.default_rng(L * 7919 + k).normal(0.15, 0.25, L)  # fixed per survey
    lam = blk.loading[:, None]
    z = (sign[None, :] * lam * blk.theta[:, scale_of] + np.sqrt(1 - lam**2) * rng.standard_normal((n, L))
         + item_shift[None, :] + blk.acquiescence[:, None])
    z *= blk.extremity[:, None]
    cuts = np.array([NormalDist().inv_cdf(q) for q in np.arange(1, k) / k]) * 1.15
    answers = 1 + np.searchsorted(cuts, z.ravel()).reshape(n, L)
    uniform = rng.integers(1, k + 1, size=(n, L))
    mode = blk.answer_mode[:, None]
    answers = np.where(mode == ANSWER_UNIFORM, uniform, answers)
    fixed_value = 1 + (blk.text_seed % k)  # a bot's hard-coded option
    answers = np.where(mode == ANSWER_FIXED, fixed_value[:, None], answers)
    # Attention checks: attentive people give the instructed answer with their own probability.
    checks = np.array(list(spec.attention_checks.items()), dtype=np.int64).reshape(-1, 2)
    if len(checks):
        passes = rng.random((n, len(checks))) < blk.attention_p[:, None]
        cols = checks[:, 0]
        answers[:, cols] = np.where(passes, checks[None, :, 1], answers[:, cols])
    answers = _careless(rng, blk, answers)
    skipped = rng.random((n, L)) < blk.skip_p[:, None]
    return np.where(skipped & (mode == ANSWER_LATENT), -1, answers).astype(np.int64)


def _careless(rng: np.random.Generator, blk: Block, answers: np.ndarray) -> np.ndarray:
    """Overwrite items after each careless person's onset with their pattern (Curran 2016 types)."""
    k = blk.spec.likert_points
    n, L = answers.shape
    after = careless_item_mask(blk)
    if not after.any():
        return answers
    kind = blk.careless[:, None]
    pos = np.arange(L)[None, :]
    onset_item = np.minimum(np.floor(blk.onset * L).astype(np.int64), L - 1)
    # Straightliners repeat the answer they gave last (or the midpoint when they start at item 0).
    last = answers[np.arange(n), np.maximum(onset_item - 1, 0)]
    straight = np.where(onset_item > 0, last, (k + 1) // 2)[:, None]
    random_ = rng.integers(1, k + 1, size=(n, L))
    # Patterns: zig-zag 1..k..1, alternation of two options, or a diagonal 1..k repeated.
    which = (blk.text_seed % 3)[:, None]
    zig = 1 + np.abs(((pos + blk.text_seed[:, None]) % (2 * k - 2)) - (k - 1))
    alt = np.where((pos % 2) == 0, 2, 4 if k >= 4 else k)
    diag = 1 + (pos + blk.text_seed[:, None]) % k
    pattern = np.where(which == 0, zig, np.where(which == 1, alt, diag))
    extreme = np.where(rng.random((n, L)) < np.where(answers > (k + 1) / 2, 0.85, 0.15), k, 1)
    # Speeders keep some signal but answer noisily: half of their items are near-random.
    speeder = np.where(rng.random((n, L)) < 0.5, random_, answers)
    table = {1: straight, 2: random_, 3: pattern, 4: extreme, 5: speeder}
    out = answers.copy()
    for code, values in table.items():
        sel = after & (kind == code)
        out = np.where(sel, np.broadcast_to(values, (n, L)), out)
    return out

"""Full-layout event levels equal the Ragged reductions they replace, bit for bit; selections of
events equal them to rounding (other summation order, one-pass variances)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import fraudscore
import fraudscore.features._segments as segments
from fraudscore.features._segments import (EventLevels, Selection, adjacent, both, lag_diff, nan_to_num, row_blocks,
                                           where_zero)
from fraudscore.features.extractor import FeatureExtractor
from fraudscore.features.pointer import _abs_turn
from fraudscore.io import read_batch
from fraudscore.ragged import Ragged

_VALUE = st.one_of(st.floats(-1e6, 1e6, allow_nan=False), st.just(np.nan), st.just(np.inf), st.just(0.0),
                   st.sampled_from([0.1, 0.2, 0.3, 1e-9, 123456.789]))


@st.composite
def ragged_values(draw):
    # Rows of 0-40 values: lengths around 8 and 128 cross numpy's pairwise-summation block sizes.
    lengths = draw(st.lists(st.integers(0, 40), min_size=1, max_size=12))
    values = draw(st.lists(_VALUE, min_size=sum(lengths), max_size=sum(lengths)))
    return np.array(values, dtype=np.float64), np.array(lengths, dtype=np.int64)


def _level(r: Ragged, k: int, values: np.ndarray) -> Ragged:
    """The level-k Ragged (k-th differences' layout) holding ``values``' level-k elements."""
    keep = np.concatenate([np.arange(r.offsets[i] + k, r.offsets[i + 1]) for i in range(len(r))] + [np.zeros(0, int)])
    return Ragged.from_lengths(values[keep.astype(np.int64)], np.maximum(r.lengths - k, 0))


def _same(a, b):
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(np.signbit(a), np.signbit(b))


@settings(max_examples=100, deadline=None)
@given(ragged_values(), st.integers(1, 3))
def test_level_sums_means_and_cvs_are_bit_for_bit_the_ragged_ones(data, k):
    values, lengths = data
    r = Ragged.from_lengths(values, lengths)
    lev = EventLevels(r.offsets)
    level = _level(r, k, values)
    with np.errstate(invalid="ignore", over="ignore"):
        _same(lev.sums(np.where(lev.valid(k), values, 0.0), k), level.sums())
        finite = np.where(np.isfinite(values), values, 0.5)  # means/stds read every value
        level_finite = _level(r, k, finite)
        mean, sd = lev.means_stds(finite, k)
        _same(mean, level_finite.means())
        _same(sd, level_finite.stds())
    assert np.array_equal(lev.level_lengths(k), level.lengths)
    np.testing.assert_array_equal(lev.counts(np.isfinite(values) & lev.valid(k)), level.counts(np.isfinite(level.values)))


@settings(max_examples=100, deadline=None)
@given(ragged_values(), st.integers(1, 3), st.data())
def test_level_counts_and_both_follow_the_mask(data, k, draw):
    values, lengths = data
    lev = EventLevels(Ragged.from_lengths(values, lengths).offsets)
    mask = np.array(draw.draw(st.lists(st.booleans(), min_size=len(values), max_size=len(values))), dtype=bool)
    np.testing.assert_array_equal(lev.level_counts(mask, k), lev.counts(mask & lev.valid(k)))
    np.testing.assert_array_equal(both(mask)[1:], mask[1:] & mask[:-1])


@given(st.lists(_VALUE | st.just(-np.inf) | st.just(-0.0) | st.just(np.finfo(float).max), max_size=30), st.data())
def test_bit_masked_selection_and_nan_to_num_are_numpys(values, draw):
    values = np.array(values, dtype=np.float64)
    mask = np.array(draw.draw(st.lists(st.booleans(), min_size=len(values), max_size=len(values))), dtype=bool)
    bits = np.ndarray.view
    assert np.array_equal(bits(where_zero(mask, values), np.int64), bits(np.where(mask, values, 0.0), np.int64))
    finite = np.isfinite(values) | ~mask  # |NaN| may differ in the NaN's bits; callers mask NaN out
    with np.errstate(invalid="ignore"):
        assert np.array_equal(bits(where_zero(mask & finite, values, absolute=True), np.int64),
                              bits(np.where(mask & finite, np.abs(values), 0.0), np.int64))
    assert np.array_equal(bits(nan_to_num(values), np.int64), bits(np.nan_to_num(values), np.int64))


@settings(max_examples=100, deadline=None)
@given(ragged_values())
def test_lag_differences_at_valid_positions_are_ragged_diffs(data):
    values, lengths = data
    r = Ragged.from_lengths(values, lengths)
    lev = EventLevels(r.offsets)
    with np.errstate(invalid="ignore"):
        np.testing.assert_array_equal(lag_diff(values)[lev.valid(1)], r.diff().values)
        np.testing.assert_array_equal(lag_diff(lag_diff(values))[lev.valid(2)], r.diff().diff().values)


@given(st.lists(st.integers(0, 50), min_size=1, max_size=60), st.integers(1, 100))
def test_row_blocks_cover_every_row_once_in_order(lengths, block):
    offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
    blocks = row_blocks(offsets, block)
    assert blocks[0][0] == 0 and blocks[-1][1] == len(lengths)
    assert all(a < b for a, b in blocks) and all(blocks[i][1] == blocks[i + 1][0] for i in range(len(blocks) - 1))


def test_absolute_turn_is_the_wrapped_heading_change():
    # The remainder form rounds each turn to a multiple of ulp(pi) = 4.4e-16 (it adds pi first);
    # min(|d|, 2pi - |d|) does not: they agree to that rounding, and non-turns are 0.
    rng = np.random.default_rng(0)
    edges = np.array([-np.pi, np.pi, 0.0, -0.0, np.nextafter(np.pi, 0), np.nextafter(-np.pi, 0), 5e-324])
    h1 = np.concatenate([rng.uniform(-np.pi, np.pi, 200_000), np.repeat(edges, len(edges))])
    h2 = np.concatenate([rng.uniform(-np.pi, np.pi, 200_000), np.tile(edges, len(edges))])
    grid = np.arctan2(*rng.integers(-4, 5, (2, 2, 50_000)).astype(float))  # exact multiples of pi/4 and their neighbours
    for a, b in ((h1, h2), (grid[0], grid[1])):
        heading = np.empty(2 * len(a))
        heading[0::2], heading[1::2] = a, b
        turned = np.arange(len(heading)) % 2 == 1
        turn = _abs_turn(heading, turned)
        np.testing.assert_allclose(turn[1::2], np.abs((b - a + np.pi) % (2 * np.pi) - np.pi), rtol=0, atol=1e-15)
        assert not turn[0::2].any()


@st.composite
def selected_values(draw):
    """Non-negative ragged values (as the pointer's speeds and intervals) and a selection of them."""
    values, lengths = draw(ragged_values())
    values = np.abs(values)
    pick = np.array(draw(st.lists(st.booleans(), min_size=len(values), max_size=len(values))), dtype=bool)
    pick &= np.isfinite(values)
    return values, lengths, pick


@settings(max_examples=100, deadline=None)
@given(selected_values(), st.data())
def test_selection_statistics_are_the_ragged_ones_of_the_selected_values(data, draw):
    values, lengths, pick = data
    r = Ragged.from_lengths(values, lengths)
    sel = Selection(pick.nonzero()[0], r.offsets)
    picked = values[pick]
    nan_filled = np.where(pick, values, np.nan)
    np.testing.assert_array_equal(sel.lengths, r.counts(pick))
    mask = np.array(draw.draw(st.lists(st.booleans(), min_size=len(picked), max_size=len(picked))), dtype=bool)
    both_picked = pick.copy()
    both_picked[pick] = mask
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        mean, cv = sel.mean_cv(picked)
        # Another summation order (and a one-pass variance where the CV is over 0.1, its error
        # about eps / cv**2): relative differences of a few ulps; a CV of values equal but for
        # rounding is rounding noise itself.
        np.testing.assert_allclose(mean, r.nanmeans(nan_filled), rtol=1e-13, atol=0)
        np.testing.assert_allclose(cv, r.nancvs(nan_filled), rtol=1e-12, atol=1e-13)
        np.testing.assert_allclose(sel.masked_mean(picked, mask), r.nanmeans(np.where(both_picked, values, np.nan)),
                                   rtol=1e-13, atol=0)
    np.testing.assert_array_equal(sel.counts(mask), r.counts(both_picked))
    np.testing.assert_array_equal(sel.sub(mask).lengths, r.counts(both_picked))
    positions = pick.nonzero()[0]
    np.testing.assert_array_equal(adjacent(positions)[1:], positions[1:] == positions[:-1] + 1)


@pytest.fixture(scope="module")
def simulated():
    sim = fraudscore.simulate(400, seed=8, output="arrow")
    return read_batch(sim.data)


def test_pointer_features_do_not_depend_on_the_block_size(simulated, monkeypatch):
    fx = FeatureExtractor(families=["pointer"]).fit(simulated)
    whole = fx.transform(simulated)
    monkeypatch.setattr(segments, "BLOCK_EVENTS", 97)  # many blocks, some rows longer than a block
    assert len(row_blocks(simulated.column("telemetry.pointer.t").offsets)) > 100
    np.testing.assert_array_equal(fx.transform(simulated), whole)


def _lexsort_median(ragged: Ragged, values: np.ndarray) -> np.ndarray:
    """The original per-row median: one lexsort by (row, value), then the middle of each row."""
    order = np.lexsort((values, ragged.row_ids()))
    sorted_values = values[order]
    lengths = ragged.lengths
    out = np.full(len(ragged), np.nan)
    has = lengths > 0
    lo = ragged.offsets[:-1] + (lengths - 1) // 2
    hi = ragged.offsets[:-1] + lengths // 2
    out[has] = (sorted_values[lo[has]] + sorted_values[hi[has]]) / 2.0
    return out


@settings(max_examples=100, deadline=None)
@given(st.lists(st.integers(0, 70), min_size=1, max_size=15), st.data())
def test_bucketed_median_equals_the_lexsort_median(lengths, data):
    from fraudscore.features.timing import _segment_median

    values = np.array(data.draw(st.lists(st.sampled_from([0.0, 1.0, 250.5, 999.0, 1000.0, 3e6, 86_400_000.0])
                                         | st.floats(0, 86_400_000), min_size=sum(lengths), max_size=sum(lengths))))
    r = Ragged.from_lengths(values, np.array(lengths, dtype=np.int64))
    np.testing.assert_array_equal(_segment_median(r, values), _lexsort_median(r, values))


@settings(max_examples=100, deadline=None)
@given(st.integers(1, 40), st.lists(st.booleans(), min_size=2, max_size=12), st.data())
def test_median_of_rows_of_one_length_between_empty_rows_equals_the_lexsort_median(m, answered, data):
    """The dense path (every row with values has the same number, as in a one-survey batch)."""
    from fraudscore.features.timing import _segment_median

    lengths = np.where(answered, m, 0).astype(np.int64)
    values = np.array(data.draw(st.lists(st.floats(0, 86_400_000) | st.sampled_from([0.0, 1000.0, 3e6]),
                                         min_size=int(lengths.sum()), max_size=int(lengths.sum()))))
    r = Ragged.from_lengths(values, lengths)
    np.testing.assert_array_equal(_segment_median(r, values), _lexsort_median(r, values))

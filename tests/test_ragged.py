"""Ragged column operations against hand-computed cases."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fraudscore.ragged import Ragged


def _r(rows):
    return Ragged.from_lengths(np.array([v for r in rows for v in r], dtype=float), np.array([len(r) for r in rows]))


def test_lengths_row_ids_and_positions():
    r = _r([[1, 2], [], [3, 4, 5]])
    assert r.lengths.tolist() == [2, 0, 3]
    assert r.row_ids().tolist() == [0, 0, 2, 2, 2]
    assert r.position().tolist() == [0, 1, 0, 1, 2]
    assert r.row(2).tolist() == [3, 4, 5]


def test_truncate_keeps_the_first_items_and_reports_rows():
    r, cut = _r([[1, 2, 3], [4], [5, 6, 7, 8]]).truncate(2)
    assert r.to_lists() == [[1, 2], [4], [5, 6]]
    assert cut.tolist() == [True, False, True]


def test_clear_rows_empties_only_those_rows_including_trailing_empty_rows():
    r = _r([[1], [2, 3], [], [4]]).clear_rows(np.array([False, True, False, True]))
    assert r.to_lists() == [[1], [], [], []]


def test_unsorted_rows_ignores_drops_across_row_boundaries():
    r = _r([[1, 5], [2, 3], [9, 4], [7]])
    assert r.unsorted_rows().tolist() == [False, False, True, False]


def test_sort_order_sorts_within_rows_and_keeps_rows_in_place():
    r = _r([[3, 1, 2], [9], [5, 4]])
    assert Ragged(r.values[r.sort_order()], r.offsets).to_lists() == [[1, 2, 3], [9], [4, 5]]


def test_take_reorders_rows():
    assert _r([[1], [2, 3], []]).take(np.array([2, 1, 1, 0])).to_lists() == [[], [2, 3], [2, 3], [1]]


def test_invalid_offsets_are_rejected():
    with pytest.raises(ValueError):
        Ragged(np.zeros(3), np.array([0, 2]))
    with pytest.raises(ValueError):
        Ragged(np.zeros(3), np.array([1, 3]))


def test_segment_reductions_match_per_row_numpy():
    rows = [[1.0, 4.0, 2.0], [], [5.0], [3.0, 3.0], []]
    r = _r(rows)
    for method, fn in [("sums", np.sum), ("means", np.mean), ("maxs", np.max), ("mins", np.min),
                       ("stds", np.std), ("firsts", lambda a: a[0]), ("lasts", lambda a: a[-1])]:
        got = getattr(r, method)()
        for i, row in enumerate(rows):
            if row:
                assert got[i] == pytest.approx(fn(np.array(row))), (method, i)
            else:
                assert got[i] == 0 if method == "sums" else np.isnan(got[i]), (method, i)
    assert r.stds(ddof=1)[2] != r.stds(ddof=1)[2]  # one value: sample SD undefined
    assert r.counts(r.values > 2).tolist() == [1, 0, 1, 2, 0]


def test_diff_stays_inside_rows():
    r = _r([[1.0, 4.0, 2.0], [], [5.0], [3.0, 3.5], [7.0]])
    assert r.diff().to_lists() == [[3.0, -2.0], [], [], [0.5], []]
    assert _r([[], []]).diff().to_lists() == [[], []]


def test_stds_keep_precision_on_large_offsets():
    r = _r([[1e12 + 1, 1e12 + 2, 1e12 + 3]])
    assert r.stds()[0] == pytest.approx(np.std([1.0, 2.0, 3.0]))


@settings(max_examples=200, deadline=None)
@given(st.lists(st.lists(st.one_of(st.integers(-10**6, 10**6).map(float),
                                   st.floats(-1e6, 1e6, allow_nan=False, allow_subnormal=False)), max_size=12),
                max_size=8),
       st.sampled_from([0.0, 1e12, -3e9]), st.integers(0, 1))
def test_means_stds_match_two_pass_numpy(rows, offset, ddof):
    # One-pass sums with a two-pass redo where the spread cancels: numpy's two-pass answer to
    # rounding, on small spreads over large offsets (epoch times) and constant rows too.
    rows = [[x + offset for x in row] for row in rows]
    mean, sd = _r(rows).means_stds(ddof=ddof)
    for i, row in enumerate(rows):
        a = np.array(row)
        if len(row) == 0:
            assert np.isnan(mean[i]) and np.isnan(sd[i])
            continue
        assert mean[i] == pytest.approx(a.mean(), rel=1e-12, abs=1e-9)
        if len(row) <= ddof:
            assert np.isnan(sd[i])
        else:
            assert sd[i] == pytest.approx(np.std(a, ddof=ddof), rel=1e-6, abs=1e-13 * max(1.0, np.abs(a).max()))


def test_means_stds_constant_whole_numbers_give_exactly_zero():
    mean, sd = _r([[100.0] * 7, [53.0, 53.0], [1e12 + 5] * 3]).means_stds()
    assert sd.tolist() == [0.0, 0.0, 0.0] and mean.tolist() == [100.0, 53.0, 1e12 + 5]


def test_means_stds_equal_means_and_two_pass_stds_to_rounding():
    rng = np.random.default_rng(3)
    r = Ragged.from_lengths(rng.normal(1e4, 300, 5_000).round(), rng.multinomial(5_000, np.ones(400) / 400))
    mean, sd = r.means_stds(ddof=1)
    np.testing.assert_array_equal(np.isnan(sd), np.isnan(r.stds(ddof=1)))
    np.testing.assert_allclose(mean, r.means(), rtol=1e-14)
    np.testing.assert_allclose(sd, r.stds(ddof=1), rtol=1e-9)

"""Careless indices on small cases checked on paper, and against a plain-loop reference.

The reference functions below follow the careless R source line by line, one person at a
time, written for clarity rather than speed; hypothesis checks the vectorized code agrees.
"""

from __future__ import annotations

import itertools
import math
import statistics

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from fraudscore.features import careless
from fraudscore.features._careless_stats import pairwise_moments
from fraudscore.ragged import Ragged
from fraudscore.survey import SurveySpec

nan = np.nan


# ---- hand-computed cases ---------------------------------------------------------------------

HAND = np.array([
    [3, 3, 3, 3],
    [1, 2, 1, 2],
    [1, 1, 5, 5],
    [nan, 4, 4, nan],
])


def test_longstring_by_hand_with_na_as_its_own_run():
    longest, average = careless.longstring(HAND)
    np.testing.assert_array_equal(longest, [4, 1, 2, 2])
    # Row 4: runs NA | 4 4 | NA -> 3 runs over 4 items.
    np.testing.assert_allclose(average, [4, 1, 2, 4 / 3])


def test_irv_by_hand_uses_the_n_minus_1_sd_of_answered_items():
    np.testing.assert_allclose(careless.irv(HAND), [0, math.sqrt(1 / 3), math.sqrt(16 / 3), 0])


def test_split_irv_by_hand():
    x = np.array([[1, 3, 2, 2, 5, 1]], dtype=float)
    # cut(1:6, 3) -> items {1,2}, {3,4}, {5,6}
    np.testing.assert_allclose(careless.split_irv(x, 3), [[math.sqrt(2), 0, math.sqrt(8)]])


def test_evenodd_by_hand_sign_of_careless_1_2_1():
    x = np.array([
        [1, 2, 4, 5],   # even means (2, 5), odd (1, 4): r = 1 -> consistent -> -1
        [1, 5, 5, 1],   # even (5, 1), odd (1, 5): r = -1 -> stepped below -1, floored -> +1
        [3, 3, 3, 3],   # no variance across factors -> NaN
        [1, 2, nan, nan],  # one factor left -> NaN
    ])
    np.testing.assert_array_equal(careless.evenodd(x, [2, 2]), [-1, 1, nan, nan])


def test_evenodd_by_hand_spearman_brown_step():
    # Three factors of two items: even means (2, 3, 5), odd means (1, 4, 4).
    x = np.array([[1, 2, 4, 3, 4, 5]], dtype=float)
    r = np.corrcoef([2, 3, 5], [1, 4, 4])[0, 1]
    np.testing.assert_allclose(careless.evenodd(x, [2, 2, 2]), [-(2 * r / (1 + r))])


def test_mahad_by_hand_uncorrelated_items():
    # Means (2, 1); deviations (-1,0) (0,1) (1,0) (0,-1): variances 2/3, covariance 0.
    x = np.array([[1, 1], [2, 2], [3, 1], [2, 0]], dtype=float)
    np.testing.assert_allclose(careless.mahad(x), [1.5, 1.5, 1.5, 1.5])
    ref = careless.CarelessReference().fit(x)
    # A skipped item counts as a zero deviation (psych::outlier sums over answered items).
    np.testing.assert_allclose(careless.mahad(np.array([[4, nan], [nan, nan]]), ref.mean_, ref.precision_),
                               [6.0, nan])


def test_psychsyn_by_hand_with_given_pairs():
    pairs = np.array([[1, 0], [3, 2], [5, 4]])
    x = np.array([
        [1, 2, 3, 4, 5, 6],      # (2, 4, 6) vs (1, 3, 5): r = 1
        [1, 5, 3, 3, 5, 1],      # (5, 3, 1) vs (1, 3, 5): r = -1
        [1, 2, 3, 4, nan, 6],    # two complete pairs: careless needs more than two -> NaN
        [2, 2, 2, 2, 2, 2],      # no variance -> NaN
    ])
    np.testing.assert_array_equal(careless.psychsyn(x, pairs), [1, -1, nan, nan])
    np.testing.assert_array_equal(careless.psychant(x, pairs), [1, -1, nan, nan])


def test_person_total_by_hand():
    x = np.array([[2, 4, 6], [3, 2, 1], [2, 2, 2], [1, nan, 3]], dtype=float)
    np.testing.assert_array_equal(careless.person_total(x, np.array([1.0, 2.0, 3.0])), [1, -1, nan, 1])


def test_attention_check_skipped_counts_as_failure_and_no_checks_is_unknown():
    x = np.array([[5, 1], [4, nan], [5, 1]], dtype=float)
    np.testing.assert_array_equal(careless.attention_check_failures(x, {0: 5}), [0, 1, 0])
    np.testing.assert_array_equal(careless.attention_check_failures(x, {0: 5, 1: 1}), [0, 2, 0])
    np.testing.assert_array_equal(careless.attention_check_failures(x, {}), [nan, nan, nan])


def test_honeypot_filled_ignores_none_and_blank():
    honeypot = np.array([None, "", "  ", "x", "http://spam"], dtype=object)
    np.testing.assert_array_equal(careless.honeypot_filled(honeypot), [0, 0, 0, 1, 1])
    assert careless.honeypot_filled(np.array([], dtype=object)).shape == (0,)


def test_likert_matrix_pads_and_truncates():
    likert = Ragged.from_lengths(np.array([1, 2, 3, 4, 5, nan, 1, 2, 3, 4, 5, 5, 5]), np.array([3, 0, 2, 8]))
    np.testing.assert_array_equal(careless.likert_matrix(likert, 4), [
        [1, 2, 3, nan], [nan] * 4, [4, 5, nan, nan], [nan, 1, 2, 3]])

    # Every row complete (the usual case) takes the reshape route: same matrix, its own memory.
    complete = Ragged.from_lengths(np.array([1, 2, nan, 4, 5, 3.0]), np.array([3, 3]))
    matrix = careless.likert_matrix(complete, 3)
    np.testing.assert_array_equal(matrix, [[1, 2, nan], [4, 5, 3]])
    matrix[0, 0] = 9
    assert complete.values[0] == 1


def test_fitted_evenodd_recodes_reverse_keyed_items_and_follows_scale_order():
    spec = SurveySpec("s", likert_points=5, n_likert=4, scales=((0, 2), (1, 3)), reverse_keyed=(2, 3))
    # Scale A = items 0 and 2 (2 reverse-keyed), scale B = items 1 and 3 (3 reverse-keyed).
    x = np.array([[1, 2, 5, 4], [5, 4, 1, 2]], dtype=float)
    ref = careless.CarelessReference(num_split=0).fit(np.vstack([x, x[::-1] * 0 + 3]), spec)
    # Keyed: row 1 -> A (1, 1), B (2, 2); odd means (1, 2), even means (1, 2): r = 1 -> -1.
    np.testing.assert_array_equal(ref.transform(x)["evenodd"], [-1, -1])


# ---- plain-loop reference (careless' R code, one person at a time) ---------------------------

def ref_longstring(row):
    # R's rle(): each NA is a run of its own (NA == NA is not TRUE).
    keys = [f"na{j}" if math.isnan(v) else float(v) for j, v in enumerate(row)]
    runs = [len(list(g)) for _, g in itertools.groupby(keys)]
    return max(runs), len(row) / len(runs)


def ref_sd(values):
    values = [v for v in values if not math.isnan(v)]
    return statistics.stdev(values) if len(values) >= 2 else nan


def ref_cor(a, b, min_pairs):
    pairs = [(u, v) for u, v in zip(a, b) if not (math.isnan(u) or math.isnan(v))]
    if len(pairs) < min_pairs:
        return nan
    u, v = np.array(pairs).T
    if u.min() == u.max() or v.min() == v.max():
        return nan
    du, dv = u - u.mean(), v - v.mean()
    return float(np.clip((du * dv).sum() / math.sqrt((du * du).sum() * (dv * dv).sum()), -1, 1))


def ref_evenodd(row, factors):
    even, odd, start = [], [], 0
    for length in factors:
        items = row[start:start + length]
        evens = [v for k, v in enumerate(items) if k % 2 == 1 and not math.isnan(v)]
        odds = [v for k, v in enumerate(items) if k % 2 == 0 and not math.isnan(v)]
        even.append(statistics.fmean(evens) if evens else nan)
        odd.append(statistics.fmean(odds) if odds else nan)
        start += length
    r = ref_cor(even, odd, 2)
    if math.isnan(r):
        return nan
    stepped = -1.0 if r == -1 else 2 * r / (1 + r)
    return -max(stepped, -1.0)


def ref_pairs(x, critval, antonyms):
    p = x.shape[1]
    found = []
    for j in range(p):          # column-major, as R's as.table() flattens
        for i in range(j + 1, p):
            r = ref_cor(x[:, i], x[:, j], 2)
            if not math.isnan(r) and ((r < -critval) if antonyms else (r > critval)):
                found.append((i, j))
    return found


def ref_psychsyn(row, pairs):
    return ref_cor([row[i] for i, _ in pairs], [row[j] for _, j in pairs], 3)


likert_values = st.one_of(st.just(nan), st.integers(1, 5).map(float))


@st.composite
def matrices(draw, min_rows=1, max_rows=25, min_items=1, max_items=10):
    n = draw(st.integers(min_rows, max_rows))
    p = draw(st.integers(min_items, max_items))
    return draw(arrays(np.float64, (n, p), elements=st.one_of(likert_values, st.integers(1, 5).map(float))))


@given(matrices())
def test_longstring_and_irv_agree_with_the_loop_reference(x):
    longest, average = careless.longstring(x)
    expected = np.array([ref_longstring(list(row)) for row in x])
    np.testing.assert_array_equal(longest, expected[:, 0])
    np.testing.assert_allclose(average, expected[:, 1], rtol=1e-12)
    np.testing.assert_allclose(careless.irv(x), [ref_sd(row) for row in x], rtol=1e-10, atol=1e-12,
                               equal_nan=True)


@given(matrices(min_items=4), st.data())
def test_evenodd_agrees_with_the_loop_reference(x, data):
    p = x.shape[1]
    n_factors = data.draw(st.integers(2, min(4, p)))
    cuts = sorted(data.draw(st.lists(st.integers(1, p - 1), min_size=n_factors - 1, max_size=n_factors - 1,
                                     unique=True)))
    factors = np.diff([0, *cuts, p]).tolist()
    np.testing.assert_allclose(careless.evenodd(x, factors), [ref_evenodd(list(row), factors) for row in x],
                               rtol=1e-9, atol=1e-9, equal_nan=True)


@given(matrices(min_rows=3, min_items=2))
def test_psychsyn_pairs_and_scores_agree_with_the_loop_reference(x):
    for antonyms in (False, True):
        pairs = careless.psychometric_pairs(x, 0.6, antonyms=antonyms)
        expected = ref_pairs(x, 0.6, antonyms)
        # Correlations within rounding of the critical value may fall either side; skip those.
        _, _, corr = pairwise_moments(x)
        if np.any(np.abs(np.abs(corr[np.tril_indices(x.shape[1], -1)]) - 0.6) < 1e-9):
            continue
        assert [tuple(p) for p in pairs.tolist()] == expected
        scores = careless.psychant(x, pairs) if antonyms else careless.psychsyn(x, pairs)
        np.testing.assert_allclose(scores, [ref_psychsyn(list(row), expected) if expected else nan for row in x],
                                   rtol=1e-9, atol=1e-9, equal_nan=True)


@given(matrices(min_rows=3, min_items=2, max_items=6))
def test_mahad_agrees_with_a_loop_over_answered_items(x):
    ref = careless.CarelessReference().fit(x)
    expected = []
    for row in x:
        answered = [j for j in range(len(row)) if not math.isnan(row[j])]
        if not answered:
            expected.append(nan)
            continue
        total = 0.0
        for i in answered:
            for j in answered:
                total += (row[i] - ref.mean_[i]) * ref.precision_[i, j] * (row[j] - ref.mean_[j])
        expected.append(total)
    np.testing.assert_allclose(careless.mahad(x), expected, rtol=1e-8, atol=1e-8, equal_nan=True)


@pytest.mark.parametrize("bad", [[5], [3, 3, 3]])
def test_evenodd_rejects_one_factor_or_too_many_items(bad):
    with pytest.raises(ValueError):
        careless.evenodd(np.ones((2, 5)), bad)

"""Invariants of the careless indices: finite-or-NaN, row independence, fitted row-by-row
equals fitted batch, degenerate inputs give NaN or defined values, and nothing warns."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from fraudscore.features import careless
from fraudscore.survey import SurveySpec

nan = np.nan

cells = st.one_of(st.just(nan), st.integers(1, 7).map(float), st.integers(1, 7).map(float))


@st.composite
def surveys(draw, min_rows=1, max_rows=30):
    """A Likert matrix and a spec with 2-3 scales, a reverse-keyed item and an attention check."""
    n = draw(st.integers(min_rows, max_rows))
    p = draw(st.integers(4, 12))
    x = draw(arrays(np.float64, (n, p), elements=cells))
    cut = draw(st.integers(2, p - 2))
    spec = SurveySpec("s", likert_points=7, n_likert=p, scales=(tuple(range(cut)), tuple(range(cut, p))),
                      reverse_keyed=(p - 1,), attention_checks={0: 4})
    return x, spec


def _all_indices(x, spec, reference=None):
    reference = reference or careless.CarelessReference().fit(x, spec)
    return reference.transform(x)


def _quietly(fn, *args):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = fn(*args)
    assert not caught, [str(w.message) for w in caught]
    return out


@given(surveys())
def test_every_index_is_finite_or_nan_and_nothing_warns(survey):
    x, spec = survey
    out = _quietly(_all_indices, x, spec)
    for name, column in out.items():
        assert column.shape == (x.shape[0],) and column.dtype == np.float64, name
        assert not np.isinf(column).any(), name
    for name in ("evenodd", "psychsyn", "psychant", "person_total"):
        values = out[name][~np.isnan(out[name])]
        assert np.all(np.abs(values) <= 1.0), name


@given(surveys(min_rows=2), st.randoms(use_true_random=False))
def test_row_order_does_not_change_a_rows_value(survey, random):
    x, spec = survey
    # An item correlation that is exactly the critical value in exact arithmetic (e.g. 0.6 from a
    # few Likert answers) lands on either side of it by one ulp depending on the summation order,
    # so the synonym/antonym pairs, and R careless's as well, depend on row order there.
    _, _, correlation = careless.pairwise_moments(x)
    assume(not np.any(np.abs(np.abs(correlation) - careless.CRITICAL_VALUE) < 1e-9))
    order = np.array(random.sample(range(len(x)), len(x)))
    before = _all_indices(x, spec)
    after = _all_indices(x[order], spec)  # batch mode: the reference is refitted on the shuffled rows
    for name in before:
        np.testing.assert_allclose(after[name], before[name][order], rtol=1e-9, atol=1e-9, equal_nan=True,
                                   err_msg=name)


@given(surveys(min_rows=3), surveys(min_rows=1, max_rows=6))
def test_fitted_row_by_row_equals_fitted_batch(calibration, new):
    (x_fit, spec), (x_new, _) = calibration, new
    p = min(x_fit.shape[1], x_new.shape[1])
    spec = SurveySpec("s", likert_points=7, n_likert=p, scales=((0, 1), tuple(range(2, p))), reverse_keyed=(1,),
                      attention_checks={0: 4})
    reference = careless.CarelessReference().fit(x_fit[:, :p], spec)
    batch = reference.transform(x_new[:, :p])
    for i in range(len(x_new)):
        single = reference.transform(x_new[i:i + 1, :p])
        for name in batch:
            np.testing.assert_allclose(single[name], batch[name][i:i + 1], rtol=1e-12, atol=1e-12, equal_nan=True,
                                       err_msg=name)


@pytest.mark.parametrize("rows", [
    np.full((5, 6), nan),                       # nobody answered
    np.full((5, 6), 3.0),                       # everyone straight-lines
    np.array([[1.0, 2, 3, 4, 5, 6]]),           # a single submission
    np.array([[1.0, nan, nan, nan, nan, nan], [nan] * 6, [2.0, 2, 2, 2, 2, 2]]),
])
def test_degenerate_batches_give_nan_or_defined_values_quietly(rows):
    spec = SurveySpec("s", likert_points=7, n_likert=6, scales=((0, 1, 2), (3, 4, 5)), attention_checks={2: 3})
    out = _quietly(careless.careless_indices, rows, spec)
    for name, column in out.items():
        assert not np.isinf(column).any(), name
    all_skipped = np.isnan(rows).all(axis=1)
    # R's rle(): a fully skipped row is six runs of one.
    np.testing.assert_array_equal(out["longstring_max"][all_skipped], 1.0)
    for name in ("irv", "mahad", "evenodd", "psychsyn", "psychant", "person_total"):
        assert np.isnan(out[name][all_skipped]).all(), name
    np.testing.assert_array_equal(out["attention_check_failures"][all_skipped], 1.0)


def test_one_item_survey():
    x = np.array([[3.0], [4.0], [nan]])
    out = _quietly(careless.careless_indices, x, None)
    np.testing.assert_array_equal(out["longstring_max"], [1, 1, 1])
    assert np.isnan(out["irv"]).all() and np.isnan(out["person_total"]).all()
    np.testing.assert_allclose(out["mahad"], [0.5, 0.5, nan])  # z^2 / var with var = 0.5
    assert "irv_split_1" not in out


def test_empty_batch_and_unfitted_reference():
    out = _quietly(careless.careless_indices, np.zeros((0, 5)), None)
    assert all(column.shape == (0,) for column in out.values())
    with pytest.raises(RuntimeError):
        careless.CarelessReference().transform(np.zeros((1, 5)))


def test_fitted_reference_rejects_a_matrix_of_another_width():
    reference = careless.CarelessReference().fit(np.ones((3, 5)))
    with pytest.raises(ValueError):
        reference.transform(np.ones((1, 4)))


@given(st.integers(1, 40), st.integers(3, 14), st.integers(2, 3), st.integers(0, 2**32 - 1))
def test_split_irv_equals_the_sd_of_each_chunk(n, p, num_split, seed):
    # The complete-matrix route (two matrix products) against row_sd per chunk, with constant
    # chunks (the cancelling rows it redoes) and one-item chunks mixed in.
    rng = np.random.default_rng(seed)
    x = rng.integers(1, 8, (n, p)).astype(float)
    x[rng.random(n) < 0.3] = 4.0
    bounds = careless._split_bounds(p, num_split)
    want = np.column_stack([careless.row_sd(np.ascontiguousarray(x[:, a:b])) for a, b in zip(bounds[:-1], bounds[1:])])
    np.testing.assert_array_equal(careless.split_irv(x, num_split), want)
    x[0, 0] = nan  # any skipped item: the per-chunk route
    want = np.column_stack([careless.row_sd(np.ascontiguousarray(x[:, a:b])) for a, b in zip(bounds[:-1], bounds[1:])])
    np.testing.assert_array_equal(careless.split_irv(x, num_split), want)


@given(arrays(np.float64, st.tuples(st.integers(1, 12), st.integers(1, 9)), elements=cells))
def test_row_sd_of_a_row_does_not_depend_on_the_other_rows(x):
    # Rows with a skipped item take another formula; the complete rows beside them must not.
    whole = careless.row_sd(x)
    for i in range(len(x)):
        np.testing.assert_array_equal(careless.row_sd(x[i:i + 1]), whole[i:i + 1])

"""Batch mode reproduces R careless 1.2.x to 1e-9 on the values R computed.

The fixtures were written by ``r_reference/make_careless_fixtures.R`` (R 4.2, psych 2.2.9);
CI has no R and only reads the JSON.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from fraudscore.features import careless
from fraudscore.features._careless_stats import r_cut_labels

FIXTURES = json.loads((Path(__file__).parent / "r_reference" / "careless_fixtures.json").read_text())
CASES = sorted(FIXTURES["cases"])
TOL = dict(rtol=0, atol=1e-9, equal_nan=True)


def _vector(values) -> np.ndarray:
    return np.array([np.nan if v is None else v for v in values], dtype=np.float64)


def _matrix(rows) -> np.ndarray:
    return np.array([[np.nan if v is None else v for v in row] for row in rows], dtype=np.float64)


@pytest.fixture(params=CASES)
def case(request):
    c = FIXTURES["cases"][request.param]
    return {**c, "x": _matrix(c["x"])}


def test_longstring_max_and_average_match_r(case):
    longest, average = careless.longstring(case["x"])
    np.testing.assert_allclose(longest, _vector(case["longstr"]), **TOL)
    np.testing.assert_allclose(average, _vector(case["avgstr"]), **TOL)


def test_irv_matches_r(case):
    np.testing.assert_allclose(careless.irv(case["x"]), _vector(case["irv"]), **TOL)


@pytest.mark.parametrize("num_split", [3, 4])
def test_split_irv_matches_r(case, num_split):
    np.testing.assert_allclose(careless.split_irv(case["x"], num_split), _matrix(case[f"irv_split{num_split}"]), **TOL)


def test_mahad_matches_r(case):
    np.testing.assert_allclose(careless.mahad(case["x"]), _vector(case["mahad"]), rtol=1e-9, atol=1e-9,
                               equal_nan=True)


def test_evenodd_matches_r(case):
    np.testing.assert_allclose(careless.evenodd(case["x"], case["factors"]), _vector(case["evenodd"]), **TOL)


@pytest.mark.parametrize("kind", ["synonym", "antonym"])
def test_psychometric_pairs_match_r_in_r_order(case, kind):
    pairs = careless.psychometric_pairs(case["x"], 0.60, antonyms=kind == "antonym")
    expected = np.array(case[f"{kind}_item_pairs"], dtype=np.int64).reshape(-1, 2)
    np.testing.assert_array_equal(pairs, expected)


def test_psychsyn_and_psychant_match_r_without_resampling(case):
    np.testing.assert_allclose(careless.psychsyn(case["x"]), _vector(case["psychsyn"]), **TOL)
    np.testing.assert_allclose(careless.psychant(case["x"]), _vector(case["psychant"]), **TOL)


def test_fitted_on_the_batch_is_batch_mode(case):
    """CarelessReference fitted on a batch and applied to it gives careless' values."""
    ref = careless.CarelessReference(num_split=3).fit(case["x"])
    out = ref.transform(case["x"])
    np.testing.assert_allclose(out["mahad"], _vector(case["mahad"]), rtol=1e-9, atol=1e-9, equal_nan=True)
    np.testing.assert_allclose(out["psychsyn"], _vector(case["psychsyn"]), **TOL)
    np.testing.assert_allclose(out["psychant"], _vector(case["psychant"]), **TOL)
    np.testing.assert_allclose(out["irv_split_2"], _matrix(case["irv_split3"])[:, 1], **TOL)


def test_cut_labels_match_r_on_a_grid():
    for entry in FIXTURES["cut_labels"]:
        np.testing.assert_array_equal(r_cut_labels(entry["n_items"], entry["n_chunks"]), entry["labels"],
                                      err_msg=f"{entry['n_items']} items in {entry['n_chunks']} chunks")

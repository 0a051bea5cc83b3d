"""Reason codes: every feature feeds exactly one code; sums and top codes on a hand-made case."""

from __future__ import annotations

import numpy as np
import pytest

from fraudscore.features.registry import features
from fraudscore.reasons import REASONS, explain, reason_matrix, reason_of
from fraudscore.results import FAMILIES


def test_every_feature_feeds_exactly_one_reason_and_every_reason_has_features():
    names = [f.name for f in features()]
    used = {reason_of(n).code for n in names}
    assert used == {r.code for r in REASONS}
    assert {r.family for r in REASONS} == set(FAMILIES)


def test_unknown_features_are_refused():
    with pytest.raises(LookupError):
        reason_of("astrology.moon_phase")


def test_explain_sums_per_code_and_family_and_orders_the_top_codes():
    names = ["device.webdriver", "network.hosting", "network.private_ip", "timing.duration_s"]
    maps = reason_matrix(names)
    contributions = np.array([
        [2.0, 0.5, 0.25, -1.0, 0.3],   # last column: bias, ignored
        [0.0, 0.0, 0.0, 0.0, 0.3],
        [0.01, 0.0, 0.0, 0.8, 0.3],
    ])
    e = explain(contributions, maps, top=3)
    assert e.row(0) == [("AUTOMATION_FLAG", 2.0), ("IP_HOSTING", 0.75)]
    assert e.row(1) == []
    assert e.row(2) == [("SPEEDING", 0.8)]  # 0.01 is below the minimum worth reporting
    auto, net, careless = FAMILIES.index("automation"), FAMILIES.index("network"), FAMILIES.index("careless")
    assert e.families[0, auto] == 2.0 and e.families[0, net] == 0.75 and e.families[0, careless] == -1.0
    assert e.offsets.tolist() == [0, 2, 2, 3]


def test_a_rows_sums_do_not_depend_on_the_rest_of_the_batch():
    """Per-code and per-family sums equal the matrix products, and a row explained alone gets
    bit-for-bit the values it gets in a large batch (BLAS products differ in the last bit)."""
    from fraudscore.features.registry import features

    names = [f.name for f in features()]
    maps = reason_matrix(names)
    rng = np.random.default_rng(3)
    contributions = rng.normal(size=(3000, len(names) + 1)) * rng.uniform(0.01, 3, size=len(names) + 1)
    e = explain(contributions, maps)
    np.testing.assert_allclose(e.families, contributions[:, :-1] @ maps[1], rtol=1e-12, atol=1e-12)
    for i in (0, 1234, 2999):
        alone = explain(contributions[i:i + 1], maps)
        np.testing.assert_array_equal(alone.families[0], e.families[i])
        assert alone.row(0) == e.row(i)


def test_group_plans_are_reused_only_for_fixed_maps():
    # The Scorer's maps are read-only and planned once; a map that can change is planned per call,
    # so changing it changes the sums (no stale plan).
    from fraudscore.reasons import _group_sums

    c = np.array([[1.0, 2.0, 4.0]])
    fixed = np.array([[1.0, 0.0], [0.0, 1.0], [0.0, 1.0]])
    fixed.flags.writeable = False
    assert _group_sums(c, fixed).tolist() == [[1.0, 6.0]] == _group_sums(c, fixed).tolist()
    mutable = fixed.copy()
    assert _group_sums(c, mutable).tolist() == [[1.0, 6.0]]
    mutable[1] = [1.0, 0.0]
    assert _group_sums(c, mutable).tolist() == [[3.0, 4.0]]
    view = mutable[:]
    view.flags.writeable = False  # read-only, but its base can still change
    assert _group_sums(c, view).tolist() == [[3.0, 4.0]]
    mutable[2] = [1.0, 0.0]
    assert _group_sums(c, view).tolist() == [[7.0, 0.0]]

"""The fast paths' special cases equal the general code (bit for bit but where said).

- pointer kinematics on rows whose times go backwards (the click look-back's fallback; a
  SubmissionBatch always sorts telemetry by time, so only a hand-built batch reaches it), with
  overflowing and underflowing steps (the square roots' np.hypot fallback): equal to the
  reference to rounding, as in test_pointer_reference.py, and bit for bit row by row;
- ``per_unique`` / ``isin`` on a batch of one (the ``score_one`` path skips factorizing), and
  inside a transform's factorization cache;
- the small-batch paths of a one-row call: the feature matrix assembled by one concatenation,
  longstring from run starts, a few texts encoded by Python; and hostile records scored one by
  one equal the same records scored as a batch (fitted mode).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from fraudscore.features.context import FeatureContext
from fraudscore.features.pointer import kinematics
from fraudscore.features._unique import isin, per_unique
from fraudscore.ragged import Ragged

sys.path.insert(0, str(Path(__file__).resolve().parent))
from pointer_reference import HandBuiltBatch, reference_kinematics  # noqa: E402
from test_pointer_reference import assert_close  # noqa: E402


@st.composite
def pointer_rows(draw):
    lengths = draw(st.lists(st.integers(0, 30), min_size=1, max_size=8))
    total = sum(lengths)
    # Negative steps: time goes back. Tiny steps and huge moves overflow speed, acceleration and
    # jerk to inf (and inf - inf to NaN), which the definitions' finite-value means leave out.
    step = st.sampled_from([0.0, 1.0, 16.0, 250.0, 499.0, 501.0, -3.0, -600.0, 1e-300])
    t = np.cumsum(draw(st.lists(step, min_size=total, max_size=total)) or [0.0])[:total]
    coord = st.sampled_from([0.0, 0.0, 2.0, -5.0, 0.5, 1e300, -1e300, 5e-324]) | st.floats(-500, 500)
    x = np.cumsum(draw(st.lists(coord, min_size=total, max_size=total)) or [0.0])[:total]
    y = np.cumsum(draw(st.lists(coord, min_size=total, max_size=total)) or [0.0])[:total]
    kind = np.array(draw(st.lists(st.integers(0, 3), min_size=total, max_size=total)), dtype=np.int8)
    lengths = np.array(lengths, dtype=np.int64)
    return {"telemetry.pointer.t": Ragged.from_lengths(np.asarray(t, dtype=np.float64), lengths),
            "telemetry.pointer.x": Ragged.from_lengths(np.asarray(x, dtype=np.float64), lengths),
            "telemetry.pointer.y": Ragged.from_lengths(np.asarray(y, dtype=np.float64), lengths),
            "telemetry.pointer.kind": Ragged.from_lengths(kind, lengths)}


@settings(max_examples=150, deadline=None)
@given(pointer_rows())
def test_kinematics_equal_the_reference_on_rows_in_any_time_order(columns):
    batch = HandBuiltBatch(columns)
    with np.errstate(over="ignore", invalid="ignore"):
        got, want = kinematics(FeatureContext(batch), None), reference_kinematics(batch)
        assert_close(got, want, batch)
        # Row by row: the fallbacks (look-back loop, np.hypot) of one row do not touch the others.
        for i in range(batch.n):
            one = batch.row(i)
            alone = kinematics(FeatureContext(one), None)
            for name, values in got.items():
                np.testing.assert_array_equal(alone[name], values[i:i + 1], err_msg=name)


_VALUES = [None, float("nan"), np.float32("nan"), "a", "", "Europe/Berlin", ("en", "de"), 3, 3.0]


def _column(*values):
    out = np.empty(len(values), dtype=object)
    out[:] = values
    return out


@settings(max_examples=100, deadline=None)
@given(st.sampled_from(_VALUES), st.sampled_from(_VALUES), st.booleans())
def test_a_batch_of_one_gets_what_the_grouping_path_gives(a, b, keep):
    def fn(u, v):
        return float(len(repr((u, v))))

    # Two copies of the row take the grouping path; their first value is the one-row answer.
    grouped = per_unique(fn, _column(a, a), _column(b, b), mask=np.array([keep, keep]))
    np.testing.assert_array_equal(per_unique(fn, _column(a), _column(b), mask=np.array([keep])), grouped[:1])
    np.testing.assert_array_equal(per_unique(fn, _column(a), _column(b)), per_unique(fn, _column(a, a), _column(b, b))[:1])
    options = ["a", "Europe/Berlin", 3]
    assert isin(_column(a), options)[0] == isin(_column(a, a), options)[0]


@settings(max_examples=100, deadline=None)
@given(st.lists(st.lists(st.sampled_from([0.0, -0.0, 1.0, 999.0, 1000.0, 3e6]) | st.floats(0, 86_400_000),
                         max_size=70), min_size=2, max_size=6))
def test_item_time_statistics_of_a_batch_of_one_are_the_batch_rows(rows):
    from fraudscore.features.timing import _segment_median

    lengths = np.array([len(r) for r in rows], dtype=np.int64)
    batch = Ragged.from_lengths(np.array([v for r in rows for v in r], dtype=np.float64), lengths)
    in_batch = _segment_median(batch, batch.values)  # several rows: the bucketed path
    for i, row in enumerate(rows):
        one = Ragged.from_lengths(np.array(row, dtype=np.float64), lengths[i:i + 1])
        got = _segment_median(one, one.values)
        np.testing.assert_array_equal(got, in_batch[i:i + 1])
        np.testing.assert_array_equal(np.signbit(got), np.signbit(in_batch[i:i + 1]))
    with np.errstate(invalid="ignore", divide="ignore"):
        np.testing.assert_array_equal(batch.stds(mean=batch.means()), batch.stds())


# --------------------------------------------------------------------------- small-batch paths

from fraudscore.features import careless as careless_module  # noqa: E402
from fraudscore.features import content as content_module  # noqa: E402
from fraudscore.features import extractor as extractor_module  # noqa: E402
from fraudscore.features._unique import factorization_cache  # noqa: E402

_likert = st.one_of(st.just(np.nan), st.integers(1, 5).map(float))


@st.composite
def _likert_matrices(draw) -> np.ndarray:
    """Up to 70 x 30 answers from 1 to 5 levels (one level: whole rows are one run), some missing.

    Drawn by numpy from a drawn seed: element-by-element drawing cost ~20 s for 200 examples.
    """
    n, p, levels = draw(st.integers(1, 70)), draw(st.integers(1, 30)), draw(st.integers(1, 5))
    missing = draw(st.sampled_from([0.0, 0.05, 0.3, 0.9, 1.0]))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    x = rng.integers(1, levels + 1, size=(n, p)).astype(float)
    x[rng.random((n, p)) < missing] = np.nan
    return x


@settings(max_examples=200, deadline=None)
@given(st.one_of(_likert_matrices(), st.integers(1, 4).flatmap(lambda p: st.lists(
    _likert, min_size=p, max_size=4 * p).map(lambda v: np.array(v[:len(v) // p * p]).reshape(-1, p)))))
def test_longstring_from_run_starts_equals_the_item_loop(x):
    longest, average = careless_module._longstring_runs(x)
    loop_rows = careless_module._RUN_ROWS
    try:
        careless_module._RUN_ROWS = -1  # every size through the item loop
        expected = careless_module.longstring(x)
    finally:
        careless_module._RUN_ROWS = loop_rows
    np.testing.assert_array_equal(longest, expected[0])
    np.testing.assert_array_equal(average, expected[1])


@given(st.lists(st.one_of(st.none(), st.text(max_size=12), st.just("\ud800 x"), st.just("ééé ъ 漢字")),
                min_size=1, max_size=20))
def test_python_encoded_texts_equal_the_arrow_encoding(texts):
    import fraudscore.features.context as context_module

    def encoded():
        ctx = context_module.FeatureContext.__new__(context_module.FeatureContext)  # only the text column
        ctx.n = 1
        ctx.batch = type("B", (), {"column": staticmethod(lambda name: Ragged(
            np.array(texts + [None], dtype=object)[:-1], np.array([0, len(texts)])))})()
        return content_module._text_bytes(ctx), ctx.answer_text_utf8, ctx.answer_text_chars

    limit = context_module._PY_ENCODE
    try:
        context_module._PY_ENCODE = 10**9
        python = encoded()
        context_module._PY_ENCODE = -1
        arrow = encoded()
    finally:
        context_module._PY_ENCODE = limit
    for by_python, by_arrow in zip([*python[0], *python[1], python[2]], [*arrow[0], *arrow[1], arrow[2]]):
        np.testing.assert_array_equal(by_python, by_arrow)
    # characters as Python counts them (a lone surrogate is one, replaced by one '?')
    np.testing.assert_array_equal(python[2], [sum(len(t) for t in texts if t is not None)])


words = st.sampled_from([None, "a", "b", "Europe/Paris", "US", 1.5, float("nan")])


@given(st.lists(st.tuples(words, words), min_size=2, max_size=30), st.booleans())
def test_per_unique_in_a_factorization_cache_equals_without(pairs, masked):
    a = np.array([p[0] for p in pairs] + [None], dtype=object)[:-1]
    b = np.array([p[1] for p in pairs] + [None], dtype=object)[:-1]
    mask = np.arange(len(a)) % 3 != 0 if masked else None
    fn = lambda *values: float(hash(values) % 97)  # noqa: E731
    expected = (per_unique(fn, a, b, mask=mask), per_unique(fn, b, mask=mask), isin(a, ["a", "US"]))
    with factorization_cache():
        for _ in range(2):  # the second round reads the cache
            got = (per_unique(fn, a, b, mask=mask), per_unique(fn, b, mask=mask), isin(a, ["a", "US"]))
            for x, y in zip(got, expected):
                np.testing.assert_array_equal(x, y)


def _fitted_extractor():
    import fraudscore
    from fraudscore.features.extractor import FeatureExtractor

    sim = fraudscore.simulate(200, seed=9, output="records")
    return FeatureExtractor(surveys=[sim.survey]).fit(sim.records), sim.records


_FITTED = []


def _fitted():
    if not _FITTED:
        _FITTED.append(_fitted_extractor())
    return _FITTED[0]


def _same_bits(a: np.ndarray, b: np.ndarray) -> bool:
    return a.shape == b.shape and bool(np.array_equal(a.view(np.uint32), b.view(np.uint32)))


def test_concatenated_matrix_equals_the_column_copies():
    from fraudscore.io import from_records

    extractor, records = _fitted()
    rows = concat_rows = extractor_module._CONCAT_ROWS
    batches = [from_records(records[:1]), from_records(records[5:9]), from_records(records[:rows])]
    small = [extractor.transform(b) for b in batches]
    try:
        extractor_module._CONCAT_ROWS = -1  # every size by column copies
        large = [extractor.transform(b) for b in batches]
    finally:
        extractor_module._CONCAT_ROWS = concat_rows
    for a, b in zip(small, large):
        assert _same_bits(a, b)


sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from test_readers_fuzz import hostile_rows  # noqa: E402


@settings(max_examples=60, deadline=None)
@given(hostile_rows)
def test_hostile_records_one_by_one_equal_the_batch(rows):
    from fraudscore.io import from_records

    extractor, _ = _fitted()
    batch = extractor.transform(from_records(rows))
    ones = [extractor.transform(from_records([r])) for r in rows]
    assert _same_bits(batch, np.vstack(ones) if ones else batch[:0])


def test_a_group_registered_after_a_transform_is_planned_in(monkeypatch):
    """The extractor's per-process plan of groups follows later registrations."""
    import fraudscore
    from fraudscore.features import registry
    from fraudscore.features.extractor import FeatureExtractor

    records = fraudscore.simulate(20, seed=3, output="records").records
    before = FeatureExtractor(families=("timing",)).fit(records)
    n_before = before.transform(records).shape[1]
    # The new group leaves with the test, and the generation goes back to the one planned without it.
    monkeypatch.setattr(registry, "_GROUPS", dict(registry._GROUPS))
    monkeypatch.setattr(registry, "_generation", registry._generation)
    registry.register("timing_test_extra", "timing", "none", [("test_extra", "a constant, for this test")])(
        lambda ctx, state: {"timing.test_extra": np.ones(ctx.batch.n)})
    after = FeatureExtractor(families=("timing",)).fit(records)
    assert after.transform(records).shape[1] == n_before + 1
    assert "timing.test_extra" in after.get_feature_names_out()

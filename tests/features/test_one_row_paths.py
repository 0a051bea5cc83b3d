"""The one-row paths (``score_one``) give the column code's values bit for bit.

Each family's one-row path is compared with the column code on the same row inside a batch of
several rows, on hostile rows: no events, one event, equal times, NaN, huge and tiny values,
times out of order (hand-built) or repaired by the batch rules, all-skipped and constant
answers, answers that are not whole numbers, no consent. Equal means the same bits (NaN equals
NaN; the sign of a zero counts).
"""

from __future__ import annotations

import contextlib
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from fraudscore.features import _careless_stats, careless, pointer
from fraudscore.features import _segments
from fraudscore.features.context import FeatureContext
from fraudscore.ragged import Ragged
from fraudscore.survey import SurveySpec

sys.path.insert(0, str(Path(__file__).resolve().parent))
from one_row import assert_alone_as_in_the_batch  # noqa: E402
from pointer_reference import HandBuiltBatch  # noqa: E402


def assert_same_bits(got, want, name: str = "") -> None:
    got, want = np.asarray(got, dtype=np.float64), np.asarray(want, dtype=np.float64)
    assert got.shape == want.shape, name
    same = (got.view(np.int64) == want.view(np.int64)) | (np.isnan(got) & np.isnan(want))
    assert same.all(), (name, got[~same], want[~same])


# --------------------------------------------------------------------------- segment sums


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from([0.0, -0.0, 1.0, -1.0, 1e-300, 3e300, 0.1, 1 / 3]) | st.floats(-1e6, 1e6),
                max_size=70), st.integers(0, 9), st.integers(0, 9))
def test_a_row_sum_is_the_block_codes_reduceat_of_its_segment(values, before, after):
    row = np.array(values, dtype=np.float64)
    if not len(row):
        assert_same_bits(_segments.row_sum(row), 0.0)  # Selection.sums of a row without values
        return
    block = np.concatenate([np.full(before, 0.7), row, np.full(after, -3.0)])
    index = [0] * (before > 0) + [before] + [before + len(row)] * (after > 0)
    with np.errstate(over="ignore", invalid="ignore"):
        want = np.add.reduceat(block, index)[1 if before else 0]
        assert_same_bits(_segments.row_sum(row), want)


def test_a_row_sum_is_not_ndarray_sum():
    """Why row_sum exists: reduceat and sum add in different orders (from 9 values on)."""
    rng = np.random.default_rng(3)
    rows = [rng.standard_normal(40) * 10.0 ** rng.integers(-5, 5, 40) for _ in range(200)]
    assert any(_segments.row_sum(r) != r.sum() for r in rows)


# --------------------------------------------------------------------------- pointer kinematics


_STEP = st.sampled_from([0.0, 0.0, 1.0, 16.0, 250.0, 499.0, 500.0, 501.0, 1e-300, 1e300, -3.0, float("nan")])
_COORD = st.sampled_from([0.0, 0.0, 2.0, -5.0, 0.5, 1e300, -1e300, 5e-324, 1e-160, float("nan")]) | st.floats(-500, 500)


@st.composite
def pointer_rows(draw, hostile: bool = True):
    lengths = draw(st.lists(st.sampled_from([0, 1, 2, 3]) | st.integers(0, 60), min_size=2, max_size=7))
    total = sum(lengths)
    step = _STEP if hostile else st.sampled_from([0.0, 1.0, 8.0, 16.0, 17.0, 499.0, 501.0])
    coord = _COORD if hostile else st.floats(-300, 300)
    t = np.cumsum(draw(st.lists(step, min_size=total, max_size=total)) or [0.0])[:total]
    x = np.cumsum(draw(st.lists(coord, min_size=total, max_size=total)) or [0.0])[:total]
    y = np.cumsum(draw(st.lists(coord, min_size=total, max_size=total)) or [0.0])[:total]
    kind = np.array(draw(st.lists(st.sampled_from([0, 0, 0, 1, 2, 3]), min_size=total, max_size=total)),
                    dtype=np.int8)
    lengths = np.array(lengths, dtype=np.int64)
    return HandBuiltBatch({
        "telemetry.pointer.t": Ragged.from_lengths(np.asarray(t, dtype=np.float64), lengths),
        "telemetry.pointer.x": Ragged.from_lengths(np.asarray(x, dtype=np.float64), lengths),
        "telemetry.pointer.y": Ragged.from_lengths(np.asarray(y, dtype=np.float64), lengths),
        "telemetry.pointer.kind": Ragged.from_lengths(kind, lengths)})


def _assert_rows_alone_equal_the_batch(batch) -> None:
    with np.errstate(all="ignore"):
        in_batch = pointer.kinematics(FeatureContext(batch), None)
        for i in range(batch.n):
            alone = pointer.kinematics(FeatureContext(batch.row(i)), None)
            assert alone.keys() == in_batch.keys()
            for name, values in in_batch.items():
                assert_same_bits(alone[name], values[i:i + 1], name)


@settings(max_examples=300, deadline=None)
@given(pointer_rows())
def test_one_row_kinematics_equal_the_rows_of_a_batch_on_hostile_series(batch):
    _assert_rows_alone_equal_the_batch(batch)


@settings(max_examples=150, deadline=None)
@given(pointer_rows(hostile=False))
def test_one_row_kinematics_equal_the_rows_of_a_batch_on_plain_series(batch):
    # Rows that stay on the one-row path (times in order, finite speeds), longer than numpy's
    # 8-value summation blocks.
    _assert_rows_alone_equal_the_batch(batch)


@settings(max_examples=80, deadline=None)
@given(pointer_rows())
def test_rows_with_a_block_of_their_own_equal_the_rows_of_one_block(batch):
    # Rows over BLOCK_EVENTS events get a block of their own, which takes the one-row path.
    with np.errstate(all="ignore"), pytest.MonkeyPatch.context() as mp:
        one_block = pointer.kinematics(FeatureContext(batch), None)
        mp.setattr(_segments, "BLOCK_EVENTS", 4)
        many_blocks = pointer.kinematics(FeatureContext(batch), None)
    for name, values in one_block.items():
        assert_same_bits(many_blocks[name], values, name)


def test_the_one_row_path_is_taken_and_its_fallbacks_are_the_block_code(monkeypatch):
    calls = []
    block_code = pointer._kinematics_block
    monkeypatch.setattr(pointer, "_kinematics_block", lambda *a: calls.append(1) or block_code(*a))
    t = Ragged.from_lengths(np.array([0.0, 16.0, 33.0, 50.0]), np.array([4]))
    xy = Ragged.from_lengths(np.array([0.0, 3.0, 9.0, 20.0]), np.array([4]))
    kind = Ragged.from_lengths(np.array([0, 0, 0, 3], dtype=np.int8), np.array([4]))
    columns = {"telemetry.pointer.t": t, "telemetry.pointer.x": xy, "telemetry.pointer.y": xy,
               "telemetry.pointer.kind": kind}
    pointer.kinematics(FeatureContext(HandBuiltBatch(columns)), None)
    assert not calls
    columns["telemetry.pointer.t"] = Ragged.from_lengths(np.array([0.0, 16.0, 8.0, 50.0]), np.array([4]))
    pointer.kinematics(FeatureContext(HandBuiltBatch(columns)), None)  # time goes back
    assert calls


_KINDS = ["move", "down", "up", "click"]


@st.composite
def pointer_records(draw, i):
    m = draw(st.sampled_from([0, 1, 2]) | st.integers(0, 50))
    t = draw(st.lists(st.sampled_from([0.0, 5.0, 5.0, 16.0, 499.0, 1000.0, 1e15]), min_size=m, max_size=m))
    coord = st.sampled_from([0.0, 3.0, -3.0, 1e9]) | st.floats(-2000, 2000)
    return {"submission_id": f"p{i}", "survey_id": "s", "started_at": 1_777_622_400_000,
            "submitted_at": 1_777_622_500_000,
            "consent": {"usage": True, "analytics": draw(st.sampled_from([True, True, False]))},
            "telemetry": {"pointer": {"t": t,  # unsorted: the batch rules repair (sort) the series
                                      "x": draw(st.lists(coord, min_size=m, max_size=m)),
                                      "y": draw(st.lists(coord, min_size=m, max_size=m)),
                                      "kind": draw(st.lists(st.sampled_from(_KINDS), min_size=m, max_size=m))}}}


@settings(max_examples=60, deadline=None)
@given(st.integers(2, 6).flatmap(lambda n: st.tuples(*[pointer_records(i) for i in range(n)])))
def test_one_row_kinematics_of_records_equal_the_batch_rows(records):
    assert_alone_as_in_the_batch(list(records), (pointer.kinematics,), {})


# --------------------------------------------------------------------------- careless indices


def _calibration(p: int, seed: int = 0) -> np.ndarray:
    """Answers with synonym and antonym pairs (items of one latent trait, half reverse-keyed)."""
    rng = np.random.default_rng(seed)
    trait = rng.standard_normal((300, 1))
    sign = np.where(np.arange(p) % 2 == 0, 1.0, -1.0)
    answers = np.clip(np.rint(3 + 1.3 * trait * sign + 0.5 * rng.standard_normal((300, p))), 1, 5)
    answers[rng.random(answers.shape) < 0.02] = np.nan
    return answers


_ANSWER = st.sampled_from([np.nan, 1.0, 2.0, 3.0, 4.0, 5.0, 0.0, -1000.0, 1000.0])


@st.composite
def likert_rows(draw, p: int, whole: bool = True):
    n = draw(st.integers(2, 6))
    answer = _ANSWER if whole else (_ANSWER | st.sampled_from([2.5, 1e300, np.inf, 1e7]))
    rows = []
    for _ in range(n):
        shape = draw(st.sampled_from(["any", "constant", "skipped", "one"]))
        if shape == "constant":
            rows.append([draw(_ANSWER)] * p)
        elif shape == "skipped":
            rows.append([np.nan] * p)
        elif shape == "one":
            row = [np.nan] * p
            row[draw(st.integers(0, p - 1))] = draw(_ANSWER)
            rows.append(row)
        else:
            rows.append(draw(st.lists(answer, min_size=p, max_size=p)))
    return np.array(rows, dtype=np.float64)


_P = 12
_SPEC = SurveySpec(survey_id="s", n_likert=_P, likert_points=5, scales=((0, 1, 2, 3, 4), (5, 6, 7, 8), (9, 10, 11)),
                   reverse_keyed=(1, 3, 6, 10), attention_checks={2: 3, 11: 1})
_REFERENCE = careless.CarelessReference().fit(_calibration(_P), _SPEC)


def test_the_reference_has_pairs_of_both_kinds():
    assert len(_REFERENCE.synonym_pairs_) >= 3 and len(_REFERENCE.antonym_pairs_) >= 3


@contextlib.contextmanager
def _column_code():
    """The column code for every number of rows (the one-row paths off)."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(careless, "_ONE_ROW", False)
        mp.setattr(_careless_stats, "_ONE_ROW", False)
        yield


#: Indices whose column code sums products by einsum or BLAS over non-integers: their rounding
#: depends on the shape of the matrix (a row alone or in a block: another order of summation), so
#: a row's value alone equals its value in a batch to ~1e-16 relative, not bit for bit. The
#: one-row path equals the column code on the one-row matrix (which score_one ran before) exactly.
_ROUNDED_BY_SHAPE = {"mahad", "evenodd", "psychsyn", "psychant", "person_total"}


def _assert_one_row_equals_column_code(fn, matrix, by_shape=()):
    """``fn`` of each row alone equals the column code on that row alone bit for bit, and the row of
    ``fn(matrix)`` bit for bit too but for the names (or the whole result, ``True``) in ``by_shape``:
    to 1e-12 relative or 1e-14 absolute (correlations near 0)."""
    with np.errstate(all="ignore"):
        in_batch = fn(matrix)
        for i in range(len(matrix)):
            alone = fn(matrix[i:i + 1])
            with _column_code():
                column = fn(matrix[i:i + 1])
            if not isinstance(in_batch, dict):
                alone, column, in_batch_row = {"": alone}, {"": column}, {"": in_batch[i:i + 1]}
                by_row = {""} if by_shape is True else set()
            else:
                in_batch_row = {name: values[i:i + 1] for name, values in in_batch.items()}
                by_row = set(by_shape)
            for name, values in in_batch_row.items():
                assert_same_bits(alone[name], column[name], name)
                if name in by_row:
                    np.testing.assert_allclose(alone[name], values, rtol=1e-12, atol=1e-14, err_msg=name)
                else:
                    assert_same_bits(alone[name], values, name)


@settings(max_examples=200, deadline=None)
@given(likert_rows(_P) | likert_rows(_P, whole=False))
def test_one_row_careless_indices_equal_the_column_code(matrix):
    _assert_one_row_equals_column_code(_REFERENCE.transform, matrix, by_shape=_ROUNDED_BY_SHAPE)


@settings(max_examples=150, deadline=None)
@given(st.integers(1, 9).flatmap(lambda p: likert_rows(p) | likert_rows(p, whole=False)))
def test_one_row_reference_free_indices_equal_the_column_code(matrix):
    p = matrix.shape[1]
    _assert_one_row_equals_column_code(careless.irv, matrix)
    _assert_one_row_equals_column_code(lambda x: np.column_stack(careless.longstring(x)), matrix)
    _assert_one_row_equals_column_code(lambda x: careless.attention_check_failures(x, {0: 2, p - 1: 5}), matrix)
    if p >= 3:
        _assert_one_row_equals_column_code(lambda x: careless.split_irv(x, 3), matrix)
    if p >= 4:
        _assert_one_row_equals_column_code(lambda x: careless.evenodd(x, [p // 2, p - p // 2]), matrix, True)


@settings(max_examples=150, deadline=None)
@given(likert_rows(_P) | likert_rows(_P, whole=False))
def test_one_row_kernels_equal_the_column_code(matrix):
    pairs = np.concatenate([_REFERENCE.synonym_pairs_, _REFERENCE.antonym_pairs_])
    for some in (pairs, pairs[:2], pairs[:3]):
        _assert_one_row_equals_column_code(lambda x: np.column_stack(_careless_stats.pair_correlation(x, some)), matrix,
                                           True)
    _assert_one_row_equals_column_code(lambda x: _careless_stats.profile_correlation(x, _REFERENCE.mean_), matrix, True)
    _assert_one_row_equals_column_code(lambda x: np.column_stack(_careless_stats.row_correlation(x[:, :6], x[:, 6:], 2)),
                                       matrix, True)
    _assert_one_row_equals_column_code(lambda x: careless.mahad(x, _REFERENCE.mean_, _REFERENCE.precision_), matrix, True)
    _assert_one_row_equals_column_code(_careless_stats.row_sd, matrix)


def test_a_reference_with_unknown_item_means_takes_the_skipped_answers_route():
    calibration = _calibration(_P, seed=1)
    calibration[:, 4] = np.nan  # nobody answered item 4: its mean is unknown
    reference = careless.CarelessReference().fit(calibration, _SPEC)
    matrix = np.array([[1.0, 2, 3, 4, 5, 4, 3, 2, 1, 2, 3, 4], [3.0] * _P, [5.0, 1] * (_P // 2)])
    _assert_one_row_equals_column_code(reference.transform, matrix, by_shape=_ROUNDED_BY_SHAPE)


def test_whole_answers_have_exact_sums_and_others_go_to_the_kernels():
    assert _careless_stats.exact_sums([1.0, np.nan, 5.0, -1000.0], 1000)
    assert not _careless_stats.exact_sums([2.5], 1)
    assert not _careless_stats.exact_sums([np.inf, 1.0], 1)
    assert not _careless_stats.exact_sums([1e7], 1000)  # sums of squares no longer exact
    # A row whose SD formula cancels without being constant goes through the two-pass redo.
    assert _careless_stats.sd_one(3 * 1000.0 + 999.0, 3 * 1e6 + 999.0 ** 2, 4) is None
    assert _careless_stats.sd_one(4.0, 4.0, 4) == 0.0


@settings(max_examples=150, deadline=None)
@given(rows=likert_rows(_P, whole=False), survey=st.sampled_from(["s", "other", None]),
       length=st.sampled_from([_P, _P - 3, _P + 2]), honeypot=st.sampled_from([None, "", " x"]))
def test_the_careless_group_of_one_row_equals_its_general_code(rows, survey, length, honeypot):
    # The group's one-row path (scored against the survey's reference) against the general code
    # on the same one-row batch: the same indices, bit for bit (row alone vs in a batch differs in
    # the last bits where BLAS rounds by shape, which the kernel tests above cover).
    from fraudscore.features import answers
    from fraudscore.io import from_records
    from one_row import _columns, _same_bits

    states = {answers.careless: {"references": {"s": _REFERENCE}}}
    for row in rows:
        answers_ = (row.tolist() + [3.0, 4.0])[:length]
        record = {"submission_id": "r", "survey_id": survey, "started_at": 1_777_622_400_000,
                  "submitted_at": 1_777_622_700_000, "answers": {"likert": answers_, "honeypot": honeypot}}
        batch = from_records([record])
        fast = _columns(batch, (answers.careless,), {"s": _SPEC}, states)
        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(answers, "_careless_one", lambda ctx, references: None)
            general = _columns(batch, (answers.careless,), {"s": _SPEC}, states)
        assert fast.keys() == general.keys()
        for name in general:
            assert _same_bits(fast[name], general[name]), (name, answers_, fast[name], general[name])


# --------------------------------------------------------------------------- device


_UAS = [None, "", "curl/8.4.0", "Googlebot/2.1 (+http://www.google.com/bot.html)",
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
        "Version/17.4 Mobile/15E148 Safari/604.1",
        "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 "
        "Mobile Safari/537.36",
        "Mozilla/5.0 (iPad; CPU OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 "
        "Mobile/15E148 Safari/604.1",
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 "
        "Safari/537.36",
        "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/124.0.0.0 "
        "Safari/537.36"]
_MISSING = st.sampled_from([None, float("nan"), "x", [1]])


@st.composite
def device_records(draw, i):
    device = {
        "user_agent": draw(st.sampled_from(_UAS)),
        "platform": draw(st.sampled_from([None, "", "Win32", "MacIntel", "iPhone", "Linux armv8l", "Linux x86_64"])),
        "screen": draw(st.sampled_from([None, [390, 844], [1920, 1080], [200, 100], [1440, 900], [0, 0],
                                        [float("nan"), 800], [800, None], [1e12, 5], [599, 400], [600, 400],
                                        [239, 200], [240, 200], [1400, 900], [1401, 900]])),
        "touch_points": draw(st.sampled_from([None, 0, 1, 5, -1, float("nan")])),
        "battery": {"level": draw(st.sampled_from([None, 0.0, 0.5, 1.0, 1.5])),
                    "charging": draw(st.sampled_from([None, True, False]))},
        "webgl_renderer": draw(st.sampled_from([None, "", "Google SwiftShader", "llvmpipe (LLVM 15)",
                                                "Android Emulator OpenGL ES Translator", "ANGLE (NVIDIA GeForce)"])),
        "cookies_enabled": draw(st.sampled_from([None, True, False])),
        "cookie_id": draw(st.sampled_from([None, "", "c-1"])),
        "plugins": draw(st.sampled_from([None, [], ["PDF Viewer"], ["a", "b", "c"]])),
        "languages": draw(st.sampled_from([None, [], ["en-US"], ["de", "en"]])),
        "webdriver": draw(st.sampled_from([None, True, False])),
        "hardware_concurrency": draw(st.sampled_from([None, 4, 0])),
        "device_memory_gb": draw(st.sampled_from([None, 8, 0.25])),
        "pixel_ratio": draw(st.sampled_from([None, 1, 3])),
    }
    if draw(st.booleans()):  # wrong types: the rules read them as missing
        device[draw(st.sampled_from(sorted(device)))] = draw(_MISSING)
    return {"submission_id": f"d{i}", "survey_id": "s", "device": device,
            "consent": {"usage": draw(st.sampled_from([True, True, False])), "analytics": True}}


@settings(max_examples=100, deadline=None)
@given(st.integers(2, 6).flatmap(lambda n: st.tuples(*[device_records(i) for i in range(n)])))
def test_one_row_device_groups_equal_the_batch_rows(records):
    from fraudscore.features import device

    assert_alone_as_in_the_batch(list(records), (device.automation, device.consistency), {})


_SPACES = st.sampled_from([" ", "\t", "\n", "\x00", "\x1c", "\x85", "\xa0", "\u2028", "\u3000", "\u200b", "a", "é"])


@settings(max_examples=300, deadline=None)
@given(st.lists(st.none() | st.text(_SPACES, max_size=6) | st.text(max_size=4), min_size=2, max_size=5))
@example(["\x00 \x00 ", " a\x00 ", "\x00a", "b\x00 \x00 "])  # numpy strips NUL with trailing whitespace
def test_one_row_honeypot_equals_the_batch_rows(texts):
    column = np.array(texts + [None], dtype=object)[:-1]
    in_batch = careless.honeypot_filled(column)
    for i in range(len(column)):
        assert_same_bits(careless.honeypot_filled(column[i:i + 1]), in_batch[i:i + 1])

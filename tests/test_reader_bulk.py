"""Whole-column shortcuts of the readers give exactly what the general converters give."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import fraudscore._convert as convert
from fraudscore._convert import bulk_from_python, from_arrow, from_python, parse_timestamps
from fraudscore.schema import FIELD_BY_NAME, FIELDS

sys.path.insert(0, str(Path(__file__).resolve().parent))  # the hostile strategies (tests import in importlib mode)
from test_readers_fuzz import anything  # noqa: E402

_TEXT_FIELDS = [f.name for f in FIELDS if f.dtype == "string"]


def _same_column(a, b) -> bool:
    if a.data.dtype != b.data.dtype or a.data.shape != b.data.shape:
        return False
    same_data = (np.array_equal(a.data, b.data, equal_nan=True) if a.data.dtype.kind == "f"
                 else a.data.tolist() == b.data.tolist())
    return same_data and all(np.array_equal(getattr(a, m), getattr(b, m))
                             for m in ("invalid", "truncated", "no_offset", "nan_input"))


texts = st.one_of(st.none(), st.text(max_size=6), st.just(""), st.text(min_size=60, max_size=70), anything)


@pytest.mark.parametrize("name", ["submission_id", "network.ip", "device.user_agent"])
@settings(max_examples=60)
@given(values=st.lists(texts, max_size=8))
def test_bulk_text_column_equals_the_general_converter(name, values):
    f = FIELD_BY_NAME[name]
    assert _same_column(bulk_from_python(list(values), f), from_python(list(values), f)), values


@pytest.mark.parametrize("name", _TEXT_FIELDS)
def test_a_clean_text_column_takes_the_bulk_path(name, monkeypatch):
    """The shortcut is not one that always gives up (which the equality test could not see)."""
    f = FIELD_BY_NAME[name]
    monkeypatch.setitem(convert._PY, "string", None)  # the general converter would now fail
    column = bulk_from_python(["a", None, "", "b" * (f.max_len or 3)], f)
    assert column.data.tolist() == ["a", None, None, "b" * (f.max_len or 3)]
    assert not column.invalid.any() and not column.truncated.any()


def test_only_text_decoded_from_arrow_is_marked_free_of_lone_surrogates():
    f = FIELD_BY_NAME["device.user_agent"]
    assert from_arrow(pa.array(["x", None]), f).utf8
    assert from_arrow(pa.array([["a"], None]), FIELD_BY_NAME["device.languages"]).utf8
    assert not from_python(["x", "\ud800"], f).utf8
    assert not bulk_from_python(["x", "\ud800"], f).utf8


@settings(max_examples=80)
@given(st.lists(st.one_of(st.none(), st.floats(allow_nan=True, allow_infinity=True),
                          st.integers(946_684_800_000 - 5, 4_102_444_800_000 + 5)), min_size=1, max_size=8))
def test_numeric_arrow_timestamps_read_as_parse_timestamps_reads_them(values):
    arr = pa.array(values, type=pa.float64())
    fast = from_arrow(arr, FIELD_BY_NAME["started_at"])
    data = arr.to_numpy(zero_copy_only=False)
    reference = parse_timestamps(np.where(np.isnan(data), None, data).astype(object))
    assert _same_column(fast, reference), values


def _rule(arr) -> bool:
    """The dictionary rule itself: at most 90 % of the non-null values distinct in min(8192, n / 4)
    rows spread over the column."""
    n = len(arr)
    size = min(8192, n // 4)
    sample = arr.take(pa.array(np.linspace(0, n - 1, size).astype(np.int64))).drop_null()
    return len(sample) > 0 and len(sample.unique()) <= 0.9 * len(sample)


def _column(n: int, per_value: int, null_every: int = 0, seed: int = 0) -> pa.Array:
    rng = np.random.default_rng(seed)
    values = np.array([f"value-{i // per_value}" for i in range(n)], dtype=object)
    rng.shuffle(values)
    if null_every:
        values[::null_every] = None
    return pa.array(values.tolist(), type=pa.string())


@pytest.mark.parametrize("n, per_value, null_every", [
    (20_000, 1, 0), (20_000, 1, 3),  # ids, and a panel id missing on a third of the rows
    (20_000, 3, 0), (20_000, 5_000, 0),  # a few repeats, four values
    (200_000, 2, 0), (200_000, 20, 0), (200_000, 50_000, 2)])  # the rule asks more repeats of more rows
def test_the_small_sample_takes_the_dictionary_rule_s_decision(n, per_value, null_every):
    arr = _column(n, per_value, null_every)
    assert convert._repeats_enough(arr) == _rule(arr)

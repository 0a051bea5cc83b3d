"""Hostile input never raises, never loses or reorders a row; typed input reads the same every way."""

from __future__ import annotations

import contextlib
import json
import math

import numpy as np
import pandas as pd
import pyarrow as pa
from hypothesis import assume, given
from hypothesis import strategies as st

from fraudscore.codes import Code
from fraudscore.io import from_arrow_table, from_pandas, from_records, read_batch
from fraudscore.schema import FIELDS, KIND_VOCABULARIES

# --------------------------------------------------------------------------- hostile values

scalars = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-(2**80), max_value=2**80),
    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=40),
    st.sampled_from(["", "NaN", "1e309", "2026-05-01T10:00:00+02:00", "::1", "999.1.1.1", "move", "\x00\ud7ff", "lone \ud800 surrogate"]),
)
anything = st.recursive(scalars, lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
                        max_leaves=12)


def _nest(flat: dict) -> dict:
    out: dict = {}
    for path, value in flat.items():
        *parents, leaf = path.split(".")
        d = out
        for p in parents:
            nxt = d.get(p)
            if not isinstance(nxt, dict):
                nxt = d[p] = {}
            d = nxt
        d[leaf] = value
    return out


field_names = st.sampled_from([f.name for f in FIELDS] + ["device", "telemetry.pointer", "answers", "unknown.field"])
hostile_record = st.dictionaries(field_names, anything, max_size=12).map(_nest)
hostile_rows = st.lists(st.one_of(hostile_record, anything), max_size=12)


@given(hostile_rows)
def test_hostile_records_never_raise_and_keep_every_row_in_order(rows):
    batch = from_records(rows)
    assert batch.n == len(rows)
    for i, r in enumerate(rows):
        if not isinstance(r, dict):
            assert batch.error[i] == Code.NOT_AN_OBJECT
    ids = batch.submission_id
    for i, r in enumerate(rows):
        sid = r.get("submission_id") if isinstance(r, dict) else None
        if isinstance(sid, str) and sid:
            # Kept to its first 128 characters, a lone surrogate replaced by U+FFFD (INVALID_UNICODE).
            assert ids[i] == sid[:128].encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    _assert_well_formed(batch)


@given(hostile_rows)
def test_hostile_dataframes_never_raise(rows):
    dicts = [r for r in rows if isinstance(r, dict)]
    try:
        frame = pd.json_normalize(dicts) if dicts else pd.DataFrame()
    except UnicodeEncodeError:  # pandas' Arrow-backed str columns cannot hold a lone surrogate
        assume(False)
    batch = from_pandas(frame)
    assert batch.n == len(dicts)
    _assert_well_formed(batch)


@given(st.lists(st.one_of(st.text(max_size=30), st.just("{"), st.just("[]"), st.just("null")), max_size=10))
def test_hostile_jsonl_lines_each_become_one_row(tmp_path_factory, lines):
    lines = [ln.replace("\n", " ").replace("\r", " ") for ln in lines if ln.strip()]
    path = tmp_path_factory.mktemp("fuzz") / "x.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    batch = read_batch(path)
    assert batch.n == len([ln for ln in lines if ln.strip()])
    _assert_well_formed(batch)


def _assert_well_formed(batch):
    """Invariants every batch keeps, whatever went in."""
    n = batch.n
    for f in FIELDS:
        data = batch.column(f.name)
        if hasattr(data, "offsets"):
            assert len(data) == n and data.offsets[0] == 0 and np.all(np.diff(data.offsets) >= 0)
            if f.max_items:
                assert np.all(data.lengths <= f.max_items)
            if f.dtype == "kind_list":
                assert np.all((data.values >= -1) & (data.values < len(KIND_VOCABULARIES[f.name])))
            if f.dtype == "string_list":
                assert all(v is None or (isinstance(v, str) and len(v) <= f.max_len) for v in data.values)
        else:
            assert len(data) == n
            if f.dtype == "string":
                assert all(v is None or (isinstance(v, str) and 0 < len(v) <= f.max_len) for v in data)
            elif data.dtype.kind == "f":
                finite = data[~np.isnan(data)]
                assert np.all(np.isfinite(finite))
                if f.min is not None:
                    assert np.all(finite >= f.min) and np.all(finite <= f.max)
    for members in (("telemetry.pointer.t", "telemetry.pointer.x", "telemetry.pointer.y", "telemetry.pointer.kind"),
                    ("telemetry.keys.t", "telemetry.keys.kind")):
        lengths = [batch.column(m).lengths for m in members]
        assert all(np.array_equal(lengths[0], x) for x in lengths)
        assert not batch.column(members[0]).unsorted_rows().any()
    assert batch.messages().shape == (n,)
    assert len(batch.error_names()) == n and len(batch.warning_names()) == n


# --------------------------------------------------------------------------- typed values

finite = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False)
kinds = st.sampled_from(KIND_VOCABULARIES["telemetry.pointer.kind"])


@st.composite
def typed_record(draw, i):
    k = draw(st.integers(0, 6))
    return {
        "submission_id": f"s{i}",
        "survey_id": draw(st.sampled_from(["a", "b"])),
        "started_at": draw(st.integers(1_700_000_000_000, 1_800_000_000_000)),
        "submitted_at": draw(st.integers(1_700_000_000_000, 1_800_000_000_000)),
        "consent": {"usage": draw(st.booleans()), "analytics": draw(st.booleans())},
        "network": {"ip": draw(st.sampled_from(["1.2.3.4", "2001:db8::1", "256.0.0.1", "x"])) },
        "device": {"user_agent": draw(st.text(max_size=30)), "screen": [draw(st.integers(-5, 5000)), draw(st.integers(1, 5000))],
                   "pixel_ratio": draw(finite), "timezone": draw(st.sampled_from(["UTC", "Europe/Paris", "Nowhere/Land"])),
                   "languages": draw(st.lists(st.text(max_size=6), max_size=3)), "webdriver": draw(st.booleans())},
        "telemetry": {"pointer": {"t": draw(st.lists(finite, min_size=k, max_size=k)), "x": draw(st.lists(finite, min_size=k, max_size=k)),
                                  "y": draw(st.lists(finite, min_size=k, max_size=k)), "kind": draw(st.lists(kinds, min_size=k, max_size=k))},
                      "item_ms": draw(st.lists(finite, max_size=4))},
        "answers": {"likert": draw(st.lists(st.one_of(st.none(), st.integers(1, 7)), max_size=6)),
                    "text": draw(st.lists(st.text(max_size=20), max_size=2))},
    }


typed_batch = st.integers(1, 8).flatmap(lambda n: st.tuples(*[typed_record(i) for i in range(n)]).map(list))


@given(typed_batch)
def test_records_dataframe_and_arrow_inputs_of_the_same_data_give_identical_batches(records):
    reference = from_records(records)
    assert reference.equals(from_arrow_table(pa.Table.from_pylist(records)))
    assert reference.equals(from_pandas(pd.json_normalize(records)))
    # and through JSON text, as a backend would send it
    assert reference.equals(from_records([json.loads(json.dumps(r)) for r in records]))


@given(typed_batch, st.randoms())
def test_row_order_does_not_change_a_row(records, rnd):
    order = list(range(len(records)))
    rnd.shuffle(order)
    a = from_records(records)
    b = from_records([records[i] for i in order])
    for new, old in enumerate(order):
        assert a.warnings[old] == b.warnings[new] and a.error[old] == b.error[new]
        assert a.column("telemetry.pointer.t").row(old).tolist() == b.column("telemetry.pointer.t").row(new).tolist()
        assert math.isnan(a.duration_ms[old]) == math.isnan(b.duration_ms[new])


# --------------------------------------------------------------------------- fast path = reference path

def _same_batch(a, b) -> bool:
    """Equal data, codes, warnings, messages and unknown fields."""
    return (a.equals(b) and a.messages().tolist() == b.messages().tolist()
            and a.unknown_fields == b.unknown_fields)


@contextlib.contextmanager
def _arrow_from_one_row():
    """from_records takes its Arrow path whatever the number of rows (normally from ARROW_MIN_ROWS)."""
    import fraudscore.io

    saved, fraudscore.io.ARROW_MIN_ROWS = fraudscore.io.ARROW_MIN_ROWS, 1
    try:
        yield
    finally:
        fraudscore.io.ARROW_MIN_ROWS = saved


@given(hostile_rows)
def test_records_through_arrow_equal_the_python_reference_on_hostile_rows(rows):
    from fraudscore.io import from_records_reference

    with _arrow_from_one_row():
        fast = from_records(rows, check_unknown=True)
    assert _same_batch(fast, from_records_reference(rows, check_unknown=True))


@given(typed_batch)
def test_records_through_arrow_equal_the_python_reference_on_typed_rows(records):
    from fraudscore.io import from_records_reference

    with _arrow_from_one_row():
        fast = from_records(records)
    assert _same_batch(fast, from_records_reference(records))


def test_values_arrow_would_coerce_get_the_reference_codes():
    """Each is a value pyarrow accepts or coerces but the reference reads as a wrong type."""
    from fraudscore.io import from_records_reference

    base = {"submission_id": "s", "survey_id": "v", "started_at": 1_750_000_000_000,
            "submitted_at": 1_750_000_100_000, "consent": {"usage": True, "analytics": True}}
    odd = [
        {"device": {"user_agent": b"bytes"}},
        {"device": {"battery": (0.5, True)}},  # a tuple where an object belongs
        {"device": {"languages": "en-US"}},  # a text where a list belongs
        {"device": {"languages": {"en", "de"}}},
        {"answers": {"text": [0.0, False]}},
        {"device": {"platform": 1}}, {"device": {"platform": True}},
        {"consent": {"usage": float("nan"), "analytics": True}},
        {"device": {"gps.lat": 10.0}},  # a dotted key is not the nested field
        {"telemetry": {"pointer": {"t": [1.0, True], "x": [1, 2], "y": [1, 2], "kind": [b"move", "up"]}}},
    ]
    for extra in odd:
        rows = [dict(base, submission_id=f"s{i}", **extra) for i in range(3)]
        with _arrow_from_one_row():
            fast = from_records(rows, check_unknown=True)
        assert _same_batch(fast, from_records_reference(rows, check_unknown=True)), extra

"""A few records read value by value give the batch the whole-column reader gives.

``from_records`` reads up to ``SMALL_MAX_ROWS`` records in plain Python (clean converters, then
rule checks that build the batch only when no rule finds anything); ``from_records_reference``
is the general path. Every comparison here is of the whole batch: every column, ragged values and
offsets, errors, warnings, issues (code, field, rows, detail, in order), messages.
"""

from __future__ import annotations

import copy
import functools
import math
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import fraudscore
import fraudscore.io
from fraudscore._convert import clean_from_python, from_python
from fraudscore.io import SMALL_MAX_ROWS, from_records, from_records_reference
from fraudscore.ragged import Ragged
from fraudscore.schema import FIELD_BY_NAME, FIELDS, KIND_VOCABULARIES, SERIES

sys.path.insert(0, str(Path(__file__).resolve().parent))  # the hostile strategies (tests import in importlib mode)
from test_readers_fuzz import anything, hostile_record, hostile_rows, typed_batch  # noqa: E402
from test_scorer import _set  # noqa: E402  (a deep copy with one dotted path set)


def _identical(a, b) -> bool:
    """Same data, codes, warnings, issues in the same order, messages and source rows."""
    if not (a.equals(b) and a.messages().tolist() == b.messages().tolist() and a.unknown_fields == b.unknown_fields):
        return False
    if not np.array_equal(a.source_row, b.source_row) or len(a.issues) != len(b.issues):
        return False
    for x, y in zip(a.issues, b.issues):
        if (x.code, x.field, x.detail) != (y.code, y.field, y.detail) or not np.array_equal(x.rows, y.rows):
            return False
    for f in FIELDS:  # dtypes too (equals compares values only)
        x, y = a.column(f.name), b.column(f.name)
        x, y = (x.values, y.values) if isinstance(x, Ragged) else (x, y)
        if x.dtype != y.dtype or x.shape != y.shape:
            return False
    return True


def _assert_same(records):
    small = from_records(records)
    assert _identical(small, from_records_reference(records)), records


@functools.lru_cache(maxsize=1)
def _simulated() -> tuple:
    return tuple(fraudscore.simulate(120, seed=7, output="records").records)


def simulated(i: int) -> dict:
    return copy.deepcopy(_simulated()[i % len(_simulated())])


def full(i: int = 0) -> dict:
    """The ``i``-th simulated record with both consents and pointer, scroll and key telemetry."""
    def complete(r):
        t = r.get("telemetry") or {}
        return (r["consent"] == {"usage": True, "analytics": True} and r.get("network")
                and all(len((t.get(s) or {}).get("t") or ()) > 2 for s in ("pointer", "scroll", "keys")))
    return copy.deepcopy([r for r in _simulated() if complete(r)][i])


# --------------------------------------------------------------------------- whole batches

@given(hostile_rows)
def test_hostile_rows_read_the_same_as_the_general_path(rows):
    _assert_same(rows)


@given(st.lists(hostile_record, min_size=1, max_size=6))
def test_hostile_objects_read_the_same_as_the_general_path(rows):
    _assert_same(rows)


@given(typed_batch)
def test_typed_rows_read_the_same_as_the_general_path(records):
    _assert_same(records)


def test_simulated_records_one_at_a_time_and_in_small_batches_read_the_same():
    records = list(_simulated())
    for r in records:
        _assert_same([r])
    for size in (2, 3, 7, SMALL_MAX_ROWS):
        for start in range(0, len(records) - size + 1, size):
            _assert_same(records[start:start + size])


def test_clean_simulated_records_take_the_value_by_value_path(monkeypatch):
    """Guards the speed-up itself: no whole-column converter or rule runs for a clean record."""
    def refuse(*args, **kwargs):
        raise AssertionError("general path used")

    monkeypatch.setattr(fraudscore.io, "assemble", refuse)
    monkeypatch.setattr(fraudscore.io, "from_python", refuse)
    for i in range(3):
        batch = from_records([full(i)])
        assert batch.n == 1 and batch.error[0] == 0 and batch.warnings[0] == 0


# --------------------------------------------------------------------------- clean types, findings

def _edit(record: dict, path: str, fn) -> dict:
    *parents, leaf = path.split(".")
    d = record
    for p in parents:
        d = d.get(p) if isinstance(d, dict) else None
    if isinstance(d, dict) and d.get(leaf) is not None:
        d[leaf] = fn(d[leaf])
    return record


def _reverse(v):
    return list(reversed(v))


def _shorter(v):
    return v[:-1]


def _with_nan(v):
    return (v[:1] + [math.nan] + v[2:]) if v else [math.nan]


_NUMERIC = [f.name for f in FIELDS if f.dtype in ("float", "int")]
_LISTS = [f.name for f in FIELDS if f.dtype in ("float_list", "likert_list")]
_TEXTS = [f.name for f in FIELDS if f.dtype == "string"]
_SERIES_MEMBERS = [m for members in SERIES.values() for m in members]

#: Each draws one change to a clean simulated record: well-typed values that some rule flags.
mutation = st.one_of(
    st.tuples(st.sampled_from(_NUMERIC), st.sampled_from([-1e9, -1.0, 0.0, 0.5, 1.5, 7, 1e9, math.inf, -math.inf,
                                                           math.nan, None, "3", True])).map(lambda p: ("set", *p)),
    st.tuples(st.sampled_from(_SERIES_MEMBERS + _LISTS), st.sampled_from([_reverse, _shorter, _with_nan]))
    .map(lambda p: ("edit", *p)),
    st.tuples(st.sampled_from(["telemetry.item_ms", "answers.likert"]),
              st.lists(st.sampled_from([-5.0, 0.0, 2.0, 3.5, 7.0, 1e12, None, math.inf]), max_size=4))
    .map(lambda p: ("set", *p)),
    st.tuples(st.sampled_from([k for k in KIND_VOCABULARIES]), st.sampled_from(["swipe", "MOVE", ""]))
    .map(lambda p: ("edit", p[0], lambda v, k=p[1]: v[:1] + [k] + v[2:])),
    st.tuples(st.sampled_from(_TEXTS), st.sampled_from(["", "x" * 3000, 12345, 1.5, "Mars/Olympus", "::1",
                                                        "2001:db8::1", "1.2.3", "01.2.3.4", " 1.2.3.4",
                                                        "::ffff:1.2.3.4", None]))
    .map(lambda p: ("set", *p)),
    st.tuples(st.sampled_from(["started_at", "submitted_at"]),
              st.sampled_from([None, 1_000, 1_750_000_000_000, 4.2e12, "2026-05-01T10:00:00+02:00",
                               "2026-05-01T10:00:00", "soon", math.nan])).map(lambda p: ("set", *p)),
    st.tuples(st.sampled_from(["consent.usage", "consent.analytics"]), st.sampled_from([False, None, 0, "yes"]))
    .map(lambda p: ("set", *p)),
    st.tuples(st.sampled_from(["device.screen", "device.avail_screen"]),
              st.sampled_from([[], [0, 10], [1.5, 2], [1, 2, 3], [10**6, 5], None])).map(lambda p: ("set", *p)),
    st.tuples(st.sampled_from(["device.languages", "answers.text", "device.plugins"]),
              st.sampled_from([[], [""], ["a" * 20_000], [1], [None, "x"], ["x"] * 100])).map(lambda p: ("set", *p)),
)


def _mutate(record: dict, change) -> dict:
    kind, path, value = change
    return _set(record, path, value) if kind == "set" else _edit(record, path, value)


@given(st.lists(st.tuples(st.integers(0, 119), st.lists(mutation, max_size=3)), min_size=1, max_size=5))
@settings(max_examples=150)
def test_well_typed_records_with_findings_read_the_same_as_the_general_path(rows):
    records = []
    for i, changes in rows:
        r = simulated(i)
        for change in changes:
            r = _mutate(r, change)
        records.append(r)
    _assert_same(records)


#: One change per rule of the batch, each with the code it must give: the quiet checks are each seen
#: to give up (a check that never gives up would pass the random tests above too rarely to notice).
ONE_FINDING_EACH = [
    (("set", "device.pixel_ratio", math.inf), "NOT_FINITE"),
    (("set", "device.pixel_ratio", math.nan), "NOT_FINITE"),
    (("set", "device.pixel_ratio", 99.0), "OUT_OF_RANGE"),
    (("set", "device.hardware_concurrency", 2.5), "INVALID_TYPE"),
    (("set", "device.screen", [0, 10]), "OUT_OF_RANGE"),
    (("set", "device.screen", [1.5, 10]), "INVALID_TYPE"),
    (("set", "device.screen", [1, 2, 3]), "INVALID_TYPE"),
    (("set", "device.platform", ["x"]), "INVALID_TYPE"),
    (("set", "device.platform", "x" * 600), "TRUNCATED_TEXT"),
    (("set", "answers.text", ["a" * 20_000]), "TRUNCATED_TEXT"),
    (("set", "telemetry.item_ms", [1.0] * 1001), "TRUNCATED_LIST"),
    (("set", "device.timezone", "Mars/Olympus"), "INVALID_TIMEZONE"),
    (("set", "network.ip", "999.1.1.1"), "INVALID_IP"),
    (("set", "network.ip", "01.2.3.4"), "INVALID_IP"),
    (("set", "submitted_at", 1_000_000_000_000), "NEGATIVE_DURATION"),
    (("set", "started_at", "2026-05-01T10:00:00"), "TIMESTAMP_WITHOUT_OFFSET"),
    (("set", "telemetry.item_ms", [1.0, -5.0]), "OUT_OF_RANGE"),
    (("set", "telemetry.item_ms", [1.0, math.nan]), "NOT_FINITE"),
    (("set", "answers.likert", [1, 2.5]), "INVALID_LIKERT"),
    (("set", "answers.likert", [1, 5000]), "INVALID_LIKERT"),
    (("edit", "telemetry.pointer.kind", lambda v: ["swipe"] + v[1:]), "UNKNOWN_EVENT_KIND"),
    (("edit", "telemetry.pointer.t", _reverse), "TELEMETRY_UNSORTED"),
    (("edit", "telemetry.keys.t", _shorter), "TELEMETRY_LENGTH_MISMATCH"),
    (("edit", "telemetry.scroll.dy", _with_nan), "TELEMETRY_NOT_FINITE"),
    (("edit", "telemetry.pointer.t", _with_nan), "TELEMETRY_NOT_FINITE"),
    (("edit", "telemetry.keys.t", lambda v: v[:-1] + [math.inf]), "TELEMETRY_NOT_FINITE"),  # still in order
    (("edit", "telemetry.scroll.t", lambda v: [-math.inf] + v[1:]), "TELEMETRY_NOT_FINITE"),
    (("set", "submission_id", ""), "MISSING_SUBMISSION_ID"),
    (("set", "survey_id", None), "MISSING_SURVEY_ID"),
    (("set", "started_at", None), "MISSING_STARTED_AT"),
    (("set", "submitted_at", "soon"), "MISSING_SUBMITTED_AT"),
]


@pytest.mark.parametrize("change,code", ONE_FINDING_EACH, ids=[f"{c[1]}-{code}" for c, code in ONE_FINDING_EACH])
def test_each_rule_finds_its_code_as_in_the_general_path(change, code):
    r = _mutate(full(), change)
    batch = from_records([r])
    assert code in (batch.warning_names()[0] + [batch.error_names()[0]]), batch.messages()
    _assert_same([r])
    _assert_same([full(1), r, full(2)])


def test_a_repeated_submission_id_in_a_small_batch_is_found():
    a, b = full(0), full(1)
    b["submission_id"] = a["submission_id"]
    batch = from_records([a, b])
    assert batch.warning_names()[1] == ["DUPLICATE_SUBMISSION_ID"]
    _assert_same([a, b])


def test_records_without_consent_are_blanked_as_in_the_general_path():
    r = full(3)
    r["consent"] = {"usage": False, "analytics": False}
    batch = from_records([r])
    assert batch.column("device.user_agent")[0] is None and len(batch.column("telemetry.pointer.t").row(0)) == 0
    records = [simulated(i) for i in range(6)]
    for i, r in enumerate(records):
        r["consent"] = {"usage": i % 2 == 0, "analytics": i % 3 == 0}
    _assert_same(records)


# --------------------------------------------------------------------------- the converters alone

def _values_for(f):
    """Hostile values, plus values of the field's own type so that the clean branch runs."""
    own = {
        "string": st.one_of(st.text(max_size=8), st.text(min_size=(f.max_len or 1) - 1, max_size=(f.max_len or 1) + 1)),
        "timestamp": st.one_of(st.integers(946_684_800_000 - 2, 4_102_444_800_000 + 2),
                               st.floats(9e11, 5e12), st.just("2026-05-01T10:00:00+02:00")),
        "float": st.floats(), "int": st.integers(-2000, 2000), "bool": st.booleans(),
        "int_pair": st.lists(st.one_of(st.integers(-(2**70), 2**70), st.floats(), st.booleans()), max_size=3),
        "string_list": st.lists(st.one_of(st.none(), st.text(max_size=5), st.integers()), max_size=4),
        "float_list": st.lists(st.one_of(st.floats(), st.integers(-(2**70), 2**70), st.none()), max_size=5),
        "likert_list": st.lists(st.one_of(st.integers(-3, 9), st.none(), st.floats()), max_size=5),
        "kind_list": st.lists(st.sampled_from(list(KIND_VOCABULARIES.get(f.name, ("x",))) + ["?", 1]), max_size=5),
    }[f.dtype]
    return st.lists(st.one_of(st.none(), own, anything), min_size=1, max_size=5)


def _flags(column) -> bool:
    return bool(column.invalid.any() or column.truncated.any() or column.no_offset.any() or column.nan_input.any())


@pytest.mark.parametrize("name", [f.name for f in FIELDS])
@settings(max_examples=40)
@given(data=st.data())
def test_clean_converter_equals_from_python_or_gives_up(name, data):
    f = FIELD_BY_NAME[name]
    values = data.draw(_values_for(f))
    clean = clean_from_python(list(values), f)
    reference = from_python(list(values), f)
    if clean is None:
        return
    assert not _flags(reference), values
    ref = reference.data
    if isinstance(ref, Ragged):
        assert isinstance(clean, Ragged) and np.array_equal(clean.offsets, ref.offsets)
        clean, ref = clean.values, ref.values
    assert clean.dtype == ref.dtype and clean.shape == ref.shape
    if ref.dtype.kind == "f":
        assert np.array_equal(clean, ref, equal_nan=True), values
    else:
        assert clean.tolist() == ref.tolist(), values


@pytest.mark.parametrize("f", [f for f in FIELDS if f.dtype != "timestamp"], ids=lambda f: f.name)
def test_clean_converters_accept_their_own_types(f):
    """The clean path is not a path that always gives up (which the equality tests could not see)."""
    value = {"string": "abc", "float": 0.5, "int": 3, "bool": True, "int_pair": [3, 4], "string_list": ["a", "b"],
             "float_list": [1.0, 2.0], "likert_list": [1, None, 3], "kind_list": [k[0] for k in KIND_VOCABULARIES.values()],
             }[f.dtype]
    assert clean_from_python([value, None], f) is not None


# --------------------------------------------------------------------------- the IP shortcut

@given(st.lists(st.integers(0, 255), min_size=4, max_size=4), st.text(alphabet="0123456789. :x", max_size=16))
def test_every_text_the_ipv4_shortcut_accepts_the_address_parser_accepts(octets, text):
    from fraudscore.batch import _PLAIN_IPV4
    from fraudscore.enrich.ip import parse_ips

    for candidate in (".".join(map(str, octets)), text):
        if _PLAIN_IPV4.fullmatch(candidate):
            assert parse_ips(np.array([candidate], dtype=object))[0][0] == 4, candidate


def test_source_rows_are_kept_on_the_value_by_value_path():
    records = [full(i) for i in range(3)]
    rows = np.array([7, 8, 9], dtype=np.int64)
    small = from_records(records, source_row=rows)
    assert small.source_row.tolist() == [7, 8, 9]
    assert _identical(small, from_records_reference(records, source_row=rows))


# --------------------------------------------------------------------------- one record

_GATED_TEXTS = st.sampled_from(["\ud800", "a\udfffb", "x" * 100_000, "", "ok"])


@given(hostile_record)
@settings(max_examples=200)
def test_one_hostile_record_reads_the_same_as_the_general_path(record):
    _assert_same([record])


@given(st.integers(0, 119), st.lists(mutation, max_size=4), st.sampled_from([True, False, None, "yes", 0]),
       st.sampled_from([True, False, None, "no", 1]), st.lists(st.tuples(st.sampled_from(_TEXTS + ["device.languages",
       "device.plugins", "answers.text", "device.screen", "telemetry.pointer.kind", "device"]),
       st.one_of(_GATED_TEXTS, st.lists(st.one_of(_GATED_TEXTS, st.none(), st.integers()), max_size=3),
                 st.tuples(_GATED_TEXTS), st.just(math.nan))), max_size=3))
@settings(max_examples=200)
def test_one_record_with_findings_consents_and_broken_gated_fields_reads_the_same(i, changes, usage, analytics,
                                                                                 texts):
    """One record takes its own reader, which skips the fields of a consent not given (only their
    texts are looked at, for lone surrogates): the same batch as the general path, whatever they hold."""
    record = simulated(i)
    for change in changes:
        record = _mutate(record, change)
    record = _set(_set(record, "consent.usage", usage), "consent.analytics", analytics)
    for path, value in texts:
        record = _set(record, path, value)
    _assert_same([record])


def test_a_clean_record_takes_the_one_record_path(monkeypatch):
    """Guards the speed-up itself: a clean record alone is read by _from_one_record."""
    def refuse(*args, **kwargs):
        raise AssertionError("few-records path used")

    monkeypatch.setattr(fraudscore.io, "_from_few_records", refuse)
    for i in range(3):
        batch = from_records([full(i)])
        assert batch.n == 1 and batch.error[0] == 0 and batch.warnings[0] == 0


@pytest.mark.parametrize("path", ["device.languages", "device.plugins", "device.user_agent", "network.ip",
                                  "telemetry.pointer.kind", "answers.text"])
@pytest.mark.parametrize("value", [("\ud800",), ["\ud800"], "\ud800", ("ok",), "x" * 100_000])
def test_a_lone_surrogate_in_a_field_without_consent_is_found_as_in_the_general_path(path, value):
    record = _set(_set(full(1), "consent.usage", False), "consent.analytics", False)
    _assert_same([_set(record, path, value)])

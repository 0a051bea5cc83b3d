"""Each validation rule of the input contract, on small hand-built records."""

from __future__ import annotations

import copy
import math

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from fraudscore.codes import Code
from fraudscore.io import InputContainerError, read_batch

GOOD = {
    "submission_id": "s1",
    "survey_id": "survey",
    "respondent_id": "r1",
    "started_at": "2026-05-01T10:00:00+02:00",
    "submitted_at": "2026-05-01T10:07:30+02:00",
    "consent": {"usage": True, "analytics": True},
    "network": {"ip": "81.2.69.160", "accept_language": "en-GB,en;q=0.9"},
    "device": {
        "user_agent": "Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/131.0.0.0 Safari/537.36",
        "screen": [1920, 1080], "pixel_ratio": 1.25, "hardware_concurrency": 8, "timezone": "Europe/London",
        "languages": ["en-GB", "en"], "battery": {"level": 0.5, "charging": False}, "webdriver": False,
    },
    "telemetry": {
        "pointer": {"t": [10.0, 20.0, 30.0], "x": [1.0, 2.0, 3.0], "y": [4.0, 5.0, 6.0], "kind": ["move", "move", "click"]},
        "keys": {"t": [100.0, 180.0], "kind": ["keydown", "keyup"]},
        "item_ms": [4000.0, 5200.0],
    },
    "answers": {"likert": [1, 5, None, 3], "text": ["fine"], "honeypot": ""},
}


def record(**changes):
    """A copy of GOOD with dotted-path changes; a value of ``...`` deletes the field."""
    r = copy.deepcopy(GOOD)
    for path, value in changes.items():
        *parents, leaf = path.split("__")
        d = r
        for p in parents:
            d = d.setdefault(p, {})
        if value is ...:
            d.pop(leaf, None)
        else:
            d[leaf] = value
    return r


def only(batch, row=0):
    return set(batch.warning_names()[row])


def test_a_clean_record_has_no_error_and_no_warning():
    b = read_batch([record()])
    assert b.error.tolist() == [0] and b.warnings.tolist() == [0]
    assert b.messages().tolist() == [None]
    assert b.duration_ms[0] == 450_000


@pytest.mark.parametrize("field,code", [
    ("submission_id", Code.MISSING_SUBMISSION_ID),
    ("survey_id", Code.MISSING_SURVEY_ID),
    ("started_at", Code.MISSING_STARTED_AT),
    ("submitted_at", Code.MISSING_SUBMITTED_AT),
])
def test_a_missing_required_field_is_a_row_error_and_the_batch_goes_on(field, code):
    b = read_batch([record(), record(**{field: ...}), record(submission_id="s3")])
    assert b.error.tolist() == [0, code.value, 0]
    assert b.submission_id[2] == "s3"
    assert field in b.messages()[1]


def test_empty_ids_and_unparseable_timestamps_are_errors_too():
    b = read_batch([record(submission_id=""), record(started_at="yesterday"), record(submitted_at=1714550400)])
    assert b.error_names().tolist() == ["MISSING_SUBMISSION_ID", "MISSING_STARTED_AT", "MISSING_SUBMITTED_AT"]
    assert "epoch milliseconds" in b.messages()[2]  # epoch *seconds* is the usual mistake


def test_iso_with_offset_and_epoch_milliseconds_give_the_same_instant():
    values = ["2026-05-01T10:00:00+02:00", 1777622400000, "1777622400000", "2026-05-01T08:00:00Z", 1777622400000.0]
    b = read_batch([record(submission_id=f"s{i}", started_at=v) for i, v in enumerate(values)])
    assert np.all(b.started_at_ms == 1777622400000.0)
    assert b.warnings.tolist() == [0] * 5


def test_iso_without_offset_is_read_as_utc_with_a_warning():
    b = read_batch([record(started_at="2026-05-01T08:00:00", submitted_at="2026-05-01T08:05:00Z")])
    assert b.started_at_ms[0] == 1777622400000.0
    assert only(b) == {"TIMESTAMP_WITHOUT_OFFSET"}


@pytest.mark.parametrize("path,value,code", [
    ("device__screen", "abc", "INVALID_TYPE"),
    ("device__screen", [1920], "INVALID_TYPE"),
    ("device__screen", [1920, -5], "OUT_OF_RANGE"),
    ("device__pixel_ratio", math.nan, "NOT_FINITE"),
    ("device__pixel_ratio", math.inf, "NOT_FINITE"),
    ("device__pixel_ratio", "fast", "INVALID_TYPE"),
    ("device__battery__level", 7, "OUT_OF_RANGE"),
    ("device__hardware_concurrency", 4.5, "INVALID_TYPE"),
    ("device__webdriver", "maybe", "INVALID_TYPE"),
    ("device__timezone", "Mars/Olympus_Mons", "INVALID_TIMEZONE"),
    ("device__languages", "en-GB", "INVALID_TYPE"),
    ("network__ip", "300.1.2.3", "INVALID_IP"),
    ("network__ip", "not an ip", "INVALID_IP"),
    ("network__ip", "1.2.3", "INVALID_IP"),
    ("device__user_agent", {"nested": "object"}, "INVALID_TYPE"),
])
def test_a_bad_optional_field_becomes_missing_with_a_warning_and_the_rest_is_kept(path, value, code):
    b = read_batch([record(**{path: value})])
    assert b.error[0] == 0
    assert only(b) == {code}
    name = path.replace("__", ".")
    data = b.column(name)
    if hasattr(data, "lengths"):
        assert data.lengths[0] == 0
    elif data.dtype == object:
        assert data[0] is None
    else:
        assert np.isnan(data[0]).all()
    # the other fields of the row survive
    assert b.column("device.hardware_concurrency")[0] in (8.0,) or name == "device.hardware_concurrency"
    assert b.column("network.accept_language")[0] == "en-GB,en;q=0.9"


def test_negative_duration_is_a_warning_and_the_duration_is_missing():
    b = read_batch([record(submitted_at="2026-05-01T09:59:00+02:00")])
    assert b.error[0] == 0 and only(b) == {"NEGATIVE_DURATION"}
    assert np.isnan(b.duration_ms[0])


def test_valid_ipv6_addresses_are_kept():
    ips = ["2001:db8::1", "fe80::1%eth0", "::ffff:1.2.3.4"]
    b = read_batch([record(submission_id=f"s{i}", network__ip=ip) for i, ip in enumerate(ips)])
    assert b.warnings.tolist() == [0, 0, 0]
    assert b.column("network.ip").tolist() == ["2001:db8::1", "fe80::1%eth0", "::ffff:1.2.3.4"]


def test_a_one_megabyte_user_agent_is_truncated_to_the_documented_limit():
    b = read_batch([record(device__user_agent="Mozilla/5.0 " + "A" * 1_000_000)])
    assert len(b.column("device.user_agent")[0]) == 2048
    assert only(b) == {"TRUNCATED_TEXT"}


def test_a_list_of_texts_with_too_many_items_says_so_in_its_message():
    b = read_batch([record(device__languages=["en-US"] * 40)])
    assert b.column("device.languages").lengths[0] == 32
    assert only(b) == {"TRUNCATED_TEXT"}
    assert "more than 32 items or an item longer than 64 characters" in b.messages()[0]


def test_a_million_pointer_events_are_truncated_not_allowed_to_blow_memory():
    n = 1_000_000
    t = np.arange(n, dtype=float).tolist()
    b = read_batch([record(telemetry__pointer={"t": t, "x": t, "y": t, "kind": ["move"] * n})])
    assert b.column("telemetry.pointer.t").lengths[0] == 50_000
    assert b.column("telemetry.pointer.kind").lengths[0] == 50_000
    assert only(b) == {"TRUNCATED_LIST"}


def test_unsorted_telemetry_is_sorted_and_its_parallel_arrays_follow():
    b = read_batch([record(telemetry__pointer={"t": [30.0, 10.0, 20.0], "x": [3.0, 1.0, 2.0], "y": [6.0, 4.0, 5.0],
                                               "kind": ["click", "move", "move"]})])
    assert only(b) == {"TELEMETRY_UNSORTED"}
    assert b.column("telemetry.pointer.t").to_lists() == [[10.0, 20.0, 30.0]]
    assert b.column("telemetry.pointer.x").to_lists() == [[1.0, 2.0, 3.0]]
    assert b.column("telemetry.pointer.kind").to_lists() == [[0, 0, 3]]


def test_a_series_is_in_order_when_each_row_is_however_rows_restart():
    """Only a drop inside a row is disorder, on multi-row batches with empty rows between."""
    from fraudscore.batch import _series_ok
    from fraudscore.ragged import Ragged

    rows = [[5.0, 6.0], [], [1.0, 2.0, 2.0], [], [0.0], [3.0]]
    in_order = Ragged.from_lengths(np.array([t for r in rows for t in r]), np.array([len(r) for r in rows]))
    assert _series_ok([in_order])
    for row, at in ((0, 1), (2, 1), (2, 2)):  # one drop, inside one row
        broken = [list(r) for r in rows]
        broken[row][at] = -1.0
        r = Ragged.from_lengths(np.array([t for x in broken for t in x]), np.array([len(x) for x in broken]))
        assert r.unsorted_rows().tolist() == [i == row for i in range(len(rows))]
        assert not _series_ok([r])
    two_rows = [record(submission_id="a"), record(submission_id="b", telemetry__pointer={
        "t": [5.0, 1.0], "x": [1.0, 2.0], "y": [1.0, 2.0], "kind": ["move", "move"]})]
    b = read_batch(two_rows)
    assert only(b, 0) == set() and only(b, 1) == {"TELEMETRY_UNSORTED"}


def test_unequal_telemetry_lengths_drop_that_series_only():
    b = read_batch([record(telemetry__keys={"t": [1.0, 2.0, 3.0], "kind": ["keydown"]})])
    assert only(b) == {"TELEMETRY_LENGTH_MISMATCH"}
    assert b.column("telemetry.keys.t").lengths[0] == 0
    assert b.column("telemetry.pointer.t").lengths[0] == 3


def test_non_finite_telemetry_drops_the_series():
    b = read_batch([record(telemetry__pointer__x=[1.0, math.nan, 3.0])])
    assert only(b) == {"TELEMETRY_NOT_FINITE"}
    assert b.column("telemetry.pointer.t").lengths[0] == 0


def test_unknown_event_kinds_are_coded_minus_one():
    b = read_batch([record(telemetry__keys={"t": [1.0, 2.0], "kind": ["keydown", "KeyA"]})])
    assert only(b) == {"UNKNOWN_EVENT_KIND"}
    assert b.column("telemetry.keys.kind").to_lists() == [[0, -1]]


def test_likert_nulls_are_skips_and_impossible_answers_become_skips_with_a_warning():
    b = read_batch([record(), record(submission_id="s2", answers__likert=[1, 2.5, "x", 4])])
    assert b.column("answers.likert").row(0).tolist()[:2] == [1.0, 5.0]
    assert np.isnan(b.column("answers.likert").row(0)[2])
    assert b.warnings[0] == 0
    assert only(b, 1) == {"INVALID_LIKERT", "INVALID_TYPE"}
    row = b.column("answers.likert").row(1)
    assert row[0] == 1.0 and np.isnan(row[1]) and np.isnan(row[2]) and row[3] == 4.0


def test_without_usage_consent_device_and_network_fields_are_not_read():
    b = read_batch([record(consent={"analytics": True}),
                    record(submission_id="s2", consent={"usage": False, "analytics": True}, device__screen="abc")])
    for row in (0, 1):
        assert b.column("device.user_agent")[row] is None
        assert b.column("network.ip")[row] is None
        assert np.isnan(b.column("device.screen")[row]).all()
        assert b.column("device.languages").lengths[row] == 0
        assert b.column("telemetry.pointer.t").lengths[row] == 3  # analytics consent given
    # a broken field that may not be read is not reported either
    assert b.warnings.tolist() == [0, 0]
    assert not b.consent_usage.any() and b.consent_analytics.all()


def test_without_analytics_consent_no_telemetry_is_kept():
    b = read_batch([record(consent={"usage": True})])
    for name in ("telemetry.pointer.t", "telemetry.keys.kind", "telemetry.item_ms"):
        assert b.column(name).lengths[0] == 0
    assert b.column("device.user_agent")[0] is not None
    assert b.column("answers.likert").lengths[0] == 4  # answers need no extra consent


def test_a_scalar_where_an_object_belongs_makes_its_fields_missing_with_a_warning():
    b = read_batch([record(device="iPhone 15")])
    assert b.error[0] == 0 and only(b) == {"INVALID_TYPE"}
    assert b.column("device.user_agent")[0] is None
    assert b.column("network.ip")[0] == "81.2.69.160"


def test_rows_that_are_not_objects_keep_their_place():
    b = read_batch([record(submission_id="a"), "oops", None, 42, record(submission_id="e")])
    assert b.n == 5
    assert b.error_names().tolist() == [None, "NOT_AN_OBJECT", "NOT_AN_OBJECT", "NOT_AN_OBJECT", None]
    assert b.submission_id.tolist() == ["a", None, None, None, "e"]
    assert b.messages()[1] == "NOT_AN_OBJECT: the record is not a JSON object"


def test_numeric_ids_are_read_as_text_and_duplicate_ids_are_flagged():
    b = read_batch([record(submission_id=17), record(submission_id="17")])
    assert b.submission_id.tolist() == ["17", "17"]
    assert b.warning_names()[1] == ["DUPLICATE_SUBMISSION_ID"] and b.warnings[0] == 0


def test_unknown_fields_are_listed_when_asked():
    b = read_batch([record(device__useragent="x", extra_top="y")], check_unknown=True)
    assert b.unknown_fields == ("device.useragent", "extra_top")
    assert read_batch([record(device__useragent="x")]).unknown_fields == ()


@pytest.mark.parametrize("container", [
    {"submission_id": "just one dict"}, "a string", 42, 3.5, b"bytes", None,
])
def test_only_a_wrong_container_raises_and_says_what_is_expected(container):
    with pytest.raises(InputContainerError, match="expected"):
        read_batch(container)


def test_empty_inputs_give_empty_batches():
    assert read_batch([]).n == 0
    assert read_batch(pd.DataFrame()).n == 0
    assert read_batch(pa.table({})).n == 0


def test_a_missing_file_raises_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError):
        read_batch(tmp_path / "nope.jsonl")
    with pytest.raises(InputContainerError):
        (tmp_path / "data.xlsx").write_text("x")
        read_batch(tmp_path / "data.xlsx")


def test_a_generator_of_records_is_records():
    b = read_batch(record(submission_id=f"g{i}") for i in range(3))
    assert b.submission_id.tolist() == ["g0", "g1", "g2"]


@pytest.mark.parametrize("n_other", [0, 40, 4_200])  # the few-records, the general and the Arrow records path
def test_a_lone_surrogate_in_any_text_is_replaced_and_flagged_not_allowed_to_lose_the_batch(n_other):
    bad = record(submission_id="s\ud800", respondent_id="\udfff", device__cookie_id="c\ud800",
                 device__languages=["en\udc00"], answers__text=["\ud800 hi", "ok \ud83d\ude00"])
    b = read_batch([bad] + [record(submission_id=f"o{i}") for i in range(n_other)])
    assert b.n == n_other + 1
    assert b.column("submission_id")[0] == "s\ufffd"
    assert b.column("device.cookie_id")[0] == "c\ufffd"
    assert list(b.column("answers.text").values[:2]) == ["\ufffd hi", "ok \U0001F600"]  # a pair is one character
    assert "INVALID_UNICODE" in only(b)
    assert all(not w for w in b.warning_names()[1:])


def test_rows_of_a_batch_equal_reading_those_records_alone():
    import fraudscore

    sim = fraudscore.simulate(40, seed=3, output="records")
    records = sim.records
    records[5] = {**records[5], "network": {"ip": "not an ip"}}  # an issue inside the chunk
    records[30] = {**records[30], "submitted_at": "yesterday"}  # and one outside it
    whole = fraudscore.read_batch(records)
    part = whole.rows(4, 12)
    alone = fraudscore.read_batch(records[4:12])
    assert part.equals(alone)
    assert part.messages().tolist() == alone.messages().tolist()
    assert part.source_row.tolist() == list(range(4, 12))
    assert whole.rows(38, 99).n == 2 and whole.rows(10, 10).n == 0


_ADDRESS_LIKE = ["1.2.3.4", "255.255.255.255", "256.1.1.1", "01.2.3.4", "1.2.3.4\n", " 1.2.3.4", "1.2.3", "::1",
                 "2001:db8::1", "::ffff:1.2.3.4", "1.2.3.4/24", "\u0661.2.3.4", "x", "0.0.0.0", "1..2.3"]


def test_the_whole_column_ip_check_equals_the_address_parser():
    from hypothesis import given, settings
    from hypothesis import strategies as st

    from fraudscore.batch import _valid_ips, valid_ip_mask

    texts = st.one_of(st.none(), st.sampled_from(_ADDRESS_LIKE), st.text(alphabet="0123456789.:af \n", max_size=16))

    @settings(max_examples=60, deadline=None)
    @given(st.lists(texts, min_size=65, max_size=90))
    def check(values):
        ips = np.array(values, dtype=object)
        assert _valid_ips(ips, pd.notna(ips)).tolist() == valid_ip_mask(ips).tolist()

    check()
    ips = np.array(_ADDRESS_LIKE * 5, dtype=object)
    expected = valid_ip_mask(ips)
    assert expected.any() and not expected.all()
    assert _valid_ips(ips, pd.notna(ips)).tolist() == expected.tolist()


@pytest.mark.parametrize("n", [1, 40, 5000])  # one record, the general reader, the Arrow records path
def test_a_lone_surrogate_in_a_timestamp_is_an_invalid_timestamp_not_a_lost_batch(n):
    rows = [record(submission_id=f"s{i}", started_at="2026-05-01T10:00\ud800" if i % 2 or n == 1 else GOOD["started_at"])
            for i in range(n)]
    b = read_batch(rows)
    assert b.error_names()[:2].tolist() == (["MISSING_STARTED_AT"] if n == 1 else [None, "MISSING_STARTED_AT"])


def _not_utf8(values: list, text_type=pa.string()) -> pa.Array:
    """A string array holding bytes that are not UTF-8 (as a binary column viewed as text, or a
    file written unchecked, gives): pyarrow builds it and fails only when a value becomes a str."""
    binary = pa.large_binary() if text_type == pa.large_string() else pa.binary()
    return pa.array(values, binary).view(text_type)


@pytest.mark.parametrize("text_type", [pa.string(), pa.large_string()])
def test_arrow_text_that_is_not_utf8_is_replaced_and_flagged_not_allowed_to_lose_the_batch(text_type):
    rows = [record(submission_id=f"s{i}") for i in range(4)]
    table = pa.Table.from_pylist(rows)
    flat = table.flatten().flatten()
    flat = flat.set_column(flat.schema.get_field_index("device.user_agent"), "device.user_agent",
                           _not_utf8([b"Mozilla/5.0 ok", b"bad \xff\xfe", None, b"fine"], text_type))
    flat = flat.set_column(flat.schema.get_field_index("submission_id"), "submission_id",
                           _not_utf8([b"s0", b"s1", b"s\xc3", b"s3"], text_type))
    binary = pa.large_binary() if text_type == pa.large_string() else pa.binary()
    texts = pa.array([[b"hi"], [b"ok"], [b"x \xe2\x82"], []], pa.list_(binary)).view(pa.list_(text_type))
    flat = flat.set_column(flat.schema.get_field_index("answers.text"), "answers.text", texts)
    b = read_batch(flat)
    assert b.n == 4 and b.error_names().tolist() == [None] * 4
    assert b.column("device.user_agent").tolist() == ["Mozilla/5.0 ok", "bad \ufffd\ufffd", None, "fine"]
    assert b.column("submission_id").tolist() == ["s0", "s1", "s\ufffd", "s3"]
    assert b.column("answers.text").values.tolist() == ["hi", "ok", "x \ufffd\ufffd"]
    assert [("INVALID_UNICODE" in w) for w in b.warning_names()] == [False, True, True, False]
    assert b.column("device.pixel_ratio").tolist() == [1.25] * 4  # the rows keep their other fields


def test_an_arrow_timestamp_text_that_is_not_utf8_is_an_invalid_timestamp():
    table = pa.Table.from_pylist([record(submission_id=f"s{i}") for i in range(3)])
    table = table.set_column(table.schema.get_field_index("started_at"), "started_at",
                             _not_utf8([GOOD["started_at"].encode(), b"2026-05-01T10:00\xff", None]))
    assert read_batch(table).error_names().tolist() == [None, "MISSING_STARTED_AT", "MISSING_STARTED_AT"]

"""The Arrow and few-values paths of Observations.from_raw give the hashes the pandas path gave (stored keys keep matching)."""

from __future__ import annotations

import re
import sys
from dataclasses import fields

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fraudscore.history import Observations
from fraudscore.history import observations as obs_module
from fraudscore.history.observations import _FEW, hash_values, ip_prefix_text, normalise_text
from fraudscore.secret import derive_key, get_secret, keyed_hash

SECRET = "history-tests-secret-0123456789abcdef"
KEY = derive_key(get_secret(SECRET), "text")

#: Characters where a bulk implementation would most likely part from Python's: every whitespace
#: Python knows and some it does not, case folds that change length (ß, ﬃ, ǰ), context-free sigma,
#: the dotted capital I, combining marks, the join separator itself, astral characters.
HOSTILE = ("\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u200a\u2028\u2029\u202f\u205f\u3000"
           "\u180e\u200b\ufeff\x00ßẞﬃǰΣσςİıǅ\u0345Ꭰ\U0001d400\U00010400AZaz0 .é")


def _general(monkeypatch):
    """Make every call below take the pandas path (what the code did before the Arrow, few-values
    and one-row paths)."""
    monkeypatch.setattr(obs_module, "_text_array", lambda values: None)
    monkeypatch.setattr(obs_module, "_few_strings", lambda values: None)
    monkeypatch.setattr(Observations, "_from_raw_one", classmethod(lambda cls, *args: None))


def _by_definition(value):
    """normalise_text's documented meaning for one value."""
    if value is None or value != value or value == "":
        return None
    return re.sub(r"\s+", " ", value.casefold()).strip() or None


_value = st.one_of(st.none(), st.just(float("nan")), st.just(""),
                   st.text(alphabet=st.sampled_from(HOSTILE), max_size=12),
                   st.text(st.characters(blacklist_categories=("Cs",)), max_size=12))
#: Up to _FEW values take the few-values path, more the Arrow path: both, equally often.
texts = st.one_of(st.lists(_value, max_size=_FEW), st.lists(_value, min_size=_FEW + 1, max_size=60))


def test_whitespace_class_is_pythons_whitespace_on_every_code_point():
    import pyarrow as pa
    import pyarrow.compute as pc

    code_points = [c for c in range(sys.maxunicode + 1) if not 0xD800 <= c <= 0xDFFF]
    chars = pa.array([chr(c) for c in code_points])
    matched = pc.match_substring_regex(chars, f"^[{obs_module._WHITESPACE_BUT_SPACE}]$").to_numpy(zero_copy_only=False)
    expected = np.array([chr(c).isspace() and c != 0x20 for c in code_points])
    assert np.array_equal(matched, expected)


@settings(max_examples=300, deadline=None)
@given(texts)
def test_bulk_normalise_text_equals_the_pandas_path_and_the_definition(values):
    bulk = normalise_text(np.array(values, dtype=object)).tolist()
    assert bulk == [_by_definition(v) for v in values]
    with pytest.MonkeyPatch.context() as mp:
        _general(mp)
        assert normalise_text(np.array(values, dtype=object)).tolist() == bulk


@settings(max_examples=200, deadline=None)
@given(texts)
def test_bulk_hashes_equal_the_pandas_path_for_every_kind(values):
    n = len(values)
    ips = [v if i % 3 else f"10.{i % 7}.{i % 5}.{i}" for i, v in enumerate(values)]  # some real addresses
    ids = [f"s{i}" for i in range(n)]

    def observe():
        return Observations.from_raw(ids, ["survey"] * n, [0] * n, cookie=values, ip=ips, respondent_id=values,
                                     text=values, secret=SECRET)

    bulk = observe()
    with pytest.MonkeyPatch.context() as mp:
        _general(mp)
        general = observe()
    for name in ("survey_key", "cookie", "ip", "ip_prefix", "respondent", "text"):
        assert getattr(bulk, name).tolist() == getattr(general, name).tolist(), name
    missing = [v is None or v != v or v == "" for v in values]
    one_by_one = [int(keyed_hash(np.array([v], dtype=object), KEY)[0]) or 1 for v in values]
    assert hash_values(np.array(values, dtype=object), KEY).tolist() == [
        0 if m else h for m, h in zip(missing, one_by_one)]


def test_text_that_folds_to_whitespace_only_or_nothing_is_missing():
    values = ["  \u3000\t", "", None, float("nan"), "\x85", "A"] * 4
    assert normalise_text(values).tolist() == [None, None, None, None, None, "a"] * 4
    obs = Observations.from_raw([f"s{i}" for i in range(24)], ["v"] * 24, [0] * 24, text=values, secret=SECRET)
    assert obs.text.tolist()[:5] == [0] * 5 and obs.text[5] != 0


def test_a_row_holding_the_join_separator_is_folded_alone():
    values = ["Straße\x00ÉCOLE", "ÉTÉ", "ﬃ\x00"] * 7
    assert normalise_text(values).tolist() == ["strasse\x00école", "été", "ffi\x00"] * 7


def test_non_string_values_take_the_pandas_path_with_its_meaning():
    values = np.array([1, 2.5, b"x", "A  b", None] * 5, dtype=object)
    assert normalise_text(values).tolist() == obs_module._normalise_text_general(values).tolist()
    assert normalise_text(values).tolist()[:5] == ["1", "2.5", "x", "a b", None]
    assert hash_values(values, KEY).tolist() == obs_module._hash_values_general(values, KEY).tolist()


@pytest.mark.parametrize("n", [1, _FEW + 1])
def test_lone_surrogates_still_refuse_to_hash_as_before(n):
    with pytest.raises(UnicodeEncodeError):
        hash_values(["ok"] * (n - 1) + ["\udc80"], KEY)


#: Hashes written by fraudscore before the Arrow path (pandas path, this secret): stores on disk
#: hold these, so they may never change.
PINNED = {
    "survey_key": [9227101780933729581] * 6,
    "cookie": [15714359682656342557, 4461362023385718217, 0, 0, 8947181917140721967, 3187798679618772202],
    "ip": [0, 0, 0, 0, 12758110129614399845, 15279273276030384270],
    "ip_prefix": [0, 0, 0, 0, 7921138037253371325, 15456661867012597783],
    "respondent": [12824556467589549811, 9120453334301772902, 0, 0, 2617192788813682703, 17186212342718759339],
    "text": [7350906250276904666, 16324933963918486737, 0, 0, 2305145555691401673, 8218637488522928087],
}


@pytest.mark.parametrize("repeat", [1, 4], ids=["6-rows", "24-rows"])
def test_hashes_are_the_ones_stored_before(repeat):
    values = ["Great  SURVEY\n", "  Straße\u00a0\u2003ÉCOLE ", None, "", "10.1.2.3", "2001:db8::1"] * repeat
    n = len(values)
    obs = Observations.from_raw([f"s{i}" for i in range(n)], ["survey"] * n, [0] * n, cookie=values, ip=values,
                                respondent_id=values, text=values, secret=SECRET)
    for name, expected in PINNED.items():
        assert getattr(obs, name).tolist() == expected * repeat, name


def test_ip_texts_are_the_same_on_both_paths():
    texts = ["10.1.2.3", " 10.1.2.3", "2001:db8::1", "::ffff:10.1.2.9", "x", "", None, "1.2.3.04"] * 3
    address, prefix = ip_prefix_text(texts)
    with pytest.MonkeyPatch.context() as mp:
        _general(mp)
        assert ip_prefix_text(texts)[0].tolist() == address.tolist()
        assert ip_prefix_text(texts)[1].tolist() == prefix.tolist()


@pytest.mark.parametrize("ids", [["a", None], ["a", ""], ["a", 3], [np.nan, "b"]])
def test_submission_ids_must_still_be_non_empty_strings(ids):
    with pytest.raises(ValueError):
        Observations.from_hashes(ids, [0, 0], 1)


#: Addresses of every shape the one-row path formats itself: IPv4 (with spaces, leading zeros,
#: out of range), IPv6 (compressed, zone ids, IPv4-mapped, all zeros), junk.
_address = st.one_of(
    st.ip_addresses().map(str), st.ip_addresses(v=6).map(lambda a: a.exploded),
    st.ip_addresses(v=4).map(lambda a: f" ::ffff:{a} "), st.ip_addresses(v=6).map(lambda a: f"{a}%eth0"),
    st.sampled_from(["1.2.3.04", "256.1.1.1", "::", "::1", "1::", "x", "", " 10.0.0.1\n", "1.2.3"]), _value)


@settings(max_examples=300, deadline=None)
@given(sid=st.one_of(st.just("s1"), st.just(""), st.none(), st.integers(0, 9)), survey=_value, cookie=_value,
       ip=_address, respondent=_value, text=_value, device=st.integers(0, 2**64 - 1))
def test_one_row_from_raw_gives_the_general_paths_hashes(sid, survey, cookie, ip, respondent, text, device):
    def observe():
        return Observations.from_raw([sid], [survey], [1_700_000_000_000], device_id=[device], link_id=[device // 3],
                                     cookie=[cookie], ip=[ip], respondent_id=[respondent], text=[text],
                                     secret=SECRET)

    try:
        one = observe()
    except (ValueError, TypeError) as exc:  # a bad submission id: refused on both paths alike
        with pytest.MonkeyPatch.context() as mp, pytest.raises(type(exc)):
            _general(mp)
            observe()
        return
    with pytest.MonkeyPatch.context() as mp:
        _general(mp)
        general = observe()
    for f in fields(Observations):
        a, b = getattr(one, f.name), getattr(general, f.name)
        assert a.dtype == b.dtype and a.shape == b.shape and a.tolist() == b.tolist(), f.name


def test_one_row_from_raw_takes_the_one_row_path_for_text_values():
    # (else the property test above would compare the general path with itself)
    one = Observations._from_raw_one(np.array(["s"], dtype=object), ["v"], [0], None, None, ["c"], ["10.1.2.3"],
                                     [None], ["Some text"], get_secret(SECRET))
    assert one is not None and one.ip[0] != 0 and one.cookie[0] != 0 and one.respondent[0] == 0
    assert Observations._from_raw_one(np.array(["s"], dtype=object), [3], [0], None, None, None, None, None, None,
                                      get_secret(SECRET)) is None  # a number: the general path's str() meaning


def test_one_row_hashes_are_the_ones_stored_before():
    values = ["Great  SURVEY\n", "  Straße\u00a0\u2003ÉCOLE ", None, "", "10.1.2.3", "2001:db8::1"]
    for i, value in enumerate(values):
        obs = Observations.from_raw(["s"], ["survey"], [0], cookie=[value], ip=[value], respondent_id=[value],
                                    text=[value], secret=SECRET)
        for name, expected in PINNED.items():
            assert obs.__getattribute__(name).tolist() == [expected[i]], (name, value)


def test_a_lone_surrogate_in_one_row_still_refuses_to_hash():
    with pytest.raises(UnicodeEncodeError):
        Observations.from_raw(["s"], ["survey"], [0], cookie=["\udc80"], secret=SECRET)

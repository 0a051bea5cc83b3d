"""Building Observations from raw values: keyed, per-purpose hashes; no raw value survives."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from fraudscore.history import Observations
from fraudscore.history.observations import ip_prefix_text, normalise_text
from fraudscore.secret import DevelopmentSecretWarning

SECRET = "history-tests-secret-0123456789abcdef"
T = 1_800_000_000_000


def raw(**kwargs):
    n = len(next(iter(kwargs.values())))
    return Observations.from_raw([f"s{i}" for i in range(n)], ["survey"] * n, [T] * n, secret=SECRET, **kwargs)


def test_ip_prefix_is_the_slash24_for_ipv4_and_slash48_for_ipv6():
    address, prefix = ip_prefix_text(["10.1.2.3", "2001:db8:abcd:12::1", "::ffff:10.1.2.9", "not an ip", None, ""])
    assert prefix.tolist() == ["10.1.2.0/24", "2001:db8:abcd::/48", "10.1.2.0/24", None, None, None]
    assert address.tolist()[:3] == ["10.1.2.3", "2001:db8:abcd:12::1", "10.1.2.9"]


def test_same_network_shares_the_prefix_hash_but_not_the_ip_hash():
    obs = raw(ip=["10.1.2.3", "10.1.2.200", "10.1.3.3"])
    assert obs.ip_prefix[0] == obs.ip_prefix[1] != obs.ip_prefix[2]
    assert len(set(obs.ip.tolist())) == 3


def test_equivalent_ipv6_spellings_hash_alike():
    obs = raw(ip=["2001:db8::1", "2001:0db8:0000::0001"])
    assert obs.ip[0] == obs.ip[1]


def test_missing_and_invalid_values_hash_to_zero():
    obs = raw(cookie=[None, "", "c1"], ip=["", "999.1.1.1", None], respondent_id=[np.nan, None, "r"],
              text=["   ", None, "hi"])
    assert obs.cookie.tolist()[:2] == [0, 0] and obs.cookie[2] != 0
    assert obs.ip.tolist() == [0, 0, 0] and obs.ip_prefix.tolist() == [0, 0, 0]
    assert obs.respondent.tolist()[:2] == [0, 0]
    assert obs.text.tolist()[:2] == [0, 0] and obs.text[2] != 0


def test_text_hash_ignores_case_and_spacing():
    assert normalise_text(["  Great   SURVEY\n", None]).tolist() == ["great survey", None]
    obs = raw(text=["Great survey", "  great   SURVEY "])
    assert obs.text[0] == obs.text[1]


def test_one_raw_value_hashes_differently_per_purpose():
    obs = raw(cookie=["same"], respondent_id=["same"], text=["same"])
    assert len({int(obs.cookie[0]), int(obs.respondent[0]), int(obs.text[0])}) == 3


def test_hashes_depend_on_the_secret():
    a = Observations.from_raw(["s"], ["v"], [T], cookie=["c"], secret=SECRET)
    b = Observations.from_raw(["s"], ["v"], [T], cookie=["c"], secret=SECRET + "x")
    assert a.cookie[0] != b.cookie[0]


def test_development_secret_warns(monkeypatch):
    monkeypatch.delenv("FRAUDSCORE_SECRET", raising=False)
    with pytest.warns(DevelopmentSecretWarning):
        Observations.from_raw(["s"], ["v"], [T], cookie=["c"])


def test_secret_from_the_environment_does_not_warn(monkeypatch):
    monkeypatch.setenv("FRAUDSCORE_SECRET", SECRET)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        env = Observations.from_raw(["s"], ["v"], [T], cookie=["c"])
    assert env.cookie[0] == raw(cookie=["c"]).cookie[0]


def test_observations_reject_raw_strings_as_keys():
    with pytest.raises(TypeError):
        Observations.from_hashes(["s"], [T], 1, cookie=np.array(["raw-cookie"], dtype=object))
    with pytest.raises(ValueError):
        Observations.from_hashes(["s", "t"], [T], 1)


def test_store_without_a_configured_secret_warns_about_the_development_key(monkeypatch):
    from fraudscore.history import MemoryStore

    monkeypatch.delenv("FRAUDSCORE_SECRET", raising=False)
    with pytest.warns(DevelopmentSecretWarning):
        MemoryStore()

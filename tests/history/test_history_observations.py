"""Building Observations from raw values: keyed, per-purpose hashes; no raw value survives."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

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


def _ipaddress_texts(text):
    """What the previous parser (the standard library's ipaddress, per value) stored for ``text``."""
    import ipaddress

    try:
        address = ipaddress.ip_address(text.strip())
    except ValueError:
        return None, None
    if address.version == 6 and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    network = ipaddress.ip_network(f"{address}/{24 if address.version == 4 else 48}", strict=False)
    return str(address), str(network)


IP_CASES = ["10.1.2.3", " 192.168.0.255 ", "0.0.0.0", "255.255.255.255", "1.2.3.04", "256.1.1.1", "1.2.3",
            "::", "::1", "1::", "2001:db8::1", "2001:0db8:0000:0000:0000:0000:0000:0001", "2001:db8:0:0:1:0:0:1",
            "2001:db8:0:1:0:0:0:1", "2001:0:0:1:0:0:0:1", "fe80::1:0:0:0", "2001:db8:abcd:12::1", "1:0:0:0:0:0:0:0",
            "0:0:0:0:0:0:0:1", "1:2:3:4:5:6:7:8", "1:0:2:0:3:0:4:0", "::ffff:10.1.2.9", "::ffff:0a01:0209",
            "::1.2.3.4", "2001:db8::1.2.3.4", "ABCD:EF01::", "2001:db8:1::/48", "x", "1.2.3.4.5", "", "::g"]


def test_ip_texts_and_hashes_equal_the_ipaddress_parser_they_replace():
    address, prefix = ip_prefix_text(IP_CASES)
    expected = [_ipaddress_texts(text) for text in IP_CASES]
    assert address.tolist() == [e[0] for e in expected]
    assert prefix.tolist() == [e[1] for e in expected]
    obs = raw(ip=IP_CASES)
    from fraudscore.history.observations import hash_values
    from fraudscore.secret import derive_key, get_secret

    key = get_secret(SECRET)
    assert obs.ip.tolist() == hash_values([e[0] for e in expected], derive_key(key, "ip")).tolist()
    assert obs.ip_prefix.tolist() == hash_values([e[1] for e in expected], derive_key(key, "ip_prefix")).tolist()


@given(st.lists(st.one_of(st.ip_addresses(v=4), st.ip_addresses(v=6)).map(str), max_size=50),
       st.lists(st.integers(0, 2**128 - 1), max_size=20))
def test_random_addresses_get_the_ipaddress_texts(addresses, sparse):
    import ipaddress

    # Sparse integers make long and tied zero runs, where "::" placement is easy to get wrong.
    texts = addresses + [ipaddress.IPv6Address(v & 0xFFFF0000FFFF00000000FFFF0000FFFF).exploded for v in sparse]
    address, prefix = ip_prefix_text(texts)
    expected = [_ipaddress_texts(text) for text in texts]
    assert address.tolist() == [e[0] for e in expected]
    assert prefix.tolist() == [e[1] for e in expected]

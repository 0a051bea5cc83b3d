"""fraudscore.enrich.ip: same answers as geoip2fast, strict parsing, hostile input."""

from __future__ import annotations

import ipaddress
import socket
import threading
from importlib import resources

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fraudscore.enrich.ip import _SCALAR_MAX, IPDatabase, IPInfo, parse_ips


@pytest.fixture(scope="module")
def db() -> IPDatabase:
    return IPDatabase.default()


_GLOBAL_UNICAST = ipaddress.IPv6Network("2000::/3")


def _random_v4(rng, n):
    return [str(ipaddress.IPv4Address(int(x))) for x in rng.integers(0, 2**32, n)]


def _random_v6(rng, n):
    # Mostly global unicast (where the data lives), a few from anywhere in the space.
    hi = rng.integers(0x2000 << 48, 0x2C10 << 48, n, dtype=np.uint64)
    hi[: n // 20] = rng.integers(0, 2**63, n // 20, dtype=np.uint64) * 2
    lo = rng.integers(0, 2**63, n, dtype=np.uint64)
    return [str(ipaddress.IPv6Address((int(h) << 64) | int(l))) for h, l in zip(hi, lo)]


def _reference(ips: list[str], data_file: str):
    """geoip2fast's own answers: (country or "", org or "", is_private) per address."""
    from geoip2fast import GeoIP2Fast

    # geoip2fast keeps its tables in module globals: an instance answers correctly only until the
    # next one loads, so each reference runs right after its own load.
    g = GeoIP2Fast(geoip2fast_data_file=data_file)
    out = []
    for ip in ips:
        r = g.lookup(ip)
        country = "" if r.country_code == "--" else r.country_code
        org = "" if r.asn_name in ("<unknown>",) else r.asn_name
        out.append((country, "" if r.is_private else org, bool(r.is_private)))
    return out


def test_matches_geoip2fast_on_10k_random_mixed_addresses(db):
    rng = np.random.default_rng(20261125)
    v4, v6 = _random_v4(rng, 6000), _random_v6(rng, 4000)
    ips = v4 + v6
    order = rng.permutation(len(ips))
    mixed = [ips[i] for i in order]
    # IPv4 is checked against the IPv4 file: geoip2fast's combined file has a bug for IPv4 AS
    # lookups (it sizes IPv4 AS networks with IPv6 prefix arithmetic, so addresses in gaps get the
    # previous network's organisation). Both files hold the same IPv4 networks.
    ref = dict(zip(v4, _reference(v4, "geoip2fast-asn.dat.gz")))
    for ip, r in zip(v6, _reference(v6, "geoip2fast-asn-ipv6.dat.gz")):
        if ipaddress.IPv6Address(ip) not in _GLOBAL_UNICAST:
            # Documented difference: we flag all of IPv6 outside 2000::/3 as special; geoip2fast
            # says "not found". It must hold no country or organisation there either.
            assert r[:2] == ("", "")
            r = ("", "", True)
        ref[ip] = r
    info = db.lookup(np.array(mixed, dtype=object))
    got = list(zip(info.country, info.asn_org, info.is_private.tolist()))
    expected = [ref[ip] for ip in mixed]
    assert got == expected
    assert info.valid.all()
    assert (info.version == np.where([":" in ip for ip in mixed], 6, 4)).all()


def test_well_known_addresses_by_hand(db):
    info = db.lookup(["8.8.8.8", "10.1.2.3", "192.168.0.1", "127.0.0.1", "::1", "fe80::1%eth0",
                      "fd00::5", "2001:db8::1", "::ffff:8.8.8.8", " 8.8.4.4\n"])
    assert info.valid.all()
    assert info.version.tolist() == [4, 4, 4, 4, 6, 6, 6, 6, 4, 4]
    assert info.is_private.tolist() == [False, True, True, True, True, True, True, True, False, False]
    assert info.country.tolist() == ["US", "", "", "", "", "", "", "", "US", "US"]
    assert info.asn_org[0] == "GOOGLE" and info.asn[0] == 15169 and info.is_hosting[0]
    assert not info.is_hosting[1:4].any() and (info.asn[1:8] == 0).all()


def test_network_key_is_the_24_or_48_prefix(db):
    info = db.lookup(["8.8.8.8", "8.8.8.200", "8.8.9.1", "2001:4860:4860::8888", "2001:4860:4860:1::1",
                      "2001:4860:4861::1", "junk", "::ffff:8.8.8.1"])
    k = info.network.tolist()
    assert k[0] == k[1] == k[7] != k[2]
    assert k[3] == k[4] != k[5]
    assert k[6] == 0 and len(set(k[:6])) == 4


def test_curated_hosting_networks_are_flagged_and_residential_are_not(db):
    # One address inside each network, found by asking the data itself (ipv4_ranges).
    s, _, asn = db.ipv4_ranges("DE", hosting=True)
    assert {24940, 51167}.issubset(set(asn.tolist()))  # Hetzner, Contabo
    probe = db.lookup([str(ipaddress.IPv4Address(int(x))) for x in s[:200]])
    assert probe.is_hosting.all() and (probe.country == "DE").all()
    s, _, _ = db.ipv4_ranges("DE", hosting=False)
    probe = db.lookup([str(ipaddress.IPv4Address(int(x))) for x in s[:: max(1, len(s) // 200)]])
    assert not probe.is_hosting.any() and (probe.country == "DE").all()


def test_ipv4_ranges_are_sorted_disjoint_and_public(db):
    s, e, asn = db.ipv4_ranges()
    assert s.dtype == np.uint32 and e.dtype == np.uint32 and asn.dtype == np.int64
    assert (s <= e).all() and (s[1:] > e[:-1]).all()
    rng = np.random.default_rng(1)
    pick = rng.integers(0, len(s), 300)
    addrs = s[pick].astype(np.int64) + (rng.random(300) * (e[pick].astype(np.int64) - s[pick] + 1)).astype(np.int64)
    info = db.lookup([str(ipaddress.IPv4Address(int(x))) for x in addrs])
    assert info.valid.all() and not info.is_private.any() and (info.country != "").all()


@pytest.mark.parametrize("bad", [None, "", "   ", float("nan"), 17, b"8.8.8.8", "garbage", "999.1.1.1",
                                 "1.2.3", "1.2.3.4.5", "01.2.3.4", "1..3.4", "1.2.3.4\x00", "\uff11.2.3.4",
                                 "8.8.8.8/24", ":::", "1:2:3:4:5:6:7:8:9", "x" * 10_000, "1" * 70])
def test_invalid_inputs_give_unknown_outputs(db, bad):
    info = db.lookup(np.array([bad, "8.8.8.8"], dtype=object))
    assert info.valid.tolist() == [False, True]
    assert info.version[0] == 0 and info.country[0] == "" and info.asn[0] == 0
    assert info.asn_org[0] == "" and not info.is_hosting[0] and not info.is_private[0]


def test_rows_are_broadcast_from_uniques_in_input_order(db):
    ips = ["8.8.8.8", "10.0.0.1", "8.8.8.8", None, "10.0.0.1"]
    info = db.lookup(ips)
    assert isinstance(info, IPInfo) and len(info) == 5
    assert info.country.tolist() == ["US", "", "US", "", ""]
    assert info.valid.tolist() == [True, True, True, False, True]


def test_empty_input_gives_empty_arrays(db):
    info = db.lookup([])
    assert len(info) == 0 and info.asn.dtype == np.int64


def test_default_is_one_instance_across_threads():
    seen = []
    threads = [threading.Thread(target=lambda: seen.append(IPDatabase.default())) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len({id(x) for x in seen}) == 1


def test_hosting_list_ships_as_package_data():
    text = (resources.files("fraudscore.enrich") / "data" / "hosting_asns.csv").read_text()
    assert "asn,name,kind,source" in text and "31173 Services AB" in text


def _reference_parse(value) -> tuple[int, int, int, int]:
    """(version, v4, hi, lo) by the standard library, one value at a time: what parse_ips must say.

    Only ``str`` is an address; surrounding whitespace is ignored; IPv4 is what ``ipaddress``
    accepts (strict: four decimal octets, no leading zeros, ASCII digits only); IPv6 is what
    ``inet_pton`` accepts, up to 64 characters, a zone id dropped; IPv4-mapped IPv6 is IPv4.
    """
    if type(value) is not str:
        return 0, 0, 0, 0
    t = value.strip()
    try:
        return 4, int(ipaddress.IPv4Address(t)), 0, 0
    except ValueError:
        pass
    if ":" not in t or len(t) > 64:
        return 0, 0, 0, 0
    try:
        n = int.from_bytes(socket.inet_pton(socket.AF_INET6, t.split("%", 1)[0]), "big")
    except (OSError, ValueError):
        return 0, 0, 0, 0
    mapped = ipaddress.IPv6Address(n).ipv4_mapped
    return (4, int(mapped), 0, 0) if mapped is not None else (6, 0, n >> 64, n & (2**64 - 1))


def _assert_parses_like_reference(values: list):
    expected = [_reference_parse(v) for v in values]
    # The vector path (more than _SCALAR_MAX values) and the one-value path, on the same values.
    filler = ["8.8.8.8"] * (_SCALAR_MAX + 1)
    for got_values, n in ((values + filler, len(values)), *(([v], 1) for v in values[:8])):
        version, v4, hi, lo, _ = parse_ips(np.array(got_values + [None], dtype=object)[:-1])
        got = list(zip(version.tolist(), v4.tolist(), hi.tolist(), lo.tolist()))[:n]
        want = expected[:n] if n > 1 else [_reference_parse(got_values[0])]
        assert got == want, [(v, g, w) for v, g, w in zip(got_values, got, want) if g != w]


_octet = st.one_of(st.integers(0, 255).map(str), st.integers(0, 999).map(str), st.sampled_from(["01", "00", "007", ""]),
                   st.text(alphabet="0123456789", max_size=4),
                   st.sampled_from(["\uff11", "\u0661", "\u00b2", "1\u0301", "\x00", " ", "a", "-1", "+1"]))
_quad_like = st.builds(lambda parts, sep: sep.join(parts), st.lists(_octet, min_size=1, max_size=6),
                       st.sampled_from([".", ".", ".", "..", ":", "\u3002"]))
_padded = st.builds(lambda a, t, b: a + t + b, st.sampled_from(["", "", " ", "\t", "\n ", "\u00a0", "\u2028", "\x00"]),
                    _quad_like, st.sampled_from(["", "", " ", "\r\n", "\u3000", "\x00", "%eth0"]))
_any_value = st.one_of(
    st.integers(0, 2**32 - 1).map(lambda n: str(ipaddress.IPv4Address(n))),
    st.integers(0, 2**128 - 1).map(lambda n: str(ipaddress.IPv6Address(n))),
    st.integers(0, 2**32 - 1).map(lambda n: f"::ffff:{ipaddress.IPv4Address(n)}"),
    _quad_like, _padded, st.text(max_size=20), st.text(alphabet="0123456789.:abcdef% ", max_size=40),
    st.sampled_from(["", "01.2.3.4", "1.2.3", "256.1.1.1", "1.2.3.4.5", "1.2.3.4\x00", "x" * 10_000,
                     "1" * 10_000, ("1.2.3.4 " * 1300)[:10_000], "::", ":::", "fe80::1%eth0", " ::1 "]),
    st.none(), st.floats(), st.integers(), st.binary(max_size=16), st.just(b"8.8.8.8"),
)


@settings(max_examples=400, deadline=None)
@given(st.lists(_any_value, min_size=1, max_size=40))
def test_parser_agrees_with_the_standard_library_on_arbitrary_values(values):
    _assert_parses_like_reference(values)


def test_parser_agrees_with_the_standard_library_on_hostile_values_by_hand():
    values = ["1.2.3.4", "0.0.0.0", "255.255.255.255", "01.2.3.4", "1.2.3.04", "1.2.3", "256.1.1.1", "1.2.3.256",
              "1234.1.1.1", "1..2.3", ".1.2.3", "1.2.3.4.", "", " ", "1.2.3.4\x00", "\x001.2.3.4", "1.2\x00.3.4",
              "\uff11.2.3.4", "\u0661.2.3.4", "\u00b9.2.3.4", " 1.2.3.4", "1.2.3.4\n", "\u00a01.2.3.4\u2028",
              "1 .2.3.4", "1.2.3.4" + " " * 30, "x" * 10_000, "1" * 10_000, "9" * 15, "9" * 16, "." * 15,
              "1.2.3.4/24", "+1.2.3.4", "0x1.2.3.4", "1e2.3.4.5", "é.1.1.1", "1.2.3.4\ud800", "::ffff:8.8.8.8",
              "::1", "2001:db8::1", "fe80::1%eth0", "1:2:3:4:5:6:7:8:9", ":" * 70, None, float("nan"), 17,
              b"8.8.8.8", bytearray(b"8.8.8.8"), np.str_("8.8.8.8")]
    _assert_parses_like_reference(values)
    _assert_parses_like_reference(values[::-1] * 3)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(st.none(), st.text(max_size=80), st.integers(), st.floats()), max_size=30))
def test_arbitrary_values_never_raise(values):
    version, v4, hi, lo, special = parse_ips(np.array(values + [None], dtype=object)[:-1] if values else [])
    assert len(version) == len(values)
    info = IPDatabase.default().lookup(np.array(values, dtype=object) if values else [])
    assert len(info) == len(values)
    assert set(np.unique(info.version).tolist()) <= {0, 4, 6}


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 2**128 - 1))
def test_ipv6_parse_round_trips(n):
    a = ipaddress.IPv6Address(n)
    version, v4, hi, lo, _ = parse_ips([str(a), a.exploded])
    if a.ipv4_mapped is not None:
        assert version.tolist() == [4, 4] and int(v4[0]) == int(a.ipv4_mapped)
    else:
        assert version.tolist() == [6, 6]
        assert (int(hi[0]) << 64 | int(lo[0])) == n and (int(hi[1]) << 64 | int(lo[1])) == n


def test_explicit_data_file_and_custom_hosting_list():
    import geoip2fast

    here = resources.files(geoip2fast)
    custom = "asn,name,kind,source\n15169,GOOGLE,residential,test\n1,Hetzner Online GmbH,vpn,test\n"
    db = IPDatabase(path=str(here / "geoip2fast-asn.dat.gz"), hosting_csv=custom)  # IPv4-only file
    info = db.lookup(["8.8.8.8", "5.9.1.1", "2001:4860:4860::8888"])
    assert info.country.tolist()[:2] == ["US", "DE"]
    assert info.is_hosting.tolist() == [False, True, False]  # the list decides, not the name
    assert info.asn.tolist()[:2] == [15169, 1]
    assert info.valid[2] and info.country[2] == ""  # no IPv6 networks in this file


def test_country_only_data_file_is_refused():
    import geoip2fast

    db = IPDatabase(path=str(resources.files(geoip2fast) / "geoip2fast.dat.gz"))
    with pytest.raises(ValueError, match="country\\+ASN"):
        db.lookup(["8.8.8.8"])


def test_distinct_addresses_skip_factorizing_and_give_the_factorized_answer():
    from fraudscore.enrich._factorize import estimated_repeats, factorize_objects
    from fraudscore.enrich.ip import _FACTORIZE_MIN_REPEATS, _FIELDS

    rng = np.random.default_rng(4)
    v4 = [f"{a}.{b}.{c}.{d}" for a, b, c, d in rng.integers(1, 250, (20_000, 4)).tolist()]
    v6 = [f"2001:db8:{a:x}::{b:x}" for a, b in rng.integers(0, 0xFFFF, (2_000, 2)).tolist()]
    junk = [None, float("nan"), "", "x", " 10.0.0.1 ", "::1", "999.1.1.1"] * 100
    arr = np.array(v4 + v6 + junk, dtype=object)[rng.permutation(22_700)]
    assert estimated_repeats(arr) < _FACTORIZE_MIN_REPEATS  # the direct path
    db = IPDatabase.default()
    direct = db.lookup(arr)
    factorized = db.lookup(arr, factorized=factorize_objects(arr))
    for f in _FIELDS:
        assert np.array_equal(getattr(direct, f), getattr(factorized, f)), f
    repeated = arr[rng.integers(0, len(arr), 100_000)]
    assert estimated_repeats(repeated) > _FACTORIZE_MIN_REPEATS


def test_one_value_at_a_time_equals_the_batch_lookup(db):
    from fraudscore.enrich.ip import _FIELDS

    rng = np.random.default_rng(8)
    values = _random_v4(rng, 300) + _random_v6(rng, 200) + [
        None, float("nan"), "", " 8.8.8.8 ", "::ffff:8.8.8.8", "10.1.2.3", "fe80::1%eth0", "2001:db8::1", "::1",
        "01.2.3.4", "x" * 10_000, b"8.8.8.8", 17, "0.0.0.0", "255.255.255.255", "224.0.0.1"]
    batch = db.lookup(np.array(values, dtype=object))
    for i, value in enumerate(values):
        one = db.lookup(np.array([value], dtype=object))
        for f in _FIELDS:
            assert getattr(one, f).dtype == getattr(batch, f).dtype
            assert getattr(one, f)[0] == getattr(batch, f)[i], (value, f)
    few = db.lookup(np.array(values[:_SCALAR_MAX], dtype=object))
    for f in _FIELDS:
        assert np.array_equal(getattr(few, f), getattr(batch, f)[:_SCALAR_MAX]), f

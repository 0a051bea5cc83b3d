"""IP address enrichment: country, AS organisation, hosting and private flags, offline.

The data is ``geoip2fast``'s shipped country+ASN file (MaxMind GeoLite2 derived, IPv4 and IPv6).
It is read once per process, lazily and under a lock, into sorted numpy range arrays; a batch is
answered with ``np.searchsorted`` over its *unique* addresses, then broadcast back to rows.

Limits worth knowing:

- geoip2fast's data carries AS organisation *names* but no AS *numbers*. ``IPInfo.asn`` is the
  number from the curated hosting list (``data/hosting_asns.csv``) where the organisation is in it,
  else 0. Group or count networks by ``asn_org``, not by ``asn``.
- ``is_hosting`` is the curated list (datacenter, cloud and VPN operators, matched on the
  organisation name as the data spells it) plus one documented keyword rule (``_HOSTING_WORDS``:
  an organisation name saying "hosting", "data center", "VPS", "colocation" or "dedicated server").
- An IPv4-mapped IPv6 address (``::ffff:1.2.3.4``, what a dual-stack socket reports for an IPv4
  client) is answered as the IPv4 address it carries (``version`` 4).
- Dotted quads are strict: exactly four decimal octets 0-255, no leading zeros (``010.1.1.1`` is
  octal to ``inet_aton`` and decimal to people, so it is refused as ambiguous).
"""

from __future__ import annotations

import csv
import gzip
import io
import pickle
import re
import socket
import threading
from dataclasses import dataclass
from importlib import resources

import numpy as np

from fraudscore.enrich._factorize import estimated_repeats, factorize_objects

__all__ = ["IPInfo", "IPDatabase", "parse_ips"]

_U64 = (1 << 64) - 1
_V4_MAX_LEN = 15  # "255.255.255.255"
_CHUNK = 32_768  # addresses parsed per vector pass
_DIRECT_MIN_ROWS = 4096  # below, estimating the repeats costs more than it can save
_V6_MAX_LEN = 64  # longest text worth handing to inet_pton (address + zone id)
# geoip2fast's country-name list starts with 16 special entries ("01:Reserved ...", ..., "99:<not
# found>"); the first 15 are private/reserved/special networks.
_N_SPECIAL = 15
_HOSTING_KINDS = frozenset({"cloud", "hosting", "vpn"})
# Organisation names that announce a hosting business. Deliberately narrow: "cloud", "server" or
# "net" also appear in residential ISP names.
_HOSTING_WORDS = re.compile(r"\bhosting\b|data ?-?cent(?:er|re)s?\b|\bvps\b|colocation|dedicated server", re.I)


@dataclass(frozen=True)
class IPInfo:
    """What is known about each input address; all arrays have shape (n,).

    Attributes
    ----------
    valid : ndarray of bool
        The text is an IPv4 or IPv6 address.
    version : ndarray of int8
        4, 6, or 0 when not valid.
    is_private : ndarray of bool
        Private, loopback, link-local, reserved, multicast or otherwise special network.
    country : ndarray of object
        ISO 3166-1 alpha-2 code, or ``""`` (unknown, private or invalid).
    asn : ndarray of int64
        AS number where known (curated list), else 0.
    asn_org : ndarray of object
        AS organisation name, or ``""``.
    is_hosting : ndarray of bool
        Datacenter, cloud or VPN network.
    network : ndarray of uint64
        The address's /24 (IPv4) or /48 (IPv6) network as an integer key, 0 when not valid. Raw
        (not keyed): hash it before storing.
    """

    valid: np.ndarray
    version: np.ndarray
    is_private: np.ndarray
    country: np.ndarray
    asn: np.ndarray
    asn_org: np.ndarray
    is_hosting: np.ndarray
    network: np.ndarray

    def __len__(self) -> int:
        return len(self.valid)


# ---------------------------------------------------------------------------------------------
# Parsing


def _parse_v4_bulk(texts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Strict dotted-quad parse of short strings, vectorized over characters.

    Parameters
    ----------
    texts : list of str of length m
        Stripped candidate strings, each at most 15 characters (a list, not a numpy array: numpy
        would already have dropped trailing NULs).

    Returns
    -------
    ok : ndarray of bool of shape (m,)
    value : ndarray of uint32 of shape (m,)
    """
    m = len(texts)
    if m == 0:
        return np.zeros(0, bool), np.zeros(0, np.uint32)
    w = _V4_MAX_LEN
    # A fixed-width unicode array is a (m, 15) grid of code points, 0-padded on the right.
    cp = np.asarray(texts, dtype=f"U{w}").view(np.uint32).reshape(m, w)
    is_digit = (cp >= 48) & (cp <= 57)
    is_dot = cp == 46
    is_pad = cp == 0
    # Padding must be a suffix (an embedded NUL would otherwise hide characters).
    ok = np.all(is_digit | is_dot | is_pad, axis=1) & np.all(np.maximum.accumulate(is_pad, axis=1) == is_pad, axis=1)
    ok &= is_dot.sum(axis=1) == 3
    # numpy drops trailing NULs when it builds the grid: "1.2.3.4\x00" must not pass as 1.2.3.4.
    ok &= (~is_pad).sum(axis=1) == np.fromiter(map(len, texts), np.int64, count=m)
    # Each digit's decimal exponent is its distance to the next non-digit (dot or end). Small
    # integer types keep the (m, 15) temporaries cheap.
    col = np.arange(w, dtype=np.int8)
    stop = np.where(is_digit, np.int8(w), col)
    next_stop = np.minimum.accumulate(stop[:, ::-1], axis=1)[:, ::-1]
    exponent = np.where(is_digit, next_stop - col - 1, 0).astype(np.int8)
    ok &= np.all(exponent <= 2, axis=1)
    digit = np.where(is_digit, cp - 48, 0).astype(np.int16)
    contrib = digit * np.array([1, 10, 100], np.int16)[np.minimum(exponent, 2)]
    octet = np.cumsum(is_dot, axis=1, dtype=np.int8)
    # An octet starts at column 0 or right after a dot; a leading "0" followed by more digits is refused.
    starts_octet = np.concatenate([np.ones((m, 1), bool), is_dot[:, :-1]], axis=1)
    ok &= ~np.any(starts_octet & is_digit & (digit == 0) & (exponent > 0), axis=1)
    v = np.zeros(m, np.int64)
    for k in range(4):
        in_k = is_digit & (octet == k)
        ok &= in_k.any(axis=1)
        val = np.where(in_k, contrib, 0).sum(axis=1, dtype=np.int64)
        ok &= val <= 255
        v = (v << 8) | np.minimum(val, 255)
    return ok, np.where(ok, v, 0).astype(np.uint32)


def parse_ips(values) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Parse address texts (call it on unique values: IPv6 costs one ``inet_pton`` each).

    Parameters
    ----------
    values : array-like of shape (m,)
        Strings; anything else (None, NaN, numbers) is invalid.

    Returns
    -------
    version : ndarray of int8 of shape (m,)
        4, 6 or 0 (invalid).
    v4 : ndarray of uint32 of shape (m,)
        The IPv4 address where ``version == 4``.
    hi, lo : ndarray of uint64 of shape (m,)
        High and low 64 bits of the IPv6 address where ``version == 6``.
    special6 : ndarray of bool of shape (m,)
        IPv6 address outside global unicast, or documentation space (see :func:`_special6`).
    """
    arr = np.asarray(values, dtype=object).ravel()
    m = len(arr)
    version = np.zeros(m, np.int8)
    v4 = np.zeros(m, np.uint32)
    hi = np.zeros(m, np.uint64)
    lo = np.zeros(m, np.uint64)
    special6 = np.zeros(m, bool)
    texts = [v.strip() if v.__class__ is str else "" for v in arr]
    lengths = np.fromiter(map(len, texts), np.int64, count=m)
    short = np.flatnonzero((lengths >= 7) & (lengths <= _V4_MAX_LEN))
    # In chunks, so the (chunk, 15) character grids and their temporaries stay in cache.
    for lo_ in range(0, short.size, _CHUNK):
        part = short[lo_:lo_ + _CHUNK]
        ok, val = _parse_v4_bulk([texts[i] for i in part])
        version[part[ok]] = 4
        v4[part[ok]] = val[ok]
    # Everything else that could be IPv6 goes through inet_pton (C), once per unique text.
    cand = np.flatnonzero((version == 0) & (lengths >= 2) & (lengths <= _V6_MAX_LEN))
    packed, where = [], []
    for i in cand:
        t = texts[i]
        if ":" not in t:
            continue
        try:
            packed.append(socket.inet_pton(socket.AF_INET6, t.split("%", 1)[0]))
        except (OSError, ValueError):
            continue
        where.append(i)
    if where:
        where = np.asarray(where, np.int64)
        halves = np.frombuffer(b"".join(packed), dtype=">u8").reshape(-1, 2).astype(np.uint64)
        h, l = halves[:, 0], halves[:, 1]
        mapped = (h == 0) & ((l >> np.uint64(32)) == 0xFFFF)
        version[where] = np.where(mapped, 4, 6)
        v4[where[mapped]] = (l[mapped] & np.uint64(0xFFFFFFFF)).astype(np.uint32)
        hi[where[~mapped]] = h[~mapped]
        lo[where[~mapped]] = l[~mapped]
        special6[where[~mapped]] = _special6(h[~mapped])
    return version, v4, hi, lo, special6


def _special6(hi: np.ndarray) -> np.ndarray:
    """IPv6 outside global unicast (2000::/3), or in the documentation prefix 2001:db8::/32.

    Covers unspecified, loopback, ULA fc00::/7, link-local fe80::/10, multicast ff00::/8 and the
    unallocated space, with two vector comparisons instead of ``ipaddress`` per address.
    """
    return ((hi >> np.uint64(61)) != 1) | ((hi >> np.uint64(32)) == 0x20010DB8)


def _bisect_right_128(s_hi: np.ndarray, s_lo: np.ndarray, q_hi: np.ndarray, q_lo: np.ndarray) -> np.ndarray:
    """``bisect_right`` of 128-bit keys ``(q_hi, q_lo)`` in sorted ``(s_hi, s_lo)``, vectorized.

    numpy's searchsorted has no lexicographic two-column mode, so this is the textbook binary
    search run for all queries at once: about log2(len(s)) vector steps.
    """
    lo_i = np.zeros(len(q_hi), np.int64)
    hi_i = np.full(len(q_hi), len(s_hi), np.int64)
    while True:
        active = lo_i < hi_i
        if not active.any():
            return lo_i
        mid = (lo_i + hi_i) // 2
        midc = np.minimum(mid, len(s_hi) - 1)
        # key <= query  <=>  go right
        le = (s_hi[midc] < q_hi) | ((s_hi[midc] == q_hi) & (s_lo[midc] <= q_lo))
        lo_i = np.where(active & le, mid + 1, lo_i)
        hi_i = np.where(active & ~le, mid, hi_i)


# ---------------------------------------------------------------------------------------------
# Tables


@dataclass(frozen=True)
class _Tables:
    # Per-id tables carry one extra last entry, the answer for id -1 (no range found): lookups
    # index them directly instead of appending that entry per call (a copy of the whole table,
    # most of a one-address lookup's cost).
    countries: np.ndarray  # object (k + 1,): ISO2 code, "" for special / not-found entries
    country_special: np.ndarray  # bool (k + 1,)
    orgs: np.ndarray  # object (o + 1,)
    org_asn: np.ndarray  # int64 (o + 1,)
    org_hosting: np.ndarray  # bool (o + 1,)
    # IPv4: inclusive ranges, sorted by start, non-overlapping.
    c4_start: np.ndarray
    c4_end: np.ndarray
    c4_id: np.ndarray
    a4_start: np.ndarray
    a4_end: np.ndarray
    a4_id: np.ndarray
    # IPv6: (hi, lo) uint64 halves.
    c6_start: tuple[np.ndarray, np.ndarray]
    c6_end: tuple[np.ndarray, np.ndarray]
    c6_id: np.ndarray
    a6_start: tuple[np.ndarray, np.ndarray]
    a6_end: tuple[np.ndarray, np.ndarray]
    a6_id: np.ndarray


def _flat(chunks) -> list:
    return [x for chunk in chunks for x in chunk]


def _split_ranges(first: list, netlen: list, ids: list):
    """Split geoip2fast's (first address, prefix length) lists into v4 and v6 range arrays."""
    first = np.asarray(first, dtype=object)
    netlen = np.asarray(netlen, dtype=np.int64)
    ids = np.asarray(ids, dtype=np.int64)
    # The file stores IPv4 networks as integers below 2**32 and IPv6 ones as 128-bit integers.
    is4 = np.fromiter((x < (1 << 32) for x in first), bool, count=len(first))
    s4 = first[is4].astype(np.int64)
    e4 = s4 + (np.int64(1) << (32 - netlen[is4])) - 1
    f6 = first[~is4]
    n6 = netlen[~is4]
    e6 = [x + (1 << (128 - int(n))) - 1 for x, n in zip(f6, n6)]
    halves = lambda xs: (np.fromiter((x >> 64 for x in xs), np.uint64, count=len(xs)),  # noqa: E731
                         np.fromiter((x & _U64 for x in xs), np.uint64, count=len(xs)))
    return (s4.astype(np.uint32), e4.astype(np.uint32), ids[is4],
            halves(f6), halves(e6), ids[~is4])


def _read_hosting_list(text: str) -> dict[str, tuple[int, str]]:
    rows = csv.DictReader(line for line in io.StringIO(text) if not line.startswith("#"))
    return {r["name"].casefold(): (int(r["asn"]), r["kind"]) for r in rows}


def _load_tables(path, hosting_csv: str) -> _Tables:
    if path is None:
        path = resources.files("geoip2fast") / "geoip2fast-asn-ipv6.dat.gz"
    # Traversable (package data) and plain paths both open in binary mode. geoip2fast's own loader
    # unpickles this file too: it ships inside an installed package we already trust, and is a
    # caller's file only when the caller passes one.
    raw = path.open("rb") if hasattr(path, "open") and not isinstance(path, str) else open(path, "rb")
    with raw, gzip.open(raw, "rb") as fh:
        version, info, _, db = pickle.load(fh)  # noqa: S301
    if version not in (120, 121) or not (info.get("country") and info.get("asn")):
        raise ValueError(f"{path}: not a geoip2fast country+ASN data file")
    (_, _, names_country, names_asn, first_c, first_a, id_c, id_a, len_c, len_a) = db
    codes = [s.split(":", 1)[0] for s in names_country]
    special = np.arange(len(codes)) < _N_SPECIAL
    countries = np.array(["" if i < _N_SPECIAL + 1 else c for i, c in enumerate(codes)], dtype=object)
    orgs = np.array(["" if s == "<unknown>" else s for s in names_asn], dtype=object)
    curated = _read_hosting_list(hosting_csv)
    org_asn = np.zeros(len(orgs), np.int64)
    org_hosting = np.zeros(len(orgs), bool)
    for i, name in enumerate(orgs):
        hit = curated.get(name.casefold())
        if hit is not None:
            org_asn[i] = hit[0]
            org_hosting[i] = hit[1] in _HOSTING_KINDS
        elif name and _HOSTING_WORDS.search(name):
            org_hosting[i] = True
    c4s, c4e, c4i, c6s, c6e, c6i = _split_ranges(_flat(first_c), _flat(len_c), _flat(id_c))
    a4s, a4e, a4i, a6s, a6e, a6i = _split_ranges(_flat(first_a), _flat(len_a), _flat(id_a))
    return _Tables(np.append(countries, ""), np.append(special, False), np.append(orgs, ""),
                   np.append(org_asn, 0), np.append(org_hosting, False),
                   c4s, c4e, c4i, a4s, a4e, a4i, c6s, c6e, c6i, a6s, a6e, a6i)


def _find4(start, end, ids, q):
    """Range id of each IPv4 query, -1 where no range holds it."""
    if len(ids) == 0:
        return np.full(len(q), -1, np.int64)
    # Sorted needles walk the table in order: far fewer cache misses than random probes.
    order = np.argsort(q, kind="stable")
    i = np.empty(len(q), np.int64)
    i[order] = np.searchsorted(start, q[order], side="right") - 1
    ic = np.maximum(i, 0)
    hit = (i >= 0) & (q <= end[ic])
    return np.where(hit, ids[ic], -1)


def _find6(start, end, ids, q_hi, q_lo):
    if len(ids) == 0:  # a data file without IPv6 networks
        return np.full(len(q_hi), -1, np.int64)
    i = _bisect_right_128(start[0], start[1], q_hi, q_lo) - 1
    ic = np.maximum(i, 0)
    e_hi, e_lo = end[0][ic], end[1][ic]
    inside = (q_hi < e_hi) | ((q_hi == e_hi) & (q_lo <= e_lo))
    return np.where((i >= 0) & inside, ids[ic], -1)


# ---------------------------------------------------------------------------------------------
# Public API


class IPDatabase:
    """Offline IP → country / AS organisation / hosting / private lookups.

    Parameters
    ----------
    path : str, os.PathLike or Traversable, optional
        A geoip2fast country+ASN data file (``*.dat.gz``, format version 120); default: the
        IPv4+IPv6 file shipped with the installed ``geoip2fast``. It is unpickled, as geoip2fast
        itself does: pass only files you trust.
    hosting_csv : str, optional
        Text of a hosting list in the format of ``fraudscore/enrich/data/hosting_asns.csv``;
        default: that file.

    Notes
    -----
    Construction is cheap; the data (about 1 s, ~150 MB peak while unpickling) is read on the first
    lookup, once, under a lock. After that, lookups only read shared arrays, so one instance may be
    used from many threads.
    """

    _default: IPDatabase | None = None
    _default_lock = threading.Lock()

    def __init__(self, path=None, hosting_csv: str | None = None):
        self._path = path
        self._hosting_csv = hosting_csv
        self._tables: _Tables | None = None
        self._lock = threading.Lock()
        self._merged4 = None

    @classmethod
    def default(cls) -> IPDatabase:
        """The process-wide instance over the shipped data (created on first call)."""
        with cls._default_lock:
            if cls._default is None:
                cls._default = cls()
            return cls._default

    @property
    def tables(self) -> _Tables:
        if self._tables is None:
            with self._lock:
                if self._tables is None:
                    csv_text = self._hosting_csv
                    if csv_text is None:
                        csv_text = (resources.files("fraudscore.enrich") / "data" / "hosting_asns.csv").read_text()
                    self._tables = _load_tables(self._path, csv_text)
        return self._tables

    def lookup(self, ips, factorized: tuple[np.ndarray, np.ndarray] | None = None) -> IPInfo:
        """Enrich addresses.

        Parameters
        ----------
        ips : array-like of shape (n,)
            Address texts; ``None``, NaN, empty or unparseable values give ``valid=False`` and
            unknown outputs.
        factorized : (codes, uniques), optional
            ``ips`` already factorized (e.g. :meth:`fraudscore.batch.SubmissionBatch.factorized`):
            the lookup then runs once per distinct address without hashing the column again.

        Returns
        -------
        IPInfo
            Arrays of shape (n,), in input order.
        """
        arr = np.asarray(ips, dtype=object).ravel()
        n = len(arr)
        if n == 0:
            return _empty(0)
        if factorized is None and n >= _DIRECT_MIN_ROWS and estimated_repeats(arr) < 1.5:
            # Nearly every address distinct: a hash table would cost ~45 % more than it saves. Same
            # result: a missing value looks up as the invalid entry appended below.
            return self._lookup_unique(arr)
        codes, uniques = factorize_objects(arr) if factorized is None else factorized
        u = self._lookup_unique(np.asarray(uniques, dtype=object))
        # Missing values (code -1) point at one appended "invalid" entry.
        codes = np.where(codes < 0, len(uniques), codes)
        pad = _empty(1)
        return IPInfo(**{f: np.concatenate([getattr(u, f), getattr(pad, f)])[codes] for f in _FIELDS})

    def _lookup_unique(self, uniques: np.ndarray) -> IPInfo:
        t = self.tables
        m = len(uniques)
        version, v4, hi, lo, special6 = parse_ips(uniques)
        cid = np.full(m, -1, np.int64)
        aid = np.full(m, -1, np.int64)
        w4 = np.flatnonzero(version == 4)
        if w4.size:
            cid[w4] = _find4(t.c4_start, t.c4_end, t.c4_id, v4[w4])
            aid[w4] = _find4(t.a4_start, t.a4_end, t.a4_id, v4[w4])
        w6 = np.flatnonzero(version == 6)
        if w6.size:
            cid[w6] = _find6(t.c6_start, t.c6_end, t.c6_id, hi[w6], lo[w6])
            aid[w6] = _find6(t.a6_start, t.a6_end, t.a6_id, hi[w6], lo[w6])
        private = t.country_special[cid] | special6  # id -1 takes the tables' last entry
        country = np.where(private, "", t.countries[cid]).astype(object)
        asn = t.org_asn[aid]
        hosting = t.org_hosting[aid]
        org = t.orgs[aid]
        # Private space has no public owner, whatever a stray ASN range says.
        org = np.where(private, "", org).astype(object)
        asn = np.where(private, 0, asn)
        hosting &= ~private
        # Tag bits keep the IPv4 and IPv6 network keys apart.
        network = np.where(version == 4, (v4.astype(np.uint64) >> np.uint64(8)) | np.uint64(1 << 62),
                           np.where(version == 6, (hi >> np.uint64(16)) | np.uint64(2 << 62), np.uint64(0)))
        return IPInfo(valid=version > 0, version=version, is_private=private, country=country,
                      asn=asn.astype(np.int64), asn_org=org, is_hosting=hosting, network=network.astype(np.uint64))

    def ipv4_ranges(self, country: str | None = None, hosting: bool | None = None):
        """Public IPv4 ranges, for drawing realistic addresses.

        Parameters
        ----------
        country : str, optional
            ISO2 code; default all countries.
        hosting : bool, optional
            True: only hosting/VPN networks; False: only the rest (residential, mobile, business);
            default both.

        Returns
        -------
        start, end : ndarray of uint32 of shape (k,)
            Inclusive bounds, sorted, non-overlapping; each range has one country and one AS
            organisation.
        asn : ndarray of int64 of shape (k,)
            AS number where known, else 0.
        """
        s, e, c, a = self._merged_v4()
        t = self.tables
        keep = np.ones(len(s), bool)
        if country is not None:
            keep &= t.countries[c] == country.upper()
        if hosting is not None:
            keep &= t.org_hosting[a] == bool(hosting)
        return s[keep].copy(), e[keep].copy(), t.org_asn[a[keep]].astype(np.int64)

    def _merged_v4(self):
        """Intersect the country and ASN range tables into one table of public ranges (cached)."""
        if self._merged4 is None:
            t = self.tables
            with self._lock:
                if self._merged4 is None:
                    cuts = np.unique(np.concatenate([
                        t.c4_start.astype(np.int64), t.c4_end.astype(np.int64) + 1,
                        t.a4_start.astype(np.int64), t.a4_end.astype(np.int64) + 1]))
                    cuts = cuts[cuts < (1 << 32)]
                    starts = cuts
                    ends = np.append(cuts[1:] - 1, (1 << 32) - 1)
                    c = _find4(t.c4_start, t.c4_end, t.c4_id, starts.astype(np.uint32))
                    a = _find4(t.a4_start, t.a4_end, t.a4_id, starts.astype(np.uint32))
                    public = (c >= 0) & ~t.country_special[c]
                    public &= t.countries[c] != ""
                    self._merged4 = (starts[public].astype(np.uint32), ends[public].astype(np.uint32),
                                     c[public], a[public])
        return self._merged4


_FIELDS = ("valid", "version", "is_private", "country", "asn", "asn_org", "is_hosting", "network")


def _empty(n: int) -> IPInfo:
    return IPInfo(valid=np.zeros(n, bool), version=np.zeros(n, np.int8), is_private=np.zeros(n, bool),
                  country=np.full(n, "", dtype=object), asn=np.zeros(n, np.int64),
                  asn_org=np.full(n, "", dtype=object), is_hosting=np.zeros(n, bool), network=np.zeros(n, np.uint64))

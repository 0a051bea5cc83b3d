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
import itertools
import operator
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
_CHUNK = 8192  # addresses parsed per vector pass: its temporaries stay small (no page faults)
_SCALAR_MAX = 16  # up to this many values, parsing each in Python costs less than the vector pass
# Character kinds for the dotted-quad grid (see _quad_grid): digits 0, dot 16, anything else 1.
_CHAR_KIND = np.ones(256, np.uint8)
_CHAR_KIND[ord("0"):ord("9") + 1] = 0
_CHAR_KIND[ord(".")] = 16
_SORT_MIN = 256  # fewer queries than this probe the range tables unsorted
_DIRECT_MIN_ROWS = 4096  # below, estimating the repeats costs more than it can save
#: Factorizing a column first pays only from about this many estimated rows per distinct address
#: (:func:`~fraudscore.enrich._factorize.estimated_repeats`): measured on 100k rows, the hash table
#: and the gather back cost as much as the lookups they save at an estimate of ~2.5 (0.33 us/row
#: either way), and the estimate runs high on real traffic, where a few addresses (farms, NATs)
#: fill many rows and most are seen once (simulated: estimate 1.6 for 1.04 rows per address,
#: direct 0.32 vs factorized 0.52 us/row).
_FACTORIZE_MIN_REPEATS = 2.5
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


def _quad_grid(texts: np.ndarray, lengths: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Strict dotted-quad parse of the texts made only of ASCII digits and dots, vectorized.

    Parameters
    ----------
    texts : ndarray of object (str) of shape (m,)
    lengths : ndarray of int64 of shape (m,)
        ``len`` of each text.

    Returns
    -------
    decided : ndarray of bool of shape (m,)
        The text is 7 to 15 characters, all ASCII digits or dots: the answer is final (nothing to
        strip, no colon for IPv6). :func:`parse_ips` hands the other texts to its slower path.
    ok : ndarray of bool of shape (m,)
        Decided and a valid dotted quad.
    value : ndarray of uint32 of shape (m,)
    """
    m = len(texts)
    decided = np.zeros(m, bool)
    ok = np.zeros(m, bool)
    value = np.zeros(m, np.uint32)
    cand = np.flatnonzero((lengths >= 7) & (lengths <= _V4_MAX_LEN))
    # In chunks, so the (chunk, 16) byte grids and their temporaries stay in cache.
    for start in range(0, cand.size, _CHUNK):
        part = cand[start:start + _CHUNK]
        sub = texts[part]
        k = len(part)
        try:  # one byte per character, NUL-padded to 16 (two 64-bit words per row)
            grid = sub.astype("S16").view(np.uint8).reshape(k, 16)
        except UnicodeEncodeError:  # non-ASCII somewhere: any code point above 127 is "other"
            grid = np.minimum(sub.astype("U16").view(np.uint32), 255).astype(np.uint8).reshape(k, 16)
        # Per character: 1 for "other" (anything but a digit or a dot, padding included), 16 for a
        # dot. Summed per 8-byte word by one multiplication (each byte's sum fits: at most 8 * 16).
        words = _CHAR_KIND[grid].view(np.uint64)
        sums = (words * np.uint64(0x0101010101010101)) >> np.uint64(56)
        sums = sums[:, 0] + sums[:, 1]  # (two columns, not .sum(axis=1): far cheaper on a short axis)
        # All characters of the text are digits or dots: only the padding is "other" (a NUL inside
        # the text counts against its length).
        others = (sums & np.uint64(15)).astype(np.int64)
        dots = sums >> np.uint64(4)
        pure = others == 16 - lengths[part]
        decided[part] = pure
        three = np.flatnonzero(pure & (dots == 3))
        if not three.size:
            continue
        quads = grid if three.size == k else grid[three]  # usually every row: no copy
        flat = quads.ravel()
        # Each row's three dots as flat indices, in order (flatnonzero walks rows in order).
        where = np.flatnonzero(flat == 46).reshape(-1, 3)
        base = where[:, :1] - (where[:, :1] & 15)  # the row's first flat index
        stop = np.empty((three.size, 4), np.int64)  # one past each octet's last character
        stop[:, :3] = where
        stop[:, 3:] = base + lengths[part[three]][:, None]
        begin = np.empty((three.size, 4), np.int64)
        begin[:, :1] = base
        begin[:, 1:] = where + 1
        width = stop - begin
        # Right-aligned digits: ones, tens, hundreds (read only where the octet is that wide).
        digit = lambda at: np.take(flat, at, mode="clip").astype(np.int16) - 48  # noqa: E731
        octet = digit(stop - 1)
        octet += np.where(width >= 2, digit(stop - 2) * 10, 0).astype(np.int16)
        octet += np.where(width >= 3, digit(stop - 3) * 100, 0).astype(np.int16)
        leading_zero = (width >= 2) & (np.take(flat, begin, mode="clip") == 48)  # "01": octal to inet_aton
        good = (width >= 1) & (width <= 3) & (octet <= 255) & ~leading_zero
        rows = part[three]
        ok[rows] = good[:, 0] & good[:, 1] & good[:, 2] & good[:, 3]
        o = octet.astype(np.uint32)
        value[rows] = np.where(ok[rows], (o[:, 0] << 24) | (o[:, 1] << 16) | (o[:, 2] << 8) | o[:, 3], 0)
    return decided, ok, value


def _parse_one(value) -> tuple[int, int, int, int]:
    """(version, v4, hi, lo) of one value: the reference parser, and the path for a few values.

    :func:`parse_ips` answers the same for every value (property-tested); it is vectorized and
    only worth its fixed cost from a few dozen values on.
    """
    if value.__class__ is not str:
        return 0, 0, 0, 0
    t = value.strip()
    if 7 <= len(t) <= _V4_MAX_LEN:
        parts = t.split(".")
        if len(parts) == 4 and all(0 < len(p) <= 3 and p.isascii() and p.isdigit() and (p[0] != "0" or len(p) == 1)
                                   and int(p) <= 255 for p in parts):
            a, b, c, d = map(int, parts)
            return 4, (a << 24) | (b << 16) | (c << 8) | d, 0, 0
    if 2 <= len(t) <= _V6_MAX_LEN and ":" in t:
        try:
            packed = _pton6(t)
        except (OSError, ValueError):
            return 0, 0, 0, 0
        h, l = int.from_bytes(packed[:8], "big"), int.from_bytes(packed[8:], "big")
        if h == 0 and (l >> 32) == 0xFFFF:
            return 4, l & 0xFFFFFFFF, 0, 0
        return 6, 0, h, l
    return 0, 0, 0, 0


def _pton6(text: str) -> bytes:
    """16 bytes of an IPv6 text; a zone id (``%eth0``) is dropped. Raises OSError or ValueError."""
    return socket.inet_pton(socket.AF_INET6, text.split("%", 1)[0] if "%" in text else text)


def parse_ips(values) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Parse address texts (call it on unique values: IPv6 costs one ``inet_pton`` each).

    Parameters
    ----------
    values : array-like of shape (m,)
        Strings (``str`` itself, surrounding whitespace ignored); anything else (None, NaN,
        numbers, bytes) is invalid.

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
    if m <= _SCALAR_MAX:
        parsed = np.array([_parse_one(v) for v in arr], dtype=np.uint64).reshape(m, 4)
        version = parsed[:, 0].astype(np.int8)
        hi, lo = parsed[:, 2], parsed[:, 3]
        return version, parsed[:, 1].astype(np.uint32), hi, lo, (version == 6) & _special6(hi)
    version = np.zeros(m, np.int8)
    v4 = np.zeros(m, np.uint32)
    hi = np.zeros(m, np.uint64)
    lo = np.zeros(m, np.uint64)
    # Only str itself is an address (not bytes, numbers or str subclasses).
    text_rows = np.flatnonzero(np.fromiter(map(type, arr), object, count=m) == str)  # noqa: E721 - elementwise
    texts = arr if text_rows.size == m else arr[text_rows]
    lengths = np.fromiter(map(len, texts), np.int64, count=texts.size)
    # Clean dotted quads (the bulk of real traffic) are decided over bytes, without a Python step.
    decided, ok, value = _quad_grid(texts, lengths)
    version[text_rows[ok]] = 4
    v4[text_rows[ok]] = value[ok]
    # The rest (IPv6, surrounding whitespace, odd forms): strip; what stripping shortened may now be
    # a clean quad; what has a colon may be IPv6, for inet_pton (C).
    rest = np.flatnonzero(~decided)
    if rest.size:
        stripped = list(map(str.strip, texts[rest].tolist()))
        short = np.fromiter(map(len, stripped), np.int64, count=rest.size)
        moved = np.flatnonzero(short != lengths[rest])
        if moved.size:
            _, ok, value = _quad_grid(np.array([stripped[i] for i in moved] + [None], dtype=object)[:-1], short[moved])
            version[text_rows[rest[moved[ok]]]] = 4
            v4[text_rows[rest[moved[ok]]]] = value[ok]
        colon = np.fromiter(map(operator.contains, stripped, itertools.repeat(":")), bool, count=rest.size)
        where = np.flatnonzero(colon & (short >= 2) & (short <= _V6_MAX_LEN))
        texts6 = [stripped[i] for i in where.tolist()]
        try:  # all at once (C calls only); one bad text or zone id sends this set through the loop below
            if any(map(operator.contains, texts6, itertools.repeat("%"))):
                raise ValueError("zone ids")
            packed = list(map(socket.inet_pton, itertools.repeat(socket.AF_INET6), texts6))
        except (OSError, ValueError):
            packed, good = [], []
            for i, t in zip(where.tolist(), texts6):
                try:
                    packed.append(_pton6(t))
                except (OSError, ValueError):
                    continue
                good.append(i)
            where = np.asarray(good, np.int64)
        if where.size:
            where = text_rows[rest[where]]
            halves = np.frombuffer(b"".join(packed), dtype=">u8").reshape(-1, 2).astype(np.uint64)
            h, l = halves[:, 0], halves[:, 1]
            mapped = (h == 0) & ((l >> np.uint64(32)) == 0xFFFF)
            version[where] = np.where(mapped, 4, 6)
            v4[where[mapped]] = (l[mapped] & np.uint64(0xFFFFFFFF)).astype(np.uint32)
            hi[where[~mapped]] = h[~mapped]
            lo[where[~mapped]] = l[~mapped]
    return version, v4, hi, lo, (version == 6) & _special6(hi)


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
    i = np.searchsorted(start, q, side="right") - 1
    ic = np.maximum(i, 0)
    hit = (i >= 0) & (q <= end[ic])
    return np.where(hit, ids[ic], -1)


def _find6(start, end, ids, q_hi, q_lo, order=None):
    """Range id of each IPv6 query (``q_hi``, ``q_lo`` halves), -1 where no range holds it.

    A plain searchsorted on the high halves answers every query whose high half starts at most one
    range; the few that fall in a run of ranges sharing a high half (networks longer than /64)
    take the two-column binary search. ``order``: ``np.argsort(q_hi)`` when worth it (sorted
    needles walk the table in order: fewer cache misses).
    """
    n = len(ids)
    if n == 0:  # a data file without IPv6 networks
        return np.full(len(q_hi), -1, np.int64)
    s_hi, s_lo = start
    if order is None:
        left = np.searchsorted(s_hi, q_hi, side="left")
    else:
        left = np.empty(len(q_hi), np.int64)
        left[order] = np.searchsorted(s_hi, q_hi[order], side="left")
    # Ranges before ``left`` start below the query; a range starting at the same high half counts
    # when its low half is not above the query's.
    lc = np.minimum(left, n - 1)
    same = (left < n) & (s_hi[lc] == q_hi)
    i = left - 1 + (same & (s_lo[lc] <= q_lo))
    run = np.flatnonzero(same & (left + 1 < n) & (s_hi[np.minimum(left + 1, n - 1)] == q_hi))
    if run.size:
        i[run] = _bisect_right_128(s_hi, s_lo, q_hi[run], q_lo[run]) - 1
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
        self._segments4 = None
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
        if factorized is None and n <= _SCALAR_MAX:
            return self._lookup_few(arr)
        if factorized is None and n >= _DIRECT_MIN_ROWS and estimated_repeats(arr) < _FACTORIZE_MIN_REPEATS:
            # Few addresses repeat: a hash table would cost more than it saves. Same result: a
            # missing value looks up as the invalid entry appended below.
            return self._lookup_unique(arr)
        codes, uniques = factorize_objects(arr) if factorized is None else factorized
        # Missing values (code -1) point at one appended invalid entry.
        u = self._lookup_unique(np.append(np.asarray(uniques, dtype=object), None))
        codes = np.where(codes < 0, len(uniques), codes)
        return IPInfo(**{f: getattr(u, f)[codes] for f in _FIELDS})

    def _lookup_few(self, values: np.ndarray) -> IPInfo:
        """:meth:`_lookup_unique` one value at a time (same answers, tested): for a batch of one,
        numpy's fixed cost per operation is most of the vector path's time."""
        t = self.tables
        rows = []
        for value in values:
            version, v4, hi, lo = _parse_one(value)
            cid = aid = -1
            special, network = False, 0
            if version == 4:
                cuts, seg_cid, seg_aid = self._segments_v4()
                i = int(cuts.searchsorted(np.uint32(v4), side="right")) - 1  # (a Python int would copy cuts to int64)
                cid, aid = int(seg_cid[i]), int(seg_aid[i])
                network = (v4 >> 8) | (1 << 62)
            elif version == 6:
                q_hi, q_lo = np.array([hi], np.uint64), np.array([lo], np.uint64)
                cid = int(_find6(t.c6_start, t.c6_end, t.c6_id, q_hi, q_lo)[0])
                aid = int(_find6(t.a6_start, t.a6_end, t.a6_id, q_hi, q_lo)[0])
                special = bool(_special6(q_hi)[0])
                network = (hi >> 16) | (2 << 62)
            private = special or bool(t.country_special[cid])
            if private:
                cid = aid = -1
            rows.append((version, private, cid, aid, network))
        version, private, cid, aid, network = zip(*rows) if rows else ((),) * 5
        version = np.array(version, np.int8)
        cid, aid = np.array(cid, np.int64), np.array(aid, np.int64)
        return IPInfo(valid=version > 0, version=version, is_private=np.array(private, bool),
                      country=t.countries[cid], asn=t.org_asn[aid], asn_org=t.orgs[aid],
                      is_hosting=t.org_hosting[aid], network=np.array(network, np.uint64))

    def _lookup_unique(self, uniques: np.ndarray) -> IPInfo:
        t = self.tables
        m = len(uniques)
        version, v4, hi, lo, special6 = parse_ips(uniques)
        cid = np.full(m, -1, np.int64)
        aid = np.full(m, -1, np.int64)
        w4 = np.flatnonzero(version == 4)
        if w4.size:
            cuts, seg_cid, seg_aid = self._segments_v4()
            q = v4[w4]
            if len(q) > _SORT_MIN:  # sorted needles walk the table in order: fewer cache misses
                order = np.argsort(q)
                i = np.empty(len(q), np.int64)
                i[order] = np.searchsorted(cuts, q[order], side="right") - 1
            else:
                i = np.searchsorted(cuts, q, side="right") - 1
            cid[w4] = seg_cid[i]  # cuts[0] is 0: every address is in a segment
            aid[w4] = seg_aid[i]
        w6 = np.flatnonzero(version == 6)
        if w6.size:
            q_hi, q_lo = hi[w6], lo[w6]
            order = np.argsort(q_hi) if len(q_hi) > _SORT_MIN else None
            cid[w6] = _find6(t.c6_start, t.c6_end, t.c6_id, q_hi, q_lo, order)
            aid[w6] = _find6(t.a6_start, t.a6_end, t.a6_id, q_hi, q_lo, order)
        private = t.country_special[cid] | special6  # id -1 takes the tables' last entry
        # Private space has no public owner, whatever a stray ASN range says: it reads the tables'
        # last entry ("", AS 0, not hosting), as an address found in no range does.
        cid[private] = -1
        aid[private] = -1
        # Tag bits keep the IPv4 and IPv6 network keys apart.
        network = np.where(version == 4, (v4.astype(np.uint64) >> np.uint64(8)) | np.uint64(1 << 62),
                           np.where(version == 6, (hi >> np.uint64(16)) | np.uint64(2 << 62), np.uint64(0)))
        return IPInfo(valid=version > 0, version=version, is_private=private, country=t.countries[cid],
                      asn=t.org_asn[aid], asn_org=t.orgs[aid], is_hosting=t.org_hosting[aid],
                      network=network.astype(np.uint64))

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

    def _segments_v4(self):
        """(cuts, country id, AS id) of every IPv4 segment between consecutive range bounds (cached).

        Every start and end + 1 of both range tables is a cut, so within a segment both answers
        are constant: one searchsorted over the cuts answers both tables, with no end check.
        """
        if self._segments4 is None:
            t = self.tables
            with self._lock:
                if self._segments4 is None:
                    cuts = np.unique(np.concatenate([
                        [0], t.c4_start.astype(np.int64), t.c4_end.astype(np.int64) + 1,
                        t.a4_start.astype(np.int64), t.a4_end.astype(np.int64) + 1]))
                    cuts = cuts[cuts < (1 << 32)].astype(np.uint32)
                    self._segments4 = (cuts, _find4(t.c4_start, t.c4_end, t.c4_id, cuts),
                                       _find4(t.a4_start, t.a4_end, t.a4_id, cuts))
        return self._segments4

    def _merged_v4(self):
        """The public segments of :meth:`_segments_v4`: (start, end, country id, AS id) (cached)."""
        if self._merged4 is None:
            cuts, c, a = self._segments_v4()
            t = self.tables
            ends = np.append(cuts[1:].astype(np.int64) - 1, (1 << 32) - 1).astype(np.uint32)
            public = (c >= 0) & ~t.country_special[c]
            public &= t.countries[c] != ""
            self._merged4 = (cuts[public], ends[public], c[public], a[public])
        return self._merged4


_FIELDS = ("valid", "version", "is_private", "country", "asn", "asn_org", "is_hosting", "network")


def _empty(n: int) -> IPInfo:
    return IPInfo(valid=np.zeros(n, bool), version=np.zeros(n, np.int8), is_private=np.zeros(n, bool),
                  country=np.full(n, "", dtype=object), asn=np.zeros(n, np.int64),
                  asn_org=np.full(n, "", dtype=object), is_hosting=np.zeros(n, bool), network=np.zeros(n, np.uint64))

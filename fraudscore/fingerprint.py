"""Device fingerprints: an exact ``device_id`` and a fuzzy, batch-stable ``link_id``.

Both are keyed 64-bit hashes (installation secret, :mod:`fraudscore.secret`); 0 means missing.
Neither keeps a raw attribute: every field is hashed with a keyed SipHash (once per unique value)
and the keyed field hashes are combined; ``link_id``'s raw network number is covered by one more
keyed hash. Without the secret an id cannot be tested against guessed attributes.

``device_id``
    Every stable attribute of the browser and device, exactly (user agent, platform, screen as an
    orientation-free pair, colour depth, pixel ratio, cores, memory, touch points, time zone,
    languages, WebGL vendor/renderer, canvas/audio/fonts hashes, plugins). It changes whenever any
    of them does: a browser update, an external monitor, travel.

``block_id``
    The block key below alone: shared by identical devices, so not an identity; for short-window
    velocity counts.

``link_id``
    The same device across the changes that defeat ``device_id``, in the spirit of FP-Stalker
    (Vastel et al., 2018): it is a keyed hash of

    - a *block key* of the attributes that survive browser updates, time-zone changes, cleared
      cookies and private windows, and external monitors: OS family, browser family and device
      class (from the user agent, not its versions), platform, cores, memory, touch points, WebGL
      vendor and renderer, audio and fonts hashes, languages; and
    - a *disambiguator*, because a block key alone merges every identical mass-market device
      (every iPhone 15 on iOS 17 in Safari shares it): the client's /24 (IPv4) or /48 (IPv6)
      network; with no usable (public, valid) address, the cookie. The VPN/cloud provider was
      tried instead of the network for hosting addresses and dropped: it merged honest users of
      identical phones on the big clouds' address space.

    Being a pure function of one row, it is the same in every batch and every process (no
    clustering, no batch-local index) and costs O(n). Time enters downstream: the history store
    counts a link_id within 1 h / 24 h windows.

Limits (see docs/FINGERPRINT.md for measured precision and recall):

- a device seen from another network (a new broadband address outside its /24, mobile data, a
  VPN) gets a new link_id: on the simulator this caps recall near 0.34 (docs/FINGERPRINT.md);
- two identical devices behind one NAT (a household, an office, a campus) share a link_id;
- changes to a block-key attribute (new fonts installed, a browser switch, a GPU driver change
  that alters the WebGL renderer) break the link;
- the canvas hash is left out of the block key on purpose: it changes with browser and driver
  updates.

Rows without ``consent.usage`` are never read: their ids are 0. Rows reporting fewer than
``MIN_ATTRIBUTES`` device attributes get no ids either: an empty fingerprint identifies nobody.
"""

from __future__ import annotations

import itertools
import operator
import struct
import sys
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from fraudscore.enrich._factorize import factorize_objects

from fraudscore.secret import derive_key, get_secret, siphash_objects
from fraudscore.secret import splitmix64 as _mix
from fraudscore.secret import splitmix64_int as _mix_int

__all__ = [
    "Fingerprints",
    "fingerprint",
    "fingerprint_batch",
    "to_hex",
    "DEVICE_FIELDS",
    "LINK_FIELDS",
    "UA_LINK_FIELDS",
    "MIN_ATTRIBUTES",
    "ANCHORS",
]

#: Fields hashed into ``device_id``, in order.
DEVICE_FIELDS = (
    "device.user_agent", "device.platform", "device.screen", "device.color_depth", "device.pixel_ratio",
    "device.hardware_concurrency", "device.device_memory_gb", "device.touch_points", "device.timezone",
    "device.languages", "device.webgl_vendor", "device.webgl_renderer", "device.canvas_hash",
    "device.audio_hash", "device.fonts_hash", "device.plugins",
)
#: Schema fields of the link block key, in order.
LINK_FIELDS = (
    "device.platform", "device.hardware_concurrency", "device.device_memory_gb", "device.touch_points",
    "device.languages", "device.webgl_vendor", "device.webgl_renderer", "device.audio_hash", "device.fonts_hash",
)
#: User-agent facts (:class:`fraudscore.enrich.ua.UAInfo` attributes) of the link block key.
UA_LINK_FIELDS = ("os_family", "browser_family", "device_class")
#: Fewest present ``DEVICE_FIELDS`` for a row to get ids.
MIN_ATTRIBUTES = 3
#: What disambiguates a link block key, coded in ``Fingerprints.link_anchor``.
ANCHORS = ("none", "network", "cookie")

_STRING_FIELDS = frozenset({"device.user_agent", "device.platform", "device.timezone", "device.webgl_vendor",
                            "device.webgl_renderer", "device.canvas_hash", "device.audio_hash", "device.fonts_hash"})
_LIST_FIELDS = frozenset({"device.languages", "device.plugins"})
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_SMALL = 64  # up to this many values, hashing each beats factorizing first (same hashes)
_STR_OR_NONE = frozenset({str, type(None)})
_MULTIPLIER = np.uint64(0x100000001B3 * 2 + 1)  # odd, so multiplying is one-to-one mod 2**64
_SEED = 0x243F6A8885A308D3
# For _combine on a few rows: M**i and SEED * M**i, mod 2**64.
_POWERS = np.array([pow(int(_MULTIPLIER), i, 2**64) for i in range(64)], dtype=np.uint64)
_SEEDED = np.array([_SEED * pow(int(_MULTIPLIER), i, 2**64) % 2**64 for i in range(64)], dtype=np.uint64)


@dataclass(frozen=True)
class Fingerprints:
    """Ids of each row; arrays have shape (n,).

    Attributes
    ----------
    device_id, link_id : ndarray of uint64
        Keyed hashes, 0 = missing (no consent, too few attributes, no disambiguator).
    link_anchor : ndarray of int8
        Index into ``ANCHORS``: what disambiguated the link (0 when there is no link_id).
    block_id : ndarray of uint64
        Keyed hash of the link block key alone (0 = missing). Not an identity: every identical
        mass-market device shares it. Meant for short-window velocity counts (a burst of one
        fingerprint from many networks), never for "same person".
    """

    device_id: np.ndarray
    link_id: np.ndarray
    link_anchor: np.ndarray
    block_id: np.ndarray

    def __len__(self) -> int:
        return len(self.device_id)


_HEX_PAIRS = np.array([f"{b:02x}".encode() for b in range(256)], dtype="S2")


def to_hex(ids: np.ndarray) -> np.ndarray:
    """16-digit hex text of each id, ``None`` for 0 (for results and reports), shape (n,)."""
    ids = np.ascontiguousarray(ids, dtype=np.uint64)
    # Big-endian bytes -> two hex digits per byte by table lookup -> one 16-byte string per id.
    digits = _HEX_PAIRS[ids.astype(">u8").view(np.uint8).reshape(-1, 8)]
    text = np.ascontiguousarray(digits).view("S16").ravel().astype("U16").astype(object)
    text[ids == 0] = None
    return text


# ---------------------------------------------------------------------------------------------
# Column hashing: every function returns uint64 of shape (m,) for the m rows it is given.


def _number_uniques(x: np.ndarray, small: bool | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(codes, uniques as 8-byte strings) of numbers; NaN (whatever its bits) is code -1.

    For a few rows (``small``, default: at most ``_SMALL`` values) each value is its own "unique"
    (repeats included): a hash table costs more than hashing a value twice, and each value's hash
    depends on its bytes alone.
    """
    x = np.asarray(x, dtype=np.float64) + 0.0  # -0.0 -> 0.0
    if len(x) <= _SMALL if small is None else small:
        present = ~np.isnan(x)
        codes = np.where(present, np.cumsum(present) - 1, -1)
        uniques = np.ascontiguousarray(x[present])
    else:
        codes, uniques = pd.factorize(x, use_na_sentinel=True)
        uniques = np.ascontiguousarray(uniques, dtype=np.float64)
    return codes, uniques.view(np.uint64).view("S8").astype(object)


def _text_uniques(values: np.ndarray, small: bool | None = None) -> tuple[np.ndarray, np.ndarray]:
    """:func:`factorize_objects` of a text column, or, for a few rows (``small``, default: at most
    ``_SMALL`` values) of ``str`` and ``None`` only, each present value its own "unique": the
    same hash for every row (see :func:`_number_uniques`), without a hash table."""
    if len(values) <= _SMALL if small is None else small:
        listed = values.tolist()
        # Only str and None: other objects may be missing values to factorize_objects, or make
        # SipHash fall back to hashing every value's text.
        if set(map(type, listed)) <= _STR_OR_NONE:
            missing = np.fromiter(map(operator.is_, listed, itertools.repeat(None)), bool, count=len(listed))
            return np.where(missing, -1, np.cumsum(~missing) - 1), values[~missing]
    return factorize_objects(values)


def _hash_strings(values: np.ndarray, key: str, factorized=None) -> tuple[np.ndarray, np.ndarray]:
    """Keyed hash of each text (once per unique text) and whether it is present (not None/"")."""
    codes, uniques = _text_uniques(values) if factorized is None else factorized
    h = np.append(_siphash_unique(uniques, key), np.uint64(0))  # code -1 (missing) -> 0
    present = np.append(uniques != "", False)
    return h[codes], present[codes]


def _siphash_unique(uniques: np.ndarray, key: str) -> np.ndarray:
    """:func:`fraudscore.secret.keyed_hash` of values already unique (same hashes).

    keyed_hash factorizes first, which costs a second hash table and, under pandas 3, a round trip
    through Arrow strings: the largest cost of fingerprinting before this shortcut. For object
    arrays it calls pandas' SipHash kernel directly, then the same finaliser ``hash_array``
    applies (:func:`_mix`): ``hash_array``'s own checks cost ~20 us a call, most of hashing a
    batch of one (property-tested equal to ``keyed_hash``).
    """
    try:
        return siphash_objects(uniques, key)
    except UnicodeEncodeError:
        # A lone surrogate (JSON allows "\ud800") has no UTF-8: hash its surrogate-escaped bytes,
        # which no other text encodes to, rather than lose the batch. Other values keep their hash.
        return _siphash_unique(np.array([v.encode("utf-8", "surrogatepass") if isinstance(v, str) else v
                                         for v in uniques.tolist()] + [None], dtype=object)[:-1], key)


def _ragged_parts(value) -> tuple[np.ndarray, np.ndarray]:
    if hasattr(value, "values") and hasattr(value, "offsets"):
        return np.asarray(value.values, dtype=object), np.asarray(value.offsets, dtype=np.int64)
    values, offsets = value
    return np.asarray(values, dtype=object), np.asarray(offsets, dtype=np.int64)


def _take_ragged(values: np.ndarray, offsets: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rows ``rows`` (sorted) of a ragged column, touching no element of any other row."""
    lengths = np.diff(offsets)[rows]
    new_offsets = np.zeros(len(rows) + 1, np.int64)
    np.cumsum(lengths, out=new_offsets[1:])
    within = np.arange(new_offsets[-1], dtype=np.int64) - np.repeat(new_offsets[:-1], lengths)
    return values[np.repeat(offsets[:-1][rows], lengths) + within], new_offsets


def _hash_ragged(values: np.ndarray, offsets: np.ndarray, key: str) -> tuple[np.ndarray, np.ndarray]:
    """Order-sensitive hash of each row's list; also returns whether the row has any element."""
    element = _hash_strings(values, key)[0] if len(values) else np.zeros(0, np.uint64)
    return _ragged_rows(element, offsets)


def _ragged_rows(element: np.ndarray, offsets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Row hashes of a ragged column from the keyed hash of each element (see _hash_ragged)."""
    lengths = np.diff(offsets)
    n = len(lengths)
    if len(element) == 0:
        return _mix(np.zeros(n, np.uint64)), lengths > 0
    position = (np.arange(len(element), dtype=np.int64) - np.repeat(offsets[:-1], lengths)).astype(np.uint64)
    element = _mix(element ^ (position * _GOLDEN))
    # Segment sums from one wrapping cumulative sum (uint64 arithmetic is mod 2**64).
    total = np.concatenate([np.zeros(1, np.uint64), np.cumsum(element, dtype=np.uint64)])
    sums = total[offsets[1:]] - total[offsets[:-1]]
    return _mix(sums ^ lengths.astype(np.uint64)), lengths > 0


def _combine(parts, m: int) -> np.ndarray:
    """One 64-bit value per row from per-field keyed hashes, shape (m,).

    A polynomial in the parts (mod 2**64, odd multiplier), so field order matters and two rows
    collide only if their keyed field hashes happen to cancel (chance about 2**-64), then mixed.
    The parts are keyed already; this step adds no key and needs none. ``parts``: a list of
    arrays of shape (m,), or one array of shape (k, m).
    """
    k = len(parts)
    if m <= _SMALL:
        # Horner's (..(c M + p0) M + ..) M + p(k-1) as one weighted sum, the same value mod 2**64:
        # a few operations in all instead of two per part (which dominate for a handful of rows).
        weighted = np.asarray(parts, dtype=np.uint64).reshape(k, m) * _POWERS[k - 1::-1, None]
        return _mix(weighted.sum(axis=0, dtype=np.uint64) + _SEEDED[k])
    h = np.full(m, _SEED, dtype=np.uint64)
    for part in parts:
        h *= _MULTIPLIER
        h += part
    return _mix(h)


def _keyed_final(digest: np.ndarray, key: str) -> np.ndarray:
    """Keyed SipHash of each 64-bit digest, once per unique digest; never 0."""
    if len(digest) <= _SMALL:
        codes, uniques = slice(None), np.ascontiguousarray(digest, dtype=np.uint64)
    else:
        codes, uniques = pd.factorize(digest)
        uniques = np.ascontiguousarray(np.asarray(uniques, dtype=np.uint64))
    # 8-byte strings: numpy drops trailing NUL bytes, which is still one-to-one for a fixed width.
    # keyed_hash's SipHash, without its factorize step: these are unique already.
    out = _siphash_unique(uniques.view("S8").astype(object), key)[codes]
    out[out == 0] = 1
    return out


# ---------------------------------------------------------------------------------------------
# Public API


class _Columns:
    """Per-field hashes over the consenting rows, each computed once per call.

    :meth:`prefetch` hashes the distinct values of many fields in one SipHash call: the
    per-call cost of ``hash_array`` (~20 fields) dominated fingerprinting a batch of one. The
    hashes are the same as one call per field (each value's hash depends on its bytes alone).
    """

    def __init__(self, columns: Mapping, rows: np.ndarray, n: int, key: str, factorized: Mapping | None = None):
        self.columns, self.rows, self.key = columns, rows, key
        self.everyone = len(rows) == n  # the common case: no copies needed
        self._cache: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        self.factorized: dict[str, tuple[np.ndarray, np.ndarray]] = {}  # text fields: (codes, uniques)
        self.given = factorized if (factorized is not None and self.everyone) else {}

    def take(self, col) -> np.ndarray:
        return col if self.everyone else col[self.rows]

    def get(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        """(hash, present) of one field, uint64 and bool of shape (m,)."""
        if name not in self._cache:
            self.prefetch([name])
        return self._cache[name]

    def prefetch(self, names) -> None:
        """Hash every field of ``names`` not hashed yet, with one SipHash call for all of them.

        A value's hash depends on its bytes alone (one key for every field), so each row gets the
        hashes one call per field would give it. For a few rows (one-row scoring), where fixed
        per-operation costs dominate, fields are also handled together: the text fields the caller
        did not factorize (but the user agent, parsed per distinct value) as one pool, the number
        fields as another, each value its own "unique", and codes as one (fields, rows) matrix.
        """
        todo = [name for name in dict.fromkeys(names) if name not in self._cache]
        m = len(self.rows)
        small = m <= _SMALL
        # Distinct values to hash, in blocks; in the hash array each block is followed by a 0, so a
        # block's code -1 (missing) reads the 0 just before it (or, for the first, the last one).
        pieces = []
        size = 0

        def add(uniques) -> slice:
            nonlocal size
            pieces.append(uniques)
            size += len(uniques)
            start = size - len(uniques) + len(pieces) - 1
            return slice(start, start + len(uniques) + 1)  # the block and its 0

        numbers, texts, lists, pool = [], [], [], []  # texts: [name, codes, start]; pool: (values, entry)
        for name in todo:
            col = self.columns.get(name)
            if col is None:
                self._cache[name] = np.zeros(m, np.uint64), np.zeros(m, bool)
            elif name in _LIST_FIELDS:
                values, offsets = _ragged_parts(col)
                if not self.everyone:
                    values, offsets = _take_ragged(values, offsets, self.rows)
                entry = [name, None, None, offsets]
                if name in self.given:
                    entry[1], entry[2] = self.given[name][0], add(self.given[name][1])
                else:
                    pool.append((values, entry))
                lists.append(entry)
            elif name in _STRING_FIELDS:
                entry = [name, None, None]
                if name in self.given or name == "device.user_agent":
                    codes, uniques = self.given[name] if name in self.given else \
                        _text_uniques(self.take(np.asarray(col, dtype=object)), small)
                    self.factorized[name] = codes, uniques
                    entry[1], entry[2] = codes, add(uniques)
                else:
                    pool.append((self.take(np.asarray(col, dtype=object)), entry))
                texts.append(entry)
            elif name == "device.screen":
                wh = self.take(np.asarray(col, dtype=np.float64))
                # (long side, short side): a phone turned sideways is the same phone. One number per
                # pair (both sides are whole CSS pixels below 2**20) keeps it one hash.
                numbers.append((name, np.fmax(wh[:, 0], wh[:, 1]) * 2.0**20 + np.fmin(wh[:, 0], wh[:, 1])))
            else:
                numbers.append((name, self.take(np.asarray(col, dtype=np.float64))))
        if pool and small:
            codes, uniques = _text_uniques(np.concatenate([v for v, _ in pool]), small)
            block, at = add(uniques), 0
            for values, entry in pool:
                entry[1], entry[2] = codes[at:at + len(values)], block
                at += len(values)
        for values, entry in pool if not small else ():  # many rows: one hash table per field is cheaper
            codes, uniques = factorize_objects(values)
            entry[1], entry[2] = codes, add(uniques)
        if numbers and small:
            codes, uniques = _number_uniques(np.concatenate([x for _, x in numbers]), small)
            block = add(uniques)
            numbers = [(name, c, block) for (name, _), c in zip(numbers, codes.reshape(len(numbers), m))]
        else:
            numbers = [(name, *_number_uniques(x, small)) for name, x in numbers]
            numbers = [(name, c, add(u)) for name, c, u in numbers]
        distinct = np.concatenate(pieces) if pieces else np.zeros(0, object)
        ends = np.cumsum([len(u) for u in pieces], dtype=np.int64)
        hashes = np.insert(_siphash_unique(distinct, self.key) if size else np.zeros(0, np.uint64), ends, np.uint64(0))
        present = np.insert(distinct != "", ends, False) if texts else None  # "" is hashed but is no attribute
        for entries, has in ((numbers, None), (texts, present)):
            if not entries:
                continue
            if small:  # all fields at once: a few operations in all, not a few per field
                codes = np.asarray([c for _, c, _ in entries], dtype=np.int64).reshape(len(entries), m)
                at = codes + np.asarray([block.start for _, _, block in entries], dtype=np.int64)[:, None]
                h, p = hashes[at], (codes >= 0 if has is None else has[at])
                for i, (name, _, _) in enumerate(entries):
                    self._cache[name] = h[i], p[i]
            else:  # field by field (no (fields, rows) temporaries); -1 reads the block's 0
                for name, codes, block in entries:
                    self._cache[name] = hashes[block][codes], (codes >= 0 if has is None else has[block][codes])
        if lists and small:
            # Both list fields' rows as one ragged column (the second's offsets shifted).
            elements, offsets = [], [np.zeros(1, np.int64)]
            for _, codes, block, off in lists:
                elements.append(hashes[np.asarray(codes, dtype=np.int64) + block.start])
                offsets.append(np.asarray(off[1:], dtype=np.int64) + offsets[-1][-1])
            h, p = _ragged_rows(np.concatenate(elements), np.concatenate(offsets))
            for i, (name, _, _, _) in enumerate(lists):
                self._cache[name] = h[i * m:(i + 1) * m], p[i * m:(i + 1) * m]
        for name, codes, block, offsets in lists if not small else ():
            self._cache[name] = _ragged_rows(hashes[block][codes], offsets)

def _ua_block(codes: np.ndarray, uniques: np.ndarray, key: str) -> np.ndarray:
    """Keyed hash of (OS family, browser family, device class) of each user agent, shape (m,).

    Takes the user-agent column already factorized; parses once per unique user agent (and the
    parser's LRU remembers them across batches).
    """
    from fraudscore.enrich.ua import _FIELDS, _UNKNOWN_ROW, default_parser

    parse_one = default_parser().parse_one
    rows = [parse_one(u) for u in uniques] + [_UNKNOWN_ROW]  # last: code -1 (missing)
    at = [_FIELDS.index(f) for f in UA_LINK_FIELDS]
    words = ["\x1f".join([row[i] for i in at]) for row in rows]  # per unique UA
    return _siphash_unique(np.asarray(words, dtype=object), key)[codes]


def fingerprint(columns: Mapping, *, ip=None, secret: str | bytes | None = None,
                factorized: Mapping | None = None) -> Fingerprints:
    """Compute ``device_id`` and ``link_id`` for a batch of columns.

    Parameters
    ----------
    columns : Mapping of str to array
        Columns keyed by schema field name, as :meth:`fraudscore.batch.SubmissionBatch.column`
        returns them: text as object arrays (``None`` = missing), numbers and flags as float64
        (NaN = missing), ``device.screen`` as float64 of shape (n, 2), ``device.languages`` and
        ``device.plugins`` as ragged lists (an object with ``values`` and ``offsets``, or a
        ``(values, offsets)`` pair). ``consent.usage`` (bool, or float64 1.0 = given) is required:
        rows without it are not read. Absent fields count as missing values.
    ip : IPInfo, optional
        :meth:`fraudscore.enrich.ip.IPDatabase.lookup` of ``network.ip`` (shape (n,)) when the
        caller has it already; else looked up here, for consenting rows only.
    secret : str or bytes, optional
        Installation secret; default ``FRAUDSCORE_SECRET`` (see :func:`fraudscore.secret.get_secret`).
    factorized : Mapping of str to (codes, uniques), optional
        Text and text-list fields already factorized (as :func:`fraudscore.enrich._factorize.
        factorize_objects` gives them, over all n rows, or over the list elements), e.g. by
        :meth:`fraudscore.batch.SubmissionBatch.factorized`; others are factorized here.

    Returns
    -------
    Fingerprints
        Arrays of shape (n,).
    """
    return _fingerprint(columns, ip, secret, factorized, consent_blanked=False)


def _fingerprint(columns: Mapping, ip, secret, factorized: Mapping | None, consent_blanked: bool) -> Fingerprints:
    """:func:`fingerprint`; ``consent_blanked``: rows without consent hold no values (a batch's)."""
    consent = np.asarray(columns["consent.usage"])
    consent = consent if consent.dtype == bool else (consent == 1.0)
    n = len(consent)
    device_id = np.zeros(n, np.uint64)
    link_id = np.zeros(n, np.uint64)
    anchor = np.zeros(n, np.int8)
    rows = np.flatnonzero(consent)
    if rows.size == 0:
        return Fingerprints(device_id, link_id, anchor, np.zeros(n, np.uint64))
    m = rows.size
    key = get_secret(secret)
    # Field hashes are per-row functions, so hashing every row and keeping the consenting ones gives
    # the same ids, and is cheaper than copying most rows out first. Only where nothing is there to
    # read: rows without consent are never read.
    hash_all = m == n or (consent_blanked and 2 * m >= n)
    cols = _Columns(columns, np.arange(n) if hash_all else rows, n, derive_key(key, "fingerprint.attribute"),
                    factorized)
    pick = (lambda x: x[rows]) if hash_all and m < n else (lambda x: x)

    cols.prefetch(DEVICE_FIELDS + LINK_FIELDS)
    hashed = len(cols.rows)
    parts = [cols.get(name) for name in DEVICE_FIELDS]
    enough = pick(np.sum([p[1] for p in parts], axis=0) >= MIN_ATTRIBUTES)
    dev = pick(_combine([p[0] for p in parts], hashed))
    dev[dev == 0] = 1  # 0 means missing
    device_id[rows] = np.where(enough, dev, np.uint64(0))

    # Link block key: stable attributes plus what the user agent says beyond its versions.
    cols.get("device.user_agent")
    ua_codes, ua_uniques = cols.factorized.get("device.user_agent", (np.full(hashed, -1), np.empty(0, object)))
    block = pick(_combine([cols.get(name)[0] for name in LINK_FIELDS] + [_ua_block(ua_codes, ua_uniques, cols.key)],
                          hashed))

    if ip is None:
        from fraudscore.enrich.ip import IPDatabase

        ip_col = columns.get("network.ip")
        ip_rows = IPDatabase.default().lookup(np.asarray(ip_col, object)[rows] if ip_col is not None
                                              else np.full(m, None, object))
    else:
        ip_rows = ip if m == n else _take_info(ip, rows)
    # Disambiguator: the /24 or /48 network; the cookie when there is no usable address.
    a = np.where(ip_rows.valid & ~ip_rows.is_private, 1, 0).astype(np.int8)
    # The network number is not keyed yet: the final keyed hash below covers it.
    disambiguator = np.where(a == 1, ip_rows.network, np.uint64(0))
    no_net = np.flatnonzero(a == 0)
    cookie = columns.get("device.cookie_id")
    if no_net.size and cookie is not None:
        # Hashed for these rows only: a column of unique ids is the costliest column to hash.
        h, has = _hash_strings(np.asarray(cookie, dtype=object)[rows[no_net]], cols.key)
        disambiguator[no_net] = h
        a[no_net] = np.where(has, 2, 0)
    linked = enough & (a > 0)
    link = _keyed_final(_combine([block, disambiguator, a.astype(np.uint64)], m), derive_key(key, "link"))
    link_id[rows] = np.where(linked, link, np.uint64(0))
    anchor[rows] = np.where(linked, a, 0)
    block_id = np.zeros(n, np.uint64)
    block = block.copy()
    block[block == 0] = 1
    block_id[rows] = np.where(enough, block, np.uint64(0))
    return Fingerprints(device_id, link_id, anchor, block_id)


def _take_info(info, rows: np.ndarray):
    """Rows of an IPInfo (a frozen dataclass of equal-length arrays)."""
    from dataclasses import fields, replace

    return replace(info, **{f.name: getattr(info, f.name)[rows] for f in fields(info)})


def fingerprint_batch(batch, *, ip=None, secret: str | bytes | None = None) -> Fingerprints:
    """:func:`fingerprint` of a :class:`fraudscore.batch.SubmissionBatch`.

    A batch of one (``Scorer.score_one``) goes through :func:`_fingerprint_one`: the same ids.

    Parameters
    ----------
    batch : SubmissionBatch
    ip, secret
        As for :func:`fingerprint`.
    """
    if len(batch) == 1:
        return _fingerprint_one(batch, ip, secret)
    names = set(DEVICE_FIELDS) | set(LINK_FIELDS) | {"network.ip", "device.cookie_id", "device.user_agent"}
    columns = {name: batch.column(name) for name in names}
    columns["consent.usage"] = batch.consent_usage
    # The batch factorizes each text column once for every stage that needs it (UA, IP, here);
    # a few rows are hashed value by value instead (see _text_uniques).
    factorized = {name: batch.factorized(name) for name in names & (_STRING_FIELDS | _LIST_FIELDS)} \
        if len(batch) > _SMALL else None
    return _fingerprint(columns, ip, secret, factorized, consent_blanked=True)


# ---------------------------------------------------------------------------------------------
# One row: the same ids with plain Python integers.

_M64 = (1 << 64) - 1
_GOLDEN_INT = int(_GOLDEN)
_MULTIPLIER_INT = int(_MULTIPLIER)
_PACK_FLOAT = struct.Struct("=d").pack  # native order, as numpy's view of float64 as bytes
_DEVICE_INDEX = {name: i for i, name in enumerate(DEVICE_FIELDS)}
_LINK_AT = tuple(_DEVICE_INDEX[name] for name in LINK_FIELDS)
#: DEVICE_FIELDS as (name, kind): 0 text, 1 number, 2 screen pair, 3 list of texts.
_ONE_ROW_PLAN = tuple((name, 0 if name in _STRING_FIELDS else 3 if name in _LIST_FIELDS
                       else 2 if name == "device.screen" else 1) for name in DEVICE_FIELDS)


def _combine_int(parts) -> int:
    """:func:`_combine` of one row (Horner's form, the same value mod 2**64)."""
    h = _SEED
    for part in parts:
        h = (h * _MULTIPLIER_INT + part) & _M64
    return _mix_int(h)


def _fingerprint_one(batch, ip, secret) -> Fingerprints:
    """:func:`fingerprint_batch` of a batch of one row: the same ids (property-tested).

    The general path's numpy calls (a few hundred for one row) are fixed costs several times the
    hashing itself; here every value to hash goes into one SipHash call per key, and the field
    hashes are combined as Python integers, with the arithmetic of :func:`_combine`,
    :func:`_ragged_rows` and :func:`_keyed_final` (uint64 wrap-around as ``& _M64``).
    """
    zero = np.zeros(1, np.uint64)
    if not batch.consent_usage[0]:
        return Fingerprints(zero, zero.copy(), np.zeros(1, np.int8), zero.copy())
    key = get_secret(secret)
    attribute_key = derive_key(key, "fingerprint.attribute")
    items: list = []  # texts and 8-byte numbers to hash, in one call
    fields: list = []  # per DEVICE_FIELDS: index into items (-1 missing), or (indices, length) of a list
    present = 0
    for name, kind in _ONE_ROW_PLAN:
        column = batch.column(name)
        if kind == 3:
            values = column.values.tolist()  # one row: every element is this row's
            at = []
            for v in values:
                if v is None:
                    at.append(-1)
                else:
                    at.append(len(items))
                    items.append(v)
            fields.append((at, len(values)))
            present += len(values) > 0
            continue
        if kind == 0:
            v = column[0]
            if v is None:
                fields.append(-1)
                continue
            present += v != ""
        else:
            if kind == 2:
                w, h = column[0].tolist()
                # np.fmax / np.fmin: a NaN side gives the other side.
                if w != w:
                    w = h
                elif h != h:
                    h = w
                x = max(w, h) * 2.0**20 + min(w, h)
            else:
                x = float(column[0])
            if x != x:
                fields.append(-1)
                continue
            v = _PACK_FLOAT(x + 0.0).rstrip(b"\0")  # -0.0 -> 0.0; numpy's S8 drops trailing NULs
            present += 1
        fields.append(len(items))
        items.append(v)
    ua = batch.column("device.user_agent")[0]
    ua_at = len(items)
    items.append(_ua_word(ua))
    # Disambiguator: the /24 or /48 network; the cookie when there is no usable address.
    if ip is None:
        from fraudscore.enrich.ip import IPDatabase

        ip = IPDatabase.default().lookup(batch.column("network.ip"))
    anchor, disambiguator, cookie_at = 0, 0, -1
    if ip.valid[0] and not ip.is_private[0]:
        anchor, disambiguator = 1, int(ip.network[0])
    else:
        cookie = batch.column("device.cookie_id")[0]
        if cookie is not None:
            anchor, cookie_at = (2 if cookie != "" else 0), len(items)
            items.append(cookie)
    hashes = _siphash_unique(np.array(items, dtype=object), attribute_key).tolist()
    hashes.append(0)  # index -1: a missing value hashes to 0
    parts = []
    for spec in fields:
        if spec.__class__ is int:
            parts.append(hashes[spec])
        else:  # _ragged_rows of one row
            at, length = spec
            total = 0
            for position, i in enumerate(at):
                total += _mix_int(hashes[i] ^ ((position * _GOLDEN_INT) & _M64))
            parts.append(_mix_int((total & _M64) ^ length))
    if present < MIN_ATTRIBUTES:
        return Fingerprints(zero, zero.copy(), np.zeros(1, np.int8), zero.copy())
    device = _combine_int(parts) or 1
    block = _combine_int([parts[i] for i in _LINK_AT] + [hashes[ua_at]])
    link = 0
    if anchor:
        if cookie_at >= 0:
            disambiguator = hashes[cookie_at]
        digest = _combine_int((block, disambiguator, anchor)).to_bytes(8, sys.byteorder).rstrip(b"\0")
        link = int(_siphash_unique(np.array([digest], dtype=object), derive_key(key, "link"))[0]) or 1
    return Fingerprints(np.array([device], np.uint64), np.array([link], np.uint64),
                        np.array([anchor if link else 0], np.int8), np.array([block or 1], np.uint64))


def _ua_word(ua) -> str:
    """The text :func:`_ua_block` hashes for one user agent (``None``: the unknown row's)."""
    from fraudscore.enrich.ua import _FIELDS, _UNKNOWN_ROW, default_parser

    row = default_parser().parse_one(ua) if ua is not None else _UNKNOWN_ROW
    return "\x1f".join([row[_FIELDS.index(f)] for f in UA_LINK_FIELDS])

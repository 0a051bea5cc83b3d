"""What a history store is fed: one row per submission, keyed hashes only.

:class:`Observations` is the only input a store accepts. Every identifier in it is already a
keyed 64-bit hash (installation secret), so no raw IP, cookie, respondent id or text can reach a
store. :meth:`Observations.from_raw` builds it from raw values, hashing each kind with its own
purpose-specific key so hashes of one raw value are unlinkable across kinds.

Missing values are the hash ``0`` (a real hash that happens to be 0 is mapped to 1, a collision
with probability 2**-64 that costs nothing). A row with key 0 for a kind is neither counted nor
counts for others in that kind.

Columns of text (``str`` or missing, what the readers give) are hashed and normalised as Arrow
arrays: each distinct value is hashed once, text is folded and its whitespace collapsed by Arrow
kernels (Python's ``str.casefold`` runs once over the joined non-ASCII rows). Up to ``_FEW`` (16)
values, as ``score_one`` gives, are handled in plain Python per value instead, which has no fixed
costs. Anything else (numbers, bytes, lone surrogates) goes through the pandas path the fast ones
replaced (:func:`_hash_values_general`, :func:`_normalise_text_general`); all give the same hashes,
so stores written before keep matching (property-tested on hostile Unicode, and pinned).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, fields

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from fraudscore.secret import derive_key, get_secret, keyed_hash, keyed_hash_one

__all__ = ["KINDS", "KIND_FIELDS", "Observations", "hash_values", "ip_prefix_text", "normalise_text"]

#: Key kinds a store counts, in column order.
KINDS = ("device", "link", "cookie", "ip", "ip_prefix", "respondent", "text")
#: The :class:`Observations` field that holds each kind's hash.
KIND_FIELDS = {
    "device": "device_id",
    "link": "link_id",
    "cookie": "cookie",
    "ip": "ip",
    "ip_prefix": "ip_prefix",
    "respondent": "respondent",
    "text": "text",
}


@dataclass(frozen=True)
class Observations:
    """A batch of submissions as a history store sees them.

    Parameters
    ----------
    submission_id : ndarray of shape (n,), dtype object
        Submission ids (str). The store keeps only their keyed hash; a repeated id is a retry.
    survey_key : ndarray of shape (n,), dtype uint64
        Keyed hash of the survey id.
    timestamp_ms : ndarray of shape (n,), dtype int64
        Submission time, ms since the epoch.
    device_id, link_id, cookie, ip, ip_prefix, respondent, text : ndarray of shape (n,), dtype uint64
        Keyed hashes; 0 means missing. ``ip_prefix`` is the /24 (IPv4) or /48 (IPv6) network,
        ``text`` the normalised open-text answer (:func:`normalise_text`).
    """

    submission_id: np.ndarray
    survey_key: np.ndarray
    timestamp_ms: np.ndarray
    device_id: np.ndarray
    link_id: np.ndarray
    cookie: np.ndarray
    ip: np.ndarray
    ip_prefix: np.ndarray
    respondent: np.ndarray
    text: np.ndarray

    def __post_init__(self) -> None:
        n = len(self.submission_id)
        for f in fields(self):
            value = np.asarray(getattr(self, f.name))
            if f.name == "submission_id":
                value = value.astype(object)
                # infer_dtype is one C pass: "string" means every value is a str (None included, it is not)
                if len(value) and (pd.api.types.infer_dtype(value, skipna=False) != "string" or (value == "").any()):
                    raise ValueError("submission_id must be non-empty strings")
            elif f.name == "timestamp_ms":
                value = value.astype(np.int64, copy=False)
            else:
                if value.dtype != np.uint64:
                    raise TypeError(f"{f.name} must be uint64 keyed hashes, got {value.dtype}")
            if value.shape != (n,):
                raise ValueError(f"{f.name} has shape {value.shape}, expected ({n},)")
            object.__setattr__(self, f.name, value)

    def __len__(self) -> int:
        return len(self.submission_id)

    def take(self, index) -> Observations:
        """Rows ``index`` (any numpy index) as a new batch."""
        return Observations(**{f.name: getattr(self, f.name)[index] for f in fields(self)})

    @classmethod
    def concat(cls, parts) -> Observations:
        """Batches one after another, as one batch."""
        parts = list(parts)
        if not parts:
            return cls.from_hashes(np.empty(0, dtype=object), np.empty(0, np.int64), 0)
        return cls(**{f.name: np.concatenate([getattr(p, f.name) for p in parts]) for f in fields(cls)})

    @classmethod
    def from_hashes(cls, submission_id, timestamp_ms, survey_key, **hashes) -> Observations:
        """Build a batch from hashes you already have; kinds not given are missing (0).

        Parameters
        ----------
        submission_id : array-like of shape (n,) of str
        timestamp_ms : array-like of shape (n,) of int
        survey_key : array-like of shape (n,) of int, or one int for every row
        **hashes : array-like of shape (n,) of int
            Any of ``device_id, link_id, cookie, ip, ip_prefix, respondent, text``.
        """
        submission_id = np.asarray(submission_id, dtype=object)
        n = len(submission_id)
        unknown = set(hashes) - set(KIND_FIELDS.values())
        if unknown:
            raise TypeError(f"unknown key kinds {sorted(unknown)}")
        columns = {}
        for name in KIND_FIELDS.values():
            values = np.asarray(hashes.get(name, np.zeros(n, np.uint64)))
            if values.size and values.dtype.kind not in "iu":  # a raw string must never pass for a hash
                raise TypeError(f"{name} must be integer hashes, got {values.dtype}")
            columns[name] = values.astype(np.uint64)
        return cls(submission_id=submission_id, timestamp_ms=np.asarray(timestamp_ms, dtype=np.int64),
                   survey_key=np.broadcast_to(np.asarray(survey_key, dtype=np.uint64), (n,)).copy(), **columns)

    @classmethod
    def from_raw(cls, submission_id, survey_id, timestamp_ms, *, device_id=None, link_id=None, cookie=None,
                 ip=None, respondent_id=None, text=None, secret: str | bytes | None = None) -> Observations:
        """Hash raw identifiers into an :class:`Observations` batch.

        Parameters
        ----------
        submission_id, survey_id : array-like of shape (n,) of str
        timestamp_ms : array-like of shape (n,) of int
        device_id, link_id : array-like of shape (n,), dtype uint64, optional
            Already keyed hashes from :mod:`fraudscore.fingerprint` (0 = missing); taken as they are.
        cookie, ip, respondent_id, text : array-like of shape (n,) of str, optional
            Raw values; ``None``, NaN and ``""`` mean missing. The IP prefix is derived from ``ip``;
            an unparseable IP counts as missing for both ``ip`` and ``ip_prefix``.
        secret : str or bytes, optional
            Installation secret (see :func:`fraudscore.secret.get_secret`); must be the store's.
        """
        submission_id = np.asarray(submission_id, dtype=object)
        n = len(submission_id)
        key = get_secret(secret)
        if n == 1:  # score_one
            one = cls._from_raw_one(submission_id, survey_id, timestamp_ms, device_id, link_id, cookie, ip,
                                    respondent_id, text, key)
            if one is not None:
                return one

        def hashes(values, purpose):
            return np.zeros(n, np.uint64) if values is None else hash_values(values, derive_key(key, purpose))

        def given(values):
            return np.zeros(n, np.uint64) if values is None else np.asarray(values, dtype=np.uint64)

        ip_hash = prefix_hash = np.zeros(n, np.uint64)
        if ip is not None:
            # Hashed per distinct address, then spread over the rows (most traffic repeats addresses).
            codes, address, prefix = _ip_uniques(ip)
            ip_hash = _spread(hash_values(address, derive_key(key, "ip")), codes)
            prefix_hash = _spread(hash_values(prefix, derive_key(key, "ip_prefix")), codes)
        if text is None:
            text_hash = np.zeros(n, np.uint64)
        else:
            column = _text_array(text) if n > _FEW else None
            text_hash = (hash_values(normalise_text(text), derive_key(key, "text")) if column is None
                         else _hash_text(_normalise_arrow(column), derive_key(key, "text")))
        return cls(
            submission_id=submission_id,
            survey_key=hashes(survey_id, "survey"),
            timestamp_ms=np.asarray(timestamp_ms, dtype=np.int64),
            device_id=given(device_id),
            link_id=given(link_id),
            cookie=hashes(cookie, "cookie"),
            ip=ip_hash,
            ip_prefix=prefix_hash,
            respondent=hashes(respondent_id, "respondent"),
            text=text_hash,
        )

    @classmethod
    def _from_raw_one(cls, submission_id, survey_id, timestamp_ms, device_id, link_id, cookie, ip, respondent_id,
                      text, key: bytes) -> Observations | None:
        """:meth:`from_raw` of one row whose raw values are each a ``str`` or None, in Python: one
        SipHash call per kind instead of ~12 us of array calls each; None for anything else (the
        general path then hashes or refuses it). The same hashes, property-tested."""
        sid = submission_id[0]
        if sid.__class__ is not str or not sid:
            return None  # __post_init__ refuses it
        raw = [_only(v) for v in (survey_id, cookie, ip, respondent_id, text)]
        if any(v is _NOT_ONE for v in raw):
            return None
        survey, cookie, ip, respondent, text = raw
        address = prefix = None
        if ip:
            address, prefix = _ip_texts(ip)
        if text is not None:
            text = _normalise_one(text)
        obs = object.__new__(cls)  # every column built here has its dtype and shape: no checks to repeat
        columns = {
            "submission_id": submission_id,
            "survey_key": _hash_one(survey, derive_key(key, "survey")),
            "timestamp_ms": np.asarray(timestamp_ms, dtype=np.int64),
            "device_id": np.zeros(1, np.uint64) if device_id is None else np.asarray(device_id, dtype=np.uint64),
            "link_id": np.zeros(1, np.uint64) if link_id is None else np.asarray(link_id, dtype=np.uint64),
            "cookie": _hash_one(cookie, derive_key(key, "cookie")),
            "ip": _hash_one(address, derive_key(key, "ip")),
            "ip_prefix": _hash_one(prefix, derive_key(key, "ip_prefix")),
            "respondent": _hash_one(respondent, derive_key(key, "respondent")),
            "text": _hash_one(text, derive_key(key, "text")),
        }
        for name, value in columns.items():
            if isinstance(value, int):
                value = np.array([value], dtype=np.uint64)
            if value.shape != (1,):
                return None
            object.__setattr__(obs, name, value)
        return obs


#: What :func:`_only` gives for a value the one-row path does not take.
_NOT_ONE = object()


def _only(values):
    """The one value of a column given to :meth:`Observations.from_raw` for one row when it is a
    ``str`` or None (None also for no column); else ``_NOT_ONE``."""
    if values is None:
        return None
    values = np.asarray(values, dtype=object)
    if values.shape != (1,):
        return _NOT_ONE
    value = values[0]
    return value if value is None or value.__class__ is str else _NOT_ONE


def _hash_one(value: str | None, key: str) -> int:
    """:func:`hash_values` of one ``str`` or None, as an int (None and ``""`` are missing: 0)."""
    if value is None or value == "":
        return 0
    return keyed_hash_one(value, key) or 1


def _ip_texts(value: str) -> tuple[str | None, str | None]:
    """:func:`_ip_uniques`' address and prefix texts of one address (None, None if it is none)."""
    from ipaddress import IPv6Address

    from fraudscore.enrich.ip import _parse_one

    version, v4, hi, lo = _parse_one(value)
    if version == 4:
        net = v4 & 0xFFFFFF00
        return (f"{v4 >> 24}.{(v4 >> 16) & 255}.{(v4 >> 8) & 255}.{v4 & 255}",
                f"{net >> 24}.{(net >> 16) & 255}.{(net >> 8) & 255}.0/24")
    if version == 6:  # _v6_text writes what ipaddress writes (RFC 5952)
        return str(IPv6Address((hi << 64) | lo)), str(IPv6Address((hi & 0xFFFFFFFFFFFF0000) << 64)) + "/48"
    return None, None


def _missing(values: pd.Series) -> np.ndarray:
    return (values.isna() | (values.astype(str) == "")).to_numpy()


def _text_array(values) -> pa.StringArray | None:
    """``values`` as an Arrow string array (``None``/NaN/``pd.NA`` null) when every present value is
    a ``str``; None otherwise (numbers, bytes, lone surrogates: the general paths handle those)."""
    arr = np.asarray(values, dtype=object)
    if arr.ndim != 1 or pd.api.types.infer_dtype(arr, skipna=True) not in ("string", "empty"):
        return None  # pyarrow would take bytes and NaT as text or null, which the general path does not
    try:
        return pa.array(arr, type=pa.string(), from_pandas=True)
    except (pa.ArrowException, UnicodeError):  # lone surrogates: not UTF-8
        return None


def _spread(unique_hashes: np.ndarray, codes: np.ndarray) -> np.ndarray:
    """Per-row hashes from per-unique ones; code -1 (missing) gives 0."""
    return np.append(unique_hashes, np.uint64(0))[codes]


def _hash_text(column: pa.StringArray, key: str) -> np.ndarray:
    """:func:`hash_values` of an Arrow string column: each distinct value hashed once."""
    encoded = pc.dictionary_encode(column)
    distinct = encoded.dictionary
    # keyed_hash's per-value SipHash (keyed_hash factorizes first to hash each distinct value once;
    # these are distinct already, and pandas' categorical path costs ~250 ns more a value on str).
    table = pd.util.hash_array(distinct.to_numpy(zero_copy_only=False), hash_key=key, categorize=False)
    table[table == 0] = 1  # 0 is reserved for "missing"
    table[pc.equal(pc.binary_length(distinct), 0).to_numpy(zero_copy_only=False)] = 0  # "" is missing
    indices = encoded.indices.fill_null(len(table)).to_numpy(zero_copy_only=False)
    return np.append(table, np.uint64(0))[indices]


def hash_values(values, key: str) -> np.ndarray:
    """Keyed hash of each value with missing (``None``, NaN, ``""``) as 0.

    Parameters
    ----------
    values : array-like of shape (n,)
    key : str
        From :func:`fraudscore.secret.derive_key`.

    Returns
    -------
    ndarray of shape (n,), dtype uint64
    """
    values = np.asarray(values, dtype=object)
    if len(values) <= _FEW:
        few = _few_strings(values)
        if few is None:
            return _hash_values_general(values, key)
        missing = np.array([v is None or v == "" for v in few], dtype=bool)
        out = keyed_hash(np.array(["" if v is None else v for v in few], dtype=object), key)
        out[out == 0] = 1  # 0 is reserved for "missing"
        out[missing] = 0
        return out
    column = _text_array(values)
    return _hash_values_general(values, key) if column is None else _hash_text(column, key)


#: Up to this many values (``score_one``, small batches) plain Python per value beats the fixed
#: costs of Arrow and pandas calls (~3 ms for one submission's hashes in pandas, ~0.2 ms so).
_FEW = 16


def _few_strings(values: np.ndarray) -> list | None:
    """``values`` as a list when each is a ``str`` or None (the few-values path); else None."""
    few = values.tolist()
    return few if all(v is None or isinstance(v, str) for v in few) else None


def _hash_values_general(values, key: str) -> np.ndarray:
    """:func:`hash_values` of any values: non-strings hashed as their ``str``."""
    series = pd.Series(np.asarray(values, dtype=object), dtype=object)
    missing = _missing(series)
    out = keyed_hash(series.where(~missing, "").astype(str).to_numpy(dtype=object), key)
    out[out == 0] = 1  # 0 is reserved for "missing"
    out[missing] = 0
    return out


#: Python's whitespace other than the space (``str.isspace``, what ``re``'s ``\s`` and ``str.strip``
#: use), as an RE2 class body; a test checks it against every code point.
_WHITESPACE_BUT_SPACE = r"\t-\r\x1c-\x1f\x{85}\x{a0}\x{1680}\x{2000}-\x{200a}\x{2028}\x{2029}\x{202f}\x{205f}\x{3000}"
#: Whitespace whose replacement by one space changes the text: runs of two or more, and any single
#: whitespace character other than the space. RE2 pays per match, so single spaces (most of them)
#: are left alone: ~0.4 instead of ~2.5 µs for a 120-character answer.
_WHITESPACE_TO_COLLAPSE = f"[ {_WHITESPACE_BUT_SPACE}][ {_WHITESPACE_BUT_SPACE}]+|[{_WHITESPACE_BUT_SPACE}]"
#: Joins non-ASCII rows for one ``casefold`` call; rows holding it are folded one by one.
_SEPARATOR = "\x00"


def _casefold(column: pa.StringArray) -> pa.StringArray:
    """``str.casefold`` of every row: Arrow's ASCII lowering for ASCII rows (the same there), one
    ``casefold`` of the other rows joined (it maps each character alone, so joining changes nothing)."""
    lowered = pc.ascii_lower(column)
    other = pc.invert(pc.string_is_ascii(column)).fill_null(False)
    if not pc.any(other).as_py():
        return lowered
    rows = column.filter(other).to_numpy(zero_copy_only=False).tolist()
    joined = _SEPARATOR.join(rows)
    if joined.count(_SEPARATOR) == len(rows) - 1:
        folded = joined.casefold().split(_SEPARATOR)
    else:  # a row holds the separator itself (hostile input): fold those rows one at a time
        folded = [row.casefold() for row in rows]
    return pc.replace_with_mask(lowered, other, pa.array(folded, type=pa.string()))


def _normalise_arrow(column: pa.StringArray) -> pa.StringArray:
    """:func:`normalise_text` of an Arrow string column; missing and empty results are null."""
    collapsed = pc.replace_substring_regex(_casefold(column), _WHITESPACE_TO_COLLAPSE, " ")
    stripped = pc.utf8_trim(collapsed, " ")  # at most one space left at each end
    return pc.if_else(pc.equal(pc.binary_length(stripped), 0), pa.scalar(None, pa.string()), stripped)


def normalise_text(values) -> np.ndarray:
    """Case-folded, whitespace-collapsed, stripped text, so trivial edits hash alike.

    ``re.sub(r"\\s+", " ", value.casefold()).strip()`` of each value, with Python's definitions of
    case folding and whitespace.

    Parameters
    ----------
    values : array-like of shape (n,) of str or None

    Returns
    -------
    ndarray of shape (n,), dtype object; missing stays ``None``
    """
    values = np.asarray(values, dtype=object)
    if len(values) <= _FEW:
        few = _few_strings(values)
        if few is not None:
            return np.array([None if v is None else _normalise_one(v) for v in few], dtype=object)
    column = _text_array(values) if len(values) > _FEW else None
    if column is None:
        return _normalise_text_general(values)
    return _normalise_arrow(column).to_numpy(zero_copy_only=False)


def _normalise_one(value: str) -> str | None:
    """:func:`normalise_text` of one ``str`` (None when nothing is left)."""
    return re.sub(r"\s+", " ", value.casefold()).strip() or None


def _normalise_text_general(values) -> np.ndarray:
    """:func:`normalise_text` of any values (non-strings as their ``str``), in pandas."""
    series = pd.Series(np.asarray(values, dtype=object), dtype=object)
    missing = _missing(series)
    text = series.where(~missing, "").astype(str).str.casefold().str.replace(r"\s+", " ", regex=True).str.strip()
    out = text.to_numpy(dtype=object)
    out[missing | (out == "")] = None
    return out


_HEX16 = np.array([f"{i:x}" for i in range(1 << 16)], dtype=object)


def _v4_text(v4: np.ndarray) -> np.ndarray:
    """Dotted quads of uint32 addresses (object array of str), formatted by Arrow (a few in Python)."""
    if len(v4) <= _FEW:
        return np.array([f"{v >> 24}.{(v >> 16) & 255}.{(v >> 8) & 255}.{v & 255}" for v in v4.tolist()], dtype=object)
    octets = [pc.cast(pa.array(((v4 >> np.uint32(shift)) & np.uint32(255)).astype(np.uint8)), pa.string())
              for shift in (24, 16, 8, 0)]
    return pc.binary_join_element_wise(*octets, ".").to_numpy(zero_copy_only=False)


def _v6_text(hi: np.ndarray, lo: np.ndarray) -> np.ndarray:
    """RFC 5952 text of IPv6 addresses, as :mod:`ipaddress` writes it (object array of str).

    Lower-case hex without leading zeros; the longest run of two or more zero groups (the first
    of equal runs) becomes ``::``.
    """
    m = len(hi)
    groups = np.empty((m, 8), np.int64)
    for g in range(4):
        shift = np.uint64(48 - 16 * g)
        groups[:, g] = ((hi >> shift) & np.uint64(0xFFFF)).astype(np.int64)
        groups[:, 4 + g] = ((lo >> shift) & np.uint64(0xFFFF)).astype(np.int64)
    zero = groups == 0
    # Length of the zero run ending at each group; the longest run's end and length per address.
    run = np.zeros((m, 8), np.int64)
    run[:, 0] = zero[:, 0]
    for g in range(1, 8):
        run[:, g] = np.where(zero[:, g], run[:, g - 1] + 1, 0)
    best_end = np.argmax(run, axis=1)  # first maximum: the leftmost longest run
    best_len = run[np.arange(m), best_end]
    best_start = best_end - best_len + 1
    text = _HEX16[groups]
    out = np.empty(m, dtype=object)
    for length in np.unique(best_len):  # a handful of patterns, each joined column-wise
        for start in np.unique(best_start[best_len == length]):
            rows = np.flatnonzero((best_len == length) & (best_start == start))
            cells = text[rows]
            if length < 2:
                joined = cells[:, 0]
                for g in range(1, 8):
                    joined = joined + ":" + cells[:, g]
            else:
                left = cells[:, 0] if start > 0 else np.full(len(rows), "", dtype=object)
                for g in range(1, start):
                    left = left + ":" + cells[:, g]
                right = np.full(len(rows), "", dtype=object)
                for g in range(start + length, 8):
                    right = right + (":" if g > start + length else "") + cells[:, g]
                joined = left + "::" + right
            out[rows] = joined
    return out


def ip_prefix_text(ips) -> tuple[np.ndarray, np.ndarray]:
    """Canonical address and its /24 (IPv4) or /48 (IPv6) network, parsed once per unique value.

    Parsing is :func:`fraudscore.enrich.ip.parse_ips` (vectorized dotted quads, ``inet_pton`` for
    IPv6), the parser validation and enrichment use; the texts are the ones :mod:`ipaddress` writes
    (``10.1.2.3``, ``10.1.2.0/24``, ``2001:db8:abcd::/48``), so hashes of stored keys do not change.
    An IPv4-mapped IPv6 address is its IPv4 address; an IPv6 zone (``%eth0``) is dropped.

    Parameters
    ----------
    ips : array-like of shape (n,) of str or None

    Returns
    -------
    address, prefix : ndarray of shape (n,), dtype object
        ``None`` where the input is missing or not an IP address.
    """
    codes, address, prefix = _ip_uniques(ips)
    return np.append(address, None)[codes], np.append(prefix, None)[codes]


def _ip_uniques(ips) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`ip_prefix_text` per distinct value: (codes of shape (n,), -1 for missing;
    address and prefix of each distinct value, ``None`` where it is not an IP address)."""
    from fraudscore.enrich.ip import parse_ips

    ips = np.asarray(ips, dtype=object)
    few = _few_strings(ips) if len(ips) <= _FEW else None
    column = _text_array(ips) if len(ips) > _FEW else None
    if few is not None:
        distinct = {}
        codes = np.array([-1 if not v else distinct.setdefault(v, len(distinct)) for v in few], dtype=np.int64)
        uniques = np.array(list(distinct), dtype=object)
    elif column is not None:
        column = pc.if_else(pc.equal(pc.binary_length(column), 0), pa.scalar(None, pa.string()), column)
        encoded = pc.dictionary_encode(column)
        codes = encoded.indices.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int64)
        uniques = encoded.dictionary.to_numpy(zero_copy_only=False)
    else:
        series = pd.Series(ips, dtype=object)
        codes, uniques = pd.factorize(series.where(~_missing(series), None), use_na_sentinel=True)
        uniques = np.asarray(uniques, dtype=object)
    version, v4, hi, lo, _ = parse_ips(uniques)  # per unique address, not per row
    address = np.full(len(uniques), None, dtype=object)
    prefix = np.full(len(uniques), None, dtype=object)
    four, six = np.flatnonzero(version == 4), np.flatnonzero(version == 6)
    if len(four):
        address[four] = _v4_text(v4[four])
        prefix[four] = _v4_text(v4[four] & np.uint32(0xFFFFFF00)) + "/24"
    if len(six):
        address[six] = _v6_text(hi[six], lo[six])
        prefix[six] = _v6_text(hi[six] & np.uint64(0xFFFFFFFFFFFF0000), np.zeros(len(six), np.uint64)) + "/48"
    return codes, address, prefix

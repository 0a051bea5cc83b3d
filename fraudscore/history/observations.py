"""What a history store is fed: one row per submission, keyed hashes only.

:class:`Observations` is the only input a store accepts. Every identifier in it is already a
keyed 64-bit hash (installation secret), so no raw IP, cookie, respondent id or text can reach a
store. :meth:`Observations.from_raw` builds it from raw values, hashing each kind with its own
purpose-specific key so hashes of one raw value are unlinkable across kinds.

Missing values are the hash ``0`` (a real hash that happens to be 0 is mapped to 1, a collision
with probability 2**-64 that costs nothing). A row with key 0 for a kind is neither counted nor
counts for others in that kind.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, fields

import numpy as np
import pandas as pd

from fraudscore.secret import derive_key, get_secret, keyed_hash

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
                if any(not isinstance(v, str) or not v for v in value):
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

        def hashes(values, purpose):
            return np.zeros(n, np.uint64) if values is None else hash_values(values, derive_key(key, purpose))

        def given(values):
            return np.zeros(n, np.uint64) if values is None else np.asarray(values, dtype=np.uint64)

        canonical_ip, prefix = (None, None) if ip is None else ip_prefix_text(ip)
        return cls(
            submission_id=submission_id,
            survey_key=hashes(survey_id, "survey"),
            timestamp_ms=np.asarray(timestamp_ms, dtype=np.int64),
            device_id=given(device_id),
            link_id=given(link_id),
            cookie=hashes(cookie, "cookie"),
            ip=hashes(canonical_ip, "ip"),
            ip_prefix=hashes(prefix, "ip_prefix"),
            respondent=hashes(respondent_id, "respondent"),
            text=hashes(None if text is None else normalise_text(text), "text"),
        )


def _missing(values: pd.Series) -> np.ndarray:
    return (values.isna() | (values.astype(str) == "")).to_numpy()


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
    series = pd.Series(np.asarray(values, dtype=object), dtype=object)
    missing = _missing(series)
    out = keyed_hash(series.where(~missing, "").astype(str).to_numpy(dtype=object), key)
    out[out == 0] = 1  # 0 is reserved for "missing"
    out[missing] = 0
    return out


def normalise_text(values) -> np.ndarray:
    """Case-folded, whitespace-collapsed, stripped text, so trivial edits hash alike.

    Parameters
    ----------
    values : array-like of shape (n,) of str or None

    Returns
    -------
    ndarray of shape (n,), dtype object; missing stays ``None``
    """
    series = pd.Series(np.asarray(values, dtype=object), dtype=object)
    missing = _missing(series)
    text = series.where(~missing, "").astype(str).str.casefold().str.replace(r"\s+", " ", regex=True).str.strip()
    out = text.to_numpy(dtype=object)
    out[missing | (out == "")] = None
    return out


def _parse_ip(text: str) -> tuple[str | None, str | None]:
    try:
        address = ipaddress.ip_address(text.strip())
    except ValueError:
        return None, None
    if address.version == 6 and address.ipv4_mapped is not None:
        address = address.ipv4_mapped  # ::ffff:1.2.3.4 is the IPv4 client 1.2.3.4
    bits = 24 if address.version == 4 else 48
    network = ipaddress.ip_network(f"{address}/{bits}", strict=False)
    return str(address), str(network)


def ip_prefix_text(ips) -> tuple[np.ndarray, np.ndarray]:
    """Canonical address and its /24 (IPv4) or /48 (IPv6) network, parsed once per unique value.

    Parameters
    ----------
    ips : array-like of shape (n,) of str or None

    Returns
    -------
    address, prefix : ndarray of shape (n,), dtype object
        ``None`` where the input is missing or not an IP address.
    """
    series = pd.Series(np.asarray(ips, dtype=object), dtype=object)
    missing = _missing(series)
    codes, uniques = pd.factorize(series.where(~missing, None), use_na_sentinel=True)
    parsed = [_parse_ip(str(u)) for u in uniques]  # per unique address, not per row
    address = np.array([p[0] for p in parsed] + [None], dtype=object)
    prefix = np.array([p[1] for p in parsed] + [None], dtype=object)
    return address[codes], prefix[codes]  # code -1 picks the trailing None

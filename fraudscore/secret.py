"""The installation secret and the keyed hashes made with it.

Everything fraudscore stores about a person (device ids, cookie, IP, respondent, text) is a keyed
hash: without the secret, a stored hash cannot be tested against a guessed raw value. The secret
comes from the ``FRAUDSCORE_SECRET`` environment variable or is passed explicitly; the built-in
development key is public, so using it logs a warning every time a process first needs it.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import os
import warnings

import numpy as np
import pandas as pd

try:  # private, but present and unchanged in pandas 1.x-3.x (hash_array's kernel)
    from pandas._libs.hashing import hash_object_array as _hash_object_array
except ImportError:  # pragma: no cover - depends on the installed pandas
    _hash_object_array = None

__all__ = ["DEVELOPMENT_SECRET", "DevelopmentSecretWarning", "get_secret", "keyed_hash", "derive_key"]

log = logging.getLogger("fraudscore")

#: Public, therefore worthless as a secret: for tests, examples and the demo only.
DEVELOPMENT_SECRET = "fraudscore-development-secret-do-not-use-in-production"


_logged = False


class DevelopmentSecretWarning(UserWarning):
    """The public development key is hashing personal data."""


def get_secret(secret: str | bytes | None = None) -> bytes:
    """Return the installation secret as bytes.

    Parameters
    ----------
    secret : str or bytes, optional
        Explicit secret; else ``FRAUDSCORE_SECRET``; else the development key, with a loud warning.
    """
    if secret is None:
        secret = os.environ.get("FRAUDSCORE_SECRET") or None
    if secret is None:
        msg = (
            "fraudscore is using its built-in DEVELOPMENT secret: stored hashes of IPs, devices and "
            "respondents can be reversed by anyone who has the library. Set FRAUDSCORE_SECRET to a "
            "long random value in production."
        )
        global _logged
        if not _logged:  # loud once per process in the log; the warning itself follows Python's filters
            log.warning(msg)
            _logged = True
        warnings.warn(msg, DevelopmentSecretWarning, stacklevel=1)  # one location: shown once by default
        secret = DEVELOPMENT_SECRET
    if isinstance(secret, str):
        secret = secret.encode()
    if len(secret) < 16:
        raise ValueError("the installation secret must be at least 16 bytes long")
    return secret


@functools.lru_cache(maxsize=64)  # a BLAKE2b per call otherwise, several per submission scored
def derive_key(secret: bytes, purpose: str) -> str:
    """Derive a 16-character SipHash key for one purpose (``"device"``, ``"ip"``, ...).

    A separate key per purpose keeps hashes of the same raw value unlinkable across purposes.
    pandas wants the key as 16 UTF-8 bytes, so 16 digest bytes are mapped onto printable ASCII
    (about 104 bits of key).
    """
    digest = hashlib.blake2b(purpose.encode(), key=secret[:64], digest_size=16).digest()
    return "".join(chr(33 + b % 94) for b in digest)


def keyed_hash(values, key: str) -> np.ndarray:
    """Keyed 64-bit SipHash-2-4 of each value, vectorized (uniques are hashed once).

    Parameters
    ----------
    values : array-like of shape (n,)
        Strings (or numbers); ``None`` hashes to a fixed value, so mask missing values yourself.
    key : str
        A key from :func:`derive_key`.

    Returns
    -------
    ndarray of shape (n,), dtype uint64
    """
    arr = np.asarray(values, dtype=object)
    # Factorizing first pays off on repeated values in large arrays; for a handful of values its
    # fixed cost (~0.4 ms) is most of a one-row call. Same hashes either way.
    if len(arr) > 64:
        return pd.util.hash_array(arr, hash_key=key, categorize=True)
    out = siphash_objects(arr, key)
    out[pd.isna(arr)] = np.uint64(2**64 - 1)  # what the factorized path gives a missing value
    return out


def siphash_objects(values: np.ndarray, key: str) -> np.ndarray:
    """``pandas.util.hash_array(values, hash_key=key, categorize=False)`` of an object array
    without its checks (~20 us a call, most of hashing a few values): pandas' SipHash kernel,
    then the finaliser ``hash_array`` applies. Values of mixed types hash their text, as there.
    """
    if _hash_object_array is None or values.dtype != object:
        return pd.util.hash_array(values, hash_key=key, categorize=False)
    try:
        return splitmix64(_hash_object_array(np.ascontiguousarray(values), key, "utf8"))
    except TypeError:  # mixed types: hash_array hashes every value's text then
        return splitmix64(_hash_object_array(values.astype(str).astype(object), key, "utf8"))


def keyed_hash_one(value: str, key: str) -> int:
    """:func:`keyed_hash` of one ``str``, as a Python int: one SipHash call and the finaliser on
    an int (~1.5 us; an array call costs ~12 us of fixed costs)."""
    if _hash_object_array is None:
        return int(keyed_hash(np.array([value], dtype=object), key)[0])
    return splitmix64_int(int(_hash_object_array(np.array([value], dtype=object), key, "utf8")[0]))


_MASK64 = (1 << 64) - 1
_S30, _S27, _S31 = np.uint64(30), np.uint64(27), np.uint64(31)
_M1, _M2 = np.uint64(0xBF58476D1CE4E5B9), np.uint64(0x94D049BB133111EB)


def splitmix64(x: np.ndarray) -> np.ndarray:
    """splitmix64 finaliser: spreads every input bit over the output (invertible, not keyed)."""
    x = x ^ (x >> _S30)  # a new array; the steps below reuse it (no temporaries)
    x *= _M1
    x ^= x >> _S27
    x *= _M2
    x ^= x >> _S31
    return x


def splitmix64_int(x: int) -> int:
    """:func:`splitmix64` of one value as a Python int (uint64 wrap-around as ``& 2**64 - 1``)."""
    x ^= x >> 30
    x = (x * 0xBF58476D1CE4E5B9) & _MASK64
    x ^= x >> 27
    x = (x * 0x94D049BB133111EB) & _MASK64
    return x ^ (x >> 31)

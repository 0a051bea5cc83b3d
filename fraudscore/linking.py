"""Stateful device linking: one id for the submissions of one device across networks.

:func:`fraudscore.fingerprint.fingerprint`'s ``link_id`` is a pure function of one row: the
block key (stable device attributes) plus the /24 or /48 network. A device that comes back from
another network gets another ``link_id``; on the simulator that caps recall at the share of repeats
seen from one network (docs/FINGERPRINT.md). :class:`DeviceLinker` keeps a table instead, in the
spirit of FP-Stalker's rule-based linker (Vastel et al., IEEE S&P 2018):

- a **key** is (block key, signal kind, signal value), where a signal is a person-level value that
  a repeat may keep while changing the others: the network, the cookie, the panel respondent id,
  the normalised open-text answer (:data:`SIGNALS`);
- a new row takes the link id stored under any of its keys (the smallest, when its keys disagree:
  the row joins two chains) or, when none is stored, a new id made from its own keys; then every
  one of its keys points to that id, so a chain ``network -> cookie -> text`` carries one id;
- rows are linked in time order: a row links only to rows seen before it, as a store can.

Blocking on the block key keeps the cost linear (a lookup per key, never all pairs), and a
fingerprint alone never links: identical mass-market phones share a block key, so two rows are
linked only through a shared person-level signal. Without ``consent.usage`` there is no block key
and no link.

The table holds 64-bit codes mixed from keyed hashes (installation secret), the link id and the
last time each key was seen: no raw attribute, address, cookie, id or text.
"""

from __future__ import annotations

import functools
import hashlib
import math
import struct
from collections.abc import Mapping

import numpy as np
import pandas as pd

from fraudscore.fingerprint import _mix, _mix_int  # the same splitmix64 finaliser as the ids it links
from fraudscore.secret import derive_key, get_secret, keyed_hash

__all__ = ["DeviceLinker", "link_signals", "SIGNALS", "MIN_TEXT_CHARS", "StateError"]

#: Person-level signals :func:`link_signals` derives, in the order they are keyed.
SIGNALS = ("network", "cookie", "respondent", "text")
#: Shortest normalised open-text answer (all answers of a row joined) that counts as a signal: a
#: short answer ("no", "nothing to add") is shared by strangers.
MIN_TEXT_CHARS = 20

_NONE = np.uint64(2**64 - 1)  # "no id" while linking; ids are never this value
_MAGIC = b"FSLINK01"
_M64 = 2**64 - 1
_FOUNDING = 0x5851F42D4C957F2D  # mixed into a key's code to give the id it founds
_MAX_PASSES = 8  # vectorized passes over a batch before the rest is settled row by row
_HEADER = struct.Struct("<8sQ")  # format name and version, number of keys


class StateError(ValueError):
    """Bytes given to :meth:`DeviceLinker.from_state` are not a linker state."""


@functools.lru_cache(maxsize=64)
def _kind_tag(kind: str) -> np.uint64:
    """A fixed 64-bit tag per signal kind, so equal values of two kinds give different keys."""
    return np.uint64(int.from_bytes(hashlib.blake2b(kind.encode(), digest_size=8).digest(), "little"))


def _id_of(codes: np.ndarray) -> np.ndarray:
    """The link id a key founds (when a row starts a chain), never 0 or ``_NONE``."""
    ids = _mix(codes ^ np.uint64(_FOUNDING))
    ids[(ids == 0) | (ids == _NONE)] = 1
    return ids


class DeviceLinker:
    """A table of (block key, signal) -> link id, and the batch operation that links and updates it.

    Ids depend on the order rows arrive in: across calls, the order of the calls; inside one call,
    time order (``time_ms``, ties by ``tiebreak``), so a batch gets the ids its rows would get one
    by one in that order, and a permutation of a batch's rows gets the same ids per row when
    ``tiebreak`` is given (e.g. a keyed hash of the submission id). Not thread-safe: one writer.

    Memory: 24 bytes per key (a row brings at most ``len(signals)`` keys; a repeat brings only its
    new ones): 2.7M keys for 1M simulated rows, 65 MB. The table is a sorted main part and a small
    sorted part for new keys, merged when the small part outgrows 8 sqrt(N) keys (at least 4,096),
    so a call costs O(k log N + k sqrt(N)) for k keys plus, now and then, one O(N) merge. Measured
    (CPU, one core): 1.5-2 us per row in batches of 20k-100k rows, ~45 us for one row alone.
    Ids are not idempotent under replays: a row that joined two chains re-linked later gets the
    merged (smaller) id; callers that retry batches should keep each submission's first id.

    Examples
    --------
    >>> import numpy as np
    >>> linker = DeviceLinker()
    >>> block = np.array([7, 7, 7], dtype=np.uint64)           # one phone model, three rows
    >>> network = np.array([1, 2, 2], dtype=np.uint64)         # keyed /24 hashes
    >>> cookie = np.array([10, 10, 11], dtype=np.uint64)       # keyed cookie hashes
    >>> ids = linker.link(block, {"network": network, "cookie": cookie}, np.array([0, 1, 2]))
    >>> bool(ids[0] == ids[1] == ids[2])                        # cookie joins 0-1, network 1-2
    True
    """

    def __init__(self) -> None:
        empty_u, empty_i = np.zeros(0, np.uint64), np.zeros(0, np.int64)
        # (codes sorted, ids, last seen ms): main part, and a small part for keys added lately.
        self._main = (empty_u, empty_u.copy(), empty_i)
        self._delta = (empty_u.copy(), empty_u.copy(), empty_i.copy())

    def __len__(self) -> int:
        return len(self._main[0]) + len(self._delta[0])

    # -----------------------------------------------------------------------------------------
    # Linking

    def link(self, block_id: np.ndarray, signals: Mapping[str, np.ndarray], time_ms: np.ndarray,
             tiebreak: np.ndarray | None = None) -> np.ndarray:
        """Link a batch of rows to the table and to each other, then record them.

        Parameters
        ----------
        block_id : ndarray of shape (n,), dtype uint64
            :attr:`fraudscore.fingerprint.Fingerprints.block_id` (0 = none: the row is not linked).
        signals : Mapping of str to ndarray of shape (n,), dtype uint64
            Keyed hashes of person-level signals by kind (0 = missing), e.g. :func:`link_signals`.
            A kind's name is part of its keys: use the same names in every call.
        time_ms : ndarray of shape (n,)
            When each row arrived; rows link only to rows before them (NaN sorts last).
        tiebreak : ndarray of shape (n,), optional
            Orders rows of equal time; default their position in the batch.

        Returns
        -------
        ndarray of shape (n,), dtype uint64
            Link id of each row, 0 for rows with no block key or no signal.
        """
        block = np.asarray(block_id, dtype=np.uint64)
        n = len(block)
        time = np.asarray(time_ms, dtype=np.float64)
        if time.shape != (n,):
            raise ValueError(f"time_ms has shape {time.shape}, expected ({n},)")
        if n == 1:
            return self._link_one(block, signals, time)
        rows, codes = self._keys(block, signals)
        out = np.zeros(n, np.uint64)
        if rows.size == 0:
            return out
        tie = np.arange(n) if tiebreak is None else np.asarray(tiebreak)
        rank = np.empty(n, np.int64)
        rank[np.lexsort((tie, time))] = np.arange(n)

        # Key occurrences grouped by key, in arrival order inside each group.
        by_key = np.lexsort((rank[rows], codes))
        rows, codes = rows[by_key], codes[by_key]
        first = np.ones(rows.size, bool)
        first[1:] = codes[1:] != codes[:-1]
        stored = self._lookup(codes[first])  # _NONE where the key is new
        group = np.cumsum(first) - 1

        # A row with no stored key and no earlier row on any of its keys starts a chain; its id is
        # the smallest id its keys found. Every other row takes the smallest id found before it.
        earlier = ~first | (stored[group] != _NONE)
        by_row = np.argsort(rows, kind="stable")
        row_starts = np.flatnonzero(np.r_[True, rows[by_row][1:] != rows[by_row][:-1]])
        keyed_rows = rows[by_row][row_starts]
        has_earlier = np.logical_or.reduceat(earlier[by_row], row_starts)
        founded = np.minimum.reduceat(_id_of(codes)[by_row], row_starts)

        # Work on ranks of the few possible id values, so that a grouped running minimum fits an
        # int64 sum: group g's values are shifted above every later group's.
        values = np.unique(np.concatenate([stored[stored != _NONE], founded[~has_earlier]]))
        none_rank = len(values)
        span = np.int64(none_rank + 1)
        row_rank = np.full(n, none_rank, np.int64)
        row_rank[keyed_rows[~has_earlier]] = np.searchsorted(values, founded[~has_earlier])
        stored_rank = np.where(stored != _NONE, np.searchsorted(values, stored), none_rank)
        shift = (group[-1] - group) * span
        waiting = keyed_rows[has_earlier]
        # Each pass settles at least the next link of every chain: one or two passes in practice.
        # A longer chain (rows joined one after another through alternating keys, which a script
        # can send) is finished row by row from its first unsettled row, so the cost stays linear.
        for _ in range(_MAX_PASSES):
            before = np.empty(rows.size, np.int64)  # per occurrence: what its key held before it
            before[first] = stored_rank
            before[1:][~first[1:]] = row_rank[rows[:-1][~first[1:]]]
            before = np.minimum.accumulate(before + shift) - shift
            found = np.minimum.reduceat(before[by_row], row_starts)[has_earlier]
            changed = found != row_rank[waiting]
            if not changed.any():
                break
            row_rank[waiting] = found
        else:
            _finish_in_order(int(rank[waiting[changed]].min()), rank, rows, group, by_row, row_starts, keyed_rows,
                             has_earlier, row_rank, stored_rank)
        values = np.append(values, _NONE)
        out[keyed_rows] = values[row_rank[keyed_rows]]

        # Every key now points to the smallest id of its rows (or its stored one), seen last at
        # its latest row.
        last = np.r_[first[1:], True]
        held = np.minimum.accumulate(row_rank[rows] + shift) - shift
        new_ids = values[np.minimum(held[last], stored_rank)]
        seen = np.maximum.reduceat(np.nan_to_num(time, nan=np.iinfo(np.int64).min)[rows], np.flatnonzero(first))
        self._store(codes[first], new_ids, seen.astype(np.int64))
        return out

    def _link_one(self, block: np.ndarray, signals: Mapping[str, np.ndarray], time: np.ndarray) -> np.ndarray:
        """:meth:`link` of one row: the same keys and rule in Python integers (no batch plan)."""
        b = int(block[0])
        mixed = _mix_int(b)
        codes = sorted({_mix_int(_mix_int(mixed ^ int(_kind_tag(kind))) ^ v)
                        for kind, value in signals.items() if (v := int(np.asarray(value)[0]))} if b else ())
        if not codes:
            return np.zeros(1, np.uint64)
        array = np.array(codes, np.uint64)
        known = [v for v in self._lookup(array).tolist() if v != _NONE]
        if known:
            link_id = min(known)
        else:
            link_id = min(_mix_int(c ^ _FOUNDING) for c in codes)
            link_id = 1 if link_id in (0, _M64) else link_id
        seen = np.iinfo(np.int64).min if np.isnan(time[0]) else int(time[0])
        self._store(array, np.full(array.size, link_id, np.uint64), np.full(array.size, seen, np.int64))
        return np.array([link_id], np.uint64)

    @staticmethod
    def _keys(block: np.ndarray, signals: Mapping[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        """(row, key code) of every present (block, signal) pair, kind by kind."""
        rows, codes = [], []
        blocked = _mix(block)
        for kind in sorted(signals):
            value = np.asarray(signals[kind], dtype=np.uint64)
            if value.shape != block.shape:
                raise ValueError(f"signal {kind!r} has shape {value.shape}, expected {block.shape}")
            at = np.flatnonzero((block != 0) & (value != 0))
            rows.append(at)
            codes.append(_mix(_mix(blocked[at] ^ _kind_tag(kind)) ^ value[at]))
        if not rows:
            return np.zeros(0, np.int64), np.zeros(0, np.uint64)
        return np.concatenate(rows), np.concatenate(codes)

    # -----------------------------------------------------------------------------------------
    # The table

    def _lookup(self, codes: np.ndarray) -> np.ndarray:
        """Stored id of each key code (sorted, distinct), ``_NONE`` where absent."""
        out = np.full(codes.size, _NONE)
        for keys, ids, _ in (self._main, self._delta):
            if keys.size:
                at = np.minimum(np.searchsorted(keys, codes), keys.size - 1)
                hit = keys[at] == codes
                out[hit] = np.minimum(out[hit], ids[at[hit]])
        return out

    def _store(self, codes: np.ndarray, ids: np.ndarray, seen: np.ndarray) -> None:
        """Set the id and last-seen time of each key code (sorted, distinct); add new keys."""
        new = np.ones(codes.size, bool)
        for keys, stored_ids, stored_seen in (self._main, self._delta):
            if keys.size:
                at = np.minimum(np.searchsorted(keys, codes), keys.size - 1)
                hit = keys[at] == codes
                stored_ids[at[hit]] = ids[hit]
                stored_seen[at[hit]] = np.maximum(stored_seen[at[hit]], seen[hit])
                new &= ~hit
        if new.any():
            self._delta = _insert(self._delta, (codes[new], ids[new], seen[new]))
        # The small part is kept near the square root of the main one: each insert copies the
        # small part, each merge the main one.
        if len(self._delta[0]) > max(4096, 8 * math.isqrt(len(self._main[0]))):
            self._compact()

    def _compact(self) -> None:
        """Merge the small part into the main one."""
        self._main = _insert(self._main, self._delta)
        self._delta = tuple(np.zeros(0, a.dtype) for a in self._delta)

    def purge(self, before_ms: float) -> int:
        """Forget keys last seen before ``before_ms`` (retention); returns how many were dropped."""
        self._compact()
        keep = self._main[2] >= before_ms
        dropped = int(keep.size - keep.sum())
        self._main = tuple(a[keep] for a in self._main)
        return dropped

    def forget(self, link_ids: np.ndarray) -> int:
        """Forget every key that points to one of ``link_ids`` (erasure); returns how many were dropped.

        A history store's ``erase(respondent_id)`` knows the link ids of that respondent's rows;
        dropping their keys removes every trace of the chains from the table.
        """
        self._compact()
        keep = ~np.isin(self._main[1], np.asarray(link_ids, dtype=np.uint64))
        dropped = int(keep.size - keep.sum())
        self._main = tuple(a[keep] for a in self._main)
        return dropped

    # -----------------------------------------------------------------------------------------
    # Persistence seam: the whole table as bytes (a store keeps them, or the three columns)

    def state(self) -> bytes:
        """The table as bytes: a header and three little-endian columns (codes, ids, last seen)."""
        self._compact()
        keys, ids, seen = self._main
        return b"".join([_HEADER.pack(_MAGIC, keys.size), keys.astype("<u8").tobytes(),
                         ids.astype("<u8").tobytes(), seen.astype("<i8").tobytes()])

    @classmethod
    def from_state(cls, data: bytes) -> DeviceLinker:
        """A linker holding the table that :meth:`state` wrote.

        Raises
        ------
        StateError
            When ``data`` is not a state of this format.
        """
        if len(data) < _HEADER.size:
            raise StateError("linker state too short")
        magic, size = _HEADER.unpack_from(data)
        if magic != _MAGIC or len(data) != _HEADER.size + 24 * size:
            raise StateError("not a fraudscore linker state (format FSLINK01)")
        body = np.frombuffer(data, dtype=np.uint8, offset=_HEADER.size)
        keys = body[:8 * size].view("<u8").astype(np.uint64)
        if size and not (keys[1:] > keys[:-1]).all():
            raise StateError("linker state keys are not sorted and distinct")
        linker = cls()
        linker._main = (keys, body[8 * size:16 * size].view("<u8").astype(np.uint64),
                        body[16 * size:].view("<i8").astype(np.int64))
        return linker


def _insert(table: tuple, new: tuple) -> tuple:
    """``table``'s columns with ``new``'s rows (keys sorted, absent from ``table``) in key order."""
    keys = table[0]
    size = keys.size + new[0].size
    at = np.searchsorted(keys, new[0]) + np.arange(new[0].size)  # where each new key lands
    old = np.ones(size, bool)
    old[at] = False
    out = []
    for column, added in zip(table, new):
        merged = np.empty(size, column.dtype)
        merged[at] = added
        merged[old] = column
        out.append(merged)
    return tuple(out)


def _finish_in_order(start: int, rank, rows, group, by_row, row_starts, keyed_rows, has_earlier, row_rank,
                     stored_rank) -> None:
    """Settle, one row at a time in arrival order, the rows from arrival rank ``start`` on.

    Rows before ``start`` are settled (the passes stopped changing them). ``row_rank`` (value ranks
    per row) is filled in place; the other arrays are :meth:`DeviceLinker.link`'s batch plan.
    """
    held = stored_rank.copy()  # per key: the smallest value of its settled rows
    settled = rank[rows] < start
    np.minimum.at(held, group[settled], row_rank[rows[settled]])
    held = held.tolist()
    groups = group[by_row].tolist()
    bounds = np.append(row_starts, by_row.size).tolist()
    values, row_of, chained = row_rank.tolist(), keyed_rows.tolist(), has_earlier.tolist()
    pending = np.flatnonzero(rank[keyed_rows] >= start)
    for i in pending[np.argsort(rank[keyed_rows[pending]])].tolist():
        keys = groups[bounds[i]:bounds[i + 1]]
        value = min([held[g] for g in keys]) if chained[i] else values[row_of[i]]
        for g in keys:
            held[g] = value  # never above what the key held: it was one of the candidates
        values[row_of[i]] = value
    row_rank[:] = values


# ---------------------------------------------------------------------------------------------
# Signals of a batch


def link_signals(batch, *, ip=None, secret: str | bytes | None = None) -> dict[str, np.ndarray]:
    """Keyed hashes of the :data:`SIGNALS` of each row of a batch (0 = missing).

    ``network`` is the /24 (IPv4) or /48 (IPv6) network of a valid public address; ``cookie`` and
    ``respondent`` the ids as sent; ``text`` the row's open-text answers joined, lower-cased and
    whitespace-collapsed, when at least :data:`MIN_TEXT_CHARS` long. Each kind has its own key
    (purpose ``"linking.<kind>"``). The batch has already blanked the fields that
    ``consent.usage`` gates (network, cookie).

    Parameters
    ----------
    batch : SubmissionBatch
    ip : IPInfo, optional
        :meth:`fraudscore.enrich.ip.IPDatabase.lookup` of ``network.ip``; looked up when absent.
    secret : str or bytes, optional
        Installation secret (:func:`fraudscore.secret.get_secret`).

    Returns
    -------
    dict of str to ndarray of shape (n,), dtype uint64
    """
    key = get_secret(secret)
    if ip is None:
        from fraudscore.enrich.ip import IPDatabase

        ip = IPDatabase.default().lookup(batch.column("network.ip"))
    public = ip.valid & ~ip.is_private & (ip.network != 0)
    network = np.full(batch.n, None, dtype=object)
    network[public] = ip.network[public].astype(str)
    raw = {"network": network, "cookie": np.asarray(batch.column("device.cookie_id"), dtype=object),
           "respondent": np.asarray(batch.column("respondent_id"), dtype=object), "text": _answer_text(batch)}
    return {kind: _hash(raw[kind], derive_key(key, f"linking.{kind}")) for kind in SIGNALS}


def _hash(values: np.ndarray, key: str) -> np.ndarray:
    """Keyed hash of each present (non-empty text) value, 0 for missing."""
    present = pd.notna(values) & (values != "")
    out = np.zeros(len(values), np.uint64)
    if present.any():
        h = keyed_hash(values[present], key)
        h[h == 0] = 1
        out[present] = h
    return out


def _answer_text(batch) -> np.ndarray:
    """Each row's open-text answers joined, lower-cased, whitespace runs collapsed, shape (n,).

    None where the result is shorter than :data:`MIN_TEXT_CHARS`. Whole-column Arrow kernels:
    per-row Python string calls cost several times the rest of the linking.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    text = batch.column("answers.text")
    values = pa.array(text.values, type=pa.string()).fill_null("")
    joined = pc.binary_join(pa.ListArray.from_arrays(pa.array(text.offsets, pa.int64()), values), "\n")
    words = pc.utf8_split_whitespace(pc.utf8_trim_whitespace(pc.utf8_lower(joined)))  # 2x faster than a regex
    normal = pc.binary_join(words, " ")
    long_enough = pc.greater_equal(pc.utf8_length(normal), MIN_TEXT_CHARS).to_numpy(zero_copy_only=False)
    out = normal.to_numpy(zero_copy_only=False).astype(object)
    out[~long_enough] = None
    return out

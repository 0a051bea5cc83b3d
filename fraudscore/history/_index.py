"""The in-memory index MemoryStore and SQLiteStore count from: a new batch costs O(log N) per row.

Why. The reference kernel (:func:`~fraudscore.history._counting.count_history`) gathers every
stored event of every key a batch touches and sorts them, so hot keys (stock answers, shared IP
prefixes) are re-read by every batch. For the rows of a *new* batch, every stored event is earlier
in arrival order, so "prior" reduces to time: the stored events of key *k* prior to row *q* in a
window *W* are those with ``max(q.t - W, cutoff) < t <= q.t``. With each kind's events sorted by
an int64 code of (key id, t), that is the difference of two ``np.searchsorted`` results, however
long the key's history. The survey window uses a second code of ((key, survey) id, t).

The batch's rows among themselves are counted by :func:`count_within_batch`: the reference kernel's
per-key counting, run only on the keys that repeat inside the batch. Distinct counts (respondents
per device, ...) use each (key, paired key)'s first time: stored pairs visible to *q* are those
first seen in ``(cutoff, q.t]`` (searchsorted again); the batch's own pairs are counted by the
reference kernel on the batch alone, with one "phantom" event per stored pair the batch repeats (at
its first time) so that a pair is counted once, from its earliest occurrence.

The reference path stays for what is rare: rows that replay a held submission (they count as of
their original position), batches under a reserved number (they order before stored rows), and
distinct counts of keys with occurrences past retention (a pair seen only before the cutoff must
not count, which a first time cannot tell). It gathers the keys' events from the same index.
``tests/history/test_history_index.py`` checks that both paths agree.

Batches of one or a few rows (``score_one``): the vectorized code makes hundreds of numpy calls
per batch whatever its size, ~1.1 ms of fixed cost. Up to ``_SCALAR`` rows, hash-table probes and
inserts, the key lookups, recording the rows and the within-batch counts run in plain Python over
ints instead (the same ids, codes and counts, ``tests/history/test_history_one_row.py``), a
single row's bounds are Python ints searched once per sorted run, and its inserts wait in a
short sorted Python list per table until 64 gathered: observing one row into a MemoryStore costs
~0.20 ms of CPU (p50) instead of ~1.4, whether it holds 300 or a million rows
(``benchmarks/bench_history.py``).

Memory, measured at a million submissions of ``benchmarks/bench_history.traffic`` (all seven
kinds, ~5.8 occurrences, ~10.4 distinct keys and (key, survey) pairs and ~1.5 (key, paired key)
pairs per submission), growth slack included: ~630 bytes per submission (:meth:`HistoryIndex.nbytes`):
hash tables ~300 (4-byte slots, 2-4 per entry, and each entry's 8-byte value), the rows ~140,
occurrence codes ~150, pairs' first times ~40; building it from a million rows at once (opening a
log store) takes ~4.5 s of CPU. Not thread-safe: the
stores lock around it.

Limit: codes are int64, so the ids of one kind times the span of stored timestamps (ms) must stay
below 2**62 (ten million keys over 14 years, say); past that recording raises
:class:`~fraudscore.history.base.HistoryError`. Purge rebuilds the index, which resets the span.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections import Counter

import numpy as np

from fraudscore.history._counting import (
    AUX_KIND, COLUMNS, DISTINCT_COLUMN, EVENT_DTYPE, ROW_DTYPE, WINDOWS, _Columns, _count_kind, _mix, count_history,
)
from fraudscore.history.base import HistoryError
from fraudscore.history.observations import KIND_FIELDS, KINDS

__all__ = ["HistoryIndex", "count_within_batch", "gather_ranges"]

# Codes are id * span + (t - t0) in int64; keep a bit of headroom under 2**63.
_CODE_LIMIT = 2**62
# Batches of up to _SCALAR rows, and hash-table calls of up to _SCALAR values, take the few-row
# paths, plain Python over ints: ``score_one`` observes one row, whose ~20 probes and ~20
# occurrences cost less in Python than the fixed costs of the vectorized paths' numpy calls.
_SCALAR = 16
# Inserts that leave the newest sorted run at most this long are merged into it at once.
_TAIL_RUN = 64


def gather_ranges(lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Indices ``lo[i], ..., hi[i] - 1`` for every i, concatenated (no Python loop over ranges).

    Parameters
    ----------
    lo, hi : ndarray of shape (k,), int64, ``lo <= hi``

    Returns
    -------
    ndarray of shape (sum(hi - lo),), dtype int64
    """
    length = hi - lo
    total = int(length.sum())
    if total == 0:
        return np.zeros(0, np.int64)
    starts = np.repeat(lo - (np.cumsum(length) - length), length)
    return starts + np.arange(total)


class _Runs:
    """A table of named columns kept as a few runs sorted by column ``by``, each >= 4x the next.

    Inserting into one sorted array copies all of it: O(N) per call. Here each insert is a new
    run, merged with the newer runs it is not 4x larger than (a binary-counter LSM), so an element
    is copied O(log N) times in its life and a search is one ``searchsorted`` per run. Columns
    are separate contiguous arrays: ``searchsorted`` on a field of a structured array copies it.

    Elements of a few rows (:meth:`insert_few`, ``score_one``) wait in a short sorted Python list
    instead, searched by :mod:`bisect`, and become a run once ``_TAIL_RUN`` of them gathered: a
    batch of one row inserts into ~20 tables, ~5 us each as arrays, ~0.5 us each so.
    """

    def __init__(self, columns: dict[str, np.dtype], by: str):
        self.by = by
        self.empty = {name: np.zeros(0, dtype) for name, dtype in columns.items()}
        self.runs: list[dict[str, np.ndarray]] = []  # oldest and largest first
        # Elements not in a run yet: their ``by`` values, sorted, and the other columns alongside.
        self.pending: list[int] = []
        self.pending_rest: list[tuple] = []
        self._rest = [name for name in self.empty if name != by]

    def __len__(self) -> int:
        return sum(len(run[self.by]) for run in self.runs) + len(self.pending)

    def insert_few(self, table: dict[str, list[int]]) -> None:
        """:meth:`insert` of a few elements given as Python ints (lists per column)."""
        keys, pending, rest = table[self.by], self.pending, self.pending_rest
        others = list(zip(*(table[name] for name in self._rest))) if self._rest else [()] * len(keys)
        for key, other in zip(keys, others):
            at = bisect_right(pending, key)
            pending.insert(at, key)
            rest.insert(at, other)
        if len(pending) >= _TAIL_RUN:
            self.flush()

    def flush(self) -> None:
        """Make the pending elements a run (before anything reads :attr:`runs` directly)."""
        if self.pending:
            table = {self.by: self.pending}
            table.update(zip(self._rest, zip(*self.pending_rest)))
            self.pending, self.pending_rest = [], []
            self.insert({name: np.array(table[name], self.empty[name].dtype) for name in self.empty})

    def insert(self, table: dict[str, np.ndarray]) -> None:
        if len(table[self.by]) == 0:
            return
        self.flush()
        if self.runs and len(self.runs[-1][self.by]) + len(table[self.by]) <= _TAIL_RUN:
            # A few elements into a short newest run: one merge, not a new run merged by the loop
            # below a few calls later.
            newest = self.runs.pop()
            table = {name: np.concatenate([newest[name], table[name]]) for name in self.empty}
        if len(self.empty) == 1:
            self.runs.append({self.by: np.sort(table[self.by])})
        else:  # order among equal keys is of no use here: the faster unstable sort
            order = np.argsort(table[self.by])
            self.runs.append({name: table[name][order] for name in self.empty})
        while len(self.runs) > 1 and len(self.runs[-2][self.by]) < 4 * len(self.runs[-1][self.by]):
            newer, older = self.runs.pop(), self.runs[-1]
            # Timsort of two sorted runs end to end is one galloping merge: 4x faster than
            # np.insert at a million elements (one column), 2x with the argsort of two columns.
            both = {name: np.concatenate([older[name], newer[name]]) for name in self.empty}
            if len(self.empty) == 1:
                self.runs[-1] = {self.by: np.sort(both[self.by], kind="stable")}
            else:
                order = np.argsort(both[self.by], kind="stable")
                self.runs[-1] = {name: column[order] for name, column in both.items()}

    def count(self, values: np.ndarray, side: str = "right") -> np.ndarray:
        """Elements ``<= values`` (``side="right"``) or ``< values`` (``"left"``), over all runs."""
        out = np.zeros(len(values), np.int64)
        for run in self.runs:
            out += np.searchsorted(run[self.by], values, side)
        if self.pending:
            find, pending = bisect_right if side == "right" else bisect_left, self.pending
            out += np.array([find(pending, v) for v in values.tolist()], np.int64)
        return out

    def between(self, lo: np.ndarray, hi: np.ndarray) -> dict[str, np.ndarray]:
        """Every element with ``lo[i] <= by < hi[i]`` for some i (disjoint ranges)."""
        self.flush()
        parts = []
        for run in self.runs:
            take = gather_ranges(np.searchsorted(run[self.by], lo), np.searchsorted(run[self.by], hi))
            parts.append({name: column[take] for name, column in run.items()})
        return {name: np.concatenate([self.empty[name]] + [p[name] for p in parts]) for name in self.empty}


def count_within_batch(rows: np.ndarray, cutoff_ms: int) -> np.ndarray:
    """Counts of a new batch's rows among themselves: ``count_history`` with nothing stored, faster.

    Only keys that repeat inside the batch go through the kernel's ``_count_kind`` (as
    ``count_history`` does); the rest of its work (building, concatenating and filtering event
    tables per kind for stored events there are none of) is skipped: ~20 ms of a 10k-row batch.

    Parameters
    ----------
    rows : ndarray of shape (m,), dtype ROW_DTYPE
        Distinct new submissions of one batch, ``seq`` giving their position.
    cutoff_ms : int

    Returns
    -------
    ndarray of shape (m, len(COLUMNS)), dtype int64
        Equal to ``count_history(rows, {kind: no events}, all new, cutoff_ms)``.
    """
    out = np.zeros((len(rows), len(COLUMNS)), np.int64)
    if len(rows) == 1:  # score_one: no key can repeat; a distinct count is the row's own paired key
        row = rows[0]
        for kind, col in DISTINCT_COLUMN.items():
            out[0, col] = bool(row[KIND_FIELDS[kind]]) and bool(row[KIND_FIELDS[AUX_KIND[kind]]])
        return out
    by_position = np.argsort(rows["seq"])
    live = by_position[rows["t"][by_position] > cutoff_ms]  # in position order: the kernel's prior order
    few = len(rows) <= _SCALAR
    for k, kind in enumerate(KINDS):
        key = rows[KIND_FIELDS[kind]]
        if few:  # a batch of one or a few rows: a np.unique per kind costs more than a Python pass
            keys = key.tolist()
            mine = [i for i in live.tolist() if keys[i]]
            times = Counter(keys[i] for i in mine)
            repeated = np.array([i for i in mine if times[keys[i]] > 1], np.int64)
        else:
            mine = live[key[live] != 0]
            _, which, multiplicity = np.unique(key[mine], return_inverse=True, return_counts=True)
            repeated = mine[multiplicity[which] > 1]
        counted = kind in DISTINCT_COLUMN
        aux = rows[KIND_FIELDS[AUX_KIND[kind]]] if counted else np.zeros(len(rows), np.uint64)
        if counted:  # a key seen once, or out of retention: only the row's own paired key
            col = DISTINCT_COLUMN[kind]
            alone = key != 0
            alone[repeated] = False
            out[alone, col] = aux[alone] != 0
        if len(repeated):
            events = _Columns({"key": key[repeated], "t": rows["t"][repeated], "survey": rows["survey"][repeated],
                               "aux": aux[repeated], "seq": rows["seq"][repeated]})
            values = _count_kind(events, np.arange(len(repeated)), counted)
            out[repeated, k * len(WINDOWS):(k + 1) * len(WINDOWS)] = values[:, :3]
            if counted:
                out[repeated, col] = values[:, 3]
    return out


_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_FEW, _WINDOW = 256, 16  # below _FEW values left, a probe round reads _WINDOW slots per value
_GOLDEN_INT, _MASK64 = int(_GOLDEN), (1 << 64) - 1


def _grow(array: np.ndarray, size: int) -> np.ndarray:
    """``array`` with room for ``size`` elements (capacity doubles: appends cost O(1) amortized)."""
    if size <= len(array):
        return array
    grown = np.zeros(max(2 * len(array), size), array.dtype)  # not np.resize: it tiles the copy
    grown[:len(array)] = array
    return grown


class _Ids:
    """A dense id per distinct uint64 value, in order of first appearance: a numpy hash table.

    Open addressing with linear probing, at most half full. A slot holds only ``id + 1`` (int32, 0:
    free); the values sit in a dense array by id. So a slot is 4 bytes, not 12 (value and id):
    growing writes a third of the memory, and the table holds 16-32 bytes per value instead of 24-48.
    A lookup of n values is a few vectorized probe
    rounds, O(n), where a sorted table costs a cache-missing binary search per value per run (~6x
    slower at a million values). Growing lays the table out again in order of home slot: the old
    table, read in slot order, is nearly sorted already, so this is a few sequential passes, not
    random probing (20x faster at 10M values).
    """

    def __init__(self):
        self.size = 0
        self.bits = 12
        self.slots = np.zeros(1 << self.bits, np.int32)  # id + 1 of the value in each slot, 0: free
        self.values = np.zeros(1024, np.uint64)  # by id

    def _home(self, values: np.ndarray) -> np.ndarray:
        with np.errstate(over="ignore"):  # Fibonacci hashing: spreads mixed or patterned values
            home = values * _GOLDEN
        home >>= np.uint64(64 - self.bits)
        return home.view(np.int64)  # < 2**bits: the same bits as int64, no copy

    def get(self, values: np.ndarray) -> np.ndarray:
        """Ids of ``values`` (shape (n,)); -1 for values not seen."""
        if len(values) <= _SCALAR:
            return np.array(self._get_few(values.tolist()), np.int64)
        # np.take and np.compress rather than fancy and boolean indexing: same result, 1.5-3x faster.
        out = np.full(len(values), -1, np.int64)
        pending, slot, mask = np.arange(len(values)), self._home(values), (1 << self.bits) - 1
        while len(pending) > _FEW:
            ids = np.take(self.slots, slot) - 1
            taken = ids >= 0
            hit = taken & (np.take(self.values, ids) == np.take(values, pending))  # id -1: masked
            out[np.compress(hit, pending)] = np.compress(hit, ids)
            go = taken & ~hit
            pending, slot = np.compress(go, pending), (np.compress(go, slot) + 1) & mask
        # The few values left on long chains probe _WINDOW slots a round: near half full, linear
        # probing leaves a tail of ~40 rounds that cost a round of numpy calls each.
        step = np.arange(_WINDOW)
        while len(pending):
            window = (slot[:, None] + step) & mask
            ids = np.take(self.slots, window).astype(np.int64) - 1
            stop = (ids < 0) | (np.take(self.values, ids) == np.take(values, pending)[:, None])
            first = stop.argmax(axis=1)
            rows = np.arange(len(first))
            ended, found = stop[rows, first], ids[rows, first]
            hit = ended & (found >= 0)
            out[pending[hit]] = found[hit]
            pending, slot = pending[~ended], slot[~ended] + _WINDOW
        return out

    def _get_few(self, values: list[int]) -> list[int]:
        """:meth:`get` of a few values as Python ints, one probe loop each: a batch of one row
        asks ~20 lookups, where a vectorized round's dozen numpy calls cost more than the probing."""
        slots, stored, shift, mask = self.slots, self.values, 64 - self.bits, (1 << self.bits) - 1
        out = []
        for value in values:
            slot = ((value * _GOLDEN_INT) & _MASK64) >> shift
            while True:
                found = slots.item(slot) - 1
                if found < 0 or stored.item(found) == value:
                    break
                slot = (slot + 1) & mask
            out.append(found)
        return out

    def add(self, values: np.ndarray, ids: np.ndarray, distinct: bool = False) -> np.ndarray:
        """Fill the -1 entries of ``ids`` (the result of :meth:`get` on ``values``) with new ids,
        in order of ``values`` if they are ``distinct``."""
        if len(values) <= _SCALAR:
            return np.array(self._add_few(values.tolist(), ids.tolist(), distinct), np.int64)
        unknown = ids < 0
        if not unknown.any():
            return ids
        if distinct:
            fresh = values[unknown]
        else:
            # Distinct values and which one each is, by one sort on the hash product: it is a
            # bijection of the value (the multiplier is odd) whose top bits are the home slot, so
            # the values come out grouped and in home order, ready for a re-layout.
            with np.errstate(over="ignore"):
                order = np.argsort(values[unknown] * _GOLDEN)
            fresh = values[unknown][order]
            first = np.r_[True, fresh[1:] != fresh[:-1]]
            fresh = fresh[first]
            which = np.empty(len(order), np.int64)
            which[order] = np.cumsum(first) - 1
        new = self.size + np.arange(len(fresh))
        self.size += len(fresh)
        self.values = _grow(self.values, self.size)
        self.values[new] = fresh
        if 2 * self.size > 1 << self.bits:
            held = np.compress(self.slots > 0, self.slots) - 1  # in slot order: nearly sorted by home
            while 2 * self.size > 1 << self.bits:
                self.bits += 1
            self._lay_out(np.concatenate([held, new]))
        else:
            self._place(fresh, new)
        ids = ids.copy()
        ids[unknown] = new if distinct else new[which]
        return ids

    def _add_few(self, values: list[int], ids: list[int], distinct: bool) -> list[int]:
        """:meth:`add` of a few values as Python ints: the same ids (new ones in order of the values
        if ``distinct``, else in order of the hash product, as :meth:`add` sorts them)."""
        fresh = [value for value, found in zip(values, ids) if found < 0]
        if not fresh:
            return ids
        if not distinct:
            fresh = sorted(set(fresh), key=lambda value: (value * _GOLDEN_INT) & _MASK64)
        new_id = dict(zip(fresh, range(self.size, self.size + len(fresh))))
        self.size += len(fresh)
        self.values = _grow(self.values, self.size)
        self.values[self.size - len(fresh):self.size] = fresh
        if 2 * self.size > 1 << self.bits:
            held = np.compress(self.slots > 0, self.slots) - 1
            while 2 * self.size > 1 << self.bits:
                self.bits += 1
            self._lay_out(np.concatenate([held, np.arange(self.size - len(fresh), self.size)]))
        else:  # linear probing from each value's home to the first free slot
            slots, shift, mask = self.slots, 64 - self.bits, (1 << self.bits) - 1
            for value, id_ in new_id.items():
                slot = ((value * _GOLDEN_INT) & _MASK64) >> shift
                while slots.item(slot):
                    slot = (slot + 1) & mask
                slots[slot] = id_ + 1
        return [found if found >= 0 else new_id[value] for value, found in zip(values, ids)]

    def _lay_out(self, ids: np.ndarray) -> None:
        """A new table of ``ids``: in order of home slot, each goes to the first free slot from its
        home, i.e. ``pos[i] = max(home[i], pos[i - 1] + 1)``, a running maximum."""
        home = self._home(np.take(self.values, ids))
        order = np.argsort(home, kind="stable")  # timsort: fast on nearly sorted runs (see add)
        home, ids = np.take(home, order), np.take(ids, order)
        step = np.arange(len(ids))
        pos = np.subtract(home, step, out=home)
        np.maximum.accumulate(pos, out=pos)
        pos += step
        inside = int(np.searchsorted(pos, 1 << self.bits))  # pos is increasing
        self.slots = np.zeros(1 << self.bits, np.int32)
        self.slots[pos[:inside]] = ids[:inside] + 1
        self._place(self.values[ids[inside:]], ids[inside:])  # ran past the end: probing wraps to slot 0

    def _place(self, values: np.ndarray, ids: np.ndarray) -> None:
        slot, mask = self._home(values), (1 << self.bits) - 1
        marks = ids.astype(np.int32) + 1
        step = np.arange(_WINDOW)
        while len(marks):
            if len(marks) <= _FEW:  # a long chain's tail: jump to the first free slot of a window
                window = np.take(self.slots, (slot[:, None] + step) & mask)
                first = (window == 0).argmax(axis=1)
                slot = np.where(window[np.arange(len(first)), first] == 0, slot + first, slot + _WINDOW) & mask
            free = np.take(self.slots, slot) == 0
            target, mark = np.compress(free, slot), np.compress(free, marks)
            self.slots[target] = mark  # of several ids aiming at one free slot, one lands
            landed = np.zeros(len(marks), bool)
            landed[free] = np.take(self.slots, target) == mark
            marks, slot = np.compress(~landed, marks), np.compress(~landed, slot)
            slot = np.where(np.take(self.slots, slot) > 0, (slot + 1) & mask, slot)


class _KindIndex:
    """One key kind: its occurrences by (key, t), by ((key, survey), t), and first times of pairs."""

    def __init__(self, kind: str):
        self.field = KIND_FIELDS[kind]
        self.aux_field = KIND_FIELDS[AUX_KIND[kind]] if kind in AUX_KIND else None
        self.ids = _Ids()  # of keys, and of (key, survey) pairs (salted): one id space for codes
        # Occurrences: their code and the index of their row (the rest of an event is in the row).
        self.events = _Runs({"code": np.int64, "row": np.int32}, "code")
        self.survey_codes = _Runs({"code": np.int64}, "code")
        if self.aux_field:
            # The code of each (key, paired key) pair's first time; also in pair_gone once an
            # earlier time replaced it.
            self.pair_codes = _Runs({"code": np.int64}, "code")
            self.pair_gone = _Runs({"code": np.int64}, "code")

    def code_runs(self) -> list[_Runs]:
        runs = [self.events, self.survey_codes]
        return runs + ([self.pair_codes, self.pair_gone] if self.aux_field else [])


# Salts keep a kind's (key, survey) pairs apart from its keys in one table, and kinds' (key, paired
# key) pairs apart in the shared pair table.
_SALTS = np.random.default_rng(0x5EED).integers(0, 2**63, (2, len(KINDS)), dtype=np.int64).astype(np.uint64)
_SURVEY_SALT, _PAIR_SALT = _SALTS
_SURVEY_SALT_INT, _PAIR_SALT_INT = _SALTS.tolist()


def _mix_int(a: int, b: int) -> int:
    """:func:`~fraudscore.history._counting._mix` of two Python ints (uint64 arithmetic)."""
    return a ^ ((b * _GOLDEN_INT + 0x632BE59BD9B4E019) & _MASK64)


class HistoryIndex:
    """Stored submissions, indexed to count new batches by search (see the module docstring)."""

    def __init__(self):
        # Rows in the order recorded (never moved: events point at them); row i has subs id i.
        self.rows = np.zeros(1024, ROW_DTYPE)
        self.subs = _Ids()
        self.kinds = {kind: _KindIndex(kind) for kind in KINDS}
        self.pairs = _Ids()  # of (key, paired key) pairs; their key id and first time:
        self.pair_key = np.zeros(1024, np.int64)
        self.pair_first = np.zeros(1024, np.int64)
        self.t0, self.span = 0, 0  # code = id * span + (t - t0); span 0: no events yet
        self.t_min = None  # earliest stored time: no key has an occurrence past a cutoff below it

    def __len__(self) -> int:
        return self.subs.size

    # -- codes -------------------------------------------------------------------------------------
    def _code(self, ids: np.ndarray, t) -> np.ndarray:
        """Code of (id, t); ``t`` outside the coded span clips to just before/after the id's block."""
        return ids * self.span + np.clip(np.asarray(t) - self.t0, -1, self.span - 1)

    def _cover(self, t: np.ndarray) -> None:
        """Re-code every code so that times ``t`` and every id fit (rare: the span doubles)."""
        if len(t) == 0:
            return
        ids = max([index.ids.size for index in self.kinds.values()] + [1])
        low, high = int(t.min()), int(t.max())
        if self.span and self.t0 <= low and high - self.t0 < self.span and ids * self.span < _CODE_LIMIT:
            return
        if self.span:
            low, high = min(low, self.t0), max(high, self.t0 + self.span - 1)
        need = high - low + 2
        span = 1 << (2 * need).bit_length()  # room to grow: time moves on, backfills come
        t0 = low - need // 2
        if ids * span >= _CODE_LIMIT:
            span, t0 = need, low
            if ids * span >= _CODE_LIMIT:
                raise HistoryError(f"history timestamps span {need} ms over {ids} keys: too wide to index")
        if self.span:
            for kind in self.kinds.values():
                for runs in kind.code_runs():
                    runs.flush()
                    for run in runs.runs:
                        key_id, offset = np.divmod(run["code"], self.span)
                        run["code"] = key_id * span + (offset + self.t0 - t0)
        self.t0, self.span = t0, span

    # -- recording ---------------------------------------------------------------------------------
    def held(self, subs: np.ndarray) -> np.ndarray:
        """Stored rows (ROW_DTYPE) whose submission hash is in ``subs``."""
        at = self.subs.get(subs)
        return self.rows[at[at >= 0]]

    def lookup(self, rows: np.ndarray) -> dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]:
        """Per kind, the ids ``rows`` have in the index, -1 where none (or key 0): of each row's key,
        (key, survey) pair and (key, paired key) pair. Valid until the index changes."""
        n = len(rows)
        if n <= _SCALAR:
            return self._lookup_few(rows)
        plan, pairs = {}, []
        for k, (kind, index) in enumerate(self.kinds.items()):
            key = rows[index.field]
            key_ids = np.full(n, -1, np.int64)
            if index.ids.size:
                present = np.flatnonzero(key != 0)
                key_ids[present] = index.ids.get(key[present])
            known = np.flatnonzero(key_ids >= 0)  # an unknown key has no known pair either
            survey_ids = np.full(n, -1, np.int64)
            survey_ids[known] = index.ids.get(_mix(key[known], rows["survey"][known]) ^ _SURVEY_SALT[k])
            plan[kind] = key_ids, survey_ids, np.full(n, -1, np.int64)
            if index.aux_field:
                known = known[rows[index.aux_field][known] != 0]
                pairs.append((plan[kind][2], known, _mix(key[known], rows[index.aux_field][known]) ^ _PAIR_SALT[k]))
        if self.pairs.size and pairs:  # one table for every kind's pairs: one lookup
            found = np.split(self.pairs.get(np.concatenate([p[2] for p in pairs])),
                             np.cumsum([len(p[1]) for p in pairs])[:-1])
            for (pair_ids, known, _), ids in zip(pairs, found):
                pair_ids[known] = ids
        return plan

    def _lookup_few(self, rows: np.ndarray) -> dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]:
        """:meth:`lookup` of a few rows in Python ints: a batch of one row would pay ~150 numpy
        calls of fixed cost for ~20 hash probes."""
        n = len(rows)
        survey = rows["survey"].tolist()
        plan, pair_queries = {}, []
        for k, (kind, index) in enumerate(self.kinds.items()):
            key = rows[index.field].tolist()
            key_ids, survey_ids, pair_ids = [-1] * n, [-1] * n, [-1] * n
            present = [i for i in range(n) if key[i]]
            for i, found in zip(present, index.ids._get_few([key[i] for i in present])):
                key_ids[i] = found
            known = [i for i in present if key_ids[i] >= 0]  # an unknown key has no known pair either
            salt = _SURVEY_SALT_INT[k]
            for i, found in zip(known, index.ids._get_few([_mix_int(key[i], survey[i]) ^ salt for i in known])):
                survey_ids[i] = found
            if index.aux_field:
                aux = rows[index.aux_field].tolist()
                pair_queries += [(pair_ids, i, _mix_int(key[i], aux[i]) ^ _PAIR_SALT_INT[k]) for i in known if aux[i]]
            plan[kind] = (key_ids, survey_ids, pair_ids)
        if self.pairs.size and pair_queries:
            for (pair_ids, i, _), found in zip(pair_queries, self.pairs._get_few([q[2] for q in pair_queries])):
                pair_ids[i] = found
        return {kind: tuple(np.array(ids, np.int64) for ids in lists) for kind, lists in plan.items()}

    def add(self, rows: np.ndarray, plan=None) -> None:
        """Record ``rows`` (ROW_DTYPE, distinct submissions not held, final ``seq``); ``plan`` is
        :meth:`lookup` of ``rows`` if the caller has it."""
        if len(rows) == 0:
            return
        plan = plan or self.lookup(rows)
        if len(rows) <= _SCALAR:
            return self._add_few(rows, plan)
        at = self.subs.add(rows["sub"], np.full(len(rows), -1, np.int64), distinct=True)
        self.rows = _grow(self.rows, self.subs.size)
        self.rows[at] = rows
        times = np.ascontiguousarray(rows["t"])
        self.t_min = int(times.min()) if self.t_min is None else min(self.t_min, int(times.min()))
        # Every kind's occurrences (rows with a key), as one array: kind, row, key.
        kind_of = np.repeat(np.arange(len(KINDS)), len(rows))
        key = np.concatenate([rows[index.field] for index in self.kinds.values()])
        has = np.flatnonzero(key != 0)
        kind_of, row_of, key = kind_of[has], has % len(rows), key[has]
        t = times[row_of]
        planned = [np.concatenate([plan[kind][i] for kind in KINDS])[has] for i in range(3)]
        bounds = np.searchsorted(kind_of, np.arange(len(KINDS) + 1))  # kinds are contiguous
        ids, survey_ids = np.empty(len(key), np.int64), np.empty(len(key), np.int64)
        for k, index in enumerate(self.kinds.values()):
            part = slice(bounds[k], bounds[k + 1])
            size = bounds[k + 1] - bounds[k]
            both = index.ids.add(np.concatenate([key[part], _mix(key[part], rows["survey"][row_of[part]]) ^ _SURVEY_SALT[k]]),
                                 np.concatenate([planned[0][part], planned[1][part]]))
            ids[part], survey_ids[part] = both[:size], both[size:]
        self._cover(times)  # after the ids are assigned: their number bounds the span
        offset = t - self.t0  # within the span (_cover)
        for k, index in enumerate(self.kinds.values()):
            part = slice(bounds[k], bounds[k + 1])
            index.events.insert({"code": ids[part] * self.span + offset[part], "row": at[row_of[part]]})
            index.survey_codes.insert({"code": survey_ids[part] * self.span + offset[part]})
        aux = np.concatenate([rows[index.aux_field] if index.aux_field else np.zeros(len(rows), np.uint64)
                              for index in self.kinds.values()])[has]
        self._add_pairs(kind_of, key, aux, t, ids, planned[2])

    def _add_few(self, rows: np.ndarray, plan) -> None:
        """:meth:`add` of a few rows in Python ints (the same index): a batch of one row would
        pay ~200 numpy calls sized for batches to record ~20 occurrences."""
        n = len(rows)
        at = self.subs.add(rows["sub"], np.full(n, -1, np.int64), distinct=True).tolist()
        self.rows = _grow(self.rows, self.subs.size)
        self.rows[at] = rows
        times, survey = rows["t"].tolist(), rows["survey"].tolist()
        self.t_min = min(times) if self.t_min is None else min(self.t_min, min(times))
        occurrences = []  # per kind: rows with a key, their keys, key ids, (key, survey) ids, pair ids
        for k, (kind, index) in enumerate(self.kinds.items()):
            key = rows[index.field].tolist()
            has = [i for i in range(n) if key[i]]
            key_ids, survey_ids, pair_ids = (ids.tolist() for ids in plan[kind])
            salt = _SURVEY_SALT_INT[k]
            both = index.ids._add_few([key[i] for i in has] + [_mix_int(key[i], survey[i]) ^ salt for i in has],
                                      [key_ids[i] for i in has] + [survey_ids[i] for i in has], False)
            occurrences.append((has, key, both[:len(has)], both[len(has):], pair_ids))
        self._cover(rows["t"])  # after the ids are assigned: their number bounds the span
        span, t0 = self.span, self.t0
        pairs = {}  # each (key, paired key) pair at its earliest time in the rows: kind, key id, time, pair id
        for k, (index, (has, key, ids, survey_ids, pair_ids)) in enumerate(zip(self.kinds.values(), occurrences)):
            if not has:
                continue
            index.events.insert_few({"code": [i * span + times[r] - t0 for i, r in zip(ids, has)],
                                     "row": [at[r] for r in has]})
            index.survey_codes.insert_few({"code": [i * span + times[r] - t0 for i, r in zip(survey_ids, has)]})
            if index.aux_field:
                aux = rows[index.aux_field].tolist()
                for r, i in zip(has, ids):
                    if aux[r]:
                        pair = _mix_int(key[r], aux[r]) ^ _PAIR_SALT_INT[k]
                        if pair not in pairs or times[r] < pairs[pair][2]:
                            pairs[pair] = (k, i, times[r], pair_ids[r])
        if not pairs:
            return
        order = sorted(pairs)  # the order the vectorized path numbers new pairs in
        kind_of, ids, first, pid = zip(*(pairs[pair] for pair in order))
        pid = self.pairs._add_few(order, list(pid), True)
        self.pair_key = _grow(self.pair_key, self.pairs.size)
        self.pair_first = _grow(self.pair_first, self.pairs.size)
        changed, gone = [[] for _ in KINDS], [[] for _ in KINDS]
        for k, i, t, p, known in zip(kind_of, ids, first, pid, (pairs[pair][3] >= 0 for pair in order)):
            if not known:
                self.pair_key[p], self.pair_first[p] = i, t
            elif t < self.pair_first[p]:  # a backfill moved a first time back
                gone[k].append(i * span + min(max(int(self.pair_first[p]) - t0, -1), span - 1))
                self.pair_first[p] = t
            else:
                continue
            changed[k].append(i * span + t - t0)
        for k, index in enumerate(self.kinds.values()):
            if changed[k]:
                index.pair_codes.insert_few({"code": changed[k]})
            if gone[k]:
                index.pair_gone.insert_few({"code": gone[k]})

    def _add_pairs(self, kind_of, key, aux, t, ids, pid) -> None:
        """Record the (key, paired key) pairs of occurrences (kind, key, paired key, time, key id,
        pair id or -1), and the codes of their first times."""
        keep = aux != 0
        kind_of, t, ids, pid = kind_of[keep], t[keep], ids[keep], pid[keep]
        pair = _mix(key[keep], aux[keep]) ^ _PAIR_SALT[kind_of]
        order = np.lexsort((t, pair))
        first = order[np.r_[True, pair[order][1:] != pair[order][:-1]]] if len(order) else order
        # distinct pairs, each at its earliest time
        kind_of, pair, t, ids, pid = kind_of[first], pair[first], t[first], ids[first], pid[first]
        fresh = pid < 0
        pid = self.pairs.add(pair, pid, distinct=True)
        self.pair_key = _grow(self.pair_key, self.pairs.size)
        self.pair_first = _grow(self.pair_first, self.pairs.size)
        self.pair_key[pid[fresh]] = ids[fresh]
        self.pair_first[pid[fresh]] = t[fresh]
        earlier = ~fresh
        earlier[earlier] = t[earlier] < self.pair_first[pid[earlier]]
        gone = self._code(ids[earlier], self.pair_first[pid[earlier]])  # a backfill moved a first time back
        self.pair_first[pid[earlier]] = t[earlier]
        changed = fresh | earlier
        for k, index in enumerate(self.kinds.values()):
            if index.aux_field:
                index.pair_codes.insert({"code": self._code(ids[changed & (kind_of == k)], t[changed & (kind_of == k)])})
                index.pair_gone.insert({"code": gone[kind_of[earlier] == k]})

    def nbytes(self) -> int:
        """Bytes the index's arrays take, growth slack included (not the few elements of a
        table's pending list, which are not in an array yet)."""
        tables = [self.subs, self.pairs] + [kind.ids for kind in self.kinds.values()]
        runs = [runs for kind in self.kinds.values() for runs in kind.code_runs()]
        return int(self.rows.nbytes + self.pair_key.nbytes + self.pair_first.nbytes
                   + sum(t.slots.nbytes + t.values.nbytes for t in tables)
                   + sum(column.nbytes for r in runs for run in r.runs for column in run.values()))

    def all_rows(self) -> np.ndarray:
        """Every stored row (ROW_DTYPE), in the order recorded (a view: copy before changing the index)."""
        return self.rows[:self.subs.size]

    def without(self, doomed: np.ndarray) -> HistoryIndex:
        """A new index of the rows of :meth:`all_rows` where ``doomed`` is false (erase, purge)."""
        index = HistoryIndex()
        index.add(self.all_rows()[~doomed])
        return index

    def stamp(self, rows: np.ndarray, number: int) -> tuple[np.ndarray, np.ndarray]:
        """``rows`` (distinct, sorted by ``sub``) as stored: held ones as they were, new ones in batch
        ``number``; and the mask of new rows."""
        held = self.held(rows["sub"])
        out = rows.copy()
        at = np.searchsorted(rows["sub"], held["sub"])
        out[at] = held
        new = np.ones(len(rows), bool)
        new[at] = False
        out["seq"][new] = (int(number) << 32) | rows["seq"][new]
        return out, new

    # -- counting ----------------------------------------------------------------------------------
    def count(self, rows: np.ndarray, new: np.ndarray, cutoff_ms: int, reserved: bool, plan=None) -> np.ndarray:
        """Counts of stamped ``rows`` (see :meth:`stamp`): new rows of an unreserved batch by search,
        the rest by the reference path. ``plan``: :meth:`lookup` of ``rows[new]``, if at hand."""
        if reserved:
            return self.count_reference(rows, new, cutoff_ms)
        out = np.zeros((len(rows), len(COLUMNS)), np.int64)
        out[new] = self.count_new(rows[new], cutoff_ms, plan)
        if not new.all():
            out[~new] = self.count_reference(rows[~new], new[~new], cutoff_ms)
        return out

    def count_batch(self, rows: np.ndarray, number: int, cutoff_ms: int, reserved: bool):
        """What a store does with a batch before recording it: :meth:`stamp` it as batch ``number``,
        :meth:`lookup` its new rows and :meth:`count` it. Returns ``(stamped rows, new mask,
        counts, plan)``; ``add(stamped[new], plan)`` then records it (once the store committed)."""
        out, new = self.stamp(rows, number)
        plan = self.lookup(out[new])
        return out, new, self.count(out, new, cutoff_ms, reserved, plan), plan

    def gather(self, kind: str, keys: np.ndarray) -> np.ndarray:
        """Every stored event (EVENT_DTYPE, ``sub`` 0) of ``kind`` whose key is in ``keys``."""
        index = self.kinds[kind]
        keys = np.unique(keys)
        keys = keys[keys != 0]
        ids = np.unique(index.ids.get(keys))
        ids = ids[ids >= 0]
        found = index.events.between(ids * self.span, (ids + 1) * self.span)
        rows = self.rows[found["row"]]
        out = np.zeros(len(rows), EVENT_DTYPE)
        for name in ("t", "survey", "seq"):
            out[name] = rows[name]
        out["key"] = rows[index.field]
        if index.aux_field:
            out["aux"] = rows[index.aux_field]
        return out

    def count_reference(self, rows: np.ndarray, new: np.ndarray, cutoff_ms: int, kinds=KINDS) -> np.ndarray:
        """Counts of ``rows`` by the reference kernel: any rows, any order (replays, reserved batches)."""
        stored = {kind: self.gather(kind, rows[KIND_FIELDS[kind]]) for kind in kinds}
        return count_history(rows, stored, new, cutoff_ms, kinds)

    def count_new(self, rows: np.ndarray, cutoff_ms: int, plan=None) -> np.ndarray:
        """Counts of the rows of a new batch, ordered after every stored row.

        Parameters
        ----------
        rows : ndarray of shape (m,), dtype ROW_DTYPE
            Distinct submissions not held, ``seq`` of one batch numbered above every stored one.
        cutoff_ms : int
            Events with ``t <= cutoff_ms`` are past retention and invisible.
        plan : dict, optional
            :meth:`lookup` of ``rows``.

        Returns
        -------
        ndarray of shape (m, len(COLUMNS)), dtype int64
            Equal to ``count_reference(rows, all new, cutoff_ms)``.
        """
        new = np.ones(len(rows), bool)
        out = count_within_batch(rows, cutoff_ms)
        if len(self) == 0:
            return out
        self._cover(rows["t"])
        plan = plan or self.lookup(rows)
        if len(rows) == 1 and _SCALAR:
            return self._count_new_one(rows, cutoff_ms, plan, out)
        live = rows["t"] > cutoff_ms
        phantoms, stored_pairs, exact = {}, {}, {}
        for k, (kind, index) in enumerate(self.kinds.items()):
            key = rows[index.field]
            ids, sids, pids = plan[kind]
            if len(ids) <= _SCALAR and not (len(ids) and ids.max() >= 0):  # no key known: nothing stored to count
                continue
            q = np.flatnonzero((ids >= 0) & live)
            if len(q) == 0:
                continue
            up = self._code(ids[q], rows["t"][q])
            q = q[np.argsort(up)]  # searches are faster in key order, and every bound below is too
            t, ids, sids, pids, up = rows["t"][q], ids[q], sids[q], pids[q], np.sort(up)
            # Each table is searched once for all its bounds (one searchsorted per run, not one per
            # bound: the fixed cost is most of a small batch's).
            cut = self._code(ids, cutoff_ms)
            bounds = [up] + [self._code(ids, np.maximum(t - width, cutoff_ms)) for _, width in WINDOWS[:2]]
            check_old = index.aux_field is not None and self.t_min <= cutoff_ms
            if check_old:
                bounds += [cut, ids * self.span - 1]
            found = index.events.count(np.concatenate(bounds)).reshape(len(bounds), len(q))
            for w in range(2):
                out[q, k * len(WINDOWS) + w] += found[0] - found[1 + w]
            s = np.flatnonzero(sids >= 0)
            s = s[np.argsort(sids[s], kind="stable")]
            survey = index.survey_codes.count(np.concatenate([self._code(sids[s], t[s]), self._code(sids[s], cutoff_ms)]))
            out[q[s], k * len(WINDOWS) + 2] += survey[:len(s)] - survey[len(s):]
            if index.aux_field:
                if check_old:
                    # Keys with an occurrence at or before the cutoff: a first time cannot tell whether
                    # a pair is still visible, so their rows take the reference path.
                    old = found[3] > found[4]
                    if old.any():
                        exact[kind] = np.flatnonzero(np.isin(key, key[q[old]]))
                ph, seen = self._phantoms(index, rows[q], pids, ids, t, cutoff_ms)
                if len(ph):
                    phantoms[kind] = ph
                both = np.concatenate([up, cut])
                visible = index.pair_codes.count(both)
                if len(index.pair_gone):
                    visible -= index.pair_gone.count(both)
                stored_pairs[kind] = (q, visible[:len(q)] - visible[len(q):] - seen)
        # Distinct = pairs of the batch, each from its first occurrence counting stored ones (the
        # phantom pass) + stored pairs seen by the row - those of them the batch repeats (phantoms).
        # A batch of one row repeats a stored pair only with its own pair, counted once either way:
        # the phantom pass would give what count_within_batch gave (1).
        if phantoms and len(rows) > 1:
            within = count_history(rows, phantoms, new, cutoff_ms, tuple(phantoms))
            for kind in phantoms:
                out[:, DISTINCT_COLUMN[kind]] = within[:, DISTINCT_COLUMN[kind]]
        for kind, (q, extra) in stored_pairs.items():
            out[q, DISTINCT_COLUMN[kind]] += extra
        for kind, subset in exact.items():
            col = DISTINCT_COLUMN[kind]
            out[subset, col] = self.count_reference(rows[subset], new[subset], cutoff_ms, (kind,))[:, col]
        return out

    def _count_new_one(self, rows: np.ndarray, cutoff_ms: int, plan, out: np.ndarray) -> np.ndarray:
        """:meth:`count_new` of one row, its bounds in Python ints: one ``searchsorted`` per run and
        table, as there, without ~15 numpy calls per kind around them. ``out`` holds the row's
        :func:`count_within_batch`; the same counts (``tests/history/test_history_one_row.py``)."""
        t = int(rows["t"][0])
        if t <= cutoff_ms:  # out of retention: nothing stored is counted for it
            return out
        span, t0 = self.span, self.t0
        cutoff = int(cutoff_ms)

        def code(i: int, when: int) -> int:  # _code of one (id, t)
            return i * span + min(max(when - t0, -1), span - 1)

        counts = out[0].tolist()
        exact = []
        check_old_any = self.t_min <= cutoff
        for k, (kind, index) in enumerate(self.kinds.items()):
            key_id, survey_id, pair_id = (int(ids[0]) for ids in plan[kind])
            if key_id < 0:
                continue
            up, cut = code(key_id, t), code(key_id, cutoff)
            bounds = [up] + [code(key_id, max(t - width, cutoff)) for _, width in WINDOWS[:2]]
            check_old = index.aux_field is not None and check_old_any
            if check_old:
                bounds += [cut, key_id * span - 1]
            found = index.events.count(np.array(bounds, np.int64)).tolist()
            counts[k * len(WINDOWS)] += found[0] - found[1]
            counts[k * len(WINDOWS) + 1] += found[0] - found[2]
            if survey_id >= 0:
                survey = index.survey_codes.count(np.array([code(survey_id, t), code(survey_id, cutoff)], np.int64))
                counts[k * len(WINDOWS) + 2] += int(survey[0] - survey[1])
            if index.aux_field:
                if check_old and found[3] > found[4]:
                    exact.append(kind)
                # _phantoms of one row: does the row's own stored pair, first seen in retention,
                # come at or before it (it is then among the visible pairs but not a new one)?
                seen = 0
                if pair_id >= 0:
                    first = int(self.pair_first[pair_id])
                    if first > cutoff:
                        first_code = code(int(self.pair_key[pair_id]), first)
                        seen = int(first_code <= up) - int(first_code <= key_id * span - 1)
                both = np.array([up, cut], np.int64)
                visible = index.pair_codes.count(both)
                if len(index.pair_gone):
                    visible -= index.pair_gone.count(both)
                counts[DISTINCT_COLUMN[kind]] += int(visible[0] - visible[1]) - seen
        out[0] = counts
        for kind in exact:
            col = DISTINCT_COLUMN[kind]
            out[0, col] = self.count_reference(rows, np.ones(1, bool), cutoff_ms, (kind,))[0, col]
        return out

    def _phantoms(self, index: _KindIndex, rows: np.ndarray, pid: np.ndarray, ids: np.ndarray, t: np.ndarray,
                  cutoff_ms: int) -> tuple[np.ndarray, np.ndarray]:
        """Stored pairs that ``rows`` (pair ids ``pid``, key ids ``ids``, times ``t``) repeat, as one
        event each at the pair's first time (EVENT_DTYPE, batch 0); and how many each row sees."""
        pid, source = np.unique(pid, return_index=True)
        source, pid = source[pid >= 0], pid[pid >= 0]
        first = self.pair_first[pid]
        source, pid, first = source[first > cutoff_ms], pid[first > cutoff_ms], first[first > cutoff_ms]
        ph = np.zeros(len(pid), EVENT_DTYPE)
        ph["key"] = rows[index.field][source]
        ph["aux"] = rows[index.aux_field][source]
        ph["t"] = first
        codes = np.sort(self._code(self.pair_key[pid], first))
        seen = np.searchsorted(codes, self._code(ids, t), "right") - np.searchsorted(codes, ids * self.span - 1, "right")
        return ph, seen

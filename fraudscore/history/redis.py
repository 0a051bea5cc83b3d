"""History in Redis: the store several processes or machines share.

A log in Redis under an in-memory index in each client, as :class:`~fraudscore.history.sqlite.SQLiteStore`
does with a file. Layout (``P`` is the key prefix)::

    P:meta    hash: layout (2), batch (counter, one per observe; reserve_batches advances it),
              generation (set from the server clock by the first write, bumped by erase and purge)
    P:log     list: one entry per committed batch, its new submissions' 88-byte records end to end
              (keyed hashes, time, order; the codec of :mod:`fraudscore.history._log`)

Each client keeps a :class:`~fraudscore.history._index.HistoryIndex` of the log and the log length
and generation it has read. ``observe`` counts the batch on that index, then sends one script: a
compare-and-append that pushes the batch's records only if the log's length, generation and
batch counter are still what the client counted against; else it appends nothing and returns the
entries the client missed, which the client adds before counting again. So a batch costs one
round trip and one append whatever its keys, concurrent writers never lose an update (the loser
recounts), and a killed client leaves all or nothing (the append is one command). Erase and purge
rewrite the entries concerned the same way (compare, then ``LSET``) and bump the generation, which
makes every other client reload the log.

Retention: the store's keys' TTL is the retention period, refreshed on every write, so a store
nobody writes to for that long empties itself (a client that still holds it starts again from the
new, empty one: the first write stamps a new generation from the server clock). In a store in
use, submissions past retention are invisible to counts but stay in the log (and in every client's
memory) until :meth:`~HistoryStore.purge`, which drops them from the log.

Trade-off, measured at a million submissions: Redis holds ~100 bytes per submission (the layout
before: ~670 at 400k); each client process holds the index, ~630 bytes per retained submission,
and its first call reads the whole log and builds the index, 5-8 s of CPU per million submissions;
erase and purge make every client rebuild. The scripts touch three keys of one prefix: this
targets a single Redis (or a primary with replicas), not Redis Cluster.

Older stores: the layout before (one hash per bucket and key kind, ``P:batch`` counter) is converted
on first use, in one ``MULTI`` under ``WATCH`` of the keys read, and ``P:batch`` is left holding
a note that makes older fraudscore clients fail rather than write the old layout again (stop them
before upgrading). A store of a newer layout is refused with :class:`HistoryError`.

The ``redis`` package is imported when a store is created, never at ``import fraudscore.history``.
"""

from __future__ import annotations

import threading
import time

import numpy as np

from fraudscore.history._counting import ROW_DTYPE
from fraudscore.history._index import HistoryIndex
from fraudscore.history._log import ROW_RECORD, decode_rows, encode_rows, split_by_batch
from fraudscore.history.base import HistoryError, HistoryStore, HistoryUnavailableError
from fraudscore.history.observations import KIND_FIELDS, KINDS

__all__ = ["RedisStore", "LAYOUT"]

#: Layout version written to ``P:meta``; older layouts are converted, newer ones refused.
LAYOUT = 2
#: What ``P:batch`` holds once a store of the first layout has been converted.
MIGRATED_NOTE = b"converted to history layout 2: upgrade fraudscore to use this store"

# What every script returns when the log moved on: {0, layout, generation, batch, start, entries},
# the entries from position `start`: 0 if the generation is not the one the client read, or the
# log is shorter than what it read (the store expired or was flushed). A store's first write stamps
# its generation from the server clock, so a store created again after expiring is another
# generation to every client that held the old one.
_STATE = """
local function state(meta, log, seen_generation, seen_length)
  local m = redis.call('HMGET', meta, 'layout', 'generation', 'batch')
  local generation = m[2] or '0'
  local start = tonumber(seen_length)
  if generation ~= seen_generation or redis.call('LLEN', log) < start then start = 0 end
  return {0, m[1] or '', generation, m[3] or '0', start, redis.call('LRANGE', log, start, -1)}
end
local function moved(meta, log, seen_generation, seen_length)
  return (redis.call('HGET', meta, 'generation') or '0') ~= seen_generation
      or redis.call('LLEN', log) ~= tonumber(seen_length)
end
local function create(meta)
  if redis.call('EXISTS', meta) == 0 then
    local now = redis.call('TIME')
    redis.call('HSET', meta, 'generation', now[1] .. string.format('%%06d', tonumber(now[2])))
  end
  redis.call('HSET', meta, 'layout', '%d')
end
local function touch(ttl)
  for _, key in ipairs(KEYS) do redis.call('PEXPIRE', key, ttl) end
end
""" % LAYOUT

# KEYS: meta, log, old counter. ARGV: generation, length. {1} if nothing moved, else the state.
_SYNC = _STATE + """
if moved(KEYS[1], KEYS[2], ARGV[1], ARGV[2]) then return state(KEYS[1], KEYS[2], ARGV[1], ARGV[2]) end
return {1}
"""

# KEYS: meta, log, old counter. ARGV: ttl, generation, length, batch counter ('' for a reserved
# number), batch number, records. Appends if nothing moved since the client read
# (generation, length, counter): {1, generation}; else the state.
_APPEND = _STATE + """
local meta, log = KEYS[1], KEYS[2]
if moved(meta, log, ARGV[2], ARGV[3])
   or (ARGV[4] ~= '' and (redis.call('HGET', meta, 'batch') or '0') ~= ARGV[4]) then
  return state(meta, log, ARGV[2], ARGV[3])
end
create(meta)
if ARGV[4] ~= '' then redis.call('HSET', meta, 'batch', ARGV[5]) end
redis.call('RPUSH', log, ARGV[6])
touch(ARGV[1])
return {1, redis.call('HGET', meta, 'generation')}
"""

# KEYS: meta, log, old counter. ARGV: ttl, generation, length, entries to drop from the head,
# then (position, records) pairs. Rewrites if nothing moved: {1, new generation}; else the state.
_REWRITE = _STATE + """
local meta, log = KEYS[1], KEYS[2]
if moved(meta, log, ARGV[2], ARGV[3]) then return state(meta, log, ARGV[2], ARGV[3]) end
for i = 5, #ARGV, 2 do redis.call('LSET', log, ARGV[i], ARGV[i + 1]) end
local drop = tonumber(ARGV[4])
if drop > 0 then redis.call('LTRIM', log, drop, -1) end
create(meta)
local generation = redis.call('HINCRBY', meta, 'generation', 1)
touch(ARGV[1])
return {1, generation}
"""

# KEYS: meta, log, old counter. ARGV: ttl, n. Returns the counter after adding n.
_RESERVE = _STATE + """
create(KEYS[1])
local batch = redis.call('HINCRBY', KEYS[1], 'batch', ARGV[2])
touch(ARGV[1])
return batch
"""

# The first layout: 256 buckets (low byte of the hash) per kind; submissions' rows big-endian.
_OLD_BUCKETS = 256
_OLD_ROW_WIRE = np.dtype([("sub", ">u8"), ("t", ">i8"), ("survey", ">u8")] + [(KIND_FIELDS[k], ">u8") for k in KINDS]
                         + [("pos", ">u4"), ("batch", ">u4")])


def _rows_from_old_layout(blob: bytes) -> np.ndarray:
    wire = np.frombuffer(blob, _OLD_ROW_WIRE)
    rows = np.zeros(len(wire), ROW_DTYPE)
    for name in ROW_DTYPE.names:
        if name != "seq":
            rows[name] = wire[name]
    rows["seq"] = (wire["batch"].astype(np.int64) << 32) | wire["pos"].astype(np.int64)
    return rows


class _Moved(Exception):
    """The log changed since this client read it (carries the script's state reply)."""

    def __init__(self, state):
        super().__init__("history log moved")
        self.state = state


class RedisStore(HistoryStore):
    """History in a Redis server (see :class:`HistoryStore` for the contract).

    Parameters
    ----------
    url : str
        ``redis://HOST:PORT/DB`` (any URL ``redis.Redis.from_url`` takes).
    prefix : str
        Key prefix; stores with different prefixes share a server without seeing each other.
    timeout_s : float
        Longest wait to connect, for a reply, or for a turn while other writers keep appending
        first, before :class:`HistoryUnavailableError`.
    **kwargs
        ``secret``, ``retention_days`` (see :class:`HistoryStore`).

    Notes
    -----
    The store connects on its first call, which reads the log. One index per store object, guarded
    by a lock (thread-safe); open a store per process.
    """

    name = "redis"

    def __init__(self, url: str = "redis://127.0.0.1:6379/0", *, prefix: str = "fraudscore:history",
                 timeout_s: float = 10.0, **kwargs):
        super().__init__(**kwargs)
        try:
            import redis  # optional dependency: fraudscore[redis]
            from redis.backoff import NoBackoff
            from redis.retry import Retry
        except ImportError as exc:
            raise ImportError("RedisStore needs the redis package: pip install 'fraudscore[redis]'") from exc

        self._errors = redis.exceptions
        self.url = url
        self.prefix = prefix
        self.timeout_s = float(timeout_s)
        # No client-side retries: the wait is bounded by timeout_s, and a script whose outcome is
        # unknown is harmless to send again (the compare fails if the first one landed).
        self._redis = redis.Redis.from_url(url, socket_timeout=self.timeout_s,
                                           socket_connect_timeout=self.timeout_s, retry=Retry(NoBackoff(), 0))
        self._keys = [f"{prefix}:meta".encode(), f"{prefix}:log".encode(), f"{prefix}:batch".encode()]
        self._scripts = {name: self._redis.register_script(body) for name, body in
                         (("sync", _SYNC), ("append", _APPEND), ("rewrite", _REWRITE), ("reserve", _RESERVE))}
        self._lock = threading.Lock()
        self._forget()

    def _forget(self) -> None:
        """Drop the index: the next call reads the whole log."""
        self._index = HistoryIndex()
        self._generation = b""  # of the log the index holds; "" matches none
        self._length = 0  # log entries in the index
        self._entry_rows = np.zeros(0, np.int64)  # rows of each of those entries, in log order
        self._batch = b"0"  # the batch counter as last read
        self._synced = False

    def _call(self, fn, *args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except (self._errors.TimeoutError, TimeoutError) as exc:
            raise HistoryUnavailableError(
                f"Redis history at {self.url} did not answer within {self.timeout_s:g} s: {exc}") from exc
        except (self._errors.ConnectionError, OSError) as exc:  # refused, reset, no route: at once
            raise HistoryUnavailableError(f"Redis history at {self.url} is unreachable: {exc}") from exc
        except self._errors.RedisError as exc:
            raise HistoryError(f"Redis history at {self.url}: {exc}") from exc

    def _script(self, name: str, *args):
        reply = self._call(self._scripts[name], keys=self._keys, args=list(args))
        if isinstance(reply, list) and reply and reply[0] == 0:
            raise _Moved(reply)
        return reply

    # -- reading the log ---------------------------------------------------------------------------
    def _apply(self, state) -> None:
        """Bring the index up to a state reply: add the missed entries, or reload after another
        generation. Converts a store of the first layout if the state shows one."""
        _, layout, generation, batch, start, entries = state
        if layout and int(layout) > LAYOUT:
            raise HistoryError(f"Redis history {self.prefix!r} at {self.url} has layout {int(layout)}; this "
                               f"fraudscore reads layout {LAYOUT}: upgrade fraudscore to use it")
        if not layout and not entries and self._migrate():
            self._forget()
            return self._sync()
        if int(start) == 0:
            self._index, self._length, self._entry_rows = HistoryIndex(), 0, np.zeros(0, np.int64)
        rows = decode_rows(entries)
        if len(rows):
            self._index.add(rows)
        self._entry_rows = np.r_[self._entry_rows, [len(e) // ROW_RECORD.itemsize for e in entries]].astype(np.int64)
        self._length += len(entries)
        self._generation, self._batch, self._synced = generation, batch, True

    def _sync(self) -> None:
        """Catch up with the log."""
        try:
            self._script("sync", self._generation, self._length)
        except _Moved as moved:
            self._apply(moved.state)

    def _migrate(self) -> bool:
        """Convert a store of the first layout to this one; False if there is none."""
        old_counter = self._keys[2]
        buckets = [f"{self.prefix}:sub:{b:02x}".encode() for b in range(_OLD_BUCKETS)]
        kinds = [f"{self.prefix}:{kind}:{b:02x}".encode() for kind in KINDS for b in range(_OLD_BUCKETS)]

        if not self._call(self._redis.exists, old_counter):
            return False

        def convert(pipe) -> bool:
            counter = pipe.get(old_counter)
            if counter is None or counter == MIGRATED_NOTE or pipe.hget(self._keys[0], "layout"):
                return False
            rows = _rows_from_old_layout(b"".join(v for key in buckets for v in pipe.hvals(key)))
            entries = split_by_batch(rows)
            batch = max([int(counter)] + [number for number, _ in entries])
            pipe.multi()
            if entries:
                pipe.rpush(self._keys[1], *(encode_rows(part) for _, part in entries))
                pipe.pexpire(self._keys[1], self.retention_ms)
            pipe.hset(self._keys[0], mapping={"layout": LAYOUT, "batch": batch, "generation": 1})
            pipe.pexpire(self._keys[0], self.retention_ms)
            pipe.delete(*buckets, *kinds)
            pipe.set(old_counter, MIGRATED_NOTE, px=self.retention_ms)
            return True

        return bool(self._call(self._redis.transaction, convert, old_counter, self._keys[0], self._keys[1],
                               *buckets, value_from_callable=True))

    # -- the store interface -----------------------------------------------------------------------
    def _until_settled(self, attempt):
        """Run ``attempt()`` until the log did not move under it, catching up in between."""
        deadline = time.monotonic() + self.timeout_s
        with self._lock:
            if not self._synced:
                self._sync()
            while True:
                try:
                    return attempt()
                except _Moved as moved:
                    self._apply(moved.state)
                if time.monotonic() > deadline:
                    raise HistoryUnavailableError(f"Redis history at {self.url}: other writers kept committing "
                                                  f"first for {self.timeout_s:g} s")

    def _reserve(self, n):
        with self._lock:
            if not self._synced:
                self._sync()  # converts an older store first: its counter carries over
            return int(self._script("reserve", self.retention_ms, n)) - n + 1

    def _record_and_count(self, rows, cutoff_ms, batch):
        def attempt():
            number = int(self._batch) + 1 if batch is None else batch
            out, new, values, plan = self._index.count_batch(rows, number, cutoff_ms, batch is not None)
            if not new.any():  # nothing to write: just confirm nothing was missed
                self._script("sync", self._generation, self._length)
                return out, new, values
            reply = self._script("append", self.retention_ms, self._generation, self._length,
                                 b"" if batch is not None else self._batch, number, encode_rows(out[new]))
            self._generation = reply[1]  # a store's first write sets it
            self._index.add(out[new], plan)
            self._entry_rows = np.r_[self._entry_rows, int(new.sum())]
            self._length += 1
            if batch is None:
                self._batch = str(number).encode()
            return out, new, values

        return self._until_settled(attempt)

    def _remove(self, doomed_of) -> int:
        """Delete the rows where ``doomed_of(rows)`` is true from the log and the index."""
        def attempt():
            rows = self._index.all_rows()
            doomed = doomed_of(rows)
            if not doomed.any():
                self._script("sync", self._generation, self._length)
                return 0
            entry = np.repeat(np.arange(self._length), self._entry_rows)
            kept_rows = np.bincount(entry[~doomed], minlength=self._length)
            touched = np.unique(entry[doomed])
            drop = int(np.argmax(kept_rows > 0)) if kept_rows.any() else self._length  # empty head entries
            bounds = np.r_[0, np.cumsum(self._entry_rows)]
            rewrites = []
            for e in touched[touched >= drop]:
                part = slice(bounds[e], bounds[e + 1])
                rewrites += [int(e), encode_rows(rows[part][~doomed[part]])]
            reply = self._script("rewrite", self.retention_ms, self._generation, self._length, drop, *rewrites)
            self._index = self._index.without(doomed)
            self._entry_rows = kept_rows[drop:]
            self._length -= drop
            self._generation = str(reply[1]).encode()
            return int(doomed.sum())

        return self._until_settled(attempt)

    def _rows_of_respondent(self, respondent):
        def attempt():
            self._script("sync", self._generation, self._length)
            rows = self._index.all_rows()
            return rows[rows["respondent"] == np.uint64(respondent)].copy()

        return self._until_settled(attempt)

    def _erase_respondent(self, respondent):
        return self._remove(lambda rows: rows["respondent"] == np.uint64(respondent))

    def _purge(self, cutoff_ms):
        return self._remove(lambda rows: rows["t"] <= cutoff_ms)

    def submission_count(self) -> int:
        def attempt():
            self._script("sync", self._generation, self._length)
            return len(self._index)

        return self._until_settled(attempt)

    def close(self) -> None:
        with self._lock:
            self._redis.close()
            self._forget()

"""History in Redis: the store several processes or machines share.

Layout (``P`` is the key prefix, ``bb`` a bucket = the low byte of a hash, in hex)::

    P:batch              counter, one increment per observe() call (arrival order)
    P:sub:bb             hash: 8-byte submission hash -> its row (88 bytes: hashes, time, seq)
    P:<kind>:bb          hash: 8-byte key hash -> its events, 40 bytes each (time, survey, aux, sub, seq)

Hashes of 256 buckets per kind, rather than one Redis key per value, keep a batch at a few hundred
commands whatever its size. Each ``observe`` is one Lua script: it checks which submissions are
already held, reads the events of the batch's keys, takes a batch number and appends the batch —
atomically, so concurrent writers never lose an update and a killed client leaves all or nothing.
Counting happens in the client (:mod:`fraudscore.history._counting`), the same code as every store.

Every bucket carries a TTL of the retention period, refreshed when written: an idle store empties
itself; :meth:`purge` trims old events inside active buckets. Key names are built inside the
script, so this targets a single Redis (or a primary with replicas), not Redis Cluster.

The ``redis`` package is imported when a store is created, never at ``import fraudscore.history``.
"""

from __future__ import annotations

import hashlib
import time

import numpy as np

from fraudscore.history._counting import EVENT_DTYPE, ROW_DTYPE, events_of_rows
from fraudscore.history.base import HistoryError, HistoryStore, HistoryUnavailableError
from fraudscore.history.observations import KIND_FIELDS, KINDS

__all__ = ["RedisStore"]

_BUCKETS = 256
# Wire formats are big-endian so Lua's struct can read the time and append the batch number.
_EVENT_WIRE = np.dtype([("t", ">i8"), ("survey", ">u8"), ("aux", ">u8"), ("sub", ">u8"), ("pos", ">u4"),
                        ("batch", ">u4")])
_ROW_WIRE = np.dtype([("sub", ">u8"), ("t", ">i8"), ("survey", ">u8")] + [(KIND_FIELDS[k], ">u8") for k in KINDS]
                     + [("pos", ">u4"), ("batch", ">u4")])
_CRLF = np.frombuffer(b"\r\n", np.uint8)

_LUA_COMMON = """
local function hmget(key, fields)
  local out = {}
  for s = 1, #fields, 4000 do  -- unpack() is limited to a few thousand values
    local part = redis.call('HMGET', key, unpack(fields, s, math.min(s + 3999, #fields)))
    for j = 1, #part do out[s + j - 1] = part[j] end
  end
  return out
end
local function split(blob, size)
  local t = {}
  for j = 1, #blob, size do t[#t + 1] = string.sub(blob, j, j + size - 1) end
  return t
end
"""

# ARGV: ttl_ms, counter, batch number, mode, then three sections, each a count of buckets and per
# bucket its key, an item count c and its items (each one argument, so the script never cuts strings):
#   check (key, c, c fields)                     submissions that must not be held yet
#   rows  (key, c, c (field, record) pairs)      new submissions' rows
#   keys  (key, c, c fields, c records)          per key: its held events are returned, then its
#                                                records ('' for none) are appended to it
# Records arrive already stamped with the batch number. mode 'next': the number must be the
# counter + 1 (compare-and-set, so numbers follow commit order); else it is a reserved number.
# Returns {0, held rows} and writes nothing if any checked submission is held; {2, counter} and
# writes nothing if another writer took the number; else {1, batch, found_1, values_1, ...}, per
# keys bucket the (index, length) of every field held before (big-endian u32 pairs) and their values.
_OBSERVE = """
local ttl, counter, number, mode, i = ARGV[1], ARGV[2], tonumber(ARGV[3]), ARGV[4], 5
local held = {}
local n = tonumber(ARGV[i]); i = i + 1
for b = 1, n do
  local key, c = ARGV[i], tonumber(ARGV[i + 1]); i = i + 2
  for s = i, i + c - 1, 4000 do  -- unpack() is limited to a few thousand values
    local vals = redis.call('HMGET', key, unpack(ARGV, s, math.min(s + 3999, i + c - 1)))
    for j = 1, #vals do if vals[j] then held[#held + 1] = vals[j] end end
  end
  i = i + c
end
if #held > 0 then return {0, table.concat(held)} end
if mode == 'next' then
  local current = tonumber(redis.call('GET', counter) or '0')
  if current + 1 ~= number then return {2, current} end
  redis.call('SET', counter, number)
end
n = tonumber(ARGV[i]); i = i + 1
for b = 1, n do
  local key, c = ARGV[i], tonumber(ARGV[i + 1]); i = i + 2
  for s = i, i + 2 * c - 1, 4000 do redis.call('HSET', key, unpack(ARGV, s, math.min(s + 3999, i + 2 * c - 1))) end
  redis.call('PEXPIRE', key, ttl)
  i = i + 2 * c
end
local reply = {1, number}
n = tonumber(ARGV[i]); i = i + 1
for b = 1, n do
  local key, c = ARGV[i], tonumber(ARGV[i + 1]); i = i + 2
  local values, found, index, args = i + c, {}, {}, {}
  for s = 0, c - 1, 4000 do
    local e = math.min(s + 3999, c - 1)
    local old = redis.call('HMGET', key, unpack(ARGV, i + s, i + e))
    for j = 1, e - s + 1 do
      local at, o = s + j - 1, old[j]
      local v = ARGV[values + at]
      if o then
        found[#found + 1] = o
        index[#index + 1] = struct.pack('>I4I4', at, #o)
      end
      if #v > 0 then
        args[#args + 1] = ARGV[i + at]
        if o then args[#args + 1] = o .. v else args[#args + 1] = v end
      end
    end
  end
  for s = 1, #args, 4000 do redis.call('HSET', key, unpack(args, s, math.min(s + 3999, #args))) end
  if #args > 0 then redis.call('PEXPIRE', key, ttl) end
  reply[#reply + 1] = table.concat(index)
  reply[#reply + 1] = table.concat(found)
  i = values + c
end
return reply
"""
_OBSERVE_SHA = hashlib.sha1(_OBSERVE.encode()).hexdigest().encode()

# ARGV: cutoff_ms, record size, byte offset of the time in a record; KEYS: buckets to trim.
_PURGE = """
local cutoff, size, toff = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local removed = 0
for _, key in ipairs(KEYS) do
  local all = redis.call('HGETALL', key)
  for j = 1, #all, 2 do
    local v, keep = all[j + 1], {}
    for o = 1, #v, size do
      if struct.unpack('>i8', v, o + toff) > cutoff then keep[#keep + 1] = string.sub(v, o, o + size - 1)
      else removed = removed + 1 end
    end
    if #keep == 0 then redis.call('HDEL', key, all[j])
    elseif #keep * size < #v then redis.call('HSET', key, all[j], table.concat(keep)) end
  end
end
return removed
"""

# ARGV: n, (key, field, subs) * n, m, (sub bucket, fields) * m. Drops the events of the given
# submissions from each key's list, then the submissions' rows. Returns rows deleted.
_ERASE = _LUA_COMMON + """
local i, n = 2, tonumber(ARGV[1])
for c = 1, n do
  local key, field, subs = ARGV[i], ARGV[i + 1], {}
  for _, s in ipairs(split(ARGV[i + 2], 8)) do subs[s] = true end
  i = i + 3
  local v = redis.call('HGET', key, field)
  if v then
    local keep = {}
    for o = 1, #v, 40 do
      if not subs[string.sub(v, o + 24, o + 31)] then keep[#keep + 1] = string.sub(v, o, o + 39) end
    end
    if #keep == 0 then redis.call('HDEL', key, field) else redis.call('HSET', key, field, table.concat(keep)) end
  end
end
local deleted = 0
local m = tonumber(ARGV[i]); i = i + 1
for c = 1, m do
  local fields = split(ARGV[i + 1], 8)
  for s = 1, #fields, 4000 do
    deleted = deleted + redis.call('HDEL', ARGV[i], unpack(fields, s, math.min(s + 3999, #fields)))
  end
  i = i + 2
end
return deleted
"""


def _groups(keys: np.ndarray):
    """Sort order by (bucket, key), the distinct keys with their counts, and bucket boundaries."""
    bucket = (keys & np.uint64(_BUCKETS - 1)).astype(np.int64)
    order = np.lexsort((keys, bucket))
    sorted_keys = keys[order]
    first = np.r_[True, sorted_keys[1:] != sorted_keys[:-1]] if len(keys) else np.zeros(0, bool)
    distinct = sorted_keys[first]
    counts = np.diff(np.r_[np.flatnonzero(first), len(keys)])
    distinct_bucket = (distinct & np.uint64(_BUCKETS - 1)).astype(np.int64)
    bounds = np.searchsorted(distinct_bucket, np.arange(_BUCKETS + 1))
    return order, distinct, counts, distinct_bucket, bounds


def _rows_from_wire(blob: bytes) -> np.ndarray:
    wire = np.frombuffer(blob, _ROW_WIRE)
    rows = np.zeros(len(wire), ROW_DTYPE)
    for name in ROW_DTYPE.names:
        if name != "seq":
            rows[name] = wire[name]
    rows["seq"] = (wire["batch"].astype(np.int64) << 32) | wire["pos"].astype(np.int64)
    return rows


def _events_from_wire(keys: np.ndarray, blob: bytes) -> np.ndarray:
    wire = np.frombuffer(blob, _EVENT_WIRE)
    ev = np.zeros(len(wire), EVENT_DTYPE)
    ev["key"] = keys
    for name in ("t", "survey", "aux", "sub"):
        ev[name] = wire[name]
    ev["seq"] = (wire["batch"].astype(np.int64) << 32) | wire["pos"].astype(np.int64)
    return ev


class RedisStore(HistoryStore):
    """History in a Redis server (see :class:`HistoryStore` for the contract).

    Parameters
    ----------
    url : str
        ``redis://HOST:PORT/DB`` (any URL ``redis.Redis.from_url`` takes).
    prefix : str
        Key prefix; stores with different prefixes share a server without seeing each other.
    timeout_s : float
        Longest wait to connect or for a reply before :class:`HistoryUnavailableError`. A batch's
        script runs inside this limit too, so keep batches under about 100k rows.
    **kwargs
        ``secret``, ``retention_days`` (see :class:`HistoryStore`).
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
        # No client-side retries: the wait is bounded by timeout_s, and a retried script after an
        # unknown outcome is harmless anyway (observe is idempotent).
        self._redis = redis.Redis.from_url(url, socket_timeout=self.timeout_s,
                                           socket_connect_timeout=self.timeout_s, retry=Retry(NoBackoff(), 0))
        self._purge_script = self._redis.register_script(_PURGE)
        self._erase_script = self._redis.register_script(_ERASE)

    def _key(self, kind: str, bucket: int) -> bytes:
        return f"{self.prefix}:{kind}:{bucket:02x}".encode()

    def _call(self, fn, *args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except (self._errors.ConnectionError, self._errors.TimeoutError, OSError) as exc:
            raise HistoryUnavailableError(
                f"Redis history at {self.url} did not answer within {self.timeout_s:g} s: {exc}") from exc
        except self._errors.RedisError as exc:
            raise HistoryError(f"Redis history at {self.url}: {exc}") from exc

    # -- observe -----------------------------------------------------------------------------------
    def _field_items(self, kind: str, keys: np.ndarray) -> list:
        """(bucket key, fields) items for the distinct ``keys`` of one kind."""
        _, distinct, _, _, bounds = _groups(np.unique(keys))
        fields = distinct.astype(">u8").tobytes()
        return [(self._key(kind, b), fields[8 * bounds[b]:8 * bounds[b + 1]])
                for b in range(_BUCKETS) if bounds[b + 1] > bounds[b]]

    def _reserve(self, n):
        return int(self._call(self._redis.incrby, f"{self.prefix}:batch", n)) - n + 1

    def _command(self, rows: np.ndarray, added: np.ndarray, number: int, mode: bytes) -> bytes:
        """The packed EVALSHA of one observe attempt (see ``_OBSERVE``), and its keys sections."""
        out = _Args()
        out.simple(_OBSERVE_SHA, b"0", str(self.retention_ms).encode(), f"{self.prefix}:batch".encode(),
                   str(number).encode(), mode)
        # check: the new submissions must not be held yet
        _, subs, _, _, bounds = _groups(added["sub"])
        fields = _Encoded.fixed(subs.astype(">u8").view(np.uint8).reshape(-1, 8))
        used = np.flatnonzero(np.diff(bounds) > 0)
        out.simple(str(len(used)).encode())
        for b in used:
            out.simple(self._key("sub", b), str(bounds[b + 1] - bounds[b]).encode())
            out.encoded(fields, bounds[b], bounds[b + 1])
        # rows: (submission hash, record) pairs; `subs` above are the same hashes in the same order
        order = _groups(added["sub"])[0]
        records = _stamped(_row_wire(added[order]), number)
        pairs = _Encoded.pairs(subs.astype(">u8").view(np.uint8).reshape(-1, 8),
                               records.view(np.uint8).reshape(len(records), _ROW_WIRE.itemsize))
        out.simple(str(len(used)).encode())
        for b in used:
            out.simple(self._key("sub", b), str(bounds[b + 1] - bounds[b]).encode())
            out.encoded(pairs, bounds[b], bounds[b + 1])
        # keys: every key of the batch is read; the new rows' events are appended to theirs
        sections = []
        items = []
        for kind in KINDS:
            distinct = np.unique(events_of_rows(rows, kind)["key"])
            if len(distinct) == 0:
                continue
            events = events_of_rows(added, kind)
            bucket = (distinct & np.uint64(_BUCKETS - 1)).astype(np.int64)
            by_bucket = np.lexsort((distinct, bucket))
            keys = distinct[by_bucket]
            rank = np.empty(len(distinct), np.int64)
            rank[by_bucket] = np.arange(len(distinct))
            event_rank = rank[np.searchsorted(distinct, events["key"])]
            ev_order = np.lexsort((events["seq"], event_rank))  # a key's new events in arrival order
            wire = _stamped(_event_wire(events[ev_order]), number)
            counts = np.bincount(event_rank, minlength=len(keys))
            fields = _Encoded.fixed(keys.astype(">u8").view(np.uint8).reshape(-1, 8))
            values = _Encoded.variable(wire.view(np.uint8), counts * _EVENT_WIRE.itemsize)
            bounds = np.searchsorted(bucket[by_bucket], np.arange(_BUCKETS + 1))
            for b in np.flatnonzero(np.diff(bounds) > 0):
                items.append((kind, keys[bounds[b]:bounds[b + 1]], fields, values, bounds[b], bounds[b + 1], b))
        out.simple(str(len(items)).encode())
        for kind, keys, fields, values, lo, hi, b in items:
            out.simple(self._key(kind, b), str(hi - lo).encode())
            out.encoded(fields, lo, hi)
            out.encoded(values, lo, hi)
            sections.append((kind, keys))
        return out.packed(), sections

    def _evalsha(self, command: bytes):
        """Send a packed EVALSHA of ``_OBSERVE`` (loading the script first if the server lacks it)."""
        def send():
            pool = self._redis.connection_pool
            conn = pool.get_connection()
            try:
                conn.send_packed_command([command])
                return conn.read_response()
            except (self._errors.ConnectionError, self._errors.TimeoutError, OSError):
                conn.disconnect()
                raise
            finally:
                pool.release(conn)

        try:
            return self._call(send)
        except HistoryError as exc:
            if not isinstance(exc.__cause__, self._errors.NoScriptError):
                raise
            self._call(self._redis.script_load, _OBSERVE)
            return self._call(send)

    def _exchange(self, rows, cutoff_ms, batch):
        out = rows.copy()
        new = np.ones(len(rows), bool)
        counter = f"{self.prefix}:batch"
        number = batch if batch is not None else int(self._call(self._redis.get, counter) or 0) + 1
        deadline = time.monotonic() + self.timeout_s
        while True:
            added = out[new]
            added_seq = (np.int64(number) << 32) | added["seq"]
            stamped = added.copy()
            stamped["seq"] = added_seq
            command, sections = self._command(np.concatenate([out[~new], stamped]), stamped, number,
                                              b"next" if batch is None else b"reserved")
            reply = self._evalsha(command)
            if reply[0] == 1:
                break
            if reply[0] == 0:  # some submissions are held: they are replays, not new rows
                held = _rows_from_wire(reply[1])
                at = np.searchsorted(rows["sub"], held["sub"])
                out[at] = held
                new[at] = False
            else:  # another writer took this number first: take the next one
                number = int(reply[1]) + 1
            if time.monotonic() > deadline:
                raise HistoryUnavailableError(f"Redis history at {self.url}: other writers kept committing "
                                              f"first for {self.timeout_s:g} s")
        out["seq"][new] = (np.int64(number) << 32) | rows["seq"][new]
        parts = {kind: [] for kind in KINDS}
        for (kind, keys), index, values in zip(sections, reply[2::2], reply[3::2]):
            if not values:
                continue
            pairs = np.frombuffer(index, ">u4").reshape(-1, 2)
            found = keys[pairs[:, 0].astype(np.int64)]
            parts[kind].append(_events_from_wire(np.repeat(found, pairs[:, 1] // _EVENT_WIRE.itemsize), values))
        events = {}
        for kind in KINDS:
            ev = np.concatenate(parts[kind]) if parts[kind] else np.zeros(0, EVENT_DTYPE)
            events[kind] = ev[ev["t"] > cutoff_ms]
        return out, new, events

    # -- rights and retention ----------------------------------------------------------------------
    def _rows_of_respondent(self, respondent):
        field = np.array([respondent], ">u8").tobytes()
        value = self._call(self._redis.hget, self._key("respondent", respondent % _BUCKETS), field) or b""
        subs = np.unique(np.frombuffer(value, _EVENT_WIRE)["sub"].astype(np.uint64))
        if len(subs) == 0:
            return np.zeros(0, ROW_DTYPE)
        blobs = []
        for bucket_key, fields in self._field_items("sub", subs):
            blobs += [v for v in self._call(self._redis.hmget, bucket_key, list(_split8(fields))) if v]
        rows = _rows_from_wire(b"".join(blobs))
        return rows[rows["respondent"] == np.uint64(respondent)]

    def _erase_respondent(self, respondent):
        rows = self._rows_of_respondent(respondent)
        if len(rows) == 0:
            return 0
        args = []
        for kind in KINDS:
            ev = events_of_rows(rows, kind)
            for key in np.unique(ev["key"]):
                subs = ev["sub"][ev["key"] == key].astype(">u8").tobytes()
                args += [self._key(kind, int(key) % _BUCKETS), np.array([key], ">u8").tobytes(), subs]
        sub_items = self._field_items("sub", rows["sub"])
        args = [len(args) // 3] + args + [len(sub_items)] + [x for item in sub_items for x in item]
        return int(self._call(self._erase_script, args=args))

    def _purge(self, cutoff_ms):
        removed = 0
        for bucket in range(_BUCKETS):
            removed += int(self._call(self._purge_script, keys=[self._key("sub", bucket)],
                                      args=[cutoff_ms, _ROW_WIRE.itemsize, 8]))
            self._call(self._purge_script, keys=[self._key(kind, bucket) for kind in KINDS],
                       args=[cutoff_ms, _EVENT_WIRE.itemsize, 0])
        return removed

    def submission_count(self) -> int:
        pipe = self._redis.pipeline(transaction=False)
        for bucket in range(_BUCKETS):
            pipe.hlen(self._key("sub", bucket))
        return int(sum(self._call(pipe.execute)))

    def close(self) -> None:
        self._redis.close()


def _row_wire(rows: np.ndarray) -> np.ndarray:
    wire = np.zeros(len(rows), _ROW_WIRE)
    for name in ROW_DTYPE.names:
        if name != "seq":
            wire[name] = rows[name]
    wire["pos"] = rows["seq"] & 0xFFFFFFFF
    return wire


def _event_wire(ev: np.ndarray) -> np.ndarray:
    wire = np.zeros(len(ev), _EVENT_WIRE)
    for name in ("t", "survey", "aux", "sub"):
        wire[name] = ev[name]
    wire["pos"] = ev["seq"] & 0xFFFFFFFF
    return wire


def _stamped(wire: np.ndarray, number: int) -> np.ndarray:
    wire["batch"] = number
    return wire


class _Encoded:
    """Items already encoded as RESP bulk strings, end to end, with each item's byte offset."""

    def __init__(self, blob: bytes, offsets: np.ndarray, per_unit: int = 1):
        self.blob, self.offsets, self.per_unit = blob, offsets, per_unit

    @classmethod
    def fixed(cls, items: np.ndarray) -> _Encoded:
        """Items of one size: ``items`` of shape (n, size), uint8."""
        n, size = items.shape
        head = np.frombuffer(b"$%d\r\n" % size, np.uint8)
        out = np.empty((n, len(head) + size + 2), np.uint8)
        out[:, :len(head)] = head
        out[:, len(head):-2] = items
        out[:, -2:] = _CRLF
        return cls(out.tobytes(), np.arange(n + 1) * out.shape[1])

    @classmethod
    def pairs(cls, first: np.ndarray, second: np.ndarray) -> _Encoded:
        """Item pairs ``(first[i], second[i])``, both of fixed sizes, as one unit per i."""
        a, b = cls.fixed(first), cls.fixed(second)
        n = len(first)
        joined = np.concatenate([np.frombuffer(a.blob, np.uint8).reshape(n, a.offsets[1] if n else 0),
                                 np.frombuffer(b.blob, np.uint8).reshape(n, b.offsets[1] if n else 0)], axis=1)
        return cls(joined.tobytes(), np.arange(n + 1) * joined.shape[1], per_unit=2)

    @classmethod
    def variable(cls, payload: np.ndarray, lengths: np.ndarray) -> _Encoded:
        """Items laid end to end in ``payload`` (uint8), ``lengths`` bytes each (0 allowed)."""
        src = np.r_[0, np.cumsum(lengths)[:-1]].astype(np.int64)
        sizes, inverse = np.unique(lengths, return_inverse=True)  # few distinct sizes
        heads = [np.frombuffer(b"$%d\r\n" % size, np.uint8) for size in sizes]
        total = np.array([len(h) for h in heads], np.int64)[inverse] + lengths + 2
        offsets = np.r_[0, np.cumsum(total)].astype(np.int64)
        out = np.empty(int(offsets[-1]), np.uint8)
        for k, size in enumerate(sizes):  # one vector pass per distinct size, not per item
            sel = np.flatnonzero(inverse == k)
            dst, head = offsets[sel], heads[k]
            out[dst[:, None] + np.arange(len(head))] = head
            if size:
                out[(dst + len(head))[:, None] + np.arange(size)] = payload[src[sel][:, None] + np.arange(size)]
            out[(dst + len(head) + size)[:, None] + np.arange(2)] = _CRLF
        return cls(out.tobytes(), offsets)


class _Args:
    """One Redis command built as RESP bytes, without redis-py's per-argument Python encoding."""

    def __init__(self):
        self.chunks, self.count = [], 0

    def simple(self, *values: bytes) -> None:
        for value in values:
            self.chunks.append(b"$%d\r\n%s\r\n" % (len(value), value))
        self.count += len(values)

    def encoded(self, items: _Encoded, lo: int, hi: int) -> None:
        self.chunks.append(items.blob[items.offsets[lo]:items.offsets[hi]])
        self.count += int(hi - lo) * items.per_unit

    def packed(self) -> bytes:
        return b"*%d\r\n" % (self.count + 1) + b"$7\r\nEVALSHA\r\n" + b"".join(self.chunks)


def _split8(blob: bytes):
    return (blob[i:i + 8] for i in range(0, len(blob), 8))

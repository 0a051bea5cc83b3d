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
_BATCH_BYTES = 4  # the script appends the 4-byte batch number to every record it stores

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

# ARGV: ttl_ms, counter, reserved batch number ('' to take the next one), then three sections, each a count followed by its items:
#   check (key, fields)                          submissions that must not be held yet
#   rows  (key, fields, records, size)           new submissions' rows, one record per field
#   keys  (key, fields, counts, records, size)   per key: its held events are returned, then
#                                                `count` new records are appended to it
# Every stored record gets the 4-byte batch number appended. Returns {0, held rows} and writes
# nothing if any checked submission is held; else {1, batch, lengths_1, values_1, ...}, one
# (lengths, values) pair per keys item, as they were before this batch.
_OBSERVE = _LUA_COMMON + """
local ttl, counter, reserved, i = ARGV[1], ARGV[2], ARGV[3], 4
local held = {}
local n = tonumber(ARGV[i]); i = i + 1
for c = 1, n do
  local key, fields = ARGV[i], split(ARGV[i + 1], 8); i = i + 2
  local vals = hmget(key, fields)
  for j = 1, #fields do if vals[j] then held[#held + 1] = vals[j] end end
end
if #held > 0 then return {0, table.concat(held)} end
local batch
if reserved == '' then batch = redis.call('INCR', counter) else batch = tonumber(reserved) end
local stamp = struct.pack('>I4', batch)
local function hset(key, args)
  for s = 1, #args, 4000 do redis.call('HSET', key, unpack(args, s, math.min(s + 3999, #args))) end
  redis.call('PEXPIRE', key, ttl)
end
n = tonumber(ARGV[i]); i = i + 1
for w = 1, n do
  local key, fields, recs, size = ARGV[i], split(ARGV[i + 1], 8), ARGV[i + 2], tonumber(ARGV[i + 3]); i = i + 4
  local args = {}
  for j = 1, #fields do
    args[2 * j - 1] = fields[j]
    args[2 * j] = string.sub(recs, (j - 1) * size + 1, j * size) .. stamp
  end
  hset(key, args)
end
local reply = {1, batch}
n = tonumber(ARGV[i]); i = i + 1
for r = 1, n do
  local key, fields, counts, recs, size = ARGV[i], split(ARGV[i + 1], 8), ARGV[i + 2], ARGV[i + 3], tonumber(ARGV[i + 4])
  i = i + 5
  local old = hmget(key, fields)
  local lens, parts, args, off = {}, {}, {}, 1
  for j = 1, #fields do
    local v = old[j] or ''
    lens[j] = struct.pack('>I4', #v)
    parts[j] = v
    local count = struct.unpack('>I4', counts, 4 * j - 3)
    if count > 0 then
      local grown = {v}
      for e = 1, count do
        grown[#grown + 1] = string.sub(recs, off, off + size - 1)
        grown[#grown + 1] = stamp
        off = off + size
      end
      args[#args + 1] = fields[j]
      args[#args + 1] = table.concat(grown)
    end
  end
  reply[#reply + 1] = table.concat(lens)
  reply[#reply + 1] = table.concat(parts)
  if #args > 0 then hset(key, args) end
end
return reply
"""

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
        self._observe = self._redis.register_script(_OBSERVE)
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

    def _row_items(self, rows: np.ndarray) -> list:
        """(bucket key, fields, records, record size) items storing new ``rows`` by submission hash."""
        order, distinct, _, _, bounds = _groups(rows["sub"])
        fields = distinct.astype(">u8").tobytes()
        records = self._row_records(rows[order])
        size = records.dtype.itemsize
        payload = records.tobytes()
        return [(self._key("sub", b), fields[8 * bounds[b]:8 * bounds[b + 1]],
                 payload[size * bounds[b]:size * bounds[b + 1]], size)
                for b in range(_BUCKETS) if bounds[b + 1] > bounds[b]]

    def _key_items(self, kind: str, read_keys: np.ndarray, events: np.ndarray) -> list:
        """(bucket key, fields, counts, records, size) items: read ``read_keys``, append ``events``."""
        distinct = np.unique(read_keys)  # includes every event's key
        bucket = (distinct & np.uint64(_BUCKETS - 1)).astype(np.int64)
        by_bucket = np.lexsort((distinct, bucket))
        rank = np.empty(len(distinct), np.int64)
        rank[by_bucket] = np.arange(len(distinct))
        event_rank = rank[np.searchsorted(distinct, events["key"])]
        counts = np.bincount(event_rank, minlength=len(distinct))
        records = self._event_records(events[np.argsort(event_rank, kind="stable")])
        size = records.dtype.itemsize
        payload = records.tobytes()
        fields = distinct[by_bucket].astype(">u8").tobytes()
        count_bytes = counts.astype(">u4").tobytes()
        bounds = np.searchsorted(bucket[by_bucket], np.arange(_BUCKETS + 1))
        ends = np.r_[0, np.cumsum(counts)]
        return [(self._key(kind, b), fields[8 * bounds[b]:8 * bounds[b + 1]],
                 count_bytes[4 * bounds[b]:4 * bounds[b + 1]],
                 payload[size * ends[bounds[b]]:size * ends[bounds[b + 1]]], size)
                for b in range(_BUCKETS) if bounds[b + 1] > bounds[b]]

    def _reserve(self, n):
        return int(self._call(self._redis.incrby, f"{self.prefix}:batch", n)) - n + 1

    def _exchange(self, rows, cutoff_ms, batch):
        out = rows.copy()
        new = np.ones(len(rows), bool)
        for _ in range(len(rows) + 1):  # each conflict removes at least one row from the writes
            added = out[new]
            args = [self.retention_ms, f"{self.prefix}:batch", "" if batch is None else batch]
            check = self._field_items("sub", added["sub"])
            args += [len(check)] + [x for item in check for x in item]
            row_items = self._row_items(added)
            args += [len(row_items)] + [x for item in row_items for x in item]
            key_items = []
            for kind in KINDS:
                read = events_of_rows(out, kind)["key"]
                key_items += [(kind, item) for item in self._key_items(kind, read, events_of_rows(added, kind))]
            args += [len(key_items)] + [x for _, item in key_items for x in item]
            reply = self._call(self._observe, args=args)
            if reply[0] == 0:
                held = _rows_from_wire(reply[1])
                at = np.searchsorted(rows["sub"], held["sub"])
                out[at] = held
                new[at] = False
                continue
            batch = int(reply[1])
            out["seq"][new] = (batch << 32) | rows["seq"][new]
            parts = {kind: [] for kind in KINDS}
            for (kind, (_, fields, *_)), lengths, values in zip(key_items, reply[2::2], reply[3::2]):
                per_field = np.frombuffer(lengths, ">u4") // _EVENT_WIRE.itemsize
                keys = np.repeat(np.frombuffer(fields, ">u8").astype(np.uint64), per_field)
                parts[kind].append(_events_from_wire(keys, values))
            events = {}
            for kind in KINDS:
                ev = np.concatenate(parts[kind]) if parts[kind] else np.zeros(0, EVENT_DTYPE)
                events[kind] = ev[ev["t"] > cutoff_ms]
            return out, new, events
        raise HistoryError("observe did not settle: submissions kept appearing concurrently")

    @staticmethod
    def _row_records(rows: np.ndarray) -> np.ndarray:
        wire = np.zeros(len(rows), _ROW_WIRE)
        for name in ROW_DTYPE.names:
            if name != "seq":
                wire[name] = rows[name]
        wire["pos"] = rows["seq"]
        return _strip_batch(wire)

    @staticmethod
    def _event_records(ev: np.ndarray) -> np.ndarray:
        wire = np.zeros(len(ev), _EVENT_WIRE)
        for name in ("t", "survey", "aux", "sub"):
            wire[name] = ev[name]
        wire["pos"] = ev["seq"]
        return _strip_batch(wire)

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


def _strip_batch(wire: np.ndarray) -> np.ndarray:
    """Records without their trailing batch number, which the script fills in."""
    size = wire.dtype.itemsize - _BATCH_BYTES
    return np.ascontiguousarray(wire).view(np.uint8).reshape(len(wire), wire.dtype.itemsize)[:, :size].copy().view(f"V{size}").ravel()


def _split8(blob: bytes):
    return (blob[i:i + 8] for i in range(0, len(blob), 8))

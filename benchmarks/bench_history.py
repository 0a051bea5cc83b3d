"""Benchmark: observe+count throughput of the history stores.

Traffic model (per row, over the whole run): most devices, cookies, IPs and respondents are new,
a minority repeat (duplicate respondents, click farms); IP prefixes are shared by a few rows;
open text is mostly unique with a handful of very common answers ("good", "n/a") — hot keys.

Under pytest (quick mode) the gates compare measurements from the same run on the same store:
one ``observe`` call per batch must beat observing the same rows one at a time by a wide margin;
a batch into a store holding ten times more (unrelated) rows must not cost much more per row (a
store that copied or scanned its tables per call would fail it); and, as every store counts from
the in-memory index, a batch of hot keys with thousands of stored occurrences must cost about
what a batch of new keys costs (a store that read each key's history would fail it).
Over many batches into a store already holding rows, the log stores (SQLite, Redis), which count
on the same in-memory index, must keep pace with MemoryStore (mean CPU rows/s, index upkeep
included), and Redis's server must do a small share of the work. Observing one row (``score_one``)
must cost less than 150 rows of a batch (CPU p50): a fixed cost per call that grew back (numpy
calls sized for batches) would fail it.
``python benchmarks/bench_history.py`` runs the full size and prints absolute rows/s, including
60 batches of 10k rows into stores already holding a million rows (mean, median and best, CPU and
wall, memory per row, time to open) (``FRAUDSCORE_BENCH_FULL=1`` for full size under pytest).
"""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
import time
import uuid
import warnings
from pathlib import Path

import numpy as np
import pytest

from benchmarks._timing import emit, quick_mode
from fraudscore.history import MemoryStore, Observations, RedisStore, SQLiteStore

SECRET = "history-benchmark-secret-0123456789"
T0 = 1_800_000_000_000
HOUR = 3_600_000


def traffic(n: int, seed: int = 0) -> Observations:
    """``n`` rows over 24 hours of realistic survey traffic (see the module docstring)."""
    rng = np.random.default_rng(seed)

    def mostly_new(repeat_share, pool, present=1.0):
        fresh = rng.integers(1, 2**63, n, dtype=np.int64).astype(np.uint64) | np.uint64(1 << 63)
        repeat = rng.integers(1, pool + 1, n).astype(np.uint64)
        values = np.where(rng.random(n) < repeat_share, repeat, fresh)
        return np.where(rng.random(n) < present, values, np.uint64(0))

    text = mostly_new(0.10, 20, present=0.6)  # 20 stock answers, 6 % of rows: hot keys
    return Observations.from_hashes(
        [f"s{seed}-{i}" for i in range(n)], T0 + np.sort(rng.integers(0, 24 * HOUR, n)), rng.integers(1, 50, n),
        device_id=mostly_new(0.10, max(n // 50, 1)), link_id=mostly_new(0.15, max(n // 50, 1)),
        cookie=mostly_new(0.05, max(n // 50, 1), present=0.7), ip=mostly_new(0.10, max(n // 20, 1)),
        ip_prefix=mostly_new(0.9, max(n // 5, 1)), respondent=mostly_new(0.05, max(n // 100, 1), present=0.5),
        text=text)


def _batches(obs: Observations, size: int) -> list[Observations]:
    return [obs.take(slice(i, i + size)) for i in range(0, len(obs), size)]


def rows_per_second(open_store, obs: Observations, batch: int) -> float:
    """Rows per second observing ``obs`` in batches of ``batch`` into a fresh store."""
    store = open_store()
    parts = _batches(obs, batch)
    started = time.perf_counter()
    for part in parts:
        store.observe(part)
    elapsed = time.perf_counter() - started
    store.close()
    return len(obs) / elapsed


@contextlib.contextmanager
def _redis_or_none():
    """The root conftest's throwaway redis-server, or None where the binary is missing (and CI is
    not set: under ``CI=true`` a missing server fails, as for every Redis test)."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the root conftest, in script mode too
    from conftest import redis_server

    with contextlib.ExitStack() as stack:
        try:
            url = stack.enter_context(redis_server())
        except pytest.skip.Exception:
            url = None
        yield url


def _openers(workdir: Path, redis_url: str | None) -> dict:
    openers = {
        "memory": lambda: MemoryStore(secret=SECRET),
        "sqlite": lambda: SQLiteStore(workdir / f"{uuid.uuid4().hex}.db", secret=SECRET),
    }
    if redis_url:
        openers["redis"] = lambda: RedisStore(redis_url, prefix=f"bench:{uuid.uuid4().hex}", secret=SECRET)
    return openers


def run(n: int, batch: int, naive_rows: int) -> dict:
    """Figures for every store: batched rows/s and, on a prefix, row-at-a-time rows/s."""
    obs = traffic(n)
    figures = {"rows": n, "batch": batch}
    with tempfile.TemporaryDirectory() as tmp, _redis_or_none() as redis_url:
        for name, open_store in _openers(Path(tmp), redis_url).items():
            figures[f"{name}_rows_per_s"] = max(rows_per_second(open_store, obs, batch) for _ in range(2))
            head = obs.take(slice(0, naive_rows))
            figures[f"{name}_row_at_a_time_rows_per_s"] = rows_per_second(open_store, head, 1)
    return figures


def unrelated(obs: Observations, salt: int = 0x5A5A_0000_0000_0001) -> Observations:
    """``obs`` with every key moved to values no other ``traffic`` batch uses (history that a
    measured batch never reads, only stores beside its own)."""
    keys = {field: np.where(getattr(obs, field) != 0, getattr(obs, field) ^ np.uint64(salt), np.uint64(0))
            for field in ("device_id", "link_id", "cookie", "ip", "ip_prefix", "respondent", "text")}
    return Observations.from_hashes([f"u-{s}" for s in obs.submission_id], obs.timestamp_ms, obs.survey_key, **keys)


def cost_growth(open_store, small: int, large: int, batch: int, repeat: int = 3, clock=time.perf_counter) -> float:
    """Per-row cost of a ``batch``-row observe into a store of ``large`` rows over ``small`` rows.

    The stored rows are unrelated to the measured ones (:func:`unrelated`), so both measurements
    read the same amount of key history and only the store's own cost of holding more rows
    differs (index depth, pages written, copies). Best of ``repeat`` batches each: noise only
    adds time. ``clock`` is wall time by default; ``time.process_time`` suits stores that work in
    this process, where other processes' load would otherwise move the ratio.
    """
    background = unrelated(traffic(large, seed=7))
    measured = traffic(2 * repeat * batch, seed=3)
    store = open_store()

    def fill(start, stop):
        for i in range(start, stop, 10_000):
            store.observe(background.take(slice(i, min(i + 10_000, stop))))

    def best(first):
        times = []
        for k in range(first, first + repeat):
            part = measured.take(slice(k * batch, (k + 1) * batch))
            t0 = clock()
            store.observe(part)
            times.append(clock() - t0)
        return min(times)

    fill(0, small)
    at_small = best(0)
    fill(small, large)
    at_large = best(repeat)
    store.close()
    return at_large / at_small


def _rss_bytes() -> int:
    """Resident memory of this process now (Linux), else 0."""
    try:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError):
        return 0


def _server_cpu_s(store) -> float:
    """CPU seconds the store's Redis server has used so far (0 for the in-process stores)."""
    if not isinstance(store, RedisStore):
        return 0.0
    info = store._redis.info("cpu")
    return float(info["used_cpu_user"]) + float(info["used_cpu_sys"])


def steady_state(openers: dict, stored: int, batch: int, batches: int, fill_batch: int = 100_000,
                 reopen=None) -> dict:
    """Rows/s of ``batches`` batches of ``batch`` rows into stores already holding ``stored`` rows.

    ``openers`` maps store names to store factories; every store gets the same traffic, which
    continues the stored one (same pools of repeated keys), as a live store sees. The stores take
    their batches in turn (batch k into each store before batch k + 1 into any), so a spell of
    load on a shared machine falls on every store alike instead of on whichever ran during it.
    The mean is total rows over total time, so it includes the index upkeep that falls on some
    batches only (table growth, merges of sorted runs); the median and best leave it out. CPU time
    is this process's (plus, for Redis, the server's, read from ``INFO cpu``); wall time is
    reported too. With one store, memory is the growth of this process's resident set per stored
    row over the whole run (the index, plus SQLite's page cache; only the first store of a process
    measures this cleanly); every store reports its index's own arrays per row. ``reopen(store)``
    opens the same history anew: its time is the load time of a new process's first call.
    Returns ``{name: figures}``.
    """
    obs = traffic(stored + batches * batch)
    parts = [obs.take(slice(stored + k * batch, stored + (k + 1) * batch)) for k in range(batches)]
    rss = _rss_bytes()
    stores = {name: open_store() for name, open_store in openers.items()}
    for store in stores.values():
        for i in range(0, stored, fill_batch):
            store.observe(obs.take(slice(i, min(i + fill_batch, stored))))
    cpu, wall, server = ({name: [] for name in stores} for _ in range(3))
    for k, part in enumerate(parts):
        names = list(stores)
        for name in names[k % len(names):] + names[:k % len(names)]:  # no store always goes first
            store = stores[name]
            s, c, w = _server_cpu_s(store), time.process_time(), time.perf_counter()
            store.observe(part)
            cpu[name].append(time.process_time() - c)
            wall[name].append(time.perf_counter() - w)
            server[name].append(_server_cpu_s(store) - s)
    results = {}
    for name, store in stores.items():
        figures = results[name] = {}
        c, w, sv = np.array(cpu[name]), np.array(wall[name]), np.array(server[name])
        for kind, seconds in (("cpu", c + sv), ("wall", w)):
            figures[f"mean_{kind}_rows_per_s"] = batch * batches / seconds.sum()
            figures[f"median_{kind}_rows_per_s"] = batch / np.median(seconds)
            figures[f"best_{kind}_rows_per_s"] = batch / seconds.min()
        if isinstance(store, RedisStore):
            figures["server_cpu_share"] = sv.sum() / (c + sv).sum()
        if len(stores) == 1:
            figures["rss_bytes_per_row"] = (_rss_bytes() - rss) / (stored + batches * batch)
        index = getattr(store, "_index", None)
        if hasattr(index, "nbytes"):
            figures["index_bytes_per_row"] = index.nbytes() / (stored + batches * batch)
        if reopen is not None:
            c, w = time.process_time(), time.perf_counter()
            again = reopen(store)
            again.submission_count()
            figures["open_cpu_s"], figures["open_wall_s"] = time.process_time() - c, time.perf_counter() - w
            again.close()
        store.close()
    return results


def _reopen(store):
    """The same history as ``store``, through a new store object (None for MemoryStore)."""
    if isinstance(store, SQLiteStore):
        return SQLiteStore(store.path, secret=SECRET)
    if isinstance(store, RedisStore):
        return RedisStore(store.url, prefix=store.prefix, secret=SECRET)
    return None


def hot_key_cost(open_store, stored: int, batch: int, repeat: int = 3) -> float:
    """Per-row CPU cost of a batch whose keys are hot over one whose keys are all new.

    The store holds ``stored`` rows sharing 20 texts, 50 IP prefixes and 100 devices (thousands of
    occurrences each); the hot batch repeats those keys, the cold one has only fresh keys. Best of
    ``repeat`` batches each.
    """
    rng = np.random.default_rng(5)
    total = stored + 2 * repeat * batch

    def pick(pool):
        return rng.integers(1, pool + 1, total).astype(np.uint64)

    times = T0 + np.sort(rng.integers(0, 24 * HOUR, total))
    obs = Observations.from_hashes([f"h{i}" for i in range(total)], times, 1, device_id=pick(100),
                                   ip_prefix=pick(50), text=pick(20), respondent=pick(stored // 10))
    store = open_store()
    for i in range(0, stored, 10_000):
        store.observe(obs.take(slice(i, min(i + 10_000, stored))))
    hot, cold = [], []
    for k in range(repeat):
        start = stored + 2 * k * batch
        part = obs.take(slice(start, start + batch))
        t0 = time.process_time()
        store.observe(part)
        hot.append(time.process_time() - t0)
        part = unrelated(obs.take(slice(start + batch, start + 2 * batch)), salt=0x3C3C_0000_0000_0001 + k)
        t0 = time.process_time()
        store.observe(part)
        cold.append(time.process_time() - t0)
    store.close()
    return min(hot) / min(cold)


@pytest.mark.bench
def test_log_stores_keep_pace_with_memory_over_many_batches():
    """Same run: over many batches into a store already holding rows, SQLite and Redis must reach
    >= 0.75x MemoryStore's mean CPU rows/s (Redis: client plus server CPU), and Redis's server
    must do < 25 % of that work. The stores take the batches in turn, so a spell of load on a
    shared machine slows all three alike (run one after another, a busy spell during one store's
    run failed this gate once at 0.69x, with 0.97x on a rerun).

    All three count on the same in-memory index; what a log store adds per batch is encoding the
    records and one append (measured at 1M rows, interleaved: SQLite 0.8-1.0x, Redis 0.9-1.0x
    memory, its server ~3 % of the CPU; quick mode 0.98x both). The Redis store before the log
    read every event of a batch's keys in a script: 0.21x memory's rate, 61 % of it in the server.
    """
    stored, batch, batches = (1_000_000, 10_000, 60) if not quick_mode() else (100_000, 5_000, 20)
    figures = {}
    with warnings.catch_warnings(), tempfile.TemporaryDirectory() as tmp, _redis_or_none() as redis_url:
        warnings.simplefilter("ignore")
        for _ in range(2):  # twice; each store keeps its run with the better ratio (noise only slows)
            steady = steady_state(_openers(Path(tmp), redis_url), stored, batch, batches, fill_batch=50_000)
            memory = steady["memory"]["mean_cpu_rows_per_s"]
            for name, store_figures in steady.items():
                ratio = store_figures["mean_cpu_rows_per_s"] / memory  # within one run: same load
                if ratio > figures.get(f"{name}_over_memory", 0):
                    figures.update({f"{name}_{k}": v for k, v in store_figures.items()})
                    figures[f"{name}_over_memory"] = ratio
    emit("history_steady_state", {"stored": stored, "batch": batch, "batches": batches, **figures})
    for name in ("sqlite", "redis"):
        if f"{name}_over_memory" not in figures:
            if os.environ.get("CI", "").lower() == "true":
                pytest.fail(f"{name} store not benchmarked (redis-server missing?)")
            continue
        assert figures[f"{name}_over_memory"] >= 0.75, (name, figures)
    if "redis_server_cpu_share" in figures:
        assert figures["redis_server_cpu_share"] < 0.25, figures


@pytest.mark.bench
def test_hot_keys_cost_about_what_new_keys_cost():
    """Same run, same store: a batch of keys with thousands of stored occurrences costs < 3x per
    row what a batch of new keys costs, in every store (all three count from the in-memory index;
    Redis in this process's CPU time, its server's share being a few per cent).

    Reading each key's stored history (what the stores did before schema 3, and what Redis did
    before its log) makes the hot batch cost grow with the store: 8.7x (memory) and 5.3x (SQLite)
    at 100,000 stored rows, against 1.6-1.7x now (Redis 1.6x).
    """
    stored, batch = (400_000, 10_000) if not quick_mode() else (100_000, 2_000)
    figures = {}
    with warnings.catch_warnings(), tempfile.TemporaryDirectory() as tmp, _redis_or_none() as redis_url:
        warnings.simplefilter("ignore")
        for name, open_store in _openers(Path(tmp), redis_url).items():
            figures[f"{name}_hot_over_cold"] = hot_key_cost(open_store, stored, batch)
    emit("history_hot_keys", {"stored": stored, "batch": batch, **figures})
    for name, ratio in figures.items():
        assert ratio < 3, (name, figures)


@pytest.mark.bench
def test_per_row_cost_does_not_grow_with_history_size():
    """Same run, same store: a batch into a store holding 10x more rows costs < 5x per row (quick mode).

    O(history) work per call (copying whole tables, scanning them) would cost ~10x (measured
    1.1-1.2x for all three stores, which count on the same in-memory index). Timed in CPU time: in
    wall time SQLite's ratio once reached 5.9 while other suites ran. Redis too: since its log, the
    counting is in this process and its server does a few per cent of the work.
    """
    small, large, batch = (40_000, 400_000, 5_000) if not quick_mode() else (10_000, 100_000, 2_000)
    figures = {}
    with warnings.catch_warnings(), tempfile.TemporaryDirectory() as tmp, _redis_or_none() as redis_url:
        warnings.simplefilter("ignore")
        for name, open_store in _openers(Path(tmp), redis_url).items():
            figures[f"{name}_growth"] = cost_growth(open_store, small, large, batch, clock=time.process_time)
    emit("history_cost_growth", {"small": small, "large": large, "batch": batch, **figures})
    for name, growth in figures.items():
        assert growth < 5, (name, figures)


@pytest.mark.bench
def test_batched_observe_beats_row_at_a_time_on_every_store():
    """Same store, same rows, same run: batching must buy at least 10x (quick mode)."""
    full = not quick_mode()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        figures = run(n=200_000 if full else 20_000, batch=10_000 if full else 5_000, naive_rows=300)
    emit("history_observe", figures)
    for name in ("memory", "sqlite", "redis"):
        if f"{name}_rows_per_s" not in figures:
            if os.environ.get("CI", "").lower() == "true":
                pytest.fail(f"{name} store not benchmarked (redis-server missing?)")
            continue
        ratio = figures[f"{name}_rows_per_s"] / figures[f"{name}_row_at_a_time_rows_per_s"]
        assert ratio > 10, (name, figures)


def one_row_cost(open_store, stored: int, rounds: int = 6, rows: int = 50, batch: int = 5_000) -> dict:
    """CPU of observing one row at a time into a store of ``stored`` rows (p50, p99 in us), the
    CPU per row of ``batch``-row batches into the same store, and their ratio.

    ``rounds`` rounds of ``rows`` single rows then one batch, so that a slow spell on a shared
    host lands on both sides of the ratio: the ratio is the median over rounds of each round's
    single-row p50 over its batch's cost per row. (A CI run that timed 300 single rows first and
    two batches after measured 150.6 where the same code measures 84-134.) The batches' keys are
    unrelated to the single rows' (:func:`unrelated`), so each single row meets the history of
    the single rows before it only, as when they were timed in one stretch: a row whose keys
    have more history in the windows costs more.
    """
    background = unrelated(traffic(stored, seed=7))
    # The single rows keep the density in time of a 10,000-row day: 300 rows span ~40 minutes.
    singles = traffic(rounds * rows + 10_000, seed=5)
    batches = unrelated(traffic(rounds * batch, seed=6), salt=0x3C3C_0000_0000_0003)
    store = open_store()
    for i in range(0, stored, 10_000):
        store.observe(background.take(slice(i, min(i + 10_000, stored))))
    one, batched, ratios = [], [], []
    for r in range(rounds):
        this_round = []
        for i in range(r * rows, (r + 1) * rows):
            part = singles.take(slice(i, i + 1))
            t0 = time.process_time()
            store.observe(part)
            this_round.append(time.process_time() - t0)
        part = batches.take(slice(r * batch, (r + 1) * batch))
        t0 = time.process_time()
        store.observe(part)
        batched.append((time.process_time() - t0) / batch)
        one.extend(this_round)
        ratios.append(float(np.median(this_round)) / batched[-1])
    store.close()
    return {"one_row_p50_us": float(np.percentile(one, 50)) * 1e6, "one_row_p99_us": float(np.percentile(one, 99)) * 1e6,
            "batched_us_per_row": min(batched) * 1e6, "one_row_in_batched_rows": float(np.median(ratios))}


@pytest.mark.bench
def test_one_row_costs_less_than_150_batched_rows():
    """Same run, same store: observing one row (what ``score_one`` does) costs < 150 rows of a
    5,000-row batch, CPU p50, in every store (Redis: this process's CPU).

    Batches of up to 16 rows take the index's few-row paths (plain Python over ints). Through the
    vectorized code, ~500 numpy calls of fixed cost, one row cost 260-280 batched rows at 100,000
    stored rows (memory 1.5 ms p50 against 5.6 us per batched row); now memory ~50, SQLite ~70,
    Redis ~85 (0.29, 0.42, 0.50 ms p50). On a host ~4x slower in plain Python (2026-12-05) the
    ratios rise, Python more than numpy: memory 81-82, SQLite 96-102, Redis 114-120 timed in
    rounds; 84 / 93-110 / 104-151 when all single rows were timed before both batches. Since
    2026-12-07 (a single row's counts on Python ints, its inserts into sorted Python lists):
    memory ~33, SQLite ~49 at 100,000 stored (0.20, 0.31 ms p50; were 52, 65-70 there).
    """
    stored = 1_000_000 if not quick_mode() else 100_000
    figures = {}
    with warnings.catch_warnings(), tempfile.TemporaryDirectory() as tmp, _redis_or_none() as redis_url:
        warnings.simplefilter("ignore")
        for name, open_store in _openers(Path(tmp), redis_url).items():
            for key, value in one_row_cost(open_store, stored).items():
                figures[f"{name}_{key}"] = value
    emit("history_one_row", {"stored": stored, **figures})
    for name in ("memory", "sqlite", "redis"):
        if f"{name}_one_row_p50_us" in figures:
            assert figures[f"{name}_one_row_in_batched_rows"] < 150, (name, figures)


if __name__ == "__main__":
    warnings.simplefilter("ignore")
    result = run(n=200_000, batch=10_000, naive_rows=1_000)
    emit("history_observe", result)
    for store_name in ("memory", "sqlite", "redis"):
        key = f"{store_name}_rows_per_s"
        if key in result:
            print(f"{store_name:>7}: {result[key]:>10,.0f} rows/s batched, "
                  f"{result[store_name + '_row_at_a_time_rows_per_s']:>8,.0f} rows/s one at a time")
    with tempfile.TemporaryDirectory() as tmp, _redis_or_none() as url:
        for store_name, open_store in _openers(Path(tmp), url).items():
            one = one_row_cost(open_store, 1_000_000)
            emit("history_one_row", {"store": store_name, "stored": 1_000_000, **one})
            print(f"{store_name:>7}: one row {one['one_row_p50_us']:,.0f} us CPU p50 "
                  f"({one['one_row_p99_us']:,.0f} p99), batched {one['batched_us_per_row']:.1f} us/row, "
                  f"one row = {one['one_row_in_batched_rows']:.0f} batched rows")
    # Steady state: 60 batches of 10k rows into stores holding a million rows; the mean includes
    # the index upkeep that falls on a few batches (table growth, merges of sorted runs).
    with tempfile.TemporaryDirectory() as tmp, _redis_or_none() as url:
        for store_name, open_store in _openers(Path(tmp), url).items():
            # One store at a time here, so that each one's resident-memory growth is its own.
            steady = steady_state({store_name: open_store}, 1_000_000, 10_000, 60, reopen=_reopen)[store_name]
            emit("history_steady_state", {"store": store_name, "stored": 1_000_000, **steady})

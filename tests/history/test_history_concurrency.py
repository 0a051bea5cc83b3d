"""Concurrent writers lose nothing; a killed writer leaves all or nothing; a stuck store errors, bounded."""

from __future__ import annotations

import signal
import socket
import sqlite3
import subprocess
import sys
import textwrap
import time
import uuid

import numpy as np
import pytest

from fraudscore.history import HistoryUnavailableError, Observations, RedisStore, SQLiteStore

SECRET = "history-tests-secret-0123456789abcdef"
T = 1_800_000_000_000
DEVICES = 10

# A writer process: observes `rows` rows in batches, submission ids unique to the writer, devices
# shared by all writers so their counts interleave.
WRITER = textwrap.dedent("""
    import sys, numpy as np
    from fraudscore.history import Observations, open_history
    url, writer, rows, batch = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    prefix = sys.argv[5] if len(sys.argv) > 5 else None
    options = {"secret": "%s", "timeout_s": 120}
    if prefix:
        options["prefix"] = prefix
    store = open_history(url, **options)
    for start in range(0, rows, batch):
        i = np.arange(start, min(start + batch, rows))
        obs = Observations.from_hashes([f"w{writer}-{j}" for j in i], %d + i, 1, device_id=i %% %d + 1)
        print("go", flush=True)
        store.observe(obs)
    store.close()
""" % (SECRET, T, DEVICES))


def _target(kind: str, tmp_path, redis_url_factory):
    if kind == "sqlite":
        path = tmp_path / "shared.db"
        return f"sqlite:{path}", [], lambda: SQLiteStore(path, secret=SECRET)
    url, prefix = redis_url_factory(), f"test:{uuid.uuid4().hex}"
    return url, [prefix], lambda: RedisStore(url, prefix=prefix, secret=SECRET)


def _run_writers(kind, tmp_path, request, writers, rows, batch):
    url, extra, open_store = _target(kind, tmp_path, lambda: request.getfixturevalue("redis_url"))
    open_store().close()  # create the schema once, before the race
    procs = [subprocess.Popen([sys.executable, "-c", WRITER, url, str(w), str(rows), str(batch), *extra],
                              stdout=subprocess.DEVNULL) for w in range(writers)]
    for proc in procs:
        assert proc.wait(timeout=600) == 0
    store = open_store()
    assert store.submission_count() == writers * rows
    # Every write is visible: a probe after the race sees each device writers * rows / DEVICES times.
    probe = Observations.from_hashes([f"probe{d}" for d in range(DEVICES)], [T + 10**9] * DEVICES, 1,
                                     device_id=np.arange(1, DEVICES + 1))
    counts = store.observe(probe)
    assert counts.prior_device_survey.tolist() == [writers * rows // DEVICES] * DEVICES
    store.close()


@pytest.mark.parametrize("kind", ["sqlite", "redis"])
def test_four_writers_of_5k_rows_lose_no_update(kind, tmp_path, request):
    _run_writers(kind, tmp_path, request, writers=4, rows=5_000, batch=1_000)


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["sqlite", "redis"])
def test_four_writers_of_50k_rows_lose_no_update(kind, tmp_path, request):
    _run_writers(kind, tmp_path, request, writers=4, rows=50_000, batch=5_000)


@pytest.mark.parametrize("kill_after_s", [0.8, 2.0])  # early / late in the batch
@pytest.mark.parametrize("kind", ["sqlite", "redis"])
def test_writer_killed_mid_batch_leaves_all_or_nothing(kind, kill_after_s, tmp_path, request):
    url, extra, open_store = _target(kind, tmp_path, lambda: request.getfixturevalue("redis_url"))
    open_store().close()
    rows = 400_000 if kill_after_s < 1 else 800_000  # seconds of work (SQLite: 200k rows ~1.2 s): the kill lands inside
    proc = subprocess.Popen([sys.executable, "-c", WRITER, url, "0", str(rows), str(rows), *extra],
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "go"
    time.sleep(kill_after_s)
    assert proc.poll() is None, "the batch finished before the kill: make it larger"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    store = open_store()
    held = store.submission_count()
    assert held in (0, rows)
    probe = Observations.from_hashes(["probe"], [T + 10**9], 1, device_id=[1])
    assert store.observe(probe).prior_device_survey.tolist() == [held // DEVICES]
    store.close()


def test_locked_sqlite_raises_unavailable_after_the_timeout(tmp_path):
    store = SQLiteStore(tmp_path / "h.db", secret=SECRET, timeout_s=0.3)
    other = sqlite3.connect(tmp_path / "h.db", isolation_level=None)
    other.execute("BEGIN EXCLUSIVE")
    started = time.monotonic()
    with pytest.raises(HistoryUnavailableError, match="locked"):
        store.observe(Observations.from_hashes(["a"], [T], 1, device_id=[5]))
    assert 0.25 < time.monotonic() - started < 5
    other.execute("ROLLBACK")
    assert store.observe(Observations.from_hashes(["a"], [T], 1, device_id=[5])).prior_device_1h.tolist() == [0]
    other.close()
    store.close()


def test_unreachable_redis_raises_unavailable_quickly(free_port):
    store = RedisStore(f"redis://127.0.0.1:{free_port()}/0", secret=SECRET, timeout_s=0.5)
    started = time.monotonic()
    with pytest.raises(HistoryUnavailableError):
        store.observe(Observations.from_hashes(["a"], [T], 1, device_id=[5]))
    assert time.monotonic() - started < 5


def test_redis_that_never_answers_raises_unavailable_after_the_timeout():
    with socket.socket() as silent:  # accepts connections (kernel backlog), never replies
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        store = RedisStore(f"redis://127.0.0.1:{silent.getsockname()[1]}/0", secret=SECRET, timeout_s=0.5)
        started = time.monotonic()
        with pytest.raises(HistoryUnavailableError):
            store.observe(Observations.from_hashes(["a"], [T], 1, device_id=[5]))
        assert 0.4 < time.monotonic() - started < 5

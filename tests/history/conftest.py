"""Fixtures for the history store tests: one store of each kind, and a real redis-server.

Redis tests start ``redis-server`` on a free localhost port (no persistence) and kill it at the
end of the session. Without the binary they are skipped, except under ``CI=true``, where a
missing redis-server fails them: CI must not pass by skipping the shared-store tests.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
import uuid

import pytest

SECRET = "history-tests-secret-0123456789abcdef"
STORE_KINDS = ("memory", "sqlite", "redis")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def redis_url():
    """URL of a throwaway redis-server for this test session."""
    binary = shutil.which("redis-server") or ("/usr/bin/redis-server" if os.path.exists("/usr/bin/redis-server") else None)
    if binary is None:
        message = "redis-server is not installed; the Redis history tests need a real server"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message + " (CI=true: failing rather than skipping)")
        pytest.skip(message)
    port = _free_port()
    process = subprocess.Popen(
        [binary, "--save", "", "--appendonly", "no", "--port", str(port), "--bind", "127.0.0.1"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"redis-server did not start on port {port}")
                time.sleep(0.05)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        process.kill()
        process.wait()


@pytest.fixture
def make_store(request, tmp_path):
    """Factory: ``make_store(kind, **kwargs)`` opens a fresh store of that kind for this test.

    SQLite stores of one test share a file and Redis stores share a key prefix, so a second
    call opens the *same* history (as another process would).
    """
    opened = []
    prefix = f"test:{uuid.uuid4().hex}"

    def make(kind: str, **kwargs):
        from fraudscore.history import MemoryStore, RedisStore, SQLiteStore

        kwargs.setdefault("secret", SECRET)
        if kind == "memory":
            store = MemoryStore(**kwargs)
        elif kind == "sqlite":
            store = SQLiteStore(tmp_path / "history.db", **kwargs)
        elif kind == "redis":
            store = RedisStore(request.getfixturevalue("redis_url"), prefix=prefix, **kwargs)
        else:
            raise ValueError(kind)
        opened.append(store)
        return store

    yield make
    for store in opened:
        store.close()


@pytest.fixture(params=STORE_KINDS)
def store_kind(request) -> str:
    return request.param


@pytest.fixture
def store(make_store, store_kind):
    """One store of each kind, in turn: the shared suite runs against all three."""
    return make_store(store_kind)

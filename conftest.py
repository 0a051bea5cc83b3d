"""Fixtures shared by tests/ and benchmarks/: a real redis-server.

Redis tests start ``redis-server`` on a free localhost port (no persistence) and kill it at the
end of the session. Without the binary they are skipped, except under ``CI=true``, where a
missing redis-server fails them: CI must not pass by skipping the shared-store tests.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import time

import pytest


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def redis_server():
    """Start a throwaway redis-server on a free localhost port; yield its URL; kill it after.

    Benchmarks run as scripts use it too (``from conftest import redis_server``).
    """
    binary = shutil.which("redis-server") or ("/usr/bin/redis-server" if os.path.exists("/usr/bin/redis-server") else None)
    if binary is None:
        message = "redis-server is not installed; the Redis tests need a real server"
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


@pytest.fixture(scope="session")
def free_port():
    """A function returning a localhost port nothing listens on now (connections to it are
    refused until something binds it)."""
    return _free_port


@pytest.fixture(scope="session")
def redis_url():
    """URL of a throwaway redis-server for this test session."""
    with redis_server() as url:
        yield url

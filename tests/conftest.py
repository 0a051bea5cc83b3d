"""Shared test configuration: hypothesis profiles, the example submissions and a real redis-server.

Redis tests start ``redis-server`` on a free localhost port (no persistence) and kill it at the
end of the session. Without the binary they are skipped, except under ``CI=true``, where a
missing redis-server fails them: CI must not pass by skipping the shared-store tests.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

ROOT = Path(__file__).resolve().parents[1]

# CI runs more examples than a developer's loop, and never with a deadline: the machines are
# shared and a slow example is not a failure.
settings.register_profile("dev", max_examples=60, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
settings.register_profile("ci", max_examples=100, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
settings.load_profile("ci" if os.environ.get("CI") == "true" else "dev")

# Tests use the public development key on purpose; silence its warning unless a test asks for it.
os.environ.setdefault("FRAUDSCORE_SECRET", "fraudscore-test-secret-0123456789abcdef")


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return ROOT


@pytest.fixture(scope="session")
def example_path() -> Path:
    return ROOT / "examples" / "submissions.jsonl"


@pytest.fixture()
def example_records(example_path) -> list:
    """The example file's rows that are valid JSON objects (fresh copies per test)."""
    out = []
    for line in example_path.read_text(encoding="utf-8").splitlines():
        try:
            value = json.loads(line)
        except ValueError:
            continue
        if isinstance(value, dict):
            out.append(value)
    return out


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

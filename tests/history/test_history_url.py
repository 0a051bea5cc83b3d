"""open_history() URLs, and the package works without the optional redis client."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from fraudscore.history import MemoryStore, RedisStore, SQLiteStore, open_history

SECRET = "history-tests-secret-0123456789abcdef"


def test_memory_url_opens_a_memory_store():
    assert isinstance(open_history("memory:", secret=SECRET), MemoryStore)


def test_sqlite_url_opens_that_file(tmp_path):
    store = open_history(f"sqlite:{tmp_path / 'h.db'}", secret=SECRET, retention_days=7)
    assert isinstance(store, SQLiteStore) and store.retention_days == 7
    assert (tmp_path / "h.db").exists()
    store.close()


def test_existing_only_refuses_what_would_open_empty(tmp_path):
    with pytest.raises(FileNotFoundError, match="no such SQLite history file"):
        open_history(f"sqlite:{tmp_path / 'typo.db'}", existing=True, secret=SECRET)
    assert not (tmp_path / "typo.db").exists()
    with pytest.raises(ValueError, match="holds nothing"):
        open_history("memory:", existing=True, secret=SECRET)
    open_history(f"sqlite:{tmp_path / 'h.db'}", secret=SECRET).close()
    store = open_history(f"sqlite:{tmp_path / 'h.db'}", existing=True, secret=SECRET)
    assert isinstance(store, SQLiteStore)
    store.close()


def test_redis_url_opens_a_redis_store(redis_url):
    store = open_history(redis_url, secret=SECRET, prefix="url-test")
    assert isinstance(store, RedisStore) and store.submission_count() == 0
    store.close()


@pytest.mark.parametrize("url", ["", "sqlite:", "postgres://x", "memory:extra"])
def test_unknown_or_incomplete_url_is_a_clear_error(url):
    with pytest.raises(ValueError):
        open_history(url, secret=SECRET)


def test_history_imports_and_works_without_the_redis_package():
    code = textwrap.dedent("""
        import sys
        sys.modules["redis"] = None  # as if fraudscore[redis] were not installed
        import fraudscore.history as h
        store = h.open_history("memory:", secret="x" * 32)
        store.observe(h.Observations.from_hashes(["a"], [1], 1, device_id=[5]))
        try:
            h.open_history("redis://127.0.0.1:1/0", secret="x" * 32)
        except ImportError as exc:
            assert "fraudscore[redis]" in str(exc)
        else:
            raise AssertionError("RedisStore opened without redis")
        print("ok")
    """)
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.stdout.strip() == "ok", result.stderr

"""Fixtures for the history store tests: one store of each kind (``redis_url`` is in tests/conftest.py)."""

from __future__ import annotations

import uuid

import pytest

SECRET = "history-tests-secret-0123456789abcdef"
STORE_KINDS = ("memory", "sqlite", "redis")


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

"""Fixtures for the history store tests: one store of each kind (``redis_url`` is in tests/conftest.py)."""

from __future__ import annotations

import uuid
from types import SimpleNamespace

import numpy as np
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


@pytest.fixture
def old_layout_case() -> SimpleNamespace:
    """Two committed batches to write in an older store layout, a later batch and the counts a
    MemoryStore gives it: a migrated store must count ``later`` the same (``held``: the rows of
    the first two batches, as the index holds them)."""
    from fraudscore.history import MemoryStore, Observations

    t, minute = 1_800_000_000_000, 60_000
    first = Observations.from_raw(["a", "b", "c"], ["s"] * 3, [t, t + minute, t + 2 * minute],
                                  device_id=np.array([5, 5, 6], np.uint64), respondent_id=["r1", "r2", "r1"],
                                  text=["yes", "yes", "no"], secret=SECRET)
    second = Observations.from_raw(["d"], ["s"], [t + minute // 2], device_id=np.array([5], np.uint64),
                                   respondent_id=["r3"], secret=SECRET)
    later = Observations.from_raw(["e"], ["s"], [t + 3 * minute], device_id=np.array([5], np.uint64),
                                  respondent_id=["r1"], text=["yes"], secret=SECRET)
    reference = MemoryStore(secret=SECRET)
    reference.observe(first)
    reference.observe(second)
    expected = reference.observe(later).values
    held = reference._index.all_rows()
    return SimpleNamespace(first=first, later=later, expected=expected, held=held[held["seq"] >> 32 <= 2])

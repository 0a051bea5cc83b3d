"""History stores: how often each device, cookie, IP, respondent and text was seen before.

One interface, :class:`HistoryStore`, three stores: :class:`MemoryStore` (in process),
:class:`SQLiteStore` (embedded default, one file) and :class:`RedisStore` (shared by processes and
machines). ``observe(obs)`` records a batch atomically and returns each row's prior counts; see
:mod:`fraudscore.history.base` for the exact order and window semantics. Stores hold keyed hashes
and timestamps only (docs/PRIVACY.md).

Submodules load on first use: ``import fraudscore.history`` needs neither SQLite nor redis.
"""

from __future__ import annotations

import importlib

_LAZY = {
    "HistoryStore": "fraudscore.history.base",
    "HistoryCounts": "fraudscore.history.base",
    "HistoryError": "fraudscore.history.base",
    "HistoryUnavailableError": "fraudscore.history.base",
    "DEFAULT_RETENTION_DAYS": "fraudscore.history.base",
    "COLUMNS": "fraudscore.history.base",
    "Observations": "fraudscore.history.observations",
    "KINDS": "fraudscore.history.observations",
    "MemoryStore": "fraudscore.history.memory",
    "SQLiteStore": "fraudscore.history.sqlite",
    "RedisStore": "fraudscore.history.redis",
    "open_history": "fraudscore.history.url",
}

__all__ = sorted(_LAZY)


def __getattr__(name: str):
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'fraudscore.history' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__():
    return __all__

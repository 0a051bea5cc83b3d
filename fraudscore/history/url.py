"""Open a history store from a URL, as the command line and configuration files name them."""

from __future__ import annotations

from pathlib import Path

from fraudscore.history.base import HistoryStore

__all__ = ["open_history"]


def open_history(url: str, *, existing: bool = False, **kwargs) -> HistoryStore:
    """Open the store a URL names.

    Parameters
    ----------
    url : str
        ``"memory:"``; ``"sqlite:PATH"`` (a file, created if missing); ``"redis://HOST:PORT/DB"``
        (also ``rediss://`` and ``unix://``).
    existing : bool
        Only a store that already holds history: a missing SQLite file raises
        ``FileNotFoundError`` instead of being created, and ``memory:`` (empty when opened)
        raises ``ValueError``. For erasure, export and purge, where a new empty store would
        answer "nothing held" for the wrong store.
    **kwargs
        Passed to the store: ``secret``, ``retention_days``, ``timeout_s``, ``prefix`` (Redis).

    Returns
    -------
    HistoryStore
    """
    scheme, _, rest = url.partition(":")
    if scheme == "memory" and rest in ("", "//"):
        if existing:
            raise ValueError("memory: holds nothing until written to; name a sqlite:PATH or redis:// store")
        from fraudscore.history.memory import MemoryStore

        return MemoryStore(**kwargs)
    if scheme == "sqlite":
        path = rest[2:] if rest.startswith("//") else rest
        if not path:
            raise ValueError("sqlite: needs a path, e.g. sqlite:history.db")
        if existing and not Path(path).is_file():
            raise FileNotFoundError(f"{path}: no such SQLite history file")
        from fraudscore.history.sqlite import SQLiteStore

        return SQLiteStore(path, **kwargs)
    if scheme in ("redis", "rediss", "unix"):
        from fraudscore.history.redis import RedisStore

        return RedisStore(url, **kwargs)
    raise ValueError(f"unknown history store {url!r}: use memory:, sqlite:PATH or redis://HOST:PORT/DB")

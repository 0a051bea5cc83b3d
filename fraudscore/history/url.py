"""Open a history store from a URL, as the command line and configuration files name them."""

from __future__ import annotations

from fraudscore.history.base import HistoryStore

__all__ = ["open_history"]


def open_history(url: str, **kwargs) -> HistoryStore:
    """Open the store a URL names.

    Parameters
    ----------
    url : str
        ``"memory:"``; ``"sqlite:PATH"`` (a file, created if missing); ``"redis://HOST:PORT/DB"``
        (also ``rediss://`` and ``unix://``).
    **kwargs
        Passed to the store: ``secret``, ``retention_days``, ``timeout_s``, ``prefix`` (Redis).

    Returns
    -------
    HistoryStore
    """
    scheme, _, rest = url.partition(":")
    if scheme == "memory" and rest in ("", "//"):
        from fraudscore.history.memory import MemoryStore

        return MemoryStore(**kwargs)
    if scheme == "sqlite":
        path = rest[2:] if rest.startswith("//") else rest
        if not path:
            raise ValueError("sqlite: needs a path, e.g. sqlite:history.db")
        from fraudscore.history.sqlite import SQLiteStore

        return SQLiteStore(path, **kwargs)
    if scheme in ("redis", "rediss", "unix"):
        from fraudscore.history.redis import RedisStore

        return RedisStore(url, **kwargs)
    raise ValueError(f"unknown history store {url!r}: use memory:, sqlite:PATH or redis://HOST:PORT/DB")

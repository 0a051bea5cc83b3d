"""The admin page's memory: one row per scored submission, in a small SQLite file.

It keeps what fraudscore returned (score, decision, reasons, family sub-scores, keyed device
ids) and the consent flags, never the submission itself: no answers, no device attributes, no
IP address. The fraudscore history (duplicate counts) is a separate SQLite file managed by
``fraudscore.history``.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from pathlib import Path

from fraudscore.results import FAMILIES

__all__ = ["ResultStore"]

_COLUMNS = ("received_ms", "submission_id", "score", "risk", "decision", "reasons", "families", "device_id",
            "duplicate_count", "model_version", "error", "warnings", "consent_usage", "consent_analytics")


def _finite(value):
    """JSON and SQLite have no NaN: an unscored row keeps NULL."""
    return None if value is None or value != value else float(value)


class ResultStore:
    """Recent scored submissions.

    Parameters
    ----------
    path : str or Path
        SQLite file, created if missing.
    max_rows : int
        Rows kept; older ones are deleted as new ones arrive (the admin page shows recent traffic,
        it is not an archive).

    Thread-safe: one connection guarded by a lock (the server handles requests on threads).
    """

    def __init__(self, path, max_rows: int = 10_000) -> None:
        self.path = Path(path)
        self.max_rows = int(max_rows)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(self.path, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS results (id INTEGER PRIMARY KEY AUTOINCREMENT, received_ms INTEGER NOT NULL, "
            "submission_id TEXT NOT NULL, score REAL, risk REAL, decision TEXT NOT NULL, reasons TEXT NOT NULL, "
            "families TEXT NOT NULL, device_id TEXT, duplicate_count INTEGER NOT NULL, model_version TEXT, "
            "error TEXT, warnings TEXT NOT NULL, consent_usage INTEGER NOT NULL, consent_analytics INTEGER NOT NULL)")
        self._db.commit()

    def add(self, result, consent: dict) -> dict:
        """Store one :class:`fraudscore.results.Result` with the submission's consent flags."""
        row = {
            "received_ms": int(time.time() * 1000),
            "submission_id": result.submission_id,
            "score": _finite(result.score),
            "risk": _finite(result.risk),
            "decision": result.decision,
            "reasons": [{"code": code, "value": round(float(value), 3)} for code, value in result.reasons],
            "families": {f: _finite(getattr(result, f)) for f in FAMILIES},
            "device_id": result.device_id,
            "duplicate_count": int(result.duplicate_count),
            "model_version": result.model_version,
            "error": result.error,
            "warnings": list(result.warnings),
            "consent_usage": bool(consent.get("usage") is True),
            "consent_analytics": bool(consent.get("analytics") is True),
        }
        values = [json.dumps(row[c]) if c in ("reasons", "families", "warnings") else row[c] for c in _COLUMNS]
        with self._lock:
            self._db.execute(f"INSERT INTO results ({', '.join(_COLUMNS)}) VALUES ({', '.join('?' * len(_COLUMNS))})",
                             values)
            self._db.execute("DELETE FROM results WHERE id <= (SELECT MAX(id) FROM results) - ?", (self.max_rows,))
            self._db.commit()
        return row

    def recent(self, limit: int = 50) -> list[dict]:
        """The ``limit`` most recent rows, newest first."""
        with self._lock:
            cursor = self._db.execute(f"SELECT {', '.join(_COLUMNS)} FROM results ORDER BY id DESC LIMIT ?",
                                      (int(limit),))
            rows = cursor.fetchall()
        out = []
        for values in rows:
            row = dict(zip(_COLUMNS, values))
            for name in ("reasons", "families", "warnings"):
                row[name] = json.loads(row[name])
            row["consent_usage"] = bool(row["consent_usage"])
            row["consent_analytics"] = bool(row["consent_analytics"])
            out.append(row)
        return out

    def close(self) -> None:
        with self._lock:
            self._db.close()

"""Every store agrees with a plain-Python reference on random observation streams.

The reference is written for clarity, not speed: a list of stored rows and, for each query, a
scan of that list with the contract's definition of "prior" spelled out.
"""

from __future__ import annotations

import uuid

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fraudscore.history import COLUMNS, KINDS, MemoryStore, Observations, RedisStore, SQLiteStore

SECRET = "history-tests-secret-0123456789abcdef"

HOUR = 3_600_000
T0 = 1_800_000_000_000
FIELD = {"device": "device_id", "link": "link_id", "cookie": "cookie", "ip": "ip", "ip_prefix": "ip_prefix",
         "respondent": "respondent", "text": "text"}
WIDTH = {"1h": HOUR, "24h": 24 * HOUR, "survey": None}
DISTINCT = {"respondents_per_device": ("device", "respondent"), "respondents_per_link": ("link", "respondent"),
            "devices_per_respondent": ("respondent", "device")}


class ReferenceHistory:
    """The contract of HistoryStore.observe, one row at a time."""

    def __init__(self, retention_ms: int):
        self.retention_ms = retention_ms
        self.rows = {}  # submission id -> dict(t, survey, keys, order)
        self.calls = 0

    def observe(self, batch: list[dict], now: int) -> list[dict]:
        self.calls += 1
        cutoff = now - self.retention_ms
        first_rows = {}
        for index, row in enumerate(batch):
            first_rows.setdefault(row["id"], (index, row))
        new = [(index, row) for sid, (index, row) in first_rows.items() if sid not in self.rows]
        for position, (index, row) in enumerate(sorted(new, key=lambda item: (item[1]["t"], item[0]))):
            self.rows[row["id"]] = {**row, "order": (self.calls, position)}
        return [self._counts(self.rows[row["id"]], cutoff) for row in batch]

    def _prior(self, query: dict, cutoff: int) -> list[dict]:
        return [r for r in self.rows.values()
                if r["order"] < query["order"] and r["t"] <= query["t"] and r["t"] > cutoff]

    def _counts(self, q: dict, cutoff: int) -> dict:
        prior = self._prior(q, cutoff)
        out = {}
        for kind in KINDS:
            key = q[FIELD[kind]]
            for window, width in WIDTH.items():
                same = [r for r in prior if key != 0 and r[FIELD[kind]] == key]
                if width is None:
                    same = [r for r in same if r["survey"] == q["survey"]]
                else:
                    same = [r for r in same if r["t"] > q["t"] - width]
                out[f"prior_{kind}_{window}"] = len(same)
        for column, (kind, counted) in DISTINCT.items():
            key = q[FIELD[kind]]
            seen = {r[FIELD[counted]] for r in prior if key != 0 and r[FIELD[kind]] == key}
            if key != 0:
                seen.add(q[FIELD[counted]])  # the row itself counts, even past retention
            seen.discard(0)
            out[column] = len(seen) if key != 0 else 0
        return out


def _to_observations(batch: list[dict]) -> Observations:
    return Observations.from_hashes([r["id"] for r in batch], [r["t"] for r in batch], [r["survey"] for r in batch],
                                    **{f: [r[f] for r in batch] for f in FIELD.values()})


small_key = st.integers(0, 3)  # few values, so keys collide often; 0 = missing
row = st.fixed_dictionaries({
    "id": st.integers(0, 25).map(lambda i: f"s{i}"),  # repeats are replays
    "t": st.integers(0, 30).map(lambda m: T0 + m * HOUR // 2),  # half-hour steps: hits window edges
    "survey": st.integers(1, 2),
    **{f: small_key for f in FIELD.values()},
})
stream = st.lists(st.lists(row, max_size=8), min_size=1, max_size=4)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(batches=stream, retention_hours=st.sampled_from([6, 24 * 30]))
def test_every_store_matches_the_reference_on_random_streams(tmp_path, redis_url, batches, retention_hours):
    retention_days = retention_hours / 24
    reference = ReferenceHistory(retention_hours * HOUR)
    fresh = uuid.uuid4().hex  # a new, empty history per example
    options = {"secret": SECRET, "retention_days": retention_days}
    stores = [MemoryStore(**options), SQLiteStore(tmp_path / f"{fresh}.db", **options),
              RedisStore(redis_url, prefix=f"test:{fresh}", **options)]
    for batch in batches:
        now = max([r["t"] for r in batch], default=T0)
        expected = reference.observe(batch, now)
        expected = np.array([[c[name] for name in COLUMNS] for c in expected], dtype=np.int64).reshape(-1, len(COLUMNS))
        for store in stores:
            got = store.observe(_to_observations(batch), now=now)
            assert np.array_equal(got.values, expected), (store.name, got.to_frame(), expected)
    for store in stores:
        store.close()

"""A history store that does not answer: the Scorer raises (default) or scores without history.

Real failing stores, no doubles: a SQLite file another connection holds locked, and a Redis URL
on a localhost port nothing listens on.
"""

from __future__ import annotations

import sqlite3
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

import fraudscore
from fraudscore.cli import main
from fraudscore.history import HistoryUnavailableError, RedisStore, SQLiteStore
from fraudscore.scorer import Scorer

sys.path.insert(0, str(Path(__file__).resolve().parent))  # tests import in importlib mode
from test_scorer import _same  # noqa: E402

SECRET = "history-down-test-secret-0123456789"


@pytest.fixture(scope="module")
def records():
    rows = fraudscore.simulate(60, seed=31, output="records").records
    return rows[:30] + [{"survey_id": "no id"}] + rows[30:]  # one row the reader rejects


def _scored_without_history(results, baseline) -> None:
    """Every scorable row as ``history=False`` scores it, warned HISTORY_UNAVAILABLE; errors stay errors."""
    got, want = results.to_pandas(), baseline.to_pandas()
    assert len(got) == len(want)
    np.testing.assert_array_equal(got["score"].to_numpy(), want["score"].to_numpy())
    assert got["decision"].tolist() == want["decision"].tolist()
    for row, expected in zip(got.itertuples(), want.itertuples()):
        if row.decision == "error":
            assert list(row.warnings) == list(expected.warnings)
        else:
            assert list(row.warnings) == list(expected.warnings) + ["HISTORY_UNAVAILABLE"]
    assert (got["duplicate_count"] == 0).all()


def test_a_locked_sqlite_history_raises_by_default_and_is_skipped_when_asked(tmp_path, records):
    path = tmp_path / "history.sqlite"
    baseline = Scorer(history=False, secret=SECRET).score(records)
    strict = Scorer(history=SQLiteStore(path, secret=SECRET, timeout_s=0.2), secret=SECRET)
    lenient = Scorer(history=SQLiteStore(path, secret=SECRET, timeout_s=0.2), secret=SECRET, on_history_error="skip")
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN EXCLUSIVE")
    try:
        with pytest.raises(HistoryUnavailableError, match="locked"):
            strict.score(records)
        with pytest.warns(RuntimeWarning, match="without history"):
            results = lenient.score(records)
        _scored_without_history(results, baseline)
        with pytest.warns(RuntimeWarning, match="without history"):
            one = lenient.score_one(records[0])
        assert _same(one, results[0])
    finally:
        other.execute("ROLLBACK")
        other.close()
    # The skipped rows were not recorded. The store answers again: rows are recorded and counted,
    # with no warning, as into an empty store.
    assert lenient.history.submission_count() == 0
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        again = lenient.score(records).to_pandas()
    empty = Scorer(history=SQLiteStore(tmp_path / "empty.sqlite", secret=SECRET), secret=SECRET).score(records)
    assert not any("HISTORY_UNAVAILABLE" in w for w in again["warnings"])
    assert again["duplicate_count"].tolist() == empty.to_pandas()["duplicate_count"].tolist()
    assert lenient.history.submission_count() == int((again["decision"] != "error").sum())


def test_an_unreachable_redis_history_is_skipped_when_asked(records, free_port):
    url = f"redis://127.0.0.1:{free_port()}/0"
    baseline = Scorer(history=False, secret=SECRET).score(records)
    lenient = Scorer(history=RedisStore(url, secret=SECRET, timeout_s=0.5), secret=SECRET, on_history_error="skip")
    with pytest.warns(RuntimeWarning, match="Redis history"):
        _scored_without_history(lenient.score(records), baseline)
    with pytest.raises(HistoryUnavailableError, match="unreachable"):
        Scorer(history=RedisStore(url, secret=SECRET, timeout_s=0.5), secret=SECRET).score(records)


def test_the_policy_is_checked_and_the_cli_passes_it_on(tmp_path, example_path, capsys, free_port):
    with pytest.raises(ValueError, match="on_history_error"):
        Scorer(history=False, on_history_error="ignore")
    url = f"redis://127.0.0.1:{free_port()}/0"
    out = tmp_path / "out.csv"
    with pytest.warns(RuntimeWarning, match="without history"):
        assert main(["score", str(example_path), "-o", str(out), "--history", url, "--on-history-error", "skip",
                     "-q"]) == 0
    assert "HISTORY_UNAVAILABLE" in out.read_text()
    assert main(["score", str(example_path), "-o", str(tmp_path / "d"), "--dask", "tcp://127.0.0.1:1",
                 "--history", url, "--on-history-error", "skip"]) == 2
    assert "not supported with --dask" in capsys.readouterr().err


def test_rows_skipped_in_an_outage_are_recorded_by_a_later_backfill(tmp_path, records):
    """The recovery the ``on_history_error`` docs give: once the store answers, backfilling the
    input records what the outage skipped and nothing twice, as if it had never happened."""
    path = tmp_path / "history.sqlite"
    lenient = Scorer(history=SQLiteStore(path, secret=SECRET, timeout_s=0.2), secret=SECRET, on_history_error="skip")
    lenient.score(records[:20])
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN EXCLUSIVE")
    try:
        with pytest.warns(RuntimeWarning, match="without history"):
            lenient.score(records[20:45])
    finally:
        other.execute("ROLLBACK")
        other.close()
    lenient.score(records[45:])
    lenient.backfill(records)
    never_down = Scorer(history=SQLiteStore(tmp_path / "never_down.sqlite", secret=SECRET), secret=SECRET)
    never_down.score(records)
    assert lenient.history.submission_count() == never_down.history.submission_count() == 60
    # The same devices again, a day later: what they count includes the rows the outage skipped.
    probe = [dict(r, submission_id=r["submission_id"] + "-again", submitted_at=r["submitted_at"] + 86_400_000,
                  started_at=r["started_at"] + 86_400_000) for r in records[20:28]]
    got, want = lenient.score(probe).to_pandas(), never_down.score(probe).to_pandas()
    assert got["duplicate_count"].tolist() == want["duplicate_count"].tolist() and want["duplicate_count"].min() >= 1
    assert got["score"].tolist() == want["score"].tolist()

"""``fraudscore history``: data-subject access and erasure, retention and a count, on real stores.

The example file is scored into a SQLite file and into Redis; the command line then exports,
erases and purges one respondent's submissions there, and the stores' own answers are checked.
"""

from __future__ import annotations

import json
import uuid

import pytest

from fraudscore.cli import main
from fraudscore.history import open_history

RESPONDENT = "panel-1001"  # one submission in examples/submissions.jsonl


@pytest.fixture(params=["sqlite", "redis"])
def scored_store(request, example_path, tmp_path, monkeypatch):
    """A history URL holding the example file's scorable submissions."""
    if request.param == "sqlite":
        url = f"sqlite:{tmp_path / 'history.sqlite'}"
    else:
        # The command line opens stores under the default key prefix, which other tests may also
        # use on this server: it is emptied before and after.
        url = request.getfixturevalue("redis_url")
        _empty(url)
    assert main(["score", str(example_path), "-o", str(tmp_path / "out.parquet"), "--history", url, "-q"]) == 0
    yield url
    if request.param == "redis":
        _empty(url)


def _empty(url: str) -> None:
    store = open_history(url)
    store.purge(now=2**62)  # every submission is older than that minus the retention
    store.close()


def _held(url: str) -> int:
    store = open_history(url)
    try:
        return store.submission_count()
    finally:
        store.close()


def test_export_then_erase_one_respondent(scored_store, tmp_path, capsys):
    before = _held(scored_store)
    assert main(["history", "count", "--history", scored_store]) == 0
    assert capsys.readouterr().out.startswith(f"{before} submissions held")
    out = tmp_path / "access.json"
    assert main(["history", "export", RESPONDENT, "--history", scored_store, "-o", str(out)]) == 0
    assert capsys.readouterr().out.startswith(f"1 submissions of respondent '{RESPONDENT}' -> ")
    held = json.loads(out.read_text())
    assert len(held["submissions"]) == 1 and RESPONDENT not in out.read_text()  # keyed hashes, not the id
    assert main(["history", "export", RESPONDENT, "--history", scored_store]) == 0  # to stdout
    assert json.loads(capsys.readouterr().out) == held
    assert main(["history", "erase", RESPONDENT, "--history", scored_store]) == 0
    assert capsys.readouterr().out.startswith("erased 1 submissions")
    assert _held(scored_store) == before - 1
    assert main(["history", "export", RESPONDENT, "--history", scored_store]) == 0
    assert json.loads(capsys.readouterr().out)["submissions"] == []


def test_purge_keeps_the_retention_period(scored_store, capsys):
    before = _held(scored_store)
    assert main(["history", "purge", "--history", scored_store, "--retention-days", "36500"]) == 0
    assert capsys.readouterr().out.startswith("purged 0 submissions older than 36500 days")
    assert main(["history", "purge", "--history", scored_store, "--retention-days", "0.000001"]) == 0
    assert capsys.readouterr().out.startswith(f"purged {before} submissions")
    assert _held(scored_store) == 0


def test_a_store_that_is_not_there_is_never_created_or_answered_for(tmp_path, capsys):
    missing = tmp_path / "typo.sqlite"
    assert main(["history", "erase", RESPONDENT, "--history", f"sqlite:{missing}"]) == 2
    assert "no such SQLite history file" in capsys.readouterr().err
    assert not missing.exists()  # an empty store would have answered "erased 0"
    assert main(["history", "count", "--history", "memory:"]) == 2
    assert "holds nothing until written to" in capsys.readouterr().err


def test_another_secret_finds_nothing_to_erase(example_path, tmp_path, monkeypatch, capsys):
    """Why the command's help names the secret: the store's keys are hashed with it."""
    url = f"sqlite:{tmp_path / 'h.sqlite'}"
    monkeypatch.setenv("FRAUDSCORE_SECRET", f"written-with-{uuid.uuid4().hex}")
    assert main(["score", str(example_path), "-o", str(tmp_path / "out.parquet"), "--history", url, "-q"]) == 0
    capsys.readouterr()
    monkeypatch.setenv("FRAUDSCORE_SECRET", f"another-{uuid.uuid4().hex}")
    assert main(["history", "erase", RESPONDENT, "--history", url]) == 0
    assert capsys.readouterr().out.startswith("erased 0 submissions")
    assert _held(url) == 12


def test_backfill_primes_a_new_store_that_scoring_then_counts(example_path, tmp_path, capsys):
    """Past submissions backfilled from the command line are history for the next score: the same
    file scored again finds each scorable row already held, with the counts it had on arrival."""
    import pyarrow.parquet as pq

    url = f"sqlite:{tmp_path / 'primed.sqlite'}"
    assert main(["history", "backfill", str(example_path), "--history", url, "--chunk-size", "3"]) == 0
    said = capsys.readouterr().out
    fresh = tmp_path / "fresh.parquet"
    assert main(["score", str(example_path), "-o", str(fresh), "--history", f"sqlite:{tmp_path / 'new.sqlite'}",
                 "-q"]) == 0
    scorable = int((pq.read_table(fresh, columns=["error"]).column(0).to_numpy(zero_copy_only=False) == None).sum())  # noqa: E711
    assert said.startswith(f"backfilled {scorable} submissions of ") and f"it holds {scorable}" in said
    again = tmp_path / "again.parquet"
    assert main(["score", str(example_path), "-o", str(again), "--history", url, "-q"]) == 0
    columns = ["submission_id", "score", "decision", "duplicate_count"]
    assert pq.read_table(again, columns=columns).equals(pq.read_table(fresh, columns=columns))
    capsys.readouterr()
    assert main(["history", "count", "--history", url]) == 0
    assert capsys.readouterr().out.startswith(f"{scorable} submissions held")

"""score_file reads, scores and writes in overlapping threads: same results as one chunk after another, bounded read-ahead."""

from __future__ import annotations

import json
import threading

import pandas as pd
import pyarrow.parquet as pq
import pytest

import fraudscore
import fraudscore.scorer as scorer_module
from fraudscore.history import SQLiteStore
from fraudscore.io import iter_batches
from fraudscore.results import Results
from fraudscore.scorer import Scorer, score_file

SECRET = "stream-tests-secret-0123456789abcdef"


@pytest.fixture(scope="module")
def model():
    return Scorer(history=False, secret=SECRET).model


@pytest.fixture(scope="module")
def submissions(tmp_path_factory):
    """A JSONL file of simulated submissions with broken rows among them, and a Parquet file."""
    sim = fraudscore.simulate(130, seed=31, output="records")
    records = list(sim.records)
    records[7] = {"survey_id": "s"}  # no submission id
    records[40] = dict(records[40], submission_id=records[39]["submission_id"])  # repeated id
    records[77] = dict(records[77], device={"screen": "big", "user_agent": 5})
    lines = [json.dumps(r) for r in records]
    lines.insert(90, "{broken")
    folder = tmp_path_factory.mktemp("stream")
    jsonl = folder / "in.jsonl"
    jsonl.write_text("\n".join(lines) + "\n")
    parquet = folder / "in.parquet"
    pq.write_table(fraudscore.simulate(70, seed=32, output="arrow").data, parquet, row_group_size=25)
    return sim.survey, [jsonl, parquet]


def _one_after_another(model, survey, paths, chunk_size, history_path):
    """What score_file did before it overlapped its stages: read, score, write, one chunk at a time."""
    scorer = Scorer(model, history=SQLiteStore(history_path, secret=SECRET), survey=survey, secret=SECRET)
    parts = [scorer.score(batch) for path in paths for batch in iter_batches(path, chunk_size=chunk_size)]
    return Results.concat(parts).to_arrow().to_pandas()


@pytest.mark.parametrize("chunk_size", [1, 16, 1_000])
def test_results_and_history_equal_scoring_chunk_after_chunk(model, submissions, tmp_path, chunk_size):
    survey, paths = submissions
    store = SQLiteStore(tmp_path / "threads.sqlite", secret=SECRET)
    scorer = Scorer(model, history=store, survey=survey, secret=SECRET)
    stats = score_file(scorer, paths, tmp_path / "out.parquet", chunk_size=chunk_size, progress=False)
    got = pq.read_table(tmp_path / "out.parquet").to_pandas()
    expected = _one_after_another(model, survey, paths, chunk_size, tmp_path / "sequential.sqlite")
    pd.testing.assert_frame_equal(got, expected)
    assert stats["rows"] == len(expected) == 201
    assert stats["errors"] == {"MISSING_SUBMISSION_ID": 1, "INVALID_JSON": 1}
    repeated = got["warnings"].map(lambda codes: "DUPLICATE_SUBMISSION_ID" in list(codes))
    assert repeated.sum() == (chunk_size > 1)  # a repeat inside one chunk
    assert (got["duplicate_count"] > 0).any()  # history counted across chunks
    assert store.submission_count() == SQLiteStore(tmp_path / "sequential.sqlite").submission_count()


def test_the_reader_is_never_more_than_one_chunk_ahead(model, submissions, tmp_path, monkeypatch):
    survey, paths = submissions
    read, scored, worst = [0], [0], [0]
    lock = threading.Lock()
    real_chunks = scorer_module._chunks

    def counted_chunks(*args):
        for batch in real_chunks(*args):
            with lock:
                read[0] += 1
                worst[0] = max(worst[0], read[0] - scored[0])
            yield batch

    scorer = Scorer(model, history=False, survey=survey, secret=SECRET)
    real_score = scorer.score

    def counted_score(batch):
        results = real_score(batch)
        with lock:
            scored[0] += 1
        return results

    monkeypatch.setattr(scorer_module, "_chunks", counted_chunks)
    monkeypatch.setattr(scorer, "score", counted_score)
    score_file(scorer, paths, tmp_path / "out.parquet", chunk_size=10, progress=False)
    assert scored[0] == read[0] == 21
    assert worst[0] <= 2  # the chunk being scored and the one read ahead


def test_a_file_that_cannot_be_read_raises_from_score_file(model, submissions, tmp_path):
    survey, paths = submissions
    scorer = Scorer(model, history=False, survey=survey, secret=SECRET)
    with pytest.raises(FileNotFoundError):
        score_file(scorer, [paths[0], tmp_path / "missing.parquet"], tmp_path / "out.parquet", chunk_size=50,
                   progress=False)


def test_a_failed_write_raises_from_score_file(model, submissions, tmp_path, monkeypatch):
    survey, paths = submissions
    calls = [0]
    real_write = scorer_module._ResultsWriter.write

    def failing_write(self, results):
        calls[0] += 1
        if calls[0] == 2:
            raise OSError("disk full")
        real_write(self, results)

    monkeypatch.setattr(scorer_module._ResultsWriter, "write", failing_write)
    scorer = Scorer(model, history=False, survey=survey, secret=SECRET)
    with pytest.raises(OSError, match="disk full"):
        score_file(scorer, paths, tmp_path / "out.parquet", chunk_size=10, progress=False)
    assert calls[0] <= 3  # stopped at the next chunk, not at the end of the input


def test_a_failed_chunk_raises_from_score_file_once_the_threads_have_stopped(model, submissions, tmp_path,
                                                                              monkeypatch):
    survey, paths = submissions
    scorer = Scorer(model, history=False, survey=survey, secret=SECRET)
    real_score, calls = scorer.score, [0]

    def failing_score(batch):
        calls[0] += 1
        if calls[0] == 3:
            raise RuntimeError("history unavailable")
        return real_score(batch)

    monkeypatch.setattr(scorer, "score", failing_score)
    before = {t.name for t in threading.enumerate()}
    with pytest.raises(RuntimeError, match="history unavailable"):
        score_file(scorer, paths, tmp_path / "out.parquet", chunk_size=10, progress=False)
    assert not [t for t in threading.enumerate() if t.name.startswith("fraudscore-") and t.name not in before]


def _spread_over_days(records, days: int, seed: int):
    """The records moved to random days of a ``days``-day field period, in shuffled order."""
    import numpy as np

    rng = np.random.default_rng(seed)
    shift = rng.integers(0, days, len(records)) * 86_400_000
    moved = [dict(r, started_at=r["started_at"] + int(s), submitted_at=r["submitted_at"] + int(s))
             for r, s in zip(records, shift)]
    return [moved[i] for i in rng.permutation(len(moved))]


@pytest.fixture(scope="module")
def past_period(model):
    """400 submissions (40 % duplicates) of a 90-day field period in shuffled order, and the
    results of scoring them as they arrived: each hour's rows together, in time order."""
    import numpy as np

    sim = fraudscore.simulate(400, seed=33, fraud_rate=0.4, families=["duplicate"])
    records = _spread_over_days(sim.records, 90, seed=1)
    arrived = Scorer(model, survey=sim.survey, secret=SECRET)
    hour = np.array([r["submitted_at"] // 3_600_000 for r in records])
    expected = {}
    for h in np.unique(hour):
        rows = [records[i] for i in np.flatnonzero(hour == h)]
        for row in arrived.score(rows).to_pandas().to_dict("records"):
            expected[row["submission_id"]] = row
    return sim.survey, records, expected


def _as_arrived(got: pd.DataFrame, expected: dict) -> None:
    want = pd.DataFrame([expected[s] for s in got["submission_id"]])
    for column in ("score", "decision", "duplicate_count", "link_id"):
        assert got[column].tolist() == want[column].tolist(), column


def test_backfill_then_score_gives_what_scoring_each_hour_as_it_arrived_gave(model, past_period, tmp_path):
    """Backfill + score(history=...) of the unsorted rows gives what scoring them as they
    arrived gave, also for rows older than the 30-day retention."""
    import numpy as np

    survey, records, expected = past_period
    scorer = Scorer(model, history=SQLiteStore(tmp_path / "h.db", secret=SECRET), survey=survey, secret=SECRET)
    counts = scorer.backfill(records)
    held = scorer.history.submission_count()
    got = scorer.score(records, history=counts).to_pandas()
    assert scorer.history.submission_count() == held == 400  # score(history=...) records nothing
    _as_arrived(got, expected)
    old = np.array([r["submitted_at"] for r in records]) < min(r["submitted_at"] for r in records) + 60 * 86_400_000
    assert got["duplicate_count"].to_numpy()[old].sum() > 0  # what one score() of the whole period loses
    whole = Scorer(model, survey=survey, secret=SECRET).score(records).to_pandas()
    assert whole["duplicate_count"].to_numpy()[old].sum() == 0


def test_score_file_with_backfill_scores_an_unsorted_export_as_it_arrived(model, past_period, tmp_path):
    survey, records, expected = past_period
    paths = [tmp_path / "first.jsonl", tmp_path / "second.jsonl"]  # one period in two files
    for path, part in zip(paths, (records[:150], records[150:])):
        path.write_text("".join(json.dumps(r) + "\n" for r in part))
    out = tmp_path / "scored.parquet"
    score_file(Scorer(model, survey=survey, secret=SECRET), paths, out, chunk_size=64, progress=False,
               backfill=True)
    _as_arrived(pq.read_table(out).to_pandas(), expected)
    streamed = tmp_path / "streamed.parquet"  # the default: chunks as they come, in file order
    score_file(Scorer(model, survey=survey, secret=SECRET), paths, streamed, chunk_size=64, progress=False)
    with pytest.raises(AssertionError):
        _as_arrived(pq.read_table(streamed).to_pandas(), expected)


def test_the_score_command_backfills_into_a_fresh_store_without_history(model, past_period, tmp_path, monkeypatch):
    from fraudscore.cli import main

    survey, records, expected = past_period
    monkeypatch.setenv("FRAUDSCORE_SECRET", SECRET)
    path, spec = tmp_path / "export.jsonl", tmp_path / "survey.json"
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    survey.to_json(spec)
    out = tmp_path / "scored.parquet"
    assert main(["score", str(path), "-o", str(out), "--survey", str(spec), "--backfill", "--chunk-size", "100",
                 "-q"]) == 0
    _as_arrived(pq.read_table(out).to_pandas(), expected)
    assert main(["score", str(path), "-o", str(out), "--backfill", "--dask", "tcp://127.0.0.1:1"]) == 2


def test_backfill_and_given_history_refuse_what_does_not_fit(model, submissions):
    jsonl, parquet = submissions[1]
    with pytest.raises(ValueError, match="no history store"):
        Scorer(model, history=False, secret=SECRET).backfill(parquet)
    scorer = Scorer(model, secret=SECRET)
    counts = scorer.backfill(jsonl, chunk_size=16)
    assert len(counts) == 131 and counts.values[90].sum() == 0  # the broken line: a row, not recorded
    with pytest.raises(ValueError, match="history has 131 rows for 70 submissions"):
        scorer.score(parquet, history=counts)

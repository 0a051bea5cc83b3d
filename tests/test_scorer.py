"""The Scorer: one row out per row in, in order; errors marked; equal to the model; thread safe."""

from __future__ import annotations

import copy
import dataclasses
import math
import threading

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import fraudscore
from fraudscore.model import FraudModel
from fraudscore.results import FAMILIES, RESULT_COLUMNS
from fraudscore.schema import FIELDS
from fraudscore.scorer import Scorer, score_file


@pytest.fixture(scope="module")
def trained():
    sim = fraudscore.simulate(2_000, seed=101, output="records")
    model = FraudModel(surveys=[sim.survey], max_iter=30).fit(
        sim.records, sim.labels["is_fraud"].to_numpy(), groups=sim.labels["person_id"].to_numpy())
    return model, sim.survey


@pytest.fixture(scope="module")
def fresh():
    return fraudscore.simulate(300, seed=202, output="records").records


def test_one_output_row_per_input_row_in_order_with_errors_marked(trained, fresh):
    model, survey = trained
    rows = fresh[:20] + ["not a submission", {"survey_id": "x"}] + fresh[20:30]
    results = Scorer(model, history=False, survey=survey).score(rows)
    frame = results.to_pandas()
    assert tuple(frame.columns) == RESULT_COLUMNS and len(frame) == 32
    assert frame["submission_id"].tolist()[:20] == [r["submission_id"] for r in fresh[:20]]
    assert frame["decision"].tolist()[20:22] == ["error", "error"]
    assert frame["error"].tolist()[20:22] == ["NOT_AN_OBJECT", "MISSING_SUBMISSION_ID"]
    scored = frame.drop(index=[20, 21])
    assert scored["score"].between(0, 1).all() and scored["decision"].isin(["accept", "review", "reject"]).all()
    assert np.isnan(frame["score"][20])


def test_scores_equal_the_model_and_reasons_follow_the_contributions(trained, fresh):
    model, survey = trained
    results = Scorer(model, history=False, survey=survey).score(fresh).to_pandas()
    expected = model.predict_proba(fresh)
    expected = expected[:, 1] if expected.ndim == 2 else expected
    np.testing.assert_allclose(results["score"].to_numpy(), expected, atol=1e-9)
    for reasons in results["reasons"]:
        values = [r["value"] for r in reasons]
        assert values == sorted(values, reverse=True) and all(v > 0 for v in values)


def _same(a, b) -> bool:
    """Results equal field by field, NaN equal to NaN (dataclass == says NaN != NaN)."""
    return all(x == y or (isinstance(x, float) and isinstance(y, float) and math.isnan(x) and math.isnan(y))
               for x, y in zip(dataclasses.astuple(a), dataclasses.astuple(b)))


def test_score_one_equals_the_batch_row(trained, fresh):
    model, survey = trained
    for policy in ("flagged", "all"):
        scorer = Scorer(model, history=False, survey=survey, reasons=policy)
        batch = scorer.score(fresh[:40])
        for i in range(40):
            # one-row and batch tree kernels sum the same values in the same order: equal bits
            assert _same(scorer.score_one(fresh[i]), batch[i]), i


_FIELDS = [f.name for f in FIELDS] + ["consent", "device", "network", "telemetry", "answers", "device.battery"]
_HOSTILE = st.one_of(
    st.none(), st.booleans(), st.integers(-2**70, 2**70), st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12), st.sampled_from(["", "2026-01-01T00:00:00Z", "10.0.0.1", "Europe/Paris", "::1"]),
    st.sampled_from(["\ud800", "a\udfffb", "x" * 100_000, "é" * 3_000, "NaN", "1e400", "-0"]),
    st.lists(st.sampled_from([math.nan, math.inf, -0.0, 1e308, "\ud800", None, True]), max_size=4),
    st.lists(st.one_of(st.integers(-5, 5), st.floats(), st.text(max_size=3), st.none()), max_size=4),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2))


def _set(record: dict, path: str, value) -> dict:
    """A deep copy of ``record`` with the dotted ``path`` set (or a broken container replaced)."""
    out = copy.deepcopy(record)
    node = out
    *parents, leaf = path.split(".")
    for key in parents:
        if not isinstance(node.get(key), dict):
            node[key] = {}
        node = node[key]
    node[leaf] = value
    return out


@settings(max_examples=40)
@given(data=st.data(), policy=st.sampled_from(["flagged", "all"]))
def test_score_one_is_exactly_a_batch_of_one_even_on_broken_records(trained, fresh, data, policy):
    """The one-row path is the batch path on a batch of one: equal Results, field for field,
    error rows, reasons and sub-scores included."""
    model, survey = trained
    scorer = Scorer(model, history=False, survey=survey, reasons=policy)
    record = data.draw(st.sampled_from(fresh[:40]))
    for _ in range(data.draw(st.integers(0, 4))):
        record = _set(record, data.draw(st.sampled_from(_FIELDS)), data.draw(_HOSTILE))
    if data.draw(st.integers(0, 9)) == 0:
        record = data.draw(_HOSTILE)  # not a record at all
    one, batch = scorer.score_one(record), scorer.score([record])
    assert len(batch) == 1 and _same(one, batch[0]), (one, batch[0])


@settings(max_examples=25, deadline=None)
@given(data=st.data())
def test_score_one_with_history_counts_as_the_vectorized_history_paths(trained, fresh, data):
    """A stream of submissions scored one at a time into a history store (the one-row hashing,
    counting and recording paths) gives the Results that the general paths give the same stream:
    repeats under new ids, replays of an id, and hostile records included."""
    from fraudscore.history import MemoryStore, Observations
    from fraudscore.history import _index

    model, survey = trained
    secret = "scorer-history-test-secret-0123456789"
    one_row = Scorer(model, history=MemoryStore(secret=secret), survey=survey, secret=secret)
    general = Scorer(model, history=MemoryStore(secret=secret), survey=survey, secret=secret)
    stream = []
    for i in range(data.draw(st.integers(1, 8))):
        record = copy.deepcopy(data.draw(st.sampled_from(fresh[:12])))  # few people: repeats
        how = data.draw(st.sampled_from(["new id", "replay", "hostile"]))
        if how == "new id":
            record["submission_id"] = f"again-{i}"
        elif how == "hostile":
            record = _set(record, data.draw(st.sampled_from(_FIELDS)), data.draw(_HOSTILE))
        stream.append(record)
    for record in stream:
        one = one_row.score_one(record)
        with pytest.MonkeyPatch.context() as mp:  # the vectorized index and the general hashing
            mp.setattr(_index, "_SCALAR", 0)
            mp.setattr(Observations, "_from_raw_one", classmethod(lambda cls, *args: None))
            expected = general.score([record])[0]
        assert _same(one, expected), (one, expected)


@settings(max_examples=20, deadline=None)
@given(data=st.data(), fraud_rate=st.sampled_from([None, 0.001, 0.3, 0.9]))
def test_score_one_decides_as_the_model_after_a_change_of_prior(trained, fresh, data, fraud_rate):
    """score_one remembers the model's thresholds; a model with another prior (or thresholds
    changed in place) gives its own decisions, the batch's."""
    model, survey = trained
    model = model if fraud_rate is None else model.with_prior(fraud_rate)
    scorer = Scorer(model, history=False, survey=survey, reasons="all")
    records = data.draw(st.lists(st.sampled_from(fresh[:60]), min_size=1, max_size=3))
    for record in records:
        assert _same(scorer.score_one(record), scorer.score([record])[0])
    model.thresholds_ = {k: v / 2 for k, v in model.thresholds_.items()}  # (a copy or a fresh fit: no leak)
    try:
        for record in records:
            one = scorer.score_one(record)
            assert _same(one, scorer.score([record])[0])
            assert one.decision == model.decide([one.score])[0]
    finally:
        model.thresholds_ = {k: v * 2 for k, v in model.thresholds_.items()}


def test_only_flagged_rows_are_explained_unless_all_are_asked_for(trained, fresh):
    model, survey = trained
    rows = fresh + ["not a submission"]
    flagged = Scorer(model, history=False, survey=survey).score(rows).to_pandas()
    every = Scorer(model, history=False, survey=survey, reasons="all").score(rows).to_pandas()
    pd.testing.assert_series_equal(flagged["score"], every["score"])
    pd.testing.assert_series_equal(flagged["decision"], every["decision"])
    families = list(FAMILIES)
    accepted = (flagged["decision"] == "accept").to_numpy()
    hit = flagged["decision"].isin(["review", "reject"]).to_numpy()
    assert hit.sum() >= 3 and accepted.sum() >= 3
    assert flagged["reasons"][accepted].map(len).eq(0).all()
    assert flagged[families][accepted].isna().all().all()
    # a flagged row is explained exactly as the explain-everything scorer explains it
    assert flagged["reasons"][hit].tolist() == every["reasons"][hit].tolist()
    np.testing.assert_array_equal(flagged[families][hit].to_numpy(), every[families][hit].to_numpy())
    assert flagged[families][hit].notna().all().all()
    scored = (every["decision"] != "error").to_numpy()
    assert every[families][scored].notna().all().all() and every[families][~scored].isna().all().all()
    assert (every["reasons"][accepted].map(len) > 0).any()
    assert every["reasons"][~scored].map(len).eq(0).all()


def test_asking_for_contributions_changes_no_result(trained, fresh):
    model, survey = trained
    scorer = Scorer(model, history=False, survey=survey)
    results, contributions = scorer.score(fresh[:50], return_contributions=True)
    pd.testing.assert_frame_equal(results.to_pandas(), scorer.score(fresh[:50]).to_pandas())
    assert contributions.shape == (50, len(model.feature_names_) + 1)
    p = results.to_pandas()["score"].to_numpy()
    raw = contributions.sum(axis=1)  # log-odds of the uncalibrated trees: same order as the scores
    assert np.corrcoef(raw, p)[0, 1] > 0.5
    with pytest.raises(ValueError, match="reasons"):
        Scorer(model, history=False, survey=survey, reasons="some")


def test_history_counts_duplicates_across_calls(trained, fresh):
    model, survey = trained
    scorer = Scorer(model, survey=survey)  # in-memory history
    first = scorer.score(fresh[:50]).to_pandas()
    again = [dict(r, submission_id=r["submission_id"] + "-again") for r in fresh[:50]]
    second = scorer.score(again).to_pandas()
    has_link = second["link_id"].notna()
    assert (second["duplicate_count"][has_link] >= 1).all()
    assert (first["duplicate_count"] == 0).sum() > 0


@pytest.mark.parametrize("history", ["memory:", "sqlite"])
def test_a_store_the_scorer_opens_uses_its_secret_so_erase_finds_the_respondent(trained, fresh, tmp_path, history):
    from fraudscore.history import SQLiteStore

    model, survey = trained
    url = f"sqlite:{tmp_path / 'h.db'}" if history == "sqlite" else None
    scorer = Scorer(model, history=url, survey=survey, secret="scorer-secret-0123456789abcdef")
    records = [r for r in fresh[:20] if r.get("respondent_id")]
    scorer.score(records)
    respondent = records[0]["respondent_id"]
    held = sum(r.get("respondent_id") == respondent for r in records)
    assert len(scorer.history.export(respondent)["submissions"]) == held
    if history == "sqlite":  # another process opening the file with the same secret sees them too
        assert SQLiteStore(tmp_path / "h.db", secret="scorer-secret-0123456789abcdef").erase(respondent) == held


def test_threads_scoring_at_once_give_the_same_answers(trained, fresh):
    model, survey = trained
    scorer = Scorer(model, history=False, survey=survey)
    expected = scorer.score(fresh).to_pandas()["score"].to_numpy()
    outputs = [None] * 4

    def work(k):
        outputs[k] = scorer.score(fresh).to_pandas()["score"].to_numpy()

    threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for out in outputs:
        np.testing.assert_array_equal(out, expected)


def test_n_jobs_splits_the_feature_stage_and_changes_no_result(trained, fresh, monkeypatch):
    from fraudscore.features import extractor as extractor_module

    model, survey = trained
    expected = Scorer(model, history=False, survey=survey).score(fresh).to_pandas()
    monkeypatch.setattr(extractor_module, "_MIN_CHUNK_ROWS", 16)  # several chunks of this small batch
    threaded = Scorer(model, history=False, survey=survey, n_jobs=3)
    assert threaded._extractor.n_jobs == 3 and model.extractor_.n_jobs is None  # the model is not changed
    pd.testing.assert_frame_equal(threaded.score(fresh).to_pandas(), expected)


@pytest.mark.parametrize("suffix", [".parquet", ".jsonl", ".csv"])
def test_score_file_streams_chunks_into_one_results_file(trained, fresh, tmp_path, suffix):
    import json

    import pandas as pd

    model, survey = trained
    source = tmp_path / "in.jsonl"
    source.write_text("\n".join(json.dumps(r) for r in fresh[:45]) + "\n{broken\n")
    out = tmp_path / f"out{suffix}"
    stats = score_file(Scorer(model, history=False, survey=survey), source, out, chunk_size=10, progress=False)
    assert stats["rows"] == 46 and stats["errors"] == {"INVALID_JSON": 1}
    frame = {".parquet": pd.read_parquet, ".jsonl": lambda p: pd.read_json(p, lines=True),
             ".csv": pd.read_csv}[suffix](out)
    assert len(frame) == 46 and frame["submission_id"].tolist()[:45] == [r["submission_id"] for r in fresh[:45]]


def test_bad_input_on_the_hot_path_gives_defined_results(trained):
    model, survey = trained
    scorer = Scorer(model, history=False, survey=survey)
    assert len(scorer.score([])) == 0
    broken = {"submission_id": 5, "survey_id": ["x"], "started_at": "soon", "submitted_at": None,
              "consent": "yes", "device": {"screen": "big", "battery": {"level": 9}}, "telemetry": [1, 2],
              "answers": {"likert": "all fives", "text": 42}}
    one = scorer.score_one(broken)
    assert one.decision == "error" and one.error == "MISSING_SURVEY_ID"
    invalid = scorer.score([{"survey_id": "s"}] * 5_000).to_pandas()
    assert len(invalid) == 5_000 and (invalid["decision"] == "error").all()
    assert (invalid["error"] == "MISSING_SUBMISSION_ID").all()


def test_score_file_reads_parquet_chunks_that_span_row_groups(trained, tmp_path):
    """pyarrow cannot hand out a list of dictionary-encoded values (the simulator's event kinds)
    across row groups in one batch; the reader joins row groups itself, so any chunk size
    works on any file layout (50,000-row chunks of 20,000-row groups failed before)."""
    import pyarrow.parquet as pq

    model, survey = trained
    table = fraudscore.simulate(45, seed=203, output="arrow").data
    source = tmp_path / "in.parquet"
    pq.write_table(table, source, row_group_size=7)
    with pytest.raises(Exception, match="Nested data conversions"):  # what pyarrow alone does
        list(pq.ParquetFile(source).iter_batches(batch_size=10))
    out = tmp_path / "out.parquet"
    scorer = Scorer(model, history=False, survey=survey)
    stats = score_file(scorer, [source, source], out, chunk_size=10, progress=False)
    frame = pq.read_table(out).to_pandas()
    ids = table.column("submission_id").to_pylist()
    assert stats["rows"] == 90 and frame["submission_id"].tolist() == ids * 2
    expected = scorer.score(table).to_pandas()["score"].to_numpy()
    np.testing.assert_array_equal(frame["score"].to_numpy(), np.concatenate([expected, expected]))


def test_the_development_key_warns_when_the_scorer_is_made_not_on_every_call(trained, fresh, monkeypatch):
    import warnings

    from fraudscore.secret import DevelopmentSecretWarning

    model, survey = trained
    monkeypatch.delenv("FRAUDSCORE_SECRET", raising=False)
    with pytest.warns(DevelopmentSecretWarning):
        scorer = Scorer(model, history=None, survey=survey)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")  # a repeat per call would show under "always"
        for record in fresh[:5]:
            scorer.score_one(record)
        scorer.score(fresh[:50])
    assert not [w for w in caught if issubclass(w.category, DevelopmentSecretWarning)]


@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_few_row_reason_lists_and_hex_ids_equal_the_general_ones(data):
    from fraudscore.reasons import explain, reason_matrix
    from fraudscore.fingerprint import to_hex
    from fraudscore.scorer import _FEW_ROWS, _few_reason_lists, _reason_lists

    features = fraudscore.load_model().feature_names_
    n = data.draw(st.integers(0, _FEW_ROWS))
    rows = np.flatnonzero(np.array(data.draw(st.lists(st.booleans(), min_size=n, max_size=n)), dtype=bool))
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1)))
    contributions = rng.normal(0, 0.5, (len(rows), len(features) + 1)) * (rng.random((len(rows), 1)) < 0.8)
    explanation = explain(contributions, reason_matrix(features))
    few = _few_reason_lists(explanation, rows, n)
    import fraudscore.scorer as scorer_module

    saved = scorer_module._FEW_ROWS
    scorer_module._FEW_ROWS = -1  # force the Arrow path
    try:
        arrow = _reason_lists(explanation, rows, n)
    finally:
        scorer_module._FEW_ROWS = saved
    assert few.dtype == arrow.dtype == object and few.shape == arrow.shape == (n,)
    assert few.tolist() == arrow.tolist()
    assert [type(item["value"]) for lst in few for item in lst] == [float] * sum(map(len, few))
    ids = np.asarray(rng.integers(0, 2**64 - 1, n, dtype=np.uint64, endpoint=True)) * (rng.random(n) < 0.7)
    expected = [None if v == 0 else format(int(v), "016x") for v in ids]
    assert to_hex(ids.astype(np.uint64)).tolist() == expected


def test_a_lone_surrogate_is_scored_with_history_and_written_out(trained, fresh, tmp_path):
    model, survey = trained
    bad = copy.deepcopy(fresh[0])
    bad["device"]["cookie_id"], bad["respondent_id"], bad["answers"]["text"] = "c\ud800", "\udfff", ["\ud800 hi"]
    results = Scorer(model, history=f"sqlite:{tmp_path / 'h.sqlite'}", survey=survey).score([bad, fresh[1]])
    frame = results.to_pandas()
    assert frame["decision"].tolist()[1] != "error" and "INVALID_UNICODE" in frame["warnings"][0]
    results.to_arrow()  # writable as UTF-8


def test_cli_score_jobs_option_gives_the_same_results_file(tmp_path, monkeypatch, capsys):
    from fraudscore.cli import main
    from fraudscore.features import extractor as extractor_module

    monkeypatch.setattr(extractor_module, "_MIN_CHUNK_ROWS", 32)
    source = tmp_path / "in.jsonl"
    import json

    source.write_text("".join(json.dumps(r) + "\n" for r in fraudscore.simulate(200, seed=9, output="records").records))
    assert main(["score", str(source), "-o", str(tmp_path / "one.parquet"), "-q"]) == 0
    assert main(["score", str(source), "-o", str(tmp_path / "two.parquet"), "--jobs", "2", "-q"]) == 0
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "one.parquet"), pd.read_parquet(tmp_path / "two.parquet"))

"""The Scorer: one row out per row in, in order; errors marked; equal to the model; thread safe."""

from __future__ import annotations

import threading

import numpy as np
import pytest

import fraudscore
from fraudscore.model import FraudModel
from fraudscore.results import RESULT_COLUMNS
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


def test_score_one_equals_the_batch_row(trained, fresh):
    model, survey = trained
    scorer = Scorer(model, history=False, survey=survey)
    batch = scorer.score(fresh[:5])
    for i in range(5):
        one = scorer.score_one(fresh[i])
        assert one.score == pytest.approx(batch[i].score, abs=1e-12)
        assert one.decision == batch[i].decision
        # contributions are sums over trees: the last bits may differ with the batch's chunking
        assert [c for c, _ in one.reasons] == [c for c, _ in batch[i].reasons]
        assert [v for _, v in one.reasons] == pytest.approx([v for _, v in batch[i].reasons], abs=1e-9)


def test_history_counts_duplicates_across_calls(trained, fresh):
    model, survey = trained
    scorer = Scorer(model, survey=survey)  # in-memory history
    first = scorer.score(fresh[:50]).to_pandas()
    again = [dict(r, submission_id=r["submission_id"] + "-again") for r in fresh[:50]]
    second = scorer.score(again).to_pandas()
    has_link = second["link_id"].notna()
    assert (second["duplicate_count"][has_link] >= 1).all()
    assert (first["duplicate_count"] == 0).sum() > 0


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

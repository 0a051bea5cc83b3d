"""The simulate() API: determinism, chunking, output forms, labels and knob validation."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import fraudscore
from fraudscore.simulation import BLOCK_ROWS, FAMILIES, Simulation, simulate, write_simulation
from fraudscore.survey import SurveySpec


def test_simulate_is_exported_lazily_from_the_package():
    assert fraudscore.simulate is simulate


def test_same_seed_gives_identical_rows_and_labels():
    a = simulate(300, fraud_rate=0.3, seed=7, output="arrow")
    b = simulate(300, fraud_rate=0.3, seed=7, output="arrow")
    assert a.data.equals(b.data)
    pd.testing.assert_frame_equal(a.labels, b.labels)


def test_different_seeds_give_different_rows():
    a = simulate(100, seed=1, output="arrow")
    b = simulate(100, seed=2, output="arrow")
    assert not a.data.equals(b.data)
    assert a.data.column("network").combine_chunks().field("ip") != b.data.column("network").combine_chunks().field("ip")


def test_chunked_parquet_equals_one_shot_generation(tmp_path):
    n = BLOCK_ROWS * 2 + 123
    one = simulate(n, fraud_rate=0.2, seed=5, output="arrow")
    path = tmp_path / "sim.parquet"
    write_simulation(path, n=n, fraud_rate=0.2, seed=5, chunk_size=BLOCK_ROWS, progress=False)
    written = pq.read_table(path)
    assert written.num_rows == n
    assert written.drop_columns(["label"]).equals(one.data)
    assert written.column("label").combine_chunks().field("family").to_pylist() == one.labels["family"].tolist()


def test_worker_processes_write_the_same_rows(tmp_path):
    n = BLOCK_ROWS * 2 + 7
    path = tmp_path / "w.parquet"
    write_simulation(path, n=n, seed=8, chunk_size=BLOCK_ROWS, progress=False, workers=2)
    assert pq.read_table(path).drop_columns(["label"]).equals(simulate(n, seed=8, output="arrow").data)


def test_jsonl_output_has_labels_and_reads_back(tmp_path):
    import json

    path = tmp_path / "sim.jsonl"
    summary = write_simulation(path, n=50, fraud_rate=0.5, seed=3, progress=False)
    assert "50 submissions" in summary
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    assert len(rows) == 50
    assert set(rows[0]["label"]) >= {"is_fraud", "family", "subtype", "person_id", "device_key"}
    assert [r["submission_id"] for r in rows] == [r["submission_id"] for r in simulate(50, 0.5, seed=3).records]


def test_output_forms_hold_the_same_submissions():
    rec = simulate(40, seed=4, output="records")
    tab = simulate(40, seed=4, output="arrow")
    df = simulate(40, seed=4, output="pandas")
    assert isinstance(rec, Simulation) and isinstance(rec.data, list) and isinstance(tab.data, pa.Table)
    assert rec.records == tab.data.to_pylist()
    assert "device.battery.level" in df.data.columns
    assert df.data["submission_id"].tolist() == [r["submission_id"] for r in rec.records]


def test_labels_have_ground_truth_and_the_requested_fraud_share():
    sim = simulate(6000, fraud_rate=0.25, seed=11, output="arrow")
    lab = sim.labels
    assert list(lab.columns) == ["is_fraud", "family", "subtype", "person_id", "device_key"]
    assert abs(lab.is_fraud.mean() - 0.25) < 0.01
    assert (lab.is_fraud == (lab.family != "honest")).all()
    counts = lab.family[lab.is_fraud].value_counts()
    assert set(counts.index) == set(FAMILIES)
    assert counts.min() > 0.5 * counts.max()  # families are equally weighted
    assert (lab.subtype[~lab.is_fraud] == "").all()


def test_family_filter_and_zero_rows():
    sim = simulate(400, fraud_rate=1.0, families=["careless", "geo_fraud"], seed=1)
    assert set(sim.labels.family) == {"careless", "geo_fraud"}
    empty = simulate(0, seed=1, output="arrow")
    assert empty.data.num_rows == 0 and len(empty.labels) == 0


def test_survey_spec_comes_with_the_sample():
    spec = simulate(10, seed=0).survey
    assert isinstance(spec, SurveySpec)
    assert all(len(s) == 8 for s in spec.scales)
    assert len(spec.reverse_keyed) == 12
    assert spec.attention_checks and spec.n_text == 2


def test_a_custom_survey_in_another_language_is_answered_in_it():
    from fraudscore.simulation import default_survey

    spec = default_survey("DE", "de")
    sim = simulate(200, fraud_rate=0.0, seed=2, survey=spec)
    texts = " ".join(t for r in sim.records for t in r["answers"]["text"])
    assert "die" in texts or "ist" in texts
    assert all(r["survey_id"] == spec.survey_id for r in sim.records)


@pytest.mark.parametrize("kwargs, match", [
    ({"n": -1}, "n must be >= 0"),
    ({"n": 2.5}, "whole number"),
    ({"n": 10, "fraud_rate": 1.5}, "fraud_rate"),
    ({"n": 10, "fraud_rate": -0.1}, "fraud_rate"),
    ({"n": 10, "families": ["naive_bot", "alien"]}, "unknown attack families"),
    ({"n": 10, "families": []}, "at least one"),
    ({"n": 10, "difficulty": "impossible"}, "difficulty"),
    ({"n": 10, "difficulty": 1.5}, "difficulty"),
    ({"n": 10, "seed": -3}, "seed"),
    ({"n": 10, "output": "excel"}, "output"),
])
def test_bad_knobs_raise_a_clear_value_error(kwargs, match):
    with pytest.raises(ValueError, match=match):
        simulate(**kwargs)


def test_write_simulation_rejects_unknown_suffix_and_bad_chunk(tmp_path):
    with pytest.raises(ValueError, match="parquet or .jsonl"):
        write_simulation(tmp_path / "x.csv", n=10, progress=False)
    with pytest.raises(ValueError, match="chunk_size"):
        write_simulation(tmp_path / "x.parquet", n=10, chunk_size=0, progress=False)


def test_difficulty_accepts_names_and_numbers_as_strings():
    a = simulate(50, fraud_rate=0.5, seed=1, difficulty="0.5", output="arrow")
    b = simulate(50, fraud_rate=0.5, seed=1, difficulty="default", output="arrow")
    assert a.data.equals(b.data)


def test_cli_simulate_writes_parquet(tmp_path, capsys):
    from fraudscore.cli import main

    out = tmp_path / "cli.parquet"
    assert main(["simulate", "--n", "120", "--seed", "2", "-o", str(out), "-q"]) == 0
    assert "120 submissions" in capsys.readouterr().out
    assert pq.read_table(out).num_rows == 120
    assert np.array_equal(pq.read_table(out).column("submission_id").to_numpy(),
                          np.array([r["submission_id"] for r in simulate(120, seed=2).records], dtype=object))


@pytest.mark.parametrize("spec", [
    SurveySpec("no-text", n_likert=10, likert_points=7, n_text=0),
    SurveySpec("gb-short", country="GB", n_likert=12, scales=((0, 1, 2, 3),), reverse_keyed=(1,),
               attention_checks={5: 3}, n_text=1, item_words=(10,) * 12),
])
def test_any_survey_spec_gives_clean_input(spec):
    from fraudscore.io import read_batch

    sim = simulate(200, fraud_rate=0.5, seed=1, survey=spec, output="arrow")
    batch = read_batch(sim.data)
    assert (batch.error == 0).all() and (batch.warnings == 0).all()
    assert len(sim.records[0]["answers"]["likert"]) == spec.n_likert
    assert len(sim.records[0]["answers"]["text"]) == spec.n_text


def test_a_survey_country_without_a_locale_is_a_value_error():
    with pytest.raises(ValueError, match="no locale"):
        simulate(10, survey=SurveySpec("x", country="ZZ"))

"""Labels of a training or evaluation file (fraudscore.labels): nested or dotted, Parquet or JSONL,
in the reader's row order; missing or malformed labels are refused with the row named."""

from __future__ import annotations

import json

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import fraudscore
from fraudscore.io import read_batch
from fraudscore.labels import read_labels
from fraudscore.simulation import write_simulation


@pytest.fixture(scope="module")
def sim():
    return fraudscore.simulate(120, fraud_rate=0.4, seed=17, output="arrow")


def _expected(sim):
    is_fraud = sim.labels["is_fraud"].to_numpy().astype(np.int8)
    family = np.where(is_fraud == 1, sim.labels["family"].to_numpy(dtype=object), "honest")
    return is_fraud, family


def test_simulated_parquet_labels_are_the_simulation_labels(tmp_path):
    path = tmp_path / "sim.parquet"
    write_simulation(path, 300, fraud_rate=0.4, seed=5, progress=False)
    labels = read_labels(path)
    table = pq.read_table(path, columns=["label"]).column(0).combine_chunks()
    assert labels.has_family
    np.testing.assert_array_equal(labels.is_fraud, np.asarray(table.field("is_fraud").to_pylist(), dtype=np.int8))
    families = np.asarray(table.field("family").to_pylist(), dtype=object)
    np.testing.assert_array_equal(labels.family[labels.is_fraud == 1], families[labels.is_fraud == 1])
    assert set(labels.family[labels.is_fraud == 0]) == {"honest"}
    assert len(set(labels.family)) > 3  # several attack families, not one


def test_nested_and_dotted_columns_in_parquet_and_jsonl_give_the_same_labels(sim, tmp_path):
    is_fraud, family = _expected(sim)
    records = sim.records
    labelled = [{**r, "label": {"is_fraud": bool(y), "family": f}} for r, y, f in zip(records, is_fraud, family)]
    dotted = [{**r, "label.is_fraud": int(y), "label.family": f} for r, y, f in zip(records, is_fraud, family)]
    nested_parquet, flat_parquet = tmp_path / "nested.parquet", tmp_path / "flat.parquet"
    pq.write_table(pa.Table.from_pylist(labelled), nested_parquet)
    pq.write_table(pa.table({"submission_id": [r["submission_id"] for r in records],
                             "label.is_fraud": is_fraud, "label.family": family.astype(str)}), flat_parquet)
    nested_jsonl, flat_jsonl = tmp_path / "nested.jsonl", tmp_path / "flat.jsonl"
    # Blank lines are skipped by the reader, so they must not shift the labels.
    nested_jsonl.write_text("\n\n".join(json.dumps(r) for r in labelled) + "\n\n")
    flat_jsonl.write_text("\n".join(json.dumps(r) for r in dotted) + "\n")
    for path in (nested_parquet, flat_parquet, nested_jsonl, flat_jsonl):
        labels = read_labels(path)
        np.testing.assert_array_equal(labels.is_fraud, is_fraud, err_msg=path.name)
        np.testing.assert_array_equal(labels.family, family, err_msg=path.name)
    for path in (nested_parquet, nested_jsonl):
        batch = read_batch(path)
        assert batch.n == len(is_fraud)
        assert list(batch.column("submission_id")) == [r["submission_id"] for r in records]


def test_another_label_name_and_no_family_column(sim, tmp_path):
    is_fraud, _ = _expected(sim)
    path = tmp_path / "own.jsonl"
    path.write_text("".join(json.dumps({**r, "y": int(y)}) + "\n" for r, y in zip(sim.records, is_fraud)))
    labels = read_labels(path, label="y")
    np.testing.assert_array_equal(labels.is_fraud, is_fraud)
    assert not labels.has_family
    assert set(labels.family[is_fraud == 1]) == {"unspecified"}
    assert set(labels.family[is_fraud == 0]) == {"honest"}
    with pytest.raises(ValueError, match="has no label 'label.is_fraud'.*--label"):
        read_labels(path)


@pytest.mark.parametrize("bad, said", [(None, "row 3 is missing"), ("yes", "row 3 is 'yes', not 0/1"),
                                       (float("nan"), "row 3 is nan"), (2, "row 3 is 2")])
def test_a_bad_label_is_refused_with_its_row(tmp_path, bad, said):
    values = [0, 1, 0, bad, 1, 0]
    if isinstance(bad, str):  # JSONL: one field can hold any type
        path = tmp_path / "bad.jsonl"
        path.write_text("".join(json.dumps({"submission_id": f"s{i}", "y": v}) + "\n" for i, v in enumerate(values)))
    else:
        if isinstance(bad, float):
            values = [float(v) for v in values]  # a float column with NaN (not null) in it
        path = tmp_path / "bad.parquet"
        pq.write_table(pa.table({"submission_id": [f"s{i}" for i in range(6)], "y": pa.array(values)}), path)
    with pytest.raises(ValueError, match=said):
        read_labels(path, label="y")


def test_a_line_that_is_not_a_json_object_is_marked_as_the_reader_rejects_it(tmp_path):
    path = tmp_path / "broken.jsonl"
    path.write_text('{"label": {"is_fraud": 1, "family": "naive_bot"}}\n{not json\n[1, 2]\n{"label": {"is_fraud": 0}}\n')
    labels = read_labels(path)
    assert labels.unreadable.tolist() == [False, True, True, False]
    assert labels.is_fraud.tolist() == [1, 0, 0, 0] and labels.family.tolist() == ["naive_bot", "unreadable",
                                                                                    "unreadable", "honest"]
    batch = read_batch(path)
    assert batch.n == 4 and np.asarray(batch.valid).tolist()[1:3] == [False, False]
    path.write_text("{not json\n")
    with pytest.raises(ValueError, match="has no label"):
        read_labels(path)

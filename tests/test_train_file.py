"""Training and evaluating on a labelled file of one's own (``fraudscore train DATA``,
``fraudscore evaluate DATA --label``): Parquet or JSONL, any label path, no family needed."""

from __future__ import annotations

import json

import numpy as np
import pytest

import fraudscore
from fraudscore.cli import main
from fraudscore.model import FraudModel, load_model, train_file
from fraudscore.simulation import write_simulation

pytestmark = pytest.mark.filterwarnings("ignore:.*development key.*")


@pytest.fixture(scope="module")
def train_path(tmp_path_factory):
    path = tmp_path_factory.mktemp("own") / "labelled.parquet"
    write_simulation(path, 900, fraud_rate=0.3, seed=41, progress=False)
    return path


@pytest.fixture(scope="module")
def heldout_jsonl(tmp_path_factory):
    """Another seed as a backend might export it: flat label ``y``, no family."""
    sim = fraudscore.simulate(400, fraud_rate=0.3, seed=42)
    path = tmp_path_factory.mktemp("own") / "heldout.jsonl"
    path.write_text("".join(json.dumps({**r, "y": int(y)}) + "\n" for r, y in zip(sim.records, sim.labels["is_fraud"])))
    return path


def test_train_on_a_labelled_file_then_evaluate_another(train_path, heldout_jsonl, tmp_path, capsys):
    model_dir, report_dir = tmp_path / "model", tmp_path / "report"
    assert main(["train", str(train_path), "-o", str(model_dir), "--seed", "3", "--chunk-size", "300"]) == 0
    said = capsys.readouterr()
    summary = said.out
    assert "trained on 900 submissions of labelled.parquet" in summary and "validation ROC AUC" in summary
    assert "train: features: 100%" in said.err and "900/900" in said.err  # progress on stderr, unless -q

    manifest = json.loads((model_dir / "manifest.json").read_text())
    data = manifest["data"]
    assert data["file"] == "labelled.parquet" and data["rows"] == 900 and data["label"] == "label.is_fraud"
    assert data["fraud"] == sum(data["families"].values()) and len(data["families"]) > 3
    assert len(data["sha256"]) == 64
    assert manifest["command"] == f"fraudscore train labelled.parquet --seed 3 -o {model_dir}"
    assert manifest["training"]["rows_read"] == 900
    card = (model_dir / "MODEL_CARD.md").read_text()
    assert f"Labelled submissions from `labelled.parquet` (sha256 `{data['sha256']}`): 900 rows" in card
    assert "simulated" not in card.lower()  # nothing in the card claims simulated data

    model = load_model(model_dir)
    assert main(["evaluate", str(heldout_jsonl), "--model", str(model_dir), "--label", "y", "-o", str(report_dir)]) == 0
    report = (report_dir / "REPORT.md").read_text()
    assert "| unspecified vs honest |" in report  # no family column: fraud rows are one family
    # The report's AUC is the model's on the held-out rows, computed here independently.
    from sklearn.metrics import roc_auc_score

    sim = fraudscore.simulate(400, fraud_rate=0.3, seed=42)
    scores = fraudscore.Scorer(model).score(sim.records).to_pandas()["score"].to_numpy()
    auc = roc_auc_score(sim.labels["is_fraud"].to_numpy(), scores)
    assert auc > 0.8
    assert f"| all | 400 | {int(sim.labels['is_fraud'].sum())} | {auc:.3f} |" in report


def test_the_label_field_in_the_rows_does_not_reach_the_model(train_path, tmp_path):
    """A file's label column is read as the target only: a model trained from the file equals one
    trained on the same rows without it, labels given separately (same seed)."""
    import pyarrow.parquet as pq

    table = pq.read_table(train_path)
    y = np.asarray(table.column("label").combine_chunks().field("is_fraud").to_pylist(), dtype=np.int8)
    train_file(train_path, tmp_path / "from_file", seed=5, max_iter=30)
    from_file = load_model(tmp_path / "from_file")
    apart = FraudModel(random_state=5, max_iter=30).fit(table.drop_columns(["label"]), y)
    probe = fraudscore.simulate(200, seed=43).records
    np.testing.assert_array_equal(from_file.score(probe), apart.score(probe))


@pytest.mark.parametrize("argv, said", [
    (["train", "-o", "m"], "either a labelled DATA file or --simulate N"),
    (["train", "DATA", "--simulate", "10", "-o", "m"], "either a labelled DATA file or --simulate N"),
    (["train", "DATA", "--difficulty", "hard", "-o", "m"], "--difficulty and --week-rows are for --simulate"),
    (["train", "DATA", "--week-rows", "9", "-o", "m"], "--difficulty and --week-rows are for --simulate"),
    (["train", "--simulate", "10", "--label", "y", "-o", "m"], "--label, --survey and --chunk-size are for a DATA file"),
    (["train", "--simulate", "10", "--chunk-size", "5", "-o", "m"], "--chunk-size are for a DATA file"),
    (["train", "--simulate", "10", "--week-rows", "0", "-o", "m"], "week_rows >= 1"),
])
def test_train_refuses_mixed_or_missing_sources(argv, said, train_path, tmp_path, capsys):
    argv = [str(train_path) if a == "DATA" else str(tmp_path / a) if a == "m" else a for a in argv]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert said in err and len(err.strip().splitlines()) == 1


def test_a_file_without_the_label_is_refused_before_training(heldout_jsonl, tmp_path, capsys):
    assert main(["train", str(heldout_jsonl), "-o", str(tmp_path / "m")]) == 2
    err = capsys.readouterr().err
    assert "has no label 'label.is_fraud'" in err and "--label" in err
    assert not (tmp_path / "m").exists()


def test_the_survey_spec_file_is_used_and_recorded(train_path, tmp_path):
    from fraudscore.simulation import default_survey

    spec = tmp_path / "survey.json"
    default_survey().to_json(spec)
    train_file(train_path, tmp_path / "m", survey=spec, max_iter=10)
    manifest = json.loads((tmp_path / "m" / "manifest.json").read_text())
    assert manifest["params"]["surveys"] == [default_survey().survey_id]
    assert manifest["data"]["survey_id"] == default_survey().survey_id
    assert f"--survey {spec}" in manifest["command"]
    assert load_model(tmp_path / "m").extractor_.states_["duration"]["median_ms"].keys() == {default_survey().survey_id}


def test_a_line_the_reader_rejects_is_left_out_of_training(heldout_jsonl, tmp_path):
    path = tmp_path / "with_a_bad_line.jsonl"
    path.write_text(heldout_jsonl.read_text() + "{truncated\n")
    train_file(path, tmp_path / "m", label="y", max_iter=10)
    manifest = json.loads((tmp_path / "m" / "manifest.json").read_text())
    assert manifest["training"]["rows_read"] == 401
    assert manifest["training"]["rows_excluded_reader_errors"] == 1


@pytest.mark.parametrize("label", ["device.webdriver", "answers", "answers.honeypot", "telemetry.pointer.t.x"])
def test_a_label_inside_the_input_contract_is_refused(train_path, tmp_path, label):
    with pytest.raises(ValueError, match="inside the input contract.*leak"):
        train_file(train_path, tmp_path / "m", label=label)
    assert not (tmp_path / "m").exists()


@pytest.mark.parametrize("suffix", ["parquet", "jsonl"])
def test_training_in_chunks_gives_the_model_of_training_on_the_whole_file(tmp_path, suffix):
    """Up to ``fit_rows`` rows, ``fit_file`` (what ``fraudscore train`` runs) is ``fit`` on the
    file read whole, bit for bit: features, history, groups, splits, trees and thresholds."""
    from fraudscore.labels import read_labels

    path = tmp_path / f"labelled.{suffix}"
    write_simulation(path, 1200, fraud_rate=0.3, seed=44, chunk_size=500, progress=False)
    y = read_labels(path).is_fraud
    whole = FraudModel(max_iter=20, random_state=2).fit(path, y)
    chunked = FraudModel(max_iter=20, random_state=2).fit_file(path, y, chunk_size=350)
    rows = fraudscore.read_batch(path)
    np.testing.assert_array_equal(chunked.predict_proba(rows), whole.predict_proba(rows))
    assert chunked.thresholds_ == whole.thresholds_ and chunked.metrics_ == whole.metrics_
    assert chunked.training_summary_ == whole.training_summary_
    assert chunked.training_summary_["history"].startswith("backfilled in time order")
    with pytest.raises(ValueError, match="1200 rows but there are 1199 labels"):
        FraudModel(max_iter=5).fit_file(path, y[:-1])


def test_reference_statistics_come_from_a_sample_of_a_larger_file(train_path):
    from fraudscore.features.extractor import FeatureExtractor
    from fraudscore.labels import read_labels

    y = read_labels(train_path).is_fraud
    model = FraudModel(max_iter=10).fit_file(train_path, y, chunk_size=250, fit_rows=450)
    everything = FeatureExtractor().fit(fraudscore.read_batch(train_path)).states_["duration"]["overall_ms"]
    sampled = model.extractor_.states_["duration"]["overall_ms"]
    assert sampled != everything and sampled == pytest.approx(everything, rel=0.1)


# The kernel's high-water mark of this process's own memory (VmHWM, kB). Not ru_maxrss: Linux
# carries that over from the parent across exec, so a child of a large pytest process reports
# the parent's size (measured: a child of a 1.2 GB parent said 1,169 MB; VmHWM 9 MB).
_PEAK_RSS = """
import sys
from fraudscore.model import train_file
train_file(sys.argv[1], sys.argv[2], chunk_size=400, max_iter=10)
print(next(line.split()[1] for line in open("/proc/self/status") if line.startswith("VmHWM:")))
"""


def test_training_memory_follows_the_chunk_not_the_file(tmp_path):
    """Peak RSS of ``train_file`` on 1,200 and on 4,800 rows (full telemetry, ~20 KB a row in a
    batch): reading the file whole added 90 MB for the 3,600 more rows (measured, the same script
    calling ``fit``); in chunks what grows is the feature matrix, history counts and hashes
    (~1.5 KB a row; measured +12 MB)."""
    import os
    import subprocess
    import sys

    peaks = {}
    for n in (1_200, 4_800):
        path = tmp_path / f"labelled_{n}.parquet"
        write_simulation(path, n, fraud_rate=0.3, seed=45, chunk_size=400, progress=False)
        out = subprocess.run([sys.executable, "-c", _PEAK_RSS, str(path), str(tmp_path / f"m{n}")], check=True,
                             capture_output=True, text=True, env={**os.environ, "OMP_NUM_THREADS": "1"})
        peaks[n] = int(out.stdout.split()[-1]) / 1024  # MB
    assert peaks[4_800] - peaks[1_200] < 30, peaks

"""``fraudscore evaluate`` backfills the labelled file's history in time order, scores it in
chunks, and reports exactly the metrics of those scores against the file's labels. On a file
within the store's retention that is what ``fraudscore score`` streaming it into one history gives
(the reference here; ``tests/test_scorer_stream.py`` covers files that span more)."""

from __future__ import annotations

import json
import re

import numpy as np
import pyarrow.parquet as pq
import pytest
from sklearn.metrics import roc_auc_score

from fraudscore.cli import main
from fraudscore.report import evaluate_file
from fraudscore.scorer import Scorer, score_file
from fraudscore.simulation import write_simulation


@pytest.fixture(scope="module")
def labelled(tmp_path_factory):
    path = tmp_path_factory.mktemp("evaluate") / "heldout.parquet"
    write_simulation(path, 450, fraud_rate=0.3, seed=61, progress=False)
    return path


def _overall(report: str) -> list[str]:
    row = re.search(r"^\| all \| (.*) \|$", report, flags=re.M)
    return row.group(1).split(" | ")


@pytest.mark.parametrize("chunk_size", [100, 20_000])
def test_the_report_is_the_streamed_scores_against_the_labels(labelled, tmp_path, chunk_size, monkeypatch):
    sizes, score = [], Scorer.score

    def counted(self, data, **kwargs):
        sizes.append(data.n)
        return score(self, data, **kwargs)

    monkeypatch.setattr(Scorer, "score", counted)
    report = evaluate_file(labelled, output=tmp_path / "report", progress=False, chunk_size=chunk_size)
    monkeypatch.undo()
    assert sum(sizes) == 450 and max(sizes) == min(chunk_size, 450)  # one chunk in memory at a time
    scored = tmp_path / "scored.parquet"
    score_file(Scorer(), labelled, scored, chunk_size=chunk_size, progress=False)
    scores = pq.read_table(scored, columns=["score"]).column(0).to_numpy()
    label = pq.read_table(labelled, columns=["label"]).column(0).combine_chunks()
    y = np.asarray(label.field("is_fraud").to_pylist(), dtype=int)
    n, n_fraud, auc = _overall(report.read_text())[:3]
    assert (int(n), int(n_fraud)) == (450, int(y.sum()))
    assert auc == f"{roc_auc_score(y, scores):.3f}"
    families = set(re.findall(r"^\| (\w+) vs honest \|", report.read_text(), flags=re.M))
    fraud_families = set(np.asarray(label.field("family").to_pylist(), dtype=object)[y == 1].tolist())
    assert families == fraud_families


def test_another_label_and_family_path_from_the_command_line(labelled, tmp_path, capsys):
    rows = pq.read_table(labelled).to_pylist()
    path = tmp_path / "own.jsonl"
    fraud, families = 0, set()
    with open(path, "w") as fh:
        for r in rows:
            label = r.pop("label")
            fraud += bool(label["is_fraud"])
            families |= {label["family"]} if label["is_fraud"] else set()
            fh.write(json.dumps({**r, "truth": {"fraud": label["is_fraud"], "kind": label["family"]}}) + "\n")
        fh.write('{"submission_id": "cut off mid-wri\n')  # a truncated line: not scored, not counted
    out = tmp_path / "report"
    assert main(["evaluate", str(path), "--label", "truth.fraud", "--family", "truth.kind", "--chunk-size", "200",
                 "-q", "-o", str(out)]) == 0
    assert "report written to" in capsys.readouterr().out
    text = (out / "REPORT.md").read_text()
    assert "450 scored rows (1 not scorable, left out)." in text
    assert _overall(text)[:2] == ["450", str(fraud)]
    assert set(re.findall(r"^\| (\w+) vs honest \|", text, flags=re.M)) == families

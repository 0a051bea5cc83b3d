"""The evaluation report: numbers checked on a hand-computable case, plots written as PNG files."""

from __future__ import annotations

import numpy as np
import pytest

from fraudscore.report import confusion_at, write_report

PNG = b"\x89PNG\r\n\x1a\n"


def test_confusion_on_a_hand_case():
    c = confusion_at([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8], 0.38)
    assert (c["tp"], c["fp"], c["tn"], c["fn"]) == (1, 1, 1, 1)
    assert c["recall"] == 0.5 and c["fpr"] == 0.5 and c["precision"] == 0.5


def test_report_tables_and_plots(tmp_path):
    pytest.importorskip("matplotlib")
    y = [0, 0, 1, 1, 0, 1]
    p = [0.1, 0.4, 0.35, 0.8, np.nan, 0.9]  # the NaN row was not scorable
    family = ["honest", "honest", "naive_bot", "naive_bot", "honest", "geo_fraud"]
    path = write_report(y, p, family, tmp_path, thresholds={"review": 0.38},
                        importances={"device.webdriver": 1.5, "timing.duration_s": 0.5})
    text = path.read_text()
    # 2 honest vs 3 fraud scored: AUC = (pairs ranked right) / 6 = 5/6
    assert "5 scored rows (1 not scorable, left out)" in text
    assert "| all | 5 | 3 | 0.833 |" in text
    assert "| naive_bot vs honest | 4 | 2 | 0.750 |" in text
    assert "| review or above | 0.3800 | 2 | 1 |" in text
    for name in ("roc.png", "precision_recall.png", "calibration.png", "scores_by_family.png", "top_features.png"):
        assert (tmp_path / name).read_bytes()[:8] == PNG
        assert f"({name})" in text


def test_without_matplotlib_the_metrics_are_written_and_the_missing_plots_said(tmp_path, monkeypatch):
    monkeypatch.setitem(__import__("sys").modules, "matplotlib", None)  # import matplotlib -> ImportError
    with pytest.warns(RuntimeWarning, match=r"matplotlib is not installed.*fraudscore\[report\]"):
        path = write_report([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8], ["honest", "honest", "x", "x"], tmp_path)
    text = path.read_text()
    assert "| all | 4 | 2 | 0.750 |" in text
    assert "Not drawn: matplotlib is not installed" in text
    assert not list(tmp_path.glob("*.png"))

"""Evaluation helpers against hand-computed cases."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression

from fraudscore.evaluation import (
    binary_metrics,
    expected_calibration_error,
    group_ids,
    grouped_split,
    leave_one_family_out,
    metrics_by_family,
    recall_at_fpr,
    single_feature_auc,
    threshold_at_fpr,
)


def test_group_ids_join_rows_sharing_any_key_transitively():
    person = ["p1", "p1", "p2", "p3", None, ""]
    device = [10, 11, 11, 12, 0, 13]
    g = group_ids(person, device)
    # p1 on devices 10 and 11; p2 also on 11 -> rows 0, 1, 2 are one group.
    assert g[0] == g[1] == g[2]
    assert len({g[2], g[3], g[4], g[5]}) == 4  # unknown keys link nothing


def test_grouped_split_keeps_every_group_on_one_side():
    groups = np.repeat(np.arange(50), 3)
    train, test = grouped_split(groups, 0.2, random_state=0)
    assert not set(groups[train]) & set(groups[test])
    assert len(train) + len(test) == len(groups) and len(set(groups[test])) == 10
    np.testing.assert_array_equal(grouped_split(groups, 0.2, random_state=0)[1], test)


def test_threshold_at_fpr_by_hand():
    neg = np.array([0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0])
    t = threshold_at_fpr(neg, 0.2)  # two negatives may pass: 0.9 and 1.0
    assert 0.8 < t <= 0.9 and (neg >= t).mean() == 0.2
    assert (neg >= threshold_at_fpr(neg, 0.0)).sum() == 0
    assert threshold_at_fpr(neg, 1.0) == 0.1


def test_threshold_at_fpr_never_exceeds_the_rate_with_ties():
    neg = np.array([0.1] * 5 + [0.5] * 5)
    t = threshold_at_fpr(neg, 0.3)  # cannot pass 3 of 10 without passing all five 0.5s
    assert (neg >= t).mean() == 0.0


def test_recall_at_fpr_by_hand():
    y = np.array([0, 0, 0, 0, 1, 1, 1])
    p = np.array([0.1, 0.2, 0.3, 0.9, 0.8, 0.95, 0.05])
    assert recall_at_fpr(y, p, 0.25) == pytest.approx(2 / 3)  # threshold 0.9 passes one negative (0.9)
    assert recall_at_fpr(y, p, 0.0) == pytest.approx(1 / 3)  # only 0.95 beats every negative


def test_expected_calibration_error_by_hand():
    # Two bins: [0, .5) holds p=.2 x4 with one positive (rate .25), [.5, 1] holds p=.8 x4 with all positive.
    y = np.array([1, 0, 0, 0, 1, 1, 1, 1])
    p = np.array([0.2] * 4 + [0.8] * 4)
    assert expected_calibration_error(y, p, n_bins=2) == pytest.approx((4 * 0.05 + 4 * 0.2) / 8)
    assert expected_calibration_error([0, 1], [0.0, 1.0]) == 0.0


def test_binary_metrics_perfect_and_reversed():
    y = np.array([0, 0, 1, 1])
    good = binary_metrics(y, [0.1, 0.2, 0.8, 0.9])
    assert good["roc_auc"] == 1.0 and good["pr_auc"] == 1.0 and good["recall_at_1pct_fpr"] == 1.0
    assert binary_metrics(y, [0.9, 0.8, 0.2, 0.1])["roc_auc"] == 0.0
    assert np.isnan(binary_metrics([0, 0], [0.1, 0.2])["roc_auc"])


def test_metrics_by_family_compares_each_family_with_all_honest_rows():
    y = np.array([0, 0, 0, 1, 1])
    fam = np.array(["honest"] * 3 + ["bot", "farm"])
    m = metrics_by_family(y, [0.1, 0.2, 0.3, 0.9, 0.25], fam)
    assert m["families"]["bot"]["roc_auc"] == 1.0 and m["families"]["bot"]["n"] == 4
    assert m["families"]["farm"]["roc_auc"] == pytest.approx(2 / 3)


def test_leave_one_family_out_never_trains_on_the_held_out_family():
    rng = np.random.default_rng(0)
    n = 600
    fam = rng.choice(["honest", "a", "b"], size=n, p=[0.6, 0.2, 0.2])
    X = rng.normal(size=(n, 2))
    X[fam == "a", 0] += 4  # family a differs in feature 0, b in feature 1
    X[fam == "b", 1] += 4
    y = (fam != "honest").astype(int)
    seen = []

    class Spy(LogisticRegression):
        def fit(self, X, y):
            seen.append(len(y))
            return super().fit(X, y)

    out = leave_one_family_out(Spy, X, y, fam, X, y, fam)
    assert seen == [n - (fam == "a").sum(), n - (fam == "b").sum()]
    assert set(out) == {"a", "b"} and all(0 <= v["roc_auc"] <= 1 for v in out.values())


def test_single_feature_auc_flags_a_leaky_column():
    rng = np.random.default_rng(1)
    y = np.r_[np.zeros(100), np.ones(20)].astype(int)
    fam = np.where(y == 1, "bot", "honest")
    F = rng.normal(size=(120, 3))
    F[:, 2] = y  # a constant only fraud rows have
    F[:5, 0] = np.nan
    out = single_feature_auc(F, y, fam, np.array(["a", "b", "leak"]), top=1)
    assert out["bot"][0] == ("leak", 1.0)


def test_recall_by_tells_splits_a_family_by_whether_it_shows_a_tell():
    from fraudscore.evaluation import recall_by_tells

    names = ["network.hosting", "timing.duration_s"]
    # 4 honest rows (one on a VPN), 4 geo rows: two show the hosting tell, two show nothing.
    F = np.array([[0, 1], [0, 1], [0, 1], [1, 1], [1, 1], [1, 1], [0, 1], [np.nan, 1]], dtype=float)
    y = np.array([0, 0, 0, 0, 1, 1, 1, 1])
    p = np.array([.1, .2, .3, .4, .9, .8, .25, .05])
    fam = np.array(["honest"] * 4 + ["geo_fraud"] * 4, dtype=object)
    out = recall_by_tells(F, y, p, fam, names, fpr=0.25, tells={"geo_fraud": {"network.hosting": 0}})["geo_fraud"]
    # threshold at 25 % FPR: just above 0.3 (only the honest 0.4 at or above it)
    assert out["share_without_tell"] == 0.5 and out["honest_with_tell"] == 0.25
    assert out["recall_with_tell"] == 1.0 and out["recall_without_tell"] == 0.0
    assert out["ceiling"] == 0.5
    # no-tell rows (.25, .05) against no-tell honest rows (.1, .2, .3): .25 beats two, .05 none
    assert out["auc_without_tell"] == pytest.approx(1 / 3)


def test_the_command_logs_progress_apart_from_what_it_writes(tmp_path, monkeypatch, capsys):
    """``python -m fraudscore.evaluation``: the weeks study's JSON lines alone on stdout (its
    progress on stderr); the report to the output file, its progress on stdout."""
    import json

    import fraudscore.evaluation as evaluation

    def study(weeks, log):
        log("trained")
        return [{"weeks": k} for k in weeks]

    def evaluate(model, *args, hard, log):
        log("scored")
        return "# report\n", {"auc": 0.5}

    monkeypatch.setattr(evaluation, "training_weeks_study", study)
    monkeypatch.setattr(evaluation, "evaluate_model", evaluate)
    assert evaluation.main(["--weeks-study", "1,2"]) == 0
    out, err = capsys.readouterr()
    assert [json.loads(line) for line in out.splitlines()] == [{"weeks": 1}, {"weeks": 2}]
    assert "trained" in err
    report = tmp_path / "EVALUATION.md"
    assert evaluation.main(["-o", str(report), "--json", str(tmp_path / "n.json")]) == 0
    out, err = capsys.readouterr()
    assert "scored" in out and not err
    assert report.read_text() == "# report\n"
    assert json.loads((tmp_path / "n.json").read_text()) == {"auc": 0.5}

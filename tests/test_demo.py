"""``fraudscore demo`` (the README's main command) runs end to end and writes what it promises."""

from __future__ import annotations

import pandas as pd

from fraudscore.cli import main


def test_demo_scores_simulated_traffic_with_the_shipped_model(tmp_path, capsys):
    assert main(["demo", "--n", "800", "-o", str(tmp_path / "demo"), "-q"]) == 0
    out = capsys.readouterr().out
    assert "800 simulated submissions scored" in out and "per family:" in out and "honest" in out
    results = pd.read_parquet(tmp_path / "demo" / "results.parquet")
    assert len(results) == 800 and results["decision"].isin(["accept", "review", "reject"]).all()
    summary = pd.read_csv(tmp_path / "demo" / "summary.csv", index_col=0)
    # the shipped model must rank fraud above honest traffic on a seed it never saw
    honest = summary.loc["honest", "mean_score"]
    assert (summary.drop(index="honest")["mean_score"] > honest).all()
    assert (tmp_path / "demo" / "history.sqlite").exists()

    sid = results.loc[results["decision"] == "reject", "submission_id"].iloc[0]
    assert main(["explain", sid, "--results", str(tmp_path / "demo" / "results.parquet")]) == 0
    assert "reject" in capsys.readouterr().out

    accepted = results.loc[results["decision"] == "accept", "submission_id"].iloc[0]
    assert main(["explain", accepted, "--results", str(tmp_path / "demo" / "results.parquet")]) == 0
    out = capsys.readouterr().out
    assert "not explained" in out and "nan" not in out

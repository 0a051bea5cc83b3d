"""``fraudscore demo``: the whole chain on embedded defaults, in one command.

Simulates labelled survey traffic (a seed the shipped model was not trained on), writes it to
Parquet, streams it through a :class:`~fraudscore.scorer.Scorer` with the shipped model and a
local SQLite history, writes the results, and prints what was caught per attack family.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

__all__ = ["run_demo"]


def run_demo(n: int = 5_000, seed: int = 2026, output: str | Path = "fraudscore-demo", fraud_rate: float = 0.15,
             progress: bool = True) -> str:
    """Run the demo and return its printable summary.

    Files written under ``output``: ``submissions.parquet`` (the simulated input, with labels),
    ``history.sqlite`` (keyed hashes only), ``results.parquet`` (one row per submission) and
    ``summary.csv`` (per family).
    """
    import fraudscore
    from fraudscore.scorer import Scorer, score_file

    out = Path(output)
    out.mkdir(parents=True, exist_ok=True)
    sim = fraudscore.simulate(n, fraud_rate=fraud_rate, seed=seed, output="arrow")
    table = sim.data
    for name in ("is_fraud", "family", "subtype"):
        table = table.append_column(f"label.{name}", pa.array(sim.labels[name].to_numpy()))
    submissions = out / "submissions.parquet"
    pq.write_table(table, submissions)

    history = out / "history.sqlite"
    for stale in (history, history.with_name(history.name + "-wal"), history.with_name(history.name + "-shm")):
        stale.unlink(missing_ok=True)  # a fresh history per run: the demo's counts are its own
    scorer = Scorer(history=f"sqlite:{history}", survey=sim.survey)
    stats = score_file(scorer, submissions, out / "results.parquet", chunk_size=2_000, progress=progress)
    scorer.history.close()

    results = pq.read_table(out / "results.parquet", columns=["score", "decision"]).to_pandas()
    frame = pd.concat([sim.labels[["family", "is_fraud"]].reset_index(drop=True), results], axis=1)
    frame["flagged"] = frame["decision"].isin(["review", "reject"])
    frame["rejected"] = frame["decision"].eq("reject")
    summary = frame.groupby("family").agg(rows=("score", "size"), mean_score=("score", "mean"),
                                          flagged=("flagged", "mean"), rejected=("rejected", "mean"))
    summary = summary.sort_values("mean_score")
    summary.to_csv(out / "summary.csv")
    honest = frame[~frame["is_fraud"]]
    fraud = frame[frame["is_fraud"]]
    lines = [
        f"fraudscore demo: {stats['rows']} simulated submissions scored in {stats['seconds']:.1f} s "
        f"({stats['rows_per_s']:,.0f} rows/s) with model {scorer.model_version}",
        f"decisions: {stats['decisions']}",
        f"honest flagged (review or reject): {honest['flagged'].mean():.1%}; "
        f"fraud flagged: {fraud['flagged'].mean():.1%}",
        "",
        "per family:  rows  mean score  flagged  rejected",
    ]
    for family, row in summary.iterrows():
        lines.append(f"  {family:14s} {int(row['rows']):5d}   {row['mean_score']:8.3f}   {row['flagged']:6.1%}   "
                     f"{row['rejected']:6.1%}")
    lines += ["", f"results: {out / 'results.parquet'}  summary: {out / 'summary.csv'}  history: {history}",
              "inspect one row: fraudscore explain SUBMISSION_ID --results " + str(out / "results.parquet")]
    return "\n".join(lines)

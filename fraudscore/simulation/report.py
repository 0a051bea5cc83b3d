"""Regenerate the tables of docs/SIMULATOR.md: ``python -m fraudscore.simulation.report``.

Prints Markdown: honest respondents' key quantities next to published human ranges, and the
largest single-feature ROC AUC of each attack family at each difficulty level.
"""

from __future__ import annotations

import argparse

import numpy as np
import pandas as pd

from .simulate import simulate
from .stats import feature_auc_table, row_stats

__all__ = ["realism_table", "separability_table", "main"]

#: (statistic, label, scale, published range, source)
PUBLISHED = (
    ("duration_s", "survey duration (min), 26 Likert + 2 open items", 1 / 60,
     "~5–10 s per item incl. reading; no single norm", "Yan & Tourangeau 2008"),
    ("item_mean_s", "time per item (s)", 1.0, "attentive > 2 s/item", "Huang et al. 2012"),
    ("items_under_1s", "share of items answered in < 1 s", 1.0, "rare in attentive people", "Huang et al. 2012"),
    ("pointer_speed", "mean pointer speed (px/ms)", 1.0, "peak ≈ 1.875 × mean speed per movement",
     "Flash & Hogan 1985"),
    ("straightness", "path straightness (chord / path)", 1.0,
     "< 1: curved primary submovement + corrections", "Meyer et al. 1988"),
    ("iki_mean", "mean inter-key interval (ms)", 1.0,
     "≈ 240 ms desktop (51.6 WPM); mobile slower (36.2 WPM)", "Dhakal et al. 2018; Palin et al. 2019"),
    ("iki_cv", "inter-key interval CV", 1.0, "right-skewed: log-normal body, long pause tail", "Dhakal et al. 2018"),
    ("backspace_rate", "backspaces per keydown", 1.0, "a few %; 1.17 % errors left uncorrected",
     "Dhakal et al. 2018"),
    ("longstring", "longstring (max run of equal answers)", 1.0, "short in attentive, mixed-keyed scales",
     "Curran 2016; Meade & Craig 2012"),
    ("attention_failures", "attention-check failures (of 2)", 1.0, "most attentive people pass (≈ 90–97 %)",
     "Meade & Craig 2012"),
)


def realism_table(n: int = 8_000, seed: int = 0) -> pd.DataFrame:
    """Honest respondents' statistics (median, 5th–95th percentile) with the published comparison."""
    sim = simulate(n, fraud_rate=0.0, seed=seed, output="arrow")
    stats = row_stats(sim.data, sim.survey, ip_lookup=False)
    rows = []
    for col, label, scale, published, source in PUBLISHED:
        x = stats[col].dropna().to_numpy() * scale
        rows.append({"quantity": label, "simulated median": f"{np.median(x):.3g}",
                     "simulated P5–P95": f"{np.percentile(x, 5):.3g} – {np.percentile(x, 95):.3g}",
                     "published": published, "source": source})
    return pd.DataFrame(rows)


def separability_table(n: int = 8_000, seed: int = 101) -> pd.DataFrame:
    """Largest single-feature AUC (and its feature) per family at crude / default / hard."""
    out = {}
    for level in ("crude", "default", "hard"):
        table = feature_auc_table(level, n=n, seed=seed)
        out[level] = {f: f"{table[f].max():.2f} ({table[f].idxmax()})" for f in table.columns}
    return pd.DataFrame(out)


def _markdown(frame: pd.DataFrame, index: bool = False) -> str:
    """A Markdown table (pandas' to_markdown needs the optional ``tabulate``)."""
    frame = frame.reset_index() if index else frame
    head = "| " + " | ".join(map(str, frame.columns)) + " |"
    rule = "|" + "---|" * len(frame.columns)
    body = ["| " + " | ".join(map(str, row)) + " |" for row in frame.itertuples(index=False)]
    return "\n".join([head, rule, *body])


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=8_000)
    args = parser.parse_args(argv)
    print("## Honest respondents versus published human data\n")
    print(_markdown(realism_table(args.n)))
    print("\n## Largest single-feature ROC AUC against honest traffic\n")
    print(_markdown(separability_table(args.n).rename_axis("family"), index=True))


if __name__ == "__main__":
    main()

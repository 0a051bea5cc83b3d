"""``fraudscore evaluate``: a Markdown report with metrics tables and PNG plots for labelled data.

The numbers come from :mod:`fraudscore.evaluation` (ROC AUC, PR AUC, recall at 1 % and 5 % FPR,
expected calibration error; overall and per family) plus the confusion matrix at the model's
review and reject thresholds. Plots (matplotlib, the ``report`` extra): ROC, precision-recall,
calibration, score histogram per family and the features with the largest mean absolute
contribution. Only held-out data belongs here: the report says nothing else about how the model
was trained.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np

from fraudscore.evaluation import metrics_by_family

__all__ = ["confusion_at", "write_report", "evaluate_file"]


def confusion_at(y, p, threshold: float) -> dict:
    """Counts and rates of ``p >= threshold`` against labels ``y`` (0/1)."""
    y = np.asarray(y).astype(bool)
    flagged = np.asarray(p, dtype=np.float64) >= threshold
    tp, fp = int((flagged & y).sum()), int((flagged & ~y).sum())
    fn, tn = int((~flagged & y).sum()), int((~flagged & ~y).sum())
    return {"threshold": float(threshold), "tp": tp, "fp": fp, "tn": tn, "fn": fn,
            "recall": tp / (tp + fn) if tp + fn else float("nan"),
            "fpr": fp / (fp + tn) if fp + tn else float("nan"),
            "precision": tp / (tp + fp) if tp + fp else float("nan")}


def _fmt(v) -> str:
    return "–" if v is None or (isinstance(v, float) and np.isnan(v)) else (f"{v:.3f}" if isinstance(v, float) else str(v))


def _have_matplotlib() -> bool:
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return False
    return True


def _plots(y, p, family, importances, out: Path) -> list[str]:
    import matplotlib

    matplotlib.use("Agg")  # files only, never a window
    import matplotlib.pyplot as plt
    from sklearn.calibration import calibration_curve
    from sklearn.metrics import precision_recall_curve, roc_curve

    files = []
    y = np.asarray(y).astype(int)

    def save(fig, name):
        fig.tight_layout()
        fig.savefig(out / name, dpi=110)
        plt.close(fig)
        files.append(name)

    fig, ax = plt.subplots(figsize=(5, 4))
    fpr, tpr, _ = roc_curve(y, p)
    ax.plot(fpr, tpr)
    ax.plot([0, 1], [0, 1], ls=":", c="grey")
    ax.set(xlabel="false-positive rate", ylabel="recall", title="ROC", xscale="symlog", xlim=(0, 1))
    ax.axvline(0.01, ls="--", c="red", lw=0.8)
    ax.axvline(0.05, ls="--", c="orange", lw=0.8)
    save(fig, "roc.png")

    fig, ax = plt.subplots(figsize=(5, 4))
    precision, recall, _ = precision_recall_curve(y, p)
    ax.plot(recall, precision)
    ax.set(xlabel="recall", ylabel="precision", title="Precision-recall", ylim=(0, 1.02))
    save(fig, "precision_recall.png")

    fig, ax = plt.subplots(figsize=(5, 4))
    observed, predicted = calibration_curve(y, p, n_bins=15, strategy="quantile")
    ax.plot(predicted, observed, marker="o")
    ax.plot([0, 1], [0, 1], ls=":", c="grey")
    ax.set(xlabel="mean score", ylabel="observed fraud rate", title="Calibration")
    save(fig, "calibration.png")

    fig, ax = plt.subplots(figsize=(6, 4))
    bins = np.linspace(0, 1, 41)
    for fam in sorted(set(np.asarray(family, dtype=object).tolist())):
        ax.hist(np.asarray(p)[np.asarray(family) == fam], bins=bins, histtype="step", density=True, label=fam)
    ax.set(xlabel="score", ylabel="density", title="Scores per family", yscale="log")
    ax.legend(fontsize=7)
    save(fig, "scores_by_family.png")

    if importances:
        top = sorted(importances.items(), key=lambda kv: kv[1], reverse=True)[:20][::-1]
        fig, ax = plt.subplots(figsize=(6, 5))
        ax.barh([k for k, _ in top], [v for _, v in top])
        ax.set(xlabel="mean |contribution| (log-odds)", title="Top features")
        ax.tick_params(axis="y", labelsize=7)
        save(fig, "top_features.png")
    return files


def write_report(y, p, family, output, thresholds: dict | None = None, importances: dict | None = None,
                 title: str = "fraudscore evaluation", plots: bool = True) -> Path:
    """Write ``REPORT.md`` (and PNG plots) under ``output``; return the report's path.

    Parameters
    ----------
    y : array-like of shape (n,) of 0/1
    p : array-like of shape (n,)
        Calibrated scores.
    family : array-like of shape (n,) of str
        "honest" or the attack family of each row.
    thresholds : dict, optional
        ``{"review": t1, "reject": t2}``: adds the confusion matrix at each.
    importances : dict of str to float, optional
        Mean absolute contribution per feature, for the top-features plot.
    """
    out = Path(output)
    out.mkdir(parents=True, exist_ok=True)
    y = np.asarray(y).astype(int)
    p = np.asarray(p, dtype=np.float64)
    keep = ~np.isnan(p)  # rows the reader rejected have no score; they are counted, not evaluated
    metrics = metrics_by_family(y[keep], p[keep], np.asarray(family, dtype=object)[keep])
    keys = ["n", "n_fraud", "roc_auc", "pr_auc", "recall_at_1pct_fpr", "recall_at_5pct_fpr", "ece"]
    lines = [f"# {title}", "", f"{int(keep.sum())} scored rows ({int((~keep).sum())} not scorable, left out).", "",
             "## Metrics", "", "| rows | " + " | ".join(keys) + " |", "|---|" + "---|" * len(keys)]
    lines.append("| all | " + " | ".join(_fmt(metrics["overall"][k]) for k in keys) + " |")
    for fam, m in metrics["families"].items():
        lines.append(f"| {fam} vs honest | " + " | ".join(_fmt(m[k]) for k in keys) + " |")
    if thresholds:
        lines += ["", "## Decisions at the model's thresholds", "",
                  "| decision | threshold | flagged fraud (tp) | flagged honest (fp) | recall | false-positive rate | precision |",
                  "|---|---|---|---|---|---|---|"]
        for name, t in thresholds.items():
            c = confusion_at(y[keep], p[keep], t)
            lines.append(f"| {name} or above | {c['threshold']:.4f} | {c['tp']} | {c['fp']} | {_fmt(c['recall'])} | "
                         f"{_fmt(c['fpr'])} | {_fmt(c['precision'])} |")
    if plots and not _have_matplotlib():
        # The metrics need only numpy; plots are the `report` extra. Say so instead of failing.
        warnings.warn("no plots drawn: matplotlib is not installed (pip install 'fraudscore[report]')",
                      RuntimeWarning, stacklevel=2)
        lines += ["", "## Plots", "", "Not drawn: matplotlib is not installed (`pip install 'fraudscore[report]'`)."]
    elif plots:
        files = _plots(y[keep], p[keep], np.asarray(family, dtype=object)[keep], importances, out)
        lines += ["", "## Plots", ""] + [f"![{f[:-4]}]({f})" for f in files]
    path = out / "REPORT.md"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def evaluate_file(data, model=None, output="report", progress: bool = True, label: str = "label.is_fraud",
                  family: str = "label.family", chunk_size: int = 20_000) -> Path:
    """Score a labelled file with a fresh in-memory history and write the report.

    The file is Parquet or JSONL with a 0/1 label and optionally an attack family in each row, at
    the dotted paths ``label`` and ``family`` (:func:`fraudscore.labels.read_labels`;
    ``fraudscore simulate`` writes both). Without a family column, fraud rows are reported as one
    family, ``unspecified``. Its rows are scored with the history a deployment would have had
    when each arrived (:meth:`fraudscore.Scorer.backfill`: in time order, whatever the file's
    order, as training counts it), then read again in chunks of ``chunk_size`` rows: memory
    holds one chunk, plus per row a label, a score, a family and the history counts (~0.3 KB).
    """
    from tqdm.auto import tqdm

    from fraudscore.features.extractor import _rows_of
    from fraudscore.io import iter_batches
    from fraudscore.labels import read_labels
    from fraudscore.scorer import Scorer

    path = Path(data)
    labels = read_labels(path, label=label, family=family)
    scorer = Scorer(model=model)
    history = scorer.backfill(path, chunk_size=chunk_size)
    if len(history) != len(labels.is_fraud):  # read_labels and the reader disagree on the rows
        raise ValueError(f"{path.name}: the reader's rows ({len(history)}) and the labels read "
                         f"({len(labels.is_fraud)}) do not line up; no report written")
    scores = np.full(len(labels.is_fraud), np.nan)
    magnitude, explained, done = 0.0, 0, 0
    with tqdm(total=len(scores), unit="rows", desc="evaluate", disable=not progress) as bar:
        for batch in iter_batches(path, chunk_size=chunk_size):
            done += batch.n
            results, contributions = scorer.score(batch, return_contributions=True,
                                                  history=_rows_of(history, done - batch.n, done))
            chunk = results.to_pandas()["score"].to_numpy()
            scores[done - batch.n:done] = chunk
            rows = ~np.isnan(chunk)  # rows the reader rejected have no score and explain nothing
            magnitude = magnitude + np.abs(contributions[rows, :-1]).sum(axis=0)
            explained += int(rows.sum())
            bar.update(batch.n)
    importances = dict(zip(scorer.model.feature_names_, (magnitude / explained).tolist())) if explained else {}
    return write_report(labels.is_fraud, scores, labels.family,
                        output, thresholds=dict(getattr(scorer.model, "thresholds_", {}) or {}),
                        importances=importances, title=f"fraudscore evaluation of {path.name}")

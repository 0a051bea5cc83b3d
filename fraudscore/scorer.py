"""Scorer: submissions in, :class:`~fraudscore.results.Results` out — the survey backend's entry point.

One pass per batch: read and validate → fingerprint and observe into history → features →
compiled tree ensemble with per-feature contributions → decisions, family sub-scores and reason
codes. Every input row gets one output row in input order; rows the reader rejected get
``decision="error"`` and their code, the rest are scored.

Thread safety: a Scorer may be shared by threads. The model and compiled forest are read-only;
history stores serialise their own writes (SQLite and Redis per batch, MemoryStore under a lock),
so concurrent ``score`` calls give the same answers as the same calls made one after another in
some order.
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from fraudscore.io import read_batch
from fraudscore.reasons import explain, reason_matrix
from fraudscore.results import FAMILIES, Result, Results
from fraudscore.survey import SurveySpec

__all__ = ["Scorer", "score"]


def _hex(ids: np.ndarray) -> np.ndarray:
    """uint64 keyed ids as 16-digit hex text; 0 (missing) as None."""
    out = np.full(len(ids), None, dtype=object)
    present = ids != 0
    if present.any():
        out[present] = np.char.zfill(np.char.mod("%x", ids[present]), 16).astype(object)
    return out


def _reason_lists(explanation, valid: np.ndarray) -> np.ndarray:
    """Object array of per-row lists of {code, value}, built by Arrow from the flat arrays."""
    import pyarrow as pa

    lengths = np.diff(explanation.offsets)
    keep = np.repeat(valid, lengths)
    lengths = np.where(valid, lengths, 0)
    offsets = np.zeros(len(lengths) + 1, dtype=np.int32)
    np.cumsum(lengths, out=offsets[1:])
    items = pa.StructArray.from_arrays(
        [pa.array(explanation.codes[keep], type=pa.string()), pa.array(explanation.values[keep], type=pa.float64())],
        names=["code", "value"])
    lists = pa.ListArray.from_arrays(pa.array(offsets), items).to_pylist()
    return np.fromiter(lists, dtype=object, count=len(lists))  # never broadcast into 2-d


class Scorer:
    """Score survey submissions.

    Parameters
    ----------
    model : FraudModel, str or Path, optional
        A fitted model or a model directory; default: the model shipped with fraudscore.
    history : HistoryStore, str, False or None
        A history store or its URL (``sqlite:PATH``, ``redis://HOST:PORT/DB``, ``memory:``);
        ``None`` (default) keeps history in memory for this Scorer's lifetime; ``False`` scores
        without history (duplicate features unknown).
    survey : SurveySpec or iterable of SurveySpec, optional
        Specs of the surveys being scored, in addition to those the model was trained with.
    secret : str or bytes, optional
        Installation secret for fingerprints and history hashes (default: ``FRAUDSCORE_SECRET``).
    """

    def __init__(self, model=None, history=None, survey=None, secret=None) -> None:
        from fraudscore.forest import CompiledForest
        from fraudscore.model import FraudModel, load_model

        if model is None or isinstance(model, (str, Path)):
            model = load_model(model)
        if not isinstance(model, FraudModel):
            raise TypeError(f"model must be a FraudModel or a model directory, got {type(model).__name__}")
        self.model = model
        self.secret = secret
        self.history = self._open_history(history)
        self._extractor = self._extractor_with(survey)
        classifier = model.classifier_
        self.forest = CompiledForest.from_sklearn(classifier.calibrated_ or classifier.estimator_)
        self._maps = reason_matrix(model.feature_names_)
        self._lock = threading.Lock()

    # ------------------------------------------------------------------ set-up
    @staticmethod
    def _open_history(history):
        if history is False:
            return None
        if history is None:
            from fraudscore.history import MemoryStore

            return MemoryStore()
        if isinstance(history, str):
            from fraudscore.history import open_history

            return open_history(history)
        return history

    def _extractor_with(self, survey):
        if survey is None:
            return self.model.extractor_
        specs = [survey] if isinstance(survey, SurveySpec) else list(survey)
        known = {s.survey_id: s for s in (self.model.extractor_.surveys or ())}
        known.update({s.survey_id: s for s in specs})
        extractor = copy.copy(self.model.extractor_)  # fitted state shared, survey list extended
        extractor.surveys = tuple(known.values())
        return extractor

    @property
    def model_version(self) -> str | None:
        return getattr(self.model, "model_version_", None)

    # ------------------------------------------------------------------ scoring
    def score(self, data, return_contributions: bool = False):
        """Score any input the readers accept (records, DataFrame, Arrow, file path, batch).

        With ``return_contributions`` also return the (n, n_features + 1) per-feature log-odds
        contributions behind the reasons (last column: bias), for reports and audits.
        """
        from fraudscore.fingerprint import fingerprint_batch
        from fraudscore.model import history_counts

        from fraudscore.enrich.ip import IPDatabase

        batch = read_batch(data)
        n = batch.n
        ip = IPDatabase.default().lookup(batch.column("network.ip"))  # shared by fingerprints and features
        fp = fingerprint_batch(batch, ip=ip, secret=self.secret)
        counts = (history_counts(batch, self.history, secret=self.secret, fingerprints=fp)
                  if self.history is not None else None)
        X = self._extractor.transform(batch, history=counts, ip=ip)
        p, contributions = self.forest.predict_proba(X, contributions=True)
        p = self.model.adjust(p) if hasattr(self.model, "adjust") else p
        valid = batch.valid
        p = np.where(valid, p, np.nan)
        decision = np.where(valid, self.model.decide(np.nan_to_num(p)), "error").astype(object)
        explanation = explain(contributions, self._maps)
        reasons = _reason_lists(explanation, valid)
        families = np.where(valid[:, None], explanation.families, np.nan)
        duplicate = counts["prior_link_survey"] if counts is not None else np.zeros(n, dtype=np.int64)
        results = Results.from_columns(
            n,
            submission_id=batch.submission_id,
            score=p,
            risk=self.model.risk(p),
            decision=decision,
            **{family: families[:, j] for j, family in enumerate(FAMILIES)},
            reasons=reasons,
            device_id=_hex(fp.device_id),
            link_id=_hex(fp.link_id),
            duplicate_count=np.asarray(duplicate, dtype=np.int64),
            model_version=np.full(n, self.model_version, dtype=object),
            error=batch.error_names(),
            warnings=batch.warning_names(),
        )
        return (results, contributions) if return_contributions else results

    def score_one(self, record: dict) -> Result:
        """Score one submission (a dict in the input shape)."""
        return self.score([record])[0]

    def score_stream(self, batches: Iterable) -> Iterable[Results]:
        """Score an iterable of inputs (e.g. :func:`fraudscore.io.iter_batches`), one Results each."""
        for data in batches:
            yield self.score(data)


def score(data, model=None, history=False, survey=None) -> Results:
    """One-call convenience: ``Scorer(model, history, survey).score(data)`` (no history by default)."""
    return Scorer(model=model, history=history, survey=survey).score(data)


class _ResultsWriter:
    """Append Results chunks to one .parquet, .jsonl or .csv file (bounded memory)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.suffix = self.path.suffix.lower()
        if self.suffix not in (".parquet", ".pq", ".jsonl", ".ndjson", ".csv"):
            raise ValueError(f"{path}: write results as .parquet, .jsonl or .csv")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._parquet = None
        self._first = True

    def write(self, results: Results) -> None:
        if self.suffix in (".parquet", ".pq"):
            import pyarrow.parquet as pq

            from fraudscore.results import RESULTS_SCHEMA

            if self._parquet is None:
                self._parquet = pq.ParquetWriter(self.path, RESULTS_SCHEMA)
            self._parquet.write_table(results.to_arrow())
            return
        frame = results.to_pandas()
        if self.suffix == ".csv":
            import json

            for name in ("reasons", "warnings"):
                frame[name] = frame[name].map(lambda v: json.dumps(list(v), default=float))
            frame.to_csv(self.path, index=False, mode="w" if self._first else "a", header=self._first)
        else:
            with open(self.path, "w" if self._first else "a", encoding="utf-8") as fh:
                fh.write(results.to_arrow().to_pandas().to_json(orient="records", lines=True, double_precision=15))
        self._first = False

    def close(self) -> None:
        if self._parquet is not None:
            self._parquet.close()
        elif self._first:  # no chunk at all: still leave an (empty) results file
            self.write(Results.concat([]))


def score_file(scorer: Scorer, input_path, output_path, chunk_size: int = 50_000, progress: bool = True) -> dict:
    """Stream a Parquet/JSONL file through ``scorer`` in chunks and write the results.

    Returns
    -------
    dict
        ``rows``, ``seconds``, ``rows_per_s``, ``decisions`` and ``errors`` (counts by code).
    """
    import time
    from collections import Counter

    import pyarrow.parquet as pq
    from tqdm.auto import tqdm

    from fraudscore.io import iter_batches

    input_path = Path(input_path)
    total = pq.ParquetFile(input_path).metadata.num_rows if input_path.suffix.lower() in (".parquet", ".pq") else None
    writer = _ResultsWriter(output_path)
    decisions: Counter = Counter()
    errors: Counter = Counter()
    rows = 0
    start = time.perf_counter()
    with tqdm(total=total, unit="rows", desc="score", disable=not progress) as bar:
        for batch in iter_batches(input_path, chunk_size=chunk_size):
            results = scorer.score(batch)
            writer.write(results)
            summary = results.summary()
            decisions.update(summary["decisions"])
            errors.update(summary["errors"])
            rows += len(results)
            bar.update(len(results))
    writer.close()
    seconds = time.perf_counter() - start
    return {"rows": rows, "seconds": seconds, "rows_per_s": rows / seconds if seconds > 0 else float("nan"),
            "decisions": dict(decisions), "errors": dict(errors)}

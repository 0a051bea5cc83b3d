"""Scorer: submissions in, :class:`~fraudscore.results.Results` out — the survey backend's entry point.

One pass per batch: read and validate → fingerprint and observe into history → features →
compiled tree ensemble → decisions, and for the rows that need them (review and reject by
default, every row with ``reasons="all"``) per-feature contributions, family sub-scores and
reason codes, computed in the same pass over the trees. Every input row gets one output row in
input order; rows the reader rejected get ``decision="error"`` and their code, the rest are
scored. ``score_one`` runs the same pass on a batch of one and builds its :class:`Result`
straight from the columns.

Thread safety: a Scorer may be shared by threads. The model and compiled forest are read-only;
history stores serialise their own writes (SQLite and Redis per batch, MemoryStore under a lock),
so concurrent ``score`` calls give the same answers as the same calls made one after another in
some order.
"""

from __future__ import annotations

import copy
import functools
import math
import os
import threading
import warnings
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pandas as pd

from fraudscore.codes import Code, warning_names
from fraudscore.fingerprint import fingerprint_batch, to_hex
from fraudscore.io import check_input_file, from_records, read_batch
from fraudscore.reasons import explain, reason_matrix
from fraudscore.results import FAMILIES, Result, Results
from fraudscore.secret import get_secret
from fraudscore.survey import SurveySpec

__all__ = ["Scorer", "score"]


def _reason_lists(explanation, rows: np.ndarray, n: int) -> np.ndarray:
    """Object array of n per-row lists of {code, value}; rows not in ``rows`` get empty lists.

    ``explanation`` explains ``rows`` (ascending), in that order. Built by Arrow from the flat
    arrays, so no Python runs per row; up to :data:`_FEW_ROWS` rows, directly.
    """
    if n <= _FEW_ROWS:
        return _few_reason_lists(explanation, rows, n)
    import pyarrow as pa

    lengths = np.zeros(n, dtype=np.int32)
    lengths[rows] = np.diff(explanation.offsets)
    offsets = np.zeros(n + 1, dtype=np.int32)
    np.cumsum(lengths, out=offsets[1:])
    items = pa.StructArray.from_arrays(
        [pa.array(explanation.codes, type=pa.string()), pa.array(explanation.values, type=pa.float64())],
        names=["code", "value"])
    lists = pa.ListArray.from_arrays(pa.array(offsets), items).to_pylist()
    return np.fromiter(lists, dtype=object, count=len(lists))  # never broadcast into 2-d


#: Up to this many rows (``score_one``, tiny batches) the reason lists are built directly: the
#: Arrow round trip's fixed cost (~150 µs) is then most of the scoring stage.
_FEW_ROWS = 8


def _few_reason_lists(explanation, rows: np.ndarray, n: int) -> np.ndarray:
    """:func:`_reason_lists` for at most :data:`_FEW_ROWS` rows (same lists, same types)."""
    codes, values = explanation.codes.tolist(), explanation.values.tolist()
    bounds = explanation.offsets.tolist()
    lists = [[] for _ in range(n)]
    for k, row in enumerate(rows.tolist()):
        lists[row] = [{"code": code, "value": value}
                      for code, value in zip(codes[bounds[k]:bounds[k + 1]], values[bounds[k]:bounds[k + 1]])]
    return np.fromiter(lists, dtype=object, count=n)


@functools.lru_cache(maxsize=1)
def _FraudModel():  # noqa: N802 - the class, imported on first use (model.py imports scikit-learn)
    from fraudscore.model import FraudModel

    return FraudModel


def _no_laps(name: str) -> None:
    """Stage clock that records nothing (the default; ``fraudscore bench`` passes a real one)."""


#: Which rows get contributions, reason codes and family sub-scores.
REASON_POLICIES = ("flagged", "all")
#: What a Scorer does when its history store does not answer (see ``Scorer``).
HISTORY_ERROR_POLICIES = ("raise", "skip")


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
    reasons : {"flagged", "all"}
        Which rows are explained (per-feature contributions, reason codes, family sub-scores):
        ``"flagged"`` (default) only rows whose decision is review or reject, so accepted rows
        get no reasons and NaN sub-scores; ``"all"`` every scored row. Explaining costs 3-5x
        the tree ensemble's prediction, so explaining only flagged rows makes the model stage
        several times cheaper. Scores and decisions do not depend on it.
    n_jobs : int, optional
        Threads for the feature stage of large batches (``FeatureExtractor`` ``n_jobs``: row
        chunks of at least 4,096 rows); None or 1: one thread, -1: one per CPU. Results are
        the same whatever the number.
    on_history_error : {"raise", "skip"}
        When the history store does not answer (:class:`~fraudscore.history.HistoryUnavailableError`:
        unreachable, locked or timed out): ``"raise"`` (default) lets the error through, and the
        call scores nothing; ``"skip"`` scores the batch without history, as ``history=False``
        would (duplicate features unknown, ``duplicate_count`` 0), gives each scorable row the
        warning ``HISTORY_UNAVAILABLE`` and issues a ``RuntimeWarning``. Those rows are not
        recorded, so later submissions will not count them until the input is backfilled once the
        store answers (:meth:`backfill`, ``fraudscore history backfill``: ids the store holds
        are skipped; a respondent erased in between would be recorded again). Other history
        errors (a store written by a newer fraudscore, a corrupt file) always raise.
    """

    def __init__(self, model=None, history=None, survey=None, secret=None, reasons: str = "flagged",
                 n_jobs: int | None = None, on_history_error: str = "raise") -> None:
        from fraudscore.forest import CompiledForest
        from fraudscore.model import FraudModel, load_model

        if model is None or isinstance(model, (str, Path)):
            model = load_model(model)
        if not isinstance(model, FraudModel):
            raise TypeError(f"model must be a FraudModel or a model directory, got {type(model).__name__}")
        self.model = model
        # Resolved once: the development key then warns when a Scorer is made, not on every
        # call (a warnings filter reset by any library's catch_warnings would repeat it per row).
        self.secret = get_secret(secret)
        self.reasons = self._check_reasons(reasons)
        if on_history_error not in HISTORY_ERROR_POLICIES:
            raise ValueError(f"on_history_error must be one of {HISTORY_ERROR_POLICIES}, got {on_history_error!r}")
        self.on_history_error = on_history_error
        self.history = self._open_history(history)
        self.n_jobs = n_jobs
        self._extractor = self._extractor_with(survey, n_jobs)
        classifier = model.classifier_
        self.forest = CompiledForest.from_sklearn(classifier.calibrated_ or classifier.estimator_)
        self._maps = reason_matrix(model.feature_names_)
        self._thresholds = None  # (key, review, reject) of _decide_one
        self._lock = threading.Lock()

    # ------------------------------------------------------------------ set-up
    @staticmethod
    def _check_reasons(reasons: str) -> str:
        if reasons not in REASON_POLICIES:
            raise ValueError(f"reasons must be one of {REASON_POLICIES}, got {reasons!r}")
        return reasons

    def _open_history(self, history):
        # A store the Scorer opens must key its hashes with the Scorer's secret: otherwise erase()
        # and export() of a respondent, hashed with the store's key, find nothing.
        if history is False:
            return None
        if history is None:
            from fraudscore.history import MemoryStore

            return MemoryStore(secret=self.secret)
        if isinstance(history, str):
            from fraudscore.history import open_history

            return open_history(history, secret=self.secret)
        return history

    def _extractor_with(self, survey, n_jobs):
        if survey is None and n_jobs is None:
            return self.model.extractor_
        extractor = copy.copy(self.model.extractor_)  # fitted state shared; surveys and threads this Scorer's
        if survey is not None:
            specs = [survey] if isinstance(survey, SurveySpec) else list(survey)
            known = {s.survey_id: s for s in (self.model.extractor_.surveys or ())}
            known.update({s.survey_id: s for s in specs})
            extractor.surveys = tuple(known.values())
        if n_jobs is not None:
            extractor.n_jobs = n_jobs
        return extractor

    @property
    def model_version(self) -> str | None:
        return getattr(self.model, "model_version_", None)

    # ------------------------------------------------------------------ scoring
    def score(self, data, return_contributions: bool = False, reasons: str | None = None, history=None):
        """Score any input the readers accept (records, DataFrame, Arrow, file path, batch).

        Parameters
        ----------
        data : records, DataFrame, Arrow table or batch, file path, SubmissionBatch
        return_contributions : bool
            Also return the (n, n_features + 1) per-feature log-odds contributions of every row
            (last column: bias), for reports and audits. The Results are the same either way.
        reasons : {"flagged", "all"}, optional
            Overrides the Scorer's ``reasons`` for this call.
        history : HistoryCounts, optional
            Prior counts of these rows (e.g. from :meth:`backfill`), used instead of recording
            the rows in the history store and counting them there; the store is not touched.

        Returns
        -------
        Results, or (Results, ndarray) with ``return_contributions``
        """
        batch = read_batch(data)
        if history is not None and len(history) != batch.n:
            raise ValueError(f"history has {len(history)} rows for {batch.n} submissions; give one per row")
        columns, contributions = self._columns(batch, reasons, return_contributions, history=history)
        results = Results.from_columns(batch.n, **columns)
        return (results, contributions) if return_contributions else results

    def score_one(self, record, reasons: str | None = None) -> Result:
        """Score one submission (a dict in the input shape); equal to ``score([record])[0]``.

        The same pipeline as :meth:`score` on a batch of one, without what only a batch needs:
        no container dispatch, no results table and no columns (:meth:`_one` builds the
        :class:`Result` from the row's values).
        """
        return self._one(from_records([record]), reasons)

    def _one(self, batch, reasons=None, lap=_no_laps) -> Result:
        """:meth:`_columns` and :func:`~fraudscore.results.result_at` of a batch of one row, in
        plain Python where the batch pass spends its time on fixed costs of numpy calls (one
        decision, not two; no (n,)-shaped columns). The same Result, tested field for field."""
        policy = self.reasons if reasons is None else self._check_reasons(reasons)
        lap("read")
        X, fp, counts, masks = self._features(batch, lap)
        raw, leaf = self.forest._raw_one(X[0])
        p = self._adjust(self.forest._probability_one(raw))
        score = float(p[0])
        decision = self._decide_one(score)
        explained = False
        if batch.error[0] == 0:
            # The batch pass explains rows picked on the probability (decision not "accept") whose
            # decision, made on nan_to_num of it, is not "accept" either: the same unless not finite.
            if not math.isfinite(score):
                picked, decision = decision != "accept", self._decide_one(float(np.nan_to_num(score)))
                explained = policy == "all" or (picked and decision != "accept")
            else:
                explained = policy == "all" or decision != "accept"
        else:
            score, decision = math.nan, "error"
        lap("forest")
        families, reason_codes = (math.nan,) * len(FAMILIES), ()
        if explained:
            explanation = explain(self.forest._contributions_one(leaf)[None, :], self._maps)
            families = tuple(explanation.families[0].tolist())
            reason_codes = tuple(zip(explanation.codes.tolist(), explanation.values.tolist()))
        lap("reasons")
        device, link = fp.device_id[0], fp.link_id[0]
        version = self.model_version
        values = dict(
            submission_id=batch.submission_id[0],
            score=score,
            risk=float(self.model.risk(np.array([score]))[0]),
            decision=decision,
            **dict(zip(FAMILIES, families)),
            reasons=reason_codes,
            device_id=f"{device:016x}" if device else None,  # fingerprint.to_hex of one id
            link_id=f"{link:016x}" if link else None,
            duplicate_count=int(np.asarray(counts["prior_link_survey"], dtype=np.int64)[0]) if counts is not None else 0,
            model_version=None if version is not None and pd.isna(version) else version,
            error=batch.error_names()[0],
            warnings=tuple(warning_names(masks[:1])[0]) if masks[0] else (),
        )
        lap("columns")
        return Result(**values)

    def backfill(self, data, chunk_size: int = 20_000):
        """Record past submissions in this Scorer's history store as if each had been recorded on
        arrival, without scoring them (:func:`fraudscore.model.backfill`); returns each row's
        prior counts then, for ``score(rows, history=counts)``: the rows scored as they would
        have been on arrival.

        Parameters
        ----------
        data : records, DataFrame, Arrow table or batch, file path, SubmissionBatch
        chunk_size : int
            Rows of a file read at a time.

        Returns
        -------
        HistoryCounts
            One row per input row (file rows in file order).
        """
        from fraudscore.model import backfill

        if self.history is None:
            raise ValueError("this Scorer has no history store (history=False): nothing to backfill")
        return backfill(data, self.history, secret=self.secret, chunk_size=chunk_size)

    def _features(self, batch, lap=_no_laps, history=None):
        """IP facts (shared by fingerprints and features), fingerprints, history counts (recording
        the batch, unless ``history`` gives them) and the feature matrix of ``batch``, a lap
        each; returns (X, fingerprints, counts, warning masks), the masks being the batch's own
        plus ``HISTORY_UNAVAILABLE`` on scorable rows when the store did not answer and the
        policy is ``"skip"``."""
        from fraudscore.enrich.ip import IPDatabase
        from fraudscore.history.base import HistoryUnavailableError
        from fraudscore.model import history_counts

        ip = IPDatabase.default().lookup(batch.column("network.ip"))
        lap("enrich_ip")
        fp = fingerprint_batch(batch, ip=ip, secret=self.secret)
        lap("fingerprint")
        counts, masks = history, batch.warnings
        if self.history is not None and history is None:
            try:
                counts = history_counts(batch, self.history, secret=self.secret, fingerprints=fp)
            except HistoryUnavailableError as exc:
                if self.on_history_error == "raise":
                    raise
                warnings.warn(f"scoring {batch.n} rows without history: {exc}", RuntimeWarning, stacklevel=4)  # at the caller
                masks = batch.warnings | np.where(batch.valid, np.uint64(Code.HISTORY_UNAVAILABLE.bit), np.uint64(0))
        lap("history")
        X = self._extractor.transform(batch, history=counts, ip=ip)
        lap("features")
        return X, fp, counts, masks

    def _decide_one(self, p: float) -> str:
        """``self.model.decide`` of one probability; the thresholds are remembered while the
        model's prior and thresholds stay the same (its ``thresholds`` property runs scikit-learn's
        fitted check on every call)."""
        model = self.model
        if type(model).decide is not _FraudModel().decide or type(model).thresholds is not _FraudModel().thresholds:
            return str(model.decide(np.array([p]))[0])
        key = (model.prior_, model.train_prior_, tuple(model.thresholds_.items()))
        cached = self._thresholds
        if cached is None or cached[0] != key:
            t = model.thresholds
            cached = self._thresholds = key, t["review"], t["reject"]
        _, review, reject = cached
        if p != p:
            return "error"
        return "reject" if p >= reject else "review" if p >= review else "accept"

    def score_stream(self, batches: Iterable) -> Iterable[Results]:
        """Score an iterable of inputs (e.g. :func:`fraudscore.io.iter_batches`), one Results each."""
        for data in batches:
            yield self.score(data)

    def _flagged(self, p: np.ndarray) -> np.ndarray:
        """Rows whose decision will be review or reject, from the forest's probabilities."""
        return self.model.decide(self._adjust(p)) != "accept"

    def _adjust(self, p: np.ndarray) -> np.ndarray:
        return self.model.adjust(p) if hasattr(self.model, "adjust") else p

    def _columns(self, batch, reasons=None, all_contributions: bool = False, lap=_no_laps, history=None):
        """The one scoring pass: Results columns of ``batch`` (and every row's contributions
        when ``all_contributions``; ``history``: given prior counts). ``lap(stage)`` is called
        as each stage ends."""
        policy = self.reasons if reasons is None else self._check_reasons(reasons)
        n = batch.n
        lap("read")
        X, fp, counts, masks = self._features(batch, lap, history)
        explain_all = policy == "all" or all_contributions
        p, rows, contributions = self.forest.predict_explain(X, None if explain_all else self._flagged)
        p = self._adjust(p)
        valid = batch.valid
        p = np.where(valid, p, np.nan)
        decision = np.where(valid, self.model.decide(np.nan_to_num(p)), "error").astype(object)
        lap("forest")
        explained = valid[rows]
        if policy == "flagged":
            explained &= decision[rows] != "accept"
        rows_explained = rows[explained]
        explanation = explain(contributions[explained], self._maps)
        families = np.full((n, len(FAMILIES)), np.nan)
        families[rows_explained] = explanation.families
        reason_lists = _reason_lists(explanation, rows_explained, n)
        lap("reasons")
        duplicate = counts["prior_link_survey"] if counts is not None else np.zeros(n, dtype=np.int64)
        columns = dict(
            submission_id=batch.submission_id,
            score=p,
            risk=self.model.risk(p),
            decision=decision,
            **{family: families[:, j] for j, family in enumerate(FAMILIES)},
            reasons=reason_lists,
            device_id=to_hex(fp.device_id),
            link_id=to_hex(fp.link_id),
            duplicate_count=np.asarray(duplicate, dtype=np.int64),
            model_version=np.full(n, self.model_version, dtype=object),
            error=batch.error_names(),
            warnings=warning_names(masks),
        )
        lap("columns")
        return columns, (contributions if all_contributions else None)


def score(data, model=None, history=False, survey=None, reasons: str = "flagged") -> Results:
    """One-call convenience: ``Scorer(model, history, survey, reasons=reasons).score(data)`` (no history by default)."""
    return Scorer(model=model, history=history, survey=survey, reasons=reasons).score(data)


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
                fh.write(results.to_jsonl())
        self._first = False

    def close(self) -> None:
        if self._parquet is not None:
            self._parquet.close()
        elif self._first:  # no chunk at all: still leave an (empty) results file
            self.write(Results.concat([]))


def _chunks(paths, chunk_size: int):
    """Batches of every file in ``paths``, one after another."""
    from fraudscore.io import iter_batches

    for path in paths:
        yield from iter_batches(path, chunk_size=chunk_size)


def score_file(scorer: Scorer, input_path, output_path, chunk_size: int = 10_000, progress: bool = True,
               backfill: bool = False) -> dict:
    """Stream Parquet/JSONL input through ``scorer`` in chunks and write the results.

    Three stages overlap, each in its own thread: reading and validating the next chunk, scoring
    this one, writing the previous one's results. Parquet decoding and much of the rest release
    the GIL, so on two cores the stages run side by side: the same work (CPU time) in less wall
    time. Memory is bounded by a few chunks whatever the input size: the reader is at most one
    chunk ahead of the scorer and the writer at most one behind (``benchmarks/bench_memory.py``
    measures peak RSS).

    Parameters
    ----------
    scorer : Scorer
    input_path : path or sequence of paths
        One file, or several read one after another into one results file.
    output_path : path
        ``.parquet``, ``.jsonl`` or ``.csv``.
    chunk_size : int
        Rows read and scored at a time. Peak memory follows it: about 0.3 GB plus 55-70 KB per
        chunk row with full telemetry, of which 5-10 KB are the chunk read ahead and the results
        being written (measured at the default 10,000: 0.93-0.94 GB without history, 0.89 GB
        before chunks were read ahead; growth over set-up with a SQLite history 0.73-0.79 GB,
        0.68-0.70 GB before; at 20,000, before: 1.3 GB, 1.5 GB after 10M rows). Throughput is
        the same from ~5,000 rows up.
    progress : bool
        Show a progress bar.
    backfill : bool
        Past submissions (a finished survey's export): first record every row in the scorer's
        history store in time order (:meth:`Scorer.backfill`, one more pass over the input), then
        score each with the counts it had on arrival. Each row then sees the submissions before
        it and none after, whatever the file's order, and a period longer than the retention
        keeps its older rows' history; streamed as arrived instead, a row does not see earlier
        submissions in later chunks, and a chunk that spans more than the retention counts its
        older rows as expired.

    Returns
    -------
    dict
        ``rows``, ``seconds``, ``rows_per_s``, ``decisions`` and ``errors`` (counts by code).
    """
    import time
    from concurrent.futures import ThreadPoolExecutor

    import pyarrow.parquet as pq
    from tqdm.auto import tqdm

    from fraudscore.features.extractor import _rows_of
    from fraudscore.results import run_summary

    paths = [Path(input_path)] if isinstance(input_path, (str, os.PathLike)) else [Path(p) for p in input_path]
    for path in paths:  # every input checked before the results file and the progress bar are opened
        check_input_file(path)
    parquet = [p for p in paths if p.suffix.lower() in (".parquet", ".pq")]
    total = sum(pq.ParquetFile(p).metadata.num_rows for p in parquet) if len(parquet) == len(paths) else None
    start = time.perf_counter()
    history, at = scorer.backfill(paths, chunk_size=chunk_size) if backfill else None, 0
    writer = _ResultsWriter(output_path)
    summaries = []
    chunks = _chunks(paths, chunk_size)
    # One thread each, so chunks are read in order and results written in order.
    with ThreadPoolExecutor(1, thread_name_prefix="fraudscore-read") as reader, \
            ThreadPoolExecutor(1, thread_name_prefix="fraudscore-write") as writing, \
            tqdm(total=total, unit="rows", desc="score", disable=not progress) as bar:
        upcoming = reader.submit(next, chunks, None)
        written = None
        while (batch := upcoming.result()) is not None:
            upcoming = reader.submit(next, chunks, None)  # read the next chunk while this one is scored
            results = scorer.score(batch) if history is None else scorer.score(batch, history=_rows_of(history, at, at + batch.n))
            at += batch.n
            del batch  # bounded memory: nothing holds a scored chunk's input
            if written is not None:
                written.result()  # at most one chunk of results waits to be written
            written = writing.submit(writer.write, results)
            summaries.append(results.summary())
            bar.update(len(results))
            del results
        if written is not None:
            written.result()
    writer.close()
    return run_summary(summaries, time.perf_counter() - start)

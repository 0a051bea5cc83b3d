"""Timing family: how long the submission took, against the survey's norm, and per item.

Speeders are the commonest careless respondents (Huang et al. 2012 suggest ~2 s per item as a
floor for attentive reading); bots are faster still, and very slow, very even timing is a farm sign.
"""

from __future__ import annotations

import math
import warnings

import numpy as np

from fraudscore.features._segments import means_stds_one, quotient
from fraudscore.features.context import FeatureContext
from fraudscore.features.registry import one_row_columns, register

__all__ = ["fit_durations"]


def fit_durations(ctx: FeatureContext) -> dict:
    """Median duration (ms) per survey and overall, from scorable rows of calibration data."""
    codes, uniques = ctx.survey_codes
    duration = ctx.batch.duration_ms
    ok = ctx.batch.valid & np.isfinite(duration) & (codes >= 0)
    per_survey = {}
    if ok.any():
        order = np.argsort(codes[ok], kind="stable")
        sorted_codes = codes[ok][order]
        sorted_dur = duration[ok][order]
        bounds = np.flatnonzero(np.diff(sorted_codes)) + 1
        for chunk_codes, chunk in zip(np.split(sorted_codes, bounds), np.split(sorted_dur, bounds)):
            per_survey[str(uniques[chunk_codes[0]])] = float(np.median(chunk))  # per survey, not per row
    overall = float(np.median(duration[ok])) if ok.any() else float("nan")
    return {"median_ms": per_survey, "overall_ms": overall}


def _reference_one(ctx: FeatureContext, state: dict | None, survey) -> float:
    """The reference duration (ms) of one survey: its fitted median, else its spec's expected
    duration, else the fitted overall median."""
    state = state or {"median_ms": {}, "overall_ms": float("nan")}
    spec = ctx.surveys.get(survey)
    if survey in state["median_ms"]:
        return float(state["median_ms"][survey])
    if spec is not None and spec.expected_duration_s:
        return float(spec.expected_duration_s * 1000.0)
    return float(state["overall_ms"])


def _reference_ms(ctx: FeatureContext, state: dict | None) -> np.ndarray:
    codes, uniques = ctx.survey_codes
    per_unique = np.array([_reference_one(ctx, state, survey) for survey in uniques], dtype=np.float64)
    out = np.full(ctx.n, np.nan)
    known = codes >= 0
    out[known] = per_unique[codes[known]]
    return out


@register("duration", "timing", "none", [
    ("duration_s", "seconds from opening the survey to submitting it"),
    ("duration_ratio", "duration over the survey's median duration (fitted, or the spec's expected duration)"),
], fit=fit_durations)
def duration(ctx: FeatureContext, state) -> dict:
    d = ctx.batch.duration_ms
    if ctx.n == 1:  # score_one: the row's reference without the per-survey table
        codes, uniques = ctx.survey_codes
        reference = _reference_one(ctx, state, uniques[0]) if codes[0] >= 0 else math.nan
        return one_row_columns(("timing.duration_s", "timing.duration_ratio"),
                               [d[0] / 1000.0, quotient(float(d[0]), reference)])
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = d / _reference_ms(ctx, state)
    return {"timing.duration_s": d / 1000.0, "timing.duration_ratio": ratio}


@register("items", "timing", "analytics", [
    ("items_under_1s", "share of items answered in under one second"),
    ("item_time_median_s", "median seconds per item"),
    ("item_time_cv", "coefficient of variation of time per item (bots are even, people uneven)"),
])
def items(ctx: FeatureContext, state) -> dict:
    if ctx.n == 1:
        return _items_one(ctx)
    item_ms = ctx.batch.column("telemetry.item_ms")
    item_ms = item_ms.filter_values(np.isfinite(item_ms.values))  # out-of-range times were set to NaN
    values = item_ms.values
    with np.errstate(invalid="ignore", divide="ignore"):
        under = item_ms.counts(values < 1000.0) / item_ms.lengths
        mean, sd = item_ms.means_stds()
        cv = sd / mean
    return {
        "timing.items_under_1s": under,
        "timing.item_time_median_s": _segment_median(item_ms, values) / 1000.0,
        "timing.item_time_cv": np.where(item_ms.lengths >= 2, cv, np.nan),
    }


def _items_one(ctx: FeatureContext) -> dict:
    """:func:`items` of a batch of one row (``score_one``), on the row's finite item times as floats."""
    values = ctx.batch.column("telemetry.item_ms").values
    values = values[np.isfinite(values)]
    k = len(values)
    mean, sd = means_stds_one(values)
    return one_row_columns(("timing.items_under_1s", "timing.item_time_median_s", "timing.item_time_cv"), [
        int(np.count_nonzero(values < 1000.0)) / k if k else math.nan, _median_one(values) / 1000.0,
        quotient(sd, mean) if k >= 2 else math.nan])


def _median_one(values: np.ndarray) -> float:
    """Median of one row's finite values (NaN for none), by :func:`_segment_median`'s padded sort."""
    m = len(values)
    if not m:
        return math.nan
    row = np.full(1 << (m - 1).bit_length(), np.inf)  # the bucket width, 2**ceil(log2(m))
    row[:m] = values
    row.sort()
    return (row[(m - 1) // 2] + row[m // 2]) / 2.0


def _segment_median(ragged, values: np.ndarray) -> np.ndarray:
    """Median per row of finite ``values`` (NaN for an empty row).

    Rows are sorted as the rows of dense matrices, one per power-of-two length bucket (at most
    ~11 buckets, padding with +inf that sorts last and at most doubles the work), instead of one
    lexsort by (row, value) over everything: sorting ~26 item times per row in place is ~10x
    cheaper than two global sort passes. The middle value(s) are the same whichever sort finds them.
    """
    lengths = ragged.lengths
    out = np.full(len(ragged), np.nan)
    if len(ragged) == 1:  # a batch of one: the same padded sort without the bucketing's dozen calls
        out[0] = _median_one(values)
        return out
    has = np.flatnonzero(lengths > 0)
    if not len(has):
        return out
    m = int(lengths[has[0]])
    if len(values) == m * len(has) and lengths.max() == m:
        # Every row with items has the same number (one survey, all answered: the common batch):
        # the values are already the rows of one dense matrix, with no padding to build.
        block = values.reshape(len(has), m).copy()
        block.sort(axis=1)
        out[has] = (block[:, (m - 1) // 2] + block[:, m // 2]) / 2.0
        return out
    width = np.left_shift(1, np.ceil(np.log2(lengths[has])).astype(np.int64))
    for w in np.unique(width):
        rows = has[width == w]
        n_values = lengths[rows]
        inside = np.arange(w) < n_values[:, None]
        index = np.where(inside, ragged.offsets[rows][:, None] + np.arange(w), 0)
        block = np.where(inside, values[index], np.inf)
        block.sort(axis=1)
        pick = np.arange(len(rows))
        out[rows] = (block[pick, (n_values - 1) // 2] + block[pick, n_values // 2]) / 2.0
    return out


# ------------------------------------------------------------------------------ pace (careless onset)
#: Rows of one survey and item count needed to fit that survey's per-item norm.
MIN_NORM_ROWS = 30
#: Fewer item times than this: no pace statistic (a running sum over three values says nothing).
_MIN_PACE_ITEMS = 4
#: Standard deviation of log item times below which a row's pace counts as constant (times equal
#: to within about a millionth).
_FLAT_LOG_SD = 1e-6


def fit_item_norms(ctx: FeatureContext) -> dict:
    """Per survey, the median log item time (ms) at each item position, from scorable rows that have
    the survey's most common number of item times (at least ``MIN_NORM_ROWS`` of them).

    Long items take longer and whole populations speed up over a survey; a row's pace is read
    against this norm, so neither passes for a change of pace.
    """
    item_ms = ctx.batch.column("telemetry.item_ms")
    codes, uniques = ctx.survey_codes
    lengths = item_ms.lengths
    norms = {}
    ok = ctx.batch.valid & (codes >= 0) & (lengths >= _MIN_PACE_ITEMS)
    for code in np.unique(codes[ok]):
        rows = np.flatnonzero(ok & (codes == code))
        counts = np.bincount(lengths[rows])
        m = int(counts.argmax())
        rows = rows[lengths[rows] == m]
        if len(rows) < MIN_NORM_ROWS:
            continue
        block = item_ms.take(rows).values.reshape(len(rows), m)
        with np.errstate(invalid="ignore", divide="ignore"):
            logs = np.log(np.maximum(block, 1.0))  # NaN (out-of-range times) stays NaN
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # a position with no finite time: NaN
            norms[str(uniques[code])] = np.nanmedian(logs, axis=0)
    return {"log_ms": norms}


@register("pace", "timing", "analytics", [
    ("pace_drop", "largest drop in pace part-way through (careless onset): the highest running sum of the "
                  "row's standardized log item times, read against the survey's per-item norm, over "
                  "sqrt(items); high = slower first, much faster after some item"),
], fit=fit_item_norms)
def pace(ctx: FeatureContext, state) -> dict:
    """Careless respondents speed up after an onset part-way through a survey (Bowling et al. 2021;
    Ulitzsch et al. 2022 model it from response times); a CUSUM of the row's own standardized item
    times finds the shift wherever it is, whatever the row's overall speed."""
    item_ms = ctx.batch.column("telemetry.item_ms")
    norms = (state or {}).get("log_ms", {})
    codes, uniques = ctx.survey_codes
    if ctx.n == 1:
        return one_row_columns(("timing.pace_drop",), [_pace_one(item_ms.values, norms, codes, uniques)])
    lengths = item_ms.lengths
    # The common batch: one survey, every row with the same number m of item times or none (no
    # analytics consent); those with m are the rows of one matrix (the general path's norm lookup
    # and padding cost ~40 % more).
    m = int(lengths.max()) if ctx.n else 0
    full = lengths == m
    rows = len(item_ms.values) // m if m else 0
    square = m > 0 and rows * m == len(item_ms.values) and np.count_nonzero(full) == rows \
        and codes.min() == codes.max() >= 0
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        logs = np.log(np.maximum(item_ms.values, 1.0))
        if norms:
            norm = norms.get(uniques[0]) if square else None
            if norm is not None and len(norm) == m:
                logs = (logs.reshape(rows, m) - norm).ravel()
            elif not square:  # (square, no norm for this many items: nothing to subtract)
                logs = logs - _norm_of_each_value(item_ms, codes, uniques, norms)
        finite = np.isfinite(logs)
        if finite.all():
            kept = item_ms
        else:
            kept, logs, square = item_ms.filter_values(finite), logs[finite], False
        mean, sd = kept.means_stds(logs)
        k = kept.lengths
        # A spread of log times under _FLAT_LOG_SD is a constant pace whose mean rounded (equal times
        # leave a last-bit residue that standardizing would blow up into a full-size statistic).
        usable = (k >= _MIN_PACE_ITEMS) & (sd > _FLAT_LOG_SD) & np.isfinite(sd)
        if square:  # each row summed on its own along the matrix row: the padded path's sums
            z = (logs.reshape(rows, m) - mean[full][:, None]) / sd[full][:, None]
            top = np.full(ctx.n, -np.inf)
            top[full] = np.cumsum(z, axis=1).max(axis=1)
        else:
            z = (logs - np.repeat(mean, k)) / np.repeat(sd, k)
            top = _row_running_sum_max(z, kept)
        drop = np.where(usable, top / np.sqrt(k), np.nan)
    return {"timing.pace_drop": drop}


def _pace_one(values: np.ndarray, norms: dict, codes: np.ndarray, uniques: np.ndarray) -> float:
    """:func:`pace` of a batch of one row (``score_one``): the same operations on the row's
    arrays, without the ragged layout's ~40 numpy calls (the same bits, property-tested)."""
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        logs = np.log(np.maximum(values, 1.0))
        norm = norms.get(uniques[0]) if norms and codes[0] >= 0 else None
        if norm is not None and len(norm) == len(values):
            logs = logs - norm
        logs = logs[np.isfinite(logs)]
        k = len(logs)
        mean, sd = means_stds_one(logs)
        if not (k >= _MIN_PACE_ITEMS and sd > _FLAT_LOG_SD and math.isfinite(sd)):
            return math.nan
        z = (logs - mean) / sd
        return float(np.cumsum(z).max()) / math.sqrt(k)


def _norm_of_each_value(item_ms, codes: np.ndarray, uniques: np.ndarray, norms: dict) -> np.ndarray:
    """The survey norm of each item time (0 where the row's survey has no norm, or the row has
    another number of item times than the norm's)."""
    tables = [np.zeros(1)]  # index 0: no norm
    start = np.zeros(len(uniques) + 1, np.int64)  # by code + 1 (code -1: no survey)
    size = np.full(len(uniques) + 1, -1, np.int64)
    at = 1
    for code, survey in enumerate(uniques.tolist()):
        norm = norms.get(survey)
        if norm is not None:
            tables.append(np.asarray(norm, dtype=np.float64))
            start[code + 1], size[code + 1] = at, len(norm)
            at += len(norm)
    row_code = codes + 1
    has = item_ms.lengths == size[row_code]
    where = np.where(np.repeat(has, item_ms.lengths), np.repeat(start[row_code], item_ms.lengths) + item_ms.position(), 0)
    return np.concatenate(tables)[where]


def _row_running_sum_max(z: np.ndarray, rows) -> np.ndarray:
    """Highest running sum of each row's values (``-inf`` for an empty row), each row summed on
    its own from its first value, so a row's result never depends on the other rows (a row alone
    and inside a batch give the same bits). Rows are laid out as the rows of zero-padded
    matrices, one per power-of-two width (padding after a row's end repeats its total)."""
    lengths = rows.lengths
    out = np.full(len(lengths), -np.inf)
    has = np.flatnonzero(lengths > 0)
    if not len(has):
        return out
    width = np.left_shift(1, np.ceil(np.log2(lengths[has])).astype(np.int64))
    for w in np.unique(width).tolist():
        pick = has[width == w]
        n_values = lengths[pick]
        inside = np.arange(w) < n_values[:, None]
        block = np.where(inside, z[np.where(inside, rows.offsets[pick][:, None] + np.arange(w), 0)], 0.0)
        out[pick] = np.cumsum(block, axis=1).max(axis=1)
    return out

"""Answers family: careless responding, attention checks and the honeypot.

The careless-responding indices (:mod:`fraudscore.features.careless`, R ``careless`` semantics)
need reference statistics of the survey's items, so ``fit`` learns one
:class:`~fraudscore.features.careless.CarelessReference` per survey from calibration data and
``transform`` applies it: a submission is scored alone exactly as inside its batch. For a survey
not seen in ``fit`` only the reference-free indices are computed (the others stay NaN): scoring
must not depend on which other submissions happen to share the batch.
"""

from __future__ import annotations

import numpy as np

from fraudscore.features.careless import (
    CarelessReference,
    attention_check_failures,
    honeypot_filled,
    irv,
    likert_matrix,
    longstring,
    split_irv,
)
from fraudscore.features.context import FeatureContext
from fraudscore.features.registry import one_row_columns, register

__all__ = ["MIN_CALIBRATION_ROWS"]

#: Below this many calibration submissions a survey's covariance and item pairs are noise.
MIN_CALIBRATION_ROWS = 30
_SPLITS = 3


def _survey_rows(ctx: FeatureContext, whole: bool = False):
    """(survey id, row indices) per distinct survey of the batch.

    ``whole``: when every row belongs to one survey, its rows come as ``slice(None)`` (no
    gathering of rows needed: the common case, and every one-row batch).
    """
    codes, uniques = ctx.survey_codes
    if whole and len(uniques) == 1 and codes.min(initial=0) >= 0:
        yield uniques[0], slice(None)
        return
    order = np.argsort(codes, kind="stable")
    bounds = np.searchsorted(codes[order], np.arange(len(uniques) + 1))
    for i, survey in enumerate(uniques):
        yield survey, order[bounds[i]:bounds[i + 1]]


def _n_items(ctx: FeatureContext, survey: str, rows: np.ndarray) -> int:
    spec = ctx.surveys.get(survey)
    if spec is not None and spec.n_likert:
        return spec.n_likert
    lengths = ctx.batch.column("answers.likert").lengths[rows]
    return int(lengths.max()) if len(lengths) else 0


def fit_references(ctx: FeatureContext) -> dict:
    """One CarelessReference per survey with enough scorable calibration rows."""
    references = {}
    likert = ctx.batch.column("answers.likert")
    for survey, rows in _survey_rows(ctx):
        rows = rows[ctx.batch.valid[rows]]
        n_items = _n_items(ctx, survey, rows)
        if len(rows) < MIN_CALIBRATION_ROWS or n_items < 2:
            continue
        matrix = likert_matrix(likert.take(rows), n_items)
        references[survey] = CarelessReference(num_split=_SPLITS).fit(matrix, ctx.surveys.get(survey))
    return {"references": references}


_COLUMNS = tuple(f"answers.{name}" for name in (
    "longstring_max", "longstring_share", "longstring_avg", "irv", "irv_split_min", "mahad_per_item", "evenodd",
    "psychsyn", "psychant", "person_total", "attention_failures", "skipped_share"))


@register("careless", "answers", "none", [
    ("longstring_max", "longest run of identical consecutive Likert answers (straight-lining)"),
    ("longstring_share", "longest run as a share of the Likert items"),
    ("longstring_avg", "average run length of identical consecutive answers"),
    ("irv", "intra-individual response variability: SD of the person's answers"),
    ("irv_split_min", "lowest IRV over three consecutive item chunks (careless onset part-way)"),
    ("mahad_per_item", "Mahalanobis distance from the survey's answer distribution, per item"),
    ("evenodd", "even-odd consistency across scales (careless 1.2.1+ sign: high = inconsistent)"),
    ("psychsyn", "correlation over psychometric-synonym item pairs (low = careless)"),
    ("psychant", "correlation over psychometric-antonym item pairs (high = careless)"),
    ("person_total", "correlation of the person's answers with the item means (low = careless)"),
    ("attention_failures", "attention-check items not answered as instructed"),
    ("skipped_share", "share of Likert items skipped"),
    ("honeypot", "the hidden honeypot field was filled (only bots see it)"),
], fit=fit_references)
def careless(ctx: FeatureContext, state) -> dict:
    n = ctx.n
    references = (state or {}).get("references", {})
    if n == 1:
        one = _careless_one(ctx, references)
        if one is not None:
            return one
    # Rows of one NaN block: one allocation instead of one per column.
    out = dict(zip(_COLUMNS, np.full((len(_COLUMNS), n), np.nan)))
    likert = ctx.batch.column("answers.likert")
    for survey, rows in _survey_rows(ctx, whole=True):
        reference = references.get(survey)
        n_items = reference.n_items_ if reference is not None else _n_items(ctx, survey, rows)
        if n_items < 1:
            continue
        matrix = likert_matrix(likert if isinstance(rows, slice) else likert.take(rows), n_items)
        answered = n_items - np.count_nonzero(np.isnan(matrix), axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            if reference is not None:
                values, splits = reference._indices(matrix)
                if splits is None:
                    splits = np.full((len(matrix), 1), np.nan)
                out["answers.mahad_per_item"][rows] = values["mahad"] / np.maximum(answered, 1)
                for name in ("evenodd", "psychsyn", "psychant", "person_total"):
                    out[f"answers.{name}"][rows] = values[name]
                out["answers.attention_failures"][rows] = values["attention_check_failures"]
            else:
                values = {"irv": irv(matrix)}
                values["longstring_max"], values["longstring_avg"] = longstring(matrix)
                splits = split_irv(matrix, _SPLITS) if n_items >= _SPLITS else np.full((len(matrix), 1), np.nan)
                spec = ctx.surveys.get(survey)
                if spec is not None and spec.attention_checks:
                    out["answers.attention_failures"][rows] = attention_check_failures(matrix, spec.attention_checks)
            out["answers.longstring_max"][rows] = values["longstring_max"]
            out["answers.longstring_avg"][rows] = values["longstring_avg"]
            out["answers.longstring_share"][rows] = values["longstring_max"] / n_items
            out["answers.irv"][rows] = values["irv"]
            missing = np.isnan(splits)
            # The lowest defined chunk IRV: fmin ignores NaN as nanmin does, minus its Python layer.
            lowest = np.fmin.reduce(np.where(missing, np.inf, splits), axis=1)
            out["answers.irv_split_min"][rows] = np.where(missing.all(axis=1), np.nan, lowest)
            out["answers.skipped_share"][rows] = 1.0 - answered / n_items
    out["answers.honeypot"] = honeypot_filled(ctx.batch.column("answers.honeypot"))
    return out


def _careless_one(ctx: FeatureContext, references: dict) -> dict | None:
    """:func:`careless` of a batch of one row scored against its survey's reference (the scoring
    case): the same indices and arithmetic on the row's values, without a NaN column per index
    and a dozen (1,)-shaped assignments. None otherwise (the general code then)."""
    codes, uniques = ctx.survey_codes
    reference = references.get(uniques[0]) if codes[0] >= 0 else None
    if reference is None or reference.n_items_ < 1:
        return None
    n_items = reference.n_items_
    matrix = likert_matrix(ctx.batch.column("answers.likert"), n_items)
    answered = n_items - sum(v != v for v in matrix[0].tolist())
    with np.errstate(invalid="ignore", divide="ignore"):
        values, splits = reference._indices(matrix)
    defined = [v for v in splits[0].tolist() if v == v] if splits is not None else []
    longest = values["longstring_max"][0]
    return one_row_columns(_COLUMNS, [
        longest, longest / n_items, values["longstring_avg"][0], values["irv"][0],
        min(defined) if defined else np.nan,  # the lowest defined chunk IRV, as fmin over them
        values["mahad"][0] / max(answered, 1), values["evenodd"][0], values["psychsyn"][0], values["psychant"][0],
        values["person_total"][0], values["attention_check_failures"][0], 1.0 - answered / n_items,
    ]) | {"answers.honeypot": honeypot_filled(ctx.batch.column("answers.honeypot"))}

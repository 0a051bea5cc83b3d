"""Shared check of the families' one-row paths (``score_one``): each record scored alone gets,
bit for bit, its row of the column code run on the records as one batch (NaN equals NaN; the
sign of a zero counts)."""

from __future__ import annotations

import numpy as np

from fraudscore.features._unique import factorization_cache
from fraudscore.features.context import FeatureContext
from fraudscore.io import from_records


def _columns(batch, groups, surveys: dict, states: dict) -> dict:
    ctx = FeatureContext(batch, surveys)
    with factorization_cache(), np.errstate(all="ignore"):
        return {name: values for group in groups for name, values in group(ctx, states.get(group)).items()}


def _same_bits(a: np.ndarray, b: np.ndarray) -> bool:
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return a.shape == b.shape and bool(((a.view(np.int64) == b.view(np.int64)) | (np.isnan(a) & np.isnan(b))).all())


def assert_alone_as_in_the_batch(records: list, groups, surveys: dict, states: dict | None = None) -> None:
    """Every feature of ``groups`` (fitted states by group function in ``states``) for each record
    alone equals its row for all ``records``."""
    states = states or {}
    in_batch = _columns(from_records(records), groups, surveys, states)
    for i, record in enumerate(records):
        alone = _columns(from_records([record]), groups, surveys, states)
        for name, values in alone.items():
            assert values.shape == (1,), name
            assert _same_bits(values, in_batch[name][i:i + 1]), (name, i, values, in_batch[name][i])

"""Validation of the simulator's knobs and the fixed block size that makes output chunk-independent."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["FAMILIES", "DIFFICULTY_LEVELS", "BLOCK_ROWS", "Knobs", "check_knobs"]

#: The eight attack families, in label order.
FAMILIES: tuple[str, ...] = (
    "naive_bot",
    "stealth_bot",
    "llm_agent",
    "click_farm",
    "duplicate",
    "careless",
    "geo_fraud",
    "emulator_farm",
)

#: Named difficulty levels -> mean attacker sophistication in [0, 1].
DIFFICULTY_LEVELS = {"crude": 0.0, "default": 0.5, "hard": 1.0}

#: Rows are generated in fixed blocks, each with its own generator spawned from the seed by block
#: index, so any chunking of the output (``write_simulation(chunk_size=...)``) gives the same rows.
BLOCK_ROWS = 2_000


@dataclass(frozen=True)
class Knobs:
    """Validated simulation parameters.

    Parameters
    ----------
    n : int
        Number of submissions.
    fraud_rate : float
        Share of fraudulent submissions, in [0, 1].
    families : tuple of str
        Attack families drawn from, equally weighted.
    difficulty : float
        Mean attacker sophistication: 0 = crude, 1 = human-mimicking.
    seed : int
        Root of every random stream.
    """

    n: int
    fraud_rate: float
    families: tuple[str, ...]
    difficulty: float
    seed: int


def _difficulty(value) -> float:
    if isinstance(value, str):
        key = value.strip().lower()
        if key in DIFFICULTY_LEVELS:
            return DIFFICULTY_LEVELS[key]
        try:
            value = float(key)
        except ValueError:
            raise ValueError(
                f"difficulty must be one of {sorted(DIFFICULTY_LEVELS)} or a number in [0, 1], got {value!r}"
            ) from None
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise ValueError(f"difficulty must be one of {sorted(DIFFICULTY_LEVELS)} or a number in [0, 1], got {value!r}")
    value = float(value)
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"difficulty must be in [0, 1], got {value}")
    return value


def check_knobs(n, fraud_rate, families, difficulty, seed) -> Knobs:
    """Validate the public knobs; every bad value raises a ValueError that names it."""
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)):
        raise ValueError(f"n must be a whole number of submissions, got {n!r}")
    if n < 0:
        raise ValueError(f"n must be >= 0, got {n}")
    if isinstance(fraud_rate, bool) or not isinstance(fraud_rate, (int, float, np.integer, np.floating)):
        raise ValueError(f"fraud_rate must be a number in [0, 1], got {fraud_rate!r}")
    if not 0.0 <= float(fraud_rate) <= 1.0:
        raise ValueError(f"fraud_rate must be in [0, 1], got {fraud_rate}")
    if families is None:
        fams = FAMILIES
    else:
        if isinstance(families, str):
            families = [f for f in families.split(",") if f.strip()]
        fams = tuple(str(f).strip() for f in families)
        unknown = [f for f in fams if f not in FAMILIES]
        if unknown:
            raise ValueError(f"unknown attack families {unknown}; known: {list(FAMILIES)}")
        if not fams:
            raise ValueError("families must name at least one attack family (or be None for all)")
        fams = tuple(dict.fromkeys(fams))
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a non-negative whole number, got {seed!r}")
    return Knobs(int(n), float(fraud_rate), fams, _difficulty(difficulty), int(seed))

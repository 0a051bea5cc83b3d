"""Labelled survey traffic: honest people and eight attack families, deterministic from a seed.

>>> from fraudscore.simulation import simulate
>>> sim = simulate(50, fraud_rate=0.2, seed=1)
>>> len(sim.records), sim.labels.columns.tolist()[:3]
(50, ['is_fraud', 'family', 'subtype'])

Rows are generated in fixed blocks of :data:`BLOCK_ROWS`, each from its own generator spawned
from the seed by block index, so the same seed gives the same rows however the output is chunked.
See docs/SIMULATOR.md for the model, its sources and what each family does and does not model.
"""

from __future__ import annotations

from ._knobs import BLOCK_ROWS, DIFFICULTY_LEVELS, FAMILIES
from .attacks import SUBTYPES
from .design import default_survey
from .simulate import Simulation, simulate
from .writer import write_simulation

__all__ = ["simulate", "Simulation", "write_simulation", "default_survey", "FAMILIES", "SUBTYPES",
           "DIFFICULTY_LEVELS", "BLOCK_ROWS"]

"""fraudscore: catch fraud in online survey submissions.

A high score means likely fraud. Survey backends read submissions (records, DataFrames, Arrow
tables, Parquet or JSONL files) into a validated :class:`SubmissionBatch`; every input row gives
exactly one output row, in order, and a bad row is marked with an error code, never dropped.

Nothing heavy is imported here: submodules load on first attribute access.
"""

from __future__ import annotations

import importlib

__version__ = "0.1.0"

_LAZY = {
    "SubmissionBatch": "fraudscore.batch",
    "Ragged": "fraudscore.batch",
    "read_batch": "fraudscore.io",
    "iter_batches": "fraudscore.io",
    "Results": "fraudscore.results",
    "Code": "fraudscore.codes",
    "FIELDS": "fraudscore.schema",
    "schema_hash": "fraudscore.schema",
    "simulate": "fraudscore.simulation",
    "SurveySpec": "fraudscore.survey",
    "FeatureExtractor": "fraudscore.features.extractor",
    "FraudModel": "fraudscore.model",
    "load_model": "fraudscore.model",
    "CompiledForest": "fraudscore.forest",
    "Scorer": "fraudscore.scorer",
    "score": "fraudscore.scorer",
    "retain_freed_memory": "fraudscore.allocator",
}

__all__ = sorted(_LAZY) + ["__version__"]


def __getattr__(name: str):
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'fraudscore' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__():
    return __all__

"""The feature registry: every feature's name, family, meaning and consent gate, and its code.

Features are registered in *groups*: one function computes several related columns at once
(pointer statistics share their segment arithmetic). A group may also learn reference
statistics in ``fit`` (survey duration medians, Likert covariance) so that a fitted extractor
scores one submission alone. docs/FEATURES.md is generated from this registry.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

__all__ = ["Feature", "FeatureGroup", "FAMILIES", "register", "groups", "features", "features_markdown", "one_row_columns"]

#: Feature families (DESIGN.md "Feature families"), in the order of the feature matrix.
FAMILIES = ("device", "network", "timing", "pointer", "keys", "scroll", "focus", "answers", "content", "history")


@dataclass(frozen=True)
class Feature:
    """One column of the feature matrix."""

    name: str
    family: str
    meaning: str
    consent: str  # "none", "usage" or "analytics": without it the column is NaN


@dataclass(frozen=True)
class FeatureGroup:
    """Features computed together.

    ``compute(ctx, state) -> dict[name, ndarray (n,)]`` must return every feature of the group;
    ``fit(ctx) -> state`` (optional) learns what ``compute`` needs from calibration data.
    """

    name: str
    family: str
    consent: str
    features: tuple[Feature, ...]
    compute: Callable
    fit: Callable | None = field(default=None)


_GROUPS: dict[str, FeatureGroup] = {}
_generation = 0  # bumped by every registration, so what is planned from the groups can be re-planned


def register(name: str, family: str, consent: str, features: list[tuple[str, str]], fit: Callable | None = None):
    """Decorator registering ``compute`` as the group ``name`` of ``(feature name, meaning)`` pairs."""
    if family not in FAMILIES:
        raise ValueError(f"unknown feature family {family!r}")

    def decorate(compute: Callable) -> Callable:
        feats = tuple(Feature(f"{family}.{fname}", family, meaning, consent) for fname, meaning in features)
        global _generation
        _GROUPS[name] = FeatureGroup(name, family, consent, feats, compute, fit)
        _generation += 1
        return compute

    return decorate


def _load_families() -> None:
    # Importing the family modules registers their groups; done lazily so that importing the
    # registry alone stays cheap.
    from fraudscore.features import (  # noqa: F401
        answers,
        content,
        device,
        focus,
        history,
        keys,
        network,
        pointer,
        scroll,
        timing,
    )


def generation() -> int:
    """How many registrations have happened (after loading the built-in families): a cache key for
    anything derived from :func:`groups`."""
    _load_families()
    return _generation


def groups() -> tuple[FeatureGroup, ...]:
    """All registered groups, ordered by family then registration."""
    _load_families()
    order = {f: i for i, f in enumerate(FAMILIES)}
    return tuple(sorted(_GROUPS.values(), key=lambda g: order[g.family]))


def features() -> tuple[Feature, ...]:
    """All features, in feature-matrix column order."""
    out = tuple(f for g in groups() for f in g.features)
    names = [f.name for f in out]
    if len(set(names)) != len(names):
        raise RuntimeError("duplicate feature names in the registry")
    return out


def features_markdown() -> str:
    """docs/FEATURES.md."""
    lines = [
        "# Feature catalogue",
        "",
        "Generated from the registry in `fraudscore/features/` by `python -m fraudscore.docs`; do not",
        "edit by hand. Every feature is a float32 column; NaN means unknown, or not computed because",
        "the consent it needs was not given.",
        "",
        "| feature | family | consent | meaning |",
        "|---|---|---|---|",
    ]
    for f in features():
        lines.append(f"| `{f.name}` | {f.family} | {f.consent} | {f.meaning} |")
    return "\n".join(lines) + "\n"


def as_float32(values) -> np.ndarray:
    """A feature column as float32, non-finite values as NaN."""
    out = np.asarray(values, dtype=np.float32)
    out[~np.isfinite(out)] = np.nan
    return out


def one_row_columns(names, values) -> dict:
    """A group's columns for a batch of one row (``score_one``): ``values`` (floats or bools) in one
    float64 array, each feature a one-element view of it."""
    return dict(zip(names, np.array(values, dtype=np.float64).reshape(-1, 1)))

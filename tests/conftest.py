"""Shared test configuration: hypothesis profiles and the example submissions (``redis_url`` is in ../conftest.py)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

ROOT = Path(__file__).resolve().parents[1]

# CI runs more examples than a developer's loop, and never with a deadline: the machines are
# shared and a slow example is not a failure.
settings.register_profile("dev", max_examples=60, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
settings.register_profile("ci", max_examples=100, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
settings.load_profile("ci" if os.environ.get("CI") == "true" else "dev")

# Tests use the public development key on purpose; silence its warning unless a test asks for it.
os.environ.setdefault("FRAUDSCORE_SECRET", "fraudscore-test-secret-0123456789abcdef")


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return ROOT


@pytest.fixture(scope="session")
def example_path() -> Path:
    return ROOT / "examples" / "submissions.jsonl"


@pytest.fixture()
def example_records(example_path) -> list:
    """The example file's rows that are valid JSON objects (fresh copies per test)."""
    out = []
    for line in example_path.read_text(encoding="utf-8").splitlines():
        try:
            value = json.loads(line)
        except ValueError:
            continue
        if isinstance(value, dict):
            out.append(value)
    return out

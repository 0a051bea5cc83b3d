"""Simulator throughput: full-telemetry submissions per second, gated on same-run ratios.

Gates (never an absolute time):
- generating rows column-wise into Arrow costs less than only converting the same rows into
  Python dicts (``Table.to_pylist``); ``pandas.json_normalize`` of those dicts is reported too;
- generation scales linearly: single-threaded, the per-row cost at the larger n is at most 2x
  the per-row cost at the smaller n (3x the rows; a quadratic step would give ~3).
Run ``FRAUDSCORE_BENCH_FULL=1 python benchmarks/bench_simulation.py`` for the figures reported
in benchmarks/README.md.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _timing import best_of, emit, quick_mode  # noqa: E402

from fraudscore.simulation import simulate, write_simulation  # noqa: E402


def _sizes() -> tuple[int, int]:
    return (2_000, 6_000) if quick_mode() else (20_000, 100_000)


def _single_thread_seconds(n: int, repeat: int) -> float:
    """Best time to build ``n`` rows in this thread only (no thread scheduling noise)."""
    from fraudscore.simulation._knobs import check_knobs
    from fraudscore.simulation.design import default_survey
    from fraudscore.simulation.generator import iter_tables

    knobs = check_knobs(n, 0.1, None, "default", 1)
    spec = default_survey()
    return best_of(lambda: list(iter_tables(knobs, spec, chunk_size=n, workers=1)), repeat=repeat)


def run() -> dict:
    small, large = _sizes()
    simulate(2_000, seed=0, output="arrow")  # load the UA and IP data once
    t_small = best_of(lambda: simulate(small, seed=1, output="arrow"), repeat=2 if quick_mode() else 3)
    t_large = best_of(lambda: simulate(large, seed=1, output="arrow"), repeat=1 if quick_mode() else 2)
    repeat = 3
    t1_small = _single_thread_seconds(small, repeat)
    t1_large = _single_thread_seconds(large, repeat)
    table = simulate(2_000, seed=1, output="arrow").data
    records = table.to_pylist()
    t_gen_2k = best_of(lambda: simulate(2_000, seed=1, output="arrow"), repeat=2)
    t_reference = best_of(lambda: pd.json_normalize(records), repeat=2)
    t_dicts = best_of(lambda: table.to_pylist(), repeat=2)
    t_parquet = float("nan")
    if not quick_mode():
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "bench.parquet")
            t_parquet = best_of(lambda: write_simulation(path, n=large, seed=1, progress=False), repeat=1)
    figures = {
        "rows_small": small,
        "rows_large": large,
        "arrow_subs_per_s": large / t_large,
        "arrow_subs_per_s_small": small / t_small,
        "single_thread_subs_per_s": large / t1_large,
        "parquet_subs_per_s": large / t_parquet,
        "reference_json_normalize_subs_per_s": 2_000 / t_reference,
        "speedup_vs_reference": t_reference / t_gen_2k,
        "speedup_vs_dicts": t_dicts / t_gen_2k,
        "per_row_cost_ratio_large_vs_small": (t1_large / large) / (t1_small / small),
    }
    return emit("simulation", figures)


@pytest.mark.bench
def test_simulation_throughput_ratios():
    fig = run()
    # Building every row with full telemetry from scratch must cost less than merely turning the
    # same rows into Python dicts (the per-row path this design avoids).
    assert fig["speedup_vs_dicts"] > 1.5, fig
    # Three times the rows: a quadratic step would give ~3; noise on a shared machine stays well under 2.
    assert fig["per_row_cost_ratio_large_vs_small"] < 2.0, fig


if __name__ == "__main__":
    run()

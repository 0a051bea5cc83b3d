"""Simulator throughput: full-telemetry submissions per second, gated on same-run ratios.

Gates (never an absolute time):
- generating rows column-wise into Arrow costs less than only converting the same rows into
  Python dicts (``Table.to_pylist``); ``pandas.json_normalize`` of those dicts is reported too;
- generation scales linearly: single-threaded, the per-row cost at the larger n is at most 2x
  the per-row cost at the smaller n (3x the rows; a quadratic step would give ~3);
- the speed-tuned event generators (pointer paths, keystrokes, scrolling, texts) are more than
  1.05x faster (CPU), on the same block's inputs, than their plain reference versions kept in
  tests/simulation/_reference.py (and give the same output); see the test for why the margin is
  thin.
Figures also reported: CPU seconds per 10,000 rows in one thread (``time.process_time``, which
shared-machine load barely moves) and rows/s of wall time with one and two threads.
Run ``FRAUDSCORE_BENCH_FULL=1 python benchmarks/bench_simulation.py`` for the figures reported
in benchmarks/README.md.
"""

from __future__ import annotations

import copy
import importlib.util
import os
import sys
import tempfile
import time
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


def _cpu_seconds_per_10k(repeat: int) -> float:
    """Best process CPU time of building 10,000 rows in one thread."""
    from fraudscore.simulation._knobs import check_knobs
    from fraudscore.simulation.design import default_survey
    from fraudscore.simulation.generator import iter_tables

    knobs = check_knobs(10_000, 0.1, None, "default", 1)
    spec = default_survey()
    best = float("inf")
    for _ in range(repeat):
        t0 = time.process_time()
        list(iter_tables(knobs, spec, chunk_size=10_000, workers=1))
        best = min(best, time.process_time() - t0)
    return best


def _threads_rows_per_s(n: int, workers: int, repeat: int) -> float:
    from fraudscore.simulation._knobs import check_knobs
    from fraudscore.simulation.design import default_survey
    from fraudscore.simulation.generator import iter_tables

    knobs = check_knobs(n, 0.1, None, "default", 1)
    spec = default_survey()
    return n / best_of(lambda: list(iter_tables(knobs, spec, chunk_size=n, workers=workers)), repeat=repeat)


STAGES = ("pointer_events", "plan_keys", "scroll_events", "compose_texts")


def _reference_module():
    path = Path(__file__).resolve().parent.parent / "tests" / "simulation" / "_reference.py"
    spec = importlib.util.spec_from_file_location("sim_reference", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _speedup_vs_reference(repeat: int) -> dict:
    """CPU time of each reference event generator over the fast one, on one block's inputs."""
    from fraudscore.simulation import assemble

    reference = _reference_module()
    inputs = {}
    originals = {name: getattr(assemble, name) for name in STAGES}

    def capture(name):
        def wrapped(*args):
            inputs.setdefault(name, copy.deepcopy(args))
            return originals[name](*args)
        return wrapped

    try:
        for name in STAGES:
            setattr(assemble, name, capture(name))
        simulate(2_000, fraud_rate=0.1, seed=1, output="arrow")
    finally:
        for name, fn in originals.items():
            setattr(assemble, name, fn)
    spent = {(label, name): float("inf") for label in ("fast", "reference") for name in STAGES}
    impls = [("fast", originals), ("reference", {n: getattr(reference, n) for n in STAGES})]
    for i in range(repeat):
        # Interleaved, so load changes hit both alike, and in alternating order: the second run
        # reuses memory the first one faulted in.
        for name in STAGES:
            for label, impl in impls[:: 1 if i % 2 else -1]:
                args = copy.deepcopy(inputs[name])  # fresh generator state and inputs for each run
                t0 = time.process_time()
                impl[name](*args)
                spent[label, name] = min(spent[label, name], time.process_time() - t0)
    ratios = {name: spent["reference", name] / spent["fast", name] for name in STAGES}
    ratios["all"] = (sum(spent["reference", n] for n in STAGES) / sum(spent["fast", n] for n in STAGES))
    return ratios


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
    cpu_10k = _cpu_seconds_per_10k(repeat=2 if quick_mode() else 5)
    threads_n = 4_000 if quick_mode() else 20_000
    rows_1_thread = _threads_rows_per_s(threads_n, 1, repeat=1 if quick_mode() else 3)
    rows_2_threads = _threads_rows_per_s(threads_n, 2, repeat=1 if quick_mode() else 3)
    speedup_reference = _speedup_vs_reference(repeat=10)
    t_parquet = t_parquet_2 = float("nan")
    if not quick_mode():
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "bench.parquet")
            t_parquet = best_of(lambda: write_simulation(path, n=large, seed=1, progress=False), repeat=1)
            t_parquet_2 = best_of(lambda: write_simulation(path, n=large, seed=1, progress=False, workers=2),
                                  repeat=1)
    figures = {
        "rows_small": small,
        "rows_large": large,
        "arrow_subs_per_s": large / t_large,
        "arrow_subs_per_s_small": small / t_small,
        "single_thread_subs_per_s": large / t1_large,
        "parquet_subs_per_s": large / t_parquet,
        "parquet_2_processes_subs_per_s": large / t_parquet_2,
        "cpu_seconds_per_10k_rows_1_thread": cpu_10k,
        "rows_per_cpu_second_1_thread": 10_000 / cpu_10k,
        "rows_per_s_1_thread": rows_1_thread,
        "rows_per_s_2_threads": rows_2_threads,
        "speedup_vs_reference_generators": speedup_reference["all"],
        "speedup_vs_reference_by_generator": {k: v for k, v in speedup_reference.items() if k != "all"},
        "load_average_1min": os.getloadavg()[0],
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
    # The tuned pointer/typing/scroll/text generators against the plain versions they replaced
    # (CPU, each stage's two versions timed back to back): 1.5-1.6x in a fresh process, where the
    # plain versions' large temporaries page-fault, but 1.16-1.27x in a process whose heap earlier
    # simulations have already grown (as under pytest; pointer paths drop from ~1.8x to ~1.1x).
    # A revert measures ~1.0; 1.05 catches it most of the time without failing on load alone.
    assert fig["speedup_vs_reference_generators"] > 1.05, fig


if __name__ == "__main__":
    run()

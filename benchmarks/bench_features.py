"""All feature families for simulated submissions with full telemetry, in batches and one row at a time.

Gates (same run, ratios only; benchmarks/README.md "Features"):

- linear scaling: the per-row cost at 4x the rows stays within 1.5x (nothing quadratic in rows);
- pointer kinematics (the largest family) at least ``KINEMATICS_SPEEDUP`` times faster per row
  than the original one-ragged-array-per-level implementation
  (``tests/features/pointer_reference.py``), on the same batch, with values equal to rounding (CPU time,
  best of interleaved repeats, one retry: load slows the two sides unevenly);
- a one-row ``transform`` (median CPU time over distinct submissions) costs at most
  ``ONE_ROW_IN_REFERENCE_CALLS`` times the original pointer kinematics on the same row, timed
  interleaved: a batch of one is a budget of small fixed costs (numpy and Python calls), so it is
  measured in a fixed, frozen workload of the same kind. (Against the batch path's per-row cost
  the gate could not tell old from new code, the batch path having sped up almost as much; a
  trivial numpy call as the unit varied 2x between processes.)

- a transform in a process with BLAS at its default threads costs at most ``BLAS_THREADS_COST``
  times the CPU of one with ``OMP_NUM_THREADS=1`` (child processes, alternated): no matrix
  product may wake BLAS threads, which busy-wait on the other cores after it.

Absolute figures (submissions/s, us/row per group, one-row ms) are printed as JSON lines and
recorded in benchmarks/README.md (issue #5's 100k submissions/s: 116-134k with ``n_jobs=2`` on the
shared 2-core host, 89-107k in one thread, 2026-12-06; see there).
"""

from __future__ import annotations

import functools
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests" / "features"))
from _timing import best_cpu, best_of, emit, quick_mode  # noqa: E402
from pointer_reference import reference_kinematics  # noqa: E402
from test_pointer_reference import assert_close  # noqa: E402

import fraudscore  # noqa: E402
from fraudscore.features.context import FeatureContext  # noqa: E402
from fraudscore.features.extractor import FeatureExtractor  # noqa: E402
from fraudscore.features.pointer import kinematics  # noqa: E402
from fraudscore.features.registry import FAMILIES, groups  # noqa: E402

LINEAR_SCALING = 1.5
#: Measured 2.6-2.9 on the quick mode's 1,000 rows, 3.1 on its 4,000, 4.1 on 20,000 and 6.8 on
#: 100,000 (the reference's whole-batch arrays leave the cache) at load average 0.5-2.5 on 2 cores
#: (the full-layout code before the moves were taken out: 1.8-2.1 on 4,000); 2.5 leaves a fifth
#: for load spikes, which slow one side of a ratio only.
KINEMATICS_SPEEDUP = 2.5
#: Measured 2.9-3.6 (4.2-4.3 before the moves were taken out; the original code: 15-17, mostly
#: pandas group-bys per call).
ONE_ROW_IN_REFERENCE_CALLS = 6.0
#: CPU of a transform with BLAS at its default threads over the same with ``OMP_NUM_THREADS=1``:
#: measured 1.33 when careless products woke BLAS threads, 1.00-1.02 since.
BLAS_THREADS_COST = 1.15


def _setup(n: int, seed: int = 21):
    sim = fraudscore.simulate(n, seed=seed, output="arrow")
    batch = fraudscore.read_batch(sim.data)
    extractor = FeatureExtractor(surveys=[sim.survey]).fit(batch)
    extractor.transform(batch)  # warm caches (UA LRU, IP tables) as in a running service
    return sim, batch, extractor


def measure(n: int, repeat: int = 3) -> dict:
    """Batch figures: transform (wall and CPU) and each group per row, rows/s per family, kinematics
    vs reference.

    BLAS is held to one thread, as ``OMP_NUM_THREADS=1`` would: otherwise the careless indices'
    small matrix products wake OpenBLAS threads that spin on the other core through the rest of
    the transform (CPU time about 2x wall from ~4,000 rows on, none below), which is no property
    of this code's scaling.
    """
    with threadpool_limits(limits=1, user_api="blas"):
        return _measure(n, repeat)


def _measure(n: int, repeat: int) -> dict:
    sim, batch, extractor = _setup(n)
    seconds = best_of(lambda: extractor.transform(batch), repeat)
    cpu_seconds = best_cpu(lambda: extractor.transform(batch), repeat)
    specs = {sim.survey.survey_id: sim.survey}
    per_group = {}
    for g in groups():
        def run(g=g):
            ctx = FeatureContext(batch, specs)
            ctx.ua, ctx.ip  # enrichment is shared by groups: not charged to the first one  # noqa: B018
            t0 = time.process_time()
            g.compute(ctx, extractor.states_.get(g.name))
            return time.process_time() - t0
        per_group[g.name] = min(run() for _ in range(repeat)) / n * 1e6
    by_family = {f: sum(per_group[g.name] for g in groups() if g.family == f) for f in FAMILIES}
    ctx = FeatureContext(batch, specs)
    assert_close(kinematics(ctx, None), reference_kinematics(batch), batch)  # to rounding, as its tests
    kin_times, ref_times = [], []
    for _ in range(repeat):  # interleaved, so a load change hits both sides alike
        kin_times.append(best_cpu(lambda: kinematics(FeatureContext(batch, specs), None), 1))
        ref_times.append(best_cpu(lambda: reference_kinematics(batch), 1))
    kin, ref = min(kin_times) / n * 1e6, min(ref_times) / n * 1e6
    return emit("features", {
        "rows": n, "rows_per_s": n / seconds, "us_per_row": seconds / n * 1e6,
        "cpu_s_per_10k_rows": cpu_seconds / n * 1e4, "rows_per_cpu_s": n / cpu_seconds,
        "us_per_row_by_group": {k: round(v, 2) for k, v in per_group.items()},
        "rows_per_s_by_family": {f: round(1e6 / v) if v > 0 else None for f, v in by_family.items()},
        "kinematics_us_per_row": kin, "reference_kinematics_us_per_row": ref, "kinematics_speedup": ref / kin,
    })


def measure_one_row(calls: int = 200, batch_rows: int = 4_000) -> dict:
    """One-row transforms (median CPU time over ``calls`` submissions), per-group one-row costs, and
    the same extractor's per-row cost on a ``batch_rows`` batch for scale."""
    sim, batch, extractor = _setup(batch_rows, seed=22)
    per_row = best_cpu(lambda: extractor.transform(batch), 3) / batch_rows
    ones = [fraudscore.read_batch(sim.data.slice(i, 1)) for i in range(calls)]
    for one in ones[:20]:
        extractor.transform(one)  # the same warm UA cache and IP tables as the batch
    samples, reference = [], []
    for one in ones:  # interleaved, so load changes hit both series alike
        t0 = time.process_time()
        extractor.transform(one)
        t1 = time.process_time()
        reference_kinematics(one)
        samples.append(t1 - t0)
        reference.append(time.process_time() - t1)
    one_row, unit = statistics.median(samples), statistics.median(reference)
    specs = {sim.survey.survey_id: sim.survey}
    per_group = {}
    for g in groups():
        times = []
        for one in ones:
            ctx = FeatureContext(one, specs)
            ctx.ua, ctx.ip  # noqa: B018
            t0 = time.process_time()
            g.compute(ctx, extractor.states_.get(g.name))
            times.append(time.process_time() - t0)
        per_group[g.name] = round(statistics.median(times) * 1e6, 1)
    return emit("features_one_row", {
        "one_row_ms": one_row * 1e3, "one_row_p90_ms": sorted(samples)[int(0.9 * len(samples))] * 1e3,
        "batch_us_per_row": per_row * 1e6, "one_row_in_batch_rows": one_row / per_row,
        "reference_kinematics_one_row_us": unit * 1e6, "one_row_in_reference_calls": one_row / unit,
        "us_by_group": per_group,
    })


def measure_threads(n: int = 100_000, repeat: int = 3) -> dict:
    """Wall-clock rows/s of one ``transform`` in one thread and with ``n_jobs=2`` (row chunks in
    two threads), alternated, best of ``repeat``; the two matrices must be identical. Reported, not
    gated: what a second core gives depends on what else the machine runs."""
    sim, batch, extractor = _setup(n)
    threaded = FeatureExtractor(surveys=[sim.survey], n_jobs=2).fit(batch)
    np.testing.assert_array_equal(threaded.transform(batch).view(np.uint32), extractor.transform(batch).view(np.uint32))
    one, two = [], []
    for _ in range(repeat):
        one.append(best_of(lambda: extractor.transform(batch), 1))
        two.append(best_of(lambda: threaded.transform(batch), 1))
    return emit("features_threads", {"rows": n, "rows_per_s_1_thread": n / min(one),
                                     "rows_per_s_2_threads": n / min(two), "speedup": min(one) / min(two)})


@functools.lru_cache(maxsize=None)
def _pair() -> tuple[dict, dict]:
    small, large = (1_000, 4_000) if quick_mode() else (20_000, 100_000)
    return measure(small), measure(large)


def test_feature_extraction_scales_linearly_in_rows():
    # CPU time: in wall time a busy machine alone moved the ratio to 1.57 in a CI run.
    small, large = _pair()
    if large["cpu_s_per_10k_rows"] > LINEAR_SCALING * small["cpu_s_per_10k_rows"]:  # one retry, both sides
        small, large = measure(small["rows"]), measure(large["rows"])
    assert large["cpu_s_per_10k_rows"] <= LINEAR_SCALING * small["cpu_s_per_10k_rows"], (small, large)


def test_pointer_kinematics_beat_the_ragged_reference():
    _, large = _pair()
    if large["kinematics_speedup"] < KINEMATICS_SPEEDUP:  # one retry: a load spike hits one side only
        large = measure(4_000 if quick_mode() else 20_000, repeat=5)
    assert large["kinematics_speedup"] >= KINEMATICS_SPEEDUP, large


def test_one_row_transform_fits_a_budget_of_reference_calls():
    figures = measure_one_row(100 if quick_mode() else 300)
    if figures["one_row_in_reference_calls"] > ONE_ROW_IN_REFERENCE_CALLS:  # one retry
        figures = measure_one_row(200)
    assert figures["one_row_in_reference_calls"] <= ONE_ROW_IN_REFERENCE_CALLS, figures


def transform_cpu_us_per_row(n: int, repeat: int = 3) -> float:
    """Best CPU time per row of ``transform`` in this process, BLAS threads as the environment left them."""
    _, batch, extractor = _setup(n)
    return best_cpu(lambda: extractor.transform(batch), repeat) / n * 1e6


def blas_threads_cost(n: int = 4_000, pairs: int | None = None) -> dict:
    """CPU per row of ``transform`` in a child process with BLAS at its default threads against one
    with ``OMP_NUM_THREADS=1``, alternated. BLAS threads woken by a product over OpenBLAS's one-thread
    size busy-wait on the other core after it, which the default child pays in CPU time (the
    threads exist only there: a limit set inside a process leaves them spinning)."""
    env = {k: v for k, v in os.environ.items() if k not in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")}
    code = (f"import sys; sys.path.insert(0, {str(Path(__file__).resolve().parent)!r}); "
            f"import bench_features as b; print(b.transform_cpu_us_per_row({n}))")

    def child(extra: dict) -> float:
        out = subprocess.run([sys.executable, "-c", code], env={**env, **extra}, capture_output=True, text=True,
                             check=True)
        return float(out.stdout.strip().splitlines()[-1])

    default, one = [], []
    for _ in range(pairs or (1 if quick_mode() else 2)):
        default.append(child({}))
        one.append(child({"OMP_NUM_THREADS": "1"}))
    return emit("features_blas_threads", {"rows": n, "cpu_us_per_row_default_blas": min(default),
                                          "cpu_us_per_row_one_blas_thread": min(one),
                                          "ratio": min(default) / min(one)})


def test_transform_costs_no_more_cpu_with_default_blas_threads():
    # Commit 3b35e4d: 16.1 vs 12.1 us/row at 4,000 rows (1.33x; 1.34x at 20,000); now 1.00-1.02x.
    figures = blas_threads_cost()
    if figures["ratio"] > BLAS_THREADS_COST:
        # Load hits one child only: retry with more pairs and keep each side's best of all runs
        # (a CI run on a host ~4x slower than usual measured 1.27 after a one-pair retry).
        again = blas_threads_cost(pairs=3)
        default = min(figures["cpu_us_per_row_default_blas"], again["cpu_us_per_row_default_blas"])
        one = min(figures["cpu_us_per_row_one_blas_thread"], again["cpu_us_per_row_one_blas_thread"])
        figures = {**again, "ratio": default / one, "first_ratio": figures["ratio"]}
    assert figures["ratio"] <= BLAS_THREADS_COST, figures


if __name__ == "__main__":
    measure(20_000)
    measure(100_000)
    measure_threads(100_000)
    measure_one_row(300)
    blas_threads_cost()

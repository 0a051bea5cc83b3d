"""Distributed scoring: one process vs a Dask LocalCluster of 1 and 2 worker processes.

All three score the same Parquet partitions with the shipped model and a Redis history (a fresh
key prefix each), timed after a warm-up job so the workers have imported fraudscore and compiled
the model, as on a long-lived cluster. Time covers both phases (record, then score).

Each cluster's figure is its fastest of 3 jobs (and the single process's of 3 runs): one 1-2 s
job per cluster met whatever the neighbours did in those seconds, and the quick-mode speed-up of
one and the same code read 0.80-1.45 from run to run (two CI runs failed at 0.86 and 1.00).

Gates (same run, ratios only):
- the 2 workers score at once: their CPU seconds over the job's wall seconds exceed 1.25 cores (a
  lock or a scheduler that serialises partitions gives at most 1.0), and 2 workers are faster than
  1 (speed-up > 1.05). Not 2x: on two shared cores the client, the scheduler and Redis take their
  share, and each worker's task runs ~25 % (up to 90 %) slower beside the other (memory and cache
  shared on the host); the best-of-3 quick speed-up read 1.17-1.44 in runs that measured a
  capacity of 1.6 or more. Two cores give even that only when nobody else uses them, so the run
  also measures the machine's *parallel capacity* (a CPU-bound loop in 2 processes vs 1, just
  before and after the 2-worker jobs); below 1.6 of an ideal 2.0 the machine is too busy to tell
  and the gate is skipped, saying so (when the capacity before is already below, the 2-worker jobs
  are not run at all);
- 1 worker costs at most 4x one process per row **in CPU time** (the client and the in-process
  scheduler, plus the worker processes' own CPU time, against the single process's): the
  two-phase design (phase 1 fingerprints and hashes every row once more) and Dask's scheduling
  stay a bounded overhead. CPU time rather than wall time because a cluster is three busy
  processes handing work to each other: on a loaded machine each hand-off waits for a core, and
  the wall-time ratio (reported too) went from 2.1 quiet to 6.0 with other suites running. The
  CPU ratio was 2.5 in quick mode (500-row partitions, so per-partition costs weigh in); a
  regression that made phase 2 record again, or recompile the model per partition, exceeds 4.
One worker is also timed keeping freed memory (``retain_freed_memory_on_workers``), reported
without a gate. Figures go to benchmarks/README.md ("Distributed scoring").
"""

from __future__ import annotations

import functools
import sys
import time
import uuid
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _timing import emit, quick_mode

pytest.importorskip("distributed")

SPEEDUP_2_WORKERS = 1.05
BUSY_CORES_2_WORKERS = 1.25
OVERHEAD_1_WORKER = 4.0
BUSY_MACHINE = 1.6


def _write_parts(directory: Path, parts: int, rows: int, seed: int) -> None:
    import pyarrow.parquet as pq

    from fraudscore.simulation import simulate

    table = simulate(parts * rows, seed=seed, output="arrow").data
    directory.mkdir(parents=True, exist_ok=True)
    for i in range(parts):
        pq.write_table(table.slice(i * rows, rows), directory / f"part{i:03d}.parquet")


def _single_process(directory: Path, redis_url: str, model) -> tuple[float, float]:
    """(wall seconds, CPU seconds) of scoring every partition in order in this process."""
    import pyarrow.parquet as pq

    from fraudscore.history import RedisStore
    from fraudscore.scorer import Scorer

    scorer = Scorer(model, history=RedisStore(redis_url, prefix=f"bench:{uuid.uuid4().hex}"))
    files = sorted(directory.glob("*.parquet"))
    scorer.score(pq.read_table(files[0]).slice(0, 50))  # warm: imports, caches
    start, cpu = time.perf_counter(), time.process_time()
    for path in files:
        scorer.score(pq.read_table(path))
    return time.perf_counter() - start, time.process_time() - cpu


def _spin(seconds_of_work: int = 3_000_000) -> float:
    start = time.perf_counter()
    total = 0
    for i in range(seconds_of_work):
        total += i * i
    return time.perf_counter() - start


def parallel_capacity() -> float:
    """How many cores' worth of CPU this machine gives 2 processes right now (ideal: 2.0)."""
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(2) as pool:
        list(pool.map(_spin, [10_000, 10_000]))  # start both processes first
        alone = pool.submit(_spin).result()
        start = time.perf_counter()
        list(pool.map(_spin, [3_000_000, 3_000_000]))
        together = time.perf_counter() - start
    return 2 * alone / together


def _on_cluster(directory: Path, warmup: Path, redis_url: str, workers: int, model,
                rounds: int = 3, retain: bool = False) -> tuple[float, float, float]:
    """Fastest of ``rounds`` scoring jobs: wall seconds, CPU seconds of this process and every
    worker, and CPU seconds of the workers alone. ``retain``: the workers keep freed memory
    (:func:`fraudscore.dask.retain_freed_memory_on_workers`) instead of Dask's malloc setting.

    One job per cluster put a 1-2 s job against whatever the neighbours did in those seconds: in
    quick mode the 2-vs-1 speed-up of the same code read 0.80-1.45 from run to run.
    """
    from distributed import Client, LocalCluster

    from fraudscore.dask import HistorySpec, retain_freed_memory_on_workers, score_dask

    def cpu() -> tuple[float, float]:  # this process holds the client and LocalCluster's scheduler
        return time.process_time(), sum(client.run(time.process_time).values())

    def run(path: Path) -> tuple[float, float, float]:
        spec = HistorySpec(redis_url, (("prefix", f"bench:{uuid.uuid4().hex}"),))
        start, (here, workers) = time.perf_counter(), cpu()
        # Parquet read straight into Arrow per partition
        score_dask(path, spec, model=model, client=client).compute()
        wall, (here_end, workers_end) = time.perf_counter() - start, cpu()
        return wall, here_end - here + workers_end - workers, workers_end - workers

    with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None,
                      silence_logs=50) as cluster, Client(cluster) as client:
        if retain:
            retain_freed_memory_on_workers(client)
        run(warmup)
        return min(run(directory) for _ in range(rounds))


def measure(redis_url: str, root: Path) -> dict:
    from fraudscore.model import load_model

    parts, rows = (8, 500) if quick_mode() else (8, 5_000)
    _write_parts(root / "data", parts, rows, seed=5)
    # Enough warm-up partitions that every worker scores some: a cold worker pays its imports, IP
    # tables and model compilation inside the timed job, which hides any speed-up on a short run.
    _write_parts(root / "warmup", 8, 100, seed=6)
    n = parts * rows
    model = load_model()  # once, outside every timing: one process and both clusters score with it
    single, single_cpu = min(_single_process(root / "data", redis_url, model) for _ in range(3))  # best, as below
    one, one_cpu, _ = _on_cluster(root / "data", root / "warmup", redis_url, 1, model)
    retained, retained_cpu, _ = _on_cluster(root / "data", root / "warmup", redis_url, 1, model, retain=True)
    capacity = parallel_capacity()
    figures = {}
    if capacity >= BUSY_MACHINE:  # else the 2-worker gate is skipped: no need to time its cluster
        two, _, two_workers_cpu = _on_cluster(root / "data", root / "warmup", redis_url, 2, model)
        capacity = min(capacity, parallel_capacity())
        figures = {"two_workers_rows_per_s": n / two, "speedup_2_vs_1": one / two,
                   "two_workers_busy_cores": two_workers_cpu / two}
    return emit("dask", {
        "rows": n, "partitions": parts,
        "single_process_rows_per_s": n / single,
        "one_worker_rows_per_s": n / one,
        **figures,
        "one_worker_vs_single_process_wall": one / single,
        "one_worker_vs_single_process_cpu": one_cpu / single_cpu,
        "single_process_cpu_us_per_row": single_cpu / n * 1e6,
        "one_worker_cpu_us_per_row": one_cpu / n * 1e6,
        # reported, not gated (tests/test_dask_allocator.py counts the page faults it saves)
        "one_worker_retained_rows_per_s": n / retained,
        "one_worker_retained_cpu_us_per_row": retained_cpu / n * 1e6,
        "retained_vs_default_one_worker_cpu": retained_cpu / one_cpu,
        "parallel_capacity": capacity,
    })


@functools.cache
def _figures(redis_url: str, root: str) -> dict:
    return measure(redis_url, Path(root))


@pytest.fixture(scope="module")
def figures(redis_url, tmp_path_factory):
    return _figures(redis_url, str(tmp_path_factory.mktemp("bench_dask")))


@pytest.mark.bench
def test_two_workers_score_at_once_and_faster_than_one(figures):
    if figures["parallel_capacity"] < BUSY_MACHINE:
        pytest.skip(f"machine too busy to measure a parallel speed-up: 2 processes get "
                    f"{figures['parallel_capacity']:.2f} cores' worth of CPU (figures: {figures})")
    assert figures["two_workers_busy_cores"] > BUSY_CORES_2_WORKERS, figures
    assert figures["speedup_2_vs_1"] > SPEEDUP_2_WORKERS, figures


@pytest.mark.bench
def test_one_worker_costs_a_bounded_multiple_of_one_process(figures):
    assert figures["one_worker_vs_single_process_cpu"] <= OVERHEAD_1_WORKER, figures


if __name__ == "__main__":
    import tempfile

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from conftest import redis_server

    with redis_server() as url, tempfile.TemporaryDirectory() as tmp:
        measure(url, Path(tmp))

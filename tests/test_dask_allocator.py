"""``retain_freed_memory_on_workers``: Dask workers reuse freed numpy temporaries instead of
faulting them back in, despite the nanny's ``MALLOC_TRIM_THRESHOLD_``, and so do workers that
join the cluster later. Counted (minor page faults of a fixed loop in the worker), not timed."""

from __future__ import annotations

import time

import pytest

pytest.importorskip("distributed")

from fraudscore.allocator import _glibc_mallopt  # noqa: E402
from fraudscore.dask import retain_freed_memory_on_workers  # noqa: E402

# Defined by exec as "__main__" code, so that cloudpickle ships the function itself to the worker
# processes (this test module is not importable there).
_SOURCE = '''
def faults_of_temporaries():
    """Minor page faults of 100 steps that make and free three 400 KB arrays each."""
    import os
    import resource

    import numpy as np

    x = np.random.default_rng(0).random(50_000)

    def step():
        a = x * 2.0
        b = x + a
        return float(np.sqrt(b)[0])

    for _ in range(5):
        step()
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(100):
        step()
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before, os.environ.get("MALLOC_TRIM_THRESHOLD_")
'''
_namespace = {"__name__": "__main__"}
exec(_SOURCE, _namespace)
faults_of_temporaries = _namespace["faults_of_temporaries"]


@pytest.mark.skipif(_glibc_mallopt() is None, reason="mallopt thresholds are glibc's")
def test_workers_keep_freed_memory_now_and_when_they_join():
    from distributed import Client, LocalCluster

    with LocalCluster(n_workers=1, threads_per_worker=1, processes=True, dashboard_address=None,
                      silence_logs=50) as cluster, Client(cluster) as client:
        (faults, trim), = client.run(faults_of_temporaries).values()
        assert trim == "65536"  # Dask's nanny setting, which the library's own check leaves alone
        assert faults > 1_000, faults  # ~3 x 98 a step: every freed array handed back to the kernel

        retain_freed_memory_on_workers(client)
        (faults, trim), = client.run(faults_of_temporaries).values()
        assert trim == "65536" and faults < 100, faults

        cluster.scale(2)
        client.wait_for_workers(2, timeout=60)
        deadline = time.monotonic() + 30
        while len(client.scheduler_info()["workers"]) < 2 and time.monotonic() < deadline:
            time.sleep(0.1)
        counts = [faults for faults, _ in client.run(faults_of_temporaries).values()]
        assert len(counts) == 2 and max(counts) < 100, counts  # the new worker too


def test_out_of_range_thresholds_are_refused_before_reaching_a_worker():
    with pytest.raises(ValueError, match="threshold"):
        retain_freed_memory_on_workers(client=None, trim_threshold=-1)

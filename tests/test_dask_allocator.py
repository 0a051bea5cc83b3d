"""``retain_freed_memory_on_workers``: Dask workers reuse freed numpy temporaries instead of
faulting them back in, despite the nanny's ``MALLOC_TRIM_THRESHOLD_``, and so do workers that
join the cluster later. Counted (minor page faults of a fixed loop in the worker), not timed."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

pytest.importorskip("distributed")

from fraudscore.allocator import _glibc_mallopt  # noqa: E402
from fraudscore.dask import retain_freed_memory_on_workers  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))  # tests import in importlib mode
from test_allocator import FAULTS_OF_TEMPORARIES  # noqa: E402

# Defined by exec as "__main__" code, so that cloudpickle ships the functions themselves to the
# worker processes (test modules are not importable there).
_namespace = {"__name__": "__main__"}
exec(FAULTS_OF_TEMPORARIES + """
def trim_setting():
    import os

    return os.environ.get("MALLOC_TRIM_THRESHOLD_")
""", _namespace)
faults_of_temporaries, trim_setting = _namespace["faults_of_temporaries"], _namespace["trim_setting"]


@pytest.mark.skipif(_glibc_mallopt() is None, reason="mallopt thresholds are glibc's")
def test_workers_keep_freed_memory_now_and_when_they_join():
    from distributed import Client, LocalCluster

    with LocalCluster(n_workers=1, threads_per_worker=1, processes=True, dashboard_address=None,
                      silence_logs=50) as cluster, Client(cluster) as client:
        (faults,) = client.run(faults_of_temporaries).values()
        assert list(client.run(trim_setting).values()) == ["65536"]  # the nanny's, which retain_freed_memory respects
        assert faults > 1_000, faults  # ~3 x 98 a step: every freed array handed back to the kernel

        retain_freed_memory_on_workers(client)
        (faults,) = client.run(faults_of_temporaries).values()
        assert faults < 100, faults  # the environment unchanged, malloc's thresholds raised

        cluster.scale(2)
        client.wait_for_workers(2, timeout=60)
        counts = list(client.run(faults_of_temporaries).values())
        assert len(counts) == 2 and max(counts) < 100, counts  # the new worker too


def test_out_of_range_thresholds_are_refused_before_reaching_a_worker():
    with pytest.raises(ValueError, match="threshold"):
        retain_freed_memory_on_workers(client=None, trim_threshold=-1)

"""``retain_freed_memory``: freed numpy temporaries are reused instead of faulted back in.

Each case runs in a child process, since the setting is process-wide: the child times nothing,
it counts the minor page faults of a loop that makes and frees three 400 KB arrays per step.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from fraudscore.allocator import _glibc_mallopt, retain_freed_memory

glibc_only = pytest.mark.skipif(_glibc_mallopt() is None, reason="mallopt thresholds are glibc's")

#: Source of a loop that makes and frees three 400 KB arrays a step, counting the minor page faults
#: of 100 steps: run in child processes here and in Dask workers (tests/test_dask_allocator.py).
FAULTS_OF_TEMPORARIES = r"""
def faults_of_temporaries():
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
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before
"""

_CHILD = r"""
import json, sys
how = sys.argv[1]
applied = None
if how == "retain":
    from fraudscore.allocator import retain_freed_memory
    applied = retain_freed_memory()
elif how == "cli":
    from fraudscore.cli import main
    main(["validate", sys.argv[2], "-q"])
""" + FAULTS_OF_TEMPORARIES + r"""
print(json.dumps({"applied": applied, "faults": faults_of_temporaries()}))
"""


def _child(how: str, *args: str, env: dict | None = None) -> dict:
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("MALLOC_", "GLIBC_TUNABLES"))}
    environment.update(env or {})
    done = subprocess.run([sys.executable, "-c", _CHILD, how, *args], capture_output=True, text=True, env=environment,
                          timeout=120, check=True)
    return json.loads(done.stdout.splitlines()[-1])


@glibc_only
def test_freed_temporaries_are_reused_instead_of_faulted_back_in():
    default = _child("default")
    retained = _child("retain")
    assert retained["applied"] is True
    # By default glibc returns the freed arrays' pages at every step: ~3 x 98 faults a step.
    assert default["faults"] > 1_000, default  # 29,400 here
    assert retained["faults"] < 100, retained


@glibc_only
def test_the_command_retains_freed_memory_for_itself(example_path):
    assert _child("cli", str(example_path))["faults"] < 100


@glibc_only
def test_an_operator_setting_in_the_environment_wins():
    kept = _child("retain", env={"MALLOC_TRIM_THRESHOLD_": "131072"})
    assert kept["applied"] is False
    assert kept["faults"] > 1_000  # glibc's own behaviour at that threshold, untouched


@pytest.mark.parametrize("kwargs", [{"trim_threshold": -1}, {"trim_threshold": 1 << 31},
                                    {"mmap_threshold": (32 << 20) + 1}, {"mmap_threshold": -5}])
def test_out_of_range_thresholds_are_refused(kwargs):
    with pytest.raises(ValueError, match="threshold"):
        retain_freed_memory(**kwargs)

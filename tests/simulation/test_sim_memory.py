"""Writing a large simulation keeps memory flat: it is bounded by one chunk, not by n."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

# VmHWM (kB), the high-water mark of this process's own memory. Not ru_maxrss: Linux carries that
# over from the parent across exec, so under a large pytest process "base" would be the parent's
# size and growth below it would go unseen.
_SCRIPT = r"""
import json, sys
from fraudscore.simulation import write_simulation

def high_water_kb():
    return int(next(line.split()[1] for line in open("/proc/self/status") if line.startswith("VmHWM:")))

n, chunk, path = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
write_simulation(path + ".warm.parquet", n=chunk, chunk_size=chunk, progress=False)  # loads data files
base = high_water_kb()
write_simulation(path, n=n, chunk_size=chunk, progress=False)
peak = high_water_kb()
print(json.dumps({"base_mb": base / 1024, "peak_mb": peak / 1024}))
"""


def _peak(tmp_path, n: int, chunk: int) -> dict:
    out = subprocess.run([sys.executable, "-c", _SCRIPT, str(n), str(chunk), str(tmp_path / f"m{n}.parquet")],
                         capture_output=True, text=True, check=True, timeout=1200)
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_peak_memory_does_not_grow_with_rows_written(tmp_path):
    small = _peak(tmp_path, 4_000, 2_000)
    large = _peak(tmp_path, 14_000, 2_000)
    growth_small = small["peak_mb"] - small["base_mb"]
    growth_large = large["peak_mb"] - large["base_mb"]
    # 3.5 times the rows may not cost more than a little allocator slack.
    assert growth_large < growth_small + 64, (small, large)


@pytest.mark.slow
def test_one_million_submissions_to_parquet_with_flat_memory(tmp_path):
    import pyarrow.parquet as pq

    result = _peak(tmp_path, 1_000_000, 20_000)
    assert pq.ParquetFile(tmp_path / "m1000000.parquet").metadata.num_rows == 1_000_000
    assert result["peak_mb"] - result["base_mb"] < 1_000, result

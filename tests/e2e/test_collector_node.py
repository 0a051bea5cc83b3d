"""The collector's own tests (``collector/test/``), run with Node's built-in test runner."""

from __future__ import annotations

import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_collector_node_tests_pass(node_binary):
    # The files, not the directory: Node 18/20 search a directory, newer versions take globs.
    files = sorted(str(p.relative_to(ROOT)) for p in (ROOT / "collector" / "test").glob("*.test.js"))
    assert files
    run = subprocess.run([node_binary, "--test", *files], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "# fail 0" in run.stdout and "# pass 0" not in run.stdout

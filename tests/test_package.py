"""The package surface: lazy exports resolve, and importing fraudscore stays light."""

from __future__ import annotations

import subprocess
import sys

import fraudscore


def test_every_lazy_export_resolves():
    for name in fraudscore.__all__:
        assert getattr(fraudscore, name) is not None, name


def test_import_does_not_load_heavy_modules():
    code = ("import sys, fraudscore; heavy = [m for m in ('pandas', 'pyarrow', 'sklearn', 'fraudscore.batch') "
            "if m in sys.modules]; print(','.join(heavy))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == ""

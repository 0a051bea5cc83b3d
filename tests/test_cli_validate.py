"""``fraudscore validate`` on the example file: summary, per-row findings, exit codes."""

from __future__ import annotations

import os
import subprocess
import sys

import pandas as pd
import pytest

from fraudscore.cli import main


def test_validate_prints_counts_per_code_and_writes_findings(example_path, tmp_path, capsys):
    out = tmp_path / "findings.csv"
    assert main(["validate", str(example_path), "-o", str(out), "-q"]) == 0
    text = capsys.readouterr().out
    assert "16 rows, 4 with errors" in text
    for code in ("INVALID_JSON", "NOT_AN_OBJECT", "MISSING_SUBMISSION_ID", "INVALID_IP", "TELEMETRY_UNSORTED"):
        assert code in text
    assert "device.useragent" in text  # the typo in the example file
    findings = pd.read_csv(out)
    assert len(findings) == 8
    assert findings["source_row"].is_monotonic_increasing
    assert set(findings.loc[findings["error"].notna(), "error"]) == {
        "INVALID_JSON", "NOT_AN_OBJECT", "MISSING_SUBMISSION_ID", "MISSING_STARTED_AT"}


@pytest.mark.parametrize("suffix", [".jsonl", ".parquet"])
def test_findings_in_other_formats(example_path, tmp_path, suffix):
    out = tmp_path / f"findings{suffix}"
    assert main(["validate", str(example_path), "-o", str(out), "-q", "--chunk-size", "5"]) == 0
    frame = pd.read_parquet(out) if suffix == ".parquet" else pd.read_json(out, lines=True)
    assert len(frame) == 8


def test_a_missing_file_is_a_clean_error_not_a_traceback(tmp_path, capsys):
    assert main(["validate", str(tmp_path / "nope.jsonl"), "-q"]) == 2
    assert "no such file" in capsys.readouterr().err


def test_the_console_script_runs(example_path, tmp_path):
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    done = subprocess.run([sys.executable, "-m", "fraudscore.cli", "validate", str(example_path), "-q"],
                          capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "scorable" in done.stdout

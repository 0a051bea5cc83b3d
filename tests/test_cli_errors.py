"""The command line's failures: one line on stderr saying why, an exit status, no traceback.

Status 2: what the command was given is missing or refused (input, model, results file);
status 1: something it needs failed (here a history store that does not answer).
"""

from __future__ import annotations

import subprocess
import sys

import pytest

from fraudscore.cli import main


def _one_error_line(err: str, *expected: str) -> None:
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err  # no traceback, and no progress bar drawn before the error
    assert lines[0].startswith("fraudscore "), err
    for text in expected:
        assert text in lines[0], err


def test_a_missing_input_is_reported_before_any_output_or_progress_bar(tmp_path, capsys):
    out = tmp_path / "results.parquet"
    assert main(["score", str(tmp_path / "nope.jsonl"), "-o", str(out)]) == 2
    _one_error_line(capsys.readouterr().err, "nope.jsonl: no such file")
    assert not out.exists()
    assert main(["validate", str(tmp_path / "nope.jsonl")]) == 2
    _one_error_line(capsys.readouterr().err, "no such file")


def test_an_input_of_unknown_type_is_refused_by_name(tmp_path, capsys):
    notes = tmp_path / "notes.txt"
    notes.write_text("not submissions\n")
    assert main(["score", str(notes), "-o", str(tmp_path / "out.csv")]) == 2
    _one_error_line(capsys.readouterr().err, "unknown file type", ".parquet or .jsonl")


def test_a_corrupt_parquet_input_is_refused_by_name(tmp_path, capsys):
    broken = tmp_path / "broken.parquet"
    broken.write_bytes(b"\x00" * 64)
    assert main(["score", str(broken), "-o", str(tmp_path / "out.csv")]) == 2
    _one_error_line(capsys.readouterr().err, "broken.parquet: not a readable Parquet file")


def test_a_directory_without_a_model_manifest_is_refused(example_path, tmp_path, capsys):
    assert main(["score", str(example_path), "-o", str(tmp_path / "out.csv"), "--model", str(tmp_path), "-q"]) == 2
    _one_error_line(capsys.readouterr().err, "no manifest")


def test_an_unreachable_history_store_is_a_failure_not_a_traceback(example_path, tmp_path, capsys, free_port):
    url = f"redis://127.0.0.1:{free_port()}/0"
    assert main(["score", str(example_path), "-o", str(tmp_path / "out.csv"), "--history", url, "-q"]) == 1
    _one_error_line(capsys.readouterr().err, "Redis history", "is unreachable", "refused")


def test_explain_reads_results_written_as_csv_and_names_a_missing_file(example_path, tmp_path, capsys):
    out = tmp_path / "out.csv"
    assert main(["score", str(example_path), "-o", str(out), "-q", "--reasons", "all"]) == 0
    capsys.readouterr()
    assert main(["explain", "ex-001", "--results", str(out)]) == 0
    text = capsys.readouterr().out
    assert text.startswith("ex-001: ") and "family sub-scores" in text
    assert main(["explain", "ex-001", "--results", str(tmp_path / "gone.csv")]) == 2
    _one_error_line(capsys.readouterr().err, "gone.csv: no such file")


@pytest.mark.parametrize("argv", [["score", "nope.jsonl", "-o", "out.csv"], ["explain", "x", "--results", "r.csv"]])
def test_the_console_script_exits_with_the_status(tmp_path, argv):
    done = subprocess.run([sys.executable, "-m", "fraudscore", *argv], cwd=tmp_path, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 2
    _one_error_line(done.stderr, "no such file")


def test_retaining_worker_memory_without_dask_is_refused(example_path, tmp_path, capsys):
    assert main(["score", str(example_path), "-o", str(tmp_path / "r.parquet"), "--retain-worker-memory", "-q"]) == 2
    assert "--retain-worker-memory is for --dask workers" in capsys.readouterr().err
    assert not (tmp_path / "r.parquet").exists()

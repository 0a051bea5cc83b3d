"""``fraudscore validate``: check what a backend sends against the input contract.

Streams a file through the same readers the scorer uses, counts rows per error and warning code,
lists unknown fields (usually typos), and writes one line per row that has a finding.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from tqdm.auto import tqdm

from fraudscore.batch import SubmissionBatch
from fraudscore.codes import MEANING, WARNINGS, Code
from fraudscore.io import iter_batches

__all__ = ["ValidationReport", "validate_file", "findings_frame"]


@dataclass
class ValidationReport:
    """Counts over a whole file."""

    path: str
    rows: int = 0
    rows_with_errors: int = 0
    rows_with_warnings: int = 0
    errors: Counter = field(default_factory=Counter)
    warnings: Counter = field(default_factory=Counter)
    unknown_fields: set = field(default_factory=set)
    output: str | None = None

    def add(self, batch: SubmissionBatch) -> None:
        self.rows += batch.n
        has_error = batch.error != 0
        self.rows_with_errors += int(has_error.sum())
        self.rows_with_warnings += int((batch.warnings != 0).sum())
        codes, counts = np.unique(batch.error[has_error], return_counts=True)
        self.errors.update({Code(int(c)).name: int(k) for c, k in zip(codes, counts)})
        for w in WARNINGS:
            k = int(((batch.warnings & np.uint64(w.bit)) != 0).sum())
            if k:
                self.warnings[w.name] += k
        self.unknown_fields.update(batch.unknown_fields)

    def summary(self) -> str:
        """Human-readable report."""
        clean = self.rows - self.rows_with_errors
        lines = [
            f"{self.path}: {self.rows} rows, {self.rows_with_errors} with errors (not scorable), "
            f"{self.rows_with_warnings} with warnings, {clean} scorable",
        ]
        if self.errors:
            lines.append("errors (rows):")
            lines += [f"  {name:28s} {count:>9d}  {MEANING[Code[name]]}" for name, count in self.errors.most_common()]
        if self.warnings:
            lines.append("warnings (rows):")
            lines += [f"  {name:28s} {count:>9d}  {MEANING[Code[name]]}" for name, count in self.warnings.most_common()]
        if self.unknown_fields:
            lines.append("fields the schema does not know (ignored; typos?): " + ", ".join(sorted(self.unknown_fields)))
        if self.output:
            lines.append(f"per-row findings written to {self.output}")
        return "\n".join(lines)


def findings_frame(batch: SubmissionBatch) -> pd.DataFrame:
    """Rows of ``batch`` with an error or warning: source row, id, codes and the message."""
    rows = np.flatnonzero((batch.error != 0) | (batch.warnings != 0))
    return pd.DataFrame({
        "source_row": batch.source_row[rows],
        "submission_id": batch.submission_id[rows],
        "error": batch.error_names()[rows],
        "warnings": [list(w) for w in batch.warning_names()[rows]],
        "message": batch.messages()[rows],
    })


def _rows_in(path: Path) -> int | None:
    if path.suffix.lower() in (".parquet", ".pq"):
        return pq.ParquetFile(path).metadata.num_rows
    return None


def validate_file(path: str | Path, output: str | Path | None = None, chunk_size: int = 50_000,
                  progress: bool = True) -> ValidationReport:
    """Validate a Parquet or JSONL file in chunks; optionally write per-row findings.

    Parameters
    ----------
    path : str or Path
        Submissions file.
    output : str or Path, optional
        ``.csv``, ``.jsonl`` or ``.parquet`` file for the rows that have findings.
    """
    path = Path(path)
    report = ValidationReport(str(path), output=str(output) if output else None)
    if output is not None and Path(output).suffix.lower() not in (".csv", ".jsonl", ".ndjson", ".parquet"):
        raise ValueError(f"{output}: write findings as .csv, .jsonl or .parquet")
    frames = []
    batches = iter_batches(path, chunk_size=chunk_size, check_unknown=True)  # checks the file before the bar shows
    bar = tqdm(total=_rows_in(path), unit="rows", disable=not progress, desc="validate")
    for batch in batches:
        report.add(batch)
        if output is not None:
            frames.append(findings_frame(batch))
        bar.update(batch.n)
    bar.close()
    if output is not None:
        _write_findings(frames, Path(output))
    return report


def _write_findings(frames: list[pd.DataFrame], output: Path) -> None:
    columns = ["source_row", "submission_id", "error", "warnings", "message"]
    frame = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=columns)
    suffix = output.suffix.lower()
    output.parent.mkdir(parents=True, exist_ok=True)
    if suffix == ".parquet":
        schema = pa.schema([("source_row", pa.int64()), ("submission_id", pa.string()), ("error", pa.string()),
                            ("warnings", pa.list_(pa.string())), ("message", pa.string())])
        pq.write_table(pa.Table.from_pandas(frame, schema=schema, preserve_index=False), output)
    elif suffix == ".csv":
        frame.assign(warnings=frame["warnings"].map(lambda w: ";".join(w))).to_csv(output, index=False)
    else:
        frame.to_json(output, orient="records", lines=True)

"""Write a large simulation to Parquet or JSONL in chunks, with bounded memory and a progress bar."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq

from ._knobs import check_knobs
from .design import default_survey
from ._knobs import BLOCK_ROWS
from .generator import iter_tables, iter_tables_processes
from .pylist import table_to_pylist

__all__ = ["write_simulation"]

_KIND_PATHS = [f"{name}.list.element" for name in ("telemetry.pointer.kind", "telemetry.keys.kind",
                                                   "telemetry.focus.kind")]


def _jsonl_default(value):
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.floating,)):
        return float(value)
    raise TypeError(f"not JSON serialisable: {type(value)}")


def write_simulation(path, n: int, fraud_rate: float = 0.1, families=None, difficulty="default", seed: int = 0,
                     chunk_size: int = 20_000, progress: bool = True, workers: int | None = None) -> str:
    """Simulate ``n`` submissions into ``path`` (``.parquet`` or ``.jsonl``), chunk by chunk.

    Rows equal those of ``simulate(n, ...)`` with the same knobs, whatever ``chunk_size`` or
    ``workers`` (forked processes building chunks ahead of the writer; default 1 = in this
    process, with two threads).
    Labels are written as the struct column ``label`` (flat name ``label.is_fraud`` etc.), which
    the reader ignores. Memory is bounded by one chunk (rounded to whole blocks of 2,000 rows).

    Returns
    -------
    str
        A one-line human summary: rows, fraud share, file, size, time.
    """
    knobs = check_knobs(n, fraud_rate, families, difficulty, seed)
    if isinstance(chunk_size, bool) or not isinstance(chunk_size, (int, np.integer)) or chunk_size < 1:
        raise ValueError(f"chunk_size must be a positive whole number, got {chunk_size!r}")
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in (".parquet", ".jsonl"):
        raise ValueError(f"output must end in .parquet or .jsonl, got {path.name!r}")
    spec = default_survey()
    n_chunks = -(-knobs.n // max(BLOCK_ROWS, chunk_size // BLOCK_ROWS * BLOCK_ROWS))
    if workers is None:
        workers = 1
    if isinstance(workers, bool) or not isinstance(workers, (int, np.integer)) or workers < 1:
        raise ValueError(f"workers must be a positive whole number, got {workers!r}")
    workers = workers if n_chunks > 1 and hasattr(os, "fork") else 1
    tables = (iter_tables_processes(knobs, spec, chunk_size, workers) if workers > 1
              else iter_tables(knobs, spec, chunk_size))
    t0 = time.perf_counter()
    bar = None
    if progress:
        from tqdm import tqdm
        bar = tqdm(total=knobs.n, unit="sub", desc="simulate")
    written = fraud = 0
    writer = None
    family_counts: dict[str, int] = {}
    try:
        with open(path, "wb") as fh:
            for table in tables:
                if suffix == ".parquet":
                    if writer is None:
                        # Dictionary pages and min/max statistics cost 40 % of the write time
                        # on telemetry lists and buy nothing for a file that is read whole; the
                        # event kinds keep theirs so they read back as the same dictionary.
                        writer = pq.ParquetWriter(fh, table.schema, compression="zstd",
                                                  use_dictionary=_KIND_PATHS, write_statistics=False)
                    writer.write_table(table, row_group_size=len(table))
                else:
                    lines = [json.dumps(r, separators=(",", ":"), ensure_ascii=False, default=_jsonl_default)
                             for r in table_to_pylist(table)]
                    fh.write(("\n".join(lines) + "\n").encode())
                labels = table.column("label").combine_chunks()
                fam = labels.field("family").to_numpy(zero_copy_only=False)
                for name, count in zip(*np.unique(fam, return_counts=True)):
                    family_counts[str(name)] = family_counts.get(str(name), 0) + int(count)
                fraud += int(np.sum(labels.field("is_fraud").to_numpy(zero_copy_only=False)))
                written += len(table)
                del table, labels
                if bar is not None:
                    bar.update(written - bar.n)
            if writer is not None:
                writer.close()
                writer = None
            elif suffix == ".parquet":  # n == 0: still a valid, empty file
                from .generator import empty_table
                pq.write_table(empty_table(knobs, spec), fh)
    finally:
        if bar is not None:
            bar.close()
    seconds = time.perf_counter() - t0
    size_mb = path.stat().st_size / 1e6
    share = fraud / written if written else 0.0
    families_text = ", ".join(f"{k} {v}" for k, v in sorted(family_counts.items()) if k != "honest")
    return (f"wrote {written:,} submissions ({share:.1%} fraud{': ' + families_text if families_text else ''}) "
            f"to {path} ({size_mb:.1f} MB) in {seconds:.1f} s, seed {knobs.seed}, difficulty {knobs.difficulty:g}")

"""Block-wise generation: the seed → blocks → Arrow tables, identical for any chunking."""

from __future__ import annotations

import os
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pyarrow as pa

from fraudscore.survey import SurveySpec

from ._knobs import BLOCK_ROWS, Knobs
from .assemble import block_table
from .attacks import apply_attacks, assign_families
from .population import draw_honest

__all__ = ["generate_block", "iter_tables"]


def generate_block(knobs: Knobs, spec: SurveySpec, block: int) -> pa.Table:
    """Rows ``block * BLOCK_ROWS`` .. of the sample, from that block's own generator."""
    start = block * BLOCK_ROWS
    m = min(BLOCK_ROWS, knobs.n - start)
    # One child SeedSequence per block: blocks are independent, so chunking cannot change rows.
    ss = np.random.SeedSequence(knobs.seed, spawn_key=(block,))
    rng = np.random.Generator(np.random.PCG64(ss))
    row_id = start + np.arange(m, dtype=np.int64)
    blk = draw_honest(rng, m, spec, row_id)
    family, subtype = assign_families(rng, m, knobs)
    apply_attacks(rng, blk, family, subtype, knobs)
    return block_table(rng, blk, knobs.seed)


def iter_tables(knobs: Knobs, spec: SurveySpec, chunk_size: int, workers: int | None = None) -> Iterator[pa.Table]:
    """Tables of about ``chunk_size`` rows (whole blocks) covering the sample in order.

    Blocks are independent, so up to ``workers`` threads (default: up to 2, the cores numpy's
    array kernels can use while they release the GIL) build them at once; the output does not
    depend on ``workers``.
    """
    n_blocks = -(-knobs.n // BLOCK_ROWS)
    per_chunk = max(1, chunk_size // BLOCK_ROWS)
    workers = min(2, os.cpu_count() or 1) if workers is None else workers
    if workers <= 1 or n_blocks == 1:
        for first in range(0, n_blocks, per_chunk):
            yield pa.concat_tables([generate_block(knobs, spec, b)
                                    for b in range(first, min(first + per_chunk, n_blocks))])
        return
    with ThreadPoolExecutor(max_workers=workers) as pool:
        for first in range(0, n_blocks, per_chunk):
            blocks = range(first, min(first + per_chunk, n_blocks))
            yield pa.concat_tables(list(pool.map(lambda b: generate_block(knobs, spec, b), blocks)))


def empty_table(knobs: Knobs, spec: SurveySpec) -> pa.Table:
    """A zero-row table with the generated schema."""
    from dataclasses import replace

    one = generate_block(replace(knobs, n=1), spec, 0)
    return one.slice(0, 0)

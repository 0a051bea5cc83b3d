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
from .population import Block, draw_honest

__all__ = ["generate_block", "generate_block_with_parameters", "iter_tables"]


def generate_block(knobs: Knobs, spec: SurveySpec, block: int) -> pa.Table:
    """Rows ``block * BLOCK_ROWS`` .. of the sample, from that block's own generator."""
    return generate_block_with_parameters(knobs, spec, block)[1]


def generate_block_with_parameters(knobs: Knobs, spec: SurveySpec, block: int) -> tuple[Block, pa.Table]:
    """:func:`generate_block`'s table and the per-row parameters it was rendered from.

    For studies of what the data can reveal (``fraudscore.ceiling``); the table is the same as
    :func:`generate_block`'s.
    """
    start = block * BLOCK_ROWS
    m = min(BLOCK_ROWS, knobs.n - start)
    # One child SeedSequence per block: blocks are independent, so chunking cannot change rows.
    ss = np.random.SeedSequence(knobs.seed, spawn_key=(block,))
    rng = np.random.Generator(np.random.PCG64(ss))
    row_id = start + np.arange(m, dtype=np.int64)
    blk = draw_honest(rng, m, spec, row_id)
    family, subtype = assign_families(rng, m, knobs)
    apply_attacks(rng, blk, family, subtype, knobs)
    return blk, block_table(rng, blk, knobs.seed)


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


def _chunk_ipc(args) -> bytes:
    """Worker-process body: one chunk of blocks, returned as Arrow IPC stream bytes."""
    knobs, spec, blocks = args
    table = pa.concat_tables([generate_block(knobs, spec, b) for b in blocks])
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return sink.getvalue().to_pybytes()


def iter_tables_processes(knobs: Knobs, spec: SurveySpec, chunk_size: int, workers: int = 2) -> Iterator[pa.Table]:
    """Like :func:`iter_tables`, with chunks built in ``workers`` forked processes.

    Threads share the GIL for numpy's many small calls; separate processes do not. At most
    ``workers + 1`` chunks are in flight, so memory stays bounded by a few chunks. The data files
    are loaded before forking, so children share them copy-on-write.
    """
    import multiprocessing as mp
    from collections import deque
    from concurrent.futures import ProcessPoolExecutor

    n_blocks = -(-knobs.n // BLOCK_ROWS)
    per_chunk = max(1, chunk_size // BLOCK_ROWS)
    chunks = [range(first, min(first + per_chunk, n_blocks)) for first in range(0, n_blocks, per_chunk)]
    generate_block(knobs, spec, 0)  # warm the UA and IP data in the parent before forking
    with ProcessPoolExecutor(max_workers=workers, mp_context=mp.get_context("fork")) as pool:
        pending: deque = deque()
        todo = iter(chunks)
        for blocks in todo:
            pending.append(pool.submit(_chunk_ipc, (knobs, spec, list(blocks))))
            if len(pending) > workers:
                break
        while pending:
            data = pending.popleft().result()
            nxt = next(todo, None)
            if nxt is not None:
                pending.append(pool.submit(_chunk_ipc, (knobs, spec, list(nxt))))
            yield pa.ipc.open_stream(pa.py_buffer(data)).read_all()


def empty_table(knobs: Knobs, spec: SurveySpec) -> pa.Table:
    """A zero-row table with the generated schema."""
    from dataclasses import replace

    one = generate_block(replace(knobs, n=1), spec, 0)
    return one.slice(0, 0)

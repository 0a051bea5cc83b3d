"""The speed-tuned generators give exactly the rows of their plain reference versions.

Each fast stage is wrapped so that, on every block a simulation builds, the reference version
(tests/simulation/_reference.py) runs on a copy of the block's random generator with the same
inputs; outputs must be equal bit for bit and both must leave the generator in the same state
(so every later draw, and therefore every later column, is unchanged too).
"""

from __future__ import annotations

import copy
import dataclasses
import importlib.util
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fraudscore.ragged import segment_index
from fraudscore.simulation import assemble, simulate
from fraudscore.simulation._kernels import choice_cdf, segments, select, weighted_choice


def _load_reference():
    # Tests import in importlib mode (no packages), so the sibling module is loaded by path.
    spec = importlib.util.spec_from_file_location("sim_reference", Path(__file__).with_name("_reference.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


reference = _load_reference()


def _equal(a, b) -> bool:
    if dataclasses.is_dataclass(a):
        return all(_equal(getattr(a, f.name), getattr(b, f.name)) for f in dataclasses.fields(a))
    if isinstance(a, (tuple, list)):
        return len(a) == len(b) and all(_equal(x, y) for x, y in zip(a, b))
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_equal(a[k], b[k]) for k in a)
    if isinstance(a, np.random.Generator):
        return a.bit_generator.state == b.bit_generator.state
    if isinstance(a, pa.Array):
        return a.equals(b)
    if isinstance(a, np.ndarray):
        # Bit-level equality: -0.0 vs 0.0 or two NaN payloads would already change a written file.
        return (a.dtype == b.dtype and a.shape == b.shape
                and np.array_equal(np.ascontiguousarray(a).view(np.uint8), np.ascontiguousarray(b).view(np.uint8)))
    return a == b


STAGES = ["pointer_events", "plan_keys", "scroll_events", "compose_texts"]


@pytest.mark.parametrize("stage", STAGES)
@pytest.mark.parametrize("knobs", [dict(fraud_rate=0.5, difficulty="crude"), dict(fraud_rate=0.5, difficulty="hard"),
                                   dict(fraud_rate=0.1)])
def test_fast_stage_equals_its_reference_on_every_block(monkeypatch, stage, knobs):
    fast = getattr(assemble, stage)
    slow = getattr(reference, stage)
    verdicts = []

    def both(*args):
        inputs = copy.deepcopy(args)  # the generator too: both paths start from the same state
        out = fast(*args)
        verdicts.append(_equal(out, slow(*inputs)) and _equal(args, inputs))  # same draws consumed, inputs unchanged
        return out

    monkeypatch.setattr(assemble, stage, both)
    simulate(2_500, seed=11, output="arrow", **knobs)  # a full block and a partial one
    assert len(verdicts) == 2 and all(verdicts)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(0, 7), max_size=40))
def test_segments_equal_segment_index(lengths):
    lengths = np.array(lengths, dtype=np.int64)
    seg, pos, starts = segments(lengths)
    ref_seg, ref_pos = segment_index(lengths)
    assert np.array_equal(seg, ref_seg) and np.array_equal(pos, ref_pos)
    assert np.array_equal(starts, np.cumsum(lengths) - lengths)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.booleans(), st.floats(allow_nan=True, width=32), st.floats(allow_nan=True, width=32)),
                max_size=50),
       st.sampled_from([np.float32, np.float64]))
def test_select_equals_where_bit_for_bit(triples, dtype):
    cond = np.array([t[0] for t in triples], dtype=bool)
    a = np.array([t[1] for t in triples], dtype=dtype)
    b = np.array([t[2] for t in triples], dtype=dtype)
    assert _equal(select(cond, a, b), np.where(cond, a, b))


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(0.0, 10.0), min_size=1, max_size=12).filter(lambda w: sum(w) > 0),
       st.integers(0, 50), st.integers(0, 2**32))
def test_weighted_choice_draws_what_generator_choice_draws(weights, size, seed):
    p = np.array(weights) / np.sum(weights)
    a, b = np.random.default_rng(seed), np.random.default_rng(seed)
    assert np.array_equal(weighted_choice(a, choice_cdf(p), size), b.choice(len(p), size, p=p))
    assert a.bit_generator.state == b.bit_generator.state

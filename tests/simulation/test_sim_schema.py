"""Every simulated record honours the input contract in fraudscore.schema, and the reader accepts it."""

from __future__ import annotations

import zoneinfo

import numpy as np
import pytest

from fraudscore.schema import FIELD_BY_NAME, KIND_VOCABULARIES, SERIES
from fraudscore.simulation import simulate


@pytest.fixture(scope="module")
def records():
    return simulate(1500, fraud_rate=0.5, seed=21, difficulty="default").records


def _leaves(obj, prefix=""):
    for key, value in obj.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            yield from _leaves(value, name + ".")
        else:
            yield name, value


def _check(field, value):
    if value is None:
        return
    t = field.dtype
    if t == "string":
        assert isinstance(value, str) and len(value) <= field.max_len, field.name
    elif t == "timestamp":
        assert isinstance(value, int) and value > 1_500_000_000_000, field.name
    elif t == "bool":
        assert isinstance(value, bool), field.name
    elif t in ("int", "float"):
        assert isinstance(value, (int, float)) and not isinstance(value, bool), field.name
        assert np.isfinite(value), field.name
        if t == "int":
            assert float(value).is_integer(), field.name
    elif t == "int_pair":
        assert len(value) == 2 and all(isinstance(v, int) for v in value), field.name
    elif t in ("string_list", "kind_list"):
        assert all(isinstance(v, str) for v in value), field.name
        if t == "kind_list":
            assert set(value) <= set(KIND_VOCABULARIES[field.name]), field.name
    elif t == "float_list":
        assert np.all(np.isfinite(np.asarray(value, dtype=float))), field.name
    elif t == "likert_list":
        assert all(v is None or isinstance(v, int) for v in value), field.name
    values = value if isinstance(value, list) else [value]
    nums = [v for v in values if isinstance(v, (int, float)) and not isinstance(v, bool)]
    if nums and field.min is not None:
        assert min(nums) >= field.min and max(nums) <= field.max, field.name
    if field.max_items is not None and isinstance(value, list):
        assert len(value) <= field.max_items, field.name


def test_every_field_is_in_the_schema_with_a_valid_type_and_range(records):
    seen = set()
    for rec in records:
        for name, value in _leaves(rec):
            if value is None and name not in FIELD_BY_NAME:  # a whole missing object (no consent, no GPS)
                assert any(f.startswith(name + ".") for f in FIELD_BY_NAME), name
                continue
            assert name in FIELD_BY_NAME, f"{name} is not a schema field"
            _check(FIELD_BY_NAME[name], value)
            seen.add(name)
    required = {f.name for f in FIELD_BY_NAME.values() if f.required}
    assert required <= seen


def test_telemetry_series_are_parallel_and_sorted_in_time(records):
    for rec in records:
        tel = rec["telemetry"]
        if tel is None:
            continue
        for series, members in SERIES.items():
            group = tel[series.split(".")[1]]
            lists = [group[m.rsplit(".", 1)[1]] for m in members]
            assert len({len(x) for x in lists}) == 1, series
            t = np.asarray(lists[0], dtype=float)
            assert np.all(np.diff(t) >= 0), series


def test_submission_ids_are_unique_and_times_are_ordered(records):
    ids = [r["submission_id"] for r in records]
    assert len(set(ids)) == len(ids)
    assert all(r["submitted_at"] > r["started_at"] for r in records)


def test_time_zones_are_valid_iana_names(records):
    zones = {r["device"]["timezone"] for r in records if r["device"]}
    for z in zones:
        zoneinfo.ZoneInfo(z)


def test_the_validating_reader_finds_no_errors_or_warnings():
    from fraudscore.io import read_batch

    for difficulty in ("crude", "hard"):
        sim = simulate(800, fraud_rate=0.5, seed=3, difficulty=difficulty, output="arrow")
        batch = read_batch(sim.data)
        assert (batch.error == 0).all() and (batch.warnings == 0).all(), batch
    sim = simulate(200, fraud_rate=0.5, seed=4)
    batch = read_batch(sim.records)
    assert (batch.error == 0).all() and (batch.warnings == 0).all(), batch

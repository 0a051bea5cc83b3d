"""Readers: every input form gives the same batch; files stream in chunks."""

from __future__ import annotations

import gzip
import json
import tracemalloc

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fraudscore.io import (InputContainerError, from_arrow_table, from_pandas, from_records, iter_batches, read_batch,
                           read_rows)


@pytest.fixture()
def typed_records(example_records):
    """Example rows Arrow can hold in one typed table: the well-formed ones, timestamps as text.

    (The full example file mixes types on purpose; Arrow tables cannot.)
    """
    rows = [r for r in example_records if isinstance(r.get("device", {}).get("screen", []), list)][:9]
    for r in rows:
        for key in ("started_at", "submitted_at"):
            r[key] = str(r[key])
    return rows


def _concat_ids(batches):
    return [x for b in batches for x in b.submission_id.tolist()]


def test_records_dataframe_and_arrow_give_identical_batches(typed_records):
    records = typed_records
    from_dicts = from_records(records)
    assert from_dicts.n == len(records)
    assert from_dicts.equals(from_pandas(pd.json_normalize(records)))
    assert from_dicts.equals(from_arrow_table(pa.Table.from_pylist(records)))
    # dotted flat Arrow columns, as a Parquet file written from pandas would have them
    flat = pa.Table.from_pylist(records)
    while any(pa.types.is_struct(f.type) for f in flat.schema):
        flat = flat.flatten()
    assert from_dicts.equals(from_arrow_table(flat))


def test_a_dataframe_of_nested_dict_columns_reads_like_records(example_records):
    frame = pd.DataFrame(example_records)  # columns "device", "network"... hold dicts
    assert from_records(example_records).equals(from_pandas(frame))


def test_parquet_round_trip_equals_the_records(tmp_path, typed_records):
    path = tmp_path / "subs.parquet"
    pq.write_table(pa.Table.from_pylist(typed_records), path)
    assert read_batch(path).equals(from_records(typed_records))


def test_dictionary_encoded_parquet_columns_read_the_same(tmp_path, typed_records):
    table = pa.Table.from_pylist(typed_records)
    flat = table
    while any(pa.types.is_struct(f.type) for f in flat.schema):
        flat = flat.flatten()
    encoded = flat.set_column(flat.column_names.index("survey_id"), "survey_id",
                              flat.column("survey_id").dictionary_encode())
    assert from_arrow_table(encoded).equals(from_records(typed_records))


def test_example_file_keeps_every_line_in_order_with_its_codes(example_path):
    batch = read_batch(example_path)
    lines = [ln for ln in example_path.read_text(encoding="utf-8").splitlines() if ln.strip()]
    assert batch.n == len(lines)
    assert batch.source_row.tolist() == list(range(len(lines)))
    names = batch.error_names().tolist()
    assert names.count("INVALID_JSON") == 1 and names.count("NOT_AN_OBJECT") == 1
    assert batch.submission_id[0] == "ex-001"


@pytest.mark.parametrize("chunk", [1, 3, 7, 1000])
def test_jsonl_chunks_concatenate_to_the_whole_file(example_path, chunk):
    whole = read_batch(example_path)
    batches = list(iter_batches(example_path, chunk_size=chunk))
    assert all(b.n <= chunk for b in batches)
    assert _concat_ids(batches) == whole.submission_id.tolist()
    assert np.concatenate([b.error for b in batches]).tolist() == whole.error.tolist()
    assert np.concatenate([b.source_row for b in batches]).tolist() == whole.source_row.tolist()


def test_parquet_chunks_concatenate_to_the_whole_file(tmp_path, typed_records):
    path = tmp_path / "subs.parquet"
    pq.write_table(pa.Table.from_pylist(typed_records * 5), path, row_group_size=7)
    batches = list(iter_batches(path, chunk_size=4))
    assert all(b.n <= 4 for b in batches)
    assert sum(b.n for b in batches) == len(typed_records) * 5
    assert np.concatenate([b.source_row for b in batches]).tolist() == list(range(len(typed_records) * 5))


def test_read_rows_gives_those_rows_of_a_jsonl_file_as_reading_them_alone_would(tmp_path, example_path):
    lines = [line for line in example_path.read_text().splitlines() if line.strip()]
    path = tmp_path / "blank_lines.jsonl"
    path.write_text("\n\n".join(lines) + "\n")  # blank lines are not rows
    rows = [len(lines) - 1, 0, 3, 3, 2]
    got = read_rows(path, rows, chunk_size=2)
    kept = sorted(set(rows))
    assert got.source_row.tolist() == kept
    alone = tmp_path / "alone.jsonl"
    alone.write_text("".join(lines[i] + "\n" for i in kept))
    assert got.equals(read_batch(alone))
    assert got.error_names().tolist() == read_batch(example_path).error_names()[kept].tolist()


def test_read_rows_of_a_parquet_file_across_row_groups_and_without_telemetry(tmp_path):
    from fraudscore.simulation import write_simulation

    path = tmp_path / "sim.parquet"
    write_simulation(path, 700, seed=4, chunk_size=200, progress=False)  # row groups of 200
    table = pq.read_table(path)
    rows = [699, 0, 199, 200, 201, 650]
    kept = sorted(rows)
    got = read_rows(path, rows, chunk_size=150)
    assert got.source_row.tolist() == kept
    assert got.equals(from_arrow_table(table.take(kept)))
    light = read_rows(path, rows, chunk_size=150, skip=["telemetry"])
    assert light.equals(from_arrow_table(table.take(kept).drop_columns(["telemetry"])))
    assert light.column("telemetry.pointer.t").values.size == 0 and light.column("answers.likert").values.size > 0
    assert read_rows(path, [], chunk_size=150).n == 0
    with pytest.raises(IndexError, match="beyond the end"):
        read_rows(path, [700])


@pytest.mark.parametrize("kind", ["parquet", "jsonl"])
def test_read_rows_skips_nested_objects_by_dotted_key(tmp_path, kind):
    from fraudscore.simulation import write_simulation

    path = tmp_path / "sim.parquet"
    write_simulation(path, 300, seed=6, chunk_size=100, progress=False)
    table = pq.read_table(path)
    if kind == "jsonl":
        records = table.to_pylist()
        path = tmp_path / "sim.jsonl"
        path.write_text("".join(json.dumps(r) + "\n" for r in records))
    rows = list(range(0, 300, 3))
    skip = ("telemetry.pointer", "telemetry.keys", "telemetry.scroll", "telemetry.focus")
    light = read_rows(path, rows, chunk_size=70, skip=skip)
    full = read_rows(path, rows, chunk_size=70)
    for name in ("telemetry.pointer.t", "telemetry.keys.kind", "telemetry.scroll.dy", "telemetry.focus.t"):
        assert light.column(name).values.size == 0 and full.column(name).values.size > 0, name
    for name in ("telemetry.item_ms", "answers.likert", "device.user_agent"):
        np.testing.assert_array_equal(light.column(name).values if name != "device.user_agent" else light.column(name),
                                      full.column(name).values if name != "device.user_agent" else full.column(name))
    assert light.column("telemetry.item_ms").values.size > 0
    assert light.warning_names().tolist() == full.warning_names().tolist()
    assert light.error_names().tolist() == full.error_names().tolist()


def test_gzipped_jsonl_and_blank_lines(tmp_path, example_records):
    path = tmp_path / "subs.jsonl.gz"
    text = "\n\n".join(json.dumps(r) for r in example_records) + "\n\n"
    with gzip.open(path, "wt", encoding="utf-8") as fh:
        fh.write(text)
    assert read_batch(path).equals(from_records(example_records))


def test_streaming_memory_does_not_grow_with_the_file(tmp_path, example_records):
    small = tmp_path / "small.jsonl"
    large = tmp_path / "large.jsonl"
    line = "\n".join(json.dumps(r) for r in example_records) + "\n"
    small.write_text(line * 10)
    large.write_text(line * 80)

    def peak(path):
        tracemalloc.start()
        rows = sum(b.n for b in iter_batches(path, chunk_size=50))
        _, top = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        return rows, top

    rows_small, peak_small = peak(small)
    rows_large, peak_large = peak(large)
    assert rows_large == 8 * rows_small
    # eight times the rows, same chunk: the peak is one chunk's worth, not the file's
    assert peak_large < 1.5 * peak_small


def test_label_columns_of_simulated_files_are_ignored_not_reported(typed_records):
    table = pa.Table.from_pylist(typed_records).append_column(
        "label.is_fraud", pa.array([False] * len(typed_records)))
    assert from_arrow_table(table).unknown_fields == ()


def test_iter_batches_checks_its_file_when_called_not_at_the_first_batch(tmp_path):
    """Callers open outputs and progress bars after the call: a bad file must stop them first."""
    with pytest.raises(FileNotFoundError, match="no such file"):
        iter_batches(tmp_path / "missing.jsonl")
    (tmp_path / "notes.txt").write_text("{}\n")
    with pytest.raises(InputContainerError, match="unknown file type"):
        iter_batches(tmp_path / "notes.txt")
    with pytest.raises(ValueError, match="chunk_size"):
        iter_batches(tmp_path / "missing.jsonl", chunk_size=0)


def test_a_file_named_parquet_that_is_not_one_is_refused_by_name(tmp_path):
    fake = tmp_path / "export.parquet"
    fake.write_bytes(b"PAR1 but not really a parquet file")
    for read in (read_batch, iter_batches):
        with pytest.raises(InputContainerError, match=r"export\.parquet: not a readable Parquet file"):
            read(fake)


_KIND_TEXTS = st.sampled_from(["move", "down", "up", "click", "", "MOVE", "wheel", "keydown", None])


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data(), split=st.integers(0, 9))
def test_dictionary_encoded_event_kinds_read_as_their_texts(typed_records, data, split):
    """Kinds as Parquet and the simulator keep them (a list of dictionary-encoded texts, each
    chunk with its own dictionary) give the batch their plain texts give: unknown texts, null
    events and null lists included."""
    flat = pa.Table.from_pylist(typed_records)
    while any(pa.types.is_struct(f.type) for f in flat.schema):
        flat = flat.flatten()
    name = "telemetry.pointer.kind"
    lengths = [None if t is None else len(t) for t in flat.column("telemetry.pointer.t").to_pylist()]
    # Each row's kinds: a drawn pattern repeated to its events' length (drawing each of ~1,000
    # events would take minutes).
    patterns = [data.draw(st.none() | st.lists(_KIND_TEXTS, min_size=1, max_size=8)) for _ in lengths]
    kinds = [None if k is None or pattern is None else (pattern * k)[:k] for k, pattern in zip(lengths, patterns)]
    plain = flat.set_column(flat.column_names.index(name), name, pa.array(kinds, pa.list_(pa.string())))

    def encoded(rows):
        offsets = np.cumsum([0] + [len(k or []) for k in rows])
        values = pa.array([v for k in rows for v in (k or [])], pa.string()).dictionary_encode()
        return pa.ListArray.from_arrays(pa.array(offsets, pa.int32()), values,
                                        mask=pa.array([k is None for k in rows], pa.bool_()))

    column = pa.chunked_array([encoded(kinds[:split]), encoded(kinds[split:])])
    dictionary = flat.set_column(flat.column_names.index(name), name, column)
    assert pa.types.is_dictionary(dictionary.column(name).type.value_type)
    expected = from_arrow_table(plain)
    assert from_arrow_table(dictionary).equals(expected)
    assert from_arrow_table(dictionary.combine_chunks()).equals(expected)

"""``table_to_pylist`` gives exactly what pyarrow's ``Table.to_pylist`` gives: same values, same
Python types, ``None`` where null, keys in order, on the simulator's tables and on random nested
Arrow data with nulls, NaN, slices and several chunks."""

from __future__ import annotations

import math

import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import fraudscore
from fraudscore.simulation.pylist import array_to_pylist, table_to_pylist


def assert_identical(got, want, where="row") -> None:
    """Equal values of the same types (``1 == 1.0 == True`` would pass ``==``), NaN equal to NaN."""
    assert type(got) is type(want), (where, got, want)
    if isinstance(want, dict):
        assert list(got) == list(want), (where, list(got), list(want))
        for key in want:
            assert_identical(got[key], want[key], f"{where}.{key}")
    elif isinstance(want, list):
        assert len(got) == len(want), (where, got, want)
        for i, (a, b) in enumerate(zip(got, want)):
            assert_identical(a, b, f"{where}[{i}]")
    elif isinstance(want, float) and math.isnan(want):
        assert math.isnan(got), (where, got)
    else:
        assert got == want, (where, got, want)


@pytest.mark.parametrize("difficulty", ["crude", "default", "hard"])
def test_simulated_tables_convert_as_pyarrow_does(difficulty):
    table = fraudscore.simulate(200, seed=4, difficulty=difficulty, output="arrow").data
    assert_identical(table_to_pylist(table), table.to_pylist())
    part = table.slice(37, 90)  # offsets into every child array
    assert_identical(table_to_pylist(part), part.to_pylist())
    chunked = pa.concat_tables([table.slice(0, 100), table.slice(100, 3), table.slice(103)])
    assert chunked.column(0).num_chunks == 3
    assert_identical(table_to_pylist(chunked), table.to_pylist())


def test_simulation_records_and_the_jsonl_writer_use_it(tmp_path):
    records = fraudscore.simulate(50, seed=9).records
    table = fraudscore.simulate(50, seed=9, output="arrow").data
    assert_identical(records, table.to_pylist())
    path = tmp_path / "sim.jsonl"
    fraudscore.simulation.write_simulation(path, 50, seed=9)
    assert len(path.read_text().splitlines()) == 50


def test_tables_without_columns_or_rows():
    assert table_to_pylist(pa.table({})) == []
    assert table_to_pylist(pa.table({"a": pa.array([], pa.list_(pa.int64()))})) == []
    no_columns = pa.table({"a": [1, 2, 3]}).drop_columns(["a"])
    assert table_to_pylist(no_columns) == no_columns.to_pylist()


_PRIMITIVES = [pa.bool_(), pa.int8(), pa.int32(), pa.int64(), pa.uint64(), pa.float32(), pa.float64(), pa.string(),
               pa.large_string(), pa.dictionary(pa.int8(), pa.string()), pa.timestamp("ms"), pa.binary()]


def _types():
    return st.recursive(
        st.sampled_from(_PRIMITIVES),
        lambda inner: st.one_of(
            inner.map(pa.list_), inner.map(pa.large_list),
            st.lists(inner, min_size=0, max_size=3).map(
                lambda children: pa.struct([(f"f{i}", kind) for i, kind in enumerate(children)]))),
        max_leaves=6)


def _values(kind: pa.DataType):
    """A strategy of Python values (or None) that ``pa.array(..., type=kind)`` accepts."""
    if pa.types.is_boolean(kind):
        value = st.booleans()
    elif pa.types.is_integer(kind):
        value = st.integers(min_value=0 if pa.types.is_unsigned_integer(kind) else -(2 ** (kind.bit_width - 1)),
                            max_value=2 ** (kind.bit_width - (0 if pa.types.is_unsigned_integer(kind) else 1)) - 1)
    elif pa.types.is_floating(kind):
        value = st.floats(width=kind.bit_width, allow_nan=True, allow_infinity=True)
    elif pa.types.is_dictionary(kind):
        value = st.sampled_from(["a", "bb", "", "ü", "a"])
    elif pa.types.is_timestamp(kind):
        value = st.integers(min_value=0, max_value=2**40)
    elif pa.types.is_binary(kind):
        value = st.binary(max_size=4)
    elif pa.types.is_string(kind) or pa.types.is_large_string(kind):
        value = st.text(max_size=4)
    elif pa.types.is_list(kind) or pa.types.is_large_list(kind):
        value = st.lists(_values(kind.value_type), max_size=4)
    else:
        value = st.fixed_dictionaries({kind.field(i).name: _values(kind.field(i).type)
                                       for i in range(kind.num_fields)})
    return st.none() | value


@st.composite
def _tables(draw):
    kinds = draw(st.lists(_types(), min_size=1, max_size=3))
    n = draw(st.integers(min_value=0, max_value=8))
    columns = {f"c{i}": pa.array(draw(st.lists(_values(kind), min_size=n, max_size=n)), type=kind)
               for i, kind in enumerate(kinds)}
    table = pa.table(columns)
    if n and draw(st.booleans()):
        start = draw(st.integers(min_value=0, max_value=n - 1))
        table = table.slice(start, draw(st.integers(min_value=0, max_value=n - start)))
    if len(table) > 1 and draw(st.booleans()):
        cut = draw(st.integers(min_value=1, max_value=len(table) - 1))
        table = pa.concat_tables([table.slice(0, cut), table.slice(cut)])
    return table


@settings(max_examples=200, deadline=None)
@given(_tables())
def test_random_nested_tables_convert_as_pyarrow_does(table):
    assert_identical(table_to_pylist(table), table.to_pylist())
    for column in table.columns:
        whole = column.combine_chunks()
        assert_identical(array_to_pylist(whole), column.to_pylist())
        # Arrays sliced in place (offsets that do not start at 0, children longer than the parent):
        # combine_chunks copies a table's slices into fresh arrays, so they are tried directly.
        for start, length in ((1, len(whole) - 2), (len(whole) // 2, len(whole))):
            part = whole.slice(max(start, 0), max(length, 0))
            assert_identical(array_to_pylist(part), part.to_pylist())

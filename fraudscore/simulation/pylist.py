"""Arrow tables to nested Python records, as ``Table.to_pylist`` makes them, a column at a time.

pyarrow's ``to_pylist`` builds a scalar object for every value and asks it for its Python value:
about a microsecond a value, 1.1 ms for a simulated submission's ~1,100 telemetry values. Here a
primitive column becomes Python objects in one ``to_numpy().tolist()`` pass (tens of
nanoseconds a value), lists are cut from their child's values by offsets, and structs zip their
children's lists into dicts. Same objects out: same types (``int``, ``float``, ``bool``,
``str``), ``None`` for nulls, keys in schema order. Types this module does not convert
(timestamps, binary, maps, ...) go through pyarrow's own ``to_pylist``.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

__all__ = ["table_to_pylist"]


def table_to_pylist(table: pa.Table) -> list[dict]:
    """``table.to_pylist()``: one dict per row, nested structs as dicts and lists as lists."""
    names = table.column_names
    if not names:
        return [{} for _ in range(table.num_rows)]
    columns = [array_to_pylist(column.combine_chunks()) for column in table.columns]
    return [dict(zip(names, row)) for row in zip(*columns)]


def array_to_pylist(arr: pa.Array) -> list:
    """``arr.to_pylist()`` for one array."""
    kind = arr.type
    if pa.types.is_struct(kind):
        values = _struct(arr)
    elif pa.types.is_list(kind) or pa.types.is_large_list(kind):
        values = _list(arr)
    elif pa.types.is_dictionary(kind) and _is_text(kind.value_type):
        values = _dictionary(arr)
    elif _is_text(kind):
        return arr.to_numpy(zero_copy_only=False).tolist()  # nulls come out as None already
    elif pa.types.is_boolean(kind) or pa.types.is_integer(kind) or _is_plain_float(kind):
        values = _primitive(arr)
    else:
        return arr.to_pylist()
    if arr.null_count:
        for i in np.flatnonzero(arr.is_null().to_numpy(zero_copy_only=False)).tolist():
            values[i] = None
    return values


def _is_text(kind: pa.DataType) -> bool:
    return pa.types.is_string(kind) or pa.types.is_large_string(kind)


def _is_plain_float(kind: pa.DataType) -> bool:
    return pa.types.is_float32(kind) or pa.types.is_float64(kind)


def _primitive(arr: pa.Array) -> list:
    # Nulls are filled first: an integer column with nulls would otherwise come out as floats.
    if arr.null_count:
        arr = arr.fill_null(False if pa.types.is_boolean(arr.type) else 0)
    return arr.to_numpy(zero_copy_only=False).tolist()


def _struct(arr: pa.StructArray) -> list:
    kind = arr.type
    names = [kind.field(i).name for i in range(kind.num_fields)]
    if not names:
        return [{} for _ in range(len(arr))]
    children = [array_to_pylist(child) for child in arr.flatten()]  # flatten applies the slice offset
    return [dict(zip(names, row)) for row in zip(*children)]


def _list(arr: pa.ListArray) -> list:
    offsets = arr.offsets.to_numpy()  # positions in the whole child array, slice offset included
    first = int(offsets[0])
    values = array_to_pylist(arr.values.slice(first, int(offsets[-1]) - first))
    bounds = (offsets - first).tolist()
    return [values[a:b] for a, b in zip(bounds[:-1], bounds[1:])]


def _dictionary(arr: pa.DictionaryArray) -> list:
    words = np.empty(len(arr.dictionary), dtype=object)
    words[:] = array_to_pylist(arr.dictionary)
    indices = arr.indices
    if indices.null_count:
        indices = indices.fill_null(0)
    return words[indices.to_numpy(zero_copy_only=False)].tolist() if len(words) else [None] * len(arr)

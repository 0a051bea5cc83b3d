"""Readers: records, pandas, Arrow, Parquet and JSONL into :class:`~fraudscore.batch.SubmissionBatch`.

Accepted inputs
---------------
- a list (or other sequence) of dicts: nested JSON as survey backends send it;
- a pandas DataFrame with dotted column names (``device.user_agent``), or columns holding nested
  dicts (``device``);
- a pyarrow Table or RecordBatch, nested structs or dotted columns;
- a path to a ``.parquet`` or ``.jsonl`` (``.ndjson``, optionally ``.gz``) file.

Files are read in chunks of ``chunk_size`` rows by :func:`iter_batches`, so memory does not grow
with the file. Only a wrong *container* raises (:class:`InputContainerError`); everything wrong
inside a row becomes a per-row code.
"""

from __future__ import annotations

import functools
import gzip
import itertools
import io as _io
import json
import os
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from fraudscore._convert import Column, _is_list, bulk_from_python, clean_converter, from_arrow, from_python, one_converter
from fraudscore.batch import SubmissionBatch, assemble, assemble_one, assemble_quiet
from fraudscore.codes import Code
from fraudscore.schema import FIELD_BY_NAME, FIELDS

__all__ = ["InputContainerError", "read_batch", "iter_batches", "read_rows", "jsonl_rows", "check_input_file",
           "from_records", "from_records_reference", "from_pandas", "from_arrow_table"]

#: Every dotted prefix of a schema field ("device", "device.battery", ...): nested containers.
_CONTAINERS = frozenset(".".join(f.name.split(".")[:i]) for f in FIELDS for i in range(1, f.name.count(".") + 1))
_KNOWN = frozenset(f.name for f in FIELDS) | _CONTAINERS
_EXPECTED = ("a list of submission dicts, a pandas DataFrame, a pyarrow Table/RecordBatch, "
             "or a path to a .parquet or .jsonl file")


class InputContainerError(TypeError):
    """The input as a whole is not something fraudscore reads (rows are never the problem)."""


# --------------------------------------------------------------------------- nested Python values

_EMPTY: dict = {}  # stands in for a missing object so that child look-ups stay in C (never mutated)


class _Levels:
    """Values of every nested path, one list per path, computed once and shared by child fields.

    Lists of *containers* are normalised to hold only dicts (``_EMPTY`` for missing), so a child
    field is one ``map(dict.get, ...)`` over them: no Python-level loop per row.
    """

    def __init__(self, n: int, roots: dict[str, list]) -> None:
        self.n = n
        self.values: dict[str, list] = {}
        self.not_object: dict[str, np.ndarray] = {}
        for path, values in roots.items():
            self.values[path] = self._objects(path, values) if (not path or path in _CONTAINERS) else values

    def get(self, path: str) -> list:
        if path in self.values:
            return self.values[path]
        if path == "":
            values = [_EMPTY] * self.n  # a flat DataFrame has no root objects
        else:
            parent, _, key = path.rpartition(".")
            values = list(map(dict.get, self.get(parent), itertools.repeat(key, self.n)))
            if path in _CONTAINERS:
                values = self._objects(path, values)
        self.values[path] = values
        return values

    def types(self, path: str) -> set:
        """The set of types of the values at ``path`` (without keeping a list of the values)."""
        if path in self.values:
            return set(map(type, self.values[path]))
        parent, _, key = path.rpartition(".")
        return set(map(type, map(dict.get, self.get(parent), itertools.repeat(key, self.n))))

    def empty(self, path: str) -> bool:
        """True when no row has anything under ``path`` (skip converting its fields at all)."""
        # (Containers hold only dicts here, so "all empty" is "none truthy": any() stops at the first.)
        return path in _CONTAINERS and not any(self.get(path))

    def _objects(self, path: str, values: list) -> list:
        """Containers as dicts; a scalar where an object belongs is recorded and then ignored."""
        kinds = set(map(type, values))
        if kinds == {dict}:
            return values
        if kinds <= {dict, type(None)}:
            return [_EMPTY if v is None else v for v in values]
        bad = np.zeros(self.n, dtype=bool)
        out = []
        for i, v in enumerate(values):
            if type(v) is dict:
                out.append(v)
            elif isinstance(v, Mapping):  # dict subclasses and other mappings are fine
                out.append(dict(v))
            else:
                out.append(_EMPTY)
                bad[i] = v is not None
        if path:
            self.not_object[path] = bad
        return out

    def unknown_keys(self) -> set[str]:
        """Dotted names present in the data that the schema does not know (batch level)."""
        unknown = set()
        for path, values in list(self.values.items()):
            if path and path not in _CONTAINERS:
                continue
            keys = set().union(*map(dict.keys, values))
            prefix = f"{path}." if path else ""
            unknown.update(f"{prefix}{k}" for k in keys if f"{prefix}{k}" not in _KNOWN)
        return unknown


def _convert_levels(levels: _Levels, direct: dict[str, Column], convert=from_python) -> dict[str, Column]:
    converted = dict(direct)
    for f in FIELDS:
        parent = f.name.rpartition(".")[0]
        if f.name not in converted and not levels.empty(parent):
            converted[f.name] = convert(levels.get(f.name), f)
    _mark_not_objects(levels, converted)
    return converted


#: Containers directly under a record ("device", "telemetry", ...) and fields directly under it.
_TOP_CONTAINERS = tuple(dict.fromkeys(f.name.split(".")[0] for f in FIELDS if "." in f.name))
_TOP_FIELDS = tuple(f for f in FIELDS if "." not in f.name)
_LIST_DTYPES = frozenset({"string_list", "float_list", "likert_list", "kind_list", "int_pair"})
_LIST_CONTAINERS = frozenset({list, tuple, np.ndarray, type(None)})
#: Below this many rows the per-field Python path is as fast (measured parity near 5,000 rows without
#: telemetry; the Python path walks the records once per field, which costs more once they leave the cache).
ARROW_MIN_ROWS = 4096


def _children(path: str) -> tuple[list, list[str]]:
    """Schema fields and containers directly under ``path``."""
    depth = path.count(".") + 1
    fields = [f for f in FIELDS if f.name.startswith(path + ".") and f.name.count(".") == depth]
    containers = sorted(c for c in _CONTAINERS if c.startswith(path + ".") and c.count(".") == depth)
    return fields, containers


def _dotless(t: pa.DataType) -> bool:
    """No struct field name holds a dot (a key ``"gps.lat"`` must not pass for ``gps`` → ``lat``)."""
    if pa.types.is_struct(t):
        return all("." not in t.field(i).name and _dotless(t.field(i).type) for i in range(t.num_fields))
    if _is_list(t):
        return _dotless(t.value_type)
    return True


def _arrow_container(values: list) -> pa.StructArray | None:
    """One container's dicts as an Arrow struct array, with types *inferred*; None if Arrow refuses.

    Inference, not a schema, on purpose: given a type, pyarrow also accepts ``"abc"`` as a list of
    three texts, a tuple as an object and bytes as text, which the Python path (the reference)
    rejects as wrong types. Inferred types keep what the values are (a column of ``"abc"`` stays
    text, mixed types fail) and :func:`fraudscore._convert.from_arrow` then applies the same rules
    as for any Arrow input, which tests hold equal to the Python path.
    """
    try:
        arr = pa.array(values)
    except Exception:  # noqa: BLE001 - any refusal (mixed types, surrogates, huge ints) -> Python path
        return None
    if not pa.types.is_struct(arr.type) or not _dotless(arr.type):
        return None
    return arr


def _convert_arrow_struct(arr: pa.StructArray, path: str, levels: _Levels, converted: dict[str, Column]) -> None:
    """Convert every schema field below ``path`` from its (inferred) Arrow struct array."""
    n = levels.n
    for field, child in zip(arr.type, arr.flatten()):  # flatten: a missing object -> missing fields
        name = f"{path}.{field.name}"
        f = FIELD_BY_NAME.get(name)
        if f is not None:
            if f.dtype in _LIST_DTYPES and not levels.types(name) <= _LIST_CONTAINERS:
                # pyarrow reads a set as a list; the reference path calls it a wrong type.
                converted[name] = from_python(levels.get(name), f)
            else:
                converted[name] = from_arrow(child, f, python_values=functools.partial(levels.get, name))
        elif name in _CONTAINERS:
            if pa.types.is_struct(child.type):
                _convert_arrow_struct(child, name, levels, converted)
            else:  # every row held a non-object (or nothing) here: its fields are missing, and we say so
                present = child.is_valid().to_numpy(zero_copy_only=False)
                if present.any():
                    for g in FIELDS:
                        if g.name.startswith(name + "."):
                            column = converted.setdefault(g.name, from_python([None] * n, g))
                            column.invalid = column.invalid | present


def _convert_container(levels: _Levels, path: str, converted: dict[str, Column]) -> None:
    """Convert the fields below ``path``: through Arrow in bulk, else child by child in Python."""
    if levels.empty(path):
        return
    arr = _arrow_container(levels.get(path))
    if arr is not None:
        _convert_arrow_struct(arr, path, levels, converted)
        return
    fields, containers = _children(path)
    for f in fields:
        converted[f.name] = from_python(levels.get(f.name), f)
    for c in containers:
        _convert_container(levels, c, converted)


def _mark_not_objects(levels: _Levels, converted: dict[str, Column]) -> None:
    # A scalar where an object belongs ("device": "iPhone"): its fields are missing, and we say so.
    for path, bad in levels.not_object.items():
        if bad.any():
            for f in FIELDS:
                if f.name.startswith(path + "."):
                    column = converted.setdefault(f.name, from_python([None] * levels.n, f))
                    column.invalid = column.invalid | bad


# --------------------------------------------------------------------------- a few records

#: Up to this many records, :func:`from_records` reads them in plain Python (a submission scored
#: alone): the whole-column converters' fixed costs are then most of the time.
SMALL_MAX_ROWS = 32

#: Every container, parents first, as (index of its parent in this walk, key); index 0 is the record.
_WALK_PATHS = sorted(_CONTAINERS, key=lambda p: (p.count("."), p))
_WALK = tuple((_WALK_PATHS.index(p.rpartition(".")[0]) + 1 if "." in p else 0, p.rpartition(".")[2])
              for p in _WALK_PATHS)
#: Every field as (field, index of its container in the walk, key, its clean converter).
_FIELD_WALK = tuple((f, _WALK_PATHS.index(f.name.rpartition(".")[0]) + 1 if "." in f.name else 0,
                     f.name.rpartition(".")[2], clean_converter(f)) for f in FIELDS)


def _from_few_records(records: list, source_row: np.ndarray | None) -> SubmissionBatch | None:
    """Read a few records value by value, without the whole-column converters; the same batch.

    Each field's values go through :func:`fraudscore._convert.clean_from_python`, and the batch
    through :func:`fraudscore.batch.assemble_quiet`; a value either of them has something to say
    about (a wrong type, a value out of range...) is read by the general converter or rules
    instead, with the same result. Returns None for what only the general reader handles: a
    record or a container that is not a plain dict.
    """
    n = len(records)
    objects = []  # per record: the record and each of its containers, in _WALK order
    for record in records:
        found = _containers(record)
        if found is None:
            return None
        objects.append(found)
    data: dict = {}
    converted: dict[str, Column] = {}  # fields the clean converters gave up on
    for f, parent, key, convert in _FIELD_WALK:
        values = [objects[0][parent].get(key)] if n == 1 else [found[parent].get(key) for found in objects]
        column = convert(values, f)  # clean_from_python
        if column is None:
            converted[f.name] = from_python(values, f)
        else:
            data[f.name] = column
    if not converted:
        batch = assemble_quiet(data, n, source_row)
        if batch is not None:
            return batch
    none = np.zeros(n, dtype=bool)
    for name, column in data.items():
        converted[name] = Column(column, none)
    return assemble(converted, n, [], (), source_row)


def _containers(record) -> list | None:
    """The record and each of its containers in ``_WALK`` order (an empty dict for a missing one),
    or None when the record or a container is not a plain dict (the general reader's business)."""
    if record.__class__ is not dict:
        return None
    found = [record]
    for parent, key in _WALK:
        value = found[parent].get(key)
        if value.__class__ is dict:
            found.append(value)
        elif value is None:
            found.append(_EMPTY)
        else:
            return None
    return found


#: Every field as (field, index of its container in the walk, key, its one-value converter, its consent).
_ONE_FIELD_WALK = tuple((f, parent, key, one_converter(f), f.consent) for f, parent, key, _ in _FIELD_WALK)


def _from_one_record(record, source_row: np.ndarray | None) -> SubmissionBatch | None:
    """:func:`_from_few_records` of one record, value by value without lists of one, skipping the
    fields of a consent not given (only their texts are looked at, for lone surrogates, as
    :func:`fraudscore.batch.assemble` does); the same batch, or None where that gives up."""
    found = _containers(record)
    if found is None:
        return None
    data: dict = {}
    texts: list = []
    given = {"none": True}
    for f, parent, key, convert, consent in _ONE_FIELD_WALK:
        value = found[parent].get(key)
        if given.get(consent, False):
            column = convert(value, f)
            if column is None:
                return None
        else:  # blanked whatever it holds: a missing value
            if value.__class__ is list and f.dtype == "string_list":
                texts.extend(v for v in value if v.__class__ is str)
            elif value is not None and value.__class__ is not str and f.dtype == "string_list":
                return None  # (a tuple would be read as a list: the general path decides)
            elif value.__class__ is str and f.dtype in _TEXT_DTYPES:
                texts.append(value)
            column = convert(None, f)
        if f.dtype in _TEXT_DTYPES:
            if f.dtype == "string":
                if column[0] is not None:
                    texts.append(column[0])
            else:
                texts.extend(filter(None, column.values.tolist()))
        elif f.name in ("consent.usage", "consent.analytics"):
            given[f.name[8:]] = column[0] == 1.0
        data[f.name] = column
    return assemble_one(data, texts, source_row)


_TEXT_DTYPES = frozenset({"string", "string_list"})


def from_records(records: Iterable, source_row: np.ndarray | None = None,
                 record_errors: list | None = None, check_unknown: bool = False) -> SubmissionBatch:
    """Read a sequence of nested submission dicts (one row each, in order).

    Up to ``SMALL_MAX_ROWS`` records (a submission scored alone) are read value by value in plain
    Python. From ``ARROW_MIN_ROWS`` on, each top-level object (``device``, ``telemetry``...) is
    handed to pyarrow's C++ converter in one call and read as Arrow; an object Arrow refuses
    (mixed or wrong types in some row) is read field by field in Python instead, so a bad row
    costs speed, never its per-row codes. In between, and wherever the other two give up, every
    field is converted by the whole-column Python converters (:func:`from_records_reference`; text
    columns of only ``str`` and ``None`` through :func:`fraudscore._convert.bulk_from_python`).
    All ways give the same batch; tests hold them equal on hostile input.

    ``check_unknown`` also lists keys the schema does not know (``batch.unknown_fields``); it
    walks every nested object's keys, so it is off on the scoring path and on in ``validate``.
    """
    return _from_records(records, source_row, record_errors, check_unknown, fast=True)


def from_records_reference(records: Iterable, source_row: np.ndarray | None = None,
                           record_errors: list | None = None, check_unknown: bool = False) -> SubmissionBatch:
    """:func:`from_records` converting every field by the whole-column Python converters (no Arrow,
    no value-by-value path for a few records): the reference."""
    return _from_records(records, source_row, record_errors, check_unknown, fast=False)


def _from_records(records, source_row, record_errors, check_unknown: bool, fast: bool) -> SubmissionBatch:
    if isinstance(records, Mapping):
        raise InputContainerError(f"got one dict; expected {_EXPECTED} (wrap one submission in a list)")
    if isinstance(records, (str, bytes, bytearray)) or not isinstance(records, Iterable):
        raise InputContainerError(f"got {type(records).__name__}; expected {_EXPECTED}")
    records = list(records)  # generators and other iterables of dicts are records too
    n = len(records)
    if fast and 0 < n <= SMALL_MAX_ROWS and not record_errors and not check_unknown:
        batch = _from_one_record(records[0], source_row) if n == 1 else None
        batch = batch or _from_few_records(records, source_row)
        if batch is not None:
            return batch
    errors = list(record_errors or [])
    if set(map(type, records)) - {dict}:  # (the common all-dicts case without a Python loop)
        is_dict = np.fromiter((type(r) is dict for r in records), dtype=bool, count=n)
        for i in np.flatnonzero(~is_dict):
            records[i] = dict(records[i]) if isinstance(records[i], Mapping) else None
        not_object = np.fromiter((r is None for r in records), dtype=bool, count=n)
        already = np.zeros(n, dtype=bool)
        for _, rows, _ in errors:
            already[rows] = True
        errors.append((Code.NOT_AN_OBJECT, not_object & ~already, "the record is not a JSON object"))
    levels = _Levels(n, {"": records})
    if fast and n >= ARROW_MIN_ROWS:
        converted: dict[str, Column] = {f.name: bulk_from_python(levels.get(f.name), f) for f in _TOP_FIELDS}
        for c in _TOP_CONTAINERS:
            _convert_container(levels, c, converted)
        _mark_not_objects(levels, converted)
    else:
        converted = _convert_levels(levels, {}, bulk_from_python if fast else from_python)
    if check_unknown:
        for c in _CONTAINERS:
            levels.get(c)  # every object's keys, also where Arrow read the values
    unknown = tuple(sorted(levels.unknown_keys())) if check_unknown else ()
    return assemble(converted, n, errors, unknown, source_row)


# --------------------------------------------------------------------------- pandas

def from_pandas(frame: pd.DataFrame) -> SubmissionBatch:
    """Read a DataFrame with dotted columns (or columns of nested dicts).

    NaN (and NaT, ``pd.NA``) in a cell means missing, as everywhere in pandas.
    """
    n = len(frame)
    direct: dict[str, Column] = {}
    roots: dict[str, list] = {}
    unknown = set()
    for name in frame.columns:
        name_s = str(name)
        series = frame[name]
        if isinstance(series, pd.DataFrame):
            raise InputContainerError(f"column {name_s!r} appears more than once")
        f = FIELD_BY_NAME.get(name_s)
        if f is not None:
            if series.dtype != object and f.dtype in ("float", "int", "bool", "string", "timestamp"):
                # Typed pandas columns (numbers, Arrow-backed strings) convert in bulk through Arrow.
                try:
                    direct[name_s] = from_arrow(pa.array(series, from_pandas=True), f)
                    continue
                except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
                    pass
            direct[name_s] = from_python(_values(series), f)
        elif name_s in _CONTAINERS:
            roots[name_s] = _values(series)
        else:
            unknown.add(name_s)
    levels = _Levels(n, roots)
    converted = _convert_levels(levels, direct)
    unknown |= levels.unknown_keys()
    return assemble(converted, n, [], tuple(sorted(unknown)))


def _values(series: pd.Series) -> list:
    """Python values of a column; pandas' missing markers (NaN, NaT, pd.NA) become None.

    In a DataFrame NaN is how pandas says "missing", so unlike in records it is not reported as a
    non-finite number.
    """
    values = series.to_numpy(dtype=object, copy=True)
    values[series.isna().to_numpy()] = None
    return values.tolist()


# --------------------------------------------------------------------------- Arrow

def _flat(table: pa.Table) -> pa.Table:
    while any(pa.types.is_struct(field.type) for field in table.schema):
        table = table.flatten()
    return table


def from_arrow_table(table: pa.Table | pa.RecordBatch, source_row: np.ndarray | None = None) -> SubmissionBatch:
    """Read an Arrow table: nested struct columns or dotted flat columns."""
    if isinstance(table, pa.RecordBatch):
        table = pa.Table.from_batches([table])
    table = _flat(table)
    n = table.num_rows
    converted: dict[str, Column] = {}
    unknown = set()
    for name in table.column_names:
        f = FIELD_BY_NAME.get(name)
        if f is not None:
            converted[name] = from_arrow(table.column(name), f)
        elif name in _CONTAINERS:
            # A container that arrived as a scalar column (a string where the "device" object belongs).
            present = table.column(name).is_valid().to_numpy(zero_copy_only=False) if n else np.zeros(0, bool)
            for g in FIELDS:
                if g.name.startswith(name + "."):
                    converted.setdefault(g.name, from_python([None] * n, g))
                    converted[g.name].invalid = converted[g.name].invalid | present
        elif not name.startswith("label."):
            unknown.add(name)
    return assemble(converted, n, [], tuple(sorted(unknown)), source_row)


# --------------------------------------------------------------------------- files

def _open_text(path: Path):
    if path.suffix == ".gz":
        return _io.TextIOWrapper(gzip.open(path, "rb"), encoding="utf-8", errors="replace")
    return open(path, encoding="utf-8", errors="replace")


def jsonl_rows(path: str | os.PathLike) -> Iterator[str]:
    """The rows of a JSONL file: its lines that are not blank (a blank line is no submission),
    decoded as every reader decodes them. Readers, labels and samples all number rows by it."""
    with _open_text(Path(path)) as fh:
        for line in fh:
            if line.strip():
                yield line


def _file_kind(path: Path) -> str:
    suffixes = [s.lower() for s in path.suffixes]
    if suffixes and suffixes[-1] == ".gz":
        suffixes = suffixes[:-1]
    last = suffixes[-1] if suffixes else ""
    if last in (".parquet", ".pq"):
        return "parquet"
    if last in (".jsonl", ".ndjson", ".json"):
        return "jsonl"
    raise InputContainerError(f"{path}: unknown file type; expected .parquet or .jsonl (.ndjson, optionally .gz)")


def _jsonl_chunk(lines: list[str], first_row: int | np.ndarray, check_unknown: bool = False,
                 skip: tuple[str, ...] = ()) -> SubmissionBatch:
    """Parse JSONL lines into a batch; ``first_row`` numbers them from there on, or is their row
    numbers; ``skip``: top-level keys left out of each record."""
    records: list = []
    bad: list[int] = []
    for i, line in enumerate(lines):
        try:
            records.append(json.loads(line))
        except ValueError:
            records.append(None)
            bad.append(i)
        else:
            if skip and type(records[-1]) is dict:
                for key in skip:
                    _drop(records[-1], key)
    errors = [(Code.INVALID_JSON, np.asarray(bad, dtype=np.int64), "the line is not valid JSON")] if bad else []
    source_row = (np.asarray(first_row, dtype=np.int64) if isinstance(first_row, np.ndarray)
                  else np.arange(first_row, first_row + len(lines), dtype=np.int64))
    return from_records(records, source_row=source_row, record_errors=errors, check_unknown=check_unknown)


def _drop(record: dict, key: str) -> None:
    """Remove the dotted ``key`` from a nested record (a top-level key, or one inside objects)."""
    *parents, last = key.split(".")
    for name in parents:
        record = record.get(name)
        if type(record) is not dict:
            return
    record.pop(last, None)


def _kept_columns(schema: pa.Schema, skip: tuple[str, ...]) -> list[str]:
    """Column paths of ``schema`` to read without the dotted ``skip`` keys: a struct that holds a
    skipped key is read child by child (pyarrow selects a nested column by its dotted path)."""
    kept: list[str] = []

    def walk(field: pa.Field, name: str) -> None:
        if any(name == key or name.startswith(key + ".") for key in skip):
            return
        if pa.types.is_struct(field.type) and any(key.startswith(name + ".") for key in skip):
            for child in field.type:
                walk(child, f"{name}.{child.name}")
        else:
            kept.append(name)

    for field in schema:
        walk(field, field.name)
    return kept


def _parquet_chunks(path: Path, chunk_size: int, skip: tuple[str, ...] = ()) -> Iterator[pa.Table]:
    """Tables of ``chunk_size`` rows (the last one shorter) read from a Parquet file.

    Read one row group at a time, then joined or cut to ``chunk_size``: pyarrow's own
    ``iter_batches`` fails on nested columns ("Nested data conversions not implemented for
    chunked array outputs") when a batch spans row groups, e.g. 50,000-row chunks of a file
    written in 20,000-row groups. At most one chunk plus one row group is held at a time.
    ``skip``: dotted keys not read (nested columns, or dotted flat ones below them).
    """
    with pq.ParquetFile(path) as pf:
        columns = _kept_columns(pf.schema_arrow, skip) if skip else None
        pending: pa.Table | None = None
        for group in range(pf.num_row_groups):
            for record_batch in pf.iter_batches(batch_size=chunk_size, row_groups=[group], columns=columns):
                table = pa.Table.from_batches([record_batch])
                if pending is not None:
                    table = pa.concat_tables([pending, table])
                while table.num_rows >= chunk_size:
                    yield table.slice(0, chunk_size)
                    table = table.slice(chunk_size)
                pending = table if table.num_rows else None
        if pending is not None:
            yield pending


def iter_batches(path: str | os.PathLike, chunk_size: int = 50_000,
                 check_unknown: bool = False) -> Iterator[SubmissionBatch]:
    """Read a Parquet or JSONL file as a stream of batches of at most ``chunk_size`` rows.

    Blank JSONL lines are skipped (they are not submissions); every other line is one row, an
    unparseable one included (error ``INVALID_JSON``). ``batch.source_row`` numbers the rows from
    0 across the whole file.

    Raises
    ------
    ValueError, FileNotFoundError, InputContainerError
        At the call, not at the first batch: a bad chunk size, a missing file or an unknown
        file type is reported before a caller opens its outputs or progress bar.
    """
    if chunk_size < 1:
        raise ValueError("chunk_size must be at least 1")
    path = Path(path)
    kind = check_input_file(path)
    return _iter_file(path, kind, chunk_size, check_unknown)


def read_rows(path: str | os.PathLike, rows, chunk_size: int = 50_000, skip: Iterable[str] = ()) -> SubmissionBatch:
    """Read only rows ``rows`` of a Parquet or JSONL file, in one pass, as one batch in file order.

    Rows are numbered as :func:`iter_batches` numbers them (from 0, blank JSONL lines skipped);
    ``batch.source_row`` holds each row's number. What is held at a time is one chunk of the file
    plus the rows kept so far, so a sample of a file larger than memory can be read. ``skip``
    names objects by dotted key (e.g. ``"telemetry"``, most of a row's size, or
    ``"telemetry.pointer"``) left out as if absent: their fields are missing and carry no
    warnings; no other field, and no row's error, changes.

    Raises
    ------
    IndexError
        A row number is negative or beyond the end of the file.
    """
    path = Path(path)
    kind = check_input_file(path)
    if chunk_size < 1:
        raise ValueError("chunk_size must be at least 1")
    skip = tuple(skip)
    wanted = np.unique(np.asarray(rows, dtype=np.int64))
    if len(wanted) and wanted[0] < 0:
        raise IndexError(f"row {wanted[0]} is negative")
    first = 0
    if kind == "parquet":
        parts: list[pa.Table] = []
        for table in _parquet_chunks(path, chunk_size, skip):
            lo, hi = np.searchsorted(wanted, [first, first + table.num_rows])
            if hi > lo:
                parts.append(table.take(pa.array(wanted[lo:hi] - first)))
            first += table.num_rows
        found = first
        table = pa.concat_tables(parts) if parts else pq.read_table(path, columns=[]).slice(0, 0)
    else:
        kept: list[str] = []
        for line in jsonl_rows(path):
            if len(kept) < len(wanted) and wanted[len(kept)] == first:
                kept.append(line)
            first += 1
        found = first
    if len(wanted) and wanted[-1] >= found:
        raise IndexError(f"row {wanted[-1]} is beyond the end of {path.name} ({found} rows)")
    return from_arrow_table(table, source_row=wanted) if kind == "parquet" else _jsonl_chunk(kept, wanted, skip=skip)


def check_input_file(path: str | os.PathLike) -> str:
    """``"parquet"`` or ``"jsonl"`` for a submissions file that exists; raises otherwise.

    Raises
    ------
    FileNotFoundError
        No such file.
    InputContainerError
        Not a .parquet or .jsonl (.ndjson, optionally .gz) file, or a .parquet file whose
        footer cannot be read (its metadata is read here: it is small).
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such file")
    kind = _file_kind(path)
    if kind == "parquet":
        try:
            pq.read_metadata(path)
        except (pa.ArrowException, OSError) as exc:
            raise InputContainerError(f"{path}: not a readable Parquet file ({exc})") from exc
    return kind


def _iter_file(path: Path, kind: str, chunk_size: int, check_unknown: bool) -> Iterator[SubmissionBatch]:
    """The batches of :func:`iter_batches`, after its checks."""
    if kind == "parquet":
        first = 0
        for table in _parquet_chunks(path, chunk_size):
            rows = np.arange(first, first + table.num_rows, dtype=np.int64)
            first += table.num_rows
            yield from_arrow_table(table, source_row=rows)
        return
    lines: list[str] = []
    first = 0
    for line in jsonl_rows(path):
        lines.append(line)
        if len(lines) == chunk_size:
            yield _jsonl_chunk(lines, first, check_unknown)
            first += len(lines)
            lines = []
    if lines:
        yield _jsonl_chunk(lines, first, check_unknown)


def read_batch(data, check_unknown: bool = False) -> SubmissionBatch:
    """Read any accepted input into one :class:`SubmissionBatch` (a file is read whole).

    Raises
    ------
    InputContainerError
        When ``data`` is not records, a table or a readable file path.
    """
    if isinstance(data, SubmissionBatch):
        return data
    if isinstance(data, pd.DataFrame):
        return from_pandas(data)
    if isinstance(data, (pa.Table, pa.RecordBatch)):
        return from_arrow_table(data)
    if isinstance(data, (str, os.PathLike)) and not isinstance(data, bytes):
        path = Path(data)
        if isinstance(data, str) and not path.suffix:
            raise InputContainerError(f"got a string that is not a file path; expected {_EXPECTED}")
        if check_input_file(path) == "parquet":
            return from_arrow_table(pq.read_table(path))
        return _jsonl_chunk(list(jsonl_rows(path)), 0, check_unknown)
    return from_records(data, check_unknown=check_unknown)

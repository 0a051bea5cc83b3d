"""Labels of a training or evaluation file: which submissions are fraud, and of which family.

A labelled file is an input file (Parquet or JSONL, as :func:`fraudscore.io.read_batch` reads
it) whose rows also carry their label under a dotted path: ``label.is_fraud`` and
``label.family`` by default, which is where ``fraudscore simulate`` writes them. The path may
be a nested field (``{"label": {"is_fraud": true}}``) or a column named with the dots
(``label.is_fraud``, as pandas writes flat frames). Labels come out in the reader's row order
(JSONL: blank lines skipped, as the reader skips them), so row *i* of the labels is row *i* of
the batch. The reader ignores fields outside the input contract, so a label kept outside it
never reaches a feature (``train_file`` refuses a label path inside it).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

__all__ = ["DEFAULT_FAMILY", "DEFAULT_LABEL", "FileLabels", "read_labels"]

DEFAULT_LABEL = "label.is_fraud"
DEFAULT_FAMILY = "label.family"
#: Family of a fraud row whose file names none (no family column, or an empty value).
UNSPECIFIED_FAMILY = "unspecified"


@dataclass(frozen=True)
class FileLabels:
    """Labels of a file's rows, in the reader's row order.

    Attributes
    ----------
    is_fraud : numpy.ndarray of int8
        1 fraud, 0 honest.
    family : numpy.ndarray of object
        ``"honest"`` for honest rows; for fraud rows the family column's value, or
        ``"unspecified"`` when the file has no family column or the row leaves it empty.
    has_family : bool
        Whether the file has the family column.
    unreadable : numpy.ndarray of bool
        JSONL lines that are not a JSON object. The reader gives these rows an error code, so
        training leaves them out and evaluation does not score them; their ``is_fraud`` (0) and
        ``family`` (``"unreadable"``) are placeholders that nothing counts.
    """

    is_fraud: np.ndarray
    family: np.ndarray
    has_family: bool
    unreadable: np.ndarray


def read_labels(path: str | os.PathLike, label: str = DEFAULT_LABEL, family: str = DEFAULT_FAMILY) -> FileLabels:
    """Read the labels of a Parquet or JSONL file of submissions.

    Parameters
    ----------
    path : str or path-like
        ``.parquet`` / ``.pq`` or ``.jsonl`` / ``.ndjson`` / ``.json`` (optionally ``.gz``).
    label : str
        Dotted path of the fraud label: booleans or 0/1.
    family : str
        Dotted path of the attack family (optional in the file).

    Raises
    ------
    ValueError
        When the label is missing from the file or from a row, or is not 0/1 or boolean; the
        message names the row. A JSONL line that is not a JSON object is not refused: the reader
        rejects that row too (``FileLabels.unreadable``).
    """
    from fraudscore.io import check_input_file

    path = Path(path)
    if check_input_file(path) == "parquet":
        raw_label, raw_family = _parquet_column(path, label), _parquet_column(path, family)
    else:
        raw_label, raw_family = _jsonl_columns(path, label, family)
    if raw_label is None:
        raise ValueError(f"{path.name} has no label {label!r}: name the column that says which rows are fraud "
                         "(booleans or 0/1), e.g. --label my_label")
    unreadable = np.array([v is _UNREADABLE for v in raw_label], dtype=bool)
    is_fraud = _zero_one([0 if v is _UNREADABLE else v for v in raw_label], label)
    names = np.full(len(is_fraud), "honest", dtype=object)
    names[is_fraud == 1] = UNSPECIFIED_FAMILY
    if raw_family is not None:
        given = np.asarray(raw_family, dtype=object)
        named = (is_fraud == 1) & np.array([isinstance(v, str) and v != "" for v in given.tolist()], dtype=bool)
        names[named] = given[named]
    names[unreadable] = "unreadable"
    return FileLabels(is_fraud=is_fraud, family=names, has_family=raw_family is not None, unreadable=unreadable)


def _parquet_column(path: Path, name: str) -> list | None:
    """Values of a column named ``name``, or of the nested field at that dotted path; None if absent."""
    schema = pq.read_schema(path)
    if name in schema.names:
        return pq.read_table(path, columns=[name]).column(0).to_pylist()
    root, _, rest = name.partition(".")
    if not rest or root not in schema.names:
        return None
    column = pq.read_table(path, columns=[root]).column(0)
    for part in rest.split("."):
        if not pa.types.is_struct(column.type) or column.type.get_field_index(part) < 0:
            return None
        column = pc.struct_field(column, part)
    return column.to_pylist()


_MISSING = object()
_UNREADABLE = object()  # a JSONL line that is not a JSON object: the reader rejects its row as well


def _dig(record, name: str):
    if not isinstance(record, dict):
        return _MISSING
    if name in record:
        return record[name]
    value = record
    for part in name.split("."):
        if not isinstance(value, dict) or part not in value:
            return _MISSING
        value = value[part]
    return value


def _jsonl_columns(path: Path, label: str, family: str) -> tuple[list | None, list | None]:
    from fraudscore.io import jsonl_rows

    labels, families = [], []
    for line in jsonl_rows(path):
        try:
            record = json.loads(line)
        except ValueError:
            record = None
        if not isinstance(record, dict):  # the reader gives such a row an error code too
            labels.append(_UNREADABLE)
            families.append(_MISSING)
            continue
        labels.append(_dig(record, label))
        families.append(_dig(record, family))
    if labels and all(v is _MISSING or v is _UNREADABLE for v in labels):
        return None, None
    has_family = any(v is not _MISSING for v in families)
    return ([None if v is _MISSING else v for v in labels],
            [None if v is _MISSING else v for v in families] if has_family else None)


def _zero_one(values: list, name: str) -> np.ndarray:
    """int8 0/1 labels, or a ValueError naming the first bad row."""
    out = np.zeros(len(values), dtype=np.int8)
    for i, v in enumerate(values):
        if v is True or v is False:
            out[i] = v
        elif type(v) in (int, float) and v in (0, 1):
            out[i] = int(v)
        else:
            what = "missing" if v is None else f"{v!r}, not 0/1 or a boolean"
            bad = sum(1 for w in values if not (w is True or w is False or (type(w) in (int, float) and w in (0, 1))))
            raise ValueError(f"label {name!r} of row {i} is {what} ({bad} such row{'s' if bad != 1 else ''} "
                             "in all); every training or evaluation row needs a 0/1 label")
    return out

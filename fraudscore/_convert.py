"""Convert one input field to its typed column, from Python values or from an Arrow array.

Each converter returns a :class:`Column`: the typed data (object array of str / float64 array /
float64 (n, 2) array / :class:`~fraudscore.ragged.Ragged`) plus masks of the rows whose value had
the wrong type (it becomes missing) or was truncated. Range checks, consent and telemetry repair
happen later, once, in :mod:`fraudscore.batch`, whatever the source.

Fast paths are whole-column conversions (``np.fromiter`` over chained lists, Arrow compute); when
one fails on hostile input, only then do we fall back to a per-element sanitiser, so clean batches
never pay for it.
"""

from __future__ import annotations

import itertools
import math
import operator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from fraudscore.ragged import Ragged
from fraudscore.schema import KIND_VOCABULARIES, Field

__all__ = ["Column", "from_python", "bulk_from_python", "clean_from_python", "clean_converter", "one_converter", "one_row_ragged", "from_arrow",
           "parse_timestamps"]

_chain = itertools.chain.from_iterable
_SEQUENCE = (list, tuple, np.ndarray)


@dataclass
class Column:
    """A converted field: typed data and per-row masks of what went wrong."""

    data: Any
    invalid: np.ndarray  # wrong type -> treated as missing
    truncated: np.ndarray = field(default=None)  # text or list cut to its limit
    no_offset: np.ndarray = field(default=None)  # timestamps only: ISO text without UTC offset
    nan_input: np.ndarray = field(default=None)  # numbers only: NaN given explicitly (not null)
    #: Text only: every text was decoded from valid UTF-8 (an Arrow string array), so none holds a
    #: lone surrogate and the batch need not look for one.
    utf8: bool = False

    def __post_init__(self) -> None:
        n = len(self.invalid)
        if self.truncated is None:
            self.truncated = np.zeros(n, dtype=bool)
        if self.no_offset is None:
            self.no_offset = np.zeros(n, dtype=bool)
        if self.nan_input is None:
            self.nan_input = np.zeros(n, dtype=bool)


def _zeros(n: int) -> np.ndarray:
    return np.zeros(n, dtype=bool)


def _object_array(values: list) -> np.ndarray:
    # fromiter never broadcasts nested lists into extra dimensions, unlike np.array.
    return np.fromiter(values, dtype=object, count=len(values))


# --------------------------------------------------------------------------- scalars from Python

def _scalar_to_text(v: Any) -> str | None:
    """Numbers become text (numeric ids are common); containers and booleans are invalid."""
    if isinstance(v, str):
        return str(v)
    if isinstance(v, bool) or not isinstance(v, (int, float, np.integer, np.floating)):
        return None
    if isinstance(v, (float, np.floating)):
        if not math.isfinite(v):
            return None
        return str(int(v)) if float(v).is_integer() else repr(float(v))
    return str(int(v))


def _text_lengths(values: list, data: np.ndarray) -> np.ndarray:
    """Length of each text; -1 for None, -2 for anything that is not text."""
    kinds = set(map(type, values))
    if kinds <= {str, type(None)}:
        lengths = np.full(len(values), -1, dtype=np.int64)
        # Only str and None here; for a few rows this is ~10x cheaper than pd.isna's dispatch.
        present = np.fromiter(map(operator.is_not, values, itertools.repeat(None)), dtype=bool, count=len(values)) \
            if len(values) <= 64 else ~pd.isna(data)
        lengths[present] = np.fromiter(map(len, data[present]), dtype=np.int64, count=int(present.sum()))
        return lengths
    return np.fromiter((len(v) if type(v) is str else (-1 if v is None else -2) for v in values),
                       dtype=np.int64, count=len(values))


def _py_string(values: list, f: Field) -> Column:
    n = len(values)
    data = _object_array(values)
    lengths = _text_lengths(values, data)
    invalid = _zeros(n)
    for i in np.flatnonzero(lengths == -2):
        text = _scalar_to_text(values[i])
        data[i] = text
        if text is None:
            invalid[i] = True
            lengths[i] = -1
        else:
            lengths[i] = len(text)
    data[lengths == 0] = None  # empty text carries no information: treat as missing
    truncated = lengths > f.max_len if f.max_len is not None else _zeros(n)
    for i in np.flatnonzero(truncated):
        data[i] = data[i][: f.max_len]
    return Column(data, invalid, truncated)


def _sanitise_number(v: Any) -> tuple[float, bool]:
    """(value, ok) for one element that the bulk conversion choked on."""
    if v is None:
        return math.nan, True
    if isinstance(v, (bool, int, float, np.integer, np.floating, str)):
        try:
            return float(v.strip() if isinstance(v, str) else v), True
        except (ValueError, OverflowError):  # not a number, or an int beyond float range
            return math.nan, False
    return math.nan, False


def _py_number(values: list) -> Column:
    n = len(values)
    try:
        return _arrow_number(pa.array(values, type=pa.float64()), None)
    except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, ValueError, OverflowError):
        pass
    data = np.empty(n, dtype=np.float64)
    invalid = _zeros(n)
    for i, v in enumerate(values):
        data[i], ok = _sanitise_number(v)
        invalid[i] = not ok
    nan_input = np.isnan(data) & np.fromiter((v is not None for v in values), dtype=bool, count=n) & ~invalid
    return Column(data, invalid, nan_input=nan_input)


_TRUE = {"true": 1.0, "1": 1.0, "yes": 1.0, "false": 0.0, "0": 0.0, "no": 0.0}


def _flag_value(v: Any) -> float | None:
    """1.0 / 0.0 for one non-missing flag that the bulk conversion refused; None if not a flag."""
    if isinstance(v, (bool, np.bool_)):
        return float(v)
    if isinstance(v, (int, float, np.integer, np.floating)) and v in (0, 1):
        return float(v)
    if isinstance(v, str):
        return _TRUE.get(v.strip().lower())
    return None


def _py_bool(values: list) -> Column:
    n = len(values)
    try:
        arr = pa.array(values, type=pa.bool_())
        return Column(arr.cast(pa.float64()).to_numpy(zero_copy_only=False), _zeros(n))
    except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, ValueError, OverflowError):
        pass
    data = np.full(n, np.nan)
    invalid = _zeros(n)
    for i, v in enumerate(values):
        if v is None:
            continue
        x = _flag_value(v)
        if x is None:
            invalid[i] = True
        else:
            data[i] = x
    return Column(data, invalid)


# --------------------------------------------------------------------------- lists from Python

def _list_lengths(values: list, max_items: int | None) -> tuple[np.ndarray, np.ndarray, np.ndarray, list]:
    """Lengths (-1 missing), invalid and truncated masks, and the rows as plain lists."""
    n = len(values)
    if set(map(type, values)) <= {list, type(None)}:
        present = np.fromiter(map(operator.is_not, values, itertools.repeat(None, n)), dtype=bool, count=n)
        lengths = np.full(n, -1, dtype=np.int64)
        lengths[present] = np.fromiter(map(len, itertools.compress(values, present)), dtype=np.int64,
                                       count=int(present.sum()))
    else:
        lengths = np.fromiter((len(v) if type(v) is list else (-1 if v is None else -2) for v in values),
                              dtype=np.int64, count=n)
    invalid = _zeros(n)
    odd = np.flatnonzero(lengths == -2)
    if len(odd):
        values = list(values)
        for i in odd:
            v = values[i]
            if isinstance(v, _SEQUENCE) and not isinstance(v, str):
                values[i] = list(v)
                lengths[i] = len(values[i])
            else:
                values[i] = None
                invalid[i] = True
                lengths[i] = -1
    truncated = lengths > max_items if max_items is not None else _zeros(n)
    if truncated.any():
        # Cut before converting: a hostile 10**6-event row then costs no more than a legal one.
        values = list(values)
        for i in np.flatnonzero(truncated):
            values[i] = values[i][:max_items]
            lengths[i] = max_items
    return np.maximum(lengths, 0), invalid, truncated, values


def _py_float_list(values: list, f: Field) -> Column:
    lengths, invalid, truncated, values = _list_lengths(values, f.max_items)
    total = int(lengths.sum())
    rows = [v for v in values if v]  # rows with at least one element, in order
    try:
        flat = np.fromiter(_chain(rows), dtype=np.float64, count=total)
    except (TypeError, ValueError, OverflowError):
        flat = np.empty(total, dtype=np.float64)
        pos = 0
        nonempty = np.flatnonzero(lengths)
        for i, row in zip(nonempty, rows):
            for v in row:
                flat[pos], ok = _sanitise_number(v)
                if not ok:
                    invalid[i] = True
                pos += 1
    return Column(Ragged.from_lengths(flat, lengths), invalid, truncated)


def _py_string_list(values: list, f: Field) -> Column:
    lengths, invalid, truncated, values = _list_lengths(values, f.max_items)
    flat_values = list(_chain(v for v in values if v))
    flat = _object_array(flat_values)
    item_len = _text_lengths(flat_values, flat)
    bad = np.flatnonzero(item_len == -2)
    if len(bad):
        row_of = np.repeat(np.arange(len(lengths)), lengths)
        for j in bad:
            text = _scalar_to_text(flat[j])
            flat[j] = text
            item_len[j] = -1 if text is None else len(text)
            if text is None:
                invalid[row_of[j]] = True
    flat[item_len == 0] = None  # as for scalar text: empty means missing
    if f.max_len is not None:
        long_items = np.flatnonzero(item_len > f.max_len)
        if len(long_items):
            row_of = np.repeat(np.arange(len(lengths)), lengths)
            truncated[row_of[long_items]] = True
            for j in long_items:
                flat[j] = flat[j][: f.max_len]
    return Column(Ragged.from_lengths(flat, lengths), invalid, truncated)


def _py_kind_list(values: list, f: Field) -> Column:
    lengths, invalid, truncated, values = _list_lengths(values, f.max_items)
    total = int(lengths.sum())
    codes = _KIND_CODES[f.name]
    rows = [v for v in values if v]
    try:
        try:  # every kind known: dict.__getitem__ is cheaper than get with a default
            flat = np.fromiter(map(codes.__getitem__, _chain(rows)), dtype=np.int8, count=total)
        except KeyError:  # some kind unknown: coded -1
            flat = np.fromiter(map(codes.get, _chain(rows), itertools.repeat(-1)), dtype=np.int8, count=total)
    except TypeError:  # an unhashable element (a list or dict where a kind belongs)
        flat_values = list(_chain(rows))
        flat = np.fromiter((codes.get(v, -1) if isinstance(v, str) else -1 for v in flat_values),
                           dtype=np.int8, count=total)
    return Column(Ragged.from_lengths(flat, lengths), invalid, truncated)


def _py_pair(values: list, f: Field) -> Column:
    n = len(values)
    lengths, invalid, _, values = _list_lengths(values, None)
    data = np.full((n, 2), np.nan)
    pairs = np.flatnonzero(lengths == 2)
    invalid |= (lengths != 2) & (lengths != 0)
    try:
        flat = np.fromiter(_chain(values[i] for i in pairs), dtype=np.float64, count=2 * len(pairs))
        data[pairs] = flat.reshape(-1, 2)
    except (TypeError, ValueError, OverflowError):
        for i in pairs:
            (a, ok_a), (b, ok_b) = (_sanitise_number(v) for v in values[i])
            if ok_a and ok_b:
                data[i] = (a, b)
            else:
                invalid[i] = True
    return Column(data, invalid)


# --------------------------------------------------------------------------- timestamps

_EPOCH_MS_MIN = 946_684_800_000.0  # 2000-01-01
_EPOCH_MS_MAX = 4_102_444_800_000.0  # 2100-01-01


def _timestamps_fast(values) -> Column | None:
    """All epoch numbers, or all ISO text with offsets: one Arrow conversion, no Python per row."""
    try:
        arr = pa.array(values, type=pa.float64(), from_pandas=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError):
        try:
            text = pa.array(values, type=pa.string(), from_pandas=True)
            arr = text.cast(pa.timestamp("ms", tz="UTC")).cast(pa.int64()).cast(pa.float64())
        except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError, TypeError, UnicodeEncodeError):
            return None  # (UnicodeEncodeError: a lone surrogate, which the general parser reads as invalid)
    if pa.types.is_boolean(getattr(arr, "type", None)):
        return None
    ms = arr.to_numpy(zero_copy_only=False, writable=True)
    present = arr.is_valid().to_numpy(zero_copy_only=False)
    with np.errstate(invalid="ignore"):
        ms[~((ms >= _EPOCH_MS_MIN) & (ms <= _EPOCH_MS_MAX))] = np.nan
    return Column(ms, present & np.isnan(ms))


def _utf8_text(v: Any) -> bool:
    """A str that UTF-8 can hold: one with a lone surrogate is no timestamp (and would make
    pandas' Arrow-backed caches raise)."""
    if v.__class__ is not str:
        return False
    try:
        v.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def parse_timestamps(values) -> Column:
    """Epoch milliseconds (numbers or digit strings) or ISO-8601 text -> float64 ms (NaN = invalid).

    Values outside 2000..2100 are rejected: epoch *seconds* or microseconds are a common
    integration mistake and would otherwise give absurd durations.
    """
    fast = _timestamps_fast(values)
    if fast is not None:
        return fast
    s = pd.Series(_object_array(list(values)) if not isinstance(values, np.ndarray) else values, dtype=object)
    n = len(s)
    present = s.notna().to_numpy()
    is_bool = np.fromiter((type(v) is bool for v in s), dtype=bool, count=n) if n else _zeros(0)
    numeric = pd.to_numeric(s.where(~is_bool), errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
    ms = numeric.copy()
    no_offset = _zeros(n)
    text = present & np.isnan(numeric) & ~is_bool
    if text.any():
        raw = s[text]
        is_str = raw.map(_utf8_text).astype(bool)
        strings = raw[is_str]
        parsed = pd.to_datetime(strings, format="ISO8601", utc=True, errors="coerce")
        as_ms = parsed.astype("datetime64[ns, UTC]").to_numpy(dtype="datetime64[ns]").astype(np.int64) / 1e6
        as_ms[parsed.isna().to_numpy()] = np.nan
        idx = np.flatnonzero(text)[is_str.to_numpy()]
        ms[idx] = as_ms
        naive = ~strings.str.contains(r"(?:Z|[+-]\d\d(?::?\d\d)?)\s*$", regex=True, na=False).to_numpy()
        no_offset[idx] = naive & ~np.isnan(as_ms)
    with np.errstate(invalid="ignore"):
        ms[~((ms >= _EPOCH_MS_MIN) & (ms <= _EPOCH_MS_MAX))] = np.nan
    invalid = present & np.isnan(ms)
    return Column(ms, invalid, no_offset=no_offset)


# --------------------------------------------------------------------------- dispatch: Python

_PY = {
    "string": _py_string,
    "float": lambda v, f: _py_number(v),
    "int": lambda v, f: _py_number(v),
    "bool": lambda v, f: _py_bool(v),
    "int_pair": _py_pair,
    "string_list": _py_string_list,
    "float_list": _py_float_list,
    "likert_list": _py_float_list,
    "kind_list": _py_kind_list,
    "timestamp": lambda v, f: parse_timestamps(v),
}


def from_python(values: list, f: Field) -> Column:
    """Convert one field's Python values (one per row; ``None`` = missing)."""
    return _PY[f.dtype](values, f)


# --------------------------------------------------------------------------- many clean rows

# _py_string handles any value, at a price per field (pandas' isna, a second pass for lengths).
# A text column of only str and None is three passes in C (types, objects, lengths), ~35 % less;
# anything else goes to the converter above, so the result is always exactly from_python's.

_NONE = type(None)
_TEXT_KINDS = frozenset({str, _NONE})
_length_hint = operator.length_hint


def _bulk_string(values: list, f: Field) -> Column | None:
    n = len(values)
    kinds = set(map(type, values))
    if not kinds <= _TEXT_KINDS:
        return None
    data = np.fromiter(values, dtype=object, count=n)
    if kinds <= {_NONE}:  # (no rows, or all missing)
        return Column(data, _zeros(n))
    lengths = np.fromiter(map(_length_hint, values, itertools.repeat(-1, n)), dtype=np.int64, count=n)  # None: -1
    if f.max_len is not None and _MAX(lengths) > f.max_len:
        return None  # truncation: from_python says where
    empty = lengths == 0
    if _ANY(empty):
        data[empty] = None  # as _py_string: empty text is missing
    return Column(data, _zeros(n))


#: (Numbers and flags: pyarrow's typed conversion in from_python is already as fast as numpy's.)
_BULK = {"string": _bulk_string}
_ANY, _MAX = np.logical_or.reduce, np.maximum.reduce  # reductions without ndarray's Python wrappers


def bulk_from_python(values: list, f: Field) -> Column:
    """:func:`from_python`, faster on a text column of only ``str`` and ``None`` (the same Column)."""
    bulk = _BULK.get(f.dtype)
    column = bulk(values, f) if bulk is not None else None
    return column if column is not None else _PY[f.dtype](values, f)


# --------------------------------------------------------------------------- a few clean rows

# One submission scored alone spends most of its reading time in the fixed costs of the column
# converters above (a pyarrow call, a dozen numpy calls per field). For a few rows, plain Python
# per value is cheaper, and most submissions are clean: every value has its field's type and
# fits its limits. The converters below handle exactly that case and give up (None) on anything
# that from_python would flag, so a caller then uses from_python, and never gets another answer.

_NUMBER_TYPES = (int, float, bool, str)  # the types whose pyarrow and fallback readings agree
_PAIR_TYPES = (int, float, bool)
_NAN = math.nan


_GIVE_UP = object()  # a value the clean converters leave to the general one


def _clean_text(v: Any, f: Field):
    """One text value as stored (None for missing or empty), or ``_GIVE_UP``."""
    if v is not None:
        if v.__class__ is not str:
            v = _scalar_to_text(v)  # numeric ids; anything else is a wrong type
            if v is None:
                return _GIVE_UP
        if not v:
            v = None
        elif f.max_len is not None and len(v) > f.max_len:
            return _GIVE_UP
    return v


def _clean_string(values: list, f: Field) -> np.ndarray | None:
    out = []
    for v in values:
        v = _clean_text(v, f)
        if v is _GIVE_UP:
            return None
        out.append(v)
    return np.array(out, dtype=object)  # (only str and None: nothing numpy could take for a dimension)


def _clean_number(values: list, f: Field) -> np.ndarray | None:
    out = []
    for v in values:
        if v is None:
            out.append(_NAN)
            continue
        if v.__class__ not in _NUMBER_TYPES:
            return None
        x, ok = _sanitise_number(v)
        if not ok or x != x:  # a wrong type, or NaN given (a finding)
            return None
        out.append(x)
    return np.array(out, dtype=np.float64)


def _clean_bool(values: list, f: Field) -> np.ndarray | None:
    out = []
    for v in values:
        if v is None:
            out.append(_NAN)
            continue
        x = _flag_value(v) if v.__class__ in _NUMBER_TYPES else None
        if x is None:
            return None
        out.append(x)
    return np.array(out, dtype=np.float64)


def _clean_timestamp(values: list, f: Field) -> np.ndarray | None:
    out = []
    for v in values:
        cls = v.__class__
        if v is None:
            out.append(_NAN)
        elif cls is int and _EPOCH_MS_MIN <= v <= _EPOCH_MS_MAX:
            out.append(float(v))
        elif cls is float and (v != v or _EPOCH_MS_MIN <= v <= _EPOCH_MS_MAX):
            out.append(v)  # NaN: missing, as pyarrow's from_pandas reads it
        elif cls is str:
            # ISO-8601 text: the general parser over the whole column, so the answer is its answer.
            column = parse_timestamps(values)
            return None if column.invalid.any() or column.no_offset.any() else column.data
        else:
            return None
    return np.array(out, dtype=np.float64)


def _clean_events(values: list, max_items: int | None) -> tuple[list, list] | None:
    """(every row's elements in one list, row lengths) of a list field, or None for a wrong type
    or a list over the limit."""
    rows, lengths = [], []
    for v in values:
        if v is None:
            lengths.append(0)
        elif v.__class__ is list and (max_items is None or len(v) <= max_items):
            lengths.append(len(v))
            if v:
                rows.append(v)
        else:
            return None
    return (rows[0] if len(rows) == 1 else list(_chain(rows))), lengths


def _ragged(flat: np.ndarray, lengths: list) -> Ragged:
    if len(lengths) == 1:
        return Ragged(flat, np.array((0, lengths[0]), dtype=np.int64))
    offsets = np.zeros(len(lengths) + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    return Ragged(flat, offsets)


def _float_events(events: list, f: Field) -> np.ndarray | None:
    try:  # the bulk conversion of _py_float_list; what it refuses, from_python reads and flags
        return np.fromiter(events, dtype=np.float64, count=len(events))
    except (TypeError, ValueError, OverflowError):
        return None


def _kind_events(events: list, f: Field) -> np.ndarray | None:
    codes = _KIND_CODES[f.name]
    try:
        try:  # every kind known (a third cheaper than codes.get's default per event)
            return np.fromiter(map(codes.__getitem__, events), dtype=np.int8, count=len(events))
        except KeyError:  # an unknown kind: -1, as _py_kind_list codes it (a rule then reports it)
            return np.fromiter(map(codes.get, events, itertools.repeat(-1)), dtype=np.int8, count=len(events))
    except TypeError:  # an unhashable element
        return None


def _clean_list(convert_events):
    """The clean converter of a list field whose elements ``convert_events(events, f)`` converts
    (None when it flags any)."""
    def clean(values: list, f: Field) -> Ragged | None:
        parts = _clean_events(values, f.max_items)
        if parts is None:
            return None
        events, lengths = parts
        flat = convert_events(events, f)
        return None if flat is None else _ragged(flat, lengths)
    return clean


def _clean_pair(values: list, f: Field) -> np.ndarray | None:
    out = []
    for v in values:
        if v is None or (v.__class__ is list and not v):
            out.append((_NAN, _NAN))
            continue
        if v.__class__ is not list or len(v) != 2:
            return None
        a, b = v
        if a.__class__ not in _PAIR_TYPES or b.__class__ not in _PAIR_TYPES:
            return None
        try:
            out.append((float(a), float(b)))
        except OverflowError:
            return None
    return np.array(out, dtype=np.float64).reshape(len(values), 2)


_KIND_CODES = {name: {k: i for i, k in enumerate(kinds)} for name, kinds in KIND_VOCABULARIES.items()}

_CLEAN = {
    "string": _clean_string,
    "float": _clean_number,
    "int": _clean_number,
    "bool": _clean_bool,
    "int_pair": _clean_pair,
    "string_list": _clean_list(_clean_string),
    "float_list": _clean_list(_float_events),
    "likert_list": _clean_list(_float_events),
    "kind_list": _clean_list(_kind_events),
    "timestamp": _clean_timestamp,
}


# --------------------------------------------------------------------------- one clean value

# One submission scored alone: the converters above on a list of one value, without the list and
# its loop. Each returns the field's data for a batch of one row, or None where clean_from_python
# gives up (tests hold them equal).

def _one_string(v: Any, f: Field) -> np.ndarray | None:
    v = _clean_text(v, f)
    if v is _GIVE_UP:
        return None
    out = np.empty(1, dtype=object)
    out[0] = v
    return out


def _one_number(v: Any, f: Field) -> np.ndarray | None:
    if v is None:
        return np.array((_NAN,))
    if v.__class__ not in _NUMBER_TYPES:
        return None
    x, ok = _sanitise_number(v)
    return np.array((x,)) if ok and x == x else None


def _one_bool(v: Any, f: Field) -> np.ndarray | None:
    if v is None:
        return np.array((_NAN,))
    x = _flag_value(v) if v.__class__ in _NUMBER_TYPES else None
    return None if x is None else np.array((x,))


def one_row_ragged(flat: np.ndarray) -> Ragged:
    """The Ragged of one row holding ``flat``. Its offsets ``(0, len(flat))`` keep Ragged's
    invariants by construction, so its checks (numpy scalar comparisons, a visible share of
    reading one record's 15 lists) are skipped."""
    ragged = object.__new__(Ragged)
    ragged.__dict__.update(values=flat, offsets=np.array((0, len(flat)), dtype=np.int64))
    return ragged


def _one_list(convert_events):
    def one(v: Any, f: Field) -> Ragged | None:
        if v is None:
            v = []
        elif v.__class__ is not list or (f.max_items is not None and len(v) > f.max_items):
            return None
        flat = convert_events(v, f)
        return None if flat is None else one_row_ragged(flat)
    return one


_ONE = {
    "string": _one_string,
    "float": _one_number,
    "int": _one_number,
    "bool": _one_bool,
    "int_pair": lambda v, f: _clean_pair([v], f),
    "string_list": _one_list(_clean_string),
    "float_list": _one_list(_float_events),
    "likert_list": _one_list(_float_events),
    "kind_list": _one_list(_kind_events),
    "timestamp": lambda v, f: _clean_timestamp([v], f),
}


def one_converter(f: Field):
    """For field ``f``: ``value -> clean_from_python([value], f)`` (a batch of one row), without
    the list."""
    return _ONE[f.dtype]


def clean_converter(f: Field):
    """The function behind :func:`clean_from_python` for field ``f`` (callers that loop over fields
    look it up once)."""
    return _CLEAN[f.dtype]


def clean_from_python(values: list, f: Field) -> np.ndarray | Ragged | None:
    """``from_python(values, f).data`` when that conversion flags no row, else ``None``.

    Plain Python per value, for a few rows (a submission scored alone); no row is flagged
    means no wrong type, no text or list over its limit, no NaN given and no timestamp without
    an offset. Tests hold it equal to :func:`from_python` on hostile values.
    """
    return _CLEAN[f.dtype](values, f)


# --------------------------------------------------------------------------- Arrow

def _decoded(arr: pa.Array) -> pa.Array:
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks() if arr.num_chunks != 1 else arr.chunk(0)
    if pa.types.is_dictionary(arr.type):
        arr = arr.dictionary_decode()
    return arr


def _is_text(t: pa.DataType) -> bool:
    return pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_string_view(t)


def _is_numeric(t: pa.DataType) -> bool:
    return pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_boolean(t) or pa.types.is_null(t)


def _is_list(t: pa.DataType) -> bool:
    return pa.types.is_list(t) or pa.types.is_large_list(t) or pa.types.is_fixed_size_list(t)


def _arrow_string(arr: pa.Array, f: Field) -> Column | None:
    n = len(arr)
    if pa.types.is_null(arr.type):
        return Column(np.full(n, None, dtype=object), _zeros(n))
    if pa.types.is_integer(arr.type):
        arr = arr.cast(pa.string())
    if not _is_text(arr.type):
        return None
    lengths = pc.fill_null(pc.utf8_length(arr), 0).to_numpy(zero_copy_only=False)
    truncated = lengths > f.max_len if f.max_len is not None else _zeros(n)
    if truncated.any():
        arr = pc.utf8_slice_codeunits(arr, 0, f.max_len)
    data = _text_objects(arr)
    data[lengths == 0] = None
    return Column(data, _zeros(n), truncated, utf8=True)


#: Rows sampled to decide whether a text column repeats enough to go through its dictionary, and
#: the sample size of the rule that decision follows (see _repeats_enough).
_TEXT_SAMPLE = 1024
_TEXT_RULE_SAMPLE = 8192
_TEXT_MIN_SAMPLE = 512


def _repeats_enough(arr: pa.Array) -> bool:
    """Whether a text column repeats enough for its dictionary: at most 90 % of the non-null values
    distinct in ``min(8192, n / 4)`` rows spread over the column, judged from 1,024 of them.

    Hashing the big sample cost about as much as making every row's string (~30 ns a row at
    20,000 distinct ids). Among ``s`` rows spread over ``n``, values that each fill ``k`` rows give
    about ``s**2 (k - 1) / (2 n)`` repeats (birthday counting), so the rule's 10 % of repeats in
    its sample ``S`` is ``0.1 s**2 / S`` repeats in the smaller one (the same test when ``s == S``).
    """
    n = len(arr)
    size = min(_TEXT_SAMPLE, n // 4)
    # Spread over the column (sorted input has runs).
    sample = arr.take(pa.array(np.linspace(0, n - 1, size).astype(np.int64)))
    # Nulls cost nothing either way: a panel id missing on a third of the rows and distinct on
    # the rest is a distinct column (through the dictionary: 70 instead of ~20 ns a row).
    present = size - sample.null_count
    if not present:
        return False
    repeats = present - pc.count_distinct(sample).as_py()
    return repeats >= 0.1 * present * size / min(_TEXT_RULE_SAMPLE, n // 4)


def _text_objects(arr: pa.Array) -> np.ndarray:
    """Object array of ``str`` (``None`` for null) of an Arrow text array.

    A column of few distinct texts (user agents, time zones, WebGL renderers) is hashed in C++
    and one Python ``str`` is made per distinct text, shared by its rows: ~4x cheaper than one
    ``str`` per row, and :func:`fraudscore.enrich._factorize.factorize_objects` then factorizes
    it by object address. Mostly-distinct columns (ids) are cheaper converted row by row.
    """
    if len(arr) >= 4 * _TEXT_MIN_SAMPLE and _repeats_enough(arr):
        encoded = pc.dictionary_encode(arr)
        uniques = np.append(encoded.dictionary.to_numpy(zero_copy_only=False), None)  # last: null
        codes = pc.fill_null(encoded.indices, -1).to_numpy(zero_copy_only=False)
        return uniques[codes]
    return arr.to_numpy(zero_copy_only=False)


def _arrow_number(arr: pa.Array, f: Field | None) -> Column | None:
    if not _is_numeric(arr.type):
        return None
    arr = arr.cast(pa.float64())
    nan_input = pc.fill_null(pc.is_nan(arr), False).to_numpy(zero_copy_only=False)
    return Column(arr.to_numpy(zero_copy_only=False, writable=True), _zeros(len(arr)), nan_input=nan_input)


def _arrow_list_parts(arr: pa.Array) -> tuple[np.ndarray, pa.Array] | None:
    if not _is_list(arr.type):
        return None
    lengths = pc.fill_null(pc.list_value_length(arr), 0).to_numpy(zero_copy_only=False).astype(np.int64)
    return lengths, arr.flatten()


def _arrow_list(arr: pa.Array, f: Field) -> Column | None:
    parts = _arrow_list_parts(arr)
    if parts is None:
        return None
    lengths, flat = parts
    n = len(arr)
    if f.dtype == "kind_list":
        values = _kind_codes(flat, f)
        if values is None:
            return None
        ragged, too_long = Ragged.from_lengths(values, lengths).truncate(f.max_items)
        return Column(ragged, _zeros(n), too_long)
    flat = _decoded(flat)
    if f.dtype in ("float_list", "likert_list"):
        if not _is_numeric(flat.type):
            return None
        values = flat.cast(pa.float64()).to_numpy(zero_copy_only=False)
    else:  # string_list
        if not (_is_text(flat.type) or pa.types.is_null(flat.type)):
            return None
        inner = _arrow_string(flat, f)
        ragged = Ragged.from_lengths(inner.data, lengths)
        truncated = np.zeros(n, dtype=bool)
        truncated[ragged.row_ids()[inner.truncated]] = True
        ragged, too_long = ragged.truncate(f.max_items)
        return Column(ragged, _zeros(n), truncated | too_long, utf8=inner.utf8)
    ragged, too_long = Ragged.from_lengths(values, lengths).truncate(f.max_items)
    return Column(ragged, _zeros(n), too_long)


def _kind_codes(flat: pa.Array | pa.ChunkedArray, f: Field) -> np.ndarray | None:
    """Event kinds as int8 codes into the field's vocabulary (-1: null or not in it); None for
    a type that is not text.

    Parquet and the simulator keep kinds dictionary-encoded: the few distinct texts are matched
    once and each event takes its code by index, instead of decoding a ``str`` per event and
    hashing it (~3.6 us of the ~7 us that validating a simulated submission took).
    """
    if isinstance(flat, pa.ChunkedArray):  # chunks may carry different dictionaries
        parts = [_kind_codes(chunk, f) for chunk in flat.chunks]
        if any(part is None for part in parts):
            return None
        return np.concatenate(parts) if parts else np.empty(0, np.int8)
    if pa.types.is_dictionary(flat.type):
        table = _kind_codes(flat.dictionary, f)
        if table is None:
            return None
        indices = flat.indices
        codes = table[pc.fill_null(indices, 0).to_numpy(zero_copy_only=False)] if len(table) else np.full(len(flat), -1, np.int8)
        if indices.null_count:
            codes[~indices.is_valid().to_numpy(zero_copy_only=False)] = -1
        return codes
    if not (_is_text(flat.type) or pa.types.is_null(flat.type)):
        return None
    codes = pc.index_in(flat.cast(pa.string()), value_set=pa.array(KIND_VOCABULARIES[f.name], type=pa.string()))
    return pc.fill_null(codes, -1).to_numpy(zero_copy_only=False).astype(np.int8)


def _arrow_pair(arr: pa.Array, f: Field) -> Column | None:
    parts = _arrow_list_parts(arr)
    if parts is None:
        return None
    lengths, flat = parts
    if not _is_numeric(flat.type):
        return None
    n = len(arr)
    values = flat.cast(pa.float64()).to_numpy(zero_copy_only=False)
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]]).astype(np.int64)
    data = np.full((n, 2), np.nan)
    ok = lengths == 2
    data[ok, 0] = values[starts[ok]]
    data[ok, 1] = values[starts[ok] + 1]
    return Column(data, (lengths != 2) & (lengths != 0))


def _epoch_ms(arr: pa.Array) -> Column:
    """:func:`parse_timestamps` of a numeric Arrow array, without a Python object per row: null and
    NaN are missing, values outside 2000..2100 invalid."""
    ms = arr.cast(pa.float64()).to_numpy(zero_copy_only=False, writable=True)  # null -> NaN
    present = ~np.isnan(ms)
    with np.errstate(invalid="ignore"):
        outside = present & ~((ms >= _EPOCH_MS_MIN) & (ms <= _EPOCH_MS_MAX))
    ms[outside] = np.nan
    return Column(ms, outside)


def _arrow_timestamp(arr: pa.Array, f: Field) -> Column | None:
    if pa.types.is_timestamp(arr.type):
        return _epoch_ms(arr.cast(pa.timestamp("ms", tz="UTC")).cast(pa.int64()))
    if _is_numeric(arr.type) and not pa.types.is_boolean(arr.type):
        return _epoch_ms(arr)
    if _is_text(arr.type):
        return parse_timestamps(arr.to_numpy(zero_copy_only=False))
    return None


_ARROW = {
    "string": _arrow_string,
    "float": _arrow_number,
    "int": _arrow_number,
    "bool": _arrow_number,
    "int_pair": _arrow_pair,
    "string_list": _arrow_list,
    "float_list": _arrow_list,
    "likert_list": _arrow_list,
    "kind_list": _arrow_list,
    "timestamp": _arrow_timestamp,
}


#: Arrow types a text field is read from in bulk; other types (numbers) go through the Python path.
_TEXT_FIELDS = ("string", "string_list", "kind_list")


def _text_like(t: pa.DataType) -> bool:
    if _is_list(t):
        t = t.value_type
    return _is_text(t) or pa.types.is_null(t) or pa.types.is_dictionary(t)


def _invalid_utf8(arr: pa.Array) -> bool:
    """Whether a string array (or a list of them) holds bytes that are not UTF-8.

    pyarrow builds such arrays without complaint (a binary column viewed as text, a Parquet file
    written unchecked) and fails only when a value becomes a Python ``str``.
    """
    try:
        arr.validate(full=True)
    except pa.ArrowInvalid:
        return True
    return False


def _as_binary(t: pa.DataType) -> pa.DataType:
    if _is_list(t):
        return pa.list_(_as_binary(t.value_type))
    return pa.large_binary() if pa.types.is_large_string(t) else pa.binary()


def _escaped(value):
    """Bytes decoded as UTF-8, each invalid byte kept as a lone surrogate (``surrogateescape``)."""
    if isinstance(value, bytes):
        return value.decode("utf-8", "surrogateescape")
    if isinstance(value, list):
        return [_escaped(v) for v in value]
    return value


def from_arrow(arr: pa.Array | pa.ChunkedArray, f: Field, python_values=None) -> Column:
    """Convert one field's Arrow column; an unexpected Arrow type falls back to the Python path.

    ``python_values`` (a callable) gives the field's original Python values, for Arrow arrays that
    pyarrow built from Python objects: its type inference turns ``[0.0, False]`` into two floats,
    so a text field whose inferred type is not text is read from the objects themselves.

    Text that is not valid UTF-8 goes through the Python path with each invalid byte as a lone
    surrogate, which the batch then replaces by U+FFFD with ``INVALID_UNICODE`` (the rule for
    JSON's lone surrogates): the rows keep their other fields, the batch is not lost.
    """
    arr = _decoded(arr)
    try:
        return _from_arrow(arr, f, python_values)
    except (pa.ArrowException, UnicodeDecodeError):
        if not _invalid_utf8(arr):
            raise
    return from_python(_escaped(arr.cast(_as_binary(arr.type)).to_pylist()), f)


def _from_arrow(arr: pa.Array, f: Field, python_values) -> Column:
    column = None
    if python_values is None or f.dtype not in _TEXT_FIELDS or _text_like(arr.type):
        try:
            column = _ARROW[f.dtype](arr, f)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError):
            column = None
    if column is None:
        column = from_python(arr.to_pylist() if python_values is None else python_values(), f)
    if f.dtype == "bool" and column.data.dtype.kind == "f":
        # Numbers other than 0/1 in a flag column are not a flag.
        odd = ~np.isnan(column.data) & (column.data != 0) & (column.data != 1)
        if python_values is not None:
            odd |= column.nan_input  # a NaN object where a flag belongs is a wrong type, as in _py_bool
        column.data[odd] = np.nan
        column.invalid |= odd
    return column

"""SubmissionBatch: validated, columnar submissions.

A batch holds one numpy column per scalar field of :mod:`fraudscore.schema` (object arrays of
``str``/``None`` for text, float64 with NaN for numbers, flags and timestamps, float64 ``(n, 2)``
for ``[width, height]`` pairs) and one :class:`~fraudscore.ragged.Ragged` per list field
(telemetry series, Likert answers, languages...). Every input row is a batch row, in input order:
a broken row carries an error code, a broken field a warning code, nothing is dropped.

Validation is the same whatever the source (records, pandas, Arrow, files): the readers in
:mod:`fraudscore.io` only convert types, then :func:`assemble` applies the rules here, once.
Fields gated by a consent are blanked for rows without that consent *before* any rule reads them.
"""

from __future__ import annotations

import functools
import math
import re
import zoneinfo
from dataclasses import dataclass
from types import MappingProxyType

import numpy as np
import pandas as pd

from fraudscore._convert import Column
from fraudscore.codes import Code, code_names, warning_names
from fraudscore.enrich._factorize import factorize_objects
from fraudscore.ragged import Ragged
from fraudscore.schema import FIELDS, SERIES

__all__ = ["SubmissionBatch", "Issue", "assemble", "assemble_quiet", "assemble_one"]

_LIST_TYPES = ("string_list", "float_list", "likert_list", "kind_list")
_REQUIRED_CODES = {
    "submission_id": Code.MISSING_SUBMISSION_ID,
    "survey_id": Code.MISSING_SURVEY_ID,
    "started_at": Code.MISSING_STARTED_AT,
    "submitted_at": Code.MISSING_SUBMITTED_AT,
}


@dataclass(frozen=True)
class Issue:
    """One problem found in one field, for a set of rows.

    ``rows`` are int64 row indices; ``detail`` is the human sentence for the message.
    """

    code: Code
    field: str
    rows: np.ndarray
    detail: str


#: Fields holding text (or lists of texts), where a lone surrogate can arrive from JSON.
_TEXT_FIELDS = tuple(f.name for f in FIELDS if f.dtype in ("string", "string_list"))


def _unencodable(values: np.ndarray) -> bool:
    """Whether any text of ``values`` (texts and None) cannot be written as UTF-8 (one C-level check)."""
    try:
        "\x00".join(filter(None, values)).encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _text_values(data):
    """The object array of a text field's data (its elements, for a list of texts), or None."""
    values = data.values if isinstance(data, Ragged) else data
    return values if isinstance(values, np.ndarray) and values.dtype == object else None


def _any_unencodable(data: dict) -> bool:
    """Whether a text field of ``data`` (name to ndarray or Ragged) holds a lone surrogate."""
    return any((v := _text_values(data.get(name))) is not None and _unencodable(v) for name in _TEXT_FIELDS)


def _replace_lone_surrogates(converted: dict) -> list:
    """Replace lone surrogates in text fields by U+FFFD, in place: ``(field, rows)`` repaired.

    JSON may carry ``"\\ud800"``; Python keeps it, but nothing downstream that writes UTF-8
    (Arrow, pandas' string dtype, keyed hashes) can, and the batch would be lost there.
    """
    found = []
    for name in _TEXT_FIELDS:
        column = converted.get(name)
        values = _text_values(column.data) if column is not None and not column.utf8 else None
        if values is None or not _unencodable(values):
            continue
        bad = np.fromiter((isinstance(v, str) and _unencodable((v,)) for v in values), dtype=bool,
                          count=len(values))  # rare: only a batch that holds one pays this loop
        for i in np.flatnonzero(bad):
            values[i] = values[i].encode("utf-16", "surrogatepass").decode("utf-16", "replace")
        rows = np.unique(column.data.row_ids()[bad]) if isinstance(column.data, Ragged) else np.flatnonzero(bad)
        found.append((name, rows.astype(np.int64)))
    return found


class SubmissionBatch:
    """Validated columns of ``n`` submissions, in input order.

    Attributes
    ----------
    n : int
        Number of rows (= number of input rows).
    error : ndarray of shape (n,), int16
        :class:`~fraudscore.codes.Code` value of the row's error, 0 when the row can be scored.
    warnings : ndarray of shape (n,), uint64
        Bitmask of warning codes (``Code.X.bit``).
    consent_usage, consent_analytics : ndarray of shape (n,), bool
        Consents (missing means false).
    started_at_ms, submitted_at_ms, duration_ms : ndarray of shape (n,), float64
        Epoch milliseconds and their difference; NaN when missing or invalid.
    issues : tuple of Issue
        What was found, field by field; :meth:`messages` turns it into one text per row.
    unknown_fields : tuple of str
        Input fields that the schema does not know (typos are the usual cause).
    source_row : ndarray of shape (n,), int64
        Row number in the source (file line or table row), for tracing errors back.
    """

    def __init__(self, columns: dict, lists: dict, error: np.ndarray, warnings: np.ndarray,
                 issues: tuple, unknown_fields: tuple = (), source_row: np.ndarray | None = None) -> None:
        self._columns = MappingProxyType(columns)
        self._lists = MappingProxyType(lists)
        self.n = len(error)
        self.error = error
        self.warnings = warnings
        self.issues = tuple(issues)
        self.unknown_fields = tuple(unknown_fields)
        self.source_row = np.arange(self.n, dtype=np.int64) if source_row is None else source_row
        self._factorized: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        self.consent_usage = columns["consent.usage"] == 1.0
        self.consent_analytics = columns["consent.analytics"] == 1.0
        self.started_at_ms = columns["started_at"]
        self.submitted_at_ms = columns["submitted_at"]
        with np.errstate(invalid="ignore"):
            duration = self.submitted_at_ms - self.started_at_ms
        self.duration_ms = np.where(duration >= 0, duration, np.nan)

    def __len__(self) -> int:
        return self.n

    def __repr__(self) -> str:
        errors = int((self.error != 0).sum())
        warned = int((self.warnings != 0).sum())
        return f"SubmissionBatch(n={self.n}, errors={errors}, rows_with_warnings={warned})"

    # ------------------------------------------------------------------ access
    def column(self, name: str):
        """Data of one schema field: an ndarray for scalars and pairs, a Ragged for lists."""
        if name in self._columns:
            return self._columns[name]
        if name in self._lists:
            return self._lists[name]
        raise KeyError(f"{name!r} is not a field of fraudscore.schema")

    def factorized(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        """Codes and distinct values of a text field (of its elements, for a text list), made once.

        Every stage that groups by text (user-agent parsing, IP lookup, fingerprints, keyed hashes)
        can share them instead of hashing the column again. Computing twice in two threads is
        harmless (same result); the arrays are read-only.

        Returns
        -------
        codes : ndarray of int64 of shape (n,), or (number of elements,) for a list field
            Index into ``uniques``; -1 for a missing value.
        uniques : ndarray of object of shape (k,)
            Distinct values in order of first appearance.
        """
        if name not in self._factorized:
            data = self.column(name)
            values = data.values if isinstance(data, Ragged) else data
            if values.dtype != object:
                raise TypeError(f"{name!r} is not a text field")
            codes, uniques = factorize_objects(values)
            codes.flags.writeable = uniques.flags.writeable = False
            self._factorized[name] = codes, uniques
        return self._factorized[name]

    @property
    def submission_id(self) -> np.ndarray:
        return self._columns["submission_id"]

    @property
    def survey_id(self) -> np.ndarray:
        return self._columns["survey_id"]

    @property
    def valid(self) -> np.ndarray:
        """Rows that can be scored."""
        return self.error == 0

    def error_names(self) -> np.ndarray:
        """Error code names (``None`` for rows without error), object array of shape (n,)."""
        return code_names(self.error)

    def warning_names(self) -> np.ndarray:
        """Lists of warning code names, object array of shape (n,)."""
        return warning_names(self.warnings)

    def messages(self) -> np.ndarray:
        """One human-readable text per row (``None`` for clean rows): every issue of the row.

        Built on demand and only for rows with issues; not part of the scoring hot path.
        """
        parts: dict[int, list[str]] = {}
        for issue in self.issues:
            text = f"{issue.code.name} {issue.field}: {issue.detail}" if issue.field else \
                f"{issue.code.name}: {issue.detail}"
            for r in issue.rows.tolist():
                parts.setdefault(r, []).append(text)
        out = np.full(self.n, None, dtype=object)
        for r, texts in parts.items():
            out[r] = "; ".join(texts)
        return out

    def rows(self, start: int, stop: int) -> "SubmissionBatch":
        """Rows ``start`` to ``stop`` (exclusive) as a batch of their own, in order.

        For splitting work into chunks: columns are views, list columns share the values of
        this batch between their offsets, issues keep their rows (renumbered from 0).
        """
        start, stop = max(0, min(start, self.n)), max(0, min(stop, self.n))
        stop = max(start, stop)
        columns = {name: data[start:stop] for name, data in self._columns.items()}
        lists = {}
        for name, ragged in self._lists.items():
            a, z = ragged.offsets[start], ragged.offsets[stop]
            lists[name] = Ragged(ragged.values[a:z], ragged.offsets[start:stop + 1] - a)
        issues = []
        for issue in self.issues:
            inside = issue.rows[(issue.rows >= start) & (issue.rows < stop)]
            if len(inside):
                issues.append(Issue(issue.code, issue.field, inside - start, issue.detail))
        return SubmissionBatch(columns, lists, self.error[start:stop], self.warnings[start:stop], tuple(issues),
                               self.unknown_fields, self.source_row[start:stop])

    def equals(self, other: "SubmissionBatch") -> bool:
        """Same data, codes and warnings (NaN equals NaN); for tests of reader equivalence."""
        if self.n != other.n or not np.array_equal(self.error, other.error):
            return False
        if not np.array_equal(self.warnings, other.warnings):
            return False
        for name in self._columns:
            a, b = self._columns[name], other._columns[name]
            if a.dtype.kind == "f":
                if not np.array_equal(a, b, equal_nan=True):
                    return False
            elif not all(x == y for x, y in zip(a.tolist(), b.tolist())):
                return False
        for name in self._lists:
            a, b = self._lists[name], other._lists[name]
            if a.values.dtype.kind == "O":
                if not np.array_equal(a.offsets, b.offsets) or a.values.tolist() != b.values.tolist():
                    return False
            elif not a.equals(b):
                return False
        return True


# ---------------------------------------------------------------------- assembly and rules

_BOOL = np.dtype(bool)
_ANY, _ALL = np.logical_or.reduce, np.logical_and.reduce  # reductions without ndarray's Python wrappers
_MIN, _MAX = np.minimum.reduce, np.maximum.reduce


class _Findings:
    """Collects issues, the error per row and the warning bits per row."""

    def __init__(self, n: int) -> None:
        self.n = n
        self.error = np.zeros(n, dtype=np.int16)
        self.warnings = np.zeros(n, dtype=np.uint64)
        self.issues: list[Issue] = []

    def add(self, code: Code, field: str, mask_or_rows: np.ndarray, detail: str) -> None:
        if mask_or_rows.dtype is _BOOL:
            # Most rules find nothing: one reduction (not ndarray.any's Python wrapper) is several
            # times cheaper than ``flatnonzero``, and a batch makes ~150 of these calls whatever its size.
            if not _ANY(mask_or_rows):
                return
            rows = np.flatnonzero(mask_or_rows)
        else:
            rows = np.asarray(mask_or_rows, np.int64)
        if not len(rows):
            return
        if code.is_error:
            # First error wins (codes run from most to least fundamental); a row already in error
            # gets no further error findings, so its message names the root cause only.
            rows = rows[self.error[rows] == 0]
            if not len(rows):
                return
            self.error[rows] = code.value
        else:
            self.warnings[rows] |= np.uint64(code.bit)
        self.issues.append(Issue(code, field, rows, detail))


@functools.lru_cache(maxsize=1)
def _time_zones() -> frozenset:
    return frozenset(zoneinfo.available_timezones())


def valid_ip_mask(ips: np.ndarray) -> np.ndarray:
    """True where the text is an IPv4 or IPv6 address; ``None`` is not.

    Uses the enrichment stage's own parser (:func:`fraudscore.enrich.ip.parse_ips`), once per
    distinct value, so validation and lookup can never disagree on what an address is.
    """
    from fraudscore.enrich.ip import parse_ips

    present = pd.notna(ips)
    ok = np.zeros(len(ips), dtype=bool)
    if len(ips) <= 64:  # a few rows: parsing each costs less than a hash table (same answer)
        ok[present] = parse_ips(np.asarray(ips[present], dtype=object))[0] > 0
    elif present.any():
        codes, uniques = pd.factorize(ips[present])
        ok[present] = (parse_ips(np.asarray(uniques, dtype=object))[0] > 0)[codes]
    return ok


def _valid_ips(ips: np.ndarray, present: np.ndarray) -> np.ndarray:
    """:func:`valid_ip_mask` of a column: strict dotted quads matched by one Arrow regex over the
    column (~60 ns a row, against ~300 ns a row through the address parser), the rest parsed."""
    if len(ips) <= 64:
        return valid_ip_mask(ips)
    import pyarrow as pa
    import pyarrow.compute as pc

    try:
        text = pa.array(ips, type=pa.string())  # (lone surrogates were replaced before this rule)
    except (pa.ArrowException, UnicodeError, TypeError):
        return valid_ip_mask(ips)
    ok = pc.fill_null(pc.match_substring_regex(text, _PLAIN_IPV4_FULL), False).to_numpy(zero_copy_only=False)
    rest = present & ~ok
    if _ANY(rest):
        ok = ok.copy()
        ok[rest] = valid_ip_mask(ips[rest])
    return ok


_FLOAT_MAX = float(np.finfo(np.float64).max)


def _check_number(f, data: np.ndarray, column: Column, found: _Findings) -> None:
    """NaN/inf, range and whole-number rules for a numeric scalar or pair; bad values become NaN."""
    with np.errstate(invalid="ignore"):
        # Every value missing, or finite, in range and (for whole numbers) whole: no rule has
        # anything to say, in ~6 array operations instead of ~20 (most columns of most batches).
        ok = (data >= (-_FLOAT_MAX if f.min is None else f.min)) & (data <= (_FLOAT_MAX if f.max is None else f.max))
        if f.dtype in ("int", "int_pair"):
            ok &= np.floor(data) == data
    if _ALL(ok | np.isnan(data), axis=None) and not _ANY(column.nan_input):
        return
    per_row = lambda mask: mask.any(axis=1) if mask.ndim == 2 else mask  # noqa: E731 - pairs have 2 values
    infinite = per_row(np.isinf(data))
    found.add(Code.NOT_FINITE, f.name, column.nan_input | infinite, "not a finite number")
    with np.errstate(invalid="ignore"):
        outside = np.zeros(data.shape, dtype=bool)
        if f.min is not None:
            outside |= data < f.min
        if f.max is not None:
            outside |= data > f.max
        fractional = (np.floor(data) != data) & np.isfinite(data) if f.dtype in ("int", "int_pair") else outside & False
    outside = per_row(outside) & ~infinite
    fractional = per_row(fractional) & ~outside
    found.add(Code.OUT_OF_RANGE, f.name, outside, f"outside [{f.min:g}, {f.max:g}]")
    found.add(Code.INVALID_TYPE, f.name, fractional, "not a whole number")
    data[infinite | outside | fractional] = np.nan


def _check_list(f, ragged: Ragged, found: _Findings) -> Ragged:
    values = ragged.values
    quiet = _list_rule(f)
    if quiet is None or quiet(f, values):  # nothing to find (one or two reductions)
        return ragged
    if f.dtype == "kind_list":
        unknown = values < 0
        if unknown.any():
            found.add(Code.UNKNOWN_EVENT_KIND, f.name, np.bincount(ragged.row_ids()[unknown], minlength=len(ragged)) > 0,
                      "unknown event kind")
        return ragged
    if f.dtype not in ("float_list", "likert_list"):
        return ragged
    with np.errstate(invalid="ignore"):
        bad = np.zeros(len(values), dtype=bool)
        if f.min is not None:
            bad |= values < f.min
        if f.max is not None:
            bad |= values > f.max
        if f.dtype == "likert_list":
            bad |= np.isinf(values) | ((np.floor(values) != values) & ~np.isnan(values))
    if f.name.startswith("telemetry.") and f.min is None:
        return ragged  # series are checked as a whole in _repair_series
    if bad.any():
        rows = np.bincount(ragged.row_ids()[bad], minlength=len(ragged)) > 0
        if f.dtype == "likert_list":
            found.add(Code.INVALID_LIKERT, f.name, rows, "answer not a whole number in range; read as skipped")
        else:
            found.add(Code.OUT_OF_RANGE, f.name, rows, f"value outside [{f.min:g}, {f.max:g}]; set to NaN")
        values = values.copy()
        values[bad] = np.nan
        ragged = Ragged(values, ragged.offsets)
    if f.dtype == "float_list":
        nonfinite = ~np.isfinite(values) & ~bad
        if nonfinite.any():
            rows = np.bincount(ragged.row_ids()[nonfinite], minlength=len(ragged)) > 0
            found.add(Code.NOT_FINITE, f.name, rows, "NaN or infinite value")
    return ragged


def _repair_series(lists: dict, found: _Findings, n: int) -> None:
    """Parallel telemetry arrays: equal lengths, finite, sorted by time — else repair or drop."""
    for series, members in SERIES.items():
        raggeds = [lists[m] for m in members]
        if _series_ok(raggeds):
            continue
        lengths = np.stack([r.lengths for r in raggeds])
        mismatch = (lengths != lengths[0]).any(axis=0)
        found.add(Code.TELEMETRY_LENGTH_MISMATCH, series, mismatch,
                  "arrays of the series differ in length; series dropped")
        not_finite = np.zeros(n, dtype=bool)
        for r in raggeds:
            if r.values.dtype.kind == "f":
                bad = ~np.isfinite(r.values)
                if bad.any():
                    not_finite |= np.bincount(r.row_ids()[bad], minlength=n) > 0
        not_finite &= ~mismatch
        found.add(Code.TELEMETRY_NOT_FINITE, series, not_finite, "NaN or infinite values; series dropped")
        drop = mismatch | not_finite
        raggeds = [r.clear_rows(drop) for r in raggeds]
        unsorted = raggeds[0].unsorted_rows()
        if unsorted.any():
            found.add(Code.TELEMETRY_UNSORTED, series, unsorted, "events not in time order; sorted")
            order = raggeds[0].sort_order()
            raggeds = [Ragged(r.values[order], r.offsets) for r in raggeds]
        for m, r in zip(members, raggeds):
            lists[m] = r


def assemble(converted: dict[str, Column], n: int, record_errors: list[tuple[Code, np.ndarray, str]] = (),
             unknown_fields: tuple = (), source_row: np.ndarray | None = None) -> SubmissionBatch:
    """Apply the validation rules to converted fields and build the batch.

    Parameters
    ----------
    converted : dict of str to Column
        One entry per schema field present in the input; absent fields are all-missing.
    n : int
        Number of input rows.
    record_errors : list of (Code, rows, detail)
        Whole-record problems found by the reader (not an object, invalid JSON).
    """
    found = _Findings(n)
    for code, rows, detail in record_errors:
        found.add(code, "", rows, detail)
    for name, rows in _replace_lone_surrogates(converted):
        found.add(Code.INVALID_UNICODE, name, rows, "held a lone surrogate or bytes that are not UTF-8, replaced by U+FFFD")
    columns: dict[str, np.ndarray] = {}
    lists: dict[str, Ragged] = {}
    refused = {"none": None}  # per consent: rows without it, or None when every row has it
    for consent in ("usage", "analytics"):
        c = converted.get(f"consent.{consent}")
        allowed = (c.data == 1.0) if c is not None else np.zeros(n, dtype=bool)
        refused[consent] = None if _ALL(allowed) else ~allowed

    for f in FIELDS:
        column = converted.get(f.name)
        if column is None:
            column = _missing(f, n)
        if refused[f.consent] is not None:
            column = _blank(f, column, refused[f.consent])
        if not f.required:  # a required field's problems are row errors, reported below
            found.add(Code.INVALID_TYPE, f.name, column.invalid, "wrong type; treated as missing")
        code, detail = _TRUNCATION[f.name]  # (made once: most batches truncate nothing)
        found.add(code, f.name, column.truncated, detail)
        data = column.data
        if f.dtype in _LIST_TYPES:
            lists[f.name] = _check_list(f, data, found)
            continue
        if f.dtype in ("float", "int", "int_pair"):
            data = data.copy()
            _check_number(f, data, column, found)
        elif f.dtype == "timestamp":
            found.add(Code.TIMESTAMP_WITHOUT_OFFSET, f.name, column.no_offset, "no UTC offset; read as UTC")
        columns[f.name] = data

    for name, code in _REQUIRED_CODES.items():
        bad_type = converted[name].invalid if name in converted else np.zeros(n, dtype=bool)
        found.add(code, name, pd.isna(columns[name]) & ~bad_type, "missing")
        if name.endswith("_at"):
            found.add(code, name, bad_type, "not an ISO-8601 timestamp or epoch milliseconds in 2000-2100")
        else:
            found.add(code, name, bad_type, "not text")
    with np.errstate(invalid="ignore"):
        negative = columns["submitted_at"] < columns["started_at"]
    found.add(Code.NEGATIVE_DURATION, "submitted_at", negative, "before started_at; duration unknown")

    tz = columns["device.timezone"]
    present = pd.notna(tz)
    if present.any():
        # Membership per distinct zone: pandas 3 turns a str Series' isin into one Arrow scalar
        # per zone name (~600), about 8 ms per call whatever the batch size.
        codes, uniques = factorize_objects(tz[present])
        zones = _time_zones()
        valid = np.fromiter(map(zones.__contains__, uniques), dtype=bool, count=len(uniques))[codes]
        bad_tz = np.flatnonzero(present)[~valid]
        found.add(Code.INVALID_TIMEZONE, "device.timezone", bad_tz, "not an IANA time zone")
        tz = tz.copy()
        tz[bad_tz] = None
        columns["device.timezone"] = tz
    ip = columns["network.ip"]
    present = pd.notna(ip)
    if present.any():
        bad_ip = present & ~_valid_ips(ip, present)
        found.add(Code.INVALID_IP, "network.ip", bad_ip, "not an IPv4 or IPv6 address")
        if bad_ip.any():
            ip = ip.copy()
            ip[bad_ip] = None
            columns["network.ip"] = ip

    ids = columns["submission_id"]
    if n > 1:  # one row has no earlier row to repeat
        dup = pd.Series(ids).duplicated(keep="first").to_numpy() & pd.notna(ids)
        found.add(Code.DUPLICATE_SUBMISSION_ID, "submission_id", dup, "seen earlier in this batch")

    _repair_series(lists, found, n)
    return SubmissionBatch(columns, lists, found.error, found.warnings, tuple(found.issues),
                           unknown_fields=unknown_fields, source_row=source_row)


# ---------------------------------------------------------------------- a few clean rows

#: A strict dotted quad: what :func:`fraudscore.enrich.ip.parse_ips` accepts without asking it (a
#: shortcut for one row only; any other text is asked).
_PLAIN_IPV4 = re.compile(r"(?:(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])\.){3}"
                         r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])", re.ASCII)


#: The same, anchored for RE2 (Arrow's regex engine), whose ``$`` matches only at the very end.
_PLAIN_IPV4_FULL = f"^{_PLAIN_IPV4.pattern}$"


def _bounds(f) -> tuple[float, float]:
    return (-math.inf if f.min is None else f.min), (math.inf if f.max is None else f.max)


def _numbers_quiet(f, values: list) -> bool:
    """No value of a numeric field is infinite, out of range or (for whole numbers) fractional."""
    lo, hi = _bounds(f)
    whole = f.dtype != "float"
    for x in values:
        if x != x:
            continue  # missing
        if not lo <= x <= hi or x in _INFINITIES or (whole and x != math.floor(x)):
            return False
    return True


_INFINITIES = (math.inf, -math.inf)


def _kinds_quiet(f, values: np.ndarray) -> bool:
    return not len(values) or _MIN(values) >= 0


def _likert_quiet(f, values: np.ndarray) -> bool:
    if not len(values):
        return True
    lo, hi = _bounds(f)
    with np.errstate(invalid="ignore"):  # skipped answers (NaN) are fine; infinite ones are out of range
        ok = (values >= lo) & (values <= hi) & (np.floor(values) == values)
    return bool(_ALL(ok | np.isnan(values)))


def _floats_quiet(f, values: np.ndarray) -> bool:
    if not len(values):
        return True
    lo, hi = _bounds(f)
    least, most = _MIN(values), _MAX(values)  # NaN in the values makes both NaN, and the test false
    return bool(math.isfinite(least) and math.isfinite(most) and least >= lo and most <= hi)


def _list_rule(f):
    """The quiet check of :func:`_check_list`'s rules for one list field (None: it has none)."""
    if f.dtype == "kind_list":
        return _kinds_quiet
    if f.dtype == "likert_list":
        return _likert_quiet
    if f.dtype == "float_list" and not (f.name.startswith("telemetry.") and f.min is None):
        return _floats_quiet  # (series members are checked as a whole in _series_quiet)
    return None


#: What assemble_quiet checks for each field: (field, is a list, quiet check of its values or None).
_QUIET_PLAN = tuple(
    (f, True, _list_rule(f)) if f.dtype in _LIST_TYPES else
    (f, False, _numbers_quiet if f.dtype in ("float", "int", "int_pair") else None)
    for f in FIELDS)


def _quiet_fields(data: dict, allowed: dict | None = None) -> tuple[dict, dict] | None:
    """``data`` split into scalar columns and list columns, each field through its quiet check
    (:data:`_QUIET_PLAN`); None as soon as one would flag something. ``allowed``: per consent,
    the rows that gave it (None: all), for blanking as :func:`assemble` does; None when the
    reader blanked the gated fields already."""
    columns: dict[str, np.ndarray] = {}
    lists: dict[str, Ragged] = {}
    for f, is_list, quiet in _QUIET_PLAN:
        column = data[f.name]
        rows = allowed[f.consent] if allowed is not None else None
        if rows is not None:  # consent blanking, as in assemble
            column = _blank_data(column, ~rows)
        if is_list:
            if quiet is not None and not quiet(f, column.values):
                return None
            lists[f.name] = column
        else:
            if quiet is not None and not quiet(f, column.ravel().tolist()):
                return None
            columns[f.name] = column
    return columns, lists


def _same_offsets(a: np.ndarray, b: np.ndarray) -> bool:
    if a is b:
        return True
    if len(a) != len(b) or a[-1] != b[-1]:
        return False
    return a.tolist() == b.tolist() if len(a) <= 64 else bool(np.array_equal(a, b))


def _series_ok(raggeds: list) -> bool:
    """A telemetry series (its member columns) that :func:`_repair_series` leaves alone: equal
    lengths, finite values, time order. False may also mean "look closer" (a sum that overflows)."""
    time = raggeds[0]
    for r in raggeds[1:]:
        if not _same_offsets(r.offsets, time.offsets):
            return False
        # An infinite or NaN value makes the sum infinite or NaN.
        if r.values.dtype.kind == "f" and not math.isfinite(np.add.reduce(r.values)):
            return False
    t = time.values
    if not len(t):
        return True
    if not math.isfinite(np.add.reduce(t)):  # a NaN or infinite time (or a sum that overflows)
        return False
    later_is_smaller = t[1:] < t[:-1]
    if not _ANY(later_is_smaller):
        return True
    # Each row starts again from its own first event: a drop onto a row's first value is no drop
    # (what Ragged.unsorted_rows finds, without finding which rows).
    starts = time.offsets[1:-1]
    later_is_smaller[starts[(starts > 0) & (starts < len(t))] - 1] = False
    return not _ANY(later_is_smaller)


def _series_quiet(lists: dict) -> bool:
    """:func:`_repair_series` would find nothing."""
    return all(_series_ok([lists[m] for m in members]) for members in SERIES.values())


def _texts_valid(values: list, valid) -> bool:
    return all(v is None or valid(v) for v in values)


def assemble_quiet(data: dict, n: int, source_row: np.ndarray | None = None) -> SubmissionBatch | None:
    """The batch :func:`assemble` builds from clean columns, when no rule finds anything; else None.

    For a few rows (a submission scored alone), where :func:`assemble`'s ~150 whole-column rule
    calls cost more than the rows: each rule becomes a check in plain Python or one numpy
    reduction, and any finding returns None, so the caller runs :func:`assemble` itself.

    Parameters
    ----------
    data : dict of str to ndarray or Ragged
        Every schema field's typed data, as :func:`fraudscore._convert.clean_from_python` gives
        it: what the converters return when they flag no row.
    n : int
        Number of rows.
    """
    if _any_unencodable(data):
        return None  # assemble repairs it and says so
    allowed = {"none": None}
    for consent in ("usage", "analytics"):
        given = [x == 1.0 for x in data[f"consent.{consent}"].tolist()]
        allowed[consent] = None if all(given) else np.array(given)
    split = _quiet_fields(data, allowed)
    if split is None:
        return None
    columns, lists = split
    ids = columns["submission_id"].tolist()
    if None in ids or None in columns["survey_id"].tolist() or (n > 1 and len(set(ids)) < n):
        return None
    started, submitted = columns["started_at"].tolist(), columns["submitted_at"].tolist()
    if any(not (a <= b) for a, b in zip(started, submitted)):  # also false for a missing (NaN) time
        return None
    if not _texts_valid(columns["device.timezone"].tolist(), _time_zones().__contains__):
        return None
    ips = columns["network.ip"].tolist()
    if not _texts_valid(ips, _PLAIN_IPV4.fullmatch):
        ips = np.array(ips, dtype=object)
        if not valid_ip_mask(ips)[pd.notna(ips)].all():
            return None
    if not _series_quiet(lists):
        return None
    return SubmissionBatch(columns, lists, np.zeros(n, dtype=np.int16), np.zeros(n, dtype=np.uint64), (),
                           source_row=source_row)


def assemble_one(data: dict, texts: list, source_row: np.ndarray | None = None) -> SubmissionBatch | None:
    """:func:`assemble_quiet` of one row, whose reader has blanked the gated fields itself.

    Parameters
    ----------
    data : dict of str to ndarray or Ragged
        Every schema field's data for one row, as :func:`fraudscore._convert.one_converter`
        gives it; fields gated by a consent the row did not give hold missing values.
    texts : list of str
        Every text of the record, in gated fields too (what :func:`assemble` checks for lone
        surrogates before blanking).
    """
    if texts:
        try:
            "\x00".join(texts).encode("utf-8")
        except UnicodeEncodeError:
            return None  # assemble repairs it and says so
    split = _quiet_fields(data)
    if split is None:
        return None
    columns, lists = split
    if columns["submission_id"][0] is None or columns["survey_id"][0] is None:
        return None
    if not columns["started_at"][0] <= columns["submitted_at"][0]:  # also false for a missing (NaN) time
        return None
    tz = columns["device.timezone"][0]
    if tz is not None and tz not in _time_zones():
        return None
    ip = columns["network.ip"][0]
    if ip is not None and not _PLAIN_IPV4.fullmatch(ip) and not valid_ip_mask(columns["network.ip"])[0]:
        return None
    if not _series_quiet(lists):
        return None
    return SubmissionBatch(columns, lists, np.zeros(1, dtype=np.int16), np.zeros(1, dtype=np.uint64), (),
                           source_row=source_row)


def _truncation_detail(f) -> str:
    # A list of texts has one truncation mask for both of its limits, so its message names both.
    if f.dtype == "string_list" and f.max_len is not None and f.max_items is not None:
        return f"more than {f.max_items} items or an item longer than {f.max_len} characters; truncated"
    return f"longer than the limit ({f.max_len or f.max_items}); truncated"


#: Code and message of a truncated value, per field.
_TRUNCATION = {f.name: (Code.TRUNCATED_TEXT if f.dtype in ("string", "string_list") else Code.TRUNCATED_LIST,
                        _truncation_detail(f)) for f in FIELDS}


def _missing(f, n: int) -> Column:
    none = np.zeros(n, dtype=bool)
    if f.dtype in _LIST_TYPES:
        dtype = {"string_list": object, "kind_list": np.int8}.get(f.dtype, np.float64)
        return Column(Ragged.empty(n, dtype), none)
    if f.dtype == "string":
        return Column(np.full(n, None, dtype=object), none)
    if f.dtype == "int_pair":
        return Column(np.full((n, 2), np.nan), none)
    return Column(np.full(n, np.nan), none)


def _blank(f, column: Column, rows: np.ndarray) -> Column:
    """Make a consent-gated field missing on rows without consent, and forget its findings there."""
    keep = ~rows
    return Column(_blank_data(column.data, rows), column.invalid & keep, column.truncated & keep,
                  column.no_offset & keep, column.nan_input & keep, column.utf8)


def _blank_data(data, rows: np.ndarray):
    """A copy of a column's data (a Ragged: new rows) that is missing on the rows of the mask ``rows``."""
    if isinstance(data, Ragged):
        # Rows without consent usually arrive empty (the collector records nothing before it):
        # then there is nothing to clear, and no copy of every value of the column to make.
        return data.clear_rows(rows) if _ANY(data.lengths[rows]) else data
    data = data.copy()
    data[rows] = None if data.dtype == object else np.nan
    return data

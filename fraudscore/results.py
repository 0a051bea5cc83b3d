"""The output contract: :class:`Results` (one row per input row, input order) and :class:`Result`.

Columns (see docs/ARCHITECTURE.md):

============== ========================= ==================================================
column         type                      meaning
============== ========================= ==================================================
submission_id  str or None               as given (None when the input row had none)
score          float64, NaN on error     calibrated P(fraud), 0-1
risk           float64, NaN on error     score on a 0-100 scale, rounded
decision       str                       accept | review | reject | error
automation,    float64, NaN if not       family sub-scores: the summed log-odds
duplicate,     explained                 contributions of the family's features
network,
careless,
behaviour,
content
reasons        list of {code, value}     top reason codes, strongest first (value: log-odds
                                         pushed towards fraud); empty if not explained
device_id      str or None               keyed device hash (hex), never a raw attribute
link_id        str or None               keyed fuzzy device-link hash (hex)
duplicate_count int                      prior submissions seen from the same device link
model_version  str or None               version of the model that scored the row
error          str or None               error code name when the row could not be scored
warnings       list of str               warning code names (fields treated as missing...)
============== ========================= ==================================================

*Explained* rows: a :class:`~fraudscore.scorer.Scorer` explains (contributions, sub-scores,
reasons) the rows it flags, decision review or reject, and with ``reasons="all"`` every scored
row. An accepted row of the default scorer therefore has NaN sub-scores and no reasons; an
explained row may still have no reasons, when no code pushed it towards fraud by 0.05 log-odds.
Error rows are never explained.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, fields
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

__all__ = ["Results", "Result", "RESULT_COLUMNS", "DECISIONS", "FAMILIES", "RESULTS_SCHEMA", "result_at", "run_summary"]

DECISIONS = ("accept", "review", "reject", "error")
FAMILIES = ("automation", "duplicate", "network", "careless", "behaviour", "content")

_REASON = pa.struct([("code", pa.string()), ("value", pa.float64())])
RESULTS_SCHEMA = pa.schema(
    [("submission_id", pa.string()), ("score", pa.float64()), ("risk", pa.float64()), ("decision", pa.string())]
    + [(f, pa.float64()) for f in FAMILIES]
    + [("reasons", pa.list_(_REASON)), ("device_id", pa.string()), ("link_id", pa.string()),
       ("duplicate_count", pa.int64()), ("model_version", pa.string()), ("error", pa.string()),
       ("warnings", pa.list_(pa.string()))]
)
RESULT_COLUMNS = tuple(RESULTS_SCHEMA.names)


@dataclass(frozen=True)
class Result:
    """One scored submission (what ``Scorer.score_one`` returns)."""

    submission_id: str | None
    score: float
    risk: float
    decision: str
    automation: float
    duplicate: float
    network: float
    careless: float
    behaviour: float
    content: float
    reasons: tuple
    device_id: str | None
    link_id: str | None
    duplicate_count: int
    model_version: str | None
    error: str | None
    warnings: tuple

    @property
    def is_error(self) -> bool:
        return self.decision == "error"


_RESULT_FIELDS = tuple(f.name for f in fields(Result))
_TEXT_FIELDS = ("submission_id", "device_id", "link_id", "model_version", "error")
_FLOAT_FIELDS = ("score", "risk") + FAMILIES


def _result(values: dict) -> Result:
    """The :class:`Result` of one row's values, whichever container they come from.

    Numbers become Python floats and ints, reasons a tuple of ``(code, value)`` pairs, warnings
    a tuple, missing text (None or a pandas missing marker) None: a row read back from a
    Results table and the same row taken from the scorer's columns give equal Results.
    """
    values = dict(values)
    for name in _FLOAT_FIELDS:
        values[name] = float(values[name])
    values["reasons"] = tuple(tuple(r.values()) if isinstance(r, dict) else tuple(r)
                              for r in (values["reasons"] if values["reasons"] is not None else []))
    values["warnings"] = tuple(values["warnings"] if values["warnings"] is not None else ())
    values["duplicate_count"] = int(values["duplicate_count"])
    for name in _TEXT_FIELDS:
        if values[name] is not None and pd.isna(values[name]):
            values[name] = None
    return Result(**values)


def result_at(columns: dict, i: int) -> Result:
    """Row ``i`` of Results columns (as given to :meth:`Results.from_columns`, all present) as
    a :class:`Result`, without building the table: ``Scorer.score_one``'s lean path."""
    return _result({name: columns[name][i] for name in _RESULT_FIELDS})


def _default(name: str, n: int):
    if name in ("score", "risk") or name in FAMILIES:
        return np.full(n, np.nan)
    if name == "duplicate_count":
        return np.zeros(n, dtype=np.int64)
    if name in ("reasons", "warnings"):
        out = np.empty(n, dtype=object)
        for i in range(n):
            out[i] = []
        return out
    return np.full(n, None, dtype=object)


class Results:
    """Scoring output: one row per input row, in input order.

    Build with :meth:`from_columns`; read with :meth:`to_pandas`, :meth:`to_arrow`, indexing
    (``results[i]`` is a :class:`Result`) or iteration.
    """

    def __init__(self, frame: pd.DataFrame) -> None:
        missing = [c for c in RESULT_COLUMNS if c not in frame.columns]
        if missing:
            raise ValueError(f"Results is missing columns {missing}")
        frame = frame.loc[:, list(RESULT_COLUMNS)].reset_index(drop=True)
        bad = ~frame["decision"].isin(DECISIONS)
        if bad.any():
            raise ValueError(f"decision must be one of {DECISIONS}; got {sorted(set(frame['decision'][bad]))}")
        error_rows = frame["decision"].eq("error").to_numpy()
        if frame["error"].isna().to_numpy()[error_rows].any():
            raise ValueError("every row with decision 'error' needs an error code")
        self._frame = frame

    @classmethod
    def from_columns(cls, n: int, **columns) -> "Results":
        """Build from column arrays of length ``n``; omitted optional columns get defaults.

        ``submission_id`` and ``decision`` are required.
        """
        unknown = set(columns) - set(RESULT_COLUMNS)
        if unknown:
            raise ValueError(f"unknown Results columns: {sorted(unknown)}")
        for required in ("submission_id", "decision"):
            if required not in columns:
                raise ValueError(f"Results needs {required!r}")
        data = {}
        for name in RESULT_COLUMNS:
            value = columns.get(name)
            value = _default(name, n) if value is None else value
            if len(value) != n:
                raise ValueError(f"column {name!r} has {len(value)} rows, expected {n}")
            data[name] = value
        return cls(pd.DataFrame(data))

    @classmethod
    def concat(cls, parts: list["Results"]) -> "Results":
        """Rows of several Results, in order."""
        if not parts:
            return cls.from_columns(0, submission_id=np.empty(0, object), decision=np.empty(0, object))
        return cls(pd.concat([p._frame for p in parts], ignore_index=True))

    def __len__(self) -> int:
        return len(self._frame)

    def __repr__(self) -> str:
        counts = self._frame["decision"].value_counts().to_dict()
        return f"Results(n={len(self)}, decisions={counts})"

    def __getitem__(self, i: int) -> Result:
        row = self._frame.iloc[int(i)]
        return _result({name: row[name] for name in _RESULT_FIELDS})

    def __iter__(self):
        return (self[i] for i in range(len(self)))

    def to_pandas(self) -> pd.DataFrame:
        """A copy as a pandas DataFrame, columns in contract order."""
        return self._frame.copy()

    def to_arrow(self) -> pa.Table:
        """An Arrow table with :data:`RESULTS_SCHEMA`."""
        return pa.Table.from_pandas(self._frame, schema=RESULTS_SCHEMA, preserve_index=False)

    def to_jsonl(self) -> str:
        """One JSON object per row, a line each (floats to 15 significant digits, pandas' most)."""
        return self.to_arrow().to_pandas().to_json(orient="records", lines=True, double_precision=15)

    def summary(self) -> dict:
        """Counts of decisions and of error codes."""
        return {
            "rows": len(self),
            "decisions": {d: int(c) for d, c in self._frame["decision"].value_counts().items()},
            "errors": {e: int(c) for e, c in self._frame["error"].dropna().value_counts().items()},
        }

    def write(self, path: str | Path) -> None:
        """Write as ``.parquet``, ``.jsonl`` or ``.csv`` (reasons and warnings as JSON text)."""
        path = Path(path)
        suffix = path.suffix.lower()
        if suffix in (".parquet", ".pq"):
            pq.write_table(self.to_arrow(), path)
        elif suffix in (".jsonl", ".ndjson"):
            path.write_text(self.to_jsonl(), encoding="utf-8")
        elif suffix == ".csv":
            frame = self._frame.copy()
            for name in ("reasons", "warnings"):
                frame[name] = frame[name].map(lambda v: json.dumps(list(v), default=float))
            frame.to_csv(path, index=False)
        else:
            raise ValueError(f"{path}: write results as .parquet, .jsonl or .csv")

    @classmethod
    def read(cls, path: str | Path) -> "Results":
        """Read results written by :meth:`write` (or ``fraudscore score``) as Parquet, JSONL or CSV.

        In CSV an empty field is a missing value, so an empty-string id reads back as missing.
        """
        path = Path(path)
        suffix = path.suffix.lower()
        if suffix not in (".parquet", ".pq", ".jsonl", ".ndjson", ".csv"):
            raise ValueError(f"{path}: read results from .parquet, .jsonl or .csv")
        if not path.exists():
            raise FileNotFoundError(f"{path}: no such file")
        if suffix in (".parquet", ".pq"):
            frame = pq.read_table(path).to_pandas()
        elif suffix == ".csv":
            frame = _read_csv(path)
        else:
            frame = pd.read_json(path, orient="records", lines=True, dtype=False, precise_float=True)
        for name in ("reasons", "warnings"):
            frame[name] = frame[name].map(lambda v: list(v) if v is not None else [])
        return cls(frame)


#: Text columns of the results, read from CSV as text ("00ab..." ids, "NA" submission ids).
_TEXT_COLUMNS = tuple(f.name for f in RESULTS_SCHEMA if pa.types.is_string(f.type))


def _read_csv(path: Path) -> pd.DataFrame:
    """A results CSV as :meth:`Results.write` writes it: lists as JSON text, empty fields missing."""
    frame = pd.read_csv(path, dtype={name: object for name in _TEXT_COLUMNS} | {"duplicate_count": "int64"},
                        keep_default_na=False, na_values={name: [""] for name in RESULT_COLUMNS})
    for name in ("reasons", "warnings"):
        frame[name] = frame[name].map(json.loads)
    return frame


def run_summary(summaries, seconds: float) -> dict:
    """Totals of several :meth:`Results.summary` dicts, with the run's time and throughput.

    Parameters
    ----------
    summaries : iterable of dict
        ``rows``, ``decisions`` and ``errors`` of each chunk or partition scored.
    seconds : float
        Wall time of the whole run.

    Returns
    -------
    dict
        ``rows``, ``seconds``, ``rows_per_s``, ``decisions`` and ``errors`` (counts by code).
    """
    from collections import Counter

    rows, decisions, errors = 0, Counter(), Counter()
    for summary in summaries:
        rows += int(summary["rows"])
        decisions.update(summary["decisions"])
        errors.update(summary["errors"])
    return {"rows": rows, "seconds": seconds, "rows_per_s": rows / seconds if seconds > 0 else float("nan"),
            "decisions": dict(decisions), "errors": dict(errors)}

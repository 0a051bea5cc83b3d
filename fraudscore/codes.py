"""Per-row error and warning codes.

An *error* means the row cannot be scored (it still gets its output row, with
``decision="error"``). A *warning* means a field was unusable or repaired: the field became missing
(or was truncated / sorted) and the rest of the row was kept. A row has at most one error (the
first by code order) and any set of warnings, held as a bitmask.
"""

from __future__ import annotations

import enum

import numpy as np

__all__ = ["Code", "ERRORS", "WARNINGS", "code_names", "warning_names"]


class Code(enum.IntEnum):
    """Stable codes; values never change meaning (they are stored in results files)."""

    OK = 0
    # errors: the row is not scored
    NOT_AN_OBJECT = 1
    INVALID_JSON = 2
    MISSING_SUBMISSION_ID = 3
    MISSING_SURVEY_ID = 4
    MISSING_STARTED_AT = 5
    MISSING_SUBMITTED_AT = 6
    # warnings: the field became missing, or was repaired
    INVALID_TYPE = 20
    OUT_OF_RANGE = 21
    NOT_FINITE = 22
    INVALID_IP = 23
    INVALID_TIMEZONE = 24
    NEGATIVE_DURATION = 25
    TIMESTAMP_WITHOUT_OFFSET = 26
    TRUNCATED_TEXT = 27
    TRUNCATED_LIST = 28
    TELEMETRY_UNSORTED = 29
    TELEMETRY_LENGTH_MISMATCH = 30
    TELEMETRY_NOT_FINITE = 31
    UNKNOWN_EVENT_KIND = 32
    INVALID_LIKERT = 33
    DUPLICATE_SUBMISSION_ID = 34
    INVALID_UNICODE = 35
    HISTORY_UNAVAILABLE = 36

    @property
    def is_error(self) -> bool:
        return 0 < self.value < 20

    @property
    def bit(self) -> int:
        """Bit of this warning in a row's warning mask."""
        return 1 << (self.value - 20)


ERRORS = tuple(c for c in Code if c.is_error)
WARNINGS = tuple(c for c in Code if c.value >= 20)

#: What each code means, for docs and the ``validate`` report.
MEANING = {
    Code.NOT_AN_OBJECT: "the record is not a JSON object",
    Code.INVALID_JSON: "the line is not valid JSON",
    Code.MISSING_SUBMISSION_ID: "submission_id is missing or empty",
    Code.MISSING_SURVEY_ID: "survey_id is missing or empty",
    Code.MISSING_STARTED_AT: "started_at is missing or not a timestamp",
    Code.MISSING_SUBMITTED_AT: "submitted_at is missing or not a timestamp",
    Code.INVALID_TYPE: "a field had the wrong type; it was treated as missing",
    Code.OUT_OF_RANGE: "a value was outside its valid range; it was treated as missing",
    Code.NOT_FINITE: "a number was NaN or infinite; it was treated as missing",
    Code.INVALID_IP: "network.ip is not an IPv4 or IPv6 address; treated as missing",
    Code.INVALID_TIMEZONE: "device.timezone is not an IANA time zone; treated as missing",
    Code.NEGATIVE_DURATION: "submitted_at is before started_at; the duration is treated as missing",
    Code.TIMESTAMP_WITHOUT_OFFSET: "an ISO-8601 timestamp had no UTC offset; read as UTC",
    Code.TRUNCATED_TEXT: "a text, or a list of texts, was longer than its limit and was truncated",
    Code.TRUNCATED_LIST: "a list or telemetry series was longer than its limit and was truncated",
    Code.TELEMETRY_UNSORTED: "a telemetry series was not in time order; it was sorted",
    Code.TELEMETRY_LENGTH_MISMATCH: "the arrays of a telemetry series had different lengths; the series was dropped",
    Code.TELEMETRY_NOT_FINITE: "a telemetry series held NaN or infinite values; the series was dropped",
    Code.UNKNOWN_EVENT_KIND: "an event kind was not in the vocabulary; coded -1",
    Code.INVALID_LIKERT: "a Likert answer was not a whole number in range; treated as skipped",
    Code.DUPLICATE_SUBMISSION_ID: "the submission_id appeared earlier in the same batch",
    Code.INVALID_UNICODE: "a text held a lone surrogate (JSON allows \\ud800; UTF-8 cannot hold it) or, from Arrow, bytes that are not UTF-8: each became U+FFFD",
    Code.HISTORY_UNAVAILABLE: "the history store did not answer and the Scorer was told to go on (on_history_error=\"skip\"): scored without history, and not recorded in it",
}

_NAMES = np.array([""] * 64, dtype=object)
for _c in Code:
    _NAMES[_c.value] = _c.name
_NAMES[0] = None


def code_names(codes: np.ndarray) -> np.ndarray:
    """Map an int array of error codes to names (``None`` for OK), vectorized."""
    return _NAMES[np.asarray(codes, dtype=np.int64)]


def warning_names(masks: np.ndarray) -> np.ndarray:
    """Decode warning bitmasks into lists of code names: object array of shape (n,) of lists.

    Work is per *distinct* mask (a handful in practice), then broadcast; rows with the same mask
    share one list object, so treat the lists as read-only.
    """
    masks = np.asarray(masks, dtype=np.uint64)
    uniques, inverse = np.unique(masks, return_inverse=True)
    decoded = np.empty(len(uniques), dtype=object)
    for i, u in enumerate(uniques):
        decoded[i] = [w.name for w in WARNINGS if int(u) & w.bit]
    return decoded[inverse.reshape(-1)]

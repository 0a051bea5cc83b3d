"""The counting kernel every store shares: stored events + a batch → prior counts.

Stores only move events in and out (atomically); the counts are computed here, in numpy, from
what a store returned. One kernel is why the three stores agree by construction.

Order. Every stored row has a sequence number ``seq = batch << 32 | position``: ``batch`` grows by
one per ``observe`` call (assigned inside the store's transaction), ``position`` is the row's
place in its batch sorted by ``(timestamp_ms, row index)``. An event *e* is **prior** to row *q* when
``e.seq < q.seq`` and ``e.t <= q.t``. For rows of one batch that is the lexicographic order of
``(t, seq)``; grouping queries by their batch keeps it exact for replayed rows too.
"""

from __future__ import annotations

import numpy as np

from fraudscore.history.observations import KIND_FIELDS, KINDS

__all__ = [
    "EVENT_DTYPE",
    "ROW_DTYPE",
    "WINDOWS",
    "DISTINCT",
    "COLUMNS",
    "DISTINCT_COLUMN",
    "events_of_rows",
    "count_history",
]

HOUR_MS = 3_600_000
#: Trailing windows; ``survey`` is "same survey, everything retained" (no lower bound).
WINDOWS = (("1h", HOUR_MS), ("24h", 24 * HOUR_MS), ("survey", None))
#: Distinct-count columns: (column, kind whose key groups, kind counted distinct).
DISTINCT = (
    ("respondents_per_device", "device", "respondent"),
    ("respondents_per_link", "link", "respondent"),
    ("devices_per_respondent", "respondent", "device"),
)
#: Auxiliary key each kind's events carry (for the distinct counts); absent kinds carry 0.
AUX_KIND = {kind: counted for _, kind, counted in DISTINCT}
COLUMNS = tuple(f"prior_{kind}_{w}" for kind in KINDS for w, _ in WINDOWS) + tuple(c for c, _, _ in DISTINCT)

#: One stored submission. ``seq`` orders arrivals (see module docstring).
ROW_DTYPE = np.dtype(
    [("sub", "<u8"), ("t", "<i8"), ("survey", "<u8")] + [(KIND_FIELDS[k], "<u8") for k in KINDS] + [("seq", "<i8")]
)
#: One stored occurrence of a key of one kind; ``aux`` is the key of ``AUX_KIND[kind]`` (or 0).
EVENT_DTYPE = np.dtype(
    [("key", "<u8"), ("t", "<i8"), ("survey", "<u8"), ("aux", "<u8"), ("sub", "<u8"), ("seq", "<i8")]
)

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)


def _mix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """One uint64 group id for the pair (a, b); a collision needs 2**64 luck on keyed hashes."""
    with np.errstate(over="ignore"):
        return a ^ ((b * _GOLDEN) + np.uint64(0x632BE59BD9B4E019))


def events_of_rows(rows: np.ndarray, kind: str) -> np.ndarray:
    """The events of ``kind`` that ``rows`` (ROW_DTYPE, shape (m,)) add; rows with key 0 add none."""
    key = rows[KIND_FIELDS[kind]]
    keep = key != 0
    out = np.empty(int(keep.sum()), EVENT_DTYPE)
    out["key"] = key[keep]
    out["t"] = rows["t"][keep]
    out["survey"] = rows["survey"][keep]
    aux = AUX_KIND.get(kind)
    out["aux"] = rows[KIND_FIELDS[aux]][keep] if aux else 0
    out["sub"] = rows["sub"][keep]
    out["seq"] = rows["seq"][keep]
    return out


_KERNEL_FIELDS = ("key", "t", "survey", "aux", "seq")


class _Columns:
    """Events as one contiguous array per field, indexed like a structured array.

    The kernel reads every field many times; a field of an EVENT_DTYPE array is a strided view
    (48-byte steps) that each numpy pass pays for, several times over on large histories.
    """

    __slots__ = ("cols",)

    def __init__(self, cols: dict[str, np.ndarray]):
        self.cols = cols

    @classmethod
    def of(cls, ev: np.ndarray) -> _Columns:
        return cls({name: np.ascontiguousarray(ev[name]) for name in _KERNEL_FIELDS})

    @classmethod
    def concat(cls, parts: list[_Columns]) -> _Columns:
        return cls({name: np.concatenate([p.cols[name] for p in parts]) for name in _KERNEL_FIELDS})

    def __len__(self) -> int:
        return len(self.cols["key"])

    def __getitem__(self, index):
        if isinstance(index, str):
            return self.cols[index]
        return _Columns({name: column[index] for name, column in self.cols.items()})


def _group_order(group: np.ndarray, t: np.ndarray):
    """Stable order of events by (group, t) and a sorted int64 code to search it by time.

    Returns ``order``, ``rank`` (dense group rank per event, original order), ``code`` (in sorted
    order: ``rank * span + t - t0``, non-decreasing), ``span``, ``t0``.
    """
    uniq, rank = np.unique(group, return_inverse=True)
    t0 = int(t.min())
    span = int(t.max()) - t0 + 2
    if len(uniq) * span < 2**62:
        code = rank.astype(np.int64) * span + (t - t0)
        order = np.argsort(code, kind="stable")  # stable: input order breaks ties in time
        return order, rank, code[order], span, t0
    order = np.lexsort((t, rank))  # huge time spans: slower, same order
    return order, rank, None, span, t0


def _within_group(order_rank: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Index of each sorted element within its group, and each element's group start."""
    change = np.r_[True, order_rank[1:] != order_rank[:-1]]
    starts = np.flatnonzero(change)
    start_of = starts[np.cumsum(change) - 1]
    return np.arange(len(order_rank)) - start_of, start_of


def _count_kind(ev: np.ndarray, own: np.ndarray, aux_counted: bool) -> np.ndarray:
    """Window, survey and distinct counts for the events ``ev[own]`` of the queried rows.

    ``ev`` must list events of earlier batches first, then this batch's in position order,
    so a stable sort by (key, t) is the prior order. Returns shape (len(own), 4) int64:
    1 h, 24 h, survey, distinct aux (0 unless ``aux_counted``).
    """
    out = np.zeros((len(own), 4), np.int64)
    if len(own) == 0:
        return out
    order, rank, code, span, t0 = _group_order(ev["key"], ev["t"])
    where = np.empty(len(ev), np.int64)
    where[order] = np.arange(len(ev))
    index_in_group, start_of = _within_group(rank[order])
    pos = where[own]
    prior = index_in_group[pos]
    for col, (_, width) in enumerate(WINDOWS[:2]):
        limit = np.maximum(ev["t"][own] - width - t0, -1)
        if code is not None:
            older = np.searchsorted(code, rank[own].astype(np.int64) * span + limit, "right") - start_of[pos]
        else:  # rare fallback: per-group time search via a lexsort of queries with events
            older = _older_by_lexsort(rank, ev["t"], rank[own], ev["t"][own] - width)
        out[:, col] = prior - older
    s_order, s_rank, _, _, _ = _group_order(_mix(ev["key"], ev["survey"]), ev["t"])
    s_where = np.empty(len(ev), np.int64)
    s_where[s_order] = np.arange(len(ev))
    out[:, 2] = _within_group(s_rank[s_order])[0][s_where[own]]
    if aux_counted:
        # A (key, aux) pair counts from its first event in prior order; own aux included.
        sorted_ev = ev[order]
        has = sorted_ev["aux"] != 0
        pair = _mix(sorted_ev["key"][has], sorted_ev["aux"][has])
        first = np.zeros(len(ev), np.int64)
        first[np.flatnonzero(has)[np.unique(pair, return_index=True)[1]]] = 1
        seen = np.cumsum(first)
        out[:, 3] = seen[pos] - (seen[start_of[pos]] - first[start_of[pos]])
    return out


def _older_by_lexsort(ev_rank, ev_t, q_rank, q_limit) -> np.ndarray:
    """Events with the same rank and ``t <= q_limit``, for time spans too wide for an int64 code."""
    ne = len(ev_rank)
    rank = np.concatenate([ev_rank, q_rank])
    t = np.concatenate([ev_t, q_limit])
    is_query = np.r_[np.zeros(ne, np.int8), np.ones(len(q_rank), np.int8)]
    order = np.lexsort((is_query, t, rank))  # events at the limit sort before the query: counted
    ev = 1 - is_query[order].astype(np.int64)
    before = np.cumsum(ev) - ev
    _, start_of = _within_group(rank[order])
    out = np.empty(len(q_rank), np.int64)
    q = is_query[order] == 1
    out[order[q] - ne] = (before - before[start_of])[q]
    return out


#: Column of each distinct count, by the kind whose key groups it.
DISTINCT_COLUMN = {kind: len(KINDS) * len(WINDOWS) + i for i, (_, kind, _) in enumerate(DISTINCT)}


def _counts_one_origin(rows: np.ndarray, events: dict[str, np.ndarray], batch: int, kinds) -> np.ndarray:
    """Counts for rows stored by ``batch``, from events of batches <= ``batch``."""
    out = np.zeros((len(rows), len(COLUMNS)), np.int64)
    distinct_col = DISTINCT_COLUMN
    for k, kind in enumerate(KINDS):
        if kind not in kinds:
            continue
        ev = events[kind]
        current = (ev["seq"] >> 32) == batch
        n_mine = int(current.sum())
        mine = ev[len(ev) - n_mine:]
        # count_history already lists this batch last, in position order; replays need sorting.
        if not (current[len(ev) - n_mine:].all() and np.all(mine["seq"][1:] > mine["seq"][:-1])):
            mine = ev[current]
            ev = _Columns.concat([ev[~current], mine[np.argsort(mine["seq"])]])
        # Each queried row is its own event, unless it fell out of retention (then it sees nothing).
        key = rows[KIND_FIELDS[kind]]
        own = np.searchsorted(ev["seq"][len(ev) - len(mine):], rows["seq"]) + len(ev) - len(mine)
        own = np.minimum(own, len(ev) - 1)
        has_own = (key != 0) & (len(mine) > 0)
        if len(ev):
            has_own &= ev["seq"][own] == rows["seq"]
        counted = kind in distinct_col
        # Most keys occur once (the row itself): all its counts are 0. Count only the others.
        _, key_rank, multiplicity = np.unique(ev["key"], return_inverse=True, return_counts=True)
        repeated = multiplicity[key_rank] > 1
        compact = np.cumsum(repeated) - 1
        own_rows = np.flatnonzero(has_own)
        busy = repeated[own[has_own]]
        values = np.zeros((len(own_rows), 4), np.int64)
        values[busy] = _count_kind(ev[repeated], compact[own[has_own][busy]], counted)
        if counted:
            values[~busy, 3] = rows[KIND_FIELDS[AUX_KIND[kind]]][own_rows[~busy]] != 0
        out[has_own, k * len(WINDOWS):(k + 1) * len(WINDOWS)] = values[:, :3]
        if counted:
            aux_field = KIND_FIELDS[AUX_KIND[kind]]
            col = distinct_col[kind]
            out[has_own, col] = values[:, 3]
            # Out of retention: only the row's own aux, if any.
            out[(key != 0) & ~has_own, col] = (rows[aux_field][(key != 0) & ~has_own] != 0)
    return out


def count_history(rows: np.ndarray, stored: dict[str, np.ndarray], new: np.ndarray, cutoff_ms: int,
                  kinds=KINDS) -> np.ndarray:
    """Prior counts for each row of a batch.

    Parameters
    ----------
    rows : ndarray of shape (m,), dtype ROW_DTYPE
        The batch's distinct submissions, with their ``seq`` (stored ``seq`` for replayed ones).
    stored : dict of str to ndarray of dtype EVENT_DTYPE
        Per kind, the events the store held before this batch for (at least) the batch's keys.
    new : ndarray of shape (m,), dtype bool
        Rows this call added (their events are not in ``stored``).
    cutoff_ms : int
        Events with ``t <= cutoff_ms`` are past retention and invisible, as if purged.
    kinds : sequence of str
        Kinds to count (``stored`` needs only these); the other kinds' columns are 0.

    Returns
    -------
    ndarray of shape (m, len(COLUMNS)), dtype int64
    """
    added = rows[new]
    added = added[np.argsort(added["seq"])]  # position order: what _counts_one_origin expects
    events = {}
    for kind in kinds:
        ev = _Columns.concat([_Columns.of(stored[kind]), _Columns.of(events_of_rows(added, kind))])
        events[kind] = ev[ev["t"] > cutoff_ms]
    out = np.zeros((len(rows), len(COLUMNS)), np.int64)
    origin = rows["seq"] >> 32
    for batch in np.unique(origin):
        # Events of later batches can be earlier in time: leave them out for rows of this batch.
        mine = origin == batch
        visible = {k: ev if len(ev) == 0 or (ev["seq"].max() >> 32) <= batch else ev[(ev["seq"] >> 32) <= batch]
                   for k, ev in events.items()}
        out[mine] = _counts_one_origin(rows[mine], visible, int(batch), kinds)
    return out

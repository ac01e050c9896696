"""Summing records for the report: their numbers as an int64 matrix, their keys as group codes.

Every breakdown (by branch, model, day, ...) is one ``np.add.at`` over the rows' group codes, never a
Python loop per record: the difference between a fraction of a second and tens of seconds on a ledger of
300,000 records.

Sessions are counted, not summed: an agent session becomes a record per commit, model and hour, so a
group's sessions are the distinct session keys of its rows (``Records.sessions``: the session's code, or a
key of its own for a record without a session), found by one sort of (group, session) pairs.
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Any

import numpy as np

from gitokens.report.columns import factorize
from gitokens.report.model import Row, Table, Totals

UNKNOWN = "(unknown)"  # the key of records that lack the field a breakdown groups by


def share(part: int, whole: int) -> float:
    """``part`` as a percentage of ``whole``, one decimal."""
    return round(100.0 * part / whole, 1) if whole else 0.0


# The count columns of a record's row, in the order ``totals_of`` reads them; the cost is a column apart.
# "requests" sums the records that state how many API calls they cover; "request_tokens" is their tokens.
COLUMNS = (
    "records",
    "input",
    "output",
    "cache_read",
    "cache_write",
    "reasoning",
    "total",
    "estimated",
    "unpriced",
    "priced",
    "cache_write_1h",
    "requests",
    "request_tokens",
)
TOTAL = COLUMNS.index("total")
UNPRICED = COLUMNS.index("unpriced")
# The dimensions every breakdown groups by.
BRANCH, MODEL, PROVIDER, ENDPOINT, AUTHOR, SOURCE, DAY, WEEK, MONTH = range(9)


@dataclass
class Dimension:
    """A key per row: ``labels[codes[i]]`` is row i's branch, model, day..."""

    codes: np.ndarray
    labels: list[Any]

    @classmethod
    def of(cls, codes: np.ndarray, labels: list[Any], key: Callable[[Any], Hashable]) -> Dimension:
        """Rows coded into ``labels`` (-1: unset), keyed by ``key(label)`` (``key(None)`` for unset); labels
        with the same key become one group."""
        index: dict[Hashable, int] = {}
        remap = np.array([index.setdefault(key(label), len(index)) for label in [*labels, None]], dtype=np.intp)
        return cls(remap[codes], list(index))


@dataclass
class Records:
    """The selected records: ``counts`` (one row per record, ``COLUMNS``), ``cost`` (0 when unpriced),
    ``ts`` (milliseconds, UTC), ``sessions`` (a key per row: rows of one session share it, a row without a
    session has one of its own) and a ``Dimension`` per breakdown; ``rows`` are their rows in the columns."""

    rows: np.ndarray
    counts: np.ndarray
    cost: np.ndarray
    ts: np.ndarray
    sessions: np.ndarray
    dimensions: list[Dimension]

    def __len__(self) -> int:
        return len(self.rows)

    def key(self, dimension: int, i: int) -> Any:
        d = self.dimensions[dimension]
        return d.labels[d.codes[i]]

    def sums(self, rows: np.ndarray | None = None) -> Totals:
        if rows is None:
            counts, cost, keys = self.counts.sum(axis=0), float(self.cost.sum()), self.sessions
        else:
            counts, cost, keys = self.counts[rows].sum(axis=0), float(self.cost[rows].sum()), self.sessions[rows]
        sessions = len(factorize(keys)[0]) if len(keys) else 0
        return totals_of(counts.tolist(), cost, sessions)

    def table_of(self, key_name: str, dimension: int, top: int = 0) -> Table:
        """The breakdown of every record by one dimension."""
        d = self.dimensions[dimension]
        sums = self._sums_by_ids(d.codes, len(d.labels), slice(None))
        rows = [Row(str(name), t) for name, t in zip(d.labels, sums, strict=True) if t.records]
        return order(Table(key_name, rows), top)

    def _sums_by_ids(self, ids: np.ndarray, size: int, picked: np.ndarray | slice) -> list[Totals]:
        if self._exact_in_float and len(ids) > 5000:
            # Every sum is below 2^53: float64 bincounts are exact, and ~10x faster than np.add.at. Over
            # every row once (a whole breakdown), each column is counted where it lies, without a gather.
            by_row, rows = self._by_row(ids, picked)
            columns = [np.bincount(by_row, weights=column[rows], minlength=size) for column in self._float_columns]
            counts = np.rint(np.stack(columns, axis=1)).astype(np.int64) if columns else np.zeros((size, 0))
        else:
            counts = np.zeros((size, self.counts.shape[1]), dtype=np.int64)
            np.add.at(counts, ids, self.counts[picked])
        cost = np.bincount(ids, weights=self.cost[picked], minlength=size)  # in the given order: not exact
        sessions = self._distinct_sessions(ids, size, picked)
        return [
            totals_of(row, float(usd), n)
            for row, usd, n in zip(counts.tolist(), cost.tolist(), sessions.tolist(), strict=True)
        ]

    def _by_row(self, ids: np.ndarray, picked: np.ndarray | slice) -> tuple[np.ndarray, np.ndarray | slice]:
        """``ids`` in row order, and every row, when ``picked`` holds each row exactly once; else as given."""
        if isinstance(picked, slice) or len(picked) != len(self.rows):
            return ids, picked
        by_row = np.full(len(self.rows), -1, dtype=np.intp)
        by_row[picked] = ids
        return (by_row, slice(None)) if len(by_row) and int(by_row.min()) >= 0 else (ids, picked)

    @functools.cached_property
    def _float_columns(self) -> np.ndarray:
        """The count columns as contiguous float64 rows (one per column): what ``np.bincount`` weighs by."""
        return np.ascontiguousarray(self.counts.T, dtype=np.float64)

    def _distinct_sessions(self, ids: np.ndarray, size: int, picked: np.ndarray | slice) -> np.ndarray:
        """The number of distinct session keys among each group's rows. A key that only one row has counts
        once in that row's group; only the keys rows share need the sort of (group, key) pairs."""
        keys = self.sessions[picked]
        if not len(keys):
            return np.zeros(size, dtype=np.int64)
        shared = self._shared_sessions[picked]
        alone = np.bincount(ids[~shared], minlength=size)
        if not shared.any():
            return alone
        width = int(keys.max()) + 1
        pairs, _ = factorize(ids[shared].astype(np.int64) * width + keys[shared])
        return alone + np.bincount(pairs // width, minlength=size)

    @functools.cached_property
    def _shared_sessions(self) -> np.ndarray:
        """Whether each row's session key is another row's too."""
        if not len(self.sessions):
            return np.zeros(0, dtype=bool)
        _, inverse = factorize(self.sessions)
        return np.asarray(np.bincount(inverse)[inverse] > 1)

    @functools.cached_property
    def _exact_in_float(self) -> bool:
        return bool(len(self.counts) == 0 or float(self.counts.max()) * len(self.counts) < 2.0**53)

    def sums_by(self, groups: dict[Any, np.ndarray]) -> list[Totals]:
        """The totals of every group at once (a group holds a row at most once, as ``group`` makes them)."""
        if not groups:
            return []
        sizes = [len(rows) for rows in groups.values()]
        picked = np.concatenate(list(groups.values()))
        return self._sums_by_ids(np.repeat(np.arange(len(sizes)), sizes), len(sizes), picked)

    def group(self, dimension: int, rows: np.ndarray | None = None) -> dict[Any, np.ndarray]:
        """The rows (all, or ``rows``) of each key, as index arrays, keys in order of first appearance."""
        picked = np.arange(len(self.rows)) if rows is None else np.asarray(rows, dtype=np.intp)
        d = self.dimensions[dimension]
        groups = split_by(d.codes[picked], picked)
        first = sorted(groups, key=lambda code: groups[code][0])
        return {d.labels[code]: groups[code] for code in first}

    def table(self, key_name: str, groups: dict[Any, np.ndarray], top: int = 0, *, by_key: bool = False) -> Table:
        table = Table(key_name, [Row(name, t) for name, t in zip(groups, self.sums_by(groups), strict=True)])
        if by_key:
            table.rows.sort(key=lambda r: r.key or "")
            return table
        return order(table, top)

    def between(self, start: int, end: int) -> np.ndarray:
        """Rows whose timestamp (milliseconds) is in [start, end]."""
        return np.flatnonzero((self.ts >= start) & (self.ts <= end))


def split_by(codes: np.ndarray, items: np.ndarray) -> dict[int, np.ndarray]:
    """``items`` grouped by their ``codes``; the items of one code keep their order."""
    small = len(codes) > 0 and int(codes.min()) >= -(2**15) and int(codes.max()) < 2**15
    order_ = np.argsort(codes.astype(np.int16) if small else codes, kind="stable")  # int16: a radix sort
    codes, items = codes[order_], items[order_]
    starts: list[int] = np.flatnonzero(np.r_[True, codes[1:] != codes[:-1]]).tolist() if len(codes) else []
    return {int(codes[a]): items[a:b] for a, b in itertools.pairwise([*starts, len(codes)])}


def order(table: Table, top: int) -> Table:
    """Largest first; beyond ``top`` rows (0: no limit) only the count of what was left out is kept."""
    table.rows.sort(key=lambda r: (-r.totals.total_tokens, r.key or ""))
    if top and len(table.rows) > top:
        table.omitted = len(table.rows) - top
        del table.rows[top:]
    return table


def totals_of(counts: list[int], cost: float, sessions: int) -> Totals:
    """Totals from the count columns (``COLUMNS``), the cost and the number of distinct sessions."""
    (records, inp, out, cache_read, cache_write, reasoning, total, estimated, unpriced, priced, cache_write_1h,
     requests, request_tokens) = counts  # fmt: skip
    return Totals(
        records=records,
        sessions=sessions,
        input_tokens=inp,
        output_tokens=out,
        cache_read_tokens=cache_read,
        cache_write_tokens=cache_write,
        cache_write_1h_tokens=cache_write_1h,
        reasoning_tokens=reasoning,
        total_tokens=total,
        requests=requests,
        request_tokens=request_tokens,
        estimated_tokens=estimated,
        cost_usd=cost if priced else None,
        unpriced_sessions=unpriced,
    )

"""The sessions table: one row per agent session, what ccusage's session report shows for one repository.

A captured session is written as many records (one per commit, model, UTC hour and price tier); this puts
them back together by their ``session`` (a record without one is a session of its own) and says which
agent wrote it, when it ran, on which branches, which commits it was attributed to and which models it
used. Only the sessions shown are described: a ledger of hand-typed records has as many sessions as
records, and the table wants the newest ``top``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from gitokens.report.aggregate import BRANCH, MODEL, SOURCE, Records, split_by
from gitokens.report.columns import Columns, factorize, ts_text
from gitokens.report.model import Row, Table


def table(columns: Columns, records: Records, top: int, order: str | None) -> Table:
    """The ``top`` newest sessions (0: all), newest first unless ``order`` is ``asc``; by their last record."""
    out = Table("session")
    if not len(records):
        return out
    _, session = factorize(records.sessions)
    count = int(session.max()) + 1
    first = np.full(count, np.iinfo(np.int64).max, dtype=np.int64)
    last = np.full(count, np.iinfo(np.int64).min, dtype=np.int64)
    np.minimum.at(first, session, records.ts)
    np.maximum.at(last, session, records.ts)
    newest = np.lexsort((np.arange(count), -first, -last))  # ties: the later start, then the first seen
    if top and count > top:
        out.omitted = count - top
        newest = newest[:top]
    picked = newest[::-1] if order == "asc" else newest
    shown = np.flatnonzero(np.isin(session, picked))  # only the shown sessions' rows are grouped
    members = split_by(session[shown], shown)
    groups = {int(s): members[int(s)] for s in picked.tolist()}
    for (code, rows), totals in zip(groups.items(), records.sums_by(groups), strict=True):
        rows = rows[np.argsort(records.ts[rows], kind="stable")]
        row = Row(columns.text("session", int(records.rows[rows[0]])), totals, _details(columns, records, rows))
        row.extra["first"], row.extra["last"] = ts_text(int(first[code])), ts_text(int(last[code]))
        out.rows.append(row)
    return out


def _details(columns: Columns, records: Records, rows: np.ndarray) -> dict[str, Any]:
    """Who and where, each list in the order the session first met it (``rows`` are oldest first)."""
    attached = columns.texts["attached"]
    commits = _in_order(attached.codes[records.rows[rows]])
    return {
        "sources": _labels(records, SOURCE, rows),
        "branches": _labels(records, BRANCH, rows),
        "commits": [attached.label(int(c)) for c in commits],
        "models": _labels(records, MODEL, rows),
    }


def _labels(records: Records, dimension: int, rows: np.ndarray) -> list[str]:
    d = records.dimensions[dimension]
    return [str(d.labels[int(code)]) for code in _in_order(d.codes[rows])]


def _in_order(codes: np.ndarray) -> list[int]:
    """The distinct ``codes`` in the order they first appear."""
    _, first = np.unique(codes, return_index=True)
    return [int(c) for c in codes[np.sort(first)].tolist()]

"""The report's per-record rows: the newest records for the recent-activity list, and every record, oldest
first, for the CSV, built a field at a time from the columns (a CSV can have hundreds of thousands)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

from gitokens.report.aggregate import AUTHOR, TOTAL, UNPRICED, Records
from gitokens.report.columns import TEXTS, TOTAL_ONLY, Columns, Text


def oldest_first(columns: Columns, records: Records) -> list[int]:
    """Every record by timestamp, then id: the same order whatever order the columns hold them in."""
    ids = texts(columns.texts["id"], records.rows)
    stamps = records.ts.tolist()
    return sorted(range(len(records)), key=lambda i: (stamps[i], ids[i] or ""))


def every(columns: Columns, records: Records, chunk: int = 10_000) -> Iterator[dict[str, Any]]:
    """Every record as the CSV shows it, oldest first, built a chunk at a time as they are written."""
    order = oldest_first(columns, records)
    for start in range(0, len(order), chunk):
        yield from rows(columns, records, order[start : start + chunk], full=True)


def recent(columns: Columns, records: Records, count: int) -> list[int]:
    """The ``count`` newest records (by timestamp, then id), newest first."""
    if not count or not len(records):
        return []
    cut = np.partition(records.ts, max(len(records) - count, 0))[max(len(records) - count, 0)]
    candidates = np.flatnonzero(records.ts >= cut).tolist()
    ids = columns.texts["id"]
    candidates.sort(key=lambda i: (int(records.ts[i]), ids.get(int(records.rows[i])) or ""), reverse=True)
    return candidates[:count]


def rows(columns: Columns, records: Records, picked: list[int], *, full: bool) -> list[dict[str, Any]]:
    """Records as the recent-activity list (``full=False``) or the CSV (``full=True``) shows them, a field
    at a time (a CSV can have hundreds of thousands of rows)."""
    index = np.array(picked, dtype=np.intp)
    chosen = records.rows[index]
    text = {name: texts(columns.texts[name], chosen) for name in TEXTS}
    stamps = np.datetime_as_string(records.ts[index].astype("datetime64[ms]"), unit="ms").tolist()
    counts = records.counts[index].tolist()
    costs = records.cost[index].tolist()
    authors = [records.key(AUTHOR, i) for i in picked]
    estimated = (columns.counts[chosen, TOTAL_ONLY] >= 0).tolist()
    repository = texts(columns.texts["repository"], chosen) if full and "repository" in columns.texts else None
    out = []
    for n, c in enumerate(counts):
        row: dict[str, Any] = {
            "id": text["id"][n],
            "ts": stamps[n].removesuffix(".000") + "Z",  # canonical: milliseconds only when there are any
            "commit": text["attached"][n],
            "branch": text["branch"][n],
            "author": authors[n],
            "model": text["model"][n],
            "endpoint": text["endpoint"][n],
            "source": text["source"][n],
            "note": text["note"][n],
            "total_tokens": c[TOTAL],
            "estimated": estimated[n],
            "cost_usd": None if c[UNPRICED] else round(costs[n], 6),
        }
        if full:
            row.update(
                first_commit=text["commit"][n],
                provider=text["provider"][n],
                session=text["session"][n],
                input_tokens=c[1],
                output_tokens=c[2],
                cache_read_tokens=c[3],
                cache_write_tokens=c[4],
                reasoning_tokens=c[5],
                cache_write_1h_tokens=c[10],
                requests=c[11] or None,
            )
            if repository is not None:  # a report over published repositories
                row["repository"] = repository[n]
        out.append(row)
    return out


def texts(text: Text, rows: np.ndarray) -> list[str | None]:
    """One text field of ``rows``."""
    codes = text.codes[rows].tolist()
    if len(codes) < 1000:
        return [None if code < 0 else text.label(code) for code in codes]
    labels = text.labels
    return [None if code < 0 else labels[code] for code in codes]

"""Published records read back as the report's columns, with a repository per row, and the published
merges with the rows of the records each brought in.

The report then runs as it does on one ledger (``report.build``): the columns are what ``report.columns``
builds from a ledger, except that every record carries the author the report credits (resolved when it
was published, from the commit that holds it), sessions are told apart per repository (two repositories'
sessions never merge into one), and no commit graph is needed: merges come as they were published.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from gitokens.db.connection import Connection
from gitokens.report.columns import COUNTS, TOTAL_ONLY, Columns, Text

_TEXTS = ("id", "branch", "author", "model", "provider", "endpoint", "source", "session", "note", "commit", "attached")
_SELECT = (
    "SELECT repository, id, ts, branch, author, model, provider, endpoint, source, session, note, first_commit, "
    "commit_sha, input_tokens, output_tokens, cache_read_tokens, cache_write_tokens, reasoning_tokens, "
    "total_tokens, cache_write_1h_tokens, requests, estimated, reported_cost_usd, cost_usd FROM records"
)
_FIRST_COUNT = 13  # the index of input_tokens in _SELECT


@dataclass
class PublishedMerge:
    repository: str
    commit: str
    kind: str
    pr: int | None
    source_branch: str | None
    title: str
    merged_at: str
    rows: np.ndarray  # the column rows of the records it brought in


@dataclass
class Published:
    """What the database holds for the chosen repositories."""

    columns: Columns
    repositories: list[dict[str, Any]]
    merges: list[PublishedMerge] = field(default_factory=list)


def load(db: Connection, names: Sequence[str] = (), *, reported_costs: bool = False) -> Published:
    """The records, repositories and merges of ``names`` (every repository when empty). A record's cost is
    the one its repository priced it at when published, or with ``reported_costs`` only its own."""
    where, params = _only(names)
    repositories = [
        dict(zip(("name", "team", "default_branch", "published_at", "records", "notes_tip"), row, strict=True))
        for row in db.query(
            "SELECT name, team, default_branch, published_at, records, notes_tip FROM repositories"
            + where.replace("repository", "name")
            + " ORDER BY name",
            params,
        )
    ]
    rows = db.query(_SELECT + where, params)
    columns = _columns(rows, reported_costs)
    return Published(columns=columns, repositories=repositories, merges=_merges(db, where, params, columns))


def _only(names: Sequence[str]) -> tuple[str, tuple[str, ...]]:
    if not names:
        return "", ()
    return " WHERE repository IN (" + ", ".join("?" * len(names)) + ")", tuple(names)


def _columns(rows: list[tuple[Any, ...]], reported_costs: bool) -> Columns:
    n = len(rows)
    fields = list(zip(*rows, strict=True)) if n else [()] * 24
    repository, record_id, stamps = fields[0], fields[1], fields[2]
    counts = np.empty((n, len(COUNTS)), dtype=np.int64)
    for c in range(len(COUNTS)):
        values = fields[_FIRST_COUNT + c]
        counts[:, c] = np.fromiter((v or 0 for v in values), dtype=np.int64, count=n)
    estimated = np.fromiter(fields[_FIRST_COUNT + len(COUNTS)], dtype=bool, count=n)
    counts[:, TOTAL_ONLY] = np.where(estimated, counts[:, TOTAL_ONLY], -1)
    cost = fields[-1 if not reported_costs else -2]
    texts = {name: _encode(fields[3 + i]) for i, name in enumerate(_TEXTS[1:])}
    texts["id"] = Text(np.arange(n, dtype=np.int32), list(record_id))
    texts["session"] = _sessions(repository, fields[_TEXTS.index("session") + 2])
    texts["repository"] = _encode(repository)
    return Columns(
        tip=None,
        ts=np.array([ts[:-1] for ts in stamps], dtype="datetime64[ms]").astype(np.int64),
        counts=counts,
        cost_usd=np.array(cost, dtype=np.float64),  # None becomes NaN
        texts=texts,
    )


def _encode(values: Sequence[str | None]) -> Text:
    """Codes into the distinct values, in order of appearance (-1: unset)."""
    index: dict[str | None, int] = {}
    codes = np.fromiter((index.setdefault(v, len(index)) for v in values), dtype=np.int32, count=len(values))
    labels = list(index)
    if None in index:
        unset = index[None]
        codes = np.where(codes == unset, -1, codes - (codes > unset)).astype(np.int32)
        labels.remove(None)
    return Text(codes, labels)  # type: ignore[arg-type]


def _sessions(repository: Sequence[str], sessions: Sequence[str | None]) -> Text:
    """Session codes told apart per repository: the report counts sessions by code, and one session id in
    two repositories is two sessions, as the two repositories' own reports count it."""
    index: dict[tuple[str, str], int] = {}
    codes = np.fromiter(
        (-1 if s is None else index.setdefault((r, s), len(index)) for r, s in zip(repository, sessions, strict=True)),
        dtype=np.int32,
        count=len(sessions),
    )
    return Text(codes, [s for _, s in index])


def _merges(db: Connection, where: str, params: tuple[str, ...], columns: Columns) -> list[PublishedMerge]:
    found = db.query("SELECT repository, sha, kind, pr, source_branch, title, merged_at FROM merges" + where, params)
    if not found:
        return []
    repository, ids = columns.texts["repository"], columns.texts["id"]
    row_of = {
        (repository.labels[code], record_id): row
        for row, (code, record_id) in enumerate(zip(repository.codes.tolist(), ids.labels, strict=True))
    }
    members: dict[tuple[str, str], list[int]] = {}
    for name, merge, record_id in db.query(
        "SELECT repository, merge_sha, record_id FROM merge_records" + where, params
    ):
        row = row_of.get((name, record_id))
        if row is not None:  # a record removed since: no longer in any total
            members.setdefault((name, merge), []).append(row)
    merges = [
        PublishedMerge(
            name, sha, kind, pr, source, title or "", merged_at, np.array(members.get((name, sha), []), dtype=np.intp)
        )
        for name, sha, kind, pr, source, title, merged_at in found
    ]
    merges.sort(key=lambda m: (m.merged_at, m.repository, m.commit), reverse=True)
    return merges

"""``git tokens publish``: this repository's records, the commits they sit on and the merges the report
finds, upserted into the organisation's database in one transaction.

Keyed by (repository, record id), so publishing twice changes nothing. Incremental: the database keeps
the notes commit and default-branch tip each repository last published; the next publish compares the
ledger at that notes commit with the ledger now (``git.notes.note_changes``, proportional to what
changed) and sends the records whose lines changed, deletes those a tombstone removed, and sends only the
commits and merges that differ from what the database holds. When the last published notes commit is not
in this clone, or with ``full``, every record's digest is compared with the database's instead (still
sending only what differs). Publishers of different repositories run side by side; two of one
repository take turns (a lock held to the commit), so no update is lost; a publish that fails or is
killed leaves the database as it was.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np

from gitokens import __version__
from gitokens.config import Config, load_config
from gitokens.db import schema
from gitokens.db.connection import Connection, connect
from gitokens.db.identity import repository_name
from gitokens.db.url import resolve
from gitokens.errors import GitTokensError, InvalidRecord
from gitokens.git.notes import blob_data, note_changes
from gitokens.git.repo import Repo
from gitokens.ledger.record import Record
from gitokens.report import cache, listing
from gitokens.report.columns import CACHE_WRITE_1H, REQUESTS, TOTAL_ONLY, Columns

# The records table's columns, in the order a row tuple holds them; the last is the digest of the others.
RECORD_COLUMNS = (
    "repository", "id", "ts", "day", "month", "commit_sha", "first_commit", "branch", "author", "model",
    "provider", "endpoint", "source", "session", "note", "input_tokens", "output_tokens", "cache_read_tokens",
    "cache_write_tokens", "cache_write_1h_tokens", "reasoning_tokens", "total_tokens", "estimated", "requests",
    "reported_cost_usd", "cost_usd", "digest",
)  # fmt: skip
COMMIT_COLUMNS = ("repository", "sha", "author_email", "authored_at", "committed_at", "summary", "on_default")
MERGE_COLUMNS = ("repository", "sha", "kind", "pr", "source_branch", "title", "merged_at", "digest")
_CHUNK = 500  # ids per IN (...) list


@dataclass
class Outcome:
    """What a publish sent."""

    repository: str
    database: str
    records: int = 0  # records in effect in the ledger
    sent: int = 0
    removed: int = 0
    commits: int = 0
    merges: int = 0
    compared: bool = False  # every record compared by digest (no usable last publish)
    migrated_from: int | None = None

    def describe(self) -> list[str]:
        lines = []
        if self.migrated_from is not None:
            lines.append(f"database schema: version {self.migrated_from} -> {schema.LATEST}")
        if not (self.sent or self.removed or self.commits or self.merges):
            lines.append(f"{self.repository}: {self.database} is up to date ({self.records:,} records)")
            return lines
        how = " (every record compared)" if self.compared else ""
        lines.append(
            f"{self.repository}: published to {self.database}{how}: {self.sent:,} record(s) sent, "
            f"{self.removed:,} removed, {self.commits:,} commit(s), {self.merges:,} merge(s); "
            f"{self.records:,} records in effect"
        )
        return lines


def publish(repo: Repo, url: str | None = None, *, full: bool = False, now: datetime | None = None) -> Outcome:
    """Publish this repository into the database at ``url`` (else the environment's, else the config's)."""
    config = load_config(repo.workdir)
    target = resolve(url, config.database.url, repo.workdir)
    name = repository_name(repo, config)
    local = Local(repo, config, name, now)
    outcome = Outcome(repository=name, database=target.shown, records=len(local.columns))
    with connect(target, write=True) as db, db.transaction():
        before = schema.migrate(db)
        if before < schema.LATEST:
            outcome.migrated_from = before
        db.lock(f"gitokens:repository:{name}")
        db.execute("INSERT INTO repositories (name) VALUES (?) ON CONFLICT (name) DO NOTHING", (name,))
        notes_tip, branch_tip = db.query("SELECT notes_tip, branch_tip FROM repositories WHERE name = ?", (name,))[0]
        if full or notes_tip != local.columns.tip:
            _records(db, local, notes_tip, full, outcome)
        if full or notes_tip != local.columns.tip or branch_tip != local.branch_tip:
            outcome.commits = _commits(db, local)
            outcome.merges = _merges(db, local)
        db.execute(
            "UPDATE repositories SET url = ?, team = ?, default_branch = ?, notes_tip = ?, branch_tip = ?, "
            "records = ?, published_at = ?, gitokens_version = ? WHERE name = ?",
            (
                local.origin,
                config.database.team,
                local.default,
                local.columns.tip,
                local.branch_tip,
                len(local.columns),
                local.now.isoformat(timespec="seconds").replace("+00:00", "Z"),
                __version__,
                name,
            ),
        )
    return outcome


class Local:
    """This repository as the database sees it: its records in effect (as the report's columns), their rows,
    the commits they sit on and the merges on the default branch; each computed when first needed."""

    def __init__(self, repo: Repo, config: Config, name: str, now: datetime | None) -> None:
        self.repo, self.config, self.name = repo, config, name
        self.now = (now or datetime.now(UTC)).astimezone(UTC)
        self.columns = cache.load(repo)
        self.default = repo.default_branch(config.default_branch)
        self.branch_tip = repo.branch_tip(self.default) if self.default else None
        self.origin = _origin(repo)
        self._rows: list[tuple[Any, ...]] | None = None
        self._merges: tuple[list[Any], dict[str, list[str]]] | None = None

    @property
    def ids(self) -> list[str | None]:
        return listing.texts(self.columns.texts["id"], np.arange(len(self.columns)))

    def rows(self) -> list[tuple[Any, ...]]:
        """A records row per record in effect, digest last."""
        if self._rows is None:
            self._rows = _record_rows(self)
        return self._rows

    def merges(self) -> tuple[list[Any], dict[str, list[str]]]:
        """The report's merges (``Merge``) and the ids of the records each brought in."""
        if self._merges is None:
            self._merges = _local_merges(self)
        return self._merges


def _origin(repo: Repo) -> str | None:
    from gitokens.db.identity import normalise

    url = repo.config_get("remote.origin.url")
    return normalise(url) if url else None


# -- records -----------------------------------------------------------------------------------------


def _records(db: Connection, local: Local, notes_tip: str | None, full: bool, outcome: Outcome) -> None:
    """Send the records that changed since ``notes_tip`` (all of them, compared by digest, when it is not
    usable), and delete those no longer in effect."""
    touched = None if full or notes_tip is None else _touched_ids(local.repo, notes_tip, local.columns.tip)
    ids = local.ids
    if touched is None:
        outcome.compared = True
        published: dict[str, str] = dict(db.query("SELECT id, digest FROM records WHERE repository = ?", (local.name,)))
        rows = [row for row in local.rows() if published.get(row[1]) != row[-1]]
        gone = published.keys() - set(ids)
    else:
        where = {record_id: n for n, record_id in enumerate(ids) if record_id in touched}
        rows = [local.rows()[n] for n in where.values()] if where else []
        gone = _present(db, local.name, touched - where.keys())
    db.upsert("records", RECORD_COLUMNS, ("repository", "id"), rows)
    db.delete("records", ("repository", "id"), [(local.name, record_id) for record_id in sorted(gone)])
    outcome.sent, outcome.removed = len(rows), len(gone)


def _touched_ids(repo: Repo, old: str, new: str | None) -> set[str] | None:
    """The ids of every record (and every tombstone's target) on a line that differs between the notes
    commits ``old`` and ``new``; None when ``old`` is not in this clone."""
    try:
        changes = note_changes(repo, old, new)
        touched: set[str] = set()
        for commit, sides in changes.items():
            for blob in {b for side in sides for b in side}:
                for line in blob_data(repo, blob).split(b"\n"):
                    touched.update(_line_ids(line, commit))
    except (KeyError, ValueError, GitTokensError):
        return None
    return touched


def _line_ids(line: bytes, commit: str) -> Iterable[str]:
    if not line.strip():
        return ()
    try:
        record = Record.from_line(line.decode("utf-8"), commit=commit)
    except (InvalidRecord, UnicodeDecodeError):
        return ()  # an invalid line is in no report and not published
    return (record.id, record.target) if record.kind == "tombstone" and record.target else (record.id,)


def _present(db: Connection, name: str, ids: set[str]) -> set[str]:
    """Which of ``ids`` the database holds for repository ``name``."""
    found: set[str] = set()
    wanted = sorted(ids)
    for start in range(0, len(wanted), _CHUNK):
        chunk = wanted[start : start + _CHUNK]
        marks = ", ".join("?" * len(chunk))
        sql = f"SELECT id FROM records WHERE repository = ? AND id IN ({marks})"
        found.update(row[0] for row in db.query(sql, (name, *chunk)))
    return found


def _record_rows(local: Local) -> list[tuple[Any, ...]]:
    """Every record in effect as a records row: its fields, the author the report credits (the commit's
    author when the record names none), its total, its cost as this repository prices it, a digest."""
    from gitokens.pricing import Pricer
    from gitokens.report.costs import costs
    from gitokens.report.pipeline import prices_cache

    columns = local.columns
    rows = np.arange(len(columns))
    text = {name: listing.texts(columns.texts[name], rows) for name in columns.texts}
    stamps = [s.removesuffix(".000") + "Z" for s in np.datetime_as_string(columns.ts.astype("datetime64[ms]"), "ms")]
    authors = _authors(local.repo, text["author"], text["attached"])
    counts = columns.counts.tolist()
    totals = columns.tokens().tolist()
    reported = [None if np.isnan(c) else c for c in columns.cost_usd.tolist()]
    priced = costs(Pricer(local.config, "auto", prices_cache(local.repo)), columns, rows).tolist()
    out = []
    for n, c in enumerate(counts):
        values = (
            local.name, text["id"][n], stamps[n], stamps[n][:10], stamps[n][:7], text["attached"][n],
            text["commit"][n], text["branch"][n], authors[n], text["model"][n], text["provider"][n],
            text["endpoint"][n], text["source"][n], text["session"][n], text["note"][n], c[0], c[1], c[2], c[3],
            c[CACHE_WRITE_1H], c[4], totals[n], int(c[TOTAL_ONLY] >= 0), c[REQUESTS] or None, reported[n],
            None if priced[n] != priced[n] else priced[n],
        )  # fmt: skip
        out.append((*values, digest(values)))
    return out


def digest(values: tuple[Any, ...]) -> str:
    """A short fingerprint of a row's values: equal rows, equal digests."""
    return hashlib.blake2b(repr(values).encode("utf-8"), digest_size=10).hexdigest()


def _authors(repo: Repo, authors: list[str | None], attached: list[str | None]) -> list[str | None]:
    """Each record's author, else the author of the commit that holds it (None when that commit is gone)."""
    known: dict[str, str | None] = {}
    out = []
    for author, commit in zip(authors, attached, strict=True):
        if author is None and commit is not None:
            if commit not in known:
                info = repo.commit_info(commit)
                known[commit] = info.author_email if info is not None else None
            author = known[commit]
        out.append(author)
    return out


# -- commits and merges ---------------------------------------------------------------------------------


def _commits(db: Connection, local: Local) -> int:
    """Send the commits records sit on (and the merges') that the database lacks or holds differently;
    delete those no record sits on any more."""
    columns = local.columns
    attached = columns.texts["attached"]
    shas = {attached.label(code) for code in np.unique(attached.codes).tolist() if code >= 0}
    shas.update(attached.label(int(code)) for code in np.unique(columns.placed_commits).tolist())
    merges, _ = local.merges()
    shas.update(m.commit for m in merges)
    on_default = _on_default(local, shas)
    published = {
        sha: flag for sha, flag in db.query("SELECT sha, on_default FROM commits WHERE repository = ?", (local.name,))
    }
    rows = []
    for sha in sorted(shas):
        flag = int(sha in on_default)
        if published.get(sha) == flag:
            continue
        info = local.repo.commit_info(sha)
        rows.append(
            (
                local.name, sha, info.author_email if info else None, _iso(info.author_time) if info else None,
                _iso(info.commit_time) if info else None, info.summary[:500] if info else None, flag,
            )
        )  # fmt: skip
    gone = sorted(published.keys() - shas)  # no record sits on them any more
    db.delete("commits", ("repository", "sha"), [(local.name, sha) for sha in gone])
    db.upsert("commits", COMMIT_COLUMNS, ("repository", "sha"), rows)
    return len(rows) + len(gone)


def _on_default(local: Local, shas: set[str]) -> set[str]:
    """Which of ``shas`` are on the default branch's first-parent chain."""
    if local.branch_tip is None:
        return set()
    from gitokens.report.chain import first_parents

    return {commit for commit, _ in first_parents(local.repo, local.branch_tip)(shas)} & shas


def _iso(seconds: int) -> str:
    return datetime.fromtimestamp(seconds, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _local_merges(local: Local) -> tuple[list[Any], dict[str, list[str]]]:
    """The merges this repository's own report lists, and the records each brought in: a merge's are those
    on the commits it brought in (``chain``), a squash's those on the squash commit."""
    if local.branch_tip is None or not len(local.columns):
        return [], {}
    from gitokens.report import pipeline
    from gitokens.report.chain import first_parents

    report = pipeline.make(local.repo, local.columns, sections="merges", now=local.now, top=0)
    squashes = {m.commit for m in report.by_merge if m.kind == "squash"}
    brought = dict(first_parents(local.repo, local.branch_tip)(squashes))
    on_commit = _ids_by_commit(local.columns)
    members = {}
    for merge in report.by_merge:
        commits = brought.get(merge.commit) or [merge.commit]
        members[merge.commit] = sorted({i for c in commits for i in on_commit.get(c, ())})
    return report.by_merge, members


def _ids_by_commit(columns: Columns) -> dict[str, list[str]]:
    """The ids of the records on each commit: where each is attached, and every commit a copy sits on."""
    ids, attached = columns.texts["id"], columns.texts["attached"]
    out: dict[str, list[str]] = {}
    for row, code in enumerate(attached.codes.tolist()):
        out.setdefault(attached.label(code), []).append(ids.label(int(ids.codes[row])))
    for row, code in zip(columns.placed_rows.tolist(), columns.placed_commits.tolist(), strict=True):
        out.setdefault(attached.label(code), []).append(ids.label(int(ids.codes[row])))
    return out


def _merges(db: Connection, local: Local) -> int:
    """Send the merges that are new or changed (by digest: their fields and their records), delete the
    ones gone (a force push); a changed merge's records are replaced whole."""
    merges, members = local.merges()
    published: dict[str, str] = dict(db.query("SELECT sha, digest FROM merges WHERE repository = ?", (local.name,)))
    rows, links = [], []
    for m in merges:
        values = (local.name, m.commit, m.kind, m.pr, m.source_branch, m.title, m.merged_at)
        fingerprint = digest((*values, tuple(members[m.commit])))
        if published.get(m.commit) != fingerprint:
            rows.append((*values, fingerprint))
            links += [(local.name, m.commit, record_id) for record_id in members[m.commit]]
    gone = published.keys() - {m.commit for m in merges}
    changed = [(local.name, row[1]) for row in rows if row[1] in published]
    db.delete("merges", ("repository", "sha"), [(local.name, sha) for sha in sorted(gone)] + changed)
    db.upsert("merges", MERGE_COLUMNS, ("repository", "sha"), rows)
    db.upsert(
        "merge_records", ("repository", "merge_sha", "record_id"), ("repository", "merge_sha", "record_id"), links
    )
    return len(rows) + len(gone)

"""What ``show`` and ``log`` display: a branch's summary, a commit's records, filtered record lists."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from gitokens.dates import in_zone
from gitokens.errors import UnknownRevision
from gitokens.git.repo import Repo
from gitokens.ledger import edits, shortids
from gitokens.ledger.record import Record
from gitokens.ledger.store import Entry, Ledger


def session_key(record: Record) -> str:
    """What one agent session's records share: its ``session``; a record without one is a session of its own."""
    return "s:" + record.session if record.session is not None else "r:" + record.id


@dataclass
class Summary:
    """Totals over a set of records (the seed scripts' ``show``): ``records``, and the distinct ``sessions``
    they come from (a captured session spreads over a record per commit, model and hour)."""

    records: int = 0
    total_tokens: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    reasoning_tokens: int = 0
    cache_write_1h_tokens: int = 0
    unsplit_tokens: int = 0  # from records that only know their total
    first: str | None = None
    last: str | None = None
    recent: list[Entry] = field(default_factory=list)
    session_keys: set[str] = field(default_factory=set)

    @property
    def sessions(self) -> int:
        return len(self.session_keys)

    def add(self, entry: Entry) -> None:
        r = entry.record
        self.records += 1
        self.session_keys.add(session_key(r))
        self.total_tokens += r.tokens
        self.input_tokens += r.input_tokens
        self.output_tokens += r.output_tokens
        self.cache_read_tokens += r.cache_read_tokens
        self.cache_write_tokens += r.cache_write_tokens
        self.reasoning_tokens += r.reasoning_tokens
        self.cache_write_1h_tokens += r.cache_write_1h_tokens
        if not r.split_known:
            self.unsplit_tokens += r.tokens
        self.first = r.ts if self.first is None or r.ts < self.first else self.first
        self.last = r.ts if self.last is None or r.ts > self.last else self.last

    def to_dict(self) -> dict[str, object]:
        return {
            "records": self.records,
            "sessions": self.sessions,
            "total_tokens": self.total_tokens,
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
            "cache_read_tokens": self.cache_read_tokens,
            "cache_write_tokens": self.cache_write_tokens,
            "reasoning_tokens": self.reasoning_tokens,
            "cache_write_1h_tokens": self.cache_write_1h_tokens,
            "unsplit_tokens": self.unsplit_tokens,
            "first": self.first,
            "last": self.last,
        }


def summarize(entries: list[Entry], recent: int = 5) -> Summary:
    summary = Summary()
    for entry in entries:
        summary.add(entry)
    summary.recent = newest_first(entries)[:recent]
    return summary


def on_branch(ledger: Ledger, branch: str | None) -> list[Entry]:
    """Records made on ``branch`` (their own branch field: it survives the branch being deleted)."""
    return [e for e in ledger.entries.values() if e.record.branch == branch]


def resolve(repo: Repo, ledger: Ledger, rev: str) -> tuple[str | None, Entry | None]:
    """What ``show REV`` names: a commit (``(commit, None)``), else a record by its id or a prefix of it as
    ``log`` shows it (``(None, entry)``). A revision is tried first: ``HEAD~2`` or a commit's hex prefix
    means the commit, as in git."""
    if ":" not in rev:
        try:
            return repo.resolve_commit(rev), None
        except UnknownRevision:
            if len(rev) < shortids.MIN_TYPED or not ledger.find(rev):
                raise UnknownRevision(
                    f"{rev!r} is neither a commit nor a record id",
                    hint="name a commit (HEAD~1, a branch, a hash) or a record id as `git tokens log` shows it",
                ) from None
    return None, edits.resolve_id(ledger, rev)


def on_commit(ledger: Ledger, commit: str) -> list[Entry]:
    """Records whose note is on ``commit`` (a record copied by amend or rebase shows on both commits)."""
    return newest_first([e for e in ledger.entries.values() if commit in e.placements])


def newest_first(entries: list[Entry]) -> list[Entry]:
    return sorted(entries, key=lambda e: (e.record.ts, e.record.id), reverse=True)


def select(
    ledger: Ledger,
    *,
    branch: str | None = None,
    author: str | None = None,
    model: str | None = None,
    since: date | None = None,
    until: date | None = None,
    limit: int | None = None,
) -> list[Entry]:
    """Records newest first, filtered like ``git log``: days are inclusive and in local time."""
    chosen = []
    for entry in ledger.entries.values():
        r = entry.record
        if branch is not None and r.branch != branch:
            continue
        if author is not None and author.lower() not in (r.author or "").lower():
            continue
        if model is not None and model.lower() not in (r.model or "").lower():
            continue
        if since is not None or until is not None:
            day = local_day(r.ts)
            if (since is not None and day < since) or (until is not None and day > until):
                continue
        chosen.append(entry)
    ordered = newest_first(chosen)
    return ordered[:limit] if limit is not None else ordered


def local_day(ts: str) -> date:
    return in_zone(datetime.fromisoformat(ts)).date()

"""What ``show`` and ``log`` display: a branch's summary, a commit's records, filtered record lists."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from gitokens.dates import in_zone
from gitokens.ledger import Entry, Ledger


@dataclass
class Summary:
    """Totals over a set of records (the seed scripts' ``show``)."""

    sessions: int = 0
    total_tokens: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    reasoning_tokens: int = 0
    unsplit_tokens: int = 0  # from records that only know their total
    first: str | None = None
    last: str | None = None
    recent: list[Entry] = field(default_factory=list)

    def add(self, entry: Entry) -> None:
        r = entry.record
        self.sessions += 1
        self.total_tokens += r.tokens
        self.input_tokens += r.input_tokens
        self.output_tokens += r.output_tokens
        self.cache_read_tokens += r.cache_read_tokens
        self.cache_write_tokens += r.cache_write_tokens
        self.reasoning_tokens += r.reasoning_tokens
        if not r.split_known:
            self.unsplit_tokens += r.tokens
        self.first = r.ts if self.first is None or r.ts < self.first else self.first
        self.last = r.ts if self.last is None or r.ts > self.last else self.last

    def to_dict(self) -> dict[str, object]:
        return {
            "sessions": self.sessions,
            "total_tokens": self.total_tokens,
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
            "cache_read_tokens": self.cache_read_tokens,
            "cache_write_tokens": self.cache_write_tokens,
            "reasoning_tokens": self.reasoning_tokens,
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

"""Recording usage: building a record from what the user typed, attaching it or queueing it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from gitokens import dates
from gitokens.errors import InvalidRecord, UnknownRevision, UsageError
from gitokens.git import notes
from gitokens.git.repo import Repo
from gitokens.ledger import pending, shortids, store, totals
from gitokens.ledger.record import Record, format_timestamp, new_id


@dataclass(frozen=True)
class Added:
    """What ``add`` did: the record, where it went, and the branch's running total after it."""

    record: Record
    commit: str | None  # None: queued for the next commit
    reason_pending: str | None
    branch_total: totals.BranchTotal | None

    def describe(self) -> str:
        record = self.record
        tokens = f"{record.tokens:,} tokens" + ("" if record.split_known else " (split unknown)")
        if self.commit is None:
            return f"queued {tokens} for the next commit ({self.reason_pending}); id {record.id[:12]}"
        line = f"recorded {tokens} on {self.commit[:7]}"
        line += f" ({record.branch})" if record.branch else " (detached HEAD)"
        line += f"; id {record.id[:12]}"
        if self.branch_total is not None and record.branch:
            t = self.branch_total
            line += f"\n{record.branch} total: {t.tokens:,} tokens in {t.sessions} session" + (
                "s" if t.sessions != 1 else ""
            )
        return line


def build(
    repo: Repo,
    *,
    total: int | None = None,
    counts: dict[str, int] | None = None,
    at: datetime | None = None,
    source: str = "manual",
    **fields: Any,
) -> Record:
    """A new usage record for this repository's user and current branch; raises InvalidRecord on bad values."""
    counts = {k: v for k, v in (counts or {}).items() if v is not None}
    if total is not None and any(counts.values()):
        raise UsageError(
            "give either TOTAL or the split (--input/--output/...), not both",
            hint="the total of a split record is derived: input + output + cache reads + cache writes",
        )
    if total is None and not any(counts.values()):
        raise UsageError(
            "no tokens given",
            hint='give a total (`git tokens add 54161 "note"`) or a split (--input 36000 --output 9230)',
        )
    data: dict[str, Any] = {
        "id": new_id(),
        "ts": format_timestamp(at or datetime.now(UTC)),
        "source": source,
        "branch": repo.head_branch(),
        "author": repo.user_email(),
        **{k: v for k, v in fields.items() if v is not None},
    }
    if total is not None:
        data["total_tokens"] = total
    else:
        data.update(counts)
    check_text(data)  # before the record is built: building it replaces what is not text
    return check_new(Record.from_dict(data), data["ts"])


def check_new(record: Record, typed_ts: object) -> Record:
    """``record`` when it may be written as a new one: its time in range (else an error quoting ``typed_ts``,
    the time as given). Its text was checked with ``check_text`` before it was built (a record replaces a
    lone surrogate with U+FFFD, as the ledger's reader does)."""
    dates.check_recordable(record.when, "ts", typed_ts)
    return record


def check_text(fields: Mapping[str, Any]) -> None:
    """Raise InvalidRecord naming the first text field that cannot be stored as UTF-8 (invalid bytes on a
    command line, which arrive as surrogates, or a lone surrogate escaped in JSON)."""
    for field, value in fields.items():
        if isinstance(value, str):
            try:
                value.encode("utf-8")
            except UnicodeEncodeError:
                raise InvalidRecord(
                    f"{field}: {value!r:.80} is not UTF-8 text",
                    hint="give it as UTF-8 (check the terminal's or the file's encoding)",
                ) from None


def add(repo: Repo, record: Record, *, rev: str | None = None, queue: bool = False) -> Added:
    """Attach ``record`` to ``rev`` (default HEAD), or queue it for the next commit."""
    head = repo.head_commit()
    if queue or (rev is None and head is None):
        reason = "--pending" if queue else "HEAD has no commits yet"
        pending.enqueue(repo, record)
        return Added(record, None, reason, None)
    commit = repo.resolve_commit(rev) if rev is not None else head
    assert commit is not None
    branch = record.branch if rev is None else branch_of(repo, rev, commit, head)
    record = record.replace(commit=commit, branch=branch)
    written = store.append(repo, {commit: [record]}, "Notes added by 'git tokens add'")
    totals.advance(repo, written, [record])
    return Added(record, commit, None, totals.branch_total(repo, record.branch))


def branch_of(repo: Repo, rev: str, commit: str, head: str | None) -> str | None:
    """The branch a record attached with ``--commit REV`` was spent on: REV itself when it names a branch,
    the checked-out branch when the commit is in its history, else the first branch (by name) whose history
    holds it; None when none does."""
    tips = repo.branch_tips()
    if rev in tips:
        return rev
    current = repo.head_branch()
    if current is not None and head is not None and notes.is_ancestor(repo, commit, head):
        return current
    return next((name for name, tip in sorted(tips.items()) if notes.is_ancestor(repo, commit, tip)), None)


def resolve_id(loaded: store.Ledger, text: str) -> store.Entry:
    """The record a full id or unique prefix names (removed ones too, so rm can say so): a prefix of the id,
    or of the part after a captured id's ``source:``, as ``log`` shows it."""
    if len(text) < shortids.MIN_TYPED:
        raise UsageError(
            f"record id {text!r} is too short", hint=f"give at least {shortids.MIN_TYPED} characters of the id"
        )
    matches = loaded.find(text)
    exact = [e for e in matches if text in (e.record.id, shortids.distinguishing(e.record.id))]
    if len(exact) == 1:
        return exact[0]
    if not matches:
        raise UnknownRevision(f"no record with id {text!r}", hint="`git tokens log` lists the records and their ids")
    if len(matches) > 1:
        short = loaded.shortener()
        shown = sorted(short(e.record.id) for e in matches)
        ids = ", ".join(shown[:10]) + (f" and {len(shown) - 10} more" if len(shown) > 10 else "")
        raise UsageError(
            f"id {text!r} is ambiguous among {len(matches)} records: {ids}", hint="give more characters of the id"
        )
    return matches[0]


def remove(repo: Repo, loaded: store.Ledger, targets: list[store.Entry]) -> list[str]:
    """Write one tombstone per target, attached to the commit that holds it; returns what was done."""
    short = loaded.shortener()
    lines: list[str] = []
    by_commit: dict[str, list[Record]] = {}
    gone: list[Record] = []
    now = format_timestamp(datetime.now(UTC))
    done: set[str] = set()
    for entry in targets:
        target = entry.record
        if target.id in done:
            continue
        done.add(target.id)
        if target.id in loaded.removed:
            lines.append(f"{short(target.id)} was already removed")
            continue
        tomb = Record.from_dict(
            {
                "id": new_id(),
                "ts": now,
                "kind": "tombstone",
                "target": target.id,
                "commit": entry.attached,
                "branch": repo.head_branch(),
                "author": repo.user_email(),
                "source": "manual",
            }
        )
        by_commit.setdefault(entry.attached, []).append(tomb)
        gone.append(target)
        lines.append(f"removed {short(target.id)}: {target.tokens:,} tokens on {entry.attached[:7]}")
    if by_commit:
        written = store.append(repo, by_commit, "Notes added by 'git tokens rm'")
        totals.advance(repo, written, [], removed=gone)
    return lines

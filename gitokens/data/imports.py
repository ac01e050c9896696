"""``git tokens import``: rows read from files become records with ids from their content, are placed on
commits, and are written in one ledger commit (all of them or none).

Where a record goes, in order: the commit it names, when that commit is here; else the commit that was
the tip of its branch at its time (the newest commit on the branch's first-parent history committed at
or before it; the reflog is not kept long enough to say better); else a portable export's own commit;
else ``--commit REV``. A record that fits none of these stops the import before anything is written.
"""

from __future__ import annotations

import bisect
import contextlib
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from gitokens.data import formats
from gitokens.data.formats import Row, RowError
from gitokens.errors import InvalidRecord, UnknownRevision, UsageError
from gitokens.git.repo import Repo
from gitokens.ledger import edits, store, totals
from gitokens.ledger.record import Record, RecordId, content_id, parse_timestamp

OWN_COMMIT = "on the commit they name"
BRANCH_TIP = "on their branch's tip at their time"
CONTEXT_COMMIT = "on the commit their export file names"
FALLBACK = "on --commit"
_REASONS = (OWN_COMMIT, BRANCH_TIP, CONTEXT_COMMIT, FALLBACK)
_HEX = re.compile(r"^[0-9a-fA-F]{7,64}$")


@dataclass
class Plan:
    """What an import would do: the files read, the new records by commit, why each went where."""

    files: list[tuple[str, str, int]] = field(default_factory=list)  # (name, format, rows)
    by_commit: dict[str, list[Record]] = field(default_factory=dict)
    placed: Counter[str] = field(default_factory=Counter)
    fallback: str | None = None
    known: int = 0  # rows whose record is in the ledger already
    repeated: int = 0  # rows that repeat a record read earlier in this import

    @property
    def records(self) -> list[Record]:
        return [r for records in self.by_commit.values() for r in records]

    def describe(self, *, dry_run: bool) -> list[str]:
        lines = [f"read {name}: {kind}, {count} row{'s' if count != 1 else ''}" for name, kind, count in self.files]
        records = self.records
        tokens = sum(r.tokens for r in records)
        verb = "would import" if dry_run else "imported"
        commits = len(self.by_commit)
        lines.append(
            f"{verb} {len(records)} record{'s' if len(records) != 1 else ''} ({tokens:,} tokens)"
            + (f" onto {commits} commit{'s' if commits != 1 else ''}:" if records else "")
        )
        for reason in _REASONS:
            if self.placed[reason]:
                where = f"{reason} {self.fallback[:7]}" if reason == FALLBACK and self.fallback else reason
                lines.append(f"  {self.placed[reason]} {where}")
        if self.known:
            lines.append(f"skipped {self.known} already in the ledger")
        if self.repeated:
            lines.append(f"skipped {self.repeated} that repeat a record read earlier")
        if dry_run:
            lines.append("nothing written (--dry-run)")
        return lines


def plan(repo: Repo, paths: Iterable[Path], *, fallback: str | None = None) -> Plan:
    """Read every file and place every new record; raises naming the file and line of the first bad row."""
    result = Plan(fallback=repo.resolve_commit(fallback) if fallback else None)
    loaded = store.load(repo)
    known: set[RecordId] = {*loaded.entries, *loaded.removed, *(t.record.id for t in loaded.tombstones)}
    seen: set[RecordId] = set()
    placer = _Placer(repo)
    author = repo.user_email()
    unplaced: list[str] = []
    for path in paths:
        kind, rows = formats.read(path)
        result.files.append((path.name, kind, len(rows)))
        occurrences: Counter[str] = Counter()
        for index, row in enumerate(rows):
            try:
                record = _record(row, occurrences, author)
            except InvalidRecord as exc:
                raise RowError(f"{formats.where(path, index)}: {exc.message}", hint=exc.hint) from None
            if record.id in known:
                result.known += 1
                continue
            if record.id in seen:
                result.repeated += 1
                continue
            seen.add(record.id)
            target, reason = placer.place(row, record, result.fallback)
            if target is None:
                unplaced.append(row.where)
                continue
            result.placed[reason] += 1
            if not (row.own and record.commit):  # export's records keep the commit they were first on
                record = record.replace(commit=target)
            result.by_commit.setdefault(target, []).append(record)
    if unplaced:
        raise UsageError(
            f"{len(unplaced)} record(s) name no commit that is here and no branch that existed at their time "
            f"(first: {unplaced[0]})",
            hint="give --commit REV to attach them there, e.g. --commit HEAD",
        )
    return result


def apply(repo: Repo, planned: Plan) -> None:
    """Write the planned records in one ledger commit."""
    if not planned.by_commit:
        return
    written = store.append(repo, planned.by_commit, "Notes added by 'git tokens import'")
    if all(r.kind == "usage" for r in planned.records):  # else the branch totals are rebuilt when next read
        totals.advance(repo, written, planned.records)


def _record(row: Row, occurrences: Counter[str], author: str | None) -> Record:
    """The row as a record: our own export keeps its id; older rows get one from their content."""
    data = dict(row.fields)
    edits.check_text(data)
    if not row.own:
        basis = content_id(data)
        # The same session written twice in one file is two sessions: the repeat gets its own id.
        occurrences[basis] += 1
        data["id"] = basis if occurrences[basis] == 1 else content_id({**data, "repeat": occurrences[basis]})
        data["source"] = "import"
        if author and not data.get("author"):
            data["author"] = author  # not a part of the id: teammates importing one file get the same ids
    return edits.check_new(Record.from_dict(data), data.get("ts"))


class _Placer:
    """Finds the commit a record belongs on, walking each branch's history once."""

    def __init__(self, repo: Repo) -> None:
        self.repo = repo
        self.commits: dict[str, str | None] = {}
        self.histories: dict[str, tuple[list[str], list[int]] | None] = {}

    def place(self, row: Row, record: Record, fallback: str | None) -> tuple[str | None, str]:
        for named in row.commits:
            found = self._commit(named)
            if found is not None:
                return found, OWN_COMMIT
        if record.branch:
            found = self._tip_at(record.branch, int(parse_timestamp(record.ts).timestamp()))
            if found is not None:
                return found, BRANCH_TIP
        if row.context_commit:
            found = self._commit(row.context_commit)
            if found is not None:
                return found, CONTEXT_COMMIT
        return fallback, FALLBACK

    def _commit(self, text: str) -> str | None:
        if text not in self.commits:
            found = None
            if _HEX.match(text):
                with contextlib.suppress(UnknownRevision):
                    found = self.repo.resolve_commit(text.lower())
            self.commits[text] = found
        return self.commits[text]

    def _tip_at(self, branch: str, when: int) -> str | None:
        if branch not in self.histories:
            self.histories[branch] = self._history(branch)
        history = self.histories[branch]
        if history is None:
            return None
        commits, earliest_negated = history
        # earliest_negated[i] is minus the earliest commit time among the i+1 newest commits: non-decreasing,
        # and the first index where it reaches -when is the newest commit made at or before ``when``.
        index = bisect.bisect_left(earliest_negated, -when)
        return commits[index] if index < len(commits) else None

    def _history(self, branch: str) -> tuple[list[str], list[int]] | None:
        tip = self.repo.branch_tip(branch)
        if tip is None:
            return None
        history = self.repo.first_parent_times(tip)
        earliest_negated, earliest = [], None
        for _, time in history:
            earliest = time if earliest is None else min(earliest, time)
            earliest_negated.append(-earliest)
        return [commit for commit, _ in history], earliest_negated

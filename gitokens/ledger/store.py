"""The ledger as records: loading ``refs/notes/tokens`` into deduplicated, tombstone-applied records,
and appending new records to commits.

Loading never drops or rewrites a line: a line that does not parse is counted and reported with its
commit, and stays in the note. A record id seen on several commits (a copy made by amend, rebase or
carry) counts once.
"""

from __future__ import annotations

import gc
import os
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from gitokens.errors import InvalidRecord
from gitokens.git.repo import NOTES_REF, Repo, open_repo
from gitokens.ledger import shortids
from gitokens.ledger.cache import NoteCache, Parsed
from gitokens.ledger.record import Record, RecordId, line_values

_PARALLEL_FROM = 32  # uncached subtrees worth starting other processes for
_SHOWN_TEXT = 1000  # characters of a bad line kept to show; the line itself stays whole in its note


@dataclass(frozen=True)
class InvalidLine:
    """A ledger line that is not a valid record: where it is, what it says, and why it was skipped."""

    commit: str
    line_no: int
    text: str
    error: str

    def describe(self) -> str:
        return f"{self.commit[:12]} line {self.line_no}: {self.error}"


class Entry(NamedTuple):
    """A record with the commit whose note holds it (the newest, when copies sit on several commits)."""

    record: Record
    attached: str
    placements: tuple[str, ...] = ()


@dataclass
class Ledger:
    """Everything in ``refs/notes/tokens`` at one notes commit (``tip``)."""

    tip: str | None
    entries: dict[RecordId, Entry] = field(default_factory=dict)
    removed: dict[RecordId, Entry] = field(default_factory=dict)
    tombstones: list[Entry] = field(default_factory=list)
    invalid: list[InvalidLine] = field(default_factory=list)
    conflicting_ids: set[RecordId] = field(default_factory=set)

    def usage(self) -> list[Entry]:
        """Usage records in effect, oldest first."""
        return sorted(self.entries.values(), key=lambda e: (e.record.ts, e.record.id))

    def find(self, prefix: str) -> list[Entry]:
        """Records in effect or removed that ``prefix`` names: a prefix of the id, or of the part after a
        captured id's ``source:`` (``shortids``)."""
        pool = list(self.entries.values()) + list(self.removed.values())
        return [e for e in pool if shortids.matches(e.record.id, prefix)]

    def shortener(self) -> shortids.Shortener:
        """The short form of any record's id, unique among the records in effect and removed."""
        return shortids.Shortener([*self.entries, *self.removed])


def load(repo: Repo, ref: str = NOTES_REF, *, use_cache: bool = True) -> Ledger:
    """Read the whole ledger: each fanout subtree parsed once and cached by its object id."""
    tip = repo.notes_tip(ref)
    ledger = Ledger(tip=tip)
    seen: dict[RecordId, list[tuple[Record, str]]] = {}
    cache = NoteCache(repo) if use_cache else None
    # Hundreds of thousands of small objects and no cycles: the cyclic collector would only rescan them.
    collecting = gc.isenabled()
    gc.disable()
    try:
        groups = repo.notes_groups(ref, tip)
        fresh = _parse_uncached(repo, groups, cache) if cache is not None else {}
        for group in groups:
            oid = group[0]
            parsed = fresh.pop(oid, None) if oid is not None else None
            if parsed is None and cache is not None and oid is not None:
                parsed = cache.get(oid)
            if parsed is None:
                parsed = _parse_group(repo, group)
                if cache is not None and oid is not None:
                    cache.put(oid, parsed)
            records, invalid = parsed
            for commit, values in records:
                record = Record.from_values(values)
                found = seen.get(record.id)
                if found is None:
                    seen[record.id] = [(record, commit)]
                else:
                    found.append((record, commit))
            ledger.invalid.extend(InvalidLine(*bad) for bad in invalid)
        if cache is not None:
            cache.keep_only({oid for oid, _ in groups if oid is not None})
        _resolve(repo, seen, ledger)
    finally:
        if collecting:
            gc.enable()
    return ledger


def _resolve(repo: Repo, seen: dict[RecordId, list[tuple[Record, str]]], ledger: Ledger) -> None:
    """Dedupe copies by id, then apply tombstones."""
    usage: dict[RecordId, Entry] = {}
    for record_id, copies in seen.items():
        if len(copies) == 1:
            record, attached = copies[0]
            entry = Entry(record, attached, (attached,))
        else:
            record, attached = _choose(repo, copies, ledger)
            entry = Entry(record, attached, tuple(sorted({c for _, c in copies})))
        if record.kind == "tombstone":
            ledger.tombstones.append(entry)
        else:
            usage[record_id] = entry
    for tomb in ledger.tombstones:
        target = tomb.record.target
        if target is not None and target in usage:
            ledger.removed[target] = usage.pop(target)
    ledger.entries = usage


def _parse_uncached(repo: Repo, groups: list[tuple[str | None, str]], cache: NoteCache) -> dict[str, Parsed]:
    """Parse the subtrees the cache lacks, sharing them with a process per other core when there are many
    (after a clone or fetch): the children leave their results in the cache, this process keeps its own."""
    missing = [group for group in groups if group[0] is not None and not cache.has(group[0])]
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 1
    workers = min(cores, 4) - 1 if len(missing) >= _PARALLEL_FROM and sys.platform == "linux" else 0
    children = []
    if workers > 0:
        import multiprocessing  # only for a large ledger: every command that loads one would pay its import

        context = multiprocessing.get_context("fork")
        for n in range(1, workers + 1):
            share = missing[n :: workers + 1]
            child = context.Process(target=_parse_into_cache, args=(str(repo.git_dir), share), daemon=True)
            child.start()
            children.append(child)
    parsed: dict[str, Parsed] = {}
    for group in missing[:: workers + 1]:
        oid = group[0]
        assert oid is not None
        parsed[oid] = _parse_group(repo, group)
        cache.put(oid, parsed[oid])
    for child in children:
        child.join()  # what a child did not finish, the caller parses
    return parsed


def _parse_into_cache(git_dir: str, groups: list[tuple[str | None, str]]) -> None:
    repo = open_repo(git_dir)
    cache = NoteCache(repo)
    for group in groups:
        if group[0] is not None:
            cache.put(group[0], _parse_group(repo, group))


def _parse_group(repo: Repo, group: tuple[str | None, str]) -> Parsed:
    records: list[tuple[str, tuple[Any, ...]]] = []
    invalid: list[tuple[str, int, str, str]] = []
    for commit, blob in repo.read_notes_group(group):
        for number, raw in enumerate(blob.split(b"\n"), start=1):
            if not raw.strip():
                continue
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError:
                invalid.append((commit, number, raw[:_SHOWN_TEXT].decode("utf-8", "replace"), "not UTF-8 text"))
                continue
            try:
                records.append((commit, line_values(text, commit)))
            except InvalidRecord as exc:
                invalid.append((commit, number, text[:_SHOWN_TEXT], str(exc)))
    return records, invalid


def _choose(repo: Repo, copies: list[tuple[Record, str]], ledger: Ledger) -> tuple[Record, str]:
    """One copy of a record seen on several notes: the same content, attached where it now lives."""
    lines = {record.to_line() for record, _ in copies}
    if len(lines) > 1:
        ledger.conflicting_ids.add(copies[0][0].id)
    record = min(copies, key=lambda c: c[0].to_line())[0]
    # Amend, rebase and carry copy a record onto a newer commit: the newest existing commit is where it lives.
    best = max(copies, key=lambda c: repo.commit_time(c[1]) or -1)[1]
    return record, best


@dataclass(frozen=True)
class Written:
    """One notes commit we wrote: ``tip``, built directly on ``parent`` (None: the ledger's first)."""

    parent: str | None
    tip: str


def append(
    repo: Repo, records_by_commit: Mapping[str, Iterable[Record]], message: str, *, timeout: float = 10.0
) -> Written:
    """Attach records to commits in one notes commit."""
    lines = {commit: [r.to_line().encode() for r in records] for commit, records in records_by_commit.items()}
    parent, tip = repo.append_notes(lines, message, timeout=timeout)
    return Written(parent, tip)

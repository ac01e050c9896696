"""The ledger as records: loading ``refs/notes/tokens`` into deduplicated, tombstone-applied records,
and appending new records to commits.

Loading never drops or rewrites a line: a line that does not parse is counted and reported with its
commit, and stays in the note. A record id seen on several commits (a copy made by amend, rebase or
carry) counts once.
"""

from __future__ import annotations

import bisect
import dataclasses
import gc
import itertools
import os
import sys
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from gitokens.errors import InvalidRecord
from gitokens.git.repo import NOTES_REF, Repo, open_repo
from gitokens.ledger import shortids
from gitokens.ledger.cache import NoteCache, Parsed
from gitokens.ledger.canonical import columns_of as _columns_of
from gitokens.ledger.canonical import values as _canonical
from gitokens.ledger.record import MAX_LINE, Record, RecordId, line_values

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


# One record as the loader keeps it until a caller wants objects: its ``Record.values()``, the commit whose
# note holds it, and every commit whose note holds a copy.
Row = tuple[tuple[Any, ...], str, tuple[str, ...]]
FIELD_AT = {f.name: i for i, f in enumerate(dataclasses.fields(Record))}  # where each field is in a row's values
_ID, _KIND, _TARGET = FIELD_AT["id"], FIELD_AT["kind"], FIELD_AT["target"]


@dataclass
class Rows:
    """The ledger as ``load`` resolves it, before any ``Record`` is built: what the report's columns are made
    from (300,000 record objects cost more than everything else the report does with them)."""

    tip: str | None
    usage: list[Row] = field(default_factory=list)  # in effect, in the ledger's order
    removed: list[Row] = field(default_factory=list)  # removed by tombstones
    tombstones: list[Row] = field(default_factory=list)
    invalid: list[InvalidLine] = field(default_factory=list)
    conflicting_ids: set[RecordId] = field(default_factory=set)


def load(repo: Repo, ref: str = NOTES_REF, *, use_cache: bool = True) -> Ledger:
    """Read the whole ledger: each fanout subtree parsed once and cached by its object id."""
    return ledger_of(load_rows(repo, ref, use_cache=use_cache))


def ledger_of(rows: Rows) -> Ledger:
    """The ledger of ``load_rows``' rows, a ``Record`` each."""
    collecting = gc.isenabled()
    gc.disable()
    try:
        return Ledger(
            tip=rows.tip,
            entries={row[0][_ID]: entry_of(row) for row in rows.usage},
            removed={row[0][_ID]: entry_of(row) for row in rows.removed},
            tombstones=[entry_of(row) for row in rows.tombstones],
            invalid=rows.invalid,
            conflicting_ids=rows.conflicting_ids,
        )
    finally:
        if collecting:
            gc.enable()


def entry_of(row: Row) -> Entry:
    """The ``Entry`` of one of ``load_rows``' rows."""
    return Entry(Record.from_values(row[0]), row[1], row[2])


def load_rows(repo: Repo, ref: str = NOTES_REF, *, use_cache: bool = True) -> Rows:
    """``load``'s ledger as rows of values: parsed, deduplicated and with tombstones applied the same way."""
    tip, parsed = _load_parsed(repo, ref, use_cache)
    rows = Rows(tip=tip)
    seen: dict[RecordId, Row] = {}  # each id's first copy, as a row on its one commit
    copies: dict[RecordId, list[tuple[tuple[Any, ...], str]]] = {}  # every copy of the ids seen more than once
    # Hundreds of thousands of small objects and no cycles: the cyclic collector would only rescan them.
    collecting = gc.isenabled()
    gc.disable()
    try:
        for attached, fields, invalid in parsed:
            _gather(zip(attached, zip(*fields, strict=True), strict=True), seen, copies)
            rows.invalid.extend(InvalidLine(*bad) for bad in invalid)
        _resolve(repo, seen, copies, rows)
    finally:
        if collecting:
            gc.enable()
    return rows


@dataclass
class Table:
    """The ledger as ``load_rows`` resolves it, as columns: each field of ``Record.values()`` a list of the
    records in effect (in the ledger's order), what a report's columns are made from without a row each."""

    tip: str | None
    fields: list[list[Any]]
    attached: list[str]  # the commit whose note holds each record
    placed: list[tuple[int, tuple[str, ...]]]  # the records whose copies sit on several commits, and those
    removed: set[RecordId]  # the targets of every tombstone
    invalid: list[InvalidLine]


def load_table(repo: Repo, ref: str = NOTES_REF, *, use_cache: bool = True) -> Table:
    """``load_rows``' ledger as a ``Table``: the same records in the same order, copies resolved and tombstones
    applied column by column, with a step per record only where copies or tombstones are."""
    tip, parsed = _load_parsed(repo, ref, use_cache)
    collecting = gc.isenabled()
    gc.disable()
    try:
        attached: list[str] = []
        fields: list[list[Any]] = [[] for _ in FIELD_AT]
        invalid: list[InvalidLine] = []
        for part_attached, part_fields, part_invalid in parsed:
            attached += part_attached
            for column, part in zip(fields, part_fields, strict=False):
                column += part
            invalid.extend(InvalidLine(*bad) for bad in part_invalid)
        return _table(repo, tip, fields, attached, invalid)
    finally:
        if collecting:
            gc.enable()


def _table(
    repo: Repo, tip: str | None, fields: list[list[Any]], attached: list[str], invalid: list[InvalidLine]
) -> Table:
    """``_resolve`` over columns: each id's first row keeps its place and takes the chosen copy's values and
    commit; then tombstones and the records they remove are dropped."""
    ids = fields[_ID]
    count = len(ids)
    first = dict(zip(reversed(ids), range(count - 1, -1, -1), strict=True))  # each id's first row
    dropped: set[int] = set()
    placed: list[tuple[int, tuple[str, ...]]] = []
    if len(first) != count:
        copies: dict[int, list[int]] = {}
        for row, at in enumerate(map(first.__getitem__, ids)):
            if at != row:
                copies.setdefault(at, [at]).append(row)
                dropped.add(row)
        ignored = Rows(tip=tip)  # conflicting ids: only ``load`` reports them
        for at, rows in copies.items():
            found = [(tuple(column[row] for column in fields), attached[row]) for row in rows]
            values, attached[at] = _choose(repo, found, ignored)
            for column, value in zip(fields, values, strict=True):
                column[at] = value
            commits = tuple(sorted({commit for _, commit in found}))
            if len(commits) > 1:
                placed.append((at, commits))
        placed.sort()
    kinds, targets = fields[_KIND], fields[_TARGET]
    removed: set[RecordId] = set()
    if kinds.count("tombstone"):
        tombs = [row for row, kind in enumerate(kinds) if kind == "tombstone" and row not in dropped]
        dropped.update(tombs)
        for row in tombs:
            target = targets[row]
            if target is not None:
                removed.add(target)
                at = first.get(target)
                if at is not None and at not in dropped:
                    dropped.add(at)
    if dropped:
        keep = [row not in dropped for row in range(count)]
        fields = [list(itertools.compress(column, keep)) for column in fields]
        attached = list(itertools.compress(attached, keep))
        gone = sorted(dropped)
        placed = [(at - bisect.bisect_left(gone, at), commits) for at, commits in placed if at not in dropped]
    return Table(tip=tip, fields=fields, attached=attached, placed=placed, removed=removed, invalid=invalid)


def _load_parsed(repo: Repo, ref: str, use_cache: bool) -> tuple[str | None, list[Parsed]]:
    """The ledger's notes commit and each of its subtrees parsed, in the tree's order: from the cache, else
    parsed (on several cores when many are missing) and cached."""
    tip = repo.notes_tip(ref)
    cache = NoteCache(repo) if use_cache else None
    collecting = gc.isenabled()
    gc.disable()
    try:
        groups = repo.notes_groups(ref, tip)
        fresh = _parse_uncached(repo, groups, cache) if cache is not None else {}
        parsed = []
        for group in groups:
            oid = group[0]
            found = fresh.pop(oid, None) if oid is not None else None
            if found is None and cache is not None and oid is not None:
                found = cache.get(oid)
            if found is None:
                found = _parse_group(repo, group)
                if cache is not None and oid is not None:
                    cache.put(oid, found)
            parsed.append(found)
        if cache is not None:
            cache.keep_only({oid for oid, _ in groups if oid is not None})
    finally:
        if collecting:
            gc.enable()
    return tip, parsed


def _gather(
    records: Iterable[tuple[str, tuple[Any, ...]]],
    seen: dict[RecordId, Row],
    copies: dict[RecordId, list[tuple[tuple[Any, ...], str]]],
) -> None:
    """Each record a row on its commit, in ``seen`` under its id; a copy of an id seen before (an amend,
    rebase or carry put it on several commits) goes to ``copies``, with the first."""
    last: str | None = None
    on: tuple[str, ...] = ()
    for commit, values in records:
        if commit is not last:  # a note's lines come together: one tuple for them all
            last, on = commit, (commit,)
        row = (values, commit, on)
        found = seen.setdefault(values[_ID], row)
        if found is not row:
            copies.setdefault(values[_ID], [(found[0], found[1])]).append((values, commit))


def _resolve(
    repo: Repo,
    seen: dict[RecordId, Row],
    copies: dict[RecordId, list[tuple[tuple[Any, ...], str]]],
    rows: Rows,
) -> None:
    """Dedupe copies by id, then apply tombstones (``seen`` ends up holding the records in effect)."""
    for record_id, found in copies.items():
        values, attached = _choose(repo, found, rows)
        seen[record_id] = (values, attached, tuple(sorted({c for _, c in found})))
    rows.tombstones = [row for row in seen.values() if row[0][_KIND] == "tombstone"]
    for tomb in rows.tombstones:
        del seen[tomb[0][_ID]]
    for tomb in rows.tombstones:
        target = tomb[0][_TARGET]
        if target is not None and target in seen:
            rows.removed.append(seen.pop(target))
    rows.usage = list(seen.values())


def _parse_uncached(repo: Repo, groups: list[tuple[str | None, str]], cache: NoteCache) -> dict[str, Parsed]:
    """Parse the subtrees the cache lacks, sharing them with a process per other core when there are many
    (after a clone or fetch): each process takes the next subtree when done with one (so all finish
    together however the machine shares its cores), the children leave their results in the cache, this
    process keeps its own."""
    missing = [group for group in groups if group[0] is not None and not cache.has(group[0])]
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 1
    workers = min(cores, 4) - 1 if len(missing) >= _PARALLEL_FROM and sys.platform == "linux" else 0
    children = []
    claimed: Any = None
    if workers > 0:
        import multiprocessing  # only for a large ledger: every command that loads one would pay its import

        context = multiprocessing.get_context("fork")
        claimed = context.Value("q", 0)
        for _ in range(workers):
            child = context.Process(target=_parse_into_cache, args=(str(repo.git_dir), missing, claimed), daemon=True)
            child.start()
            children.append(child)
    parsed: dict[str, Parsed] = {}
    for group in _taken(missing, claimed):
        oid = group[0]
        assert oid is not None
        parsed[oid] = _parse_group(repo, group)
        cache.put(oid, parsed[oid])
    for child in children:
        child.join()  # what a child did not finish, the caller parses
    return parsed


def _taken(groups: list[tuple[str | None, str]], claimed: Any) -> Iterator[tuple[str | None, str]]:
    """The groups this process takes, one at a time: all of them, or with ``claimed`` (a counter shared
    with the other processes) the next not yet taken by any."""
    if claimed is None:
        yield from groups
        return
    while True:
        with claimed.get_lock():
            n = claimed.value
            claimed.value = n + 1
        if n >= len(groups):
            return
        yield groups[n]


def _parse_into_cache(git_dir: str, groups: list[tuple[str | None, str]], claimed: Any) -> None:
    repo = open_repo(git_dir)
    cache = NoteCache(repo)
    for group in _taken(groups, claimed):
        if group[0] is not None:
            cache.put(group[0], _parse_group(repo, group))


def _parse_group(repo: Repo, group: tuple[str | None, str]) -> Parsed:
    notes = list(repo.read_notes_group(group))
    fast = _columns_of(notes)  # every line canonical: read all at once
    if fast is not None:
        return (*fast, [])
    records: list[tuple[str, tuple[Any, ...]]] = []
    invalid: list[tuple[str, int, str, str]] = []
    for commit, blob in notes:
        for number, raw in enumerate(blob.split(b"\n"), start=1):
            # A canonical line, read from its bytes (msgspec checks the UTF-8); anything else, a blank line
            # included, as before: the text decoded, then validated field by field.
            values = _canonical(raw) if raw and len(raw) <= MAX_LINE else None
            if values is not None:
                records.append((commit, values))
                continue
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
    fields = [list(column) for column in zip(*(values for _, values in records), strict=True)]
    return [commit for commit, _ in records], fields or [[] for _ in FIELD_AT], invalid


def _choose(repo: Repo, copies: list[tuple[tuple[Any, ...], str]], rows: Rows) -> tuple[tuple[Any, ...], str]:
    """One copy of a record seen on several notes: the same content, attached where it now lives."""
    records = [(Record.from_values(values), commit) for values, commit in copies]
    lines = {record.to_line() for record, _ in records}
    if len(lines) > 1:
        rows.conflicting_ids.add(records[0][0].id)
    record = min(records, key=lambda c: c[0].to_line())[0]
    # Amend, rebase and carry copy a record onto a newer commit: the newest existing commit is where it lives.
    best = max(records, key=lambda c: repo.commit_time(c[1]) or -1)[1]
    return record.values(), best


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

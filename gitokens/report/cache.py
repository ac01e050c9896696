"""The report's columns cached in ``<git-common-dir>/gitokens/cache/columns-<version>.npz``, valid for one
notes commit, and carried forward as the ledger grows.

Git names a notes commit by its content, so a file whose ``tip`` is the ledger's tip is valid with
nothing to check: a repeated report never parses the ledger. When the ledger has moved on, the notes
that changed since the cached commit are compared (one fanout subtree after an ``add``) and what they
gained is applied: records with new ids, copies of known records onto other commits (amend, rebase,
carry), tombstones. Anything else (a note edited or removed, a bad line) rebuilds the columns from the
ledger.
"""

from __future__ import annotations

import dataclasses
import json
import os
import tempfile
import threading
import zipfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from gitokens import __version__
from gitokens.errors import GitTokensError, InvalidRecord
from gitokens.git.notes import blob_data, note_changes
from gitokens.git.repo import Repo
from gitokens.ledger.record import Record
from gitokens.ledger.store import Entry, InvalidLine, Rows, Table, load_table
from gitokens.report.columns import TEXTS, UNIQUE, Columns, Text, from_entries, from_rows, from_table, record

_LAYOUT = 2  # 2: sessions coded by distinct value (reports count them)
_FILE = f"columns-{__version__}-{_LAYOUT}.npz"
_WRITE_BESIDE_FROM = 40_000  # records from which the cache is written in a thread
_WRITING: list[threading.Thread] = []
_REWRITE = 500  # records carried forward since the file's notes commit before the file is written again


def load(
    repo: Repo,
    *,
    use_cache: bool = True,
    rows: Rows | None = None,
    beside: Callable[[Rows | Table], object] | None = None,
) -> Columns:
    """The columns of the ledger at its current tip: from the cache; else the cache carried forward over
    what was added since; else built from the ledger, or from ``rows`` when the caller has read it at this
    tip already (``beside``: see ``columns.from_rows``). What it returns is cached."""
    written()  # a file still being written, and no process forked while a thread writes it
    tip = repo.notes_tip()
    if tip is None:
        return from_entries(None, [], [])
    if use_cache:
        cached = _read(repo)
        if cached is not None and cached.tip == tip:
            return cached
        moved = _advance(repo, cached, tip) if cached is not None else None
        if moved is not None:
            # Carrying a few records forward again is cheaper than rewriting the whole file each time.
            if moved.carried > _REWRITE:
                _write(repo, moved)
            return moved
    if rows is not None and rows.tip == tip:
        columns = from_rows(rows, beside)
    else:
        columns = from_table(load_table(repo, use_cache=use_cache), beside)
    if use_cache:
        _keep(repo, columns)
    return columns


def _keep(repo: Repo, columns: Columns) -> None:
    """Write the cache; for a large ledger in a thread, while the report is made: the file's checksums and
    writes let go of the interpreter's lock, so a quarter of a second of one core overlaps the report.
    ``written`` waits for it (and the interpreter, at exit)."""
    if len(columns) < _WRITE_BESIDE_FROM:
        _write(repo, columns)
        return
    thread = threading.Thread(target=_write, args=(repo, columns), name="gitokens-columns-cache")
    thread.start()
    _WRITING.append(thread)


def written() -> None:
    """Wait for the cache files ``load`` is writing."""
    while _WRITING:
        _WRITING.pop().join()


def _advance(repo: Repo, columns: Columns, tip: str) -> Columns | None:
    """``columns`` carried from its notes commit to ``tip`` when the ledger only gained lines: records with
    new ids (``add``, the hook, a sync that received records), copies of records onto other commits
    (amend, rebase, carry) and tombstones of records in effect (``rm``); None for anything else (a line
    gone or changed, a bad line, a copy whose content differs), which the caller rebuilds from the ledger."""
    if columns.tip is None:
        return None
    try:
        changes = {
            commit: tuple(b"\n".join(blob_data(repo, blob) for blob in blobs) for blobs in sides)
            for commit, sides in note_changes(repo, columns.tip, tip).items()
        }
    except (KeyError, ValueError, GitTokensError):
        return None
    known = set(columns.texts["id"].labels)
    added: list[Entry] = []
    new_ids: set[str] = set()
    dropped: set[str] = set()
    copies: list[tuple[Record, str]] = []
    for commit, (before, after) in changes.items():
        old = {line for line in before.split(b"\n") if line.strip()}
        new = {line for line in after.split(b"\n") if line.strip()}
        if old - new:
            return None
        for line in sorted(new - old):
            try:
                record = Record.from_line(line.decode("utf-8"), commit=commit)
            except (InvalidRecord, UnicodeDecodeError):
                return None
            if record.kind == "tombstone":
                if record.target not in known or record.target in dropped:
                    return None
                dropped.add(record.target)
            elif record.id in known:
                copies.append((record, commit))  # amend, rebase or carry copied it onto another commit
            elif record.id in new_ids or record.id in columns.removed:
                return None
            else:
                new_ids.add(record.id)
                added.append(Entry(record, commit, (commit,)))
    if copies:
        placed = _place_copies(repo, columns, copies)
        if placed is None or dropped & {copy.id for copy, _ in copies}:
            return None
        columns = placed
    ids = columns.texts["id"]
    keep = [row for row, code in enumerate(ids.codes.tolist()) if ids.label(code) not in dropped] if dropped else None
    moved = _concat(columns if keep is None else _take(columns, np.array(keep, dtype=np.int64)), added)
    moved.tip = tip
    moved.removed = columns.removed | dropped
    moved.carried = len(added) + len(dropped) + len(copies)
    return moved


def _place_copies(repo: Repo, columns: Columns, copies: list[tuple[Record, str]]) -> Columns | None:
    """``columns`` with each copied record also placed on its new commit, and attached to the newest of its
    commits, as ``ledger.load`` attaches it; None when a copy's content differs from the record's or two
    of its commits have the same time (then the ledger decides)."""
    ids, attached = columns.texts["id"], columns.texts["attached"]
    code_of = {label: code for code, label in enumerate(ids.labels)}
    commit_of = {label: code for code, label in enumerate(attached.labels)}
    placed: dict[int, set[str]] = {}
    for row, commit in zip(columns.placed_rows.tolist(), columns.placed_commits.tolist(), strict=True):
        placed.setdefault(row, set()).add(attached.labels[commit])
    moved: dict[int, set[str]] = {}
    for copy, commit in copies:
        row = int(np.flatnonzero(ids.codes == code_of[copy.id])[0])
        if copy.to_line() != record(columns, row).to_line():
            return None
        where = moved.setdefault(row, placed.get(row, {attached.labels[int(attached.codes[row])]}))
        where.add(commit)
    codes = attached.codes.copy()
    rows, commits = [], []
    for row, where in moved.items():
        times = {commit: repo.commit_time(commit) or -1 for commit in where}
        newest = max(times.values())
        if list(times.values()).count(newest) > 1:
            return None
        best = next(commit for commit, time in times.items() if time == newest)
        codes[row] = commit_of.setdefault(best, len(commit_of))
        for commit in sorted(where):
            rows.append(row)
            commits.append(commit_of.setdefault(commit, len(commit_of)))
    keep = ~np.isin(columns.placed_rows, list(moved))
    texts = dict(columns.texts)
    texts["attached"] = Text(codes, list(commit_of))
    return dataclasses.replace(
        columns,
        texts=texts,
        placed_rows=np.concatenate([columns.placed_rows[keep], np.array(rows, dtype=np.int64)]),
        placed_commits=np.concatenate([columns.placed_commits[keep], np.array(commits, dtype=np.int64)]),
    )


def _take(columns: Columns, rows: np.ndarray) -> Columns:
    """The columns of ``rows`` only (labels kept, so codes stay valid)."""
    renumber = np.full(len(columns), -1, dtype=np.int64)
    renumber[rows] = np.arange(len(rows))
    placed = renumber[columns.placed_rows]
    return Columns(
        tip=columns.tip,
        ts=columns.ts[rows],
        counts=columns.counts[rows],
        cost_usd=columns.cost_usd[rows],
        texts={name: Text(t.codes[rows], t.labels) for name, t in columns.texts.items()},
        placed_rows=placed[placed >= 0],
        placed_commits=columns.placed_commits[placed >= 0],
        invalid=columns.invalid,
        removed=columns.removed,
    )


def _concat(columns: Columns, entries: Sequence[Entry]) -> Columns:
    """``columns``' rows, then rows for ``entries`` (each on one commit), coded into the same labels."""
    extra = from_entries(columns.tip, entries, [])
    texts = {}
    for name, text in columns.texts.items():
        added = extra.texts[name]
        if name in UNIQUE:  # a label per row: append
            labels = text.labels + added.labels
            remap = np.array([*range(len(text.labels), len(labels)), -1])
        else:  # distinct values: reuse the codes of values already there
            index = {label: code for code, label in enumerate(text.labels)}
            remap = np.array([index.setdefault(label, len(index)) for label in added.labels] + [-1])
            labels = list(index)
        texts[name] = Text(np.concatenate([text.codes, remap[added.codes].astype(np.int32)]), labels)
    return Columns(
        tip=columns.tip,
        ts=np.concatenate([columns.ts, extra.ts]),
        counts=np.concatenate([columns.counts, extra.counts]),
        cost_usd=np.concatenate([columns.cost_usd, extra.cost_usd]),
        texts=texts,
        placed_rows=columns.placed_rows,
        placed_commits=columns.placed_commits,
        invalid=columns.invalid,
        removed=columns.removed,
    )


def _path(repo: Repo) -> Path:
    return repo.state_dir() / "cache" / _FILE


def _read(repo: Repo) -> Columns | None:
    """The cached columns, of whichever notes commit they were written for."""
    try:
        with np.load(_path(repo), allow_pickle=False) as data:
            meta = json.loads(bytes(data["meta"]).decode("utf-8"))
            texts = {
                name: Text(
                    data[f"{name}.codes"], packed=(bytes(data[f"{name}.labels"]), [0, *data[f"{name}.ends"].tolist()])
                )
                for name in TEXTS
            }
            return Columns(
                tip=meta["tip"],
                ts=data["ts"],
                counts=data["counts"],
                cost_usd=data["cost_usd"],
                texts=texts,
                placed_rows=data["placed_rows"],
                placed_commits=data["placed_commits"],
                invalid=[InvalidLine(*bad) for bad in meta["invalid"]],
                removed=set(meta["removed"]),
            )
    except (OSError, ValueError, KeyError, TypeError, zipfile.BadZipFile, EOFError):
        return None


def _write(repo: Repo, columns: Columns) -> None:
    if columns.tip is None:
        return
    path = _path(repo)
    meta = {
        "tip": columns.tip,
        "invalid": [[i.commit, i.line_no, i.text, i.error] for i in columns.invalid],
        "removed": sorted(columns.removed),
    }
    arrays: dict[str, Any] = {
        "meta": np.frombuffer(json.dumps(meta).encode("utf-8"), dtype=np.uint8),
        "ts": columns.ts,
        "counts": columns.counts,
        "cost_usd": columns.cost_usd,
        "placed_rows": columns.placed_rows,
        "placed_commits": columns.placed_commits,
    }
    for name, text in columns.texts.items():
        blob, ends = text.pack()
        arrays[f"{name}.codes"] = text.codes
        arrays[f"{name}.labels"] = np.frombuffer(blob, dtype=np.uint8)
        arrays[f"{name}.ends"] = ends
    tmp = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".npz")
        with os.fdopen(fd, "wb") as handle:
            np.savez(handle, **arrays)
        os.replace(tmp, path)
        for other in path.parent.glob("columns-*.npz"):  # written by other gitokens versions
            if other.name != path.name:
                other.unlink(missing_ok=True)
    except OSError:
        if tmp is not None:
            Path(tmp).unlink(missing_ok=True)
        # a cache that cannot be written only makes the next report slower

"""The records in effect as columns: what a report reads instead of 300,000 ``Record`` objects.

A report needs a handful of numbers and a few keys per record, summed many ways. Built from a loaded
``Ledger`` in one pass, each text field becomes an array of codes into its distinct values, each count
an int64 column, the timestamp milliseconds since the epoch. The columns of the ledger at one notes
commit are cached in ``<git-common-dir>/gitokens/cache/columns-<version>.npz``: git names the notes
commit by its content, so a file whose ``tip`` is the ledger's tip is valid with nothing to check, and a
repeated report never parses the ledger. When the ledger has moved on, the notes that changed since the
cached commit are compared (a tree diff: one subtree after an ``add``) and the records they gained are
added to the columns; only a change that is not a plain addition rebuilds them from the ledger.

Only the ledger's facts are cached: prices, the time zone, the commit graph and the authors of commits
(for records without one) are applied by ``report.py`` on every run.
"""

from __future__ import annotations

import dataclasses
import gc
import itertools
import json
import operator
import os
import tempfile
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

from gitokens import __version__
from gitokens.errors import GitTokensError, InvalidRecord
from gitokens.git import Repo
from gitokens.gitnotes import blob_data, note_changes
from gitokens.ledger import Entry, InvalidLine, Ledger
from gitokens.ledger import load as load_ledger
from gitokens.records import SPLIT_FIELDS, Record, format_timestamp

# Text fields, in the order they are stored; "attached" is the commit whose note holds the record now.
TEXTS = ("id", "branch", "author", "model", "provider", "endpoint", "source", "session", "note", "commit", "attached")
# Count columns; TOTAL_ONLY is the total of a record whose split is unknown, -1 for the others.
COUNTS = (*SPLIT_FIELDS, "total_tokens")
INPUT, OUTPUT, CACHE_READ, CACHE_WRITE, REASONING, TOTAL_ONLY = range(len(COUNTS))
_UNIQUE = ("id", "session", "note")  # fields not worth deduplicating: a label per record
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_FILE = f"columns-{__version__}.npz"
_REWRITE = 500  # rows added or removed since the cached notes commit before the file is written again


class Text:
    """One text field: a code per record (-1: the field is unset) into its distinct values, ``labels``.

    Labels read from the cache are decoded when first asked for: a report needs the branches and models,
    not the 300,000 ids or notes.
    """

    def __init__(
        self, codes: np.ndarray, labels: list[str] | None = None, packed: tuple[bytes, list[int]] | None = None
    ):
        self.codes = codes
        self._labels = labels
        self._packed = packed

    @property
    def labels(self) -> list[str]:
        if self._labels is None:
            assert self._packed is not None
            blob, bounds = self._packed
            self._labels = [blob[a:b].decode("utf-8") for a, b in itertools.pairwise(bounds)]
        return self._labels

    def label(self, code: int) -> str:
        if self._labels is None and self._packed is not None:
            blob, bounds = self._packed
            return blob[bounds[code] : bounds[code + 1]].decode("utf-8")
        return self.labels[code]

    def get(self, row: int) -> str | None:
        code = int(self.codes[row])
        return None if code < 0 else self.label(code)

    def pack(self) -> tuple[bytes, np.ndarray]:
        if self._labels is None and self._packed is not None:
            return self._packed[0], np.array(self._packed[1][1:], dtype=np.int64)
        encoded = [label.encode("utf-8") for label in self.labels]
        return b"".join(encoded), np.cumsum([len(b) for b in encoded], dtype=np.int64)


@dataclass
class Columns:
    """The ledger's records in effect at notes commit ``tip``, one row per record, in the ledger's order."""

    tip: str | None
    ts: np.ndarray  # int64 milliseconds since the epoch (UTC)
    counts: np.ndarray  # int64, one column per COUNTS
    cost_usd: np.ndarray  # float64, NaN when the record reports no cost
    texts: dict[str, Text]
    # Rows whose copies sit on several commits (amend, rebase, carry): (row, code into "attached" labels).
    placed_rows: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    placed_commits: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    invalid: list[InvalidLine] = field(default_factory=list)
    removed: set[str] = field(default_factory=set)  # ids of the records tombstones removed
    carried: int = 0  # records added or removed since the notes commit of the cache file they came from

    def __len__(self) -> int:
        return len(self.ts)

    def text(self, name: str, row: int) -> str | None:
        return self.texts[name].get(row)

    def timestamp(self, row: int) -> str:
        """The record's canonical ``ts``."""
        return ts_text(int(self.ts[row]))

    def tokens(self) -> np.ndarray:
        """Each record's total tokens: the four counts, or the total when only it is known."""
        total = self.counts[:, TOTAL_ONLY]
        split = self.counts[:, INPUT : CACHE_WRITE + 1].sum(axis=1)
        return np.where(total >= 0, total, split)


def factorize(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``np.unique(keys, return_inverse=True)``; in linear time for integers of a modest range (codes, days)."""
    if len(keys):
        low, high = int(keys.min()), int(keys.max())
        if high - low < 4 * len(keys) + 4096:
            seen = np.zeros(high - low + 1, dtype=bool)
            seen[keys - low] = True
            position = np.cumsum(seen) - 1
            return np.flatnonzero(seen) + low, position[keys - low]
    return np.unique(keys, return_inverse=True)


def ts_text(ms: int) -> str:
    return format_timestamp(_EPOCH + timedelta(milliseconds=ms))


def ts_ms(text: str) -> int:
    """Milliseconds since the epoch of a canonical timestamp."""
    moment = datetime.fromisoformat(text[:-1]).replace(tzinfo=UTC)
    return (moment - _EPOCH) // timedelta(milliseconds=1)


def from_ledger(ledger: Ledger) -> Columns:
    """The columns of a loaded ledger (one pass over its records in effect)."""
    # Hundreds of thousands of small objects and no cycles: the cyclic collector would only rescan them.
    collecting = gc.isenabled()
    gc.disable()
    try:
        columns = from_entries(ledger.tip, list(ledger.entries.values()), ledger.invalid)
        columns.removed = {t.record.target for t in ledger.tombstones if t.record.target is not None}
        return columns
    finally:
        if collecting:
            gc.enable()


def from_entries(tip: str | None, entries: Sequence[Entry], invalid: list[InvalidLine]) -> Columns:
    n = len(entries)
    fields = ("ts", *COUNTS, "cost_usd", *TEXTS[:-1])
    rows = map(operator.attrgetter(*fields), (e.record for e in entries))
    by_field = dict(zip(fields, zip(*rows, strict=True), strict=True)) if n else {name: () for name in fields}
    stamps = np.array([ts[:-1] for ts in by_field["ts"]], dtype="datetime64[ms]").astype(np.int64)
    counts = np.empty((n, len(COUNTS)), dtype=np.int64)
    for c, name in enumerate(COUNTS[:-1]):
        counts[:, c] = by_field[name]
    counts[:, TOTAL_ONLY] = np.fromiter((-1 if t is None else t for t in by_field["total_tokens"]), np.int64, n)
    texts = {name: (_each if name in _UNIQUE else _encode)(by_field[name]) for name in TEXTS[:-1]}
    attached = _encode([e.attached for e in entries])
    index = {label: code for code, label in enumerate(attached.labels)}
    placed_rows, placed_commits = [], []
    for row, entry in enumerate(entries):
        if len(entry.placements) > 1:
            for commit in entry.placements:
                placed_rows.append(row)
                placed_commits.append(index.setdefault(commit, len(index)))
    texts["attached"] = Text(attached.codes, list(index))
    return Columns(
        tip=tip,
        ts=stamps,
        counts=counts,
        cost_usd=np.array(by_field["cost_usd"], dtype=np.float64),  # None becomes NaN
        texts=texts,
        placed_rows=np.array(placed_rows, dtype=np.int64),
        placed_commits=np.array(placed_commits, dtype=np.int64),
        invalid=list(invalid),
    )


def _each(values: Sequence[str | None]) -> Text:
    """A text field whose values are (nearly) all different: a label per row, no deduplication."""
    unset = np.fromiter((v is None for v in values), dtype=bool, count=len(values))
    codes = np.where(unset, -1, np.cumsum(~unset) - 1).astype(np.int32)
    return Text(codes, [v for v in values if v is not None])


def _encode(values: Sequence[str | None]) -> Text:
    index: dict[str | None, int] = dict.fromkeys(values, 0)
    index.pop(None, None)
    for code, label in enumerate(index):
        index[label] = code
    index[None] = -1
    codes = np.fromiter(map(index.__getitem__, values), dtype=np.int32, count=len(values))
    del index[None]
    return Text(codes, list(index))  # type: ignore[arg-type]


# -- the cache ---------------------------------------------------------------------------------------


def load(repo: Repo, *, use_cache: bool = True) -> Columns:
    """The columns of the ledger at its current tip: from the cache; else the cache carried forward over
    what was added since; else built from the ledger. What it returns is cached."""
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
    columns = from_ledger(load_ledger(repo, use_cache=use_cache))
    if use_cache:
        _write(repo, columns)
    return columns


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
        if name in _UNIQUE:  # a label per row: append
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


def record(columns: Columns, row: int) -> Record:
    """The record of one row, rebuilt (for the few rows priced one at a time)."""
    counts = columns.counts[row].tolist()
    cost = float(columns.cost_usd[row])
    text = {name: columns.text(name, row) for name in TEXTS[:-1]}
    return Record(
        id=text.pop("id") or "",  # type: ignore[arg-type]
        ts=columns.timestamp(row),
        source=text.pop("source") or "manual",
        input_tokens=counts[INPUT],
        output_tokens=counts[OUTPUT],
        cache_read_tokens=counts[CACHE_READ],
        cache_write_tokens=counts[CACHE_WRITE],
        reasoning_tokens=counts[REASONING],
        total_tokens=None if counts[TOTAL_ONLY] < 0 else counts[TOTAL_ONLY],
        cost_usd=None if np.isnan(cost) else cost,
        **text,  # type: ignore[arg-type]
    )

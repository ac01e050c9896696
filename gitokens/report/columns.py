"""The records in effect as columns: what a report reads instead of 300,000 ``Record`` objects.

A report needs a handful of numbers and a few keys per record, summed many ways. Built from a loaded
``Ledger`` in one pass, each text field becomes an array of codes into its distinct values, each count
an int64 column, the timestamp milliseconds since the epoch. ``columncache`` keeps them between reports.

Only the ledger's facts are in the columns: prices, the time zone, the commit graph and the authors of
commits (for records without one) are applied by ``report.py`` on every run.
"""

from __future__ import annotations

import contextlib
import dataclasses
import gc
import io
import itertools
import os
import pickle
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import numpy as np

from gitokens.ledger.record import SPLIT_FIELDS, Record, format_timestamp
from gitokens.ledger.store import Entry, InvalidLine, Ledger, Row, Rows, Table

# Text fields, in the order they are stored; "attached" is the commit whose note holds the record now.
TEXTS = ("id", "branch", "author", "model", "provider", "endpoint", "source", "session", "note", "commit", "attached")
# Count columns; TOTAL_ONLY is the total of a record whose split is unknown, -1 for the others; REQUESTS is
# 0 where a record does not say how many API calls it covers.
COUNTS = (*SPLIT_FIELDS, "total_tokens", "cache_write_1h_tokens", "requests")
INPUT, OUTPUT, CACHE_READ, CACHE_WRITE, REASONING, TOTAL_ONLY, CACHE_WRITE_1H, REQUESTS = range(len(COUNTS))
# Fields not worth deduplicating: a label per record. (Sessions are deduplicated: reports count them by code.)
UNIQUE = ("id", "note")
# Text fields of a few dozen values each, coded together; the others, coded one by one.
_FEW = ("branch", "author", "model", "provider", "endpoint", "source")
_MANY = tuple(name for name in TEXTS[:-1] if name not in _FEW)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_FIELDS = {f.name: i for i, f in enumerate(dataclasses.fields(Record))}  # where each is in Record.values()
_TARGET = _FIELDS["target"]
_T = TypeVar("_T")


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
        labels = self.labels
        # Labels joined by newlines, where none holds one (ids and commits never do): each label's end is
        # found in the joined bytes (UTF-8 has no newline byte inside a character), and 300,000 labels
        # spread over the heap are visited once, not once more for their lengths.
        joined = "\n".join(labels).encode("utf-8")
        if joined.count(b"\n") == len(labels) - 1:
            ends = np.flatnonzero(np.frombuffer(joined, dtype=np.uint8) == 10)
            ends -= np.arange(len(ends))
            return joined.replace(b"\n", b""), np.append(ends, len(joined) - len(ends)).astype(np.int64)
        encoded = [label.encode("utf-8") for label in labels]
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


def distinct(values: np.ndarray) -> np.ndarray:
    """``np.unique(values)`` of integers, without its first call importing ``numpy.ma`` (~18 ms a report)."""
    ordered = np.sort(values)
    return ordered[np.r_[True, ordered[1:] != ordered[:-1]]] if len(ordered) else ordered


def ts_text(ms: int) -> str:
    return format_timestamp(_EPOCH + timedelta(milliseconds=ms))


def ts_ms(text: str) -> int:
    """Milliseconds since the epoch of a canonical timestamp."""
    moment = datetime.fromisoformat(text[:-1]).replace(tzinfo=UTC)
    return (moment - _EPOCH) // timedelta(milliseconds=1)


def from_ledger(ledger: Ledger) -> Columns:
    """The columns of a loaded ledger (one pass over its records in effect)."""
    columns = from_entries(ledger.tip, list(ledger.entries.values()), ledger.invalid)
    columns.removed = {t.record.target for t in ledger.tombstones if t.record.target is not None}
    return columns


def from_rows(rows: Rows, beside: Callable[[Rows], object] | None = None) -> Columns:
    """The columns of the ledger as ``store.load_rows`` reads it, without a ``Record`` per row. A large
    ledger's rows are split in two: the later part built in a forked process while this one builds the
    first, and the parts joined as if built in one pass. ``beside``, when given, is run on the rows in that
    process first (work the report needs next: this process's part is larger by as much)."""
    usage = rows.usage
    collecting = gc.isenabled()
    gc.disable()  # hundreds of thousands of small objects and no cycles: the collector would only rescan them
    try:
        share = _SHARE if beside is None else _SHARE_BESIDE
        cut = int(len(usage) * share) if len(usage) >= _SPLIT_FROM and _cores() > 1 else len(usage)
        later = _in_child(_rows_part, usage, cut, len(usage), rows, beside) if cut < len(usage) else None
        parts = [_rows_part(usage, 0, cut)]
        if cut < len(usage):  # the other process's part, or when it gave none, this one's
            part = later() if later is not None else None
            parts.append(part if part is not None else _rows_part(usage, cut, len(usage)))
        columns = _join(rows.tip, parts, rows.invalid)
    finally:
        if collecting:
            gc.enable()
    columns.removed = {row[0][_TARGET] for row in rows.tombstones if row[0][_TARGET] is not None}
    return columns


def from_table(table: Table, beside: Callable[[Table], object] | None = None) -> Columns:
    """The columns of the ledger as ``store.load_table`` reads it: ``from_rows``' columns, from lists of
    values instead of a row per record (split between two processes the same way)."""
    count = len(table.attached)
    collecting = gc.isenabled()
    gc.disable()
    try:
        share = _SHARE if beside is None else _SHARE_BESIDE
        cut = int(count * share) if count >= _SPLIT_FROM and _cores() > 1 else count
        later = _in_child(_table_part, table, cut, count, beside) if cut < count else None
        parts = [_table_part(table, 0, cut)]
        if cut < count:
            part = later() if later is not None else None
            parts.append(part if part is not None else _table_part(table, cut, count))
        columns = _join(table.tip, parts, table.invalid)
    finally:
        if collecting:
            gc.enable()
    columns.removed = set(table.removed)
    return columns


def from_entries(tip: str | None, entries: Sequence[Entry], invalid: list[InvalidLine]) -> Columns:
    records = [e.record for e in entries]
    by_field = {name: [getattr(r, name) for r in records] for name in _READ}
    collecting = gc.isenabled()
    gc.disable()
    try:
        return _join(tip, [_part(by_field, _placed(entries), [e.attached for e in entries])], invalid)
    finally:
        if collecting:
            gc.enable()


# The record fields the columns hold.
_READ = ("ts", *COUNTS, "cost_usd", *TEXTS[:-1])
_SPLIT_FROM = 40_000  # rows worth building in two processes (a fork and the transfer cost ~0.1 s)
# This process's share of the rows: the forked one also sends its part (~0.1 s for 150,000 rows), and
# what runs beside its part takes 0.3-0.6 s (genai-prices' import and lookups, the templates compiled).
_SHARE, _SHARE_BESIDE = 0.55, 0.7


@dataclass
class _Part:
    """The columns of consecutive rows, each text field coded into the part's own labels, and the rows
    whose copies sit on several commits (with those commits) not yet coded."""

    ts: np.ndarray
    counts: np.ndarray
    cost_usd: np.ndarray
    texts: dict[str, Text]
    placed: list[tuple[int, tuple[str, ...]]]


def _rows_part(
    usage: list[Row], start: int, end: int, rows: Rows | None = None, beside: Callable[[Rows], object] | None = None
) -> _Part:
    """The part of ``usage[start:end]``, after ``beside(rows)`` (whose failure only loses its work)."""
    if beside is not None and rows is not None:
        with contextlib.suppress(Exception):
            beside(rows)
    chunk = usage[start:end]
    every = zip(*(row[0] for row in chunk), strict=True) if chunk else ((),) * len(_FIELDS)
    by_field = dict(zip(_FIELDS, every, strict=True))
    return _part(by_field, _placed(chunk), [row[1] for row in chunk])


def _table_part(table: Table, start: int, end: int, beside: Callable[[Table], object] | None = None) -> _Part:
    """The part of the table's rows ``start:end``, after ``beside(table)`` (whose failure only loses its work)."""
    if beside is not None:
        with contextlib.suppress(Exception):
            beside(table)
    by_field = {name: column[start:end] for name, column in zip(_FIELDS, table.fields, strict=True)}
    placed = [(row - start, commits) for row, commits in table.placed if start <= row < end]
    return _part(by_field, placed, table.attached[start:end])


def _placed(rows: Sequence[Row] | Sequence[Entry]) -> list[tuple[int, tuple[str, ...]]]:
    """The rows whose copies sit on several commits, with those commits."""
    return [(at, row[2]) for at, row in enumerate(rows) if len(row[2]) > 1]


def _part(
    by_field: Mapping[str, Sequence[Any]], placed: list[tuple[int, tuple[str, ...]]], attached_to: list[str]
) -> _Part:
    """The columns of records given field by field (``by_field``, at least the ``_READ`` fields), with the
    commit holding each (``attached_to``) and, for the rows copied onto several commits, those commits."""
    n = len(attached_to)
    stamps = np.array([ts[:-1] for ts in by_field["ts"]], dtype="datetime64[ms]").astype(np.int64)
    counts = np.empty((n, len(COUNTS)), dtype=np.int64)
    for c, name in enumerate(COUNTS):
        if c == TOTAL_ONLY:
            counts[:, c] = np.fromiter((-1 if t is None else t for t in by_field[name]), np.int64, n)
        elif c == REQUESTS:
            counts[:, c] = np.fromiter((t or 0 for t in by_field[name]), np.int64, n)
        else:
            counts[:, c] = by_field[name]
    texts = dict(zip(_FEW, _encode_together([by_field[name] for name in _FEW]), strict=True))
    texts.update((name, _each(by_field[name]) if name in UNIQUE else _encode(by_field[name])) for name in _MANY)
    texts["attached"] = _encode(attached_to)
    return _Part(
        ts=stamps,
        counts=counts,
        cost_usd=np.array(by_field["cost_usd"], dtype=np.float64),  # None becomes NaN
        texts=texts,
        placed=placed,
    )


def _join(tip: str | None, parts: list[_Part], invalid: list[InvalidLine]) -> Columns:
    """The columns of the parts' rows in turn: the same arrays and labels, in the same order, as one part of
    all the rows (labels in the order first met; the commits of copies coded after every "attached")."""
    texts = {name: _joined([part.texts[name] for part in parts], name in UNIQUE) for name in TEXTS}
    labels = list(texts["attached"].labels)
    copied = {commit for part in parts for _, commits in part.placed for commit in commits}
    index = {label: code for code, label in enumerate(labels) if label in copied}  # of those copies' commits
    placed_rows, placed_commits = [], []
    start = 0
    for part in parts:
        for row, commits in part.placed:
            for commit in commits:
                code = index.get(commit)
                if code is None:
                    code = index[commit] = len(labels)
                    labels.append(commit)
                placed_rows.append(start + row)
                placed_commits.append(code)
        start += len(part.ts)
    texts["attached"] = Text(texts["attached"].codes, labels)
    return Columns(
        tip=tip,
        ts=_stacked([part.ts for part in parts]),
        counts=_stacked([part.counts for part in parts]),
        cost_usd=_stacked([part.cost_usd for part in parts]),
        texts=texts,
        placed_rows=np.array(placed_rows, dtype=np.int64),
        placed_commits=np.array(placed_commits, dtype=np.int64),
        invalid=list(invalid),
    )


def _stacked(arrays: list[np.ndarray]) -> np.ndarray:
    return arrays[0] if len(arrays) == 1 else np.concatenate(arrays)


def _joined(texts: list[Text], unique: bool) -> Text:
    """One text field of parts in turn, labels in the order first met: a label per row appended (``unique``),
    and for the others each part's labels coded into those before it, new ones appended. Parts of a ledger
    in its order share few commits or sessions: labels met in no part before are appended without a dict
    of the 100,000 before them."""
    if len(texts) == 1:
        return texts[0]
    labels = list(texts[0].labels)
    codes = [texts[0].codes]
    for text in texts[1:]:
        shared = set() if unique else set(labels).intersection(text.labels)
        if not shared:
            codes.append(np.where(text.codes >= 0, text.codes + len(labels), -1).astype(np.int32))
            labels += text.labels
            continue
        known = {label: code for code, label in enumerate(labels) if label in shared}
        remap = []
        for label in text.labels:
            code = known.get(label)
            if code is None:
                code = len(labels)
                labels.append(label)
            remap.append(code)
        codes.append(np.array([*remap, -1], dtype=np.int32)[text.codes])
    return Text(np.concatenate(codes), labels)


def _cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 1


def _in_child(work: Callable[..., _T], *args: Any) -> Callable[[], _T | None] | None:
    """``work(*args)`` run in a forked process (Linux; None elsewhere); a function that waits for its
    result, None when the process could not give one (the caller does the work itself)."""
    if sys.platform != "linux":
        return None
    import multiprocessing  # only for a large ledger

    context = multiprocessing.get_context("fork")
    receiver, sender = context.Pipe(duplex=False)
    process = context.Process(target=_send, args=(sender, work, *args), daemon=True)
    try:
        process.start()
    except (OSError, AssertionError):  # no process to be had (a daemonic process has none): the caller works
        receiver.close()
        return None
    finally:
        sender.close()

    def result() -> _T | None:
        try:
            value: _T | None = pickle.loads(receiver.recv_bytes())
        except (EOFError, OSError, pickle.UnpicklingError):
            value = None
        receiver.close()
        process.join()
        return value

    return result


def _send(sender: Any, work: Callable[..., Any], *args: Any) -> None:
    try:
        value = work(*args)
    except Exception:  # the parent does the work itself
        return
    # Pickled without a memo: the labels are 300,000 distinct strings, which a memo only slows (by 2.5x).
    buffer = io.BytesIO()
    pickler = pickle.Pickler(buffer, protocol=pickle.HIGHEST_PROTOCOL)
    pickler.fast = True
    pickler.dump(value)
    sender.send_bytes(buffer.getbuffer())
    sender.close()


def _each(values: Sequence[str | None]) -> Text:
    """A text field whose values are (nearly) all different: a label per row, no deduplication."""
    labels = [v for v in values if v is not None]
    if len(labels) == len(values):  # every id, and notes when each record has one
        return Text(np.arange(len(labels), dtype=np.int32), labels)
    unset = np.fromiter((v is None for v in values), dtype=bool, count=len(values))
    codes = np.where(unset, -1, np.cumsum(~unset) - 1).astype(np.int32)
    return Text(codes, labels)


def _encode_together(fields: list[Sequence[str | None]]) -> list[Text]:
    """``_encode`` of each of ``fields``, for fields of a few dozen values each: the rows' combinations of
    values coded in one pass, then each field's codes taken from the few combinations (a value's first row
    is the first row of the first combination holding it, so its labels come in the same order)."""
    together = _encode(list(zip(*fields, strict=True)))  # type: ignore[arg-type]
    texts = []
    for at in range(len(fields)):
        index: dict[str, int] = {}
        coded = [-1 if combo[at] is None else index.setdefault(combo[at], len(index)) for combo in together.labels]
        texts.append(Text(np.array(coded, dtype=np.int32)[together.codes], list(index)))
    return texts


def _encode(values: Sequence[str | None]) -> Text:
    index: dict[str | None, int] = dict.fromkeys(values, 0)
    index.pop(None, None)
    for code, label in enumerate(index):
        index[label] = code
    index[None] = -1
    codes = np.fromiter(map(index.__getitem__, values), dtype=np.int32, count=len(values))
    del index[None]
    return Text(codes, list(index))  # type: ignore[arg-type]


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
        cache_write_1h_tokens=counts[CACHE_WRITE_1H],
        requests=counts[REQUESTS] or None,
        total_tokens=None if counts[TOTAL_ONLY] < 0 else counts[TOTAL_ONLY],
        cost_usd=None if np.isnan(cost) else cost,
        **text,  # type: ignore[arg-type]
    )

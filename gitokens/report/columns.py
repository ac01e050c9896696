"""The records in effect as columns: what a report reads instead of 300,000 ``Record`` objects.

A report needs a handful of numbers and a few keys per record, summed many ways. Built from a loaded
``Ledger`` in one pass, each text field becomes an array of codes into its distinct values, each count
an int64 column, the timestamp milliseconds since the epoch. ``columncache`` keeps them between reports.

Only the ledger's facts are in the columns: prices, the time zone, the commit graph and the authors of
commits (for records without one) are applied by ``report.py`` on every run.
"""

from __future__ import annotations

import dataclasses
import gc
import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np

from gitokens.ledger.record import SPLIT_FIELDS, Record, format_timestamp
from gitokens.ledger.store import Entry, InvalidLine, Ledger, Row, Rows

# Text fields, in the order they are stored; "attached" is the commit whose note holds the record now.
TEXTS = ("id", "branch", "author", "model", "provider", "endpoint", "source", "session", "note", "commit", "attached")
# Count columns; TOTAL_ONLY is the total of a record whose split is unknown, -1 for the others; REQUESTS is
# 0 where a record does not say how many API calls it covers.
COUNTS = (*SPLIT_FIELDS, "total_tokens", "cache_write_1h_tokens", "requests")
INPUT, OUTPUT, CACHE_READ, CACHE_WRITE, REASONING, TOTAL_ONLY, CACHE_WRITE_1H, REQUESTS = range(len(COUNTS))
# Fields not worth deduplicating: a label per record. (Sessions are deduplicated: reports count them by code.)
UNIQUE = ("id", "note")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_FIELDS = {f.name: i for i, f in enumerate(dataclasses.fields(Record))}  # where each is in Record.values()
_TARGET = _FIELDS["target"]


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


def from_rows(rows: Rows) -> Columns:
    """The columns of the ledger as ``store.load_rows`` reads it, without a ``Record`` per row."""
    usage = rows.usage
    every = zip(*(row[0] for row in usage), strict=True) if usage else ((),) * len(_FIELDS)
    by_field = dict(zip(_FIELDS, every, strict=True))
    columns = _build(rows.tip, by_field, usage, [row[1] for row in usage], rows.invalid)
    columns.removed = {row[0][_TARGET] for row in rows.tombstones if row[0][_TARGET] is not None}
    return columns


def from_entries(tip: str | None, entries: Sequence[Entry], invalid: list[InvalidLine]) -> Columns:
    records = [e.record for e in entries]
    by_field = {name: [getattr(r, name) for r in records] for name in _READ}
    return _build(tip, by_field, entries, [e.attached for e in entries], invalid)


# The record fields the columns hold.
_READ = ("ts", *COUNTS, "cost_usd", *TEXTS[:-1])


def _build(
    tip: str | None,
    by_field: Mapping[str, Sequence[Any]],
    placed: Sequence[Row] | Sequence[Entry],
    attached: list[str],
    invalid: list[InvalidLine],
) -> Columns:
    """The columns of records given field by field (``by_field``, at least the ``_READ`` fields), with the
    commit holding each (``attached``) and every commit holding a copy (``placed[i][2]``)."""
    # Hundreds of thousands of small objects and no cycles: the cyclic collector would only rescan them.
    collecting = gc.isenabled()
    gc.disable()
    try:
        return _columns(tip, by_field, placed, attached, invalid)
    finally:
        if collecting:
            gc.enable()


def _columns(
    tip: str | None,
    by_field: Mapping[str, Sequence[Any]],
    placed: Sequence[Row] | Sequence[Entry],
    attached_to: list[str],
    invalid: list[InvalidLine],
) -> Columns:
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
    texts = {name: (_each if name in UNIQUE else _encode)(by_field[name]) for name in TEXTS[:-1]}
    attached = _encode(attached_to)
    index = {label: code for code, label in enumerate(attached.labels)}
    placed_rows, placed_commits = [], []
    for row, entry in enumerate(placed):
        if len(entry[2]) > 1:
            for commit in entry[2]:
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
    labels = [v for v in values if v is not None]
    if len(labels) == len(values):  # every id, and notes when each record has one
        return Text(np.arange(len(labels), dtype=np.int32), labels)
    unset = np.fromiter((v is None for v in values), dtype=bool, count=len(values))
    codes = np.where(unset, -1, np.cumsum(~unset) - 1).astype(np.int32)
    return Text(codes, labels)


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

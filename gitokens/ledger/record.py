"""The Record: one usage event or session, its validation and its canonical JSON line.

A record is immutable once written. The ledger stores one canonical line per record
(``json.dumps(..., sort_keys=True, separators=(",", ":"), ensure_ascii=False)``); every field is
checked here, in ``Record.from_dict``, the one place a record is built from outside data.
"""

from __future__ import annotations

import dataclasses
import json
import math
import re
from datetime import UTC, datetime
from typing import Any, NewType

import orjson

from gitokens.errors import InvalidRecord
from gitokens.ledger import canonical
from gitokens.ledger.canonical import MAX_LINE as MAX_LINE
from gitokens.ledger.canonical import MAX_TOKENS as MAX_TOKENS
from gitokens.ledger.canonical import SCHEMA_VERSION as SCHEMA_VERSION
from gitokens.ledger.canonical import TS_WINDOW as TS_WINDOW

RecordId = NewType("RecordId", str)

SOURCES = ("manual", "hook", "claude-code", "codex", "ci", "import", "api")
SPLIT_FIELDS = (
    "input_tokens",
    "output_tokens",
    "cache_read_tokens",
    "cache_write_tokens",
    "reasoning_tokens",
)
_TEXT_FIELDS = ("branch", "author", "model", "provider", "endpoint", "session", "note")
_ID_RE = re.compile(canonical.ID_PATTERN)
_SOURCE_RE = re.compile(canonical.SOURCE_PATTERN)
_CANONICAL_TS = re.compile(canonical.CANONICAL_TS_PATTERN)
_COMMIT_RE = re.compile(canonical.COMMIT_PATTERN)
_SURROGATE = re.compile("[\ud800-\udfff]")
MAX_DEPTH = 8  # a record is one flat object; room for a field holding a small structure, reported by name
_MAX_MESSAGE = 300


def new_id() -> RecordId:
    """A random 128-bit id, for records whose source has no stable key."""
    import secrets  # here: imports hashlib, which loads OpenSSL (a capture's records need neither)

    return RecordId(secrets.token_hex(16))


def content_id(data: dict[str, Any]) -> RecordId:
    """A deterministic id derived from a record's content (for lines written without one)."""
    import hashlib  # here: loads OpenSSL, which records with ids do without

    body = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return RecordId(hashlib.sha256(body.encode("utf-8", "surrogatepass")).hexdigest()[:32])


def parse_timestamp(value: object, field: str = "ts") -> datetime:
    """Parse an ISO-8601 timestamp (``Z`` or an offset; naive means UTC) into an aware UTC datetime."""
    if not isinstance(value, str) or not value.strip():
        raise InvalidRecord(f"{field}: expected an ISO-8601 timestamp, got {value!r}")
    text = value.strip()
    if text.endswith("z"):
        text = text[:-1] + "Z"
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise InvalidRecord(
            f"{field}: {value!r} is not an ISO-8601 timestamp",
            hint="write it like 2025-09-29T14:03:00Z",
        ) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    try:
        return parsed.astimezone(UTC)
    except OverflowError:
        raise InvalidRecord(
            f"{field}: {value!r} is out of range: in UTC it is before year 1 or after 9999",
            hint="write it like 2025-09-29T14:03:00Z",
        ) from None


def format_timestamp(moment: datetime) -> str:
    """The canonical form: UTC, ``Z``, a four-digit year, milliseconds only when there are any."""
    moment = moment.astimezone(UTC)
    text = moment.replace(tzinfo=None, microsecond=0).isoformat()
    if moment.microsecond:
        text += f".{moment.microsecond // 1000:03d}"
    return text + "Z"


def _canonical_ts(value: object) -> str:
    # Ledger lines are canonical already: check those with a regex and a cheap parse, skip the reformat.
    if isinstance(value, str) and _CANONICAL_TS.match(value):
        try:
            datetime.fromisoformat(value[:-1])
            return value
        except ValueError:
            pass
    return format_timestamp(parse_timestamp(value))


def _count(data: dict[str, Any], field: str) -> int:
    value = data.get(field, 0)
    if value is None:
        return 0
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidRecord(f"{field}: expected a whole number of tokens, got {value!r}")
    if value < 0:
        raise InvalidRecord(f"{field}: token counts cannot be negative, got {value}")
    if value > MAX_TOKENS:
        raise InvalidRecord(f"{field}: {value} tokens is more than 10^12; is that a typo?")
    return value


def _text(data: dict[str, Any], field: str) -> str | None:
    value = data.get(field)
    if value is None:
        return None
    if not isinstance(value, str):
        raise InvalidRecord(f"{field}: expected text, got {value!r}")
    if field in ("model", "provider", "author") and not value.strip():
        raise InvalidRecord(f"{field}: cannot be empty", hint=f"leave {field} out instead")
    return value


@dataclasses.dataclass(frozen=True)
class Record:
    """One usage event (``kind == "usage"``) or the removal of one (``kind == "tombstone"``)."""

    id: RecordId
    ts: str
    source: str = "manual"
    kind: str = "usage"
    commit: str | None = None
    branch: str | None = None
    author: str | None = None
    model: str | None = None
    provider: str | None = None
    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    reasoning_tokens: int = 0
    cache_write_1h_tokens: int = 0
    requests: int | None = None
    total_tokens: int | None = None
    endpoint: str | None = None
    session: str | None = None
    note: str | None = None
    cost_usd: float | None = None
    target: RecordId | None = None
    v: int = SCHEMA_VERSION

    @property
    def tokens(self) -> int:
        """Total tokens: input + output + cache reads + cache writes, or the total when only it is known."""
        if self.total_tokens is not None:
            return self.total_tokens
        return self.input_tokens + self.output_tokens + self.cache_read_tokens + self.cache_write_tokens

    @property
    def split_known(self) -> bool:
        return self.total_tokens is None

    @property
    def cache_tokens(self) -> int:
        return self.cache_read_tokens + self.cache_write_tokens

    @property
    def when(self) -> datetime:
        return parse_timestamp(self.ts)

    @classmethod
    def from_dict(cls, data: dict[str, Any], *, commit: str | None = None) -> Record:
        """Build a record from parsed JSON, checking every field; ``commit`` fills a missing one."""
        return cls.from_values(checked_values(data, commit))

    @classmethod
    def from_line(cls, line: str, *, commit: str | None = None) -> Record:
        """Parse one ledger line; raises InvalidRecord for anything that is not a valid record."""
        return cls.from_values(line_values(line, commit))

    def values(self) -> tuple[Any, ...]:
        """The fields in declaration order: a compact form for caches (``from_values`` reverses it)."""
        return tuple(self.__dict__[name] for name in _FIELD_NAMES)

    @classmethod
    def from_values(cls, values: tuple[Any, ...]) -> Record:
        """A record from ``values()`` of one that was validated before; skips validation (cache loads)."""
        record = object.__new__(cls)
        record.__dict__.update(zip(_FIELD_NAMES, values, strict=True))
        return record

    def to_dict(self) -> dict[str, Any]:
        """The record as stored: optional fields that are unset are left out; ``branch`` is kept (null = detached)."""
        out: dict[str, Any] = {"v": self.v, "id": self.id, "ts": self.ts, "source": self.source}
        if self.kind != "usage":
            out["kind"] = self.kind
            out["target"] = self.target
        out["commit"] = self.commit
        out["branch"] = self.branch
        for field in ("author", "model", "provider", "endpoint", "session", "note", "cost_usd"):
            value = getattr(self, field)
            if value is not None:
                out[field] = value
        if self.kind == "usage":
            if self.total_tokens is not None:
                out["total_tokens"] = self.total_tokens
            else:
                for field in SPLIT_FIELDS:
                    out[field] = getattr(self, field)
                if self.cache_write_1h_tokens:
                    out["cache_write_1h_tokens"] = self.cache_write_1h_tokens
            if self.requests is not None:
                out["requests"] = self.requests
        return out

    def to_line(self) -> str:
        """The canonical JSON line of this record."""
        return json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"), ensure_ascii=False)

    def replace(self, **changes: Any) -> Record:
        """A copy with some fields changed, validated again."""
        data = self.to_dict()
        data.update(changes)
        return Record.from_dict(data)


_FIELD_NAMES = tuple(f.name for f in dataclasses.fields(Record))
_NOT_EMPTY = frozenset({"model", "provider", "author"})
_CHECKED: dict[str, set[str]] = {"source": set(), "commit": set()}  # values already found valid (bounded)
_TS_AT = _FIELD_NAMES.index("ts")


def checked_values(data: Any, commit: str | None = None) -> tuple[Any, ...]:
    """A record's fields, in ``Record.values()`` order, from parsed JSON, every one checked.

    The one place outside data becomes a record: a ledger of 300,000 lines passes through here, so the
    common case (a canonical line) is checked inline and the error messages come from the slow helpers.
    """
    if not isinstance(data, dict):
        raise InvalidRecord(f"record: expected a JSON object, got {type(data).__name__}")
    get = data.get
    version = get("v", SCHEMA_VERSION)
    if version != SCHEMA_VERSION:
        raise InvalidRecord(
            f"v: schema version {version!r} is not supported",
            hint="upgrade gitokens to read records written by a newer version",
        )
    kind = get("kind", "usage")
    if kind not in ("usage", "tombstone"):
        raise InvalidRecord(f"kind: expected 'usage' or 'tombstone', got {kind!r}")
    record_id = get("id")
    if record_id is None:
        record_id = content_id(data)
    if not isinstance(record_id, str) or not _ID_RE.match(record_id):
        raise InvalidRecord(f"id: expected up to 200 printable characters without spaces, got {record_id!r}")
    ts = _canonical_ts(get("ts"))
    source = get("source", "manual")
    if type(source) is not str or source not in _CHECKED["source"]:
        if not isinstance(source, str) or not _SOURCE_RE.match(source):
            raise InvalidRecord(f"source: {source!r} is not a source name", hint=f"one of {', '.join(SOURCES)}")
        _remember("source", source)
    record_commit = get("commit", commit)
    if record_commit is not None and (type(record_commit) is not str or record_commit not in _CHECKED["commit"]):
        if not isinstance(record_commit, str) or not _COMMIT_RE.match(record_commit):
            raise InvalidRecord(f"commit: expected a full commit id, got {record_commit!r}")
        _remember("commit", record_commit)
    texts = []
    for name in _TEXT_FIELDS:
        value = get(name)
        if value is not None and (type(value) is not str or (name in _NOT_EMPTY and not value.strip())):
            value = _text(data, name)  # raises, naming the field
        elif value is not None and not value.isascii():
            value = _SURROGATE.sub("\ufffd", value)  # a lone surrogate cannot be printed or encoded
        texts.append(value)
    branch, author, model, provider, endpoint, session, note = texts
    counts = []
    for name in SPLIT_FIELDS:
        value = get(name, 0)
        if value is None:
            value = 0
        elif type(value) is not int or not 0 <= value <= MAX_TOKENS:
            value = _count(data, name)  # raises, naming the field
        counts.append(value)
    inp, out, cache_read, cache_write, reasoning = counts
    total = get("total_tokens")
    if total is not None:
        total = _count(data, "total_tokens")
        if any(counts):
            # A record that has the split too: the split is the truth, the total is derived.
            total = None
    if reasoning > out and total is None and kind == "usage":
        raise InvalidRecord(
            f"reasoning_tokens: {reasoning} is more than output_tokens ({out}); reasoning is a part of the output"
        )
    write_1h = get("cache_write_1h_tokens", 0)
    if write_1h:
        write_1h = _count(data, "cache_write_1h_tokens")
        if write_1h > cache_write:
            raise InvalidRecord(
                f"cache_write_1h_tokens: {write_1h} is more than cache_write_tokens ({cache_write}); "
                "1-hour cache writes are a part of the cache writes"
            )
    else:
        write_1h = 0
    requests = get("requests")
    if requests is not None and (type(requests) is not int or not 1 <= requests <= MAX_TOKENS):
        raise InvalidRecord(f"requests: expected a whole number of API calls, at least 1, got {requests!r}")
    cost = get("cost_usd")
    if cost is not None:
        if isinstance(cost, bool) or not isinstance(cost, (int, float)) or not math.isfinite(cost) or cost < 0:
            raise InvalidRecord(f"cost_usd: expected a non-negative number of dollars, got {cost!r}")
        cost = float(cost)
    target = get("target")
    if kind == "tombstone":
        if not isinstance(target, str) or not _ID_RE.match(target):
            raise InvalidRecord(f"target: a tombstone names the id it removes, got {target!r}")
    elif target is not None:
        raise InvalidRecord("target: only a tombstone has a target")
    # The order of _FIELD_NAMES.
    return (
        record_id, ts, source, kind, record_commit, branch, author, model, provider,
        inp, out, cache_read, cache_write, reasoning, write_1h, requests, total, endpoint, session, note, cost, target,
        SCHEMA_VERSION,
    )  # fmt: skip


def line_values(line: str | bytes, commit: str | None = None) -> tuple[Any, ...]:
    """``checked_values`` of one ledger line; raises InvalidRecord, and nothing else, for any bytes.

    A line over ``MAX_LINE`` bytes or nested deeper than ``MAX_DEPTH`` is refused before it is parsed, and
    a record whose time lies outside ``TS_WINDOW`` (UTC years) is refused, so every later conversion to
    local time, in any zone, stays in range.
    """
    size = len(line) if isinstance(line, bytes) or len(line) * 4 <= MAX_LINE else len(line.encode("utf-8", "replace"))
    if size > MAX_LINE:
        raise InvalidRecord(f"line: {size:,} bytes is more than the {MAX_LINE:,} a record may take")
    values = canonical.values(line)
    if values is not None:
        return values
    values = _full_values(line, commit)
    year = int(values[_TS_AT][:4]) if values[_TS_AT][:4].isdigit() else 0
    if not TS_WINDOW[0] <= year <= TS_WINDOW[1]:
        raise InvalidRecord(f"ts: {values[_TS_AT]!r} is outside the years {TS_WINDOW[0]}-{TS_WINDOW[1]}")
    return values


def _full_values(line: str | bytes, commit: str | None) -> tuple[Any, ...]:
    """``checked_values`` of a line the fast reader left undecided, every failure worded as InvalidRecord."""
    try:
        return checked_values(parse_json(line), commit)
    except InvalidRecord as exc:
        if len(exc.message) <= _MAX_MESSAGE:
            raise
        raise InvalidRecord(exc.message[: _MAX_MESSAGE - 1] + "…", exc.hint) from None
    except json.JSONDecodeError as exc:
        raise InvalidRecord(f"not JSON: {exc.msg} at column {exc.colno}") from None
    except UnicodeError:
        raise InvalidRecord("not UTF-8 text") from None
    except OverflowError as exc:
        raise InvalidRecord(f"a value is out of range: {exc}") from None
    except Exception as exc:  # hostile bytes: whatever the parser trips on, the line is invalid
        raise InvalidRecord(f"not a record: {type(exc).__name__}: {str(exc)[:200]}") from None


def parse_json(text: str | bytes) -> Any:
    """``json.loads``, 3x faster: orjson parses, and where it refuses what the standard library reads
    (NaN, integers beyond 64 bits, lone surrogates) or fails, ``json`` decides and words the error.

    Nesting deeper than ``MAX_DEPTH`` is an error before either parser sees it.
    """
    opening = text.count(b"[") + text.count(b"{") if isinstance(text, bytes) else text.count("[") + text.count("{")
    if opening > MAX_DEPTH and _depth(text if isinstance(text, str) else text.decode("utf-8", "replace")) > MAX_DEPTH:
        raise InvalidRecord(f"record: nested deeper than {MAX_DEPTH} levels")
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return json.loads(text)


def _depth(text: str) -> int:
    deepest = depth = 0
    quoted = escaped = False
    for char in text:
        if quoted:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                quoted = False
        elif char == '"':
            quoted = True
        elif char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "]}":
            depth -= 1
    return deepest


def _remember(kind: str, value: str) -> None:
    seen = _CHECKED[kind]
    if len(seen) > 4096:
        seen.clear()
    seen.add(value)

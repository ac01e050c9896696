"""What every agent reader shares: the call it returns, the reading it hands back, and the safe ways to open
an agent's files (JSONL read from a saved offset, a JSON file re-read when it changed, SQLite read-only).

A reader never raises on what it reads: a line that is not the agent's, a table that is missing, a database
locked or being written become a count of malformed lines or a one-line warning in the ``Reading``.
"""

from __future__ import annotations

import json
import math
import os
import sqlite3
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from json.encoder import c_make_encoder, encode_basestring_ascii  # type: ignore[attr-defined]
from pathlib import Path
from typing import Any, NamedTuple

import msgspec

from gitokens.capture.model import EARLIEST, Message, digester, started

MAX_LINE = 8 << 20  # a line past this is no agent's usage record
MAX_JSON = 64 << 20  # a whole-file JSON log past this is not read
MAX_COUNT = 10**12  # a token count past this is not a count
MAKE = tuple.__new__  # a named tuple from a plain one, without its generated constructor's keyword handling
Position = dict[str, Any]
"""Where a reader stopped in one file or database, JSON-able so the capture state can keep it."""


class AgentCall(NamedTuple):
    """One model call read from an agent's log, in Anthropic semantics: ``input_tokens`` excludes cache
    reads and writes; ``output_tokens`` includes reasoning; ``reasoning_tokens`` is the part of the output
    that was reasoning. ``cwd`` is None when the log does not say where the session ran (the call cannot be
    attributed); ``provider`` is who served the call when the log says so. ``key`` is 128 bits of the
    call's dedupe key, the same across re-reads and copies of the call."""

    key: bytes
    epoch: float
    source: str
    session: str | None
    cwd: str | None
    branch: str | None
    model: str | None
    provider: str | None
    input_tokens: int
    output_tokens: int
    cache_read_tokens: int
    cache_write_tokens: int
    reasoning_tokens: int
    cost_usd: float | None

    @property
    def tokens(self) -> int:
        return self.input_tokens + self.output_tokens + self.cache_read_tokens + self.cache_write_tokens

    @property
    def ts(self) -> str:
        return iso_ms(self.epoch)

    def to_message(self) -> Message:
        """The call as capture's ``Message`` (the working directory goes to ``worktree`` for a call without a
        branch, so attribution can place it by the work tree, as a Codex call without a branch is)."""
        return MAKE(
            Message,
            (
                self.key,
                self.epoch,
                iso_ms(self.epoch),
                self.source,
                self.session,
                self.model,
                self.branch,
                self.input_tokens,
                self.output_tokens,
                self.cache_read_tokens,
                self.cache_write_tokens,
                self.reasoning_tokens,
                self.cost_usd,
                0,
                None if self.branch else self.cwd,
                self.provider,
            ),
        )


def iso_ms(epoch: float) -> str:
    """``datetime.fromtimestamp(epoch, UTC).isoformat(timespec="milliseconds")`` with ``Z`` for its ``+00:00``,
    written without a datetime: the microseconds rounded half to even as ``fromtimestamp`` rounds them (a
    carry into the next second included), then cut to milliseconds, the date looked up by day."""
    fraction, whole = math.modf(epoch)
    micro, seconds = round(fraction * 1e6), int(whole)
    if micro >= 1_000_000:
        micro, seconds = micro - 1_000_000, seconds + 1
    elif micro < 0:
        micro, seconds = micro + 1_000_000, seconds - 1
    day, second = divmod(seconds, 86_400)
    date = _DATES.get(day)
    if date is None:
        if len(_DATES) >= 4096:
            _DATES.clear()
        date = _DATES[day] = datetime.fromtimestamp(day * 86_400, UTC).strftime("%Y-%m-%dT")
    hour, second = divmod(second, 3600)
    minute, second = divmod(second, 60)
    return f"{date}{hour:02d}:{minute:02d}:{second:02d}.{micro // 1000:03d}Z"


_DATES: dict[int, str] = {}


@dataclass
class Reading:
    """What one read of one log gave: the calls, where to continue from, the lines that were not the
    agent's (by offset or row), and warnings to show (a locked database, a missing table)."""

    calls: list[AgentCall] = field(default_factory=list)
    position: Position = field(default_factory=dict)
    malformed: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


class Agent:
    """One agent's reader. Subclasses set the class attributes and implement ``logs`` and ``read``."""

    name: str = ""  # as ``--agent`` takes it
    source: str = ""  # the ledger record's ``source``
    variable: str | None = None  # the environment variable that moves the logs (the agent's own)
    default: str = ""  # where the logs live by default, for people
    reads: str = ""  # what is read, for people
    unknown: str = ""  # what the logs cannot tell (empty: nothing that matters)
    snapshot: tuple[str, ...] = ()
    """The keys of a position that hold the running totals already counted (a reader that gives the growth
    of a session's totals, not calls): a read from the start keeps them, or the totals would count again."""

    def roots(self, env: Mapping[str, str] | None = None) -> list[Path]:
        """The folders (or files) ``logs`` looks in, after the environment variables: what ``capture
        --list-agents`` shows and what the post-commit hook watches for changes."""
        raise NotImplementedError

    def logs(self, env: Mapping[str, str] | None = None) -> list[Path]:
        """The agent's log files or databases, in the order they are best read."""
        raise NotImplementedError

    def watch(self, env: Mapping[str, str] | None = None) -> list[tuple[Path, bool]]:
        """What the post-commit hook and a capture with nothing new look at for a change, after the environment
        variables: each path, and whether it is looked through all the way down (a folder of logs) or by itself
        (a store, which counts once it appears, or a folder whose entries only matter: one added changes it).
        The roots, all the way down; an agent whose folder holds much besides its usage (its install, caches,
        an old store) names its stores, so that a commit does not walk all of that."""
        return [(root, True) for root in self.roots(env)]

    def restart(self, position: Position | None) -> Position | None:
        """The position to read a log from its start with (``--all-history``, ``--since``): nothing, but for
        the ``snapshot`` of totals already counted."""
        kept = {key: (position or {})[key] for key in self.snapshot if key in (position or {})}
        return kept or None

    def read(self, path: Path, position: Position | None = None) -> Reading:
        """The calls in ``path`` after ``position`` (None: from the start) and the position to save."""
        raise NotImplementedError


# -- helpers ------------------------------------------------------------------------------------------------------


def home_of(env: Mapping[str, str] | None) -> tuple[Mapping[str, str], Path]:
    env = os.environ if env is None else env
    return env, Path(env.get("HOME") or os.path.expanduser("~"))


def setting(env: Mapping[str, str], name: str) -> Path | None:
    """The path an environment variable names, ``~`` expanded; None when unset or blank."""
    value = env.get(name, "").strip()
    return Path(os.path.expanduser(value)) if value else None


def xdg_data(env: Mapping[str, str], home: Path) -> Path:
    value = env.get("XDG_DATA_HOME", "").strip()
    return Path(value) if value and os.path.isabs(value) else home / ".local" / "share"


def walk(root: Path, accept: Any, depth: int = 6) -> list[Path]:
    """The files under ``root`` (at most ``depth`` folders down) whose name ``accept`` takes, sorted as paths
    sort (part by part). The folders are walked as strings: a path is made only for a file taken."""
    return [Path(name) for name in _walk(str(root), accept, depth)]


def _walk(root: str, accept: Any, depth: int) -> list[str]:
    """The files taken under ``root`` in the order their paths sort part by part: each folder's entries sorted
    by name, a folder's files in its place among them (sorting whole paths by their parts compares the
    same parts, after the long prefix they all share)."""
    found: list[str] = []
    try:
        entries = sorted(os.scandir(root), key=_name)
    except OSError:
        return found
    for entry in entries:
        try:
            if entry.is_dir(follow_symlinks=False):
                if depth > 0:
                    found += _walk(entry.path, accept, depth - 1)
            elif entry.is_file() and accept(entry.name):
                found.append(entry.path)
        except OSError:
            continue
    return found


def _name(entry: os.DirEntry[str]) -> str:
    return entry.name


def read_file(name: str, limit: int) -> bytes | None:
    """The bytes of a file (``Path.read_bytes`` of it), or None when it is larger than ``limit`` or cannot
    be read: one open, one ``fstat`` and (for a file that does not grow meanwhile) one read, the fewest
    system calls a reader of thousands of small files can make."""
    try:
        handle = os.open(name, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
    except OSError:
        return None
    try:
        size = os.fstat(handle).st_size
        if size > limit:
            return None
        data = os.read(handle, size + 1)
        if len(data) <= size:
            return data
        chunks = [data]
        while chunk := os.read(handle, 1 << 20):
            chunks.append(chunk)
        return b"".join(chunks)
    except OSError:
        return None
    finally:
        os.close(handle)


def count(value: Any) -> int:
    """A token count as the log gave it, or 0 when it is missing or not a count."""
    if type(value) is int:  # the common case, decided without the checks below (a bool is not an int here)
        return value if 0 <= value <= MAX_COUNT else 0
    if isinstance(value, bool) or not isinstance(value, int | float):
        return 0
    if isinstance(value, float) and not (math.isfinite(value) and value.is_integer()):
        return 0
    number = int(value)
    return number if 0 <= number <= MAX_COUNT else 0


def cost(value: Any) -> float | None:
    """A reported cost in USD, or None when missing, zero (unknown) or not a number."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) and 0 < value < 1e6 else None


def text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def epoch_of(value: Any) -> float | None:
    """Seconds since the epoch from an ISO-8601 string, or from a number (seconds or milliseconds); None
    when it is not a time an agent could have logged."""
    seconds: float
    if type(value) is int:  # the common case of a store's column, decided first (a bool is not an int here)
        seconds = value / 1000 if value > 1e11 else float(value)
    elif isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        seconds = moment.timestamp()
    elif isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
        seconds = value / 1000 if value > 1e11 else float(value)
    else:
        return None
    return seconds if EARLIEST <= seconds <= time.time() + 86_400 else None


def key_of(source: str, *parts: Any, plain: bool = True) -> bytes:
    """The 128-bit dedupe key of a call from its stable parts. ``plain=False`` only saves time where some part
    is always a float, a list or a dict (the same key either way)."""
    digest = key_digest(source)
    if not plain:
        return digest(_key_text(parts))
    try:
        text = "[" + ",".join([PLAIN[type(part)](part) for part in parts]) + "]"
    except KeyError:  # a float, a bool, a list or a dict among the parts: the encoder writes them
        text = _blob_text(parts) if any(isinstance(part, _BLOBS) for part in parts) else _key_text(parts)
    return digest(text)


def key_digest(source: str) -> Callable[[str], bytes]:
    """What ``key_of`` hashes the text of ``source``'s keys with, for a reader that writes that text itself
    (the same text: see ``PLAIN``)."""
    digest = _DIGESTS.get(source)
    if digest is None:
        digest = _DIGESTS[source] = digester(source + "\0")
    return digest


def key_start(source: str, text: str) -> Any:
    """The hash of ``source``'s keys whose text starts with ``text``, that far (see ``started``)."""
    return started(source + "\0" + text)


def plain_text(parts: tuple[Any, ...]) -> str | None:
    """The parts' text between a key's brackets as ``key_of`` writes it, when each is a string, an int, None,
    a bool or a float (for a reader that writes the rest of a key's text itself); None otherwise."""
    try:
        return ",".join([PLAIN[type(part)](part) for part in parts])
    except KeyError:
        return None


def _float(value: float) -> str:
    """A float as ``json`` writes it: its repr, or NaN and the infinities as ``json`` reads them back."""
    if value != value:
        return "NaN"
    if value in (math.inf, -math.inf):
        return "Infinity" if value > 0 else "-Infinity"
    return float.__repr__(value)


_DIGESTS: dict[str, Callable[[str], bytes]] = {}
PLAIN: dict[type, Callable[[Any], str]] = {
    str: encode_basestring_ascii,
    int: int.__repr__,
    type(None): lambda _: "null",
    bool: lambda value: "true" if value else "false",
    float: _float,
}
"""How ``json.dumps`` writes a string (ASCII-escaped), an int, None, a bool and a float, for the keys made only
of those (most are: a session and an id), without building the encoder's machinery for each."""


def _key_text(parts: tuple[Any, ...]) -> str:
    """``json.dumps(parts, separators=(",", ":"), sort_keys=True)``: the keys are the ledger's dedupe keys, so
    their text never changes. The C encoder is made once (``json.dumps`` makes one per call), without the
    check for circular values (the parts come from decoded JSON, which has none); where there is
    none, ``json.dumps`` itself."""
    if _ENCODE is None:
        return json.dumps(parts, separators=(",", ":"), sort_keys=True)
    return "".join(_ENCODE(parts, 0))


def _unencodable(value: Any) -> Any:
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


_BLOBS = (bytes, bytearray, memoryview)


def _blob_text(parts: tuple[Any, ...]) -> str:
    """A key's text where some part is a SQLite BLOB (a store's id column may hold bytes: SQLite keeps any
    type in any column): the BLOB as ``x"<hex digits>"``, which is not JSON, so no key of decoded values has
    the same text; the other parts as ``_key_text`` writes them."""
    written = [f'x"{bytes(part).hex()}"' if isinstance(part, _BLOBS) else _key_text((part,))[1:-1] for part in parts]
    return "[" + ",".join(written) + "]"


_ENCODE = (
    None
    if c_make_encoder is None
    else c_make_encoder(None, _unencodable, encode_basestring_ascii, None, ":", ",", True, False, True)
)
_DECODE = msgspec.json.Decoder().decode


def loads(data: bytes | str) -> Any:
    """JSON, or None when it is not JSON (or nests deeper than Python can take). msgspec decodes first (the
    same values as ``json`` where it succeeds, big integers included, several times faster); ``json`` decides
    what it refuses (NaN, a lone surrogate, a BOM, UTF-16), so the values read are ``json``'s."""
    try:
        return _DECODE(data)
    except (msgspec.MsgspecError, RecursionError):
        pass
    try:
        return json.loads(data)
    except (ValueError, RecursionError):
        return None


class Tail(NamedTuple):
    """The complete lines appended to a JSONL file since a position, and the position after them."""

    lines: list[tuple[int, bytes]]  # (offset, line without its newline)
    position: Position
    restarted: bool  # read from the start: the file is new, shorter, or another file


def tail(path: Path, position: Position | None) -> Tail:
    """The whole lines of ``path`` after the saved offset. The file is read from the start when it is not the
    same file (inode) or is shorter than the offset. A last line without a newline is left for the next read
    unless it is a whole JSON value already (an agent that ended without one)."""
    position = position or {}
    try:
        with open(path, "rb") as handle:
            stat = os.fstat(handle.fileno())
            offset = position.get("offset", 0)
            same = position.get("inode") == stat.st_ino and isinstance(offset, int) and 0 <= offset <= stat.st_size
            start = offset if same else 0
            handle.seek(start)
            data = handle.read()
    except OSError:
        return Tail([], dict(position), False)
    lines: list[tuple[int, bytes]] = []
    *whole, rest = data.split(b"\n")  # rest: what follows the last newline (empty when the data ends with one)
    at = start
    for line in whole:
        if line and not line.isspace():
            lines.append((at, line if len(line) <= MAX_LINE else b""))
        at += len(line) + 1
    if rest.isspace():
        at += len(rest)
    elif rest and loads(rest) is not None:  # a whole value without its newline; else still being written
        lines.append((at, rest if len(rest) <= MAX_LINE else b""))
        at += len(rest)
    return Tail(lines, {"offset": at, "inode": stat.st_ino}, not same)


def changed(path: Path, position: Position | None) -> tuple[bool, Position]:
    """Whether a file rewritten in place changed since ``position`` (its mtime and size), and its new one."""
    try:
        stat = path.stat()
    except OSError:
        return False, dict(position or {})
    now = {"mtime_ns": stat.st_mtime_ns, "size": stat.st_size}
    return now != {k: (position or {}).get(k) for k in now}, now


def read_json(path: Path) -> Any:
    """A whole JSON file, or None when it is missing, too large or not JSON."""
    try:
        if path.stat().st_size > MAX_JSON:
            return None
        return loads(path.read_bytes())
    except OSError:
        return None


def settled(path: Path, parse: Callable[[Path], Any]) -> Any:
    """``parse(path)``, remembered while the file keeps its inode, size and modification time: a reader that
    needs one settings file beside each of many logs parses it once a capture, not once a log. The value is
    shared: callers only read it."""
    try:
        stat = path.stat()
    except OSError:
        return parse(path)
    key = (str(path), parse, stat.st_ino, stat.st_size, stat.st_mtime_ns)
    if key not in _SETTLED:
        if len(_SETTLED) >= 64:
            _SETTLED.clear()
        _SETTLED[key] = parse(path)
    return _SETTLED[key]


_SETTLED: dict[tuple[Any, ...], Any] = {}


class Database:
    """A SQLite database opened read-only (``mode=ro``, so its write-ahead log is read too), with a short
    busy timeout. ``problem`` says in one line why it could not be read (None when it could)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.problem: str | None = None
        self.connection: sqlite3.Connection | None = None
        try:
            uri = "file:" + _quote(str(path)) + "?mode=ro"
            # a reader may have SQLite work on a second thread while it works on what came first (one at a time)
            self.connection = sqlite3.connect(uri, uri=True, timeout=2.0, check_same_thread=False)
            self.connection.execute("SELECT 1 FROM sqlite_master LIMIT 1").fetchall()
        except sqlite3.Error as error:
            self.fail(error)

    def fail(self, error: sqlite3.Error) -> None:
        busy = "locked" in str(error) or "busy" in str(error)
        why = "it is locked by the agent; the next capture reads it" if busy else str(error)
        self.problem = f"{self.path}: cannot read ({why})"
        self.close()

    def columns(self, table: str) -> set[str]:
        """The columns of ``table``; empty when the table is missing."""
        if self.connection is None:
            return set()
        try:
            rows = self.connection.execute("SELECT name FROM pragma_table_info(?)", (table,)).fetchall()
        except sqlite3.Error as error:
            self.fail(error)
            return set()
        return {str(row[0]) for row in rows}

    def begin(self) -> None:
        """Start a read transaction: the queries that follow all see the store as it was at the first of them,
        so totals an agent writes to two tables in one transaction are read as one state."""
        if self.connection is None:
            return
        try:
            self.connection.execute("BEGIN")
        except sqlite3.Error as error:
            self.fail(error)

    def rows(self, sql: str, parameters: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
        """The rows of a query; on an error (locked, corrupt) no more rows and ``problem`` set."""
        for batch in self.batches(sql, parameters):
            yield from batch

    def batches(self, sql: str, parameters: tuple[Any, ...] = ()) -> Iterator[list[tuple[Any, ...]]]:
        """The rows of a query a thousand at a time (for a reader that takes them in bulk); on an error no more
        rows (not those of the batch being fetched either) and ``problem`` set."""
        if self.connection is None:
            return
        try:
            cursor = self.connection.execute(sql, parameters)
            while batch := cursor.fetchmany(1000):
                yield batch
        except sqlite3.Error as error:
            self.fail(error)

    def close(self) -> None:
        if self.connection is not None:
            self.connection.close()
            self.connection = None

    def __enter__(self) -> Database:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _quote(path: str) -> str:
    return path.replace("%", "%25").replace("?", "%3f").replace("#", "%23")


Handler = Any  # (entry: Any, context: dict[str, Any]) -> AgentCall | list[AgentCall] | None
LineErrors = (ValueError, TypeError, KeyError, AttributeError, IndexError, OverflowError)


def read_jsonl(path: Path, position: Position | None, handle: Handler, begin: Any = None) -> Reading:
    """The calls in the lines appended to a JSONL log since ``position``. ``handle`` turns one decoded line
    into calls (or None), keeping what later lines need in ``context`` (saved with the offset, so a read that
    starts mid-file knows the session and the model); ``begin(path)`` is the context of a file read from its
    start. A line that is not JSON, or that ``handle`` cannot take, is counted as malformed."""
    read = tail(path, position)
    if read.restarted or not position:
        context = begin(path) if begin is not None else {}
    else:
        context = dict(position.get("context") or {})
    reading = Reading(position={**read.position, "context": context})
    for offset, line in read.lines:
        entry = loads(line) if line else None
        if entry is None:
            reading.malformed.append(f"{path}:{offset}")
            continue
        try:
            found = handle(entry, context)
        except LineErrors:
            reading.malformed.append(f"{path}:{offset}")
            continue
        if isinstance(found, list):
            reading.calls += found
        elif found is not None:
            reading.calls.append(found)
    return reading


def read_rewritten(path: Path, position: Position | None, parse: Any) -> Reading:
    """The calls of a JSON log the agent rewrites whole: every call again when the file changed (their keys
    make the second reading count nothing twice), none when it did not."""
    moved, now = changed(path, position)
    reading = Reading(position=now)
    if not moved:
        return reading
    document = read_json(path)
    if document is None:
        reading.malformed.append(str(path))
        return reading
    try:
        reading.calls = parse(document)
    except LineErrors:
        reading.malformed.append(str(path))
    return reading

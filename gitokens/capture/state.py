"""Capture state, in ``<git-common-dir>/gitokens/capture/``: what each log file has given, which messages
were taken, and the usage waiting for its commit.

- ``files.json``: per log file its device and inode, the bytes consumed, its mtime, a digest of
  its first bytes (a file truncated or rewritten in place is read again from the start) and, for Codex,
  the parse context (session, model, running totals) needed to continue reading in the middle; under
  ``positions``, per log of the other agents (read by ``agents``' readers) the agent, the log's signature
  when it was last read (``files.signature``) and the reader's own position (an offset, a row id, a
  snapshot of running totals).
- ``seen.bin``: 8 bytes per message already taken (a digest of its key); a message seen again (streaming
  copies, resumed sessions, side-chains, a re-read file, a second capture) is skipped. The file's first
  marks are sorted (how many: ``sorted`` in ``files.json``) and searched by bisection in a mapping of the
  file, so a capture reads only the pages it probes however long the history; a capture appends its marks
  after them, and sorts them in once there are ``MERGE_AT`` (``Marks``). A file written before the count
  existed is all appended marks, sorted in the same way.
- ``older.bin``: the same for the messages the first capture left out as older than its start, so that
  a copy of one written later (a resumed session replaying its history) is left out too.
- ``pending/<branch>.json``: messages made after the last commit of the branch they name, kept until a
  commit on that branch exists. One file per branch, so the post-commit hook can tell cheaply whether the
  branch it commits on has usage waiting; messages on no branch wait in ``@HEAD <work tree>.json`` for the
  next commit in their work tree.
- ``stamp``: its mtime is the start of the last capture that finished; the hook compares log files
  against it (``find -newer``) to skip starting Python when no log grew.
- ``watch``: the folders of the other agents' logs and their stores (one per line, as the last capture's
  environment placed them), where the hook looks besides Claude Code's and Codex's (which it finds itself); a
  line ending in ``/`` is a folder looked at by itself, not through (a new store appearing in it). ``files.json`` keeps
  them too (``watch``), with the environment that placed them and which of them existed, so that a capture
  can tell nothing changed there without loading the agents' readers (``files.quiet``).
- ``lock``: held for the whole of a capture that writes, so two captures never take the same messages.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import math
import mmap
import os
import time
from array import array
from bisect import bisect_left
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gitokens.capture.model import Message
from gitokens.errors import LedgerBusy

if TYPE_CHECKING:
    from gitokens.git.repo import Repo

HEAD_BYTES = 4096
MERGE_AT = 1 << 15  # marks appended after the sorted ones before they are sorted in (256 KB, read whole each time)
MARKS = {"seen": "seen.bin", "older": "older.bin"}


class Marks:
    """The 8-byte marks of one marks file: its first ``ordered`` marks sorted, searched by bisection in a
    mapping of the file, and the marks after them (appended since the last sort, and this capture's) in a
    set. The file is read at the first question (a capture with nothing new asks none). A count the file
    cannot hold (the file replaced by an older version of this program) is not trusted: every mark is then
    read into the set."""

    def __init__(self, path: Path | None = None, ordered: int = 0) -> None:
        self.path, self.count = path, ordered
        self.ordered = memoryview(b"").cast("Q")
        self.recent: set[int] = set()

    def __contains__(self, mark: int) -> bool:
        if self.path is not None:
            self._load(self.path)
        if mark in self.recent:
            return True
        at = bisect_left(self.ordered, mark)
        return at < len(self.ordered) and self.ordered[at] == mark

    def add(self, mark: int) -> None:
        if self.path is not None:
            self._load(self.path)
        self.recent.add(mark)

    def membership(self) -> Callable[[int], bool]:
        """``mark in self`` as a function: the set's own while no mark is sorted (a first capture, whose every
        call is asked about: a method call each costs more than the set's lookup), else ``__contains__``."""
        if self.path is not None:
            self._load(self.path)
        return self.__contains__ if len(self.ordered) else self.recent.__contains__

    def _load(self, path: Path) -> None:
        self.path = None
        tail = array("Q")
        try:
            with open(path, "rb") as handle:
                count = os.fstat(handle.fileno()).st_size // 8
                ordered = self.count if 0 <= self.count <= count else 0
                if ordered:
                    view = memoryview(mmap.mmap(handle.fileno(), count * 8, access=mmap.ACCESS_READ))
                    self.ordered = view[: ordered * 8].cast("Q")
                handle.seek(ordered * 8)
                tail.frombytes(handle.read((count - ordered) * 8))
        except (OSError, ValueError):
            pass
        self.recent.update(tail)


@dataclass
class FileState:
    """How far one log file has been read."""

    dev: int
    ino: int
    offset: int
    mtime_ns: int
    head: str
    context: dict[str, Any] | None = None

    def to_json(self) -> list[Any]:
        return [self.dev, self.ino, self.offset, self.mtime_ns, self.head, self.context]

    @classmethod
    def from_json(cls, value: Any) -> FileState | None:
        try:
            dev, ino, offset, mtime_ns, head, context = value
            return cls(int(dev), int(ino), int(offset), int(mtime_ns), str(head), context)
        except (TypeError, ValueError):
            return None


@dataclass
class Place:
    """How far one log of an agent read through the registry's readers has been read: the agent, the log's
    signature when it was (``files.signature``: a capture with nothing new compares it), and the reader's
    own position."""

    agent: str
    signature: list[int]
    at: dict[str, Any] | None

    def to_json(self) -> list[Any]:
        return [self.agent, self.signature, self.at]

    @classmethod
    def from_json(cls, value: Any) -> Place | None:
        try:
            agent, signature, at = value
        except (TypeError, ValueError):
            return None
        if not isinstance(agent, str) or not isinstance(signature, list) or not isinstance(at, dict | None):
            return None
        return cls(agent, [n for n in signature if type(n) is int], at)


@dataclass
class State:
    """The capture state of one repository, loaded whole and saved in one go."""

    folder: Path
    files: dict[str, FileState] = field(default_factory=dict)
    places: dict[str, Place] = field(default_factory=dict)  # the other agents' logs, by path
    seen: Marks = field(default_factory=Marks)
    new_seen: list[int] = field(default_factory=list)
    left: Marks = field(default_factory=Marks)
    new_left: list[int] = field(default_factory=list)
    ordered: dict[str, int] = field(default_factory=dict)  # per marks file (``MARKS``), how many come sorted
    rules: int | None = None  # the grouping rules (attribute.RULES) of the records this state's messages went into
    pending: dict[str, list[Message]] = field(default_factory=dict)
    sessions: dict[str, str] = field(default_factory=dict)  # Codex session -> the session it was forked from
    last_capture: float | None = None
    watch: dict[str, Any] | None = None  # the other agents' log folders and what placed them (``files.Watch``)
    horizon: float | None = None  # usage older than this is left out unless asked for (see attribute.horizon)

    def is_seen(self, digest: int) -> bool:
        return digest in self.seen

    def mark_seen(self, digest: int) -> None:
        self.seen.add(digest)
        self.new_seen.append(digest)

    def mark_left(self, digest: int) -> None:
        self.left.add(digest)
        self.new_left.append(digest)

    def forget(self) -> None:
        """Start Claude Code's and Codex's logs again from nothing (a recapture): every file from its start,
        and their calls taken before are taken again (the scan does not ask the marks for them). The horizon
        stays: a recapture leaves out what the first capture left out.

        A recapture replaces what older rules captured from those two agents' logs; the other agents' were
        never captured under older rules, so where they were read stays, and so do their marks and their
        usage waiting for a commit (read again from the start, a session's calls already written in part
        would make records of other sums, and count twice)."""
        self.files.clear()
        self.pending = {
            key: kept
            for key, messages in self.pending.items()
            if (kept := [m for m in messages if m.source not in ("claude-code", "codex")])
        }
        self.sessions.clear()
        self.last_capture = None


def pending_key(message: Message) -> str:
    """Where a waiting message waits: its branch, or ``@HEAD <work tree>`` for one on no branch."""
    if message.branch:
        return message.branch
    return f"@HEAD {message.worktree}" if message.worktree else ""


def folder(repo: Repo) -> Path:
    return folder_in(repo.common_dir)


def folder_in(common_dir: Path) -> Path:
    """The state folder of the repository whose common git dir is ``common_dir``."""
    return common_dir / "gitokens" / "capture"


def pending_name(branch: str) -> str:
    """A branch's pending file name; the hook shim computes the same with sed (keep the two in step)."""
    return branch.replace("%", "%25").replace("/", "%2F") + ".json"


def load(repo: Repo) -> State:
    return load_from(folder(repo))


def load_from(where: Path) -> State:
    """The state kept in ``where`` (a ``folder``); empty where there is none."""
    state = State(where)
    meta = _read_json(where / "files.json")
    if isinstance(meta, dict):
        for path, value in (meta.get("files") or {}).items():
            loaded = FileState.from_json(value)
            if loaded is not None:
                state.files[path] = loaded
        for path, value in (meta.get("positions") or {}).items():
            place = Place.from_json(value)
            if place is not None:
                state.places[path] = place
        watch = meta.get("watch")
        if isinstance(watch, dict) and isinstance(watch.get("env"), dict) and isinstance(watch.get("roots"), dict):
            state.watch = watch
        sessions = meta.get("sessions")
        if isinstance(sessions, dict):
            state.sessions = {str(k): str(v) for k, v in sessions.items()}
        last, horizon, rules = meta.get("last_capture"), meta.get("horizon"), meta.get("rules")
        state.rules = rules if type(rules) is int else 1
        state.last_capture = float(last) if isinstance(last, (int, float)) else None
        state.horizon = float(horizon) if isinstance(horizon, (int, float)) else None
        ordered = meta.get("sorted")
        if isinstance(ordered, dict):
            state.ordered = {k: v for k, v in ordered.items() if k in MARKS and type(v) is int}
    # Read after files.json: a capture sorting a marks file replaces it before it writes the new count.
    state.seen = Marks(where / MARKS["seen"], state.ordered.get("seen", 0))
    state.left = Marks(where / MARKS["older"], state.ordered.get("older", 0))
    pending_dir = where / "pending"
    if pending_dir.is_dir():
        for path in sorted(pending_dir.glob("*.json")):
            rows = _read_json(path)
            if isinstance(rows, list):
                messages = [m for m in (Message.from_json(row) for row in rows) if m is not None]
                for message in messages:
                    state.pending.setdefault(pending_key(message), []).append(message)
    return state


def save(state: State, started: float) -> None:
    """Write everything; ``started`` (the capture's start) becomes the stamp the hook compares logs with."""
    where = state.folder
    (where / "pending").mkdir(parents=True, exist_ok=True)
    for kind, new in (("seen", state.new_seen), ("older", state.new_left)):
        path = where / MARKS[kind]
        if new:
            with open(path, "ab") as handle:
                handle.write(array("Q", new).tobytes())
        with contextlib.suppress(OSError):
            count = path.stat().st_size // 8
            if state.ordered.get(kind, 0) > count:  # not trusted by ``Marks.open`` either
                state.ordered.pop(kind)
            if count - state.ordered.get(kind, 0) >= MERGE_AT:
                state.ordered[kind] = _sort_marks(path, state.ordered.get(kind, 0))
    state.new_seen, state.new_left = [], []
    meta = {
        "files": {path: fs.to_json() for path, fs in sorted(state.files.items())},
        "positions": {path: place.to_json() for path, place in sorted(state.places.items())},
        "watch": state.watch,
        "sessions": state.sessions,
        "last_capture": started,
        "horizon": state.horizon if state.horizon is None or math.isfinite(state.horizon) else -1e18,
        "rules": state.rules,
        "sorted": state.ordered,
    }
    _write_json(where / "files.json", meta)
    wanted = {pending_name(branch): rows for branch, rows in state.pending.items() if rows}
    for path in (where / "pending").glob("*.json"):
        if path.name not in wanted:
            path.unlink(missing_ok=True)
    for name, rows in wanted.items():
        _write_json(where / "pending" / name, [m.to_json() for m in sorted(rows)])
    if state.watch is not None:
        _write_bytes(where / "watch", _watch_lines(state.watch).encode("utf-8", "surrogateescape"))
    stamp = where / "stamp"
    stamp.touch()
    os.utime(stamp, (started, started))
    state.last_capture = started


def _sort_marks(path: Path, ordered: int) -> int:
    """Sort the marks of ``path``, of which the first ``ordered`` are sorted already, into one sorted run
    without repeats, replacing the file; how many there are."""
    import numpy as np  # only here: a sort is rare, and numpy takes a while to import

    data = path.read_bytes()
    marks = np.frombuffer(data, dtype=np.uint64, count=len(data) // 8)
    head, tail = marks[:ordered], np.sort(marks[ordered:])
    merged = np.insert(head, np.searchsorted(head, tail), tail)
    kept = merged[np.concatenate(([True], merged[1:] != merged[:-1]))] if len(merged) else merged
    _write_bytes(path, kept.tobytes())
    return len(kept)


@contextmanager
def locked(where: Path, timeout: float = 10.0) -> Iterator[None]:
    """Hold the capture lock (an advisory lock on ``where/lock``): one writing capture at a time."""
    where.mkdir(parents=True, exist_ok=True)
    with open(where / "lock", "a+") as handle:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise LedgerBusy(
                        f"another capture held {where / 'lock'} for {timeout:g}s",
                        hint="wait for it to finish, then run `git tokens capture` again",
                    ) from None
                time.sleep(0.05)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _watch_lines(watch: dict[str, Any]) -> str:
    """The ``watch`` file: a line per path the hook looks through, then the folders it looks at by themselves
    (only their own time: an entry added or removed), each ending in ``/``. A hook of an older version looks
    through those too."""
    shallow = watch.get("shallow")
    folders = [path for path in shallow if os.path.isdir(path)] if isinstance(shallow, dict) else []
    paths = [*watch["roots"], *(path for path in shallow or () if path not in folders), *(f + "/" for f in folders)]
    return "".join(path + "\n" for path in paths if isinstance(path, str) and "\n" not in path)


def _write_json(path: Path, value: Any) -> None:
    _write_bytes(path, json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode("utf-8"))


def _write_bytes(path: Path, data: bytes) -> None:
    """Replace ``path`` whole or not at all."""
    tmp = path.parent / f".tmp-{os.getpid()}-{time.monotonic_ns()}.part"  # not tempfile: it takes a while to import
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise

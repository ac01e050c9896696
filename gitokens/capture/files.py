"""Finding the agents' log files and reading only what was appended since the last capture.

A file is read from where the last capture stopped when it is the same file (device and inode), not
shorter than that, and still starts with the same bytes; otherwise (rotated, truncated, rewritten) it is
read again from the start, and the seen-message digests keep the second reading from counting anything
twice. Only complete lines are consumed: a line still being written is left for the next capture (a last line
without a newline counts when it is a whole JSON object already).
"""

from __future__ import annotations

import json
import mmap
import os
import stat
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gitokens.capture.model import blake2b
from gitokens.capture.state import HEAD_BYTES, FileState, Place


def claude_roots(env: dict[str, str] | None = None) -> list[Path]:
    """Claude Code's ``projects`` folders: each of the comma-separated ``CLAUDE_CONFIG_DIR``, else both
    ``~/.config/claude`` and ``~/.claude``."""
    env = dict(os.environ) if env is None else env
    configured = env.get("CLAUDE_CONFIG_DIR", "").strip()
    home = Path(env.get("HOME") or os.path.expanduser("~"))
    if configured:
        bases = [Path(os.path.expanduser(part.strip())) for part in configured.split(",") if part.strip()]
    else:
        bases = [home / ".config" / "claude", home / ".claude"]
    return [base / "projects" for base in bases]


def codex_roots(env: dict[str, str] | None = None) -> list[Path]:
    """Codex's ``sessions`` and ``archived_sessions`` under ``${CODEX_HOME:-~/.codex}``."""
    env = dict(os.environ) if env is None else env
    home = Path(env.get("HOME") or os.path.expanduser("~"))
    base = Path(os.path.expanduser(env.get("CODEX_HOME", "").strip() or str(home / ".codex")))
    return [base / "sessions", base / "archived_sessions"]


def claude_files(roots: list[Path]) -> list[Path]:
    """Every ``*.jsonl`` under the roots (in ``claude_names``' order)."""
    return [Path(name) for name in claude_names(roots)]


def claude_names(roots: list[Path]) -> list[str]:
    """Every ``*.jsonl`` under the roots, as the paths' strings: the sessions by path, then their sub-agent
    files (so a main conversation's copy of a message is the one counted, with its cost, rather than a
    side-chain's)."""
    found = {name for root in roots for name in _walk(str(root), _is_session)}
    return sorted(found, key=lambda name: (_SUBAGENTS in os.sep + name, name))


def codex_files(roots: list[Path]) -> list[Path]:
    """Every ``rollout-*.jsonl`` (in ``codex_names``' order)."""
    return [Path(name) for name in codex_names(roots)]


def codex_names(roots: list[Path]) -> list[str]:
    """Every ``rollout-*.jsonl``, as the paths' strings; a session in both ``sessions`` and
    ``archived_sessions`` is read from the active copy only. Ordered by file name (which starts with the
    session's start time), so a forked session comes after the session it was forked from."""
    chosen: dict[str, str] = {}
    for root in roots:  # the active folder first: it wins; within one, the first in the order of paths
        for name in sorted(_walk(str(root), _is_rollout), key=_parts):
            chosen.setdefault(os.path.basename(name), name)
    return [chosen[name] for name in sorted(chosen)]


_SUBAGENTS = f"{os.sep}subagents{os.sep}"


def _is_session(name: str) -> bool:
    return name.endswith(".jsonl")


def _is_rollout(name: str) -> bool:
    return name.startswith("rollout-") and name.endswith(".jsonl")


def _parts(name: str) -> list[str]:
    """What orders paths as ``Path`` orders them: by component, not by character."""
    return name.split(os.sep)


@dataclass
class Listing:
    """The selected agents' log files, and the folders they were looked for in: Claude Code's and Codex's
    (read by capture's own parsers; as strings, so that a capture with nothing new builds no ``Path``), and
    the other agents' by agent (read by the registry's readers)."""

    claude: list[str]
    codex: list[str]
    roots: list[Path]
    others: dict[str, list[Path]] = field(default_factory=dict)

    def gone(self, known: dict[str, FileState]) -> list[str]:
        """The files of ``known`` in these folders that are no longer listed (deleted, archived away)."""
        present = {*self.claude, *self.codex}
        under = tuple(str(root) + os.sep for root in self.roots)
        return [p for p in known if p not in present and p.startswith(under)]

    def gone_places(self, places: dict[str, Place]) -> list[str]:
        """The logs of the selected other agents that are no longer listed (their calls stay taken)."""
        present = {str(p) for paths in self.others.values() for p in paths}
        return [p for p, place in places.items() if place.agent in self.others and p not in present]

    def unchanged(self, known: dict[str, FileState], places: dict[str, Place]) -> bool:
        """Whether every file is the one ``known`` (or ``places``) records, read to its end, with the size and
        mtime it had then, and no known file is gone: a capture would read nothing. A stat per file (two for
        a database with a write-ahead log), nothing opened."""
        for paths in self.others.values():
            for path in paths:
                place = places.get(str(path))
                if place is None or signature(path) != place.signature:
                    return False
        if self.gone_places(places):
            return False
        for name in self.claude + self.codex:
            previous = known.get(name)
            try:
                now = os.stat(name)
            except OSError:
                return False
            if previous is None or (now.st_dev, now.st_ino, now.st_size, now.st_mtime_ns) != (
                previous.dev,
                previous.ino,
                previous.offset,
                previous.mtime_ns,
            ):
                return False
        return not self.gone(known)


def listing(agents: Iterable[str]) -> Listing:
    """The log files of the selected agents among Claude Code and Codex (the others: ``list_others``)."""
    chosen = set(agents)
    claude = claude_roots() if "claude" in chosen else []
    codex = codex_roots() if "codex" in chosen else []
    return Listing(claude_names(claude) if claude else [], codex_names(codex) if codex else [], claude + codex)


def list_others(listed: Listing, agents: Iterable[str]) -> None:
    """Add the log files of the selected agents read by the registry's readers to ``listed``."""
    from gitokens.capture.agents import READERS

    chosen = set(agents)
    listed.others = {name: reader.logs() for name, reader in READERS.items() if name in chosen}


AGENT_VARIABLES = (
    "HOME",
    "XDG_DATA_HOME",
    "GEMINI_CLI_HOME",
    "COPILOT_HOME",
    "OPENCODE_DB",
    "QWEN_RUNTIME_DIR",
    "QWEN_HOME",
    "GOOSE_PATH_ROOT",
    "KIMI_SHARE_DIR",
    "PI_CODING_AGENT_DIR",
    "HERMES_HOME",
)
"""Every environment variable the other agents' readers consult to place their logs (a test holds them to it)."""
MARGIN_NS = 2_000_000_000  # a file's mtime comes from a coarser clock than the capture's start: look back further


def watched(agents: Iterable[str], env: dict[str, str] | None = None) -> dict[str, Any]:
    """Where the other agents' logs are (after the environment variables) and which of those folders exist,
    with the variables that placed them and the ``agents`` whose logs this capture lists: the post-commit
    hook looks there (``find -newer`` the capture stamp), and so does ``quiet``."""
    from gitokens.capture.agents import READERS

    env = dict(os.environ) if env is None else env
    deep: dict[str, bool] = {}
    for reader in READERS.values():
        for path, down in reader.watch(env):
            deep[str(path)] = deep.get(str(path), False) or down
    roots = {path: os.path.exists(path) for path in sorted(deep) if deep[path]}
    shallow = {path: os.path.exists(path) for path in sorted(deep) if not deep[path]}
    return {"env": _placing(env), "roots": roots, "shallow": shallow, "agents": sorted(agents)}


def quiet(
    watch: dict[str, Any] | None, since: float | None, agents: Iterable[str], env: dict[str, str] | None = None
) -> bool:
    """Whether nothing in the other agents' folders changed since ``since`` (the last capture's start), told
    without loading their readers: the capture that listed the folders read the logs of all of ``agents``,
    the same variables place the folders, each exists as it did, and no file or folder in them (the folders
    themselves included: a file added or removed changes its folder) was modified since then."""
    env = dict(os.environ) if env is None else env
    if watch is None or since is None or watch.get("env") != _placing(env):
        return False
    if not set(agents) <= set(watch.get("agents") or ()):
        return False
    after = int(since * 1e9) - MARGIN_NS
    shallow = watch.get("shallow")
    for paths, down in ((watch["roots"], True), (shallow if isinstance(shallow, dict) else {}, False)):
        for path, existed in paths.items():
            if not isinstance(path, str) or os.path.exists(path) != existed:
                return False
            if existed and _modified_after(path, after, down):
                return False
    return True


def _placing(env: dict[str, str]) -> dict[str, str]:
    return {name: env.get(name, "") for name in AGENT_VARIABLES}


def _modified_after(root: str, after: int, down: bool = True) -> bool:
    """Whether ``root`` (and, ``down``, anything under a folder) was modified after ``after`` (ns)."""
    try:
        found = os.stat(root)
        if found.st_mtime_ns > after:
            return True
        if not down or not stat.S_ISDIR(found.st_mode):
            return False
        entries = list(os.scandir(root))
    except OSError:
        return True
    for entry in entries:
        try:
            if entry.stat(follow_symlinks=False).st_mtime_ns > after:
                return True
            if entry.is_dir(follow_symlinks=False) and _modified_after(entry.path, after):
                return True
        except OSError:
            return True
    return False


def signature(path: Path) -> list[int] | None:
    """What says a log changed without opening it: its device, inode, size and mtime, and a SQLite store's
    write-ahead log's size and mtime (the agent writes there first); None when it is gone."""
    try:
        now = os.stat(path)
    except OSError:
        return None
    marks = [now.st_dev, now.st_ino, now.st_size, now.st_mtime_ns]
    try:
        wal = os.stat(f"{path}-wal")
        marks += [wal.st_size, wal.st_mtime_ns]
    except OSError:
        pass
    return marks


def _walk(root: str, want: Callable[[str], bool]) -> list[str]:
    """The files under ``root`` whose names ``want`` accepts, as ``os.walk`` finds them (a link to a file is
    one, a link to a folder is not followed, a folder that cannot be read to its end is skipped), without
    its lists."""
    found: list[str] = []
    folders: list[str] = []
    try:
        with os.scandir(root) as entries:
            for entry in entries:
                try:
                    inside = entry.is_dir()
                except OSError:
                    inside = False
                if not inside:
                    if want(entry.name):
                        found.append(entry.path)
                elif not _is_link(entry):
                    folders.append(entry.path)
    except OSError:
        return []
    for folder in folders:
        found += _walk(folder, want)
    return found


def _is_link(entry: os.DirEntry[str]) -> bool:
    try:
        return entry.is_symlink()
    except OSError:
        return False


@dataclass
class Chunk:
    """New complete lines of one file: ``data[start:end]``. ``data`` maps the file (or is empty bytes), so
    a parser copies only the lines it wants; ``close()`` unmaps it."""

    path: Path
    data: mmap.mmap | bytes
    start: int
    end: int
    restarted: bool
    state: FileState

    def line_of(self, offset: int) -> int:
        """The 1-based line number of the byte at ``offset`` (for reporting a malformed line)."""
        return bytes(self.data[:offset]).count(b"\n") + 1

    def close(self) -> None:
        if isinstance(self.data, mmap.mmap):
            self.data.close()


def pending_bytes(path: str | Path, previous: FileState | None) -> int:
    """About how many bytes a read of ``path`` would consume (for a progress bar)."""
    try:
        size = os.stat(path).st_size
    except OSError:
        return 0
    if previous is not None and size >= previous.offset:
        return size - previous.offset
    return size


def read_new(path: Path, previous: FileState | None, *, from_start: bool = False) -> Chunk | None:
    """The complete lines appended to ``path`` since ``previous``; None when there is nothing new."""
    try:
        handle = open(path, "rb")  # noqa: SIM115 - closed below
    except OSError:
        return None
    with handle:
        stat = os.fstat(handle.fileno())
        start, context = 0, None
        if (
            previous is not None
            and not from_start
            and (previous.dev, previous.ino) == (stat.st_dev, stat.st_ino)
            and stat.st_size >= previous.offset
        ):
            if stat.st_size == previous.offset and stat.st_mtime_ns == previous.mtime_ns:
                return None
            if _head(handle, min(previous.offset, HEAD_BYTES)) == previous.head:
                start, context = previous.offset, previous.context
        data: mmap.mmap | bytes = b""
        if stat.st_size > start:
            try:
                data = mmap.mmap(handle.fileno(), stat.st_size, access=mmap.ACCESS_READ)
            except (OSError, ValueError):  # truncated since the stat: the next capture reads it again
                return None
        end = max(data.rfind(b"\n", start) + 1, start)
        if end < stat.st_size and _complete(data[end : stat.st_size]):
            end = stat.st_size  # a last line without its newline that is whole all the same
        head = previous.head if start >= HEAD_BYTES and previous is not None else _head(handle, min(end, HEAD_BYTES))
    restarted = start == 0 and previous is not None and previous.offset > 0
    if end == start and not restarted and previous is not None and start == previous.offset:
        previous.mtime_ns = stat.st_mtime_ns
        if isinstance(data, mmap.mmap):
            data.close()
        return None
    new_state = FileState(stat.st_dev, stat.st_ino, end, stat.st_mtime_ns, head, context)
    return Chunk(path, data, start, end, restarted, new_state)


def _complete(tail: bytes) -> bool:
    """Whether a last line with no newline after it is a whole JSON object (a line still being written is
    left for the next capture: no prefix of an object is itself an object)."""
    tail = tail.strip()
    if not tail.startswith(b"{") or not tail.endswith(b"}"):
        return False
    import orjson  # here: a capture with nothing new does without it

    try:
        return isinstance(orjson.loads(tail), dict)
    except orjson.JSONDecodeError:
        pass
    try:
        return isinstance(json.loads(tail), dict)  # what orjson refuses and the standard library reads
    except ValueError:
        return False


def _head(handle: Any, size: int) -> str:
    handle.seek(0)
    return blake2b(handle.read(size), digest_size=16).hexdigest()

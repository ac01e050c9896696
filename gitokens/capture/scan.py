"""Reading the logs: new lines of every file, parsed, kept when made in this repository and not taken
before. Claude Code's files are parsed in a second process as well when there is a lot to read; the
results are taken in file order either way, so which copy of a message counts does not change."""

from __future__ import annotations

import marshal
import multiprocessing
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gitokens.capture import claude, codex, files, state
from gitokens.capture.model import Message
from gitokens.git import Repo

Progress = Callable[[int, int], None]
PARALLEL_BYTES = 32 << 20  # below this, starting a second process costs more than it saves
Candidate = claude.Candidate


@dataclass
class AgentSummary:
    """What one capture found in one agent's logs."""

    agent: str
    files_read: int = 0
    bytes_read: int = 0
    sessions: set[str] = field(default_factory=set)
    messages: int = 0
    tokens: int = 0
    commits: set[str] = field(default_factory=set)
    attached: int = 0
    waiting: int = 0
    duplicates: int = 0
    elsewhere: int = 0
    older: int = 0
    no_branch: int = 0
    malformed: list[str] = field(default_factory=list)


@dataclass
class Parsed:
    """One file's new lines, parsed; ``bad`` the line numbers of malformed lines."""

    path: Path
    state: state.FileState
    size: int
    candidates: list[Candidate]
    bad: list[int]
    copies: int


def read(
    repo: Repo,
    current: state.State,
    agents: dict[str, AgentSummary],
    *,
    all_history: bool,
    progress: Progress | None,
) -> list[tuple[Message, list[int]]]:
    """New, deduplicated messages made in this repository's work trees, with the seen-marks each takes."""
    inside = _Inside(repo.worktree_roots())
    claude_paths = files.claude_files(files.claude_roots()) if "claude" in agents else []
    codex_paths = files.codex_files(files.codex_roots()) if "codex" in agents else []
    present = {str(p) for p in claude_paths + codex_paths}
    roots = [str(r) for a in agents for r in (files.claude_roots() if a == "claude" else files.codex_roots())]
    for gone in [p for p in current.files if p not in present and any(p.startswith(r + os.sep) for r in roots)]:
        del current.files[gone]  # deleted or archived away: its messages stay seen
    previous = {str(p): None if all_history else current.files.get(str(p)) for p in claude_paths + codex_paths}
    total = sum(files.pending_bytes(p, previous[str(p)]) for p in claude_paths + codex_paths)
    done = 0
    run_seen: set[int] = set()
    out: list[tuple[Message, list[int]]] = []
    jobs = [(p, current.files.get(str(p)), all_history) for p in claude_paths]
    parsed: list[tuple[str, Iterator[Parsed | None]]] = [
        ("claude", _parse_claude_files(jobs, parallel=total >= PARALLEL_BYTES)),
        ("codex", (_parse_codex(p, current.files.get(str(p)), all_history, current.sessions) for p in codex_paths)),
    ]
    for agent, results in parsed:
        for result in results:
            if result is None:
                continue
            summary = agents[agent]
            summary.files_read += 1
            summary.bytes_read += result.size
            summary.duplicates += result.copies
            summary.malformed.extend(f"{result.path}:{n}" for n in result.bad)
            seen = current.seen
            for message, cwd, own, other, marks in result.candidates:
                if not inside(cwd):
                    summary.elsewhere += 1
                elif own in run_seen or own in seen or (other is not None and (other in run_seen or other in seen)):
                    summary.duplicates += 1
                else:
                    run_seen.update(marks)
                    out.append((message, marks))
            current.files[str(result.path)] = result.state
            done += result.size
            if progress is not None:
                progress(done, total)
    return out


def _parse_claude_files(
    jobs: list[tuple[Path, state.FileState | None, bool]], *, parallel: bool
) -> Iterator[Parsed | None]:
    if parallel and len(jobs) > 1 and (os.cpu_count() or 1) > 1 and "fork" in multiprocessing.get_all_start_methods():
        # One worker takes every other file while this process parses the rest: two cores, two processes.
        with multiprocessing.get_context("fork").Pool(1) as pool:
            theirs = pool.imap(_parse_claude_packed, jobs[1::2], chunksize=4)
            for index, job in enumerate(jobs):
                yield _unpack(next(theirs)) if index % 2 else _parse_claude_job(job)
    else:
        yield from map(_parse_claude_job, jobs)


def _parse_claude_job(job: tuple[Path, state.FileState | None, bool]) -> Parsed | None:
    path, previous, from_start = job
    chunk = files.read_new(path, previous, from_start=from_start)
    if chunk is None:
        return None
    try:
        entries, bad, copies = claude.parse(chunk.data, chunk.start, chunk.end)
        lines = [chunk.line_of(offset) for offset in bad]
    finally:
        chunk.close()
    return Parsed(path, chunk.state, chunk.end - chunk.start, entries, lines, copies)


def _parse_claude_packed(job: tuple[Path, state.FileState | None, bool]) -> tuple[Any, ...] | None:
    """In a worker: the parse with its calls as plain tuples in one ``marshal`` blob (pickling tens of
    thousands of named tuples back to the parent costs more than parsing them)."""
    parsed = _parse_claude_job(job)
    if parsed is None:
        return None
    rows = [(tuple(message), cwd, own, other, tuple(marks)) for message, cwd, own, other, marks in parsed.candidates]
    return parsed.path, parsed.state, parsed.size, marshal.dumps(rows), parsed.bad, parsed.copies


def _unpack(packed: tuple[Any, ...] | None) -> Parsed | None:
    if packed is None:
        return None
    path, file_state, size, blob, bad, copies = packed
    make = tuple.__new__  # a named tuple from a plain one without the keyword-argument constructor
    candidates: list[Candidate] = [
        (make(Message, message), cwd, own, other, list(marks))
        for message, cwd, own, other, marks in marshal.loads(blob)
    ]
    return Parsed(path, file_state, size, candidates, bad, copies)


def _parse_codex(
    path: Path, previous: state.FileState | None, from_start: bool, sessions: dict[str, str]
) -> Parsed | None:
    chunk = files.read_new(path, previous, from_start=from_start)
    if chunk is None:
        return None
    try:
        data = bytes(chunk.data[chunk.start : chunk.end])
        pairs, bad, chunk.state.context = codex.parse(data, chunk.start, chunk.state.context, sessions)
        lines = [chunk.line_of(offset) for offset in bad]
    finally:
        chunk.close()
    candidates: list[Candidate] = [(m, cwd, m.seen_key, None, [m.seen_key]) for m, cwd in pairs]
    return Parsed(path, chunk.state, chunk.end - chunk.start, candidates, lines, 0)


class _Inside:
    """Whether a directory is in one of the work trees (symlinks resolved), and not in a repository
    nested inside one."""

    def __init__(self, roots: list[Path]) -> None:
        self.roots = {str(r) for r in roots}
        self.cache: dict[str | None, bool] = {None: False}

    def __call__(self, cwd: str | None) -> bool:
        if cwd not in self.cache:
            self.cache[cwd] = self._check(os.path.realpath(cwd or ""))
        return self.cache[cwd]

    def _check(self, path: str) -> bool:
        probe = path
        while True:
            if probe in self.roots:
                return True
            if os.path.exists(os.path.join(probe, ".git")):
                return False  # the top of another repository (or of a nested one)
            parent = os.path.dirname(probe)
            if parent == probe:
                return False
            probe = parent

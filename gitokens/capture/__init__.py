"""``git tokens capture``: token usage read from Claude Code and Codex logs, attached to the commits it
went into.

One capture: read what the logs gained since the last one (``files``), parse it (``claude``, ``codex``),
keep the messages made in this repository's work trees that were not taken before (``state``), attribute
them to commits or queue them for the next one (``attribute``), write one record per (commit, session,
model) that the ledger does not hold yet, and save the state. A dry run does all but the writing.
"""

from __future__ import annotations

import contextlib
import functools
import gc
import json
import math
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING

from gitokens import gitbin
from gitokens.capture import attribute, claude, codex, scan, state
from gitokens.records import Record

if TYPE_CHECKING:
    from gitokens.git import Repo

AGENTS = ("claude", "codex")
SOURCES = {"claude": claude.SOURCE, "codex": codex.SOURCE}


@dataclass
class Result:
    agents: dict[str, scan.AgentSummary]
    records: list[Record] = field(default_factory=list)
    already: int = 0
    dry_run: bool = False


@dataclass
class Start:
    """A capture's first steps, which need neither the repository object nor pygit2: the state locked (unless
    a dry run) and loaded, the log files listed, and a large scan's worker parsing already. Closing it ends
    the worker and releases the lock."""

    folder: Path
    options: tuple[tuple[str, ...], bool, bool]  # agents, dry run, all history
    began: float  # before any log was looked at: the stamp the next capture's hook compares logs against
    current: state.State
    reading: scan.Reading
    stack: contextlib.ExitStack

    def close(self) -> None:
        try:
            self.reading.close()
        finally:
            self.stack.close()

    def __enter__(self) -> Start:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None) -> None:
        self.close()


def start(
    common_dir: Path, *, agents: tuple[str, ...] = AGENTS, dry_run: bool = False, all_history: bool = False
) -> Start:
    """Begin a capture in the repository whose common git dir is ``common_dir`` (see ``run``'s ``started``)."""
    began = time.time()
    where = state.folder_in(common_dir)
    stack = contextlib.ExitStack()
    try:
        if not dry_run:
            stack.enter_context(state.locked(where))
        current = state.load_from(where)
        reading = scan.start(current, agents, all_history=all_history)
    except BaseException:
        stack.close()
        raise
    return Start(where, (tuple(agents), dry_run, all_history), began, current, reading, stack)


def run(
    repo: Repo,
    *,
    agents: tuple[str, ...] = AGENTS,
    since: float | None = None,
    dry_run: bool = False,
    all_history: bool = False,
    progress: scan.Progress | None = None,
    started: Start | None = None,
) -> Result:
    """Capture the usage the selected agents logged since the last capture (``all_history``: ever).

    ``started``: this capture's ``start``, made before the repository was opened (the caller closes it);
    used when it is for this repository and these options, else closed and started again."""
    options = (tuple(agents), dry_run, all_history)
    if started is not None and (started.folder, started.options) == (state.folder(repo), options):
        return _run(repo, started, since, progress)
    if started is not None:
        started.close()
    with start(repo.common_dir, agents=agents, dry_run=dry_run, all_history=all_history) as own:
        return _run(repo, own, since, progress)


def _run(repo: Repo, started: Start, since: float | None, progress: scan.Progress | None) -> Result:
    from gitokens import ledger, totals  # not before the worker is forked: it loads pygit2

    agents, dry_run, all_history = started.options
    current = started.current
    with _without_cyclic_gc():
        result = Result({agent: scan.AgentSummary(agent) for agent in agents}, dry_run=dry_run)
        if current.horizon is None:
            current.horizon = attribute.horizon(repo)
        floor = since if since is not None else -math.inf if all_history else current.horizon
        walk = functools.partial(gitbin.first_parent_times, str(repo.git_dir))  # the worker gets it too
        chains = attribute.Chains(repo.branch_tips(), walk, floor)
        context = scan.Context(scan.Inside(repo.worktree_roots()), chains, floor)
        found = scan.read(started.reading, current, result.agents, context, all_history=all_history, progress=progress)
        selected = {SOURCES[a] for a in agents}
        for message in (m for msgs in current.pending.values() for m in msgs):
            commit = chains.commit_at(message.branch, message.epoch) if message.branch else None
            if message.source not in selected or commit is None:
                found.pending.setdefault(message.branch or "", []).append(message)
            else:
                key = (commit, message.source, message.session, message.model, message.branch)
                attribute.add(found.groups, key, message)
        _summarize(result, found)
        records = _records(repo, found)
        result.records = _new_records(repo, records)
        result.already = len(records) - len(result.records)
        if dry_run:
            return result
        if result.records:
            by_commit: dict[str, list[Record]] = {}
            for rec in result.records:
                by_commit.setdefault(rec.commit or "", []).append(rec)
            written = ledger.append(repo, by_commit, "Notes added by 'git tokens capture'", timeout=5.0)
            totals.advance(repo, written, result.records)
        for marks in found.taken:
            for mark in marks:
                current.mark_seen(mark)
        current.pending = found.pending
        state.save(current, started.began)
    return result


@contextlib.contextmanager
def _without_cyclic_gc() -> Iterator[None]:
    """Tens of thousands of parsed objects and no cycles: the cyclic collector would only rescan them."""
    collecting = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if collecting:
            gc.enable()


def _summarize(result: Result, found: scan.Found) -> None:
    """The commits and waiting calls of each agent (the scan counted the rest)."""
    by_source = {SOURCES[a]: s for a, s in result.agents.items()}
    for key, group in found.groups.items():
        summary = by_source[key[1]]
        summary.commits.add(key[0])
        summary.attached += group[0]
    for msgs in found.pending.values():
        for m in msgs:
            if m.source in by_source:
                by_source[m.source].waiting += 1


def _records(repo: Repo, found: scan.Found) -> list[Record]:
    author = repo.user_email()
    return [attribute.record(key, group, author) for key, group in sorted(found.groups.items(), key=_order)]


def _order(item: tuple[attribute.GroupKey, attribute.Group]) -> tuple[str, ...]:
    return tuple(part or "" for part in item[0])


def _new_records(repo: Repo, records: list[Record]) -> list[Record]:
    """The records whose id is not on their commit's note already (a second capture, another clone)."""
    lines = repo.note_lines({r.commit for r in records if r.commit})
    present: set[str] = set()
    for line in (line for note in lines.values() for line in note):
        if line.strip():
            with contextlib.suppress(ValueError, AttributeError):
                present.add(json.loads(line).get("id"))
    return [r for r in records if r.id not in present]


def after_commit(repo: Repo) -> Iterator[str]:
    """The post-commit hook's capture: what it attached, one line per agent. Not during a rebase,
    cherry-pick or ``git am``: their commits replace others, and the usage waits for the next commit."""
    action = os.environ.get("GIT_REFLOG_ACTION", "").split()
    if repo.operation_in_progress() or action[:1] in (["rebase"], ["cherry-pick"], ["am"]):
        return
    result = run(repo)
    for summary in result.agents.values():
        if summary.attached or summary.waiting:
            commits = ", ".join(sorted(c[:7] for c in summary.commits)) or "no commit yet"
            yield (
                f"gitokens: {SOURCES[summary.agent]}: {summary.attached} message(s) attached to {commits}; "
                f"{summary.waiting} waiting for the next commit"
            )


def describe(result: Result) -> list[str]:
    """The capture's report, per agent: sessions, messages, tokens, commits, what waits and what was left out."""
    lines = []
    for summary in result.agents.values():
        name = SOURCES[summary.agent]
        if summary.messages or summary.attached or summary.waiting:
            line = (
                f"{name}: {_n(len(summary.sessions), 'session')}, {_n(summary.messages, 'new message')}, "
                f"{summary.tokens:,} tokens; {summary.attached} message(s) attributed to "
                f"{_n(len(summary.commits), 'commit')}"
            )
            if summary.waiting:
                line += f"; {summary.waiting} waiting for the next commit"
        else:
            line = f"{name}: no new usage ({_n(summary.files_read, 'log file')} read)"
        lines.append(line)
        left = [
            (summary.duplicates, "duplicate copies"),
            (summary.elsewhere, "from other directories"),
            (summary.older, "from before the first capture here (--all-history or --since takes them)"),
            (summary.no_branch, "without a branch"),
        ]
        if any(count for count, _ in left):
            lines.append("  left out: " + ", ".join(f"{count} {what}" for count, what in left if count))
        if summary.malformed:
            shown = ", ".join(summary.malformed[:5]) + (", ..." if len(summary.malformed) > 5 else "")
            lines.append(f"  skipped {_n(len(summary.malformed), 'malformed line')}: {shown}")
    count = _n(len(result.records), "record")
    already = f" ({result.already} already in the ledger)" if result.already else ""
    lines.append(
        f"dry run: would write {count}{already}; nothing written" if result.dry_run else f"wrote {count}{already}"
    )
    return lines


def _n(count: int, noun: str) -> str:
    return f"{count:,} {noun}" + ("" if count == 1 else "s")

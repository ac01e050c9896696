"""Reading the logs: the new lines of every file, parsed, and each call in them placed where it goes.

A call is placed copy by copy, in whichever process parsed its file: made elsewhere (not in this
repository's work trees), older than the floor, waiting for its branch's (or work tree's) next commit,
or added into the group of the record it belongs to (see ``attribute``). Then this process goes through
the files in order and keeps the first copy of each call not taken before: a file's groups are taken
whole, unless one of their copies was a duplicate after all, and then added up again without it.

The files (Claude Code's, then Codex's, then the other agents' logs, read by the registry's readers from
their saved positions) are parsed by this process and a forked worker (``worker``) when there is a lot to
read; the worker starts as soon as the files are listed, before the repository is opened. Which copy of a
call counts does not depend on that. A call whose log names no directory is counted as not attributable
and never placed.
"""

from __future__ import annotations

import marshal
import os
from bisect import bisect_left
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gitokens.capture import attribute, files, state
from gitokens.capture.attribute import Group, GroupKey
from gitokens.capture.model import Message
from gitokens.capture.summary import AgentSummary

if TYPE_CHECKING:
    from gitokens.capture.claude import Candidate
    from gitokens.capture.tiers import Tiers
    from gitokens.capture.worker import Worker

Progress = Callable[[int, int], None]
PARALLEL_BYTES = 32 << 20  # below this, starting a second process costs more than it saves
ELSEWHERE, OLDER, WAITING, NOWHERE = -1, -2, -4, -8  # where a copy went when it is in no group
_MAKE = tuple.__new__  # a named tuple from a plain one, without the keyword-argument constructor
_SEEN = int.from_bytes


@dataclass
class Parsed:
    """One file's new lines, parsed; ``bad`` where the malformed lines are (``file:line``, or a reader's
    own location); ``edges`` the Codex sessions the lines say were forked from (or spawned by) another;
    ``warnings`` a reader's (a locked database)."""

    agent: str
    path: Path
    state: state.FileState | state.Place
    size: int
    candidates: list[Candidate]
    bad: list[str]
    copies: int
    edges: dict[str, str] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)


@dataclass
class Found:
    """What the new lines hold: the groups of the calls attributed to commits, the calls waiting for their
    branch's (or work tree's) next commit, the seen-marks of the calls taken (either way), and the marks of
    those left out as older."""

    groups: dict[GroupKey, Group] = field(default_factory=dict)
    pending: dict[str, list[Message]] = field(default_factory=dict)
    taken: list[tuple[int, ...]] = field(default_factory=list)
    left: list[tuple[int, ...]] = field(default_factory=list)  # marks of calls left out as older than the floor


@dataclass
class Context:
    """What placing a call needs: which directories are this repository's, the branches' chains, the time
    before which usage is left out, the work trees' HEAD reflogs (for calls on no branch) and the models'
    price tiers."""

    inside: Inside
    chains: attribute.Chains
    floor: float
    heads: attribute.HeadLogs
    tiers: Tiers


@dataclass
class Placed:
    """One file's new calls, placed: per copy its key, the mark another kind of copy would have left, the
    marks it leaves and its slot (a group's index, or where it went); the groups; and the copies' messages
    (a ``marshal`` blob when they come from the worker: read only when needed)."""

    agent: str
    path: Path
    state: state.FileState | state.Place
    size: int
    bad: list[str]
    copies: int
    index: list[tuple[int, int | None, tuple[int, ...], int]]
    keys: list[GroupKey]
    groups: list[Group]
    rows: list[Message] | bytes
    edges: dict[str, str]
    warnings: list[str]

    def messages(self) -> list[Message]:
        if isinstance(self.rows, bytes):
            self.rows = [_MAKE(Message, row) for row in marshal.loads(self.rows)]
        return self.rows


Job = tuple[str, Path, state.FileState | state.Place | None, bool]  # the agent, a file, its state, read it all?


@dataclass
class Reading:
    """A scan's files (Claude Code's, then Codex's, then the other agents'), listed before the repository is
    opened; when there is a lot to read, the worker that parses them with this process has started on them
    already."""

    jobs: list[Job]
    total: int
    worker: Worker | None = None

    def close(self) -> None:
        if self.worker is not None:
            self.worker.close()


def start(current: state.State, listed: files.Listing, *, rescan: bool) -> Reading:
    """The new parts of the listed log files to read (forgetting files deleted or archived away: their
    messages stay seen), and a forked worker parsing them with this process when they are large."""
    for gone in listed.gone(current.files):
        del current.files[gone]
    for gone in listed.gone_places(current.places):
        del current.places[gone]
    native = listed.claude + listed.codex
    total = sum(files.pending_bytes(p, None if rescan else current.files.get(p)) for p in native)
    jobs: list[Job] = [("claude", Path(p), current.files.get(p), rescan) for p in listed.claude]
    jobs += [("codex", Path(p), current.files.get(p), rescan) for p in listed.codex]
    jobs += [(agent, p, current.places.get(str(p)), rescan) for agent, paths in listed.others.items() for p in paths]
    reading = Reading(jobs, total)
    if total >= PARALLEL_BYTES and len(jobs) > 1 and (os.cpu_count() or 1) > 1 and hasattr(os, "fork"):
        from gitokens.capture.worker import Worker  # here: a small capture starts no process

        reading.worker = Worker(jobs, _parse_job, _place, _pack, _unpack)
    return reading


def read(
    reading: Reading,
    current: state.State,
    agents: dict[str, AgentSummary],
    context: Context,
    *,
    rescan: bool,
    progress: Progress | None,
    fresh: frozenset[str] = frozenset(),
) -> Found:
    """The new calls made in this repository's work trees and not taken before, placed. Unless ``rescan``
    (a floor of the user's own), a copy of a call left out before as older than the first capture stays
    left out. The calls of the agents in ``fresh`` (a recapture's) are taken whether taken before or not."""
    nothing = state.Marks()
    done = 0
    run_seen: set[int] = set()
    found = Found()
    results: Iterator[Placed | None] = (
        reading.worker.results(context)
        if reading.worker is not None
        else (_placed(job, context) for job in reading.jobs)
    )
    for result in results:
        if result is None:
            continue
        summary = agents[result.agent]
        summary.files_read += 1
        summary.bytes_read += result.size
        summary.duplicates += result.copies
        summary.malformed.extend(result.bad)
        summary.warnings.extend(result.warnings)
        current.sessions.update(result.edges)
        seen = nothing if result.agent in fresh else current.seen
        _take(result, summary, seen, None if rescan else current.left, run_seen, found)
        if isinstance(result.state, state.Place):
            current.places[str(result.path)] = result.state
        else:
            current.files[str(result.path)] = result.state
        done += result.size
        if progress is not None:
            progress(done, reading.total)
    return found


def _take(
    result: Placed,
    summary: AgentSummary,
    seen: state.Marks,
    left: state.Marks | None,
    run_seen: set[int],
    found: Found,
) -> None:
    """Keep the copies of ``result`` that are the first of their call, and their groups."""
    losers: set[int] = set()
    waiting: list[int] = []
    is_seen = seen.membership()  # not changed while the scan reads
    for at, (own, other, marks, slot) in enumerate(result.index):
        if slot == ELSEWHERE:
            summary.elsewhere += 1
        elif slot == NOWHERE:
            summary.unattributable += 1
        elif own in run_seen or is_seen(own) or (other is not None and (other in run_seen or is_seen(other))):
            summary.duplicates += 1
            if slot >= 0:
                losers.add(at)
        elif left is not None and (own in left or (other is not None and other in left)):
            summary.older += 1  # a late copy of a call from before the first capture (a resumed session)
            if slot >= 0:
                losers.add(at)
        else:
            run_seen.update(marks)
            if slot >= 0:
                found.taken.append(marks)
            elif slot == WAITING:
                found.taken.append(marks)
                waiting.append(at)
            else:
                found.left.append(marks)
                summary.older += 1
    groups: Any = zip(result.keys, result.groups, strict=True)
    if losers:  # added up again from the copies that count
        regrouped: dict[GroupKey, Group] = {}
        messages = result.messages()
        for at, (_, _, _, slot) in enumerate(result.index):
            if slot >= 0 and at not in losers:
                attribute.add(regrouped, result.keys[slot], messages[at])
        groups = regrouped.items()
    for key, group in groups:
        attribute.merge(found.groups, key, group)
        summary.messages += group[0]
        summary.tokens += group[2] + group[3] + group[4] + group[5]
        if key[3] is None:
            summary.no_model += group[0]
        if key[2]:
            summary.sessions.add(key[2])
    if waiting:
        messages = result.messages()
        for at in waiting:
            message = messages[at]
            found.pending.setdefault(state.pending_key(message), []).append(message)
            summary.messages += 1
            summary.tokens += message.tokens
            if message.model is None:
                summary.no_model += 1
            if message.session:
                summary.sessions.add(message.session)


def _place(parsed: Parsed, context: Context) -> Placed:
    """Where each call of one file goes, and the groups of those that go to a commit."""
    root_of, find, heads, floor = context.inside.root, context.chains.find, context.heads.find, context.floor
    roots = context.inside.cache  # the work trees' cache asked first: most calls hit it
    thresholds: dict[tuple[str, str, str | None], list[int]] = {}  # price tiers by model, source and provider
    index: list[tuple[int, int | None, tuple[int, ...], int]] = []
    slots: dict[GroupKey, int] = {}
    members: list[list[Message]] = []  # per slot, its group's calls (added up once all are placed)
    messages: list[Message] = []
    last: tuple[Any, ...] = ()  # where the last group's calls went: a turn's calls mostly go together
    for message, cwd, own, other, marks in parsed.candidates:
        messages.append(message)
        branch, epoch = message.branch, message.epoch
        root = roots[cwd] if cwd in roots else root_of(cwd)
        if root is None:
            index.append((own, other, marks, ELSEWHERE if cwd is not None else NOWHERE))
            continue
        if epoch < floor:
            index.append((own, other, marks, OLDER))
            continue
        hour = int(epoch // 3600)
        model = message.model
        if model is None:
            tier = 0
        else:
            seller = (model, message.source, message.provider)
            starts = thresholds.get(seller)
            if starts is None:
                provider = attribute.PROVIDERS.get(message.source) or message.provider
                starts = thresholds[seller] = context.tiers.starts(model, provider)
            tier = bisect_left(starts, message[7] + message[9] + message[10]) if starts else 0  # the prompt
        place = (branch, root if branch is None else None, message[4:6], hour, tier)
        if last and place == last[0] and last[1] <= epoch < last[2]:
            slot = last[4]
            members[slot].append(message)
        elif (found := find(branch, epoch) if branch is not None else heads(root, epoch)) is None:
            slot = WAITING
            last = ()
            if branch is None:
                messages[-1] = message._replace(worktree=root)
        else:
            commit, low, high = found
            key = (commit, message.source, message.session, message.model, branch, hour, tier)
            slot = slots.setdefault(key, len(slots))
            if slot == len(members):
                members.append([])
            members[slot].append(message)
            last = (place, low, high, key, slot)
        index.append((own, other, marks, slot))
    keys = list(slots)
    return Placed(
        parsed.agent,
        parsed.path,
        parsed.state,
        parsed.size,
        parsed.bad,
        parsed.copies,
        index,
        keys,
        [attribute.group_of(calls) for calls in members],
        messages,
        parsed.edges,
        parsed.warnings,
    )


def _placed(job: Job, context: Context) -> Placed | None:
    parsed = _parse_job(job)
    return None if parsed is None else _place(parsed, context)


def _parse_job(job: Job) -> Parsed | None:
    agent, path, previous, from_start = job
    if agent == "claude" or agent == "codex":
        assert not isinstance(previous, state.Place)
        return (_parse_claude if agent == "claude" else _parse_codex)(path, previous, from_start)
    assert not isinstance(previous, state.FileState)
    return _parse_other(agent, path, previous, from_start)


def _parse_other(agent: str, path: Path, previous: state.Place | None, from_start: bool) -> Parsed | None:
    """One log of an agent read by the registry's reader, from its saved position (from the start, but for
    the totals already counted, when ``from_start``); None when it did not change since."""
    from gitokens.capture.agents import READERS

    reader = READERS[agent]
    signature = files.signature(path)  # before reading: a change during the read is read next time
    if signature is None or (not from_start and previous is not None and previous.signature == signature):
        return None
    at = None if previous is None else previous.at
    reading = reader.read(path, reader.restart(at) if from_start else at)
    candidates: list[Candidate] = []
    for call in reading.calls:
        message = call.to_message()
        key = message.seen_key
        candidates.append((message, call.cwd, key, None, (key,)))
    place = state.Place(agent, signature, reading.position)
    return Parsed(agent, path, place, 0, candidates, reading.malformed, 0, {}, reading.warnings)


def _parse_claude(path: Path, previous: state.FileState | None, from_start: bool) -> Parsed | None:
    from gitokens.capture import claude  # here: a capture of the other agents only does without it

    chunk = files.read_new(path, previous, from_start=from_start)
    if chunk is None:
        return None
    try:
        entries, bad, copies = claude.parse(chunk.data, chunk.start, chunk.end)
        lines = [f"{path}:{chunk.line_of(offset)}" for offset in bad]
    finally:
        chunk.close()
    return Parsed("claude", path, chunk.state, chunk.end - chunk.start, entries, lines, copies)


def _pack(placed: Placed | None) -> tuple[Any, ...] | None:
    """In the worker: a file's placed calls with the bulk in ``marshal`` blobs (pickling tens of thousands
    of small tuples back costs more than parsing them)."""
    if placed is None:
        return None
    rows = [tuple(message) for message in placed.messages()]
    table = marshal.dumps((placed.index, placed.keys, placed.groups))
    head = (placed.agent, placed.path, placed.state, placed.size, placed.bad, placed.copies, placed.edges)
    return *head, placed.warnings, table, marshal.dumps(rows)


def _unpack(packed: tuple[Any, ...]) -> Placed:
    agent, path, file_state, size, bad, copies, edges, warnings, table, rows = packed
    index, keys, groups = marshal.loads(table)
    return Placed(agent, path, file_state, size, bad, copies, index, keys, groups, rows, edges, warnings)


def _parse_codex(path: Path, previous: state.FileState | None, from_start: bool) -> Parsed | None:
    """One rollout's new lines, searched in the mapping of the file (only the lines read are copied); the
    fork edges they name come back with them (the capture adds them to its state in file order)."""
    from gitokens.capture import codex  # here: a capture of the other agents only does without it

    chunk = files.read_new(path, previous, from_start=from_start)
    if chunk is None:
        return None
    edges: dict[str, str] = {}
    try:
        pairs, bad, chunk.state.context = codex.parse(
            chunk.data, 0, chunk.state.context, edges, start=chunk.start, end=chunk.end
        )
        lines = [f"{path}:{chunk.line_of(offset)}" for offset in bad]
    finally:
        chunk.close()
    candidates: list[Candidate] = []
    for message, cwd in pairs:
        key = _SEEN(message[0][:8], "little")  # ``message.seen_key``
        candidates.append((message, cwd, key, None, (key,)))
    return Parsed("codex", path, chunk.state, chunk.end - chunk.start, candidates, lines, 0, edges)


class Inside:
    """Which of the work trees a directory is in (symlinks resolved), if any, and not in a repository nested
    inside one."""

    def __init__(self, roots: list[Path]) -> None:
        self.roots = {str(r) for r in roots}
        self.cache: dict[str | None, str | None] = {None: None}

    def __call__(self, cwd: str | None) -> bool:
        return self.root(cwd) is not None

    def root(self, cwd: str | None) -> str | None:
        """The work tree ``cwd`` is in; None when it is in none of them."""
        if cwd not in self.cache:
            self.cache[cwd] = self._check(os.path.realpath(cwd or ""))
        return self.cache[cwd]

    def _check(self, path: str) -> str | None:
        probe = path
        while True:
            if probe in self.roots:
                return probe
            if os.path.exists(os.path.join(probe, ".git")):
                return None  # the top of another repository (or of a nested one)
            parent = os.path.dirname(probe)
            if parent == probe:
                return None
            probe = parent

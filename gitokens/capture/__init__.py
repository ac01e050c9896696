"""``git tokens capture``: token usage read from the coding agents' logs (Claude Code, Codex and the other
agents of the registry, ``agents``), attached to the commits it went into.

One capture: read what the logs gained since the last one (``files``), parse it (``claude``, ``codex``, the
other agents' readers), keep the messages made in this repository's work trees that were not taken before
(``state``), attribute them to commits or queue them for the next one (``attribute``), write one record per
(commit, session, model, hour, price tier: ``tiers``) that the ledger does not hold yet, and save the state.
A dry run does all but the writing.

May import ``pricing``, ``ledger``, ``git`` (never pygit2 before the worker is forked: ``git.command``
only, until then) and the shared top-level modules; never ``report``, ``share``, ``data``, ``ci`` or ``cli``.
"""

from __future__ import annotations

import contextlib
import functools
import gc
import json
import math
import os
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

from gitokens.capture import attribute, files, state
from gitokens.capture.summary import AgentSummary
from gitokens.git import command

if TYPE_CHECKING:
    from gitokens.capture import scan
    from gitokens.git.repo import Repo
    from gitokens.ledger.record import Record

SOURCES = {
    "claude": "claude-code",
    "codex": "codex",
    "gemini": "gemini-cli",
    "copilot": "copilot-cli",
    "opencode": "opencode",
    "qwen": "qwen-code",
    "goose": "goose",
    "kimi": "kimi-cli",
    "droid": "droid",
    "amp": "amp",
    "kilo": "kilo",
    "pi": "pi",
    "hermes": "hermes",
}
"""The registry's names and sources (``agents.AGENTS``, in its order), written out so that a capture with
nothing new does not load the readers; a test holds the two equal."""
AGENTS = tuple(SOURCES)
NATIVE = ("claude", "codex")  # read on capture's own path; the ones a recapture is for


@dataclass
class Result:
    agents: dict[str, AgentSummary]
    records: list[Record] = field(default_factory=list)
    already: int = 0
    dry_run: bool = False
    replaced: list[Record] = field(default_factory=list)  # records of older rules a recapture replaces
    outdated: bool = False  # the state's messages went into records of older rules: a recapture corrects them


@dataclass(frozen=True)
class Options:
    """What a capture reads: the agents, since when (``since``, a moment; ``all_history``: ever), whether it
    writes, and whether it starts again from nothing (``recapture``)."""

    agents: tuple[str, ...] = AGENTS
    dry_run: bool = False
    all_history: bool = False
    since: float | None = None
    recapture: bool = False

    @property
    def rescan(self) -> bool:
        """Every file is read from its start: the user's own floor, or a recapture."""
        return self.all_history or self.since is not None or self.recapture


@dataclass
class Start:
    """A capture's first steps, which need neither the repository object nor pygit2: the state locked (unless
    a dry run) and loaded, the log files listed, and a large scan's worker parsing already (git then asked
    for the work trees, ``worktrees``). ``reading`` is None when there is nothing to do (``idle``): the scan's
    modules are not even imported. Closing it ends the worker and releases the lock."""

    folder: Path
    options: Options
    began: float  # before any log was looked at: the stamp the next capture's hook compares logs against
    current: state.State
    reading: scan.Reading | None
    stack: contextlib.ExitStack
    worktrees: Callable[[], list[Path]] | None = None  # git's list of work trees, asked while the worker parses

    @property
    def idle(self) -> bool:
        return self.reading is None

    def close(self) -> None:
        try:
            if self.reading is not None:
                self.reading.close()
            if self.worktrees is not None:
                self.worktrees()  # git waited for (at once when the capture took the answer)
        finally:
            self.stack.close()

    def __enter__(self) -> Start:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None) -> None:
        self.close()


def start(common_dir: Path, options: Options | None = None, **chosen: Any) -> Start:
    """Begin a capture in the repository whose common git dir is ``common_dir`` (see ``run``'s ``started``);
    the options as ``Options`` or as its fields."""
    options = options or Options(**chosen)
    began = time.time()
    where = state.folder_in(common_dir)
    stack = contextlib.ExitStack()
    try:
        if not options.dry_run:
            stack.enter_context(state.locked(where))
        current = state.load_from(where)
        if options.recapture:
            current.forget()
        listed = files.listing(options.agents)
        others = [name for name in options.agents if name not in NATIVE]
        idle = _idle(current, options, listed)
        # The other agents' readers load only when their folders changed, or something else is to be read.
        if others and not (idle and files.quiet(current.watch, current.last_capture, others)):
            files.list_others(listed, others)
            current.watch = files.watched(others)
            idle = idle and _idle(current, options, listed)  # their logs listed now
        reading = None
        if not idle:
            from gitokens.capture import scan  # here: with nothing new, neither it nor its parsers load

            reading = scan.start(current, listed, rescan=options.rescan)
    except BaseException:
        stack.close()
        raise
    worktrees = None if reading is None else command.asking_worktrees(common_dir)  # after the fork: git's pipe is ours
    return Start(where, options, began, current, reading, stack, worktrees)


def _idle(current: state.State, options: Options, listed: files.Listing) -> bool:
    """Whether a capture has nothing to do: no log file changed since the last capture read them all, no
    usage waits for a commit, and nothing asks for more (a floor of the user's, a recapture, older rules)."""
    return (
        not options.rescan
        and current.last_capture is not None
        and current.horizon is not None
        and current.rules == attribute.RULES
        and not any(current.pending.values())
        and listed.unchanged(current.files, current.places)
    )


def nothing_new(started: Start) -> Result:
    """The result of an idle capture (``started.idle``), without the repository: the state is saved as a
    capture that read nothing saves it, so the hook's stamp moves on."""
    if not started.options.dry_run:
        state.save(started.current, started.began)
    return Result({agent: AgentSummary(agent) for agent in started.options.agents}, dry_run=started.options.dry_run)


def run(
    repo: Repo,
    options: Options | None = None,
    *,
    progress: scan.Progress | None = None,
    started: Start | None = None,
    **chosen: Any,
) -> Result:
    """Capture the usage the selected agents logged since the last capture; the options as ``Options`` or as
    its fields (``run(repo, dry_run=True)``).

    ``started``: this capture's ``start``, made before the repository was opened (the caller closes it);
    used when it is for this repository and these options, else closed and started again."""
    options = options or Options(**chosen)
    if started is not None and (started.folder, started.options) == (state.folder(repo), options):
        return _run(repo, started, progress)
    if started is not None:
        started.close()
    with start(repo.common_dir, options) as own:
        return _run(repo, own, progress)


def _run(repo: Repo, started: Start, progress: scan.Progress | None) -> Result:
    if started.reading is None:
        return nothing_new(started)
    from gitokens.capture import scan
    from gitokens.capture.tiers import Tiers

    options, current = started.options, started.current
    with _without_cyclic_gc():
        result = Result({agent: AgentSummary(agent) for agent in options.agents}, dry_run=options.dry_run)
        first = current.last_capture is None
        if current.horizon is None:
            current.horizon = attribute.horizon(repo)
        # The horizon keeps the first capture (and a recapture) to the usage since the commit before HEAD;
        # after it, a call dated earlier arriving late (a log synced from elsewhere) is taken all the same.
        if options.since is not None:
            floor = options.since
        elif options.all_history or not first:
            floor = -math.inf
        else:
            floor = current.horizon
        walk = functools.partial(command.first_parent_times, str(repo.git_dir))  # the worker gets it too
        chains = attribute.Chains(repo.branch_tips(), walk, floor)
        heads = attribute.HeadLogs()
        price_tiers = Tiers(started.folder.parent / "cache" / "tiers.json")
        inside = scan.Inside(repo.worktree_roots(started.worktrees))
        context = scan.Context(inside, chains, floor, heads, price_tiers)
        fresh = frozenset(NATIVE) if options.recapture else frozenset()
        if started.reading.worker is not None:
            # Loaded while the worker parses: making the records comes after both are done, with nothing beside it.
            import gitokens.ledger.record  # noqa: F401
        found = scan.read(
            started.reading, current, result.agents, context, rescan=options.rescan, progress=progress, fresh=fresh
        )
        selected = {SOURCES[a] for a in options.agents}
        for message in (m for msgs in current.pending.values() for m in msgs):
            if message.branch:
                place = chains.find(message.branch, message.epoch)
            else:
                place = heads.find(message.worktree, message.epoch) if message.worktree else None
            if message.source not in selected or place is None:
                found.pending.setdefault(state.pending_key(message), []).append(message)
            else:
                hour = int(message.epoch // 3600)
                provider = attribute.PROVIDERS.get(message.source) or message.provider
                tier = price_tiers.tier(message.model, provider, message.prompt)
                key = (place[0], message.source, message.session, message.model, message.branch, hour, tier)
                attribute.add(found.groups, key, message)
        _summarize(result, found)
        records = _records(repo, found)
        result.records = _new_records(repo, records)
        result.already = len(records) - len(result.records)
        if options.recapture:
            result.replaced = _replaced(repo, found, selected)
        result.outdated = current.rules is not None and current.rules < attribute.RULES
        price_tiers.save()  # a cache, not capture state: kept by a dry run too
        if options.dry_run:
            return result
        tombstones = [_tombstone(rec, repo) for rec in result.replaced]
        if result.records or tombstones:
            from gitokens.ledger import store, totals  # only to write (a dry run does without them)

            by_commit: dict[str, list[Record]] = {}
            for rec in [*result.records, *tombstones]:
                by_commit.setdefault(rec.commit or "", []).append(rec)
            written = store.append(repo, by_commit, "Notes added by 'git tokens capture'", timeout=5.0)
            totals.advance(repo, written, result.records, removed=result.replaced)
        for marks in found.taken:
            for mark in marks:
                current.mark_seen(mark)
        for marks in found.left:
            for mark in marks:
                current.mark_left(mark)
        current.pending = found.pending
        if current.rules is None or options.recapture:
            current.rules = attribute.RULES
            result.outdated = False
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


def _order(item: tuple[attribute.GroupKey, attribute.Group]) -> tuple[str | int, ...]:
    commit, source, session, model, branch, hour, tier = item[0]
    return commit, source, session or "", model or "", branch or "", hour, tier


def _new_records(repo: Repo, records: list[Record]) -> list[Record]:
    """The records whose id is not on their commit's note already (a second capture, another clone)."""
    lines = repo.note_lines({r.commit for r in records if r.commit})
    present: set[str] = set()
    for line in (line for note in lines.values() for line in note):
        if line.strip():
            with contextlib.suppress(ValueError, AttributeError):
                present.add(json.loads(line).get("id"))
    return [r for r in records if r.id not in present]


_OLD_ID = re.compile(r"^(claude-code|codex):[0-9a-f]{32}$")


def _replaced(repo: Repo, found: scan.Found, sources: set[str]) -> list[Record]:
    """The records in effect that a recapture replaces: captured under older rules (no ``requests``), from
    the selected agents, of a session whose calls this recapture read. A session whose logs are gone keeps
    its records: nothing would replace them."""
    from gitokens.ledger import store

    sessions = {key[2] for key in found.groups} | {m.session for msgs in found.pending.values() for m in msgs}
    sessions.discard(None)
    loaded = store.load(repo)
    out = []
    for entry in loaded.entries.values():
        rec = entry.record
        if rec.source in sources and rec.requests is None and rec.session in sessions and _OLD_ID.match(rec.id):
            out.append(rec.replace(commit=entry.attached) if rec.commit != entry.attached else rec)
    return sorted(out, key=lambda r: r.id)


def _tombstone(target: Record, repo: Repo) -> Record:
    """The removal of a record a recapture replaces: its id and time derive from the target, so a recapture
    run again (after being killed, say) writes the same line, not a second one."""
    from gitokens.ledger.record import Record

    return Record.from_dict(
        {
            "id": f"replaced:{target.id}",
            "ts": target.ts,
            "kind": "tombstone",
            "target": target.id,
            "commit": target.commit,
            "branch": target.branch,
            "author": repo.user_email(),
            "source": target.source,
        }
    )


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
    """The capture's report, per agent: sessions, messages, tokens, commits, what waits, what was left out and
    what could not be attributed. Claude Code and Codex always have a line; another agent when the capture
    was narrowed to it or found something in its logs."""
    lines = []
    narrowed = tuple(result.agents) != AGENTS
    for summary in result.agents.values():
        name = SOURCES[summary.agent]
        if not (narrowed or summary.agent in NATIVE or _found_anything(summary)):
            continue
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
        ]
        if any(count for count, _ in left):
            lines.append("  left out: " + ", ".join(f"{count} {what}" for count, what in left if count))
        if summary.unattributable:
            lines.append(
                f"  not attributable: {_n(summary.unattributable, 'call')} whose log does not say which directory "
                "it ran in (not attributed to any repository)"
            )
        lines.extend(f"  warning: {warning}" for warning in summary.warnings)
        if summary.no_model:
            lines.append(
                f"  {_n(summary.no_model, 'call')} without a model: recorded so, and listed as unpriced in reports"
            )
        if summary.malformed:
            shown = ", ".join(summary.malformed[:5]) + (", ..." if len(summary.malformed) > 5 else "")
            lines.append(f"  skipped {_n(len(summary.malformed), 'malformed line')}: {shown}")
    count = _n(len(result.records), "record")
    already = f" ({result.already} already in the ledger)" if result.already else ""
    if result.replaced:
        verb = "would replace" if result.dry_run else "replaced"
        lines.append(f"{verb} {_n(len(result.replaced), 'record')} captured by the older rules (tombstones)")
    if result.outdated:
        lines.append(
            "note: this repository's earlier captures used older rules (streamed calls undercounted, long-context "
            "rates on sums); `git tokens capture --recapture` replaces those records"
        )
    lines.append(
        f"dry run: would write {count}{already}; nothing written" if result.dry_run else f"wrote {count}{already}"
    )
    return lines


def _found_anything(summary: AgentSummary) -> bool:
    return bool(
        summary.files_read
        or summary.messages
        or summary.waiting
        or summary.elsewhere
        or summary.unattributable
        or summary.malformed
        or summary.warnings
    )


def _n(count: int, noun: str) -> str:
    return f"{count:,} {noun}" + ("" if count == 1 else "s")

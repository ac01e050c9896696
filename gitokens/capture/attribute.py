"""Attribution: which commit a message's tokens belong to, and the records that say so.

The convention (it is not causality): usage belongs to the first commit made after it on the branch the
agent named, i.e. to commit C when C's parent was committed before the usage and C at or after it. On a
branch's first-parent chain that is the oldest commit whose committer time is not earlier than the
message. Usage after the branch's last commit waits for the next one.

One record per (commit, agent session, model): the sum of its messages. Its id is the source and the
XOR of the messages' key digests, so the same messages always make the same id, whoever captures them.
"""

from __future__ import annotations

import bisect
import math
from dataclasses import dataclass, field

from gitokens.capture.model import Message, combine, parse_time
from gitokens.git import Repo
from gitokens.records import Record, format_timestamp

_PROVIDERS = {"claude-code": "anthropic", "codex": "openai"}
GroupKey = tuple[str, str, str | None, str | None, str | None]  # commit, source, session, model, branch


@dataclass
class Plan:
    """Where every message goes: a commit's group, the branch's queue, or nowhere (older than the floor)."""

    groups: dict[GroupKey, list[Message]] = field(default_factory=dict)
    pending: dict[str, list[Message]] = field(default_factory=dict)
    older: list[Message] = field(default_factory=list)
    no_branch: list[Message] = field(default_factory=list)


class Chains:
    """Each branch's first-parent chain (oldest first) with the running maximum of committer times."""

    def __init__(self, repo: Repo) -> None:
        self.repo = repo
        self._cache: dict[tuple[str, int | None], tuple[list[str], list[int]]] = {}
        self._tips: dict[str, str | None] = {}

    def tip(self, branch: str) -> str | None:
        if branch not in self._tips:
            self._tips[branch] = self.repo.branch_tip(branch)
        return self._tips[branch]

    def commit_at(self, branch: str, epoch: float, since: int | None) -> str | None:
        tip = self.tip(branch)
        if tip is None:
            return None
        key = (tip, since)
        if key not in self._cache:
            chain = list(reversed(self.repo.first_parent_times(tip, since)))
            highest, running = [], -1
            for _, when in chain:
                running = max(running, when)
                highest.append(running)
            self._cache[key] = ([c for c, _ in chain], highest)
        commits, highest = self._cache[key]
        index = bisect.bisect_left(highest, math.floor(epoch))  # committer times are whole seconds
        return commits[index] if index < len(commits) else None


def plan(repo: Repo, new: list[Message], waiting: list[Message], floor: float) -> Plan:
    """Attribute new messages (those older than ``floor`` are left out) and waiting ones."""
    chains = Chains(repo)
    out = Plan()
    by_branch: dict[str, list[tuple[Message, bool]]] = {}
    for message in new:
        if message.branch is None:
            out.no_branch.append(message)
        elif message.epoch < floor:
            out.older.append(message)
        else:
            by_branch.setdefault(message.branch, []).append((message, False))
    for message in waiting:
        by_branch.setdefault(message.branch or "", []).append((message, True))
    for branch, items in by_branch.items():
        lowest = min(m.epoch for m, _ in items)
        since = int(lowest) - 1 if math.isfinite(lowest) else None
        for message, _ in items:
            commit = chains.commit_at(branch, message.epoch, since) if branch else None
            if commit is None:
                out.pending.setdefault(branch, []).append(message)
            else:
                key = (commit, message.source, message.session, message.model, message.branch)
                out.groups.setdefault(key, []).append(message)
    return out


def horizon(repo: Repo) -> float:
    """Where a repository's first capture starts: the parent of HEAD's commit (so HEAD and the work after it
    get their usage); everything when HEAD is a root commit or unborn."""
    head = repo.head_commit()
    info = repo.commit_info(head) if head else None
    if info is None or not info.parents:
        return -math.inf
    return float(repo.commit_time(info.parents[0]) or 0)


def record(key: GroupKey, messages: list[Message], author: str | None) -> Record:
    """The one record of a group: sums, the latest time, the log's own costs when every message had one
    (``math.fsum``: the same total in any order)."""
    commit, source, session, model, branch = key
    columns = list(zip(*messages, strict=True))
    costs = columns[12]
    cost = round(math.fsum(costs), 10) if None not in costs else None
    latest = max(messages, key=lambda m: (m.epoch, m.key))
    data = {
        "id": f"{source}:{combine(columns[0])}",
        "ts": format_timestamp(parse_time(latest.ts)),
        "source": source,
        "commit": commit,
        "branch": branch,
        "author": author,
        "model": model,
        "provider": _PROVIDERS.get(source),
        "session": session,
        "cost_usd": cost,
        "input_tokens": sum(columns[7]),
        "output_tokens": sum(columns[8]),
        "cache_read_tokens": sum(columns[9]),
        "cache_write_tokens": sum(columns[10]),
        "reasoning_tokens": sum(columns[11]),
    }
    return Record.from_dict({k: v for k, v in data.items() if v is not None or k == "branch"})

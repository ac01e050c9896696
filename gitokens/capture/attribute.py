"""Attribution: which commit a message's tokens belong to, and the records that say so.

The convention (it is not causality): usage belongs to the first commit made after it on the branch the
agent named, i.e. to commit C when C's parent was committed before the usage and C at or after it. On a
branch's first-parent chain that is the oldest commit whose committer time is not earlier than the
message. Usage after the branch's last commit waits for the next one.

A message on no branch (a detached HEAD, or an agent that does not say) belongs to the first commit made
after it in the work tree it ran in, read from that work tree's HEAD reflog (``HeadLogs``).

One record per (commit, agent session, model, branch, UTC hour, price tier): the sum of its messages,
added up in a ``Group`` as they are read. So a record never spans an hour (daily tables are exact in any
whole-hour time zone) and sums only requests that one price tier prices (``tiers``), which keeps it
priceable exactly from its counts and ``requests``. Its id is the source and the XOR of the messages' key
digests (and of ``RULES``), so the same messages always make the same id, whoever captures them and in
whatever order.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Callable
from functools import reduce
from itertools import repeat
from operator import xor
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from gitokens.capture.model import Message

if TYPE_CHECKING:
    from gitokens.git.repo import Repo
    from gitokens.ledger.record import Record

PROVIDERS = {"claude-code": "anthropic", "codex": "openai"}
GroupKey = tuple[str, str, str | None, str | None, str | None, int, int]
"""commit, source, session, model, branch, UTC hour (epoch // 3600), price tier (see ``tiers``)."""
RULES = 2
"""The grouping rules records are captured with. Records of the first rules (one per commit, session and
model; a streamed call's first line; ...) have no ``requests``; their ids lack this salt."""
_SALT = int.from_bytes(b"gitokens-rules-2", "big")
_BIG: Literal["big"] = "big"


Group = list[Any]
"""The running sums of one record: [messages, XOR of the keys, input, output, cache read, cache write,
reasoning, the logged costs (None once a message has none), (epoch, key, ts) of the latest message,
1-hour cache writes, the provider the first message named]. A list, not a class: tens of thousands of
updates, and ``marshal`` carries it between processes."""


class Chains:
    """Each branch's first-parent chain (oldest first) with the running maximum of committer times, loaded
    when a branch is first asked for from a month before the message (not before ``floor``), and again from
    further back when an older message comes."""

    def __init__(self, tips: dict[str, str], walk: Callable[[str, int | None], list[tuple[str, int]]], floor: float):
        self.tips = tips
        self.walk = walk
        self.floor = floor
        self._chains: dict[str, tuple[int, list[str], list[int]]] = {}
        self._margin = 30 * 86400

    def commit_at(self, branch: str, epoch: float) -> str | None:
        """The first commit on ``branch`` made at or after ``epoch``; None when there is none yet."""
        found = self.find(branch, epoch)
        return None if found is None else found[0]

    def find(self, branch: str, epoch: float) -> tuple[str, float, float] | None:
        """``commit_at``, with the times [low, high) of all the usage that goes to that commit too."""
        second = math.floor(epoch)  # committer times are whole seconds
        chain = self._chains.get(branch)
        if chain is None or second <= chain[0]:
            if branch not in self.tips:
                return None
            chain = self._chains[branch] = self._load(self.tips[branch], second)
        since, commits, highest = chain
        index = bisect.bisect_left(highest, second)
        if index == len(commits):
            return None
        return commits[index], (highest[index - 1] if index else since) + 1, highest[index] + 1

    def _load(self, tip: str, second: int) -> tuple[int, list[str], list[int]]:
        since = second - 1 - self._margin
        if 0 < self.floor <= second:  # nothing older than the floor is attributed: no need to go further back
            since = max(since, math.floor(self.floor) - 1)
        self._margin *= 2  # when an older message makes it load again, from further back each time
        chain = list(reversed(self.walk(tip, since)))
        highest, running = [], -1
        for _, when in chain:
            running = max(running, when)
            highest.append(running)
        return since, [c for c, _ in chain], highest


class HeadLogs:
    """Each work tree's commits, from its HEAD reflog: the commits made there, detached or not, with their
    times, for the usage of an agent that ran on no branch. Read when a work tree is first asked for."""

    def __init__(self) -> None:
        self._logs: dict[str, tuple[list[str], list[int]]] = {}

    def find(self, root: str, epoch: float) -> tuple[str, float, float] | None:
        """The first commit made in the work tree ``root`` at or after ``epoch``, with the times [low, high)
        of all the usage that goes to it; None when there is none yet."""
        logs = self._logs.get(root)
        if logs is None:
            logs = self._logs[root] = _head_log(root)
        commits, highest = logs
        index = bisect.bisect_left(highest, math.floor(epoch))
        if index == len(commits):
            return None
        return commits[index], (highest[index - 1] + 1 if index else -math.inf), highest[index] + 1


def _head_log(root: str) -> tuple[list[str], list[int]]:
    """The commits in ``root``'s HEAD reflog (``commit``, ``commit (amend)``, ``commit (merge)``, ...), oldest
    first, with the running maximum of their times."""
    commits: list[str] = []
    highest: list[int] = []
    try:
        text = (_git_dir(Path(root)) / "logs" / "HEAD").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return commits, highest
    running = -1
    for line in text.splitlines():
        head, _, message = line.partition("\t")
        parts = head.split(" ")
        if not message.startswith("commit") or len(parts) < 4:
            continue
        try:
            when = int(parts[-2])
        except ValueError:
            continue
        running = max(running, when)
        commits.append(parts[1])
        highest.append(running)
    return commits, highest


def _git_dir(root: Path) -> Path:
    """A work tree's own git dir: ``.git``, or where a linked work tree's ``.git`` file points."""
    dot = root / ".git"
    if dot.is_file():
        text = dot.read_text(encoding="utf-8", errors="replace").strip()
        if text.startswith("gitdir:"):
            target = Path(text[7:].strip())
            return target if target.is_absolute() else (root / target).resolve()
    return dot


def add(groups: dict[GroupKey, Group], key: GroupKey, message: Message) -> None:
    """Count one message into its record's group."""
    digest, epoch, ts, _, _, _, _, inp, out, read, write, reasoning, cost, write_1h, _, provider = message
    group = groups.get(key)
    if group is None:
        costs = None if cost is None else [cost]
        latest = (epoch, digest, ts)
        groups[key] = [
            1,
            int.from_bytes(digest, "big"),
            inp,
            out,
            read,
            write,
            reasoning,
            costs,
            latest,
            write_1h,
            provider,
        ]
        return
    group[0] += 1
    group[1] ^= int.from_bytes(digest, "big")
    group[2] += inp
    group[3] += out
    group[4] += read
    group[5] += write
    group[6] += reasoning
    group[9] += write_1h
    if group[7] is not None:
        if cost is None:
            group[7] = None
        else:
            group[7].append(cost)
    if epoch >= group[8][0] and (epoch, digest, ts) > group[8]:
        group[8] = (epoch, digest, ts)


def group_of(messages: list[Message]) -> Group:
    """The group ``add`` makes of ``messages`` one by one (in order), added up column by column: for a file's
    calls, placed all before any is added up."""
    columns = list(zip(*messages, strict=True))
    keys, costs = columns[0], columns[12]
    return [
        len(messages),
        reduce(xor, map(int.from_bytes, keys, repeat(_BIG))),
        sum(columns[7]),
        sum(columns[8]),
        sum(columns[9]),
        sum(columns[10]),
        sum(columns[11]),
        None if None in costs else list(costs),
        max(zip(columns[1], keys, columns[2], strict=True)),  # the latest (epoch, key, ts), as ``add`` keeps it
        sum(columns[13]),
        columns[15][0],
    ]


def merge(groups: dict[GroupKey, Group], key: GroupKey, other: Group) -> None:
    """Add the group ``other`` (of other messages) into ``groups[key]``."""
    group = groups.get(key)
    if group is None:
        groups[key] = other
        return
    group[0] += other[0]
    group[1] ^= other[1]
    for at in range(2, 7):
        group[at] += other[at]
    group[7] = None if group[7] is None or other[7] is None else group[7] + other[7]
    group[8] = max(group[8], other[8])
    group[9] += other[9]
    group[10] = group[10] or other[10]


def horizon(repo: Repo) -> float:
    """Where a repository's first capture starts: the parent of HEAD's commit (so HEAD and the work after it
    get their usage); everything when HEAD is a root commit or unborn."""
    head = repo.head_commit()
    info = repo.commit_info(head) if head else None
    if info is None or not info.parents:
        return -math.inf
    return float(repo.commit_time(info.parents[0]) or 0)


def record(key: GroupKey, group: Group, author: str | None) -> Record:
    """The one record of a group: sums, the latest time, the log's own costs when every message had one
    (``math.fsum``: the same total in any order)."""
    commit, source, session, model, branch, _, _ = key
    requests, xor, inp, out, read, write, reasoning, costs, (_, _, ts), write_1h, provider = group
    data = {
        "id": f"{source}:{xor ^ _SALT:032x}",
        "ts": ts,  # made canonical by the record's own check
        "source": source,
        "commit": commit,
        "branch": branch,
        "author": author,
        "model": model,
        "provider": PROVIDERS.get(source) or provider,
        "session": session,
        "cost_usd": None if costs is None else round(math.fsum(costs), 10),
        "input_tokens": inp,
        "output_tokens": out,
        "cache_read_tokens": read,
        "cache_write_tokens": write,
        "reasoning_tokens": reasoning,
        "cache_write_1h_tokens": write_1h,
        "requests": requests,
    }
    from gitokens.ledger.record import Record  # here: a capture with nothing new does without it

    return Record.from_dict(data)

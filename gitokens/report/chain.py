"""The default branch's first-parent chain and what each merge on it brought in, cached by the branch's tip
in ``<git-common-dir>/gitokens/cache/first-parents-<layout>.marshal``.

A branch's first-parent history only grows: when the tip has moved on and the cached tip is on the new
tip's first-parent chain, git walks only the commits in between and the cached chain is extended.
Anything else (a reset or a force push that dropped the cached tip, a file that does not read back exactly
as written, a walk that does not end on the cached tip) walks the whole chain again. Commit ids name their
history, so a chain cached for a tip is that tip's chain for good; except in a shallow clone, whose chain
is walked every time.
"""

from __future__ import annotations

import marshal
import os
import tempfile
import zlib
from collections.abc import Callable
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from pathlib import Path

from gitokens.errors import UnknownRevision
from gitokens.git.repo import FirstParents, Repo

_LAYOUT = 1
_FILE = f"first-parents-{_LAYOUT}.marshal"

# What a merge on the chain brought in: itself and ``M^1..M^2``; None for a commit with one parent.
Step = tuple[str, list[str] | None]


@dataclass
class Chain:
    """``tip``'s first-parent chain, newest first, and the commits each merge on it brought in."""

    tip: str
    commits: list[str]
    merged: dict[str, list[str]]

    def steps(self, wanted: AbstractSet[str]) -> list[Step]:
        """Newest first, each merge on the chain and each commit of ``wanted`` on it."""
        merged = self.merged
        return [(c, merged.get(c)) for c in self.commits if c in merged or c in wanted]


def first_parents(repo: Repo, tip: str) -> Callable[[AbstractSet[str]], list[Step]]:
    """Start finding ``tip``'s chain: from the cache, else by extending the cached chain, else by walking it
    all. git walks while the caller does something else; the returned function waits for the chain and
    gives ``Chain.steps``. What it found is cached."""
    # A shallow clone's history grows at the bottom when it is deepened: its chain is never cached.
    shallow = (repo.common_dir / "shallow").exists()
    cached = None if shallow else _read(repo)
    if cached is not None and cached.tip == tip:
        return cached.steps
    walk = repo.first_parent_walk(tip, stop=cached.tip if cached is not None else None)

    def steps(wanted: AbstractSet[str]) -> list[Step]:
        if cached is None:
            chain = _walked(repo, walk(), [], {})
        else:
            chain = _extended(repo, cached, walk) or _walked(repo, repo.first_parent_walk(tip)(), [], {})
        if not shallow:
            _write(repo, chain)
        return chain.steps(wanted)

    return steps


def _extended(repo: Repo, cached: Chain, walk: Callable[[], FirstParents]) -> Chain | None:
    """``cached`` extended by the commits walked from the new tip down to the cached tip; None unless the
    walk is one first-parent line ending on the cached tip."""
    try:
        walked = walk()
    except UnknownRevision:  # the cached tip is gone (gc after a force push)
        return None
    if not walked.commits:  # the new tip is behind the cached one, or the same commit
        return None
    if walked.firsts != [*walked.commits[1:], cached.tip]:
        return None
    return _walked(repo, walked, cached.commits, cached.merged)


def _walked(repo: Repo, walked: FirstParents, below: list[str], merged: dict[str, list[str]]) -> Chain:
    """The chain ``walked`` (newest first) on top of the chain ``below``, whose merges are ``merged``."""
    merged = dict(merged)
    for commit, parents in walked.merges.items():
        merged[commit] = [commit, *repo.commits_between(parents[0], parents[1])]
    commits = walked.commits + below
    return Chain(tip=commits[0], commits=commits, merged=merged)


def _path(repo: Repo) -> Path:
    return repo.state_dir() / "cache" / _FILE


def _read(repo: Repo) -> Chain | None:
    """The cached chain, of whichever tip it was walked from; None when missing or in any doubt."""
    try:
        data = _path(repo).read_bytes()
        if len(data) < 4 or zlib.crc32(data[4:]) != int.from_bytes(data[:4], "big"):
            return None
        payload = data[4:]
        tip, commits, merged = marshal.loads(payload)
    except (OSError, ValueError, EOFError, TypeError):
        return None
    valid = (
        isinstance(tip, str)
        and isinstance(commits, list)
        and isinstance(merged, dict)
        and bool(commits)
        and commits[0] == tip
        and all(isinstance(c, str) for c in commits)
        and all(isinstance(m, list) and m and m[0] == c for c, m in merged.items())
    )
    return Chain(tip=tip, commits=commits, merged=merged) if valid else None


def _write(repo: Repo, chain: Chain) -> None:
    path = _path(repo)
    payload = marshal.dumps((chain.tip, chain.commits, chain.merged))
    tmp = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".marshal")
        with os.fdopen(fd, "wb") as handle:
            handle.write(zlib.crc32(payload).to_bytes(4, "big") + payload)
        os.replace(tmp, path)
    except OSError:
        if tmp is not None:
            Path(tmp).unlink(missing_ok=True)
        # a cache that cannot be written only makes the next report slower

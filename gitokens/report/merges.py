"""Merges and pull requests: what each merge into the default branch brought in.

The default branch's first-parent chain is walked: a merge M brings in ``M^1..M^2`` and its own records;
a single-parent commit holding records first attached elsewhere and made on another branch (``git tokens
carry`` after a squash merge) is a squash merge. The PR number and source branch come from the message
(GitHub's "Merge pull request #12 from owner/branch", git's "Merge branch 'x'", a squash's "Title (#12)"),
else from the records' own branch.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from collections.abc import Set as AbstractSet
from datetime import UTC, datetime
from typing import Any

import numpy as np

from gitokens.git.repo import CommitInfo, Repo
from gitokens.report.aggregate import MODEL, PROVIDER, UNKNOWN, Records, share
from gitokens.report.chain import Step
from gitokens.report.columns import Columns, distinct
from gitokens.report.model import Merge, Totals

_PR_MERGE = re.compile(r"^Merge pull request #(\d+) from [^/\s]+/(\S+)")
_BRANCH_MERGE = re.compile(r"^Merge (?:remote-tracking )?branch '([^']+)'")
_SQUASH_PR = re.compile(r"\(#(\d+)\)\s*$")
_NONE = np.zeros(0, dtype=np.intp)


def walk_merges(
    repo: Repo,
    default: str,
    history: Callable[[AbstractSet[str]], list[Step]],
    columns: Columns,
    records: Records,
) -> tuple[list[Merge], np.ndarray]:
    """The merges and squash merges along the default branch's first-parent chain (``chain.first_parents``),
    and the rows of every record they brought in (for their totals: sessions are counted, not summed)."""
    on_commit, squashes = _by_commit(columns, records, default)
    merges = []
    every: list[np.ndarray] = []
    for commit, merged in history(squashes):
        if merged is not None:
            members, kind = merged, "merge"
        elif commit in squashes:
            members, kind = [commit], "squash"
        else:
            continue
        brought = on_commit.rows(members)
        if len(brought):
            info = repo.commit_info(commit)
            assert info is not None
            brought = distinct(brought)
            merges.append(_merge_row(info, kind, columns, records, brought))
            every.append(brought)
    return merges, distinct(np.concatenate(every)) if every else _NONE


class _OnCommit:
    """The selected records on each commit, looked up by commit id: sorted once, then sliced for the few
    commits merges bring in, rather than an array per commit of a 100,000-commit history."""

    def __init__(self, commits: np.ndarray, indexes: np.ndarray, where: dict[str, int]):
        order = np.argsort(commits, kind="stable")
        self._codes, self._indexes, self._where = commits[order], indexes[order], where

    def rows(self, commits: list[str]) -> np.ndarray:
        """The selected records on ``commits``."""
        codes = np.array([self._where.get(c, -1) for c in commits], dtype=self._codes.dtype)
        starts = np.searchsorted(self._codes, codes, "left").tolist()
        ends = np.searchsorted(self._codes, codes, "right").tolist()
        found = [self._indexes[a:b] for a, b, code in zip(starts, ends, codes.tolist(), strict=True) if code >= 0]
        return np.concatenate(found) if found else _NONE


def _by_commit(columns: Columns, records: Records, default: str) -> tuple[_OnCommit, set[str]]:
    """The selected records on each commit (where each is attached, and every commit a copy of it sits on),
    and the commits that hold records carried from a squash-merged branch: first attached elsewhere, made
    on another branch (an amend's copy on the default branch was first attached elsewhere too, but made on
    the default branch)."""
    selected = np.full(len(columns), -1, dtype=np.intp)
    selected[records.rows] = np.arange(len(records.rows))
    attached, first, branch = columns.texts["attached"], columns.texts["commit"], columns.texts["branch"]
    placed = selected[columns.placed_rows]
    keep = placed >= 0
    single = np.ones(len(records.rows), dtype=bool)
    single[placed[keep]] = False
    indexes = np.concatenate([np.flatnonzero(single), placed[keep]])
    commits = np.concatenate([attached.codes[records.rows[single]], columns.placed_commits[keep]])
    where = {label: code for code, label in enumerate(attached.labels)}
    on_commit = _OnCommit(commits, indexes, where)

    rows = records.rows[indexes]
    branches, firsts = branch.codes[rows], first.codes[rows]
    default_code = branch.labels.index(default) if default in branch.labels else -2
    elsewhere = (branches >= 0) & (branches != default_code) & (firsts >= 0)
    candidates = distinct(firsts[elsewhere])
    first_labels = first.labels
    as_attached = np.array([where.get(first_labels[c], -1) for c in candidates.tolist()], dtype=np.int64)
    first_attached = np.full(len(rows), -1, dtype=np.int64)
    first_attached[elsewhere] = as_attached[np.searchsorted(candidates, firsts[elsewhere])]
    carried = elsewhere & (first_attached != commits)
    return on_commit, {attached.label(code) for code in distinct(commits[carried]).tolist()}


def _merge_row(info: CommitInfo, kind: str, columns: Columns, records: Records, brought: np.ndarray) -> Merge:
    summary, _, body = info.message.partition("\n")
    pr: int | None = None
    source: str | None = None
    title = summary.strip()
    if match := _PR_MERGE.match(summary):
        pr, source = int(match[1]), match[2]
        title = body.strip().split("\n", 1)[0].strip() or title
    elif match := _BRANCH_MERGE.match(summary):
        source = match[1]
    elif match := _SQUASH_PR.search(summary):
        pr = int(match[1])
    if source is None:
        branch = columns.texts["branch"]
        names = [branch.labels[c] for c in branch.codes[records.rows[brought]].tolist() if c >= 0]
        # The branch most of its records name; a tie goes to the first name in sort order.
        source = min(set(names), key=lambda name: (-names.count(name), name)) if names else None
    return Merge(
        commit=info.id,
        merged_at=datetime.fromtimestamp(info.commit_time, UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
        kind=kind,
        pr=pr,
        source_branch=source,
        title=title,
        totals=records.sums(brought),
        by_model=records.table("model", records.group(MODEL, brought)).rows,
        by_provider=records.table("provider", records.group(PROVIDER, brought)).rows,
    )


def merge_totals(merges: list[Merge], total: Totals) -> dict[str, Any]:
    """All merges at once: ``total`` is the totals of every record they brought in."""
    providers: dict[str, int] = {}
    for merge in merges:
        for row in merge.by_provider:
            providers[row.key or UNKNOWN] = providers.get(row.key or UNKNOWN, 0) + row.totals.total_tokens
    return {
        "merges": len(merges),
        **total.to_dict(),
        "provider_split": [
            {"provider": name, "total_tokens": tokens, "share": share(tokens, total.total_tokens)}
            for name, tokens in sorted(providers.items(), key=lambda kv: -kv[1])
        ],
    }

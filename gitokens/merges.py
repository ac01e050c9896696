"""Merges and pull requests: what each merge into the default branch brought in.

The default branch's first-parent chain is walked: a merge M brings in ``M^1..M^2`` and its own records;
a single-parent commit holding records first attached elsewhere and made on another branch (``git tokens
carry`` after a squash merge) is a squash merge. The PR number and source branch come from the message
(GitHub's "Merge pull request #12 from owner/branch", git's "Merge branch 'x'", a squash's "Title (#12)"),
else from the records' own branch.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from gitokens.aggregate import MODEL, PROVIDER, UNKNOWN, Records, share
from gitokens.git import CommitInfo, Repo
from gitokens.model import Merge, Totals
from gitokens.records import Record

_PR_MERGE = re.compile(r"^Merge pull request #(\d+) from [^/\s]+/(\S+)")
_BRANCH_MERGE = re.compile(r"^Merge (?:remote-tracking )?branch '([^']+)'")
_SQUASH_PR = re.compile(r"\(#(\d+)\)\s*$")


def walk_merges(repo: Repo, default: str, records: Records) -> list[Merge]:
    tip = repo.branch_tip(default)
    if tip is None:
        return []
    on_commit: dict[str, list[int]] = {}
    for i, entry in enumerate(records.entries):
        for commit in entry.placements:
            on_commit.setdefault(commit, []).append(i)
    merges = []
    for commit, parents in repo.first_parents(tip):
        if len(parents) >= 2:
            members = [commit, *repo.commits_between(parents[0], parents[1])]
            kind = "merge"
        else:
            # Carried from a squash-merged branch: first attached elsewhere, made on another branch (an amend's
            # copy on the default branch was first attached elsewhere too, but made on the default branch).
            here = on_commit.get(commit, [])
            if not any(_carried(records.entries[i].record, commit, default) for i in here):
                continue
            members, kind = [commit], "squash"
        brought = sorted({i for c in members for i in on_commit.get(c, [])})
        if brought:
            info = repo.commit_info(commit)
            assert info is not None
            merges.append(_merge_row(info, kind, records, brought))
    return merges


def _carried(record: Record, commit: str, default: str) -> bool:
    return record.commit not in (None, commit) and record.branch not in (None, default)


def _merge_row(info: CommitInfo, kind: str, records: Records, brought: list[int]) -> Merge:
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
        branches = [b for b in (records.entries[i].record.branch for i in brought) if b]
        source = max(set(branches), key=branches.count) if branches else None
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


def merge_totals(merges: list[Merge]) -> dict[str, Any]:
    total = Totals()
    for merge in merges:
        total.add(merge.totals)
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

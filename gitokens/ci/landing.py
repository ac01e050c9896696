"""Where a pull request landed, from the workflow's event: the squash or rebase merge ``git tokens ci`` carries onto.

On a merged ``pull_request`` event the payload names the head and the commit that landed
(``merge_commit_sha``). On a push to the default branch, each pushed commit whose subject ends in
``(#N)`` (GitHub's squash merge) is paired with the head GitHub keeps at ``refs/pull/N/head``. Records
go only onto the commits that landed: ``landed`` for a squash, the copies ending at ``landed`` for a
rebase merge.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from gitokens.ci.workflow import Event
from gitokens.git import notes
from gitokens.git.repo import Repo
from gitokens.ledger import store
from gitokens.share import carry

_SQUASH_PR = re.compile(r"\(#(\d+)\)\s*$")
_MAX_PUSHED = 200  # commits of one push looked at for squash merges


def carry_landed(
    repo: Repo, ledger: Callable[[], store.Ledger], event: Event, default: str | None, remote: str | None
) -> tuple[bool, list[str], list[str]]:
    """Carry the records of the pull request(s) that just landed: whether anything was written, log lines,
    and Markdown lines for the summary. ``ledger`` gives the loaded ledger, asked for only when there is
    something to carry (building a record per row costs more than the rest of a run)."""
    loaded: store.Ledger | None = None
    log: list[str] = []
    summary: list[str] = []
    landings: list[tuple[int, str | None, str]] = []
    number, landed = event.pr_number, event.merge_commit
    if number is not None and landed is not None:
        head = event.pr_head[0]
        if head is not None and not repo.commit_exists(head) and remote is not None:
            head = notes.fetch_ref(repo, remote, f"refs/pull/{number}/head")
        landings.append((number, head, landed))
    branch, before, after = event.pushed
    if branch is not None and branch == default and after is not None and repo.commit_exists(after):
        exclude = before if before is not None and repo.commit_exists(before) else None
        pushed = notes.single_parent_commits(repo, exclude, after) if exclude else [after]
        for commit in reversed(pushed[:_MAX_PUSHED]):
            info = repo.commit_info(commit)
            match = _SQUASH_PR.search(info.summary) if info is not None else None
            if match and remote is not None:
                pr = int(match[1])
                landings.append((pr, notes.fetch_ref(repo, remote, f"refs/pull/{pr}/head"), commit))
    wrote = False
    for pr, head, target in landings:
        if head is None or not repo.commit_exists(target):
            log.append(f"carry: #{pr}: its commits are not in this clone; nothing carried")
            continue
        pairs, how = landing(repo, head, target)
        if not pairs:
            log.append(f"carry: #{pr}: {how}")
            continue
        if loaded is None:
            loaded = ledger()
        done = carry.run(repo, loaded, pairs)
        log.append(f"carry: #{pr} was {how}: {done.count} record(s) carried")
        if done.count:
            summary.append(f"Carried {done.count} record(s) of #{pr} ({how}) onto `{target[:10]}`.")
            wrote = True
            loaded = store.load(repo)
    return wrote, log, summary


def landing(repo: Repo, head: str, landed: str) -> tuple[dict[str, str], str]:
    """How ``head`` landed as ``landed``: source -> target pairs (onto ``landed`` and what it brought), and how.

    A rebase merge when each of the pull request's commits has its copy (same patch id) among the commits
    that end at ``landed``; a squash merge when ``landed`` alone holds the pull request's whole change.
    """
    if notes.is_ancestor(repo, head, landed):
        return {}, "merged with a merge commit or fast-forward: its records are in the history already"
    base = notes.merge_base(repo, head, landed)
    info = repo.commit_info(landed)
    if base is None or info is None or len(info.parents) != 1:
        return {}, f"{landed[:10]} is not a squash or rebase of it; nothing carried"
    own = notes.single_parent_commits(repo, base, head)
    chain = [info]  # a rebase merge lands one copy per commit: only the last len(own) commits up to ``landed``
    while len(chain) < len(own) and len(chain[-1].parents) == 1:
        parent = repo.commit_info(chain[-1].parents[0])
        if parent is None or len(parent.parents) != 1:
            break
        chain.append(parent)
    if len(own) > 1 and len(chain) == len(own):
        pairs, unmatched = carry.match_by_patch(repo, own, chain[-1].parents[0], landed)
        if not unmatched and len(set(pairs.values())) == len(own):
            return pairs, f"rebase-merged ({len(own)} commit(s) up to {landed[:10]})"
    whole = notes.diff_patch_id(repo, base, head)
    if (whole is not None and whole == notes.diff_patch_id(repo, info.parents[0], landed)) or (
        notes.tree_changes(repo, base, head) == notes.tree_changes(repo, info.parents[0], landed)
    ):
        return dict.fromkeys(repo.commits_between(base, head), landed), f"squash-merged as {landed[:10]}"
    return {}, f"{landed[:10]} does not hold its changes (edited while merging?); nothing carried"

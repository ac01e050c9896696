"""Carrying records from some commits onto another: what squash and rebase merges need.

``git merge --squash``, cherry-pick and every server-side squash or rebase merge make new commits
without notes. ``carry`` copies the records on the merged commits onto the commit that landed, line for
line (same id, same ``commit`` provenance), so the report counts them once, attributes them to the
squash commit, and keeps them when the source commits are garbage-collected (and their notes pruned).

What is carried from the source commits: every record in effect, every removed record together with
its tombstones, and every tombstone found there, so that a removal keeps its effect wherever its
target lives. Lines on the sources that are not valid records stay where they are.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from gitokens.errors import UsageError
from gitokens.git import notes
from gitokens.git.repo import Repo
from gitokens.ledger import store as ledger_mod
from gitokens.ledger import totals
from gitokens.ledger.record import Record, RecordId
from gitokens.ledger.store import Entry, Ledger

_FULL_ID = re.compile(r"^[0-9a-f]{40}([0-9a-f]{24})?$")
MESSAGE = "Notes added by 'git tokens carry'"


def carry(repo: Repo, ledger: Ledger, sources: list[str], onto: str) -> list[Record]:
    """Copy the records on ``sources`` onto ``onto`` in one ledger write; returns the records written.

    ``sources`` are revisions or full commit ids (a full id may name a commit that is gone: its note
    is still in the ledger). Records already on ``onto`` are skipped, so carrying twice writes nothing.
    """
    target = repo.resolve_commit(onto)
    origins = {_commit_id(repo, source) for source in sources} - {target}
    chosen: dict[RecordId, Record] = {}
    removed_targets: set[RecordId] = set()
    for entry in _on(origins, ledger.entries.values()):
        chosen[entry.record.id] = entry.record
    for entry in _on(origins, ledger.removed.values()):
        chosen[entry.record.id] = entry.record
        removed_targets.add(entry.record.id)
    for tomb in ledger.tombstones:
        if tomb.record.target in removed_targets or origins.intersection(tomb.placements):
            chosen[tomb.record.id] = tomb.record
    already = _placed_on(target, ledger)
    new = [record for record_id, record in sorted(chosen.items()) if record_id not in already]
    if new:
        written = ledger_mod.append(repo, {target: new}, MESSAGE)
        # Copies add no id the ledger did not have: the per-branch totals are unchanged, only newer.
        totals.advance(repo, written, [])
    return new


def _commit_id(repo: Repo, source: str) -> str:
    text = source.strip().lower()
    return text if _FULL_ID.match(text) else repo.resolve_commit(source)


def _on(commits: set[str], entries: Iterable[Entry]) -> Iterable[Entry]:
    return (entry for entry in entries if commits.intersection(entry.placements))


def _placed_on(commit: str, ledger: Ledger) -> set[RecordId]:
    pools = (ledger.entries.values(), ledger.removed.values(), ledger.tombstones)
    return {entry.record.id for pool in pools for entry in pool if commit in entry.placements}


# -- which commits, onto which: the command's sources, rebase and squash merges ------------------------


class CarryError(UsageError):
    """What to carry, or where to, cannot be decided."""


@dataclass
class Carried:
    """What one ``git tokens carry`` did: records written per target, and lines to show."""

    written: dict[str, list[Record]] = field(default_factory=dict)
    messages: list[str] = field(default_factory=list)

    @property
    def count(self) -> int:
        return sum(len(records) for records in self.written.values())


def source_commits(repo: Repo, sources: Iterable[str], default: str | None) -> list[str]:
    """Commits named by ``base..tip`` ranges, branches (their commits not on ``default``) and single commits."""
    found: list[str] = []
    for source in sources:
        if ".." in source and "..." not in source:
            start, _, end = source.partition("..")
            found += repo.commits_between(repo.resolve_commit(start or "HEAD"), repo.resolve_commit(end or "HEAD"))
        elif notes.has_branch(repo, source) and default and source != default:
            found += repo.commits_between(repo.resolve_commit(default), repo.resolve_commit(source))
        else:
            found.append(_commit_id(repo, source))
    return list(dict.fromkeys(found))


def match_by_patch(repo: Repo, sources: list[str], exclude: str, include: str) -> tuple[dict[str, str], list[str]]:
    """Pair each source commit with the commit in ``exclude..include`` that has its patch id (cherry-picks, rebases).

    Returns source -> target, and the sources nothing matched.
    """
    targets: dict[str, str] = {}
    for commit, patch in notes.patch_ids(repo, exclude, include).items():
        targets.setdefault(patch, commit)
    pairs: dict[str, str] = {}
    unmatched: list[str] = []
    for source in sources:
        own = _patch_of(repo, source)
        if own is not None and own in targets:
            pairs[source] = targets[own]
        else:
            unmatched.append(source)
    return pairs, unmatched


def _patch_of(repo: Repo, commit: str) -> str | None:
    info = repo.commit_info(commit)
    if info is None or len(info.parents) != 1:
        return None
    return notes.diff_patch_id(repo, info.parents[0], commit)


def find_landing(repo: Repo, branch: str, default: str) -> tuple[str, dict[str, str]]:
    """Where ``branch`` landed on ``default``: ("rebase", each commit -> its copy) or ("squash", each -> the one).

    Decided from the graph and patch ids: every commit of the branch found again on ``default`` by its
    patch id is a rebase merge; one commit on ``default`` whose change equals the branch's whole change
    (same patch id, or the same files ending with the same content) is a squash merge.
    """
    tip, main = repo.resolve_commit(branch), repo.resolve_commit(default)
    if notes.is_ancestor(repo, tip, main):
        raise CarryError(
            f"{branch} is already part of {default} (merged or fast-forwarded): its records count where they are",
            hint="nothing to carry",
        )
    base = notes.merge_base(repo, tip, main)
    if base is None:
        raise CarryError(f"{branch} and {default} share no history", hint="name the commit: --onto COMMIT")
    own = notes.single_parent_commits(repo, base, tip)
    if own:
        pairs, unmatched = match_by_patch(repo, own, base, main)
        if not unmatched and len(set(pairs.values())) == len(own):
            return "rebase", pairs
    whole = notes.diff_patch_id(repo, base, tip)
    landed = notes.single_parent_commits(repo, base, main)
    by_patch = notes.patch_ids(repo, base, main)
    candidates = [c for c in landed if whole is not None and by_patch.get(c) == whole]
    if not candidates:
        wanted = notes.tree_changes(repo, base, tip)
        candidates = [c for c in landed if wanted and _changes_of(repo, c) == wanted]
    sources = repo.commits_between(base, tip)
    if len(candidates) == 1:
        return "squash", dict.fromkeys(sources, candidates[0])
    if not candidates:
        raise CarryError(
            f"cannot tell where {branch} landed: no commit on {default} since {base[:7]} has its changes",
            hint=f"if it was squash-merged with edits, name the commit: git tokens carry {branch} --onto COMMIT",
        )
    raise CarryError(
        f"{branch} could have landed as any of {', '.join(c[:7] for c in candidates)}",
        hint=f"name the one: git tokens carry {branch} --onto COMMIT",
    )


def _changes_of(repo: Repo, commit: str) -> dict[str, str | None]:
    info = repo.commit_info(commit)
    return notes.tree_changes(repo, info.parents[0], commit) if info and info.parents else {}


def run(repo: Repo, ledger: Ledger, pairs: dict[str, str]) -> Carried:
    """Carry each source's records onto its target (``source -> target``); one ledger write per target."""
    outcome = Carried()
    by_target: dict[str, list[str]] = {}
    for source, target in pairs.items():
        by_target.setdefault(target, []).append(source)
    for target, sources in by_target.items():
        written = carry(repo, ledger, sources, target)
        outcome.written[target] = written
    return outcome


def command(
    repo: Repo, ledger: Ledger, sources: list[str], onto: str | None, squash_merged: str | None, default: str | None
) -> Carried:
    """``git tokens carry``: decide the source -> target pairs, carry, and say what happened."""
    if squash_merged is not None:
        if sources or onto:
            raise UsageError("--squash-merged finds the commits and the target itself", hint="drop SOURCE and --onto")
        if default is None:
            raise CarryError("no default branch to look on", hint="set default_branch in .gitokens.yml")
        how, pairs = find_landing(repo, squash_merged, default)
        targets = sorted(set(pairs.values()))
        where = targets[0][:7] if how == "squash" else f"{len(targets)} commit(s) on {default}"
        intro = f"{squash_merged} was {how}-merged as {where}"
    else:
        if not sources or onto is None:
            raise UsageError(
                "name the commits and where they landed",
                hint="git tokens carry base..branch --onto COMMIT, or git tokens carry --squash-merged BRANCH",
            )
        commits = source_commits(repo, sources, default)
        if ".." in onto:
            start, _, end = onto.partition("..")
            pairs, unmatched = match_by_patch(
                repo, commits, repo.resolve_commit(start or "HEAD"), repo.resolve_commit(end or "HEAD")
            )
            intro = f"{len(pairs)} commit(s) matched their copies in {onto} by patch id"
            if unmatched:
                intro += f"; no copy of {', '.join(c[:7] for c in unmatched)} (their records stay where they are)"
        else:
            target = repo.resolve_commit(onto)
            pairs = dict.fromkeys(commits, target)
            intro = f"{len(commits)} commit(s) onto {target[:7]}"
    outcome = run(repo, ledger, pairs)
    outcome.messages.append(intro)
    if outcome.count:
        for target, written in outcome.written.items():
            if written:
                outcome.messages.append(f"carried {len(written)} record(s) onto {target[:7]}")
    else:
        outcome.messages.append("nothing new to carry: the records are already there (or there are none)")
    return outcome

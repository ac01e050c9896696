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

from gitokens import ledger as ledger_mod
from gitokens import totals
from gitokens.git import Repo
from gitokens.ledger import Entry, Ledger
from gitokens.records import Record, RecordId

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

"""``git tokens sync``: fetch a remote's ledger, union-merge it into ours, push the result without force.

The merge is git's own ``git notes merge -s cat_sort_uniq``, note by note: against the merge base of
the two notes commits, a note only one side changed is taken from that side as it is, and a note both
sides changed becomes the sorted, unique union of both sides' lines. Where one notes commit contains
the other it is a fast-forward. A commit whose note sits at two fanout depths has its copies joined
into one note whenever the merge touches it (git would concatenate them).

The merge commit is written under the ledger's ref transaction: lock ``refs/notes/tokens``, check that
its tip is still the one the merge was planned on, write, move. If a concurrent ``add`` moved the tip,
the merge is planned again on the new tip, so the ``add`` is kept. A push the remote rejects (someone
pushed first, or a hook declined it) is retried after a jittered pause: fetch, merge, push again.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Literal

from gitokens.errors import GitTokensError, InvalidRecord, LedgerBusy, UsageError
from gitokens.git import notes
from gitokens.git.repo import NOTES_REF, Repo, join_note_lines
from gitokens.ledger.record import line_values

ATTEMPTS = 6  # pushes tried before giving up; the pause before each retry doubles, jittered, up to ~1 s
Change = str | bytes | None  # a note's new content: an existing blob id, new bytes, or no note


class SyncFailed(GitTokensError):
    """The ledger could not be pushed (after every retry); the local ledger keeps everything merged."""


@dataclass(frozen=True)
class Plan:
    """What merging ``remote`` into ``local`` does, planned without writing anything."""

    kind: Literal["up to date", "fast-forward", "merge"]
    local: str | None
    remote: str | None
    changes: dict[str, Change] = field(default_factory=dict)  # for a merge: the notes that change
    received: int = 0  # record lines the merge adds to our notes
    dropped: int = 0  # record lines gone because the remote deleted or edited notes (git's merge does too)
    placed: dict[str, list[notes.Placement]] = field(default_factory=dict)  # where changed notes sit now
    invalid: list[str] = field(default_factory=list)  # received lines that are not records: "commit: why"


@dataclass
class SyncResult:
    remote: str
    received: int = 0
    sent: int = 0
    dropped: int = 0
    merges: list[str] = field(default_factory=list)  # what each merge did ("fast-forward", ...)
    pushed: bool = False
    attempts: int = 0
    tip: str | None = None
    dry_run: bool = False
    invalid: list[str] = field(default_factory=list)  # received lines that are not records, kept as they are

    def describe(self) -> list[str]:
        received = f"{self.received} record(s) received"
        if self.dry_run:
            return [f"dry run: {self.remote}: would receive {self.received} record(s) and send {self.sent}"]
        lines = [f"{self.remote}: {received}, {self.sent} record(s) sent"]
        if self.merges and self.merges[-1] != "up to date":
            lines.append(f"ledger: {self.merges[-1]} to {(self.tip or '')[:12]}")
        if self.attempts > 1:
            lines.append(f"pushed after {self.attempts} attempts (the remote moved or refused in between)")
        return lines


def default_remote(repo: Repo) -> str:
    """The current branch's remote, else ``origin``."""
    branch = repo.head_branch()
    configured = repo.config_get(f"branch.{branch}.remote") if branch else None
    return configured if configured and configured != "." else "origin"


def check_remote(repo: Repo, remote: str) -> None:
    if remote not in notes.remote_names(repo):
        raise UsageError(
            f"no remote named {remote!r}",
            hint="add it with `git remote add NAME URL`, or name another: git tokens sync REMOTE (see `git remote -v`)",
        )


def sync(
    repo: Repo,
    remote: str | None = None,
    *,
    push: bool = True,
    dry_run: bool = False,
    attempts: int = ATTEMPTS,
    sleep: Callable[[float], None] = time.sleep,
) -> SyncResult:
    """Fetch, merge and (unless ``push`` is false or ``dry_run``) push; retried while the remote rejects the push."""
    name = remote or default_remote(repo)
    check_remote(repo, name)
    result = SyncResult(name, dry_run=dry_run)
    last = ""
    for attempt in range(1, attempts + 1):
        result.attempts = attempt
        remote_tip = notes.fetch_notes(repo, name)
        if dry_run:
            planned = plan(repo, repo.notes_tip(), remote_tip)
            result.received, result.dropped, result.invalid = planned.received, planned.dropped, planned.invalid
            result.sent = count_sent(repo, remote_tip, repo.notes_tip(), planned.changes)
            result.tip = repo.notes_tip()
            return result
        done = merge(repo, remote_tip, message=f"Notes merged by 'git tokens sync' from {name}")
        result.received += done.received
        result.dropped += done.dropped
        result.invalid += done.invalid
        result.merges.append(done.kind)
        result.tip = repo.notes_tip()
        if not push or result.tip is None or result.tip == remote_tip:
            return result
        sent = count_sent(repo, remote_tip, result.tip, {})
        pushed = notes.push_notes(repo, name, result.tip)
        if pushed.ok:
            result.pushed, result.sent = True, sent
            return result
        if not pushed.rejected:
            raise SyncFailed(
                f"cannot push the ledger to {name!r}: {pushed.message}",
                hint=f"your ledger is merged and intact locally; check `git push {name}` works, then sync again",
            )
        last = pushed.message
        if attempt < attempts:
            sleep(min(1.0, 0.05 * 2**attempt) * random.uniform(0.5, 1.5))
    raise SyncFailed(
        f"{name!r} rejected the ledger push {attempts} times (last: {last})",
        hint="your ledger is merged and intact locally; run `git tokens sync` again later, "
        "and check the remote's rules for refs/notes/tokens if it keeps refusing",
    )


def merge(repo: Repo, remote_tip: str | None, *, message: str, tries: int = 50) -> Plan:
    """Merge the notes commit ``remote_tip`` into ``refs/notes/tokens``, planning again whenever the ref moved."""
    for _ in range(tries):
        local = repo.notes_tip()
        planned = plan(repo, local, remote_tip)
        try:
            if planned.kind == "fast-forward":
                assert remote_tip is not None
                notes.write_notes(repo, local, [remote_tip], {}, message)
            elif planned.kind == "merge":
                assert local is not None and remote_tip is not None
                notes.write_notes(repo, local, [local, remote_tip], planned.changes, message, placed=planned.placed)
            return planned
        except notes.NotesMoved:
            continue
    raise LedgerBusy(
        f"{NOTES_REF} kept moving while merging ({tries} tries)",
        hint="another process is writing to the ledger without pause; run `git tokens sync` again",
    )


def plan(repo: Repo, local: str | None, remote: str | None) -> Plan:
    """Plan merging the notes commit ``remote`` into ``local`` the way ``git notes merge -s cat_sort_uniq`` does."""
    if remote is None or remote == local:
        return Plan("up to date", local, remote)
    base = notes.merge_base(repo, local, remote) if local is not None else None
    if base == remote:
        return Plan("up to date", local, remote)
    if local is None or base == local:
        received = dropped = 0
        touched = notes.changed_commits(repo, local, remote)
        at_local, at_remote = notes.find_notes(repo, local, touched), notes.find_notes(repo, remote, touched)
        invalid: list[str] = []
        for commit in touched:
            before, after = _placed_lines(repo, at_local[commit]), _placed_lines(repo, at_remote[commit])
            received += len(after - before)
            dropped += len(before - after)
            invalid += _invalid(commit, after - before)
        return Plan("fast-forward", local, remote, received=received, dropped=dropped, invalid=invalid)
    # Notes the remote changed since the base; one that only moved to another fanout depth did not change.
    moved = {c: sides for c, sides in notes.note_changes(repo, base, remote).items() if sides[0] != sides[1]}
    at_local = notes.find_notes(repo, local, moved)
    changes: dict[str, Change] = {}
    received = dropped = 0
    invalid = []
    for commit, (was, theirs) in moved.items():
        mine = notes.blob_ids(at_local[commit])
        if mine == theirs:
            continue
        mine_lines = _blob_lines(repo, mine)
        if mine == was or not mine:  # only the remote changed it (or we deleted it): take theirs as it is
            changes[commit] = _content(repo, theirs)
            new_lines = _change_lines(repo, changes[commit])
        else:  # both changed it: the union of both sides' lines
            new_lines = mine_lines | _blob_lines(repo, theirs)
            changes[commit] = join_note_lines(new_lines)
        received += len(new_lines - mine_lines)
        dropped += len(mine_lines - new_lines)
        invalid += _invalid(commit, new_lines - mine_lines)
    placed = {commit: at_local[commit] for commit in changes}
    return Plan("merge", local, remote, changes, received, dropped, placed, invalid)


def _invalid(commit: str, lines: Iterable[bytes]) -> list[str]:
    """What is wrong with each of ``lines`` that is not a record: merged and kept like any line, and said."""
    found = []
    for line in sorted(lines):
        try:
            line_values(line, commit)
        except InvalidRecord as exc:
            found.append(f"{commit[:12]}: {exc.message}")
    return found


def count_sent(repo: Repo, remote: str | None, tip: str | None, changes: dict[str, Change]) -> int:
    """Record lines the remote does not have in ``tip`` (with ``changes`` applied on top)."""
    touched = notes.changed_commits(repo, remote, tip) | changes.keys()
    theirs = notes.find_notes(repo, remote, touched)
    mine = notes.find_notes(repo, tip, touched - changes.keys())
    sent = 0
    for commit in touched:
        ours = _change_lines(repo, changes[commit]) if commit in changes else _placed_lines(repo, mine[commit])
        sent += len(ours - _placed_lines(repo, theirs[commit]))
    return sent


def _content(repo: Repo, blobs: tuple[str, ...]) -> Change:
    if not blobs:
        return None
    if len(blobs) == 1:
        return blobs[0]
    return join_note_lines(_blob_lines(repo, blobs))


def _blob_lines(repo: Repo, blobs: Iterable[str]) -> set[bytes]:
    lines: set[bytes] = set()
    for blob in blobs:
        lines.update(notes.blob_data(repo, blob).split(b"\n"))
    lines.discard(b"")
    return lines


def _placed_lines(repo: Repo, placements: list[notes.Placement]) -> set[bytes]:
    return _blob_lines(repo, notes.blob_ids(placements))


def _change_lines(repo: Repo, content: Change) -> set[bytes]:
    if content is None:
        return set()
    if isinstance(content, bytes):
        return {line for line in content.split(b"\n") if line}
    return _blob_lines(repo, [content])


def pre_push(repo: Repo, remote: str, refs: str) -> str | None:
    """The pre-push hook: sync with ``remote`` when the push includes a branch. One line to show, or None.

    ``refs`` is what git gives the hook on stdin: ``<local ref> <local id> <remote ref> <remote id>`` lines.
    Never raises for a failed sync: the branch push must go on.
    """
    pushed = [fields[2] for fields in map(str.split, refs.splitlines()) if len(fields) == 4]
    if not any(ref.startswith("refs/heads/") for ref in pushed) or NOTES_REF in pushed:
        return None  # no branch in this push, or the ledger is pushed by hand along with it
    if remote not in notes.remote_names(repo):
        return "gitokens: pushing to a URL, not a named remote: the ledger was not synced (git tokens sync REMOTE)"
    try:
        result = sync(repo, remote)
    except GitTokensError as exc:
        return (
            f"gitokens: the ledger was not synced with {remote} ({exc.message}); your push goes on "
            f"(run `git tokens sync {remote}` later)"
        )
    if result.received or result.sent:
        return f"gitokens: ledger synced with {remote}: {result.received} record(s) received, {result.sent} sent"
    return None

"""Notes plumbing for sync, carry and doctor: comparing notes trees, writing a merge, fetch and push, patch ids.

Part of the git layer (with ``git.py``): it imports pygit2 and runs the git CLI, and speaks in commit
ids, blob ids and bytes. What a merge should keep is ``sync.py``'s business; this module only finds
which notes differ between two notes commits, reads them, and writes a notes commit through the same
locked ref transaction as ``Repo.append_notes`` (``Repo.update_notes_ref``: lock, re-read the tip,
write, move the ref).

Network commands go through the git CLI, so they use the user's credentials, URL rewrites and CI auth
headers exactly as ``git fetch`` and ``git push`` do, and run with hooks disabled: our own pre-push hook
must not fire for the ledger's push.
"""

from __future__ import annotations

import contextlib
import os
import random
import subprocess
import time
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass

from gitokens.errors import GitTokensError, LedgerBusy, LedgerRefBroken
from gitokens.git.libgit2 import ObjectType, pygit2
from gitokens.git.repo import _HEX_RE, NOTES_REF, Repo

# Git commands we run for the network: no hooks of ours (or anyone's), no auto-gc, messages in English.
_QUIET_GIT = ("git", "-c", "core.hooksPath=/dev/null", "-c", "gc.auto=0", "-c", "maintenance.auto=false")
SYNCING_ENV = "GITOKENS_SYNCING"  # set for our own git network commands: hook shims return at once


Placement = tuple[tuple[str, ...], str]  # where a note sits (its path's parts) and its blob id


class NotesMoved(Exception):
    """The notes ref moved between reading it and locking it: plan again on the new tip."""


@dataclass(frozen=True)
class PushResult:
    ok: bool
    rejected: bool  # the remote refused the update (not fast-forward, or a hook declined it)
    message: str


def tracking_ref(remote: str) -> str:
    return f"refs/notes/remotes/{remote}/tokens"


# -- reading notes trees ---------------------------------------------------------------------------


def _tree(repo: Repo, tip: str | None) -> pygit2.Tree | None:
    return repo.pg[tip].peel(pygit2.Tree) if tip else None


def changed_commits(repo: Repo, old: str | None, new: str | None) -> set[str]:
    """Commits whose notes differ (in content or in place) between two notes commits."""
    return set(note_changes(repo, old, new))


def note_changes(repo: Repo, old: str | None, new: str | None) -> dict[str, tuple[tuple[str, ...], tuple[str, ...]]]:
    """The notes that differ between two notes commits: commit -> (its changed blob ids in ``old``, in ``new``).

    Subtrees with the same id on both sides are skipped, so two ledgers that share most of their history
    compare in time proportional to what changed, at any mix of fanout depths (one ``add`` on a ledger of
    100,000 notes: under 2 ms, where libgit2's tree diff takes ~90 ms). A note moved to another depth
    shows the same blob on both sides; a copy of a note that did not change (one of two copies at
    different depths) is not listed.
    """
    before: dict[str, list[str]] = {}
    after: dict[str, list[str]] = {}
    _compare(repo, _tree(repo, old), _tree(repo, new), "", before, after)
    return {
        c: (tuple(sorted(before.get(c, ()))), tuple(sorted(after.get(c, ())))) for c in before.keys() | after.keys()
    }


def _compare(
    repo: Repo,
    old: pygit2.Tree | None,
    new: pygit2.Tree | None,
    prefix: str,
    before: dict[str, list[str]],
    after: dict[str, list[str]],
) -> None:
    olds = {entry.name or "": entry for entry in old} if old is not None else {}
    news = {entry.name or "": entry for entry in new} if new is not None else {}
    for name in olds.keys() | news.keys():
        a, b = olds.get(name), news.get(name)
        if (a is not None and b is not None and a.id == b.id) or not _HEX_RE.match(name):
            continue
        path = prefix + name
        if len(path) < 40 and len(name) == 2:
            a_tree = repo.pg[a.id] if a is not None and a.type == ObjectType.TREE else None
            b_tree = repo.pg[b.id] if b is not None and b.type == ObjectType.TREE else None
            if a_tree is not None or b_tree is not None:
                _compare(repo, a_tree, b_tree, path, before, after)  # type: ignore[arg-type]
        if len(path) in (40, 64):
            for side, entry in ((before, a), (after, b)):
                present = entry is not None and entry.type == ObjectType.BLOB
                side.setdefault(path, [])
                if present:
                    side[path].append(str(entry.id))  # type: ignore[union-attr]


def _notes_in(tree: pygit2.Tree, prefix: str) -> Iterator[tuple[str, str]]:
    """(commit, blob id) for every note under ``tree`` (whose path so far is ``prefix``), without reading blobs."""
    for entry in tree:
        part = entry.name or ""
        name = prefix + part
        if not _HEX_RE.match(part):
            continue
        if isinstance(entry, pygit2.Tree) and len(part) == 2 and len(name) < 40:
            yield from _notes_in(entry, name)
        elif entry.type == ObjectType.BLOB and len(name) in (40, 64):
            yield name, str(entry.id)


def note_placements(repo: Repo, tip: str | None) -> Iterator[tuple[str, str]]:
    """(commit, blob id) for every note of a notes commit; a commit noted at two depths comes twice."""
    tree = _tree(repo, tip)
    if tree is not None:
        yield from _notes_in(tree, "")


def note_blobs(repo: Repo, tip: str | None, commit: str) -> tuple[str, ...]:
    """The blob ids of ``commit``'s note in a notes commit: one, none, or several when stored at several depths."""
    return blob_ids(find_notes(repo, tip, [commit])[commit])


def blob_ids(placements: Iterable[Placement]) -> tuple[str, ...]:
    return tuple(sorted(blob for _, blob in placements))


def find_notes(repo: Repo, tip: str | None, commits: Iterable[str]) -> dict[str, list[Placement]]:
    """Where each commit's note sits in a notes commit, at any fanout depth: commit -> [(path, blob id)].

    One walk for all of them: each tree on the way is listed once, however many commits it holds.
    """
    found: dict[str, list[Placement]] = {commit: [] for commit in commits}
    tree = _tree(repo, tip)
    if tree is not None and found:
        _find_many(tree, (), list(found), found)
    return found


def _find_many(tree: pygit2.Tree, path: tuple[str, ...], commits: list[str], found: dict[str, list[Placement]]) -> None:
    consumed = 2 * len(path)
    entries = {entry.name: entry for entry in tree}
    deeper: dict[str, list[str]] = {}
    for commit in commits:
        rest = commit[consumed:]
        entry = entries.get(rest)
        if entry is not None and entry.type == ObjectType.BLOB:
            found[commit].append(((*path, rest), str(entry.id)))
        step = rest[:2]
        sub = entries.get(step)
        if sub is not None and sub.type == ObjectType.TREE and len(rest) > 2:
            deeper.setdefault(step, []).append(commit)
    for step, group in deeper.items():
        sub = entries[step]
        assert isinstance(sub, pygit2.Tree)
        _find_many(sub, (*path, step), group, found)


def blob_data(repo: Repo, blob: str) -> bytes:
    data: bytes = repo.pg.read(blob)[1]  # the raw object: no Blob built around it
    return data


# -- graph questions -------------------------------------------------------------------------------


def merge_base(repo: Repo, a: str, b: str) -> str | None:
    try:
        found = repo.pg.merge_base(pygit2.Oid(hex=a), pygit2.Oid(hex=b))
    except pygit2.GitError:
        return None
    return str(found) if found is not None else None


# -- writing ---------------------------------------------------------------------------------------


def write_notes(
    repo: Repo,
    expected: str | None,
    parents: Iterable[str],
    changes: Mapping[str, str | bytes | None],
    message: str,
    ref: str = NOTES_REF,
    timeout: float = 10.0,
    placed: Mapping[str, list[Placement]] | None = None,
) -> str:
    """Write a notes commit built on ``expected``'s tree and move ``ref`` to it; returns the new tip.

    ``changes`` maps a commit to its note's new content: an existing blob id, bytes, or None (no note).
    Every copy of a changed note is replaced by one note at git's 2/38 fanout. With no changes and one
    parent, the ref is fast-forwarded to that parent. The ref is locked and its tip re-read under the
    lock; if it is not ``expected`` any more, ``NotesMoved`` is raised and nothing is written. ``placed``
    (``find_notes`` on ``expected`` for the changed commits) saves looking the old copies up again.
    """
    parent_list = list(parents)
    signature = repo._signature()

    def build(tip: str | None) -> pygit2.Oid:
        if tip != expected:
            raise NotesMoved(ref)
        if not changes and len(parent_list) == 1:
            return pygit2.Oid(hex=parent_list[0])
        root = _tree(repo, expected)
        edits: dict[tuple[str, ...], pygit2.Oid | None] = {}
        where = placed if placed is not None else find_notes(repo, expected, changes)
        for commit, content in changes.items():
            for path, _ in where[commit]:
                edits[path] = None
            if content is not None:
                blob = repo.pg.create_blob(content) if isinstance(content, bytes) else pygit2.Oid(hex=content)
                edits[(commit[:2], commit[2:])] = blob
        tree = repo._rebuild(root, edits)
        oids = [pygit2.Oid(hex=p) for p in parent_list]
        return repo.pg.create_commit(None, signature, signature, message, tree, oids)

    return repo.update_notes_ref(build, message, ref, timeout)[1]


def delete_ref(repo: Repo, ref: str) -> None:
    reference = repo.pg.references.get(ref)
    if reference is not None:
        reference.delete()


# -- the network, through the git CLI --------------------------------------------------------------


def _git(repo: Repo, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "LC_ALL": "C", "LANGUAGE": "C", SYNCING_ENV: "1"}
    env.pop("GIT_DIR", None)
    return subprocess.run(
        [*_QUIET_GIT, "--git-dir", str(repo.git_dir), *args],
        capture_output=True,
        text=True,
        check=False,
        env=env,
        stdin=subprocess.DEVNULL,
    )


def remote_names(repo: Repo) -> list[str]:
    return [remote.name or "" for remote in repo.pg.remotes]


def fetch_notes(repo: Repo, remote: str, timeout: float = 30.0) -> str | None:
    """Fetch the remote's ledger into ``refs/notes/remotes/REMOTE/tokens``; returns its tip (None: it has none).

    Another process fetching into the same ref (a second ``sync`` in this clone) holds its lock for a
    moment: that is waited for with jittered retries, up to ``timeout`` seconds.
    """
    into = tracking_ref(remote)
    delay = 0.05
    deadline = time.monotonic() + timeout
    while True:
        done = _git(
            repo,
            "fetch",
            "--quiet",
            "--no-tags",
            "--no-write-fetch-head",
            "--no-recurse-submodules",
            remote,
            f"+{NOTES_REF}:{into}",
        )
        if done.returncode == 0 or not _lock_held(done.stderr) or time.monotonic() > deadline:
            break
        time.sleep(delay * random.uniform(0.5, 1.5))
        delay = min(delay * 1.6, 1.0)
    if done.returncode != 0:
        if "couldn't find remote ref" in done.stderr:
            with contextlib.suppress(pygit2.GitError, KeyError):
                delete_ref(repo, into)  # the remote has no ledger (any more): nothing to merge
            return None
        if _lock_held(done.stderr):
            raise LedgerBusy(
                f"{into} stayed locked by another git process for {timeout:g}s",
                hint=f"if no git process is running, remove the stale lock: rm {repo.common_dir / (into + '.lock')}",
            )
        raise GitTokensError(
            f"cannot fetch the ledger from {remote!r}: {_last_line(done.stderr)}",
            hint=f"check that `git fetch {remote}` works, then run `git tokens sync {remote}` again",
        )
    tip = repo.ref_target(into)
    problem = repo.notes_commit_problem(tip) if tip is not None else None
    if problem is not None:
        raise LedgerRefBroken(
            f"the ledger on {remote!r} is not usable: its {NOTES_REF} {problem}; yours is untouched",
            hint=f"someone with a good ledger can repair the remote: git push {remote} "
            f"--force-with-lease={NOTES_REF}:{tip} {NOTES_REF}",
        )
    return tip


def push_notes(repo: Repo, remote: str, tip: str) -> PushResult:
    """Push ``tip`` to the remote's ``refs/notes/tokens`` without force."""
    done = _git(repo, "push", "--porcelain", "--no-verify", "--quiet", remote, f"{tip}:{NOTES_REF}")
    if done.returncode == 0:
        return PushResult(True, False, "")
    status = [line for line in done.stdout.splitlines() if line.startswith("!\t")]
    if status:
        reason = status[0].split("\t")[-1]
        return PushResult(False, True, reason)
    return PushResult(False, False, _last_line(done.stderr) or _last_line(done.stdout))


def is_shallow(repo: Repo) -> bool:
    return bool(repo.pg.is_shallow)


def fetch_ref(repo: Repo, remote: str, ref: str) -> str | None:
    """Fetch the commit ``ref`` names on ``remote`` (objects only, no local ref); its id, or None if there is none."""
    listed = _git(repo, "ls-remote", "--", remote, ref)
    found = [line.split("\t") for line in listed.stdout.splitlines() if line.endswith(f"\t{ref}")]
    if listed.returncode != 0 or not found:
        return None
    commit = found[0][0]
    if not repo.commit_exists(commit):
        done = _git(repo, "fetch", "--quiet", "--no-tags", "--no-write-fetch-head", remote, ref)
        if done.returncode != 0 or not repo.commit_exists(commit):
            return None
    return commit


def _lock_held(stderr: str) -> bool:
    return "cannot lock ref" in stderr or ("Unable to create" in stderr and ".lock" in stderr)


def _last_line(text: str) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return lines[-1] if lines else "(no message)"


# -- what landed where: patch ids and tree changes, for carry ---------------------------------------


def reachable_commits(repo: Repo) -> set[str] | None:
    """Every commit a branch, tag, remote-tracking branch or HEAD reaches (not refs/original/, not notes);
    None when git cannot say."""
    heads = ["HEAD"] if repo.head_commit() is not None else []
    listed = _git(repo, "rev-list", "--branches", "--tags", "--remotes", *heads)
    return set(listed.stdout.split()) if listed.returncode == 0 else None


def is_ancestor(repo: Repo, ancestor: str, descendant: str) -> bool:
    return ancestor == descendant or bool(repo.pg.descendant_of(pygit2.Oid(hex=descendant), pygit2.Oid(hex=ancestor)))


def has_branch(repo: Repo, name: str) -> bool:
    try:
        return repo.pg.references.get(f"refs/heads/{name}") is not None
    except ValueError:  # not text git could name a ref by
        return False


def patch_ids(repo: Repo, exclude: str, include: str) -> dict[str, str]:
    """``git patch-id --stable`` of every non-merge commit in ``exclude..include``: commit -> patch id."""
    log = _git(repo, "log", "-p", "--no-color", "--no-ext-diff", "--no-renames", "--no-merges", f"{exclude}..{include}")
    if log.returncode != 0:
        raise GitTokensError(f"cannot list the commits {exclude[:12]}..{include[:12]}: {_last_line(log.stderr)}")
    return {commit: patch for patch, commit in _patch_id(repo, log.stdout)}


def diff_patch_id(repo: Repo, old: str, new: str) -> str | None:
    """The patch id of the whole change from ``old`` to ``new`` (None when they have the same tree)."""
    diff = _git(repo, "diff-tree", "-p", "--no-color", "--no-ext-diff", "--no-renames", old, new)
    found = _patch_id(repo, diff.stdout)
    return found[0][0] if found else None


def _patch_id(repo: Repo, patches: str) -> list[tuple[str, str]]:
    env = {**os.environ, "LC_ALL": "C"}
    env.pop("GIT_DIR", None)
    done = subprocess.run(
        ["git", "--git-dir", str(repo.git_dir), "patch-id", "--stable"],
        input=patches,
        capture_output=True,
        text=True,
        check=False,
        env=env,
    )
    return [(parts[0], parts[1]) for parts in map(str.split, done.stdout.splitlines()) if len(parts) == 2]


def tree_changes(repo: Repo, old: str, new: str) -> dict[str, str | None]:
    """The files that differ between two commits' trees: path -> blob id in ``new`` (None: deleted)."""
    old_tree = repo.pg[old].peel(pygit2.Tree)
    new_tree = repo.pg[new].peel(pygit2.Tree)
    changes: dict[str, str | None] = {}
    for delta in old_tree.diff_to_tree(new_tree).deltas:
        if delta.status == pygit2.enums.DeltaStatus.DELETED:
            changes[delta.old_file.path] = None
        else:
            changes[delta.new_file.path] = str(delta.new_file.id)
    return changes


def single_parent_commits(repo: Repo, exclude: str, include: str) -> list[str]:
    """Non-merge commits in ``exclude..include``, newest first."""
    walker = repo.pg.walk(pygit2.Oid(hex=include), pygit2.enums.SortMode.TOPOLOGICAL)
    walker.hide(pygit2.Oid(hex=exclude))
    return [str(c.id) for c in walker if len(c.parent_ids) == 1]


# -- leftovers doctor looks for --------------------------------------------------------------------

NOTES_MERGE_STATE = ("NOTES_MERGE_PARTIAL", "NOTES_MERGE_REF", "NOTES_MERGE_WORKTREE")


def notes_merge_state(repo: Repo) -> tuple[list[str], str | None]:
    """The ``NOTES_MERGE_*`` files a ``git notes merge`` left behind, and the notes ref it was merging into."""
    present = [name for name in NOTES_MERGE_STATE if (repo.git_dir / name).exists()]
    merging = None
    if "NOTES_MERGE_REF" in present:
        text = (repo.git_dir / "NOTES_MERGE_REF").read_text(encoding="utf-8", errors="replace").strip()
        merging = text.removeprefix("ref:").strip()
    return present, merging


def abort_notes_merge(repo: Repo) -> None:
    done = _git(repo, "notes", "merge", "--abort")
    if done.returncode != 0:
        raise GitTokensError(f"git notes merge --abort failed: {_last_line(done.stderr)}")


def ref_lock(repo: Repo, ref: str = NOTES_REF) -> tuple[str, float] | None:
    """The lock file of ``ref`` if one exists, and its age in seconds."""
    path = repo.common_dir / (ref + ".lock")
    try:
        return str(path), time.time() - path.stat().st_mtime
    except OSError:
        return None


def push_refspecs(repo: Repo) -> list[tuple[str, str]]:
    """(remote, refspec) for every configured push refspec."""
    return [(remote.name or "", spec) for remote in repo.pg.remotes for spec in remote.push_refspecs]


def tracking_refs(repo: Repo) -> list[str]:
    """Every ``refs/notes/remotes/REMOTE/tokens`` this clone has."""
    names = repo.pg.references
    return sorted(name for name in names if name.startswith("refs/notes/remotes/") and name.endswith("/tokens"))


def reset_ref(repo: Repo, ref: str, expected: str | None, target: str, message: str) -> None:
    """Point ``ref`` at ``target`` under its lock, if it still names ``expected`` (checked unparsed: a
    broken ref is exactly what this repairs); LedgerBusy if another writer moved it."""
    with repo.pg.transaction() as txn:
        txn.lock_ref(ref)
        if repo.ref_target(ref) != expected:
            raise LedgerBusy(f"{ref} moved while it was being repaired", hint="run `git tokens doctor` again")
        txn.set_target(ref, pygit2.Oid(hex=target), message=message)

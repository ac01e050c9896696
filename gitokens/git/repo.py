"""Every git access: opening the repository, revisions, config, and the notes ledger's raw read and write.

The only module that imports pygit2 or runs the git CLI. It speaks in commit ids, bytes and lines;
what a line means is ``records.py``'s business and what the ledger means is ``ledger.py``'s.

The ledger is ``refs/notes/tokens``: one note blob per commit, one record per line, lines sorted and
unique (what ``git notes merge -s cat_sort_uniq`` produces). We read the whole notes tree in one walk
at whatever fanout it has, and write under a locked ref transaction with git's 2/38 fanout.
"""

from __future__ import annotations

import contextlib
import os
import re
import subprocess
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

from gitokens.errors import LedgerBusy, LedgerRefBroken, NotARepository, UnknownRevision, UnsupportedRepository
from gitokens.git import command
from gitokens.git.libgit2 import ObjectType, RepositoryState, pygit2

NOTES_REF = "refs/notes/tokens"
_HEX_RE = re.compile(r"^[0-9a-f]+$")
_TREE_MODE = 0o040000
_BLOB_MODE = 0o100644
_IN_PROGRESS = {
    RepositoryState.MERGE: "merge",
    RepositoryState.REVERT: "revert",
    RepositoryState.REVERT_SEQUENCE: "revert",
    RepositoryState.CHERRYPICK: "cherry-pick",
    RepositoryState.CHERRYPICK_SEQUENCE: "cherry-pick",
    RepositoryState.REBASE: "rebase",
    RepositoryState.REBASE_INTERACTIVE: "rebase",
    RepositoryState.REBASE_MERGE: "rebase",
    RepositoryState.APPLY_MAILBOX: "am",
    RepositoryState.APPLY_MAILBOX_OR_REBASE: "am",
}


@dataclass(frozen=True)
class CommitInfo:
    id: str
    parents: tuple[str, ...]
    author_email: str
    author_time: int
    commit_time: int
    message: str

    @property
    def summary(self) -> str:
        return self.message.split("\n", 1)[0]


def open_repo(path: str | os.PathLike[str] | None = None) -> Repo:
    """Open the repository containing ``path`` (default: ``$GIT_DIR``, else the current directory)."""
    git_dir = os.environ.get("GIT_DIR") if path is None else None
    if git_dir:
        found: str | None = str(Path(git_dir).resolve())
    else:
        found = pygit2.discover_repository(str(path or os.getcwd()))
    if found is None:
        raise NotARepository(
            "not a git repository (or any of the parent directories)",
            hint="run this inside a git work tree, or `git init` one first",
        )
    try:
        repo = Repo(pygit2.Repository(found))
    except pygit2.GitError as exc:
        if "object format" not in str(exc):
            raise NotARepository(f"cannot open the repository at {found}: {exc}") from None
        repo = None
    if repo is None or (repo.config_get("extensions.objectformat") or "sha1").lower() != "sha1":
        raise UnsupportedRepository(
            f"{found} uses SHA-256 object ids, which gitokens does not support",
            hint="gitokens works in SHA-1 repositories (git's default); nothing was read or written",
        )
    return repo


class FirstParents(NamedTuple):
    """A first-parent walk, newest first: each commit, its first parent (None at a root), and the parents
    of each merge on it, in the walk's order."""

    commits: list[str]
    firsts: list[str | None]
    merges: dict[str, list[str]]


def first_parents_of(lines: list[str]) -> FirstParents:
    """The walk of ``git rev-list --first-parent --parents``'s lines. Nearly every line is "commit parent",
    ids of one width: cut by position (a line split into a list of its own cost ~1.5 µs, 150 ms on a
    100,000-commit chain); a line of any other shape sends the whole output through the plain split."""
    if not lines:
        return FirstParents([], [], {})
    width = lines[0].find(" ")
    width = len(lines[0]) if width < 0 else width
    single = 2 * width + 1
    merges = {line[:width]: line[width + 1 :].split(" ") for line in lines if len(line) > single}
    shapes = {len(line) for line in lines} - {width, single}
    if any((n - width) % (width + 1) for n in shapes) or any(len(p) != width for ps in merges.values() for p in ps):
        split = [line.split() for line in lines]
        firsts = [parts[1] if len(parts) > 1 else None for parts in split]
        merges = {parts[0]: parts[1:] for parts in split if len(parts) > 2}
        return FirstParents([parts[0] for parts in split], firsts, merges)
    commits = [line[:width] for line in lines]
    firsts = [line[width + 1 : single] or None for line in lines]
    return FirstParents(commits, firsts, merges)


class Repo:
    """A repository: its paths, HEAD, revisions, config and the raw notes ledger."""

    def __init__(self, repository: pygit2.Repository) -> None:
        self.pg = repository

    # -- paths ---------------------------------------------------------------------------------------

    @property
    def git_dir(self) -> Path:
        return Path(self.pg.path)

    @property
    def common_dir(self) -> Path:
        """The git dir shared by all worktrees (where hooks, config and our queue live)."""
        pointer = self.git_dir / "commondir"
        if pointer.is_file():
            return (self.git_dir / pointer.read_text().strip()).resolve()
        return self.git_dir

    @property
    def workdir(self) -> Path | None:
        return Path(self.pg.workdir) if self.pg.workdir else None

    def state_dir(self) -> Path:
        """``<common-dir>/gitokens``: the pending queue, caches and install state."""
        return self.common_dir / "gitokens"

    # -- HEAD and revisions --------------------------------------------------------------------------

    def head_commit(self) -> str | None:
        """The commit HEAD points at, or None while HEAD is unborn (no commits yet)."""
        if self.pg.head_is_unborn:
            return None
        return str(self.pg.head.target)

    def head_branch(self) -> str | None:
        """The checked-out branch's short name (also on an unborn branch), or None when detached."""
        head = self.pg.references.get("HEAD")
        if head is None or head.type != pygit2.enums.ReferenceType.SYMBOLIC:
            return None
        target = str(head.target)
        return target.removeprefix("refs/heads/")

    def resolve_commit(self, rev: str) -> str:
        """The full id of the commit that ``rev`` names."""
        try:
            obj = self.pg.revparse_single(rev)
            commit = obj.peel(pygit2.Commit)
        except (KeyError, ValueError, pygit2.GitError, pygit2.InvalidSpecError):
            raise UnknownRevision(
                f"unknown revision {rev!r}",
                hint="name a commit, branch or tag, e.g. HEAD~1 (see `git log --oneline`)",
            ) from None
        return str(commit.id)

    def commit_exists(self, commit_id: str) -> bool:
        try:
            obj = self.pg.get(commit_id)
        except (ValueError, pygit2.GitError):
            return False
        return obj is not None and obj.type == ObjectType.COMMIT

    def commit_info(self, commit_id: str) -> CommitInfo | None:
        obj = self.pg.get(commit_id)
        return _info(obj) if isinstance(obj, pygit2.Commit) else None

    def commit_time(self, commit_id: str) -> int | None:
        """The committer time of a commit, None when it is not in the repository."""
        obj = self.pg.get(commit_id)
        return obj.commit_time if isinstance(obj, pygit2.Commit) else None

    # -- the commit graph ----------------------------------------------------------------------------

    def branch_tip(self, name: str) -> str | None:
        """The commit a local branch (or, failing that, origin's branch of that name) points at."""
        for ref in (f"refs/heads/{name}", f"refs/remotes/origin/{name}"):
            try:
                reference = self.pg.references.get(ref)
            except ValueError:  # not text git could name a ref by (invalid UTF-8 from a command line)
                return None
            if reference is not None:
                return str(reference.resolve().target)
        return None

    def branch_tips(self) -> dict[str, str]:
        """Every name ``branch_tip`` knows, with the commit it gives: local branches, and origin's where
        there is no local one of that name."""
        tips: dict[str, str] = {}
        names = list(self.pg.references)
        for prefix in ("refs/remotes/origin/", "refs/heads/"):  # local last: it wins
            for name in names:
                if name.startswith(prefix) and name != "refs/remotes/origin/HEAD":
                    with contextlib.suppress(pygit2.GitError, KeyError):
                        tips[name[len(prefix) :]] = str(self.pg.references[name].resolve().target)
        return tips

    def ref_names(self, *, tags: bool = False) -> list[str]:
        """Branch names (local, and origin's without their prefix), then tag names with ``tags``, each once
        and sorted: what shell completion offers. Nothing is resolved, so a broken ref costs nothing."""
        prefixes = ("refs/heads/", "refs/remotes/origin/", *(("refs/tags/",) if tags else ()))
        found: dict[str, None] = {}
        for prefix in prefixes:
            names = (name[len(prefix) :] for name in self.pg.references if name.startswith(prefix))
            found.update(dict.fromkeys(sorted(name for name in names if name != "HEAD")))
        return list(found)

    def default_branch(self, configured: str | None = None) -> str | None:
        """The branch merges land on: as configured, else origin's HEAD, else main or master, else HEAD's."""
        candidates = [configured] if configured else []
        origin_head = self.pg.references.get("refs/remotes/origin/HEAD")
        if origin_head is not None and origin_head.type == pygit2.enums.ReferenceType.SYMBOLIC:
            candidates.append(str(origin_head.target).removeprefix("refs/remotes/origin/"))
        candidates += ["main", "master", self.head_branch() or ""]
        for name in candidates:
            if name and self.branch_tip(name) is not None:
                return name
        return configured

    def first_parent_walk(self, tip: str, stop: str | None = None) -> Callable[[], FirstParents]:
        """Start walking the first-parent chain from ``tip`` back to the root, or to the commits ``stop``
        reaches (excluded). The returned function waits for the walk and gives its ``FirstParents``.

        git's own walk is several times faster than stepping through 100,000 commits in pygit2, and runs
        on another core while the caller does something else: into a temporary file, not a pipe, which
        would hold git up once 64 KiB of a long history waited in it unread.
        """
        argv = ["git", "--git-dir", str(self.git_dir), "rev-list", "--first-parent", "--parents", tip]
        if stop is not None:
            argv += ["--not", stop]
        import tempfile  # here: a capture opens the repository without it (shutil, bz2, lzma: ~5 ms)

        out = tempfile.TemporaryFile()  # noqa: SIM115 (result closes it)
        walk = subprocess.Popen(argv, stdout=out, stderr=subprocess.PIPE)

        def result() -> FirstParents:
            with out:
                _, err = walk.communicate()
                if walk.returncode != 0:
                    message = err.decode(errors="replace").strip()
                    raise UnknownRevision(f"cannot walk the history of {tip[:12]}: {message}")
                out.seek(0)
                return first_parents_of(out.read().decode("ascii").splitlines())

        return result

    def commits_between(self, exclude: str, include: str) -> list[str]:
        """``exclude..include``: commits reachable from ``include`` and not from ``exclude``."""
        walker = self.pg.walk(pygit2.Oid(hex=include), pygit2.enums.SortMode.NONE)
        walker.hide(pygit2.Oid(hex=exclude))
        return [str(c.id) for c in walker]

    def first_parent_times(self, tip: str, since: int | None = None) -> list[tuple[str, int]]:
        """(commit, committer time) along the first-parent chain from ``tip``, newest first; with ``since``
        (seconds since the epoch) only the commits git's ``--since`` keeps."""
        return command.first_parent_times(str(self.git_dir), tip, since)

    def worktree_roots(self, asked: Callable[[], list[Path]] | None = None) -> list[Path]:
        """The work trees of this repository (the main one and every linked one), symlinks resolved; ``asked``:
        git's list, asked before the repository was opened (``command.asking_worktrees``)."""
        roots = list((asked or command.asking_worktrees(self.common_dir))())
        if self.workdir is not None:
            roots.append(self.workdir.resolve())
        return sorted(set(roots))

    def operation_in_progress(self) -> str | None:
        """'rebase', 'merge', 'cherry-pick', 'revert' or 'am' while one is under way, else None."""
        return _IN_PROGRESS.get(RepositoryState(self.pg.state()))

    def user_email(self) -> str | None:
        return self.config_get("user.email")

    # -- config --------------------------------------------------------------------------------------

    def config_get(self, name: str) -> str | None:
        try:
            return str(self.pg.config[name])
        except (KeyError, pygit2.GitError):
            return None

    def config_get_all(self, name: str, *, local: bool = False) -> list[str]:
        config = self._local_config() if local else self.pg.config
        try:
            return [str(v) for v in config.get_multivar(name)]
        except (KeyError, pygit2.GitError):
            return []

    def config_set(self, name: str, value: str) -> None:
        self._local_config()[name] = value

    def config_add(self, name: str, value: str) -> None:
        """Add one more value to a multi-valued key in the repository's own config."""
        self._local_config().set_multivar(name, "^$^", value)

    def config_unset(self, name: str, value: str | None = None) -> None:
        """Remove a key (or only its entries equal to ``value``) from the repository's own config."""
        config = self._local_config()
        try:
            if value is None:
                del config[name]
            else:
                config.delete_multivar(name, "^" + re.escape(value) + "$")
        except (KeyError, pygit2.GitError):
            pass

    def config_drop_empty_section(self, section: str) -> None:
        """Remove ``[section]`` from the repository's own config if no key is left in it."""
        prefix = section.lower() + "."
        if any(entry.name.lower().startswith(prefix) for entry in self._local_config()):
            return
        path = str(self.common_dir / "config")
        subprocess.run(["git", "config", "--file", path, "--remove-section", section], capture_output=True, check=False)

    def fetch_refspecs(self) -> list[tuple[str, str]]:
        """(remote, refspec) for every configured fetch refspec."""
        return [(remote.name or "", spec) for remote in self.pg.remotes for spec in remote.fetch_refspecs]

    def _local_config(self) -> pygit2.Config:
        return pygit2.Config(str(self.common_dir / "config"))

    # -- the notes ledger: reading -------------------------------------------------------------------

    def notes_tip(self, ref: str = NOTES_REF) -> str | None:
        """The notes commit ``ref`` points at, None when there is no such ref; LedgerRefBroken when it
        points at something that is not a readable notes commit."""
        target = self.ref_target(ref)
        if target is None:
            return None
        problem = self.notes_commit_problem(target)
        if problem is not None:
            raise LedgerRefBroken(
                f"{ref} points at {target[:12]}, which {problem}",
                hint="`git tokens doctor` says what happened; `git tokens doctor --fix` moves the ref back "
                "to the last notes commit it held",
            )
        return target

    def ref_target(self, ref: str) -> str | None:
        """The object id a ref names, unchecked (None: no such ref, or a symbolic ref to nothing)."""
        try:
            reference = self.pg.references.get(ref)
            return str(reference.resolve().target) if reference is not None else None
        except (KeyError, ValueError, pygit2.GitError):
            return None

    def notes_commit_problem(self, oid: str) -> str | None:
        """Why ``oid`` cannot be a notes commit ("is missing", "is a blob, not a commit", ...), or None."""
        try:
            obj = self.pg.get(oid)
        except (ValueError, pygit2.GitError):
            obj = None
        if obj is None:
            return "is missing from the repository (pruned or never fetched)"
        if not isinstance(obj, pygit2.Commit):
            return f"is a {obj.type_str}, not a notes commit"
        if obj.tree_id not in self.pg:
            return f"is a notes commit whose tree {str(obj.tree_id)[:12]} is missing"
        return None

    def reflog(self, ref: str) -> list[str]:
        """The ids ``ref`` held, newest first, from its reflog (empty when it keeps none)."""
        reference = self.pg.references.get(ref)
        if reference is None:
            return []
        try:
            return [str(entry.oid_new) for entry in reference.log()]
        except (KeyError, pygit2.GitError):
            return []

    def read_notes(self, ref: str = NOTES_REF, tip: str | None = None) -> Iterator[tuple[str, bytes]]:
        """Every note of ``ref`` as (annotated commit id, blob bytes), at any fanout depth, in one walk.

        A commit with notes at two depths (written by two tools) yields twice; readers union them.
        """
        tip = tip or self.notes_tip(ref)
        if tip is None:
            return
        tree = self.pg[tip].peel(pygit2.Tree)
        yield from self._walk_notes(tree, "")

    def notes_groups(self, ref: str = NOTES_REF, tip: str | None = None) -> list[tuple[str | None, str]]:
        """The notes tree's top level split into groups: (subtree id, its 2-hex prefix) for each fanout
        subtree, and (None, "") for the notes stored flat at the root. ``read_notes_group`` reads one.

        A subtree's id names its content, so what was parsed from it can be cached under that id.
        """
        tip = tip or self.notes_tip(ref)
        if tip is None:
            return []
        groups: list[tuple[str | None, str]] = []
        flat = False
        for entry in self.pg[tip].peel(pygit2.Tree):
            part = entry.name or ""
            if not _HEX_RE.match(part):
                continue
            if entry.type == ObjectType.TREE and len(part) == 2:
                groups.append((str(entry.id), part))
            elif entry.type == ObjectType.BLOB:
                flat = True
        if flat:
            groups.append((None, tip))
        return groups

    def read_notes_group(self, group: tuple[str | None, str]) -> Iterator[tuple[str, bytes]]:
        """The notes of one group from ``notes_groups``."""
        oid, where = group
        if oid is None:  # the flat notes at the root of notes commit ``where``
            for entry in self.pg[where].peel(pygit2.Tree):
                part = entry.name or ""
                if isinstance(entry, pygit2.Blob) and _HEX_RE.match(part) and len(part) in (40, 64):
                    yield part, entry.data
            return
        subtree = self.pg[oid]
        assert isinstance(subtree, pygit2.Tree)
        yield from self._walk_notes(subtree, where)

    def _walk_notes(self, tree: pygit2.Tree, prefix: str) -> Iterator[tuple[str, bytes]]:
        for entry in tree:
            part = entry.name or ""
            name = prefix + part
            if not _HEX_RE.match(part):
                continue  # not a note (git allows other files in a notes tree); leave it alone
            if isinstance(entry, pygit2.Tree) and len(part) == 2 and len(name) < 40:
                yield from self._walk_notes(entry, name)
            elif isinstance(entry, pygit2.Blob) and len(name) in (40, 64):
                yield name, entry.data

    def note_lines(self, commits: Iterable[str], ref: str = NOTES_REF) -> dict[str, list[bytes]]:
        """The lines of the notes on a few commits (at any fanout), without walking the whole ledger."""
        tip = self.notes_tip(ref)
        if tip is None:
            return {}
        root = self.pg[tip].peel(pygit2.Tree)
        found: dict[str, list[bytes]] = {}
        for commit_id in commits:
            for _, oid in _find_note(root, commit_id):
                found.setdefault(commit_id, []).extend(self._blob(oid).split(b"\n"))
        return found

    # -- the notes ledger: writing -------------------------------------------------------------------

    def append_notes(
        self,
        lines_by_commit: Mapping[str, Iterable[bytes]],
        message: str,
        ref: str = NOTES_REF,
        timeout: float = 10.0,
    ) -> tuple[str | None, str]:
        """Add lines to the notes of several commits in one notes commit.

        Returns the tip the new notes commit was built on (None for the ledger's first) and the new tip.
        """
        if not lines_by_commit:
            raise ValueError("nothing to append")
        signature = self._signature()

        def build(tip: str | None) -> pygit2.Oid:
            tree = self._notes_tree_with(tip, lines_by_commit)
            parents = [pygit2.Oid(hex=tip)] if tip else []
            return self.pg.create_commit(None, signature, signature, message, tree, parents)

        return self.update_notes_ref(build, message, ref, timeout)

    def update_notes_ref(
        self, build: Callable[[str | None], pygit2.Oid], message: str, ref: str = NOTES_REF, timeout: float = 10.0
    ) -> tuple[str | None, str]:
        """Move ``ref`` to the commit ``build`` makes from its current tip; returns (that tip, the new one).

        The ledger's write protocol: the ref is locked, its tip re-read under the lock, ``build`` called
        with it and the ref moved in one transaction; a lock held by another writer is waited for with
        jittered retries, so concurrent writers each land their notes and nobody's are lost. An
        exception from ``build`` releases the lock and moves nothing.
        """
        delay = 0.002
        deadline = time.monotonic() + timeout
        while True:
            try:
                with self.pg.transaction() as txn:
                    txn.lock_ref(ref)
                    tip = self.notes_tip(ref)
                    new = build(tip)
                    txn.set_target(ref, new, message=message)
                return tip, str(new)
            except pygit2.GitError as exc:
                if "lock" not in str(exc).lower() and "exists" not in str(exc).lower():
                    raise
            if time.monotonic() > deadline:
                break
            import random

            time.sleep(delay * random.uniform(0.5, 1.5))
            delay = min(delay * 1.6, 0.25)
        raise LedgerBusy(
            f"{ref} stayed locked by another writer for {timeout:g}s",
            hint=f"if no git process is running, remove the stale lock: rm {self.common_dir / (ref + '.lock')}",
        )

    def _blob(self, oid: pygit2.Oid) -> bytes:
        blob = self.pg[oid]
        assert isinstance(blob, pygit2.Blob)
        return blob.data

    def _signature(self) -> pygit2.Signature:
        try:
            return self.pg.default_signature
        except (KeyError, pygit2.GitError):
            return pygit2.Signature("gitokens", "gitokens@localhost")

    def _notes_tree_with(self, tip: str | None, lines_by_commit: Mapping[str, Iterable[bytes]]) -> pygit2.Oid:
        root = self.pg[tip].peel(pygit2.Tree) if tip else None
        changes: dict[tuple[str, ...], pygit2.Oid | None] = {}
        for commit_id, new_lines in lines_by_commit.items():
            existing = _find_note(root, commit_id) if root is not None else []
            merged = set(new_lines)
            for path, oid in existing:
                merged.update(self._blob(oid).split(b"\n"))
                changes[path] = None
            changes[(commit_id[:2], commit_id[2:])] = self.pg.create_blob(join_note_lines(merged))
        return self._rebuild(root, changes)

    def _rebuild(self, tree: pygit2.Tree | None, changes: Mapping[tuple[str, ...], pygit2.Oid | None]) -> pygit2.Oid:
        builder = self.pg.TreeBuilder(tree) if tree is not None else self.pg.TreeBuilder()
        nested: dict[str, dict[tuple[str, ...], pygit2.Oid | None]] = {}
        for path, oid in changes.items():
            if len(path) == 1:
                if oid is None:
                    if builder.get(path[0]) is not None:
                        builder.remove(path[0])
                else:
                    builder.insert(path[0], oid, _BLOB_MODE)
            else:
                nested.setdefault(path[0], {})[path[1:]] = oid
        for name, sub in nested.items():
            current = builder.get(name)
            subtree = self.pg[current.id] if current is not None and current.type == ObjectType.TREE else None
            new_sub = self._rebuild(subtree, sub)  # type: ignore[arg-type]
            if len(self.pg[new_sub]) == 0:  # type: ignore[arg-type]
                if current is not None:
                    builder.remove(name)
            else:
                builder.insert(name, new_sub, _TREE_MODE)
        return builder.write()


def _info(commit: pygit2.Commit) -> CommitInfo:
    return CommitInfo(
        id=str(commit.id),
        parents=tuple(str(p) for p in commit.parent_ids),
        author_email=commit.author.email,
        author_time=commit.author.time,
        commit_time=commit.commit_time,
        message=commit.message,
    )


def _find_note(root: pygit2.Tree, commit_id: str) -> list[tuple[tuple[str, ...], pygit2.Oid]]:
    """Every place a note for ``commit_id`` sits in the tree: flat, 2/38, 2/2/36, ..."""
    found: list[tuple[tuple[str, ...], pygit2.Oid]] = []
    tree: pygit2.Tree | None = root
    path: tuple[str, ...] = ()
    consumed = 0
    while tree is not None and consumed < len(commit_id):
        rest = commit_id[consumed:]
        if rest in tree:
            entry = tree[rest]
            if entry.type == ObjectType.BLOB:
                found.append(((*path, rest), entry.id))
        step = commit_id[consumed : consumed + 2]
        if step in tree and tree[step].type == ObjectType.TREE:
            tree = tree[step]  # type: ignore[assignment]
            path += (step,)
            consumed += 2
        else:
            tree = None
    return found


def join_note_lines(lines: Iterable[bytes]) -> bytes:
    """A note's content as ``cat_sort_uniq`` writes it: non-empty lines, sorted bytewise, unique, each ended."""
    kept = sorted({line for line in lines if line})
    return b"".join(line + b"\n" for line in kept)

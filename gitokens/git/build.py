"""Building history without a work tree: commits, trees and branches written directly (``git tokens demo``).

Part of the git layer (with ``git.py``): it imports pygit2 so that the demo does not.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from gitokens.git.libgit2 import pygit2
from gitokens.git.repo import Repo

_BLOB_MODE = 0o100644
_TREE_MODE = 0o040000


def init_repo(path: Path, initial_branch: str = "main") -> Repo:
    """Create a new non-bare repository at ``path`` (made if missing) whose HEAD is the unborn ``initial_branch``."""
    return Repo(pygit2.init_repository(str(path), initial_head=initial_branch))


def tree_writer(repo: Repo) -> TreeWriter:
    """Something that writes trees from ``path -> content`` maps (one per batch of related trees)."""
    return TreeWriter(repo.pg)


def create_commit(
    repo: Repo, tree: str, parents: Iterable[str], message: str, author: Identity, committer: Identity | None = None
) -> str:
    """Write a commit object (no ref moves) with these signatures and times; returns its id."""
    oid = repo.pg.create_commit(
        None,
        _signature(author),
        _signature(committer or author),
        message,
        pygit2.Oid(hex=tree),
        [pygit2.Oid(hex=p) for p in parents],
    )
    return str(oid)


def set_branch(repo: Repo, name: str, commit: str) -> None:
    """Create or move ``refs/heads/<name>`` to ``commit``."""
    repo.pg.references.create(f"refs/heads/{name}", pygit2.Oid(hex=commit), force=True)


def checkout_branch(repo: Repo, name: str) -> None:
    """Point HEAD at ``name`` and make the index and work tree match it exactly (a forced checkout)."""
    repo.pg.checkout(f"refs/heads/{name}", strategy=pygit2.enums.CheckoutStrategy.FORCE)


def exclude(repo: Repo, pattern: str) -> None:
    """Add ``pattern`` to ``<git-common-dir>/info/exclude``: ignored in this clone, without a ``.gitignore``."""
    path = repo.common_dir / "info" / "exclude"
    path.parent.mkdir(parents=True, exist_ok=True)
    existing = path.read_text(encoding="utf-8") if path.is_file() else ""
    if pattern not in existing.splitlines():
        separator = "\n" if existing and not existing.endswith("\n") else ""
        path.write_text(existing + separator + pattern + "\n", encoding="utf-8")


@dataclass(frozen=True)
class Identity:
    """Who made a commit and when: name, email, seconds since the epoch, UTC offset in minutes."""

    name: str
    email: str
    time: int
    offset: int = 0


class TreeWriter:
    """Writes the trees of many similar snapshots, reusing each blob and subtree it already wrote.

    Writing an object that exists still costs libgit2 a hash and a file-system check (~0.4 ms): a
    history of a hundred commits would spend most of its time rewriting unchanged files.
    """

    def __init__(self, repository: pygit2.Repository) -> None:
        self._pg = repository
        self._blobs: dict[bytes, pygit2.Oid] = {}
        self._trees: dict[tuple[tuple[str, str, int], ...], pygit2.Oid] = {}

    def write(self, files: Mapping[str, bytes]) -> str:
        """The id of a tree holding ``files`` (``dir/name`` -> content), written with its blobs and subtrees."""
        return str(self._write(files))

    def _write(self, files: Mapping[str, bytes]) -> pygit2.Oid:
        entries: dict[str, tuple[pygit2.Oid, int]] = {}
        nested: dict[str, dict[str, bytes]] = {}
        for path, content in files.items():
            head, sep, rest = path.partition("/")
            if sep:
                nested.setdefault(head, {})[rest] = content
                continue
            blob = self._blobs.get(content)
            if blob is None:
                blob = self._blobs[content] = self._pg.create_blob(content)
            entries[head] = (blob, _BLOB_MODE)
        for name, sub in nested.items():
            entries[name] = (self._write(sub), _TREE_MODE)
        key = tuple(sorted((name, str(oid), mode) for name, (oid, mode) in entries.items()))
        tree = self._trees.get(key)
        if tree is None:
            builder = self._pg.TreeBuilder()
            for name, (oid, mode) in entries.items():
                builder.insert(name, oid, mode)
            tree = self._trees[key] = builder.write()
        return tree


def _signature(who: Identity) -> pygit2.Signature:
    return pygit2.Signature(who.name, who.email, who.time, who.offset)

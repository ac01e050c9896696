"""A cache of parsed ledger notes, one file per notes subtree, named by the subtree's object id.

Git names a tree by its content, so a cached parse of subtree X is valid for as long as X exists:
nothing to invalidate. After ``git tokens add`` one of the 256 fanout subtrees changes and only it is
parsed again. Files live in ``<git-common-dir>/gitokens/cache/notes-<version>-<layout>/``; a new
gitokens version (which may validate records differently) or layout starts a new folder. A file that cannot be read is
parsed again from git; one that cannot be written only makes the next load slower.
"""

from __future__ import annotations

import marshal
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from gitokens import __version__
from gitokens.git.repo import Repo

# What a subtree parses to: its records as columns (the commit whose note holds each record, and each field
# of ``Record.values()`` as a list, a row per record) and its bad lines as (commit, line number, text, error).
Parsed = tuple[list[str], list[list[Any]], list[tuple[str, int, str, str]]]
_LAYOUT = 2  # 2: records as columns
_FOLDER = f"notes-{__version__}-{_LAYOUT}"


class NoteCache:
    def __init__(self, repo: Repo) -> None:
        self.root = repo.state_dir() / "cache"
        self.folder = self.root / _FOLDER

    def has(self, oid: str) -> bool:
        return (self.folder / oid).is_file()

    def get(self, oid: str) -> Parsed | None:
        try:
            data = marshal.loads((self.folder / oid).read_bytes())
        except (OSError, EOFError, ValueError, TypeError):
            return None
        return data  # type: ignore[no-any-return]

    def put(self, oid: str, parsed: Parsed) -> None:
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=self.folder, prefix=".tmp-")
            with os.fdopen(fd, "wb") as handle:
                handle.write(marshal.dumps(parsed))
            os.replace(tmp, self.folder / oid)
        except (OSError, ValueError):
            pass

    def keep_only(self, live: set[str]) -> None:
        """Drop files of subtrees the ledger no longer has, and folders of other gitokens versions."""
        try:
            for path in self.folder.iterdir():
                if path.name not in live:
                    path.unlink(missing_ok=True)
            for other in self.root.iterdir():
                if other.name.startswith("notes-") and other.name != _FOLDER:
                    shutil.rmtree(other, ignore_errors=True)
        except OSError:
            pass


def cache_dir(repo: Repo) -> Path:
    return NoteCache(repo).folder

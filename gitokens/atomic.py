"""Files written whole or not at all: the new content goes to a temporary file beside the target, which
then replaces it in one rename, so a reader (or a process killed midway) never sees half a file."""

from __future__ import annotations

import os
from pathlib import Path


def replace(path: Path, data: bytes) -> None:
    """Make ``data`` the content of ``path``; OSError when it cannot, and then ``path`` is as it was."""
    import tempfile  # here: a capture's worker reads caches through this module and never writes one

    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def keep(path: Path, data: bytes) -> bool:
    """``replace`` for a cache: its folder made when missing, and a failure only reported (False), as the
    next run computes what the cache would have given."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        replace(path, data)
    except OSError:
        return False
    return True


def versioned(path: Path, version: str) -> Path:
    """Where a cache file named ``path`` is kept for ``version``: ``name-<digest>.ext`` beside it, so that two
    installations (a virtualenv and a pipx, say) working on one repository each keep their own file, where
    one file for both had each throw the other's away on every run."""
    try:  # hashlib's own blake2b, without hashlib loading OpenSSL (a few ms, in each process of a capture)
        from _blake2 import blake2b
    except ImportError:  # pragma: no cover - an interpreter built without it: hashlib's, whatever it is
        from hashlib import blake2b

    digest = blake2b(version.encode("utf-8"), digest_size=8).hexdigest()
    return path.with_name(f"{path.stem}-{digest}{path.suffix}")


def prune_versions(path: Path, kept: Path, newest: int = 4) -> None:
    """After writing ``kept``, remove all but the ``newest`` versions' files of ``path`` (by time written),
    and ``path`` itself, the one file older gitokens kept. Best effort: only disk space is at stake."""
    try:
        others = [p for p in path.parent.glob(f"{path.stem}-*{path.suffix}") if p != kept]
        others.sort(key=lambda p: p.stat().st_mtime_ns, reverse=True)
        for old in [*others[newest - 1 :], path]:
            old.unlink(missing_ok=True)
    except OSError:
        pass  # another process pruned first, or the folder is read-only

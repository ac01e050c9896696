"""Files written whole or not at all: the new content goes to a temporary file beside the target, which
then replaces it in one rename, so a reader (or a process killed midway) never sees half a file."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def replace(path: Path, data: bytes) -> None:
    """Make ``data`` the content of ``path``; OSError when it cannot, and then ``path`` is as it was."""
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

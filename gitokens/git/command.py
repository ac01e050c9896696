"""What gitokens asks the git binary itself, for code that must run before pygit2 is loaded: a large
capture forks its worker first, and the worker never loads it."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

from gitokens.errors import UnknownRevision


def common_dir(cwd: Path) -> Path | None:
    """The git dir shared by the worktrees of the repository at ``cwd`` (honouring ``$GIT_DIR``), or None
    when there is none."""
    return asking_common_dir(cwd)()


def asking_common_dir(cwd: Path) -> Callable[[], Path | None]:
    """``common_dir``, asked now and answered by the function returned: the caller goes on while git runs."""
    try:
        process = subprocess.Popen(
            ["git", "rev-parse", "--git-common-dir"],
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
    except OSError:  # no git to run: opening the repository will say what is wrong
        return lambda: None

    def answer() -> Path | None:
        out, _ = process.communicate()
        found = out.strip()
        if process.returncode != 0 or not found:
            return None
        return (cwd / found).resolve()

    return answer


def asking_worktrees(common_dir: Path) -> Callable[[], list[Path]]:
    """The work trees git lists for the repository whose common git dir is ``common_dir`` (symlinks
    resolved), asked now and answered by the function returned (see ``Repo.worktree_roots``)."""
    try:
        process = subprocess.Popen(
            ["git", "--git-dir", str(common_dir), "worktree", "list", "--porcelain"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
    except OSError:  # no git to run: no work tree but the repository's own
        return lambda: []
    answered: list[list[Path]] = []

    def answer() -> list[Path]:
        if not answered:
            out, _ = process.communicate()
            answered.append([Path(line[9:]).resolve() for line in out.splitlines() if line.startswith("worktree ")])
        return answered[0]

    return answer


def first_parent_times(git_dir: str, tip: str, since: int | None = None) -> list[tuple[str, int]]:
    """(commit, committer time) along the first-parent chain from ``tip``, newest first; with ``since``
    (seconds since the epoch) only the commits git's ``--since`` keeps."""
    args = ["git", "--git-dir", git_dir, "log", "--first-parent", "--format=%H %ct", tip]
    if since is not None:
        args.insert(-1, f"--since=@{since}")
    done = subprocess.run(args, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise UnknownRevision(f"cannot walk the history of {tip[:12]}: {done.stderr.strip()}")
    pairs = (line.split() for line in done.stdout.splitlines())
    return [(commit, int(when)) for commit, when in pairs]

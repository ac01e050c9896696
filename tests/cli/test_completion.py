"""Shell completion of branch and revision values, through click's completion protocol (the environment a
shell's completion script sets) and the installed ``git-tokens`` executable, in real repositories."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import commit, git

EXE = str(Path(sys.executable).parent / "git-tokens")


def complete(cwd: Path, line: str) -> list[str]:
    """What TAB offers at the end of ``line`` (a trailing space: a new, empty word), as bash would get it."""
    words = line.split() + ([""] if line.endswith(" ") else [])
    env = {**os.environ, "_GIT_TOKENS_COMPLETE": "bash_complete"}
    env.update(COMP_WORDS=" ".join(words), COMP_CWORD=str(len(words) - 1))
    done = subprocess.run([EXE], cwd=cwd, env=env, capture_output=True, text=True, check=False)
    assert done.returncode == 0 and done.stderr == "", done.stderr
    return [item.split(",", 1)[1] for item in done.stdout.splitlines() if item]


@pytest.fixture
def refs(repo: Path) -> Path:
    """Branches main, feature/search and fix-1, a tag v1.0, and origin's branch feature/remote-only."""
    commit(repo, "initial")
    for branch in ("feature/search", "fix-1"):
        git(repo, "branch", branch)
    git(repo, "tag", "v1.0")
    git(repo, "update-ref", "refs/remotes/origin/feature/remote-only", "HEAD")
    return repo


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("git-tokens report --branch ", ["feature/search", "fix-1", "main", "feature/remote-only"]),
        ("git-tokens report --branch fe", ["feature/search", "feature/remote-only"]),
        ("git-tokens log --branch f", ["feature/search", "fix-1", "feature/remote-only"]),
        ("git-tokens export --branch m", ["main"]),
        ("git-tokens check --branch fi", ["fix-1"]),
        ("git-tokens carry --squash-merged fe", ["feature/search", "feature/remote-only"]),
        ("git-tokens show ", ["feature/search", "fix-1", "main", "feature/remote-only", "v1.0"]),
        ("git-tokens show v", ["v1.0"]),
        ("git-tokens add --commit f", ["feature/search", "fix-1", "feature/remote-only"]),
        ("git-tokens import --commit v", ["v1.0"]),
        ("git-tokens carry main..fi", ["main..fix-1"]),
        ("git-tokens carry x --onto v", ["v1.0"]),
    ],
)
def test_branches_and_revisions_complete(refs: Path, line: str, expected: list[str]) -> None:
    assert complete(refs, line) == expected


def test_branch_options_offer_no_tags(refs: Path) -> None:
    assert "v1.0" not in complete(refs, "git-tokens report --branch ")


@pytest.mark.parametrize("line", ["git-tokens report --branch ", "git-tokens show m"])
def test_outside_a_repository_nothing_is_offered_and_nothing_fails(tmp_path: Path, line: str) -> None:
    assert complete(tmp_path, line) == []


def test_an_unborn_repository_offers_nothing(repo: Path) -> None:
    assert complete(repo, "git-tokens show ") == []

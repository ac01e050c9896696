"""A merge row's title does not repeat the PR number its own column shows, in every format."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import commit, git, run


def branch_with_records(repo: Path, name: str, tokens: str) -> None:
    git(repo, "switch", "-q", "-c", name)
    commit(repo, f"work on {name}")
    assert run("add", tokens, "--model", "gpt-4o").exit_code == 0
    git(repo, "switch", "-q", "main")


@pytest.fixture
def merged(repo: Path) -> Path:
    """A squash merge "Add search (#17)" (records carried), and a PR merge whose title ends in another PR's
    number (a revert of #9), which is part of its title."""
    commit(repo, "initial")
    branch_with_records(repo, "search", "1000")
    git(repo, "merge", "-q", "--squash", "search")
    git(repo, "commit", "-q", "-m", "Add search (#17)")
    assert run("carry", "--squash-merged", "search").exit_code == 0
    branch_with_records(repo, "revert", "2000")
    git(repo, "merge", "-q", "--no-ff", "revert", "-m", "Merge pull request #18 from acme/revert\n\nRevert login (#9)")
    return repo


def test_json_titles(merged: Path) -> None:
    rows = json.loads(run("report", "--format", "json").output)["by_merge"]
    assert [(m["pr"], m["title"]) for m in rows] == [(18, "Revert login (#9)"), (17, "Add search")]


@pytest.mark.parametrize("fmt", ["text", "markdown", "html"])
def test_rendered_titles(merged: Path, fmt: str) -> None:
    out = run("report", "--sections", "merges", "--format", fmt).output
    assert "#17" in out and "Add search" in out
    assert "(#17)" not in out
    assert "(#9)" in out

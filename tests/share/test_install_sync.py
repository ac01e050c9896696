"""`install --sync`: the pre-push hook syncs the ledger on a real `git push`, never blocks it, never recurses."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from conftest import commit, git, run

from gitokens.git.repo import open_repo
from gitokens.ledger import edits, store
from gitokens.share.install import forced_notes_refspecs


@pytest.fixture
def clone(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    """A bare remote and a clone of it with one commit, `install --sync` run in it (the working directory)."""
    remote = tmp_path / "remote.git"
    git(tmp_path, "init", "-q", "--bare", str(remote))
    path = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(remote), str(path))
    monkeypatch.chdir(path)
    commit(path, "first")
    run("install", "--no-prompt", "--sync")
    return remote, path


def add(path: Path, tokens: int) -> str:
    repo = open_repo(path)
    built = edits.build(repo, counts={"input_tokens": tokens, "output_tokens": 1}, model="m")
    return edits.add(repo, built).record.id


def push(path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["git", "push", *args], cwd=path, capture_output=True, text=True, check=False)


def remote_ids(remote: Path) -> list[str]:
    return sorted(store.load(open_repo(remote), use_cache=False).entries)


def test_pushing_a_branch_syncs_the_ledger(clone: tuple[Path, Path]) -> None:
    remote, path = clone
    record = add(path, 10)
    done = push(path, "-q", "origin", "main")
    assert done.returncode == 0, done.stderr
    assert "gitokens: ledger synced with origin: 0 record(s) received, 1 sent" in done.stderr
    assert remote_ids(remote) == [record]
    assert git(remote, "rev-parse", "main").strip() == git(path, "rev-parse", "main").strip()


def test_a_rejected_ledger_push_does_not_block_the_branch(clone: tuple[Path, Path]) -> None:
    remote, path = clone
    hook = remote / "hooks" / "pre-receive"
    hook.write_text('#!/bin/sh\nif grep -q refs/notes/; then echo "no notes here" >&2; exit 1; fi\n')
    hook.chmod(0o755)
    add(path, 10)
    done = push(path, "-q", "origin", "main")
    assert done.returncode == 0, done.stderr
    lines = [line for line in done.stderr.splitlines() if line.startswith("gitokens:")]
    assert len(lines) == 1 and "the ledger was not synced with origin" in lines[0] and "push goes on" in lines[0]
    assert git(remote, "rev-parse", "main").strip() == git(path, "rev-parse", "main").strip()
    assert git(remote, "for-each-ref", "refs/notes/").strip() == ""


def test_a_tag_push_does_not_sync(clone: tuple[Path, Path]) -> None:
    remote, path = clone
    add(path, 10)
    git(path, "tag", "v1")
    assert push(path, "-q", "origin", "v1").returncode == 0
    assert git(remote, "for-each-ref", "refs/notes/").strip() == ""


def test_foreign_pre_push_is_chained_with_its_stdin_and_can_block(tmp_path: Path, repo: Path) -> None:
    commit(repo, "first")
    hooks = repo / ".git" / "hooks"
    hooks.mkdir(exist_ok=True)
    seen = tmp_path / "seen"
    (hooks / "pre-push").write_text(f"#!/bin/sh\ncat > '{seen}'\nexit 3\n")
    (hooks / "pre-push").chmod(0o755)
    remote = tmp_path / "r.git"
    git(tmp_path, "init", "-q", "--bare", str(remote))
    git(repo, "remote", "add", "origin", str(remote))
    assert "moved your existing pre-push hook" in run("install", "--sync").output
    done = push(repo, "origin", "main")
    assert done.returncode != 0  # the foreign hook's verdict stands
    assert "refs/heads/main" in seen.read_text()
    run("uninstall")
    assert (hooks / "pre-push").read_text().startswith("#!/bin/sh\ncat")
    assert not (hooks / "pre-push.pre-gitokens").exists()


def test_uninstall_removes_the_pre_push_hook(clone: tuple[Path, Path]) -> None:
    _, path = clone
    hook = path / ".git" / "hooks" / "pre-push"
    assert os.access(hook, os.X_OK) and "gitokens-managed-hook" in hook.read_text()
    out = run("uninstall").output
    assert "removed the pre-push hook" in out and not hook.exists()


def test_install_offers_the_safe_refspec(repo: Path, tmp_path: Path) -> None:
    commit(repo)
    git(repo, "remote", "add", "origin", str(tmp_path / "r.git"))
    git(repo, "config", "--add", "remote.origin.fetch", "+refs/notes/*:refs/notes/*")
    [warning] = forced_notes_refspecs(open_repo(repo))
    command = warning.split("hint: ", 1)[1].split(" (", 1)[0]
    assert command == (
        "git config --replace-all remote.origin.fetch '+refs/notes/*:refs/notes/remotes/origin/*' "
        "'^\\+refs/notes/\\*:refs/notes/\\*$'"
    )
    subprocess.run(command, shell=True, cwd=repo, check=True)
    assert forced_notes_refspecs(open_repo(repo)) == []
    assert "+refs/notes/*:refs/notes/remotes/origin/*" in git(repo, "config", "--get-all", "remote.origin.fetch")


def test_a_push_that_includes_the_ledger_is_left_to_git(clone: tuple[Path, Path]) -> None:
    remote, path = clone
    record = add(path, 10)
    done = push(path, "-q", "origin", "main", "refs/notes/tokens")
    assert done.returncode == 0, done.stderr
    assert "gitokens:" not in done.stderr
    assert remote_ids(remote) == [record]

from __future__ import annotations

import json
import os
import stat
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import commit, git, run

from gitokens.cli import cli
from gitokens.git.repo import open_repo
from gitokens.ledger import pending, store
from gitokens.share.install import CONFIG


def local_config(repo: Path) -> str:
    return (repo / ".git" / "config").read_text()


def records_on(commit_id: str) -> list[int]:
    loaded = store.load(open_repo())
    return sorted(e.record.tokens for e in loaded.entries.values() if commit_id in e.placements)


def test_install_sets_hook_and_config_and_uninstall_removes_exactly_that(repo: Path) -> None:
    commit(repo)
    git(repo, "config", "notes.rewriteRef", "refs/notes/commits")
    git(repo, "config", "notes.rewriteMode", "concatenate")
    before = local_config(repo)
    out = run("install").output
    hook = repo / ".git" / "hooks" / "post-commit"
    assert "installed the post-commit hook" in out and os.access(hook, os.X_OK)
    assert git(repo, "config", "--get-all", "notes.rewriteRef").split() == ["refs/notes/commits", "refs/notes/tokens"]
    assert git(repo, "config", "notes.rewriteMode").strip() == "cat_sort_uniq"
    assert git(repo, "config", "notes.tokens.mergeStrategy").strip() == "cat_sort_uniq"
    assert "updated the post-commit hook" in run("install").output
    assert git(repo, "config", "--get-all", "notes.rewriteRef").count("refs/notes/tokens") == 1
    said = run("uninstall").output.splitlines()
    assert not hook.exists()
    assert said[1:] == [
        "removed refs/notes/tokens from notes.rewriteRef",
        "restored notes.rewriteMode to concatenate",
        "unset notes.tokens.mergeStrategy",
    ]
    assert git(repo, "config", "--get-all", "notes.rewriteRef").split() == ["refs/notes/commits"]
    assert git(repo, "config", "notes.rewriteMode").strip() == "concatenate"
    assert git(repo, "config", "notes.tokens.mergeStrategy", check=False) == ""
    assert sorted(local_config(repo).split()) == sorted(before.split())


def test_uninstall_keeps_a_value_the_user_changed_after_install(repo: Path) -> None:
    run("install")
    git(repo, "config", "notes.rewriteMode", "overwrite")
    run("uninstall")
    assert git(repo, "config", "notes.rewriteMode").strip() == "overwrite"
    for key, value, _ in CONFIG:
        if key != "notes.rewriteMode":
            assert value not in git(repo, "config", "--get-all", key, check=False)


def test_foreign_hook_is_chained_and_restored(repo: Path) -> None:
    hook = repo / ".git" / "hooks" / "post-commit"
    hook.parent.mkdir(exist_ok=True)
    script = '#!/bin/sh\necho ran >> "$(git rev-parse --git-dir)/foreign-ran"\n'
    hook.write_text(script)
    hook.chmod(hook.stat().st_mode | stat.S_IXUSR)
    assert "moved your existing post-commit hook" in run("install", "--no-prompt").output
    run("add", "--pending", "42")
    head = commit(repo)
    assert (repo / ".git" / "foreign-ran").read_text() == "ran\n"
    assert records_on(head) == [42]
    run("uninstall")
    assert hook.read_text() == script and not (hook.parent / "post-commit.pre-gitokens").exists()


def test_hooks_path_is_respected(repo: Path) -> None:
    git(repo, "config", "core.hooksPath", ".githooks")
    result = run("install", "--no-prompt")
    assert "core.hooksPath is set" in result.stderr
    assert (repo / ".githooks" / "post-commit").exists()
    run("add", "--pending", "7")
    head = commit(repo)
    assert records_on(head) == [7]


def test_worktrees_share_the_hook_and_the_queue(repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    commit(repo)
    run("install", "--no-prompt")
    git(repo, "worktree", "add", "-q", "-b", "side", str(tmp_path / "wt"))
    monkeypatch.chdir(tmp_path / "wt")
    run("add", "--pending", "--input", "900", "--output", "100")
    head = commit(tmp_path / "wt")
    loaded = store.load(open_repo())
    assert [(e.attached, e.record.branch, e.record.tokens) for e in loaded.entries.values()] == [(head, "side", 1000)]


def test_pending_records_attach_to_the_new_commit_with_its_branch(repo: Path) -> None:
    commit(repo)
    run("install", "--no-prompt")
    git(repo, "switch", "-q", "-c", "feature")
    run("add", "--pending", "100", "first")
    run("add", "--pending", "--input", "10", "--output", "5", "--model", "gpt-4o")
    head = commit(repo, "feature work")
    loaded = store.load(open_repo())
    assert sorted((e.attached, e.record.commit, e.record.branch, e.record.tokens) for e in loaded.entries.values()) == [
        (head, head, "feature", 15),
        (head, head, "feature", 100),
    ]
    assert pending.list_pending(open_repo()) == ([], [])
    nxt = commit(repo)
    assert records_on(nxt) == []  # the queue was emptied


def test_amend_and_rebase_carry_records_after_install(repo: Path) -> None:
    base = commit(repo)
    run("install", "--no-prompt")
    git(repo, "switch", "-q", "-c", "topic")
    commit(repo, "topic 1")
    run("add", "111")
    git(repo, "commit", "-q", "--amend", "-m", "topic 1 amended")
    amended = git(repo, "rev-parse", "HEAD").strip()
    assert records_on(amended) == [111]
    commit(repo, "topic 2")
    run("add", "222")
    git(repo, "switch", "-q", "main")
    commit(repo, "main moves on")
    git(repo, "switch", "-q", "topic")
    git(repo, "rebase", "-q", "main")
    new_tip, new_first = git(repo, "rev-parse", "HEAD", "HEAD~1").split()
    assert new_first != amended and base != new_first
    assert records_on(new_first) == [111] and records_on(new_tip) == [222]
    summary = json.loads(run("show", "--json").output)
    assert (summary["sessions"], summary["total_tokens"]) == (2, 333)  # copies on the old commits count once


def test_hook_failure_leaves_commit_and_queue(repo: Path) -> None:
    commit(repo)
    run("install", "--no-prompt")
    run("add", "--pending", "5")
    lock = repo / ".git" / "refs" / "notes" / "tokens.lock"
    lock.parent.mkdir(parents=True, exist_ok=True)
    lock.write_text("")
    git(repo, "commit", "-q", "--allow-empty", "-m", "while locked")
    assert git(repo, "log", "-1", "--format=%s").strip() == "while locked"
    records, _ = pending.list_pending(open_repo())
    assert [r.tokens for r in records] == [5]
    lock.unlink()
    head = commit(repo)
    assert records_on(head) == [5]


def test_hook_error_line_is_printed(repo: Path) -> None:
    commit(repo)
    run("install", "--no-prompt")
    run("add", "--pending", "5")
    (repo / ".git" / "refs" / "notes").mkdir(parents=True, exist_ok=True)
    (repo / ".git" / "refs" / "notes" / "tokens.lock").write_text("")
    done = subprocess.run(["git", "commit", "--allow-empty", "-m", "x"], cwd=repo, capture_output=True, text=True)
    assert done.returncode == 0
    lines = [line for line in done.stderr.splitlines() if "gitokens" in line]
    assert len(lines) == 1 and "post-commit hook failed, commit and queue untouched" in lines[0]


def test_unreadable_pending_file_is_kept_and_reported(repo: Path) -> None:
    commit(repo)
    run("install", "--no-prompt")
    queue = repo / ".git" / "gitokens" / "pending"
    queue.mkdir(parents=True)
    (queue / "broken.json").write_text("{half a record")
    run("add", "--pending", "9")
    done = subprocess.run(["git", "commit", "--allow-empty", "-m", "x"], cwd=repo, capture_output=True, text=True)
    assert "kept in the queue, unreadable: broken.json" in done.stderr
    assert (queue / "broken.json").exists()
    assert records_on(git(repo, "rev-parse", "HEAD").strip()) == [9]


def test_forced_notes_refspec_is_warned_about(repo: Path) -> None:
    git(repo, "remote", "add", "origin", "https://example.invalid/repo.git")
    git(repo, "config", "--add", "remote.origin.fetch", "+refs/notes/*:refs/notes/*")
    result = run("install")
    assert "remote 'origin' fetches '+refs/notes/*:refs/notes/*'" in result.stderr


def test_hook_starts_python_only_when_there_is_work(repo: Path) -> None:
    commit(repo)
    run("install", "--no-prompt")
    hook = repo / ".git" / "hooks" / "post-commit"
    hook.write_text(hook.read_text().replace("GITOKENS_PYTHON='", "GITOKENS_PYTHON='/nonexistent"))
    env = {"PATH": "/usr/bin:/bin"}  # neither our python nor git-tokens can be found
    quiet = subprocess.run(
        ["git", "commit", "--allow-empty", "-m", "a"],
        cwd=repo,
        capture_output=True,
        text=True,
        env={**os.environ, **env},
    )
    assert quiet.returncode == 0 and "gitokens" not in quiet.stderr
    run("add", "--pending", "3")
    busy = subprocess.run(
        ["git", "commit", "--allow-empty", "-m", "b"],
        cwd=repo,
        capture_output=True,
        text=True,
        env={**os.environ, **env},
    )
    assert busy.returncode == 0 and "the post-commit hook cannot find gitokens" in busy.stderr


@pytest.mark.parametrize("hooks_path", ["/dev/null", "hooks-file"], ids=["dev-null", "a-file"])
def test_a_hooks_path_that_is_not_a_folder_is_an_error(repo: Path, hooks_path: str) -> None:
    commit(repo)
    (repo / "hooks-file").write_text("not a folder\n")
    git(repo, "config", "core.hooksPath", hooks_path)
    result = CliRunner().invoke(cli, ["install"])
    assert result.exit_code == 1 and not isinstance(result.exception, OSError)
    assert f"error: cannot install the hook into {hooks_path if hooks_path.startswith('/') else repo / hooks_path}" in (
        result.output
    )
    assert "hint: point core.hooksPath at a folder" in result.output
    assert git(repo, "config", "--get", "notes.rewriteRef", check=False) == ""

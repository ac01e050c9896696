"""doctor: each check finds its problem in a real repository, and --fix repairs what it safely can."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import commit, git, run

from gitokens.cli import cli
from gitokens.git.repo import NOTES_REF, open_repo
from gitokens.ledger import edits, store


def add(tokens: int, rev: str = "HEAD") -> str:
    repo = open_repo()
    built = edits.build(repo, counts={"input_tokens": tokens, "output_tokens": 1}, model="m")
    return edits.add(repo, built, rev=rev).record.id


def doctor(*args: str) -> tuple[int, str]:
    result = run("doctor", *args)
    return result.exit_code, result.output


def test_installed_repository_is_healthy(repo: Path) -> None:
    commit(repo)
    run("install", "--no-prompt")
    add(10)
    code, out = doctor()
    assert code == 0, out
    assert "ok    post-commit hook installed" in out and "ok    ledger: 1 record(s) in effect" in out
    assert "warn" not in out


def test_missing_config_is_fixed(repo: Path) -> None:
    commit(repo)
    code, out = doctor()
    assert code == 1 and "notes config missing: notes.rewriteRef = refs/notes/tokens" in out
    code, out = doctor("--fix")
    assert "fixed set notes.rewriteRef = refs/notes/tokens" in out
    assert git(repo, "config", "notes.tokens.mergeStrategy").strip() == "cat_sort_uniq"
    run("uninstall")  # what the fix set is undone like install's own
    assert git(repo, "config", "notes.tokens.mergeStrategy", check=False) == ""


def test_forced_notes_refspec_is_replaced(repo: Path, tmp_path: Path) -> None:
    commit(repo)
    run("install", "--no-prompt")
    git(repo, "remote", "add", "origin", str(tmp_path / "r.git"))
    git(repo, "config", "--add", "remote.origin.fetch", "+refs/notes/*:refs/notes/*")
    code, out = doctor()
    assert code == 1 and "git config --replace-all remote.origin.fetch" in out
    code, out = doctor("--fix")
    assert code == 0, out
    fetch = git(repo, "config", "--get-all", "remote.origin.fetch").split()
    assert "+refs/notes/*:refs/notes/remotes/origin/*" in fetch and "+refs/notes/*:refs/notes/*" not in fetch


def test_stale_notes_merge_state_is_cleaned(repo: Path) -> None:
    target = commit(repo)
    run("install", "--no-prompt")
    git(repo, "notes", "--ref", "tokens", "add", "-m", "ours", target)
    git(repo, "notes", "--ref", "theirs", "add", "-m", "theirs", target)
    git(repo, "notes", "--ref", "tokens", "merge", "-s", "manual", "refs/notes/theirs", check=False)
    assert (repo / ".git" / "NOTES_MERGE_REF").exists()
    code, out = doctor()
    assert code == 1 and "unfinished `git notes merge` into refs/notes/tokens" in out
    code, out = doctor("--fix")
    assert "fixed removed the unfinished notes merge" in out
    assert not (repo / ".git" / "NOTES_MERGE_REF").exists()
    assert git(repo, "notes", "--ref", "tokens-quarantine", "show", target).strip() == "ours"  # not a record


def test_stale_lock_is_removed_a_fresh_one_left(repo: Path) -> None:
    commit(repo)
    run("install", "--no-prompt")
    add(1)
    lock = repo / ".git" / (NOTES_REF + ".lock")
    lock.write_text("")
    assert "a ledger write is under way" in doctor("--fix")[1] and lock.exists()
    old = time.time() - 3600
    os.utime(lock, (old, old))
    code, out = doctor("--fix")
    assert "fixed removed the stale lock" in out and not lock.exists() and code == 0


def test_ledger_health(repo: Path) -> None:
    first = commit(repo)
    run("install", "--no-prompt")
    kept = add(5, first)
    git(repo, "notes", "--ref", "tokens", "append", "-m", "not a record", first)
    second = commit(repo, "second")
    copy = store.load(open_repo()).entries[kept].record
    edited = copy.replace(input_tokens=6)  # a copy of the record on another commit, edited by hand
    git(repo, "notes", "--ref", "tokens", "add", "-m", edited.to_line(), second)
    git(repo, "checkout", "-q", "-b", "gone")
    lost = commit(repo, "soon gone")
    add(7, lost)
    git(repo, "checkout", "-q", "main")
    git(repo, "branch", "-q", "-D", "gone")
    git(repo, "reflog", "expire", "--expire=now", "--all")
    git(repo, "gc", "-q", "--prune=now")
    code, out = doctor()
    assert f"1 ledger line(s) are not valid records: {first[:12]} line" in out
    code, out = doctor("--fix")
    assert code == 1 and "fixed moved 1 line(s) that are not records from 1 note(s)" in out
    assert "not a record" in git(repo, "notes", "--ref", "tokens-quarantine", "show", first)
    code, out = doctor()
    assert "not valid records" not in out and "1 line(s) that are not records are kept in" in out
    assert "1 record(s) sit only on commits that are gone" in out
    assert f"1 record id(s) have copies with different content: {kept}" in out
    assert kept in store.load(open_repo()).entries


def test_notes_at_two_depths_are_joined(repo: Path) -> None:
    target = commit(repo)
    run("install", "--no-prompt")
    kept = add(5, target)
    other = edits.build(open_repo(), counts={"input_tokens": 9, "output_tokens": 1}, model="m")
    env = {"GIT_INDEX_FILE": str(repo / ".git" / "doctor-index")}
    (repo / "flat").write_text(other.replace(commit=target).to_line() + "\n")
    flat = git(repo, "hash-object", "-w", "flat").strip()
    (repo / "flat").unlink()
    git(repo, "read-tree", NOTES_REF, env=env)
    git(repo, "update-index", "--add", "--cacheinfo", f"100644,{flat},{target}", env=env)
    tree = git(repo, "write-tree", env=env).strip()
    git(repo, "update-ref", NOTES_REF, git(repo, "commit-tree", tree, "-p", NOTES_REF, "-m", "by hand").strip())
    code, out = doctor()
    assert code == 1 and f"1 commit(s) have notes at two fanout depths (written by two tools): {target[:12]}" in out
    code, out = doctor("--fix")
    assert code == 0 and "fixed joined the copies of 1 note(s)" in out
    placements = [c for c, _ in open_repo().read_notes()]
    assert placements == [target]
    assert sorted(store.load(open_repo()).entries) == sorted([kept, other.id])


def test_hook_pointing_at_a_missing_python_is_repointed(
    repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    commit(repo)
    run("install", "--no-prompt")
    hook = repo / ".git" / "hooks" / "post-commit"
    text = hook.read_text()
    python = next(line for line in text.splitlines() if line.startswith("GITOKENS_PYTHON="))
    hook.write_text(text.replace(python, f"GITOKENS_PYTHON='{tmp_path / 'gone' / 'python'}'"))
    monkeypatch.setenv("PATH", "/usr/bin:/bin")  # and no git-tokens on PATH
    assert "the post-commit hook cannot find gitokens" in doctor()[1]
    assert "fixed pointed the post-commit hook at this gitokens" in doctor("--fix")[1]
    assert python in hook.read_text()


def break_ledger_ref(repo: Path, how: str) -> None:
    if how == "blob":
        blob = subprocess.run(["git", "hash-object", "-w", "--stdin"], input=b"x\n", capture_output=True, cwd=repo)
        git(repo, "update-ref", NOTES_REF, blob.stdout.decode().strip())
    elif how == "tree":
        git(repo, "update-ref", NOTES_REF, git(repo, "rev-parse", "HEAD^{tree}").strip())
    else:  # what `git prune --expire=now` racing a write leaves: a ref to an object that is gone
        (repo / ".git" / NOTES_REF).write_text("dead" * 10 + "\n")


@pytest.mark.parametrize("how", ["blob", "tree", "missing"])
@pytest.mark.parametrize("history", ["reflog", "remote"])
def test_a_ledger_ref_that_is_no_notes_commit_is_diagnosed_and_reset(repo: Path, how: str, history: str) -> None:
    commit(repo)
    run("install", "--no-prompt")
    kept = add(5)
    good = git(repo, "rev-parse", NOTES_REF).strip()
    if history == "remote":
        git(repo, "update-ref", "refs/notes/remotes/origin/tokens", good)
        git(repo, "reflog", "expire", "--expire=now", "--all")
    break_ledger_ref(repo, how)
    for args in (["log"], ["report"], ["add", "3"], ["sync"], ["carry", "HEAD", "--onto", "HEAD"]):
        result = CliRunner().invoke(cli, args)
        assert result.exit_code != 0 and isinstance(result.exception, (SystemExit, type(None)))
        assert f"error: {NOTES_REF} points at " in result.output or args == ["sync"]
    code, out = doctor()
    assert code == 1 and f"hint: git tokens doctor --fix points it back at {good[:12]}" in out
    code, out = doctor("--fix")
    assert f"fixed pointed {NOTES_REF} back at {good[:12]}" in out and code == 0, out
    assert list(store.load(open_repo()).entries) == [kept] and doctor()[0] == 0


@pytest.mark.parametrize("hooked", [True, False], ids=["hook", "no-hook"])
def test_queued_records_are_reported_with_what_attaches_them(repo: Path, hooked: bool) -> None:
    commit(repo)
    if hooked:
        run("install", "--no-prompt")
    run("add", "--pending", "5")
    (repo / ".git" / "gitokens" / "pending" / "broken.json").write_text("{nope")
    code, out = doctor()
    assert code == 1 and "1 queued file(s) cannot be read and are never attached: broken.json" in out
    level = "info" if hooked else "warn"
    assert f"{level}  1 record(s) wait in " in out and "until you run `git tokens add`" not in out
    if not hooked:
        assert "are never attached" in out and "hint: git tokens install, then commit" in out


def test_records_on_commits_a_rewrite_left_behind_are_flagged(repo: Path) -> None:
    commit(repo)
    run("install", "--no-prompt")
    old = commit(repo, "rewritten")
    add(5, old)
    env = {"FILTER_BRANCH_SQUELCH_WARNING": "1"}
    git(repo, "filter-branch", "-f", "--msg-filter", "sed s/rewritten/renamed/", "HEAD~1..HEAD", env=env)
    git(repo, "update-ref", "-d", "refs/original/refs/heads/main")
    code, out = doctor()
    assert "1 record(s) sit only on commits no branch or tag reaches" in out and code == 0
    assert "git tokens carry OLD_COMMIT --onto NEW_COMMIT" in out


@pytest.mark.parametrize(
    "bad",
    [b"not json", b'{"ts":"9999-12-31T23:00:00-05:00","total_tokens":5}', b"\xff\xfe", b"[" * 1100 + b"]" * 1100],
    ids=["text", "overflowing-ts", "not-utf8", "deep"],
)
def test_fix_moves_bad_lines_to_the_quarantine_and_keeps_them(repo: Path, bad: bytes) -> None:
    target = commit(repo)
    run("install", "--no-prompt")
    kept = add(5)
    (repo / "bad").write_bytes(bad + b"\n")
    git(repo, "notes", "--ref=tokens", "append", "-F", "bad", target)
    assert "warning: skipped 1 ledger line(s)" in CliRunner().invoke(cli, ["log"]).stderr
    code, out = doctor("--fix")
    assert code == 0 and "fixed moved 1 line(s)" in out, out
    held = subprocess.run(["git", "notes", "--ref=tokens-quarantine", "show", target], capture_output=True, cwd=repo)
    assert held.stdout == bad + b"\n"
    result = CliRunner().invoke(cli, ["log"])
    assert "warning" not in result.stderr and kept[:8] in result.stdout
    assert "1 line(s) that are not records are kept in refs/notes/tokens-quarantine" in doctor()[1]

"""A real `git commit` firing the hook installed with `git tokens install --capture`."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from agentlogs import claude, claude_file, write
from conftest import commit, git, run

from gitokens.git.repo import open_repo
from gitokens.ledger import store


def on_head(repo: Path) -> list[tuple[str, str | None, int]]:
    head = git(repo, "rev-parse", "HEAD").strip()
    loaded = store.load(open_repo(repo))
    return sorted(
        (e.record.source, e.record.session, e.record.tokens) for e in loaded.entries.values() if e.attached == head
    )


def agent_says(repo: Path, home: Path, mid: str, tokens: int, *, branch: str = "main", append: bool = True) -> Path:
    time.sleep(1.1)  # committer times are whole seconds: keep the message and the commits apart
    line = claude(session="S1", cwd=repo, branch=branch, at=time.time(), mid=mid, rid=f"req-{mid}", inp=tokens)
    return write(claude_file(home, "-repo", "S1"), [line], append=append)


def test_each_commit_gets_the_usage_logged_before_it(repo: Path, hermetic: Path) -> None:
    commit(repo)
    assert "also captures" in run("install", "--no-prompt", "--capture").output
    agent_says(repo, hermetic, "msg_1", 1200)
    done = git(repo, "commit", "-q", "--allow-empty", "-m", "first with an agent")
    assert on_head(repo) == [("claude-code", "S1", 1200)], done
    stamp = repo / ".git" / "gitokens" / "capture" / "stamp"
    captured_at = stamp.stat().st_mtime_ns
    git(repo, "commit", "-q", "--allow-empty", "-m", "nothing new in the logs")
    assert on_head(repo) == []
    assert stamp.stat().st_mtime_ns == captured_at  # the shim saw no log change and did not start Python
    agent_says(repo, hermetic, "msg_2", 345)
    git(repo, "commit", "-q", "--allow-empty", "-m", "second with an agent")
    assert on_head(repo) == [("claude-code", "S1", 345)]


@pytest.mark.parametrize(("branch", "queue"), [("main", "main.json"), ("feat/50%", "feat%2F50%25.json")])
def test_usage_waiting_for_this_branch_starts_the_capture(repo: Path, hermetic: Path, branch: str, queue: str) -> None:
    commit(repo)
    git(repo, "checkout", "-q", "-B", branch)
    run("install", "--no-prompt", "--capture")
    agent_says(repo, hermetic, "msg_1", 700, branch=branch)
    run("capture")  # the message is after the last commit: it waits
    assert (repo / ".git" / "gitokens" / "capture" / "pending" / queue).stat().st_size > 0
    git(repo, "commit", "-q", "--allow-empty", "-m", "takes the waiting usage")
    assert on_head(repo) == [("claude-code", "S1", 700)]


def test_usage_waiting_on_a_detached_head_starts_the_capture(repo: Path, hermetic: Path) -> None:
    commit(repo)
    git(repo, "checkout", "-q", "--detach")
    run("install", "--no-prompt", "--capture")
    agent_says(repo, hermetic, "msg_1", 700, branch="HEAD")
    run("capture")  # no commit in this work tree after it yet: it waits for one
    [queue] = (repo / ".git" / "gitokens" / "capture" / "pending").glob("@HEAD *.json")
    assert queue.stat().st_size > 0
    git(repo, "commit", "-q", "--allow-empty", "-m", "takes the waiting usage")
    assert on_head(repo) == [("claude-code", "S1", 700)]


def test_the_hook_installed_without_capture_reads_no_logs(repo: Path, hermetic: Path) -> None:
    commit(repo)
    run("install", "--no-prompt")
    agent_says(repo, hermetic, "msg_1", 1200)
    git(repo, "commit", "-q", "--allow-empty", "-m", "no capture")
    assert on_head(repo) == []
    assert not (repo / ".git" / "gitokens" / "capture").exists()


def test_no_capture_while_rebasing(repo: Path, hermetic: Path) -> None:
    commit(repo)
    base = commit(repo)
    run("install", "--no-prompt", "--capture")
    agent_says(repo, hermetic, "msg_1", 500)
    git(repo, "commit", "-q", "--allow-empty", "-m", "to be rebased")
    assert on_head(repo) == [("claude-code", "S1", 500)]
    agent_says(repo, hermetic, "msg_2", 77)
    git(repo, "rebase", "-q", "--force-rebase", base)
    assert on_head(repo) == [("claude-code", "S1", 500)]  # the note came along; msg_2 waits
    agent_says(repo, hermetic, "msg_3", 9)
    git(repo, "commit", "-q", "--allow-empty", "-m", "after the rebase")
    assert on_head(repo) == [("claude-code", "S1", 9)]
    git(repo, "checkout", "-q", "HEAD~1")  # msg_2 came before the rebase wrote this commit: it is its usage
    assert on_head(repo) == [("claude-code", "S1", 77), ("claude-code", "S1", 500)]

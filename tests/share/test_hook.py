"""The post-commit hook's prompt, driven through a real pseudo-terminal and a real `git commit`."""

from __future__ import annotations

import os
import pty
import select
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import commit, git, run

import gitokens
from gitokens.git.repo import open_repo
from gitokens.ledger import store


class Terminal:
    """A command running on a pseudo-terminal that is its controlling terminal."""

    def __init__(self, args: list[str], cwd: Path, env: dict[str, str] | None = None) -> None:
        self.pid, self.fd = pty.fork()
        if self.pid == 0:  # pragma: no cover - the child
            os.chdir(cwd)
            os.execvpe(args[0], args, {**os.environ, **(env or {})})
        self.seen = b""

    def expect(self, text: str, timeout: float = 20) -> None:
        deadline = time.monotonic() + timeout
        while text.encode() not in self.seen:
            if not self._read(deadline - time.monotonic()):
                raise AssertionError(f"never saw {text!r}; the terminal showed:\n{self.seen.decode(errors='replace')}")

    def send(self, line: str) -> None:
        os.write(self.fd, line.encode() + b"\r")

    def finish(self, timeout: float = 30) -> int:
        deadline = time.monotonic() + timeout
        while self._read(deadline - time.monotonic()):
            pass
        _, status = os.waitpid(self.pid, 0)
        os.close(self.fd)
        return os.waitstatus_to_exitcode(status)

    def _read(self, remaining: float) -> bool:
        if remaining <= 0:
            raise AssertionError(f"timed out; the terminal showed:\n{self.seen.decode(errors='replace')}")
        ready, _, _ = select.select([self.fd], [], [], remaining)
        if not ready:
            raise AssertionError(f"timed out; the terminal showed:\n{self.seen.decode(errors='replace')}")
        try:
            chunk = os.read(self.fd, 4096)
        except OSError:  # EIO: the child closed the terminal
            return False
        self.seen += chunk
        return bool(chunk)


def head_records(repo: Path) -> list[tuple[str, int, str | None]]:
    head = git(repo, "rev-parse", "HEAD").strip()
    loaded = store.load(open_repo())
    return [(e.record.source, e.record.tokens, e.record.model) for e in loaded.entries.values() if e.attached == head]


@pytest.fixture
def installed(repo: Path) -> Path:
    commit(repo)
    run("install")
    return repo


def test_prompt_on_a_terminal_records_tokens(installed: Path) -> None:
    term = Terminal(["git", "commit", "--allow-empty", "-m", "with tokens"], installed)
    term.expect("Tokens for this commit?")
    term.expect("input tokens:")
    term.send("12,000")
    term.expect("output tokens [0]:")
    term.send("3400")
    term.expect("model:")
    term.send("claude-sonnet-4-5-20250929")
    assert term.finish() == 0
    assert head_records(installed) == [("hook", 15400, "claude-sonnet-4-5-20250929")]
    assert b"recorded 15,400 tokens" in term.seen


def test_enter_skips(installed: Path) -> None:
    term = Terminal(["git", "commit", "--allow-empty", "-m", "no tokens"], installed)
    term.expect("input tokens:")
    term.send("")
    assert term.finish() == 0
    assert head_records(installed) == []
    assert git(installed, "log", "-1", "--format=%s").strip() == "no tokens"


def test_bad_answer_is_asked_again(installed: Path) -> None:
    term = Terminal(["git", "commit", "--allow-empty", "-m", "x"], installed)
    term.expect("input tokens:")
    term.send("lots")
    term.expect("a whole number, please")
    term.send("50")
    term.expect("output tokens")
    term.send("")
    term.expect("model:")
    term.send("")
    assert term.finish() == 0
    assert head_records(installed) == [("hook", 50, None)]


@pytest.mark.parametrize("env", [{"CI": "true"}, {"GITOKENS_NO_PROMPT": "1"}], ids=["CI", "GITOKENS_NO_PROMPT"])
def test_no_prompt_in_ci(installed: Path, env: dict[str, str]) -> None:
    term = Terminal(["git", "commit", "--allow-empty", "-m", "ci"], installed, env)
    assert term.finish(timeout=20) == 0
    assert b"Tokens for this commit?" not in term.seen


def test_no_prompt_during_rebase_or_cherry_pick(installed: Path) -> None:
    git(installed, "switch", "-q", "-c", "topic")
    picked = commit(installed, "topic 1")
    commit(installed, "topic 2")
    git(installed, "switch", "-q", "main")
    commit(installed, "main moves")
    term = Terminal(["git", "cherry-pick", picked], installed)
    assert term.finish() == 0
    term = Terminal(["git", "rebase", "main", "topic"], installed)
    assert term.finish() == 0
    assert b"Tokens for this commit?" not in term.seen
    assert git(installed, "log", "--format=%s", "-3").split("\n")[:2] == ["topic 2", "topic 1"]


def test_no_prompt_without_a_terminal(installed: Path) -> None:
    done = subprocess.run(
        ["git", "commit", "--allow-empty", "-m", "scripted"],
        cwd=installed,
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=30,
    )
    assert done.returncode == 0 and "Tokens for this commit?" not in done.stderr + done.stdout


@pytest.mark.parametrize("moment", [0.12, 0.17, 0.22, 0.3], ids=["starting", "claiming", "writing", "done"])
def test_a_killed_hook_loses_and_doubles_nothing(repo: Path, moment: float) -> None:
    commit(repo)
    queued = {r.id for r in (gitokens.record(n + 1, 1, model="m") for n in range(1500)) if r is not None}
    hook = subprocess.Popen([str(Path(sys.executable).parent / "git-tokens"), "hook-run", "post-commit", "--no-prompt"])
    time.sleep(moment)
    hook.kill()
    hook.wait()
    lock = repo / ".git" / "refs" / "notes" / "tokens.lock"
    if lock.exists():  # killed while writing: doctor says what to run, and the user runs it
        assert f"hint: if no git or gitokens process is running: rm {lock}" in run("doctor").output
        lock.unlink()
    first = store.load(open_repo())
    commit(repo, "next")
    run("hook-run", "post-commit", "--no-prompt")
    loaded = store.load(open_repo())
    assert set(loaded.entries) == queued and not loaded.conflicting_ids
    assert all(loaded.entries[i].record.commit == e.record.commit for i, e in first.entries.items())
    assert not list((repo / ".git" / "gitokens" / "pending").iterdir())

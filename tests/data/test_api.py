"""The Python API: record, track and tracked with SDK-shaped responses, never raising, from many processes."""

from __future__ import annotations

import asyncio
import logging
import os
import subprocess
import sys
import textwrap
import threading
from pathlib import Path
from typing import Any

import pytest
from conftest import commit, git, run
from test_usage import ANTHROPIC, CHAT, EXPECTED, RESPONSES, as_object

import gitokens
from gitokens.git.repo import open_repo
from gitokens.ledger import pending, store


def queued(repo: Path) -> list[Any]:
    records, problems = pending.list_pending(open_repo(repo))
    assert problems == []
    return records


@pytest.mark.parametrize("form", ["dict", "object"])
@pytest.mark.parametrize(("shape", "payload"), [("chat", CHAT), ("responses", RESPONSES), ("anthropic", ANTHROPIC)])
def test_track_queues_the_usage_and_returns_the_response(repo: Path, shape: str, payload: Any, form: str) -> None:
    commit(repo)
    response = payload if form == "dict" else as_object(payload)
    assert gitokens.track(response, endpoint="summarise", note="nightly") is response
    [made] = queued(repo)
    expected = EXPECTED[shape]
    assert {k: getattr(made, k) for k in expected} == expected
    assert (made.source, made.endpoint, made.note, made.branch, made.author) == (
        "api",
        "summarise",
        "nightly",
        "main",
        "test@example.com",
    )


def test_record_with_a_commit_attaches_now(repo: Path) -> None:
    first = commit(repo)
    commit(repo)
    made = gitokens.record(1200, 300, model="gpt-4o", endpoint="chat", commit="HEAD~1")
    assert made is not None and made.commit == first
    [entry] = store.load(open_repo(repo)).usage()
    assert (entry.attached, entry.record.tokens, entry.record.source) == (first, 1500, "api")
    assert queued(repo) == []


def test_record_a_total_and_a_repo_elsewhere(repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    commit(repo)
    monkeypatch.chdir(tmp_path)
    made = gitokens.record(total_tokens=54161, note="total only", repo=repo)
    assert made is not None and (made.total_tokens, made.split_known) == (54161, False)
    assert [r.id for r in queued(repo)] == [made.id]


@pytest.mark.parametrize(
    ("call", "words"),
    [
        pytest.param(lambda: gitokens.track({"choices": []}), "no token counts found", id="not-usage"),
        pytest.param(lambda: gitokens.track(None), "got None", id="none"),
        pytest.param(lambda: gitokens.record(-5, 1), "cannot be negative", id="negative"),
        pytest.param(lambda: gitokens.record(0, 0), "no tokens given", id="nothing"),
        pytest.param(lambda: gitokens.record(5, 1, commit="nope"), "unknown revision", id="bad-commit"),
        pytest.param(lambda: gitokens.record(5, 1, repo="/"), "not a git repository", id="no-repo"),
    ],
)
def test_failures_are_logged_never_raised(repo: Path, caplog: pytest.LogCaptureFixture, call: Any, words: str) -> None:
    commit(repo)
    with caplog.at_level(logging.WARNING, logger="gitokens"):
        result = call()
    assert result is None or isinstance(result, dict)
    assert any(words in message for message in caplog.messages), caplog.messages
    assert queued(repo) == []


def test_track_returns_the_response_even_when_recording_fails(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # not a repository
    response = as_object(ANTHROPIC)
    assert gitokens.track(response) is response


def test_a_queue_without_the_hook_is_pointed_out_once(repo: Path, caplog: pytest.LogCaptureFixture) -> None:
    commit(repo)
    with caplog.at_level(logging.WARNING, logger="gitokens"):
        gitokens.record(1, 1)
        gitokens.record(2, 1)
    assert sum("git tokens install" in m for m in caplog.messages) == 1


def test_tracked_decorates_functions_and_coroutines(repo: Path) -> None:
    commit(repo)

    @gitokens.tracked(endpoint="ask")
    def ask(question: str) -> dict[str, Any]:
        return CHAT if question else {"usage": None}

    @gitokens.tracked
    async def ask_later() -> Any:
        return as_object(ANTHROPIC)

    assert ask("why?") is CHAT
    assert ask("") == {"usage": None}  # nothing to record: logged, returned as it was
    assert asyncio.run(ask_later()).model == ANTHROPIC["model"]
    assert ask.__name__ == "ask"
    assert sorted((r.endpoint or "", r.tokens) for r in queued(repo)) == [("", 32912), ("ask", 2300)]


def test_threads_record_at_once(repo: Path) -> None:
    commit(repo)
    threads = [threading.Thread(target=lambda: [gitokens.record(10, 1) for _ in range(10)]) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(queued(repo)) == 80


def test_processes_record_at_once_and_one_commit_attaches_all(repo: Path) -> None:
    commit(repo)
    run("install", "--no-prompt")
    script = textwrap.dedent(
        """
        import sys, gitokens
        for i in range(25):
            assert gitokens.record(100, int(sys.argv[1]), model="gpt-4o") is not None
        """
    )
    workers = [
        subprocess.Popen([sys.executable, "-c", script, str(n)], cwd=repo, env=dict(os.environ)) for n in range(1, 7)
    ]
    assert [w.wait(timeout=120) for w in workers] == [0] * 6
    assert len(queued(repo)) == 150
    git(repo, "commit", "-q", "--allow-empty", "-m", "uses the tokens")
    head = git(repo, "rev-parse", "HEAD").strip()
    entries = store.load(open_repo(repo)).usage()
    assert len(entries) == 150 and {e.attached for e in entries} == {head}
    assert sum(e.record.tokens for e in entries) == 150 * 100 + 25 * sum(range(1, 7))
    assert queued(repo) == []


def test_import_gitokens_stays_cheap() -> None:
    heavy = "('pygit2', 'click', 'numpy', 'gitokens.data.api')"
    code = f"import sys, gitokens; print(sorted(m for m in {heavy} if m in sys.modules))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
    assert callable(gitokens.usage_fields) and gitokens.record.__module__ == "gitokens.data.api"


def test_an_api_record_is_one_request_and_keeps_1_hour_cache_writes(repo: Path) -> None:
    commit(repo)
    payload = {**ANTHROPIC, "usage": {**ANTHROPIC["usage"], "cache_creation": {"ephemeral_1h_input_tokens": 2000}}}
    gitokens.track(payload)
    [made] = queued(repo)
    assert (made.cache_write_tokens, made.cache_write_1h_tokens, made.requests) == (2500, 2000, 1)
    several = gitokens.record(9000, 700, cache_write_tokens=400, cache_write_1h_tokens=100, requests=3, commit="HEAD")
    assert several is not None and (several.cache_write_1h_tokens, several.requests) == (100, 3)
    unknown = gitokens.record(10, 5, requests=None, commit="HEAD")
    assert unknown is not None and unknown.requests is None

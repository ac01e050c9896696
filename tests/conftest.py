"""Hermetic git for every test: a private HOME and config, fixed identities, pygit2 kept off the host's config."""

from __future__ import annotations

import itertools
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pygit2
import pytest
from click.testing import CliRunner, Result

from gitokens.cli import cli

_CLOCK = itertools.count()
_SCRUB = (
    "GIT_DIR",
    "GIT_WORK_TREE",
    "GIT_INDEX_FILE",
    "GIT_OBJECT_DIRECTORY",
    "GIT_COMMON_DIR",
    "CI",
    "GITHUB_ACTIONS",
    "GITOKENS_NO_PROMPT",
    "GIT_REFLOG_ACTION",
    "NO_COLOR",
    "GIT_TRACE",
    "CLAUDE_CONFIG_DIR",
    "CODEX_HOME",
    "GEMINI_CLI_HOME",
    "COPILOT_HOME",
    "OPENCODE_DB",
    "XDG_DATA_HOME",
    "QWEN_RUNTIME_DIR",
    "QWEN_HOME",
    "GOOSE_PATH_ROOT",
    "KIMI_SHARE_DIR",
    "PI_CODING_AGENT_DIR",
)


@pytest.fixture(autouse=True)
def hermetic(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    home = tmp_path_factory.mktemp("home")
    (home / ".gitconfig").write_text(
        "[user]\n\tname = Test User\n\temail = test@example.com\n"
        "[init]\n\tdefaultBranch = main\n[advice]\n\tdetachedHead = false\n"
    )
    for name in _SCRUB:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(home / ".gitconfig"))
    monkeypatch.setenv("GIT_EDITOR", "false")
    monkeypatch.setenv("TZ", "UTC")
    levels = pygit2.enums.ConfigLevel
    saved = {level: pygit2.settings.search_path[level] for level in (levels.GLOBAL, levels.XDG, levels.SYSTEM)}
    pygit2.settings.search_path[levels.GLOBAL] = str(home)
    pygit2.settings.search_path[levels.XDG] = str(home / ".config")
    pygit2.settings.search_path[levels.SYSTEM] = str(home / "no-system")
    yield home
    for level, value in saved.items():
        pygit2.settings.search_path[level] = value


def git(cwd: Path, *args: str, env: dict[str, str] | None = None, check: bool = True) -> str:
    """Run the real git binary; returns stdout."""
    done = subprocess.run(
        ["git", *args], cwd=cwd, capture_output=True, text=True, check=False, env={**os.environ, **(env or {})}
    )
    if check and done.returncode != 0:
        raise AssertionError(f"git {' '.join(args)} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    return done.stdout


def commit(cwd: Path, message: str = "change", files: dict[str, str] | None = None) -> str:
    """Write files (default: one that changes every time), commit them with a distinct date; returns the id."""
    tick = next(_CLOCK)
    for name, text in (files or {f"file{tick}.txt": f"{message} {tick}\n"}).items():
        path = cwd / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    git(cwd, "add", "-A")
    stamp = f"{1_700_000_000 + tick * 60} +0000"
    git(cwd, "commit", "-q", "-m", message, env={"GIT_AUTHOR_DATE": stamp, "GIT_COMMITTER_DATE": stamp})
    return git(cwd, "rev-parse", "HEAD").strip()


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty repository on branch main, which is also the working directory."""
    path = tmp_path / "repo"
    git(tmp_path, "init", "-q", str(path))
    monkeypatch.chdir(path)
    return path


def run(*args: str, input: str | None = None) -> Result:
    """Invoke the CLI in-process (exceptions other than our own errors propagate)."""
    return CliRunner().invoke(cli, list(args), input=input, catch_exceptions=False)

"""git tokens demo: a repository that looks like two months of a team's work, and the command that shows it."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from conftest import git, run

from gitokens import demo
from gitokens.errors import UsageError
from gitokens.git.repo import open_repo
from gitokens.ledger import store
from gitokens.report import pipeline

NOW = datetime(2025, 10, 1, 15, 30, tzinfo=UTC)
_BUILT: dict[str, Any] = {}


@pytest.fixture
def made(tmp_path_factory: pytest.TempPathFactory) -> demo.Demo:
    """One demo repository (seed 7, history ending at NOW) shared by the tests that only read it."""
    if "demo" not in _BUILT:
        _BUILT["demo"] = demo.create(tmp_path_factory.mktemp("demo") / "portal", seed=7, now=NOW)
    made: demo.Demo = _BUILT["demo"]
    return made


@pytest.fixture
def built(made: demo.Demo) -> Path:
    return made.path


def report_of(path: Path) -> dict[str, Any]:
    return pipeline.make(open_repo(path), store.load(open_repo(path)), top=0, now=NOW).to_dict()


@pytest.fixture
def report(built: Path) -> dict[str, Any]:
    if "report" not in _BUILT:
        _BUILT["report"] = report_of(built)
    return dict(_BUILT["report"])


def test_people_models_and_token_kinds(report: dict[str, Any]) -> None:
    assert len([row for row in report["by_author"] if not row["author"].startswith("ci")]) >= 3
    assert len(report["by_model"]) >= 3
    assert {row["source"] for row in report["by_source"]} >= {"manual", "claude-code", "codex", "hook", "ci"}
    totals = report["totals"]
    assert totals["cache_read_tokens"] > 0 and totals["cache_write_tokens"] > 0 and totals["reasoning_tokens"] > 0
    assert totals["estimated_tokens"] > 0  # records with only a total
    assert report["unpriced_models"] == [] and report["invalid_lines"] == []
    assert {row["endpoint"] for row in report["by_endpoint"]} >= {"/v1/messages", "/v1/responses", "pr-review"}


def test_pull_requests_are_merges_and_one_squash(report: dict[str, Any]) -> None:
    merges = [row for row in report["by_merge"] if row["kind"] == "merge"]
    assert len(merges) >= 5
    assert all(isinstance(row["pr"], int) and row["source_branch"] and row["total_tokens"] > 0 for row in merges)
    squash = [row for row in report["by_merge"] if row["kind"] == "squash"]
    assert [(row["pr"], row["source_branch"], row["title"]) for row in squash] == [
        (17, "feature/search", "Add search")  # the PR number is its own column
    ]
    assert squash[0]["sessions"] > 1


def test_sixty_days_of_history_ending_now(built: Path, report: dict[str, Any]) -> None:
    days = [row["date"] for row in report["daily"]]
    assert len(days) >= 40
    assert days[0] >= (NOW - timedelta(days=60)).date().isoformat()
    assert days[-1] == NOW.date().isoformat()
    assert report["session_stats"]["last"] <= NOW.isoformat().replace("+00:00", "Z")
    times = [int(t) for t in git(built, "log", "--branches", "--format=%at %ct").split()]
    assert max(times) <= NOW.timestamp() and NOW.timestamp() - min(times) >= 58 * 86400


def test_branches_open_and_merged(made: demo.Demo, report: dict[str, Any]) -> None:
    branches = git(made.path, "branch", "--format=%(refname:short)").split()
    assert sorted(branches) == sorted(["main", *made.open_branches]) and len(made.open_branches) >= 1
    recorded = {row["branch"] for row in report["by_branch"]}
    assert set(branches) <= recorded  # every branch that exists has records ...
    assert "feature/search" in recorded and "feature/search" not in branches  # ... and so has the squashed one
    assert report["current_branch"] == "main"


def test_a_normal_clean_repository(built: Path) -> None:
    assert git(built, "status", "--porcelain") == ""
    assert git(built, "symbolic-ref", "--short", "HEAD").strip() == "main"
    git(built, "fsck", "--no-progress", "--strict")
    assert len(set(git(built, "log", "--format=%an", "--branches").split("\n")) - {""}) >= 4
    merges = git(built, "log", "--merges", "--first-parent", "--format=%B", "main")
    assert "Merge pull request #12 from acme/feature/oauth\n\nAdd OAuth2 login" in merges
    assert '"source":"claude-code"' in git(built, "log", "--notes=tokens", "--format=%N", "main")


def test_same_seed_and_time_same_repository(made: demo.Demo, report: dict[str, Any], tmp_path: Path) -> None:
    again = demo.create(tmp_path / "again", seed=7, now=NOW)
    assert git(again.path, "rev-parse", "main") == git(made.path, "rev-parse", "main")
    assert {**report_of(again.path), "repository": None} == {**report, "repository": None}
    other = demo.create(tmp_path / "other", seed=8, now=NOW)
    assert git(other.path, "rev-parse", "main") != git(made.path, "rev-parse", "main")


@pytest.mark.parametrize("kind", ["file", "non-empty directory"])
def test_path_must_be_new_or_empty(tmp_path: Path, kind: str) -> None:
    target = tmp_path / "taken"
    if kind == "file":
        target.write_text("mine\n")
    else:
        (target / "keep").mkdir(parents=True)
    with pytest.raises(UsageError, match="already exists") as caught:
        demo.create(target)
    assert caught.value.hint and "leave PATH out" in caught.value.hint


def test_cli_prints_path_and_report_and_writes_dashboard(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    result = run("demo", str(tmp_path / "empty"))
    assert result.exit_code == 0, result.output
    path = (tmp_path / "empty").resolve()
    assert result.output.startswith(f"demo repository: {path}\n")
    assert "Add search" in result.output and "(#17)" not in result.output and "feature/dark-mode" in result.output
    dashboard = path / demo.DASHBOARD
    assert f"wrote the HTML dashboard: {dashboard}" in result.output
    assert dashboard.read_text(encoding="utf-8").lstrip().lower().startswith("<!doctype html")
    assert git(path, "status", "--porcelain") == ""  # the dashboard is ignored


def test_cli_refuses_a_non_empty_path_in_one_line(tmp_path: Path) -> None:
    (tmp_path / "README").write_text("mine\n")
    result = run("demo", str(tmp_path))
    assert result.exit_code == 2
    assert result.output.splitlines()[0] == f"error: {tmp_path} already exists and is not an empty directory"
    assert result.output.splitlines()[1].startswith("hint: ")


def test_installed_git_tokens_demo(tmp_path: Path) -> None:
    """The README's first command: `git tokens demo` through git, in a temporary directory of its own."""
    bindir = str(Path(sys.executable).parent)
    env = {**os.environ, "PATH": os.pathsep.join([bindir, os.environ["PATH"]]), "TMPDIR": str(tmp_path)}
    done = subprocess.run(
        ["git", "tokens", "demo"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    first = done.stdout.splitlines()[0]
    path = Path(first.removeprefix("demo repository: "))
    assert path.parent == tmp_path.resolve() and path.name.startswith("gitokens-demo-")
    assert (path / demo.DASHBOARD).is_file() and "Add search" in done.stdout and "(#17)" not in done.stdout
    assert done.stderr == ""

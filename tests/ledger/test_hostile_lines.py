"""Hostile ledger lines: every command reports them, keeps them, and goes on; far-future times in any zone."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from conftest import commit, git, run

from gitokens.cli import cli

POISON = {
    "overflowing-ts": '{"ts":"9999-12-31T23:00:00-05:00","total_tokens":5}',
    "deep": "[" * 1100 + "]" * 1100,
    "surrogate": '{"ts":"2025-01-01T00:00:00Z","total_tokens":7,"note":"\\ud800"}',
}
COMMANDS = [
    ["log"],
    ["show"],
    ["show", "HEAD"],
    ["report"],
    *(["report", "--format", f] for f in ("markdown", "html", "json", "csv")),
    ["export"],
    ["export", "--format", "csv"],
    ["doctor"],
    ["rm", "0000"],
    ["carry", "HEAD", "--onto", "HEAD"],
    ["check", "--budget-tokens", "1000000"],
    ["add", "3"],
]


def invoke(*args: str, env: dict[str, str] | None = None) -> Result:
    result = CliRunner().invoke(cli, list(args), env=env)
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result


@pytest.fixture(params=list(POISON), ids=list(POISON))
def poisoned(repo: Path, request: pytest.FixtureRequest) -> tuple[str, str]:
    """(the id of a valid record, the bad line beside it on HEAD)."""
    commit(repo)
    good: str = json.loads(run("add", "100", "--json").output)["id"]
    git(repo, "notes", "--ref=tokens", "append", "-m", POISON[request.param], "HEAD")
    return good, POISON[request.param]


@pytest.mark.parametrize("args", COMMANDS, ids=[" ".join(c) for c in COMMANDS])
def test_a_bad_line_never_crashes_a_command(poisoned: tuple[str, str], args: list[str]) -> None:
    good, bad = poisoned
    result = invoke(*args)
    assert result.exit_code in (0, 1, 2), result.output
    assert good in invoke("export", "--format", "json").stdout
    assert bad in git(Path.cwd(), "notes", "--ref=tokens", "show", "HEAD").splitlines()


def test_add_prints_its_total_beside_a_surrogate_note(repo: Path) -> None:
    commit(repo)
    git(repo, "notes", "--ref=tokens", "add", "-m", POISON["surrogate"], "HEAD")
    result = invoke("add", "5")
    assert result.exit_code == 0 and "main total: 5 tokens in 1 session" in result.output
    assert invoke("report", "--format", "csv").stdout.count("\ufffd") == 1


@pytest.mark.parametrize("zone", ["Asia/Tokyo", "Pacific/Kiritimati", "Pacific/Niue"])
@pytest.mark.parametrize("ts", ["9000-12-31T23:59:59.999Z", "1970-01-01T00:00:00Z"], ids=["last", "first"])
def test_times_at_the_window_edges_show_in_any_zone(repo: Path, zone: str, ts: str) -> None:
    commit(repo)
    line = json.dumps({"ts": ts, "input_tokens": 9, "output_tokens": 3, "model": "gpt-4o"})
    git(repo, "notes", "--ref=tokens", "add", "-m", line, "HEAD")
    assert invoke("log", env={"TZ": zone}).stdout.count("gpt-4o") == 1
    assert invoke("show", env={"TZ": zone}).exit_code == 0
    for args in (["--by", "week"], ["--by", "month", "--format", "html"], ["--format", "json"]):
        assert invoke("report", *args, "--timezone", zone).exit_code == 0

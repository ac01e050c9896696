"""The text report fits the terminal: COLUMNS, else the terminal's own width, else 80; ``--wide`` keeps
every column whole. Run through the real command, in a real repository."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import commit, git, run

from gitokens.report.grid import display_width

LONG_BRANCH = "feature/a-branch-name-long-enough-to-need-shortening-on-any-terminal"
LONG_TITLE = "Add the OAuth2 device flow with refresh tokens for the mobile and desktop clients"


@pytest.fixture
def busy(repo: Path) -> Path:
    """Records on a long-named branch merged as a pull request with a long title, and on main."""
    commit(repo, "initial")
    git(repo, "switch", "-q", "-c", LONG_BRANCH)
    commit(repo, "work")
    for n, model in enumerate(("claude-sonnet-4-5-20250929", "gpt-4o", "claude-opus-4-1-20250805")):
        result = run(
            "add", "--input", str(120_000 + n), "--output", "9230", "--model", model, "--note", "the device flow"
        )
        assert result.exit_code == 0, result.output
    git(repo, "switch", "-q", "main")
    git(repo, "merge", "-q", "--no-ff", LONG_BRANCH, "-m", f"Merge pull request #41 from acme/x\n\n{LONG_TITLE}")
    assert run("add", "--input", "5000", "--output", "700", "--model", "gpt-4o").exit_code == 0
    return repo


def report(repo: Path, *args: str, columns: str | None = None) -> str:
    env = {k: v for k, v in os.environ.items() if k != "COLUMNS"}
    if columns is not None:
        env["COLUMNS"] = columns
    done = subprocess.run(
        [sys.executable, "-m", "gitokens", "report", *args], cwd=repo, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def widest(text: str) -> int:
    return max(display_width(line) for line in text.splitlines())


def table(text: str, heading: str) -> list[str]:
    """The lines of the section under ``heading``, to the blank line that ends it."""
    lines = text.splitlines()
    start = lines.index(heading) + 1
    return lines[start : lines.index("", start)]


@pytest.mark.parametrize("columns", ["60", "80", "100", "132"])
def test_every_line_fits_columns_and_keeps_tokens_and_cost(busy: Path, columns: str) -> None:
    out = report(busy, columns=columns)
    assert widest(out) <= int(columns)
    for heading in ("Branches", "Models", "Authors", "Sessions", "Recent activity"):
        header = table(out, heading)[0].split()
        assert "Tokens" in header and "Cost" in header, (heading, header)
    merges = table(out, "Merges and pull requests into main")
    assert merges[1].split()[1] == "#41" and "$" in merges[1]


def test_narrow_terminals_shorten_names_in_the_middle_and_drop_what_can_go(busy: Path) -> None:
    narrow, wide = report(busy, columns="80"), report(busy, "--wide")
    assert LONG_BRANCH not in narrow and LONG_BRANCH in wide
    [shortened] = [line.split()[0] for line in table(narrow, "Branches")[1:] if line.split()[0].startswith("feature/")]
    assert "…" in shortened and LONG_BRANCH.endswith(shortened.split("…")[1])
    assert "Sessions" in table(wide, "Merges and pull requests into main")[0]
    assert "Models" not in table(narrow, "Merges and pull requests into main")[0]
    assert LONG_TITLE in wide and widest(wide) > 132


def test_without_columns_the_terminals_width_decides(busy: Path) -> None:
    from test_fmt import on_a_terminal

    code, out = on_a_terminal(busy, "report", width=100, env={"NO_COLOR": "1"})
    assert code == 0
    assert 80 < widest(out.decode().replace("\r\n", "\n")) <= 100  # the terminal's 100, not the 80 of a pipe


def test_a_pipe_without_columns_gets_80(busy: Path) -> None:
    assert widest(report(busy)) <= 80 < widest(report(busy, columns="200"))

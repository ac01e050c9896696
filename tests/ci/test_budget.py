"""Budgets: which records a scope holds, what they cost, and `git tokens check` (one line each, exit 1 over)."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import commit, git, run

from gitokens.ci import budget
from gitokens.cli import cli
from gitokens.git.repo import open_repo
from gitokens.ledger import edits, store


def add(path: Path, tokens: int, model: str = "gpt-4o", **fields: object) -> str:
    repo = open_repo(path)
    record = edits.build(repo, counts={"input_tokens": tokens, "output_tokens": 0}, model=model, **fields)
    return edits.add(repo, record).record.id


@pytest.fixture
def branch(repo: Path) -> Path:
    """main with 1,000 tokens; feature with 3,000 and 5,000 (gpt-4o) and 2,000 of an unpriced model."""
    commit(repo, "initial")
    add(repo, 1000)
    git(repo, "checkout", "-q", "-b", "feature")
    commit(repo, "one")
    add(repo, 3000)
    commit(repo, "two")
    add(repo, 5000)
    add(repo, 2000, model="in-house-model")
    return repo


def test_branch_scope_is_its_commits_and_its_records_elsewhere(branch: Path) -> None:
    git(branch, "commit", "-q", "--amend", "-m", "two, amended")  # no rewriteRef: the records stay on the old commit
    repo = open_repo(branch)
    loaded = store.load(repo)
    main = repo.branch_tip("main")
    entries = budget.commits_scope(repo, loaded, main, repo.head_commit(), "feature")
    assert sorted(e.record.tokens for e in entries) == [2000, 3000, 5000]
    assert budget.commits_scope(repo, loaded, main, repo.head_commit()) == [
        e for e in entries if e.record.tokens == 3000
    ]
    # From the ledger's rows (`git tokens ci`), the same records, a record built only for each of them.
    rows = store.load_rows(repo)
    assert budget.commits_scope(repo, rows, main, repo.head_commit(), "feature") == entries
    assert budget.commits_scope(repo, rows, main, repo.head_commit()) == [e for e in entries if e.record.tokens == 3000]


def test_spend_prices_and_names_the_unpriced(branch: Path) -> None:
    repo = open_repo(branch)
    from gitokens.config import Config
    from gitokens.pricing import Pricer

    entries = budget.commits_scope(repo, store.load(repo), repo.branch_tip("main"), repo.head_commit(), "feature")
    spent = budget.spend(repo, "branch feature", entries, Pricer(Config()))
    assert spent.tokens == 10_000 and spent.unpriced == 1
    assert spent.usd == pytest.approx(8000 * 2.5 / 1e6)
    assert [line.key for line in spent.by_model] == ["gpt-4o", "in-house-model"]
    assert spent.by_commit[0].title == "two" and spent.by_commit[0].tokens == 7000


@pytest.mark.parametrize(
    ("args", "code", "line"),
    [
        (["--budget-tokens", "20,000"], 0, "within budget: branch feature (budget given): 10,000 of 20,000 tokens"),
        (
            ["--budget-tokens", "8000"],
            1,
            "over budget: branch feature (budget given): 10,000 of 8,000 tokens (over by 2,000, 25%)",
        ),
        (
            ["--budget-usd", "0.01"],
            1,
            "over budget: branch feature (budget given): $0.0200 of $0.0100 (over by $0.0100, 100%), "
            "1 unpriced record(s) not counted",
        ),
        (["--budget-tokens", "1000", "--branch", "main"], 0, "within budget: branch main (budget given): 1,000 of"),
    ],
    ids=["within", "over-tokens", "over-usd", "other-branch"],
)
def test_check(branch: Path, args: list[str], code: int, line: str) -> None:
    done = run("check", *args)
    assert done.exit_code == code, done.output
    assert done.output.startswith(line) and done.output.count("\n") == 1


def test_check_since_and_config_budgets(branch: Path) -> None:
    (branch / ".gitokens.yml").write_text("budgets:\n  month: {tokens: 5000}\n  branch: {usd: 100}\n")
    done = run("check", "--budget-tokens", "100000", "--since", "7d")
    lines = done.output.splitlines()
    assert lines[0].startswith("within budget: records since ") and "11,000 of 100,000 tokens" in lines[0]
    assert lines[1].startswith("over budget: month ") and "(.gitokens.yml budgets.month): 11,000 of 5,000" in lines[1]
    assert lines[2].startswith("within budget: branch feature (.gitokens.yml budgets.branch): $0.0200 of $100.00")
    assert done.exit_code == 1


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([], "error: no budget to check\nhint: give --budget-usd or --budget-tokens"),
        (["--budget-usd", "ten"], "error: budget-usd: 'ten' is not an amount"),
        (["--budget-tokens", "-5"], "error: budget-tokens: '-5' is not a whole number of tokens"),
        (["--budget-usd", "1", "--branch", "nope"], "error: no branch named 'nope'"),
    ],
    ids=["none", "usd-text", "negative-tokens", "unknown-branch"],
)
def test_check_refuses_bad_input(branch: Path, args: list[str], message: str) -> None:
    done = run("check", *args)
    assert done.exit_code == 2 and done.output.startswith(message), done.output


def test_summary_cap_and_workflow_commands_are_safe() -> None:
    from gitokens.ci import workflow

    capped = workflow.cap("| row |\n" * 200_000, workflow.SUMMARY_LIMIT)
    assert len(capped.encode()) <= workflow.SUMMARY_LIMIT and capped.endswith("`sections`.*\n")
    line = workflow.annotation("error", "Token budget: over, again", "branch x\n::set-env name=A::1 100%")
    assert line == "::error title=Token budget%3A over%2C again::branch x%0A::set-env name=A::1 100%25"
    event = workflow.Event("pull_request", {"pull_request": {"head": {"ref": "a\n::error::b"}}}, "", None, {})
    assert event.pr_head == (None, "a?::error::b")


def test_month_and_since_follow_the_time_zone(repo: Path) -> None:
    from datetime import UTC, date, datetime
    from zoneinfo import ZoneInfo

    commit(repo, "initial")
    handle = open_repo(repo)
    for moment in ("2025-09-30T21:59:59.500Z", "2025-09-30T22:00:00Z", "2025-10-31T22:59:59Z", "2025-10-31T23:00:00Z"):
        when = datetime.fromisoformat(moment.replace("Z", "+00:00"))
        edits.add(handle, edits.build(handle, total=1000, at=when, note=moment))
    loaded, paris = store.load(handle), ZoneInfo("Europe/Paris")
    month, entries = budget.month_scope(loaded, paris, datetime(2025, 10, 15, tzinfo=UTC))
    assert month == "2025-10"
    assert sorted(e.record.note or "" for e in entries) == ["2025-09-30T22:00:00Z", "2025-10-31T22:59:59Z"]
    since = budget.selection_scope(loaded, None, date(2025, 11, 1), paris)
    assert [e.record.note for e in since] == ["2025-10-31T23:00:00Z"]
    rows = store.load_rows(handle)
    assert budget.month_scope(rows, paris, datetime(2025, 10, 15, tzinfo=UTC)) == (month, entries)
    assert budget.selection_scope(rows, None, date(2025, 11, 1), paris) == since
    assert budget.selection_scope(rows, None, None, paris) == budget.selection_scope(loaded, None, None, paris)
    assert len(budget.selection_scope(rows, None, None, paris)) == 4


def test_a_branch_name_that_is_not_text_is_no_branch(repo: Path) -> None:
    commit(repo)
    run("add", "5")
    result = CliRunner().invoke(cli, ["check", "--budget-usd", "0", "--branch", "\udcff"])  # $'\xff' from a shell
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert result.exit_code == 2 and "error: no branch named '\\udcff'" in result.output

"""``check``, ``ci``: budgets, and everything the GitHub Action does."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any, TypeVar

import click

from gitokens.cli import cli, complete_branches, current_repo, echo, load_ledger

_C = TypeVar("_C", bound=Callable[..., Any])


@cli.command(name="check")
@click.option("--budget-usd", metavar="USD", help="Fail above this many US dollars.")
@click.option("--budget-tokens", metavar="N", help="Fail above this many tokens.")
@click.option(
    "--branch", shell_complete=complete_branches, help="Check this branch's records (default: the current branch)."
)
@click.option("--since", metavar="DAY", help="Check the records from this day on (YYYY-MM-DD, or 7d, 2w).")
def check_cmd(budget_usd: str | None, budget_tokens: str | None, branch: str | None, since: str | None) -> None:
    """Check spending against a budget: one line per budget; exit 1 when one is over.

    The budget given applies to a branch's records (its commits, and the records made on it), or with
    --since to the records from that day on. The `budgets:` of .gitokens.yml are checked too: branch
    and pull_request on the branch, month on this month.

    \b
    Example:
        git tokens check --budget-usd 25
        git tokens check --budget-tokens 2_000_000 --since 7d
    """
    from gitokens.ci import budget

    repo = current_repo()
    verdicts = budget.check(repo, load_ledger(repo), budget_usd, budget_tokens, branch, since)
    for verdict in verdicts:
        echo(verdict.line())
    if any(verdict.over for verdict in verdicts):
        click.get_current_context().exit(1)


def _bool_input(name: str, default: bool, text: str) -> Callable[[_C], _C]:
    env = "GITOKENS_" + name.upper().replace("-", "_")
    return click.option(f"--{name}", type=click.BOOL, default=default, envvar=env, show_default=True, help=text)


@cli.command(name="ci")
@click.option(
    "--format",
    "fmt_name",
    type=click.Choice(["markdown", "none"]),
    default="markdown",
    envvar="GITOKENS_FORMAT",
    help="The report in the job summary, or none.",
)
@click.option("--sections", metavar="LIST", envvar="GITOKENS_SECTIONS", help="Report sections (see `report`).")
@click.option("--since", metavar="DAY", envvar="GITOKENS_SINCE", help="Report (and budget) from this day on.")
@click.option(
    "--branch",
    shell_complete=complete_branches,
    envvar="GITOKENS_BRANCH",
    help="Report (and budget) on this branch's records.",
)
@click.option("--budget-usd", metavar="USD", envvar="GITOKENS_BUDGET_USD", help="Budget in US dollars.")
@click.option("--budget-tokens", metavar="N", envvar="GITOKENS_BUDGET_TOKENS", help="Budget in tokens.")
@_bool_input("fail-on-budget", True, "Exit 1 when a budget is over.")
@click.option(
    "--record", "record_file", metavar="FILE", envvar="GITOKENS_RECORD", help="JSON usage to record (source ci)."
)
@_bool_input("carry", True, "Carry a squash- or rebase-merged pull request's records onto what landed.")
@_bool_input("push", False, "Push the ledger (needs contents: write).")
@_bool_input("comment", False, "Post or edit one pull request comment (needs pull-requests: write).")
@click.option(
    "--out-dir",
    type=click.Path(file_okay=False),
    envvar="GITOKENS_OUT_DIR",
    help="Where report.md and tokens.html go (default: $RUNNER_TEMP/gitokens, else .git/gitokens/ci).",
)
def ci_cmd(
    fmt_name: str,
    budget_usd: str | None,
    budget_tokens: str | None,
    record_file: str | None,
    out_dir: str | None,
    **flags: Any,
) -> None:
    """Run the GitHub Action's work: fetch the ledger, carry, record, report, budgets, push, comment.

    Reads GITHUB_EVENT_NAME, GITHUB_EVENT_PATH, GITHUB_REF, GITHUB_SHA and writes GITHUB_STEP_SUMMARY
    and GITHUB_OUTPUT. Every option can be given as GITOKENS_<NAME> (the Action does so). Exits 1
    when a budget is over (unless --fail-on-budget false) or the ledger could not be pushed.

    \b
    Example:
        git tokens ci --budget-usd 25 --record usage.json
    """
    from pathlib import Path

    from gitokens.ci import budget, job, workflow
    from gitokens.config import Budget

    limit = Budget(budget.parse_usd(budget_usd), budget.parse_tokens(budget_tokens))
    settings = job.Settings(
        format=fmt_name, budget=limit, record=record_file, out_dir=Path(out_dir) if out_dir else None, **flags
    )
    outcome = job.run(current_repo(), settings, os.environ)
    for line in outcome.log:
        echo(line)
    for line in outcome.warnings:
        echo(workflow.annotation("warning", "gitokens", line))
    for verdict in outcome.over:
        kind = "error" if settings.fail_on_budget else "warning"
        echo(workflow.annotation(kind, "Token budget exceeded", verdict.line()))
    for line in outcome.errors:
        echo(workflow.annotation("error", "gitokens", line))
    click.get_current_context().exit(outcome.exit_code)

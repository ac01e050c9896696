"""``capture``: agent usage from Claude Code and Codex logs."""

from __future__ import annotations

import contextlib
import sys
from pathlib import Path
from typing import Any

import click

from gitokens import dates
from gitokens.cli import cli, current_repo, echo

# -- capture ---------------------------------------------------------------------------------------


@cli.command()
@click.option(
    "--agent",
    type=click.Choice(["claude", "codex", "all"]),
    default="all",
    show_default=True,
    help="Whose logs to read.",
)
@click.option("--since", metavar="WHEN", help="Attribute usage from this day or moment on (YYYY-MM-DD or ISO time).")
@click.option("--dry-run", is_flag=True, help="Show what would be captured; write nothing.")
@click.option("--all-history", is_flag=True, help="Read every log from the start; attribute old usage to old commits.")
@click.option(
    "--recapture",
    is_flag=True,
    help="Read every log again and replace the records earlier versions captured under older rules.",
)
def capture(agent: str, since: str | None, dry_run: bool, all_history: bool, recapture: bool) -> None:
    """Record the tokens Claude Code and Codex logged for work in this repository.

    Reads what the agents' logs gained since the last capture, keeps the usage made in this
    repository's work trees, and records it on the first commit made after it on the branch the agent
    named (or, on no branch, in its work tree), one record per commit, session, model, hour and price
    tier; usage after the last commit waits for the next one. The first capture leaves out usage from
    before the commit under HEAD, unless --since or --all-history says otherwise.

    \b
    Example:
        git tokens capture
        git tokens capture --dry-run --agent claude
        git tokens capture --all-history
        git tokens capture --recapture
    """
    from gitokens import capture as agent_logs
    from gitokens.git import command

    moment = dates.parse_moment(since, "--since").timestamp() if since else None
    agents = agent_logs.AGENTS if agent == "all" else (agent,)
    options = agent_logs.Options(agents, dry_run, all_history, moment, recapture)
    common_dir = command.common_dir(Path.cwd())
    # Started before the repository is opened: a large scan's worker parses while pygit2 loads.
    early = agent_logs.start(common_dir, options) if common_dir else None
    bar = _ProgressBar("reading agent logs")
    try:
        with early or contextlib.nullcontext():
            if early is not None and early.idle:  # nothing to read or place: the repository stays unopened
                result = agent_logs.nothing_new(early)
            else:
                repo = current_repo()
                result = agent_logs.run(repo, options, progress=bar, started=early)
    finally:
        bar.close()
    for line in agent_logs.describe(result):
        echo(line)


class _ProgressBar:
    """A progress callback that shows a bar on a terminal once the work is large enough to wait for."""

    def __init__(self, label: str, threshold: int = 64 << 20) -> None:
        self.label, self.threshold = label, threshold
        self.bar: Any = None
        self.shown = 0

    def __call__(self, done: int, total: int) -> None:
        if self.bar is None:
            if total < self.threshold or not sys.stderr.isatty():
                return
            self.bar = click.progressbar(length=total, label=self.label, file=sys.stderr)
            self.bar.__enter__()
        self.bar.update(done - self.shown)
        self.shown = done

    def close(self) -> None:
        if self.bar is not None:
            self.bar.__exit__(None, None, None)

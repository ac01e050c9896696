"""``capture``: agent usage from the coding agents' logs, and ``capture --list-agents``."""

from __future__ import annotations

import contextlib
import sys
from pathlib import Path
from typing import Any

import click

from gitokens import dates
from gitokens.cli import PROGRESS_BYTES, cli, current_repo, echo, take_started
from gitokens.errors import UsageError

# -- capture ---------------------------------------------------------------------------------------


@cli.command()
@click.option(
    "--agent",
    "agents",
    multiple=True,
    metavar="NAME",
    help="Read only this agent's logs (repeatable; `all`: every agent, the default). --list-agents names them.",
)
@click.option(
    "--list-agents",
    is_flag=True,
    help="List the agents, where each keeps its logs and whether any were found; capture nothing.",
)
@click.option("--since", metavar="WHEN", help="Attribute usage from this day or moment on (YYYY-MM-DD or ISO time).")
@click.option("--dry-run", is_flag=True, help="Show what would be captured; write nothing.")
@click.option("--all-history", is_flag=True, help="Read every log from the start; attribute old usage to old commits.")
@click.option(
    "--recapture",
    is_flag=True,
    help="Read Claude Code's and Codex's logs again and replace the records earlier versions captured under "
    "older rules.",
)
def capture(
    agents: tuple[str, ...], list_agents: bool, since: str | None, dry_run: bool, all_history: bool, recapture: bool
) -> None:
    """Record the tokens the coding agents logged for work in this repository.

    Reads what the agents' logs gained since the last capture (Claude Code, Codex, Gemini CLI,
    Copilot CLI, OpenCode, Qwen Code, Goose, Kimi CLI, Droid, Amp, Kilo, pi, Hermes Agent: every
    agent whose logs are on this machine), keeps the usage made in this repository's work trees, and records
    it on the first commit made after it on the branch the agent named (or, on no branch, in its
    work tree), one record per commit, session, model, hour and price tier; usage after the last
    commit waits for the next one. The first capture leaves out usage from before the commit under
    HEAD, unless --since or --all-history says otherwise. A call whose log does not say which
    directory it ran in is counted as not attributable, never attributed.

    \b
    Example:
        git tokens capture
        git tokens capture --list-agents
        git tokens capture --dry-run --agent claude --agent opencode
        git tokens capture --all-history
        git tokens capture --recapture
    """
    from gitokens import capture as agent_logs
    from gitokens.git import command

    if list_agents:
        _list_agents()
        return
    moment = dates.parse_moment(since, "--since").timestamp() if since else None
    options = agent_logs.Options(_chosen(agents), dry_run, all_history, moment, recapture)
    # Started before the repository is opened (by ``main`` before click loaded, or here): a large scan's worker
    # parses while pygit2 loads.
    early = take_started()
    if early is not None and early.options != options:  # not what was asked after all: start again
        early.close()
        early = None
    if early is None:
        common_dir = command.common_dir(Path.cwd())
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


def _chosen(agents: tuple[str, ...]) -> tuple[str, ...]:
    """The agents ``--agent`` names, in the registry's order; every agent when none (or ``all``) is named."""
    from gitokens.capture import AGENTS

    unknown = sorted({name for name in agents if name not in AGENTS and name != "all"})
    if unknown:
        raise UsageError(
            f"unknown agent {', '.join(repr(n) for n in unknown)} (known: {', '.join(AGENTS)}, all)",
            hint="`git tokens capture --list-agents` shows each agent and where it keeps its logs",
        )
    if not agents or "all" in agents:
        return AGENTS
    return tuple(name for name in AGENTS if name in agents)


def _list_agents() -> None:
    """One line per agent: its name, the logs found (or none), where it looks and the variable that moves it."""
    from gitokens.capture.known import known

    rows = known()
    home = str(Path.home())
    echo(f"{'agent':<9} {'found':<24} where it looks")
    for row in rows:
        where = ", ".join(_tilde(str(root), home) for root in row.roots)
        if row.variable:
            where += f" ({row.variable} {'set' if row.variable_set else 'unset'})"
        echo(f"{row.name:<9} {row.found:<24} {where}")


def _tilde(path: str, home: str) -> str:
    return "~" + path[len(home) :] if home not in ("", "/") and (path == home or path.startswith(home + "/")) else path


class _ProgressBar:
    """A progress callback that shows a bar on a terminal once the work is large enough to wait for."""

    def __init__(self, label: str, threshold: int = PROGRESS_BYTES) -> None:
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

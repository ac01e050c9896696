"""``install``, ``uninstall`` and the commands the hook shims run."""

from __future__ import annotations

import click

from gitokens.cli import cli, current_repo, echo, echo_outcome
from gitokens.errors import GitTokensError
from gitokens.share import hook, install

# -- install ---------------------------------------------------------------------------------------


@cli.command(name="install")
@click.option("--no-prompt", is_flag=True, help="Never ask for tokens after a commit; only attach queued records.")
@click.option(
    "--capture",
    is_flag=True,
    help="Also capture the coding agents' usage after each commit (every agent `capture` reads).",
)
@click.option("--sync", "sync_hook", is_flag=True, help="Also a pre-push hook: sync the ledger when you push a branch.")
def install_cmd(no_prompt: bool, capture: bool, sync_hook: bool) -> None:
    """Install the post-commit hook and make notes follow amend and rebase.

    The hook attaches queued records (`add --pending`) to each new commit and, on a terminal,
    asks for the tokens the commit took. Install also sets notes.rewriteRef, notes.rewriteMode
    and notes.tokens.mergeStrategy; `git tokens uninstall` undoes exactly this. With --sync, a
    pre-push hook also syncs the ledger whenever you push a branch (never blocking the push).

    \b
    Example:
        git tokens install
        git tokens install --no-prompt --capture
        git tokens install --sync
    """
    outcome = install.install(current_repo(), prompt=not no_prompt, capture=capture, sync=sync_hook)
    echo_outcome(outcome)


@cli.command()
def uninstall() -> None:
    """Remove the hook and the config that `git tokens install` added, restoring what it replaced.

    \b
    Example:
        git tokens uninstall
    """
    echo_outcome(install.uninstall(current_repo()))


@cli.command(name="hook-run", hidden=True)
@click.argument("name", type=click.Choice(["post-commit"]))
@click.option("--no-prompt", is_flag=True)
@click.option("--capture", "with_capture", is_flag=True)
def hook_run(name: str, no_prompt: bool, with_capture: bool) -> None:
    """Run a hook (called by the installed shim). Always exits 0."""
    try:
        repo = current_repo()
        result = hook.post_commit(repo, prompt=not no_prompt, terminal=hook.open_terminal)
        for line in result.messages:
            echo(line, err=True)
        if with_capture:
            from gitokens import capture as agent_logs

            for line in agent_logs.after_commit(repo):
                echo(line, err=True)
    except Exception as exc:
        message = exc.message if isinstance(exc, GitTokensError) else f"{type(exc).__name__}: {exc}"
        echo(f"gitokens: post-commit hook failed, commit and queue untouched: {message}", err=True)

"""``sync``, ``carry``, ``doctor``: the ledger across clones and history rewrites."""

from __future__ import annotations

import sys

import click

from gitokens.cli import cli, complete_branches, complete_revs, current_repo, echo, load_ledger
from gitokens.errors import GitTokensError

# -- sync, carry, doctor ---------------------------------------------------------------------------


@cli.command(name="sync")
@click.argument("remote", required=False)
@click.option("--no-push", is_flag=True, help="Fetch and merge the remote's ledger; do not push.")
@click.option("--dry-run", is_flag=True, help="Fetch the remote's ledger and say what a sync would do; change nothing.")
def sync_cmd(remote: str | None, no_push: bool, dry_run: bool) -> None:
    """Share the ledger: fetch REMOTE's, union-merge it into yours, push the result (never forced).

    REMOTE defaults to the current branch's remote, else origin. A rejected push (someone pushed
    first) is retried: fetch, merge, push again. Prints the records received and sent.

    \b
    Example:
        git tokens sync
        git tokens sync upstream --no-push
    """
    from gitokens.share import sync

    result = sync.sync(current_repo(), remote, push=not no_push, dry_run=dry_run)
    for line in result.describe():
        echo(line)
    if result.invalid:
        echo(
            f"warning: received {len(result.invalid)} ledger line(s) that are not valid records "
            f"(first: {result.invalid[0]}); they are kept and skipped by every command "
            "(`git tokens doctor --fix` moves them aside)",
            err=True,
        )
    if result.dropped:
        echo(
            f"warning: {result.dropped} record line(s) left the ledger because {result.remote}'s ledger deleted "
            "or edited notes (they stay in the ledger's history: git log -p refs/notes/tokens)",
            err=True,
        )


@cli.command(name="carry")
@click.argument("sources", nargs=-1, metavar="[SOURCE...]", shell_complete=complete_revs)
@click.option(
    "--onto",
    metavar="COMMIT",
    shell_complete=complete_revs,
    help="Where the records go; a range (A..B) matches commits by patch id.",
)
@click.option(
    "--squash-merged",
    metavar="BRANCH",
    shell_complete=complete_branches,
    help="Find where BRANCH was squash- or rebase-merged, carry there.",
)
def carry_cmd(sources: tuple[str, ...], onto: str | None, squash_merged: str | None) -> None:
    """Copy the records of commits onto the commits that replaced them (squash, rebase merge, cherry-pick).

    SOURCE is a range (base..branch), a branch (its commits not on the default branch) or commits.
    Records keep their ids and their `commit` provenance, so they count once and survive the source
    commits being garbage-collected. Carrying twice changes nothing.

    \b
    Example:
        git tokens carry --squash-merged feature/search
        git tokens carry main..feature/search --onto 1a2b3c4
        git tokens carry feature/search --onto main~3..main    # a rebase merge, matched by patch id
    """
    from gitokens import config
    from gitokens.share import carry

    repo = current_repo()
    default = repo.default_branch(config.load_config(repo.workdir).default_branch)
    outcome = carry.command(repo, load_ledger(repo), list(sources), onto, squash_merged, default)
    for line in outcome.messages:
        echo(line)


@cli.command(name="doctor")
@click.option("--fix", is_flag=True, help="Apply the safe fixes: config, refspecs, leftovers, doubled notes.")
def doctor_cmd(fix: bool) -> None:
    """Check the hooks, the notes config, refspecs and the ledger's health, and say what to do.

    Exits 1 while a warning is left. Nothing it fixes can lose a record.

    \b
    Example:
        git tokens doctor
        git tokens doctor --fix
    """
    from gitokens.share import doctor

    repo = current_repo()
    findings = doctor.examine(repo)
    if fix:
        findings = doctor.apply_fixes(findings)
    for finding in findings:
        for line in finding.lines():
            echo(line)
    if any(finding.level == "warn" for finding in findings):
        click.get_current_context().exit(1)


@cli.command(name="hook-pre-push", hidden=True)
@click.argument("remote")
@click.argument("url", required=False)
def hook_pre_push(remote: str, url: str | None) -> None:
    """Sync the ledger with the remote a branch is pushed to (called by the pre-push shim). Always exits 0."""
    from gitokens.share import sync

    try:
        line = sync.pre_push(current_repo(), remote, sys.stdin.read())
    except Exception as exc:
        message = exc.message if isinstance(exc, GitTokensError) else f"{type(exc).__name__}: {exc}"
        line = f"gitokens: the ledger was not synced with {remote} ({message}); your push goes on"
    if line:
        echo(line, err=True)


COMPLETE_VAR = "_GIT_TOKENS_COMPLETE"

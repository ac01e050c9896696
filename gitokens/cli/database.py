"""``publish``: this repository's ledger into the organisation's database."""

from __future__ import annotations

import click

from gitokens.cli import cli, current_repo, echo


@cli.command(name="publish")
@click.argument("url", required=False)
@click.option("--full", is_flag=True, help="Compare every record with the database, not only what changed.")
def publish_cmd(url: str | None, full: bool) -> None:
    """Upsert this repository's records, their commits and its merges into a database.

    URL is sqlite:///FILE (relative) or sqlite:////FILE (absolute), or postgresql://USER@HOST/DB (needs
    `pip install 'gitokens[postgres]'`); default: $GITOKENS_DATABASE_URL, else database.url in
    .gitokens.yml. The repository is named by database.repository in .gitokens.yml, else its origin URL.
    Idempotent and incremental: only what changed since the last publish is sent; removed records are
    deleted. Migrates the database's schema when it is older. See docs/database.md.

    \b
    Example:
        git tokens publish sqlite:///tokens.db
        GITOKENS_DATABASE_URL=postgresql://ci@db.example.com/tokens git tokens publish
    """
    from gitokens.db.publish import publish

    for line in publish(current_repo(), url, full=full).describe():
        echo(line)

"""``import``, ``export``: data in and out of the ledger."""

from __future__ import annotations

from typing import Any

import click

from gitokens.cli import cli, complete_branches, complete_revs, current_repo, echo, load_ledger, write_file

# -- import and export -----------------------------------------------------------------------------


@cli.command(name="import")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option(
    "--commit",
    "rev",
    metavar="REV",
    shell_complete=complete_revs,
    help="Attach records that fit no commit or branch here to REV.",
)
@click.option("--dry-run", is_flag=True, help="Say what would be imported; write nothing.")
def import_cmd(files: tuple[str, ...], rev: str | None, dry_run: bool) -> None:
    """Import token records from the older tracking scripts' files, or from `git tokens export`.

    Formats are told apart by content: tokens_<branch>.json, claude_local_*.json, token_usage_*.json,
    portable exports, CSV, and export's JSON, JSONL and CSV. Each record goes on the commit it names,
    else on its branch's tip at its time, else on --commit. Importing a file twice adds nothing.

    \b
    Example:
        git tokens import --dry-run tokens_main.json
        git tokens import tokens_*.json token_usage_*.json --commit HEAD
    """
    from pathlib import Path

    from gitokens.data import imports

    repo = current_repo()
    planned = imports.plan(repo, [Path(f) for f in files], fallback=rev)
    if not dry_run:
        imports.apply(repo, planned)
    echo("\n".join(planned.describe(dry_run=dry_run)))


@cli.command(name="export")
@click.argument("output", metavar="[FILE|-]", required=False)
@click.option("--format", "fmt_name", type=click.Choice(["json", "jsonl", "csv"]), help="Default: FILE's extension.")
@click.option("--since", metavar="DAY", help="From this day on: YYYY-MM-DD, YYYYMMDD, or relative (7d, 2w).")
@click.option("--until", metavar="DAY", help="Up to this day, inclusive.")
@click.option("--branch", shell_complete=complete_branches, help="Only records made on this branch.")
@click.option("--author", help="Only records whose author contains this text.")
@click.option("--model", help="Only records whose model contains this text.")
def export_cmd(output: str | None, fmt_name: str | None, **filters: Any) -> None:
    """Write the records (whole, with the commit each is on) as JSON, JSONL or CSV, to FILE or stdout.

    \b
    Example:
        git tokens export tokens.csv --since 2025-09-01
        git tokens export --format jsonl --branch main -
    """
    from gitokens.data import exports

    repo = current_repo()
    entries = exports.select(repo, load_ledger(repo), **filters)
    text = exports.render(entries, exports.format_for(output, fmt_name))
    if output is None or output == "-":
        echo(text, nl=False)
    else:
        write_file(output, text, newline="")
        echo(f"wrote {len(entries)} record(s) to {output}", err=True)

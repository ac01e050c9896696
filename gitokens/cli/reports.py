"""``report``, ``prices``, ``demo``."""

from __future__ import annotations

import dataclasses
import os
import sys
from typing import Any

import click

from gitokens import fmt
from gitokens.cli import (
    WIDE_HELP,
    cli,
    complete_branches,
    current_repo,
    dump_json,
    echo,
    load_ledger,
    terminal_width,
    warn_invalid,
    write_file,
)
from gitokens.errors import UsageError
from gitokens.ledger import store

# -- report --------------------------------------------------------------------------------------

FORMATS = ("text", "markdown", "html", "json", "csv")


@cli.command()
@click.option("--since", metavar="DAY", help="From this day on: YYYY-MM-DD, YYYYMMDD, or relative (7d, 2w).")
@click.option("--until", metavar="DAY", help="Up to this day, inclusive.")
@click.option("--days", type=click.IntRange(min=1), help="The last N days (the same as --since Nd).")
@click.option("--branch", shell_complete=complete_branches, help="Only records made on this branch.")
@click.option("--author", help="Only records whose author contains this text.")
@click.option("--model", help="Only records whose model contains this text.")
@click.option("--top", type=click.IntRange(min=0), default=10, show_default=True, help="Rows per breakdown (0: all).")
@click.option(
    "--by",
    type=click.Choice(["day", "week", "month"]),
    default="day",
    show_default=True,
    help="The trend table's period.",
)
@click.option("--breakdown", is_flag=True, help="Follow each row of the trend table with its per-model rows.")
@click.option(
    "--order",
    type=click.Choice(["asc", "desc"]),
    help="Oldest or newest first in the tables ordered by time (trend, branch days, sessions).",
)
@click.option("--sections", metavar="LIST", help="Comma-separated sections to show (default: all).")
@click.option(
    "--compare",
    metavar="PERIOD [PERIOD]",
    help="Compare two periods instead (a month 2025-10, a week 2025-W41, a day, FROM..TO, or 30d; one period: "
    "with the one before it): overall totals and sources, models and providers, branches, authors.",
)
@click.option(
    "--timezone", "tz_name", metavar="ZONE", help="IANA time zone for days and weeks (default: config, else local)."
)
@click.option(
    "--cost-mode",
    type=click.Choice(["auto", "calculate", "reported"]),
    default="auto",
    show_default=True,
    help="auto: a record's own cost if it has one; calculate: always from prices; reported: only own costs.",
)
@click.option("--format", "fmt_name", type=click.Choice(FORMATS), default="text", show_default=True)
@click.option("-o", "--output", type=click.Path(dir_okay=False, writable=True), help="Write to FILE instead of stdout.")
@click.option(
    "--database",
    metavar="URL",
    help="Report over the repositories published to this database (sqlite:///FILE or postgresql://...).",
)
@click.option(
    "--repository",
    "repositories",
    multiple=True,
    metavar="NAME",
    help="With --database: only this repository (repeat).",
)
@click.option(
    "--color",
    "color_when",
    type=click.Choice(["auto", "always", "never"]),
    default="auto",
    show_default=True,
    help="Colour the text report: auto: on a terminal, unless NO_COLOR is set.",
)
@click.option(
    "--wide",
    is_flag=True,
    help=WIDE_HELP,
)
@click.argument("against", required=False, metavar="[PERIOD]")
def report(
    since: str | None,
    until: str | None,
    days: int | None,
    tz_name: str | None,
    sections: str | None,
    fmt_name: str,
    output: str | None,
    database: str | None,
    repositories: tuple[str, ...],
    color_when: str,
    wide: bool,
    compare: str | None,
    against: str | None,
    **options: Any,
) -> None:
    """Report token usage and cost from the ledger and the commit graph.

    Sections: overall, branch, time, hours, branches, merges, models, authors, sessions, recent, costs,
    trends. With --compare PERIOD [PERIOD]: overall, models, branches, authors, each period side by side
    with the change from the first to the second. --format csv: one row per record; with --sections
    sessions or trends alone, one row per session or per period (and model, with --breakdown). Over a
    database (--database, or $GITOKENS_DATABASE_URL with --database ""), also repositories, and merges are
    those each repository published.

    \b
    Example:
        git tokens report
        git tokens report --since 7d --format markdown -o summary.md
        git tokens report --format html -o tokens.html
        git tokens report --sections sessions --top 20
        git tokens report --by month --breakdown
        git tokens report --compare 2025-10 2025-11
        git tokens report --compare 30d --format markdown
        git tokens report --database postgresql://reports@db.example.com/tokens --since 30d
    """
    from gitokens.report import cache, pipeline  # heavy (numpy, prices, templates): only for this command

    if against is not None and compare is None:
        raise UsageError(f"unexpected argument {against!r}", hint="two periods: --compare 2025-10 2025-11")
    color = color_when == "always" or (
        color_when == "auto" and output is None and sys.stdout.isatty() and not os.environ.get("NO_COLOR")
    )
    options["compare"] = tuple(p for p in (compare, against) if p is not None)
    options["width"] = None if wide else terminal_width()
    if database is not None or repositories:
        text = _database_report(database, repositories, since, until, days, tz_name, sections, fmt_name, color, options)
        _emit(text, output, color and fmt_name == "text")
        return
    repo = current_repo()
    ahead = pipeline.ahead(repo, options.get("cost_mode", "auto"), (fmt_name,), bool(options["compare"]))
    loaded = cache.load(repo, beside=ahead)
    try:
        warn_invalid(loaded.invalid)
        text = pipeline.run(
            repo,
            loaded,
            since=since,
            until=until,
            days=days,
            tz_name=tz_name,
            sections=sections,
            fmt=fmt_name,
            color=color,
            **options,
        )
        _emit(text, output, color and fmt_name == "text")
    finally:
        cache.written()  # the columns cache, written while the report was made


def _emit(text: str, output: str | None, colour: bool) -> None:
    if output is None:
        echo(text, nl=not text.endswith("\n"), colour=colour)
    else:
        write_file(output, text)
        echo(f"wrote {output}", err=True)


def _database_report(database: str | None, repositories: tuple[str, ...], *args: Any) -> str:
    """The report over a database's repositories; run inside a repository, its config (time zone, prices)
    applies."""
    from gitokens.db import report as across
    from gitokens.errors import NotARepository

    since, until, days, tz_name, sections, fmt_name, color, options = args
    try:
        repo = current_repo()
    except NotARepository:
        repo = None
    published = across.fetch(repo, database or None, repositories, cost_mode=options["cost_mode"])
    return across.run(
        repo,
        published,
        since=since,
        until=until,
        days=days,
        tz_name=tz_name,
        sections=sections,
        fmt=fmt_name,
        color=color,
        **options,
    )


@cli.command()
@click.argument("models", nargs=-1, metavar="[MODEL...]")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.option("--wide", is_flag=True, help=WIDE_HELP)
def prices(models: tuple[str, ...], as_json: bool, wide: bool) -> None:
    """Show the per-million-token rates each model is priced at, and where the rate comes from.

    Without MODEL, every model in the ledger. Rates come from genai-prices' offline data, from
    `prices:` overrides in .gitokens.yml, or through an `aliases:` entry.

    \b
    Example:
        git tokens prices
        git tokens prices claude-sonnet-4-5-20250929 gpt-4o
    """
    from gitokens import config, pricing

    repo = current_repo()
    if not models:
        models = tuple(sorted({e.record.model for e in load_ledger(repo).entries.values() if e.record.model}))
    pricer = pricing.Pricer(config.load_config(repo.workdir))
    table = pricing.rates_table(pricer, models)
    if as_json:
        dump_json([{"model": m, **(dataclasses.asdict(r) if r else {"unpriced": True})} for m, r in table])
        return
    if not table:
        echo("no models in the ledger yet")
        return
    rows = []
    for model, rates in table:
        name = fmt.one_line(model, 60)
        if rates is None:
            rows.append([name, "-", "-", "-", "-", "-", "no price: costs shown as unknown"])
            continue
        source = rates.source + ("" if rates.priced_as == model else f" as {fmt.one_line(rates.priced_as, 60)}")
        rows.append([name, *_rate_cells(rates), source])
        for tier in rates.tiers:  # a request whose input, cache included, is above the threshold: every token
            rows.append([f"  above {tier.above:,} input tokens", *_rate_cells(tier), "the whole request"])
    from gitokens.report.grid import wrap

    width = None if wide else terminal_width()
    echo(wrap("USD per million tokens (a cache rate shown as =input costs the input rate)", width, 0, 0) + "\n")
    echo("\n".join(_rates_table(rows, width)))


def _rates_table(rows: list[list[str]], width: int | None) -> list[str]:
    """The rates' table fitted to ``width``: the model and the source shortened in the middle, then (on a
    narrow terminal) the 1-hour and other cache rates and the source dropped; input and output rates always
    shown. A rate is never cut."""
    from gitokens.report.grid import Column, lay_out

    columns = [Column("model", shrink=20), Column("input", right=True), Column("output", right=True)]
    columns += [Column("cache read", right=True, drop=2), Column("cache write", right=True, drop=3)]
    columns += [Column("1h cache write", right=True, drop=4), Column("source", shrink=16, drop=1)]
    return lay_out(columns, rows, width, indent=0)


def _rate_cells(rates: Any) -> list[str]:
    """A row's rates: input, output, cache read and write (=input when unpriced apart) and 1-hour writes."""
    write_1h = rates.cache_write_1h if rates.cache_write_1h is not None else rates.cache_write
    cells = [rates.input, rates.output, rates.cache_read, rates.cache_write, write_1h]
    return [fmt.rate(value, missing="=input") for value in cells]


# -- demo ------------------------------------------------------------------------------------------


@cli.command(name="demo")
@click.argument("path", required=False, type=click.Path())
def demo_cmd(path: str | None) -> None:
    """Create a throwaway repository with two months of token history, and report on it.

    Five people, feature branches merged as pull requests (one squash-merged, its records carried),
    two still open; Claude Code, Codex, hook, CI and hand-typed records on five models. Prints the
    path and the full report, and writes the HTML dashboard into the repository (git ignores it).
    PATH must be new or empty; without it, a new temporary directory is used.

    \b
    Example:
        git tokens demo
        git tokens demo /tmp/tokens-demo
    """
    from gitokens import demo  # heavy (prices, templates): only for this command
    from gitokens.report import pipeline

    made = demo.create(path)
    echo(f"demo repository: {made.path}\n")
    loaded = store.load(made.repo)
    color = sys.stdout.isatty() and not os.environ.get("NO_COLOR")
    text = pipeline.run(made.repo, loaded, fmt="text", color=color, width=terminal_width(), now=made.now)
    echo(text, nl=not text.endswith("\n"), colour=bool(color))
    dashboard = made.path / demo.DASHBOARD
    dashboard.write_text(pipeline.run(made.repo, loaded, fmt="html", now=made.now), encoding="utf-8")
    echo(f"\nwrote the HTML dashboard: {dashboard}")
    echo(f"next: cd {made.path} && git log --graph --oneline --branches && git tokens report --since 7d")

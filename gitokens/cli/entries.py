"""``add``, ``show``, ``log``, ``rm``: recording and reading the ledger."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import click

from gitokens import dates, fmt
from gitokens.cli import (
    COUNT,
    WIDE_HELP,
    cli,
    complete_branches,
    complete_revs,
    current_repo,
    dump_json,
    echo,
    load_ledger,
    terminal_width,
)
from gitokens.errors import UsageError
from gitokens.ledger import edits, shortids, store, views
from gitokens.ledger.record import SOURCES


def _entry_json(entry: store.Entry) -> dict[str, Any]:
    return {**entry.record.to_dict(), "attached_to": entry.attached, "tokens": entry.record.tokens}


def _rows(
    entries: list[store.Entry], short: shortids.Shortener, *, with_branch: bool = True, width: int | None = None
) -> str:
    """Records as a table fitted to ``width`` (None: every column whole): branch, model and note shortened in
    the middle first, then the source, the 1-hour cache, the time, the commit, the note and the branch dropped,
    in that order; the id, the model and the tokens always shown. A "1h cache" column when one of them wrote
    to the 1-hour cache."""
    from gitokens.report.grid import Column, lay_out

    hour = any(e.record.cache_write_1h_tokens for e in entries)
    columns = [Column("id"), Column("when", drop=4), Column("commit", drop=3)]
    columns += [Column("branch", shrink=12, cap=24, drop=1)] if with_branch else []
    columns += [Column("model", shrink=14, cap=32), Column("tokens", right=True)]
    columns += [Column("1h cache", right=True, drop=5)] if hour else []
    columns += [Column("source", drop=6), Column("note", shrink=12, cap=40, drop=2)]
    rows = []
    for e in entries:
        r = e.record
        tokens = fmt.tokens(r.tokens) + (" " if r.split_known else "*")
        row = [short(r.id), fmt.local_time(r.ts), e.attached[:7]]
        row += [fmt.one_line(r.branch or "(detached)", 200)] if with_branch else []
        row += [fmt.one_line(r.model or "-", 200), tokens]
        row += [fmt.tokens(r.cache_write_1h_tokens) if r.cache_write_1h_tokens else ""] if hour else []
        row += [r.source, fmt.one_line(r.note, 200)]
        rows.append(row)
    table = "\n".join(lay_out(columns, rows, width, indent=0))
    if any(not e.record.split_known for e in entries):
        table += f"\n{SPLIT_LEGEND}"
    return table


# What the "*" after a count means, said under every table that shows one.
SPLIT_LEGEND = "* split unknown: only the total was recorded (reports split it with `split:` in .gitokens.yml)"


# -- add -------------------------------------------------------------------------------------------


@cli.command()
@click.argument("total", type=COUNT, required=False)
@click.argument("note_text", metavar="[NOTE]", required=False)
@click.option("--input", "input_tokens", type=COUNT, help="Input tokens (excluding cache reads and writes).")
@click.option("--output", "output_tokens", type=COUNT, help="Output tokens (including reasoning).")
@click.option("--cache-read", "cache_read_tokens", type=COUNT, help="Tokens read from the prompt cache.")
@click.option("--cache-write", "cache_write_tokens", type=COUNT, help="Tokens written to the prompt cache.")
@click.option(
    "--cache-write-1h",
    "cache_write_1h_tokens",
    type=COUNT,
    help="The part of --cache-write written to the 1-hour cache.",
)
@click.option("--reasoning", "reasoning_tokens", type=COUNT, help="Reasoning tokens (a part of --output).")
@click.option("--requests", type=COUNT, help="How many API calls the tokens were spent in.")
@click.option("--model", help="Model id as reported, e.g. claude-sonnet-4-5-20250929.")
@click.option("--provider", help="Provider, e.g. anthropic or openai.")
@click.option("--endpoint", help="API operation or feature that spent the tokens.")
@click.option("--source", type=click.Choice(SOURCES), default="manual", show_default=True, help="Where it came from.")
@click.option("--note", help="Free text (the same as NOTE).")
@click.option(
    "--at", "at_text", metavar="WHEN", help="When the tokens were spent (default: now), e.g. 2025-09-29T14:03."
)
@click.option(
    "--commit", "rev", metavar="REV", shell_complete=complete_revs, help="Attach to this commit instead of HEAD."
)
@click.option("--pending", is_flag=True, help="Queue the record; the post-commit hook attaches it to the next commit.")
@click.option("-i", "--interactive", is_flag=True, help="Prompt for each value.")
@click.option("--json", "as_json", is_flag=True, help="Print the record as JSON.")
def add(
    total: int | None,
    note_text: str | None,
    at_text: str | None,
    rev: str | None,
    pending: bool,
    interactive: bool,
    as_json: bool,
    **values: Any,
) -> None:
    """Record tokens spent, on HEAD (or --commit REV, or the next commit with --pending).

    TOTAL alone is a valid record when the input/output split is unknown. The command prints what
    it recorded and the branch's running total.

    \b
    Example:
        git tokens add 54161 "OAuth2 integration"
        git tokens add --input 36000 --output 9230 --model claude-sonnet-4-5-20250929
        git tokens add --pending --input 1200 --output 300 --model gpt-4o
    """
    if values["note"] and note_text:
        raise UsageError("give the note once: as NOTE or as --note", hint="drop one of them")
    values["note"] = values["note"] or note_text
    if interactive:
        total, values = _prompt_values(total, values)
    counts = {k: values.pop(k) for k in list(values) if k.endswith("_tokens")}
    repo = current_repo()
    at = dates.parse_moment(at_text, "--at", recordable=True) if at_text is not None else None
    record = edits.build(repo, total=total, counts=counts, at=at, **values)
    added = edits.add(repo, record, rev=rev, queue=pending)
    if as_json:
        dump_json(added.record.to_dict())
    else:
        echo(added.describe())


def _prompt_values(total: int | None, values: dict[str, Any]) -> tuple[int | None, dict[str, Any]]:
    if total is None:
        for key, label in (
            ("input_tokens", "Input tokens"),
            ("output_tokens", "Output tokens"),
            ("cache_read_tokens", "Cache read tokens"),
            ("cache_write_tokens", "Cache write tokens"),
        ):
            values[key] = click.prompt(label, default=values[key] or 0, type=COUNT)
        if values["cache_write_tokens"]:
            values["cache_write_1h_tokens"] = click.prompt(
                "  of which written to the 1-hour cache", default=values["cache_write_1h_tokens"] or 0, type=COUNT
            )
    for key, label in (("model", "Model"), ("endpoint", "Endpoint"), ("note", "Note")):
        answer = click.prompt(label, default=values[key] or "", show_default=bool(values[key]))
        values[key] = answer or None
    return total, values


# -- show, log, rm ---------------------------------------------------------------------------------


@cli.command()
@click.argument("rev", required=False, shell_complete=complete_revs)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.option("--wide", is_flag=True, help=WIDE_HELP)
def show(rev: str | None, as_json: bool, wide: bool) -> None:
    """Show the records on a commit, one record (by id, as `git tokens log` shows it), or (without REV) the
    current branch's summary.

    \b
    Example:
        git tokens show            # this branch: totals, split, sessions, last 5 records
        git tokens show HEAD~2     # the records attached to one commit
        git tokens show 3fa9c1e2   # one record
    """
    repo = current_repo()
    loaded = load_ledger(repo)
    short = loaded.shortener()
    width = None if wide else terminal_width()
    if rev is not None:
        commit, entry = views.resolve(repo, loaded, rev)
        if entry is not None:
            if as_json:
                dump_json(_entry_json(entry))
            else:
                echo(_record_text(entry, short))
            return
        assert commit is not None
        entries = views.on_commit(loaded, commit)
        if as_json:
            dump_json([_entry_json(e) for e in entries])
        elif not entries:
            echo(f"no token records on {commit[:7]}")
        else:
            total = sum(e.record.tokens for e in entries)
            echo(f"{len(entries)} record(s) on {commit[:7]}, {fmt.tokens(total)} tokens\n")
            echo(_rows(entries, short, width=width))
        return
    branch = repo.head_branch()
    summary = views.summarize(views.on_branch(loaded, branch))
    if as_json:
        dump_json({"branch": branch, **summary.to_dict(), "recent": [_entry_json(e) for e in summary.recent]})
        return
    echo(_summary_text(branch, summary, short, width))


def _summary_text(branch: str | None, s: views.Summary, short: shortids.Shortener, width: int | None) -> str:
    name = branch or "(detached HEAD)"
    if s.records == 0:
        return f'No token records on {name} yet.\nhint: git tokens add 54161 "what you did"'
    facts = [
        ("Total tokens", fmt.tokens(s.total_tokens)),
        ("  input", fmt.tokens(s.input_tokens)),
        (
            "  output",
            fmt.tokens(s.output_tokens)
            + (f" (reasoning {fmt.tokens(s.reasoning_tokens)})" if s.reasoning_tokens else ""),
        ),
        ("  cache read", fmt.tokens(s.cache_read_tokens)),
        (
            "  cache write",
            fmt.tokens(s.cache_write_tokens)
            + (f" (1-hour {fmt.tokens(s.cache_write_1h_tokens)})" if s.cache_write_1h_tokens else ""),
        ),
    ]
    if s.unsplit_tokens:
        facts.append(("  split unknown", fmt.tokens(s.unsplit_tokens)))
    facts += [
        ("Sessions", f"{s.sessions}" + (f" ({s.records} records)" if s.records != s.sessions else "")),
        ("First use", fmt.local_time(s.first)),
        ("Last use", fmt.local_time(s.last)),
    ]
    start = max(len(label) for label, _ in facts) + 2  # every value starts in one column
    lines = [f"Branch: {name}", *(f"{label + ':':<{start}}{value}" for label, value in facts)]
    lines += ["", f"Last {len(s.recent)} record(s):", _rows(s.recent, short, with_branch=False, width=width)]
    return "\n".join(lines)


def _record_text(entry: store.Entry, short: shortids.Shortener) -> str:
    """One record in full: where it is, its counts (the parts of a count indented under it) and its text."""
    r = entry.record
    lines = [f"record {r.id} ({short(r.id)})", f"on commit {entry.attached[:7]}"]
    if r.commit and r.commit != entry.attached:
        lines[-1] += f" (first recorded on {r.commit[:7]})"
    facts = [
        ("when", fmt.local_time(r.ts)),
        ("branch", r.branch or "(detached)"),
        ("author", r.author),
        ("model", r.model),
        ("provider", r.provider),
        ("endpoint", r.endpoint),
        ("source", r.source),
        ("session", r.session),
        ("requests", fmt.tokens(r.requests) if r.requests is not None else None),
        ("tokens", fmt.tokens(r.tokens) + ("" if r.split_known else " (split unknown)")),
    ]
    if r.split_known:
        facts += [
            ("  input", fmt.tokens(r.input_tokens)),
            ("  output", fmt.tokens(r.output_tokens)),
            ("    reasoning", fmt.tokens(r.reasoning_tokens) if r.reasoning_tokens else None),
            ("  cache read", fmt.tokens(r.cache_read_tokens)),
            ("  cache write", fmt.tokens(r.cache_write_tokens)),
            ("    1-hour", fmt.tokens(r.cache_write_1h_tokens) if r.cache_write_1h_tokens else None),
        ]
    facts += [
        ("reported cost", f"${r.cost_usd:,.6f}" if r.cost_usd is not None else None),
        ("note", fmt.one_line(r.note, 200) or None),
    ]
    width = max(len(label) for label, _ in facts) + 2
    lines += [f"{label + ':':<{width}}{fmt.one_line(value, 200)}" for label, value in facts if value is not None]
    return "\n".join(lines)


@cli.command(name="log")
@click.option("--branch", shell_complete=complete_branches, help="Only records made on this branch.")
@click.option("--author", help="Only records whose author contains this text.")
@click.option("--model", help="Only records whose model contains this text.")
@click.option("--since", help="Only records from this day on (YYYY-MM-DD, YYYYMMDD, or 7d / 2w: the last days).")
@click.option("--until", help="Only records up to this day, inclusive (same forms as --since).")
@click.option("-n", "--max-count", "limit", type=click.IntRange(min=0), help="Show at most N records.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.option("--wide", is_flag=True, help=WIDE_HELP)
def log_cmd(
    branch: str | None,
    author: str | None,
    model: str | None,
    since: str | None,
    until: str | None,
    limit: int | None,
    as_json: bool,
    wide: bool,
) -> None:
    """List records newest first, with the commit each is on.

    \b
    Example:
        git tokens log -n 20
        git tokens log --branch feature/oauth --since 2025-09-01 --json
        git tokens log --since 7d
    """
    repo = current_repo()
    loaded = load_ledger(repo)
    today = datetime.now().astimezone().date()  # log shows local days
    entries = views.select(
        loaded,
        branch=branch,
        author=author,
        model=model,
        since=dates.parse_since(since, "--since", today) if since else None,
        until=dates.parse_since(until, "--until", today) if until else None,
        limit=limit,
    )
    if as_json:
        dump_json([_entry_json(e) for e in entries])
    elif entries:
        echo(_rows(entries, loaded.shortener(), width=None if wide else terminal_width()))
    else:
        echo("no token records match")


@cli.command()
@click.argument("ids", nargs=-1, required=True, metavar="ID...")
def rm(ids: tuple[str, ...]) -> None:
    """Remove records by id (or a unique id prefix) by writing tombstones.

    Nothing is deleted: the record's line stays in the ledger's history and a tombstone record
    says it no longer counts. `git tokens log` shows the ids; a captured record's id can be given
    with or without its source (`claude-code:3fa9c1e2` or `3fa9c1e2`).

    \b
    Example:
        git tokens rm 3f2a9c1b
    """
    repo = current_repo()
    loaded = load_ledger(repo)
    targets = [edits.resolve_id(loaded, text) for text in ids]
    for line in edits.remove(repo, loaded, targets):
        echo(line)

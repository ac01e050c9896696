"""``add``, ``show``, ``log``, ``rm``: recording and reading the ledger."""

from __future__ import annotations

from typing import Any

import click

from gitokens import dates, fmt, ledger, recording, views
from gitokens.cli import COUNT, cli, current_repo, dump_json, echo, load_ledger
from gitokens.errors import UsageError
from gitokens.records import SOURCES


def _entry_json(entry: ledger.Entry) -> dict[str, Any]:
    return {**entry.record.to_dict(), "attached_to": entry.attached, "tokens": entry.record.tokens}


def _rows(entries: list[ledger.Entry], *, with_branch: bool = True) -> str:
    headers = ["id", "when", "commit"] + (["branch"] if with_branch else []) + ["model", "tokens", "source", "note"]
    rows = []
    for e in entries:
        r = e.record
        tokens = fmt.tokens(r.tokens) + (" " if r.split_known else "*")
        row = [r.id[:10], fmt.local_time(r.ts), e.attached[:7]]
        row += [fmt.one_line(r.branch or "(detached)", 24)] if with_branch else []
        row += [fmt.one_line(r.model or "-", 32), tokens, r.source, fmt.one_line(r.note, 40)]
        rows.append(row)
    right = [5 if with_branch else 4]
    return fmt.table(headers, rows, right=right)


# -- add -------------------------------------------------------------------------------------------


@cli.command()
@click.argument("total", type=COUNT, required=False)
@click.argument("note_text", metavar="[NOTE]", required=False)
@click.option("--input", "input_tokens", type=COUNT, help="Input tokens (excluding cache reads and writes).")
@click.option("--output", "output_tokens", type=COUNT, help="Output tokens (including reasoning).")
@click.option("--cache-read", "cache_read_tokens", type=COUNT, help="Tokens read from the prompt cache.")
@click.option("--cache-write", "cache_write_tokens", type=COUNT, help="Tokens written to the prompt cache.")
@click.option("--reasoning", "reasoning_tokens", type=COUNT, help="Reasoning tokens (a part of --output).")
@click.option("--model", help="Model id as reported, e.g. claude-sonnet-4-5-20250929.")
@click.option("--provider", help="Provider, e.g. anthropic or openai.")
@click.option("--endpoint", help="API operation or feature that spent the tokens.")
@click.option("--source", type=click.Choice(SOURCES), default="manual", show_default=True, help="Where it came from.")
@click.option("--note", help="Free text (the same as NOTE).")
@click.option(
    "--at", "at_text", metavar="WHEN", help="When the tokens were spent (default: now), e.g. 2025-09-29T14:03."
)
@click.option("--commit", "rev", metavar="REV", help="Attach to this commit instead of HEAD.")
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
    record = recording.build(repo, total=total, counts=counts, at=at, **values)
    added = recording.add(repo, record, rev=rev, queue=pending)
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
    for key, label in (("model", "Model"), ("endpoint", "Endpoint"), ("note", "Note")):
        answer = click.prompt(label, default=values[key] or "", show_default=bool(values[key]))
        values[key] = answer or None
    return total, values


# -- show, log, rm ---------------------------------------------------------------------------------


@cli.command()
@click.argument("rev", required=False)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def show(rev: str | None, as_json: bool) -> None:
    """Show the records on a commit, or (without REV) the current branch's summary.

    \b
    Example:
        git tokens show            # this branch: totals, split, sessions, last 5 sessions
        git tokens show HEAD~2     # the records attached to one commit
    """
    repo = current_repo()
    loaded = load_ledger(repo)
    if rev is not None:
        commit = repo.resolve_commit(rev)
        entries = views.on_commit(loaded, commit)
        if as_json:
            dump_json([_entry_json(e) for e in entries])
        elif not entries:
            echo(f"no token records on {commit[:7]}")
        else:
            total = sum(e.record.tokens for e in entries)
            echo(f"{len(entries)} record(s) on {commit[:7]}, {fmt.tokens(total)} tokens\n")
            echo(_rows(entries))
        return
    branch = repo.head_branch()
    summary = views.summarize(views.on_branch(loaded, branch))
    if as_json:
        dump_json({"branch": branch, **summary.to_dict(), "recent": [_entry_json(e) for e in summary.recent]})
        return
    echo(_summary_text(branch, summary))


def _summary_text(branch: str | None, s: views.Summary) -> str:
    name = branch or "(detached HEAD)"
    if s.sessions == 0:
        return f'No token records on {name} yet.\nhint: git tokens add 54161 "what you did"'
    lines = [
        f"Branch: {name}",
        f"Total tokens:  {fmt.tokens(s.total_tokens)}",
        f"  input:       {fmt.tokens(s.input_tokens)}",
        f"  output:      {fmt.tokens(s.output_tokens)}"
        + (f" (reasoning {fmt.tokens(s.reasoning_tokens)})" if s.reasoning_tokens else ""),
        f"  cache read:  {fmt.tokens(s.cache_read_tokens)}",
        f"  cache write: {fmt.tokens(s.cache_write_tokens)}",
    ]
    if s.unsplit_tokens:
        lines.append(f"  split unknown: {fmt.tokens(s.unsplit_tokens)}")
    lines += [
        f"Sessions:      {s.sessions}",
        f"First use:     {fmt.local_time(s.first)}",
        f"Last use:      {fmt.local_time(s.last)}",
        "",
        f"Last {len(s.recent)} session(s):",
        _rows(s.recent, with_branch=False),
    ]
    return "\n".join(lines)


@cli.command(name="log")
@click.option("--branch", help="Only records made on this branch.")
@click.option("--author", help="Only records whose author contains this text.")
@click.option("--model", help="Only records whose model contains this text.")
@click.option("--since", help="Only records from this day on (YYYY-MM-DD or YYYYMMDD).")
@click.option("--until", help="Only records up to this day, inclusive.")
@click.option("-n", "--max-count", "limit", type=click.IntRange(min=0), help="Show at most N records.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def log_cmd(
    branch: str | None,
    author: str | None,
    model: str | None,
    since: str | None,
    until: str | None,
    limit: int | None,
    as_json: bool,
) -> None:
    """List records newest first, with the commit each is on.

    \b
    Example:
        git tokens log -n 20
        git tokens log --branch feature/oauth --since 2025-09-01 --json
    """
    repo = current_repo()
    entries = views.select(
        load_ledger(repo),
        branch=branch,
        author=author,
        model=model,
        since=dates.parse_date(since, "--since") if since else None,
        until=dates.parse_date(until, "--until") if until else None,
        limit=limit,
    )
    if as_json:
        dump_json([_entry_json(e) for e in entries])
    elif entries:
        echo(_rows(entries))
    else:
        echo("no token records match")


@cli.command()
@click.argument("ids", nargs=-1, required=True, metavar="ID...")
def rm(ids: tuple[str, ...]) -> None:
    """Remove records by id (or a unique id prefix) by writing tombstones.

    Nothing is deleted: the record's line stays in the ledger's history and a tombstone record
    says it no longer counts. `git tokens log` shows the ids.

    \b
    Example:
        git tokens rm 3f2a9c1b
    """
    repo = current_repo()
    loaded = load_ledger(repo)
    targets = [recording.resolve_id(loaded, text) for text in ids]
    for line in recording.remove(repo, loaded, targets):
        echo(line)

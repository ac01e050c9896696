"""The ``git tokens`` command line: parse, call one core function, echo. The only module importing click."""

from __future__ import annotations

import dataclasses
import json
import os
import sys
from typing import Any, NoReturn

import click

from gitokens import __version__, dates, fmt, hook, install, ledger, recording, views
from gitokens.errors import GitTokensError, UsageError
from gitokens.git import Repo, open_repo
from gitokens.records import SOURCES

CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


class _Failure(click.ClickException):
    """A GitTokensError on its way out: ``error:`` and ``hint:`` lines, and the error's exit code."""

    def __init__(self, error: GitTokensError) -> None:
        super().__init__(error.message)
        self.exit_code = error.exit_code  # type: ignore[misc]  # click declares it a ClassVar; per-error here
        self.hint = error.hint

    def show(self, file: Any = None) -> None:
        click.echo(f"error: {self.message}", err=True)
        if self.hint:
            click.echo(f"hint: {self.hint}", err=True)


class _Group(click.Group):
    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except GitTokensError as exc:
            raise _Failure(exc) from None


class _Count(click.ParamType):  # type: ignore[type-arg]
    """A token count: digits, with optional thousands separators (54,161 or 54_161)."""

    name = "N"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> int:
        if isinstance(value, int):
            return value
        text = str(value).strip().replace(",", "").replace("_", "")
        try:
            return int(text)
        except ValueError:
            self.fail(f"expected a whole number of tokens, got {value!r}", param, ctx)


COUNT = _Count()


@click.group(cls=_Group, context_settings=CONTEXT)
@click.version_option(__version__, "--version", prog_name="git-tokens")
def cli() -> None:
    """Keep a ledger of LLM token usage in git notes (refs/notes/tokens).

    Each record says who spent how many tokens on which model, and is attached to the commit the
    work went into. Share the ledger with `git tokens sync`.

    \b
    Example:
        git tokens add 54161 "OAuth2 integration"
        git tokens show
    """


def _repo() -> Repo:
    return open_repo()


def _load(repo: Repo) -> ledger.Ledger:
    loaded = ledger.load(repo)
    _warn_invalid(loaded.invalid)
    return loaded


def _warn_invalid(invalid: list[ledger.InvalidLine]) -> None:
    if invalid:
        click.echo(
            f"warning: skipped {len(invalid)} ledger line(s) that are not valid records "
            f"(first: {invalid[0].describe()}); they stay in the ledger",
            err=True,
        )


def _dump(data: Any) -> None:
    # Indented for a person; compact for a pipe (json's indenting encoder is the slow pure-Python one).
    indent = 2 if sys.stdout.isatty() else None
    click.echo(json.dumps(data, indent=indent, ensure_ascii=False, sort_keys=True))


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
    repo = _repo()
    at = dates.parse_moment(at_text, "--at") if at_text else None
    record = recording.build(repo, total=total, counts=counts, at=at, **values)
    added = recording.add(repo, record, rev=rev, queue=pending)
    if as_json:
        _dump(added.record.to_dict())
    else:
        click.echo(added.describe())


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
    repo = _repo()
    loaded = _load(repo)
    if rev is not None:
        commit = repo.resolve_commit(rev)
        entries = views.on_commit(loaded, commit)
        if as_json:
            _dump([_entry_json(e) for e in entries])
        elif not entries:
            click.echo(f"no token records on {commit[:7]}")
        else:
            total = sum(e.record.tokens for e in entries)
            click.echo(f"{len(entries)} record(s) on {commit[:7]}, {fmt.tokens(total)} tokens\n")
            click.echo(_rows(entries))
        return
    branch = repo.head_branch()
    summary = views.summarize(views.on_branch(loaded, branch))
    if as_json:
        _dump({"branch": branch, **summary.to_dict(), "recent": [_entry_json(e) for e in summary.recent]})
        return
    click.echo(_summary_text(branch, summary))


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
    repo = _repo()
    entries = views.select(
        _load(repo),
        branch=branch,
        author=author,
        model=model,
        since=dates.parse_date(since, "--since") if since else None,
        until=dates.parse_date(until, "--until") if until else None,
        limit=limit,
    )
    if as_json:
        _dump([_entry_json(e) for e in entries])
    elif entries:
        click.echo(_rows(entries))
    else:
        click.echo("no token records match")


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
    repo = _repo()
    loaded = _load(repo)
    targets = [recording.resolve_id(loaded, text) for text in ids]
    for line in recording.remove(repo, loaded, targets):
        click.echo(line)


# -- report --------------------------------------------------------------------------------------

FORMATS = ("text", "markdown", "html", "json", "csv")


@cli.command()
@click.option("--since", metavar="DAY", help="From this day on: YYYY-MM-DD, YYYYMMDD, or relative (7d, 2w).")
@click.option("--until", metavar="DAY", help="Up to this day, inclusive.")
@click.option("--days", type=click.IntRange(min=1), help="The last N days (the same as --since Nd).")
@click.option("--branch", help="Only records made on this branch.")
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
@click.option("--sections", metavar="LIST", help="Comma-separated sections to show (default: all).")
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
def report(
    since: str | None,
    until: str | None,
    days: int | None,
    tz_name: str | None,
    sections: str | None,
    fmt_name: str,
    output: str | None,
    **options: Any,
) -> None:
    """Report token usage and cost from the ledger and the commit graph.

    Sections: overall, branch, time, branches, merges, models, authors, recent, costs, trends.

    \b
    Example:
        git tokens report
        git tokens report --since 7d --format markdown -o summary.md
        git tokens report --format html -o tokens.html
    """
    from gitokens import columns, reporting  # heavy (numpy, prices, templates): only for this command

    repo = _repo()
    loaded = columns.load(repo)
    _warn_invalid(loaded.invalid)
    text = reporting.run(
        repo,
        loaded,
        since=since,
        until=until,
        days=days,
        tz_name=tz_name,
        sections=sections,
        fmt=fmt_name,
        color=output is None and sys.stdout.isatty() and not os.environ.get("NO_COLOR"),
        **options,
    )
    if output is None:
        click.echo(text, nl=not text.endswith("\n"))
    else:
        with open(output, "w", encoding="utf-8") as handle:
            handle.write(text)
        click.echo(f"wrote {output}", err=True)


@cli.command()
@click.argument("models", nargs=-1, metavar="[MODEL...]")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def prices(models: tuple[str, ...], as_json: bool) -> None:
    """Show the per-million-token rates each model is priced at, and where the rate comes from.

    Without MODEL, every model in the ledger. Rates come from genai-prices' offline data, from
    `prices:` overrides in .gitokens.yml, or through an `aliases:` entry.

    \b
    Example:
        git tokens prices
        git tokens prices claude-sonnet-4-5-20250929 gpt-4o
    """
    from gitokens import config, pricing

    repo = _repo()
    if not models:
        models = tuple(sorted({e.record.model for e in _load(repo).entries.values() if e.record.model}))
    pricer = pricing.Pricer(config.load_config(repo.workdir))
    table = pricing.rates_table(pricer, models)
    if as_json:
        _dump([{"model": m, **(dataclasses.asdict(r) if r else {"unpriced": True})} for m, r in table])
        return
    if not table:
        click.echo("no models in the ledger yet")
        return
    rows = []
    for model, rates in table:
        if rates is None:
            rows.append([model, "-", "-", "-", "-", "no price: costs shown as unknown"])
            continue
        source = rates.source + ("" if rates.priced_as == model else f" as {rates.priced_as}")
        if rates.tiers:
            source += f"; higher above {rates.tiers[0].above:,} input tokens"
        rows.append(
            [model, *(fmt.rate(v) for v in (rates.input, rates.output, rates.cache_read, rates.cache_write)), source]
        )
    click.echo("USD per million tokens\n")
    click.echo(fmt.table(["model", "input", "output", "cache read", "cache write", "source"], rows, right=[1, 2, 3, 4]))


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
def capture(agent: str, since: str | None, dry_run: bool, all_history: bool) -> None:
    """Record the tokens Claude Code and Codex logged for work in this repository.

    Reads what the agents' logs gained since the last capture, keeps the usage made in this
    repository's work trees, and records it on the first commit made after it on the branch the agent
    named (one record per commit, session and model); usage after a branch's last commit waits for the
    next commit. Without --since or --all-history, older usage is left out.

    \b
    Example:
        git tokens capture
        git tokens capture --dry-run --agent claude
        git tokens capture --all-history
    """
    from gitokens import capture as agent_logs

    repo = _repo()
    moment = dates.parse_moment(since, "--since").timestamp() if since else None
    agents = agent_logs.AGENTS if agent == "all" else (agent,)
    bar = _ProgressBar("reading agent logs")
    try:
        result = agent_logs.run(
            repo, agents=agents, since=moment, dry_run=dry_run, all_history=all_history, progress=bar
        )
    finally:
        bar.close()
    for line in agent_logs.describe(result):
        click.echo(line)


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


# -- install ---------------------------------------------------------------------------------------


@cli.command(name="install")
@click.option("--no-prompt", is_flag=True, help="Never ask for tokens after a commit; only attach queued records.")
@click.option("--capture", is_flag=True, help="Also capture Claude Code and Codex usage after each commit.")
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
    outcome = install.install(_repo(), prompt=not no_prompt, capture=capture, sync=sync_hook)
    _echo_outcome(outcome)


@cli.command()
def uninstall() -> None:
    """Remove the hook and the config that `git tokens install` added, restoring what it replaced.

    \b
    Example:
        git tokens uninstall
    """
    _echo_outcome(install.uninstall(_repo()))


def _echo_outcome(outcome: install.Outcome) -> None:
    for line in outcome.done:
        click.echo(line)
    for line in outcome.warnings:
        click.echo(f"warning: {line}", err=True)


@cli.command(name="hook-run", hidden=True)
@click.argument("name", type=click.Choice(["post-commit"]))
@click.option("--no-prompt", is_flag=True)
@click.option("--capture", "with_capture", is_flag=True)
def hook_run(name: str, no_prompt: bool, with_capture: bool) -> None:
    """Run a hook (called by the installed shim). Always exits 0."""
    try:
        repo = _repo()
        result = hook.post_commit(repo, prompt=not no_prompt, terminal=hook.open_terminal)
        for line in result.messages:
            click.echo(line, err=True)
        if with_capture:
            from gitokens import capture as agent_logs

            for line in agent_logs.after_commit(repo):
                click.echo(line, err=True)
    except Exception as exc:
        message = exc.message if isinstance(exc, GitTokensError) else f"{type(exc).__name__}: {exc}"
        click.echo(f"gitokens: post-commit hook failed, commit and queue untouched: {message}", err=True)


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
    from gitokens import sync

    result = sync.sync(_repo(), remote, push=not no_push, dry_run=dry_run)
    for line in result.describe():
        click.echo(line)
    if result.dropped:
        click.echo(
            f"warning: {result.dropped} record line(s) left the ledger because {result.remote}'s ledger deleted "
            "or edited notes (they stay in the ledger's history: git log -p refs/notes/tokens)",
            err=True,
        )


@cli.command(name="carry")
@click.argument("sources", nargs=-1, metavar="[SOURCE...]")
@click.option("--onto", metavar="COMMIT", help="Where the records go; a range (A..B) matches commits by patch id.")
@click.option("--squash-merged", metavar="BRANCH", help="Find where BRANCH was squash- or rebase-merged, carry there.")
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
    from gitokens import carry, config

    repo = _repo()
    default = repo.default_branch(config.load_config(repo.workdir).default_branch)
    outcome = carry.command(repo, _load(repo), list(sources), onto, squash_merged, default)
    for line in outcome.messages:
        click.echo(line)


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
    from gitokens import doctor

    repo = _repo()
    findings = doctor.examine(repo, ledger.load(repo))
    if fix:
        findings = doctor.apply_fixes(findings)
    for finding in findings:
        for line in finding.lines():
            click.echo(line)
    if any(finding.level == "warn" for finding in findings):
        click.get_current_context().exit(1)


@cli.command(name="hook-pre-push", hidden=True)
@click.argument("remote")
@click.argument("url", required=False)
def hook_pre_push(remote: str, url: str | None) -> None:
    """Sync the ledger with the remote a branch is pushed to (called by the pre-push shim). Always exits 0."""
    from gitokens import sync

    try:
        line = sync.pre_push(_repo(), remote, sys.stdin.read())
    except Exception as exc:
        message = exc.message if isinstance(exc, GitTokensError) else f"{type(exc).__name__}: {exc}"
        line = f"gitokens: the ledger was not synced with {remote} ({message}); your push goes on"
    if line:
        click.echo(line, err=True)


COMPLETE_VAR = "_GIT_TOKENS_COMPLETE"


# -- import and export -----------------------------------------------------------------------------


@cli.command(name="import")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option("--commit", "rev", metavar="REV", help="Attach records that fit no commit or branch here to REV.")
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

    from gitokens import importing

    repo = _repo()
    planned = importing.plan(repo, [Path(f) for f in files], fallback=rev)
    if not dry_run:
        importing.apply(repo, planned)
    click.echo("\n".join(planned.describe(dry_run=dry_run)))


@cli.command(name="export")
@click.argument("output", metavar="[FILE|-]", required=False)
@click.option("--format", "fmt_name", type=click.Choice(["json", "jsonl", "csv"]), help="Default: FILE's extension.")
@click.option("--since", metavar="DAY", help="From this day on: YYYY-MM-DD, YYYYMMDD, or relative (7d, 2w).")
@click.option("--until", metavar="DAY", help="Up to this day, inclusive.")
@click.option("--branch", help="Only records made on this branch.")
@click.option("--author", help="Only records whose author contains this text.")
@click.option("--model", help="Only records whose model contains this text.")
def export_cmd(output: str | None, fmt_name: str | None, **filters: Any) -> None:
    """Write the records (whole, with the commit each is on) as JSON, JSONL or CSV, to FILE or stdout.

    \b
    Example:
        git tokens export tokens.csv --since 2025-09-01
        git tokens export --format jsonl --branch main -
    """
    from gitokens import exporting

    repo = _repo()
    entries = exporting.select(repo, _load(repo), **filters)
    text = exporting.render(entries, exporting.format_for(output, fmt_name))
    if output is None or output == "-":
        click.echo(text, nl=False)
    else:
        with open(output, "w", encoding="utf-8", newline="") as handle:
            handle.write(text)
        click.echo(f"wrote {len(entries)} record(s) to {output}", err=True)


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
    from gitokens import demo, reporting  # heavy (prices, templates): only for this command

    made = demo.create(path)
    click.echo(f"demo repository: {made.path}\n")
    loaded = ledger.load(made.repo)
    color = sys.stdout.isatty() and not os.environ.get("NO_COLOR")
    text = reporting.run(made.repo, loaded, fmt="text", color=color, now=made.now)
    click.echo(text, nl=not text.endswith("\n"))
    dashboard = made.path / demo.DASHBOARD
    dashboard.write_text(reporting.run(made.repo, loaded, fmt="html", now=made.now), encoding="utf-8")
    click.echo(f"\nwrote the HTML dashboard: {dashboard}")
    click.echo(f"next: cd {made.path} && git log --graph --oneline --all && git tokens report --since 7d")


def main(argv: list[str] | None = None, prog_name: str = "git tokens") -> NoReturn:
    """The console script ``git-tokens`` (run by git as ``git tokens``)."""
    if COMPLETE_VAR in os.environ:
        prog_name = "git-tokens"  # completion registers for an executable name; "git tokens" would hijack git's
    sys.exit(cli.main(args=argv, prog_name=prog_name, complete_var=COMPLETE_VAR))

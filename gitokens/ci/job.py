"""``git tokens ci``: everything the GitHub Action does, in one run, from the workflow's ``GITHUB_*`` variables.

In order: refuse a shallow clone; fetch and merge the remote's ledger (checkout never fetches notes; a
remote without one is an empty ledger); after a pull request was squash- or rebase-merged, carry its
commits' records onto the commits that landed; record the usage file the workflow's own AI steps wrote
(``source: ci``); write the report (Markdown and the HTML dashboard), the job summary and the step's
outputs; check the budgets; push the ledger if asked; post or edit the pull request's sticky comment
if asked. The caller fails the step last, when a budget is over (``Outcome.exit_code``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from gitokens import dates
from gitokens.ci import budget, landing, workflow
from gitokens.ci.workflow import Event
from gitokens.config import Budget, Config, load_config
from gitokens.errors import GitTokensError, UsageError
from gitokens.git import notes
from gitokens.git.repo import Repo
from gitokens.ledger import edits, store, totals
from gitokens.ledger.record import Record, content_id, format_timestamp
from gitokens.pricing import Pricer
from gitokens.report.model import Report
from gitokens.share import sync


class ShallowClone(UsageError):
    """The history is cut off: merges, carries and budgets need all of it."""


@dataclass(frozen=True)
class Settings:
    """The Action's inputs."""

    format: str = "markdown"
    sections: str | None = None
    since: str | None = None
    branch: str | None = None
    budget: Budget = field(default_factory=Budget)
    fail_on_budget: bool = True
    record: str | None = None
    carry: bool = True
    push: bool = False
    comment: bool = False
    out_dir: Path | None = None
    remote: str = "origin"


@dataclass
class Outcome:
    """What the run did: log lines, the summary, the outputs, the budgets, and failures reported last."""

    log: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # Markdown lines for the summary (no ledger text)
    summary: str = ""
    comment: str = ""
    outputs: dict[str, str] = field(default_factory=dict)
    verdicts: list[budget.Verdict] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    fail_on_budget: bool = True

    @property
    def over(self) -> list[budget.Verdict]:
        return [v for v in self.verdicts if v.over]

    @property
    def exit_code(self) -> int:
        return 1 if self.errors or (self.over and self.fail_on_budget) else 0


def run(repo: Repo, settings: Settings, env: Mapping[str, str], now: datetime | None = None) -> Outcome:
    """The whole Action; writes the summary and outputs the files ``env`` names. Raises only for bad setup."""
    from gitokens.report import pipeline

    now = now or datetime.now(UTC)
    event = Event.from_env(env)
    out = Outcome(fail_on_budget=settings.fail_on_budget)
    if notes.is_shallow(repo):
        raise ShallowClone(
            "this clone is shallow: the report, carry and budgets need the whole history",
            hint="check out with actions/checkout and `fetch-depth: 0`",
        )
    if settings.format not in ("markdown", "none"):
        raise UsageError(f"format: {settings.format!r} is not markdown or none", hint="use format: markdown")
    config = load_config(repo.workdir)
    default = repo.default_branch(config.default_branch)
    remote = settings.remote if settings.remote in notes.remote_names(repo) else None
    if remote is None:
        out.log.append(f"no remote named {settings.remote!r}: the local ledger only")
    else:
        fetched = sync.sync(repo, remote, push=False)
        out.log.append(f"ledger fetched from {remote}: {fetched.received} record(s) received")
        out.log += [f"received a line that is not a record, kept and skipped: {bad}" for bad in fetched.invalid]
    # Read once, as rows: the report's columns come from them when not cached, and the budgets build a
    # record only for the rows in their scopes; a whole ``Ledger`` only for a carry or a usage file.
    rows = store.load_rows(repo)
    if rows.invalid:
        out.log.append(f"ledger: {len(rows.invalid)} line(s) are not valid records, kept and skipped")
    if settings.carry:
        wrote, log, carried = landing.carry_landed(repo, lambda: store.ledger_of(rows), event, default, remote)
        out.log += log
        out.notes += carried
        if wrote:
            rows = store.load_rows(repo)
    if settings.record and _record(repo, rows, event, Path(settings.record), env, now, out):
        rows = store.load_rows(repo)
    model, report_md, dashboard = _report(repo, rows, settings, env, now, _event_branch(event))
    tz = pipeline.resolve_timezone(None, config)
    scopes, given = _scopes(repo, rows, event, settings, config, default, tz, now)
    pricer = Pricer(config, cache=pipeline.prices_cache(repo))  # the prices the report just looked up
    out.verdicts = budget.evaluate(repo, pricer, settings.budget, given, config, scopes)
    out.log += [v.line() for v in out.verdicts]
    if settings.push:
        _push(repo, event, remote, out)
    cost = model.totals.cost_usd
    out.outputs = {
        "total-tokens": str(model.totals.total_tokens),
        "total-cost-usd": "" if cost is None else f"{cost:.6f}",
        "over-budget": "true" if out.over else "false",
        "report-path": str(report_md),
        "dashboard-path": str(dashboard),
    }
    report_text = report_md.read_text(encoding="utf-8") if settings.format == "markdown" else ""
    out.summary = _summary(out, report_text)
    if settings.comment:
        _post_comment(repo, event, out, pricer, scopes.get("pull_request"), env)
    workflow.write_summary(env, out.summary)
    workflow.write_outputs(env, out.outputs)
    return out


def _event_branch(event: Event) -> str | None:
    """The branch a run is about: a pull request's head branch, or the pushed branch (checkout leaves HEAD
    detached in both)."""
    head_ref = event.pr_head[1]
    if head_ref:
        return head_ref
    return event.ref.removeprefix("refs/heads/") if event.ref.startswith("refs/heads/") else None


def _report(
    repo: Repo,
    rows: store.Rows,
    settings: Settings,
    env: Mapping[str, str],
    now: datetime,
    current: str | None = None,
) -> tuple[Report, Path, Path]:
    """The report model, and the Markdown report and HTML dashboard written under ``$RUNNER_TEMP/gitokens``.
    The columns come from the report's cache when a job runs twice on one clone, else from ``rows``."""
    from gitokens.report import cache, pipeline, render

    model = pipeline.make(
        repo,
        cache.load(repo, rows=rows, beside=pipeline.ahead(repo, formats=("markdown", "html"))),
        since=settings.since,
        branch=settings.branch,
        sections=settings.sections,
        now=now,
        current_branch=current,
    )
    temp = env.get("RUNNER_TEMP")
    folder = settings.out_dir or (Path(temp) / "gitokens" if temp else repo.state_dir() / "ci")
    folder.mkdir(parents=True, exist_ok=True)
    report_md, dashboard = folder / "report.md", folder / "tokens.html"
    pipeline.keep_templates_compiled(repo.state_dir() / "cache" / "templates")
    report_md.write_text(render.render(model, "markdown"), encoding="utf-8")
    dashboard.write_text(render.render(model, "html"), encoding="utf-8")
    cache.written()  # the columns cache, written while the report was made (the Action saves it)
    return model, report_md, dashboard


# -- the usage file ------------------------------------------------------------------------------


def _record(
    repo: Repo, rows: store.Rows, event: Event, path: Path, env: Mapping[str, str], now: datetime, out: Outcome
) -> bool:
    """Record the usage in ``path`` on the current commit (a pull request's head); whether anything was written."""
    from gitokens.data.usage import usage_fields

    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UsageError(
            f"record: {path} does not exist", hint="write the usage JSON there first, or drop `record`"
        ) from None
    except (OSError, UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise UsageError(
            f"record: {path} is not a JSON file: {exc}", hint="one usage object or a list of them"
        ) from None
    items = data if isinstance(data, list) else [data]
    head = event.pr_head[0]
    target = head if head is not None and repo.commit_exists(head) else repo.head_commit()
    if target is None:
        raise UsageError("record: there is no commit to attach the usage to", hint="check out a commit first")
    branch = _event_branch(event)
    run = [env.get(k, "") for k in ("GITHUB_REPOSITORY", "GITHUB_RUN_ID", "GITHUB_RUN_ATTEMPT", "GITHUB_JOB")]
    at = store.FIELD_AT["id"]
    known = {row[0][at] for row in (*rows.usage, *rows.removed)}  # records in effect or removed
    new: list[Record] = []
    for number, item in enumerate(items, 1):
        try:
            fields = usage_fields(item)
        except GitTokensError as exc:
            raise UsageError(f"record: {path} item {number}: {exc.message}", hint=exc.hint) from None
        own = item if isinstance(item, dict) and "usage" not in item else {}
        values: dict[str, Any] = {
            "ts": own.get("ts") or format_timestamp(now),
            "source": "ci",
            "branch": branch or repo.head_branch(),
            "author": own.get("author") or repo.user_email() or env.get("GITHUB_ACTOR") or None,
            "session": own.get("session") or (f"github-actions:{run[1]}/{run[2]}" if run[1] else None),
            "endpoint": own.get("endpoint"),
            "note": own.get("note"),
            "cost_usd": own.get("cost_usd"),
            "commit": target,
            **fields,
        }
        given = own.get("id")
        values["id"] = (
            given if isinstance(given, str) and given else content_id({"run": run, "n": number, "item": item})
        )
        try:
            edits.check_text(values)
            record = edits.check_new(Record.from_dict({k: v for k, v in values.items() if v is not None}), values["ts"])
        except GitTokensError as exc:
            raise UsageError(f"record: {path} item {number}: {exc.message}", hint=exc.hint) from None
        if record.id not in known:
            new.append(record)
    if new:
        written = store.append(repo, {target: new}, "Notes added by 'git tokens ci'")
        totals.advance(repo, written, new)
        out.notes.append(f"Recorded {len(new)} usage record(s) from the workflow on `{target[:10]}`.")
    out.log.append(f"record: {len(new)} of {len(items)} usage record(s) written on {target[:10]}")
    return bool(new)


# -- budgets, push, summary, outputs --------------------------------------------------------------


def _scopes(
    repo: Repo,
    loaded: store.Rows,
    event: Event,
    settings: Settings,
    config: Config,
    default: str | None,
    tz: Any,
    now: datetime,
) -> tuple[dict[str, budget.Scoped], budget.Scoped | None]:
    """The records each budget scope means in this run, and the scope of the budget given as inputs."""
    scopes: dict[str, budget.Scoped] = {}
    number = event.pr_number
    head, head_ref = event.pr_head
    pushed, before, after = event.pushed
    default_tip = repo.branch_tip(default) if default else None
    if number is not None:
        label = f"pull request #{number}" + (f" ({head_ref})" if head_ref else "")
        scopes["pull_request"] = (label, budget.commits_scope(repo, loaded, event.pr_base, head, head_ref))
        if head_ref and head_ref != default:
            scopes["branch"] = (f"branch {head_ref}", budget.commits_scope(repo, loaded, default_tip, head, head_ref))
    elif pushed is not None and pushed == default:
        label = f"push to {pushed} ({before[:7] + '..' if before else ''}{(after or 'unknown')[:7]})"
        scopes["pull_request"] = (label, budget.commits_scope(repo, loaded, before, after))
    elif pushed is not None:
        scopes["branch"] = (f"branch {pushed}", budget.commits_scope(repo, loaded, default_tip, after, pushed))
    given = settings.budget.usd is not None or settings.budget.tokens is not None
    if "month" in config.budgets or (given and not scopes and not (settings.branch or settings.since)):
        month, in_month = budget.month_scope(loaded, tz, now)
        scopes["month"] = (f"month {month}", in_month)
    if settings.branch or settings.since:
        since = dates.parse_since(settings.since, "since", now.astimezone(tz).date()) if settings.since else None
        label = " ".join(
            part
            for part in (
                "records",
                f"on {settings.branch}" if settings.branch else "",
                f"since {since}" if since else "",
            )
            if part
        )
        return scopes, (label, budget.selection_scope(loaded, settings.branch, since, tz))
    return scopes, scopes.get("pull_request") or scopes.get("branch") or scopes.get("month")


def _push(repo: Repo, event: Event, remote: str | None, out: Outcome) -> None:
    if event.from_fork:
        out.log.append("push: a pull request from a fork gets a read-only token; the ledger was not pushed")
        out.notes.append("The ledger was not pushed: a pull request from a fork cannot write to this repository.")
        return
    if remote is None:
        out.log.append("push: no remote; the ledger was not pushed")
        return
    try:
        result = sync.sync(repo, remote)
    except GitTokensError as exc:
        out.errors.append(
            f"the ledger was not pushed: {exc.message} (the workflow needs `permissions: contents: write`)"
        )
        return
    out.log += [f"push: {line}" for line in result.describe()]


def _summary(out: Outcome, report: str) -> str:
    head = budget.markdown(out.verdicts)
    if out.notes:
        head += "\n" + "\n".join(f"- {note}" for note in out.notes) + "\n"
    text = (head + "\n" + report) if head else report
    return text


def _post_comment(
    repo: Repo, event: Event, out: Outcome, pricer: Pricer, scope: budget.Scoped | None, env: Mapping[str, str]
) -> None:
    """Post or edit the sticky comment; a refusal (a fork's read-only token) is a warning, not a failure."""
    from gitokens.ci import github

    number = event.pr_number
    if number is None:
        out.log.append("comment: this run is not about a pull request; no comment")
        return
    out.comment = _comment(repo, out, pricer, scope, env)
    api = env.get("GITHUB_API_URL") or "https://api.github.com"
    try:
        done = github.upsert_comment(
            api, env.get("GITHUB_REPOSITORY", ""), number, env.get("GITHUB_TOKEN", ""), out.comment
        )
    except GitTokensError as exc:
        out.warnings.append(f"the pull request comment was not posted: {exc.message} ({exc.hint})")
        return
    out.log.append(f"comment {done} on #{number}")


def _comment(repo: Repo, out: Outcome, pricer: Pricer, scope: budget.Scoped | None, env: Mapping[str, str]) -> str:
    from gitokens.ci import github

    lines = [github.MARKER, "## Token usage of this pull request", ""]
    if scope is not None:
        spent = budget.spend(repo, *scope, pricer)
        cost = budget.usd(spent.usd) + (f" ({spent.unpriced} record(s) unpriced)" if spent.unpriced else "")
        lines += [f"{len(spent.entries)} record(s), {spent.tokens:,} tokens, {cost}.", "", budget.lines_table(spent)]
    lines += ["", budget.markdown(out.verdicts)]
    server, repository, run_id = (env.get(k, "") for k in ("GITHUB_SERVER_URL", "GITHUB_REPOSITORY", "GITHUB_RUN_ID"))
    if server and repository and run_id:
        lines.append(f"The full report is in the [run's summary]({server}/{repository}/actions/runs/{run_id}).")
    return workflow.cap("\n".join(lines) + "\n", github.COMMENT_LIMIT)

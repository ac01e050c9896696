"""Building the report: ledger columns + commit graph + prices -> the model in ``model.py``.

Each record is filtered, priced and keyed once (``_collect``), as columns (``columns.py``): no Python
object per record. ``aggregate.py`` sums the breakdowns and
``merges.py`` walks the default branch for merges and pull requests. Records on commits that are gone
or unreachable still count everywhere else, by their own fields.
"""

from __future__ import annotations

import calendar
import dataclasses
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, tzinfo
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from gitokens.config import Config
from gitokens.git.repo import Repo
from gitokens.pricing import Pricer
from gitokens.report import breakdown, compare, hours, listing, sessions
from gitokens.report.aggregate import (
    AUTHOR,
    BRANCH,
    COLUMNS,
    DAY,
    ENDPOINT,
    MODEL,
    MONTH,
    PROVIDER,
    SOURCE,
    TOTAL,
    UNKNOWN,
    WEEK,
    Dimension,
    Records,
    share,
)
from gitokens.report.chain import first_parents
from gitokens.report.columns import (
    CACHE_READ,
    CACHE_WRITE,
    CACHE_WRITE_1H,
    INPUT,
    OUTPUT,
    REASONING,
    REQUESTS,
    TOTAL_ONLY,
    Columns,
    factorize,
    ts_text,
)
from gitokens.report.compare import Period
from gitokens.report.costs import costs
from gitokens.report.localdays import day_number, from_day_number, local_days, ms
from gitokens.report.merges import merge_totals, walk_merges
from gitokens.report.model import CostLine, Report, Table, Totals

_NONE = np.zeros(0, dtype=np.intp)

SECTIONS = (
    "overall",
    "branch",
    "time",
    "branches",
    "merges",
    "models",
    "authors",
    "recent",
    "costs",
    "trends",
    "sessions",
    "hours",
)


@dataclass
class Options:
    """What to report on: filters apply to records; ``top`` trims the long breakdowns (0: all)."""

    since: date | None = None
    until: date | None = None
    branch: str | None = None
    author: str | None = None
    model: str | None = None
    top: int = 10
    recent: int = 10
    sections: tuple[str, ...] = SECTIONS
    by: str = "day"
    with_records: bool = False
    current: str | None = None  # the branch the report is about (default: HEAD's)
    now: datetime | None = None
    filters: dict[str, Any] = field(default_factory=dict)
    breakdown: bool = False  # the trend tables' rows split by model
    order: str | None = None  # asc or desc for the tables ordered by time; None: each its own
    compare: tuple[Period, Period] | None = None  # two periods side by side instead of the report


class Across(Protocol):
    """A report over published repositories (``gitokens.db``) rather than one repository's commit graph:
    its name, and what it adds once the records are summed (the merges that were published, a section
    per repository)."""

    name: str

    def finish(self, report: Report, columns: Columns, records: Records) -> None: ...


def build(
    repo: Repo | None,
    columns: Columns,
    config: Config,
    pricer: Pricer,
    tz: tzinfo,
    options: Options,
    across: Across | None = None,
) -> Report:
    """The full report over the records that pass ``options``' filters; with ``across`` (and no ``repo``),
    over published repositories."""
    now = (options.now or datetime.now(UTC)).astimezone(tz)
    default = repo.default_branch(config.default_branch) if repo is not None else None
    tip = repo.branch_tip(default) if repo is not None and default and "merges" in options.sections else None
    history = first_parents(repo, tip) if repo is not None and tip else None  # git walks it meanwhile
    records = _collect(repo, columns, config, pricer, tz, options)
    current = options.current or (repo.head_branch() if repo is not None else None)
    overall = records.sums()
    days = records.group(DAY)
    daily = records.table("date", {d.isoformat(): rows for d, rows in days.items()}, by_key=True)
    weekly = records.table("week", records.group(WEEK), by_key=True)
    monthly = records.table("month", records.group(MONTH), by_key=True)
    branches, models = records.group(BRANCH), records.group(MODEL)
    by_branch = records.table("branch", branches, options.top)
    for row in by_branch.rows:
        row.extra["current"] = row.key == (current or "(detached)")
        row.extra["share"] = share(row.totals.total_tokens, overall.total_tokens)
    by_endpoint = records.table_of("endpoint", ENDPOINT, options.top)
    for row in by_endpoint.rows:
        row.extra["average_tokens"] = row.totals.total_tokens // max(row.totals.sessions, 1)
    report = Report(
        generated_at=now.isoformat(timespec="seconds"),
        repository=across.name if across is not None else Path(str(repo.workdir or repo.git_dir)).name,  # type: ignore[union-attr]
        timezone=str(getattr(tz, "key", None) or now.tzname() or "UTC"),
        default_branch=default,
        current_branch=current,
        filters=options.filters,
        cost_mode=pricer.mode,
        totals=overall,
        session_stats=_session_stats(records, None, overall),
        branch=_branch_section(records, branches.get(current or "(detached)", _NONE), current, overall),
        windows=_windows(records, days, now),
        by_branch=by_branch,
        by_merge=[],
        merge_totals=merge_totals([], Totals()),
        by_model=records.table("model", models, options.top),
        by_provider=records.table_of("provider", PROVIDER),
        by_endpoint=by_endpoint,
        by_author=records.table_of("author", AUTHOR, options.top),
        by_source=records.table_of("source", SOURCE),
        daily=daily,
        weekly=weekly,
        monthly=monthly,
        recent=listing.rows(columns, records, listing.recent(columns, records, options.recent), full=False),
        cost_analysis=_cost_analysis(records, models, pricer, now),
        insights=_insights(daily, by_branch, now),
        projection=_projection(records, days, now, options),
        unpriced_models=sorted(pricer.unpriced),
        invalid_lines=[
            {"commit": i.commit, "line": i.line_no, "error": i.error, "text": i.text[:200]} for i in columns.invalid
        ],
        estimated_split={"input": config.split.input, "output": config.split.output},
        default_model=_default_model(records, models, pricer),
        sections=list(options.sections),
        by=options.by,
        records=listing.every(columns, records) if options.with_records else None,
    )
    _views(report, columns, records, tz, options)
    if repo is not None and default and history:  # last: git has been walking the history meanwhile
        report.by_merge, brought = walk_merges(repo, default, history, columns, records)
        report.merge_totals = merge_totals(report.by_merge, records.sums(brought))
    if across is not None:
        across.finish(report, columns, records)
    return report


def _views(report: Report, columns: Columns, records: Records, tz: tzinfo, options: Options) -> None:
    """The views beyond the tables: sessions, hours of the day, the per-model breakdown, the order of the
    tables ordered by time, and the comparison of two periods."""
    if "sessions" in options.sections:
        report.by_session = sessions.table(columns, records, options.top, options.order)
    if "hours" in options.sections:
        report.hours = hours.hours(records, tz)
    if options.breakdown:
        breakdown.add_models(records, DAY, report.daily, lambda d: d.isoformat())
        breakdown.add_models(records, WEEK, report.weekly)
        breakdown.add_models(records, MONTH, report.monthly)
    report.breakdown, report.order = options.breakdown, options.order
    if options.order == "desc":
        for table in (report.daily, report.weekly, report.monthly):
            table.rows.reverse()
        report.branch["daily"].reverse()
    if options.compare:
        report.compare = compare.compare(records, options.compare, options.top)


def _collect(
    repo: Repo | None, columns: Columns, config: Config, pricer: Pricer, tz: tzinfo, options: Options
) -> Records:
    """Filter, price and key every record once, as columns."""
    texts = columns.texts
    keep = np.ones(len(columns), dtype=bool)
    if options.branch is not None:
        keep &= texts["branch"].codes == _code(texts["branch"].labels, options.branch)
    for name, wanted in (("author", options.author), ("model", options.model)):
        if wanted:
            needle = wanted.lower()
            matching = [code for code, label in enumerate(texts[name].labels) if needle in label.lower()]
            keep &= np.isin(texts[name].codes, matching)
    days = local_days(columns.ts, tz)
    if options.since:
        keep &= days >= day_number(options.since)
    if options.until:
        keep &= days <= day_number(options.until)
    rows = np.flatnonzero(keep)
    usd = costs(pricer, columns, rows)
    counts = columns.counts[rows]
    total_only = counts[:, TOTAL_ONLY]
    estimated = total_only >= 0
    split_in = np.rint(total_only * config.split.input).astype(np.int64)
    priced = ~np.isnan(usd)
    requests = counts[:, REQUESTS]
    matrix = np.empty((len(rows), len(COLUMNS)), dtype=np.int64)
    matrix[:, 0] = 1
    matrix[:, 1] = np.where(estimated, split_in, counts[:, INPUT])
    matrix[:, 2] = np.where(estimated, total_only - split_in, counts[:, OUTPUT])
    matrix[:, 3] = np.where(estimated, 0, counts[:, CACHE_READ])
    matrix[:, 4] = np.where(estimated, 0, counts[:, CACHE_WRITE])
    matrix[:, 5] = np.where(estimated, 0, counts[:, REASONING])
    matrix[:, 6] = np.where(estimated, total_only, counts[:, INPUT : CACHE_WRITE + 1].sum(axis=1))
    matrix[:, 7] = np.where(estimated, total_only, 0)
    matrix[:, 8] = ~priced
    matrix[:, 9] = priced
    matrix[:, 10] = np.where(estimated, 0, counts[:, CACHE_WRITE_1H])
    matrix[:, 11] = requests
    matrix[:, 12] = np.where(requests > 0, matrix[:, 6], 0)
    day_dimension = _days(days[rows])
    dimensions = [
        Dimension.of(texts["branch"].codes[rows], texts["branch"].labels, lambda b: b or "(detached)"),
        Dimension.of(texts["model"].codes[rows], texts["model"].labels, lambda m: m or UNKNOWN),
        _providers(columns, rows),
        Dimension.of(texts["endpoint"].codes[rows], texts["endpoint"].labels, lambda e: e or UNKNOWN),
        _authors(repo, columns, rows),
        Dimension.of(texts["source"].codes[rows], texts["source"].labels, lambda s: s),
        day_dimension,
        Dimension.of(day_dimension.codes, day_dimension.labels, lambda d: _week(d) if d else UNKNOWN),
        Dimension.of(day_dimension.codes, day_dimension.labels, lambda d: d.strftime("%Y-%m") if d else UNKNOWN),
    ]
    return Records(rows, matrix, np.where(priced, usd, 0.0), columns.ts[rows], _session_keys(columns, rows), dimensions)


def _session_keys(columns: Columns, rows: np.ndarray) -> np.ndarray:
    """A key per row that the records of one session share: the session's code; a record without a session
    gets a key of its own, past the codes."""
    keys: np.ndarray = columns.texts["session"].codes[rows].astype(np.int64)
    unset = keys < 0
    first_free = int(keys.max()) + 1 if len(keys) else 0
    keys[unset] = first_free + np.arange(int(unset.sum()))
    return keys


def _code(labels: list[str], value: str) -> int:
    try:
        return labels.index(value)
    except ValueError:
        return -2  # matches no row (unset is -1)


def _authors(repo: Repo | None, columns: Columns, rows: np.ndarray) -> Dimension:
    """The record's author, else the author of the commit that holds it (published records carry it)."""
    author, attached = columns.texts["author"], columns.texts["attached"]
    codes = author.codes[rows].astype(np.int64)
    labels = list(author.labels)
    unset = np.flatnonzero(codes < 0)
    if len(unset):
        commits, inverse = factorize(attached.codes[rows[unset]])
        for commit in commits.tolist():
            info = repo.commit_info(attached.label(commit)) if repo is not None else None
            labels.append(info.author_email if info is not None else UNKNOWN)
        codes[unset] = len(author.labels) + inverse
    return Dimension.of(codes, labels, lambda a: a)


def _providers(columns: Columns, rows: np.ndarray) -> Dimension:
    """The record's provider, else the one its model name implies: decided once per (provider, model) pair."""
    provider, model = columns.texts["provider"], columns.texts["model"]
    width = len(model.labels) + 1
    pairs, inverse = factorize((provider.codes[rows] + 1).astype(np.int64) * width + model.codes[rows] + 1)
    labels = []
    for pair in pairs.tolist():
        p, m = divmod(pair, width)
        labels.append(_provider(provider.labels[p - 1] if p else None, model.labels[m - 1] if m else None))
    return Dimension.of(inverse, labels, lambda p: p)


def _days(days: np.ndarray) -> Dimension:
    distinct, inverse = factorize(days)
    return Dimension(inverse, [from_day_number(d) for d in distinct.tolist()])


def _provider(provider: str | None, model_name: str | None) -> str:
    if provider:
        return provider.lower()
    model = (model_name or "").lower()
    for prefix, provider in (
        ("claude", "anthropic"),
        ("gpt", "openai"),
        ("o1", "openai"),
        ("o3", "openai"),
        ("o4", "openai"),
        ("codex", "openai"),
        ("gemini", "google"),
    ):
        if model.startswith(prefix):
            return provider
    return UNKNOWN


def _week(day: date) -> str:
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


def _session_stats(records: Records, rows: np.ndarray | None, t: Totals) -> dict[str, Any]:
    """Sessions' sizes: the tokens of all the records of each session."""
    sizes = records.counts[:, TOTAL] if rows is None else records.counts[rows, TOTAL]
    stamps = records.ts if rows is None else records.ts[rows]
    if not len(sizes):
        return {"average_tokens": 0, "largest_tokens": 0, "smallest_tokens": 0, "first": None, "last": None}
    _, session = factorize(records.sessions if rows is None else records.sessions[rows])
    per_session = np.bincount(session, weights=sizes) if t.total_tokens < 2**53 else None
    if per_session is None:  # beyond float64's exact integers: sum as integers
        per_session = np.zeros(int(session.max()) + 1, dtype=np.int64)
        np.add.at(per_session, session, sizes)
    return {
        "average_tokens": t.total_tokens // len(per_session),
        "largest_tokens": int(per_session.max()),
        "smallest_tokens": int(per_session.min()),
        "first": ts_text(int(stamps.min())),
        "last": ts_text(int(stamps.max())),
    }


def _branch_section(records: Records, mine: np.ndarray, branch: str | None, overall: Totals) -> dict[str, Any]:
    t = records.sums(mine)
    stats = _session_stats(records, mine, t)
    days = records.group(DAY, mine)
    return {
        "name": branch,
        **t.to_dict(),
        "average_tokens": stats["average_tokens"],
        "share": share(t.total_tokens, overall.total_tokens),
        "first": stats["first"],
        "last": stats["last"],
        "daily": records.table("date", {d.isoformat(): rows for d, rows in days.items()}, by_key=True).to_list(),
    }


def _windows(records: Records, days: dict[date, np.ndarray], now: datetime) -> dict[str, Totals]:
    """The last 24 hours (rolling), and the last 7 and 30 days as calendar days in the report's time zone,
    today included: the same days as the trends' week and the charts' bars."""
    today = now.date()
    return {
        "last_24h": records.sums(records.between(ms(now - timedelta(hours=24)), ms(now))),
        "last_7d": _sum_days(records, days, today - timedelta(days=6), today),
        "last_30d": _sum_days(records, days, today - timedelta(days=29), today),
    }


def _sum_days(records: Records, days: dict[date, np.ndarray], first: date, last: date) -> Totals:
    """The totals of the records of the calendar days ``first`` to ``last``, both included."""
    picked = [rows for day, rows in days.items() if first <= day <= last]
    return records.sums(np.concatenate(picked)) if picked else Totals()


def _average_days(now: datetime, options: Options) -> tuple[date, date]:
    """The days a daily average is taken over: the last 30 (today included), within --since and --until, so
    that a week's report divides by 7, not by 30 days it did not look at."""
    last = min(now.date(), options.until) if options.until else now.date()
    first = last - timedelta(days=29)
    if options.since and options.since > first:
        first = options.since
    return first, last


def _projection(records: Records, days: dict[date, np.ndarray], now: datetime, options: Options) -> dict[str, Any]:
    first, last = _average_days(now, options)
    spanned = max((last - first).days + 1, 0)
    window = _sum_days(records, days, first, last)
    per_day = max(spanned, 1)
    month_start = now.date().replace(day=1)
    in_month = [rows for day, rows in days.items() if month_start <= day <= now.date()]
    this_month = records.sums(np.concatenate(in_month)) if in_month else Totals()
    days_in_month = calendar.monthrange(now.year, now.month)[1]
    elapsed = now.day
    return {
        "average_days": spanned,
        "average_first_day": first.isoformat(),
        "average_last_day": last.isoformat(),
        "daily_average_tokens": window.total_tokens // per_day,
        "daily_average_cost_usd": None if window.cost_usd is None else round(window.cost_usd / per_day, 6),
        "monthly_tokens": window.total_tokens * 30 // per_day,
        "monthly_cost_usd": None if window.cost_usd is None else round(window.cost_usd * 30 / per_day, 6),
        "month": month_start.strftime("%Y-%m"),
        "month_to_date_tokens": this_month.total_tokens,
        "month_to_date_cost_usd": None if this_month.cost_usd is None else round(this_month.cost_usd, 6),
        "projected_month_tokens": this_month.total_tokens * days_in_month // elapsed,
        "projected_month_cost_usd": (
            None if this_month.cost_usd is None else round(this_month.cost_usd * days_in_month / elapsed, 6)
        ),
    }


def _insights(daily: Table, by_branch: Table, now: datetime) -> dict[str, Any]:
    today = now.date()
    week_start, previous_start = (today - timedelta(days=6)).isoformat(), (today - timedelta(days=13)).isoformat()
    this_week = sum(r.totals.total_tokens for r in daily.rows if week_start <= (r.key or "") <= today.isoformat())
    last_week = sum(r.totals.total_tokens for r in daily.rows if previous_start <= (r.key or "") < week_start)
    peak = max(daily.rows, key=lambda r: r.totals.total_tokens, default=None)
    busiest = by_branch.rows[0] if by_branch.rows else None
    return {
        "this_week_tokens": this_week,
        "previous_week_tokens": last_week,
        "week_over_week_pct": round(100.0 * (this_week - last_week) / last_week, 1) if last_week else None,
        "peak_day": peak.key if peak else None,
        "peak_day_tokens": peak.totals.total_tokens if peak else 0,
        "most_active_branch": busiest.key if busiest else None,
        "most_active_branch_tokens": busiest.totals.total_tokens if busiest else 0,
    }


def _default_model(records: Records, models: dict[str, np.ndarray], pricer: Pricer) -> dict[str, Any] | None:
    """How many records without a model were priced as ``default_model`` (None: none were): a report says so,
    as their cost is the team's assumption, not the record's. ``reported`` mode prices nothing."""
    default, rows = pricer.config.default_model, models.get(UNKNOWN)
    if default is None or rows is None or pricer.mode == "reported":
        return None
    t = records.sums(rows)
    return {"model": default, "records": t.records, "total_tokens": t.total_tokens}


def _cost_analysis(records: Records, models: dict[str, np.ndarray], pricer: Pricer, now: datetime) -> list[CostLine]:
    lines = []
    default = pricer.config.default_model
    for model, rows in models.items():
        t = records.sums(rows)
        if model == UNKNOWN:
            rates = pricer.rates(default, now) if default else None
            if rates is not None:
                rates = dataclasses.replace(rates, source=f"default_model -> {default} ({rates.source})")
        else:
            rates = pricer.rates(model, now)
        lines.append(
            CostLine(
                model=model,
                priced_as=rates.priced_as if rates else None,
                rate_source=rates.source if rates else None,
                input_tokens=t.input_tokens,
                output_tokens=t.output_tokens,
                cache_read_tokens=t.cache_read_tokens,
                cache_write_tokens=t.cache_write_tokens,
                input_rate=rates.input if rates else None,
                output_rate=rates.output if rates else None,
                cache_read_rate=rates.cache_read if rates else None,
                cache_write_rate=rates.cache_write if rates else None,
                cost_usd=t.cost_usd,
                estimated_tokens=t.estimated_tokens,
                cache_write_1h_tokens=t.cache_write_1h_tokens,
                cache_write_1h_rate=rates.cache_write_1h if rates else None,
            )
        )
    return sorted(lines, key=lambda c: (-(c.cost_usd or 0.0), c.model))

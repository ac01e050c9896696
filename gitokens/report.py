"""Building the report: ledger + commit graph + prices -> the model in ``model.py``.

Each record is filtered, priced and keyed once (``_collect``); ``aggregate.py`` sums the breakdowns and
``merges.py`` walks the default branch for merges and pull requests. Records on commits that are gone
or unreachable still count everywhere else, by their own fields.
"""

from __future__ import annotations

import calendar
import heapq
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, tzinfo
from pathlib import Path
from typing import Any

from gitokens.aggregate import AUTHOR, BRANCH, DAY, ENDPOINT, MODEL, PROVIDER, SOURCE, UNKNOWN, Records, share
from gitokens.config import Config
from gitokens.git import Repo
from gitokens.ledger import Ledger
from gitokens.merges import merge_totals, walk_merges
from gitokens.model import CostLine, Report, Row, Table, Totals
from gitokens.pricing import Pricer, split_total
from gitokens.records import Record, format_timestamp

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
    now: datetime | None = None
    filters: dict[str, Any] = field(default_factory=dict)


def build(repo: Repo, ledger: Ledger, config: Config, pricer: Pricer, tz: tzinfo, options: Options) -> Report:
    """The full report over the records that pass ``options``' filters."""
    now = (options.now or datetime.now(UTC)).astimezone(tz)
    records = _collect(repo, ledger, config, pricer, _LocalDay(tz), options)
    default = repo.default_branch(config.default_branch)
    current = repo.head_branch()
    overall = records.sums()
    days = records.group(DAY)
    daily = records.table("date", {d.isoformat(): rows for d, rows in days.items()}, by_key=True)
    branches, models = records.group(BRANCH), records.group(MODEL)
    by_branch = records.table("branch", branches, options.top)
    for row in by_branch.rows:
        row.extra["current"] = row.key == (current or "(detached)")
        row.extra["share"] = share(row.totals.total_tokens, overall.total_tokens)
    by_endpoint = records.table_of("endpoint", ENDPOINT, options.top)
    for row in by_endpoint.rows:
        row.extra["average_tokens"] = row.totals.total_tokens // max(row.totals.sessions, 1)
    merges = walk_merges(repo, default, records) if "merges" in options.sections and default else []
    recent = heapq.nlargest(
        options.recent,
        range(len(records.entries)),
        key=lambda i: (records.entries[i].record.ts, records.entries[i].record.id),
    )
    return Report(
        generated_at=now.isoformat(timespec="seconds"),
        repository=Path(str(repo.workdir or repo.git_dir)).name,
        timezone=str(getattr(tz, "key", None) or now.tzname() or "UTC"),
        default_branch=default,
        current_branch=current,
        filters=options.filters,
        cost_mode=pricer.mode,
        totals=overall,
        session_stats=_session_stats(records, range(len(records.entries)), overall),
        branch=_branch_section(records, branches.get(current or "(detached)", []), current, overall),
        windows=_windows(records, now),
        by_branch=by_branch,
        by_merge=merges,
        merge_totals=merge_totals(merges),
        by_model=records.table("model", models, options.top),
        by_provider=records.table_of("provider", PROVIDER),
        by_endpoint=by_endpoint,
        by_author=records.table_of("author", AUTHOR, options.top),
        by_source=records.table_of("source", SOURCE),
        daily=daily,
        weekly=_rollup(daily, "week", lambda d: _week(date.fromisoformat(d))),
        monthly=_rollup(daily, "month", lambda d: d[:7]),
        recent=[_row(records, i, full=False) for i in recent],
        cost_analysis=_cost_analysis(records, models, pricer, now),
        insights=_insights(daily, by_branch, now),
        projection=_projection(records, daily, now),
        unpriced_models=sorted(pricer.unpriced),
        invalid_lines=[
            {"commit": i.commit, "line": i.line_no, "error": i.error, "text": i.text[:200]} for i in ledger.invalid
        ],
        estimated_split={"input": config.split.input, "output": config.split.output},
        sections=list(options.sections),
        by=options.by,
        records=(
            [
                _row(records, i, full=True)
                for i in sorted(range(len(records.entries)), key=lambda i: records.entries[i].record.ts)
            ]
            if options.with_records
            else None
        ),
    )


class _LocalDay:
    """The day of a canonical UTC timestamp in the report's time zone; the offset is looked up once per hour."""

    def __init__(self, tz: tzinfo) -> None:
        self.tz = tz
        self._offsets: dict[str, timedelta] = {}
        self._days: dict[str, date] = {}

    def __call__(self, ts: str) -> date:
        hour = ts[:13]
        day = self._days.get(hour)
        if day is not None:
            return day
        utc = datetime.fromisoformat(ts[:19])
        offset = self._offsets.get(hour)
        if offset is None:
            aware = utc.replace(tzinfo=UTC).astimezone(self.tz)
            offset = self._offsets[hour] = aware.utcoffset() or timedelta(0)
            if offset % timedelta(hours=1) == timedelta(0):  # the whole UTC hour falls on one local day
                day = self._days[hour] = (utc + offset).date()
                return day
        return (utc + offset).date()


def _collect(
    repo: Repo, ledger: Ledger, config: Config, pricer: Pricer, local_day: _LocalDay, options: Options
) -> Records:
    """Filter, price and key every record once."""
    entries, values, keys, costs = [], [], [], []
    branch, author, model = options.branch, (options.author or "").lower(), (options.model or "").lower()
    for entry in ledger.entries.values():
        r = entry.record
        if branch is not None and r.branch != branch:
            continue
        if author and author not in (r.author or "").lower():
            continue
        if model and model not in (r.model or "").lower():
            continue
        day = local_day(r.ts)
        if (options.since and day < options.since) or (options.until and day > options.until):
            continue
        usd = pricer.cost(r).usd
        if r.total_tokens is None:
            split: tuple[int, ...] = (r.input_tokens, r.output_tokens, r.cache_read_tokens, r.cache_write_tokens)
            estimated = 0
        else:
            split = (*split_total(r.total_tokens, config.split), 0, 0)
            estimated = r.total_tokens
        priced = 0 if usd is None else 1
        values.append((1, *split, r.reasoning_tokens, r.tokens, estimated, usd or 0.0, 1 - priced, priced))
        who = r.author
        if who is None:
            info = repo.commit_info(entry.attached)
            who = info.author_email if info is not None else UNKNOWN
        keys.append(
            (r.branch or "(detached)", r.model or UNKNOWN, _provider(r), r.endpoint or UNKNOWN, who, r.source, day)
        )
        entries.append(entry)
        costs.append(usd)
    return Records(entries, values, keys, costs)


def _rollup(daily: Table, key_name: str, key: Callable[[str], str]) -> Table:
    """Weeks or months from the daily rows (adding a few hundred totals, not 300,000 records again)."""
    rows: dict[str, Row] = {}
    for day in daily.rows:
        name = key(day.key or "")
        rows.setdefault(name, Row(name)).totals.add(day.totals)
    return Table(key_name, sorted(rows.values(), key=lambda r: r.key or ""))


def _provider(record: Record) -> str:
    if record.provider:
        return record.provider.lower()
    model = (record.model or "").lower()
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


def _session_stats(records: Records, rows: Iterable[int], t: Totals) -> dict[str, Any]:
    picked = list(rows)
    sizes = [records.values[i][6] for i in picked]
    stamps = [records.entries[i].record.ts for i in picked]
    return {
        "average_tokens": t.total_tokens // len(sizes) if sizes else 0,
        "largest_tokens": int(max(sizes, default=0)),
        "smallest_tokens": int(min(sizes, default=0)),
        "first": min(stamps, default=None),
        "last": max(stamps, default=None),
    }


def _branch_section(records: Records, mine: list[int], branch: str | None, overall: Totals) -> dict[str, Any]:
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


def _windows(records: Records, now: datetime) -> dict[str, Totals]:
    end = format_timestamp(now)
    spans = (("last_24h", timedelta(hours=24)), ("last_7d", timedelta(days=7)), ("last_30d", timedelta(days=30)))
    return {name: records.sums(records.between(format_timestamp(now - span), end)) for name, span in spans}


def _projection(records: Records, daily: Table, now: datetime) -> dict[str, Any]:
    last_30 = records.sums(records.between(format_timestamp(now - timedelta(days=30)), format_timestamp(now)))
    month_start = now.date().replace(day=1)
    this_month = Totals()
    for day in daily.rows:
        if month_start.isoformat() <= (day.key or "") <= now.date().isoformat():
            this_month.add(day.totals)
    days_in_month = calendar.monthrange(now.year, now.month)[1]
    elapsed = now.day
    return {
        "daily_average_tokens": last_30.total_tokens // 30,
        "daily_average_cost_usd": None if last_30.cost_usd is None else round(last_30.cost_usd / 30, 6),
        "monthly_tokens": last_30.total_tokens,
        "monthly_cost_usd": None if last_30.cost_usd is None else round(last_30.cost_usd, 6),
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


def _row(records: Records, i: int, *, full: bool) -> dict[str, Any]:
    """One record as the recent-activity list (``full=False``) or the CSV (``full=True``) shows it."""
    entry, values, key, usd = records.entries[i], records.values[i], records.keys[i], records.costs[i]
    r = entry.record
    row: dict[str, Any] = {
        "id": r.id,
        "ts": r.ts,
        "commit": entry.attached,
        "branch": r.branch,
        "author": key[AUTHOR],
        "model": r.model,
        "endpoint": r.endpoint,
        "source": r.source,
        "note": r.note,
        "total_tokens": r.tokens,
        "estimated": not r.split_known,
        "cost_usd": None if usd is None else round(usd, 6),
    }
    if full:
        row.update(
            first_commit=r.commit,
            provider=r.provider,
            session=r.session,
            input_tokens=int(values[1]),
            output_tokens=int(values[2]),
            cache_read_tokens=int(values[3]),
            cache_write_tokens=int(values[4]),
            reasoning_tokens=int(values[5]),
        )
    return row


def _cost_analysis(records: Records, models: dict[str, list[int]], pricer: Pricer, now: datetime) -> list[CostLine]:
    lines = []
    for model, rows in models.items():
        t = records.sums(rows)
        rates = pricer.rates(model, now) if model != UNKNOWN else None
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
            )
        )
    return sorted(lines, key=lambda c: (-(c.cost_usd or 0.0), c.model))

"""The report model: plain dataclasses that every rendering (text, Markdown, HTML, JSON, CSV) is fed from.

Nothing here reads git or prices; ``report.py`` fills it. ``Report.to_dict()`` is the documented JSON
schema ``gitokens.report/2`` (docs/report-json.md) and also what the templates receive.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

SCHEMA = "gitokens.report/2"


@dataclass
class Totals:
    """Sums over a set of records. ``cost_usd`` is None when none of them could be priced.

    ``sessions`` is counted, not summed: the distinct sessions the records come from (a record without a
    session is one of its own), so the totals of two sets do not add up to the totals of their union.
    """

    records: int = 0
    sessions: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    cache_write_1h_tokens: int = 0  # the part of cache_write_tokens written to the 1-hour cache
    reasoning_tokens: int = 0
    total_tokens: int = 0
    estimated_tokens: int = 0  # tokens of records whose input/output split was estimated from a total
    cost_usd: float | None = None
    unpriced_sessions: int = 0  # records (not sessions) whose cost is unknown (not counted in cost_usd)
    requests: int = 0  # API calls, summed over the records that state them
    request_tokens: int = 0  # the tokens of the records that state their requests

    @property
    def cache_tokens(self) -> int:
        return self.cache_read_tokens + self.cache_write_tokens

    @property
    def tokens_per_request(self) -> int | None:
        """Average tokens per API call, over the records that state their requests; None when none does."""
        return self.request_tokens // self.requests if self.requests else None

    def to_dict(self) -> dict[str, Any]:
        return {
            "records": self.records,
            "sessions": self.sessions,
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
            "cache_read_tokens": self.cache_read_tokens,
            "cache_write_tokens": self.cache_write_tokens,
            "cache_write_1h_tokens": self.cache_write_1h_tokens,
            "reasoning_tokens": self.reasoning_tokens,
            "total_tokens": self.total_tokens,
            "estimated_tokens": self.estimated_tokens,
            "cost_usd": _money(self.cost_usd),
            "unpriced_sessions": self.unpriced_sessions,
            "requests": self.requests,
            "tokens_per_request": self.tokens_per_request,
        }


@dataclass
class Row:
    """One line of a breakdown: its key (a branch, a model, a day...), its totals, and extra columns."""

    key: str | None
    totals: Totals = field(default_factory=Totals)
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self, key_name: str) -> dict[str, Any]:
        return {key_name: self.key, **self.totals.to_dict(), **self.extra}


@dataclass
class Table:
    """Rows of one breakdown, largest first, and how many rows were left out (``--top``)."""

    key_name: str
    rows: list[Row] = field(default_factory=list)
    omitted: int = 0

    def to_list(self) -> list[dict[str, Any]]:
        return [row.to_dict(self.key_name) for row in self.rows]


@dataclass
class Merge:
    """A merge or squash commit on the default branch and the records it brought in."""

    commit: str
    merged_at: str
    kind: str  # "merge" or "squash"
    pr: int | None
    source_branch: str | None
    title: str
    totals: Totals
    by_model: list[Row]
    by_provider: list[Row]
    repository: str | None = None  # in a report over published repositories

    def to_dict(self) -> dict[str, Any]:
        return ({"repository": self.repository} if self.repository is not None else {}) | {
            "commit": self.commit,
            "merged_at": self.merged_at,
            "kind": self.kind,
            "pr": self.pr,
            "source_branch": self.source_branch,
            "title": _without_pr(self.title, self.pr),
            **self.totals.to_dict(),
            "by_model": [r.to_dict("model") for r in self.by_model],
            "by_provider": [r.to_dict("provider") for r in self.by_provider],
        }


@dataclass
class CostLine:
    """Cost analysis of one model: tokens by kind times the rate per million."""

    model: str
    priced_as: str | None
    rate_source: str | None
    input_tokens: int
    output_tokens: int
    cache_read_tokens: int
    cache_write_tokens: int
    input_rate: float | None
    output_rate: float | None
    cache_read_rate: float | None
    cache_write_rate: float | None
    cost_usd: float | None
    estimated_tokens: int
    cache_write_1h_tokens: int = 0  # a part of cache_write_tokens, at cache_write_1h_rate
    cache_write_1h_rate: float | None = None

    def to_dict(self) -> dict[str, Any]:
        out = dict(self.__dict__)
        out["cost_usd"] = _money(self.cost_usd)
        return out


@dataclass
class Report:
    """Everything a report shows, computed once."""

    generated_at: str
    repository: str
    timezone: str
    default_branch: str | None
    current_branch: str | None
    filters: dict[str, Any]
    cost_mode: str
    totals: Totals
    session_stats: dict[str, Any]
    branch: dict[str, Any]  # the current branch's section
    windows: dict[str, Totals]  # last_24h, last_7d, last_30d
    by_branch: Table
    by_merge: list[Merge]
    merge_totals: dict[str, Any]
    by_model: Table
    by_provider: Table
    by_endpoint: Table
    by_author: Table
    by_source: Table
    daily: Table
    weekly: Table
    monthly: Table
    recent: list[dict[str, Any]]
    cost_analysis: list[CostLine]
    insights: dict[str, Any]
    projection: dict[str, Any]
    unpriced_models: list[str]
    invalid_lines: list[dict[str, Any]]
    estimated_split: dict[str, float]
    sections: list[str]
    by: str  # the trend table's period: day, week or month
    # Records without a model priced as the configured default_model: {model, records, total_tokens}, or None.
    default_model: dict[str, Any] | None = None
    # One row per record, oldest first, only when asked for (CSV); built as it is read (it can be read once,
    # unless it is a list); not in to_dict.
    records: Iterable[dict[str, Any]] | None = None
    # One row per agent session (``sessions.py``), in ``order``; empty unless the section was asked for.
    by_session: Table = field(default_factory=lambda: Table("session"))
    hours: dict[str, Any] = field(default_factory=dict)  # activity per hour of the day (``hours.py``)
    breakdown: bool = False  # the trend rows carry their per-model rows (``--breakdown``)
    order: str | None = None  # --order: asc or desc for the tables ordered by time; None: each its own
    compare: dict[str, Any] | None = None  # two periods side by side (``compare.py``), with --compare
    # A report over published repositories (``git tokens report --database``): a row per repository.
    by_repository: Table | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema": SCHEMA,
            "generated_at": self.generated_at,
            "repository": self.repository,
            "timezone": self.timezone,
            "default_branch": self.default_branch,
            "current_branch": self.current_branch,
            "filters": self.filters,
            "cost_mode": self.cost_mode,
            "sections": self.sections,
            "by": self.by,
            "estimated_split": self.estimated_split,
            "totals": self.totals.to_dict(),
            "session_stats": self.session_stats,
            "branch": self.branch,
            "windows": {name: t.to_dict() for name, t in self.windows.items()},
            "by_branch": self.by_branch.to_list(),
            "by_merge": [m.to_dict() for m in self.by_merge],
            "merge_totals": self.merge_totals,
            "by_model": self.by_model.to_list(),
            "by_provider": self.by_provider.to_list(),
            "by_endpoint": self.by_endpoint.to_list(),
            "by_author": self.by_author.to_list(),
            "by_source": self.by_source.to_list(),
            "daily": self.daily.to_list(),
            "weekly": self.weekly.to_list(),
            "monthly": self.monthly.to_list(),
            "recent": self.recent,
            "cost_analysis": [c.to_dict() for c in self.cost_analysis],
            "insights": self.insights,
            "projection": self.projection,
            "unpriced_models": self.unpriced_models,
            "default_model": self.default_model,
            "invalid_lines": self.invalid_lines,
            "by_session": self.by_session.to_list(),
            "hours": self.hours,
            "breakdown": self.breakdown,
            "order": self.order,
            "compare": self.compare,
            "omitted": {
                name: table.omitted
                for name, table in (
                    ("by_branch", self.by_branch),
                    ("by_model", self.by_model),
                    ("by_endpoint", self.by_endpoint),
                    ("by_author", self.by_author),
                    ("by_session", self.by_session),
                )
                if table.omitted
            },
        } | ({"by_repository": self.by_repository.to_list()} if self.by_repository is not None else {})


def _without_pr(title: str, pr: int | None) -> str:
    """A merge's title without the " (#17)" GitHub appends to a squash's subject: the row shows its PR apart.
    Another number stays: it is part of the title."""
    suffix = f" (#{pr})"
    if pr is not None and title.endswith(suffix) and len(title) > len(suffix):
        return title[: -len(suffix)].rstrip()
    return title


def _money(value: float | None) -> float | None:
    return None if value is None else round(value, 6)

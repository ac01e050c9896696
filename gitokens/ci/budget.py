"""Budgets: what a pull request, a branch, a push or a month has spent, against a limit in USD or tokens.

A scope is a set of records. A pull request's (or a branch's) are the records on its commits
(``base..head``) and the records made on its branch that are not on the base's history (commits since
rewritten or gone). A push's are the records on the commits it brought (``before..after``: after a squash
merge and ``carry``, the pull request that landed). A month's are every record spent in it, in the
configured time zone. Costs come from the same prices as the report; a record with no price is counted
in tokens and said to be unpriced, never priced at $0.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, tzinfo

from gitokens import fmt
from gitokens.config import Budget, Config
from gitokens.errors import UsageError
from gitokens.git import notes
from gitokens.git.repo import Repo
from gitokens.ledger.store import FIELD_AT, Entry, Ledger, Rows, entry_of
from gitokens.pricing import Pricer


@dataclass(frozen=True)
class Line:
    """One commit's or one model's share of a scope's spend."""

    key: str
    tokens: int
    usd: float | None
    title: str = ""  # a commit's subject


@dataclass
class Spend:
    """A scope's records and what they cost."""

    label: str  # e.g. "pull request #17 (feature/search)", "branch main", "month 2025-09"
    entries: list[Entry]
    tokens: int = 0
    usd: float = 0.0
    unpriced: int = 0
    by_commit: list[Line] = field(default_factory=list)
    by_model: list[Line] = field(default_factory=list)


@dataclass(frozen=True)
class Verdict:
    """One budget checked: where it comes from, on which spend, and by how much it is over (None: not over)."""

    origin: str  # "budget given" (options, the Action's inputs) or ".gitokens.yml budgets.<scope>"
    budget: Budget
    spend: Spend

    @property
    def over_usd(self) -> float | None:
        limit = self.budget.usd
        return self.spend.usd - limit if limit is not None and self.spend.usd > limit else None

    @property
    def over_tokens(self) -> int | None:
        limit = self.budget.tokens
        return self.spend.tokens - limit if limit is not None and self.spend.tokens > limit else None

    @property
    def over(self) -> bool:
        return self.over_usd is not None or self.over_tokens is not None

    def line(self) -> str:
        """One line: over or within, which budget, spent against limit and by how much."""
        parts = []
        if self.budget.usd is not None:
            text = f"{usd(self.spend.usd)} of {usd(self.budget.usd)}"
            if self.over_usd is not None:
                text += f" (over by {usd(self.over_usd)}{_percent(self.over_usd, self.budget.usd)})"
            if self.spend.unpriced:
                text += f", {self.spend.unpriced} unpriced record(s) not counted"
            parts.append(text)
        if self.budget.tokens is not None:
            text = f"{self.spend.tokens:,} of {self.budget.tokens:,} tokens"
            if self.over_tokens is not None:
                text += f" (over by {self.over_tokens:,}{_percent(self.over_tokens, self.budget.tokens)})"
            parts.append(text)
        state = "over budget" if self.over else "within budget"
        return f"{state}: {self.spend.label} ({self.origin}): {'; '.join(parts)}"


def usd(value: float) -> str:
    return fmt.usd(value)


def _percent(over: float, limit: float) -> str:
    return f", {100 * over / limit:.0f}%" if limit else ""


def parse_usd(text: str | None) -> float | None:
    """A USD amount as typed (``10``, ``$10.50``, ``1,000``); None for nothing."""
    if text is None or not str(text).strip():
        return None
    cleaned = str(text).strip().lstrip("$").replace(",", "").replace("_", "")
    try:
        value = float(cleaned)
    except ValueError:
        raise UsageError(f"budget-usd: {text!r} is not an amount", hint="write it like 25 or 12.50") from None
    if not value >= 0 or value == float("inf"):
        raise UsageError(f"budget-usd: {text!r} must be 0 or more", hint="write it like 25 or 12.50")
    return value


def parse_tokens(text: str | None) -> int | None:
    """A token count as typed (``2000000``, ``2,000,000``, ``2_000_000``); None for nothing."""
    if text is None or not str(text).strip():
        return None
    cleaned = str(text).strip().replace(",", "").replace("_", "")
    if not cleaned.isdigit():
        raise UsageError(f"budget-tokens: {text!r} is not a whole number of tokens", hint="write it like 2_000_000")
    return int(cleaned)


# -- scopes ----------------------------------------------------------------------------------------


# What a scope picks its records from: a loaded ledger, or its rows (``git tokens ci``, which builds a record
# only for the rows a scope holds, not for each of the ledger's).
Records = Ledger | Rows
_BRANCH_AT, _TS_AT = FIELD_AT["branch"], FIELD_AT["ts"]


def _pick(ledger: Records, keep: Callable[[str | None, str, tuple[str, ...]], bool]) -> list[Entry]:
    """The records in effect that ``keep(branch, ts, commits holding it)`` accepts, in the ledger's order."""
    if isinstance(ledger, Rows):
        return [entry_of(row) for row in ledger.usage if keep(row[0][_BRANCH_AT], row[0][_TS_AT], row[2])]
    return [e for e in ledger.entries.values() if keep(e.record.branch, e.record.ts, e.placements or (e.attached,))]


def commits_scope(
    repo: Repo, ledger: Records, base: str | None, head: str | None, branch: str | None = None
) -> list[Entry]:
    """Records on the commits in ``base..head``, and records made on ``branch`` that ``base`` does not hold."""
    commits: set[str] = set()
    if head is not None and repo.commit_exists(head):
        if base is not None and repo.commit_exists(base):
            commits = set(repo.commits_between(base, head))
        elif base is None:
            commits = {head}

    def keep(on: str | None, _ts: str, placed: tuple[str, ...]) -> bool:
        return bool(commits.intersection(placed)) or (
            branch is not None and on == branch and not _in_history(repo, placed, base)
        )

    return _pick(ledger, keep)


def _in_history(repo: Repo, placed: tuple[str, ...], base: str | None) -> bool:
    if base is None or not repo.commit_exists(base):
        return False
    return any(repo.commit_exists(commit) and notes.is_ancestor(repo, commit, base) for commit in placed)


def month_scope(ledger: Records, tz: tzinfo, now: datetime) -> tuple[str, list[Entry]]:
    """This month's records (in ``tz``), repository-wide."""
    local = now.astimezone(tz)
    start = datetime(local.year, local.month, 1, tzinfo=tz)
    end = datetime(local.year + local.month // 12, local.month % 12 + 1, 1, tzinfo=tz)
    low, high = _span(start, end)
    return local.strftime("%Y-%m"), _pick(ledger, lambda _on, ts, _placed: low <= ts[:19] < high)


def selection_scope(ledger: Records, branch: str | None, since: date | None, tz: tzinfo) -> list[Entry]:
    """Records made on ``branch`` (any, when None) from the day ``since`` on."""
    low, high = _span(datetime(since.year, since.month, since.day, tzinfo=tz), None) if since else ("", "~")
    return _pick(ledger, lambda on, ts, _placed: (branch is None or on == branch) and low <= ts[:19] < high)


def _span(start: datetime, end: datetime | None) -> tuple[str, str]:
    """Records spent in ``[start, end)`` are those whose canonical UTC timestamp, to the second, is in this
    span of text."""
    low = start.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")
    high = end.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S") if end is not None else "~"
    return low, high


@dataclass
class _Tally:
    tokens: int = 0
    usd: float | None = None  # None until a priced record is added

    def add(self, tokens: int, cost: float | None) -> None:
        self.tokens += tokens
        if cost is not None:
            self.usd = (self.usd or 0.0) + cost


def spend(repo: Repo, label: str, entries: Iterable[Entry], pricer: Pricer, top: int = 5) -> Spend:
    """Sum tokens and cost over ``entries``; the costliest commits and models first."""
    out = Spend(label, list(entries))
    commits: dict[str, _Tally] = {}
    models: dict[str, _Tally] = {}
    for entry in out.entries:
        cost = pricer.cost(entry.record).usd
        out.tokens += entry.record.tokens
        if cost is None:
            out.unpriced += 1
        else:
            out.usd += cost
        commits.setdefault(entry.attached, _Tally()).add(entry.record.tokens, cost)
        models.setdefault(entry.record.model or "(unknown model)", _Tally()).add(entry.record.tokens, cost)
    out.by_commit = [Line(key, t.tokens, t.usd, _subject(repo, key)) for key, t in _costliest(commits, top)]
    out.by_model = [Line(key, t.tokens, t.usd) for key, t in _costliest(models, top)]
    return out


def _costliest(table: dict[str, _Tally], top: int) -> list[tuple[str, _Tally]]:
    return sorted(table.items(), key=lambda kv: (-(kv[1].usd or 0.0), -kv[1].tokens, kv[0]))[:top]


def _subject(repo: Repo, commit: str) -> str:
    info = repo.commit_info(commit) if repo.commit_exists(commit) else None
    return info.summary if info is not None else "(commit not in this clone)"


Scoped = tuple[str, list[Entry]]  # a scope's label and its records


def evaluate(
    repo: Repo, pricer: Pricer, given: Budget, given_scope: Scoped | None, config: Config, scopes: dict[str, Scoped]
) -> list[Verdict]:
    """Check the budget ``given`` on the command line (or as the Action's inputs) on ``given_scope``, and each
    of the config's ``budgets:`` on its scope in ``scopes`` (a scope that does not apply here is left out)."""
    spent: dict[str, Spend] = {}

    def spend_of(scoped: Scoped) -> Spend:
        label, entries = scoped
        if label not in spent:
            spent[label] = spend(repo, label, entries, pricer)
        return spent[label]

    verdicts = []
    if given_scope is not None and (given.usd is not None or given.tokens is not None):
        verdicts.append(Verdict("budget given", given, spend_of(given_scope)))
    for name, limit in config.budgets.items():
        if name in scopes and (limit.usd is not None or limit.tokens is not None):
            verdicts.append(Verdict(f".gitokens.yml budgets.{name}", limit, spend_of(scopes[name])))
    return verdicts


def markdown(verdicts: list[Verdict]) -> str:
    """The budgets as a Markdown section: a table, then for each budget over, its costliest commits and models.

    Ledger text (branch names, commit subjects, models) goes through the report's ``md`` escaping.
    """
    from gitokens.report.filters import md

    if not verdicts:
        return ""
    out = ["### Budgets", "", "| | Budget | Scope | Spent | Limit | Over by |", "|---|---|---|---:|---:|---:|"]
    for v in verdicts:
        for kind, spent, limit, over in (
            ("USD", usd(v.spend.usd), v.budget.usd, v.over_usd),
            ("tokens", f"{v.spend.tokens:,}", v.budget.tokens, v.over_tokens),
        ):
            if limit is None:
                continue
            mark = "\u2705 within" if over is None else "\u274c over"
            shown = usd(limit) if kind == "USD" else f"{int(limit):,}"
            by = "-" if over is None else (usd(over) if kind == "USD" else f"{int(over):,}")
            out.append(f"| {mark} | {md(v.origin, 60)} ({kind}) | {md(v.spend.label, 80)} | {spent} | {shown} | {by} |")
    for v in verdicts:
        if v.over:
            out += ["", f"**Over budget: {md(v.spend.label, 80)}** ({md(v.origin, 60)}).", "", lines_table(v.spend)]
    return "\n".join(out) + "\n"


def lines_table(spent: Spend) -> str:
    """The costliest commits and models of a spend, as two Markdown tables."""
    from gitokens.report.filters import md

    out = ["Costliest commits:", "", "| Commit | Subject | Tokens | Cost |", "|---|---|---:|---:|"]
    for line in spent.by_commit:
        cost = "unknown" if line.usd is None else usd(line.usd)
        out.append(f"| `{line.key[:10]}` | {md(line.title, 72)} | {line.tokens:,} | {cost} |")
    out += ["", "Costliest models:", "", "| Model | Tokens | Cost |", "|---|---:|---:|"]
    for line in spent.by_model:
        cost = "unknown" if line.usd is None else usd(line.usd)
        out.append(f"| {md(line.key, 60)} | {line.tokens:,} | {cost} |")
    if spent.unpriced:
        out += ["", f"{spent.unpriced} record(s) have no price: counted in tokens, not in USD."]
    return "\n".join(out)


def check(
    repo: Repo, ledger: Ledger, usd_text: str | None, tokens_text: str | None, branch: str | None, since: str | None
) -> list[Verdict]:
    """``git tokens check``: the budget given on a branch (or since a day), and the config's budgets."""
    from gitokens import dates
    from gitokens.config import load_config
    from gitokens.report.pipeline import resolve_timezone

    config = load_config(repo.workdir)
    given = Budget(parse_usd(usd_text), parse_tokens(tokens_text))
    if given.usd is None and given.tokens is None and not config.budgets:
        raise UsageError(
            "no budget to check", hint="give --budget-usd or --budget-tokens, or set budgets: in .gitokens.yml"
        )
    tz = resolve_timezone(None, config)
    now = datetime.now(tz)
    name = branch or repo.head_branch()
    default = repo.default_branch(config.default_branch)
    tip = repo.branch_tip(name) if name else repo.head_commit()
    if name is not None and tip is None and branch is not None:
        raise UsageError(f"no branch named {branch!r}", hint="see `git branch -a`")
    base = repo.branch_tip(default) if default and name != default else None
    on_branch: Scoped = (
        f"branch {name or '(detached HEAD)'}",
        commits_scope(repo, ledger, base, tip, name)
        if base
        else [e for e in ledger.usage() if e.record.branch == name],
    )
    month, in_month = month_scope(ledger, tz, now)
    scopes = {"branch": on_branch, "month": (f"month {month}", in_month)}
    if base is not None:
        scopes["pull_request"] = (f"pull request of {on_branch[0]}", on_branch[1])
    given_scope = on_branch
    if since is not None:
        day = dates.parse_since(since, "--since", now.date())
        where = f" on {branch}" if branch else ""
        given_scope = (f"records{where} since {day}", selection_scope(ledger, branch, day, tz))
    return evaluate(repo, Pricer(config), given, given_scope, config, scopes)

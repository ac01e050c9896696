"""``git tokens report`` end to end: options -> config, time zone and prices -> report model -> a rendering."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable
from datetime import UTC, date, datetime, tzinfo
from pathlib import Path

from gitokens import dates
from gitokens.config import Config, load_config
from gitokens.errors import UsageError
from gitokens.git.repo import Repo
from gitokens.ledger.store import FIELD_AT, Ledger, Rows, Table
from gitokens.pricing import CostMode, PriceCache, Pricer
from gitokens.report.build import SECTIONS, Across, Options, build
from gitokens.report.columns import Columns, from_ledger
from gitokens.report.model import Report


def run(
    repo: Repo | None,
    ledger: Ledger | Columns,
    *,
    fmt: str = "text",
    color: bool = False,
    width: int | None = 80,
    **choices: object,
) -> str:
    """The report, rendered in ``fmt``; text tables fitted to ``width`` columns (None: every column whole)."""
    if choices.get("compare") and fmt == "csv":
        raise UsageError("--compare has no csv rendering", hint="use --format text, markdown, html or json")
    model = make(repo, ledger, with_records=fmt == "csv", **choices)  # type: ignore[arg-type]
    from gitokens.report import render  # only now; Jinja and the templates only for the formats using them

    if fmt in TEMPLATED and repo is not None:
        keep_templates_compiled(repo.state_dir() / "cache" / "templates")
    return render.render(model, fmt, color=color, width=width)


TEMPLATED = ("text", "markdown", "html")


def keep_templates_compiled(folder: Path) -> None:
    """Keep the report templates compiled in ``folder``: Jinja compiles a template in 40 to 70 ms, which a
    report would pay on every run; a kept one is checked against its template's source and Python's version
    before it is used. A folder that cannot be written only means compiling again."""
    import jinja2

    from gitokens.report import render

    class Kept(jinja2.FileSystemBytecodeCache):
        def dump_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
            with contextlib.suppress(OSError):
                super().dump_bytecode(bucket)

    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:
        return
    render._environment().bytecode_cache = Kept(str(folder))


def make(
    repo: Repo | None,
    ledger: Ledger | Columns,
    *,
    since: str | None = None,
    until: str | None = None,
    days: int | None = None,
    tz_name: str | None = None,
    sections: str | None = None,
    branch: str | None = None,
    author: str | None = None,
    model: str | None = None,
    top: int = 10,
    by: str = "day",
    cost_mode: CostMode = "auto",
    with_records: bool = False,
    current_branch: str | None = None,
    now: datetime | None = None,
    breakdown: bool = False,
    order: str | None = None,
    compare: tuple[str, ...] = (),
    across: Across | None = None,
) -> Report:
    """The report model for these command-line choices, from a loaded ledger or its columns; with ``across``,
    from published repositories' columns (``repo``, when given, only lends its config and price cache)."""
    config = load_config(repo.workdir if repo is not None else None)
    tz = resolve_timezone(tz_name, config)
    today = (now or datetime.now(UTC)).astimezone(tz).date()
    if days is not None and since is not None:
        raise UsageError("give --days or --since, not both", hint="--days 7 is the same as --since 7d")
    options = Options(
        since=dates.parse_since(since, "--since", today) if since else None,
        until=dates.parse_since(until, "--until", today) if until else None,
        branch=branch,
        author=author,
        model=model,
        top=top,
        by=by,
        sections=parse_sections(sections, across is not None),
        with_records=with_records,
        current=current_branch,
        now=now,
        filters={
            k: v
            for k, v in {
                "since": since,
                "until": until,
                "days": days,
                "branch": branch,
                "author": author,
                "model": model,
            }.items()
            if v is not None
        },
    )
    if days is not None:
        options.since = dates.last_days(days, "--days", today)
    options.breakdown, options.order = breakdown, order
    if compare:
        comparing(options, compare, today, sections)
    columns = ledger if isinstance(ledger, Columns) else from_ledger(ledger)
    pricer = Pricer(config, cost_mode, prices_cache(repo) if repo is not None else PriceCache(None))
    return build(None if across is not None else repo, columns, config, pricer, tz, options, across)


def ahead(
    repo: Repo, cost_mode: CostMode = "auto", formats: tuple[str, ...] = (), compare: bool = False
) -> Callable[[Rows | Table], None] | None:
    """For ``cache.load`` to run beside the columns it builds, what a report on a fresh clone would do after
    them: look up genai-prices' answers for every (model, provider) of the ledger's records and keep them in
    the price cache (the report reads them there instead of importing genai-prices, a quarter of a second),
    and compile the templates of ``formats`` into the kept templates (40 to 70 ms each). None when both are
    kept already, or not needed."""
    file = prices_cache(repo).file
    prices = cost_mode != "reported" and file is not None and not file.exists()
    folder = repo.state_dir() / "cache" / "templates"
    kept = folder.is_dir() and next(folder.iterdir(), None) is not None
    templating = tuple(f for f in formats if f in TEMPLATED) if not kept else ()
    if not prices and not templating:
        return None
    workdir = repo.workdir

    def run(ledger: Rows | Table) -> None:
        if prices:
            _look_up_prices(Pricer(load_config(workdir), cost_mode, prices_cache(repo)), ledger)
        if templating:
            from gitokens.report import render

            keep_templates_compiled(folder)
            environment = render._environment()
            assert environment.loader is not None
            for fmt in templating:  # through the loader: compiled and kept even if this process holds it
                environment.loader.load(environment, render.template_name(fmt, compare))

    return run


def _look_up_prices(pricer: Pricer, ledger: Rows | Table) -> None:
    model_at, provider_at = FIELD_AT["model"], FIELD_AT["provider"]
    default = pricer.config.default_model
    if isinstance(ledger, Table):
        pairs = set(zip(ledger.fields[model_at], ledger.fields[provider_at], strict=True))
    else:
        pairs = {(values[model_at], values[provider_at]) for values, _, _ in ledger.usage}
    for model, provider in pairs:
        named = model if model is not None else default
        if named is not None:
            pricer.dated(named, provider)


def prices_cache(repo: Repo) -> PriceCache:
    """genai-prices' answers for this repository's models, kept in ``<git-common-dir>/gitokens/cache``."""
    return PriceCache(repo.state_dir() / "cache" / "prices.json")


def resolve_timezone(name: str | None, config: Config) -> tzinfo:
    """--timezone, else the config's, else the machine's local zone."""
    if name:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            return ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            raise UsageError(
                f"--timezone: unknown time zone {name!r}", hint="use an IANA name like Europe/Paris or UTC"
            ) from None
    configured = config.tzinfo
    if configured is not None:
        return configured
    return local_timezone()


def local_timezone() -> tzinfo:
    """The machine's zone as an IANA zone when it can be named (so DST is right), else its current offset."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    candidates = [os.environ.get("TZ", "").lstrip(":")]
    with contextlib.suppress(OSError):
        candidates.append(os.readlink("/etc/localtime").split("zoneinfo/", 1)[-1])
    for name in candidates:
        if name:
            try:
                return ZoneInfo(name)
            except (ZoneInfoNotFoundError, ValueError):
                continue
    return datetime.now().astimezone().tzinfo or UTC


def comparing(options: Options, typed: tuple[str, ...], today: date, sections: str | None) -> None:
    """``options`` for ``--compare``: the records of both periods, and only the sections a comparison has."""
    from gitokens.report import compare

    if options.since or options.until:
        raise UsageError(
            "give --compare or --since/--until/--days, not both",
            hint="--compare 30d compares the last 30 days with the 30 before",
        )
    options.compare = compare.periods(typed, today)
    options.since, options.until = compare.span(options.compare)
    options.filters["compare"] = " ".join(typed)
    options.sections = parse_sections(sections, known=compare.SECTIONS) if sections else compare.SECTIONS


def parse_sections(text: str | None, across: bool = False, known: tuple[str, ...] | None = None) -> tuple[str, ...]:
    """The sections asked for, among ``known`` (the compared ones under --compare). A report over published
    repositories has a Repositories section, and no current branch: its default is every other section."""
    allowed = known or ((*SECTIONS, "repositories") if across else SECTIONS)
    if not text:
        return tuple(s for s in allowed if s != "branch") if across else SECTIONS
    chosen = tuple(part.strip() for part in text.split(",") if part.strip())
    unknown = [s for s in chosen if s not in allowed]
    if unknown:
        where = " under --compare" if known is not None else ""
        raise UsageError(f"--sections: unknown section {unknown[0]!r}{where}", hint=f"choose from {', '.join(allowed)}")
    return chosen

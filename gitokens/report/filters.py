"""The templates' formatting filters: numbers, money, rates, cells and columns of the text tables, times in
the report's zone, and the guards that keep ledger text inert (``md`` in Markdown, ``squeeze`` on a
terminal). Each is registered under its own name in ``FILTERS``, which ``render`` hands to Jinja.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, tzinfo
from typing import Any, TypeVar

import jinja2

from gitokens import fmt
from gitokens.dates import in_zone
from gitokens.fmt import one_line
from gitokens.report.grid import Column, lay_out, split_rows, wrap

_F = TypeVar("_F", bound=Callable[..., str])
FILTERS: dict[str, Callable[..., str]] = {}


def _filter(function: _F) -> _F:
    """Register ``function`` as a template filter under its own name."""
    FILTERS[function.__name__] = function
    return function


@_filter
def tokens(n: int | None) -> str:
    return "-" if n is None else f"{n:,}"


@_filter
def usd(value: float | None) -> str:
    """``$0.1234`` under a dollar, ``$12.34`` above (``fmt.usd``); ``unknown`` (never $0) without a price."""
    return "unknown" if value is None else fmt.usd(value)


@_filter
def marks(row: dict[str, Any]) -> str:
    """``†`` when part of a row's cost was priced from an estimated split, ``+`` when some of its records have
    no price (the cost shown is what is known: at least that much); nothing on an unknown cost."""
    if row.get("cost_usd") is None:
        return ""
    estimated = "†" if row.get("estimated_tokens") or row.get("estimated") else ""
    partial = "+" if row.get("unpriced_sessions") else ""
    return estimated + partial


@_filter
def cost(row: dict[str, Any]) -> str:
    """A row's cost with its marks; ``unknown`` when none of its records could be priced."""
    return "unknown" if row.get("cost_usd") is None else usd(row["cost_usd"]) + marks(row)


@_filter
def rate_of(line: dict[str, Any], kind: str) -> str:
    """A cost line's rate for ``kind`` tokens; a cache rate the price list does not give is the input rate
    (the 1-hour cache write rate: the cache write rate)."""
    value = line[f"{kind}_rate"]
    if value is None and kind == "cache_write_1h":
        return rate_of(line, "cache_write")
    return rate(line["input_rate"] if value is None and kind.startswith("cache") else value)


@_filter
def priced(line: dict[str, Any], kind: str) -> str:
    """``73,329 × $3.00``: a cost line's ``kind`` tokens at their rate (``-`` for none, no rate when unpriced).
    ``cache_write`` is the writes to the 5-minute cache, ``cache_write_1h`` those to the 1-hour cache."""
    count = line[f"{kind}_tokens"]
    if kind == "cache_write":
        count -= line["cache_write_1h_tokens"]
    if not count:
        return "-"
    return tokens(count) if line["input_rate"] is None else f"{tokens(count)} × {rate_of(line, kind)}"


@_filter
def fraction(value: float) -> str:
    return f"{value * 100:g}%"


@_filter
def rate(value: float | None) -> str:
    """A rate in USD per million tokens (``fmt.rate``)."""
    return fmt.rate(value)


@_filter
def pct(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}%"


@_filter
def signed_pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value:+.1f}%"


@_filter
def signed(n: int | None) -> str:
    """A change in a count: ``+1,234``, ``-56``, ``0``; ``-`` when unknown."""
    return "-" if n is None else f"{n:+,}" if n else "0"


@_filter
def signed_usd(value: float | None) -> str:
    """A change in money: ``+$1.50``, ``-$0.0400``; ``unknown`` when either side's cost is."""
    if value is None:
        return "unknown"
    return ("-" if value < 0 else "+") + fmt.usd(abs(value))


@_filter
def squeeze(text: object, width: int = 40) -> str:
    """Untrusted text on one line of printable characters, at most ``width`` long (``-`` for None)."""
    return "-" if text is None else one_line(str(text), width)


@_filter
def cell(text: object, width: int) -> str:
    return squeeze(text, width).ljust(width)


@_filter
def rcell(text: object, width: int) -> str:
    return squeeze(text, width).rjust(width)


@jinja2.pass_context
def grid(
    context: jinja2.runtime.Context,
    columns: list[Column],
    rows: Iterable[Any],
    caller: Callable[[Any], str],
    indent: int = 2,
    header: bool = True,
) -> str:
    """A text table fitted to the report's width (``grid``): the call block writes a row's cells, each
    formatted, separated by ``SEP`` (more lines: more rows); the header row comes from ``columns``."""
    cells = [cell for row in rows for cell in split_rows(str(caller(row)))]
    return "\n".join(lay_out(columns, cells, context.get("width"), indent=indent, header=header)) + "\n"


@_filter
@jinja2.pass_context
def fit(context: jinja2.runtime.Context, text: object, indent: int = 2, hang: int = 4) -> str:
    """A line of prose wrapped to the report's width (``grid.wrap``)."""
    return wrap(str(text), context.get("width"), indent, hang)


def column_width(rows: list[dict[str, Any]], key: str, header: str, cap: int = 40) -> int:
    """The width of a text column: its widest (squeezed) cell or header, at most ``cap``; a list is shown
    joined by ``, ``."""
    return max([len(header)] + [len(squeeze(listed(row.get(key)), cap)) for row in rows])


@_filter
def listed(value: object) -> str:
    """A list's items joined by ``, `` (a session's branches, models); ``-`` for None."""
    if isinstance(value, list):
        return ", ".join(str(item) for item in value)
    return "-" if value is None else str(value)


@_filter
@jinja2.pass_context
def span(context: jinja2.runtime.Context, row: dict[str, Any]) -> str:
    """A row's ``first`` to ``last`` in the report's zone: ``2025-09-29 16:00-18:30`` within a day."""
    start, end = when(context, row["first"]), when(context, row["last"])
    return start if start == end else f"{start}-{end[11:]}" if start[:10] == end[:10] else f"{start} - {end}"


_MD_SPECIAL = re.compile(r"([\\`*_\[\]()!|~$])")
_MD_ENTITIES = {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;"}
_MD_LINKISH = re.compile(r"(?i)(@|#|://|www\.)")
_MD_UNSPANNABLE = re.compile(r'[<>&"`]')


@_filter
def md(text: object, width: int = 80) -> str:
    """Untrusted text as inert Markdown on one line: metacharacters backslash-escaped and ``< > & "`` as
    entities. Text in which GitHub would find a mention, an issue reference or an autolink (``@``, ``#``,
    ``://``, ``www.``) becomes a code span, where it finds none and which copies intact (an email address
    stays one); if it also holds markup or backticks, a zero-width joiner after the ``@`` (or ``#``, ...)
    keeps it inert instead."""
    clean = squeeze(text, width)
    if _MD_LINKISH.search(clean) and not _MD_UNSPANNABLE.search(clean):
        return _code_span(clean)
    clean = _MD_SPECIAL.sub(r"\\\1", clean)
    clean = "".join(_MD_ENTITIES.get(ch, ch) for ch in clean)
    # Text that cannot be a code span (markup in it would be shown raw) keeps a zero-width joiner instead.
    return _MD_LINKISH.sub(lambda m: m[1][0] + "\u200d" + m[1][1:], clean)


def _code_span(text: str) -> str:
    """``text`` (no backticks or markup in it) as a code span; ``|`` escaped, as a table cell needs even
    inside code."""
    return "`" + text.replace("|", "\\|") + "`"


@_filter
def names(rows: list[dict[str, Any]], key: str) -> str:
    """The ``key`` of each row, comma-separated (a merge's models)."""
    return ", ".join(str(row.get(key) or "-") for row in rows)


@_filter
def duration(row: dict[str, Any]) -> str:
    """From a row's ``first`` to its ``last`` record: ``-`` for one moment, else ``45m``, ``3h 20m``, ``2d 4h``."""
    minutes = int((_moment(row["last"]) - _moment(row["first"])).total_seconds() // 60)
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    if days:
        return f"{days}d {hours}h"
    if hours:
        return f"{hours}h {minutes:02d}m"
    return f"{minutes}m" if minutes else "-"


@_filter
def hour(value: int) -> str:
    return f"{value:02d}:00"


@_filter
def commits(ids: list[str]) -> str:
    """A session's commits: the first one's short id, and how many more (``1a2b3c4d5e +2``)."""
    if not ids:
        return "-"
    return short(ids[0]) + (f" +{len(ids) - 1}" if len(ids) > 1 else "")


@_filter
def short(commit: str | None) -> str:
    return "-" if not commit else commit[:10]


@_filter
@jinja2.pass_context
def when(context: jinja2.runtime.Context, ts: str | None) -> str:
    """A timestamp as ``YYYY-MM-DD HH:MM`` in the report's time zone."""
    if not ts:
        return "-"
    return in_zone(_moment(ts), _zone(context["report"])).strftime("%Y-%m-%d %H:%M")


@_filter
@jinja2.pass_context
def day(context: jinja2.runtime.Context, ts: str | None) -> str:
    if not ts:
        return "-"
    return in_zone(_moment(ts), _zone(context["report"])).strftime("%Y-%m-%d")


@_filter
@jinja2.pass_context
def bold(context: jinja2.runtime.Context, text: str) -> str:
    return f"\x1b[1m{text}\x1b[0m" if context.get("color") else text


@_filter
@jinja2.pass_context
def warn(context: jinja2.runtime.Context, text: str) -> str:
    return f"\x1b[33m{text}\x1b[0m" if context.get("color") else text


@_filter
@jinja2.pass_context
def dim(context: jinja2.runtime.Context, text: str) -> str:
    return f"\x1b[2m{text}\x1b[0m" if context.get("color") else text


@_filter
def filters(chosen: dict[str, Any]) -> str:
    """The command line's filters as ``since 7d, branch main``."""
    return ", ".join(f"{name} {value}" for name, value in chosen.items())


def _moment(ts: str) -> datetime:
    moment = datetime.fromisoformat(ts)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _zone(report: dict[str, Any]) -> tzinfo:
    return _zone_named(report["timezone"], report["generated_at"])


@functools.lru_cache(maxsize=8)
def _zone_named(name: str, generated_at: str) -> tzinfo:
    """The report's zone by its IANA name; a local zone known only by an abbreviation (``CEST``) is taken
    as the fixed offset the report was generated at."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return _moment(generated_at).tzinfo or UTC

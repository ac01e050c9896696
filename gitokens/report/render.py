"""Renderings of one report model: text (terminal), Markdown, the HTML dashboard, JSON and CSV.

Owns the Jinja environment and the few view additions the templates need (trimmed long tables and how
much was trimmed, the trend table ``--by`` picks, the bar geometry of the dashboard's charts); the
formatting filters are ``filters``'. Templates in ``templates/`` lay out ``Report.to_dict()`` and compute nothing.

Text from the ledger (branches, notes, models, authors, merge titles) is untrusted: it is autoescaped in
HTML, escaped by ``md`` in Markdown (no markup, links, images, HTML or @mentions can come through), squeezed
onto one line of printable characters on a terminal, and quoted against formula injection in CSV.
"""

from __future__ import annotations

import functools
import json
import math
import re
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

import orjson

from gitokens.pricing import UNKNOWN_MODEL
from gitokens.report import views
from gitokens.report.model import Report

if TYPE_CHECKING:
    import jinja2

FORMATS = ("text", "markdown", "html", "json", "csv")
CSV_COLUMNS = (
    "ts",
    "commit",
    "branch",
    "author",
    "model",
    "provider",
    "endpoint",
    "source",
    "session",
    "input_tokens",
    "output_tokens",
    "cache_read_tokens",
    "cache_write_tokens",
    "reasoning_tokens",
    "total_tokens",
    "estimated",
    "cost_usd",
    "id",
    "first_commit",
    "note",
    "cache_write_1h_tokens",
    "requests",
)
MARKDOWN_LIMIT = 1024 * 1024  # GitHub refuses a job summary or a comment above 1 MiB (comments: 65,536 chars)
CHART_DAYS = 90
_TEMPLATES = {"text": "report.txt.j2", "markdown": "report.md.j2", "html": "dashboard.html.j2"}
_COMPARE_TEMPLATES = {"text": "compare.txt.j2", "markdown": "compare.md.j2", "html": "compare.html.j2"}
# Rows kept per long table (0: all); what is left out is counted in ``more`` and said. "rows" is every
# breakdown; Markdown falls back to the second set when the first is still too large for GitHub.
_LIMITS: dict[str, tuple[dict[str, int], ...]] = {
    "text": ({"rows": 0, "by_merge": 20, "trend": 31, "branch_daily": 14, "invalid_lines": 3},),
    "markdown": (
        {"rows": 100, "by_merge": 50, "trend": 62, "branch_daily": 31, "invalid_lines": 5},
        {"rows": 10, "by_merge": 10, "trend": 14, "branch_daily": 7, "invalid_lines": 1},
    ),
    "html": ({"rows": 200, "by_merge": 200, "trend": 92, "branch_daily": 31, "invalid_lines": 10},),
}
_BREAKDOWNS = ("by_branch", "by_model", "by_provider", "by_endpoint", "by_author", "by_source", "cost_analysis")
_TREND = {
    "day": ("daily", "date", "Daily"),
    "week": ("weekly", "week", "Weekly"),
    "month": ("monthly", "month", "Monthly"),
}
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_QUOTED = tuple("'" + start for start in (*_FORMULA_START, "'"))  # what _csv_cell quoted, or a quoted quote


def render(report: Report, fmt: str, *, color: bool = False, width: int | None = 80) -> str:
    """``report`` as ``fmt`` (one of FORMATS); ANSI colour in text only when ``color`` is true, and its tables
    fitted to ``width`` columns (None: every column whole, however wide)."""
    if fmt == "json":
        return to_json(report.to_dict())
    if fmt == "csv":
        return _csv(report)
    if fmt not in _TEMPLATES:
        raise ValueError(f"unknown report format {fmt!r}; expected one of {', '.join(FORMATS)}")
    data = report.to_dict()
    template = _environment().get_template(template_name(fmt, data["compare"] is not None))
    for limits in _LIMITS[fmt]:
        context = _view(data, limits)
        if fmt == "html" and data["compare"] is None:
            context["charts"] = {"tokens": daily_chart(data, "total_tokens"), "cost": daily_chart(data, "cost_usd")}
            context["model_charts"] = {
                name: views.stacked_chart(data, value, context["charts"][name])
                for name, value in (("tokens", "total_tokens"), ("cost", "cost_usd"))
            }
        out = template.render(**context, color=color, width=width)
        if fmt == "text":
            out = "\n".join(line.rstrip() for line in out.split("\n"))
        if fmt != "markdown" or len(out.encode()) <= MARKDOWN_LIMIT:
            return out
    return _cut(out, MARKDOWN_LIMIT)


# orjson writes the floats from 1e-5 to 1e-4 as 0.00001 and those below with a one-digit exponent unpadded
# (1.5e-7) where Python writes 1e-05 and 1.5e-07; otherwise both write the same shortest digits. A number
# followed by its line's end (and a comma) is outside any string, as a string closes on its own line. Both
# patterns start with a literal, which the regex engine finds as fast as ``bytes.find``.
_ORJSON_DECIMAL = re.compile(rb"0\.0000([1-9])(\d*)(?=,?\n)")
_ORJSON_EXPONENT = re.compile(rb"e-([1-9])(?=,?\n)")


def _python_decimal(match: re.Match[bytes]) -> bytes:
    if match.start() and match.string[match.start() - 1] in b"0123456789.":  # 10.00001: not a small float
        return match[0]
    return match[1] + (b"." + match[2] if match[2] else b"") + b"e-05"


def to_json(data: Any) -> str:
    """``json.dumps(data, indent=2, ensure_ascii=False)`` and a newline, byte for byte, through orjson: several
    times faster on a large report. What orjson refuses (an integer past 64 bits, a key that is not a string,
    a lone surrogate) goes to the standard library as before. NaN and infinities never reach here (records,
    rates and shares are finite), so orjson's ``null`` for them is not corrected."""
    try:
        out = orjson.dumps(data, option=orjson.OPT_INDENT_2 | orjson.OPT_APPEND_NEWLINE)
    except orjson.JSONEncodeError:
        return json.dumps(data, indent=2, ensure_ascii=False) + "\n"
    out = _ORJSON_EXPONENT.sub(rb"e-0\1", _ORJSON_DECIMAL.sub(_python_decimal, out))
    return out.decode()


# -- view additions --------------------------------------------------------------------------------


def _view(data: dict[str, Any], limits: dict[str, int]) -> dict[str, Any]:
    """The template context: the report with long tables trimmed; ``more``: rows left out of each table (by
    ``--top`` or here); ``trend``: the table ``--by`` picks; ``invalid_count``: all invalid lines;
    ``requests``, ``hour_writes``: whether the optional columns are shown; ``unpriced``: the unpriced models
    by name, and whether records without a model are among them; each branch row's ``bar`` width."""
    report, more = dict(data), {}
    for name in (*_BREAKDOWNS, "unpriced_models"):
        report[name], more[name] = _keep(data[name], limits["rows"])
        more[name] += data["omitted"].get(name, 0)
    report["by_branch"] = _share_bars(report["by_branch"])
    report["by_merge"], more["by_merge"] = _keep(data["by_merge"], limits["by_merge"])
    report["merge_totals"] = dict(data["merge_totals"])
    split = data["merge_totals"]["provider_split"]
    report["merge_totals"]["provider_split"], more["provider_split"] = _keep(split, limits["rows"])
    report["invalid_lines"], more["invalid_lines"] = _keep(data["invalid_lines"], limits["invalid_lines"])
    newest = 1 if data["order"] == "desc" else -1  # the newest rows are kept: first or last
    report["branch"] = dict(data["branch"])
    report["branch"]["daily"], more["branch_daily"] = _keep(data["branch"]["daily"], newest * limits["branch_daily"])
    table, key, label = _TREND.get(data["by"], _TREND["day"])
    rows, more["trend"] = _keep(data[table], newest * limits["trend"])
    oldest_first = data["order"] == "asc"  # sessions are newest first unless asked otherwise
    report["by_session"], more["by_session"] = _keep(data["by_session"], (-1 if oldest_first else 1) * limits["rows"])
    more["by_session"] += data["omitted"].get("by_session", 0)
    trend = {"rows": rows, "key": key, "label": label, "width": views.trend_width(rows)}
    # Records without a model need another fix than a model without a price: the templates say each apart.
    unpriced = {
        "named": [name for name in report["unpriced_models"] if name != UNKNOWN_MODEL],
        "no_model": UNKNOWN_MODEL in data["unpriced_models"],
    }
    return {
        "unpriced": unpriced,
        "report": report,
        "more": more,
        "trend": trend,
        "invalid_count": len(data["invalid_lines"]),
        # Columns shown only when some record has what they show: requests in the models table, 1-hour
        # cache writes in the cost analysis.
        "requests": any(row["requests"] for row in data["by_model"]),
        "hour_writes": any(line["cache_write_1h_tokens"] for line in data["cost_analysis"]),
        "hours": views.hour_strip(data["hours"]),
        "across": _across(data),
    }


_NAMED = 5  # a report over at most this many published repositories names them in its header


def _across(data: dict[str, Any]) -> dict[str, Any] | None:
    """For a report over published repositories (``report --database``): how many, their names when few,
    ``into`` what the merges went (the one default branch, or the different ones named), and ``many``
    (more than one: the merges say which repository each is from). None for one repository's report."""
    if "by_repository" not in data:
        return None
    names = sorted(row["repository"] for row in data["by_repository"])
    defaults = sorted({row["default_branch"] for row in data["by_repository"] if row["default_branch"]})
    into = defaults[0] if len(defaults) == 1 else data["default_branch"]
    if len(defaults) > 1:
        into = "the default branches (" + ", ".join(defaults) + ")"
    return {"count": len(names), "names": names if len(names) <= _NAMED else [], "into": into, "many": len(names) > 1}


def _share_bars(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each branch row with ``bar``: its share as a percentage of the largest share, the width of its bar,
    so that the bars are proportional and the largest fills its track (13% and 6% look different)."""
    largest = max((row["share"] for row in rows), default=0.0)
    return [{**row, "bar": round(100.0 * row["share"] / largest, 1) if largest else 0.0} for row in rows]


def _keep(rows: list[Any], limit: int) -> tuple[list[Any], int]:
    """The first ``limit`` rows (the last ones for a negative limit; all for 0) and how many were left out."""
    if not limit or len(rows) <= abs(limit):
        return rows, 0
    return (rows[:limit] if limit > 0 else rows[limit:]), len(rows) - abs(limit)


def _cut(text: str, limit: int) -> str:
    """The last resort for Markdown: whole lines up to ``limit`` bytes, and a line saying it was cut."""
    notice = "\n\n*The report was cut here: it is larger than GitHub accepts. Use `--top` or `--since`.*\n"
    head = text.encode()[: limit - len(notice.encode())].decode(errors="ignore")
    return head[: head.rfind("\n") + 1] + notice


def daily_chart(data: dict[str, Any], value: str, width: int = 640, height: int = 220) -> dict[str, Any]:
    """Bar geometry for one value of the daily table (every day of the last CHART_DAYS with records, gaps
    included): plain numbers and labels for an inline SVG. Days whose value is unknown get no bar."""
    days = {date.fromisoformat(row["date"]): row for row in data["daily"]}
    if not days:
        return {"width": width, "height": height, "bars": [], "yticks": [], "xticks": [], "days": 0, "clipped": 0}
    last = max(days)
    first = max(min(days), last - timedelta(days=CHART_DAYS - 1))
    span = (last - first).days + 1
    left, right, top, bottom = 56.0, 8.0, 10.0, 28.0
    plot_w, plot_h = width - left - right, height - top - bottom
    values = {day: row[value] for day, row in days.items() if day >= first and row[value] is not None}
    step_y = _nice(max(values.values(), default=0) / 4)
    ticks = max(1, math.ceil(max(values.values(), default=0) / step_y - 1e-9))
    scale_max = step_y * ticks
    step = plot_w / span
    label = _money_tick if value == "cost_usd" else _token_tick
    bars = []
    for day, amount in sorted(values.items()):
        h = max(plot_h * amount / scale_max, 1.0) if amount else 0.0  # the smallest day stays visible
        x = left + (day - first).days * step
        bars.append(
            {
                "x": round(x + step * 0.1, 1),
                "y": round(top + plot_h - h, 1),
                "w": round(max(step * 0.8, 1.0), 1),
                "h": round(h, 1),
                "title": f"{day.isoformat()}: {_tick_title(value, amount)}",
            }
        )
    yticks = [{"y": round(top + plot_h - plot_h * i / ticks, 1), "label": label(step_y * i)} for i in range(ticks + 1)]
    every = _tick_days(span)
    xticks = [
        {
            "x": round(left + (i + 0.5) * step, 1),
            "label": (first + timedelta(days=i)).strftime("%b %d"),
            "anchor": "middle",
        }
        for i in reversed(range(span - 1, -1, -every))  # from the last day back: the latest is always labelled
    ]
    if span > 1:  # the last label ends at the plot's edge, so that it is never cut off
        xticks[-1].update(x=width - right, anchor="end")
    return {
        "width": width,
        "height": height,
        "left": left,
        "right": width - right,
        "baseline": top + plot_h,
        "ylabel_x": left - 6,
        "xlabel_y": top + plot_h + 18,
        "bars": bars,
        "yticks": yticks,
        "xticks": xticks,
        "days": span,
        "clipped": sum(1 for day in days if day < first),
    }


def _tick_days(span: int) -> int:
    """Days between date labels: a day, two, a week or two weeks (a month past CHART_DAYS), the first that needs
    at most seven labels for ``span`` days, so that labels never crowd and a week's chart labels every day."""
    return next((days for days in (1, 2, 7, 14) if span <= 7 * days), 30)


def _nice(value: float) -> float:
    """The smallest 1, 2, 2.5 or 5 times a power of ten at or above ``value`` (1 for nothing): a tick step."""
    if value <= 0:
        return 1.0
    power = 10.0 ** math.floor(math.log10(value))
    return next(power * m for m in (1, 2, 2.5, 5, 10) if power * m >= value)


def _token_tick(value: float) -> str:
    for size, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if value >= size:
            return f"{value / size:.3g}{suffix}"
    return f"{value:.3g}"


def _money_tick(value: float) -> str:
    return f"${value:.2f}" if value >= 0.1 or value == 0 else f"${value:.3g}"


def _tick_title(value: str, amount: float) -> str:
    from gitokens.report.filters import tokens, usd  # Jinja: not for JSON and CSV

    return usd(amount) if value == "cost_usd" else f"{tokens(int(amount))} tokens"


# -- CSV ---------------------------------------------------------------------------------------------


# The columns of the per-session and per-period CSVs (``--sections sessions`` or ``trends`` alone), after the
# key columns; a list (sources, branches, commits, models) is one cell, its items separated by spaces.
TABLE_CSV_COLUMNS = (
    "records",
    "sessions",
    "input_tokens",
    "output_tokens",
    "cache_read_tokens",
    "cache_write_tokens",
    "cache_write_1h_tokens",
    "reasoning_tokens",
    "total_tokens",
    "estimated_tokens",
    "cost_usd",
    "unpriced_sessions",
    "requests",
)
SESSION_CSV_KEYS = ("session", "sources", "first", "last", "branches", "commits", "models")


def _csv(report: Report) -> str:
    if report.sections == ["sessions"]:
        rows = report.by_session.to_list()
        return _table_csv(SESSION_CSV_KEYS, [{k: _joined(v) for k, v in row.items()} for row in rows])
    if report.sections == ["trends"]:
        table, key, _ = _TREND.get(report.by, _TREND["day"])
        rows = []
        for row in getattr(report, table).to_list():
            rows.append({**row, "model": None})
            rows += [{**model, key: row[key]} for model in row.get("models", [])]
        return _table_csv((key, "model"), rows)
    if report.records is None:
        raise ValueError("this report was built without its records: build it with with_records=True for CSV")
    import csv  # only for CSV
    import io

    out = io.StringIO()
    writer = csv.writer(out)  # RFC 4180: CRLF, so that a CR inside a cell is quoted too
    # A report over published repositories adds which repository each record is from, after the columns
    # every CSV has (they keep their order: imports and spreadsheets read them by position too).
    columns = (*CSV_COLUMNS, "repository") if report.by_repository is not None else CSV_COLUMNS
    writer.writerow(columns)
    for row in report.records:
        writer.writerow([_csv_cell(row.get(column)) for column in columns])
    return out.getvalue()


def _table_csv(keys: tuple[str, ...], rows: list[dict[str, Any]]) -> str:
    import csv
    import io

    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow((*keys, *TABLE_CSV_COLUMNS))
    for row in rows:
        writer.writerow([_csv_cell(row.get(column)) for column in (*keys, *TABLE_CSV_COLUMNS)])
    return out.getvalue()


def _joined(value: object) -> object:
    return " ".join(value) if isinstance(value, list) else value


def _csv_cell(value: object) -> object:
    """Numbers as they are, booleans as true/false, unknown as empty; text that a spreadsheet would take
    for a formula gets a leading single quote, and so does text that starts with a quote before such a
    character or another quote, so that ``csv_unquote`` gives every text back exactly."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str) and (value.startswith(_FORMULA_START) or value.startswith(_QUOTED)):
        return "'" + value
    return value


def csv_unquote(cell: str) -> str:
    """A text cell as it was before ``_csv_cell`` quoted it."""
    return cell[1:] if cell.startswith(_QUOTED) else cell


def template_name(fmt: str, compare: bool) -> str:
    """The template of a templated format, for a report or a comparison."""
    name = _COMPARE_TEMPLATES.get(fmt) if compare else _TEMPLATES[fmt]
    if name is None:
        raise ValueError(f"a comparison has no {fmt} rendering")
    return name


@functools.lru_cache(maxsize=1)
def _environment() -> jinja2.Environment:
    import importlib.util

    import jinja2  # not for JSON and CSV

    from gitokens.report.filters import FILTERS, column_width, grid
    from gitokens.report.grid import SEP, Column

    class Environment(jinja2.Environment):
        def getattr(self, obj: Any, attribute: str) -> Any:
            """``row.name`` on the view's plain dicts straight from the dict: Jinja tries the attribute first,
            and the AttributeError it catches for each of the report's ~900 lookups costs more than the
            lookup. The same answer: a dict has no attribute but ``dict``'s own, which still come first."""
            if type(obj) is dict and attribute not in _DICT_ATTRIBUTES:
                try:
                    return obj[attribute]
                except KeyError:
                    return self.undefined(obj=obj, name=attribute)
            return super().getattr(obj, attribute)

    # setup.cfg maps the top-level templates/ onto the package gitokens.templates (package_dir), so the
    # directory is found through the package, in an editable install as in a wheel; PackageLoader("gitokens")
    # would look for gitokens/templates and miss it in an editable install. (The package's path from its
    # spec, not importlib.resources: that import alone costs a text report ~2 ms.)
    spec = importlib.util.find_spec("gitokens.templates")
    folder = next(iter(spec.submodule_search_locations or ())) if spec is not None else ""
    env = Environment(
        loader=jinja2.FileSystemLoader(folder),
        # select_autoescape matches a name's end: "dashboard.html.j2" ends in .j2, so name .html.j2 itself.
        autoescape=jinja2.select_autoescape(enabled_extensions=("html.j2", "html"), default_for_string=False),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters.update(FILTERS, width=column_width)
    env.globals.update(grid=grid, col=Column, SEP=SEP)
    return env


_DICT_ATTRIBUTES = frozenset(dir(dict))

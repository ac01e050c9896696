"""View additions for the newer report views: the hours-of-the-day strip (levels for the terminal's bars
and the dashboard's heat strip) and the dashboard's daily charts stacked by model (``--breakdown``).

Plain numbers and labels from ``Report.to_dict()``; the templates lay them out and compute nothing.
"""

from __future__ import annotations

from typing import Any

BARS = " ▁▂▃▄▅▆▇█"  # level 0 (nothing) to 8 (the busiest hour)
PALETTE = 8  # models with a colour of their own on the stacked charts; the rest are "other models"


def hour_strip(hours: dict[str, Any]) -> dict[str, Any] | None:
    """Each hour's level (0: no tokens, else 1 to 8 in proportion to the busiest hour), its bar for the
    terminal, its shade for the dashboard and a tooltip; None when the hours were not asked for."""
    if not hours:
        return None
    rows = hours["rows"]
    peak = max(row["total_tokens"] for row in rows)
    cells = []
    for row in rows:
        level = -(-8 * row["total_tokens"] // peak) if peak else 0  # rounded up: any activity shows
        cells.append(
            {
                "hour": row["hour"],
                "bar": BARS[level] * 2,
                "shade": round(level / 8, 3),
                "row": row,
            }
        )
    return {"cells": cells, "busiest": hours["busiest"]}


def trend_width(rows: list[dict[str, Any]]) -> int:
    """The text trend table's first column: a period (10), or its model rows' names (``--breakdown``),
    indented under it."""
    from gitokens.report.filters import squeeze

    names = [len(squeeze(model["model"], 40)) + 4 for row in rows for model in row.get("models", [])]
    return max([10, *names])


def stacked_chart(data: dict[str, Any], value: str, chart: dict[str, Any]) -> dict[str, Any] | None:
    """``chart`` (the daily chart of ``value``) with each day's bar cut into its models' parts, bottom up in
    the order of the legend: the models with the most tokens over the chart first, the rest as one "other
    models" part. None without ``--breakdown``."""
    if not data["breakdown"] or not chart["bars"]:
        return None
    models = {row["date"]: row["models"] for row in data["daily"]}
    # A bar's title starts with its day (``daily_chart``): the key back to the day's model rows.
    shown = [(bar, models.get(bar["title"][:10], [])) for bar in chart["bars"]]
    totals: dict[str, int] = {}
    for _, rows in shown:
        for row in rows:
            totals[row["model"]] = totals.get(row["model"], 0) + row["total_tokens"]
    named = sorted(totals, key=lambda m: (-totals[m], m))[: PALETTE - 1 if len(totals) > PALETTE else PALETTE]
    colour = {model: n for n, model in enumerate(named)}
    legend = [{"name": model, "colour": n} for n, model in enumerate(named)]
    if len(totals) > len(named):
        legend.append({"name": "other models", "colour": PALETTE - 1})
    return {**chart, "bars": [_stack(bar, rows, value, colour) for bar, rows in shown], "legend": legend}


def _stack(bar: dict[str, Any], rows: list[dict[str, Any]], value: str, colour: dict[str, int]) -> dict[str, Any]:
    """One day's bar as parts, one per colour, bottom up; each part's height its share of the bar."""
    parts: dict[int, float] = {}
    names: dict[int, list[str]] = {}
    for row in rows:
        if row[value] is None:
            continue
        n = colour.get(row["model"], PALETTE - 1)
        parts[n] = parts.get(n, 0.0) + row[value]
        names.setdefault(n, []).append(row["model"])
    whole = sum(parts.values())
    out, bottom = [], bar["y"] + bar["h"]
    for n in sorted(parts):
        h = bar["h"] * parts[n] / whole if whole else 0.0
        bottom -= h
        title = f"{bar['title'][:10]} · {', '.join(names[n])}: {_amount(value, parts[n])}"
        out.append({"x": bar["x"], "y": round(bottom, 1), "w": bar["w"], "h": round(h, 1), "colour": n, "title": title})
    return {**bar, "parts": out}


def _amount(value: str, amount: float) -> str:
    from gitokens.report.filters import tokens, usd

    return usd(amount) if value == "cost_usd" else f"{tokens(int(amount))} tokens"

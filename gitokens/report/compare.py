"""Two periods side by side (``report --compare``): the overall totals and the model, provider, branch,
author and source tables of each, with the change from the first (``a``) to the second (``b``).

``--compare 2025-10 2025-11`` compares two periods as ``dates.parse_period`` reads them; ``--compare 30d``
(one period) compares it with the period just before it, as long (a calendar month with the month before).
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import numpy as np

from gitokens import dates
from gitokens.errors import UsageError
from gitokens.report.aggregate import AUTHOR, BRANCH, DAY, MODEL, PROVIDER, SOURCE, Dimension, Records
from gitokens.report.model import Totals

Period = tuple[str, date, date]  # what it is called, first day, last day
# The tables compared: (JSON key, key field, dimension, the section that shows it).
TABLES = (
    ("by_model", "model", MODEL, "models"),
    ("by_provider", "provider", PROVIDER, "models"),
    ("by_branch", "branch", BRANCH, "branches"),
    ("by_author", "author", AUTHOR, "authors"),
    ("by_source", "source", SOURCE, "overall"),
)
SECTIONS = ("overall", "models", "branches", "authors")
CHANGED = ("records", "sessions", "input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens",
           "total_tokens", "cost_usd")  # fmt: skip


def periods(texts: tuple[str, ...], today: date) -> tuple[Period, Period]:
    """The two periods ``--compare`` names: ``a`` first; one period is compared with the one before it."""
    if not 1 <= len(texts) <= 2:
        raise UsageError(
            f"--compare takes one or two periods, not {len(texts)}", hint="git tokens report --compare 2025-10 2025-11"
        )
    named = [(text, *dates.parse_period(text, "--compare", today)) for text in texts]
    if len(named) == 2:
        return named[0], named[1]
    text, start, end = named[0]
    first, last = dates.period_before(start, end, "--compare")
    whole_month = (start.year, start.month, start.day) == (end.year, end.month, 1) and (
        end + timedelta(days=1)
    ).day == 1
    return (first.strftime("%Y-%m") if whole_month else f"before {text.strip()}", first, last), named[0]


def span(pair: tuple[Period, Period]) -> tuple[date, date]:
    """The days both periods cover, first to last: what the report needs to read."""
    return min(pair[0][1], pair[1][1]), max(pair[0][2], pair[1][2])


def compare(records: Records, pair: tuple[Period, Period], top: int) -> dict[str, Any]:
    """The comparison of ``records`` in the two periods; tables keep the ``top`` rows (0: all) by the larger
    of their two token counts."""
    a, b = (_within(records, start, end) for _, start, end in pair)
    out: dict[str, Any] = {
        "periods": [_period(p) for p in pair],
        "totals": _side_by_side(a.sums(), b.sums()),
        "omitted": {},
    }
    for name, key, dimension, _ in TABLES:
        rows, omitted = _table(a, b, key, dimension, top)
        out[name], out["omitted"][name] = rows, omitted
    return out


def _period(period: Period) -> dict[str, Any]:
    label, start, end = period
    return {"label": label, "since": start.isoformat(), "until": end.isoformat(), "days": (end - start).days + 1}


def _within(records: Records, start: date, end: date) -> Records:
    """The records of the local days from ``start`` to ``end``."""
    days = records.dimensions[DAY]
    inside = np.array([start <= day <= end for day in days.labels], dtype=bool)
    rows = np.flatnonzero(inside[days.codes]) if len(inside) else np.zeros(0, dtype=np.intp)
    return Records(
        records.rows[rows],
        records.counts[rows],
        records.cost[rows],
        records.ts[rows],
        records.sessions[rows],
        [Dimension(d.codes[rows], d.labels) for d in records.dimensions],
    )


def _table(a: Records, b: Records, key: str, dimension: int, top: int) -> tuple[list[dict[str, Any]], int]:
    before = {row.key: row.totals for row in a.table_of(key, dimension).rows}
    after = {row.key: row.totals for row in b.table_of(key, dimension).rows}
    nothing = Totals(cost_usd=0.0)  # a key without records in one period: a known zero there
    keys = sorted(
        set(before) | set(after),
        key=lambda k: (-max(before.get(k, nothing).total_tokens, after.get(k, nothing).total_tokens), k or ""),
    )
    omitted = max(len(keys) - top, 0) if top else 0
    rows = [{key: k, **_side_by_side(before.get(k, nothing), after.get(k, nothing))} for k in keys[: top or None]]
    return rows, omitted


def _side_by_side(a: Totals, b: Totals) -> dict[str, Any]:
    return {"a": a.to_dict(), "b": b.to_dict(), "change": change(a.to_dict(), b.to_dict())}


def change(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    """``b`` minus ``a`` for each of ``CHANGED`` and as a percentage of ``a`` (``_pct``, one decimal; null
    when ``a`` is 0); a cost change is null when either cost is unknown."""
    out: dict[str, Any] = {}
    for name in CHANGED:
        if a[name] is None or b[name] is None:
            out[name], out[f"{name}_pct"] = None, None
            continue
        delta = b[name] - a[name]
        out[name] = round(delta, 6) if isinstance(delta, float) else delta
        out[f"{name}_pct"] = round(100.0 * delta / a[name], 1) if a[name] else None
    return out
